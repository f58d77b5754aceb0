"""Whether fusing two systems beats the better of them, chosen on the validation people: verification accuracy of
each fusion against its best member, written to bench/results/fusion-choice.{json,md}.

    python bench/fusion_choice.py --finetuned runs/ft-realistic-rerun/best.safetensors [--dsr pretrained:16-realistic] [--sizes 8 12 16]

The four systems of the robustness table (bicubic or the DSR in front of the original or the fine-tuned
recogniser) embed every validation face made small by each test condition (seeded by the image's name, as in
bench/robustness.py). A fusion of systems scores a pair by:
- `score`: the mean of its members' cosines (any recognisers: it is the cosine of their normalised
  embeddings put side by side, so the gallery grows with each member);
- `emb`: the cosine of the normalised sum of the members' embeddings (members that share one recogniser
  only: the embedding keeps its width, and galleries of that recogniser stay comparable).
LR-LR: both faces of a pair go through the fusion; HR-LR: the HR face through each member's recogniser.
"""
import argparse, itertools, time, warnings

import numpy as np
import pandas as pd
import torch.nn.functional as F

from common import machine, describe, val_faces, write_results
from vlrface.core import md_table
from vlrface.degrade import degrade, face_seed
from vlrface.dsr import load_dsr
from vlrface.edgeface import load_edgeface, embed
from vlrface.evaluate import _upscale, verification_report

warnings.filterwarnings('ignore')
PROBES = ('clean', 'blur', 'mixed', 'jpeg-low')


def render(rec)->str:
    t = pd.DataFrame(rec['rows'])
    single = t[~t.fusion]
    key = ['size', 'probes', 'protocol']
    best = {}   # (cell, fusion) -> accuracy of its better member
    for _, r in t[t.fusion].iterrows():
        m = single[(single[key] == r[key]).all(1) & single.system.isin(r.members)]
        best[r.name] = m.accuracy.max()
    means = single.groupby(['protocol', 'system']).accuracy.mean()   # a fusion is also held against the member that is better over the whole grid
    fixed = {i: single[(single[key] == r[key]).all(1) & (single.system == max(r.members, key=lambda m: means[(r.protocol, m)]))].accuracy.iloc[0]
             for i, r in t[t.fusion].iterrows()}
    f = t[t.fusion].assign(gain=lambda x: x.accuracy - pd.Series(best), gain_fixed=lambda x: x.accuracy - pd.Series(fixed))
    g = f.groupby(['system', 'protocol'], sort=False)
    summ = pd.concat([g.gain.agg(cells='size', wins=lambda g: int((g > 0).sum()), mean='mean', min='min', max='max'),
                      g.gain_fixed.agg(**{'wins vs grid-best': lambda g: int((g > 0).sum()), 'mean vs grid-best': 'mean'})], axis=1).round(2)
    wide = t.pivot_table(index=['protocol', 'size', 'probes'], columns='system', values='accuracy', sort=False).round(2)
    return (f"# Fusing systems (`bench/fusion_choice.py`)\n\nRun {describe(rec['machine'])}; {rec['faces']} validation faces, "
            f"{rec['pairs']} pairs (one pair is {100 / rec['pairs']:.2f} points); {rec['seconds']:.0f} s.\n\n"
            f"Each fusion's accuracy % minus that of its better member in each cell (and, `vs grid-best`, minus that of the member "
            f"with the higher mean accuracy over all its cells), over {f.groupby(['system', 'protocol']).size().iloc[0]} cells "
            f"(sizes x probe conditions) per protocol:\n\n{md_table(summ)}\n\nEvery cell, accuracy %:\n\n{md_table(wide)}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', default='data/lfw-vlr')
    ap.add_argument('--dsr', default='pretrained:16-realistic')
    ap.add_argument('--finetuned', required=True, help='the fine-tuned recogniser (best.safetensors of vlrface-finetune)')
    ap.add_argument('--sizes', type=int, nargs='+', default=[8, 12, 16])
    ap.add_argument('--out', default='fusion-choice')
    a = ap.parse_args()
    mach, t0 = machine(), time.time()
    fs, pairs, ia, ib, same, folds = val_faces(a.data)
    rec, ft, dsr = load_edgeface(), load_edgeface(a.finetuned), load_dsr(a.dsr)
    systems = {'bicubic': (None, rec), 'bicubic+FT': (None, ft), 'DSR': (dsr, rec), 'DSR+FT': (dsr, ft)}
    fusions = [('bicubic+FT', 'DSR+FT'), ('bicubic', 'DSR'), ('bicubic+FT', 'DSR'), ('bicubic', 'bicubic+FT', 'DSR', 'DSR+FT')]
    hr = {id(r): embed(r, fs.hr) for r in (rec, ft)}
    acc = lambda s: round(100 * verification_report(s, same, folds)['accuracy'], 2)
    cos = lambda g, p: (g[ia] * p[ib]).sum(1).numpy().astype(float)
    rows = []
    for s, p in itertools.product(a.sizes, PROBES):
        v = degrade(fs.hr, s, p, [face_seed(n, 0) for n in fs.names]).float() / 255
        E = {k: embed(r, _upscale(v, d)) for k, (d, r) in systems.items()}
        H = {k: hr[id(r)] for k, (d, r) in systems.items()}
        for proto in ('LR-LR', 'HR-LR'):
            g = E if proto == 'LR-LR' else H
            rows += [dict(size=s, probes=p, protocol=proto, system=k, members=[k], fusion=False, accuracy=acc(cos(g[k], E[k]))) for k in systems]
            for c in fusions:
                rows.append(dict(size=s, probes=p, protocol=proto, system='score ' + ' & '.join(c), members=list(c), fusion=True,
                                 accuracy=acc(np.mean([cos(g[k], E[k]) for k in c], 0))))
                if len({id(systems[k][1]) for k in c}) == 1:   # one recogniser: its embeddings can be averaged
                    e = F.normalize(sum(E[k] for k in c), dim=1)
                    rows.append(dict(size=s, probes=p, protocol=proto, system='emb ' + ' & '.join(c), members=list(c), fusion=True,
                                     accuracy=acc(cos(e if proto == 'LR-LR' else g[c[0]], e))))
        print(f'{s} px {p}: {time.time() - t0:.0f} s', flush=True)
    write_results(a.out, dict(rows=rows, faces=len(fs), pairs=len(pairs), dsr=a.dsr, finetuned=a.finetuned, seconds=round(time.time() - t0, 1)), render, mach)


if __name__ == '__main__': main()
