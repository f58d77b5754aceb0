"""Adaptive score normalisation (AS-norm) against a cohort of training people, beside the plain cosine, for the systems
a goal choice took, on the validation people: bench/results/score-norm.{json,md}.

    python bench/score_norm.py --choice bench/results/ft-att-goals-allpairs.json

A low-quality face scores high against everyone: blurred and compressed faces look alike. Verification work on
mixed-quality faces (speaker verification's AS-norm, cohort normalisation in face recognition) corrects each score by
how each face of the pair scores against a cohort of other people:

    s' = ((s - mean_a) / std_a + (s - mean_b) / std_b) / 2

with mean_a and std_a over face a's top-k cosines to the cohort faces of b's kind (k: --topk; 0 takes every cohort face).
The cohort is one face each of training-split people with a single photograph there: no validation or test pair
contains them, and no fine-tuning run trained on them (it takes people with two or more), so a fine-tuned recogniser
has not learnt them as classes where the original has not either. Its faces go through the same size, front end and
recogniser as the faces they judge. Three cohorts:
- clean: the cohort's HR faces made small by area downsampling;
- realistic: made by the training mix (`realistic`) at the probe's size, what a deployment can make without knowing
  how its probes were degraded;
- the test condition itself (`same`): an oracle that knows each probe's degradation, the most a cohort can give.
Per goal cell the chosen system (and bicubic into the original, for reference) is judged on both pair sets of the goal
choices: the robustness table's 608 pairs (`make_pairs`, 20 genuine a person) and every genuine pair (--per-subject 1000).
The plain cosine's accuracy and AUC are checked against the goal choice's own validation rows in every cell: the same faces,
the same numbers. Each kind of face's mean cosine to its cohort is recorded too: how high it scores against strangers.
The validation people only; DevTest is not touched.
"""
import argparse, json, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from common import machine, describe, write_results
from vlrface.core import md_table
from vlrface.degrade import degrade, face_seed
from vlrface.dsr import load_dsr
from vlrface.edgeface import embed, load_edgeface, matched_embeddings
from vlrface.evaluate import _upscale, verification_report
from vlrface.faces import load_face_set
from vlrface.finetune import make_pairs

warnings.filterwarnings('ignore')


def cohort_index(subjects, n:int, seed:int=0)->np.ndarray:
    "The faces of `n` people drawn from those with a single face in `subjects` (the faces' subjects), seeded: indices, sorted"
    sub, cnt = np.unique(np.asarray(subjects, dtype=object), return_counts=True)
    single = np.flatnonzero(np.isin(np.asarray(subjects, dtype=object), sub[cnt == 1]))
    if n > len(single): raise SystemExit(f"--cohort {n}: the training split has {len(single)} people with a single face")
    return np.sort(np.random.default_rng(seed).permutation(single)[:n])


def cohort_stats(e:torch.Tensor, cohort:torch.Tensor, k:int)->tuple:
    "Mean and std of each embedding's top-`k` cosines to the cohort (`k` 0: all of them)"
    s = e @ cohort.T
    if k: s = s.topk(min(k, s.shape[1]), dim=1).values
    return s.mean(1), s.std(1)


def as_norm(s:torch.Tensor, a:tuple, b:tuple, ia, ib)->torch.Tensor:
    "AS-norm of the cosines `s` of pairs (`ia`, `ib`) from each side's (mean, std) against the cohort of the other side's kind"
    return ((s - a[0][ia]) / a[1][ia] + (s - b[0][ib]) / b[1][ib]) / 2


def faces_through(hr, names, size, cond, seed, dsr):
    "The faces `hr` made `size` px by `cond` (each face seeded by its name, as `evaluate`), then brought to 112x112 by `dsr` or bicubic"
    return _upscale(degrade(hr, size, cond, [face_seed(n, seed) for n in names]).float() / 255, dsr, torch.float32)   # evaluate's own path


