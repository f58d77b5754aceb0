"""The cost of degradations made on the fly, written to bench/results/degrade.md and degrade.json.

1. Degradation alone: faces per second of `vlrface.degrade.degrade` for each preset and side,
   face by face (`chunk=1`) and batched (the training batch, and 128 faces as a GPU step might
   take), the modes taking turns on the same faces and draws; the faces come out identical.
2. DSR training: samples per second of whole training steps (batch made, DSR forward, DSRLoss
   with EdgeFace-XXS identity and feature-matching terms, backward, Adam step) for the CPU preset
   at 16 px, with the prepared VLR faces, and with faces made on the fly from the HR faces by the
   training mixes ('clean', 'realistic', and 'realistic-video' and 'realistic-h264', three faces in
   ten also through a VP8 key frame or from an H.264 stream), side by side: the configurations take
   turns, step by step, so that a noisy machine slows them alike; medians are reported, with the
   ratio to the prepared faces.

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once
    python bench/degrade.py
"""
import argparse, json, statistics, time, warnings
from dataclasses import asdict
from pathlib import Path

import torch

from common import machine, describe, rerender, write_results
from vlrface.core import md_table
from vlrface.degrade import DEGRADATIONS, degrade
from vlrface.dsr import DSR
from vlrface.edgeface import load_edgeface
from vlrface.losses import DSRLoss
from vlrface.train import PRESETS, PairDL, pair_data

warnings.filterwarnings('ignore')
ALONE = ('clean', 'realistic', 'mixed', 'jpeg', 'video', 'h264', 'realistic-h264')   # presets timed alone
MIXES = ('clean', 'realistic', 'realistic-video', 'realistic-h264')   # training mixes timed in training steps


