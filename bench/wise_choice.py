"""How far to interpolate from a recogniser towards one fine-tuned from it (WiSE-FT, `interpolate_recognisers`), chosen on the
validation people: HR faces judged on every pair, small faces on the robustness table's pairs, written to
bench/results/wise-choice.{json,md,png}.

    python bench/wise_choice.py runs/ft-band8/best.safetensors --start realistic-rerun=runs/ft-realistic-rerun/best.safetensors original
        [--alphas 0 0.25 0.5 0.625 0.75 0.875 1] [--sizes 8 12 16] [--bound 0.5] [--save runs/wise]

For each start (`original`: the original recogniser) and each alpha, the recogniser `(1 - alpha) start + alpha tuned`:
- HR: TAR at FAR 1e-3 over every pair of the validation faces (as bench/hr_check.py), against the original's;
- small faces: verification accuracy on the validation pairs (`make_pairs`), LR-LR and HR-LR, at each size under each
  test condition (seeded by the image's name, as bench/robustness.py), and their mean per size.
Each size's choice: the recogniser with the best mean among those whose HR TAR@1e-3 is within `--bound` points of the
original's. `--save DIR` writes every interpolated recogniser (DIR/START-aALPHA.safetensors) for a DevTest run.
"""
import argparse, json, time, warnings
from pathlib import Path

import pandas as pd

from common import machine, describe, results_path, write_results
from vlrface.core import md_table
from vlrface.edgeface import load_edgeface, save_edgeface
from vlrface.finetune import choose_alpha, interpolate_recognisers, interpolation_curve

warnings.filterwarnings('ignore')


def choices(rec)->pd.DataFrame:
    "Each size's chosen recogniser, by `choose_alpha` over the rows of every start: the best mean accuracy among those within the bound"
    t = pd.DataFrame(rec['rows'])
    return pd.DataFrame([dict(size=int(s), **choose_alpha(t, s, rec['bound'])[['start', 'alpha', f'mean_{s}', 'hr_change']].rename({f'mean_{s}': 'mean'}))
                         for s in rec['sizes']])


def render(rec)->str:
    t = pd.DataFrame(rec['rows'])
    cols = ['start', 'alpha', *[f'mean_{s}' for s in rec['sizes']], 'hr_tar3', 'hr_change', 'drift']
    return (f"# Interpolating towards a fine-tuned recogniser (`bench/wise_choice.py`)\n\nRun {describe(rec['machine'])}; "
            f"{rec['faces']} validation faces of {rec['subjects']} people: {rec['pairs']} pairs for small faces (one pair is "
            f"{100 / rec['pairs']:.2f} points), {rec['all_pairs']:,} for HR faces; {rec['seconds']:.0f} s. Tuned: `{rec['tuned']}`; "
            f"starts: " + ', '.join(f"`{k}` = `{v}`" for k, v in rec['starts'].items()) + ".\n\n"
            f"mean_N: mean accuracy % at N px over {len(rec['conditions'])} test conditions ({', '.join(rec['conditions'])}) and both "
            f"protocols (LR-LR, HR-LR); hr_tar3: TAR % at FAR 1e-3 over every pair of HR faces; hr_change: against the original's "
            f"({rec['original_hr_tar3']:.2f}); drift: 1 - mean cosine to the original's embedding of the same HR face.\n\n"
            f"{md_table(t[cols].set_index('start'))}\n\nEach size's choice (HR within {rec['bound']:g} points of the original):\n\n"
            f"{md_table(choices(rec).set_index('size'))}\n")


def plot(rec, path):
    "The trade-off, drawn from the record: mean accuracy at each size against the HR change, a line per start, alphas marked"
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    t = pd.DataFrame(rec['rows'])
    fig, axs = plt.subplots(1, len(rec['sizes']), figsize=(4.2 * len(rec['sizes']), 3.4), squeeze=False)
    for ax, s in zip(axs[0], rec['sizes']):
        for name, g in t.groupby('start', sort=False):
            ax.plot(g.hr_change, g[f'mean_{s}'], 'o-', label=f'from {name}')
            for _, r in g.iterrows(): ax.annotate(f"{r.alpha:g}", (r.hr_change, r[f'mean_{s}']), textcoords='offset points', xytext=(4, 4), fontsize=7)
        ax.axvline(-rec['bound'], c='grey', ls='--', lw=0.8)
        ax.set_title(f'{s} px: mean accuracy % (6 conditions, LR-LR and HR-LR)', fontsize=8)
        ax.set_xlabel("HR TAR@1e-3, every validation pair: change against the original (points)", fontsize=7); ax.tick_params(labelsize=7)
    axs[0][0].legend(fontsize=7, title='alpha: share of the tuned recogniser', title_fontsize=7)
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('tuned', help='the fine-tuned recogniser (alpha 1)')
    ap.add_argument('--start', nargs='+', default=['original'], help="NAME=FILE recognisers it may be interpolated from (alpha 0); 'original': the original")
    ap.add_argument('--alphas', type=float, nargs='+', default=[0, 0.25, 0.5, 0.625, 0.75, 0.875, 1])
    ap.add_argument('--sizes', type=int, nargs='+', default=[8, 12, 16])
    ap.add_argument('--bound', type=float, default=0.5, help='HR TAR@1e-3 may fall at most this many points below the original')
    ap.add_argument('--data', default='data/lfw-vlr')
    ap.add_argument('--save', type=Path, default=None, help='write every interpolated recogniser here')
    ap.add_argument('--out', default='wise-choice')
    a = ap.parse_args()
    mach, t0 = machine(), time.time()
    starts = {s.split('=', 1)[0]: s.split('=', 1)[1] for s in a.start if s != 'original'}
    orig = load_edgeface()
    models = {**({'original': orig} if 'original' in a.start else {}), **{k: load_edgeface(v) for k, v in starts.items()}}
    tuned = load_edgeface(a.tuned)
    rows, curve = [], None
    for name, start in models.items():   # the library's walk (`interpolation_curve`), one line per start
        curve = interpolation_curve(start, tuned, a.data, a.alphas, a.sizes, original=orig)
        rows += [dict(start=name, **r) for r in curve.to_dict('records')]
        print(f"from {name} ({time.time() - t0:.0f} s):\n" + curve[['alpha', 'hr_tar3', 'hr_change', *[f'mean_{s}' for s in a.sizes]]].to_string(index=False), flush=True)
        if a.save:
            a.save.mkdir(parents=True, exist_ok=True)
            for al in a.alphas: save_edgeface(interpolate_recognisers(start, tuned, al), a.save/f'{name}-a{al:g}.safetensors')
    conds, at = curve.attrs['conditions'], curve.attrs
    write_results(a.out, dict(rows=rows, tuned=a.tuned, starts={k: starts.get(k, 'the original recogniser') for k in models}, alphas=a.alphas,
                              sizes=a.sizes, conditions=conds, bound=a.bound, original_hr_tar3=at['original_hr_tar3'], faces=at['faces'],
                              subjects=at['subjects'], pairs=at['pairs'], all_pairs=at['all_pairs'], seconds=round(time.time() - t0, 1)), render, mach)
    plot(json.loads(results_path(a.out).with_suffix('.json').read_text()), results_path(a.out).with_suffix('.png'))


if __name__ == '__main__': main()
