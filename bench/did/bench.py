"""Benchmark: `paribus did twfe` against pyfixest and `paribus did cs` against csdid, side by side
on the same Parquet files of a simulated staggered-adoption panel.

Run from the repository root (see bench/README.md):

    /work/venv-did-bench/bin/python bench/did/bench.py [--part A|B|both]
        [--units 1000000 --periods 30]            # part A: TWFE, 30M rows
        [--cs-units 100000 --cs-periods 20]       # part B: Callaway & Sant'Anna
        [--repeat 3] [--peer-repeat 1] [--peer-timeout 1800] [--peer-max-rss-gib G]
        [--peer-only]

Part A: TWFE with unit and time fixed effects and standard errors clustered by unit.
  paribus: paribus did twfe --data FILE --outcome y --treatment d --unit unit --time time
           --cluster unit --json
  peer:    pyfixest feols("y ~ d | unit + time", vcov={"CRV1": "unit"}), timed including
           pandas.read_parquet of the four columns.
  Target: paribus at least 5x faster than pyfixest.
Part B: Callaway & Sant'Anna ATT(g,t), no covariates, never-treated controls, dr, analytic SEs.
  paribus: paribus did cs --data FILE --outcome y --unit unit --time time --cohort cohort
           --se analytic --json
  peer:    csdid ATTgt(...).fit(est_method="dr", bstrap=False) plus aggte(typec="simple").
  If csdid runs longer than --peer-timeout or its process tree grows beyond --peer-max-rss-gib
  (default: 80% of the memory available at start), it is stopped and retried on a panel with
  half the units, down to 1,000 units; the output says so and the ratio is reported at the
  size both ran (paribus is then also timed at that size). The same limits stop pyfixest in
  part A, with an error instead of a retry.

Both tools must agree before any time is reported: the TWFE coefficient and SE to 1e-6
relative; every ATT(g,t) cell and ATT(simple), estimate and SE, to 1e-6 (estimates relative
to max(|estimate|, SE), since pre-period cells are near zero; SEs relative).

Data: generated once with numpy (seed 20261201 for part A, 20261202 for part B) and written
to bench/data/ (ignored by git): did_twfe_<units>x<periods>.parquet and
did_cs_<units>x<periods>.parquet, sorted by (unit, time), about 1M rows per row group.
Columns: unit, time (1..periods), d (0/1, staggered absorbing), y (float64), cohort (first
treated period, 0 for never treated), all integers int64.

Times: paribus is the wall clock of its process (median of --repeat runs after one warm-up).
The peer's headline time is measured inside its process (read + fit for A; fit + simple
aggregation for B, with the Parquet read reported beside it), which leaves out interpreter
start-up and imports; the wall clock of the whole peer process is reported too. Peak RSS of
each process comes from GNU time (`/usr/bin/time -f %M`). --peer-only runs only the Python
side (no paribus binary needed) and reports its numbers without a comparison.
Results (full runs only) go to bench/did/results.json.
"""
import argparse
import datetime
import json
import os
import platform
import re
import signal
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
PEER = HERE / "peer_did.py"
GEN_VERSION = "did-bench-v1"
TOL = 1e-6


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------


def cohorts_for(periods):
    """Adoption periods 4, 7, 10, ... up to the last period (every unit is untreated in 1..3)."""
    if periods < 4:
        sys.exit("--periods must be at least 4")
    return np.arange(4, periods + 1, 3)


