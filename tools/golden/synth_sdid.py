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

import pandas as pd
from synthdid.synthdid import Synthdid

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "california_prop99" / "california_prop99_comma.csv"

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


def main() -> None:
    out = {
        "provenance": f"tools/golden/synth_sdid.py, synthdid {version('synthdid')} (Python), pandas {pd.__version__}",
        "variants": {k: run(v) for k, v in VARIANTS.items()},
    }
    path = Path(__file__).parent / "fixtures" / "synth_sdid.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
