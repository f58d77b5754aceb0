"""How much video codecs lose against JPEG at the sides of a very-low-resolution face, and the quality ranges of the codec
test conditions chosen from it; written to bench/results/codec.md and codec.json.

The `video` and `video-mixed` test conditions (VP8 key frames, as WebP stores them), `h264` and `h264-mixed` (a frame
of an H.264 stream, up to 7 after its key frame, the face moving; x264 through PyAV) and `h265` and `h265-mixed` (the
same with an H.265 stream, x265) are `clean` and `mixed` with a codec instead of JPEG. The published models were trained without the codec, so to tell a codec they never saw from
merely harder compression, each codec condition's quality range is set so that it loses what its JPEG twin (`jpeg`,
`mixed`: quality 40-90) loses at 16 px. Loss is the PSNR of the validation people's compressed small faces against the
same faces uncompressed (area-downsampled for `jpeg`; blurred, resampled and noisy as `mixed` draws them, without its
JPEG, for `mixed`), each face at its own place in the macroblock grid. The range's mild end is the VP8 quality (stream
quantiser) nearest in PSNR to JPEG 90 on those faces (the mildest face is as mild), and its harsh end the one (VP8 in
steps of 5, quantisers in steps of 1) whose faces as drawn (`degrade`, uniform over the range) are on average as far from the
uncompressed ones as the twin's. Then each pair as drawn side by side at every side, to show what they do at the sides
they were not matched at; and, on clean faces, each quality of each codec alone (H.264 also as a key frame alone, which
x264 codes about 3 quantiser steps finer than the frames after it; H.265 alike).

    vlrface-prep lfw --out data/lfw-vlr      # once
    python bench/codec.py
"""
import argparse, warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from common import machine, describe, rerender, timed, val_faces, write_results
from vlrface.core import md_table
from vlrface.degrade import DEGRADATIONS, STREAMS, _video, degrade, resample
from torchvision.io import decode_jpeg, encode_jpeg

