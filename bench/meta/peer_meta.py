"""The CausalML + LightGBM side of bench/meta/bench.py, one fit per process:

    python peer_meta.py x|dr|t FILE THREADS CATE_OUT.npy [--seed S]

Reads FILE (Parquet with columns x0..x19, w, y) with pyarrow into numpy, then

  x:  causalml.inference.meta.BaseXRegressor(learner=LGBM).fit_predict(X, w, y, p=0.5)
  dr: causalml.inference.meta.BaseDRRegressor(learner=LGBM).fit_predict(X, w, y, p=0.5, seed=S)
  t:  causalml.inference.meta.BaseTRegressor(learner=LGBM).fit_predict(X, w, y) (a diagnostic:
      the two outcome models alone, CATE = mu_1(x) - mu_0(x), to compare the base learners)

with p an array of 0.5 for every row (the known randomization probability, so CausalML fits
no propensity model), verbose=False (no in-sample outcome-model error metrics, which are
extra predictions that paribus does not make). LGBM is LGBMRegressor with LightGBM's defaults
written out (the same as paribus's gbm): 100 trees, learning rate 0.1, 31 leaves, no depth
limit, 20 rows per leaf, min_child_weight 1e-3, no L1/L2, 255 bins, no bagging, no feature
subsampling, THREADS threads.

What CausalML fits (one treated arm):
  x:  mu_0 on the control rows, mu_1 on the treated rows, the effect models tau_0 on the
      control rows' imputed effects and tau_1 on the treated rows'; 4 fits, no cross-fitting;
      CATE = p tau_0(x) + (1 - p) tau_1(x) on every row.
  dr: a 3-way split (KFold(3, shuffle, seed)); in each of 3 rotations, mu_0 and mu_1 are fitted
      on the controls / treated of one third, the pseudo-outcome is formed on another third and
      tau is fitted on it (the remaining third would fit the propensity, not needed here);
      9 fits; CATE = the mean of the 3 tau models on every row (predict also evaluates the 6
      outcome models on every row).

Writes the CATE of every row to CATE_OUT.npy and prints one JSON line: the parameters, the
times of each step measured inside the process (import, load, fit_predict, of which inside
LightGBM's fit / predict: learner_s, with the count of fits and predicts), and the versions.
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402
from importlib.metadata import version  # noqa: E402

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from causalml.inference.meta import BaseDRRegressor, BaseTRegressor, BaseXRegressor  # noqa: E402

T_IMPORTED = time.perf_counter()
P = 20
X_COLS = [f"x{j}" for j in range(P)]
LEARNER = {"fit_s": 0.0, "predict_s": 0.0, "fits": 0, "predicts": 0, "fit_rows": 0}


class Regressor(lgb.LGBMRegressor):
    """LightGBM's regressor with a timer around fit and predict (nothing else changes)."""

    def fit(self, X, y, *args, **kwargs):
        t = time.perf_counter()
        try:
            return super().fit(X, y, *args, **kwargs)
        finally:
            LEARNER["fit_s"] += time.perf_counter() - t
            LEARNER["fits"] += 1
            LEARNER["fit_rows"] += int(len(y))

    def predict(self, X, *args, **kwargs):
        t = time.perf_counter()
        try:
            return super().predict(X, *args, **kwargs)
        finally:
            LEARNER["predict_s"] += time.perf_counter() - t
            LEARNER["predicts"] += 1


def params(threads):
    return dict(n_estimators=100, learning_rate=0.1, num_leaves=31, max_depth=-1,
                min_child_samples=20, min_child_weight=1e-3, reg_lambda=0.0, reg_alpha=0.0,
                max_bin=255, subsample=1.0, subsample_freq=0, colsample_bytree=1.0,
                n_jobs=threads, verbose=-1)


def load(path):
    t = pq.read_table(path, columns=X_COLS + ["w", "y"])
    x = np.column_stack([t.column(c).to_numpy() for c in X_COLS]).astype(np.float64, copy=False)
    x = np.ascontiguousarray(x)
    w = t.column("w").to_numpy().astype(np.int64)
    y = t.column("y").to_numpy().astype(np.float64)
    del t
    return x, w, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("method", choices=["x", "dr", "t"])
    ap.add_argument("data")
    ap.add_argument("threads", type=int)
    ap.add_argument("cate_out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    t0 = time.perf_counter()
    x, w, y = load(a.data)
    load_s = time.perf_counter() - t0
    p = np.full(x.shape[0], 0.5)
    lp = params(a.threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t1 = time.perf_counter()
        if a.method == "x":
            est = BaseXRegressor(learner=Regressor(**lp))
            cate = est.fit_predict(X=x, treatment=w, y=y, p=p, verbose=False)
            call = "BaseXRegressor(learner=LGBMRegressor(**params)).fit_predict(X, w, y, p=0.5, verbose=False)"
        elif a.method == "t":
            est = BaseTRegressor(learner=Regressor(**lp))
            cate = est.fit_predict(X=x, treatment=w, y=y, verbose=False)
            call = "BaseTRegressor(learner=LGBMRegressor(**params)).fit_predict(X, w, y, verbose=False)"
        else:
            est = BaseDRRegressor(learner=Regressor(**lp))
            cate = est.fit_predict(X=x, treatment=w, y=y, p=p, verbose=False, seed=a.seed)
            call = (f"BaseDRRegressor(learner=LGBMRegressor(**params)).fit_predict(X, w, y, p=0.5, "
                    f"verbose=False, seed={a.seed})")
        fit_predict_s = time.perf_counter() - t1
    cate = np.asarray(cate, dtype=np.float64).reshape(x.shape[0], -1)[:, 0]
    np.save(a.cate_out, cate)
    print(json.dumps({
        "method": a.method,
        "n": int(x.shape[0]),
        "covariates": int(x.shape[1]),
        "threads": a.threads,
        "call": call,
        "learner_params": lp,
        "import_s": round(T_IMPORTED - T_START, 4),
        "load_s": round(load_s, 4),
        "fit_predict_s": round(fit_predict_s, 4),
        "learner_fit_s": round(LEARNER["fit_s"], 4),
        "learner_predict_s": round(LEARNER["predict_s"], 4),
        "learner_s": round(LEARNER["fit_s"] + LEARNER["predict_s"], 4),
        "learner_fits": LEARNER["fits"],
        "learner_fit_rows": LEARNER["fit_rows"],
        "learner_predicts": LEARNER["predicts"],
        "in_process_s": round(time.perf_counter() - T_START, 4),
        "cate_mean": float(np.mean(cate)),
        "warnings": sorted({str(w_.message)[:300] for w_ in caught}),
        "versions": {"causalml": version("causalml"), "lightgbm": lgb.__version__,
                     "scikit-learn": version("scikit-learn"), "numpy": np.__version__,
                     "pandas": version("pandas"), "pyarrow": version("pyarrow")},
    }))


if __name__ == "__main__":
    main()
