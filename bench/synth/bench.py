"""Benchmark (issue #5): SDID with placebo standard errors on a panel of 1,000 units x 100
periods, paribus against the Python port of synthdid (d2cml-ai `synthdid`, pinned in
tools/golden/requirements-synth.txt), side by side on the same CSV file.

    python bench/synth/bench.py [--units 1000] [--periods 100] [--reps 200] [--py-reps 200]

The panel: 50 treated units adopting at period 81, a rank-2 AR(1) factor structure, unit and time
effects (numpy, seed 5). Both tools read the same CSV; paribus runs with 200 placebo replications.
The Python port is slow, so `--py-reps` can run fewer placebo replications; its placebo time is
then scaled to `--reps` (each replication is one full re-estimation, so time is linear in the
count) and the report says so. Results go to bench/synth/results.json.
"""
import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_panel(path: Path, n: int, t: int, n1: int, t0: int) -> None:
    rng = np.random.default_rng(5)
    alpha = rng.normal(size=n) + np.where(np.arange(n) >= n - n1, 1.0, 0.0)
    beta = 0.05 * np.arange(t) + 0.3 * rng.normal(size=t)
    v = np.zeros((t, 2))
    v[0] = rng.normal(size=2)
    for s in range(1, t):
        v[s] = 0.8 * v[s - 1] + 0.6 * rng.normal(size=2)
    u = rng.normal(size=(n, 2))
    u[n - n1:, 0] += 0.5
    y = alpha[:, None] + beta[None, :] + u @ v.T + rng.normal(size=(n, t))
    d = np.zeros((n, t), dtype=int)
    d[n - n1:, t0:] = 1
    y = y + d * 1.0
    df = pd.DataFrame({
        "unit": np.repeat([f"u{i:04d}" for i in range(n)], t),
        "time": np.tile(np.arange(1, t + 1), n),
        "y": y.ravel(),
        "treated": d.ravel(),
    })
    df.to_csv(path, index=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--periods", type=int, default=100)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--py-reps", type=int, default=200)
    ap.add_argument("--paribus", default="target/release/paribus")
    args = ap.parse_args()
    path = Path("bench/data/synth_panel.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    make_panel(path, args.units, args.periods, 50, args.periods - 20)

    t = time.perf_counter()
    out = subprocess.run(
        [args.paribus, "synth", "sdid", "--data", str(path), "--unit", "unit", "--time", "time",
         "--outcome", "y", "--treatment", "treated", "--replications", str(args.reps),
         "--in-time-placebo", "0", "--json", "--seed", "1"],
        check=True, capture_output=True, text=True)
    paribus_s = time.perf_counter() - t
    res = json.loads(out.stdout)
    p_att = res["estimates"][0]["estimate"]
    p_se = res["estimates"][0]["std_error"]
    t = time.perf_counter()
    subprocess.run(
        [args.paribus, "synth", "sdid", "--data", str(path), "--unit", "unit", "--time", "time",
         "--outcome", "y", "--treatment", "treated", "--se", "none", "--in-time-placebo", "0",
         "--json"], check=True, capture_output=True, text=True)
    paribus_fit_s = time.perf_counter() - t

    from synthdid.synthdid import Synthdid
    t = time.perf_counter()
    df = pd.read_csv(path)
    m = Synthdid(df, "unit", "time", "treated", "y").fit()
    py_fit_s = time.perf_counter() - t
    t = time.perf_counter()
    m.vcov(method="placebo", n_reps=args.py_reps)
    py_placebo_s = (time.perf_counter() - t) * args.reps / args.py_reps
    py_total = py_fit_s + py_placebo_s
    report = {
        "panel": {"units": args.units, "periods": args.periods, "treated": 50, "pre_periods": args.periods - 20},
        "placebo_replications": args.reps,
        "python_replications_run": args.py_reps,
        "paribus": {"seconds": round(paribus_s, 3), "fit_seconds": round(paribus_fit_s, 3), "att": p_att, "se": p_se},
        "python_synthdid": {"seconds": round(py_total, 3), "fit_seconds": round(py_fit_s, 3),
                             "placebo_seconds_scaled": round(py_placebo_s, 3), "att": float(m.att), "se": float(m.se)},
        "ratio": round(py_total / paribus_s, 1),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "note": "paribus reads the CSV and fits in one process; the Python time includes pandas.read_csv",
    }
    Path("bench/synth/results.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
