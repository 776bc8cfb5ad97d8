"""The EconML side of bench/forest/bench.py, one fit per process:

    python peer_forest.py grf FILE --trees N --threads T --cate-out OUT.npz [--chunk-mib M] [--seed S]
    python peer_forest.py dml FILE --trees N --nuisance-trees K --threads T --cate-out OUT.npz
                          [--nuisance grf|sklearn] [--cv 2] [--chunk-mib M] [--seed S]

grf: econml.grf.CausalForest on (X, T = w - w_hat, y - y_hat), the columns of FILE, with the
settings of `paribus forest causal --ci-group-size 2 --sample-fraction 0.5 --min-node-size 5`
(see FOREST_PARAMS), then predict_and_var on every training row (in chunks, see --chunk-mib).

dml: econml.dml.CausalForestDML on (y, w, X) with forest nuisances fitted by EconML
(cross-fitting, --cv folds), the same final forest, the doubly robust ATE (ate_, ate_stderr_,
from the forest's out-of-bag CATE) and effect_inference on every training row (in chunks).
Nuisances: --nuisance grf (default) are econml.grf.RegressionForest, honest, subsampled
without replacement, 5 rows per leaf, every feature tried: the closest to grf's Y.hat / W.hat
forests; the propensity is the regression forest on w, exposed as a classifier (predict_proba)
because the doubly robust ATE needs discrete_treatment=True. --nuisance sklearn are
scikit-learn's RandomForestRegressor / RandomForestClassifier (bootstrap of half the rows, 5 rows
per leaf, every feature tried).

Prints one JSON line: the times of each step measured inside the process (import, load, fit,
of which the nuisance learners' fit / predict, prediction with variance), the parameters passed,
summaries of the CATE and the versions; writes the CATE and its standard error for every row
to OUT.npz (arrays cate, se).
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402
from importlib.metadata import version  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

P_COLS = [f"x{j}" for j in range(1, 21)]
LEARNER_S = [0.0]


def timed(method):
    def wrapper(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            LEARNER_S[0] += time.perf_counter() - t

    return wrapper


def forest_params(trees, p, threads, seed):
    """The final causal forest: grf's causal_forest(num.trees = trees, sample.fraction = 0.5,
    ci.group.size = 2, min.node.size = 5, honesty = TRUE, honesty.fraction = 0.5, alpha = 0.05,
    mtry = min(ceiling(sqrt(p) + 20), p) = p) in EconML's terms."""
    return dict(
        n_estimators=trees,
        criterion="het",          # grf's gradient-based heterogeneity split (EconML's default is "mse")
        max_depth=None,
        min_samples_split=10,     # a node with fewer than 2 x min_samples_leaf rows cannot split anyway
        min_samples_leaf=5,       # grf min.node.size
        min_weight_fraction_leaf=0.0,
        min_var_fraction_leaf=None,
        max_features=p,           # grf mtry = min(ceil(sqrt(20) + 20), 20) = 20
        min_impurity_decrease=0.0,
        max_samples=0.5,          # each little bag is a half-sample; each tree takes all of it (grf: 2 x 0.5)
        min_balancedness_tol=0.45,  # at least 5% of the parent in each child (grf alpha = 0.05)
        honest=True,              # half the tree's rows place the splits, half fill the leaves
        inference=True,           # bootstrap of little bags
        fit_intercept=True,       # a local intercept, as grf's local centering
        subforest_size=2,         # grf ci.group.size = 2
        n_jobs=threads,
        random_state=seed,
    )


def load(path):
    t = pq.read_table(path, columns=P_COLS + ["y", "w", "y_hat", "w_hat"])
    x = np.column_stack([t.column(c).to_numpy() for c in P_COLS]).astype(np.float64, copy=False)
    x = np.ascontiguousarray(x)
    y = t.column("y").to_numpy().astype(np.float64)
    w = t.column("w").to_numpy()
    y_hat = t.column("y_hat").to_numpy().astype(np.float64)
    w_hat = t.column("w_hat").to_numpy().astype(np.float64)
    del t
    return x, y, w, y_hat, w_hat


