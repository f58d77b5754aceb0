"""Does a training budget hold on a loaded machine? The quick start with one CPU core taken by another process, written to bench/results/budget.md and budget.json.

A run given minutes used to plan its epochs from a first timing, which is only right on an idle
machine: on a shared one the quick start planned 9 epochs, ran 3 in 29 minutes and stopped at
its peak learning rate. Now the learning-rate schedule follows the clock
(`vlrface.runs.TimeBudgetCallback`). This script starts a process that keeps one core busy,
runs `vlrface-quickstart --minutes M` into a fresh output folder (LFW prepared in `--data`
first if it is not), and records the run's training time, the epochs it allowed and ran, its
peak and last learning rates, the total wall time and the machine.

    python bench/budget.py               # --minutes 20 --data data/lfw-vlr by default
"""
import argparse, json, shutil, subprocess, sys, time
from datetime import datetime
from pathlib import Path

from common import machine, describe, write_results


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--minutes', type=float, default=20.)
    p.add_argument('--data', default='data/lfw-vlr', help='prepared LFW (made by the quick start if missing)')
    p.add_argument('--out', default='runs/bench-budget', help='the quick start output (replaced)')
    p.add_argument('--results', default=str(Path(__file__).parent/'results'))
    a = p.parse_args()
    mach = machine()   # before the burner starts: the load average shows what else ran
    out = Path(a.out); shutil.rmtree(out, ignore_errors=True)
    burner = subprocess.Popen([sys.executable, '-c', 'while True: pass'])   # the other process: one core, flat out
    try:
        t0 = time.time()
        r = subprocess.run(['vlrface-quickstart', '--minutes', str(a.minutes), '--data', a.data, '--out', str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wall = time.time() - t0
    finally: burner.kill()
    if r.returncode: sys.exit(f"vlrface-quickstart failed ({r.returncode}):\n{r.stdout[-3000:]}")
    run = out/'dsr16'
    fin, rec = json.loads((run/'finished.json').read_text()), json.loads((run/'config.json').read_text())
    # date, cpu and cores stay at the top level too: nbs/07a_runs reads them from budget.json
    res = dict(date=datetime.fromisoformat(mach['date']).strftime('%Y-%m-%d %H:%M UTC'), cpu=mach['cpu'], cores=mach['cores'],
               load='one other process spinning on one core for the whole run', versions=rec['versions'],
               budget_s=a.minutes * 60, train_s=round(fin['elapsed'], 1), over_budget_pct=round(100 * (fin['elapsed'] / (a.minutes * 60) - 1), 2),
               epochs_allowed=fin['planned'], epochs_run=fin['epochs'], stopped_by=fin['stopped_by'],
               lr_peak=rec['settings']['lr'], lr_end=fin['lr_end'], quickstart_wall_s=round(wall, 1),
               devtest=[l for l in r.stdout.splitlines() if l.strip().startswith(('mode ', 'HR ', 'bicubic ', 'DSR '))])
    write_results(Path(a.results)/'budget', res, render, mach)


def render(r):
    "budget.md from the record in budget.json"
    rows = [('budget', f"{r['budget_s'] / 60:g} min"), ('training took', f"{r['train_s'] / 60:.2f} min ({r['over_budget_pct']:+.2f} % of the budget)"),
            ('epochs allowed / run', f"{r['epochs_allowed']} / {r['epochs_run']}" + (' (the last one cut when the time was up)' if r['stopped_by'] == 'time budget' else '')),
            ('stopped by', r['stopped_by']), ('learning rate: peak / last step', f"{r['lr_peak']:g} / {r['lr_end']:.2e}"),
            ('whole quick start (prepare if needed, train, evaluate)', f"{r['quickstart_wall_s'] / 60:.1f} min")]
    return (f"# A training budget on a loaded machine\n\n{describe(r['machine'])}; {r['load']} during the run. `{r['command']}`. "
            "Numbers: the JSON next to this page.\n\n| | |\n|---|---|\n" +
            '\n'.join(f"| {k} | {v} |" for k, v in rows) + "\n\nDevTest (LFW View 1) after that run:\n\n```\n" + '\n'.join(r['devtest']) + "\n```\n")


if __name__ == '__main__': main()
