#!/usr/bin/env python3
"""Reference values for `paribus synth` from the Python port of synthdid (d2cml-ai, `synthdid`
0.10.1, pinned in tools/golden/requirements-synth.txt), which also implements staggered
adoption as the Stata `sdid` command does (Clarke et al. 2023).

Run from the repository root, in a virtual environment with that requirements file:

    python tools/golden/synth_sdid.py

It reads ../shared/data/california_prop99 and writes tools/golden/fixtures/synth_sdid.json:
the block SDID estimate on Proposition 99, and staggered-adoption estimates (aggregate, per
cohort, cohort weights) on variants of that panel in which some control states are pretend
adopters. Placebo standard errors are random and are not stored.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from synthdid.synthdid import Synthdid

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "california_prop99" / "california_prop99_comma.csv"

JACKKNIFE = {
    # a block design with three treated units: the fixed-weight jackknife of synthdid's R code
    "three_treated_1989": {"Utah": 1989, "Nevada": 1989},
}

VARIANTS = {
    "prop99": {},
    "utah_nevada_1995": {"Utah": 1995, "Nevada": 1995},
    "three_cohorts": {"Utah": 1995, "Nevada": 1995, "Montana": 1980, "Colorado": 1992},
}


def run(adopters: dict[str, int]) -> dict:
    df = pd.read_csv(DATA)
    for state, year in adopters.items():
        df.loc[(df.State == state) & (df.Year >= year), "treated"] = 1
    m = Synthdid(df, "State", "Year", "treated", "PacksPerCapita").fit()
    info = m.att_info
    return {
        "adopters": adopters,
        "att": float(m.att),
        "cohorts": [
            {"start": float(r.time), "att": float(r.att_time), "weight": float(r.att_wt)}
            for r in info.itertuples()
        ],
    }


def r_jackknife(adopters: dict[str, int]) -> dict:
    """synthdid's (R) fixed-weight jackknife (Algorithm 3 of Arkhangelsky et al.), computed here
    in numpy from the port's fitted weights: leave each unit out, renormalise the remaining
    controls' omega, keep lambda, and take sqrt((n-1)/n * sum (u - mean u)^2). The port's own
    `vcov(method="jackknife")` differs (it neither renormalises omega nor centres at the mean of
    the replicates), so it is recorded but not used."""
    df = pd.read_csv(DATA)
    for state, year in adopters.items():
        df.loc[(df.State == state) & (df.Year >= year), "treated"] = 1
    m = Synthdid(df, "State", "Year", "treated", "PacksPerCapita").fit()
    omega = np.asarray(m.weights["omega"][0], dtype=float)
    lam = np.asarray(m.weights["lambda"][0], dtype=float)
    units = list(m.Y_units[0])
    wide = df.pivot_table(index="State", columns="Year", values="PacksPerCapita").loc[units]
    y = wide.to_numpy()
    n0, t0 = len(omega), len(lam)
    n, t = y.shape

    def est(rows):
        c = [r for r in rows if r < n0]
        tr = [r for r in rows if r >= n0]
        w = omega[c] / omega[c].sum()
        row = lambda r: y[r, t0:].mean() - lam @ y[r, :t0]
        return np.mean([row(r) for r in tr]) - sum(wi * row(r) for wi, r in zip(w, c))

    u = np.array([est([r for r in range(n) if r != i]) for i in range(n)])
    se = float(np.sqrt((n - 1) / n * ((u - u.mean()) ** 2).sum()))
    m.vcov(method="jackknife")
    return {"adopters": adopters, "att": float(est(list(range(n)))), "jackknife_se": se, "port_jackknife_se": float(m.se)}


def main() -> None:
    out = {
        "provenance": f"tools/golden/synth_sdid.py, synthdid {version('synthdid')} (Python), pandas {pd.__version__}",
        "variants": {k: run(v) for k, v in VARIANTS.items()},
        "jackknife": {k: r_jackknife(v) for k, v in JACKKNIFE.items()},
    }
    path = Path(__file__).parent / "fixtures" / "synth_sdid.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