def generate(path: Path, units: int, periods: int, seed: int) -> None:
    """A balanced panel sorted by (unit, time), written in chunks of whole units.

    40% of the units are never treated; the rest adopt in one of `cohorts_for(periods)` with
    equal probability and stay treated. y = a_i + b_t + tau_{g,e} d_it + e_it with unit
    effects correlated with the cohort, a trend, and an effect that grows with exposure
    e = t - g and differs by cohort.
    """
    tag = f"{GEN_VERSION} units={units} periods={periods} seed={seed}"
    if path.exists():
        md = pq.ParquetFile(path).schema_arrow.metadata or {}
        if md.get(b"paribus_bench") == tag.encode():
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cohorts = cohorts_for(periods)
    b_t = 0.05 * np.arange(1, periods + 1) + rng.normal(0.0, 0.2, periods)
    chunk = max(1, 1_000_000 // periods)
    tmp = path.with_suffix(".tmp")
    writer = None
    t = np.arange(1, periods + 1, dtype=np.int64)
    for start in range(0, units, chunk):
        n = min(chunk, units - start)
        never = rng.random(n) < 0.4
        g = np.where(never, 0, cohorts[rng.integers(0, len(cohorts), n)]).astype(np.int64)
        a_i = rng.normal(0.0, 1.0, n) + 0.02 * g
        unit = np.repeat(np.arange(start, start + n, dtype=np.int64), periods)
        time_ = np.tile(t, n)
        gg = np.repeat(g, periods)
        d = ((gg > 0) & (time_ >= gg)).astype(np.int64)
        e = time_ - gg
        tau = np.where(d == 1, 1.0 + 0.1 * e + 0.02 * (gg % 5), 0.0)
        y = np.repeat(a_i, periods) + b_t[time_ - 1] + tau + rng.normal(0.0, 1.0, n * periods)
        table = pa.table({"unit": unit, "time": time_, "d": d, "y": y, "cohort": gg})
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema.with_metadata({"paribus_bench": tag}))
        writer.write_table(table, row_group_size=1_000_000)
    writer.close()
    tmp.replace(path)


# ---------------------------------------------------------------------------------------
# running and measuring
# ---------------------------------------------------------------------------------------


def tree_rss_bytes(pid):
    """Resident memory of a process and all its descendants, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    return total


class Failed(Exception):
    pass


def run(cmd, timeout=None, max_rss=None):
    """Runs `cmd` under GNU time; returns (seconds, peak RSS in MiB, stdout).

    Peak memory comes from `/usr/bin/time -f %M` (the child's own maximum RSS), not from this
    process's `wait4`. With `timeout` (s) or `max_rss` (bytes) the process group this call
    started is killed when either is exceeded, and Failed is raised.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as rss:
        start = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss.name, *map(str, cmd)],
                                stdout=out, stderr=err, start_new_session=True)
        reason, peak_seen = None, 0
        while proc.poll() is None:
            time.sleep(0.25)
            if max_rss is not None:
                peak_seen = max(peak_seen, tree_rss_bytes(proc.pid))
                if peak_seen > max_rss:
                    reason = f"memory above {max_rss / 2**30:.1f} GiB"
            if timeout is not None and time.perf_counter() - start > timeout:
                reason = f"still running after {timeout:.0f} s"
            if reason:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise Failed(reason)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            msg = err.read().decode(errors="replace")[-2000:]
            raise Failed(f"exit {proc.returncode}: {msg}")
        peak_kib = int(rss.read().strip().splitlines()[-1])
        return elapsed, peak_kib / 1024.0, out.read().decode()


def measure(name, cmd, repeat, warmup=True, **kw):
    if warmup:
        run(cmd, **kw)  # page cache
    times, peaks, stdout = [], [], ""
    for _ in range(repeat):
        t, m, stdout = run(cmd, **kw)
        times.append(t)
        peaks.append(m)
    return {"name": name, "cmd": [str(c) for c in cmd], "median_s": statistics.median(times),
            "times_s": times, "peak_rss_mib": max(peaks), "stdout": stdout}


def measure_peer(name, kind, data, repeat, **kw):
    r = measure(name, [sys.executable, PEER, kind, data], repeat, warmup=False, **kw)
    r["peer"] = json.loads(r["stdout"])
    return r


# ---------------------------------------------------------------------------------------
# agreement
# ---------------------------------------------------------------------------------------


def estimates(stdout):
    return {e["label"]: e for e in json.loads(stdout)["estimates"]}


def label(est, name):
    if name not in est:
        sys.exit(f"paribus output lacks {name}")
    return est[name]


