"""How to make the int8 models, chosen on validation people: each way of quantising the DSR and the recogniser,
measured by how far its embeddings move from the float model's and by verification accuracy.

    python bench/int8_choice.py [--data data/lfw-vlr] [--dsr pretrained:16]

The DSR is exported once in float; each int8 variant is calibrated on 256 DevTrain faces and judged on the
validation people's faces (pairs drawn among them, `make_pairs`) made 16 px cleanly and by the `mixed` test
condition. Cosine: the mean cosine between an int8 pipeline's embedding of a face and the float pipeline's.
"""
import argparse, contextlib, io, tempfile, warnings
from pathlib import Path

import numpy as np
from common import machine, write_results, describe

warnings.filterwarnings('ignore')


def render(r:dict)->str:
    lines = ['# int8: the variants, on validation people', '', describe(r['machine']), '',
             f"{r['faces']} validation faces, {r['pairs']} pairs; 16 px faces through the DSR; calibration: {r['calibration']}.", '',
             '| DSR | recogniser | condition | cosine to float | LR-LR % | HR-LR % |', '| --- | --- | --- | --- | --- | --- |']
    lines += [f"| {x['dsr']} | {x['recognizer']} | {x['condition']} | {x['cosine']:.4f} | {x['lr_lr'] * 100:.2f} | {x['hr_lr'] * 100:.2f} |" for x in r['rows']]
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'))
    ap.add_argument('--dsr', default='pretrained:16')
    ap.add_argument('--out', default='int8-choice')
    a = ap.parse_args()
    mach = machine()
    import torch
    from vlrface.degrade import degrade, face_seed
    from vlrface.dsr import load_dsr
    from vlrface.edgeface import load_edgeface
    from vlrface.evaluate import verification_report
    from vlrface.export import export_bundle, calibration_faces, dsr_inputs, recognizer_inputs, quantize_dsr, quantize_edgeface
    from vlrface.faces import load_face_set, normalize
    from vlrface.finetune import make_pairs
    from vlrface.core import onnx_run as _run, onnx_session

    d = Path(tempfile.mkdtemp())
    export_bundle(d, load_edgeface(), [load_dsr(a.dsr)], int8=False, progress=False)
    hr = calibration_faces(a.data, 256)
    def static(name, **kw):
        return quantize_dsr(d/'dsr16.onnx', d/f'{name}.onnx', dsr_inputs(hr, 16), **kw)
    dsrs = {'float': d/'dsr16.onnx',
            'static, min-max': static('mm', method='MinMax'),
            'static, 99.999th percentile': static('pct', method='Percentile'),
            'static, convolutions only, min-max': static('conv', method='MinMax', op_types_to_quantize=['Conv'])}
    info = {}
    with contextlib.redirect_stdout(io.StringIO()):
        quantize_edgeface(d/'edgeface.onnx', d/'r_all.onnx', normalize(hr).numpy(), target=1.1, keep_max=0, progress=False)
        info['hr'] = quantize_edgeface(d/'edgeface.onnx', d/'r_hr.onnx', normalize(hr).numpy(), target=0.995, keep_max=8, progress=False)
        info['mix'] = quantize_edgeface(d/'edgeface.onnx', d/'r_mix.onnx', recognizer_inputs(hr), target=0.998, keep_max=12, progress=False)
    recs = {'float': d/'edgeface.onnx', 'dynamic, every weight product': d/'r_all.onnx',
            f"dynamic, {len(info['hr']['kept_float'])} kept float (HR calibration, 0.995)": d/'r_hr.onnx',
            f"dynamic, {len(info['mix']['kept_float'])} kept float (HR + upscaled realistic calibration, 0.998)": d/'r_mix.onnx'}

    fs = load_face_set(a.data, split='val', sizes=[], progress=False)
    pairs = make_pairs(fs.names, fs.subjects); ia, ib, same = fs.idx(pairs.a), fs.idx(pairs.b), pairs.same.values
    seeds = [face_seed(n) for n in fs.names]
    X = {g: normalize(degrade(fs.hr, 16, g, seeds=seeds)).numpy() for g in ('clean', 'mixed')}
    H = normalize(fs.hr).numpy()
    sess = lambda f: onnx_session(f, threads=2)
    def run(s, x): return np.concatenate([_run(s, x[i:i + 64]) for i in range(0, len(x), 64)])
    def unit(e): return e / np.linalg.norm(e, axis=1, keepdims=True)
    rows, ref = [], {}
    combos = [('float', 'float')] + [(k, 'float') for k in list(dsrs)[1:]] + [('float', k) for k in list(recs)[1:]]
    for g in ('clean', 'mixed'):
        for dn, rn in combos:
            sr = run(sess(dsrs[dn]), X[g]); sr = (np.clip(sr * 0.5 + 0.5, 0, 1) - 0.5) / 0.5
            rs = sess(recs[rn]); E, Hh = unit(run(rs, sr)), unit(run(rs, H))
            if (dn, rn) == ('float', 'float'): ref[g] = E
            rows.append(dict(dsr=dn, recognizer=rn, condition=g, cosine=float((E * ref[g]).sum(1).mean()),
                             lr_lr=verification_report((E[ia] * E[ib]).sum(1), same)['accuracy'], hr_lr=verification_report((Hh[ia] * E[ib]).sum(1), same)['accuracy']))
            print(rows[-1], flush=True)
    write_results(a.out, dict(rows=rows, faces=len(fs), pairs=len(pairs), dsr=a.dsr, calibration=f'{len(hr)} DevTrain faces',
                              recognizer_int8={k: dict(kept_float=v['kept_float'], cosine=v['cosine']) for k, v in info.items()}), render, mach)


if __name__ == '__main__': main()
