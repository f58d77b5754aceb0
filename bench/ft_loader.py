"""How fast the fine-tuning loader makes its training batches, in this process or in worker processes, written to
bench/results/ft-loader.{json,md}.

    python bench/ft_loader.py [--data data/lfw-vlr] [--bs 128] [--batches 60] [--workers 0 1 2]

The recipe fine-tunes on faces degraded and upscaled anew at every batch (`--degrade realistic --sizes 8 16`, bicubic
in front): three faces in four of a batch are made from their HR face, on the CPU. A GPU steps EdgeFace-XXS faster
than one process makes them, so `finetune_data` has worker processes make the batches on a GPU. This script times
the loader alone, as training sees it (the same `finetune_data`, distillation targets included), once per number of
workers, in turns, and checks that every setting made the same faces. It measures what the CPU can feed; the
GPU's side is `bench/gpu_dsrs.py profile`'s kind of number and needs a GPU.
"""
import argparse, time, warnings

import pandas as pd
import torch

from common import machine, describe, write_results
from vlrface.core import md_table
from vlrface.finetune import FinetuneConfig, finetune_data

warnings.filterwarnings('ignore')


def render(rec)->str:
    rows = rec['rows']
    base = next(r['faces_s'] for r in rows if r['workers'] == 0)
    t = [{'workers': r['workers'], 'seconds per batch': round(r['batch_s'], 4), 'faces/s': round(r['faces_s']),
          'vs in-process': round(r['faces_s'] / base, 2)} for r in rows]
    return (f"# The fine-tuning loader, in-process and with workers (`bench/ft_loader.py`)\n\nRun {describe(rec['machine'])}; "
            f"{rec['seconds']:.0f} s. Training faces of `{rec['data']}` as the recipe makes them (`--degrade {rec['degrade']} --sizes "
            f"{' '.join(map(str, rec['sizes']))}`, hr_ratio {rec['hr_ratio']}), batches of {rec['bs']}; each setting timed over "
            f"the first {rec['batches']} batches of an epoch (the workers' start-up included), in turns, best of {rec['rounds']} rounds. "
            f"Every setting made the same faces: {rec['same_faces']}.\n\n{md_table(pd.DataFrame(t).set_index('workers'))}\n\n"
            "The loader alone: no model steps meanwhile. On a GPU the workers make batches while it steps, so a step takes the "
            "slower of the two; in-process, their sum.\n")


def time_loader(dl, batches:int)->float:
    "Seconds per batch of `dl` over its first `batches` batches, from the start of the epoch (the workers' start-up included, and no head start)"
    t = time.perf_counter()
    it = iter(dl)
    for _ in range(batches): next(it)
    s = (time.perf_counter() - t) / batches
    del it   # (stops the workers)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', default='data/lfw-vlr')
    ap.add_argument('--bs', type=int, default=128)
    ap.add_argument('--batches', type=int, default=60)
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--out', default='ft-loader')
    a = ap.parse_args()
    if 0 not in a.workers: a.workers = [0, *a.workers]   # the in-process loader is what the others are compared with
    mach, t0 = machine(), time.time()
    cfg = FinetuneConfig(bs=a.bs, sizes=(8, 16), degrade='realistic', distill=20.)
    dls, _, _ = finetune_data(a.data, (), cfg, device='cpu', progress=False, workers=0)
    tr = dls.train
    tr.dataset.targets = torch.zeros(len(tr.dataset), 2, 512)   # (served with each face, as in a distilling run: their values do not matter here)
    # the same faces whoever makes them (iterated: fastai's one_batch would make them in this process whatever num_workers says)
    first = {w: next(iter(tr.new(num_workers=w)))[0] for w in a.workers}
    same = all(torch.equal(first[0], x) for x in first.values())
    best = {w: float('inf') for w in a.workers}
    for _ in range(a.rounds):   # in turns: a busy moment of the machine falls on one setting of one round
        for w in a.workers:
            best[w] = min(best[w], time_loader(tr.new(num_workers=w), a.batches))
            print(f"workers {w}: {a.bs / best[w]:,.0f} faces/s", flush=True)
    rows = [dict(workers=w, batch_s=best[w], faces_s=a.bs / best[w]) for w in a.workers]
    write_results(a.out, dict(rows=rows, data=a.data, bs=a.bs, batches=a.batches, rounds=a.rounds, sizes=list(cfg.sizes),
                              degrade=cfg.degrade, hr_ratio=cfg.hr_ratio, same_faces=same, seconds=round(time.time() - t0, 1)), render, mach)


if __name__ == '__main__': main()
