"""A goal table from nothing, in one command: the recipe's models trained, the goal systems chosen on the validation
people, the chosen ones measured once on LFW View 1 DevTest; written to bench/results/OUT.{json,md}.

    python bench/recipe.py [--preset cpu|gpu] [--shipped-dsrs] [--dsr-bs N] [--runs runs/recipe-PRESET] [--out recipe-PRESET] [--plan]

The steps are the package's own commands, run in order from the repository root, each into its place under --runs:
 1. prep: LFW aligned, with its View 1 people (`vlrface-prep lfw`); a folder already prepared (by this step or by
    `vlrface-quickstart`, at any sizes) is used as it is;
 2. three DSRs: clean 16 px, realistic 16 px and realistic 8 px (`vlrface-train-dsr`). Each training face is made small
    from its HR face as it is read, so no prepared VLR size is needed; the clean one by area downsampling, the kernel
    of the prepared faces that the shipped clean DSR was trained on. `cpu`: the CPU preset, 20 minutes each; `gpu`:
    the original system's size (`DSRConfig`'s defaults), with the perceptual term only where torchvision's VGG-16
    file is found (`vlrface.losses.find_vgg16`; nothing is downloaded). `--shipped-dsrs` takes the shipped DSRs
    (`pretrained:16`, `pretrained:16-realistic`, `pretrained:8-realistic`, made by these commands with the CPU preset).
    On a GPU, `bench/gpu_dsrs.py train` runs these three steps side by side (one batch-16 step leaves it mostly idle).
    `--dsr-bs N` trains the `gpu` DSRs at batch N with the learning rate scaled by N/16 (the linear rule), into
    runs/recipe-gpu-bsN and recipe-gpu-bsN: an H200 runs the model step at batch 128 6.6x as fast per face as at 16;
 3. four fine-tuned recognisers (`vlrface-finetune`): `realistic` (the realistic DSR in front, bicubic faces at 8, 16
    and 32 px, degraded on the fly, distilled to the original's HR embeddings), `band8` and `band16` (from `realistic`,
    on bicubic faces of 8-12 px and of 16 px), `clean16` (the clean DSR in front, held to the original on HR faces);
 4. two interpolated recognisers (`vlrface interpolate --alpha auto`): the original towards `band8`, chosen at 8 px,
    and towards `band16`, chosen at 16 px, each on the validation people under the HR guard;
 5. the goals (`bench/goal_choice.py`): every front end (bicubic, the three DSRs) into every recogniser (the original
    and the six above) that keeps HR faces within half a point; each goal's system chosen on the validation people,
    then measured on DevTest (bench/results/OUT-goals.{json,md}).
The fine-tuning settings are those the docs home chose on the validation people. A step is skipped when its output
was made by the same command (its log's last command) and everything it was made from is done; an interrupted run is
resumed (`--resume`); an output made by another command, or made from a step that is to be made anew, stops the
recipe before anything runs, with what to delete. A failed step stops it with its log's name: run the same command
again to go on. Each step's output goes to the terminal and to RUNS/logs/STEP.log.
"""
import argparse, json, os, shlex, shutil, signal, subprocess, sys, time
from pathlib import Path

from common import _atomic_write, describe, machine, results_path, trained, write_results

PY = sys.executable   # a step written `python ...` runs with this interpreter, and the vlrface commands beside it come first
BENCH = Path(__file__).resolve().parent
SHIPPED = {'dsr16': 'pretrained:16', 'dsr16-realistic': 'pretrained:16-realistic', 'dsr8-realistic': 'pretrained:8-realistic'}
FT = ['--degrade', 'realistic', '--distill', '20', '--lr-backbone', '2e-5']   # the fine-tuning recipe chosen on the validation people


class Refused(Exception): "A step's output that the recipe must not reuse nor overwrite"


def dsr_args(preset:str, minutes:float|None, bs:int|None=None)->list:
    "The DSR training settings of a preset: the CPU preset for its 20 minutes, or the original system's size (at batch `bs`, its lr scaled)"
    from vlrface.train import PRESETS
    if preset == 'cpu': return ['--preset', 'cpu', '--minutes', f"{PRESETS['cpu'].minutes if minutes is None else minutes:g}"]
    from vlrface.losses import find_vgg16
    g = PRESETS['gpu']
    a = ['--preset', 'gpu'] + ([] if minutes is None else ['--minutes', f'{minutes:g}'])
    if bs: a += ['--bs', str(bs), '--lr', f'{g.lr * bs / g.bs:.3g}']   # the linear rule: a step of N faces moves as far as N/16 steps of 16
    return a if find_vgg16() else a + ['--perceptual', '0']   # the perceptual term needs torchvision's VGG-16 file