def agree(what, ours, theirs, scale):
    d = abs(ours - theirs) / scale if scale > 0 else abs(ours - theirs)
    if not d <= TOL:
        sys.exit(f"paribus and the peer disagree on {what}: {ours!r} vs {theirs!r} "
                 f"(difference {d:.3g} of the scale)")
    return d


def check_twfe(par_stdout, peer):
    e = label(estimates(par_stdout), "ATT")
    return {
        "coef": {"paribus": e["estimate"], "pyfixest": peer["coef"],
                 "rel": agree("the coefficient of d", e["estimate"], peer["coef"], abs(peer["coef"]))},
        "se": {"paribus": e["std_error"], "pyfixest": peer["se"],
               "rel": agree("the clustered SE", e["std_error"], peer["se"], abs(peer["se"]))},
    }


CELL = re.compile(r"^ATT\(g=([-+0-9.eE]+),t=([-+0-9.eE]+)\)$")  # "ATT(g=4,t=7)"; 4.0 also read


def check_cs(par_stdout, peer):
    est = estimates(par_stdout)
    cells = {}
    for lab, e in est.items():
        m = CELL.match(lab)
        if m:
            cells[(round(float(m.group(1))), round(float(m.group(2))))] = e
    worst_att, worst_se = 0.0, 0.0
    for c in peer["cells"]:
        if (c["g"], c["t"]) not in cells:
            sys.exit(f"paribus output lacks ATT(g={c['g']},t={c['t']})")
        e = cells[(c["g"], c["t"])]
        what = f"ATT(g={c['g']},t={c['t']})"
        worst_att = max(worst_att, agree(what, e["estimate"], c["att"], max(abs(c["att"]), c["se"])))
        worst_se = max(worst_se, agree(what + " SE", e["std_error"], c["se"], c["se"]))
    s = label(est, "ATT(simple)")
    p = peer["simple"]
    return {
        "cells_compared": len(peer["cells"]),
        "cells_paribus": len(cells),
        "cell_att_max_diff": worst_att,
        "cell_se_max_rel": worst_se,
        "simple": {"paribus": [s["estimate"], s["std_error"]], "csdid": [p["att"], p["se"]],
                   "att_diff": agree("ATT(simple)", s["estimate"], p["att"], max(abs(p["att"]), p["se"])),
                   "se_rel": agree("ATT(simple) SE", s["std_error"], p["se"], p["se"])},
    }


# ---------------------------------------------------------------------------------------
# the two parts
# ---------------------------------------------------------------------------------------


def file_info(path):
    md = pq.ParquetFile(path).metadata
    return {"file": str(path), "rows": md.num_rows, "mib": round(path.stat().st_size / 2**20, 1)}


