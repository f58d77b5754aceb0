"""Faces of mixed sizes, each through one DSR or through the DSR for its band of sizes (`Pipeline.route`): the
limits between the bands chosen on the validation people, then every system measured on LFW View 1 DevTest:
bench/results/route.{json,md}.

    python bench/route.py --small pretrained:8-realistic --large pretrained:16-realistic --sides 8 32

A capture comes at whatever size it comes. Here every face of a pair set gets its own side, drawn uniformly from
--sides and seeded by the image's name, and is made at that side from its HR face by each test condition (seeded
as bench/robustness.py), so a pair may hold a 9 px and a 27 px face. The systems, all into the original recogniser
(or --recogniser, to see whether a choice made with one recogniser holds for another):
- bicubic: each face upscaled from its own side;
- SMALL alone, LARGE alone: one DSR for every face (a face of another side is resized to the DSR's first);
- rules `route <= L[, bicubic > T]`: faces up to L px through SMALL, larger ones through LARGE, and with T those
  above T px bicubically from their own side, for each --limits L and --tops T. `Pipeline(rec, [small, large])`
  is L = SMALL's side without T, `Pipeline(rec, [small, large, None])` adds T = LARGE's side (each DSR takes the
  sides up to its own: no face is shrunk); the run checks that both pipelines, and on DevTest the chosen rule's
  `Pipeline(rec, bands)`, give exactly those embeddings.
The rule is the one with the best mean accuracy over the test conditions, LR-LR and HR-LR, on the validation
people (ties: the smaller limits); DevTest then reports every system. DSRs run in fp32.
"""
import argparse, json, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from common import describe, machine, named, results_path, val_faces, write_results
from vlrface.core import VLR_MAX, get_path, md_table, stable_seed
from vlrface.degrade import TEST_DEGRADATIONS, degrade, face_seed
from vlrface.dsr import load_dsr, upscale_faces
from vlrface.edgeface import embed, load_edgeface
from vlrface.evaluate import read_pairs, robustness_table, verification_report
from vlrface.faces import load_face_set
from vlrface.pipeline import Pipeline
from vlrface.runs import save_fig

warnings.filterwarnings('ignore')


def face_sides(names, lo:int, hi:int)->np.ndarray:
    "Each face's side, drawn uniformly from lo..hi and seeded by its name"
    return np.array([lo + stable_seed('route-side', n) % (hi - lo + 1) for n in names])


def degraded(fs, sides, cond:str)->list:
    "Each face made at its own side by the test condition `cond`, as PIL images in the face set's order"
    out = [None] * len(fs)
    for s in np.unique(sides):
        idx = np.flatnonzero(sides == s)
        x = degrade(fs.hr[idx], int(s), cond, seeds=[face_seed(fs.names[i]) for i in idx])
        for i, f in zip(idx, x): out[i] = Image.fromarray(f.permute(1, 2, 0).numpy())
    return out


def bicubic(rec, faces:list)->torch.Tensor:
    "Embeddings of faces of mixed sizes, each upscaled bicubically from its own side"
    e = torch.zeros(len(faces), rec.num_features)
    sides = np.array([f.size[0] for f in faces])
    for s in np.unique(sides):
        idx = np.flatnonzero(sides == s)
        x = torch.stack([torch.from_numpy(np.asarray(faces[i])).permute(2, 0, 1) for i in idx]).float() / 255
        e[idx] = embed(rec, upscale_faces(x))
    return e


def scores(H, E, ia, ib)->dict:
    "Cosine scores of each pair: LR-LR (both faces VLR) and HR-LR (the first an HR photo)"
    return {'LR-LR': (E[ia] * E[ib]).sum(1).numpy(), 'HR-LR': (H[ia] * E[ib]).sum(1).numpy()}


def rule_name(L:int, T:int|None)->str:
    "The system of the rule: SMALL up to L px, LARGE above (up to T px, bicubic above T; T None: LARGE for every larger face)"
    return f"route <= {L}" + ('' if T is None else f", bicubic > {T}")


def bands_of(small, large, L:int, T:int|None)->dict:
    "The `Pipeline` bands of a rule"
    return {L: small, VLR_MAX: large} if T is None else {L: small, T: large, VLR_MAX: None}


