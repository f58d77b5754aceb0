"""The cost of degradations made on the fly, written to bench/results/degrade.md and degrade.json.

1. Degradation alone: faces per second of `vlrface.degrade.degrade` for each preset and side.
2. DSR training: samples per second of whole training steps (batch made, DSR forward, DSRLoss
   with EdgeFace-XXS identity and feature-matching terms, backward, Adam step) for the CPU preset
   at 16 px, with the prepared VLR faces, and with 'clean' and 'realistic' faces made on the fly
   from the HR faces, side by side: the configurations take turns, step by step, so that a noisy
   machine slows them alike; medians are reported, with the ratio to the prepared faces.

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once
    python bench/degrade.py
"""
import argparse, json, statistics, time, warnings
from dataclasses import asdict
from pathlib import Path

import torch

from common import machine, describe, timed, rerender, write_results
from vlrface.core import md_table
from vlrface.degrade import DEGRADATIONS, degrade
from vlrface.dsr import DSR
from vlrface.edgeface import load_edgeface
from vlrface.losses import DSRLoss
from vlrface.train import PRESETS, PairDL, pair_data

warnings.filterwarnings('ignore')


def degrade_rate(hr, preset, size, reps):
    "Faces per second of `degrade` on the batch `hr` (median of `reps` after one warm-up; each call its own seeds)"
    calls = iter(range(reps + 1))
    def one():
        r = next(calls)   # each call its own seeds, so no call repeats another's draws
        degrade(hr, size, preset, [(0, r, i) for i in range(len(hr))])
    return len(hr) / timed(one, reps, warmup=1)


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

    rows1 = []
    for p in ('clean', 'realistic', 'mixed', 'jpeg'):
        for s in (8, 16, 32):
            rows1.append(dict(preset=p, size=s, faces_per_s=round(degrade_rate(hr_only.hr[:cfg.bs], p, s, 5), 1)))
            print(rows1[-1], flush=True)

    rec = load_edgeface()
    runs = {'prepared VLR faces': PairDL(with_vlr, bs=cfg.bs, shuffle=True, flip=True),
            "'clean' made on the fly": PairDL(hr_only, bs=cfg.bs, shuffle=True, flip=True, degrade='clean', size=16),
            "'realistic' made on the fly": PairDL(hr_only, bs=cfg.bs, shuffle=True, flip=True, degrade='realistic', size=16)}
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
                presets={p: asdict(DEGRADATIONS[p]) for p in ('clean', 'realistic', 'mixed', 'jpeg')})
    write_results('degrade', dict(meta=meta, degrade=rows1, training=rows2), render, mach)


def render(r):
    "degrade.md from the record in degrade.json"
    import pandas as pd
    meta, m = r['meta'], r.get('machine')
    # a degrade.json from before bench/common.py kept its machine in `meta`
    who = describe(m) if m else f"{meta['date']} on {meta['cpu']}, {meta['cores']} cores, torch {meta['torch']} ({meta['threads']} threads)"
    t1 = pd.DataFrame(r['degrade']).pivot(index='preset', columns='size', values='faces_per_s').rename(columns=lambda s: f'{s} px').round(0).astype(int)
    t2 = pd.DataFrame(r['training']).set_index('faces').rename(columns=dict(samples_per_s='samples/s', batch_ms='batch made (ms)', vs_prepared='vs prepared'))
    lines = ["# The cost of degradations made on the fly", "",
             f"Measured {who}, by `{r.get('command', 'python bench/degrade.py')}`. "
             "Numbers: bench/results/degrade.json; `python bench/degrade.py --render` rewrites this page from them.", "",
             f"## Degradation alone (faces/s, batches of {meta['batch']} LFW HR faces, median of 5)", "", md_table(t1), "",
             f"## DSR training steps (CPU preset {meta['dsr']}, batch {meta['batch']}, 16 px; median of {meta['steps']} steps, the three taking turns)", "",
             "A step: the batch made (read, or degraded from HR), DSR forward, DSRLoss (pixel, identity and feature matching through "
             "EdgeFace-XXS, TV), backward, Adam step.", "", md_table(t2), ""]
    return '\n'.join(lines)


if __name__ == '__main__': main()
