#!/usr/bin/env python3
"""The IHDP table of docs/FOREST.md: paribus's causal forest on the 10 IHDP replications of
../shared/data/ihdp (Hill 2011 surface B, NPCI settings), within-sample.

For each replication: `paribus forest causal` (grf defaults, 2000 trees, seed 1) on
y_factual ~ treatment | x1..x25, then from its --out file
  sqrt(PEHE) = sqrt(mean((cate_i - (mu1_i - mu0_i))^2))        (out-of-bag CATE)
  |ATE error| = |AIPW ATE - mean(mu1 - mu0)|
and the share of rows whose 95% CATE interval covers mu1 - mu0. Standard library only.

    cargo build --release -p paribus-cli
    python3 tools/docs/ihdp_forest.py            # prints a Markdown table
"""

import csv
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "ihdp"
BIN = Path(os.environ.get("PARIBUS", ROOT / "target" / "release" / "paribus"))


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(1, 11):
            path = DATA / f"ihdp_npci_{rep}.csv"
            out = Path(tmp) / f"cate_{rep}.csv"
            cmd = [str(BIN), "forest", "causal", "--data", str(path), "--outcome", "y_factual",
                   "--treatment", "treatment", "--covariates", "x*", "--seed", "1",
                   "--out", str(out), "--json"]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            data = list(csv.DictReader(path.open()))
            cate = list(csv.DictReader(out.open()))
            tau = [float(r["mu1"]) - float(r["mu0"]) for r in data]
            est = [float(r["cate"]) for r in cate]
            se = [float(r["std_error"]) for r in cate]
            pehe = math.sqrt(sum((a - b) ** 2 for a, b in zip(est, tau)) / len(tau))
            sate = sum(tau) / len(tau)
            ate = next(e for e in res["estimates"] if e["label"] == "ATE")
            cover = sum(abs(a - b) <= 1.959964 * s for a, b, s in zip(est, tau, se)) / len(tau)
            rows.append((rep, sate, ate["estimate"], ate["std_error"], abs(ate["estimate"] - sate), pehe, cover))
    print("| rep | true SATE | ATE (AIPW) | SE | abs. ATE error | sqrt(PEHE) | CATE interval coverage |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.3f} |")
    m = lambda k: sum(r[k] for r in rows) / len(rows)
    print(f"| mean | | | | {m(4):.3f} | {m(5):.3f} | {m(6):.3f} |")
    no9 = [r for r in rows if r[0] != 9]
    print(f"| mean without rep 9 | | | | {sum(r[4] for r in no9) / 9:.3f} | {sum(r[5] for r in no9) / 9:.3f} | {sum(r[6] for r in no9) / 9:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
