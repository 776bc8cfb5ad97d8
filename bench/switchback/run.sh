#!/usr/bin/env bash
# Benchmark of the switchback randomization test (issue #10): 100,000 Monte Carlo paths over
# T = 1,000 slices (optimal design for m = 2, 500 coins). Target: under one second.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p paribus --example fisher_bench
for threads in 1 2; do
  RAYON_NUM_THREADS=$threads target/release/examples/fisher_bench 1000 2 100000
done
