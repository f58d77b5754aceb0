"""The GPU recipe's three DSRs trained side by side on one GPU, and where a training step's time goes there; the page
bench/results/recipe-gpu-dsrs.{json,md} is rendered from the records kept in bench/results/recipe-gpu-dsrs/.

    python bench/gpu_dsrs.py pack [--quality 93]            # only for a machine that takes little data (see below)
    python bench/gpu_dsrs.py train [--minutes 7] [--bs N]   # on the GPU machine, from the repository root
    python bench/gpu_dsrs.py profile [--bs 16 64 128]       # on the GPU machine
    python bench/gpu_dsrs.py render [--bs N]                # anywhere: the page from the kept records

`train` runs the three DSR steps of `bench/recipe.py --preset gpu --dsr-minutes M` at once, each in its own process:
one bs-16 step of the original system's settings leaves an H200 mostly idle. Each step is logged as the recipe logs it,
so `python bench/recipe.py --preset gpu --dsr-minutes M` afterwards, here or on another machine given the run folders,
takes the DSRs as done and goes on with the fine-tuning. nvidia-smi is sampled every 5 s meanwhile; the machine, the
samples and each run's small records (config, history, best epoch) are kept for the page. `--bs N` trains at batch N
with the learning rate scaled to it (`bench/recipe.py --dsr-bs N`), into runs/recipe-gpu-bsN, kept apart in
bench/results/recipe-gpu-dsrs-bsN/ and its page.

`profile` times the two halves of a DSR training step at the GPU preset's size: the model step alone (DSR forward and
backward, identity and feature-matching losses through EdgeFace, bf16) and the making of a batch by the training loader
(degradations drawn per face, by `pair_dls`'s worker processes on a GPU, so that the two overlap), for a few batch sizes.

`pack` writes the prepared training and validation HR faces as JPEG (4:4:4) into one zip with a manifest pointing at
them, and what that costs (mean absolute difference from the prepared PNGs). The GPU machine lent to this project
takes at most 64 MiB of files, less than LFW's prepared PNGs; the kept run used such a pack.
"""
import argparse, csv, io, json, os, shlex, statistics, subprocess, sys, threading, time, zipfile
from pathlib import Path

from common import _atomic_write, machine, results_path, secs

BENCH = Path(__file__).resolve().parent
KEPT = results_path('recipe-gpu-dsrs')   # the records the page is rendered from (the original batch; the pack and the profile)
def kept(bs:int|None=None)->Path: return KEPT if not bs else results_path(f'recipe-gpu-dsrs-bs{bs}')   # a run at another batch: apart
NAMES = ('dsr16', 'dsr16-realistic', 'dsr8-realistic')
RECORDS = ('config.json', 'history.csv', 'finished.json', 'best.json', 'bicubic.json')


def pack(data:Path, out:Path, quality:int, splits=('train', 'val'))->dict:
    "The HR faces of `splits` as JPEG in a zip (folder `data.name`, manifest included); returns its size and pixel error"
    import numpy as np
    from PIL import Image
    rows = list(csv.DictReader(open(data/'manifest.csv', newline='')))
    keep, err, nbytes = [r for r in rows if r['split'] in splits], [], 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as z:   # JPEG does not deflate; a tar's 1 kB per file would cost 9 MiB
        for r in keep:
            im = Image.open(data/r['hr']).convert('RGB'); b = io.BytesIO()
            im.save(b, format='JPEG', quality=quality, subsampling=0)
            err.append(np.abs(np.asarray(Image.open(io.BytesIO(b.getvalue())), float) - np.asarray(im, float)).mean())
            r['hr'] = r['hr'].rsplit('.', 1)[0] + '.jpg'; nbytes += b.tell()
            z.writestr(f"{data.name}/{r['hr']}", b.getvalue())
        s = io.StringIO(); w = csv.DictWriter(s, fieldnames=list(rows[0]), lineterminator='\n'); w.writeheader(); w.writerows(keep)
        z.writestr(f'{data.name}/manifest.csv', s.getvalue()); z.writestr(f'{data.name}/prep.json', (data/'prep.json').read_text())
    return dict(quality=quality, subsampling='4:4:4', splits=list(splits), faces=len(keep), mib=round(nbytes / 2**20, 2),
                mean_abs_diff=round(float(np.mean(err)), 3), max_face_mean_abs_diff=round(float(np.max(err)), 3))


def smi(path:Path, stop:threading.Event):
    "Sample the GPU's use every 5 s into `path` until `stop` is set"
    q = 'timestamp,utilization.gpu,memory.used,power.draw'
    with open(path, 'w') as f:
        p = subprocess.Popen(['nvidia-smi', f'--query-gpu={q}', '--format=csv', '-l', '5'], stdout=f, stderr=subprocess.STDOUT)
        stop.wait(); p.terminate(); p.wait()


