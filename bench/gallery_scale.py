"""Galleries of a million: exact search against the PQ index of `vlrface.pipeline.Gallery`, and an IVF index for comparison (issue 17).

The gallery: one HR face of each LFW person (its first photo), embedded by the official EdgeFace-XXS, and
synthetic identities up to `--n`: each a draw from a Gaussian with the mean and covariance of those real
embeddings, L2-normalised (one embedding per identity). The probes: another photo of each LFW person with two
or more, as its 16 px face upscaled bicubically (a VLR camera's view), so each probe has one mated entry.

Measured, with torch and FAISS on `--threads` threads: build time (training and encoding, then FAISS's index
from the arrays), memory (the index, the embeddings, the process), save and load; then exact search and the
PQ index at each `--rerank`: recall@1 (the share of probes whose top-1 subject is exact search's), mated rank-1,
single-query latency p50/p99 (`Gallery.search`, one probe per call, subjects aggregated) and batched
throughput; the same for FAISS's IVF-Flat (`--nlist` lists trained on a 65,536-row sample) at each `--nprobe`,
searched through the same subject aggregation. A smaller sweep (`--sizes`, prefixes of the same gallery) shows
where exact search gets slow and compares torch's matmul with FAISS's `IndexFlatIP` for it. Real embeddings
are cached in `--cache`.

    python bench/gallery_scale.py --n 100000      # a quick look
    python bench/gallery_scale.py                 # a million (about 15 minutes on 2 cores)
"""
import argparse, gc, os, statistics, sys, time, warnings
from pathlib import Path

import numpy as np, pandas as pd, torch, torch.nn.functional as F
from safetensors.torch import load_file, save_file

from common import machine, describe, write_results
from vlrface.core import md_table
from vlrface.dsr import upscale_faces
from vlrface.edgeface import load_edgeface, embed
from vlrface.faces import load_faces
from vlrface.pipeline import Gallery, EXACT_MAX, RERANK, top_subjects
from vlrface.quality import model_fingerprint

warnings.filterwarnings('ignore')
ROOT = Path(__file__).resolve().parent.parent


def rss()->dict:
    "This process's resident memory now and at its peak, MB (Linux)"
    st = dict(l.split(':', 1) for l in Path('/proc/self/status').read_text().splitlines() if ':' in l)
    return {k: int(st[v].split()[0]) / 1024 for k, v in (('rss_mb', 'VmRSS'), ('peak_rss_mb', 'VmHWM'))}


def lfw_split(data:Path)->tuple[pd.DataFrame, pd.DataFrame]:
    "The gallery (each person's first photo) and the probes (the second photo of each person with two or more)"
    m = pd.read_csv(data/'manifest.csv').sort_values(['subject', 'src'], kind='stable')
    first = m.groupby('subject').head(1)
    return first, m.drop(first.index).groupby('subject').head(1)


def embed_files(rec, files, vlr:bool, bs:int=256)->torch.Tensor:
    "Embeddings of face files: HR as they are, or VLR upscaled bicubically"
    out = []
    for i in range(0, len(files), bs):
        x = load_faces(files[i:i + bs])
        out.append(embed(rec, upscale_faces(x) if vlr else x, bs=bs))
    return torch.cat(out)


def real_embeddings(data:Path, edgeface, cache:Path)->dict:
    "Gallery and probe embeddings of LFW, with their subjects; computed once, then read from `cache`"
    gal, prb = lfw_split(data)
    rec = load_edgeface(edgeface)
    f = cache/f'lfw-{model_fingerprint(rec)}.safetensors'
    if f.exists():
        t = load_file(str(f))
        if len(t['gallery']) == len(gal) and len(t['probes']) == len(prb): return dict(t, gal=gal, prb=prb, rec=rec)
    t0 = time.time()
    t = dict(gallery=embed_files(rec, [data/p for p in gal.hr], vlr=False), probes=embed_files(rec, [data/p for p in prb.vlr16], vlr=True))
    print(f"embedded {len(gal)} gallery and {len(prb)} probe faces in {time.time() - t0:.0f} s")
    cache.mkdir(parents=True, exist_ok=True); save_file(t, str(f))
    return dict(t, gal=gal, prb=prb, rec=rec)