def recipe_name(preset:str, dsr_bs:int|None=None)->str:
    "A recipe's default name, of its runs folder and its results: 'recipe-cpu', 'recipe-gpu', 'recipe-gpu-bs128'"
    return f"recipe-{preset}" + (f"-bs{dsr_bs}" if dsr_bs else '')


def steps(data:Path, runs:Path, preset:str, shipped:bool, dsr_minutes:float|None, out:str, dsr_bs:int|None=None)->list:
    "The recipe as [dict(name, kind, output, argv, needs)], in order; kind: 'prep', 'run' (a run folder), 'file' or 'results'"
    dsr = {k: v if shipped else str(runs/k/'best.safetensors') for k, v in SHIPPED.items()}
    own = lambda k: [] if shipped else [k]   # a shipped DSR is no step
    r = lambda name, f='best': str(runs/name/f'{f}.safetensors')
    st = lambda name, kind, output, argv, needs=('prep',): dict(name=name, kind=kind, output=Path(output), argv=[str(x) for x in argv], needs=list(needs))
    plan = [st('prep', 'prep', data, ['vlrface-prep', 'lfw', '--out', data], ())]
    if not shipped:
        plan += [st(name, 'run', runs/name, ['vlrface-train-dsr', data, '--out', runs/name, '--size', size, '--degrade', deg, *dsr_args(preset, dsr_minutes, dsr_bs)])
                 for name, size, deg in [('dsr16', 16, 'clean'), ('dsr16-realistic', 16, 'realistic'), ('dsr8-realistic', 8, 'realistic')]]
    ft = lambda name, needs, *a: st(name, 'run', runs/name, ['vlrface-finetune', data, '--out', runs/name, *a], ['prep', *needs])
    plan += [ft('ft-realistic', own('dsr16-realistic'), '--dsr', dsr['dsr16-realistic'], '--sizes', 8, 16, 32, *FT, '--epochs1', 3, '--epochs2', 8),
             ft('ft-band8', ['ft-realistic'], '--edgeface', r('ft-realistic'), '--sizes', 8, 12, *FT, '--epochs1', 1, '--epochs2', 4),
             ft('ft-band16', ['ft-realistic'], '--edgeface', r('ft-realistic'), '--sizes', 16, *FT, '--epochs1', 1, '--epochs2', 6),
             ft('ft-clean16', own('dsr16'), '--dsr', dsr['dsr16'], '--degrade', 'clean', '--distill', 20, '--lr-backbone', '2e-5',
                '--epochs1', 3, '--epochs2', 8, '--hr-reference', 'original')]
    # band16's best epoch under the HR guard is often its start: its last epoch is what the interpolation walks towards
    # and what the goal choice takes, so that band16 differs from `realistic` (the published runs did the same)
    for name, run, tuned, size in [('wise8', 'ft-band8', r('ft-band8'), 8), ('wise16', 'ft-band16', r('ft-band16', 'last'), 16)]:
        plan.append(st(name, 'file', runs/f'{name}.safetensors', ['vlrface', 'interpolate', 'original', tuned, '--alpha', 'auto', '--data', data,
                       '--sizes', size, '--out', runs/f'{name}.safetensors', '--json'], ['prep', run]))
    recs = dict(realistic=r('ft-realistic'), band8=r('ft-band8'), band16=r('ft-band16', 'last'), clean16=r('ft-clean16'),
                wise8=runs/'wise8.safetensors', wise16=runs/'wise16.safetensors')
    plan.append(st('goals', 'results', results_path(f'{out}-goals').with_suffix('.json'),
                   ['python', 'bench/goal_choice.py', '--data', data, '--out', f'{out}-goals',
                    '--dsr', *[f'{k[3:]}={v}' for k, v in dsr.items()], '--finetuned', *[f'{k}={v}' for k, v in recs.items()]],
                   [s['name'] for s in plan]))
    return plan


def logged(log:Path)->str|None:
    "The last command a step's log records (without the `--resume` a resumed sitting adds), or None"
    heads = [l for l in log.read_text(errors='replace').splitlines() if l.startswith('=== ')] if log.exists() else []
    return heads[-1].split(' ', 3)[3].removesuffix(' --resume') if heads else None


