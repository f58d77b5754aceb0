"""Fine-tuning settings compared on the validation people, from the run folders' own records, written to
bench/results/ft-realistic-val.{json,md}: each run's settings that differ, and its validation verification
accuracy per face kind after its last epoch (the weights `best.safetensors` keeps are the best epoch's).

    vlrface-finetune data/lfw-vlr --dsr runs/realistic16/best.safetensors --sizes 8 16 32 --degrade realistic \\
        --distill 20 --lr-backbone 2e-5 --epochs1 3 --epochs2 8 --out runs/ft-realistic
    (the same with --lr-backbone 6e-5 --out runs/ft-realistic-lr6)
    python bench/ft_choice.py runs/ft-realistic runs/ft-realistic-lr6
"""
import argparse, json, os
from pathlib import Path

import pandas as pd

from vlrface.core import cpu_model, md_table


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('runs', type=Path, nargs='+', help='fine-tuning run folders (each with config.json, history.csv, best.json)')
    ap.add_argument('--out', type=Path, default=Path('bench/results/ft-realistic-val'))
    a = ap.parse_args()
    cfgs = {r: json.loads((r/'config.json').read_text())['settings'] for r in a.runs}
    differ = sorted(k for k in cfgs[a.runs[0]] if len({json.dumps(c.get(k)) for c in cfgs.values()}) > 1)
    rows = []
    for r in a.runs:
        h, best = pd.read_csv(r/'history.csv'), json.loads((r/'best.json').read_text())
        last = h.iloc[-1]
        minutes = sum(int(m) + int(s) / 60 for m, s in (t.split(':') for t in h.time))
        rows.append(dict(run=r.name, **{k: cfgs[r][k] for k in differ}, epochs=len(h), train_min=round(minutes, 1),
                         **{c: round(float(last[c]) * 100, 2) for c in h.columns if c.startswith('ver_acc')},
                         best_epoch=best['epoch'] + best.get('epoch_offset', 0), best_ver_acc=round(best['score'] * 100, 2)))
    t = pd.DataFrame(rows).set_index('run')
    res = dict(machine=f"{cpu_model()}, {os.cpu_count()} cores", differ=differ, runs=t.reset_index().to_dict('records'),
               note='ver_acc: mean of the LR kinds; ver_acc_hr: HR faces; all on the validation people; train_min: epochs as logged (a shared CPU for part of them)')
    a.out.with_suffix('.json').write_text(json.dumps(res, indent=1))
    a.out.with_suffix('.md').write_text(f"Validation verification accuracy % after the last epoch ({res['machine']}); {res['note']}.\n\n{md_table(t)}\n")
    print(t.to_string())


if __name__ == '__main__': main()