def train(minutes:float, data:Path, runs:Path, threads:int, bs:int|None=None):
    "The recipe's three DSR steps side by side (at batch `bs`, if given), then their records kept"
    import torch, recipe
    if not torch.cuda.is_available(): sys.exit("bench/gpu_dsrs.py train: no GPU here; the recipe trains its DSRs one after the other on a CPU (bench/recipe.py)")
    k = kept(bs)
    plan = {s['name']: s for s in recipe.steps(data, runs, 'gpu', False, minutes, recipe.recipe_name('gpu', bs), bs)}
    sts = recipe.states(list(plan.values()), runs)
    if sts['prep'] != 'done': sys.exit(f"bench/gpu_dsrs.py train: {data} is not prepared: run vlrface-prep lfw --out {data}")
    k.mkdir(parents=True, exist_ok=True)
    _atomic_write(k/'machine.json', json.dumps(machine('cuda'), indent=1) + '\n')
    env, res, stop = {**os.environ, 'OMP_NUM_THREADS': str(threads)}, {}, threading.Event()
    def go(s):
        t0 = time.time()
        try: res[s['name']] = dict(ok=True, minutes=round(recipe.run_step(s['name'], s['argv'], runs/'logs'/f"{s['name']}.log", env)[0], 2))
        except Exception as e: res[s['name']] = dict(ok=False, error=str(e), minutes=round((time.time() - t0) / 60, 2))
    todo = [plan[n] for n in NAMES if sts[n] != 'done']
    ts = [threading.Thread(target=smi, args=(k/'smi.csv', stop), daemon=True)] + [threading.Thread(target=go, args=(s,)) for s in todo]
    for t in ts: t.start()
    for t in ts[1:]: t.join()
    stop.set(); ts[0].join(timeout=10)
    _atomic_write(k/'steps.json', json.dumps(dict(minutes=minutes, threads=threads, steps=res, bs=bs,
                  commands={n: shlex.join(plan[n]['argv']) for n in NAMES}), indent=1) + '\n')
    keep_runs(runs, k)
    if not all(r['ok'] for r in res.values()): sys.exit(f"bench/gpu_dsrs.py train: a step failed: {res}")


def keep_runs(runs:Path, k:Path=KEPT):
    "Copy each DSR run's small records (not its weights) to the kept folder `k`, paths relative to the repository root"
    root = str(BENCH.parent) + os.sep
    for n in NAMES:
        (k/n).mkdir(parents=True, exist_ok=True)
        for f in RECORDS:
            if (runs/n/f).exists(): _atomic_write(k/n/f, (runs/n/f).read_text().replace(root, ''))


def profile(bs_list:list, data:Path, split:str='train'):
    "The model step and the batch making timed apart at each batch size, on the faces of `split`"
    import torch
    from vlrface.train import pair_dls, dsr_learner, _step_seconds
    from vlrface.dsr import DSR
    from vlrface.losses import DSRLoss
    from vlrface.edgeface import load_edgeface
    from vlrface.core import get_path
    if not torch.cuda.is_available(): print("note: no GPU here; the profile times this machine's CPU", flush=True)
    rec, out = load_edgeface(get_path('edgeface')), []
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for bs in bs_list:
        for deg in ('realistic', 'clean'):
            dls = pair_dls(data, 16, bs, train=split, valid='val', degrade=deg, progress=False)
            # enough batches that the workers' head start (a few batches each, made while the first one is awaited) does not count
            k = min(40, len(dls.train) - 1)
            if k < 2: sys.exit(f"bench/gpu_dsrs.py profile: batch size {bs} leaves fewer than 3 batches of {split} faces")
            it = iter(dls.train); next(it); sync(); t = time.perf_counter()
            for _ in range(k): next(it)
            sync(); row = dict(bs=bs, degrade=deg, batch_s=(time.perf_counter() - t) / k, workers=dls.train.fake_l.num_workers)
            del it
            if deg == 'realistic':   # the model step does not depend on how the faces were made
                row['step_s'] = _step_seconds(dsr_learner(dls, DSR(in_size=16), DSRLoss(rec, vgg=None, perceptual=0.), quiet=True), n=8)
            out.append(row); print(json.dumps(row), flush=True)
    if not torch.cuda.is_available(): return print("note: not kept (the kept profile is a GPU's)")
    KEPT.mkdir(parents=True, exist_ok=True)
    _atomic_write(KEPT/'profile.json', json.dumps(dict(machine=machine('cuda'), rows=out), indent=1) + '\n')