def synthetic(real:torch.Tensor, n:int, seed:int, chunk:int=100_000)->torch.Tensor:
    "`n` unit vectors: Gaussian draws with the mean and covariance of `real`, L2-normalised"
    mu, cov = real.double().mean(0), torch.cov(real.double().T)
    L = torch.linalg.cholesky(cov + 1e-6 * torch.eye(len(cov), dtype=torch.float64)).float()
    g, out = torch.Generator().manual_seed(seed), torch.empty(n, real.shape[1])
    for i in range(0, n, chunk):
        z = torch.randn(min(chunk, n - i), real.shape[1], generator=g)
        out[i:i + len(z)] = F.normalize(z @ L.T + mu.float(), dim=1)
    return out


def latency(fn, probes:torch.Tensor, n:int)->dict:
    "p50/p99 ms of `fn` on one probe at a time, over the first `n` probes (after one untimed call)"
    fn(probes[:1]); ts = []
    for p in probes[:n].split(1):
        t = time.perf_counter(); fn(p); ts.append(time.perf_counter() - t)
    return dict(p50_ms=1e3 * statistics.median(ts), p99_ms=1e3 * float(np.percentile(ts, 99)), queries=len(ts))


def throughput(fn, probes:torch.Tensor)->tuple[list, float]:
    "`fn(probes)` once, and probes per second"
    t = time.perf_counter(); out = fn(probes)
    return out, len(probes) / (time.perf_counter() - t)


def top1(res:list)->np.ndarray: return np.array([m[0][0] if m else '' for m in res])


def scored(fn, probes, truth, ref, queries:int, **row)->tuple[dict, np.ndarray]:
    "recall@1 against `ref` (exact search's top-1 subjects), rank-1, single-query latency and batched throughput of search `fn`"
    res, qps = throughput(fn, probes)
    t = top1(res)
    return dict(row, recall1=float(np.mean(t == ref)) if ref is not None else 1.0, rank1=float(np.mean(t == truth)),
                **latency(fn, probes, queries), batch_qps=qps), t


def measure(g:Gallery, probes, truth, ref, kind:str, rerank:int|None, queries:int)->tuple[dict, np.ndarray]:
    "`scored` for `g` searched as `kind` ('exact' or 'pq', with `rerank`)"
    g.index = kind
    if rerank: g.rerank = rerank
    return scored(lambda p: g.search(p, k=5), probes, truth, ref, queries, search=kind, rerank=rerank)


def ivf_rows(g:Gallery, probes, truth, ref, nlist:int, nprobes:list, queries:int, seed:int)->tuple[dict, list]:
    "FAISS's IVF-Flat over `g`'s embeddings, searched through the gallery's subject aggregation: its build and a row per nprobe"
    import faiss
    x = g.embeddings.numpy(); subs, codes, _ = g._subject_codes()
    t0 = time.perf_counter()
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(x.shape[1]), x.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(x[np.sort(np.random.default_rng(seed).choice(len(x), min(len(x), 65_536), replace=False))]); t_train = time.perf_counter() - t0
    ivf.add(x); t_add = time.perf_counter() - t0 - t_train
    def search(p):
        s, r = ivf.search(p.numpy(), 5)
        return [[(subs[c], v) for c, v in m] for m in top_subjects(s, r, codes, 5)]
    rows = []
    for v in nprobes:
        ivf.nprobe = v; rows.append(scored(search, probes, truth, ref, queries, search='ivf', nprobe=v)[0]); print(rows[-1])
    del ivf; gc.collect()
    return dict(nlist=nlist, train_s=t_train, add_s=t_add, mb=len(x) * (x.shape[1] * 4 + 8) / 2**20), rows


def size_sweep(emb, names, probes, truth, sizes, queries:int)->list:
    "For galleries of the first n rows: exact search (torch; FAISS's IndexFlatIP) and the PQ index at the default rerank"
    import faiss
    rows = []
    for n in sizes:
        g = Gallery(index='exact').add_embeddings(names[:n], emb[:n])
        r, t_ex = measure(g, probes, truth, None, 'exact', None, queries)
        flat = faiss.IndexFlatIP(emb.shape[1]); flat.add(emb[:n].numpy())
        fl = latency(lambda p: flat.search(p.numpy(), 5), probes, queries)
        t0 = time.perf_counter(); g._pq_ready().faiss_index(); build = time.perf_counter() - t0
        i, _ = measure(g, probes, truth, t_ex, 'pq', RERANK, queries)
        rows.append(dict(n=n, exact_p50_ms=r['p50_ms'], exact_p99_ms=r['p99_ms'], faiss_flat_p50_ms=fl['p50_ms'],
                         pq_build_s=build, pq_p50_ms=i['p50_ms'], pq_p99_ms=i['p99_ms'], pq_recall1=i['recall1']))
        print(rows[-1]); del g, flat; gc.collect()
    return rows


