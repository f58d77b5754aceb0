"""Is a fine-tuned recogniser really better than the original on the same pairs? Paired tests.

LFW DevTest has 1,000 pairs, so a ten-fold accuracy moves by 0.1 point per pair and two models
differing by three pairs may differ by chance. This script compares each fine-tuned recogniser
with the original on the *same* pairs and the same DSR outputs, per VLR size and protocol:

- per-pair correctness under the LFW protocol (each fold at the threshold best on the other nine),
- the discordant pairs (right for one model only) and the exact McNemar test on them,
- a paired bootstrap (pairs resampled, 2,000 draws) 95 % interval of the accuracy difference
  (thresholds held fixed) and of the AUC difference.

Writes the numbers and a Markdown table rendered from them (default bench/results/finetune-lfw/paired.{json,md}).

    python bench/paired.py data/lfw-vlr --pairs ../shared/data/lfw/pairsDevTest.txt \\
        --dsr runs/quickstart/dsr16/best.safetensors runs/dsr32/best.safetensors \\
        --finetuned runs/ft/best.safetensors runs/ft-all/best.safetensors
"""
import argparse, time, warnings
from pathlib import Path

import numpy as np, torch
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from common import machine, describe, write_results
from vlrface.dsr import load_dsr, upscale_faces
from vlrface.edgeface import load_edgeface, embed
from vlrface.faces import load_face_set
from vlrface.evaluate import read_pairs, kfold_accuracy, deal_folds

warnings.filterwarnings('ignore')


def correct_per_pair(s, y, folds):
    "Right or wrong for each pair, at its fold's threshold from `kfold_accuracy` (the LFW protocol)"
    th = np.asarray(kfold_accuracy(s, y, folds)['thresholds'])   # one per fold, in `np.unique(folds)` order
    return (s >= th[np.searchsorted(np.unique(folds), folds)]) == y


def compare(sa, sb, y, folds, n_boot=2000, seed=0):
    "Paired comparison of scores `sb` (new) against `sa` (original) on the same pairs"
    ca, cb = correct_per_pair(sa, y, folds), correct_per_pair(sb, y, folds)
    b, c = int((ca & ~cb).sum()), int((~ca & cb).sum())   # pairs only the original / only the new one gets right
    p = binomtest(c, b + c, 0.5).pvalue if b + c else 1.0
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), (n_boot, len(y)))
    dacc = (cb[idx].mean(1) - ca[idx].mean(1)) * 100
    dauc = np.array([roc_auc_score(y[i], sb[i]) - roc_auc_score(y[i], sa[i]) for i in idx])
    return dict(acc_a=ca.mean() * 100, acc_b=cb.mean() * 100, only_a=b, only_b=c, p=p,
                dacc_lo=np.percentile(dacc, 2.5), dacc_hi=np.percentile(dacc, 97.5),
                auc_a=roc_auc_score(y, sa), auc_b=roc_auc_score(y, sb),
                dauc_lo=np.percentile(dauc, 2.5), dauc_hi=np.percentile(dauc, 97.5))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('data'); ap.add_argument('--pairs', required=True)
    ap.add_argument('--dsr', nargs='+', required=True); ap.add_argument('--finetuned', nargs='+', required=True)
    ap.add_argument('--edgeface', default=None); ap.add_argument('--out', default='bench/results/finetune-lfw/paired.md', help='the page; its JSON goes next to it')
    a = ap.parse_args()
    mach = machine()
    t0 = time.time()
    pairs = read_pairs(a.pairs)
    dsrs = {d.cfg.in_size: d for d in map(load_dsr, a.dsr)}
    faces = load_face_set(a.data, names=sorted(set(pairs.a) | set(pairs.b)), sizes=sorted(dsrs))
    ia, ib, y, folds = faces.idx(pairs.a), faces.idx(pairs.b), pairs.same.values.astype(bool), pairs.fold.values
    if len(np.unique(folds)) == 1: folds = deal_folds(y)   # View 1 has no folds: ten dealt as `vlrface-eval` deals them
    recs = {'original': load_edgeface(a.edgeface), **{f: load_edgeface(f) for f in a.finetuned}}
    ups = {s: upscale_faces(faces.vlr[s].float() / 255, d, dtype=torch.float32) for s, d in dsrs.items()}   # fp32: the same numbers on every machine
    emb = {r: {'HR': embed(m, faces.hr), **{s: embed(m, u) for s, u in ups.items()}} for r, m in recs.items()}
    def scores(r, kind, proto):
        E = emb[r][kind]; G = E if proto != 'HR-LR' else emb[r]['HR']
        return (G[ia] * E[ib]).sum(1).numpy().astype(float)
    rows = []
    for f in a.finetuned:
        for kind, proto in [('HR', 'HR-HR')] + [(s, p) for s in sorted(dsrs) for p in ('LR-LR', 'HR-LR')]:
            rows.append(dict(finetuned=f, size=None if kind == 'HR' else kind, protocol=proto,
                             **compare(scores('original', kind, proto), scores(f, kind, proto), y, folds)))
    write_results(a.out, dict(pairs_file=a.pairs, pairs=len(pairs), dsr=a.dsr, edgeface=a.edgeface, seconds=round(time.time() - t0), rows=rows),
                  render, mach)


def render(rec):
    "paired.md from the record in paired.json"
    rows = ['| fine-tuned | size | protocol | acc % original | acc % FT | right only original | right only FT | McNemar p '
            '| Δacc 95 % CI (points) | AUC original | AUC FT | ΔAUC 95 % CI |', '|' + ' --- |' * 12]
    for r in rec['rows']:
        rows.append(f"| {r['finetuned']} | {r['size'] or ''} | {r['protocol']} | {r['acc_a']:.1f} | {r['acc_b']:.1f} | {r['only_a']} | "
                    f"{r['only_b']} | {r['p']:.2f} | {r['dacc_lo']:+.1f} .. {r['dacc_hi']:+.1f} | {r['auc_a']:.4f} | "
                    f"{r['auc_b']:.4f} | {r['dauc_lo']:+.4f} .. {r['dauc_hi']:+.4f} |")
    head = (f"# Fine-tuned against original EdgeFace on the same pairs\n\n{describe(rec['machine'])}; {rec['pairs']:,} pairs of "
            f"`{rec['pairs_file']}`, DSRs {', '.join(rec['dsr'])}; {rec['seconds']} s; `{rec['command']}`. Numbers: the JSON next to this page.\n\n"
            "Accuracy here is the pooled share of pairs decided right (each fold at the threshold best on the other "
            "nine), so it equals the ten-fold mean accuracy when the folds are equal. McNemar: exact two-sided test "
            "on the pairs only one model gets right. Intervals: paired bootstrap over pairs, 2,000 draws.\n\n")
    return head + '\n'.join(rows) + '\n'


if __name__ == '__main__': main()
