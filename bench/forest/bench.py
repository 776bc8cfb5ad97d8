#!/usr/bin/env python3
"""Causal forests: `paribus forest causal` against EconML's econml.grf.CausalForest (per tree, at
equal settings) and econml.dml.CausalForestDML (end to end), side by side on the same Parquet
file, at 100,000 and 1,000,000 rows x 20 covariates, 500 and 2,000 trees, 2 threads; and the
paribus-only 10M x 20, 2,000-tree memory run (--big: the causal forest with little-bag variances
and the per-row CATE + SE written out, given the true centring; about 2 hours on 2 cores).

Run from the repository root (see bench/README.md):

    /work/venv-forest-bench/bin/python bench/forest/bench.py    # --rows N [N ...] --trees N [N ...]
        # --part per-tree|e2e|both --only paribus|peer (the other side carried from results.json)
        # --cap S --ladder N [N ...] --no-predict
        # --peer-nuisance grf|sklearn --big --threads T --repeats R --paribus BIN --out FILE

Per tree, at equal settings (part "per-tree"):
  paribus: paribus forest causal --data FILE --outcome y --treatment w --covariates 'x*'
           --trees N --ci-group-size 2 --sample-fraction 0.5 --min-node-size 5 --threads T
           --seed 1 --json --y-hat y_hat --w-hat w_hat --out CATE.parquet
           (the true nuisances of the simulation are given, so paribus fits no nuisance
           forest: only the causal forest, its little-bag variances, the OOB CATE + SE of
           every row and the AIPW ATE)
  peer:    econml.grf.CausalForest(n_estimators=N, criterion='het', max_samples=0.5,
           subforest_size=2, min_samples_leaf=5, min_balancedness_tol=0.45, honest=True,
           inference=True, fit_intercept=True, max_features=20, n_jobs=T) fitted on
           (X, T = w - w_hat, y - y_hat), then predict_and_var on every training row.
  Seconds per tree: paribus's whole-process wall clock / N (start-up, reading, binning, the
  forest, the variances, the output: everything); EconML's fit + predict_and_var / N, timed
  inside its process (no interpreter start-up, imports or read).
End to end (part "e2e"):
  paribus: the same command without --y-hat / --w-hat: paribus fits its own nuisance forests
           (max(50, N/4) trees each, out of bag), then the causal forest.
  peer:    econml.dml.CausalForestDML(discrete_treatment=True, cv=2, drate=True, the final
           forest as above) with econml.grf.RegressionForest nuisances (max(50, N/4) trees,
           honest, half-samples, 5 rows per leaf: grf's Y.hat / W.hat forests), ate_ /
           ate_stderr_ (doubly robust, as paribus's AIPW) and effect_inference on every row.
  Both: the whole-process wall clock, and EconML's in-process time beside it.

The peer is slow. Each peer process runs under a cap (--cap seconds, default 900, and
--peer-max-rss-gib of memory, default 80% of the memory available) and is killed past it. Each
configuration is run as a ladder: first the --ladder tree counts (default 10, 20, 50; in the
e2e part each step has a quarter as many trees per nuisance, at least 2), then the full N
(with max(50, N/4) per nuisance); each step is attempted only when the steps that finished
predict that it will finish within both caps (--no-predict attempts every step, still
capped). The cost model: the final forest's fit + the prediction with variances = a + b x
trees, the nuisance learners' fit / predict = c + d x nuisance trees, each a line through the
two largest finished steps (through zero and the largest when that line is not increasing),
plus the fixed start-up, import and read. When N did not run or did not finish, the peer's
time for N trees is that model's, marked "extrapolated" (~ in the table); its cost per tree is
measured; its peak memory is the largest of its runs, a lower bound (>=). Peer runs with the
same settings are reused within one invocation (the 500- and 2,000-tree ladders share their
steps). The agreement figures then use the largest finished step's CATE.

Peak memory: GNU time's maximum resident set size (/usr/bin/time -v) of each process, or,
when /usr/bin/time is missing or the process was killed, the largest RSS of its process tree
polled with psutil every 0.2 s.

Agreement: on a sample of rows (--agree-sample, default 100,000), the correlation and RMSE
between paribus's and EconML's CATE, the RMSE of each against the true tau, the mean SE and the
coverage of tau by each side's 95% intervals; the ATE of both and the true one (in the per-tree
part EconML's CausalForest has no ATE: its mean CATE is shown). paribus's CATE and SE are out
of bag; EconML's predict_and_var / effect_inference on the training rows are in-sample (a
row's own outcome is in the leaves of the trees whose honest estimation half holds it): EconML
has no out-of-bag variance (oob_predict gives the point estimate only).

Data (written once to bench/data/, ignored by git, as forest_<rows>.parquet; reused while its
metadata tag matches): numpy default_rng([20261207, chunk]) per 1M-row chunk; x1..x20 ~ U[0,1];
tau(x) = s(x1) s(x2), s(u) = 1 + 1 / (1 + exp(-20 (u - 1/3))); e(x) = 0.25 (1 + B(x3; 2, 4))
(B the Beta(2,4) density, e in [0.25, 0.78]); w ~ Bernoulli(e), int64; b(x) = 2 x3 - 1 +
sin(pi x4) (the outcome without treatment, confounded with w through x3); y = b + w tau + N(0,1)
= m(x) + (w - e(x)) tau(x) + N(0,1) with m = b + e tau = E[y | x]. Columns: x1..x20, w, y,
y_hat = m(x), w_hat = e(x), tau (all float64 but w). 1M-row row groups.

Output: bench/forest/results.json (machine, versions, commit, every run, ratios, targets) when
every size is one of the issue's (100k, 1M; 10M for --big), merged with the entries already
there; --out FILE otherwise (or in addition).
"""
import argparse
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

