"""What a longer training budget buys a DSR: runs of one `vlrface-train-dsr` command that differ only in --minutes,
side by side on the validation people: bench/results/OUT.{json,md}.

    python bench/goal_choice.py --out dsr-budget-goals --dsr 16-realistic=runs/A/best.safetensors 16-realistic-60=runs/B/best.safetensors ...
    python bench/dsr_budget.py --runs runs/A runs/B --goals dsr-budget-goals

For each run: its settings (refused unless equal but for the budget), the epochs and minutes its history.csv timed and
what stopped it, and its best checkpoint's validation PSNR and identity cosine beside bicubic's (as the run measured
them, on its own degraded validation faces). Then, from a goal choice that had every run's best checkpoint among its
front ends, each goal cell's best validation accuracy with that DSR in front of any recogniser the HR guard kept (an
HR-LR cell: the HR gallery as it is or matched), and which system the goal choice chose, with its DevTest number.
Nothing is measured here: the runs and the goal choice did that; this page puts them side by side.
"""
import argparse, json, math
from pathlib import Path

from common import describe, machine, results_path, trained, write_results


def run_record(run:Path)->dict:
    "A DSR run folder as one row: settings, training cost, best checkpoint's validation metrics, bicubic's"
    for f in ('config.json', 'best.json', 'bicubic.json'):
        if not (run/f).exists(): raise SystemExit(f"bench/dsr_budget.py: {run/f} is missing: give DSR run folders made by vlrface-train-dsr")
    cfg, best, bic = (json.loads((run/f).read_text()) for f in ('config.json', 'best.json', 'bicubic.json'))
    if cfg.get('kind') != 'dsr': raise SystemExit(f"bench/dsr_budget.py: {run} is not a DSR run (config.json kind {cfg.get('kind')!r})")
    m = best['metrics']
    return dict(run=str(run), settings=cfg['settings'], finished=(run/'finished.json').exists(), **trained(run), best_epoch=best['epoch'],
                psnr=m['valid_psnr_db'], cos=m['valid_cos'], bicubic_psnr=bic['psnr'], bicubic_cos=bic.get('cos'))


def goal_cells(goals:dict, columns:dict, by:str='front')->list:
    """Each goal's cell: per column, the best validation accuracy %; and the goal choice's choice. by 'front' (DSR runs):
    a column is a front end, before any recogniser the HR guard kept, beside bicubic's best; by 'recogniser' (fine-tuning
    runs): a column is a recogniser, behind any front end whether the guard kept it or not, beside the original's best"""
    if by not in ('front', 'recogniser'): raise ValueError(f"goal_cells: by must be 'front' or 'recogniser', got {by!r}")
    kept = {r['recogniser'] for r in goals['hr_guard'] if r['kept'] == 'yes'}
    rec_of = lambda r: r['recogniser'] or 'original'
    of = (lambda r: r['front']) if by == 'front' else rec_of
    out = []
    for g in goals['goals']:
        protos = ['HR-LR', 'HRm-LR'] if g['protocol'] == 'HR-LR' else [g['protocol']]
        rows = [r for r in goals['val_rows'] if r['size'] == g['size'] and r['degradation'] == g['degradation'] and r['protocol'] in protos
                and (by != 'front' or rec_of(r) in kept)]
        best = {name: max((100 * r['accuracy'] for r in rows if of(r) == col), default=None) for name, col in columns.items()}
        ref = {'bicubic': max(100 * r['accuracy'] for r in rows if r['front'] in (None, 'bicubic'))} if by == 'front' else \
              {'original': max(100 * r['accuracy'] for r in rows if rec_of(r) == 'original')}
        out.append(dict(size=g['size'], degradation=g['degradation'], protocol=g['protocol'], asked=g['asked'], best=best, **ref,
                        chosen=g['chosen']['mode'] + (' (matched)' if g['chosen']['protocol'] == 'HRm-LR' else ''),
                        chosen_front=g['chosen']['front'], chosen_recogniser=g['chosen']['recogniser'],
                        devtest=100 * g['devtest_accuracy'], reached=g['reached']))
    return out


def same_but_budget(flat:dict, budget:str, script:str):
    "Refuse runs whose records (`flat`: run name -> setting -> value) differ in anything but their budget, naming each difference"
    if differ := sorted(k for k in {k for f in flat.values() for k in f} if len({json.dumps(f.get(k), sort_keys=True) for f in flat.values()}) > 1):
        raise SystemExit(f"bench/{script}: the runs differ in more than {budget}: "
                         + '; '.join(f"{k}: " + ', '.join(f"{n} {json.dumps(f.get(k))[:120]}" for n, f in flat.items()) for k in differ))


