"""Ship a trained DSR with vlrface: copy its weights into vlrface/pretrained/, record their sha256 in
vlrface/pretrained/registry.json (checked at every load), and write its model card from the run's own
files and its LFW View 1 DevTest results.

    python bench/pretrained.py 16 runs/quickstart/dsr16 --results bench/results/pretrained-devtest/results.json --system DSR-clean
    python bench/pretrained.py 16-realistic runs/realistic16 --results ... --system DSR-realistic
    python bench/pretrained.py 8-realistic runs/realistic8 --results bench/results/pretrained8-devtest/results.json --system DSR-realistic8

The DevTest results come from bench/robustness.py run on the shipped files themselves:

    python bench/robustness.py --split devtest --sizes 8 12 16 --dsr clean=pretrained:16 realistic=pretrained:16-realistic --out bench/results/pretrained-devtest
    python bench/robustness.py --split devtest --sizes 8 12 --dsr realistic8=pretrained:8-realistic --out bench/results/pretrained8-devtest

When those results are measured again, rewrite the DevTest tables of the shipped cards (their training lines stay):

    python bench/pretrained.py 16 --card-only --results bench/results/pretrained-devtest/results.json --system DSR-clean
"""
import argparse, json, os, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRETRAINED = ROOT/'vlrface'/'pretrained'

LICENCE = """## Licence and terms

- These weights were trained on LFW (Huang et al. 2007), a research data set of public figures' photographs,
  with an identity loss computed by the official EdgeFace-XXS weights (Idiap Research Institute), which are
  licensed **CC BY-NC-SA 4.0**. Treat these weights as derived from them: non-commercial use, attribution
  (EdgeFace: George, Ecabert, Otroshi Shahreza, Kotwal, Marcel, IEEE T-BIOM 2024; LFW), share-alike.
- The vlrface code is Apache-2.0; that licence does not extend to these weights.
- Face recognition identifies people: use it only where the law and the people concerned allow it."""


def _pct(x): return f"{100 * x:.1f}"


def card(name:str, run:Path|None, meta:dict, results:dict|None, system:str|None)->str:
    "The model card: what the file is and how it was trained (from the run folder, or kept from the shipped card when `run` is None), then its DevTest tables."
    head = header(name, run, meta) if run is not None else _shipped_header(meta)
    return '\n'.join(head + devtest(results, system) + ['', LICENCE]) + '\n'


def _shipped_header(meta:dict)->list:
    "The shipped card's lines above its DevTest section: the run folder that wrote them is gone, the facts stay."
    f = PRETRAINED/meta['card']
    if not f.exists(): raise SystemExit(f"{f} is missing: write the card from the run folder (give RUN)")
    head = f.read_text().split('\n## LFW View 1 DevTest')[0].split('\n## Licence')[0].rstrip('\n').split('\n')
    sha = next((l for l in head if l.startswith('| sha256 |')), '')
    if meta['sha256'] not in sha: raise SystemExit(f"{meta['card']} describes other weights than {meta['file']}; rewrite it from the run folder")
    return head


def header(name:str, run:Path, meta:dict)->list:
    "The card's opening: the architecture, the file, the training data, losses, recipe and best epoch, read from the run folder."
    cfg = json.loads((run/'config.json').read_text())
    fin = json.loads((run/'finished.json').read_text())
    best = json.loads((run/'best.json').read_text())
    s = cfg['settings']
    deg = 'clean area-downsampled faces (the prepared VLR faces)' if s['degrade'] in (None, 'none') else f"faces degraded on the fly by the `{s['degrade']}` mix (blur, four resampling kernels, noise, JPEG, sometimes a second round)"
    flags = f"--preset cpu --size {s['size']} --minutes {s['minutes']:g}" + ('' if s['degrade'] in (None, 'none') else f" --degrade {s['degrade']}")
    lines = [f"# vlrface DSR `pretrained:{name}`", '',
             f"A {meta['config']['channels']}-channel, {meta['config']['blocks']}-block DSR for {meta['config']['in_size']}x{meta['config']['in_size']} faces "
             f"({meta['params']:,} parameters), trained by vlrface's recipe on a 2-core CPU. Load it with `load_dsr('pretrained:{name}')` or "
             f"`vlrface identify --dsr pretrained:{name} ...`; faces of other sides (8-32 px) are resized to {meta['config']['in_size']} px first.", '',
             '| | |', '| --- | --- |',
             f"| file | `{meta['file']}` ({meta['bytes'] / 2**20:.2f} MB) |",
             f"| sha256 | `{meta['sha256']}` (checked at every load) |",
             f"| training faces | LFW View 1 DevTrain people, aligned 112x112 by `vlrface-prep`; {deg}; validation people held out |",
             f"| losses | pixel {s['pixel']:g}, identity (EdgeFace-XXS cosine) {s['identity']:g}, feature matching {s['fm']:g}, TV {s['tv']:g} |",
             f"| recipe | `vlrface-train-dsr data/lfw-vlr --out RUN {flags}` |",
             f"| training | {fin['epochs']} epochs in {fin['elapsed'] / 60:.0f} minutes ({fin['stopped_by']}), batch {s['bs']}, one-cycle lr {s['lr']:g}, seed {s['seed']} |",
             f"| best epoch | {best['epoch']}: validation identity cosine {best['score']:.3f}, PSNR {best['metrics']['valid_psnr_db']:.2f} dB |",
             f"| software | vlrface {cfg['versions']['vlrface']}, torch {cfg['versions']['torch']}, fastai {cfg['versions']['fastai']}, timm {cfg['versions']['timm']} |"]
    return lines


