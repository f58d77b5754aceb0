"""DSR training throughput on this machine, written to bench/results/train.{json,md} (or train-cuda.*).

Samples per second of full training steps (DSR forward, DSRLoss with the frozen EdgeFace-XXS
for the identity and feature-matching terms, backward, Adam step) for the CPU preset and the
default (original system's) configuration, in fp32 and bf16 side by side in one run, with the
achieved TFLOP/s of the DSR part. Steps are timed on a fixed batch of LFW pairs after warm-up.

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once
    python bench/train.py                   # CPU
    python bench/train.py --device cuda     # a GPU
"""
import argparse, warnings
from dataclasses import replace
from pathlib import Path

import torch

from common import machine, describe, timed, write_results
from vlrface.core import fast_dtype
from vlrface.dsr import DSR, dsr_cost
from vlrface.edgeface import load_edgeface
from vlrface.losses import DSRLoss
from vlrface.train import PRESETS, pair_dls

warnings.filterwarnings('ignore')


def step_time(model, loss, v, h, dtype, reps, dev):
    "Median seconds of a full training step (after 2 warm-up steps)"
    opt = torch.optim.Adam(model.parameters(), 1e-6)
    def step():
        with torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            l = loss(model(v), h)
        l.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    return timed(step, reps, warmup=2, device=dev)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--reps', type=int, default=5)
    a = ap.parse_args()
    dev = torch.device(a.device)
    m = machine(dev)
    rec = load_edgeface().to(dev)
    rows = []
    for name, cfg in (('CPU preset', PRESETS['cpu']), ('default (original system)', PRESETS['gpu'])):
        for size in (16, 32):
            cfg = replace(cfg, size=size)
            dls = pair_dls(a.data, size, cfg.bs, device=dev, limit=cfg.bs * 2, progress=False)
            v, h = dls.train.one_batch()
            gflop = dsr_cost(DSR(in_size=size, channels=cfg.channels, blocks=cfg.blocks).cfg)['gflops'] * 3   # forward + backward ~ 3x
            for prec in ('fp32', 'bf16'):
                dtype = None if prec == 'fp32' else torch.bfloat16
                torch.manual_seed(0)
                model = DSR(in_size=size, channels=cfg.channels, blocks=cfg.blocks).to(dev).train()
                loss = DSRLoss(rec, vgg=None).to(dev)
                s = step_time(model, loss, v, h, dtype, a.reps, dev)
                rows.append(dict(configuration=name, arch=f'{cfg.channels}x{cfg.blocks}', size=size, bs=cfg.bs, precision=prec,
                                 samples_per_s=cfg.bs / s, dsr_tflops=gflop * cfg.bs / s / 1000))
                print(rows[-1], flush=True)
    write_results('train' if dev.type == 'cpu' else f'train-{dev.type}', dict(reps=a.reps, rows=rows), render, m)


def render(r):
    "train.md from the record in train.json"
    m, rows = r['machine'], r['rows']
    base = {(x['configuration'], x['size']): x['samples_per_s'] for x in rows if x['precision'] == 'fp32'}
    lines = [f"# DSR training throughput ({m['device'].split(':')[0]})", "",
             f"Measured {describe(m)}, by `{r['command']}`. Median of {r['reps']} full training steps after 2 warm-up steps, "
             "on one batch of LFW pairs: DSR forward, DSRLoss (pixel, identity and feature matching through the frozen EdgeFace-XXS, TV; "
             "no perceptual term: no VGG-16 weights here), backward, Adam step. DSR TFLOP/s counts the DSR only (3x its forward FLOPs), "
             "so it understates the work done (EdgeFace's forward and backward are not counted). Numbers: the JSON next to this page.", "",
             "| configuration | channels x blocks | VLR size | batch | precision | samples/s | vs fp32 | DSR TFLOP/s |", "|---|---|---|---|---|---|---|---|"]
    for x in rows:
        sps = x['samples_per_s']
        lines.append(f"| {x['configuration']} | {x['arch']} | {x['size']} | {x['bs']} | {x['precision']} | {sps:.1f} | "
                     f"{sps / base[(x['configuration'], x['size'])]:.2f}x | {x['dsr_tflops']:.3f} |")
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
