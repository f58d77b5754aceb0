"""Speed of the vlrface models on this machine, written to bench/results/models.{json,md}.

DSR (default configuration, each input size) and EdgeFace-XXS, in fp32 eager, channels_last,
bf16 autocast, bf16 + channels_last, torch.compile, torch.compile + bf16 + channels_last, and
ONNX Runtime, side by side in one run: latency at batch 1, throughput at batch 64, the ratio to
fp32 eager, and the achieved GFLOP/s next to this machine's matrix-multiply rate, measured in
the same run. Also how much bf16 changes the outputs.

    python bench/models.py                  # all, on the CPU
    python bench/models.py --device cuda    # on a GPU (writes bench/results/models-cuda.*)
    python bench/models.py --quick          # fewer repeats
"""
import argparse, tempfile, warnings
from pathlib import Path

import torch, torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from common import machine, describe, timed, write_results
from vlrface.core import find_path, export_onnx, onnx_session, onnx_run, fast_dtype
from vlrface.dsr import DSR, DSRConfig
from vlrface.edgeface import EdgeFace, load_edgeface

warnings.filterwarnings('ignore')
DEV = torch.device('cpu')


def gflops(model, x):
    with FlopCounterMode(display=False) as fc, torch.no_grad(): model.cpu()(x.cpu())
    model.to(DEV)
    return fc.get_total_flops() / 1e9 / len(x)


def timed_call(f, x, reps):
    "Median seconds of `reps` calls `f(x)` after one warm-up, without autograd"
    with torch.no_grad(): return timed(lambda: f(x), reps, warmup=1, device=DEV)


def runners(model, example, tmp):
    "name -> (callable on a batch, input transform)"
    cl = lambda x: x.contiguous(memory_format=torch.channels_last)
    def bf16(m):
        def f(x):
            with torch.autocast(DEV.type, dtype=torch.bfloat16): return m(x).float()
        return f
    import copy
    mcl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    onnx_file = export_onnx(copy.deepcopy(model).cpu(), tmp/'m.onnx', example.cpu())
    if DEV.type == 'cuda':
        import onnxruntime as ort
        prov = [p for p in ('CUDAExecutionProvider',) if p in ort.get_available_providers()]
        sess = ort.InferenceSession(str(onnx_file), providers=prov) if prov else None
    else: sess = onnx_session(onnx_file)
    comp = torch.compile(model)
    comp_cl = torch.compile(mcl)
    rs = {'fp32 eager': (model, lambda x: x.contiguous()),
            'channels_last': (mcl, cl),
            'bf16 autocast': (bf16(model), lambda x: x.contiguous()),
            'bf16 + channels_last': (bf16(mcl), cl),
            'torch.compile': (comp, lambda x: x.contiguous()),
            'compile + bf16 + channels_last': (bf16(comp_cl), cl)}
    if sess is not None: rs['ONNX Runtime'] = (lambda x: torch.from_numpy(onnx_run(sess, x.cpu())).to(DEV), lambda x: x.contiguous())
    return rs


def bench_model(name, make, in_shape, reps, quality):
    "Rows of the speed table for one model, and its bf16 quality line"
    torch._dynamo.reset()  # the compile cache is per function and holds 8 entries: without a reset, later models run eager
    model = make().eval().to(DEV)
    x1, x64 = (torch.rand(1, *in_shape) * 2 - 1).to(DEV), (torch.rand(64, *in_shape) * 2 - 1).to(DEV)
    gf = gflops(model, x1)
    with tempfile.TemporaryDirectory() as d:
        rs = runners(model, x1.repeat(2, 1, 1, 1), Path(d))
        rows, base = [], None
        with torch.no_grad(): ref = model(x64)
        for mode, (f, tf) in rs.items():
            lat = timed_call(f, tf(x1), max(reps * 3, 5))
            thr = 64 / timed_call(f, tf(x64), reps)
            with torch.no_grad(): out = f(tf(x64)).float()
            base = base or (lat, thr)
            rows.append(dict(model=name, mode=mode, lat_ms=lat * 1e3, thr=thr, speedup=thr / base[1], gflops=thr * gf,
                             quality=quality(out, ref)))
            print(f"{name:24s} {mode:32s} {lat * 1e3:8.1f} ms  {thr:7.1f} img/s  x{thr / base[1]:.2f}  {rows[-1]['quality']}", flush=True)
    return rows, gf