def run_split(fs, ia, ib, same, folds, rec, small, large, names, rules, sides_range, conds, check=(), progress=print)->list:
    "Every system's accuracy on one pair set: rows (system, condition, protocol, accuracy, auc, tar@far=0.01); `check`: more rules whose pipelines are checked"
    H = embed(rec, fs.hr)
    sides = torch.from_numpy(face_sides(fs.names, *sides_range))[:, None]
    p_small, p_large = Pipeline(rec, small, precision='fp32'), Pipeline(rec, large, precision='fp32')
    lists = {(small.cfg.in_size, None): Pipeline(rec, [small, large], precision='fp32'),   # the pipeline's own routing, from lists
             (small.cfg.in_size, large.cfg.in_size): Pipeline(rec, [small, large, None], precision='fp32'),
             **{r: Pipeline(rec, bands_of(small, large, *r), precision='fp32') for r in check}}   # and from bands
    if miss := [r for r in lists if r not in rules]: raise SystemExit(f"the rules {miss} of the pipelines checked are not among those measured: add their limits")
    rows = []
    for cond in conds:
        t = time.time()
        faces = degraded(fs, sides[:, 0].numpy(), cond)
        E = {'bicubic': bicubic(rec, faces), f'{names[0]} alone': p_small.embed(faces), f'{names[1]} alone': p_large.embed(faces)}
        for L, T in rules:   # a rule's embeddings are each face's from the system its side routes it to
            big = E[f'{names[1]} alone'] if T is None else torch.where(sides <= T, E[f'{names[1]} alone'], E['bicubic'])
            E[rule_name(L, T)] = torch.where(sides <= L, E[f'{names[0]} alone'], big)
        for r, p in lists.items():
            if not torch.allclose(got := p.embed(faces), E[rule_name(*r)], atol=1e-5):
                raise SystemExit(f"the pipeline of {p.bands} does not route as {rule_name(*r)}: max difference {float((got - E[rule_name(*r)]).abs().max()):.2e}")
        for sysname, e in E.items():
            for proto, s in scores(H, e, ia, ib).items():
                r = verification_report(s, same, folds)
                rows.append(dict(system=sysname, degradation=cond, protocol=proto, accuracy=r['accuracy'], auc=r['auc'], **{'tar@far=0.01': r['tar@far=0.01']}))
        progress(f"  {cond}: {len(E)} systems in {time.time() - t:.0f} s")
    return rows


def means(rows:list)->dict:
    "Each system's mean accuracy over the conditions and both protocols"
    return pd.DataFrame(rows).groupby('system', sort=False).accuracy.mean().to_dict()


def choose(rows:list, rules)->tuple:
    "The rule with the best mean accuracy (rounded to 9 digits, so that float noise ties); ties: the smaller limits, LARGE above all last"
    m = means(rows)
    return max(rules, key=lambda r: (round(m[rule_name(*r)], 9), -r[0], -(r[1] or 99)))


def table(rows:list, order)->pd.DataFrame:
    "Accuracy % per system (rows) and condition x protocol (columns), with the mean over conditions per protocol"
    t = pd.DataFrame(rows)
    w = t.pivot_table(index='system', columns=['protocol', 'degradation'], values='accuracy', sort=False) * 100
    for p in ('LR-LR', 'HR-LR'): w[(p, "mean")] = w[p].mean(axis=1)
    w = w[[(p, c) for p in ('LR-LR', 'HR-LR') for c in [*dict.fromkeys(t.degradation), 'mean']]]
    w.columns = [f'{p} {c}' for p, c in w.columns]
    return w.loc[[s for s in order if s in w.index]].round(1)


