"""The issue's goal table from one command: every model of the goal systems trained, the systems chosen on the validation
people, and the chosen ones measured once on LFW View 1 DevTest; written to bench/results/recipe-PRESET.{json,md}.

    python bench/recipe.py [--preset cpu|gpu] [--runs runs/recipe-PRESET] [--shipped-dsrs] [--plan]

The steps are the package's own commands, run in order, each into its folder under --runs:
 1. prep: LFW aligned, with its View 1 people (`vlrface-prep lfw`; a rerun resumes into the folder);
 2. three DSRs: clean 16 px, realistic 16 px and realistic 8 px (`vlrface-train-dsr`, each face made small from its HR
    face as it is read, so no prepared VLR size is needed; `cpu`: the CPU preset, 20 minutes each; `gpu`: the original system's size, 120 channels and 16 blocks); `--shipped-dsrs` takes the shipped ones
    (`pretrained:16`, `pretrained:16-realistic`, `pretrained:8-realistic`, which these commands made) instead;
 3. four fine-tuned recognisers (`vlrface-finetune`): `realistic` (the realistic DSR in front, bicubic faces at 8, 16 and
    32 px, degraded on the fly, distilled to the original's HR embeddings), `band8` and `band16` (from `realistic`, on
    bicubic faces of 8-12 px and of 16 px), `clean16` (the clean DSR in front, held to the original on HR faces);
 4. two interpolated recognisers (`vlrface interpolate --alpha auto`): the original towards `band8` (chosen at 8 px)
    and towards `band16` (chosen at 16 px), each alpha chosen on the validation people under the HR guard;
 5. the goals (`bench/goal_choice.py`): every front end (bicubic, the three DSRs) into every recogniser (the original and
    the six above) that keeps HR faces within half a point; each goal's system chosen on the validation people, then
    measured on DevTest (bench/results/recipe-PRESET-goals.{json,md}).
The settings are those the docs home chose on the validation people. A step whose run finished is skipped, an
interrupted run is resumed (`--resume`), and a failed step stops the recipe with its log's name: run the same command
again to go on. Each step's output goes to the terminal and to RUNS/logs/STEP.log. Run it from the repository root.
The `gpu` preset's DSRs keep the perceptual term where torchvision's VGG-16 file is found (`vlrface.losses.find_vgg16`;
nothing is downloaded) and train without it otherwise, as the CPU preset does; every step takes the best device there is.
"""
import argparse, json, shlex, signal, subprocess, sys, time
from pathlib import Path

from common import describe, machine, results_path, write_results

PY = sys.executable   # a step written `python ...` runs with this interpreter
BENCH = Path(__file__).resolve().parent
SHIPPED = {'dsr16': 'pretrained:16', 'dsr16-realistic': 'pretrained:16-realistic', 'dsr8-realistic': 'pretrained:8-realistic'}
FT = ['--degrade', 'realistic', '--distill', '20', '--lr-backbone', '2e-5']   # the fine-tuning recipe chosen on the validation people


def dsr_args(preset:str, minutes:float|None)->list:
    "The DSR training settings of a preset: the CPU preset for 20 minutes, or the original system's size"
    if preset == 'cpu': return ['--preset', 'cpu', '--minutes', f'{20 if minutes is None else minutes:g}']
    from vlrface.losses import find_vgg16
    a = ['--preset', 'gpu'] + ([] if minutes is None else ['--minutes', f'{minutes:g}'])
    return a if find_vgg16() else a + ['--perceptual', '0']   # the perceptual term needs torchvision's VGG-16 file


