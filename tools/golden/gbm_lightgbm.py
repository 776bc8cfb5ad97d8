#!/usr/bin/env python3
"""Accuracy of LightGBM 4.6.0 (pinned in tools/golden/requirements-gbm.txt) on data that paribus
regenerates bit for bit, for the gradient-boosted trees of paribus::learn::gbm.

Run from the repository root, in a virtual environment built from that requirements file:

    python3.11 -m venv /work/venv-gbm
    /work/venv-gbm/bin/pip install -r tools/golden/requirements-gbm.txt
    /work/venv-gbm/bin/python tools/golden/gbm_lightgbm.py

Data: no file. Every number comes from the SplitMix64 generator (Steele, Lea & Flood 2014) on
64-bit integers, so Python and Rust produce identical bits: u(k) = splitmix64(seed + k), the
uniform (u >> 11) * 2^-53 in [0, 1). With U(c, i) = uniform of stream k = c * 1_000_003 + i:
  x_j[i] = 2 U(j, i) - 1 for j = 0..9 (10 features, uniform on [-1, 1));
  f[i]   = sin(3 x_0) + x_1 x_2 + 1{x_3 > 0.3} + 0.5 x_4^2 (x_5..x_9 are noise features);
  y[i]   = f[i] + (U(10, i) + U(11, i) - 1)      (triangular noise, SD 0.41);
  d[i]   = 1{U(12, i) < logistic(1.5 f[i] - 1)}  (a 0/1 target for log loss).
Rows 0..15999 train, rows 16000..19999 test. The seed is 20261201. The features are identical
bit for bit; f, y and d go through sin and exp, which numpy computes with its own SIMD routines
and Rust with the platform's libm, so y can differ in the last bit (seen: 1 ulp), which changes
no split and is far inside the 2% tolerance of the test; the script records the first values so
a real mismatch shows.

Fits: lightgbm.LGBMRegressor / LGBMClassifier with the parameters in PARAMS below (LightGBM's
defaults written out, deterministic=True, force_row_wise=True, n_jobs=2, no bagging, no feature
subsampling), trained on the training rows, evaluated on the test rows: RMSE against y and
against the noiseless f, and the test log loss for the classifier. Output:
tools/golden/fixtures/gbm_lightgbm.json. Two runs give byte-identical files.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import numpy as np

OUT = Path("tools/golden/fixtures/gbm_lightgbm.json")
SEED = 20261201
N, N_TRAIN, P = 20_000, 16_000, 10
STREAM = 1_000_003
MASK = (1 << 64) - 1

PARAMS = {
    "n_estimators": 100,
    "learning_rate": 0.1,
    "num_leaves": 31,
    "max_depth": -1,
    "min_child_samples": 20,
    "min_child_weight": 1e-3,
    "reg_lambda": 0.0,
    "reg_alpha": 0.0,
    "max_bin": 255,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 2,
    "verbose": -1,
}


def splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform(c: int, n: int) -> np.ndarray:
    k = np.uint64(SEED) + np.uint64(c * STREAM) + np.arange(n, dtype=np.uint64)
    return (splitmix64(k) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def make_data(n: int):
    x = np.column_stack([2.0 * uniform(j, n) - 1.0 for j in range(P)])
    f = np.sin(3.0 * x[:, 0]) + x[:, 1] * x[:, 2] + (x[:, 3] > 0.3) + 0.5 * x[:, 4] ** 2
    y = f + (uniform(10, n) + uniform(11, n) - 1.0)
    d = (uniform(12, n) < 1.0 / (1.0 + np.exp(-(1.5 * f - 1.0)))).astype(np.float64)
    return x, f, y, d


def check_splitmix():
    # the reference outputs of SplitMix64 seeded with 0 (state advanced by the golden gamma)
    z = np.array([0], dtype=np.uint64)
    assert int(splitmix64(z)[0]) == 0xE220A8397B1DCDAF, hex(int(splitmix64(z)[0]))


def main():
    if not Path("tools/golden").is_dir():
        raise SystemExit("run from the repository root")
    check_splitmix()
    x, f, y, d = make_data(N)
    tr, te = slice(0, N_TRAIN), slice(N_TRAIN, N)
    reg = lgb.LGBMRegressor(**PARAMS).fit(x[tr], y[tr])
    pred = reg.predict(x[te])
    clf = lgb.LGBMClassifier(**PARAMS).fit(x[tr], d[tr])
    prob = clf.predict_proba(x[te])[:, 1]
    eps = 1e-15
    q = np.clip(prob, eps, 1 - eps)
    out = {
        "provenance": {
            "script": "tools/golden/gbm_lightgbm.py",
            "python": platform.python_version(),
            "lightgbm": version("lightgbm"),
            "numpy": np.__version__,
            "seed": SEED,
        },
        "data": {
            "n": N,
            "n_train": N_TRAIN,
            "p": P,
            "generator": "splitmix64(seed + c * 1000003 + i) >> 11, times 2^-53; see the script docstring",
            "first_values": {
                "x0": [float(v) for v in x[:3, 0]],
                "x9": [float(v) for v in x[:3, 9]],
                "y": [float(v) for v in y[:3]],
                "d": [float(v) for v in d[:3]],
            },
            "mean_y_train": float(np.mean(y[tr])),
            "mean_d_train": float(np.mean(d[tr])),
        },
        "params": PARAMS,
        "regression": {
            "test_rmse_vs_y": float(np.sqrt(np.mean((pred - y[te]) ** 2))),
            "test_rmse_vs_f": float(np.sqrt(np.mean((pred - f[te]) ** 2))),
            "first_test_predictions": [float(v) for v in pred[:5]],
            "n_leaves_first_trees": [int(t["num_leaves"]) for t in reg.booster_.dump_model()["tree_info"][:5]],
        },
        "classification": {
            "test_log_loss": float(-np.mean(d[te] * np.log(q) + (1 - d[te]) * np.log(1 - q))),
            "first_test_probabilities": [float(v) for v in prob[:5]],
        },
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("regression", "classification")}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