def goal_names(goals_name:str, runs:dict, key:str, script:str)->tuple:
    """The goal choice `goals_name` (its JSON path and record) and, per run, the name it gave the run's best.safetensors
    among its `key` ('fronts' for DSR runs, 'recognisers' for fine-tuning runs); refused where it has none"""
    gp = results_path(goals_name).with_suffix('.json')
    if not gp.exists(): raise SystemExit(f"bench/{script}: {gp} is missing: run bench/goal_choice.py --out {goals_name} with these runs' best checkpoints first")
    goals = json.loads(gp.read_text())
    by_path = {str(Path(p)): n for n, p in goals[key].items()}
    best = {n: str(Path(r['run'])/'best.safetensors') for n, r in runs.items()}
    if missing := [b for b in best.values() if b not in by_path]:
        raise SystemExit(f"bench/{script}: {gp} has none of {', '.join(missing)} among its {key}: {goals[key]}")
    return gp, goals, {n: by_path[b] for n, b in best.items()}


def render(rec:dict)->str:
    "The page: the runs, then the goal cells"
    runs, names = rec['runs'], list(rec['runs'])
    f = lambda v, nd=2: '' if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{nd}f}"
    lines = ["# What a longer budget buys a DSR (`bench/dsr_budget.py`)\n",
             f"Written {describe(rec['machine'])}; the runs and the goal choice (`{rec['goals_page']}`) were measured by their own commands, "
             f"on {rec['goals_machine']}. The runs differ only in `--minutes`.\n",
             "| DSR | budget min | epochs | trained min | stopped by | best epoch | val PSNR dB | val identity cos |", "| --- " * 8 + "|"]
    lines += [f"| {n} | {r['settings']['minutes']:g} | {r.get('epochs', '')} | {f(r.get('trained'), 1)} | {r.get('stopped_by') or ('' if r['finished'] else 'not finished')} "
              f"| {r['best_epoch']} | {f(r['psnr'])} | {f(r['cos'], 3)} |" for n, r in runs.items()]
    r0 = runs[names[0]]
    lines.append(f"| bicubic | | | | | | {f(r0['bicubic_psnr'])} | {f(r0['bicubic_cos'], 3)} |")
    n = rec.get('goal_pairs') or json.loads(Path(rec['goals_page']).with_suffix('.json').read_text())['val']['pairs']   # (pages written before goal_pairs: the goal choice's)
    lines += [f"\nBest validation accuracy % of each DSR in front of any recogniser the HR guard kept ({n} pairs: one pair is {100 / n:.2f} points), "
              "bicubic's likewise, and the system the goal choice chose among all its candidates, with its DevTest accuracy %:\n",
              "| goal | asked % | " + ' | '.join(names) + " | bicubic | chosen | DevTest % |", "| --- " * (len(names) + 5) + "|"]
    lines += [f"| {c['size']} px, {c['degradation']}, {c['protocol']} | >= {c['asked']:g} | " + ' | '.join(f(c['best'][n]) for n in names)
              + f" | {f(c['bicubic'])} | {c['chosen']} | {f(c['devtest'], 1)} |" for c in rec['cells']]
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', nargs='+', type=Path, required=True, help='DSR run folders of one command, differing only in --minutes')
    ap.add_argument('--goals', required=True, help='a goal choice (bench/goal_choice.py --out NAME) with every run among its --dsr')
    ap.add_argument('--out', default='dsr-budget')
    a = ap.parse_args()
    runs = {r.name: run_record(r) for r in a.runs}
    if len(runs) != len(a.runs): raise SystemExit("bench/dsr_budget.py: the runs are named by their folders, and two have the same name: " + ' '.join(map(str, a.runs)))
    same_but_budget({n: {k: v for k, v in r['settings'].items() if k != 'minutes'} for n, r in runs.items()}, '--minutes', 'dsr_budget.py')
    gp, goals, fronts = goal_names(a.goals, runs, 'fronts', 'dsr_budget.py')
    write_results(a.out, dict(runs=runs, fronts=fronts, cells=goal_cells(goals, fronts), goal_pairs=goals['val']['pairs'], goals_page=str(gp.with_suffix('.md').relative_to(gp.parents[2])),
                              goals_machine=describe(goals['machine'])), render, machine())


if __name__ == '__main__': main()