def gpu_use(path:Path)->dict:
    "Mean utilisation and power while the GPU held memory, and the most memory held, from the nvidia-smi samples"
    rows = [[c.strip().split()[0] for c in r[1:]] for r in list(csv.reader(open(path)))[1:] if len(r) == 4]
    busy = [(float(u), float(m), float(p)) for u, m, p in rows if float(m) > 0]
    return dict(samples=len(rows), busy=len(busy), util_mean=round(statistics.mean(b[0] for b in busy), 1),
                memory_max_mib=max(b[1] for b in busy), power_mean_w=round(statistics.mean(b[2] for b in busy), 1)) if busy else {}


def render_page(bs:int|None=None)->dict:
    "The record and its page, from the kept folder of the runs at batch `bs` (default: the original batch)"
    k = kept(bs)
    if not (k/'steps.json').exists(): sys.exit(f"bench/gpu_dsrs.py: no kept records in {k}: run bench/gpu_dsrs.py train{f' --bs {bs}' if bs else ''} on a GPU first")
    m, st = json.loads((k/'machine.json').read_text()), json.loads((k/'steps.json').read_text())
    carry = next((json.loads((d/'carry.json').read_text()) for d in (k, KEPT) if (d/'carry.json').exists()), None)   # the pack the faces went in
    n_train = carry['train_faces'] if carry else None
    runs = []
    for n in NAMES:
        cfg = json.loads((k/n/'config.json').read_text())
        hist = list(csv.DictReader(open(k/n/'history.csv', newline='')))
        best, fin = json.loads((k/n/'best.json').read_text()), json.loads((k/n/'finished.json').read_text())
        bic = json.loads((k/n/'bicubic.json').read_text())
        s = cfg['settings']; ep = [secs(h['time']) for h in hist]
        runs.append(dict(name=n, size=s['size'], degrade=s['degrade'], channels=s['channels'], blocks=s['blocks'], bs=s['bs'], lr=s['lr'],
                         epochs=len(hist), planned=fin.get('planned'), schedule=s['epochs'], stopped_by=fin.get('stopped_by'), minutes=round(sum(ep) / 60, 2),
                         epoch_s=round(statistics.median(ep), 1), best_epoch=best['epoch'],
                         psnr=best['metrics']['valid_psnr_db'], ssim=best['metrics']['valid_ssim_luma'], cos=best['metrics']['valid_cos'],
                         bicubic=bic, torch=cfg['versions']['torch'],
                         faces_per_s=round(n_train / statistics.median(ep), 1) if n_train else None))
    prof = json.loads((KEPT/'profile.json').read_text()) if (KEPT/'profile.json').exists() else None
    rec = dict(machine=m, steps=st, runs=runs, gpu_use=gpu_use(k/'smi.csv') if (k/'smi.csv').exists() else {}, profile=prof, carry=carry)
    _atomic_write(k.with_suffix('.json'), json.dumps(rec, indent=1) + '\n')
    _atomic_write(k.with_suffix('.md'), page(rec) + '\n')
    return rec


