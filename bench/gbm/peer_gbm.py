"""LightGBM on the SplitMix64 data of crates/paribus/examples/gbm_bench.rs (same generator,
same rows, same split): python peer_gbm.py N P THREADS [classify]. Prints one JSON line."""

import json
import sys
import time

import lightgbm as lgb
import numpy as np

SEED, STREAM = 20261201, 1_000_003


def splitmix64(z):
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform(c, n):
    k = np.uint64(SEED) + np.uint64(c * STREAM) + np.arange(n, dtype=np.uint64)
    return (splitmix64(k) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def main():
    n, p, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    classify = len(sys.argv) > 4 and sys.argv[4] == "classify"
    t0 = time.perf_counter()
    x = np.column_stack([2.0 * uniform(j, n) - 1.0 for j in range(p)])
    f = np.sin(3.0 * x[:, 0]) + x[:, 1] * x[:, 2] + (x[:, 3] > 0.3) + 0.5 * x[:, 4] ** 2
    if classify:
        y = (uniform(1002, n) < 1.0 / (1.0 + np.exp(-(1.5 * f - 1.0)))).astype(np.float64)
    else:
        y = f + (uniform(1000, n) + uniform(1001, n) - 1.0)
    gen_s = time.perf_counter() - t0
    nt = n * 4 // 5
    params = dict(n_estimators=100, learning_rate=0.1, num_leaves=31, min_child_samples=20,
                  min_child_weight=1e-3, reg_lambda=0.0, max_bin=255, subsample=1.0,
                  colsample_bytree=1.0, n_jobs=threads, verbose=-1)
    model = (lgb.LGBMClassifier if classify else lgb.LGBMRegressor)(**params)
    t1 = time.perf_counter()
    model.fit(x[:nt], y[:nt])
    fit_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    if classify:
        q = np.clip(model.predict_proba(x[nt:])[:, 1], 1e-15, 1 - 1e-15)
        metric = float(-np.mean(y[nt:] * np.log(q) + (1 - y[nt:]) * np.log(1 - q)))
    else:
        metric = float(np.sqrt(np.mean((model.predict(x[nt:]) - y[nt:]) ** 2)))
    predict_s = time.perf_counter() - t2
    print(json.dumps({"n": n, "p": p, "threads": threads, "classify": classify, "generate_s": round(gen_s, 4),
                      "fit_s": round(fit_s, 4), "predict_s": round(predict_s, 4), "test_metric": round(metric, 6),
                      "lightgbm": lgb.__version__}))


if __name__ == "__main__":
    main()
