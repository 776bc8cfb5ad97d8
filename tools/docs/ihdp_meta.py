#!/usr/bin/env python3
"""The IHDP table of docs/UPLIFT.md: paribus's meta-learners on the 10 IHDP replications of
../shared/data/ihdp (Hill 2011 surface B, NPCI settings), within-sample.

For each replication and each learner (S, T, X, R, DR with boosted trees; S and T with OLS, the
OLS-1 / OLS-2 baselines of Shalit et al. 2017; DR also with Kennedy's three-way split,
`--cross-fit three-way`): `paribus uplift fit` (estimated propensity,
seed 1) on y_factual ~ treatment | x1..x25, then from its --out file
  sqrt(PEHE) = sqrt(mean((cate_i - (mu1_i - mu0_i))^2))
  |ATE error| = |mean(cate_i) - mean(mu1 - mu0)|
(cate is in-sample for S, T, X and the cross-fitted final model for R, DR). For DR also the
error of its AIPW estimate `aipw(1)` (each DR form's). Means ± standard errors (sd / sqrt(10)) over the
replications. Standard library only.

    cargo build --release -p paribus-cli
    python3 tools/docs/ihdp_meta.py              # prints Markdown tables
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
REPS = range(1, 11)
# (label, --method, --learner, further arguments)
LEARNERS = [
    ("S (OLS-1)", "s", "ols", []),
    ("T (OLS-2)", "t", "ols", []),
    ("S gbm", "s", "gbm", []),
    ("T gbm", "t", "gbm", []),
    ("X gbm", "x", "gbm", []),
    ("R gbm", "r", "gbm", []),
    ("DR gbm", "dr", "gbm", []),
    ("DR gbm, three-way", "dr", "gbm", ["--cross-fit", "three-way"]),
]


def mean_se(v):
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    return m, sd / math.sqrt(len(v))


def fit(path: Path, method: str, learner: str, extra: list, out: Path):
    cmd = [str(BIN), "uplift", "fit", "--data", str(path), "--outcome", "y_factual",
           "--treatment", "treatment", "--covariates", "x*", "--method", method,
           "--learner", learner, "--seed", "1", "--out", str(out), "--json", *extra]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    est = [float(r["cate"]) for r in csv.DictReader(out.open())]
    aipw = next((e["estimate"] for e in res["estimates"] if e["label"] == "aipw(1)"), None)
    return est, aipw


def main() -> None:
    pehe = {lab: [] for lab, *_ in LEARNERS}
    ate_err = {lab: [] for lab, *_ in LEARNERS}
    aipw_err = {lab: [] for lab, method, *_ in LEARNERS if method == "dr"}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in REPS:
            path = DATA / f"ihdp_npci_{rep}.csv"
            data = list(csv.DictReader(path.open()))
            tau = [float(r["mu1"]) - float(r["mu0"]) for r in data]
            sate = sum(tau) / len(tau)
            for k, (lab, method, learner, extra) in enumerate(LEARNERS):
                est, aipw = fit(path, method, learner, extra, Path(tmp) / f"cate_{rep}_{k}.csv")
                assert len(est) == len(tau)
                pehe[lab].append(math.sqrt(sum((a - b) ** 2 for a, b in zip(est, tau)) / len(tau)))
                ate_err[lab].append(abs(sum(est) / len(est) - sate))
                if method == "dr":
                    aipw_err[lab].append(abs(aipw - sate))

    no9 = [i for i, rep in enumerate(REPS) if rep != 9]
    print("| learner | sqrt(PEHE) | abs. ATE error | sqrt(PEHE) without rep 9 | abs. ATE error without rep 9 |")
    print("|---|---|---|---|---|")
    rows = [(lab, pehe[lab], ate_err[lab]) for lab, *_ in LEARNERS]
    rows += [(f"{lab}, aipw(1)", None, err) for lab, err in aipw_err.items()]
    for lab, p, a in rows:
        cells = []
        for v in (p, a):
            cells.append("" if v is None else "{:.3f} ± {:.3f}".format(*mean_se(v)))
        for v in (p, a):
            cells.append("" if v is None else "{:.3f} ± {:.3f}".format(*mean_se([v[i] for i in no9])))
        print(f"| {lab} | " + " | ".join(cells) + " |")
    print()
    print("sqrt(PEHE) per replication:")
    print()
    print("| rep | " + " | ".join(lab for lab, *_ in LEARNERS) + " |")
    print("|---|" + "---|" * len(LEARNERS))
    for i, rep in enumerate(REPS):
        print(f"| {rep} | " + " | ".join(f"{pehe[lab][i]:.3f}" for lab, *_ in LEARNERS) + " |")


if __name__ == "__main__":
    sys.exit(main())
