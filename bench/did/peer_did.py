"""The Python peers of `paribus did twfe` and `paribus did cs` for bench/did/bench.py.

    peer_did.py twfe FILE   pyfixest: feols("y ~ d | unit + time", vcov={"CRV1": "unit"})
    peer_did.py cs FILE     csdid: ATTgt(never-treated controls, dr, bootstrap off) + aggte simple

Prints one JSON object with the numbers the benchmark compares and the time of each step,
measured inside this process: `read_s` (pandas.read_parquet of the columns used), `fit_s`
(the estimation; for cs the ATTgt set-up, fit and simple aggregation) and `total_s` (both).
Interpreter start-up and imports are not in `total_s`; the benchmark's own wall clock of the
whole process has them.
"""
import contextlib
import io
import json
import sys
import time
import warnings

import pandas as pd


def twfe(path):
    import pyfixest as pf

    t0 = time.perf_counter()
    df = pd.read_parquet(path, columns=["unit", "time", "d", "y"])
    t1 = time.perf_counter()
    fit = pf.feols("y ~ d | unit + time", data=df, vcov={"CRV1": "unit"})
    coef = float(fit.coef()["d"])
    se = float(fit.se()["d"])
    t2 = time.perf_counter()
    return {"coef": coef, "se": se, "n_obs": int(len(df)), "read_s": t1 - t0, "fit_s": t2 - t1,
            "total_s": t2 - t0}


def cs(path):
    from csdid.att_gt import ATTgt

    t0 = time.perf_counter()
    df = pd.read_parquet(path, columns=["unit", "time", "cohort", "y"])
    t1 = time.perf_counter()
    # csdid prints tables and warns about small groups; keep stdout for the JSON
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        model = ATTgt(yname="y", tname="time", idname="unit", gname="cohort", data=df,
                      control_group="nevertreated").fit(est_method="dr", bstrap=False)
        t_fit = time.perf_counter()
        model.aggte(typec="simple")
    t2 = time.perf_counter()
    r = model.results
    cells = [{"g": int(g), "t": int(t), "att": float(a), "se": float(s)}
             for g, t, a, s in zip(r["group"], r["year"], r["att"], r["se"])]
    simple = {"att": float(model.atte["overall_att"]), "se": float(model.atte["overall_se"])}
    return {"cells": cells, "simple": simple, "n_units": int(model.MP["n"]),
            "read_s": t1 - t0, "att_gt_s": t_fit - t1, "aggte_simple_s": t2 - t_fit,
            "fit_s": t2 - t1, "total_s": t2 - t0}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("twfe", "cs"):
        sys.exit(__doc__)
    what, path = sys.argv[1], sys.argv[2]
    out = twfe(path) if what == "twfe" else cs(path)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
