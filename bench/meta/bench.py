#!/usr/bin/env python3
"""Meta-learners with gradient-boosted base models: `paribus uplift fit --method x|dr --learner
gbm` against CausalML's BaseXRegressor / BaseDRRegressor with LightGBM, side by side on the same
Parquet file, at 100,000 and 1,000,000 rows x 20 covariates, a randomized experiment with the
known propensity 0.5 given to both (neither fits a propensity model), 2 threads.

Run from the repository root (see bench/README.md):

    /work/venv-meta-bench/bin/python bench/meta/bench.py   # --rows N [N ...] --methods x dr dr-all [t] [dr-3]
        # --repeats R --threads T --cap S --peer-max-rss-gib G --wait-max S --paribus BIN --out FILE

--methods t adds a diagnostic: the T-learner (the two outcome models alone, CATE = mu_1 - mu_0,
BaseTRegressor on the peer's side), to compare the base learners apart from the second stage.
--methods dr-3way (default): paribus's DR-learner with Kennedy's three-way split (--cross-fit
three-way), the algorithm CausalML's BaseDRRegressor runs, against the same CausalML DR run: the
same fits on the same amount of rows (its parts are paribus's own seeded draw, not CausalML's).
--methods dr-3 adds another: the DR-learner with 3 folds (--folds 3) against the same CausalML
DR run, the amount of fitting against accuracy.

paribus: paribus uplift fit --data FILE --outcome y --treatment w --covariates 'x*'
         --method x|dr --learner gbm --propensity 0.5 --threads T --seed 1
         --out CATE.parquet --json
  x:  mu_0, mu_1 on each arm's rows, the effect models tau_0, tau_1 on the imputed effects,
      CATE = 0.5 tau_0 + 0.5 tau_1; 4 fits, no cross-fitting.
  dr: 5-fold cross-fitting: per fold, mu_0 and mu_1 on the arm's rows of the other 4/5; the
      pseudo-outcome of every row from its out-of-fold models; one effect model on each fold's
      rows, the CATE their mean (the default, --final-fit folds: Kennedy's cross-fitted
      DR-learner, as CausalML averages its 3 rotations); 10 outcome fits (each on ~2/5 of the
      rows) + 5 effect fits (each on 1/5), 5 predictions of every row.
  dr-all: the same with --final-fit all: one effect model on all rows (EconML's DRLearner);
      10 outcome fits + 1 effect fit (all rows).
  dr-3way: --cross-fit three-way (Kennedy's DR-learner, 3 parts): the pseudo-outcomes of part t
      from mu_0, mu_1 fitted on the arms of part t + 2 (mod 3) (the propensity's part t + 1 is
      unused, p being known); one effect model per part, the CATE their mean; 6 outcome fits
      (~n/6 rows each) + 3 effect fits (n/3 each), 2n rows as CausalML's.
peer:    bench/meta/peer_meta.py: BaseXRegressor(learner=LGBMRegressor(...)).fit_predict(X, w, y,
         p=0.5) / BaseDRRegressor(...).fit_predict(X, w, y, p=0.5, seed=1); CausalML's DR uses
         its own 3-way split: 3 rotations, each with mu_0, mu_1 on one third (~1/6 of the rows
         each) and tau on another third; 9 fits on 2n rows in all (paribus's DR: 5n), and the
         CATE is the mean of the 3 tau models.
Both: 100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf, min_child_weight 1e-3, no L2,
255 bins, no bagging, no feature subsampling (LightGBM's defaults, which paribus's gbm uses).

Times: paribus's whole-process wall clock (start-up, reading the Parquet file, the fits, the
predictions, writing the CATE file); the peer's fit_predict inside its process (no start-up,
imports or read) and its whole-process wall clock; the ratios peer / paribus of both. A
process's wall clock ends when it ends (the memory and build polling runs on a thread: before
2026-12-06 19:30 UTC the polling loop rounded it up to the next 0.2 s). The
sides run interleaved, --repeats times each (default 3; the fastest of each side is reported,
every run kept). Before each run the script waits (up to --wait-max seconds) until no cargo or
rustc process runs; a run during which one ran (polled once a second), or during which the
machine's other processes used more than 0.1 CPU s per wall s (/proc/stat's busy time less the
run's own user + system time), is marked contended.
Each peer process is capped at --cap seconds (1200) and --peer-max-rss-gib of memory (80% of
the memory available) and killed past either; the report says so.

Peak memory: GNU time's maximum resident set size (/usr/bin/time -v) of each process, or, for
a killed run, the largest RSS of its process tree polled with psutil every 0.2 s.

Accuracy: CATE RMSE = sqrt(mean((cate - tau)^2)) over all the training rows, for both sides,
with tau the true CATE stored in the file; also the correlation of the two CATEs and their
means against the true ATE.

Data (written once to bench/data/, ignored by git, as meta_<rows>x20.parquet; reused while its
metadata tag matches): numpy default_rng([20261208, chunk]) per 1M-row chunk; x0..x19 ~ U[0,1];
w ~ Bernoulli(0.5), int64; tau(x) = 1 + sin(3 x0) + x1 x2 + 0.5 1{x3 > 0.5};
b(x) = 2 sin(pi x0 x4) + 4 (x5 - 0.5)^2 + 2 x6 + x7; y = b(x) + w tau(x) + N(0,1).
Columns: x0..x19, w, y, tau (float64 but w); 1M-row row groups.

Output: bench/meta/results.json (machine, versions, commit, commands, every run, ratios,
targets) when every size is one of the issue's (100k, 1M), merged by (method, rows) with the
entries already there; --out FILE otherwise (or in addition).
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
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

try:
    import psutil
except ImportError:
    psutil = None

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from machine import cpu_name, git_commit, mem_gib  # noqa: E402
OURS = ROOT / "target" / "release" / "paribus"
PEER = HERE / "peer_meta.py"
DATA = ROOT / "bench" / "data"
OUTDIR = DATA / "meta_out"
RESULTS = HERE / "results.json"
GNU_TIME = Path("/usr/bin/time")

GEN_VERSION = "meta-bench-v1"
SEED = 20261208
P = 20
CHUNK = 1_000_000
SIZES = (100_000, 1_000_000)
METHODS = ("x", "dr", "dr-all", "dr-3way")
# dr-all: paribus's DR-learner with one effect model on all rows (--final-fit all, EconML's
# way), against the same CausalML DR run as dr
# dr-3 (a diagnostic): the default DR-learner with 3 folds instead of 5 (--folds 3), the work
# against accuracy trade-off, against the same CausalML DR run as dr
# dr-3way: the DR-learner with Kennedy's three-way split (--cross-fit three-way), CausalML's
# algorithm, against the same CausalML DR run as dr
PARIBUS_METHOD_ARGS = {"dr-all": ["--method", "dr", "--final-fit", "all"],
                       "dr-3": ["--method", "dr", "--folds", "3"],
                       "dr-3way": ["--method", "dr", "--cross-fit", "three-way"]}
PEER_METHOD = {"dr-all": "dr", "dr-3": "dr", "dr-3way": "dr"}
# the T-learner is a diagnostic only (--methods t): the two outcome models alone, no second
# stage, so that the base learners' accuracy can be compared apart from the meta-learners
DIAGNOSTIC_METHODS = ("t", "dr-3")
# the targets: end-to-end speed-up (peer / paribus) by size, and CATE RMSE no worse
SPEEDUP_TARGET = {100_000: 5.0, 1_000_000: 2.0}
BUILDERS = ("cargo", "rustc")

LEARNERS = ("100 trees, learning rate 0.1, 31 leaves, no depth limit, 20 rows per leaf, "
            "min_child_weight 1e-3, no L1/L2, 255 bins, no bagging, no feature subsampling "
            "(LightGBM's defaults) on both sides")
DESIGN = {
    "x": {
        "paribus": "mu_0 on the control rows, mu_1 on the treated rows, tau_0 / tau_1 on the imputed "
                   "effects of each arm; CATE = 0.5 tau_0 + 0.5 tau_1; 4 fits, no cross-fitting",
        "causalml": "the same 4 fits (BaseXRegressor), no cross-fitting; CATE = p tau_0 + (1 - p) tau_1",
    },
    "t": {
        "paribus": "diagnostic: mu_0 on the control rows, mu_1 on the treated rows; CATE = mu_1 - mu_0; 2 fits",
        "causalml": "diagnostic: the same 2 fits (BaseTRegressor); CATE = mu_1 - mu_0",
    },
    "dr-all": {
        "paribus": "5-fold cross-fitting as dr, then one effect model on all rows (--final-fit all, "
                   "EconML's way): 10 outcome fits on ~0.4 n rows + 1 effect fit on n",
        "causalml": "the same CausalML run as dr",
    },
    "dr-3way": {
        "paribus": "Kennedy's three-way split (--cross-fit three-way), CausalML's algorithm: 3 seeded parts; "
                   "the pseudo-outcomes of part t from mu_0, mu_1 fitted on the arms of part t + 2 (mod 3) "
                   "(part t + 1, the propensity's, unused: p is known); one effect model on each part; "
                   "CATE = the mean of the 3: 6 outcome fits on ~n/6 rows + 3 effect fits on n/3 (2 n rows fitted)",
        "causalml": "the same CausalML run as dr (the same algorithm; its parts are its own KFold's)",
    },
    "dr-3": {
        "paribus": "diagnostic: dr with 3 folds (--folds 3): 6 outcome fits on ~0.33 n rows + 3 effect "
                   "fits on n/3 (3 n rows fitted)",
        "causalml": "the same CausalML run as dr",
    },
    "dr": {
        "paribus": "5-fold cross-fitting: per fold mu_0 and mu_1 on the other 4/5 (each arm's rows), "
                   "the out-of-fold pseudo-outcome of every row, one effect model on each fold's rows "
                   "(the default --final-fit folds); CATE = the mean of the 5 effect models: 10 outcome "
                   "fits on ~0.4 n rows + 5 effect fits on 0.2 n (5 n rows fitted)",
        "causalml": "CausalML's own 3-way split (KFold(3, shuffle=True, random_state=seed)): in each of "
                    "3 rotations mu_0, mu_1 on the arms of one third, tau on the pseudo-outcome of another "
                    "third (the last third would fit the propensity, not needed with p given); CATE = the "
                    "mean of the 3 tau models; 9 fits on 2 n rows in all; predict also evaluates the 6 "
                    "outcome models on every row",
    },
}


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------


def tau_fn(x):
    return 1.0 + np.sin(3.0 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * (x[:, 3] > 0.5)


def baseline_fn(x):
    return (2.0 * np.sin(np.pi * x[:, 0] * x[:, 4]) + 4.0 * (x[:, 5] - 0.5) ** 2 + 2.0 * x[:, 6]
            + x[:, 7])


def dgp_chunk(rng, n):
    x = rng.random((n, P))
    w = (rng.random(n) < 0.5).astype(np.int64)
    tau = tau_fn(x)
    y = baseline_fn(x) + w * tau + rng.standard_normal(n)
    cols = {f"x{j}": np.ascontiguousarray(x[:, j]) for j in range(P)}
    cols.update({"w": w, "y": y, "tau": tau})
    return pa.table(cols)


def generate(n: int) -> Path:
    path = DATA / f"meta_{n}x{P}.parquet"
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
    """Reads the file once, so that both sides find it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---------------------------------------------------------------------------------------
