"""How much a video codec's key frame loses against JPEG at the sides of a very-low-resolution face, and the quality range
of the `video` degradation chosen from it; written to bench/results/codec.md and codec.json.

The `video` degradation (VP8 key frames, as WebP stores them) is a test condition that no training preset uses. To tell a
codec the models never saw from merely harder compression, its quality range is set so that it loses what the `jpeg`
test condition (quality 40-90) loses at 16 px. Loss is the PSNR of the validation people's compressed small faces
against the same faces uncompressed (area-downsampled), each face at its own place in the macroblock grid. First each
quality of either codec alone; the range's top is the VP8 quality nearest in PSNR to JPEG 90 (the mildest face is as
mild), and its bottom the one (in steps of 5) whose faces as drawn (`degrade`, uniform over the range) lose on average
what the `jpeg` preset's faces lose (the same loss on average). Then both presets as drawn, side by side at every side,
to show what they do at the sides they were not matched at.

    vlrface-prep lfw --out data/lfw-vlr      # once
    python bench/codec.py
"""
import argparse, warnings
from pathlib import Path

import numpy as np
import torch

from common import machine, describe, rerender, val_faces, write_results
from vlrface.core import md_table
from vlrface.degrade import DEGRADATIONS, DegradationModel, _video, degrade, resample
from torchvision.io import decode_jpeg, encode_jpeg