warnings.filterwarnings('ignore')
JPEG_Q = (15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_Q = tuple(range(0, 101, 5))
QP = tuple(range(0, 52, 1))   # x264's and x265's quantisers, matched in steps of 1
QP_CURVE = (12, 18, 24, 30, 36, 42, 48)


def psnr(a:torch.Tensor, b:torch.Tensor)->float:
    "Mean over faces of each face's PSNR (dB), 0-255 faces (n, 3, s, s)"
    # over the three channels, not luma as `vlrface.evaluate.psnr` (the SR convention): both codecs keep colour at 4:2:0, and its loss counts
    mse = ((a.float() - b.float()) ** 2).flatten(1).mean(1).clamp_min(1e-3)
    return float((10 * torch.log10(255 ** 2 / mse)).mean())


def pairs()->dict:
    "{codec condition: (its JPEG twin, the twin's faces without compression, the codec condition without its range)}"
    mixed = DEGRADATIONS['mixed']
    return {'video': ('jpeg', DEGRADATIONS['clean'], replace(DEGRADATIONS['clean'], video=1.)),
            'video-mixed': ('mixed', replace(mixed, jpeg=0.), replace(mixed, jpeg=0., video=1.)),
            'h264': ('jpeg', DEGRADATIONS['clean'], replace(DEGRADATIONS['clean'], h264=1.)),
            'h264-mixed': ('mixed', replace(mixed, jpeg=0.), replace(mixed, jpeg=0., h264=1.)),
            'h265': ('jpeg', DEGRADATIONS['clean'], replace(DEGRADATIONS['clean'], h265=1.)),
            'h265-mixed': ('mixed', replace(mixed, jpeg=0.), replace(mixed, jpeg=0., h265=1.))}


def stream(codec)->str|None: return next((c for c in STREAMS if getattr(codec, c)), None)   # 'h264', 'h265' or None (VP8)
def field(codec)->str: return f'{stream(codec)}_qp' if stream(codec) else 'video_quality'
def at(codec, q): return replace(codec, **{field(codec): (q, q)})   # the condition with every face at quality (quantiser) q


def jpeg_files(faces, q): return [encode_jpeg(f, quality=q) for f in faces]
def jpeg_at(faces, q): return torch.stack([decode_jpeg(b) for b in jpeg_files(faces, q)])
def vp8_at(faces, q, offsets): return torch.cat([_video(f[None].float(), q, dx, dy) for f, (dx, dy) in zip(faces, offsets)]).to(torch.uint8)


def by_quality(small:torch.Tensor, offsets)->list:
    "Rows of PSNR (and bytes a face, JPEG) for each quality of JPEG and of VP8, on the small faces `small`"
    rows = []
    for q in JPEG_Q:
        files = jpeg_files(small, q)
        rows.append(dict(codec='jpeg', quality=q, psnr=round(psnr(torch.stack([decode_jpeg(b) for b in files]), small), 3),
                         bytes=round(float(np.mean([len(b) for b in files])), 1)))
    return rows + [dict(codec='vp8', quality=q, psnr=round(psnr(vp8_at(small, q, offsets), small), 3)) for q in WEBP_Q]


def until(f, grid, mark)->dict:
    "{g: f(g)} along `grid` (f falling) up to the first value below `mark`"
    out = {}
    for g in grid:
        out[g] = f(g)
        if out[g] < mark: break
    return out


def match(hr, size, twin, base, codec, offsets, seeds)->dict:
    "The codec's range whose faces lose what `twin`'s lose at `size`: the mild end as mild as the twin's, the harsh end by the mean"
    ref = degrade(hr, size, base, seeds)   # the same faces as the twin's and the codec condition's, uncompressed
    jtop = psnr(jpeg_at(ref, DEGRADATIONS[twin].quality[1]), ref)
    sc = stream(codec)
    target = psnr(degrade(hr, size, twin, seeds), ref)
    if sc:   # each face's frame as the condition draws it (offset, frames since the key frame, motion); PSNR falls as the quantiser rises,
        # so each search stops one step past its mark (a stream costs many times a JPEG face)
        vp = until(lambda q: psnr(degrade(hr, size, at(codec, q), seeds), ref), QP, jtop)
        mild = min(vp, key=lambda q: abs(vp[q] - jtop))
        harsh = until(lambda e: psnr(degrade(hr, size, replace(codec, **{field(codec): (mild, e)}), seeds), ref), range(mild, 52), target)
    else:   # a key frame of each face at its offset, every quality
        vp = {q: psnr(vp8_at(ref, q, offsets), ref) for q in WEBP_Q}
        mild = min(vp, key=lambda q: abs(vp[q] - jtop))
        harsh = {e: psnr(degrade(hr, size, replace(codec, video_quality=(e, mild)), seeds), ref) for e in range(0, mild + 1, 5)}
    e = min(harsh, key=lambda b: abs(harsh[b] - target))
    return dict(twin=twin, twin_settings=DEGRADATIONS[twin].to_dict(), codec_settings=codec.to_dict(),   # what was matched: a change to either makes the range stale
                field=field(codec), codec=sc or 'vp8', jpeg_top=DEGRADATIONS[twin].quality[1], jpeg_top_psnr=round(jtop, 3),
                codec_top_psnr=round(vp[mild], 3), mild={str(k): round(v, 3) for k, v in vp.items()},   # the mild end's search, as the harsh end's
                twin_psnr=round(target, 3), ends={str(k): round(v, 3) for k, v in harsh.items()},
                chosen=sorted([e, mild]))


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
    matches, seeds = {}, [(0, i) for i in range(len(hr))]   # every comparison on the same faces and draws
    for name, (twin, base, codec) in pairs().items():
        matches[name] = match(hr, a.match_size, twin, base, codec, offsets, seeds)
        print(name, matches[name], flush=True)
    presets = []   # each pair as drawn with the chosen range (the preset's, when it is up to date: preset_ranges says)
    for s in a.sizes:
        for name, (twin, base, _) in pairs().items():
            ref, chosen = degrade(hr, s, base, seeds), replace(DEGRADATIONS[name], **{matches[name]['field']: tuple(matches[name]['chosen'])})
            presets.append(dict(size=s, condition=name, twin=twin, twin_psnr=round(psnr(degrade(hr, s, twin, seeds), ref), 3),
                                codec_psnr=round(psnr(degrade(hr, s, chosen, seeds), ref), 3)))
            print(presets[-1], flush=True)
    cost = {}   # what each costs to make, the whole degradation: ms a face at the matched side (the median of 3 runs, one codec after the other)
    for name in ('jpeg', 'video', *STREAMS):
        cost[name] = round(timed(lambda: degrade(hr, a.match_size, name, seeds), n=3, warmup=1) / len(hr) * 1000, 3)
    print('ms a face', cost, flush=True)
    curves = []
    for s in a.sizes:
        small = resample(hr.float(), s).round().to(torch.uint8)
        curves += [dict(size=s, **r) for r in by_quality(small, offsets)]
        for c in STREAMS:   # a frame as the condition draws it, and each face in a key frame alone
            st, key = replace(DEGRADATIONS['clean'], **{c: 1.}), replace(DEGRADATIONS['clean'], **{c: 1., f'{c}_frames': 0})
            curves += [dict(size=s, codec=c, quality=q, psnr=round(psnr(degrade(hr, s, at(st, q), seeds), small), 3)) for q in QP_CURVE]
            curves += [dict(size=s, codec=f'{c}-key', quality=q, psnr=round(psnr(degrade(hr, s, at(key, q), seeds), small), 3)) for q in QP_CURVE]
        print(s, 'px curves done', flush=True)
    write_results('codec', dict(faces=len(hr), match_size=a.match_size, matches=matches,
                                preset_ranges={n: list(getattr(DEGRADATIONS[n], m['field'])) for n, m in matches.items()},
                                presets=presets, ms_per_face=cost, curves=curves), render, mach)


def render(r):
    "codec.md from the record in codec.json"
    import pandas as pd
    d = pd.DataFrame(r['curves'])
    t = lambda c: d[d.codec == c].pivot(index='quality', columns='size', values='psnr').rename(columns=lambda s: f'{s} px')
    streams = [c for c in STREAMS if c in set(d.codec)]   # (records made before H.265 have H.264 alone)
    lines = [f"# Video codecs (VP8 key frames, {' and '.join(map(label, streams))} streams) against JPEG at very low resolution (`bench/codec.py`)", "",
             f"Measured {describe(r['machine'])}, by `{r['command']}`, on the {r['faces']} faces of the validation people. "
             "PSNR (dB, mean over faces) of each face compressed at its small side against the same face uncompressed; "
             "VP8 is the key frame WebP stores, H.264 a frame of an x264 stream (up to 7 after its key frame, the face moving)"
             + (", H.265 the same from x265" if 'h265' in streams else '') + ", each face at its own place in the codec's grid (16-pixel macroblocks"
             + ("; H.265's 64-pixel blocks" if 'h265' in streams else '') + ").", ""]
    for name, m in r['matches'].items():
        lo, hi = m['chosen']; have = r['preset_ranges'][name]
        sc = m['codec'] if m['codec'] != 'vp8' else None
        mild, harsh, what = (lo, hi, f"{label(sc)} quantiser") if sc else (hi, lo, 'VP8 quality')
        rng = lambda e: f"{min(e, mild)}-{max(e, mild)}"
        lines += [f"`{name}` against `{m['twin']}`, matched at {r['match_size']} px: JPEG {m['jpeg_top']}, the twin's mildest, is at "
                  f"{m['jpeg_top_psnr']:.2f} dB, {what} {mild} the nearest at {m['codec_top_psnr']:.2f} (of " + ', '.join(f"{k} {v:.2f}" for k, v in m['mild'].items()) + "). The twin's faces as drawn are at "
                  f"{m['twin_psnr']:.2f} dB on average; drawn from " + ', '.join(f"{rng(int(k))} {v:.2f}" for k, v in m['ends'].items()) +
                  f", so `{name}` draws {what} {lo}-{hi}" + ("" if have == [lo, hi] else f" (the preset in this version draws {have}: out of date)") + ".", ""]
    p = pd.DataFrame(r['presets'])
    pr = p.pivot(index='size', columns='condition', values=['twin_psnr', 'codec_psnr'])
    cols = {}
    for name, m in r['matches'].items():
        cols[f"{m['twin']}"] = pr[('twin_psnr', name)]
        cols[f"{name} ({'VP8' if m['codec'] == 'vp8' else label(m['codec']) + ' qp'} {'-'.join(map(str, r['preset_ranges'][name]))})"] = pr[('codec_psnr', name)]
        cols[f"{name} - {m['twin']}"] = (pr[('codec_psnr', name)] - pr[('twin_psnr', name)]).round(2)
    pt = pd.DataFrame(cols).rename(index=lambda s: f'{s} px').rename_axis('side')
    b = d[(d.codec == 'jpeg') & (d['size'] == r['match_size'])].set_index('quality')['bytes']
    lines += [f"What each costs to make at {r['match_size']} px, whole degradation included (ms a face, median of 3 runs, one after the other in one run): "
              + ', '.join(f"`{k}` {v:.2f}" for k, v in r['ms_per_face'].items()) + ".", "",
              "## Each pair as drawn, PSNR (dB)", "", md_table(pt), "",
              "## Clean faces, JPEG by quality", "", md_table(t('jpeg').rename_axis('quality')), "",
              f"A JPEG file of a {r['match_size']}-pixel face is {b.min():.0f}-{b.max():.0f} bytes, most of it tables and headers.", "",
              "## Clean faces, VP8 key frame by quality", "", md_table(t('vp8').rename_axis('quality')), "",
              ]
    for c in streams:
        enc = {'h264': 'x264', 'h265': 'x265'}[c]
        lines += [f"## Clean faces, {label(c)} by quantiser", "",
                  f"A frame of the stream as `{c}` draws it (0-7 frames after its key frame, the face moving up to a tenth of its side a frame), "
                  "every face at one quantiser (lower is finer):", "", md_table(t(c).rename_axis('qp')), "",
                  f"The same faces each in a key frame (`{c}_frames=0`; {enc} codes a key frame about 3 quantiser steps finer than the frames after it):", "",
                  md_table(t(f'{c}-key').rename_axis('qp')), ""]
    return '\n'.join(lines)


def label(codec:str)->str: return codec.upper().replace('H', 'H.')   # 'h265' -> 'H.265'


if __name__ == '__main__': main()