def main():
    sys.stdout.reconfigure(line_buffering=True)   # progress shows in a log file as it happens
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', type=Path, default=Path('data/lfw-vlr'), help='prepared LFW (vlrface-prep lfw --sizes 16 ...), relative to the repository root')
    ap.add_argument('--edgeface', default=None, help='recogniser checkpoint (default: $VLRFACE_EDGEFACE or ../shared/weights/edgeface_xxs_q.pt)')
    ap.add_argument('--n', type=int, default=1_000_000, help='gallery identities, real and synthetic')
    ap.add_argument('--rerank', type=int, nargs='+', default=[32, 64, 128, 256, 512, 1024], help='rows per probe a PQ search scores exactly')
    ap.add_argument('--nlist', type=int, default=1024, help='lists of the IVF index compared with')
    ap.add_argument('--nprobe', type=int, nargs='*', default=[16, 64, 256], help='IVF lists visited per probe (none: no IVF)')
    ap.add_argument('--sizes', type=int, nargs='*', default=[10_000, 20_000, 50_000, 100_000], help='smaller galleries for the exact-vs-PQ sweep')
    ap.add_argument('--queries', type=int, default=1000, help='probes timed one at a time (IVF)')
    ap.add_argument('--exact-queries', type=int, default=100, help='probes timed one at a time (exact search of the full gallery)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--cache', type=Path, default=Path('runs/gallery-scale'), help='real embeddings and the saved gallery (git-ignored)')
    ap.add_argument('--out', default='gallery-scale')
    a = ap.parse_args()
    import faiss
    os.chdir(ROOT); torch.set_num_threads(a.threads); faiss.omp_set_num_threads(a.threads)
    mach = dict(machine(), faiss=faiss.__version__)
    t_all = time.time()
    r = real_embeddings(a.data, a.edgeface, a.cache)
    real, probes, gal, prb = r['gallery'], r['probes'], r['gal'], r['prb']
    truth = prb.subject.to_numpy()
    lfw_only = Gallery(index='exact').add_embeddings(list(gal.subject), real)
    lfw_rank1 = float(np.mean(top1(lfw_only.search(probes, k=1)) == truth)); del lfw_only

    n_syn = max(0, a.n - len(real))
    t0 = time.time(); emb = torch.cat([real, synthetic(real, n_syn, a.seed)]); t_syn = time.time() - t0
    names = list(gal.subject) + [f'synthetic-{i:07d}' for i in range(n_syn)]
    sweep = size_sweep(emb, names, probes, truth, [s for s in a.sizes if s < len(emb)], a.queries)

    g = Gallery(index='exact').add_embeddings(names, emb); del emb; gc.collect()
    mem0 = rss()
    exact, ref = measure(g, probes, truth, None, 'exact', None, a.exact_queries)
    print(exact)
    t0 = time.perf_counter(); g._pq_ready(); t_train = time.perf_counter() - t0
    t0 = time.perf_counter(); g._pq.faiss_index(); t_fill = time.perf_counter() - t0
    mem1 = rss()
    rows = [exact]
    for v in a.rerank:
        rows.append(measure(g, probes, truth, ref, 'pq', v, a.queries)[0]); print(rows[-1])
    torch.set_num_threads(1); faiss.omp_set_num_threads(1); g._pq._faiss = None; g._pq.faiss_index(parts=1)   # the default as one thread runs it
    rows.append(dict(measure(g, probes, truth, ref, 'pq', RERANK, a.queries)[0], threads=1)); print(rows[-1])
    torch.set_num_threads(a.threads); faiss.omp_set_num_threads(a.threads); g._pq._faiss = None; g._pq.faiss_index()
    ivf, ivf_r = ivf_rows(g, probes, truth, ref, a.nlist, a.nprobe, a.queries, a.seed) if a.nprobe else (None, [])
    rows += ivf_r
    g.index = 'auto'; vars(g).pop('rerank', None)   # saved as a user would have it: the defaults
    t0 = time.perf_counter(); f = g.save(a.cache/'gallery'); t_save = time.perf_counter() - t0
    del g; gc.collect()
    t0 = time.perf_counter(); g2 = Gallery.load(f); t_load = time.perf_counter() - t0
    t0 = time.perf_counter(); g2.search(probes[:1]); t_first = time.perf_counter() - t0
    size = f.stat().st_size; f.unlink()
    res = dict(n=len(g2), lfw_people=len(real), probes=len(probes), synthetic=n_syn, dim=real.shape[1],
               synthetic_how='Gaussian with the mean and covariance of the real gallery embeddings, L2-normalised',
               probe_how='16 px face of another photo of the person, upscaled bicubically', recogniser=model_fingerprint(r['rec']),
               threads=a.threads, exact_max=EXACT_MAX, rerank_default=RERANK, pq_m=g2._pq.M, pq_parts=len(g2._pq.faiss_index()), ivf=ivf,
               lfw_only_rank1=lfw_rank1, synthetic_s=t_syn,
               build=dict(train_s=t_train, fill_s=t_fill, index_mb=g2._pq.nbytes / 2**20, embeddings_mb=g2.embeddings.numel() * 4 / 2**20,
                          rss_before_mb=mem0['rss_mb'], rss_after_mb=mem1['rss_mb'], peak_rss_mb=rss()['peak_rss_mb']),
               file=dict(mb=size / 2**20, save_s=t_save, load_s=t_load, first_search_s=t_first),
               rows=rows, sweep=sweep, wall_s=time.time() - t_all)
    write_results(a.out, res, render, mach)


