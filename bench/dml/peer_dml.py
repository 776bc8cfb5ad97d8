"""The DoubleML + LightGBM side of bench/dml/bench.py:

    python peer_dml.py plr|irm FILE THREADS

Reads FILE (Parquet with columns y, d, x1..x20, fold) with pandas, fits DoubleMLPLR
(partialling out; ml_l, ml_m = LGBMRegressor) or DoubleMLIRM (ATE; ml_g = LGBMRegressor,
ml_m = LGBMClassifier) with 5-fold cross-fitting on the folds of the `fold` column (given
through set_sample_splitting, so DoubleML draws no split of its own), and prints one JSON
line: the estimate, its SE, DoubleML's out-of-fold nuisance losses (RMSE; log loss for the
classifier) and the time of each step measured inside the process.

Every learner has LightGBM's defaults, written out: 100 trees, learning rate 0.1, 31 leaves,
20 rows per leaf, min_child_weight 1e-3, no L2, 255 bins, no bagging, THREADS threads.
The learner classes are LightGBM's with a timer around fit / predict / predict_proba (the
sum is reported as learner_s, so DoubleML's own share of the time can be read off); the
timer changes nothing else.
"""

import time

T_START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from importlib.metadata import version  # noqa: E402

import doubleml as dml  # noqa: E402
import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

T_IMPORTED = time.perf_counter()
LEARNER_S = [0.0]


def timed(method):
    def wrapper(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            LEARNER_S[0] += time.perf_counter() - t

    return wrapper


class Regressor(lgb.LGBMRegressor):
    fit = timed(lgb.LGBMRegressor.fit)
    predict = timed(lgb.LGBMRegressor.predict)


class Classifier(lgb.LGBMClassifier):
    fit = timed(lgb.LGBMClassifier.fit)
    predict = timed(lgb.LGBMClassifier.predict)
    predict_proba = timed(lgb.LGBMClassifier.predict_proba)


def params(threads):
    return dict(n_estimators=100, learning_rate=0.1, num_leaves=31, max_depth=-1,
                min_child_samples=20, min_child_weight=1e-3, reg_lambda=0.0, reg_alpha=0.0,
                max_bin=255, subsample=1.0, subsample_freq=0, colsample_bytree=1.0,
                n_jobs=threads, verbose=-1)


def main():
    model, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if model not in ("plr", "irm"):
        sys.exit("model: plr or irm")
    k = 5
    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    xcols = [c for c in df.columns if c.startswith("x")]
    fold = df["fold"].to_numpy()
    data = dml.DoubleMLData(df, y_col="y", d_cols="d", x_cols=xcols)
    smpls = [(np.flatnonzero(fold != j), np.flatnonzero(fold == j)) for j in range(k)]
    load_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    p = params(threads)
    if model == "plr":
        obj = dml.DoubleMLPLR(data, Regressor(**p), Regressor(**p), n_folds=k, n_rep=1,
                              score="partialling out", draw_sample_splitting=False)
    else:
        obj = dml.DoubleMLIRM(data, Regressor(**p), Classifier(**p), n_folds=k, n_rep=1,
                              score="ATE", draw_sample_splitting=False)
    obj.set_sample_splitting([smpls])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj.fit()
    fit_s = time.perf_counter() - t1

    names = obj.params_names
    rmse = obj.evaluate_learners()
    print(json.dumps({
        "model": model,
        "n": int(obj.n_obs),
        "covariates": len(xcols),
        "threads": threads,
        "estimate": float(obj.coef[0]),
        "std_error": float(obj.se[0]),
        # DoubleML's nuisance_loss: RMSE for regressors (ml_g0 / ml_g1 over the d = 0 / d = 1
        # rows), log loss of the clipped propensity for the classifier
        "nuisance_loss": {nm: float(obj.nuisance_loss[nm][0, 0]) for nm in names},
        "evaluate_learners_rmse": {nm: float(rmse[nm][0, 0]) for nm in names},
        "import_s": round(T_IMPORTED - T_START, 4),
        "load_s": round(load_s, 4),
        "fit_s": round(fit_s, 4),
        "learner_s": round(LEARNER_S[0], 4),
        "in_process_s": round(time.perf_counter() - T_START, 4),
        "warnings": sorted({str(w.message) for w in caught}),
        "versions": {"doubleml": version("DoubleML"), "lightgbm": lgb.__version__,
                     "scikit-learn": version("scikit-learn"), "numpy": np.__version__,
                     "pandas": pd.__version__, "pyarrow": version("pyarrow")},
    }))


if __name__ == "__main__":
    main()