def render(rec)->str:
    "The page: per pair set, each goal cell's systems with the plain cosine's accuracy and AS-norm's change per cohort and top-k"
    t = pd.DataFrame(rec['rows'])
    lines = ["# Adaptive score normalisation against a cohort of training people (`bench/score_norm.py`)", '',
             f"Run {describe(rec['machine'])}; {rec['seconds']:.0f} s. Validation: {rec['val']['faces']} faces of {rec['val']['subjects']} people; "
             f"cohort: one face each of {rec['cohort']['people']:,} training people with a single face there (of {rec['cohort']['of']:,} such people). The systems are those "
             f"`{rec['choice']}` chose on the validation people, and bicubic into the original. Accuracy % (LFW protocol, ten folds dealt), "
             f"plain cosine and its change under AS-norm with each cohort and top-k ('all': every cohort face):", '']
    ks = [str(k) for k in rec['topk']]
    for n, g in t.groupby('pairs', sort=True):
        lines += [f"**{n:,} pairs** (one pair is {100 / n:.2f} points)", '']
        rows = []
        for (cell, system), h in g.groupby(['cell', 'system'], sort=False):
            r = {'goal cell': cell, 'system': system, 'cosine': f"{h.plain.iloc[0]:.2f}"}
            for c in rec['cohorts']:
                for k in ks: r[f"{c} {k}"] = f"{h[(h.cohort == c) & (h.k == k)].gain.iloc[0]:+.2f}"
            rows.append(r)
        lines += [md_table(pd.DataFrame(rows).set_index('goal cell')), '']
    chosen = t[t.chosen]
    lines += [f"On the chosen systems AS-norm changes accuracy by " + '; '.join(
        f"{'oracle (same)' if c == 'same' else c} cohort {h.gain.min():+.2f} to {h.gain.max():+.2f} points" for c, h in chosen.groupby('cohort', sort=False)) + " (both pair sets, every top-k).", '',
        "How high each kind of face scores against strangers: the mean over the validation faces of their mean cosine to the cohort faces of the same kind "
        "(`same` cohort for the probes, the cohort's HR faces for HR):", '',
        md_table(pd.DataFrame(rec['cohort_means']).set_index('cell')), '',
        f"The plain cosine matches `{rec['choice']}`'s validation rows on its {rec['checked_pairs']:,} pairs in all {rec['checked_cells']} cells "
        f"(largest difference {rec['check_max_diff']:.1e} points of accuracy, {rec['check_auc_diff']:.1e} of AUC)."]
    return '\n'.join(lines) + '\n'


