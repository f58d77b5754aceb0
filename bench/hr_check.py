"""How much each fine-tuned recogniser keeps of the original's accuracy on HR faces, judged on the validation people
with every pair of their faces, written to bench/results/hr-val.{json,md}.

    python bench/hr_check.py NAME=runs/RUN/best.safetensors ... [--out hr-val]

The validation pairs of the robustness table (at most 20 genuine pairs a person and as many impostors, 608 in
LFW's validation split) leave HR accuracy near 99.5 % for every recogniser, where one pair is 0.16 points: too
coarse to show a drop of half a point. Every pair of the validation faces (about 90,000, a few thousand of them
genuine) gives TAR at FAR 1e-3 and 1e-2, the EER, and the d' between genuine and impostor cosines; and each
recogniser's drift: 1 - the mean cosine between its embedding of an HR face and the original's.
"""
import argparse, time, warnings

import pandas as pd

from common import machine, describe, write_results
from vlrface.core import md_table
from vlrface.edgeface import load_edgeface, embed
from vlrface.evaluate import dprime, eer, every_pair, tar_at_far
from vlrface.faces import load_face_set

warnings.filterwarnings('ignore')


def render(rec)->str:
    t = pd.DataFrame(rec['rows']).set_index('recogniser')
    return (f"# HR faces, every validation pair (`bench/hr_check.py`)\n\nRun {describe(rec['machine'])}; {rec['faces']} validation faces of "
            f"{rec['subjects']} people, {rec['pairs']:,} pairs ({rec['genuine']:,} genuine); {rec['seconds']:.0f} s.\n\n"
            f"{md_table(t)}\n\nTAR and EER in %; drift: 1 - mean cosine to the original recogniser's embedding of the same HR face.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('recognisers', nargs='+', help='NAME=FILE fine-tuned recognisers (the original is always first)')
    ap.add_argument('--data', default='data/lfw-vlr')
    ap.add_argument('--out', default='hr-val')
    a = ap.parse_args()
    mach, t0 = machine(), time.time()
    fs = load_face_set(a.data, split='val', sizes=[], progress=False)
    recs = {'original': load_edgeface(), **{s.split('=', 1)[0]: load_edgeface(s.split('=', 1)[1]) for s in a.recognisers}}
    ref, rows = None, []
    for name, r in recs.items():
        e = embed(r, fs.hr)
        ref = e if ref is None else ref
        s, same = every_pair(e, fs.subjects)
        tar = tar_at_far(s, same, (1e-3, 1e-2))
        rows.append({'recogniser': name, 'TAR@1e-3': round(100 * tar[1e-3], 2), 'TAR@1e-2': round(100 * tar[1e-2], 2),
                     'EER': round(100 * eer(s, same), 2), "d'": round(dprime(s, same), 3), 'drift': round(1 - float((e * ref).sum(1).mean()), 4)})
        print(rows[-1], flush=True)
    write_results(a.out, dict(rows=rows, faces=len(fs), subjects=len(set(fs.subjects)), pairs=len(same), genuine=int(same.sum()),
                              recognisers={k: v for k, v in (s.split('=', 1) for s in a.recognisers)}, seconds=round(time.time() - t0, 1)), render, mach)


if __name__ == '__main__': main()