def page(rec:dict)->str:
    m, g, c, bs = rec['machine'], rec['gpu_use'], rec['carry'], rec['steps'].get('bs')
    L = [f"# The GPU recipe's DSRs on one GPU{f', at batch {bs}' if bs else ''} (`bench/gpu_dsrs.py`)\n",
         f"Trained {m['date'][:16].replace('T', ' ')} UTC on {m['gpu']}, {m['cpu']}, {m['cores']} cores, "
         f"torch {m['torch']}, Python {m['python']}: the three DSR steps of `bench/recipe.py --preset gpu --dsr-minutes {rec['steps']['minutes']:g}"
         f"{f' --dsr-bs {bs}' if bs else ''}` side by side, one process each ({rec['steps']['threads']} CPU threads each). The original system's settings "
         f"({'`TrainConfig` defaults' if not bs else f'`TrainConfig` defaults but the batch, the learning rate scaled from 16 to {bs} faces'}): "
         f"{rec['runs'][0]['channels']} channels, {rec['runs'][0]['blocks']} blocks, batch {rec['runs'][0]['bs']}, one-cycle lr {rec['runs'][0]['lr']:g}, "
         "pixel + identity + feature-matching + TV losses (no VGG-16 file there, so no perceptual term), bf16.\n"]
    if c: L.append(f"The machine takes at most 64 MiB of files, so the {c['faces']:,} training and validation HR faces went as JPEG quality {c['quality']} "
                   f"({c['subsampling']}, {c['mib']:.1f} MiB): mean absolute difference {c['mean_abs_diff']:.2f} grey levels from the prepared PNGs "
                   f"(at most {c['max_face_mean_abs_diff']:.2f} for one face). Everything measured after the training (the recipe's next steps, the goal choice) uses the PNGs.\n")
    L += ["| DSR | side | faces | epochs (planned) | minutes | seconds per epoch | training faces/s | best epoch | val PSNR dB (bicubic) | val SSIM (bicubic) | val identity cosine (bicubic) |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    L += [f"| {r['name']} | {r['size']} | {r['degrade']} | {r['epochs']} ({r['planned']}) | {r['minutes']:.1f} | {r['epoch_s']:.0f} | "
          f"{r['faces_per_s'] or ''} | {r['best_epoch']} | {r['psnr']:.2f} ({r['bicubic']['psnr']:.2f}) | {r['ssim']:.3f} ({r['bicubic']['ssim']:.3f}) | "
          f"{r['cos']:.3f} ({r['bicubic']['cos']:.3f}) |" for r in rec['runs']]
    L.append("\n`seconds per epoch`: the median of history.csv's epoch times (validation included); `training faces/s`: the training faces over it; `val`: the run's own validation, there, against the JPEG HR faces. "
             f"At these epoch times the original schedule ({rec['runs'][0]['schedule']} epochs) would take "
             + ', '.join(f"{r['schedule'] * r['epoch_s'] / 60:.0f} minutes ({r['name']})" for r in rec['runs'])
             + " on LFW's training people, side by side as here; the original system trained on 142,713 pairs.")
    if g: L.append(f"\nThe GPU while the three trained ({g['busy']} samples of nvidia-smi, every 5 s): {g['util_mean']:.0f} % utilisation on average "
                   f"(the share of time some kernel ran, not of the chip's arithmetic), at most {g['memory_max_mib']:,.0f} MiB, {g['power_mean_w']:.0f} W on average.")
    if (p := rec['profile']):
        rows = {(r['bs'], r['degrade']): r for r in p['rows']}
        L += [f"\n## Where a step's time goes ({p['machine'].get('gpu') or p['machine']['cpu']}, one process alone)\n",
              "| batch | model step ms | model faces/s | realistic batch ms | realistic faces/s | clean batch ms | clean faces/s | slower half (realistic) |", "| --- " * 8 + "|"]
        for bs in sorted({b for b, _ in rows}):
            s, r, cl = rows[(bs, 'realistic')]['step_s'], rows[(bs, 'realistic')]['batch_s'], rows[(bs, 'clean')]['batch_s']
            L.append(f"| {bs} | {1e3 * s:.1f} | {bs / s:,.0f} | {1e3 * r:.1f} | {bs / r:,.0f} | {1e3 * cl:.1f} | {bs / cl:,.0f} | "
                     f"{'model step' if s > r else 'batches'} |")
        w = max(r.get('workers', 0) for r in p['rows'])   # records from before the loader's workers have none
        L.append("\n`model step`: DSR forward and backward with its losses (EdgeFace forward and backward for the identity and feature-matching terms), "
                 "timed by `vlrface.train._step_seconds`; `batch`: the next batch of the training loader, its VLR faces degraded from the HR faces. " +
                 (f"The loader's {w} worker processes make batches while the GPU steps, so a step takes the slower of the two halves."
                  if w else "The two halves ran one after the other in a step (the loader had no workers then), so a step took their sum."))
    return '\n'.join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('pack'); p.add_argument('--quality', type=int, default=93); p.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    p.add_argument('--out', type=Path, default=Path('.carry/lfw-vlr.zip'))
    p = sub.add_parser('train'); p.add_argument('--minutes', type=float, default=7.); p.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    p.add_argument('--runs', type=Path, default=None, help='default: runs/recipe-gpu, or runs/recipe-gpu-bsN'); p.add_argument('--threads', type=int, default=5, help='CPU threads of each step')
    p.add_argument('--bs', type=int, default=None, help='batch size, the learning rate scaled to it (default: the original 16)')
    p = sub.add_parser('profile'); p.add_argument('--bs', type=int, nargs='+', default=[16, 64, 128]); p.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    p.add_argument('--split', default='train', help="the faces batches are made of (the kept profile of 2026-12-04 used 'val')")
    p = sub.add_parser('render'); p.add_argument('--bs', type=int, default=None, help='the page of the runs at this batch size')
    a = ap.parse_args()
    if Path.cwd().resolve() != BENCH.parent: sys.exit(f"bench/gpu_dsrs.py: run it from the repository root ({BENCH.parent})")
    if a.cmd == 'pack':
        rec = pack(a.data, a.out, a.quality)
        rec['train_faces'] = sum(1 for r in csv.DictReader(open(a.data/'manifest.csv', newline='')) if r['split'] == 'train')
        KEPT.mkdir(parents=True, exist_ok=True); _atomic_write(KEPT/'carry.json', json.dumps(rec, indent=1) + '\n'); print(json.dumps(rec))
    elif a.cmd == 'train':
        from recipe import recipe_name
        train(a.minutes, a.data, a.runs or Path('runs')/recipe_name('gpu', a.bs), a.threads, a.bs); print(page(render_page(a.bs)))
    elif a.cmd == 'profile': profile(a.bs, a.data, a.split)
    else: print(page(render_page(a.bs)))


if __name__ == '__main__': main()
