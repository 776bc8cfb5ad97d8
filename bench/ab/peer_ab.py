"""The Python peer of `paribus ab` for the benchmark: the same analysis, the idiomatic fast way
(pandas to read, numpy for the moments, scipy for the tests).

Usage: peer_ab.py FILE  -> prints a JSON object with the key numbers.
"""
import json
import sys

import numpy as np
import pandas as pd
from scipy import stats


def welch(a, b):
    """Difference b - a with Welch's standard error and p-value."""
    res = stats.ttest_ind(b, a, equal_var=False)
    diff = b.mean() - a.mean()
    return float(diff), float(diff / res.statistic), float(res.pvalue)


def main(path):
    df = pd.read_parquet(path, columns=["arm", "watch", "pre_watch", "watch_seconds", "views"])
    is_t = (df["arm"] == "treatment").to_numpy()
    y = df["watch"].to_numpy()
    x = df["pre_watch"].to_numpy()
    num = df["watch_seconds"].to_numpy(dtype=float)
    den = df["views"].to_numpy(dtype=float)

    plain = welch(y[~is_t], y[is_t])

    # CUPED with theta from the pooled sample
    theta = np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1)
    y_cv = y - theta * (x - x.mean())
    cuped = welch(y_cv[~is_t], y_cv[is_t])
    reduction = 1.0 - np.var(y_cv, ddof=1) / np.var(y, ddof=1)

    # ratio metric by the delta method at the unit level
    def ratio(mask):
        n_, d_ = num[mask], den[mask]
        r = n_.sum() / d_.sum()
        c = np.cov(n_, d_, ddof=1)
        var = (c[0, 0] - 2 * r * c[0, 1] + r * r * c[1, 1]) / (len(n_) * d_.mean() ** 2)
        return r, var

    rc, vc = ratio(~is_t)
    rt, vt = ratio(is_t)

    counts = np.array([(~is_t).sum(), is_t.sum()])
    srm = stats.chisquare(counts, f_exp=counts.sum() * np.array([0.5, 0.5]))

    print(json.dumps({
        "plain_diff": plain[0], "plain_se": plain[1],
        "cuped_diff": cuped[0], "cuped_se": cuped[1],
        "theta": float(theta), "variance_reduction": float(reduction),
        "ratio_diff": float(rt - rc), "ratio_se": float(np.sqrt(vt + vc)),
        "srm_p": float(srm.pvalue),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
