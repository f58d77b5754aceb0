"""What a longer fine-tuning buys the recogniser, or how far one run lands from another: runs of one `vlrface-finetune`
command that differ only in --epochs1/--epochs2 (`--vary epochs`), only in --seed (`--vary seed`), only in
--distill-attention (`--vary attention`) or only in --distill (`--vary distill`), side by side on the validation people: bench/results/OUT.{json,md,png}.

    vlrface-finetune data/lfw-vlr --dsr pretrained:16-realistic --sizes 8 16 32 --degrade realistic --distill 20 \\
        --lr-backbone 2e-5 --epochs1 3 --epochs2 24 --out runs/ft-budget/ft-realistic-e24
    python bench/goal_choice.py --out ft-budget-goals --dsr 16=pretrained:16 ... \\
        --finetuned realistic=runs/recipe-cpu/ft-realistic/best.safetensors realistic-e24=runs/ft-budget/ft-realistic-e24/best.safetensors ...
    python bench/ft_budget.py --runs runs/recipe-cpu/ft-realistic runs/ft-budget/ft-realistic-e24 --goals ft-budget-goals
    (and the recipe's step again with --seed 1 --out runs/seed/ft-realistic-s1, a goal choice with both, ft-seed-goals, then)
    python bench/ft_budget.py --vary seed --runs runs/recipe-cpu/ft-realistic runs/seed/ft-realistic-s1 --goals ft-seed-goals --out ft-seed
    (and the recipe's step again with --distill-attention 10 --out runs/att/ft-realistic-att10, a goal choice with it, ft-att-goals, then)
    python bench/ft_budget.py --vary attention --runs runs/recipe-cpu/ft-realistic runs/att/ft-realistic-att10 --goals ft-att-goals
    (and the recipe's step again with --distill 40 --out runs/distill/ft-realistic-d40, a goal choice with it, ft-distill-goals, then)
    python bench/ft_budget.py --vary distill --runs runs/recipe-cpu/ft-realistic runs/distill/ft-realistic-d40 --goals ft-distill-goals

For each run: its settings and inputs (refused unless equal but for what `--vary` names, and refused if its epochs were raised
on a resume: its early epochs followed another schedule), the epochs and minutes its history.csv timed, every epoch's
validation accuracy (the mean over its LR face kinds, on the pairs the run dealt by its seed; refused unless every
run was judged on the same number) and HR TAR at FAR 1e-3 over every validation pair, from where its HR bound counts,
the epoch its best.safetensors kept and what the goal choice's HR guard said of that checkpoint. Then, from a goal choice that had every run's best checkpoint among its recognisers, each goal cell's best
validation accuracy with that recogniser behind any front end, the original's likewise, and which system the goal
choice chose, with its DevTest number. Nothing is measured here: the runs and the goal choice did that; this page
and its figure put them side by side.
"""
import argparse, dataclasses, json, math
from pathlib import Path

import pandas as pd

from common import describe, machine, results_path, secs, trained, write_results
from dsr_budget import goal_cells, goal_names, same_but_budget
from ft_choice import val_pairs
from vlrface.degrade import degradation_record
from vlrface.finetune import FinetuneConfig, hr_bound_from

VARY = {'epochs': ('epochs1', 'epochs2'), 'seed': ('seed',), 'attention': ('distill_attention',), 'distill': ('distill',)}   # what may differ between the runs, by --vary
TITLE = {'epochs': 'What a longer fine-tuning buys the recogniser', 'seed': 'How far one fine-tuning lands from another, the seed alone changed',
         'attention': 'What attention-map distillation buys the recogniser', 'distill': 'What a stronger pull towards the HR embedding buys the recogniser'}
OUT = {'epochs': 'ft-budget', 'seed': 'ft-seed', 'attention': 'ft-att', 'distill': 'ft-distill'}   # --out by default
CURVES = ('ver_acc', 'ver_tar3_hr_all')   # every epoch's validation numbers the page and the figure use