try:
    import psutil
except ImportError:  # GNU time is used then; psutil only adds the polled peak of killed runs
    psutil = None

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from machine import cpu_name, git_commit, mem_gib  # noqa: E402
OURS = ROOT / "target" / "release" / "paribus"
PEER = HERE / "peer_forest.py"
DATA = ROOT / "bench" / "data"
OUTDIR = DATA / "forest_out"
RESULTS = HERE / "results.json"
GNU_TIME = Path("/usr/bin/time")

GEN_VERSION = "forest-bench-v1"
SEED = 20261207
P = 20
CHUNK = 1_000_000
SIZES = (100_000, 1_000_000)
TREES = (500, 2000)
BIG_ROWS, BIG_TREES, BIG_LIMIT_GIB = 10_000_000, 2000, 24.0
SPEEDUP_TARGET = 10.0      # EconML CausalForest s/tree over paribus s/tree
MEMORY_TARGET = 0.2        # paribus peak RSS / EconML CausalForest peak RSS
FOREST_FLAGS = ["--ci-group-size", "2", "--sample-fraction", "0.5", "--min-node-size", "5"]


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------


def s_fn(u):
    return 1.0 + 1.0 / (1.0 + np.exp(-20.0 * (u - 1.0 / 3.0)))


def dgp_chunk(rng, n):
    x = rng.random((n, P))
    tau = s_fn(x[:, 0]) * s_fn(x[:, 1])
    u = x[:, 2]
    e = 0.25 * (1.0 + 20.0 * u * (1.0 - u) ** 3)
    w = (rng.random(n) < e).astype(np.int64)
    b = 2.0 * x[:, 2] - 1.0 + np.sin(np.pi * x[:, 3])
    m = b + e * tau
    y = m + (w - e) * tau + rng.standard_normal(n)
    cols = {f"x{j + 1}": np.ascontiguousarray(x[:, j]) for j in range(P)}
    cols.update({"w": w, "y": y, "y_hat": m, "w_hat": e, "tau": tau})
    return pa.table(cols)


def generate(n: int) -> Path:
    if n % 2:
        sys.exit("--rows must be even (EconML's max_samples=0.5 with inference needs ceil(n/2) <= n // 2)")
    path = DATA / f"forest_{n}.parquet"
    tag = f"{GEN_VERSION} rows={n} covariates={P} seed={SEED} chunk={CHUNK}"
    if path.exists():
        md = pq.ParquetFile(path).schema_arrow.metadata or {}
        if md.get(b"paribus_bench") == tag.encode():
            return path
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"writing {path.relative_to(ROOT)} ({n:,} rows)", flush=True)
    tmp = path.with_suffix(".tmp")
    writer = None
    for c, start in enumerate(range(0, n, CHUNK)):
        table = dgp_chunk(np.random.default_rng([SEED, c]), min(CHUNK, n - start))
        table = table.replace_schema_metadata({"paribus_bench": tag})
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=CHUNK)
    writer.close()
    tmp.replace(path)
    return path


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---------------------------------------------------------------------------------------
# running and measuring
# ---------------------------------------------------------------------------------------


def tree_rss(proc):
    try:
        total = proc.memory_info().rss
        for ch in proc.children(recursive=True):
            try:
                total += ch.memory_info().rss
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return 0


def measure(cmd, cap=None, max_rss_gib=None, threads=2):
    """Runs cmd in its own process group, under GNU time when it exists, killed past `cap`
    seconds or `max_rss_gib` of RSS (its process tree, polled). Returns status ("ok",
    "timeout", "memory", "error"), wall s, peak RSS MiB, stdout, stderr."""
    cmd = [str(c) for c in cmd]
    full = ["/usr/bin/time", "-v", *cmd] if GNU_TIME.exists() else cmd
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "RAYON_NUM_THREADS"):
        env[k] = str(threads)
    OUTDIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile("w+", dir=OUTDIR) as fo, tempfile.TemporaryFile("w+", dir=OUTDIR) as fe:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fo, stderr=fe, env=env, start_new_session=True)
        ps = psutil.Process(proc.pid) if psutil is not None else None
        polled, status = 0, None
        while proc.poll() is None:
            if ps is not None:
                polled = max(polled, tree_rss(ps))
                if max_rss_gib and polled > max_rss_gib * 2**30:
                    status = "memory"
            if cap and time.perf_counter() - start > cap:
                status = "timeout"
            if status:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.2)
        wall = time.perf_counter() - start
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    if status is None:
        status = "ok" if proc.returncode == 0 else "error"
    peak = int(rss.group(1)) / 1024 if (rss and status == "ok") else polled / 2**20
    return {"status": status, "wall_s": round(wall, 3), "peak_rss_mib": round(peak, 1),
            "peak_rss_source": "GNU time" if (rss and status == "ok") else "psutil polling",
            "returncode": proc.returncode, "stdout": out, "stderr": err}


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    i = text.find("{")
    return json.loads(text[i:]) if i >= 0 else None


