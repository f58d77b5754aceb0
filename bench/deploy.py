"""Deployment: an exported bundle (vlrface export) run by the torch-free runtime, float and int8, against eager PyTorch:
accuracy on LFW View 1 DevTest, latency and throughput end to end from face files, file sizes.

    python bench/deploy.py [--data data/lfw-vlr] [--dsr pretrained:16] [--bundle runs/deploy-bundle]

Accuracy: the 1,000 pairs of pairsDevTest.txt; VLR faces made from each HR face by `degrade` (`clean`, and the
`mixed` test condition of the robustness table), seeded by the image's name; LR-LR (both faces VLR) and HR-LR (an HR
photo against a VLR face); 16 px through the DSR, 32 px bicubic (the bundle holds a 16 px DSR); HR-HR.
Speed: faces read from PNG files, resized, upscaled, embedded; batch 1 (the median and 99th percentile of single-face
calls) and batch 64 (faces per second); every system on 2 threads, timed in turns (rounds of blocks) in one run.
The int8 models are calibrated on DevTrain faces (the prepared folder's training split) only.
"""
import argparse, os, statistics, tempfile, time, warnings
from pathlib import Path

import numpy as np
from common import machine, write_results, describe

warnings.filterwarnings('ignore')
THREADS = 2


def render(r:dict)->str:
    acc = r['accuracy']
    cols = ['torch fp32', 'ONNX fp32', 'ONNX int8']
    lines = ['# Deployment: the torch-free runtime, float and int8', '', describe(r['machine']), '',
             f"Bundle: recogniser {r['bundle']['recognizer']}, DSR {r['bundle']['dsr']}; int8 calibrated on {r['bundle']['calibration']}. "
             f"EdgeFace int8: {r['bundle']['edgeface_int8']['quantized']} weight matrix products in int8, {len(r['bundle']['edgeface_int8']['kept_float'])} kept float "
             f"(cosine to float {r['bundle']['edgeface_int8']['cosine']:.4f} on the calibration faces); DSR int8: static.", '',
             '## Accuracy on LFW View 1 DevTest (%)', '',
             '| faces | protocol | ' + ' | '.join(cols) + ' | int8 - fp32 |', '|' + ' --- |' * (len(cols) + 3)]
    for row in acc:
        v = [row[c] * 100 for c in cols]
        lines.append(f"| {row['faces']} | {row['protocol']} | " + ' | '.join(f'{x:.2f}' for x in v) + f" | {v[2] - v[1]:+.2f} |")
    lines += ['', '## Speed, end to end from face files (2 threads)', '',
              '| system | pipeline | batch 1 p50 (ms) | batch 1 p99 (ms) | batch 64 (faces/s) | batch-1 speed-up vs torch fp32 | batch-64 speed-up |',
              '| --- | --- | --- | --- | --- | --- | --- |']
    for s in r['speed']:
        lines.append(f"| {s['system']} | {s['pipeline']} | {s['b1_p50_ms']:.2f} | {s['b1_p99_ms']:.2f} | {s['b64_faces_s']:.1f} | {s['b1_speedup']:.2f} | {s['b64_speedup']:.2f} |")
    lines += ['', '## Files', '', '| file | MB |', '| --- | --- |'] + [f"| {k} | {v / 2**20:.2f} |" for k, v in r['sizes'].items()]
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--dsr', default='pretrained:16', help="the 16 px DSR (a file, or 'pretrained:16')")
    ap.add_argument('--bundle', type=Path, default=Path('runs/deploy-bundle'))
    ap.add_argument('--reps', type=int, default=15, help='single-face calls timed per system and round')
    ap.add_argument('--rounds', type=int, default=6, help='rounds: each times every system in turn')
    ap.add_argument('--out', default='deploy')
    a = ap.parse_args()
    import torch
    torch.set_num_threads(THREADS)
    mach = machine()
    from PIL import Image
    from vlrface.core import get_path
    from vlrface.degrade import degrade, face_seed
    from vlrface.dsr import load_dsr, upscale_faces
    from vlrface.edgeface import load_edgeface, embed
    from vlrface.evaluate import read_pairs, verification_report
    from vlrface.export import export_bundle
    from vlrface.faces import load_face_set, load_faces
    from vlrface.runtime import Runtime

    rec, dsr = load_edgeface(), load_dsr(a.dsr)
    t = time.time()
    b = export_bundle(a.bundle, rec, [dsr], calib=a.data, progress=False)
    export_s = time.time() - t
    rts = {p: {m: Runtime(a.bundle, m, s, int8=p == 'int8', threads=THREADS) for m, s in (('dsr', 16), ('bicubic', 32), ('hr', None))} for p in ('fp32', 'int8')}
    spinning = {m: Runtime(a.bundle, m, s, threads=THREADS, spin=True) for m, s in (('dsr', 16), ('hr', None))}   # ONNX Runtime's default

    pairs = read_pairs(get_path('lfw')/'pairsDevTest.txt')
    fs = load_face_set(a.data, names=sorted(set(pairs.a) | set(pairs.b)), sizes=[], progress=False)
    ia, ib, same = fs.idx(pairs.a), fs.idx(pairs.b), pairs.same.values
    seeds = [face_seed(n) for n in fs.names]
    vlr = {(s, g): degrade(fs.hr, s, g, seeds=seeds) for s in (16, 32) for g in ('clean', 'mixed')}
    arrays = lambda x: list(x.permute(0, 2, 3, 1).numpy())   # (h, w, 3) uint8 faces, as read from files
    print(f"{len(fs)} faces, {len(pairs)} pairs; exported in {export_s:.0f} s", flush=True)

    def torch_emb(x, mode):
        "eager PyTorch in float32: the library's own path with the compute dtype forced to fp32"
        with torch.inference_mode():
            sr = upscale_faces(x.float() / 255, dsr if mode == 'dsr' else None, dtype=torch.float32) if mode != 'hr' else x.float() / 255
            return embed(rec, sr).numpy()
    def embs(system, x, mode):
        return torch_emb(x, mode) if system == 'torch fp32' else rts[system.split()[1]][mode].embed(arrays(x))
    acc = []
    for system in ('torch fp32', 'ONNX fp32', 'ONNX int8'):
        H = embs(system, fs.hr, 'hr')
        rows = [('HR', 'HR-HR', H, H)]
        for (s, g), x in vlr.items():
            E = embs(system, x, 'dsr' if s == 16 else 'bicubic')
            name = f"{s} px {g}, {'DSR' if s == 16 else 'bicubic'}"
            rows += [(name, 'LR-LR', E, E), (name, 'HR-LR', H, E)]
        for faces, proto, A, B in rows:
            r = next((x for x in acc if x['faces'] == faces and x['protocol'] == proto), None)
            if r is None: acc.append(r := dict(faces=faces, protocol=proto))
            r[system] = verification_report((A[ia] * B[ib]).sum(1), same)['accuracy']
        print(system, [f"{r['faces']} {r['protocol']} {r[system]:.4f}" for r in acc], flush=True)

    # speed: the same 64 faces written as PNG files, read back by each system
    d = Path(tempfile.mkdtemp())
    files = {}
    for s in (16, 112):
        x = vlr[(16, 'clean')][:64] if s == 16 else fs.hr[:64]
        files[s] = [d/f'{s}_{i}.png' for i in range(64)]
        for f, im in zip(files[s], x.permute(0, 2, 3, 1).numpy()): Image.fromarray(im).save(f)
    def torch_files(fl, mode): return torch_emb((load_faces(fl, 16 if mode == 'dsr' else 112) * 255).round().to(torch.uint8), mode)
    systems = {'torch fp32': lambda fl, m: torch_files(fl, m), 'ONNX fp32': lambda fl, m: rts['fp32'][m].embed(fl), 'ONNX int8': lambda fl, m: rts['int8'][m].embed(fl),
               'ONNX int8, threads spinning': lambda fl, m: spinning[m].embed(fl)}
    speed = []
    for pipe, mode, fl in (('16 px, DSR', 'dsr', files[16]), ('HR', 'hr', files[112])):
        for fn in systems.values():
            for _ in range(3): fn(fl[:1], mode); fn(fl, mode)   # warm-up: allocation, caches
        # in turns, in blocks: a busy spell on a shared machine slows every system alike; and each block starts after a
        # pause and two untimed calls, because a thread pool that has just worked (ONNX Runtime's, torch's OpenMP) keeps
        # spinning for a while and would slow the next system down
        ts, tb = {n: [] for n in systems}, {n: [] for n in systems}
        for r in range(a.rounds):
            for name, fn in systems.items():
                time.sleep(0.3); fn(fl[:1], mode); fn(fl[1:2], mode)
                for i in range(a.reps):
                    j = (r * a.reps + i) % 64
                    t = time.perf_counter(); fn(fl[j:j + 1], mode); ts[name].append(time.perf_counter() - t)
                time.sleep(0.3); fn(fl, mode)
                for _ in range(2):
                    t = time.perf_counter(); fn(fl, mode); tb[name].append(time.perf_counter() - t)
        base = statistics.median(ts['torch fp32']), 64 / statistics.median(tb['torch fp32'])
        for name in systems:
            p50, p99, tput = statistics.median(ts[name]) * 1e3, float(np.percentile(ts[name], 99)) * 1e3, 64 / statistics.median(tb[name])
            speed.append(dict(system=name, pipeline=pipe, b1_p50_ms=p50, b1_p99_ms=p99, b64_faces_s=tput, b1_speedup=base[0] * 1e3 / p50, b64_speedup=tput / base[1]))
            print(speed[-1], flush=True)
    sizes = {f: os.path.getsize(a.bundle/f) for f in sorted(os.listdir(a.bundle)) if f.endswith('.onnx')}
    sizes['EdgeFace-XXS official checkpoint (torch int8)'] = os.path.getsize(get_path('edgeface'))
    ei = b['int8']['edgeface']
    write_results(a.out, dict(accuracy=acc, speed=speed, sizes=sizes, export_s=export_s, threads=THREADS, pairs=len(pairs), faces=len(fs),
                              bundle=dict(recognizer=b['recognizer']['fingerprint'], dsr=a.dsr, calibration=f"{b['calibration']['faces']} DevTrain faces",
                                          edgeface_int8=dict(quantized=ei['quantized'], kept_float=ei['kept_float'], cosine=ei['cosine']))),
                  render, mach)


if __name__ == '__main__': main()