def chunk_rows(n, trees, mib):
    """Rows per prediction chunk: EconML keeps, for every row of a predict call, one moment
    vector (2 values) and one 2 x 2 moment variance per little bag, so a call on all of 1M rows
    with 1,000 bags would need ~48 GB; chunks keep those buffers near `mib` MiB."""
    bags = max(1, trees // 2)
    per_row = bags * 6 * 8 * 2  # moments and their variances, plus the stacked copies
    return int(max(1000, min(n, mib * 2**20 // per_row)))


def run_grf(a, x, y, w, y_hat, w_hat):
    from econml.grf import CausalForest

    params = forest_params(a.trees, x.shape[1], a.threads, a.seed)
    est = CausalForest(**params)
    t0 = time.perf_counter()
    est.fit(x, (w - w_hat).astype(np.float64), y - y_hat)
    fit_s = time.perf_counter() - t0
    n = x.shape[0]
    cate = np.empty(n)
    se = np.empty(n)
    rows = chunk_rows(n, a.trees, a.chunk_mib)
    t1 = time.perf_counter()
    for i in range(0, n, rows):
        point, var = est.predict_and_var(x[i:i + rows])
        cate[i:i + rows] = point[:, 0]
        se[i:i + rows] = np.sqrt(np.maximum(var[:, 0, 0], 0.0))
    predict_s = time.perf_counter() - t1
    return {
        "estimator": "econml.grf.CausalForest",
        "params": params,
        "fit_on": "X, T = w - w_hat, y = y - y_hat (the true nuisances of the simulation)",
        "fit_s": round(fit_s, 4),
        "predict_s": round(predict_s, 4),
        "predict": f"predict_and_var on all training rows (in-sample), {rows} rows per call",
        "predict_chunk_rows": rows,
    }, cate, se, None


def run_dml(a, x, y, w, y_hat, w_hat):
    from econml.dml import CausalForestDML

    p = x.shape[1]
    k = a.nuisance_trees
    if a.nuisance == "grf":
        from econml.grf import RegressionForest

        class TimedRegressionForest(RegressionForest):
            fit = timed(RegressionForest.fit)
            predict = timed(RegressionForest.predict)

        class TimedPropensityForest(RegressionForest):
            """The regression forest of w on X (grf's W.hat), exposed as a classifier."""
            fit = timed(RegressionForest.fit)

            @timed
            def predict_proba(self, X):
                e = np.clip(RegressionForest.predict(self, X).ravel(), 0.0, 1.0)
                return np.column_stack([1.0 - e, e])

        # grf's regression_forest as causal_forest calls it: sample.fraction 0.5 (without
        # replacement), ci.group.size 1, honesty, min.node.size 5, mtry = p, alpha 0.05
        nparams = dict(n_estimators=k, max_depth=None, min_samples_split=10, min_samples_leaf=5,
                       max_features=p, max_samples=0.5, min_balancedness_tol=0.45, honest=True,
                       inference=False, n_jobs=a.threads, random_state=a.seed)
        model_y = TimedRegressionForest(**nparams)
        model_t = TimedPropensityForest(**nparams)
        ndesc = "econml.grf.RegressionForest (y) and the same forest on w as predict_proba (w)"
    else:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        class TimedRFR(RandomForestRegressor):
            fit = timed(RandomForestRegressor.fit)
            predict = timed(RandomForestRegressor.predict)

        class TimedRFC(RandomForestClassifier):
            fit = timed(RandomForestClassifier.fit)
            predict = timed(RandomForestClassifier.predict)
            predict_proba = timed(RandomForestClassifier.predict_proba)

        nparams = dict(n_estimators=k, min_samples_leaf=5, max_features=None, bootstrap=True,
                       max_samples=0.5, n_jobs=a.threads, random_state=a.seed)
        model_y = TimedRFR(**nparams)
        model_t = TimedRFC(**nparams)
        ndesc = "sklearn RandomForestRegressor (y) and RandomForestClassifier (w)"
    fparams = forest_params(a.trees, p, a.threads, a.seed)
    params = dict(discrete_treatment=True, cv=a.cv, drate=True, **fparams)
    est = CausalForestDML(model_y=model_y, model_t=model_t, **params)
    t0 = time.perf_counter()
    est.fit(y, w, X=x)
    fit_s = time.perf_counter() - t0
    nuisance_s = LEARNER_S[0]
    ate = float(np.ravel(est.ate_)[0])
    ate_se = float(np.ravel(est.ate_stderr_)[0])
    n = x.shape[0]
    cate = np.empty(n)
    se = np.empty(n)
    rows = chunk_rows(n, a.trees, a.chunk_mib)
    t1 = time.perf_counter()
    for i in range(0, n, rows):
        inf = est.effect_inference(x[i:i + rows])
        cate[i:i + rows] = np.ravel(inf.point_estimate)
        se[i:i + rows] = np.ravel(inf.stderr)
    predict_s = time.perf_counter() - t1
    params = dict(params, model_y=f"{type(model_y).__bases__[0].__name__}({nparams})",
                  model_t=f"{type(model_t).__bases__[0].__name__}({nparams})")
    return {
        "estimator": "econml.dml.CausalForestDML",
        "params": params,
        "nuisance": ndesc,
        "nuisance_trees": k,
        "fit_s": round(fit_s, 4),
        "nuisance_s": round(nuisance_s, 4),
        "final_forest_s": round(fit_s - nuisance_s, 4),
        "predict_s": round(predict_s, 4),
        "predict": f"effect_inference on all training rows (in-sample), {rows} rows per call",
        "predict_chunk_rows": rows,
    }, cate, se, (ate, ate_se)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["grf", "dml"])
    ap.add_argument("data")
    ap.add_argument("--trees", type=int, required=True)
    ap.add_argument("--nuisance-trees", type=int, default=None)
    ap.add_argument("--nuisance", choices=["grf", "sklearn"], default="grf")
    ap.add_argument("--cv", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk-mib", type=int, default=256)
    ap.add_argument("--cate-out", required=True)
    a = ap.parse_args()
    if a.nuisance_trees is None:
        a.nuisance_trees = max(50, a.trees // 4)
    # EconML's import (numba, scipy, sklearn, ...) is timed as import_s, apart from the fit
    if a.mode == "grf":
        import econml.grf  # noqa: F401
    else:
        import econml.dml  # noqa: F401
    import_s = time.perf_counter() - T_START
    t0 = time.perf_counter()
    x, y, w, y_hat, w_hat = load(a.data)
    load_s = time.perf_counter() - t0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc, cate, se, ate = (run_grf if a.mode == "grf" else run_dml)(a, x, y, w, y_hat, w_hat)
    np.savez(a.cate_out, cate=cate, se=se)
    doc.update({
        "mode": a.mode,
        "n": int(x.shape[0]),
        "covariates": int(x.shape[1]),
        "trees": a.trees,
        "threads": a.threads,
        "import_s": round(import_s, 4),
        "load_s": round(load_s, 4),
        "in_process_s": round(time.perf_counter() - T_START, 4),
        "cate_mean": float(np.nanmean(cate)),
        "se_mean": float(np.nanmean(se)),
        "ate": None if ate is None else ate[0],
        "ate_se": None if ate is None else ate[1],
        "warnings": sorted({str(w_.message)[:300] for w_ in caught}),
        "versions": {k: version(k) for k in ("econml", "scikit-learn", "numpy", "scipy", "pyarrow",
                                              "joblib")},
    })
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
