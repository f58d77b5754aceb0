"""When the DSR helps, and by how much: one degradation at a time, from mild to beyond anything training drew, on LFW
View 1 DevTest: bench/results/severity.{json,md,png}.

    python bench/severity.py --finetuned runs/recipe-cpu/ft-realistic/best.safetensors

The robustness table (bench/robustness.py) names a handful of test conditions, most of them mixes. Here each
degradation is swept on its own at 16 px (every other step as prepared faces are made: area downsampling):
- JPEG quality 10-90, one quality for every face (training drew 30-95);
- Gaussian blur, isotropic, sigma 0.5-2.0 pixels of the small face (training drew 0.2-1.2);
- Gaussian noise, std 2-16 grey levels (training drew 1-10);
and clean faces at 8, 10, 12, 14, 16, 20, 24, 28 and 32 px. The systems: bicubic and the shipped DSRs into the original
EdgeFace-XXS (the clean 16 px DSR, from before degradations were modelled, and the shipped bands that `Pipeline`
routes by size), and bicubic and the bands into a recogniser fine-tuned for real captures (--finetuned). Every face
is made from its HR face, seeded by the image's name (as bench/robustness.py); DSRs run in fp32. Nothing is chosen
here: it is a report of the systems as they are, on the 1,000 DevTest pairs.
"""
import argparse, time, warnings
from pathlib import Path

import pandas as pd

from common import machine, describe, write_results, results_path
from vlrface.core import get_path, md_table
from vlrface.degrade import DEGRADATIONS, DegradationModel
from vlrface.dsr import BANDS, PRETRAINED_BANDS, load_bands, load_dsr
from vlrface.edgeface import load_edgeface
from vlrface.evaluate import evaluate, read_pairs, robustness_modes
from vlrface.faces import load_face_set

warnings.filterwarnings('ignore')

SIZE = 16   # the side of the degradation sweeps
# sweep -> (the setting's name, its values, the model of one value, the training mix's range of it)
SWEEPS = {
    'jpeg': ('JPEG quality', (10, 20, 30, 40, 50, 60, 70, 80, 90), lambda v: DegradationModel(jpeg=1., quality=(v, v)), DEGRADATIONS['realistic'].quality),
    'blur': ('Gaussian blur sigma (px of the small face)', (0.5, 1.0, 1.5, 2.0), lambda v: DegradationModel(blur=1., sigma=(v, v), aniso=0.), DEGRADATIONS['realistic'].sigma),
    'noise': ('Gaussian noise std (grey levels)', (2, 4, 8, 12, 16), lambda v: DegradationModel(noise=1., noise_std=(v, v), poisson=0.), DEGRADATIONS['realistic'].noise_std),
}
SIZES = (8, 10, 12, 14, 16, 20, 24, 28, 32)   # clean faces at these sides


def condition(sweep:str, v)->str:
    "The registered name of one setting of a sweep: 'jpeg-q40', 'blur-1.5', 'noise-8'"
    return f"{sweep}-q{v}" if sweep == 'jpeg' else f"{sweep}-{v:g}"


def register()->list:
    "Every sweep's settings as presets of DEGRADATIONS (this process only), named by `condition`"
    names = []
    for sweep, (_, values, model, _) in SWEEPS.items():
        for v in values: DEGRADATIONS[condition(sweep, v)] = model(v); names.append(condition(sweep, v))
    return names


def curves(rec, protocol:str='LR-LR', metric:str='accuracy')->dict:
    "{sweep: DataFrame (setting values x systems)} of one protocol's `metric`, from a record; sweep 'size': clean faces by side"
    t = pd.DataFrame(rec['rows']); t = t[t.protocol == protocol]
    out = {'size': t[t.degradation == 'clean'].pivot(index='size', columns='mode', values=metric)[rec['systems']]}
    at = t[t['size'] == rec['size']].pivot(index='degradation', columns='mode', values=metric)[rec['systems']]
    for sweep, s in rec['sweeps'].items():
        out[sweep] = at.loc[[condition(sweep, v) for v in s['values']]].set_axis(pd.Index(s['values'], name=s['label']))
        if sweep != 'jpeg': out[sweep] = pd.concat([out['size'].loc[[rec['size']]].set_axis([0]), out[sweep]]).rename_axis(s['label'])   # no blur, no noise: the clean face
    return out


def render(rec)->str:
    lines = [f"# When the DSR helps: one degradation at a time (`bench/severity.py`)", '',
             f"Run {describe(rec['machine'])}; {rec['seconds']:.0f} s. LFW View 1 DevTest: {rec['devtest']['pairs']:,} pairs of "
             f"{rec['devtest']['faces']:,} faces (one pair is {100 / rec['devtest']['pairs']:.1f} points). Each degradation alone at {rec['size']} px "
             f"(blur or noise 0: the clean faces); clean faces at {', '.join(map(str, rec['sizes']))} px. Training drew JPEG quality "
             f"{rec['sweeps']['jpeg']['trained'][0]}-{rec['sweeps']['jpeg']['trained'][1]}, blur sigma {rec['sweeps']['blur']['trained'][0]:g}-"
             f"{rec['sweeps']['blur']['trained'][1]:g}, noise std {rec['sweeps']['noise']['trained'][0]:g}-{rec['sweeps']['noise']['trained'][1]:g}.", '',
             "Systems: " + '; '.join(f"`{k}`: {v}" for k, v in rec['system_notes'].items()) + '.', '',
             f"HR-HR accuracy: " + '; '.join(f"{k} {100 * v:.1f} %" for k, v in rec['hr'].items()) + '.']
    for proto in ('LR-LR', 'HR-LR'):
        for sweep, t in curves(rec, proto).items():
            what = 'clean faces by side (px)' if sweep == 'size' else f"{rec['sweeps'][sweep]['label']} at {rec['size']} px"
            lines += ['', f"{proto} accuracy %, {what}:", '',
                      md_table((100 * t).round(1).rename_axis(sweep))]
    return '\n'.join(lines) + '\n'


