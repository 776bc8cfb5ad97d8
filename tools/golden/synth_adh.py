#!/usr/bin/env python3
"""Reference values for the classic (ADH) synthetic control with nested predictor weights, from
pysyncon 1.7.0 (pinned in tools/golden/requirements-adh.txt), on Proposition 99.

Run from the repository root, in a virtual environment with that requirements file:

    python tools/golden/synth_adh.py

Predictors (k = 4): the mean of PacksPerCapita over 1970-1988 and its values in 1975, 1980 and
1988; the outer objective is the pre-period (1970-1988) MSPE. Writes
tools/golden/fixtures/synth_adh.json with, for a fixed equal V and for the nested search from
pysyncon's two starting values, V, W, the outer loss and the ATT over 1989-2000. The inner and
outer problems need not have unique solutions, so the tests compare losses and fits, not weights.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from pysyncon import Dataprep, Synth

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "california_prop99" / "california_prop99_comma.csv"


def main() -> None:
    df = pd.read_csv(DATA)
    controls = sorted(s for s in df.State.unique() if s != "California")
    pre = range(1970, 1989)
    dp = Dataprep(
        foo=df,
        predictors=["PacksPerCapita"],
        predictors_op="mean",
        time_predictors_prior=pre,
        special_predictors=[
            ("PacksPerCapita", [1975], "mean"),
            ("PacksPerCapita", [1980], "mean"),
            ("PacksPerCapita", [1988], "mean"),
        ],
        dependent="PacksPerCapita",
        unit_variable="State",
        time_variable="Year",
        treatment_identifier="California",
        controls_identifier=controls,
        time_optimize_ssr=pre,
    )
    out = {
        "provenance": f"tools/golden/synth_adh.py, pysyncon {version('pysyncon')}, numpy {np.__version__}, scipy {version('scipy')}",
        "controls": controls,
        "runs": {},
    }
    post = range(1989, 2001)

    def record(name, synth):
        att = synth.att(time_period=post)
        out["runs"][name] = {
            "V": [float(x) for x in np.asarray(synth.V).ravel()],
            "W": [float(x) for x in np.asarray(synth.W).ravel()],
            "loss_V": float(synth.loss_V),
            "att": float(att["att"]),
        }

    s = Synth()
    s.fit(dataprep=dp, custom_V=np.full(4, 0.25))
    record("equal_V", s)
    for start in ("equal", "ols"):
        s = Synth()
        s.fit(dataprep=dp, optim_method="Nelder-Mead", optim_initial=start)
        record(f"nested_{start}", s)
    path = Path(__file__).parent / "fixtures" / "synth_adh.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")
    for k, v in out["runs"].items():
        print(k, v["loss_V"], v["att"], [round(x, 3) for x in v["V"]])


if __name__ == "__main__":
    main()
