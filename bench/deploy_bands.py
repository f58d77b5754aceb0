"""Deploying the shipped DSRs as bands of sizes: a bundle written by `vlrface export --dsr pretrained:bands`, run by the
torch-free runtime in float and int8, against the PyTorch pipeline of the same bands, on faces of mixed sizes:
bench/results/deploy-bands.{json,md}.

    python bench/deploy_bands.py [--data data/lfw-vlr] [--bundle runs/bands-bundle]

Faces: the 1,000 pairs of LFW View 1 DevTest; each face gets its own side, drawn from 8 to 32 px and seeded by its
name, and is made at that side by the `clean` and `mixed` test conditions (as bench/route.py). Systems: `Pipeline`
with `PRETRAINED_BANDS` in fp32 (what bench/route.py measured), the bundle's float models, its int8 models (the DSRs
statically quantised, EdgeFace dynamically, calibrated on DevTrain faces only). Reported: LR-LR and HR-LR accuracy,
the cosine of each face's int8 (and float) embedding to PyTorch's, per band, and faces per second in batches of 64,
each system timed in turns on the same faces (2 threads).
"""
import argparse, statistics, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from common import describe, machine, write_results
from route import degraded, face_sides
from vlrface.core import get_path, md_table
from vlrface.dsr import load_bands
from vlrface.edgeface import embed, load_edgeface
from vlrface.evaluate import read_pairs, verification_report
from vlrface.export import export_bundle
from vlrface.faces import load_face_set
from vlrface.pipeline import PRETRAINED_BANDS, Pipeline
from vlrface.runtime import Runtime

warnings.filterwarnings('ignore')
THREADS = 2


def band_of(rt:Runtime, side:int)->str:
    "The band a face of `side` px falls in, named by what upscales it"
    k = rt.route(side)
    return 'bicubic' if k is None else f'{k} px DSR'


def render(r:dict)->str:
    acc, cos, sp = pd.DataFrame(r['accuracy']), pd.DataFrame(r['cosine']), pd.DataFrame(r['speed'])
    w = acc.pivot_table(index=['degradation', 'protocol'], columns='system', values='accuracy', sort=False)[r['systems']] * 100
    w['int8 - torch'] = w['ONNX int8'] - w['torch fp32']
    return '\n'.join([
        '# Deploying the DSRs as bands of sizes (`bench/deploy_bands.py`)', '', f"Run {describe(r['machine'])}; {r['seconds']:.0f} s.", '',
        f"Bundle `vlrface export --dsr pretrained:bands` ({', '.join(f'{k} <= {b}' for b, k in r['bands'].items())}), int8 calibrated on "
        f"{r['calibration']}; exported in {r['export_s']:.0f} s. Faces: the {r['pairs']:,} pairs of LFW View 1 DevTest ({r['faces']:,} faces), "
        f"each at its own side drawn from {r['sides'][0]} to {r['sides'][1]} px, made by each test condition.", '',
        '## Accuracy (%)', '', md_table(w.round(2)), '',
        "## Each face's embedding against PyTorch's (cosine), per band", '', md_table(cos.set_index(['degradation', 'band', 'system']).round(4)), '',
        f"## Speed: faces per second, batches of 64 faces of mixed sizes ({THREADS} threads, median of {r['rounds']} rounds timed in turns)", '',
        md_table(sp.set_index('system').round(2).rename(columns={'faces_per_s': 'faces/s', 'speedup': 'speed-up vs torch fp32'})), ''])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--bundle', type=Path, default=Path('runs/bands-bundle'))
    ap.add_argument('--sides', type=int, nargs=2, default=[8, 32])
    ap.add_argument('--degrade', nargs='+', default=['clean', 'mixed'])
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--out', default='deploy-bands')
    a = ap.parse_args()
    torch.set_num_threads(THREADS)
    mach, t0 = machine(), time.time()
    rec = load_edgeface()
    t = time.time()
    b = export_bundle(a.bundle, rec, PRETRAINED_BANDS, calib=a.data, progress=False)
    export_s = time.time() - t
    pipe = Pipeline(rec, load_bands(PRETRAINED_BANDS), precision='fp32')
    rts = {'ONNX fp32': Runtime(a.bundle, int8=False, threads=THREADS), 'ONNX int8': Runtime(a.bundle, threads=THREADS)}
    pairs = read_pairs(get_path('lfw')/'pairsDevTest.txt')
    fs = load_face_set(a.data, names=sorted(set(pairs.a) | set(pairs.b)), sizes=[], progress=False)
    ia, ib, same, folds = fs.idx(pairs.a), fs.idx(pairs.b), pairs.same.values, pairs.fold.values
    sides = face_sides(fs.names, *a.sides)
    hr_rt = {k: Runtime(a.bundle, 'hr', int8=k == 'ONNX int8', threads=THREADS) for k in rts}   # HR photos: the recogniser alone
    hr = {'torch fp32': embed(rec, fs.hr).numpy(), **{k: rt.embed(list(fs.hr.permute(0, 2, 3, 1).numpy())) for k, rt in hr_rt.items()}}
    bands = np.array([band_of(rts['ONNX int8'], s) for s in sides])
    acc, cos, speed = [], [], {k: [] for k in ('torch fp32', *rts)}
    for cond in a.degrade:
        faces = degraded(fs, sides, cond)
        arrays = [np.asarray(f) for f in faces]
        E = {'torch fp32': pipe.embed(faces).numpy(), **{k: rt.embed(arrays) for k, rt in rts.items()}}
        for k, e in E.items():
            for proto, s in (('LR-LR', (e[ia] * e[ib]).sum(1)), ('HR-LR', (hr[k][ia] * e[ib]).sum(1))):
                acc.append(dict(system=k, degradation=cond, protocol=proto, accuracy=verification_report(s, same, folds)['accuracy']))
            if k != 'torch fp32':
                c = (e * E['torch fp32']).sum(1)
                cos += [dict(degradation=cond, band=bd, system=k, faces=int((bands == bd).sum()), mean=float(c[bands == bd].mean()), min=float(c[bands == bd].min()))
                        for bd in dict.fromkeys(bands)]
        print(f"  {cond}: {time.time() - t0:.0f} s", flush=True)
    pil = degraded(fs, sides, 'clean')[:64]   # one batch of mixed sizes, timed in turns
    batch = [np.asarray(f) for f in pil]
    run = {'torch fp32': lambda: pipe.embed(pil), **{k: (lambda rt=rt: rt.embed(batch)) for k, rt in rts.items()}}
    for f in run.values(): f()   # warm-up
    for _ in range(a.rounds):
        for k, f in run.items():
            t = time.perf_counter(); f(); speed[k].append(64 / (time.perf_counter() - t))
    base = statistics.median(speed['torch fp32'])
    sp = [dict(system=k, faces_per_s=statistics.median(v), speedup=statistics.median(v) / base) for k, v in speed.items()]
    write_results(a.out, dict(systems=['torch fp32', *rts], bands={s: band_of(rts['ONNX int8'], int(s)) for s in b['bands']},
                              calibration=f"{b['calibration']['faces']} DevTrain faces", export_s=round(export_s, 1), sides=a.sides,
                              pairs=len(pairs), faces=len(fs), rounds=a.rounds, accuracy=acc, cosine=cos, speed=sp,
                              seconds=round(time.time() - t0, 1)), render, mach)


if __name__ == '__main__': main()
