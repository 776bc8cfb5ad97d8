#!/usr/bin/env python3
"""Why paribus's X-learner was about 3-6% worse than CausalML + LightGBM at 1M rows (meta/README.md):
the effect models' bin edges against the step of tau at x3 = 0.5, the median of x3.

On bench.py's 1M-row data set, LightGBM alone (one thread, LightGBM's defaults as in bench.py):
1. the X-learner's outcome models mu0, mu1 and the imputed effects D, once;
2. its effect models tau0, tau1 on D, and the CATE RMSE against the true tau, with the
   features as they are (LightGBM bins them itself: a bin for zero, 254 for the positive values)
   and with the features replaced by their bin numbers under k equal-count bins from an evenly
   strided 200,000-row sample (paribus's sample), k = 254, 255, 256, and under 254 such bins
   from each effect model's own arm (as LightGBM bins each fit's own rows);
3. optionally (--paribus BIN [BIN ...]) paribus's effect models on the same D, through its T-learner on a
   data set whose other arm's outcome is 0 (so mu0 = 0 and the CATE is the arm's effect model).

    /work/venv-meta-bench/bin/python bench/meta/bin_edges.py [--paribus target/release/paribus ...]
        # --draw S: instead of bench.py's data set, seeds.py's fresh 1M-row draw with seed S

With k even one bin edge falls at the median, so the trees can split at x3 = 0.5; with k odd
(255 bins for the values alone) the nearest edges are half a bin away on either side.
"""
import argparse
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from lightgbm import LGBMRegressor
from peer_meta import params

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench/data/meta_1000000x20.parquet"
# LightGBM's parameters as bench.py's peer runs them (peer_meta.py), 1 thread
LGB = params(1)
SAMPLE = 200_000


def strided_bins(x, k, rows=None):
    """Each column's bin number under k equal-count bins of an evenly strided sample (of the
    rows `rows` when given: edges from those rows, every row binned)."""
    pool = np.arange(len(x)) if rows is None else np.flatnonzero(rows)
    size = min(SAMPLE, len(pool))
    idx = pool[(np.arange(size) * len(pool)) // size]
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        v = np.sort(x[idx, j])
        edges = v[(np.arange(1, k) * size) // k]
        out[:, j] = np.searchsorted(edges, x[:, j], side="left")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paribus", nargs="+", default=[],
                    help="paribus binaries whose effect models to fit on the same imputed effects")
    ap.add_argument("--draw", type=int, help="seeds.py's 1M-row draw with this seed instead of bench.py's data")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    if a.draw is not None:
        from seeds import draw  # the same folder
        x, w, y, tau = draw(1_000_000, a.draw)
    else:
        if not DATA.exists():
            raise SystemExit(f"{DATA} is missing: run bench/meta/bench.py --rows 1000000 first")
        t = pq.read_table(DATA)
        x = np.column_stack([t[f"x{j}"].to_numpy() for j in range(20)])
        w, y, tau = t["w"].to_numpy(), t["y"].to_numpy(), t["tau"].to_numpy()
    tr, co = w == 1, w == 0

    def fit(xs, target, rows):
        return LGBMRegressor(**LGB).fit(xs[rows], target[rows])

    rmse = lambda cate: float(np.sqrt(np.mean((cate - tau) ** 2)))
    m0, m1 = fit(x, y, co), fit(x, y, tr)
    d = np.where(tr, y - m0.predict(x), m1.predict(x) - y)
    print("X-learner CATE RMSE over 1M rows, effect models on the same imputed effects:")
    variants = [("LightGBM, its own bins (zero + 254)", x)]
    variants += [(f"LightGBM, {k} strided equal-count bins", strided_bins(x, k)) for k in (254, 255, 256)]
    for name, xs in variants:
        cate = 0.5 * fit(xs, d, tr).predict(xs) + 0.5 * fit(xs, d, co).predict(xs)
        print(f"  {name:44s} {rmse(cate):.5f}", flush=True)
    # each effect model's edges from its own arm's rows, as LightGBM samples each fit's own data:
    # the two models' edges near the step differ, and their mean blurs where each one cuts
    xt, xc = strided_bins(x, 254, tr), strided_bins(x, 254, co)
    cate = 0.5 * fit(xt, d, tr).predict(xt) + 0.5 * fit(xc, d, co).predict(xc)
    print(f"  {'LightGBM, 254 strided bins of its own arm':44s} {rmse(cate):.5f}", flush=True)
    cols = {f"x{j}": x[:, j] for j in range(20)}
    for binary in a.paribus:
        parts = []
        with tempfile.TemporaryDirectory() as tmp:
            for arm in (tr, co):
                data, out = Path(tmp) / "d.parquet", Path(tmp) / "cate.parquet"
                pq.write_table(pa.table(dict(cols, y=np.where(arm, d, 0.0), w=arm.astype(np.int64))), data)
                subprocess.run([binary, "uplift", "fit", "--data", str(data), "--outcome", "y",
                                "--treatment", "w", "--covariates", "x*", "--method", "t",
                                "--learner", "gbm", "--propensity", "0.5", "--threads", "1",
                                "--seed", "1", "--out", str(out), "--json"],
                               check=True, capture_output=True)
                parts.append(pq.read_table(out)["cate"].to_numpy())
        print(f"  {'paribus ' + binary:44s} {rmse(0.5 * parts[0] + 0.5 * parts[1]):.5f}")


if __name__ == "__main__":
    main()