def state(s:dict, runs:Path)->str:
    "'done', 'resume' (a run folder with an unfinished run) or 'todo'; raises `Refused` for an output of another command"
    out, cmd = s['output'], shlex.join(s['argv'])
    if s['kind'] == 'prep': return 'done' if (out/'prep.json').exists() and (out/'manifest.csv').exists() else 'todo'
    if s['kind'] == 'results':   # done when the results were written by this very command
        return 'done' if out.exists() and json.loads(out.read_text()).get('command') == cmd else 'todo'
    made = (out/'finished.json').exists() or (out/'last.state.pt').exists() if s['kind'] == 'run' else out.exists()
    if not made: return 'todo'
    if (by := logged(runs/'logs'/f"{s['name']}.log")) != cmd:
        raise Refused(f"{out} was made by {'another command: ' + by if by else 'no command of this recipe'}; this step is `{cmd}`. "
                      f"Give --runs another folder, or delete {out}")
    if s['kind'] == 'run': return 'done' if (out/'finished.json').exists() else 'resume'
    return 'done' if out.with_suffix('.json').exists() else 'todo'   # the file and its choice


def states(plan:list, runs:Path)->dict:
    "Every step's state, checked together: a step that is done but made from a step to be made anew is refused"
    sts = {s['name']: state(s, runs) for s in plan}
    for s in plan:
        stale = [n for n in s['needs'] if sts[n] != 'done']
        if sts[s['name']] == 'done' and s['kind'] != 'results' and stale:
            raise Refused(f"{s['output']} is done, but it was made from {', '.join(stale)}, which is to be made anew: delete {s['output']} too")
        if sts[s['name']] == 'done' and s['kind'] == 'results' and stale: sts[s['name']] = 'todo'   # results are simply written again
    return sts


def executable(argv:list)->list:
    "`argv` with its program found: `python` is this interpreter; a vlrface command is the one beside it, else on PATH"
    if argv[0] == 'python': return [PY, *argv[1:]]
    exe = Path(PY).parent/argv[0]
    exe = str(exe) if exe.exists() else shutil.which(argv[0])
    if exe is None: raise RuntimeError(f"{argv[0]} is not installed beside {PY} nor on PATH: install vlrface (pip install -e .)")
    return [exe, *argv[1:]]


def run_step(name:str, argv:list, log:Path, env:dict)->tuple:
    "Run one step, its output to the terminal and to `log`: (the minutes it took, its output); raises on failure"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"\n=== {name}: {shlex.join(argv)}", flush=True)
    t0, out, cmd = time.time(), [], executable(argv)
    with open(log, 'ab', buffering=0) as f:   # unbuffered: a recipe killed (SIGTERM, a lost session) still leaves the command that made the output
        f.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(argv)}\n".encode())
        def keep(b): sys.stdout.buffer.write(b); sys.stdout.flush(); f.write(b); out.append(b)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        try:
            for chunk in iter(lambda: p.stdout.read1(4096), b''): keep(chunk)
            rc = p.wait()
        except KeyboardInterrupt:   # let the step stop as on its own Ctrl-C (a run keeps its finished epochs), then the recipe
            try: keep(p.communicate(timeout=5)[0])   # a terminal's Ctrl-C reached the step too
            except subprocess.TimeoutExpired:       # it did not (the recipe alone was interrupted): pass it on
                p.send_signal(signal.SIGINT)
                try: keep(p.communicate(timeout=60)[0])
                except subprocess.TimeoutExpired: p.kill(); keep(p.communicate()[0])
            raise
    if rc: raise RuntimeError(f"step {name} failed (exit status {rc}); its output is in {log}. Run the same command again to resume")
    return (time.time() - t0) / 60, b''.join(out).decode(errors='replace')


def elsewhere(run:Path)->dict:
    "{'torch': version} when a run folder was trained with another torch than this one's (on another machine, its folder copied here)"
    from importlib import metadata
    cfg = run/'config.json'
    v = json.loads(cfg.read_text()).get('versions', {}).get('torch') if cfg.exists() else None
    return {'torch': v} if v and v != metadata.version('torch') else {}


def save_choice(text:str, path:Path, log:Path)->dict:
    "The `--json` answer of `vlrface interpolate` (after any warnings in its output), written to `path`"
    i = 0 if text.startswith('{') else text.find('\n{') + 1   # (no such line: 0, and the text does not start with '{')
    try: res = json.JSONDecoder().raw_decode(text[i:])[0] if text[i:].startswith('{') else None
    except ValueError: res = None
    if not isinstance(res, dict) or 'alpha' not in res: raise RuntimeError(f"no JSON answer with an alpha in the output of {log}")
    _atomic_write(path, json.dumps(res, indent=1) + '\n')
    return res