def run_record(run:Path)->dict:
    "A fine-tuning run folder as one row: settings, inputs, training cost, every epoch's validation numbers, the kept epoch"
    for f in ('config.json', 'best.json', 'history.csv', 'baseline.json'):
        if not (run/f).exists(): raise SystemExit(f"bench/ft_budget.py: {run/f} is missing: give fine-tuning run folders made by vlrface-finetune")
    cfg, best, base = (json.loads((run/f).read_text()) for f in ('config.json', 'best.json', 'baseline.json'))
    if cfg.get('kind') != 'finetune': raise SystemExit(f"bench/ft_budget.py: {run} is not a fine-tuning run (config.json kind {cfg.get('kind')!r})")
    if cfg.get('changes'): raise SystemExit(f"bench/ft_budget.py: {run} was resumed with other settings ({cfg['changes']}): its epochs followed more than one schedule")
    if best.get('monitor') != 'ver_acc': raise SystemExit(f"bench/ft_budget.py: {run}/best.json kept its epoch by {best.get('monitor')!r}, not ver_acc")
    h = pd.read_csv(run/'history.csv').drop_duplicates('epoch', keep='last')   # an epoch redone after a kill is logged twice: its last is the run's
    if missing := [c for c in CURVES if c not in h or c not in base]:
        raise SystemExit(f"bench/ft_budget.py: {run} logged no {', '.join(missing)}: run it again with this version of vlrface-finetune")
    settings = {**dataclasses.asdict(FinetuneConfig()), **cfg['settings']}   # a setting added since the run had its default
    inputs = {**cfg['inputs'], 'degradation': degradation_record(cfg['inputs'].get('degradation'))}   # in today's terms, as a resume compares them
    hr0, ref = hr_bound_from(run)
    return dict(run=str(run), settings=settings, inputs=inputs, finished=(run/'finished.json').exists(), **trained(run),
                epoch_min=[round(secs(t) / 60, 2) for t in h.time], val_pairs=val_pairs(run, settings),
                start=dict(ver_acc=base['ver_acc'], ver_tar3_hr_all=hr0), hr_from='reference' if ref else 'start',
                curves={c: h[c].tolist() for c in CURVES}, best_epoch=best['epoch'] + best.get('epoch_offset', 0), guard_kept=best.get('guard', {}).get('kept'))


def _flags(vary, tick='`'): return '/'.join(f"{tick}--{k.replace('_', '-')}{tick}" for k in VARY[vary])   # as the command line spells them


def render(rec:dict)->str:
    "The page: the runs, then the goal cells"
    runs, names = rec['runs'], list(rec['runs'])
    f = lambda v, nd=2: '' if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{nd}f}"
    guard = {g['recogniser']: g for g in rec['hr_guard']}
    vary = rec.get('vary', 'epochs')   # (pages written before --vary compared epochs)
    more = [k for k in VARY[vary] if k not in ('epochs1', 'epochs2', 'seed')]   # a varied setting the table has no column for
    lines = [f"# {TITLE[vary]} (`bench/ft_budget.py`)\n",
             f"Written {describe(rec['machine'])}; the runs and the goal choice (`{rec['goals_page']}`) were measured by their own commands, "
             f"the goal choice on {rec['goals_machine']}. The runs differ only in {_flags(vary)}. Validation accuracy: the mean over "
             f"the run's LR face kinds, on the {next(iter(runs.values()))['val_pairs']} pairs it dealt by its seed"
             + (", with the validation faces degraded by its seed too: each run's numbers are on its own pairs and faces, so compare each with its own "
                "start; the goal cells below are on the same pairs for every run" if vary == 'seed' else "")
             + f"; HR guard: the goal choice's (TAR at FAR 1e-3 over every pair of the validation faces, within {rec['bound']:g} points of the original's).\n",
             "| run | epochs (head alone + all) | seed | " + ''.join(f"--{k.replace('_', '-')} | " for k in more) + "trained min | kept epoch (counted from 1) | val accuracy %, kept | val accuracy %, last epoch | start "
             "| HR TAR@1e-3 change, kept (goal choice) | HR guard |",
             "| --- " * (10 + len(more)) + "|"]
    for n, r in runs.items():
        s, g = r['settings'], guard.get(rec['recognisers'][n], {})
        lines.append(f"| {n} | {s['epochs1']} + {s['epochs2']} | {s['seed']} | " + ''.join(f"{s[k]:g} | " for k in more) + f"{f(r.get('trained'), 1)}{'' if r['finished'] else ' (not finished)'} | {r['best_epoch'] + 1} of {len(r['curves']['ver_acc'])} "
                     f"| {f(100 * r['curves']['ver_acc'][r['best_epoch']])} | {f(100 * r['curves']['ver_acc'][-1])} | {f(100 * r['start']['ver_acc'])} "
                     f"| {f(g.get('change'))} | {g.get('kept', '')} |")
    lines += ["\nBest validation accuracy % of each run's recogniser behind any front end (bicubic or a DSR; "
              f"{rec['goal_pairs']} pairs: one pair is {100 / rec['goal_pairs']:.2f} points), the original's likewise, and the system the goal "
              "choice chose among all its candidates, with its DevTest accuracy %:\n",
              "| goal | asked % | " + ' | '.join(names) + " | original | chosen | DevTest % |", "| --- " * (len(names) + 5) + "|"]
    lines += [f"| {c['size']} px, {c['degradation']}, {c['protocol']} | >= {c['asked']:g} | " + ' | '.join(f(c['best'][n]) for n in names)
              + f" | {f(c['original'])} | {c['chosen']} | {f(c['devtest'], 1)} |" for c in rec['cells']]
    return '\n'.join(lines)