def main():
    "Embed the validation faces and the cohort through each system, score both pair sets plainly and by AS-norm, check and write"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--choice', type=Path, default=Path('bench/results/ft-att-goals-allpairs.json'), help="a goal choice's results JSON: its chosen systems are judged")
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--cohort', type=int, default=2000, help='cohort people (one face each) from the training split')
    ap.add_argument('--topk', type=int, nargs='+', default=[50, 200, 0], help='cohort scores each face keeps (0: all)')
    ap.add_argument('--out', default='score-norm')
    a = ap.parse_args()
    mach, t0 = machine(), time.time()
    ch = json.loads(a.choice.read_text())
    fs = load_face_set(a.data, split='val', sizes=[], progress=False)
    tr = load_face_set(a.data, split='train', sizes=[], progress=False)
    ci = cohort_index(np.asarray(tr.subjects), a.cohort)
    chr_, cnames = tr.hr[ci], [tr.names[i] for i in ci]
    per = ch['val'].get('per_subject', 20)
    if per not in (20, 1000): raise SystemExit(f"{a.choice} chose on --per-subject {per}: this script judges the pair sets of 20 and 1000")
    pair_sets = {ps: make_pairs(fs.names, fs.subjects, per_subject=ps) for ps in (20, 1000)}
    # the systems: each goal's chosen one, and bicubic into the original at every goal cell
    goals = [(g['size'], g['degradation'], g['protocol'], g['chosen']) for g in ch['goals']]
    jobs = [(s, c, p, ch_['front'], ch_['recogniser'], ch_['protocol'], True) for s, c, p, ch_ in goals]
    jobs += [(s, c, p, 'bicubic', 'original', p, False) for s, c, p, _ in goals]
    vrows = {(r['mode'], r['size'], r['degradation'], r['protocol']): r for r in ch['val_rows']}
    cache, rows, diffs, means = {}, [], [], []
    def once(key, f):
        "`f()`, computed the first time `key` is asked for: each model loaded and each (faces, system) embedded once"
        if key not in cache: cache[key] = f()
        return cache[key]
    for size, cond, goal_proto, front, rname, proto, chosen in jobs:
        rec = once(('rec', rname), lambda: load_edgeface() if rname == 'original' else load_edgeface(ch['recognisers'][rname]))
        dsr = once(('dsr', front), lambda: None if front == 'bicubic' else load_dsr(ch['fronts'][front]))
        H = once(('hr', rname), lambda: embed(rec, fs.hr))
        CH = once(('chr', rname), lambda: embed(rec, chr_))
        L = once(('val', front, rname, size, cond), lambda: embed(rec, faces_through(fs.hr, fs.names, size, cond, 0, dsr)))
        C = {c: once(('coh', front, rname, size, cc), lambda: embed(rec, faces_through(chr_, cnames, size, cc, 1, dsr)))
             for c, cc in (('clean', 'clean'), ('realistic', 'realistic'), ('same', cond))}
        if proto == 'HRm-LR':   # the gallery matched to the probes' size, as `evaluate(match=True)`; its cohort made the same way
            G = matched_embeddings(H, once(('val', front, rname, size, 'clean'), lambda: embed(rec, faces_through(fs.hr, fs.names, size, 'clean', 0, dsr))))
            CG = matched_embeddings(CH, C['clean'])
        else: G, CG = (L, None) if proto == 'LR-LR' else (H, CH)
        system = ('bicubic' if front == 'bicubic' else f'DSR-{front}') + ('' if rname == 'original' else f'+FT-{rname}')
        for n, pr in pair_sets.items():
            ia, ib = fs.idx(pr.a), fs.idx(pr.b)
            s = (G[ia] * L[ib]).sum(1)
            rep = lambda x: verification_report(x.numpy().astype(float), pr.same.values, pr.fold.values)
            plain = rep(s)
            if n == per:
                v = vrows.get((system, size, cond, proto))
                if v is None: raise SystemExit(f"{a.choice} has no validation row of {system} at {size} px {cond} {proto} to check against")
                diffs.append((abs(plain['accuracy'] - v['accuracy']), abs(plain['auc'] - v['auc'])))
            for c, CL in C.items():
                for k in a.topk:
                    ga = cohort_stats(G, CL, k)                                  # the gallery side against probe-like cohort faces
                    gb = cohort_stats(L, CL if proto == 'LR-LR' else CG, k)      # the probe side against gallery-like ones
                    r = rep(as_norm(s, ga, gb, ia, ib))
                    rows.append(dict(cell=f"{size} px {cond} {goal_proto}", system=system, protocol=proto, chosen=chosen, pairs=len(pr),
                                     cohort=c, k='all' if k == 0 else str(k), plain=round(100 * plain['accuracy'], 4), accuracy=round(100 * r['accuracy'], 4),
                                     gain=round(100 * (r['accuracy'] - plain['accuracy']), 4), auc_plain=round(plain['auc'], 5), auc=round(r['auc'], 5)))
        means.append({'cell': f"{size} px {cond} {goal_proto}", 'system': system, 'probes': round((L @ C['same'].T).mean().item(), 4),
                      'HR': round((H @ CH.T).mean().item(), 4)})
        print(f"{system} {size} px {cond} {proto}: {time.time() - t0:.0f} s", flush=True)
    dacc, dauc = (max(d[i] for d in diffs) for i in (0, 1))
    if dacc > 1e-9 or dauc > 1e-9: raise SystemExit(f"the plain cosine differs from {a.choice}'s validation rows by {100 * dacc:.3f} points, AUC by {dauc:.1e}: not the same faces")
    write_results(a.out, dict(choice=str(a.choice), rows=rows, cohorts=['clean', 'realistic', 'same'], topk=['all' if k == 0 else str(k) for k in a.topk],
                              cohort=dict(people=len(ci), of=int((pd.Series(tr.subjects).value_counts() == 1).sum()), seed=0, degradation_seed=1),
                              cohort_means=means, val=dict(faces=len(fs), subjects=len(set(fs.subjects))), checked_pairs=len(pair_sets[per]),
                              checked_cells=len(diffs), check_max_diff=100 * dacc, check_auc_diff=dauc, seconds=round(time.time() - t0, 1)), render, mach)


if __name__ == '__main__': main()