def plot(rec, path):
    "Accuracy against each setting (columns) for each protocol (rows), the training mix's range shaded"
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sweeps = ['size', *rec['sweeps']]
    fig, axs = plt.subplots(2, len(sweeps), figsize=(3.3 * len(sweeps), 6.2), sharey='row')
    for i, proto in enumerate(('LR-LR', 'HR-LR')):
        cs = curves(rec, proto)
        for j, sweep in enumerate(sweeps):
            ax, t = axs[i, j], 100 * cs[sweep]
            for sy in rec['systems']:
                ax.plot(t.index, t[sy], marker='o', ms=3, lw=1.4, ls='--' if 'FT' not in sy else '-', label=sy)
            if sweep != 'size':
                lo, hi = rec['sweeps'][sweep]['trained']
                ax.axvspan(lo, hi, color='0.9', zorder=0, label='training range' if j == 1 else None)
            ax.set_xlabel('face side (px), clean' if sweep == 'size' else rec['sweeps'][sweep]['label'], fontsize=8)
            if j == 0: ax.set_ylabel(f'{proto} accuracy %')
            ax.grid(alpha=.3); ax.tick_params(labelsize=7)
            if sweep == 'jpeg': ax.invert_xaxis()   # left to right: from clean to worse, as in the other sweeps
    handles, labels = axs[0, 1].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(f"LFW View 1 DevTest: each degradation alone at {rec['size']} px, and clean faces by side", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110); plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--finetuned', type=Path, required=True, help='a recogniser fine-tuned for real captures, e.g. the recipe\'s runs/recipe-cpu/ft-realistic/best.safetensors')
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--out', default='severity')
    ap.add_argument('--limit', type=int, default=0, help='only the first N DevTest pairs: a quick look at the output (the report takes all)')
    ap.add_argument('--replot', action='store_true', help='redraw the figure (and page) from the results JSON, measuring nothing')
    a = ap.parse_args()
    out = results_path(a.out)
    if a.replot:
        import json
        rec = json.loads(out.with_suffix('.json').read_text())
        plot(rec, out.with_suffix('.png')); print(f"{out.with_suffix('.png')} redrawn"); return
    mach, t0 = machine(), time.time()
    names = register()
    orig, ft = load_edgeface(), load_edgeface(a.finetuned)
    bands, clean16 = load_bands(BANDS), load_dsr('pretrained:16')
    systems = {'bicubic': (None, orig), 'DSR-16 clean': (clean16, orig), 'DSR bands': (bands, orig),
               'bicubic+FT': (None, ft), 'DSR bands+FT': (bands, ft)}
    notes = {'bicubic': 'bicubic upscaling into the original EdgeFace-XXS',
             'DSR-16 clean': 'the shipped clean 16 px DSR (`pretrained:16`, trained on area-downsampled faces only) into the original',
             'DSR bands': 'the shipped DSRs as `Pipeline` routes them by size (' + ', '.join(f"up to {k} px: {v or 'bicubic'}" for k, v in PRETRAINED_BANDS.items()) + ') into the original',
             'bicubic+FT': f'bicubic into the fine-tuned recogniser `{a.finetuned}`', 'DSR bands+FT': 'the bands into the fine-tuned recogniser'}
    pairs = read_pairs(get_path('lfw')/'pairsDevTest.txt')
    if a.limit: pairs = pd.concat([pairs[pairs.same].head(a.limit // 2), pairs[~pairs.same].head(a.limit - a.limit // 2)])
    fs = load_face_set(a.data, names=sorted(set(pairs.a) | set(pairs.b)), sizes=[], progress=False)
    modes = robustness_modes(systems, [SIZE], ['clean', *names])
    modes += [m for m in robustness_modes(systems, [s for s in SIZES if s != SIZE], ['clean']) if m.size]
    for m in modes:
        if m.size is None: m.name = 'HR' if m.recognizer is orig else 'HR FT'
    ev = evaluate(fs, modes, pairs, identify=None, n_show=0, progress=True, precision='fp32')
    keep = ['mode', 'size', 'degradation', 'protocol', 'accuracy', 'auc', 'tar@far=0.01', 'psnr', 'cos_hr']
    rows = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in ev.table.reindex(columns=keep).to_dict('records')]
    hr = {r['mode']: r['accuracy'] for r in rows if r['protocol'] == 'HR-HR'}
    rec = write_results(out, dict(size=SIZE, sizes=list(SIZES), systems=list(systems), system_notes=notes, finetuned=str(a.finetuned),
                                  sweeps={k: dict(label=lab, values=list(vals), trained=list(tr)) for k, (lab, vals, _, tr) in SWEEPS.items()},
                                  degradations={n: DEGRADATIONS[n].to_dict() for n in names}, precision='fp32', hr=hr, rows=rows,
                                  devtest=dict(faces=len(fs), pairs=len(pairs)), seconds=round(time.time() - t0, 1)), render, mach)
    plot(rec, out.with_suffix('.png'))


if __name__ == '__main__': main()