warnings.filterwarnings('ignore')
JPEG_Q = (15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_Q = tuple(range(0, 101, 5))


def psnr(a:torch.Tensor, b:torch.Tensor)->float:
    "Mean over faces of each face's PSNR (dB), 0-255 faces (n, 3, s, s)"
    mse = ((a.float() - b.float()) ** 2).flatten(1).mean(1).clamp_min(1e-3)
    return float((10 * torch.log10(255 ** 2 / mse)).mean())


def by_quality(small:torch.Tensor, offsets)->list:
    "Rows of PSNR and bytes per face for each quality of JPEG and of WebP (VP8), on the clean small faces `small`"
    rows = []
    for q in JPEG_Q:
        enc = [encode_jpeg(f, quality=q) for f in small]
        out = torch.stack([decode_jpeg(e) for e in enc])
        rows.append(dict(codec='jpeg', quality=q, psnr=round(psnr(out, small), 3), bytes=round(float(np.mean([len(e) for e in enc])), 1)))
    for q in WEBP_Q:
        out = torch.cat([_video(f[None].float(), q, dx, dy) for f, (dx, dy) in zip(small, offsets)])
        rows.append(dict(codec='vp8', quality=q, psnr=round(psnr(out, small), 3)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--sizes', type=int, nargs='+', default=[8, 12, 16, 24, 32])
    ap.add_argument('--match-size', type=int, default=16, help='the side at which the ranges are matched')
    ap.add_argument('--render', action='store_true', help='only rewrite codec.md from codec.json')
    a = ap.parse_args()
    if a.render: return print(rerender(Path('bench/results/codec.json')))
    mach = machine()
    hr = val_faces(a.data)[0].hr
    rng = np.random.default_rng(0)
    offsets = [tuple(int(v) for v in rng.integers(16, size=2)) for _ in range(len(hr))]
    curves = []
    for s in a.sizes:
        small = resample(hr.float(), s).round().to(torch.uint8)
        curves += [dict(size=s, **r) for r in by_quality(small, offsets)]
        print(s, 'px done', flush=True)
    at = [r for r in curves if r['size'] == a.match_size]
    jp = {r['quality']: r['psnr'] for r in at if r['codec'] == 'jpeg'}
    vp = {r['quality']: r['psnr'] for r in at if r['codec'] == 'vp8'}
    lo_q, hi_q = DEGRADATIONS['jpeg'].quality
    top = min(vp, key=lambda q: abs(vp[q] - jp[hi_q]))   # the mildest face as mild as JPEG's mildest
    seeds = [(0, i) for i in range(len(hr))]
    clean = degrade(hr, a.match_size, 'clean')
    target = psnr(degrade(hr, a.match_size, 'jpeg', seeds), clean)
    bottoms = {lo: psnr(degrade(hr, a.match_size, DegradationModel(video=1., video_quality=(lo, top)), seeds), clean) for lo in range(0, top + 1, 5)}
    chosen = (min(bottoms, key=lambda lo: abs(bottoms[lo] - target)), top)
    print('jpeg preset', target, 'video ranges', bottoms, 'chosen', chosen, flush=True)
    presets = []   # the two test conditions as drawn, per face, on the same faces
    for s in a.sizes:
        clean = degrade(hr, s, 'clean')
        seeds = [(0, i) for i in range(len(hr))]
        presets.append(dict(size=s, jpeg=round(psnr(degrade(hr, s, 'jpeg', seeds), clean), 3), video=round(psnr(degrade(hr, s, 'video', seeds), clean), 3)))
        print(presets[-1], flush=True)
    write_results('codec', dict(faces=len(hr), match_size=a.match_size, jpeg_range=[lo_q, hi_q], chosen=list(chosen), jpeg_preset_psnr=round(target, 3),
                                bottoms={str(k): round(v, 3) for k, v in bottoms.items()},
                                preset_video_quality=list(DEGRADATIONS['video'].video_quality), curves=curves, presets=presets), render, mach)


def render(r):
    "codec.md from the record in codec.json"
    import pandas as pd
    d = pd.DataFrame(r['curves'])
    t = lambda c: d[d.codec == c].pivot(index='quality', columns='size', values='psnr').rename(columns=lambda s: f'{s} px')
    lo, hi = r['jpeg_range']; clo, chi = r['chosen']
    pr = pd.DataFrame(r['presets']).set_index('size').rename(index=lambda s: f'{s} px', columns=dict(jpeg=f'jpeg (q {lo}-{hi})', video=f"video (q {'-'.join(map(str, r['preset_video_quality']))})"))
    pr['difference'] = (pr.iloc[:, 1] - pr.iloc[:, 0]).round(2)
    b = d[(d.codec == 'jpeg') & (d['size'] == r['match_size'])].set_index('quality')['bytes']
    same = list(r['chosen']) == list(r['preset_video_quality'])
    lines = ["# A video codec's key frame against JPEG at very low resolution (`bench/codec.py`)", "",
             f"Measured {describe(r['machine'])}, by `{r['command']}`, on the {r['faces']} faces of the validation people. "
             "PSNR (dB, mean over faces) of each face compressed at its small side against the same face uncompressed "
             "(area-downsampled); VP8 is the key frame WebP stores, each face at its own place in the 16-pixel macroblock grid.", "",
             f"Matched at {r['match_size']} px. JPEG {hi}, the `jpeg` condition's mildest, loses as much as VP8 {chi} (the nearest of the "
             f"qualities in the last table). The `jpeg` condition's faces as drawn are at {r['jpeg_preset_psnr']:.2f} dB on average; VP8 drawn from "
             + ', '.join(f"{k}-{chi} {v:.2f}" for k, v in r['bottoms'].items()) +
             f", so the `video` test condition draws VP8 quality {clo}-{chi}" + ("" if same else f" (the preset in this version draws {r['preset_video_quality']}: out of date)") + ".", "",
             "## The two presets as drawn, PSNR (dB)", "", md_table(pr.rename_axis('side')), "",
             "## JPEG, by quality", "", md_table(t('jpeg').rename_axis('quality')), "",
             f"A JPEG file of a {r['match_size']}-pixel face is {b.min():.0f}-{b.max():.0f} bytes, most of it tables and headers.", "",
             "## VP8 key frame, by quality", "", md_table(t('vp8').rename_axis('quality')), ""]
    return '\n'.join(lines)


if __name__ == '__main__': main()
