"""The robustness table: systems x sizes x test-time degradations, on the validation people (to choose) or LFW View 1 DevTest (to report).

    python bench/robustness.py --split val --dsr clean=runs/quickstart/dsr16/best.safetensors realistic=runs/realistic16/best.safetensors
    python bench/robustness.py --split devtest --dsr ... [--finetuned ft=runs/ft/best.safetensors] [--sizes 8 12 16 24 32] [--dsr-sizes 8 12 16] [--flip] [--match]

Validation: pairs drawn among the validation people's faces (`make_pairs`, at most 20 genuine
pairs per person and as many impostors), identification among them. DevTest: the 1,000 pairs of
pairsDevTest.txt, identification among the faces of those pairs. Every VLR face is made from its
HR face by the named degradation, seeded by the image's name (`face_seed`). Writes
bench/results/robustness-SPLIT/ (results.json with every number, robustness.md, faces.png) and
prints the LR-LR and HR-LR accuracy tables.
"""
import argparse, time, warnings
from pathlib import Path

from common import machine, command, named, trained
from vlrface.core import get_path
from vlrface.degrade import TEST_DEGRADATIONS
from vlrface.dsr import load_dsr
from vlrface.edgeface import load_edgeface
from vlrface.evaluate import REPORT_SIZES, evaluate, read_pairs, robustness_modes
from vlrface.faces import load_face_set
from vlrface.finetune import make_pairs
from vlrface.runs import save_fig

warnings.filterwarnings('ignore')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--split', choices=('val', 'devtest'), default='val')
    ap.add_argument('--dsr', nargs='*', default=[], help='NAME=FILE DSRs: each is a system DSR-NAME in front of the original recogniser (and of --finetuned ones)')
    ap.add_argument('--finetuned', nargs='*', default=[], help='NAME=FILE fine-tuned recognisers, with bicubic (and each DSR) in front')
    ap.add_argument('--sizes', type=int, nargs='+', default=list(REPORT_SIZES))
    ap.add_argument('--dsr-sizes', type=int, nargs='+', default=None, help='sizes for the systems with a DSR (default: --sizes); a DSR takes faces resized to its own input side')
    ap.add_argument('--degrade', nargs='+', default=list(TEST_DEGRADATIONS))
    ap.add_argument('--finetuned-only', action='store_true', help='only the systems with a fine-tuned recogniser (to add them to an earlier run of the others)')
    ap.add_argument('--flip', action='store_true', help='test-time flip: every face embedded with its mirror image')
    ap.add_argument('--match', action='store_true', help="also HR-LR against galleries matched to the probes' size (protocol HRm-LR)")
    ap.add_argument('--precision', choices=('fp32', 'auto'), default='fp32', help="the DSRs': fp32, the same numbers on every machine; auto: bf16 where native")
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    mach = machine()
    t0 = time.time()
    if a.split == 'val':
        fs = load_face_set(a.data, split='val', sizes=[], progress=False)
        pairs, ident = make_pairs(fs.names, fs.subjects), 'val'
    else:
        pairs = read_pairs(get_path('lfw')/'pairsDevTest.txt')
        fs = load_face_set(a.data, names=sorted(set(pairs.a) | set(pairs.b)), sizes=[], progress=False)
        ident = 'test'
    rec = load_edgeface()
    fts = {k: load_edgeface(p) for k, p in named(a.finetuned).items()}
    dsrs = {k: load_dsr(p) for k, p in named(a.dsr).items()}
    orig = {} if a.finetuned_only else {'bicubic': (None, rec)}
    systems = {**orig, **{f'bicubic+FT-{k}': (None, f) for k, f in fts.items()}}
    for k, d in dsrs.items():
        if not a.finetuned_only: systems[f'DSR-{k}'] = (d, rec)
        systems.update({f'DSR-{k}+FT-{j}': (d, f) for j, f in fts.items()})
    modes = robustness_modes({k: v for k, v in systems.items() if v[0] is None}, a.sizes, a.degrade)
    if dsrs: modes += [m for m in robustness_modes({k: v for k, v in systems.items() if v[0] is not None}, a.dsr_sizes or a.sizes, a.degrade) if m.size]
    for m in modes:   # each recogniser's HR row named after it
        if m.size is None: m.name = 'HR' if m.recognizer is rec else 'HR ' + next(f'FT-{k}' for k, f in fts.items() if f is m.recognizer)
    ev = evaluate(fs, modes, pairs, identify=ident, n_show=4, progress=False, flip=a.flip, match=a.match, precision=a.precision)
    # what each model from a run folder cost to train (its epochs and their logged minutes), for the docs to say
    cost = {f'{kind}-{k}': trained(Path(p).parent) for kind, given in (('DSR', a.dsr), ('FT', a.finetuned)) for k, p in named(given).items() if Path(p).is_file()}   # (not 'pretrained:NAME')
    ev.settings.update(split=a.split, dsr={k: str(p) for k, p in named(a.dsr).items()}, finetuned={k: str(p) for k, p in named(a.finetuned).items()},
                       trained={k: v for k, v in cost.items() if v}, machine=mach, command=command(), wall_s=round(time.time() - t0, 1))   # results.json holds the machine and command
    out = ev.save(a.out or Path('bench/results')/f'robustness-{a.split}')
    if not a.finetuned_only: save_fig(ev.show_grid(0, systems=['bicubic', *[f'DSR-{k}' for k in dsrs]]), out/'faces.png')   # every DSR's faces, next to bicubic
    for proto in ('LR-LR', 'HR-LR') + (('HRm-LR',) if a.match else ()): print(f"\naccuracy % {proto}\n{ev.robustness('accuracy', proto).to_string()}")
    print(f"\nHR-HR: {ev.table[ev.table.protocol == 'HR-HR'][['mode', 'accuracy']].to_string(index=False)}")
    print(f"\n{len(fs):,} faces, {len(pairs):,} pairs, {time.time() - t0:.0f} s; written to {out}")


if __name__ == '__main__': main()