def degrade_rates(hr, preset, size, reps, chunks)->dict:
    """Faces per second of `degrade` on the faces `hr` done in chunks of each of `chunks` (1: face by face), median of `reps`
    after one warm-up. The chunk sizes take turns call by call, on the same seeds, so they do the same work on a machine
    that is as busy for each; that their faces are identical is checked."""
    ts = {c: [] for c in chunks}
    for r in range(reps + 1):
        seeds, outs = [(0, r, i) for i in range(len(hr))], []   # each rep its own draws, no rep repeats another's
        for c in chunks:
            t = time.perf_counter(); outs.append(degrade(hr, size, preset, seeds, chunk=c)); t = time.perf_counter() - t
            if r: ts[c].append(t)
        assert all(torch.equal(o, outs[0]) for o in outs), (preset, size)
    return {c: len(hr) / statistics.median(t) for c, t in ts.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--steps', type=int, default=12, help='timed training steps per configuration (after 2 warm-up steps)')
    ap.add_argument('--render', action='store_true', help='only rewrite degrade.md from degrade.json')
    a = ap.parse_args()
    if a.render: return print(rerender(Path('bench/results/degrade.json')))
    mach = machine()
    torch.manual_seed(0)
    cfg = PRESETS['cpu']
    with_vlr = pair_data(a.data, 16, 'train', limit=cfg.bs * (a.steps + 2), progress=False)
    hr_only = pair_data(a.data, 16, 'train', limit=cfg.bs * (a.steps + 2), progress=False, vlr=False)

    rows1, big = [], pair_data(a.data, 16, 'train', limit=128, progress=False, vlr=False).hr
    for p in ALONE:
        for s in (8, 16, 32):
            for n in (cfg.bs, len(big)):
                r = degrade_rates(big[:n], p, s, 5, (1, n))
                rows1.append(dict(preset=p, size=s, faces=n, face_by_face=round(r[1], 1), batched=round(r[n], 1), ratio=round(r[n] / r[1], 2)))
                print(rows1[-1], flush=True)

    rec = load_edgeface()
    runs = {'prepared VLR faces': PairDL(with_vlr, bs=cfg.bs, shuffle=True, flip=True),
            **{f"'{p}' made on the fly": PairDL(hr_only, bs=cfg.bs, shuffle=True, flip=True, degrade=p, size=16) for p in MIXES}}
    state = {}
    for k in runs:
        torch.manual_seed(0); m = DSR(in_size=16, channels=cfg.channels, blocks=cfg.blocks).train()
        state[k] = dict(model=m, loss=DSRLoss(rec, vgg=None, perceptual=0.), opt=torch.optim.Adam(m.parameters(), 1e-4), it=iter(runs[k]), t=[], tb=[])
    for step in range(a.steps + 2):
        for k, s in state.items():   # take turns: a noisy machine slows every configuration alike
            t0 = time.perf_counter()
            v, h = next(s['it'])
            t1 = time.perf_counter()
            l = s['loss'](s['model'](v), h); l.backward(); s['opt'].step(); s['opt'].zero_grad(set_to_none=True)
            if step >= 2: s['t'].append(time.perf_counter() - t0); s['tb'].append(t1 - t0)
    base = cfg.bs / statistics.median(state['prepared VLR faces']['t'])
    rows2 = [dict(faces=k, samples_per_s=round(cfg.bs / statistics.median(s['t']), 1), batch_ms=round(1000 * statistics.median(s['tb']), 1),
                  vs_prepared=round(cfg.bs / statistics.median(s['t']) / base, 3)) for k, s in state.items()]
    for r in rows2: print(r)

    meta = dict(batch=cfg.bs, dsr=f"{cfg.channels}x{cfg.blocks}", steps=a.steps,
                presets={p: asdict(DEGRADATIONS[p]) for p in dict.fromkeys(ALONE + MIXES)})
    write_results('degrade', dict(meta=meta, degrade=rows1, training=rows2), render, mach)


def render(r):
    "degrade.md from the record in degrade.json"
    import pandas as pd
    meta, m = r['meta'], r.get('machine')
    # a degrade.json from before bench/common.py kept its machine in `meta`
    who = describe(m) if m else f"{meta['date']} on {meta['cpu']}, {meta['cores']} cores, torch {meta['torch']} ({meta['threads']} threads)"
    d = pd.DataFrame(r['degrade'])
    t1 = pd.concat({f'{s} px': d[d['size'] == s].set_index(['preset', 'faces'])[['face_by_face', 'batched', 'ratio']] for s in sorted(d['size'].unique())}, axis=1)
    t1.columns = [f'{a} {b}'.replace('_', ' ') for a, b in t1.columns]
    t1 = t1.rename_axis(['preset', 'batch'])
    for c in t1.columns:
        if c.endswith('face') or c.endswith('batched'): t1[c] = t1[c].round(0).astype(int)
    sizes = ', '.join(f'{s} px' for s in sorted(d['size'].unique()))
    t2 = pd.DataFrame(r['training']).set_index('faces').rename(columns=dict(samples_per_s='samples/s', batch_ms='batch made (ms)', vs_prepared='vs prepared'))
    lines = ["# The cost of degradations made on the fly", "",
             f"Measured {who}, by `{r.get('command', 'python bench/degrade.py')}`. "
             "Numbers: bench/results/degrade.json; `python bench/degrade.py --render` rewrites this page from them.", "",
             f"## Degradation alone (faces/s, LFW HR faces, median of 5)", "",
             f"For each preset and side ({sizes}): the faces of a batch degraded face by face (`degrade(..., chunk=1)`) and as one batch "
             "(the default), the two taking turns on the same faces and draws; their faces are identical (asserted). `ratio`: batched over face by face.", "",
             md_table(t1), "",
             f"## DSR training steps (CPU preset {meta['dsr']}, batch {meta['batch']}, 16 px; median of {meta['steps']} steps, the {len(t2)} taking turns)", "",
             "A step: the batch made (read, or degraded from HR), DSR forward, DSRLoss (pixel, identity and feature matching through "
             "EdgeFace-XXS, TV), backward, Adam step.", "", md_table(t2), ""]
    return '\n'.join(lines)


if __name__ == '__main__': main()