def part_a(args, out):
    data = Path(args.out_dir) / f"did_twfe_{args.units}x{args.periods}.parquet"
    t0 = time.perf_counter()
    generate(data, args.units, args.periods, 20261201)
    info = file_info(data)
    print(f"\n== Part A: TWFE, {args.units:,} units x {args.periods} periods = {info['rows']:,} rows "
          f"({data}, {info['mib']:.0f} MiB; ready in {time.perf_counter() - t0:.0f} s)")
    try:
        peer = measure_peer("python: pyfixest feols", "twfe", data, args.peer_repeat,
                            timeout=args.peer_timeout, max_rss=peer_max_rss(args))
    except Failed as e:
        sys.exit(f"pyfixest at {args.units:,} units was stopped ({e}); try a smaller --units")
    p = peer["peer"]
    res = {"data": info, "pyfixest": strip(peer)}
    print(f"pyfixest: coef {p['coef']:.10g}, SE {p['se']:.10g}; read {p['read_s']:.2f} s + fit "
          f"{p['fit_s']:.2f} s = {p['total_s']:.2f} s in-process, {peer['median_s']:.2f} s whole "
          f"process, peak RSS {peer['peak_rss_mib']:.0f} MiB")
    if not args.peer_only:
        cmd = [args.paribus, "did", "twfe", "--data", data, "--outcome", "y", "--treatment", "d",
               "--unit", "unit", "--time", "time", "--cluster", "unit", "--json"]
        par = measure("paribus did twfe", cmd, args.repeat)
        res["paribus"] = strip(par)
        res["agreement"] = check_twfe(par["stdout"], p)
        ratio = p["total_s"] / par["median_s"]
        ratio_proc = peer["median_s"] / par["median_s"]
        res.update(ratio_in_process=ratio, ratio_whole_process=ratio_proc,
                   memory_ratio=peer["peak_rss_mib"] / par["peak_rss_mib"])
        table([("paribus did twfe", par["median_s"], par["peak_rss_mib"]),
               ("pyfixest read + feols (in-process)", p["total_s"], None),
               ("pyfixest, whole process", peer["median_s"], peer["peak_rss_mib"])])
        print(f"\npyfixest / paribus time: {ratio:.1f}x in-process, {ratio_proc:.1f}x whole process "
              f"(target >= 5)")
        print(f"pyfixest / paribus peak memory: {res['memory_ratio']:.1f}x")
        print("coefficient and clustered SE agree to 1e-6 relative "
              f"(coef {res['agreement']['coef']['rel']:.1e}, SE {res['agreement']['se']['rel']:.1e})")
    out["A"] = res


def part_b(args, out):
    units, periods = args.cs_units, args.cs_periods
    main_data = Path(args.out_dir) / f"did_cs_{units}x{periods}.parquet"
    t0 = time.perf_counter()
    generate(main_data, units, periods, 20261202)
    info = file_info(main_data)
    print(f"\n== Part B: Callaway & Sant'Anna, {units:,} units x {periods} periods = {info['rows']:,} "
          f"rows ({main_data}, {info['mib']:.0f} MiB; ready in {time.perf_counter() - t0:.0f} s)")
    max_rss = peer_max_rss(args)
    peer, peer_units, attempts = None, units, []
    while peer is None:
        data = Path(args.out_dir) / f"did_cs_{peer_units}x{periods}.parquet"
        generate(data, peer_units, periods, 20261202)
        try:
            peer = measure_peer("python: csdid ATTgt + aggte simple", "cs", data, args.peer_repeat,
                                timeout=args.peer_timeout, max_rss=max_rss)
        except Failed as e:
            attempts.append({"units": peer_units, "failed": str(e)})
            print(f"csdid at {peer_units:,} units: stopped ({e})")
            if peer_units // 2 < 1000:
                sys.exit("csdid could not run even at 1,000 units")
            peer_units //= 2
    p = peer["peer"]
    res = {"data": info, "csdid_units": peer_units, "csdid_attempts": attempts, "csdid": strip(peer)}
    if peer_units != units:
        res["csdid_data"] = file_info(data)
        print(f"NOTE: csdid could not run at {units:,} units; it ran at {peer_units:,} units x "
              f"{periods} periods, and the ratio below is at that size")
    print(f"csdid at {peer_units:,} units: {len(p['cells'])} cells, ATT(simple) {p['simple']['att']:.10g} "
          f"[SE {p['simple']['se']:.10g}]; read {p['read_s']:.2f} s, att_gt {p['att_gt_s']:.2f} s + "
          f"aggte {p['aggte_simple_s']:.2f} s = {p['fit_s']:.2f} s; whole process "
          f"{peer['median_s']:.2f} s, peak RSS {peer['peak_rss_mib']:.0f} MiB")
    if not args.peer_only:
        def cmd(f):
            return [args.paribus, "did", "cs", "--data", f, "--outcome", "y", "--unit", "unit",
                    "--time", "time", "--cohort", "cohort", "--se", "analytic", "--json"]
        par_same = measure("paribus did cs", cmd(data), args.repeat)
        res["paribus_at_csdid_size"] = strip(par_same)
        res["agreement"] = check_cs(par_same["stdout"], p)
        rows = [(f"paribus did cs ({peer_units:,} units)", par_same["median_s"], par_same["peak_rss_mib"])]
        if peer_units != units:
            par_full = measure("paribus did cs (full size)", cmd(main_data), args.repeat)
            res["paribus_full_size"] = strip(par_full)
            rows.insert(0, (f"paribus did cs ({units:,} units)", par_full["median_s"], par_full["peak_rss_mib"]))
        ratio = p["fit_s"] / par_same["median_s"]
        ratio_read = p["total_s"] / par_same["median_s"]
        ratio_proc = peer["median_s"] / par_same["median_s"]
        res.update(ratio_fit=ratio, ratio_read_and_fit=ratio_read, ratio_whole_process=ratio_proc,
                   memory_ratio=peer["peak_rss_mib"] / par_same["peak_rss_mib"])
        rows += [(f"csdid fit + aggte simple ({peer_units:,} units, in-process)", p["fit_s"], None),
                 ("csdid, whole process", peer["median_s"], peer["peak_rss_mib"])]
        table(rows)
        print(f"\ncsdid / paribus time at {peer_units:,} units: {ratio:.1f}x (fit + simple), "
              f"{ratio_read:.1f}x with the Parquet read, {ratio_proc:.1f}x whole process")
        print(f"csdid / paribus peak memory: {res['memory_ratio']:.1f}x")
        a = res["agreement"]
        print(f"{a['cells_compared']} cells and ATT(simple) agree to 1e-6 (cells: ATT {a['cell_att_max_diff']:.1e}, "
              f"SE {a['cell_se_max_rel']:.1e})")
    out["B"] = res