# contention: no cargo / rustc while a timed run runs
# ---------------------------------------------------------------------------------------


def builders_running():
    """Names of running cargo / rustc processes (pgrep -x cargo || pgrep rustc)."""
    if psutil is not None:
        seen = set()
        for p in psutil.process_iter(["name"]):
            name = (p.info.get("name") or "")
            if name == "cargo" or "rustc" in name:
                seen.add(name)
        return sorted(seen)
    seen = []
    if subprocess.run(["pgrep", "-x", "cargo"], capture_output=True).returncode == 0:
        seen.append("cargo")
    if subprocess.run(["pgrep", "rustc"], capture_output=True).returncode == 0:
        seen.append("rustc")
    return seen


def wait_idle(wait_max):
    """Waits until no cargo / rustc runs (polling every 5 s, at most wait_max s); returns the
    seconds waited and whether the machine was still busy when the wait ended."""
    start = time.perf_counter()
    announced = False
    while builders_running():
        if time.perf_counter() - start > wait_max:
            print(f"  still building after {wait_max:.0f} s: running anyway (marked contended)", flush=True)
            return round(time.perf_counter() - start, 1), True
        if not announced:
            print("  waiting for cargo / rustc to finish ...", flush=True)
            announced = True
        time.sleep(5)
    return round(time.perf_counter() - start, 1), False


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


