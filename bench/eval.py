"""How long a full LFW View 2-sized evaluation takes, written to bench/results/eval.{json,md}.

The issue's goal: the LFW View 2 evaluation (about 7,700 images) of HR and bicubic modes at
16, 24 and 32 pixels in under 2 minutes on a 2-core CPU. LFW's View 2 `pairs.txt` is not in
../shared (only View 1), so unless `--pairs` names the real file this script deals a pairs file
of View 2's shape from all of LFW: ten folds of 300 matched and 300 mismatched pairs, people
disjoint between folds, seeded. It runs `vlrface-eval` on it exactly as a user would (a fresh
process: start-up, model loading, decoding, embedding, metrics and plots all counted) and
records the wall time with the evaluation's own breakdown.

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once (about a minute)
    python bench/eval.py --data data/lfw-vlr
"""
import argparse, json, shlex, subprocess, sys, time
from pathlib import Path

import numpy as np, pandas as pd

from common import machine, describe, write_results
from vlrface.faces import read_manifest, image_name
from vlrface.evaluate import read_pairs


def view2_shaped(names, subjects, out, folds=10, per=300, seed=0):
    "Write a pairs file in View 2's format (`folds per`, then per fold `per` matched and `per` mismatched lines)"
    rng = np.random.default_rng(seed)
    by = pd.Series(names).groupby(np.asarray(subjects)).apply(list).to_dict()
    people = rng.permutation(sorted(by))
    lines = [f'{folds}\t{per}']
    num = lambda n: int(n.rsplit('_', 1)[1])
    for fold in np.array_split(people, folds):
        many = [p for p in fold if len(by[p]) > 1]
        used = set()   # images not used yet are drawn first, so that the image count comes near View 2's
        for p in rng.choice(many, per):
            free = [n for n in by[p] if n not in used]
            a, b = rng.choice(free if len(free) > 1 else by[p], 2, replace=False)
            lines.append(f'{p}\t{num(a)}\t{num(b)}'); used |= {a, b}
        for _ in range(per):
            p, q = rng.choice(fold, 2, replace=False)
            pick = lambda x: rng.choice([n for n in by[x] if n not in used] or by[x])
            a, b = pick(p), pick(q); used |= {a, b}
            lines.append(f'{p}\t{num(a)}\t{q}\t{num(b)}')
    out.write_text('\n'.join(lines) + '\n')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'), help='LFW prepared by vlrface-prep lfw --sizes 16 24 32')
    ap.add_argument('--pairs', type=Path, default=None, help="LFW View 2 pairs.txt, if you have it")
    ap.add_argument('--out', type=Path, default=Path('bench/results/eval.md'), help='the page; its JSON goes next to it')
    a = ap.parse_args()
    mach = machine()
    m = read_manifest(a.data)
    work = a.data/'bench-eval'; work.mkdir(exist_ok=True)
    pairs_file, per = a.pairs, 300
    while pairs_file is None or (not a.pairs and len(set((p := read_pairs(pairs_file)).a) | set(p.b)) < 7700):
        # dealt pairs reuse images more than View 2 does: deal more per fold until as many images take part
        pairs_file = view2_shaped(m.src.map(image_name), m.subject, work/'pairs-view2-shaped.txt', per=per); per += 10
    p = read_pairs(pairs_file)
    n_img = len(set(p.a) | set(p.b))
    cmd = ['vlrface-eval', str(a.data), '--pairs', str(pairs_file), '--identify', 'none', '--sizes', '16', '24', '32',
           '--out', str(work/'eval')]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode: sys.exit(f"vlrface-eval failed:\n{r.stderr}")
    res = json.loads((work/'eval'/'results.json').read_text())
    data = dict(real_view2=a.pairs is not None, per_fold=per - 10, pairs=len(p), images=n_img, eval_command=shlex.join(cmd),
                wall_s=round(wall, 1), evaluate_s=round(res['settings']['seconds'], 1), faces=res['settings']['faces'],
                goal_s=120, table=(work/'eval'/'results.md').read_text())
    write_results(a.out, data, render, mach)


def render(r):
    "eval.md from the record in eval.json"
    wall, per = r['wall_s'], r['per_fold']
    return f"""# Evaluation speed: an LFW View 2-sized run

Measured {describe(r['machine'])}, by `{r['command']}`. Numbers: the JSON next to this page.

Pairs: {'the real View 2 pairs.txt' if r['real_view2'] else f"a file in View 2's format dealt from all of LFW (../shared has no View 2 pairs.txt): 10 folds x ({per} matched + {per} mismatched), people disjoint between folds, seed 0; View 2 has 300 + 300 per fold, but dealt pairs reuse images more, so more pairs are dealt until at least as many images take part"}:
{r['pairs']:,} pairs over **{r['images']:,} distinct images** (the real View 2 has about 7,700).

Command (a fresh process; start-up, model loading, decoding, embedding, metrics, plots):

    {r['eval_command']}

| what | seconds |
|---|---|
| whole command, wall clock | **{wall:.1f}** |
| of which `evaluate` (embedding {r['faces']:,} faces in HR + bicubic 16/24/32, PSNR/SSIM, all metrics) | {r['evaluate_s']:.1f} |

Goal: under {r['goal_s']} s. {'Met' if wall < r['goal_s'] else 'NOT met'} ({wall:.0f} s).

The table it produced (accuracy by the LFW ten-fold protocol on these dealt folds):

{r['table']}"""


if __name__ == '__main__':
    main()