def strip(r):
    return {k: v for k, v in r.items() if k != "stdout"}


def table(rows):
    print("\n| command | median s | peak RSS MiB |")
    print("|---|---:|---:|")
    for name, s, m in rows:
        print(f"| {name} | {s:.3f} | {'' if m is None else f'{m:.0f}'} |")


def peer_max_rss(args):
    return args.peer_max_rss_gib * 2**30 if args.peer_max_rss_gib else 0.8 * mem_available()


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 8 * 2**30


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["A", "B", "both"], default="both")
    ap.add_argument("--units", type=int, default=1_000_000, help="part A units")
    ap.add_argument("--periods", type=int, default=30, help="part A periods")
    ap.add_argument("--cs-units", type=int, default=100_000, help="part B units")
    ap.add_argument("--cs-periods", type=int, default=20, help="part B periods")
    ap.add_argument("--repeat", type=int, default=3, help="paribus runs (after one warm-up)")
    ap.add_argument("--peer-repeat", type=int, default=1, help="peer runs")
    ap.add_argument("--peer-timeout", type=float, default=1800.0, help="peer: seconds per run")
    ap.add_argument("--peer-max-rss-gib", type=float, default=None,
                    help="peer: memory cap of its process tree (default 80%% of MemAvailable)")
    ap.add_argument("--peer-only", action="store_true", help="run only the Python side")
    ap.add_argument("--out-dir", default="bench/data")
    ap.add_argument("--paribus", default="target/release/paribus")
    args = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("GNU time is needed for peak memory: apt-get install time")
    if not args.peer_only and not Path(args.paribus).exists():
        sys.exit(f"{args.paribus} not found: run `cargo build --release -p paribus-cli` first "
                 "(or --peer-only)")
    out = {}
    if args.part in ("A", "both"):
        part_a(args, out)
    if args.part in ("B", "both"):
        part_b(args, out)
    if args.peer_only:
        print("\n(--peer-only: nothing compared, no results written)")
        return
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from importlib.metadata import version
    stamp = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version()},
        "versions": {k: version(k) for k in ("pyfixest", "csdid", "drdid", "numpy", "pandas", "pyarrow")},
        "args": vars(args),
    }
    # a run of one part keeps the other part's last results
    path = HERE / "results.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    for part, res in out.items():
        report[part] = {**stamp, **res}
    path.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
