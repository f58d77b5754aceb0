"""The face-quality head of the official EdgeFace-XXS: fitted on LFW DevTrain people, its threshold set on the
validation people, its rejection rates measured on LFW DevTest people and on non-faces.

Faces: HR, and made small (clean and `realistic`, at 8, 16 and 32 px) and upscaled bicubically, as a VLR
pipeline sees them. Non-faces for fitting: flat colours, noise, tiny images, shuffled face tiles and the
corners of DevTrain people's LFW photos; gradients and checker boards are held out of the fit, so their
rejection shows generalisation. At the threshold (1 % of validation faces rejected), the rejection rates
of DevTest faces (HR, 8/16/24/32 px clean, 16 px under the test degradations) and of non-faces (every
kind, including the corners of DevTest people's photos and the inputs of issue 15: flat grey, black,
2x2 green, 1x1 red) are written to bench/results/quality.{json,md}, and the head to
vlrface/quality_edgeface_xxs.safetensors (the pipeline's default for that recogniser).

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once
    python bench/quality.py [--dsr clean=runs/quickstart/dsr16/best.safetensors realistic=runs/realistic16/best.safetensors]
"""
import argparse, time, warnings
from pathlib import Path

import numpy as np, pandas as pd, torch, torch.nn.functional as F

from common import machine, describe, write_results
from vlrface.core import get_path, md_table
from vlrface.data import lfw_images_dir
from vlrface.degrade import degrade, face_seed
from vlrface.dsr import load_dsr, upscale_faces
from vlrface.edgeface import load_edgeface
from vlrface.faces import load_face_set
from vlrface.quality import face_views, fit_quality, nonfaces, background_crops, rejection_rates, save_quality, model_fingerprint

warnings.filterwarnings('ignore')