def steps(data:Path, runs:Path, preset:str, shipped:bool, dsr_minutes:float|None, lfw:str|None)->list:
    "The recipe as [(name, kind, output, argv)], in order; kind: 'prep', 'run' (a run folder), 'file' or 'results'"
    dsr = {k: v if shipped else str(runs/k/'best.safetensors') for k, v in SHIPPED.items()}
    r = lambda name, f='best': str(runs/name/f'{f}.safetensors')
    out = [('prep', 'prep', data, ['vlrface-prep', 'lfw', '--out', str(data)] + (['--src', lfw] if lfw else []))]
    if not shipped:
        # 'clean': area downsampling, the prepared faces' own kernel, made from each HR face as it is read: no prepared VLR size is needed
        for name, size, deg in [('dsr16', 16, 'clean'), ('dsr16-realistic', 16, 'realistic'), ('dsr8-realistic', 8, 'realistic')]:
            out.append((name, 'run', runs/name, ['vlrface-train-dsr', str(data), '--out', str(runs/name), '--size', str(size), '--degrade', deg]
                        + dsr_args(preset, dsr_minutes)))
    ft = lambda name, *a: (name, 'run', runs/name, ['vlrface-finetune', str(data), '--out', str(runs/name), *a])
    out += [ft('ft-realistic', '--dsr', dsr['dsr16-realistic'], '--sizes', '8', '16', '32', *FT, '--epochs1', '3', '--epochs2', '8'),
            ft('ft-band8', '--edgeface', r('ft-realistic'), '--sizes', '8', '12', *FT, '--epochs1', '1', '--epochs2', '4'),
            ft('ft-band16', '--edgeface', r('ft-realistic'), '--sizes', '16', *FT, '--epochs1', '1', '--epochs2', '6'),
            ft('ft-clean16', '--dsr', dsr['dsr16'], '--degrade', 'clean', '--distill', '20', '--lr-backbone', '2e-5',
               '--epochs1', '3', '--epochs2', '8', '--hr-reference', 'original')]
    # band16's best epoch under the HR guard can be its start; its last epoch is what interpolation walks towards
    for name, tuned, size in [('wise8', r('ft-band8'), 8), ('wise16', r('ft-band16', 'last'), 16)]:
        out.append((name, 'file', runs/f'{name}.safetensors', ['vlrface', 'interpolate', 'original', tuned, '--alpha', 'auto', '--data', str(data),
                    '--sizes', str(size), '--out', str(runs/f'{name}.safetensors'), '--json']))
    recs = dict(realistic=r('ft-realistic'), band8=r('ft-band8'), band16=r('ft-band16', 'last'), clean16=r('ft-clean16'),
                wise8=str(runs/'wise8.safetensors'), wise16=str(runs/'wise16.safetensors'))
    goals = f'recipe-{preset}-goals'
    out.append(('goals', 'results', results_path(goals).with_suffix('.json'),
                ['python', 'bench/goal_choice.py', '--data', str(data), '--out', goals,
                 '--dsr', *[f'{k[3:]}={v}' for k, v in dsr.items()], '--finetuned', *[f'{k}={v}' for k, v in recs.items()]]))
    return out


def state(kind:str, output:Path, argv:list)->str:
    "'done', 'resume' (a run folder with an unfinished run) or 'todo'"
    if kind == 'run':
        if (output/'finished.json').exists(): return 'done'
        return 'resume' if (output/'last.state.pt').exists() else 'todo'
    if kind == 'results':   # done when the results were written by this very command
        return 'done' if output.exists() and json.loads(output.read_text()).get('command') == shlex.join(argv) else 'todo'
    if kind == 'prep': return 'todo'   # cheap when done: a rerun resumes into the folder and prepares nothing new
    return 'done' if output.exists() and output.with_suffix('.json').exists() else 'todo'   # the file and its choice


