"""Write README.md from the docs home (nbs/index.ipynb), or check that it is in step.

The docs home shows its figures with cells marked `#| exec_doc` and `#| echo: false`: they read
the results files under bench/results/, and nbdev runs them when it builds the docs, so the site
always shows what the results say. `nbdev-readme` would do the same for the README but needs
Quarto; this script runs those cells (in a fresh kernel started in nbs/, as the docs build does)
and joins the notebook's Markdown with the Markdown they print.

    python .ci/readme.py            # after an edit of nbs/index.ipynb or a new results file
    python .ci/readme.py --check    # exit 1 if README.md says something else than that
"""
import argparse, re, sys, os
from pathlib import Path

from fastcore.nbio import read_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parent.parent
HEADER = '<!-- Generated from nbs/index.ipynb by `python .ci/readme.py`; edit the notebook, then run that. -->'


def _directives(src):
    "The `#| name` directives at the top of a cell's source"
    return {m.group(1) for m in re.finditer(r'^#\|\s*([\w-]+)', src, re.M)}


def readme(path=ROOT/'nbs'/'index.ipynb'):
    "The README text: the notebook's Markdown cells, and the Markdown that its `exec_doc` cells display, in order"
    nb, sh, cwd, parts = read_nb(path), CaptureShell(), os.getcwd(), []
    os.chdir(path.parent)
    try:
        for cell in nb.cells:
            if cell.cell_type == 'markdown': parts.append(cell.source); continue
            if 'exec_doc' not in _directives(cell.source): continue
            sh.cell(cell)
            if sh.exc: raise RuntimeError(f'{path.name}, cell {cell.idx_}: {sh.exc!r}')
            parts += [''.join(o['data']['text/markdown']) for o in cell.outputs if 'text/markdown' in o.get('data', {})]
    finally: os.chdir(cwd)
    text = '\n\n'.join(p.strip() for p in parts if p.strip()).replace('](../', '](')   # links relative to the repository root
    title, _, rest = text.partition('\n\n')
    return f"{title}\n\n{HEADER}\n\n{re.sub(r'^> ', '', rest)}\n"           # the summary line as a paragraph


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--check', action='store_true', help='write nothing; exit 1 if README.md differs from the docs home')
    a = ap.parse_args()
    new, f = readme(), ROOT/'README.md'
    if a.check:
        if f.read_text() == new: return 0
        print('README.md is not the docs home (nbs/index.ipynb) as the results render it now: run `python .ci/readme.py` and commit',
              file=sys.stderr)
        return 1
    f.write_text(new)
    return 0


if __name__ == '__main__':
    sys.exit(main())
