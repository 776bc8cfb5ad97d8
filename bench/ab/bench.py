"""Benchmark: `paribus ab` against the same analysis in Python (pandas + numpy + scipy), side by
side on one Parquet file of simulated units, with the time it takes paribus just to read the
columns as the floor.

Run from the repository root (see bench/README.md):

    /work/venv-bench/bin/python bench/ab/bench.py [--rows 10000000] [--repeat 3]

Targets (issue #2): paribus at least 10x faster than the Python path, and within 3x of the time
it takes to read the columns.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
COLUMNS = ["arm", "watch", "pre_watch", "watch_seconds", "views"]


def generate(path: Path, rows: int) -> None:
    """Writes `rows` simulated viewers (10 columns, 5 of them unused filler) in 1M-row groups."""
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261124)
    chunk = 1_000_000
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        t = rng.random(n) < 0.5
        pre = rng.lognormal(3.0, 0.9, n)
        watch = 0.8 * pre + 10.0 + 0.5 * t + 8.0 * (rng.exponential(1.0, n) - 1.0)
        views = 1 + rng.poisson(0.05 * pre + 0.3 * t)
        table = pa.table({
            "arm": pa.array(np.where(t, "treatment", "control")),
            "pre_watch": pre,
            "watch": watch,
            "views": views.astype(np.int64),
            "watch_seconds": 60.0 * watch,
            "f1": rng.random(n),
            "f2": rng.normal(size=n),
            "f3": rng.integers(0, 100, n),
            "f4": rng.random(n),
            "f5": rng.integers(0, 2, n),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=chunk)
    writer.close()


def run(cmd):
    """Runs `cmd` under GNU time; returns (seconds, peak RSS in MiB, stdout).

    Peak memory comes from `/usr/bin/time -f %M`, not from this process's `wait4`: a child forked
    from this (large, numpy-loaded) Python process would count the parent's pages in its maximum
    RSS before it execs.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as rss:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *map(str, cmd)],
                              stdout=out, stderr=err)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {err.read().decode()}")
        peak_kib = int(rss.read().strip().splitlines()[-1])
        return elapsed, peak_kib / 1024.0, out.read().decode()


def measure(name, cmd, repeat):
    run(cmd)  # warm-up: page cache
    times, peaks, stdout = [], [], ""
    for _ in range(repeat):
        t, m, stdout = run(cmd)
        times.append(t)
        peaks.append(m)
    return {"name": name, "cmd": [str(c) for c in cmd], "median_s": statistics.median(times),
            "times_s": times, "peak_rss_mib": max(peaks), "stdout": stdout}


def label(est, name):
    for e in est:
        if e["label"] == name:
            return e
    sys.exit(f"paribus output lacks {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out-dir", default="bench/data")
    ap.add_argument("--paribus", default="target/release/paribus")
    ap.add_argument("--reader", default="target/release/examples/read_columns")
    args = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("GNU time is needed for peak memory: apt-get install time")
    for exe in (args.paribus, args.reader):
        if not Path(exe).exists():
            sys.exit(f"{exe} not found: run `cargo build --release -p paribus-cli -p paribus-io --bins --examples` first")

    data = Path(args.out_dir) / f"ab_{args.rows}.parquet"
    generate(data, args.rows)

    paribus_cmd = [args.paribus, "ab", "--data", data, "--arm", "arm", "--control", "control",
                   "--metric", "watch", "--pre", "pre_watch", "--ratio", "watch_seconds/views",
                   "--split", "50,50", "--json"]
    results = [
        measure("paribus ab (CUPED + ratio + SRM)", paribus_cmd, args.repeat),
        measure("python: pandas + numpy + scipy", [sys.executable, HERE / "peer_ab.py", data], args.repeat),
        measure("paribus: read the 5 columns into memory", [args.reader, data, *COLUMNS], args.repeat),
        measure("paribus: decode the 5 columns (parallel scan)", [args.reader, "--scan", data, *COLUMNS],
                args.repeat),
    ]
    par, py, read, decode = results

    # the two paths must agree before their times mean anything
    est = json.loads(par["stdout"])["estimates"]
    peer = json.loads(py["stdout"])
    checks = {
        "cuped_diff": (label(est, "diff(watch:treatment)")["estimate"], peer["cuped_diff"]),
        "cuped_se": (label(est, "diff(watch:treatment)")["std_error"], peer["cuped_se"]),
        "plain_diff": (label(est, "diff_unadjusted(watch:treatment)")["estimate"], peer["plain_diff"]),
        "ratio_diff": (label(est, "diff(watch_seconds/views:treatment)")["estimate"], peer["ratio_diff"]),
        "ratio_se": (label(est, "diff(watch_seconds/views:treatment)")["std_error"], peer["ratio_se"]),
    }
    for k, (a, b) in checks.items():
        rel = abs(a - b) / abs(b)
        if rel > 1e-6:
            sys.exit(f"paribus and the peer disagree on {k}: {a} vs {b}")
    read_info = json.loads(read["stdout"])

    speedup = py["median_s"] / par["median_s"]
    over_read = par["median_s"] / read["median_s"]
    over_decode = par["median_s"] / decode["median_s"]
    mem_ratio = read["peak_rss_mib"] / (read_info["kept_bytes"] / 2**20)
    print(f"\n{args.rows:,} units, {data} ({data.stat().st_size / 2**20:.0f} MiB), median of {args.repeat}\n")
    print("| command | median s | peak RSS MiB |")
    print("|---|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {r['median_s']:.3f} | {r['peak_rss_mib']:.0f} |")
    print(f"\npython / paribus time: {speedup:.1f}x (target >= 10)")
    print(f"paribus ab / read into memory: {over_read:.2f}x (target <= 3)")
    print(f"paribus ab / decode only (parallel scan): {over_decode:.2f}x (target <= 3)")
    print(f"python / paribus peak memory: {py['peak_rss_mib'] / par['peak_rss_mib']:.1f}x")
    print(f"read-only peak RSS / bytes of the kept columns: {mem_ratio:.2f} (target <= about 2)")
    print("paribus and python agree on every checked number to 1e-6 relative")

    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import pandas, scipy  # noqa: E401  (versions for the record)
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version()},
        "versions": {"numpy": np.__version__, "pandas": pandas.__version__, "pyarrow": pa.__version__,
                     "scipy": scipy.__version__},
        "rows": args.rows,
        "results": [{k: v for k, v in r.items() if k != "stdout"} for r in results],
        "python_over_paribus_time": speedup,
        "paribus_over_read_time": over_read,
        "paribus_over_decode_time": over_decode,
        "read_peak_over_kept_bytes": mem_ratio,
        "agreement": {k: {"paribus": a, "python": b} for k, (a, b) in checks.items()},
    }
    (HERE / "results.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
