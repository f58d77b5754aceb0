"""DSR training throughput on this machine, written to bench/results/train.md (or train-cuda.md).

Samples per second of full training steps (DSR forward, DSRLoss with the frozen EdgeFace-XXS
for the identity and feature-matching terms, backward, Adam step) for the CPU preset and the
default (original system's) configuration, in fp32 and bf16 side by side in one run, with the
achieved TFLOP/s of the DSR part. Steps are timed on a fixed batch of LFW pairs after warm-up.

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once
    python bench/train.py                   # CPU
    python bench/train.py --device cuda     # a GPU
"""
import argparse, os, platform, statistics, time, warnings
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from vlrface.core import fast_dtype
from vlrface.dsr import DSR, dsr_cost
from vlrface.edgeface import load_edgeface
from vlrface.losses import DSRLoss
from vlrface.train import PRESETS, pair_dls, _norm

warnings.filterwarnings('ignore')


def step_time(model, loss, v, h, dtype, reps, dev):
    opt = torch.optim.Adam(model.parameters(), 1e-6)
    ts = []
    for i in range(reps + 2):
        if dev.type == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            l = loss(model(v), h)
        l.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        if dev.type == 'cuda': torch.cuda.synchronize()
        if i >= 2: ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--reps', type=int, default=5)
    a = ap.parse_args()
    dev = torch.device(a.device)
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
                rows.append((name, f'{cfg.channels}x{cfg.blocks}', size, cfg.bs, prec, cfg.bs / s, gflop * cfg.bs / s / 1000))
                print(rows[-1], flush=True)
    base = {(r[0], r[2]): r[5] for r in rows if r[4] == 'fp32'}
    lines = [f"# DSR training throughput ({dev.type})", "",
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `python bench/train.py{' --device ' + a.device if a.device != 'cpu' else ''}` on "
             f"{torch.cuda.get_device_name(dev) if dev.type == 'cuda' else (platform.processor() or platform.machine()) + f', {os.cpu_count()} cores'}, "
             f"torch {torch.__version__} ({torch.get_num_threads()} threads). Median of {a.reps} full training steps after 2 warm-up steps, "
             "on one batch of LFW pairs: DSR forward, DSRLoss (pixel, identity and feature matching through the frozen EdgeFace-XXS, TV; "
             "no perceptual term: no VGG-16 weights here), backward, Adam step. DSR TFLOP/s counts the DSR only (3x its forward FLOPs), "
             "so it understates the work done (EdgeFace's forward and backward are not counted).", "",
             "| configuration | channels x blocks | VLR size | batch | precision | samples/s | vs fp32 | DSR TFLOP/s |", "|---|---|---|---|---|---|---|---|"]
    for n, cb, s, bs, p, sps, tf in rows:
        lines.append(f"| {n} | {cb} | {s} | {bs} | {p} | {sps:.1f} | {sps / base[(n, s)]:.2f}x | {tf:.3f} |")
    out = Path('bench/results')/('train.md' if dev.type == 'cpu' else f'train-{dev.type}.md')
    out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