def render(rec:dict)->str:
    L, T = rec['chosen']
    chosen, s0, s1 = rule_name(L, T), rec['small_side'], rec['large_side']
    shown = ['bicubic', f"{rec['small']} alone", f"{rec['large']} alone", rule_name(s0, None), rule_name(s0, s1)]
    shown += [chosen] if chosen not in shown else []
    vm = means(rec['val_rows'])
    grid = pd.DataFrame([{'SMALL up to': f'{l} px', **{('LARGE above' if t is None else f'bicubic > {t}'): round(100 * vm[rule_name(l, t)], 2)
                                                       for t in rec['tops']}} for l in rec['limits']])
    lines = ["# Faces of mixed sizes, one DSR or one per band (`bench/route.py`)", '',
             f"Run {describe(rec['machine'])}; {rec['seconds']:.0f} s.", '',
             f"Every face gets its own side, drawn from {rec['sides'][0]} to {rec['sides'][1]} px and seeded by its name, and is made at that side "
             f"by each test condition. Systems into {'the original recogniser' if rec.get('recogniser', 'original') == 'original' else 'the recogniser `' + rec['recogniser'] + '`'}: bicubic from each face's own side; one DSR for every face "
             f"(SMALL `{rec['small']}` or LARGE `{rec['large']}`, other sides resized to its own first); `route <= L`: faces up to L px "
             f"through SMALL, larger ones through LARGE, or with `bicubic > T` bicubically from their own side above T px. "
             f"`{rule_name(s0, None)}` is `Pipeline(rec, [small, large])` and `{rule_name(s0, s1)}` is `Pipeline(rec, [small, large, None])`: "
             f"the run checks that both pipelines, and on DevTest the chosen rule's `Pipeline(rec, bands)`, give these embeddings. DSRs in fp32.", '',
             f"**Chosen on the validation people: `{chosen}`**, the best mean accuracy over the {len(rec['conditions'])} conditions, LR-LR "
             f"and HR-LR, of the {len(rec['limits']) * len(rec['tops'])} rules (mean accuracy %, validation people):", '', md_table(grid.set_index('SMALL up to')), '',
             *([f"Why: each front end at fixed sides on the validation people ({', '.join(f'`{p}`' for p in rec['per_side'])}):", '',
                "![Mean accuracy against the face's side for bicubic and the two DSRs, the chosen bands shaded](route.png)", '']
               if rec.get('recogniser', 'original') == 'original' else [])]
    for split, key in (('Validation people', 'val'), ('LFW View 1 DevTest', 'devtest')):
        lines += [f"## {split}: accuracy % ({rec[key]['faces']:,} faces, {rec[key]['pairs']:,} pairs)", '', md_table(table(rec[f'{key}_rows'], shown)), '']
    return '\n'.join(lines)


def per_side(files)->pd.DataFrame:
    "Mean accuracy % over the test conditions per (protocol, front, side), from robustness results (bench/robustness.py) at fixed sides"
    out = []
    for f in files:
        for proto in ('LR-LR', 'HR-LR'):
            t = robustness_table(Path(f)/'results.json', 'accuracy', proto).mean(axis=1)
            out += [dict(protocol=proto, front=m.removeprefix('DSR-'), side=int(s), accuracy=v) for (m, s), v in t.items()]
    return pd.DataFrame(out).drop_duplicates(['protocol', 'front', 'side'])


