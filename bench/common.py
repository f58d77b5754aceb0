"""What every bench script shares: the machine a result was measured on, a timer, and writing a result as data.

A results set is a JSON file under bench/results/ (the numbers, the `machine` record and the exact
command line) and a Markdown page next to it that is rendered from that JSON by the script's
`render(record)`, so that every figure quoted in the docs can be traced to one file and one machine.
A page can be rebuilt from its JSON without measuring again:

    python bench/common.py bench/results/train.json

This module imports neither torch nor vlrface at import time: memory.py keeps both out of its
parent process (its children are what it measures).
"""
import csv, importlib.util, json, os, platform, shlex, statistics, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent/'results'


def machine(device=None)->dict:
    """The machine record of a run; call it at the start. `device`: the torch device the run uses
    (a CUDA device adds the GPU's name)."""
    import torch                           # here: see the module docstring
    from vlrface.core import cpu_model, image_codecs   # the one reader of the CPU's model name (/proc/cpuinfo), and of Pillow's codecs
    dev = torch.device(device or 'cpu')
    # the model name alone can hide different hardware (a VM may say only 'AMD EPYC'): torch's capability tells AVX2 from AVX512
    return dict(cpu=cpu_model(), cpu_capability=torch.backends.cpu.get_cpu_capability(), cores=os.cpu_count(), device=str(dev),
                gpu=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else None,
                torch=torch.__version__, torch_threads=torch.get_num_threads(), python=platform.python_version(),
                **image_codecs(),   # the video codec degradation's encoder
                date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                # another job on a small shared machine slows a run down: the reader can see it was busy
                load_1min=round(os.getloadavg()[0], 2))


def describe(m:dict)->str:
    "One line for a page: 'YYYY-MM-DD HH:MM UTC on CPU, N cores[, GPU], torch V (T threads), Python V; load average L at the start, E at the end'"
    date = datetime.fromisoformat(m['date']).strftime('%Y-%m-%d %H:%M UTC')
    gpu = f", {m['gpu']}" if m.get('gpu') else ''
    cap = f" ({m['cpu_capability']})" if m.get('cpu_capability') else ''
    return (f"{date} on {m['cpu']}{cap}, {m['cores']} cores{gpu}, torch {m['torch']} ({m['torch_threads']} threads), "
            f"Python {m['python']}; 1-minute load average {m['load_1min']:g} at the start"
            + (f", {m['load_1min_end']:g} at the end" if m.get('load_1min_end') is not None else ''))


def timed(fn, n=5, warmup=2, device=None, agg=statistics.median)->float:
    """Seconds of one call of `fn`: `agg` (the median; `min` for a peak) over `n` calls after `warmup`
    untimed ones. On a CUDA `device` each call is synchronised: kernels run after the call returns."""
    sync = lambda: None
    if device is not None and str(device).startswith('cuda'):
        import torch
        sync = torch.cuda.synchronize
    for _ in range(warmup): fn()   # first calls pay for allocation, caches and compilation
    ts = []
    for _ in range(n):
        sync(); t = time.perf_counter(); fn(); sync(); ts.append(time.perf_counter() - t)
    return agg(ts)


def val_faces(data):
    """The validation people's HR faces and the robustness table's verification pairs among them (`make_pairs`):
    (faces, pairs, ia, ib, same, folds), where ia, ib index each pair's faces"""
    from vlrface.faces import load_face_set   # here: see the module docstring
    from vlrface.finetune import make_pairs
    fs = load_face_set(data, split='val', sizes=[], progress=False)
    pairs = make_pairs(fs.names, fs.subjects)
    return fs, pairs, fs.idx(pairs.a), fs.idx(pairs.b), pairs.same.values, pairs.fold.values


def named(items)->dict:
    "NAME=FILE arguments as {NAME: Path(FILE)}; a bare FILE is named after its folder: ['a=path', 'run/best.safetensors'] -> {'a': path, 'run': ...}"
    return {(s.split('=', 1)[0] if '=' in s else Path(s).parent.name): Path(s.split('=', 1)[-1]) for s in items or []}