def label(row:dict)->str:
    "A row's name in the table"
    if row['search'] == 'exact': return 'exact'
    if row['search'] == 'ivf': return f"IVF-Flat, nprobe {row['nprobe']}"
    return f"PQ, rerank {row['rerank']}" + (f", {row['threads']} thread" if row.get('threads') else '')


def render(r)->str:
    "gallery-scale.md from the record in gallery-scale.json"
    b, fl, iv = r['build'], r['file'], r['ivf']
    t = pd.DataFrame(r['rows']).assign(search=lambda d: [label(x) for x in r['rows']]).set_index('search')
    t = t[['recall1', 'rank1', 'p50_ms', 'p99_ms', 'batch_qps']].rename(columns=dict(
        recall1='recall@1 vs exact', rank1='rank-1', p50_ms='p50 ms', p99_ms='p99 ms', batch_qps='batched probes/s'))
    s = pd.DataFrame(r['sweep']).set_index('n').rename(columns=dict(
        exact_p50_ms='exact p50 ms', exact_p99_ms='exact p99 ms', faiss_flat_p50_ms='IndexFlatIP p50 ms', pq_build_s='PQ build s',
        pq_p50_ms='PQ p50 ms', pq_p99_ms='PQ p99 ms', pq_recall1='PQ recall@1'))
    return (f"A gallery of {r['n']:,} identities: {r['lfw_people']:,} real (EdgeFace-XXS {r['recogniser']}, one HR face per LFW person) and "
            f"{r['synthetic']:,} synthetic ({r['synthetic_how']}); {r['probes']:,} probes ({r['probe_how']}), one mated entry each. "
            f"Searched for the top 5 subjects with {r['threads']} threads (unless a row says otherwise), measured {describe(r['machine'])}, "
            f"FAISS {r['machine'].get('faiss')}, by `{r['command']}`. Numbers: gallery-scale.json next to this page.\n\n"
            f"PQ index ({r['pq_m']} sub-vectors of 4 bits, scanned in {r['pq_parts']} parts): training and encoding {b['train_s']:.1f} s, FAISS's index from the arrays "
            f"{b['fill_s']:.1f} s; {b['index_mb']:,.0f} MB beside the embeddings' {b['embeddings_mb']:,.0f} MB; process RSS {b['rss_before_mb']:,.0f} MB "
            f"before it, {b['rss_after_mb']:,.0f} MB after (peak {b['peak_rss_mb']:,.0f} MB over the whole run). The gallery file: {fl['mb']:,.0f} MB, "
            f"saved in {fl['save_s']:.1f} s, loaded in {fl['load_s']:.1f} s, first search (FAISS's index built from the file's arrays) "
            f"{fl['first_search_s']:.1f} s. Rank-1 in a gallery of the {r['lfw_people']:,} LFW people alone: {r['lfw_only_rank1']:.3f}."
            + (f" IVF-Flat for comparison: {iv['nlist']:,} lists, trained in {iv['train_s']:.1f} s, filled in {iv['add_s']:.1f} s, "
               f"{iv['mb']:,.0f} MB." if iv else '') + "\n\n" + md_table(t.round(4)) +
            f"\nSmaller galleries (the first n rows of the same one): single-query latency of exact search with torch and with FAISS's "
            f"IndexFlatIP, and the PQ index at rerank {r['rerank_default']}:\n\n" + md_table(s.round(4)))


if __name__ == '__main__': main()