def run_step(name:str, argv:list, log:Path)->tuple:
    "Run one step, its output to the terminal and to `log`: (the minutes it took, its output); raises on failure"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"\n=== {name}: {shlex.join(argv)}", flush=True)
    t0, out = time.time(), []
    with open(log, 'ab') as f:
        f.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(argv)}\n".encode())
        p = subprocess.Popen([PY if argv[0] == 'python' else argv[0], *argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=BENCH.parent)
        try:
            for chunk in iter(lambda: p.stdout.read1(4096), b''):
                sys.stdout.buffer.write(chunk); sys.stdout.flush(); f.write(chunk); out.append(chunk)
            rc = p.wait()
        except KeyboardInterrupt:   # let the step stop as on Ctrl-C (a run keeps its finished epochs), then stop the recipe
            p.send_signal(signal.SIGINT)
            try: p.wait(60)
            except subprocess.TimeoutExpired: p.kill()
            raise
    if rc: raise RuntimeError(f"step {name} failed (exit status {rc}); its output is in {log}. Run the same command again to resume")
    return (time.time() - t0) / 60, b''.join(out).decode(errors='replace')


def render(rec:dict)->str:
    pct = lambda v, nd: '' if v is None else f"{v:.{nd}f}"
    lines = [f"# The goal table from one command (`bench/recipe.py --preset {rec['preset']}`)\n",
             f"Run {describe(rec['machine'])}. DSRs: {'the shipped ones (`--shipped-dsrs`)' if rec['shipped_dsrs'] else 'trained by the recipe'}; "
             f"runs in `{rec['runs']}`. Command: `{rec['command']}`\n",
             "| step | state | minutes | command |", "| --- | --- | --- | --- |"]
    state_of = lambda s: s['state'] + (f" (alpha {s['alpha']:g})" if 'alpha' in s else '')
    lines += [f"| {s['name']} | {state_of(s)} | {pct(s['minutes'], 1)} | `{s['command']}` |" for s in rec['steps']]
    lines.append(f"\n{rec['minutes']:.0f} minutes in this sitting; a step done in an earlier sitting shows no minutes (its run folder's records hold them).\n")
    lines += ["| goal | asked % | chosen on validation | val % | DevTest % | published DevTest % | reached |", "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['size']} px, {r['degradation']}, {r['protocol']} | >= {r['asked']:g} | {r['chosen']} | {r['val']:.2f} | {r['devtest']:.1f} | "
              f"{pct(r['published'], 1)} | {'yes' if r['reached'] else 'no'} |" for r in rec['goals']]
    lines.append("\n`published`: the goal's DevTest number in `goal-choice.md`, from the models the docs home's commands made one by one. "
                 f"The recipe's own goal choice, with its HR guard and every candidate: `{rec['goals_page']}`.")
    return '\n'.join(lines)


def goal_rows(goals_json:Path)->list:
    "The goals of the recipe's goal choice, beside the published goal choice's DevTest numbers"
    g = json.loads(goals_json.read_text())['goals']
    pub = results_path('goal-choice').with_suffix('.json')
    pub = {(x['size'], x['degradation'], x['protocol']): x['devtest_accuracy'] for x in json.loads(pub.read_text())['goals']} if pub.exists() else {}
    return [dict(size=x['size'], degradation=x['degradation'], protocol=x['protocol'], asked=x['asked'], reached=x['reached'],
                 chosen=x['chosen']['mode'] + (' (matched gallery)' if x['chosen']['protocol'] == 'HRm-LR' else ''),
                 val=100 * x['chosen']['accuracy'], devtest=100 * x['devtest_accuracy'],
                 published=None if (k := (x['size'], x['degradation'], x['protocol'])) not in pub else 100 * pub[k]) for x in g]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', choices=('cpu', 'gpu'), default='cpu', help="DSR size: 'cpu' (the CPU preset, 20 minutes each) or 'gpu' (the original system's)")
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'), help='the prepared LFW folder (made by the first step)')
    ap.add_argument('--lfw', default=None, help='LFW folder (default: $VLRFACE_LFW or ../shared/data/lfw)')
    ap.add_argument('--runs', type=Path, default=None, help='where the runs go (default: runs/recipe-PRESET)')
    ap.add_argument('--shipped-dsrs', action='store_true', help='use the shipped DSRs, which these steps made, instead of training them')
    ap.add_argument('--dsr-minutes', type=float, default=None, help="each DSR's time budget (default: 20 with 'cpu', the full schedule with 'gpu')")
    ap.add_argument('--plan', action='store_true', help='print the steps and their state; run nothing')
    a = ap.parse_args()
    runs = a.runs or Path(f'runs/recipe-{a.preset}')
    plan = steps(a.data, runs, a.preset, a.shipped_dsrs, a.dsr_minutes, a.lfw)
    if a.plan:
        for name, kind, output, argv in plan: print(f"{name:16} {state(kind, output, argv):7} {shlex.join(argv)}")
        return
    import torch
    mach, t0, done = machine('cuda' if torch.cuda.is_available() else None), time.time(), []   # the steps take the best device there is
    for name, kind, output, argv in plan:
        st = state(kind, output, argv)
        rec = dict(name=name, command=shlex.join(argv), state=st, minutes=None)
        if st != 'done':
            try: minutes, text = run_step(name, argv + (['--resume'] if st == 'resume' else []), runs/'logs'/f'{name}.log')
            except RuntimeError as e: sys.exit(f"bench/recipe.py: {e}")
            except KeyboardInterrupt: sys.exit(f"\nbench/recipe.py: interrupted in step {name}; finished epochs are kept: run the same command again to resume")
            rec.update(minutes=round(minutes, 1), state='resumed' if st == 'resume' else 'ran')
            if kind == 'file':   # the interpolation's choice (its --json answer, after any warnings) beside its file
                output.with_suffix('.json').write_text(text[0 if text.startswith('{') else text.index('\n{') + 1:])
        if kind == 'file': rec['alpha'] = json.loads(output.with_suffix('.json').read_text())['alpha']
        done.append(rec)
    goals = goal_rows(plan[-1][2])
    write_results(f'recipe-{a.preset}', dict(preset=a.preset, shipped_dsrs=a.shipped_dsrs, runs=str(runs), steps=done, goals=goals,
                                            goals_page=f'bench/results/recipe-{a.preset}-goals.md',
                                            minutes=(time.time() - t0) / 60), render, mach)


if __name__ == '__main__': main()