def render(rec:dict)->str:
    "The results page: the steps with their state and minutes, then each goal beside the published goal table's"
    pct = lambda v, nd: '' if v is None else f"{v:.{nd}f}"
    lines = [f"# A goal table from one command (`bench/recipe.py --preset {rec['preset']}`)\n",
             f"Run {describe(rec['machine'])}. DSRs: {'the shipped ones (`--shipped-dsrs`)' if rec['shipped_dsrs'] else 'trained by the recipe'}; "
             f"runs in `{rec['runs']}`. Command: `{rec['command']}`\n",
             "| step | state | minutes | epochs (minutes) | command |", "| --- | --- | --- | --- | --- |"]
    state_of = lambda s: s['state'] + (f" (alpha {s['alpha']:g})" if 'alpha' in s else '') + (f" (torch {s['torch']})" if 'torch' in s else '')
    ep = lambda s: f"{s['epochs']} ({s['trained']:.1f})" if 'epochs' in s else ''
    lines += [f"| {s['name']} | {state_of(s)} | {pct(s['minutes'], 1)} | {ep(s)} | `{s['command']}` |" for s in rec['steps']]
    lines.append(f"\n{rec['minutes']:.0f} minutes in this sitting. `minutes`: the step's wall clock in this sitting (a step done in an earlier one shows none); "
                 "`epochs (minutes)`: a trained model's epochs and what they took as its history.csv timed them, over every sitting."
                 + (" A step with a torch version was trained with that torch, on another machine, and its run folder copied here "
                    "(`bench/gpu_dsrs.py train` trains the DSRs of `--preset gpu` on a GPU and records the machine: `recipe-gpu-dsrs.md`)."
                    if any('torch' in s for s in rec['steps']) else '') + "\n")
    ps = any('published_system' in r for r in rec['goals'])   # (the first run's record did not keep it)
    lines += ["| goal | asked % | chosen on validation | val % | DevTest % |" + (" published system |" if ps else "") + " published DevTest % | reached |",
              "| --- " * (7 + ps) + "|"]
    lines += [f"| {r['size']} px, {r['degradation']}, {r['protocol']} | >= {r['asked']:g} | {r['chosen']} | {r['val']:.2f} | {r['devtest']:.1f} | "
              + (f"{r.get('published_system') or ''} | " if ps else '') + f"{pct(r['published'], 1)} | {'yes' if r['reached'] else 'no'} |" for r in rec['goals']]
    lines.append("\n`published`: the goal table of `goal-choice.md`, chosen among more candidates (every recogniser of the docs home's "
                 f"commands) from models those commands made one by one. The recipe's own goal choice, with its HR guard and every candidate: `{rec['goals_page']}`.")
    return '\n'.join(lines)


def keep_record(path:Path, done:list, runs:Path):
    "Give the kept record's steps their training cost from its own run folders (a record written before it was kept lacks it); nothing else changes"
    rec = json.loads(path.read_text())
    if rec['runs'] != str(runs): return   # another folder's runs, written to this name: not its costs
    cost = {r['name']: {k: r[k] for k in ('epochs', 'trained', 'stopped_by', 'torch') if k in r} for r in done}
    steps = [{**s, **cost.get(s['name'], {})} for s in rec['steps']]
    if steps == rec['steps']: return
    rec['steps'] = steps
    _atomic_write(path, json.dumps(rec, indent=1, ensure_ascii=False) + '\n')
    _atomic_write(path.with_suffix('.md'), render(rec) + '\n')
    print(f"{path}: each trained model's epochs and minutes read from its run folder", flush=True)


