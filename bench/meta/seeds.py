#!/usr/bin/env python3
"""Is paribus's CATE RMSE gap to CausalML + LightGBM (meta/README.md) the data set's or the
learner's? The T-, X- and DR-learners of both on fresh draws of bench.py's design (one data set per
seed, numpy's default_rng(seed), not bench.py's stream), with the true tau, and the ratio of the
CATE RMSEs paribus / peer per seed, their mean and standard deviation.

    /work/venv-meta-bench/bin/python bench/meta/seeds.py --rows 100000 --seeds 1 2 3 4 5 6 7 8
        # --methods t x dr dr-all dr-3 dr-3way dr-3way-cm (default the first four)

paribus: `uplift fit --method t|x|dr --learner gbm --propensity 0.5 --threads 2 --seed 1` (dr: one
effect model per fold, averaged, the default; dr-all: `--method dr --final-fit all`, one effect
model on all rows; dr-3: `--method dr --folds 3`, the default with 3 folds; dr-3way:
`--method dr --cross-fit three-way`, Kennedy's three-way split, CausalML's algorithm;
dr-3way-cm: the same on CausalML's own parts, its KFold(3, shuffle=True, random_state=1) given
as --fold-column, so that the two differ in their trees only); peer:
two LGBMRegressor fits (T), CausalML's BaseXRegressor.fit_predict (X) and
BaseDRRegressor.fit_predict(..., seed=1) (DR, its own 3-way split: not paribus's 5-fold
cross-fit, see README.md), LightGBM's defaults as in bench.py, n_jobs 2.
"""
import argparse
import json
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from causalml.inference.meta import BaseDRRegressor, BaseXRegressor
from lightgbm import LGBMRegressor
from peer_meta import params
from sklearn.model_selection import KFold

ROOT = Path(__file__).resolve().parents[2]
# paribus's arguments for the variants of a method (the others: --method M)
ARGS = {"dr-all": ["--method", "dr", "--final-fit", "all"], "dr-3": ["--method", "dr", "--folds", "3"],
        "dr-3way": ["--method", "dr", "--cross-fit", "three-way"],
        "dr-3way-cm": ["--method", "dr", "--cross-fit", "three-way", "--fold-column", "part3"]}
# LightGBM's parameters as bench.py's peer runs them (peer_meta.py), 2 threads
LGB = params(2)


def draw(n, seed):
    r = np.random.default_rng(seed)
    x = r.random((n, 20))
    w = r.integers(0, 2, n)
    tau = 1 + np.sin(3 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * (x[:, 3] > 0.5)
    y = (2 * np.sin(np.pi * x[:, 0] * x[:, 4]) + 4 * (x[:, 5] - 0.5) ** 2 + 2 * x[:, 6] + x[:, 7]
         + w * tau + r.standard_normal(n))
    return x, w, y, tau


def causalml_parts(n, seed):
    """The parts of CausalML's DR-learner split with `seed`: the k-th test set of its KFold is
    part k (dr-3way-cm gives them to paribus as --fold-column, so both fit on the same rows)."""
    part = np.empty(n, dtype=np.int64)
    for k, (_, test) in enumerate(KFold(n_splits=3, shuffle=True, random_state=seed).split(np.zeros(n))):
        part[test] = k
    return part


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    ap.add_argument("--paribus", default=str(ROOT / "target/release/paribus"))
    methods = ["t", "x", "dr", "dr-all"]
    ap.add_argument("--methods", nargs="+", choices=methods + ["dr-3", "dr-3way", "dr-3way-cm"],
                    default=methods)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        data, cate = Path(tmp) / "d.parquet", Path(tmp) / "cate.parquet"
        for s in a.seeds:
            x, w, y, tau = draw(a.rows, s)
            cols = {f"x{j}": x[:, j] for j in range(20)}
            cols.update(w=w, y=y, part3=causalml_parts(a.rows, 1))
            pq.write_table(pa.table(cols), data)
            res = {"seed": s}
            for m in a.methods:
                subprocess.run([a.paribus, "uplift", "fit", "--data", str(data), "--outcome", "y",
                                "--treatment", "w", "--covariates", "x*",
                                *ARGS.get(m, ["--method", m]),
                                "--learner", "gbm", "--propensity", "0.5", "--threads", "2",
                                "--seed", "1", "--out", str(cate), "--json"],
                               check=True, capture_output=True)
                t = pq.read_table(cate)
                col = next(c for c in t.column_names if "cate" in c.lower())
                res[f"paribus_{m}"] = rmse(t.column(col).to_numpy(), tau)
            p = np.full(a.rows, 0.5)
            if "t" in a.methods:
                m0 = LGBMRegressor(**LGB).fit(x[w == 0], y[w == 0])
                m1 = LGBMRegressor(**LGB).fit(x[w == 1], y[w == 1])
                res["peer_t"] = rmse(m1.predict(x) - m0.predict(x), tau)
            if "x" in a.methods:
                xl = BaseXRegressor(learner=LGBMRegressor(**LGB))
                res["peer_x"] = rmse(xl.fit_predict(x, w, y, p=p, verbose=False).ravel(), tau)
            if {"dr", "dr-all", "dr-3", "dr-3way", "dr-3way-cm"} & set(a.methods):
                dr = BaseDRRegressor(learner=LGBMRegressor(**LGB))
                res["peer_dr"] = rmse(dr.fit_predict(x, w, y, p=p, verbose=False, seed=1).ravel(), tau)
                for m in ("dr-all", "dr-3", "dr-3way", "dr-3way-cm"):
                    res[f"peer_{m}"] = res["peer_dr"]
            print(json.dumps(res), flush=True)
            runs.append(res)
    for m in a.methods:
        r = np.array([o[f"paribus_{m}"] / o[f"peer_{m}"] for o in runs])
        sd = r.std(ddof=1) if len(r) > 1 else float("nan")
        print(f"{m.upper()}-learner, {a.rows:,} rows: RMSE paribus / peer mean {r.mean():.4f}, "
              f"sd {sd:.4f} over {len(r)} seeds {np.round(r, 3).tolist()}")


if __name__ == "__main__":
    main()
