"""Benchmark (issue #11): `paribus bilateral analyze` over N interaction rows stored in Parquet,
with design-based and two-way cluster-robust standard errors, streaming in bounded memory.

    /work/venv-bench/bin/python bench/bilateral/bench.py [--rows 100000000]

Data: viewers each interact with 50 distinct streamers (50,000 streamers), arms 50/50 on both
sides, one row per pair, written once to bench/data/. Reports rows per second and peak RSS
(target: under 4 GiB at 100 million rows).
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PER_VIEWER = 50
STREAMERS = 50_000


def generate(path: Path, rows: int) -> None:
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    viewers = rows // PER_VIEWER
    v_arm = rng.random(viewers) < 0.5
    s_arm = rng.random(STREAMERS) < 0.5
    writer = None
    chunk = 200_000  # viewers per row group (10M rows)
    for start in range(0, viewers, chunk):
        n = min(chunk, viewers - start)
        vid = np.repeat(np.arange(start, start + n), PER_VIEWER)
        k = np.tile(np.arange(PER_VIEWER), n)
        sid = (vid + k * 1000) % STREAMERS
        va = v_arm[vid]
        sa = s_arm[sid]
        y = rng.gamma(2.0, 3.0, vid.size) * (1 + 0.1 * (va & sa) + 0.03 * va + 0.05 * sa)
        table = pa.table({
            "viewer_id": vid.astype(np.int64), "streamer_id": sid.astype(np.int64),
            "viewer_arm": va.astype(np.int8), "streamer_arm": sa.astype(np.int8), "watch_minutes": y,
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=1_000_000)
    writer.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--out-dir", default="bench/data")
    ap.add_argument("--paribus", default="target/release/paribus")
    args = ap.parse_args()
    if not Path(args.paribus).exists():
        sys.exit(f"{args.paribus} not found: cargo build --release -p paribus-cli")
    data = Path(args.out_dir) / f"bilateral_{args.rows}.parquet"
    t0 = time.perf_counter()
    generate(data, args.rows)
    print(f"data: {data} ({data.stat().st_size / 2**20:.0f} MiB), generated in {time.perf_counter() - t0:.0f} s")
    cmd = [args.paribus, "bilateral", "analyze", "--data", str(data), "--viewer", "viewer_id", "--streamer", "streamer_id",
           "--viewer-arm", "viewer_arm", "--streamer-arm", "streamer_arm", "--outcome", "watch_minutes", "--rows-are-pairs", "--json"]
    with tempfile.NamedTemporaryFile(mode="r") as rss, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], stdout=out, stderr=subprocess.PIPE)
        secs = time.perf_counter() - start
        if p.returncode != 0:
            sys.exit(p.stderr.decode())
        peak = int(rss.read().strip().splitlines()[-1]) / 2**20
        out.seek(0)
        res = json.loads(out.read())
    direct = next(e for e in res["estimates"] if e["label"] == "direct[two-way]")
    print(f"{args.rows:,} rows in {secs:.1f} s: {args.rows / secs / 1e6:.2f} M rows/s, peak RSS {peak:.2f} GiB (target < 4)")
    print(f"direct = {direct['estimate']:.5f} (two-way SE {direct['std_error']:.5f})")
    (Path(__file__).parent / "results.json").write_text(json.dumps(
        {"rows": args.rows, "seconds": secs, "rows_per_second": args.rows / secs, "peak_rss_gib": peak}, indent=2) + "\n")


if __name__ == "__main__":
    main()
