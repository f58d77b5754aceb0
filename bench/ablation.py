"""Which loss terms matter: short DSR trainings with some terms switched off, written to bench/results/ablation.{json,md}.

Four runs of the CPU preset at 16x16 on the LFW View 1 DevTrain people, each with the same
time budget and seed: pixel only; pixel + identity; pixel + identity + feature matching; all
terms (pixel, identity, feature matching, total variation; the perceptual term needs VGG-16
weights, which this machine does not have). Each best checkpoint (by validation identity
cosine) is evaluated on View 1 DevTest with `vlrface.evaluate`, next to bicubic.

    vlrface-prep lfw --out data/lfw-vlr --sizes 16 24 32     # once
    python bench/ablation.py --minutes 4
"""
import argparse, json, time
from dataclasses import replace
from pathlib import Path

from common import machine, describe, write_results
from vlrface.core import get_path
from vlrface.dsr import load_dsr
from vlrface.edgeface import load_edgeface
from vlrface.faces import load_face_set
from vlrface.evaluate import read_pairs, evaluate, Mode
from vlrface.train import PRESETS, train_dsr

RUNS = {'pixel only': dict(identity=0., fm=0., tv=0.),
        '+ identity': dict(fm=0., tv=0.),
        '+ feature matching': dict(tv=0.),
        'all terms': dict()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--out', type=Path, default=Path('runs/ablation'))
    ap.add_argument('--minutes', type=float, default=4.)
    a = ap.parse_args()
    m = machine()
    pairs = read_pairs(get_path('lfw')/'pairsDevTest.txt')
    faces = load_face_set(a.data, names=set(pairs.a) | set(pairs.b), split='test', sizes=[16], progress=False)
    rec = load_edgeface()
    modes, info = [Mode('bicubic', rec, 16)], {}
    for name, w in RUNS.items():
        run = a.out/name.replace(' ', '_').replace('+', 'plus')
        cfg = replace(PRESETS['cpu'], size=16, minutes=a.minutes, perceptual=0., **w)   # 16 px: the preset's side is now the data's largest
        t = time.time()
        if not (run/'best.safetensors').exists(): train_dsr(a.data, run, cfg, progress=False, quiet=True)
        fin = json.loads((run/'finished.json').read_text())   # the run's own record of its epochs (its time budget sets how many)
        info[name] = dict(seconds=round(time.time() - t), epochs=fin['epochs'], planned=fin['planned'])
        modes.append(Mode(name, rec, 16, load_dsr(run/'best.safetensors')))
        print(name, info[name], flush=True)
    ev = evaluate(faces, modes, pairs, identify='test', progress=False)
    ev.save(a.out/'eval')
    cols = ['mode', 'protocol', 'acc %', '± %', 'TAR@1e-2 %', 'EER %', 'rank-1 %', 'PSNR', 'SSIM', 'cos HR']
    write_results('ablation', dict(minutes=a.minutes, runs=info, columns=cols, summary=ev.summary()[cols].to_dict('records')), render, m)


def render(r):
    "ablation.md from the record in ablation.json"
    cols = r['columns']
    md = [f"# Loss ablation: DSR at 16x16, CPU preset, {r['minutes']:g} minutes each", "",
          f"Measured {describe(r['machine'])}, by `{r['command']}`. Each run: the CPU preset "
          "(64 channels, 8 blocks, batch 32, one-cycle at 3e-3, seed 0) trained on the View 1 DevTrain people for the same time budget; "
          "its best checkpoint (validation identity cosine) evaluated on View 1 DevTest (1,000 pairs; identification on the 3,708 test "
          "images). The perceptual term is off in every run (no VGG-16 weights on this machine). Numbers: the JSON next to this page.", "",
          "| run | epochs run / allowed | seconds |", "|---|---|---|"] + [f"| {k} | {v['epochs']} / {v['planned']} | {v['seconds']} |" for k, v in r['runs'].items()] + ["",
          '| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)] + ['| ' + ' | '.join(str(x[c]) for c in cols) + ' |' for x in r['summary']]
    return '\n'.join(md) + '\n'


if __name__ == '__main__':
    main()