def devtest(results:dict|None, system:str|None)->list:
    "The card's LFW View 1 DevTest section, from bench/robustness.py's results on the shipped file."
    lines = []
    if results:
        rows = results['results']
        if not any(r['mode'] == system for r in rows):
            raise SystemExit(f"no system {system!r} in {results.get('_path')}; it has: {', '.join(sorted({r['mode'] for r in rows}))}")
        conds = [c for c in ('clean', 'blur', 'noise', 'jpeg', 'mixed', 'jpeg-low') if any(r.get('degradation') == c for r in rows)]
        sizes = sorted({r['size'] for r in rows if r['mode'] == system and r.get('size')})
        hr = next((r for r in rows if r['protocol'] == 'HR-HR'), None)
        if hr is None: raise SystemExit(f"{results.get('_path')} has no HR-HR row: run bench/robustness.py as the docstring says")
        lines += ['', '## LFW View 1 DevTest', '',
                  f"Verification accuracy % on the 1,000 DevTest pairs (people never seen in training), every VLR face made from its HR face by "
                  f"the named test condition, seeded by the image's name (`bench/robustness.py`; HR-HR with the same recogniser: {_pct(hr['accuracy'])} %). "
                  f"Recogniser: the original EdgeFace-XXS; bicubic: the same faces upscaled bicubically.", '']
        for proto in ('LR-LR', 'HR-LR'):
            lines += [f"{proto}:", '', '| system | size | ' + ' | '.join(conds) + ' |', '|' + ' --- |' * (len(conds) + 2)]
            for mode in ('bicubic', system):
                for sz in sizes:
                    get = lambda c: next((r['accuracy'] for r in rows if r['mode'] == mode and r['size'] == sz and r['degradation'] == c and r['protocol'] == proto), None)
                    lines.append(f"| {'this DSR' if mode == system else mode} | {sz} | " + ' | '.join('' if get(c) is None else _pct(get(c)) for c in conds) + ' |')
            lines.append('')
        m = results['settings'].get('machine') or {}
        prec = (results['settings'].get('precision') or {}).get('dsr')
        prec = f"the DSR in {prec}" if prec else 'the DSR in the machine\'s fast dtype (not recorded)'
        lines.append(f"Evaluated on {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {str(m.get('date', ''))[:10]}, {prec} (`{Path(results.get('_path', '')).as_posix()}`).")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('name', help="the name after 'pretrained:', e.g. 16 or 16-realistic")
    ap.add_argument('run', type=Path, nargs='?', default=None, help='the training run folder (its best.safetensors is shipped); with --card-only and no run, the card keeps its training lines and gets new DevTest tables')
    ap.add_argument('--results', type=Path, default=None, help="DevTest results.json of bench/robustness.py run on the shipped file")
    ap.add_argument('--system', default=None, help="this DSR's system name in those results, e.g. DSR-clean")
    ap.add_argument('--card-only', action='store_true', help='rewrite the model card only (the weights stay)')
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from vlrface.core import file_sha256
    from vlrface.dsr import read_dsr_config, dsr_cost
    from dataclasses import asdict
    PRETRAINED.mkdir(exist_ok=True)
    reg_file = PRETRAINED/'registry.json'
    reg = json.loads(reg_file.read_text()) if reg_file.exists() else {}
    f = PRETRAINED/f'dsr{a.name}.safetensors'
    if a.card_only and not a.results: ap.error('--card-only rewrites the DevTest tables: give --results (and --system)')
    if a.results and not a.system: ap.error('--results needs --system, the DSR\'s name in them (e.g. DSR-clean)')
    if not a.card_only:
        if a.run is None: ap.error('give the run folder whose best.safetensors to ship')
        shutil.copyfile(a.run/'best.safetensors', f); os.chmod(f, 0o644)
    if a.card_only and a.run is not None and file_sha256(a.run/'best.safetensors') != file_sha256(f):
        raise SystemExit(f"{a.run/'best.safetensors'} is not the shipped {f.name}: its card would describe other weights")
    cfg = read_dsr_config(f)
    meta = dict(file=f.name, sha256=file_sha256(f), bytes=f.stat().st_size, config=asdict(cfg),
                params=dsr_cost(cfg)['params'], card=f'dsr{a.name}.md')
    res = None
    if a.results:
        res = json.loads(a.results.read_text()); res['_path'] = str(a.results.resolve().relative_to(ROOT))
    (PRETRAINED/meta['card']).write_text(card(a.name, a.run, meta, res, a.system))
    reg[a.name] = {k: meta[k] for k in ('file', 'sha256', 'bytes', 'card')}
    reg_file.write_text(json.dumps(dict(sorted(reg.items())), indent=1) + '\n')
    print(f"pretrained:{a.name} -> {f.relative_to(ROOT)} ({meta['bytes']:,} bytes, sha256 {meta['sha256'][:16]}...), card {meta['card']}")


if __name__ == '__main__': main()
