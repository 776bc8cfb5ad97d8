#!/usr/bin/env python3
"""How much does it cost LightGBM itself to bin once for all folds? LightGBM alone on bench.py's
IRM design (fresh draws, as seeds.py makes them), 5-fold cross-fitted as DoubleML fits the
nuisances, each nuisance fitted twice: with LightGBM's own binning of each fit's training rows
(what DoubleML + LightGBM does) and with the bins of a larger set of rows computed once and shared
by all folds (a Dataset of those rows, `subset` to each fit's rows, which keeps the parent's bin
edges): all rows for the propensity `ml_m`, all rows of the arm for `ml_g0` / `ml_g1` (what
paribus does). Printed: the out-of-fold loss ratio shared / own per draw (RMSE; log loss of the
propensity clipped to [0.01, 0.99], as DoubleML's IRM clips it), their mean and SE.

    /work/venv-dml-bench/bin/python bench/dml/bin_rows.py --rows 100000 --seeds 1 2 3 4 5 6 7 8
    /work/venv-dml-bench/bin/python bench/dml/bin_rows.py --rows 1000000 --seeds 1 2 3 --vary sample-seed

A mean ratio above 1 is the price of binning once, paid by LightGBM as well; paribus's gap to
DoubleML + LightGBM (seeds.py) is to be read against it. `--vary sample-seed` compares instead
two runs of LightGBM's own binning that differ only in `data_random_seed` (2 over 1): above
200,000 training rows LightGBM places its edges on a random sample of them, so this is how
much the loss of one draw moves with nothing but the sample of the binning.
"""
import argparse
import tempfile
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pyarrow.parquet as pq

from bench import generate
from seeds import summary

PARAMS = dict(num_leaves=31, learning_rate=0.1, max_depth=-1, min_data_in_leaf=20,
              min_sum_hessian_in_leaf=1e-3, lambda_l1=0.0, lambda_l2=0.0, max_bin=255,
              bagging_fraction=1.0, bagging_freq=0, feature_fraction=1.0, num_threads=2,
              verbose=-1, data_random_seed=1)
TREES = 100


def fit_predict(x, target, train, test, objective, binned_on=None, data_seed=1):
    params = dict(PARAMS, objective=objective, data_random_seed=data_seed)
    if binned_on is None:
        ds = lgb.Dataset(x[train], label=target[train], params=params)
    else:
        # the bins of the rows `binned_on`, shared: `subset` keeps the parent's bin mappers
        where = np.searchsorted(binned_on, train)
        parent = lgb.Dataset(x[binned_on], label=target[binned_on], params=params,
                             free_raw_data=False).construct()
        ds = parent.subset(where.tolist())
    booster = lgb.train(params, ds, num_boost_round=TREES)
    return booster.predict(x[test])


def losses(x, d, y, fold, binned, data_seed=1):
    n = len(y)
    g0, g1, m = np.empty(n), np.empty(n), np.empty(n)
    rows = np.arange(n)
    for k in range(5):
        test = rows[fold == k]
        train = rows[fold != k]
        c, t = train[d[train] == 0], train[d[train] == 1]
        g0[test] = fit_predict(x, y, c, test, "regression", rows[d == 0] if binned else None,
                               data_seed)
        g1[test] = fit_predict(x, y, t, test, "regression", rows[d == 1] if binned else None,
                               data_seed)
        m[test] = fit_predict(x, d.astype(float), train, test, "binary", rows if binned else None,
                              data_seed)
    mc = np.clip(m, 0.01, 0.99)
    return {
        "ml_g0": float(np.sqrt(np.mean((y[d == 0] - g0[d == 0]) ** 2))),
        "ml_g1": float(np.sqrt(np.mean((y[d == 1] - g1[d == 1]) ** 2))),
        "ml_m": float(-np.mean(d * np.log(mc) + (1 - d) * np.log(1 - mc))),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    ap.add_argument("--vary", choices=["bins", "sample-seed"], default="bins")
    a = ap.parse_args()
    what = "shared / own bins" if a.vary == "bins" else "data_random_seed 2 / 1"
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in a.seeds:
            path = generate("irm", a.rows, seed=seed, path=Path(tmp) / f"irm_{seed}.parquet")
            t = pq.read_table(path).to_pandas()
            x = t[[f"x{j + 1}" for j in range(20)]].to_numpy()
            d, y, fold = t["d"].to_numpy(), t["y"].to_numpy(), t["fold"].to_numpy()
            own = losses(x, d, y, fold, False)
            if a.vary == "bins":
                shared = losses(x, d, y, fold, True)
            else:
                shared = losses(x, d, y, fold, False, data_seed=2)
            line = []
            for nm in own:
                r = shared[nm] / own[nm]
                ratios.setdefault(nm, []).append(r)
                line.append(f"{nm} {r:.5f}")
            print(f"irm {a.rows} seed {seed}: {what} " + ", ".join(line), flush=True)
    for nm, rs in ratios.items():
        s = summary(rs)
        print(f"{nm}: {what}: mean ratio {s['mean']:.5f} (SE {s['se_of_mean']}, sd of a draw {s['sd']}) "
              f"over {len(rs)} draws")


if __name__ == "__main__":
    main()
