"""Fine-tuning costs on this machine, written to bench/results/finetune.md (or finetune-cuda.md).

Answers "cache the DSR outputs once, or compute them on the fly?" with numbers, side by side
in one run: the DSR pass per face (what on-the-fly training would add to every face of every
epoch) against a fine-tuning step per face in stage 1 (head only, backbone frozen) and stage 2
(everything), for the CPU-preset DSR (64 channels x 8 blocks) at 16 and 32 pixels, EdgeFace-XXS
and an ArcFace head over LFW DevTrain's 1,115 classes, batch 32, in fp32 and (where the device
computes it natively) bf16. Timings are medians over steps after warm-up, on LFW faces.

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once
    python bench/finetune.py                 # CPU
    python bench/finetune.py --device cuda   # a GPU
"""
import argparse, os, statistics, time, warnings
from datetime import datetime, timezone
from pathlib import Path

import torch, torch.nn.functional as F

from vlrface.core import cpu_model, fast_dtype
from vlrface.dsr import DSR, upscale_faces
from vlrface.edgeface import load_edgeface
from vlrface.faces import load_face_set
from vlrface.finetune import ArcFace, FaceClassifier, ArcFaceLoss

warnings.filterwarnings('ignore')


def timed(fn, reps, dev):
    ts = []
    for i in range(reps + 2):
        if dev.type == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter(); fn()
        if dev.type == 'cuda': torch.cuda.synchronize()
        if i >= 2: ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--bs', type=int, default=32)
    a = ap.parse_args()
    dev, bs = torch.device(a.device), a.bs
    fs = load_face_set(a.data, split='train', sizes=[16, 32], progress=False)
    hr = fs.hr[:bs].to(dev).float().div(127.5).sub(1)
    precs = ['fp32'] + (['bf16'] if fast_dtype(dev) == torch.bfloat16 else [])
    rows = []
    for prec in precs:
        dtype = None if prec == 'fp32' else torch.bfloat16
        ac = lambda: torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None)
        for size in (16, 32):
            dsr = DSR(in_size=size, channels=64, blocks=8).to(dev).eval()
            v = fs.vlr[size][:bs].to(dev).float() / 255
            def sr():
                with torch.no_grad(), ac(): upscale_faces(v, dsr, dtype=dtype or torch.float32)
            rows.append((prec, f'DSR pass, {size} px', bs / timed(sr, a.reps, dev)))
            print(rows[-1], flush=True)
        torch.manual_seed(0)
        model = FaceClassifier(load_edgeface().to(dev), ArcFace(1115).to(dev)).train()
        loss, y = ArcFaceLoss(model), torch.randint(0, 1115, (bs,), device=dev)
        for stage in (1, 2):
            model.backbone.requires_grad_(stage == 2)
            opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], 1e-6)
            def step():
                with ac(): l = loss(model(hr), y)
                l.backward(); opt.step(); opt.zero_grad(set_to_none=True)
            rows.append((prec, f'fine-tuning step, stage {stage}', bs / timed(step, a.reps, dev)))
            print(rows[-1], flush=True)
    fps = {(p, n): f for p, n, f in rows}
    lines = [f"# Fine-tuning costs ({dev.type})", "",
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `python bench/finetune.py{' --device ' + a.device if a.device != 'cpu' else ''}` on "
             f"{torch.cuda.get_device_name(dev) if dev.type == 'cuda' else cpu_model() + f', {os.cpu_count()} cores'}, "
             f"torch {torch.__version__} ({torch.get_num_threads()} threads). Faces per second, median of {a.reps} batches of {bs} "
             "LFW DevTrain faces after 2 warm-up batches. DSR: the CPU preset's architecture (64 channels x 8 blocks), inference. "
             "Fine-tuning step: EdgeFace-XXS + ArcFace head (1,115 classes) forward, loss, backward, Adam step; stage 1 with the "
             "backbone frozen (no backbone gradients), stage 2 with everything learning.", "",
             "| precision | what | faces/s |", "|---|---|---|"]
    lines += [f"| {p} | {n} | {f:.1f} |" for p, n, f in rows]
    lines += ["", "On the fly, every face of every epoch would pay its DSR pass on top of its training step; cached, each face pays it "
              "once before training. The extra time on the fly, per epoch, as a share of the epoch's training time:", "",
              "| precision | VLR size | stage 1 | stage 2 |", "|---|---|---|---|"]
    for p in precs:
        for size in (16, 32):
            d = 1 / fps[(p, f'DSR pass, {size} px')]
            lines.append(f"| {p} | {size} | +{d * fps[(p, 'fine-tuning step, stage 1')] * 100:.0f} % | +{d * fps[(p, 'fine-tuning step, stage 2')] * 100:.0f} % |")
    lines += ["", "So vlrface caches: one DSR pass per face per size before training (for LFW DevTrain, the pass of one epoch), "
              "then training steps only; the cache is uint8, 37.6 kB a face (LFW DevTrain at two sizes: about 0.5 GB)."]
    out = Path('bench/results')/('finetune.md' if dev.type == 'cpu' else f'finetune-{dev.type}.md')
    out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