def tail(text, n=2000):
    text = "\n".join(l for l in text.splitlines() if not l.startswith("\t"))  # GNU time's report
    return text[-n:]


# ---------------------------------------------------------------------------------------
# paribus
# ---------------------------------------------------------------------------------------


def paribus_ready():
    """(True, None) when the binary exists and has `forest causal`; (False, why) otherwise."""
    if not OURS.exists():
        return False, f"{OURS} is missing (cargo build --release -p paribus-cli)"
    out = subprocess.run([OURS, "forest", "causal", "--help"], capture_output=True, text=True)
    if out.returncode != 0:
        first = ((out.stderr or out.stdout).strip().splitlines() or [""])[0]
        return False, f"this build of paribus has no `forest causal` ({first[:200]})"
    return True, None


def paribus_cmd(path, trees, threads, given, out):
    cmd = [OURS, "forest", "causal", "--data", path, "--outcome", "y", "--treatment", "w",
           "--covariates", "x*", "--trees", trees, *FOREST_FLAGS, "--threads", threads,
           "--seed", "1", "--json"]
    if given:
        cmd += ["--y-hat", "y_hat", "--w-hat", "w_hat"]
    if out is not None:
        cmd += ["--out", out]
    return cmd


def small(v, depth=0):
    """The diagnostics without long per-row or per-tree lists."""
    if isinstance(v, dict):
        return {k: small(x, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [small(x, depth + 1) for x in v[:50]] + ([f"... {len(v) - 50} more"] if len(v) > 50 else [])
    return v


def run_paribus(path, trees, threads, given, out, cap, repeats):
    runs = []
    for _ in range(repeats):
        r = measure(paribus_cmd(path, trees, threads, given, out), cap=cap, threads=threads)
        if r["status"] != "ok":
            return {"status": r["status"], "wall_s": r["wall_s"], "peak_rss_mib": r["peak_rss_mib"],
                    "command": " ".join(map(str, paribus_cmd(path, trees, threads, given, out))),
                    "error": tail(r["stderr"])}
        runs.append(r)
    best = min(runs, key=lambda r: r["wall_s"])
    doc = last_json(best["stdout"]) or {}
    ests = doc.get("estimates", [])
    ate = next((e for e in ests if str(e.get("label", "")).upper() == "ATE"), ests[0] if ests else {})
    return {
        "status": "ok",
        "command": " ".join(map(str, paribus_cmd(path, trees, threads, given, "CATE.parquet" if out else None))),
        "wall_s": best["wall_s"],
        "wall_s_all": [r["wall_s"] for r in runs],
        "peak_rss_mib": best["peak_rss_mib"],
        "peak_rss_mib_all": [r["peak_rss_mib"] for r in runs],
        "s_per_tree": round(best["wall_s"] / trees, 6),
        "ate": ate.get("estimate"),
        "ate_se": ate.get("std_error"),
        "n": doc.get("n_obs"),
        "diagnostics": small(doc.get("diagnostics", {})),
        "warnings": doc.get("warnings", []),
    }


def read_paribus_cate(path):
    """CATE and SE from paribus's --out file: the first column of each kind that it has."""
    t = pq.read_table(path)
    names = {c.lower(): c for c in t.column_names}
    pick = lambda cands: next((names[c] for c in cands if c in names), None)  # noqa: E731
    c = pick(["cate", "tau_hat", "cate_estimate", "estimate", "tau"])
    s = pick(["cate_se", "se", "std_error", "cate_std_error", "tau_se", "stderr"])
    if c is None:
        return None, None, f"no CATE column in {path.name} (columns: {t.column_names})"
    cate = t.column(c).to_numpy().astype(float)
    se = t.column(s).to_numpy().astype(float) if s else None
    return cate, se, None


# ---------------------------------------------------------------------------------------
# the peer, in a ladder of tree counts
# ---------------------------------------------------------------------------------------

PEER_CACHE = {}


def nuisance_trees(t):
    """grf's causal_forest: num.trees = max(50, num.trees / 4) for each nuisance forest."""
    return max(50, t // 4)


def step_nuisance_trees(t):
    """The nuisance trees of a ladder step below the full count: a quarter of its trees (at
    least 2), so that a step stays small; the cost per nuisance tree is what is measured."""
    return max(2, t // 4)


def run_peer_once(mode, path, n, t, k, a):
    key = (mode, str(path), t, k, a.threads, a.peer_nuisance, a.chunk_mib)
    if key in PEER_CACHE:
        print(f"    peer {mode} {t} trees: reused from this invocation", flush=True)
        return dict(PEER_CACHE[key], reused=True)
    out = OUTDIR / (f"peer_{mode}_{n}_{t}.npz" if k is None else f"peer_{mode}_{n}_{t}_k{k}.npz")
    cmd = [sys.executable, PEER, mode, path, "--trees", t, "--threads", a.threads, "--cate-out", out,
           "--chunk-mib", a.chunk_mib]
    if mode == "dml":
        cmd += ["--nuisance-trees", k, "--nuisance", a.peer_nuisance]
    print(f"    peer {mode} {t} trees{f' ({k} per nuisance)' if k else ''} ... ", end="", flush=True)
    r = measure(cmd, cap=a.cap, max_rss_gib=a.peer_max_rss_gib, threads=a.threads)
    row = {"trees": t, "status": r["status"], "wall_s": r["wall_s"], "peak_rss_mib": r["peak_rss_mib"],
           "peak_rss_source": r["peak_rss_source"], "cate_file": str(out)}
    if r["status"] == "ok":
        doc = last_json(r["stdout"])
        row.update(doc)
        row["work_s"] = round(doc["fit_s"] + doc["predict_s"], 4)
        row["s_per_tree"] = round(row["work_s"] / t, 6)
        print(f"{r['wall_s']:.1f} s (fit {doc['fit_s']:.1f}"
              + (f", of which nuisances {doc['nuisance_s']:.1f}" if mode == "dml" else "")
              + f", predict {doc['predict_s']:.1f}), {r['peak_rss_mib']:.0f} MiB", flush=True)
    else:
        row["error"] = tail(r["stderr"])
        what = {"timeout": f"stopped at the cap ({a.cap:g} s)",
                "memory": f"stopped at the memory cap ({a.peer_max_rss_gib:.1f} GiB)"}.get(r["status"], "failed")
        print(f"{what} after {r['wall_s']:.0f} s, {r['peak_rss_mib']:.0f} MiB", flush=True)
        if r["status"] == "error":
            print(row["error"], file=sys.stderr)
    PEER_CACHE[key] = row
    return row


def linear(runs, y, x):
    """(intercept, slope) of y against x through the last two finished steps with different x,
    when that gives a positive slope and a non-negative intercept; otherwise the line through
    zero and the last step (all of the cost proportional)."""
    last = runs[-1]
    prev = next((r for r in reversed(runs[:-1]) if x(r) != x(last)), None)
    if prev is not None:
        b = (y(last) - y(prev)) / (x(last) - x(prev))
        a0 = y(last) - b * x(last)
        if b > 0 and a0 >= 0:
            return a0, b
    return 0.0, y(last) / x(last)


def cost_model(mode, runs):
    """The peer's cost from its finished steps: the final forest's fit + the prediction with
    variances = a + b * trees; the nuisance learners' fit / predict (dml) = c + d * nuisance
    trees; the rest of the last step's wall clock (start-up, imports, reading, writing) fixed."""
    m = {"steps": [r["trees"] for r in runs], "fixed_s": runs[-1]["wall_s"] - runs[-1]["work_s"]}
    m["a"], m["b"] = linear(runs, lambda r: r["work_s"] - r.get("nuisance_s", 0.0), lambda r: r["trees"])
    if mode == "dml":
        m["c"], m["d"] = linear(runs, lambda r: r["nuisance_s"], lambda r: r["nuisance_trees"])
    return m


def model_work(m, t, k):
    return m["a"] + m["b"] * t + (m["c"] + m["d"] * k if "c" in m else 0.0)


def predict_rss(runs, t):
    """Peak RSS linear in the trees through the last two finished steps (None with one)."""
    if len(runs) < 2 or runs[-1]["trees"] == runs[-2]["trees"]:
        return None
    slope = (runs[-1]["peak_rss_mib"] - runs[-2]["peak_rss_mib"]) / (runs[-1]["trees"] - runs[-2]["trees"])
    return runs[-1]["peak_rss_mib"] + max(0.0, slope) * (t - runs[-1]["trees"])


def run_peer(mode, path, n, trees, a):
    steps = sorted({s for s in a.ladder if 0 < s < trees}) + [trees]
    bad = [s for s in steps if s % 2]
    if bad:
        sys.exit(f"tree counts must be even (EconML's subforest_size=2 must divide them): {bad}")
    def kk(t):  # nuisance trees of a step
        if mode != "dml":
            return None
        return nuisance_trees(t) if t == trees else step_nuisance_trees(t)
    done, attempts, skipped = [], [], None
    for t in steps:
        if done and not a.no_predict:
            m = cost_model(mode, done)
            wall = m["fixed_s"] + model_work(m, t, kk(t) or 0)
            rss = predict_rss(done, t)
            over_t = bool(a.cap) and wall > a.cap
            over_m = rss is not None and bool(a.peer_max_rss_gib) and rss > a.peer_max_rss_gib * 1024
            if over_t or over_m:
                why = " and ".join(w for w, on in (("predicted past the time cap", over_t),
                                                    ("predicted past the memory cap", over_m)) if on)
                skipped = {"trees": t, "predicted_wall_s": round(wall, 1),
                           "predicted_peak_rss_mib": None if rss is None else round(rss), "why": why}
                print(f"    peer {mode} {t} trees: not attempted ({why}: ~{wall:.0f} s"
                      + (f", ~{rss / 1024:.1f} GiB" if rss else "") + ")", flush=True)
                break
        r = run_peer_once(mode, path, n, t, kk(t), a)
        attempts.append({k: v for k, v in r.items() if k not in ("params", "versions")})
        if r["status"] != "ok":
            break
        done.append(r)
    res = {"estimator": "econml.grf.CausalForest" if mode == "grf" else "econml.dml.CausalForestDML",
           "attempts": attempts, "not_attempted": skipped}
    if not done:
        res.update(status="failed", why="no step of the ladder finished (see attempts)")
        return res
    best = done[-1]
    full = best["trees"] == trees
    m = cost_model(mode, done)
    # memory grows with the forest: any attempt's peak (a killed one's too) bounds the full run's from below
    peak = max(r["peak_rss_mib"] for r in attempts)
    res.update(status="ok", from_trees=best["trees"], extrapolated=not full, cost_model=m,
               params=best.get("params"), versions=best.get("versions"), cate_file=best["cate_file"],
               peak_rss_mib=peak, peak_rss_is_lower_bound=not full, ate=best.get("ate"),
               ate_se=best.get("ate_se"), import_s=best["import_s"], load_s=best["load_s"],
               warnings=best.get("warnings", []), predict_chunk_rows=best.get("predict_chunk_rows"),
               marginal_s_per_tree=round(m["b"], 6))
    if full:
        res.update(work_s=best["work_s"], wall_s=best["wall_s"], in_process_s=best["in_process_s"])
    else:
        res["work_s"] = round(model_work(m, trees, kk(trees) or 0), 3)
        res["wall_s"] = round(m["fixed_s"] + res["work_s"], 3)
    if mode == "dml":
        k_full = nuisance_trees(trees)
        res.update(nuisance_trees=k_full, nuisance_s_per_tree=round(m["d"], 6),
                   nuisance_s=best["nuisance_s"] if full else round(m["c"] + m["d"] * k_full, 3))
        res["final_and_predict_s"] = round(res["work_s"] - res["nuisance_s"], 3)
    # per tree: all the work (the nuisances too, in the e2e part) over the final forest's trees
    res["s_per_tree"] = round(res["work_s"] / trees, 6)
    if not full:
        res["note"] = (f"extrapolated from the steps of {', '.join(map(str, m['steps']))} trees: {trees} trees "
                       + (f"were not attempted ({skipped['why']})" if skipped
                          else f"did not finish ({attempts[-1]['status']})"))
    return res


# ---------------------------------------------------------------------------------------
# agreement
# ---------------------------------------------------------------------------------------


def agreement(path, n, paribus_file, peer_file, sample):
    idx = np.sort(np.random.default_rng(7).choice(n, min(n, sample), replace=False))
    tau_all = pq.read_table(path, columns=["tau"]).column("tau").to_numpy()
    tau = tau_all[idx]
    res = {"rows_sampled": int(len(idx)), "true_ate": float(tau_all.mean())}

    def side(c, s):
        d = {"cate_rmse_vs_tau": float(np.sqrt(np.nanmean((c - tau) ** 2))), "cate_mean": float(np.nanmean(c))}
        if s is not None:
            d["se_mean"] = float(np.nanmean(s))
            d["coverage_95"] = float(np.nanmean(np.abs(c - tau) <= 1.959964 * s))
        return d

    pc = ps = None
    if paribus_file is not None and Path(paribus_file).exists():
        pc, ps, err = read_paribus_cate(Path(paribus_file))
        if err:
            res["paribus_error"] = err
        elif len(pc) != n:
            res["paribus_error"] = f"{len(pc)} CATE rows for {n} rows"
            pc = None
        else:
            pc, ps = pc[idx], None if ps is None else ps[idx]
            res["paribus"] = side(pc, ps)
    if peer_file is not None and Path(peer_file).exists():
        z = np.load(peer_file)
        qc, qs = z["cate"][idx], z["se"][idx]
        res["peer"] = side(qc, qs)
        if pc is not None:
            ok = np.isfinite(pc) & np.isfinite(qc)
            res["corr_paribus_peer"] = float(np.corrcoef(pc[ok], qc[ok])[0, 1])
            res["rmse_paribus_peer"] = float(np.sqrt(np.mean((pc[ok] - qc[ok]) ** 2)))
    return res


# ---------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------


def paribus_version():
    if not OURS.exists():
        return None
    out = subprocess.run([OURS, "--version"], capture_output=True, text=True)
    return out.stdout.strip() or None


def fmt(v, spec=".2f", none="-"):
    return none if v is None else format(v, spec)


def print_row(e):
    o, p = e.get("paribus") or {}, e.get("peer") or {}
    mark = "~" if p.get("extrapolated") else ""
    print(f"\n{e['part']:8s} {e['rows']:>9,} rows x {P}, {e['trees']} trees")
    if o.get("status") == "ok":
        print(f"  paribus  {o['wall_s']:9.2f} s  {1e3 * o['s_per_tree']:9.2f} ms/tree  {o['peak_rss_mib']:8.0f} MiB"
              f"  ATE {fmt(o.get('ate'), '.4f')} (SE {fmt(o.get('ate_se'), '.4f')})")
    elif o:
        print(f"  paribus  {o.get('status')}: {o.get('why') or o.get('error', '')[-300:]}")
    if p.get("status") == "ok":
        print(f"  EconML   {mark}{p['wall_s']:8.2f} s  {1e3 * p['s_per_tree']:9.2f} ms/tree  "
              f"{'>=' if p['peak_rss_is_lower_bound'] else '  '}{p['peak_rss_mib']:6.0f} MiB"
              + (f"  ATE {p['ate']:.4f} (SE {p['ate_se']:.4f})" if p.get("ate") is not None else ""))
        if p.get("note"):
            print(f"           {p['note']}")
    elif p:
        print(f"  EconML   {p.get('status')}: {p.get('why', '')}")
    r = e.get("ratios", {})
    if r:
        print("  ratios   " + ", ".join(f"{k} {v:.2f}" for k, v in r.items() if v is not None))
    ag = e.get("agreement")
    if ag:
        bits = [f"true ATE {ag['true_ate']:.4f}"]
        for s in ("paribus", "peer"):
            if s in ag:
                bits.append(f"{s} CATE RMSE vs tau {ag[s]['cate_rmse_vs_tau']:.4f}"
                            + (f", 95% coverage {ag[s]['coverage_95']:.3f}" if "coverage_95" in ag[s] else ""))
        if "corr_paribus_peer" in ag:
            bits.append(f"corr {ag['corr_paribus_peer']:.4f}, RMSE between {ag['rmse_paribus_peer']:.4f}")
        print("  agree    " + "; ".join(bits))
    for k, v in (e.get("targets") or {}).items():
        print(f"  target   {k}: {v}")


def summary_table(entries):
    print("\n| part | rows | trees | paribus s | paribus ms/tree | EconML s | EconML ms/tree | ratio "
          "(per tree / end to end) | peak MiB paribus / EconML |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for e in entries:
        o, p = e.get("paribus") or {}, e.get("peer") or {}
        ok_o, ok_p = o.get("status") == "ok", p.get("status") == "ok"
        x = "~" if p.get("extrapolated") else ""
        ratio = e.get("ratios", {}).get("per_tree" if e["part"] == "per-tree" else "end_to_end")
        peer_mem = ((">=" if p.get("peak_rss_is_lower_bound") else "") + fmt(p.get("peak_rss_mib"), ".0f")
                    if ok_p else "-")
        print(f"| {e['part']} | {e['rows']:,} | {e['trees']} | {fmt(o.get('wall_s')) if ok_o else '-'} | "
              f"{fmt(1e3 * o['s_per_tree']) if ok_o else '-'} | {x}{fmt(p.get('wall_s')) if ok_p else '-'} | "
              f"{fmt(1e3 * p['s_per_tree']) if ok_p else '-'} | {x}{fmt(ratio)} | "
              f"{fmt(o.get('peak_rss_mib'), '.0f') if ok_o else '-'} / "
              f"{peer_mem} |")
    print("(~ : the EconML time is extrapolated from fewer trees; >= : its peak memory is that of the "
          "smaller forest, a lower bound)")


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


def carried(side, earlier):
    """The `side` of the stored entry `earlier` (results.json), for a run of the other side only
    (--only), marked with the date and commit of the run that measured it; None when it has none
    that finished."""
    if not earlier or (earlier["entry"].get(side) or {}).get("status") != "ok":
        return None
    return {**earlier["entry"][side],
            "carried_from": {"date": earlier["date"], "paribus_commit": earlier["commit"]}}


def bench_one(part, n, trees, a, ours_ok, why, earlier=None):
    path = generate(n)
    warm(path)
    e = {"part": part, "rows": n, "covariates": P, "trees": trees, "threads": a.threads,
         "data": str(path.relative_to(ROOT))}
    mode = "grf" if part == "per-tree" else "dml"
    given = part == "per-tree"
    pfile = OUTDIR / f"paribus_{part}_{n}_{trees}.parquet"
    if a.only != "peer":
        if ours_ok:
            print(f"    paribus {trees} trees ... ", end="", flush=True)
            OUTDIR.mkdir(parents=True, exist_ok=True)
            pfile.unlink(missing_ok=True)  # never read a CATE file left by an earlier run
            e["paribus"] = run_paribus(path, trees, a.threads, given, pfile, a.paribus_cap or None, a.repeats)
            o = e["paribus"]
            print(f"{o['wall_s']:.2f} s, {o['peak_rss_mib']:.0f} MiB" if o["status"] == "ok"
                  else f"{o['status']}: {o.get('error', '')[-500:]}", flush=True)
        else:
            e["paribus"] = {"status": "skipped", "why": why}
    elif (c := carried("paribus", earlier)) is not None and pfile.exists():
        e["paribus"] = c
        print(f"    paribus: carried from the run of {c['carried_from']['date']}", flush=True)
    if a.only != "paribus":
        e["peer"] = run_peer(mode, path, n, trees, a)
    elif (c := carried("peer", earlier)) is not None and (
            c.get("status") != "ok" or Path(c.get("cate_file") or "").is_file()):
        # as for paribus above: an ok side is carried only with its CATE file, which the
        # agreement step reads
        e["peer"] = c
        print(f"    peer: carried from the run of {c['carried_from']['date']}", flush=True)
    elif c is not None:
        print(f"    peer: not carried (its CATE file {c.get('cate_file')} is gone)", flush=True)
    o, p = e.get("paribus") or {}, e.get("peer") or {}
    ok_o, ok_p = o.get("status") == "ok", p.get("status") == "ok"
    e["ratios"] = {}
    if ok_o and ok_p:
        if part == "per-tree":
            e["ratios"]["per_tree"] = round(p["s_per_tree"] / o["s_per_tree"], 3)
        e["ratios"]["end_to_end"] = round(p["wall_s"] / o["wall_s"], 3)
        e["ratios"]["peer_in_process_over_paribus"] = round(p["work_s"] / o["wall_s"], 3)
        e["ratios"]["peak_rss_paribus_over_peer"] = round(o["peak_rss_mib"] / p["peak_rss_mib"], 4)
        if part == "per-tree":
            sp = e["ratios"]["per_tree"]
            mr = e["ratios"]["peak_rss_paribus_over_peer"]
            e["targets"] = {
                f"per tree >= {SPEEDUP_TARGET:g}x": ("met" if sp >= SPEEDUP_TARGET else "NOT met")
                + (" (EconML extrapolated from fewer trees)" if p["extrapolated"] else ""),
                f"peak memory <= {MEMORY_TARGET:g} of EconML's": (
                    "met" if mr <= MEMORY_TARGET else
                    ("not shown (EconML's peak is a lower bound, from fewer trees)" if p["peak_rss_is_lower_bound"]
                     else "NOT met")),
            }
    e["agreement"] = agreement(path, n, pfile if ok_o else None, p.get("cate_file") if ok_p else None,
                               a.agree_sample)
    if ok_p:
        e["agreement"]["peer_trees"] = p["from_trees"]  # the largest step that finished
    if e["agreement"].get("paribus") is None and ok_o and "paribus_error" not in e["agreement"]:
        e["agreement"]["paribus_error"] = "no --out file"
    return e


def bench_big(a, ours_ok, why):
    e = {"part": "big", "rows": a.big_rows, "covariates": P, "trees": BIG_TREES, "threads": a.threads,
         "limit_gib": BIG_LIMIT_GIB}
    if not ours_ok:
        e["paribus"] = {"status": "skipped", "why": why}
        print(f"  paribus skipped: {why}")
        return e
    path = generate(a.big_rows)
    warm(path)
    e["data"] = str(path.relative_to(ROOT))
    # the causal forest alone (the true centring given, as in the per-tree part): the target is
    # the 2,000-tree forest with variances; the nuisance forests are separate fits of their own
    e["nuisances"] = "given (y_hat = m(x), w_hat = e(x) of the simulation)"
    print(f"    paribus {BIG_TREES} trees, given centring, variances, per-row CATE + SE out ... ",
          end="", flush=True)
    out = OUTDIR / f"paribus_big_{a.big_rows}.parquet"
    o = run_paribus(path, BIG_TREES, a.threads, True, out, a.paribus_cap or None, 1)
    if o["status"] == "ok" and out.exists():
        cate, se, err = read_paribus_cate(out)
        if err is None:
            tau = pq.read_table(path, columns=["tau"]).column("tau").to_numpy()
            ok = np.isfinite(cate)
            o["cate_rmse"] = float(np.sqrt(np.mean((cate[ok] - tau[ok]) ** 2)))
            if se is not None:
                ok &= np.isfinite(se)
                o["mean_se"] = float(np.mean(se[ok]))
                o["coverage_95"] = float(np.mean(np.abs(cate[ok] - tau[ok]) <= 1.959964 * se[ok]))
            o["rows_with_cate"] = int(ok.sum())
        out.unlink()
    e["paribus"] = o
    if o["status"] == "ok":
        gib = o["peak_rss_mib"] / 1024
        e["targets"] = {f"{a.big_rows:,} x {P}, {BIG_TREES} trees with variances within {BIG_LIMIT_GIB:g} GiB":
                        ("met" if gib <= BIG_LIMIT_GIB else "NOT met") + f" (peak {gib:.2f} GiB)"}
        print(f"{o['wall_s']:.0f} s, peak {gib:.2f} GiB", flush=True)
    else:
        print(f"{o['status']}: {o.get('error', '')[-500:]}", flush=True)
    return e


def main():
    global OURS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--trees", type=int, nargs="+", default=list(TREES))
    ap.add_argument("--part", choices=["per-tree", "e2e", "both"], default="both")
    ap.add_argument("--only", choices=["paribus", "peer"],
                    help="run one side only; the other is carried over from results.json")
    ap.add_argument("--big", action="store_true",
                    help=f"only the paribus {BIG_ROWS // 10**6}M x {P}, {BIG_TREES}-tree memory run")
    ap.add_argument("--big-rows", type=int, default=BIG_ROWS, help=argparse.SUPPRESS)
    ap.add_argument("--cap", type=float, default=900.0, help="seconds for each peer process (default 900)")
    available = mem_gib("MemAvailable", None) or 16.0
    ap.add_argument("--peer-max-rss-gib", type=float, default=round(0.8 * available, 1),
                    help="memory for each peer process (default 80%% of the memory available)")
    ap.add_argument("--ladder", type=int, nargs="*", default=[10, 20, 50],
                    help="the peer's smaller tree counts, run before the full one (default 10 20 50; none: "
                         "--ladder with no value)")
    ap.add_argument("--no-predict", action="store_true",
                    help="attempt every step of the peer's ladder, even when predicted past the caps")
    ap.add_argument("--peer-nuisance", choices=["grf", "sklearn"], default="grf",
                    help="CausalForestDML's nuisance forests (default: econml.grf.RegressionForest)")
    ap.add_argument("--chunk-mib", type=int, default=256,
                    help="size of EconML's prediction buffers per predict call (rows are chunked to it)")
    ap.add_argument("--paribus", type=Path, default=OURS, help="the paribus binary (default target/release/paribus)")
    ap.add_argument("--paribus-cap", type=float, default=0, help="seconds for each paribus process (0: none)")
    ap.add_argument("--repeats", type=int, default=1, help="paribus runs per configuration (the fastest is kept)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--agree-sample", type=int, default=100_000)
    ap.add_argument("--out", type=Path, help="also (or, for other sizes, only) write the results here")
    a = ap.parse_args()
    OURS = a.paribus.resolve()

    ours_ok, why = paribus_ready() if a.only != "peer" else (False, "--only peer")
    if a.only != "peer" and not ours_ok:
        print(f"paribus side skipped: {why}", flush=True)
    if GNU_TIME.exists():
        mem_src = "GNU time (/usr/bin/time -v), psutil polling for killed runs"
    elif psutil is not None:
        mem_src = "psutil polling of the process tree (no /usr/bin/time)"
    else:
        sys.exit("need GNU time (apt-get install time) or psutil for peak memory")

    entries = []
    if a.big:
        if a.only == "peer":
            sys.exit("--big is a paribus-only run")
        print(f"\n== big: {a.big_rows:,} rows x {P}, {BIG_TREES} trees, paribus only")
        entries.append(bench_big(a, ours_ok, why))
        sizes_std = a.big_rows == BIG_ROWS
    else:
        parts = ["per-tree", "e2e"] if a.part == "both" else [a.part]
        # with --only, the other side is carried over from results.json (its CATE file for the
        # agreement figures is the one its run left in bench/data/forest_out)
        old = json.loads(RESULTS.read_text()) if a.only and RESULTS.exists() else {}
        for n in a.rows:
            for trees in a.trees:
                for part in parts:
                    print(f"\n== {part}: {n:,} rows x {P}, {trees} trees", flush=True)
                    stored = old.get("results", {}).get(f"{part}/{n}/{trees}")
                    earlier = stored and {"entry": stored, "date": old.get("date"),
                                          "commit": (old.get("paribus") or {}).get("commit")}
                    entries.append(bench_one(part, n, trees, a, ours_ok, why, earlier))
                    print_row(entries[-1])
        sizes_std = all(n in SIZES for n in a.rows) and all(t in TREES for t in a.trees)
        summary_table(entries)
    for e in entries:
        if e["part"] == "big":
            print_row(e)

    peer_versions = next((e["peer"]["versions"] for e in entries
                          if (e.get("peer") or {}).get("versions")), None)
    peer_params = {e["part"]: e["peer"]["params"] for e in entries if (e.get("peer") or {}).get("params")}
    header = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "memory_gib": mem_gib("MemTotal"),
                    "python": platform.python_version(), "os": platform.platform()},
        "paribus": {"version": paribus_version(), "commit": git_commit()},
        "peer_versions": peer_versions,
        "threads": a.threads,
        "cap_s": a.cap,
        "peer_max_rss_gib": a.peer_max_rss_gib,
        "ladder": {"trees": a.ladder, "nuisance_trees_of_a_step": "max(2, trees / 4)",
                   "predict": not a.no_predict},
        "peak_memory": mem_src,
        "paribus_forest_flags": " ".join(FOREST_FLAGS) + " --seed 1",
        "timing": "paribus: whole-process wall clock; EconML: fit + predict with variance inside its "
                  "process (wall_s: whole process); per tree = that / trees",
        "peer_prediction": "in-sample predict_and_var / effect_inference on the training rows; paribus: OOB",
    }
    key = lambda e: f"{e['part']}/{e['rows']}/{e['trees']}"  # noqa: E731
    if sizes_std:
        old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        merged = old.get("results", {})
        if old.get("peer_params"):
            peer_params = {**old["peer_params"], **peer_params}
        if not peer_versions:
            header["peer_versions"] = old.get("peer_versions")
        merged.update({key(e): e for e in entries})
        RESULTS.write_text(json.dumps({**header, "peer_params": peer_params, "results": merged}, indent=1) + "\n")
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    if a.out:
        a.out.write_text(json.dumps({**header, "peer_params": peer_params,
                                     "results": {key(e): e for e in entries}}, indent=1) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
