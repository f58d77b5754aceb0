"""Fine-tuning costs on this machine, written to bench/results/finetune.{json,md} (or finetune-cuda.*).

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
import argparse, warnings
from pathlib import Path

import torch, torch.nn.functional as F

from common import machine, describe, timed, write_results
from vlrface.core import fast_dtype
from vlrface.dsr import DSR, upscale_faces
from vlrface.edgeface import load_edgeface
from vlrface.faces import load_face_set
from vlrface.finetune import ArcFace, FaceClassifier, ArcFaceLoss

warnings.filterwarnings('ignore')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--bs', type=int, default=32)
    a = ap.parse_args()
    dev, bs = torch.device(a.device), a.bs
    m = machine(dev)
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
            rows.append(dict(precision=prec, what=f'DSR pass, {size} px', faces_per_s=bs / timed(sr, a.reps, 2, dev)))
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
            rows.append(dict(precision=prec, what=f'fine-tuning step, stage {stage}', faces_per_s=bs / timed(step, a.reps, 2, dev)))
            print(rows[-1], flush=True)
    write_results('finetune' if dev.type == 'cpu' else f'finetune-{dev.type}', dict(reps=a.reps, bs=bs, precisions=precs, rows=rows), render, m)


def render(r):
    "finetune.md from the record in finetune.json"
    m, rows, bs = r['machine'], r['rows'], r['bs']
    fps = {(x['precision'], x['what']): x['faces_per_s'] for x in rows}
    lines = [f"# Fine-tuning costs ({m['device'].split(':')[0]})", "",
             f"Measured {describe(m)}, by `{r['command']}`. Faces per second, median of {r['reps']} batches of {bs} "
             "LFW DevTrain faces after 2 warm-up batches. DSR: the CPU preset's architecture (64 channels x 8 blocks), inference. "
             "Fine-tuning step: EdgeFace-XXS + ArcFace head (1,115 classes) forward, loss, backward, Adam step; stage 1 with the "
             "backbone frozen (no backbone gradients), stage 2 with everything learning. Numbers: the JSON next to this page.", "",
             "| precision | what | faces/s |", "|---|---|---|"]
    lines += [f"| {x['precision']} | {x['what']} | {x['faces_per_s']:.1f} |" for x in rows]
    lines += ["", "On the fly, every face of every epoch would pay its DSR pass on top of its training step; cached, each face pays it "
              "once before training. The extra time on the fly, per epoch, as a share of the epoch's training time:", "",
              "| precision | VLR size | stage 1 | stage 2 |", "|---|---|---|---|"]
    for p in r['precisions']:
        for size in (16, 32):
            d = 1 / fps[(p, f'DSR pass, {size} px')]
            lines.append(f"| {p} | {size} | +{d * fps[(p, 'fine-tuning step, stage 1')] * 100:.0f} % | +{d * fps[(p, 'fine-tuning step, stage 2')] * 100:.0f} % |")
    lines += ["", "So vlrface caches: one DSR pass per face per size before training (for LFW DevTrain, the pass of one epoch), "
              "then training steps only; the cache is uint8, 37.6 kB a face (LFW DevTrain at two sizes: about 0.5 GB)."]
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