def plot(rec:dict, path:Path):
    "Every epoch's validation accuracy and HR TAR change of each run, against the epoch; dotted: where all the weights start to train; dashed: the start (left), the HR bound (right); both panels count from each run's own start (HR: from where its bound counts)"
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 2, figsize=(9, 3.2))
    for n, r in rec['runs'].items():
        ep = range(1, len(r['curves']['ver_acc']) + 1)
        l, = axs[0].plot(ep, [100 * (v - r['start']['ver_acc']) for v in r['curves']['ver_acc']], marker='.', label=n)   # from its own start: runs of other seeds deal other pairs
        axs[1].plot(ep, [100 * (v - r['start']['ver_tar3_hr_all']) for v in r['curves']['ver_tar3_hr_all']], marker='.', color=l.get_color())
        axs[0].plot([r['best_epoch'] + 1], [100 * (r['curves']['ver_acc'][r['best_epoch']] - r['start']['ver_acc'])], 'o', mfc='none', ms=9, color=l.get_color())
        for ax in axs: ax.axvline(r['settings']['epochs1'] + 0.5, ls=':', color='grey', lw=0.8)
    axs[0].axhline(0, ls='--', color='grey', lw=0.8); axs[1].axhline(-rec['bound'], ls='--', color='grey', lw=0.8)
    axs[0].set_title("LR validation accuracy: change from the run's start (points; ring: kept)", fontsize=8)
    frm = 'the start' if all(r['hr_from'] == 'start' for r in rec['runs'].values()) else "each run's HR bound's origin"
    axs[1].set_title(f'HR TAR@1e-3, every validation pair: change from {frm} (points)', fontsize=8)
    for ax in axs: ax.set_xlabel('epoch', fontsize=8); ax.tick_params(labelsize=7)
    axs[0].legend(fontsize=7)
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', nargs='+', type=Path, required=True, help='fine-tuning run folders of one command, differing only in what --vary names')
    ap.add_argument('--vary', choices=list(VARY), default='epochs', help="what the runs may differ in: 'epochs' (--epochs1/--epochs2), 'seed' (--seed), 'attention' (--distill-attention) or 'distill' (--distill)")
    ap.add_argument('--goals', required=True, help="a goal choice (bench/goal_choice.py --out NAME) with every run's best.safetensors among its --finetuned")
    ap.add_argument('--out', default=None, help="the results' name (default: ft-budget, ft-seed, ft-att or ft-distill by --vary)")
    a = ap.parse_args()
    a.out = a.out or OUT[a.vary]
    runs = {r.name: run_record(r) for r in a.runs}
    if len(runs) != len(a.runs): raise SystemExit("bench/ft_budget.py: the runs are named by their folders, and two have the same name: " + ' '.join(map(str, a.runs)))
    same_but_budget({n: {**{k: v for k, v in r['settings'].items() if k not in VARY[a.vary]}, **{f'inputs.{k}': v for k, v in r['inputs'].items()}}
                     for n, r in runs.items()}, _flags(a.vary, tick=''), 'ft_budget.py')
    if len({r['val_pairs'] for r in runs.values()}) > 1:
        raise SystemExit("bench/ft_budget.py: the runs were judged on different numbers of validation pairs: " + ', '.join(f"{n} {r['val_pairs']}" for n, r in runs.items()))
    gp, goals, recs = goal_names(a.goals, runs, 'recognisers', 'ft_budget.py')
    for r in runs.values(): del r['inputs']   # compared above; their absolute paths name this machine, not the result
    write_results(a.out, dict(vary=a.vary, runs=runs, recognisers=recs, cells=goal_cells(goals, recs, by='recogniser'), hr_guard=goals['hr_guard'],
                              bound=goals['bound'], goal_pairs=goals['val']['pairs'], goals_page=str(gp.with_suffix('.md').relative_to(gp.parents[2])),
                              goals_machine=describe(goals['machine'])), render, machine())
    plot(json.loads(results_path(a.out).with_suffix('.json').read_text()), results_path(a.out).with_suffix('.png'))


if __name__ == '__main__': main()