def psnr(out, ref):  # images in [-1, 1]: peak-to-peak 2
    mse = (out - ref).square().mean().item()
    return f'PSNR {10 * torch.log10(torch.tensor(4 / mse)).item():.1f} dB' if mse > 0 else 'identical'


def cosine(out, ref): return f'min cosine {F.cosine_similarity(out, ref).min().item():.5f}'


def matmul_rate(dtype, n=2048, reps=5):
    if DEV.type == 'cuda': n, reps = 8192, 20
    a, b = torch.randn(n, n, dtype=dtype, device=DEV), torch.randn(n, n, dtype=dtype, device=DEV)
    return 2 * n ** 3 / timed(lambda: a @ b, reps, warmup=1, device=DEV, agg=min) / 1e9  # the fastest call: an estimate of the peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='fewer repeats')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--results', default=None, help='default: bench/results/models.md (models-cuda.md on a GPU); the JSON goes next to it')
    a = ap.parse_args()
    global DEV
    DEV = torch.device(a.device)
    mach = machine(DEV)
    a.results = a.results or Path(__file__).parent/'results'/('models.md' if DEV.type == 'cpu' else f'models-{DEV.type}.md')
    reps = 1 if a.quick else 3
    torch.manual_seed(0)
    mm32, mm16 = matmul_rate(torch.float32), matmul_rate(torch.bfloat16)
    print(f'matmul 2048: fp32 {mm32:.0f} GFLOP/s, bf16 {mm16:.0f} GFLOP/s')

    def make_dsr(s):
        def f():
            m = DSR(DSRConfig(in_size=s))
            m.tail[0].reset_parameters()  # untrained: give the residual a trained-like size, not the near-zero start
            return m
        return f
    ckpt = find_path('edgeface')
    make_ef = (lambda: load_edgeface(ckpt)) if ckpt and ckpt.exists() else (lambda: EdgeFace('edgeface_xxs'))
    rows, costs = [], {}
    for s in (32, 24, 16):
        r, costs[f'DSR {s}->112'] = bench_model(f'DSR {s}->112', make_dsr(s), (3, s, s), reps, psnr); rows += r
    r, costs['EdgeFace-XXS'] = bench_model('EdgeFace-XXS', make_ef, (3, 112, 112), reps, cosine); rows += r

    import onnxruntime
    data = dict(quick=a.quick, cpu_capability=torch.backends.cpu.get_cpu_capability(), onnxruntime=onnxruntime.__version__,
                matmul_gflops=dict(fp32=mm32, bf16=mm16), fast_dtype=str(fast_dtype(DEV)),
                edgeface='the official checkpoint' if ckpt and ckpt.exists() else 'randomly initialised', gflops_per_image=costs, rows=rows)
    write_results(a.results, data, render, mach)


def render(r):
    "models.md from the record in models.json"
    mm32, mm16 = r['matmul_gflops']['fp32'], r['matmul_gflops']['bf16']
    lines = ['# Model speed benchmark (`bench/models.py`)', '',
             f"Run {describe(r['machine'])}, by `{r['command']}`; onnxruntime {r['onnxruntime']}. "
             f'Matrix multiply (2048x2048) measured in the same run: fp32 {mm32:.0f} GFLOP/s, bf16 {mm16:.0f} GFLOP/s '
             f"({mm16 / mm32:.1f}x). `fast_dtype()` here: {r['fast_dtype']}. Numbers: the JSON next to this page.", '',
             'Latency: median of repeated batch-1 calls; throughput: batch 64. Quality: the batch-64 output of each mode against fp32 '
             'eager (DSR: PSNR, images in [-1, 1]; EdgeFace: the smallest cosine between embeddings). DSR has untrained weights with its '
             'output layer at the default initialisation (so its residual is as large as a trained one\'s); EdgeFace-XXS is '
             f"{r['edgeface']}. GFLOPs per image by torch's FlopCounterMode: "
             + ', '.join(f'{k} {v:.2f}' for k, v in r['gflops_per_image'].items()) + '.', '',
             '| model | mode | latency bs1 (ms) | throughput bs64 (img/s) | vs fp32 eager | achieved GFLOP/s | vs fp32 |',
             '|---|---|---|---|---|---|---|',
             *[f"| {x['model']} | {x['mode']} | {x['lat_ms']:.1f} | {x['thr']:.1f} | {x['speedup']:.2f}x | {x['gflops']:.0f} | {x['quality']} |" for x in r['rows']], '']
    return '\n'.join(lines)


if __name__ == '__main__': main()
