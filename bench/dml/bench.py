#!/usr/bin/env python3
"""Double machine learning with gradient-boosted nuisances: `paribus dml plr|irm --learner gbm`
against DoubleML 0.11.4 + LightGBM 4.6.0, side by side on the same Parquet file and the same
5 folds, at 100,000 and 1,000,000 rows x 20 covariates.

Run from the repository root (see bench/README.md):

    /work/venv-dml-bench/bin/python bench/dml/bench.py   # --rows N [N ...] --models plr irm
                                                         # --repeats R --threads T --out FILE

paribus: paribus dml plr|irm --data FILE --outcome y --treatment d --covariates 'x*'
         --learner gbm --fold-column fold --threads T --json
peer:    bench/dml/peer_dml.py: pandas.read_parquet, DoubleMLData, DoubleMLPLR (ml_l, ml_m =
         LGBMRegressor) / DoubleMLIRM (ATE; ml_g = LGBMRegressor, ml_m = LGBMClassifier),
         set_sample_splitting with the fold column.
Both sides: 100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf, 255 bins, no bagging
(LightGBM's defaults, which paribus's gbm uses), T threads (default 2).

Before any time is reported the script checks, for every run, that both sides read the same
number of rows and that their estimates are within 2 standard errors of each other (the
larger of the two SEs; the learners differ, so the estimates are not equal to rounding).

Times: the end-to-end time of each side is the wall clock of its whole process (start-up,
reading the Parquet file, the fits, the output), measured the same way for both; peak RSS is
GNU time's maximum resident set size (`/usr/bin/time -v`). The sides run interleaved,
--repeats times each (default 3); the fastest run of each side is reported and every run is
kept. Steps timed inside each process are reported beside it (the peer: import, load, fit,
and the time inside LightGBM's fit / predict; paribus: `diagnostics.timing`, when the CLI
reports it).

paribus's overhead beyond its nuisance fits: (end-to-end wall - nuisance_fit_s) / end-to-end
wall, where nuisance_fit_s (seconds) is read from diagnostics.timing = {"total_s", "read_s",
"nuisance_fit_s"} in the result or, when `paribus dml` has a --timings flag (the script looks
in its --help and passes it), from the JSON line with that key that it prints on stderr.
Without either, `paribus_overhead_share` is null.

Data: simulated with numpy and written once to bench/data/ (ignored by git) as
dml_<model>_<rows>x20.parquet; a file is reused when its metadata tag (generator version,
model, rows, covariates, seed) matches. x ~ N(0, S), S_jk = 0.5^|j-k| (x1..x20, float64);
m(x) = sin(x1) + 0.5 x2 x3 + 0.25 x4^2; PLR: d = m(x) + N(0, 1); IRM: d ~ Bernoulli(
sigmoid(m(x) - 0.375)) (0.375 = E m(x)), int64; y = 0.5 d + cos(x1) + x2 x5 + 0.5 x6 + N(0, 1);
fold: balanced 5-fold ids 0..4 (a random permutation dealt round-robin), int64. The true
effect is 0.5 in both models (the ATE of the IRM as well: the effect of d is constant).

Results: bench/dml/results.json for a run of the default sizes, --out FILE otherwise.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from machine import cpu_name, git_commit  # noqa: E402
OURS = ROOT / "target" / "release" / "paribus"
PEER = HERE / "peer_dml.py"
DATA = ROOT / "bench" / "data"
GEN_VERSION = "dml-bench-v1"
SIZES = (100_000, 1_000_000)
MODELS = ("plr", "irm")
P = 20
K = 5
SEEDS = {"plr": 20261203, "irm": 20261204}
# the targets of the issue: end-to-end speed-up (peer / paribus) by size; the rest is per run
SPEEDUP_TARGET = {100_000: 5.0, 1_000_000: 2.0}
OVERHEAD_TARGET = 0.10


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------


def generate(model: str, n: int, seed: int | None = None, path: Path | None = None) -> Path:
    """Writes (or reuses) the data set of `model` with n rows: bench/data/dml_<model>_<n>x20.parquet
    from the model's fixed seed by default; seeds.py passes its own seed and path."""
    path = path or DATA / f"dml_{model}_{n}x{P}.parquet"
    seed = SEEDS[model] if seed is None else seed
    tag = f"{GEN_VERSION} model={model} rows={n} covariates={P} seed={seed}"
    if path.exists():
        md = pq.ParquetFile(path).schema_arrow.metadata or {}
        if md.get(b"paribus_bench") == tag.encode():
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    j = np.arange(P)
    chol = np.linalg.cholesky(0.5 ** np.abs(j[:, None] - j[None, :]))
    x = rng.standard_normal((n, P)) @ chol.T
    m = np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] + 0.25 * x[:, 3] ** 2
    if model == "plr":
        d = m + rng.standard_normal(n)
    else:
        d = (rng.random(n) < 1.0 / (1.0 + np.exp(-(m - 0.375)))).astype(np.int64)
    y = 0.5 * d + np.cos(x[:, 0]) + x[:, 1] * x[:, 4] + 0.5 * x[:, 5] + rng.standard_normal(n)
    fold = np.empty(n, dtype=np.int64)
    fold[rng.permutation(n)] = np.arange(n) % K
    cols = {"y": y, "d": d}
    cols.update({f"x{c + 1}": np.ascontiguousarray(x[:, c]) for c in range(P)})
    cols["fold"] = fold
    table = pa.table(cols)
    table = table.replace_schema_metadata({"paribus_bench": tag})
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=1_000_000)
    tmp.replace(path)
    return path