def command()->str:
    "The command line that ran this script, as a user would type it"
    return shlex.join(['python', *sys.argv])


def results_path(name)->Path:
    "bench/results/NAME for a bare name; a path with a folder (a script's --out) as given; without .json/.md"
    p = Path(name)
    if len(p.parts) == 1: p = RESULTS/p
    return p.with_suffix('') if p.suffix in ('.json', '.md') else p


def secs(t:str)->float:
    "Seconds of a fastai epoch time: 'mm:ss' or 'h:mm:ss'"
    return sum(float(x) * 60**i for i, x in enumerate(reversed(t.split(':'))))


def trained(run)->dict:
    """What a run folder's model cost to train: the epochs its history.csv logged and their minutes (fastai's per-epoch
    `time`), over every sitting (an epoch redone after a kill counts twice: it was trained twice), and what stopped a
    finished run; {} without a logged epoch"""
    run = Path(run); h = run/'history.csv'
    if not h.exists(): return {}
    with open(h, newline='') as f: rows = [r for r in csv.DictReader(f) if r.get('time')]
    if not rows: return {}
    fin = json.loads((run/'finished.json').read_text()) if (run/'finished.json').exists() else {}
    return dict(epochs=len(rows), trained=round(sum(secs(r['time']) for r in rows) / 60, 1),
                **({'stopped_by': fin['stopped_by']} if fin.get('stopped_by') else {}))


def _atomic_write(path:Path, text:str):
    "Write `text` to `path` via a temporary file in the same folder: a reader never sees half a file"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile('w', dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp', delete=False) as f:
        f.write(text)
    os.chmod(f.name, 0o644)   # temporary files are private (0600); a results file is for everyone to read
    os.replace(f.name, path)


def _plain(o):
    "JSON for what json does not know: numpy scalars and arrays, paths"
    return o.tolist() if hasattr(o, 'tolist') else str(o)


def write_results(name, data:dict, md, machine_record:dict|None=None)->dict:
    """Write NAME.json (`data` with `machine`, `command`, `script` and `written`) and NAME.md, both atomically;
    the machine record gets the load average at the end too.
    `md`: the page's text, or a function of the record that renders it (so the page is made from what the JSON
    holds). `machine_record`: the run's `machine()`, taken at its start; taken now if not given."""
    mach = dict(machine_record or machine(), load_1min_end=round(os.getloadavg()[0], 2))   # the start alone can miss a job that came later
    rec = dict(data, machine=mach, command=command(), script=Path(sys.argv[0]).name,
               written=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    rec = json.loads(json.dumps(rec, default=_plain))   # the page is rendered from exactly what the JSON holds
    text = md(rec) if callable(md) else md
    p = results_path(name)
    _atomic_write(p.with_suffix('.json'), json.dumps(rec, indent=1, ensure_ascii=False) + '\n')
    _atomic_write(p.with_suffix('.md'), text if text.endswith('\n') else text + '\n')
    print(text)
    return rec


def rerender(path)->str:
    "Rewrite the page of the results JSON `path` with the `render` of the bench script that wrote it"
    path = Path(path)
    rec = json.loads(path.read_text())
    if 'transcribed_from' in rec: raise ValueError(f"{path} was copied from its page {rec['transcribed_from']}: that page is the source")
    script = rec.get('script') or path.stem + '.py'   # files from before this module did not name their script
    spec = importlib.util.spec_from_file_location('bench_script', Path(__file__).parent/script)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    text = mod.render(rec)
    _atomic_write(path.with_suffix('.md'), text if text.endswith('\n') else text + '\n')
    return text


if __name__ == '__main__':
    usage = 'usage: python bench/common.py bench/results/NAME.json ...   (rewrites each NAME.md from its JSON)'
    if len(sys.argv) < 2: sys.exit(usage)
    if sys.argv[1] in ('-h', '--help'): print(usage)
    else:
        for f in sys.argv[1:]: rerender(f); print(f'{Path(f).with_suffix(".md")} rewritten')
