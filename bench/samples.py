"""A picture row from a trained DSR: DevTest faces as VLR, bicubic, DSR and HR, for the docs.

Written to bench/results/dsr-samples/: `row.png` (clean 16 px faces and the same faces under the
`mixed` test degradation) and `row.json` (the run it shows, its training record, the PSNR of
each column on these faces, and the machine). The DSR and training notebooks show it.

    vlrface-train-dsr data/lfw-vlr --out runs/samples16 --preset cpu --size 16 --minutes 12
    python bench/samples.py --dsr runs/samples16/best.safetensors
"""
import argparse, json
from pathlib import Path

import torch

from vlrface.degrade import degrade, face_seed
from vlrface.dsr import load_dsr, upscale_faces
from vlrface.evaluate import psnr
from vlrface.faces import normalize, denormalize, load_face_set
from vlrface.runs import save_fig
from vlrface.train import _show_rows

from common import RESULTS, describe, machine, write_results   # bench/common.py


def render(rec)->str:
    "The page: which DSR, and the PSNR of bicubic and DSR on the faces of the picture"
    return (f"# A DSR's faces, beside bicubic and HR\n\nMeasured {describe(rec['machine'])}; `{rec['command']}`.\n\n"
            f"DSR `{rec['dsr']}` ({rec['size']} px) on {len(rec['faces'])} DevTest faces (`row.png`): PSNR bicubic / DSR "
            + '; '.join(f"{c} {r['psnr_bicubic']:.2f} / {r['psnr_dsr']:.2f} dB" for c, r in rec['psnr'].items()) + '\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dsr', type=Path, required=True, help='a DSR checkpoint (best.safetensors of a run)')
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'), help='the prepared LFW folder')
    ap.add_argument('--n', type=int, default=5, help='faces in the row: the first image of every n-th DevTest person')
    a = ap.parse_args()
    mach = machine()
    m = load_dsr(a.dsr).eval()
    size = m.cfg.in_size
    fs = load_face_set(a.data, split='test', sizes=[size], progress=False)
    first = {}
    for i, s in enumerate(fs.subjects): first.setdefault(s, i)
    idx = list(first.values())[::max(1, len(first) // a.n)][:a.n]   # people spread over the split, one face each
    hr, names = fs.hr[idx], [fs.names[i] for i in idx]
    rows, record = [], {}
    for cond, vlr in (('clean', fs.vlr[size][idx]), ('mixed', degrade(hr, size, 'mixed', [face_seed(n) for n in names]))):
        v = vlr.float() / 255
        bic = upscale_faces(v)
        with torch.no_grad(): sr = denormalize(m(normalize(v))).clamp(0, 1)
        h = hr.float() / 255
        record[cond] = {'psnr_bicubic': float(psnr(bic, h).mean()), 'psnr_dsr': float(psnr(sr, h).mean())}
        rows += [(f'VLR {size} {cond}', normalize(v)), ('bicubic', normalize(bic)), ('DSR', normalize(sr))]
    rows.append(('HR', normalize(hr.float() / 255)))
    out = RESULTS/'dsr-samples'; out.mkdir(parents=True, exist_ok=True)
    save_fig(_show_rows(rows, a.n), out/'row.png', dpi=72)   # small enough for a docs page
    run = a.dsr.parent
    rec = {k: json.loads((run/f).read_text()) for k, f in (('config', 'config.json'), ('finished', 'finished.json'), ('best', 'best.json')) if (run/f).exists()}
    if 'config' in rec: rec['config'] = dict(rec['config']['settings'], plan=rec['config'].get('plan'))   # not its inputs: they are this machine's paths
    write_results(str(out/'row'), dict(dsr=str(a.dsr), size=size, faces=names, psnr=record, run=rec), render, mach)


if __name__ == '__main__':
    main()