def warm(path: Path) -> None:
    """Reads the file once, so that both sides find it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---------------------------------------------------------------------------------------
# running and measuring
# ---------------------------------------------------------------------------------------


def run(cmd):
    """Runs cmd under GNU time: (wall s, peak RSS MiB, the JSON document on stdout, the JSON
    lines on stderr)."""
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    text = out.stdout.strip()
    doc = json.loads(text[text.index("{"):])
    extra = []
    for line in out.stderr.splitlines():
        if line.startswith("{"):
            try:
                extra.append(json.loads(line))
            except ValueError:
                pass
    return round(wall, 4), round(int(rss.group(1)) / 1024, 1), doc, extra


def paribus_has_timings_flag():
    """Whether this build of `paribus dml` has --timings (its wall-clock split on stderr)."""
    out = subprocess.run([OURS, "dml", "plr", "--help"], capture_output=True, text=True)
    return "--timings" in out.stdout


def paribus_cmd(model, path, threads, timings):
    return [OURS, "dml", model, "--data", path, "--outcome", "y", "--treatment", "d",
            "--covariates", "x*", "--learner", "gbm", "--fold-column", "fold",
            "--threads", threads, "--json", *(["--timings"] if timings else [])]


def run_paribus(model, path, threads, timings):
    wall, rss, doc, extra = run(paribus_cmd(model, path, threads, timings))
    est = doc["estimates"][0]
    diag = doc.get("diagnostics", {})
    # the time in the nuisance fits: diagnostics.timing in the result, or the JSON line that
    # --timings prints on stderr, with the same fields
    timing = diag.get("timing")
    if not isinstance(timing, dict):
        # `paribus dml --timings` prints {"timings": {"total_s", "read_s", "nuisance_fit_s", ...}}
        timing = next((e.get("timings", e) for e in reversed(extra)
                       if "nuisance_fit_s" in e.get("timings", e)), None)
    fit_s = timing.get("nuisance_fit_s") if isinstance(timing, dict) else None
    return {
        "wall_s": wall,
        "peak_rss_mib": rss,
        "n": doc["n_obs"],
        "estimate": est["estimate"],
        "std_error": est["std_error"],
        # RMSE / log loss, as DoubleML reports them (the AUC that paribus adds is kept apart)
        "nuisance_loss": {l["nuisance"]: l["value"] for l in diag.get("nuisance_loss", [])
                          if l["metric"] != "auc"},
        "nuisance_metric": {l["nuisance"]: l["metric"] for l in diag.get("nuisance_loss", [])
                            if l["metric"] != "auc"},
        "nuisance_auc": {l["nuisance"]: l["value"] for l in diag.get("nuisance_loss", [])
                         if l["metric"] == "auc"},
        "timing": timing,
        # share of the end-to-end wall time outside the nuisance fits
        "overhead_share": None if fit_s is None else round((wall - fit_s) / wall, 4),
        "warnings": doc.get("warnings", []),
    }


def run_peer(model, path, threads):
    wall, rss, doc, _ = run([sys.executable, PEER, model, path, threads])
    doc["wall_s"] = wall
    doc["peak_rss_mib"] = rss
    return doc


def check(model, n, ours, peer):
    """Same rows read; estimates within 2 SEs (the larger) of each other."""
    if ours["n"] != n or peer["n"] != n:
        sys.exit(f"{model} {n}: rows read: paribus {ours['n']}, DoubleML {peer['n']}")
    se = max(ours["std_error"], peer["std_error"])
    gap = abs(ours["estimate"] - peer["estimate"]) / se
    if not gap <= 2.0:
        sys.exit(f"{model} {n}: paribus {ours['estimate']:.5f} (SE {ours['std_error']:.5f}) and DoubleML "
                 f"{peer['estimate']:.5f} (SE {peer['std_error']:.5f}) differ by {gap:.2f} SE")
    missing = set(peer["nuisance_loss"]) ^ set(ours["nuisance_loss"])
    if missing:
        sys.exit(f"{model} {n}: nuisances not reported by both sides: {sorted(missing)}")
    return round(gap, 4)


def version_of_paribus():
    out = subprocess.run([OURS, "--version"], capture_output=True, text=True)
    return out.stdout.strip() or None


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


def bench_one(model, n, repeats, threads, timings):
    path = generate(model, n)
    warm(path)
    ours_runs, peer_runs, gaps = [], [], []
    for _ in range(repeats):
        ours_runs.append(run_paribus(model, path, threads, timings))
        peer_runs.append(run_peer(model, path, threads))
        gaps.append(check(model, n, ours_runs[-1], peer_runs[-1]))
    ours = dict(min(ours_runs, key=lambda r: r["wall_s"]))
    peer = dict(min(peer_runs, key=lambda r: r["wall_s"]))
    ours["wall_s_all"] = [r["wall_s"] for r in ours_runs]
    ours["peak_rss_mib_all"] = [r["peak_rss_mib"] for r in ours_runs]
    ours["overhead_share_all"] = [r["overhead_share"] for r in ours_runs]
    for key in ("wall_s", "peak_rss_mib", "load_s", "fit_s", "learner_s"):
        peer[f"{key}_all"] = [r[key] for r in peer_runs]
    losses = {}
    for nm, theirs in peer["nuisance_loss"].items():
        mine = ours["nuisance_loss"][nm]
        losses[nm] = {"metric": ours["nuisance_metric"][nm], "paribus": mine, "doubleml": theirs,
                      "ratio_paribus_over_doubleml": round(mine / theirs, 5)}
    speedup = round(peer["wall_s"] / ours["wall_s"], 3)
    row = {
        "model": model,
        "rows": n,
        "covariates": P,
        "folds": K,
        "data": str(path.relative_to(ROOT)),
        "paribus": ours,
        "doubleml_lightgbm": peer,
        "estimate_gap_in_se": gaps,
        "nuisance_loss": losses,
        "speedup_end_to_end": speedup,
        # the peer's fit alone (DoubleML.fit, no start-up, imports or read) over paribus's whole process
        "speedup_peer_fit_only": round(peer["fit_s"] / ours["wall_s"], 3),
        "peak_rss_ratio_paribus_over_doubleml": round(ours["peak_rss_mib"] / peer["peak_rss_mib"], 4),
        "paribus_overhead_share": ours["overhead_share"],
        "targets": {
            "speedup_end_to_end": {"target": SPEEDUP_TARGET.get(n), "met": None if n not in SPEEDUP_TARGET
                                   else speedup >= SPEEDUP_TARGET[n]},
            "nuisance_loss_equal_or_better": all(v["paribus"] <= v["doubleml"] for v in losses.values()),
            "peak_rss_below_peer": ours["peak_rss_mib"] < peer["peak_rss_mib"],
            "overhead_share_below": {"target": OVERHEAD_TARGET, "met": None if ours["overhead_share"] is None
                                     else ours["overhead_share"] < OVERHEAD_TARGET},
        },
    }
    return row


def report(row):
    o, p = row["paribus"], row["doubleml_lightgbm"]
    tgt = row["targets"]
    print(f"\n{row['model'].upper()} {row['rows']:,} rows x {row['covariates']} covariates, {row['folds']} folds "
          f"(best of {len(o['wall_s_all'])})")
    print(f"  estimate  paribus {o['estimate']:.5f} (SE {o['std_error']:.5f})   DoubleML {p['estimate']:.5f} "
          f"(SE {p['std_error']:.5f})   gap {max(row['estimate_gap_in_se']):.2f} SE")
    print(f"  end to end  paribus {o['wall_s']:.2f} s   DoubleML+LightGBM {p['wall_s']:.2f} s "
          f"(import {p['import_s']:.2f}, load {p['load_s']:.2f}, fit {p['fit_s']:.2f}, of which LightGBM "
          f"{p['learner_s']:.2f})")
    t = tgt["speedup_end_to_end"]
    print(f"  ratio DoubleML / paribus: {row['speedup_end_to_end']:.2f}x end to end"
          + (f" (target >= {t['target']:g}: {'met' if t['met'] else 'NOT met'})" if t["target"] else "")
          + f"; DoubleML's fit alone / paribus end to end {row['speedup_peer_fit_only']:.2f}x")
    for nm, v in row["nuisance_loss"].items():
        print(f"  {nm:6s} {v['metric']:8s} paribus {v['paribus']:.5f}   DoubleML {v['doubleml']:.5f}   "
              f"ratio {v['ratio_paribus_over_doubleml']:.4f}")
    worst = max(v["ratio_paribus_over_doubleml"] for v in row["nuisance_loss"].values())
    print(f"  nuisance losses at or below DoubleML's on this draw: "
          f"{'yes' if tgt['nuisance_loss_equal_or_better'] else 'no'} (worst paribus / DoubleML {worst:.4f}; "
          f"a draw's losses move with the bin edges by about 0.1% either way: over fresh draws see "
          f"seeds.py, and bin_rows.py for LightGBM against itself)")
    print(f"  peak RSS  paribus {o['peak_rss_mib']:.0f} MiB   DoubleML {p['peak_rss_mib']:.0f} MiB "
          f"(ratio {row['peak_rss_ratio_paribus_over_doubleml']:.2f}; below the peer: "
          f"{'yes' if tgt['peak_rss_below_peer'] else 'NO'})")
    if row["paribus_overhead_share"] is None:
        print("  paribus overhead beyond its nuisance fits: not measured (the CLI reports no "
              "nuisance_fit_s: neither in diagnostics.timing nor in a --timings line on stderr)")
    else:
        print(f"  paribus overhead beyond its nuisance fits: {100 * row['paribus_overhead_share']:.1f}% of "
              f"end to end (target < {100 * OVERHEAD_TARGET:.0f}%)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of each side, interleaved; the fastest of each is reported")
    ap.add_argument("--threads", type=int, default=2, help="paribus --threads and LightGBM n_jobs")
    ap.add_argument("--out", type=Path, help="results file (default: bench/dml/results.json for the "
                                             "default sizes, none otherwise)")
    a = ap.parse_args()
    if not OURS.exists():
        sys.exit(f"build it first: cargo build --release -p paribus-cli ({OURS})")
    if a.repeats < 1:
        sys.exit("--repeats must be at least 1")
    out_path = a.out or (HERE / "results.json" if sorted(a.rows) == list(SIZES) else None)
    timings = paribus_has_timings_flag()
    rows = []
    for n in a.rows:
        for model in a.models:
            rows.append(bench_one(model, n, a.repeats, a.threads, timings))
            report(rows[-1])
    peer_versions = rows[0]["doubleml_lightgbm"]["versions"]
    doc = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
        "paribus": {"version": version_of_paribus(), "commit": git_commit(), "timings_flag": timings},
        "peer": peer_versions,
        "threads": a.threads,
        "repeats": a.repeats,
        "learners": "100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf, min_child_weight 1e-3, "
                    "no L2, 255 bins, no bagging (LightGBM's defaults) on both sides",
        "results": rows,
    }
    if out_path is not None:
        out_path.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"\nwrote {out_path}")


if __name__ == "__main__":
    main()
