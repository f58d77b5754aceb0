"""Fine-tuning settings compared on the validation people, from the run folders' own records, written to
bench/results/ft-realistic-val.{json,md}: each run's settings that differ, and its validation verification
accuracy per face kind after its last epoch (the weights `best.safetensors` keeps are the best epoch's). Runs that log
HR TAR@1e-3 over every validation pair (`ver_tar3_hr_all`) also get its change from the start recogniser (or from --hr-reference's), at the last
epoch and at the best, the top-scoring epoch whatever its HR cost, and whether the best kept the HR bound.

    vlrface-finetune data/lfw-vlr --dsr runs/realistic16/best.safetensors --sizes 8 16 32 --degrade realistic \\
        --distill 20 --lr-backbone 2e-5 --epochs1 3 --epochs2 8 --out runs/ft-realistic
    (the same with --lr-backbone 6e-5 --out runs/ft-realistic-lr6)
    python bench/ft_choice.py runs/ft-realistic runs/ft-realistic-lr6
"""
import argparse, dataclasses, functools, json
from pathlib import Path

import pandas as pd

from common import machine, describe, write_results
from vlrface.core import md_table
from vlrface.faces import load_face_set
from vlrface.finetune import FinetuneConfig, hr_bound_from, make_pairs


@functools.cache
def _val_people(folder:str)->tuple:
    "(names, subjects) of a prepared folder's validation faces, read once for every run on that folder"
    vs = load_face_set(folder, split='val', sizes=[], progress=False)
    return vs.names, vs.subjects

def val_pairs(run:Path, cfg:dict)->int|None:
    "How many validation pairs the run's epochs were judged on (dealt again as `finetune_data` deals them), or None without its data folder"
    d = Path(json.loads((run/'config.json').read_text()).get('inputs', {}).get('data', {}).get('folder', ''))
    if not (d/'manifest.csv').exists(): return None
    return len(make_pairs(*_val_people(str(d)), cfg['per_subject'], cfg['seed']))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('runs', type=Path, nargs='+', help='fine-tuning run folders (each with config.json, history.csv, best.json)')
    ap.add_argument('--out', type=Path, default=Path('bench/results/ft-realistic-val'))
    a = ap.parse_args()
    mach = machine()
    # a run recorded before a setting existed had its default (a resumed run fills it in the same way)
    default = dataclasses.asdict(FinetuneConfig())
    cfgs = {r: {**default, **json.loads((r/'config.json').read_text())['settings']} for r in a.runs}
    differ = sorted(k for k in {k for c in cfgs.values() for k in c} if len({json.dumps(c.get(k)) for c in cfgs.values()}) > 1)
    rows, hist = [], {}
    for r in a.runs:
        h, best = pd.read_csv(r/'history.csv'), json.loads((r/'best.json').read_text())
        hist[r.name] = h[['epoch'] + [c for c in h.columns if c.startswith('ver_')]].to_dict('list')   # every epoch's validation numbers (JSON only)
        last = h.iloc[-1]
        minutes = sum(int(m) + int(s) / 60 for m, s in (t.split(':') for t in h.time))
        base = json.loads((r/'baseline.json').read_text()) if (r/'baseline.json').exists() else {}
        hr = {}
        hr0, ref = hr_bound_from(r)   # the reference's (--hr-reference), else the start's
        if 'ver_tar3_hr_all' in h and 'ver_tar3_hr_all' in base:   # what each epoch cost on HR faces, in points, from where the bound counts
            change = lambda v: round((float(v) - hr0) * 100, 2)
            top = h.loc[h.ver_acc.idxmax()]
            hr = dict(hr_from='reference' if ref else 'start', hr_from_tar3=round(hr0 * 100, 2), hr_change=change(last.ver_tar3_hr_all), best_hr_change=change(best['metrics']['ver_tar3_hr_all']),
                      top_epoch=int(top.epoch), top_ver_acc=round(float(top.ver_acc) * 100, 2), top_hr_change=change(top.ver_tar3_hr_all),
                      best_kept_hr={True: 'yes', False: 'no'}.get(best.get('guard', {}).get('kept'), 'not guarded'))
        s2 = h.ver_acc[h.epoch >= cfgs[r]['epochs1']] * 100   # stage 2's epochs: how far the validation number wanders from one to the next
        rows.append(dict(run=r.name, **{k: cfgs[r][k] for k in differ}, epochs=len(h), stage1=cfgs[r]['epochs1'], val_pairs=val_pairs(r, cfgs[r]), train_min=round(minutes, 1),
                         **{c: round(float(last[c]) * 100, 2) for c in h.columns if c.startswith('ver_acc')},
                         best_epoch=best['epoch'] + best.get('epoch_offset', 0), best_ver_acc=round(best['score'] * 100, 2),
                         start_ver_acc=round(base['ver_acc'] * 100, 2) if 'ver_acc' in base else None,
                         stage2_range=round(float(s2.max() - s2.min()), 2) if len(s2) else None, stage2_step=round(float(s2.diff().abs().mean()), 2) if len(s2) > 1 else None, **hr))
    t = pd.DataFrame(rows).set_index('run')
    # `machine` is where this summary ran; the runs' train_min are their own logs (where they trained)
    res = dict(runs_dirs=[str(r) for r in a.runs], differ=differ, runs=t.reset_index().to_dict('records'), history=hist,
               note='ver_acc: mean of the LR kinds; ver_acc_hr: HR faces; all on the validation people; train_min: epochs as logged (a shared CPU for part of them); '
                    'stage2_range: highest minus lowest ver_acc over the stage-2 epochs, stage2_step: the mean absolute change from one of them to the next (points); '
                    'stage1: how many of the epochs were stage 1 (the head alone); val_pairs: the validation pairs each epoch was judged on (dealt by the run\'s seed); '
                    'start_ver_acc: ver_acc of the recogniser the run started from, on those pairs'
                    + ('; hr_change: HR TAR@1e-3 over every validation pair, points from the start recogniser or, with hr_from reference, from the --hr-reference recogniser (last epoch, best, top), from its TAR hr_from_tar3; top: the epoch with the highest ver_acc' if any('hr_change' in x for x in rows) else ''))
    write_results(a.out, res, render, mach)


def render(r):
    "ft-realistic-val.md from the record in its JSON"
    m = r['machine']
    return (f"Validation verification accuracy % after the last epoch, from the run folders' own records (read {describe(m)}, "
            f"by `{r['command']}`); {r['note']}.\n\n{md_table(pd.DataFrame(r['runs']).set_index('run'))}\n")


if __name__ == '__main__': main()
