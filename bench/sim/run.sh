#!/usr/bin/env bash
# Scale benchmark of the simulator (issue #3): 1M viewers x 50k streamers x 168 hourly slices.
# Target: the factual world, sessions streamed to Parquet, in under 2 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p paribus-cli
out="${1:-bench/data/sim-1m}"
/usr/bin/time -f "total %e s, peak RSS %M KiB" \
  target/release/paribus simulate ab --out "$out" --viewers 1000000 --streamers 50000 --periods 168 > /dev/null
ls -la "$out"