OTHER_CPU_LIMIT = 0.10  # other processes' CPU s per wall s above which a run is marked contended


def busy_cpu_s():
    """CPU seconds the whole machine has spent busy since boot (/proc/stat: all but idle and
    iowait), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(v[:8]) - v[3] - v[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def measure(cmd, threads, cap=None, max_rss_gib=None):
    """Runs cmd in its own process group under GNU time, killed past `cap` seconds or
    `max_rss_gib` of RSS (its process tree, polled). Returns status ("ok", "timeout", "memory",
    "error"), wall s, peak RSS MiB, whether cargo / rustc ran meanwhile, stdout, stderr."""
    cmd = [str(c) for c in cmd]
    full = ["/usr/bin/time", "-v", *cmd] if GNU_TIME.exists() else cmd
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "RAYON_NUM_THREADS"):
        env[k] = str(threads)
    OUTDIR.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    busy_before, self_before = busy_cpu_s(), os.times()
    with tempfile.TemporaryFile("w+", dir=OUTDIR) as fo, tempfile.TemporaryFile("w+", dir=OUTDIR) as fe:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fo, stderr=fe, env=env, start_new_session=True)
        ps = psutil.Process(proc.pid) if psutil is not None else None
        # polled every 0.2 s on a thread; the wall clock is taken when the process ends (a
        # poll loop in this thread would round it up to the next poll, up to 0.2 s)
        polled, contended, flag = [0], set(), []
        done = threading.Event()

        def watch():
            tick = 0
            while not done.wait(0.2):
                if ps is not None:
                    polled[0] = max(polled[0], tree_rss(ps))
                    if max_rss_gib and polled[0] > max_rss_gib * 2**30:
                        flag.append("memory")
                if tick % 5 == 0:  # once a second
                    contended.update(builders_running())
                tick += 1
                if cap and time.perf_counter() - start > cap:
                    flag.append("timeout")
                if flag:
                    os.killpg(proc.pid, signal.SIGKILL)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        proc.wait()
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
        status = flag[0] if flag else None
        polled = polled[0]
        busy_after, self_after = busy_cpu_s(), os.times()
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    if status is None:
        status = "ok" if proc.returncode == 0 else "error"
    ok_rss = rss is not None and status == "ok"
    peak = int(rss.group(1)) / 1024 if ok_rss else polled / 2**20
    # the CPU time of every other process during the run: the machine's busy time less the
    # child's (GNU time's user + system) and this script's own (its polling)
    user = re.search(r"User time \(seconds\): ([\d.]+)", err)
    system = re.search(r"System time \(seconds\): ([\d.]+)", err)
    other = None
    if busy_before is not None and busy_after is not None and user and system:
        mine = (self_after.user - self_before.user) + (self_after.system - self_before.system)
        other = max(0.0, busy_after - busy_before - float(user.group(1)) - float(system.group(1)) - mine)
    return {"status": status, "wall_s": round(wall, 3), "peak_rss_mib": round(peak, 1),
            "peak_rss_source": "GNU time" if ok_rss else "psutil polling",
            "returncode": proc.returncode, "loadavg_1min_before": round(load_before, 2),
            "builders_seen": sorted(contended),
            "child_cpu_s": round(float(user.group(1)) + float(system.group(1)), 2) if user and system else None,
            "other_cpu_s": None if other is None else round(other, 2),
            "other_cpu_per_wall_s": None if other is None else round(other / max(wall, 1e-9), 3),
            "stdout": out, "stderr": err}


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    i = text.find("{")
    if i >= 0:
        try:
            return json.loads(text[i:])
        except ValueError:
            return None
    return None


def tail(text, n=2000):
    text = "\n".join(l for l in text.splitlines() if not l.startswith("\t"))  # GNU time's report
    return text[-n:]


def small(v):
    """The paribus JSON without long per-row lists."""
    if isinstance(v, dict):
        return {k: small(x) for k, x in v.items()}
    if isinstance(v, list):
        return [small(x) for x in v[:20]] + ([f"... {len(v) - 20} more"] if len(v) > 20 else [])
    return v


# ---------------------------------------------------------------------------------------
# the two sides
# ---------------------------------------------------------------------------------------


def paribus_cmd(binary, path, method, threads, out):
    return [binary, "uplift", "fit", "--data", path, "--outcome", "y", "--treatment", "w",
            "--covariates", "x*", *PARIBUS_METHOD_ARGS.get(method, ["--method", method]),
            "--learner", "gbm", "--propensity", "0.5",
            "--threads", threads, "--seed", "1", "--out", out, "--json"]


def peer_cmd(path, method, threads, out):
    return [sys.executable, PEER, PEER_METHOD.get(method, method), path, threads, out, "--seed", "1"]


def read_paribus_cate(path):
    t = pq.read_table(path)
    names = t.column_names
    col = "cate" if "cate" in names else next(c for c in names if c.startswith("cate"))
    return t.column(col).to_numpy().astype(np.float64)


def accuracy(cate, tau):
    return {"cate_rmse": float(np.sqrt(np.mean((cate - tau) ** 2))),
            "cate_mean": float(np.mean(cate)),
            "cate_bias": float(np.mean(cate - tau))}


def timing_record(r, waited, busy):
    """The timing and contention fields of one measured run `r` (from `measure`), after waiting
    `waited` s for the machine to go idle (`busy`: it did not)."""
    rec = {k: r[k] for k in ("status", "wall_s", "peak_rss_mib", "peak_rss_source",
                             "loadavg_1min_before", "builders_seen", "child_cpu_s", "other_cpu_s",
                             "other_cpu_per_wall_s")}
    rec["waited_for_build_s"] = waited
    rec["contended"] = bool(busy or r["builders_seen"]
                            or (r["other_cpu_per_wall_s"] or 0.0) > OTHER_CPU_LIMIT)
    return rec


def run_paribus(binary, path, method, n, threads, tau, wait_max):
    waited, busy = wait_idle(wait_max)
    out = OUTDIR / f"paribus_{method}_{n}.parquet"
    if out.exists():
        out.unlink()
    r = measure(paribus_cmd(binary, path, method, threads, out), threads)
    rec = timing_record(r, waited, busy)
    if r["status"] != "ok":
        rec["error"] = tail(r["stderr"])
        return rec
    doc = last_json(r["stdout"]) or {}
    rec["n"] = doc.get("n_obs")
    rec["estimates"] = small(doc.get("estimates", []))
    rec["diagnostics"] = small(doc.get("diagnostics", {}))
    rec["warnings"] = doc.get("warnings", [])
    cate = read_paribus_cate(out)
    if cate.shape[0] != n:
        sys.exit(f"paribus wrote {cate.shape[0]} CATE rows for {n} rows")
    rec.update(accuracy(cate, tau))
    rec["_cate"] = cate
    return rec


def run_peer(path, method, n, threads, tau, cap, max_rss_gib, wait_max):
    waited, busy = wait_idle(wait_max)
    out = OUTDIR / f"causalml_{method}_{n}.npy"
    if out.exists():
        out.unlink()
    r = measure(peer_cmd(path, method, threads, out), threads, cap=cap, max_rss_gib=max_rss_gib)
    rec = timing_record(r, waited, busy)
    if r["status"] != "ok":
        rec["error"] = tail(r["stderr"])
        return rec
    doc = last_json(r["stdout"]) or {}
    rec.update(doc)
    cate = np.load(out)
    if cate.shape[0] != n:
        sys.exit(f"CausalML wrote {cate.shape[0]} CATE rows for {n} rows")
    rec.update(accuracy(cate, tau))
    rec["_cate"] = cate
    return rec


# ---------------------------------------------------------------------------------------
# machine and versions
# ---------------------------------------------------------------------------------------


def binary_info(binary):
    """The binary that ran: path, size, modification time (UTC) and SHA-256."""
    import hashlib
    b = Path(binary)
    h = hashlib.sha256()
    with open(b, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    st = b.stat()
    return {"path": str(b), "bytes": st.st_size,
            "mtime_utc": datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M:%S"), "sha256": h.hexdigest()}


def paribus_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return out.stdout.strip() or None


def paribus_ready(binary):
    if not Path(binary).exists():
        return False, f"{binary} is missing (cargo build --release -p paribus-cli)"
    out = subprocess.run([binary, "uplift", "fit", "--help"], capture_output=True, text=True)
    if out.returncode != 0:
        first = ((out.stderr or out.stdout).strip().splitlines() or [""])[0]
        return False, f"this build of paribus has no `uplift fit` ({first[:200]})"
    return True, None


# ---------------------------------------------------------------------------------------
# one configuration
# ---------------------------------------------------------------------------------------


def best(runs):
    ok = [r for r in runs if r["status"] == "ok"]
    return min(ok, key=lambda r: r["wall_s"]) if ok else (runs[-1] if runs else None)


def bench_one(a, method, n):
    path = generate(n)
    warm(path)
    tau = pq.read_table(path, columns=["tau"]).column("tau").to_numpy()
    print(f"\n{method.upper()}-learner, {n:,} rows x {P} covariates", flush=True)
    ours_runs, peer_runs = [], []
    peer_failed = False
    for rep in range(a.repeats):
        o = run_paribus(a.paribus, path, method, n, a.threads, tau, a.wait_max)
        if o["status"] != "ok":
            sys.exit(f"paribus failed ({o['status']}):\n{o.get('error', '')}")
        ours_runs.append(o)
        print(f"  [{rep + 1}] paribus  {o['wall_s']:8.2f} s  {o['peak_rss_mib']:7.0f} MiB  "
              f"RMSE {o['cate_rmse']:.4f}" + ("  (contended)" if o["contended"] else ""), flush=True)
        if not peer_failed:
            p = run_peer(path, method, n, a.threads, tau, a.cap, a.peer_max_rss_gib, a.wait_max)
            peer_runs.append(p)
            if p["status"] != "ok":
                peer_failed = True
                print(f"  [{rep + 1}] CausalML {p['status']} after {p['wall_s']:.0f} s "
                      f"({p['peak_rss_mib']:.0f} MiB): no further peer runs", flush=True)
            else:
                print(f"  [{rep + 1}] CausalML {p['wall_s']:8.2f} s  {p['peak_rss_mib']:7.0f} MiB  "
                      f"RMSE {p['cate_rmse']:.4f}  (fit_predict {p['fit_predict_s']:.2f} s, "
                      f"LightGBM {p['learner_s']:.2f} s)" + ("  (contended)" if p["contended"] else ""),
                      flush=True)
    o, p = best(ours_runs), best(peer_runs)
    row = {
        "method": method,
        "rows": n,
        "covariates": P,
        "data": str(path.relative_to(ROOT)),
        "true_ate": float(np.mean(tau)),
        "design": DESIGN[method],
        "paribus_command": " ".join(map(str, paribus_cmd("paribus", path.relative_to(ROOT), method,
                                                         a.threads, "CATE.parquet"))),
        "peer_command": " ".join(map(str, [Path(sys.executable).name, PEER.relative_to(ROOT),
                                           PEER_METHOD.get(method, method),
                                           path.relative_to(ROOT), a.threads, "CATE.npy", "--seed", "1"])),
    }
    o_cate, p_cate = o.pop("_cate", None), (p.pop("_cate", None) if p else None)
    for r in ours_runs + peer_runs:
        r.pop("_cate", None)
    row["paribus"] = dict(o, wall_s_all=[r["wall_s"] for r in ours_runs],
                          peak_rss_mib_all=[r["peak_rss_mib"] for r in ours_runs],
                          cate_rmse_all=[r["cate_rmse"] for r in ours_runs],
                          contended_all=[r["contended"] for r in ours_runs])
    peer_ok = p is not None and p["status"] == "ok"
    if peer_ok:
        row["causalml_lightgbm"] = dict(
            p, wall_s_all=[r["wall_s"] for r in peer_runs],
            fit_predict_s_all=[r.get("fit_predict_s") for r in peer_runs],
            peak_rss_mib_all=[r["peak_rss_mib"] for r in peer_runs],
            cate_rmse_all=[r.get("cate_rmse") for r in peer_runs],
            contended_all=[r["contended"] for r in peer_runs],
            status_all=[r["status"] for r in peer_runs])
        fp = min(r["fit_predict_s"] for r in peer_runs if r["status"] == "ok")
        wall = p["wall_s"]
        row["causalml_lightgbm"]["fit_predict_s"] = fp
        row["ratio_peer_fit_predict_over_paribus_wall"] = round(fp / o["wall_s"], 3)
        row["ratio_peer_wall_over_paribus_wall"] = round(wall / o["wall_s"], 3)
        row["peak_rss_ratio_paribus_over_peer"] = round(o["peak_rss_mib"] / p["peak_rss_mib"], 4)
        row["cate_rmse_ratio_paribus_over_peer"] = round(o["cate_rmse"] / p["cate_rmse"], 4)
        row["cate_correlation"] = float(np.corrcoef(o_cate, p_cate)[0, 1])
        row["cate_rmse_between"] = float(np.sqrt(np.mean((o_cate - p_cate) ** 2)))
        tgt = None if method in DIAGNOSTIC_METHODS else SPEEDUP_TARGET.get(n)
        row["targets"] = {
            "speedup": {"target": tgt,
                        "measure": "CausalML fit_predict (in process) / paribus whole process",
                        "value": row["ratio_peer_fit_predict_over_paribus_wall"],
                        "met": None if tgt is None else row["ratio_peer_fit_predict_over_paribus_wall"] >= tgt,
                        "met_whole_process": None if tgt is None else row["ratio_peer_wall_over_paribus_wall"] >= tgt},
            "cate_rmse_no_worse": o["cate_rmse"] <= p["cate_rmse"],
        }
    else:
        row["causalml_lightgbm"] = dict(p or {}, runs=peer_runs,
                                        note=f"did not finish within the cap ({a.cap:.0f} s, "
                                             f"{a.peer_max_rss_gib:.1f} GiB)")
        row["targets"] = {"speedup": {"target": SPEEDUP_TARGET.get(n), "met": None},
                          "cate_rmse_no_worse": None}
    row["contended"] = any(r["contended"] for r in ours_runs + peer_runs)
    # whether a run that the table reports (the fastest of each side) saw cargo / rustc
    row["reported_runs_contended"] = bool(o["contended"] or (peer_ok and p["contended"]))
    return row


def report(row):
    o, p = row["paribus"], row["causalml_lightgbm"]
    print(f"\n== {row['method'].upper()}-learner, {row['rows']:,} rows (best of {len(o['wall_s_all'])})")
    print(f"  paribus   {o['wall_s']:.2f} s whole process, {o['peak_rss_mib']:.0f} MiB, "
          f"CATE RMSE {o['cate_rmse']:.4f}")
    if p.get("status") != "ok":
        print(f"  CausalML  {p.get('status')}: {p.get('note')}")
        return
    print(f"  CausalML  fit_predict {p['fit_predict_s']:.2f} s, whole process {p['wall_s']:.2f} s "
          f"(import {p['import_s']:.2f}, load {p['load_s']:.2f}; LightGBM {p['learner_s']:.2f} s in "
          f"{p['learner_fits']} fits / {p['learner_predicts']} predicts), {p['peak_rss_mib']:.0f} MiB, "
          f"CATE RMSE {p['cate_rmse']:.4f}")
    t = row["targets"]["speedup"]
    print(f"  ratio CausalML / paribus: {row['ratio_peer_fit_predict_over_paribus_wall']:.2f}x "
          f"(fit_predict), {row['ratio_peer_wall_over_paribus_wall']:.2f}x (whole process)"
          + (f"; target >= {t['target']:g}: {'met' if t['met'] else 'NOT met'}" if t["target"] else ""))
    print(f"  RMSE paribus / CausalML {row['cate_rmse_ratio_paribus_over_peer']:.3f} "
          f"(no worse: {'yes' if row['targets']['cate_rmse_no_worse'] else 'NO'}); CATE correlation "
          f"{row['cate_correlation']:.3f}; ATE true {row['true_ate']:.4f}, paribus {o['cate_mean']:.4f}, "
          f"CausalML {p['cate_mean']:.4f}"
          + ("; a reported run was CONTENDED" if row["reported_runs_contended"]
             else "; (some other run contended)" if row["contended"] else ""))


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--methods", nargs="+", choices=METHODS + DIAGNOSTIC_METHODS, default=list(METHODS),
                    help="x and dr (the issue's); t is a diagnostic of the base learners")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of each side, interleaved; the fastest of each is reported")
    ap.add_argument("--threads", type=int, default=2, help="paribus --threads and LightGBM n_jobs")
    ap.add_argument("--cap", type=float, default=1200.0, help="seconds before a peer run is killed")
    avail = mem_gib("MemAvailable") or 16.0
    ap.add_argument("--peer-max-rss-gib", type=float, default=round(0.8 * avail, 1))
    ap.add_argument("--wait-max", type=float, default=3600.0,
                    help="longest wait for cargo / rustc to finish before a run")
    ap.add_argument("--paribus", type=Path, default=OURS)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if a.repeats < 1:
        sys.exit("--repeats must be at least 1")
    ok, why = paribus_ready(a.paribus)
    if not ok:
        sys.exit(why)
    binary_before = binary_info(a.paribus)
    default_sizes = all(n in SIZES for n in a.rows)
    rows = []
    for n in sorted(a.rows):
        for method in a.methods:
            rows.append(bench_one(a, method, n))
            rows[-1]["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            rows[-1]["paribus_binary"] = binary_before
            rows[-1]["repository_commit_at_run"] = git_commit()
            report(rows[-1])
    peer_versions = next((r["causalml_lightgbm"].get("versions") for r in rows
                          if r["causalml_lightgbm"].get("versions")), None)
    header = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "memory_gib": mem_gib("MemTotal"),
                    "python": platform.python_version(), "os": platform.platform()},
        "paribus": {"version": paribus_version(a.paribus), "commit": git_commit(),
                    "binary": binary_before,
                    "binary_changed_during_the_run": binary_info(a.paribus)["sha256"] != binary_before["sha256"],
                    "target_release_paribus": binary_info(OURS) if OURS.exists() else None},
        "peer_versions": peer_versions,
        "threads": a.threads,
        "repeats": a.repeats,
        "cap_s": a.cap,
        "peer_max_rss_gib": a.peer_max_rss_gib,
        "learners": LEARNERS,
        "propensity": "known, 0.5 for every row, given to both (paribus --propensity 0.5; CausalML "
                      "p = np.full(n, 0.5)): neither fits a propensity model",
        "timing": "paribus: whole-process wall clock (start-up, Parquet read, fits, predictions, the "
                  "CATE file); CausalML: fit_predict inside its process (fit_predict_s) and its whole "
                  "process (wall_s: interpreter start-up, imports, read, fit_predict, saving the CATE); "
                  "process wall clocks from the start to the end of the process (wait, not polling); "
                  "interleaved runs, the fastest of each side reported",
        "peak_memory": "GNU time (/usr/bin/time -v) maximum RSS; psutil polling for killed runs",
        "contention": "before each run the script waits until no cargo / rustc process runs; a run "
                      "during which one was seen (polled once a second), or during which the other "
                      "processes of the machine used more than "
                      f"{OTHER_CPU_LIMIT:g} CPU s per wall s (other_cpu_s: /proc/stat's busy time less "
                      "the run's own user + system time and the script's), is marked contended",
        "accuracy": "CATE RMSE = sqrt(mean((cate - tau)^2)) over all training rows against the true "
                    "tau of the simulation",
        "dgp": "x0..x19 ~ U[0,1]; w ~ Bernoulli(0.5); tau = 1 + sin(3 x0) + x1 x2 + 0.5 1{x3 > 0.5}; "
               "y = 2 sin(pi x0 x4) + 4 (x5 - 0.5)^2 + 2 x6 + x7 + w tau + N(0,1); seed "
               f"{SEED} (one stream per 1M-row chunk)",
        "notes": [
            "CausalML's DR-learner cross-fits with its own 3-way split (3 rotations; the outcome "
            "models on one third, the effect model on another), paribus's with 5 folds (the outcome "
            "models on 4/5, one effect model per fold, averaged; dr-all: one on all rows): the "
            "averaging is the same, the splits are not, and the amounts of work differ (CausalML "
            "fits 2 n rows in 9 fits, paribus 5 n rows in 15 fits, dr-all 11).",
            "CausalML's fit_predict is called with verbose=False: no in-sample error metrics of "
            "the outcome models (extra predictions that paribus does not make).",
        ],
    }
    entries = rows
    if default_sizes:
        old = {}
        if RESULTS.exists():
            try:
                old = json.loads(RESULTS.read_text()).get("results", {})
            except ValueError:
                old = {}
        merged = dict(old)
        for r in rows:
            merged[f"{r['method']}/{r['rows']}"] = r
        order = [f"{m}/{n}" for n in SIZES for m in METHODS + DIAGNOSTIC_METHODS]
        merged = {k: merged[k] for k in order if k in merged} | {k: v for k, v in merged.items()
                                                                  if k not in order}
        RESULTS.write_text(json.dumps({**header, "results": merged}, indent=1) + "\n")
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    if a.out:
        a.out.write_text(json.dumps({**header, "results": {f"{r['method']}/{r['rows']}": r
                                                           for r in entries}}, indent=1) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