def plot_sides(rec:dict, out:Path):
    "Mean accuracy against the face's side for each front end (validation people), the chosen bands shaded"
    import matplotlib.pyplot as plt
    t = per_side(rec['per_side'])
    (L, T), hi = rec['chosen'], rec['sides'][1]
    fig, axs = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, proto in zip(axs, ('LR-LR', 'HR-LR')):
        bands = [(rec['sides'][0] - 0.5, L + 0.5, rec['small']), (L + 0.5, (T or hi) + 0.5, rec['large'])] + ([(T + 0.5, hi + 0.5, 'bicubic')] if T else [])
        for (a, b, name), c in zip(bands, ('tab:orange', 'tab:blue', 'tab:grey')): ax.axvspan(a, b, color=c, alpha=0.08, lw=0)
        for front, c in (('bicubic', 'tab:grey'), (rec['large'], 'tab:blue'), (rec['small'], 'tab:orange')):
            g = t[(t.protocol == proto) & (t.front == front)].sort_values('side')
            ax.plot(g.side, g.accuracy, 'o-', color=c, ms=3.5, label=front)
        ax.set(title=f'{proto}, mean over {len(rec["conditions"])} test conditions', xlabel='face side (px)', xticks=range(rec['sides'][0], hi + 1, 4))
        ax.grid(alpha=0.3)
    axs[0].set_ylabel('accuracy % (validation people)'); axs[0].legend(fontsize=8, loc='lower right')
    fig.suptitle(f"shaded: the bands chosen, {rule_name(L, T)}", fontsize=10)
    fig.tight_layout()
    save_fig(fig, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', default='data/lfw-vlr')
    ap.add_argument('--small', default='pretrained:8-realistic', help='the DSR for the smallest faces')
    ap.add_argument('--large', default='pretrained:16-realistic', help='the DSR for the larger faces')
    ap.add_argument('--sides', type=int, nargs=2, default=[8, 32], metavar=('LOW', 'HIGH'), help='the range each face side is drawn from')
    ap.add_argument('--limits', type=int, nargs='+', default=None, help="the largest sides SMALL takes, to choose from (default: SMALL's side to SMALL's + 4)")
    ap.add_argument('--tops', type=int, nargs='+', default=None, help="the largest sides LARGE takes, bicubic above, to choose from (default: LARGE's side, +4, +8, +12; and LARGE for every larger face)")
    ap.add_argument('--degrade', nargs='+', default=list(TEST_DEGRADATIONS))
    ap.add_argument('--recogniser', default=None, metavar='NAME=FILE', help='a recogniser in place of the original one (e.g. a fine-tuned one)')
    ap.add_argument('--per-side', nargs='+', default=['bench/results/route-val', 'bench/results/route-val-large'],
                    help='robustness results of the front ends at fixed sides on the validation people, for the figure (bench/robustness.py --split val)')
    ap.add_argument('--plot-only', action='store_true', help="redraw the figure from the results of an earlier run")
    ap.add_argument('--out', default='route')
    a = ap.parse_args()
    if a.plot_only:
        p = results_path(a.out)
        return plot_sides(json.loads(p.with_suffix('.json').read_text()), p.with_suffix('.png'))
    mach, t0 = machine(), time.time()
    rname, rfile = next(iter(named([a.recogniser]).items())) if a.recogniser else ('original', None)
    rec, small, large = load_edgeface(rfile), load_dsr(a.small), load_dsr(a.large)
    lims = a.limits or list(range(small.cfg.in_size, small.cfg.in_size + 5))
    tops = [None, *(a.tops or [large.cfg.in_size + k for k in (0, 4, 8, 12)])]
    rules = [(L, T) for L in lims for T in tops]
    names = (a.small, a.large)
    vfs, _, via, vib, vsame, vfolds = val_faces(a.data)
    print(f"validation: {len(vfs)} faces, {len(via)} pairs")
    val_rows = run_split(vfs, via, vib, vsame, vfolds, rec, small, large, names, rules, a.sides, a.degrade)
    chosen = choose(val_rows, rules)
    print(f"chosen on the validation people: {rule_name(*chosen)}")
    pairs = read_pairs(get_path('lfw')/'pairsDevTest.txt')
    dfs = load_face_set(a.data, names=sorted(set(pairs.a) | set(pairs.b)), sizes=[], progress=False)
    print(f"DevTest: {len(dfs)} faces, {len(pairs)} pairs")
    dev_rows = run_split(dfs, dfs.idx(pairs.a), dfs.idx(pairs.b), pairs.same.values, pairs.fold.values, rec, small, large, names, rules, a.sides, a.degrade, check=[chosen])
    rec = write_results(a.out, dict(recogniser=rname, recogniser_file=str(rfile) if rfile else None, small=a.small, large=a.large, small_side=small.cfg.in_size, large_side=large.cfg.in_size, sides=a.sides, limits=lims,
                              tops=tops, conditions=a.degrade, chosen=list(chosen), val=dict(faces=len(vfs), pairs=len(via)),
                              devtest=dict(faces=len(dfs), pairs=len(pairs)), val_rows=val_rows, devtest_rows=dev_rows, precision='fp32',
                              per_side=a.per_side, seconds=round(time.time() - t0, 1)), render, mach)
    if not a.recogniser: plot_sides(rec, results_path(a.out).with_suffix('.png'))   # (the figure's runs are of the original recogniser)


if __name__ == '__main__': main()