def goal_rows(goals_json:Path)->list:
    "The goals of the recipe's goal choice, beside the published goal choice's system and DevTest number"
    g = json.loads(goals_json.read_text())['goals']
    pub = results_path('goal-choice').with_suffix('.json')
    pub = {(x['size'], x['degradation'], x['protocol']): x for x in json.loads(pub.read_text())['goals']} if pub.exists() else {}
    mode = lambda c: c['mode'] + (' (matched gallery)' if c['protocol'] == 'HRm-LR' else '')
    return [dict(size=x['size'], degradation=x['degradation'], protocol=x['protocol'], asked=x['asked'], reached=x['reached'],
                 chosen=mode(x['chosen']), val=100 * x['chosen']['accuracy'], devtest=100 * x['devtest_accuracy'],
                 published_system=mode(p['chosen']) if (p := pub.get((x['size'], x['degradation'], x['protocol']))) else None,
                 published=100 * p['devtest_accuracy'] if p else None) for x in g]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', choices=('cpu', 'gpu'), default='cpu', help="the DSRs: 'cpu' (the CPU preset, 20 minutes each) or 'gpu' (the original system's size)")
    ap.add_argument('--shipped-dsrs', action='store_true', help='use the shipped DSRs, made by these steps with the CPU preset, instead of training them')
    ap.add_argument('--dsr-minutes', type=float, default=None, help="each DSR's time budget (default: 20 with 'cpu', the full schedule with 'gpu')")
    ap.add_argument('--dsr-bs', type=int, default=None, help="with --preset gpu: the DSRs' batch size, the learning rate scaled to it (default: the original 16)")
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'), help='the prepared LFW folder (made by the first step unless it is there)')
    ap.add_argument('--lfw', default=None, help='LFW folder, for every step (default: $VLRFACE_LFW or ../shared/data/lfw)')
    ap.add_argument('--runs', type=Path, default=None, help='where the runs go (default: runs/recipe-PRESET)')
    ap.add_argument('--out', default=None, help='results name under bench/results (default: recipe-PRESET)')
    ap.add_argument('--plan', action='store_true', help='print the steps and their state; run nothing')
    a = ap.parse_args()
    if Path.cwd().resolve() != BENCH.parent: sys.exit(f"bench/recipe.py: run it from the repository root ({BENCH.parent}), where its paths point")
    if a.shipped_dsrs and (a.preset != 'cpu' or a.dsr_minutes is not None):
        sys.exit("bench/recipe.py: --preset and --dsr-minutes set the DSRs the recipe trains; with --shipped-dsrs it trains none")
    if a.dsr_bs is not None and (a.preset != 'gpu' or a.shipped_dsrs or a.dsr_bs < 1):
        sys.exit("bench/recipe.py: --dsr-bs is a batch size (>= 1) for the DSRs that --preset gpu trains")
    name = recipe_name(a.preset, a.dsr_bs)
    runs, out = a.runs or Path(f'runs/{name}'), a.out or name
    plan = steps(a.data, runs, a.preset, a.shipped_dsrs, a.dsr_minutes, out, a.dsr_bs)
    try: sts = states(plan, runs)
    except Refused as e: sys.exit(f"bench/recipe.py: {e}")
    if a.plan:
        for s in plan: print(f"{s['name']:16} {sts[s['name']]:7} {shlex.join(s['argv'])}")
        return
    import torch
    if a.preset == 'gpu' and not a.shipped_dsrs and a.dsr_minutes is None and not torch.cuda.is_available():
        print("warning: no GPU here; the gpu preset's DSRs train their full schedule on the CPU (give --dsr-minutes for a budget)", flush=True)
    env = {**os.environ, **({'VLRFACE_LFW': a.lfw} if a.lfw else {})}   # prep's source and the goal choice's DevTest pairs
    if a.lfw: plan[0]['argv'] += ['--src', a.lfw]
    mach, t0, done = machine('cuda' if torch.cuda.is_available() else None), time.time(), []   # the steps take the best device there is
    for s in plan:
        name, st, log = s['name'], sts[s['name']], runs/'logs'/f"{s['name']}.log"
        rec = dict(name=name, command=shlex.join(s['argv']), state=st, minutes=None)
        if st != 'done':
            try:
                minutes, text = run_step(name, s['argv'] + (['--resume'] if st == 'resume' else []), log, env)
                if s['kind'] == 'file': save_choice(text, s['output'].with_suffix('.json'), log)
            except RuntimeError as e: sys.exit(f"bench/recipe.py: {e}")
            except KeyboardInterrupt: sys.exit(f"\nbench/recipe.py: interrupted in step {name}; finished epochs are kept: run the same command again to resume")
            rec.update(minutes=round(minutes, 1), state='resumed' if st == 'resume' else 'ran')
        if s['kind'] == 'file': rec['alpha'] = json.loads(s['output'].with_suffix('.json').read_text())['alpha']
        if s['kind'] == 'run': rec.update(trained(s['output']), **elsewhere(s['output']))
        done.append(rec)
    page = results_path(out).with_suffix('.md')
    if all(r['state'] == 'done' for r in done) and page.exists():   # nothing ran: keep the record of the sitting that did the work
        keep_record(page.with_suffix('.json'), done, runs); print(page.read_text()); return
    write_results(out, dict(preset=a.preset, shipped_dsrs=a.shipped_dsrs, runs=str(runs), steps=done, goals=goal_rows(plan[-1]['output']),
                            goals_page=f'bench/results/{out}-goals.md', minutes=(time.time() - t0) / 60), render, mach)


if __name__ == '__main__': main()
