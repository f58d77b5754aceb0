"""How a gallery should be matched to small probes, chosen on the validation people: HR-LR verification accuracy of each
gallery-side variant against the plain HR gallery, written to bench/results/match-choice.{json,md}.

    python bench/match_choice.py [--dsr pretrained:16 pretrained:16-realistic] [--sizes 8 12 16]

The probes are the validation faces made small by each test condition (seeded by the image's name, as in
bench/robustness.py) and upscaled by bicubic or a DSR into the original recogniser. The gallery side of each pair
is the same image's HR face, embedded as one of:
- `HR`: as it is (plain HR-LR);
- `small`: only its clean small copy (area downsampling to the probes' size) through the probes' own path;
- `HR+small`: the average of the two (`vlrface.edgeface.matched_embeddings`);
- `HR+small+realistic`, `HR+small+2 realistic`: also copies made small by the training mix (`realistic`, other seeds);
- `2HR+small`: the HR embedding weighted twice.
The probes' own degradation is never used on the gallery side: a deployed gallery cannot know it.
"""
import argparse, time, warnings

import numpy as np
import pandas as pd
import torch, torch.nn.functional as F

from common import machine, describe, val_faces, write_results
from vlrface.core import md_table
from vlrface.degrade import degrade, face_seed
from vlrface.dsr import load_dsr
from vlrface.edgeface import load_edgeface, embed
from vlrface.evaluate import _upscale, verification_report

warnings.filterwarnings('ignore')
# each variant: (weight, what) pairs; 'HR' is the HR face, 'clean' its clean small copy, 'realistic#k' a copy made small by the training mix with seed k
VARIANTS = {'HR': [(1, 'HR')], 'small': [(1, 'clean')], 'HR+small': [(1, 'HR'), (1, 'clean')],
            'HR+small+realistic': [(1, 'HR'), (1, 'clean'), (1, 'realistic#1')],
            'HR+small+2 realistic': [(1, 'HR'), (1, 'clean'), (1, 'realistic#1'), (1, 'realistic#2')],
            '2HR+small': [(2, 'HR'), (1, 'clean')]}
PROBES = ('clean', 'blur', 'mixed', 'jpeg-low')


def render(rec)->str:
    t = pd.DataFrame(rec['rows'])
    gain = t[t.variant != 'HR'].assign(gain=lambda x: x.accuracy - x.merge(t[t.variant == 'HR'], on=['system', 'size', 'probes'], suffixes=('', '_hr')).accuracy_hr.values)
    summ = gain.groupby('variant', sort=False).gain.agg(cells='size', wins=lambda g: int((g > 0).sum()), mean='mean', min='min', max='max').round(2)
    wide = t.pivot_table(index=['system', 'size', 'probes'], columns='variant', values='accuracy', sort=False).round(2)
    return (f"# Matching a gallery to small probes (`bench/match_choice.py`)\n\nRun {describe(rec['machine'])}; {rec['faces']} validation faces, "
            f"{rec['pairs']} pairs; {rec['seconds']:.0f} s.\n\nHR-LR accuracy % minus the plain HR gallery's, over the {len(gain) // (len(VARIANTS) - 1)} cells "
            f"(systems x sizes x probe conditions):\n\n{md_table(summ)}\n\nEvery cell, accuracy %:\n\n{md_table(wide)}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', default='data/lfw-vlr')
    ap.add_argument('--dsr', nargs='*', default=['pretrained:16', 'pretrained:16-realistic'])
    ap.add_argument('--sizes', type=int, nargs='+', default=[8, 12, 16])
    ap.add_argument('--out', default='match-choice')
    a = ap.parse_args()
    mach, t0 = machine(), time.time()
    fs, pairs, ia, ib, same, folds = val_faces(a.data)
    rec = load_edgeface()
    systems = {'bicubic': None, **{f'DSR-{d}': load_dsr(d) for d in a.dsr}}
    e_hr = embed(rec, fs.hr)
    small = lambda s, model, seed: degrade(fs.hr, s, model, [face_seed(n, seed) for n in fs.names]).float() / 255
    rows = []
    for s in a.sizes:
        made = {'clean': small(s, 'clean', 0), **{f'realistic#{k}': small(s, 'realistic', k) for k in (1, 2)}}
        probes = {p: small(s, p, 0) for p in PROBES}
        for name, dsr in systems.items():
            gal = {'HR': e_hr, **{k: embed(rec, _upscale(v, dsr)) for k, v in made.items()}}
            for p, v in probes.items():
                pe = embed(rec, _upscale(v, dsr))
                for var, parts in VARIANTS.items():
                    g = F.normalize(sum(w * gal[k] for w, k in parts), dim=1)
                    acc = verification_report((g[ia] * pe[ib]).sum(1).numpy(), same, folds)['accuracy']
                    rows.append(dict(system=name, size=s, probes=p, variant=var, accuracy=round(100 * acc, 2)))
            print(f'{s} px {name}: {time.time() - t0:.0f} s', flush=True)
    write_results(a.out, dict(rows=rows, faces=len(fs), pairs=len(pairs), variants={k: [list(x) for x in v] for k, v in VARIANTS.items()},
                              dsr=a.dsr, seconds=round(time.time() - t0, 1)), render, mach)


if __name__ == '__main__': main()