def sample(data, split, n, seed):
    "n faces of a split (HR uint8), their names, and the LFW photos they were cut from"
    fs = load_face_set(data, split=split, sizes=[], progress=False)
    idx = np.sort(np.random.default_rng(seed).choice(len(fs), min(n, len(fs)), replace=False))
    names = [fs.names[i] for i in idx]
    return fs.hr[idx], names, [lfw_images_dir(get_path('lfw'))/f'{n}.jpg' for n in names]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--train', type=int, default=1000, help='DevTrain faces to fit on')
    ap.add_argument('--test', type=int, default=800, help='DevTest faces to measure on')
    ap.add_argument('--nonfaces', type=int, default=300, help='non-faces of each kind, for fitting and for measuring each')
    ap.add_argument('--reject', type=float, default=0.01, help='share of validation faces below the threshold')
    ap.add_argument('--dsr', nargs='*', default=[], metavar='NAME=FILE', help='16 px DSRs: their outputs (faces clean and mixed; flat, noise and gradient non-faces) are measured too')
    ap.add_argument('--head', type=Path, default=Path('vlrface/quality_edgeface_xxs.safetensors'))
    ap.add_argument('--out', type=Path, default=Path('bench/results'))
    a = ap.parse_args()
    mach = machine()
    t0 = time.time()
    rec = load_edgeface()
    tr, trn, trp = sample(a.data, 'train', a.train, 0)
    va, van, vap = sample(a.data, 'val', 10_000, 1)
    te, ten, tep = sample(a.data, 'test', a.test, 2)
    n = a.nonfaces
    fit_kinds = {k: nonfaces(n, k, 10, faces=tr) for k in ('flat', 'noise', 'tiny', 'patches')} | {'background': background_crops(trp, n, 10)}
    val_kinds = {k: nonfaces(n // 2, k, 20, faces=va) for k in ('flat', 'noise', 'tiny', 'patches')} | {'background': background_crops(vap, n // 2, 20)}
    head = fit_quality(rec, face_views(tr, trn), fit_kinds, face_views(va, van), val_kinds, reject=a.reject)
    t_fit = time.time() - t0
    # DevTest people: faces as pipelines see them, and non-faces of every kind (gradient and checker were never fitted)
    seeds = [face_seed(x) for x in ten]
    faces = {'HR': te, **{f'{s} px clean': upscale_faces(degrade(te, s, 'clean', seeds).float() / 255) for s in (8, 12, 16, 24, 32)},
             **{f'16 px {g}': upscale_faces(degrade(te, 16, g, seeds).float() / 255) for g in ('blur', 'noise', 'jpeg', 'mixed', 'jpeg-low')}}
    small = lambda x, s=16: upscale_faces(F.interpolate(x.float() / 255, size=(s, s), mode='area'))
    nf = {k: nonfaces(n, k, 30, faces=te) for k in ('flat', 'noise', 'tiny', 'patches', 'gradient', 'checker')} | {'background': background_crops(tep, n, 30)}
    sets = {'flat grey, black, 2x2 green, 1x1 red': torch.stack([torch.full((3, 112, 112), 128), torch.zeros(3, 112, 112, dtype=torch.long),
                                             F.interpolate(torch.tensor([0., 1., 0.]).view(1, 3, 1, 1).expand(1, 3, 2, 2), size=(112, 112))[0].mul(255).long(),
                                             torch.tensor([255, 0, 0]).view(3, 1, 1).expand(3, 112, 112)]).to(torch.uint8)}
    nf_dsr = {}
    for spec in a.dsr:   # the head was fitted on bicubic faces: measured through DSRs too
        name, f = spec.split('=', 1); dsr = load_dsr(f)
        up = lambda x: torch.cat([upscale_faces(b, dsr) for b in x.split(100)])
        faces.update({f'16 px {g}, DSR-{name}': up(degrade(te, 16, g, seeds).float() / 255) for g in ('clean', 'mixed')})
        nf_dsr.update({f'{k}, DSR-{name}': up(F.interpolate(nf[k].float() / 255, size=(16, 16), mode='area')) for k in ('flat', 'noise', 'gradient')})
    r_faces = rejection_rates(head, rec, faces)
    r_nf = {**{f'{k} (HR)': v for k, v in rejection_rates(head, rec, {**nf, **sets}).items()},
            **{f'{k} (16 px)': v for k, v in rejection_rates(head, rec, {k: small(x) for k, x in nf.items()}).items()},
            **{f'{k.split(",")[0]} (16 px,{k.split(",")[1]})': v for k, v in rejection_rates(head, rec, nf_dsr).items()}}
    fitted = {'flat', 'noise', 'tiny', 'patches', 'background'}
    rows = [dict(input=f'DevTest faces, {k}', kind='face', fitted='', rejected=v * 100) for k, v in r_faces.items()]
    rows += [dict(input=k, kind='non-face', fitted='' if k.startswith('flat grey') else ('yes' if k.split(' (')[0] in fitted else 'held out'), rejected=v * 100) for k, v in r_nf.items()]
    table = pd.DataFrame(rows)
    save_quality(head, a.head)
    res = dict(recogniser=str(get_path('edgeface')), dsr=a.dsr, fingerprint=model_fingerprint(rec), threshold=head.threshold, reject=a.reject,
               fit=dict(head.info, seconds=round(t_fit, 1)), val_faces=len(va), faces_test=len(te), nonfaces_each=n, head=str(a.head),
               rejected=table.to_dict('records'), wall_s=round(time.time() - t0, 1))
    write_results(a.out/'quality', res, render, mach)
    print(f"\n{time.time() - t0:.0f} s; head written to {a.head}")


def render(r):
    "quality.md from the record in quality.json"
    table = pd.DataFrame(r['rejected'])
    return (f"Quality head of EdgeFace-XXS (recogniser {r['fingerprint']}): threshold {r['threshold']:.3f}, set so that "
            f"{r['reject']:.0%} of the {r['val_faces']} validation faces (all views) fall below it. Rejected % at that threshold, "
            f"DevTest people ({r['faces_test']} faces) and {r['nonfaces_each']} non-faces of each kind; measured {describe(r['machine'])}, "
            f"by `{r['command']}`. Numbers: quality.json next to this page.\n\n" +
            md_table(table.set_index('input').assign(rejected=lambda t: t.rejected.map('{:.1f}'.format))))


if __name__ == '__main__': main()
