"""Memory of a long CPU training run with and without `TrimMemory`, written to bench/results/memory.{json,md}.

On glibc, memory that training frees can stay with the allocator, so a process grows step by
step although no tensor is leaked (a fine-tuning run on LFW reached 24 GiB this way).
`vlrface.runs.TrimMemoryCallback` calls `malloc_trim` every 25 training batches. This script trains
the fine-tuning learner (EdgeFace-XXS + an ArcFace head of 3,836 classes, as with every LFW
DevTrain person, batch 32, stage 2: everything unfrozen) for the same steps on the same random
faces, once with and once without the callback, each in a fresh process one after the other,
and reports the resident memory after warm-up and at the end, the growth per step and the
time per step. Only the children import torch and vlrface, not this parent process, so the
machine record is the first child's, taken at its start.

    python bench/memory.py            # --steps 300 by default
"""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

from common import machine, describe, write_results   # imports neither torch nor vlrface


def child(trim:bool, steps:int, classes:int):
    "Train `steps` batches in this process; print one JSON line (with this machine's record)"
    mach = machine()
    import warnings; warnings.filterwarnings('ignore')
    import numpy as np, torch
    from fastai.callback.core import Callback, CancelFitException
    from fastai.data.core import DataLoaders
    from vlrface.edgeface import EdgeFace
    from vlrface.finetune import ArcFace, FaceBank, FaceDL, FaceClassifier, finetune_learner
    from vlrface.runs import TrimMemoryCallback
    torch.manual_seed(0); n = 4096
    bank = FaceBank(torch.randint(0, 256, (n, 3, 112, 112), dtype=torch.uint8), np.random.default_rng(0).integers(0, classes, n),
                    np.array(['DSR 16'] * n, dtype=object), np.array([f'f{i}' for i in range(n)], dtype=object))
    dl = FaceDL(bank, bs=32, shuffle=True, flip=True); dl.drop_last = True
    learn = finetune_learner(DataLoaders(dl, FaceDL(bank, bs=64), device='cpu'), FaceClassifier(EdgeFace('edgeface_xxs'), ArcFace(classes)),
                             precision='fp32')
    if not trim: learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, TrimMemoryCallback)])
    rec = {}
    rss = lambda: int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')   # resident bytes (Linux)
    class Probe(Callback):
        order = 99   # after TrimMemoryCallback
        def after_batch(self):
            if not self.training: return
            k = self.train_iter
            if k == 20: rec.update(rss0=rss(), t0=time.perf_counter())
            if k == steps - 1:
                rec.update(rss1=rss(), t1=time.perf_counter()); raise CancelFitException()
    learn.unfreeze()
    with learn.no_bar(), learn.no_logging(): learn.fit(100, slice(6e-6, 9e-4), cbs=Probe())
    n_meas = steps - 1 - 20
    print(json.dumps(dict(machine=mach, trim=trim, rss0=rec['rss0'] / 2**20, rss1=rec['rss1'] / 2**20,
                          mb_per_step=(rec['rss1'] - rec['rss0']) / 2**20 / n_meas, s_per_step=(rec['t1'] - rec['t0']) / n_meas)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=300); ap.add_argument('--classes', type=int, default=3836)
    ap.add_argument('--child', choices=['trim', 'plain']); ap.add_argument('--out', default='bench/results/memory.md', help='the page; its JSON goes next to it')
    a = ap.parse_args()
    if a.child: return child(a.child == 'trim', a.steps, a.classes)
    res = {}
    for kind in ('plain', 'trim'):
        out = subprocess.run([sys.executable, __file__, '--child', kind, '--steps', str(a.steps), '--classes', str(a.classes)],
                             capture_output=True, text=True, check=True)
        res[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    mach = res['plain'].pop('machine'); res['trim'].pop('machine')
    write_results(a.out, dict(steps=a.steps, classes=a.classes, glibc=platform.libc_ver()[1], runs=res), render, mach)


def render(r):
    "memory.md from the record in memory.json"
    res = r['runs']; p, t = res['plain'], res['trim']
    rows = ['| run | RSS after 20 steps (MiB) | RSS at the end (MiB) | growth per step (MiB) | s per step |', '| --- | ---: | ---: | ---: | ---: |']
    for k, name in (('plain', 'without TrimMemory'), ('trim', 'with TrimMemory (every 25 batches)')):
        x = res[k]; rows.append(f"| {name} | {x['rss0']:,.0f} | {x['rss1']:,.0f} | {x['mb_per_step']:.2f} | {x['s_per_step']:.3f} |")
    return (f"# Memory of CPU training with and without TrimMemory\n\n{describe(r['machine'])}, glibc {r['glibc']}; fine-tuning "
            f"learner, {r['classes']:,}-class ArcFace head, batch 32, fp32, {r['steps']} steps per run (measured from step 20), "
            f"`{r['command']}`. Numbers: the JSON next to this page.\n\n" + '\n'.join(rows) +
            f"\n\nGrowth saved: {p['mb_per_step'] - t['mb_per_step']:.2f} MiB per step "
            f"({(p['mb_per_step'] - t['mb_per_step']) * 1000 / 1024:.1f} GiB per 1,000 steps); time per step with / without: "
            f"{t['s_per_step'] / p['s_per_step']:.2f}x.\n")


if __name__ == '__main__': main()
