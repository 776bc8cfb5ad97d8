#!/usr/bin/env python3
"""Golden reference fixtures for paribus, computed with scipy / statsmodels /
scikit-learn.

Run from the repository root:

    /work/venv-golden/bin/python tools/golden/generate.py

It writes JSON files into tools/golden/fixtures/. The output is deterministic:
every simulated data set comes from numpy.random.default_rng(<fixed seed>),
and the data themselves are stored in the fixtures, so the Rust tests never
need to reproduce numpy's random streams.

Floats are written by Python's json module, which uses repr(float): the
shortest string that round-trips to the same IEEE-754 double. Nothing is
rounded.

See tools/golden/README.md for the meaning of every field. to_py comes from
golden_common.py beside this script (shared with did_pyfixest.py).
"""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import scipy.stats as st
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from statsmodels.stats import sandwich_covariance as sw
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.grouputils import combine_indices

from golden_common import to_py

# --------------------------------------------------------------------------
# Paths (relative to the repository root, which must be the working dir).
# --------------------------------------------------------------------------
REPO_ROOT = Path.cwd()
OUT_DIR = Path("tools/golden/fixtures")
PENN_CSV = "../shared/data/penn_bonus/penn_jae.csv"

# Fixed seeds, one per simulated fixture.
SEED_WELCH = 101
SEED_OLS = 202
SEED_LOGIT = 303
SEED_AB = 404


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------
def provenance(seed):
    """Provenance block stored at the top of every fixture."""
    return {
        "script": "tools/golden/generate.py",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
        "sklearn": sklearn.__version__,
        "pandas": pd.__version__,
        "seed": seed,
    }


def _dumps(obj, indent=0):
    """JSON text with nested dicts indented but lists of scalars (and lists
    of lists of scalars, i.e. matrices) on one line, to keep files readable.
    Scalars go through json.dumps, so floats keep their full repr."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [
            f'{pad}  {json.dumps(k)}: {_dumps(v, indent + 1)}' for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, dict) for v in obj):
            return json.dumps(obj, allow_nan=False)
        items = [f"{pad}  {_dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write_fixture(name, obj):
    path = OUT_DIR / name
    text = _dumps(to_py(obj)) + "\n"
    json.loads(text)  # sanity: valid JSON
    path.write_text(text)
    print(f"wrote {path} ({len(text)} bytes)")


def assert_close(a, b, rtol=1e-10, atol=1e-12, what=""):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        raise AssertionError(f"cross-check failed: {what}\n{a}\nvs\n{b}")


def welch(treatment, control, alpha=None):
    """Welch two-sample comparison, treatment minus control.

    t, p and df come from scipy.stats.ttest_ind(..., equal_var=False);
    se is computed here as sqrt(var_t/n_t + var_c/n_c) (ddof=1) and is
    cross-checked against diff / t."""
    treatment = np.asarray(treatment, dtype=float)
    control = np.asarray(control, dtype=float)
    res = st.ttest_ind(treatment, control, equal_var=False)
    mt, mc = treatment.mean(), control.mean()
    diff = mt - mc
    se = math.sqrt(treatment.var(ddof=1) / treatment.size
                   + control.var(ddof=1) / control.size)
    # scipy's own t must equal diff / se
    assert_close(res.statistic, diff / se, what="welch t")
    # scipy's df attribute must equal the Welch-Satterthwaite formula
    vt = treatment.var(ddof=1) / treatment.size
    vc = control.var(ddof=1) / control.size
    df_ws = (vt + vc) ** 2 / (vt**2 / (treatment.size - 1) + vc**2 / (control.size - 1))
    assert_close(res.df, df_ws, what="welch df")
    out = {
        "mean_control": mc,
        "mean_treatment": mt,
        "diff": diff,
        "se": se,
        "t": float(res.statistic),
        "df": float(res.df),
        "p_value": float(res.pvalue),
    }
    if alpha is not None:
        q = st.t.ppf(1 - alpha / 2, res.df)
        out["ci_lower"] = diff - q * se
        out["ci_upper"] = diff + q * se
    return out


# --------------------------------------------------------------------------
# 1. welch.json
# --------------------------------------------------------------------------
def fixture_welch():
    rng = np.random.default_rng(SEED_WELCH)
    cases = []

    # (a) moderate n, normal, unequal variances
    c = rng.normal(10.0, 2.0, size=50)
    t = rng.normal(10.8, 4.0, size=60)
    cases.append(("normal_50_vs_60_unequal_var", c, t))

    # (b) very small samples
    c = rng.normal(3.0, 1.0, size=7)
    t = rng.normal(4.0, 2.5, size=5)
    cases.append(("small_7_vs_5", c, t))

    # (c) large, skewed (lognormal)
    c = rng.lognormal(mean=0.0, sigma=1.0, size=1000)
    t = rng.lognormal(mean=0.1, sigma=1.1, size=1200)
    cases.append(("lognormal_1000_vs_1200", c, t))

    # (d) binary outcomes
    c = (rng.random(400) < 0.30).astype(float)
    t = (rng.random(380) < 0.36).astype(float)
    cases.append(("binary_400_vs_380", c, t))

    out = []
    for name, c, t in cases:
        out.append({
            "name": name,
            "control": c,
            "treatment": t,
            "expected": welch(t, c),
        })
    write_fixture("welch.json", {"provenance": provenance(SEED_WELCH), "cases": out})


# --------------------------------------------------------------------------
# 2. ols.json
# --------------------------------------------------------------------------
def cluster_ids(rng, n, n_groups, concentration):
    """Integer cluster ids 0..n_groups-1 with unequal sizes; every id occurs
    at least once (one forced member each, the rest drawn with Dirichlet
    probabilities)."""
    p = rng.dirichlet(np.full(n_groups, concentration))
    rest = rng.choice(n_groups, size=n - n_groups, p=p)
    g = np.concatenate([np.arange(n_groups), rest])
    return rng.permutation(g).astype(np.int64)


def manual_cluster_cov(bread, scores, groups, n, k, correction):
    """Independent CRV1 implementation used to cross-check statsmodels:
    bread @ (sum_g s_g s_g') @ bread, times G/(G-1)*(n-1)/(n-k) if asked."""
    _, inv = np.unique(groups, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    G = inv.max() + 1
    sums = np.zeros((G, scores.shape[1]))
    np.add.at(sums, inv, scores)
    cov = bread @ (sums.T @ sums) @ bread
    if correction:
        cov *= G / (G - 1) * (n - 1) / (n - k)
    return cov, G


def fit_all_covs(model_factory, X, y, w, g1, g2):
    """Fit one model (OLS or WLS) under every covariance type."""
    n, k = X.shape
    specs = {
        "nonrobust": dict(cov_type="nonrobust"),
        "HC0": dict(cov_type="HC0"),
        "HC1": dict(cov_type="HC1"),
        "HC2": dict(cov_type="HC2"),
        "HC3": dict(cov_type="HC3"),
        "cluster_g1": dict(cov_type="cluster", cov_kwds={"groups": g1}),
        "cluster_g2": dict(cov_type="cluster", cov_kwds={"groups": g2}),
        "twoway_g1_g2": dict(cov_type="cluster",
                             cov_kwds={"groups": np.column_stack([g1, g2])}),
    }
    params = None
    bse, cov = {}, {}
    for key, kw in specs.items():
        res = model_factory().fit(**kw)
        if params is None:
            params = np.asarray(res.params)
        assert_close(res.params, params, what=f"params stable across cov types ({key})")
        bse[key] = np.asarray(res.bse)
        cov[key] = np.asarray(res.cov_params())

    # ---- independent cross-checks of the cluster formulas --------------
    sw_ = np.ones(n) if w is None else np.asarray(w)
    e = y - X @ params
    bread = np.linalg.inv(X.T @ (sw_[:, None] * X))
    scores = X * (sw_ * e)[:, None]  # x_i * w_i * e_i
    c1, G1 = manual_cluster_cov(bread, scores, g1, n, k, True)
    c2, G2 = manual_cluster_cov(bread, scores, g2, n, k, True)
    c12, G12 = manual_cluster_cov(bread, scores, np.column_stack([g1, g2]), n, k, True)
    assert_close(cov["cluster_g1"], c1, what="one-way cluster g1")
    assert_close(cov["cluster_g2"], c2, what="one-way cluster g2")
    # each of the three two-way terms carries its own G/(G-1)*(n-1)/(n-k)
    assert_close(cov["twoway_g1_g2"], c1 + c2 - c12, what="two-way cluster")
    # HC0 and HC1 = n/(n-k) * HC0
    hc0 = bread @ (scores.T @ scores) @ bread
    assert_close(cov["HC0"], hc0, what="HC0")
    assert_close(cov["HC1"], hc0 * n / (n - k), what="HC1")
    return {"params": params, "bse": bse, "cov": cov}, (G1, G2, G12)


def fixture_ols():
    rng = np.random.default_rng(SEED_OLS)
    n = 300
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    x3 = (rng.random(n) < 0.4).astype(float)
    g1 = cluster_ids(rng, n, 25, concentration=1.0)  # 25 clusters, unequal sizes
    g2 = cluster_ids(rng, n, 15, concentration=2.0)  # 15 clusters, crossed with g1
    a1 = rng.normal(0.0, 0.6, size=25)  # g1 cluster effects
    a2 = rng.normal(0.0, 0.4, size=15)  # g2 cluster effects
    sd = 0.5 + 0.6 * np.abs(x1) + 0.4 * x3  # heteroskedastic noise scale
    eps = rng.normal(size=n) * sd
    y = 1.0 + 2.0 * x1 - 0.5 * x2 + 0.3 * x3 + a1[g1] + a2[g2] + eps
    w = rng.uniform(0.5, 3.0, size=n)

    X = np.column_stack([np.ones(n), x1, x2, x3])
    ols, (G1, G2, G12) = fit_all_covs(lambda: sm.OLS(y, X), X, y, None, g1, g2)
    wls, _ = fit_all_covs(lambda: sm.WLS(y, X, weights=w), X, y, w, g1, g2)

    notes = (
        "statsmodels {ver}. HC1 = n/(n-k) * HC0 (n=300, k=4). HC2 scales e_i^2 by 1/(1-h_ii), "
        "HC3 by 1/(1-h_ii)^2, with h_ii the leverage of the (weight-whitened) design. "
        "One-way cluster (cov_type='cluster', default use_correction=True) = CRV1: "
        "bread @ sum_g (X_g' u_g)(X_g' u_g)' @ bread times G/(G-1) * (N-1)/(N-K), "
        "K = number of parameters (4), G = number of distinct groups "
        "(sandwich_covariance.cov_cluster). "
        "Two-way (groups = 2-column array) = cov_cluster_2groups: V_g1 + V_g2 - V_g1g2, where "
        "EACH of the three terms is a separate cov_cluster call with use_correction=True, so each "
        "gets its OWN factor G_j/(G_j-1) * (N-1)/(N-K) with G_j = number of distinct clusters in "
        "that dimension: G_g1={G1}, G_g2={G2}, G_g1g2={G12} (distinct (g1,g2) pairs present). "
        "No eigenvalue (PSD) fix is applied. "
        "For WLS the scores are wexog*wresid = sqrt(w)x * sqrt(w)e = w*x*e and the bread is "
        "(X'WX)^-1; the same factors apply. Cluster df adjustment (df_resid -> G-1, min(G1,G2) "
        "for two-way) affects only t/p-values, not bse/cov. Verified by an independent numpy "
        "implementation in generate.py (rtol 1e-10)."
    ).format(ver=statsmodels.__version__, G1=G1, G2=G2, G12=G12)

    write_fixture("ols.json", {
        "provenance": provenance(SEED_OLS),
        "data": {"y": y, "x1": x1, "x2": x2, "x3": x3, "w": w, "g1": g1, "g2": g2},
        "columns": ["const", "x1", "x2", "x3"],
        "n_clusters": {"g1": G1, "g2": G2, "g1_g2": G12},
        "ols": ols,
        "wls": wls,
        "notes": notes,
    })


# --------------------------------------------------------------------------
# 3. logit.json
# --------------------------------------------------------------------------
def fixture_logit():
    rng = np.random.default_rng(SEED_LOGIT)
    n = 500
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    eta = -0.5 + 1.0 * x1 - 0.7 * x2
    prob = 1.0 / (1.0 + np.exp(-eta))
    y = (rng.random(n) < prob).astype(np.int64)
    X = np.column_stack([np.ones(n), x1, x2])

    # Unpenalised MLE via Newton-Raphson
    fit_kw = dict(method="newton", tol=1e-12, disp=0)
    res = sm.Logit(y, X).fit(**fit_kw)
    res_hc0 = sm.Logit(y, X).fit(cov_type="HC0", **fit_kw)
    res_hc1 = sm.Logit(y, X).fit(cov_type="HC1", **fit_kw)
    # discrete models have no cov_HC1 attribute: statsmodels falls back to
    # cov_white_simple(use_correction=False), i.e. HC1 == HC0 exactly.
    assert_close(res_hc1.bse, res_hc0.bse, rtol=0, atol=0, what="logit HC1 == HC0")
    # independent HC0 check: H^-1 (sum s_i s_i') H^-1
    p_hat = 1.0 / (1.0 + np.exp(-X @ res.params))
    S = X * (y - p_hat)[:, None]
    Hinv = np.linalg.inv(X.T @ (X * (p_hat * (1 - p_hat))[:, None]))
    assert_close(np.sqrt(np.diag(Hinv @ S.T @ S @ Hinv)), res_hc0.bse, what="logit HC0")
    assert_close(np.sqrt(np.diag(Hinv)), res.bse, what="logit nonrobust")

    # L2-penalised logistic regression (sklearn). penalty defaults to L2
    # (l1_ratio=0); `penalty=` is deprecated in this sklearn so not passed.
    C = 0.5
    clf = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12,
                             max_iter=10000, fit_intercept=True)
    clf.fit(np.column_stack([x1, x2]), y)
    b0 = float(clf.intercept_[0])
    b = clf.coef_[0].astype(float)
    # Verify the objective: sum(logloss) + (1/(2C)) * ||b||^2 (intercept not
    # penalised) is stationary at sklearn's solution.
    lam = 1.0 / C
    p_l2 = 1.0 / (1.0 + np.exp(-(b0 + x1 * b[0] + x2 * b[1])))
    grad = X.T @ (p_l2 - y) + lam * np.array([0.0, b[0], b[1]])
    if np.max(np.abs(grad)) > 1e-8:
        raise AssertionError(f"sklearn L2 objective check failed: grad={grad}")

    notes = (
        "mle: statsmodels Logit(y, X).fit(method='newton', tol=1e-12, disp=0); bse_nonrobust = "
        "sqrt(diag(H^-1)), H = X' diag(p(1-p)) X. bse_HC0 = sqrt(diag(H^-1 (sum s_i s_i') H^-1)), "
        "s_i = x_i (y_i - p_i). HC1 for discrete models: statsmodels' discrete results have no "
        "cov_HC1 attribute, so base/covtype.py falls back to "
        "sandwich_covariance.cov_white_simple(use_correction=False) for every HCx type: "
        "HC1 (and HC2/HC3) == HC0 exactly, NO n/(n-k) factor (asserted bit-identical here)."
    )
    lambda_note = (
        f"sklearn {sklearn.__version__} (solver='newton-cholesky', default L2, l1_ratio=0) "
        "minimises (1/n) * sum_i logloss_i + (1/2) * (1/(C*n)) * ||coef||^2, i.e. "
        "l2_reg_strength = 1/(C*sw_sum) in linear_model/_logistic.py and LinearModelLoss "
        "(linear_model/_linear_loss.py) penalises only the weights, NOT the intercept. "
        "Multiplying by n: sum_i logloss_i + (1/(2C)) * ||coef||^2, equivalently "
        "C * sum_i logloss_i + (1/2)||coef||^2 (the documented form). So an implementation "
        "minimising sum(logloss) + (lambda/2)*||beta_without_intercept||^2 must use "
        "lambda = 1/C = 2.0. Verified: the gradient of that objective at sklearn's solution "
        f"is below 1e-8 (max |grad| = {np.max(np.abs(grad)):.3g})."
    )

    write_fixture("logit.json", {
        "provenance": provenance(SEED_LOGIT),
        "data": {"y": y, "x1": x1, "x2": x2},
        "columns": ["const", "x1", "x2"],
        "mle": {
            "params": np.asarray(res.params),
            "bse_nonrobust": np.asarray(res.bse),
            "bse_HC0": np.asarray(res_hc0.bse),
            "bse_HC1": np.asarray(res_hc1.bse),
            "llf": float(res.llf),
            "iterations": int(res.mle_retvals["iterations"]),
        },
        "l2": {"C": C, "intercept": b0, "coef": b, "lambda_note": lambda_note},
        "notes": notes,
    })


# --------------------------------------------------------------------------
# 4. ab.json
# --------------------------------------------------------------------------
def plain_compare(arm_vals, ctl_vals, alpha):
    """Welch difference plus delta-method relative lift (see README)."""
    arm_vals = np.asarray(arm_vals, dtype=float)
    ctl_vals = np.asarray(ctl_vals, dtype=float)
    w = welch(arm_vals, ctl_vals, alpha=alpha)
    na, nc = arm_vals.size, ctl_vals.size
    ma, mc = w["mean_treatment"], w["mean_control"]
    va, vc = arm_vals.var(ddof=1), ctl_vals.var(ddof=1)
    rel = ma / mc - 1.0
    rel_se = math.sqrt(va / (na * mc**2) + ma**2 * vc / (nc * mc**4))
    z = st.norm.ppf(1 - alpha / 2)
    return {
        "n_control": nc,
        "n_arm": na,
        "mean_control": mc,
        "mean_arm": ma,
        "diff": w["diff"],
        "se": w["se"],
        "df": w["df"],
        "t": w["t"],
        "p_value": w["p_value"],
        "ci_lower": w["ci_lower"],
        "ci_upper": w["ci_upper"],
        "rel": rel,
        "rel_se": rel_se,
        "rel_ci_lower": rel - z * rel_se,
        "rel_ci_upper": rel + z * rel_se,
        "rel_p_value": 2.0 * st.norm.sf(abs(rel / rel_se)),
    }


def ratio_stats(num, den):
    """Ratio-of-sums R and its delta-method variance (Deng et al. 2018)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    n = num.size
    R = num.sum() / den.sum()
    dbar = den.mean()
    c = np.cov(num, den, ddof=1)  # [[s_num^2, s_nd], [s_nd, s_den^2]]
    var = (c[0, 0] - 2 * R * c[0, 1] + R**2 * c[1, 1]) / (n * dbar**2)
    return R, var


def ratio_compare(num_a, den_a, num_c, den_c, alpha):
    Ra, va = ratio_stats(num_a, den_a)
    Rc, vc = ratio_stats(num_c, den_c)
    diff = Ra - Rc
    se = math.sqrt(va + vc)
    z = diff / se
    q = st.norm.ppf(1 - alpha / 2)
    rel = Ra / Rc - 1.0
    rel_se = math.sqrt(va / Rc**2 + Ra**2 * vc / Rc**4)
    return {
        "ratio_control": Rc,
        "ratio_arm": Ra,
        "var_control": vc,
        "var_arm": va,
        "diff": diff,
        "se": se,
        "z": z,
        "p_value": 2.0 * st.norm.sf(abs(z)),
        "ci_lower": diff - q * se,
        "ci_upper": diff + q * se,
        "rel": rel,
        "rel_se": rel_se,
        "rel_ci_lower": rel - q * rel_se,
        "rel_ci_upper": rel + q * rel_se,
    }


def cuped(y, Xpre, arm, arms, control, alpha):
    """CUPED with theta from a pooled OLS of y on [1, Xpre]."""
    Xpre = np.asarray(Xpre, dtype=float).reshape(len(y), -1)
    Z = np.column_stack([np.ones(len(y)), Xpre])
    coef, *_ = np.linalg.lstsq(Z, y, rcond=None)
    theta = coef[1:]
    # cross-check against statsmodels OLS
    assert_close(sm.OLS(y, Z).fit().params[1:], theta, what="CUPED theta")
    if Xpre.shape[1] == 1:
        assert_close(theta[0], np.cov(Xpre[:, 0], y, ddof=1)[0, 1] / Xpre[:, 0].var(ddof=1),
                     what="CUPED theta = cov/var")
    y_cv = y - (Xpre - Xpre.mean(axis=0)) @ theta
    vr = 1.0 - y_cv.var(ddof=1) / y.var(ddof=1)
    per_arm = {}
    for a in arms:
        w = welch(y_cv[arm == a], y_cv[arm == control], alpha=alpha)
        per_arm[a] = {k: w[k] for k in
                      ("diff", "se", "df", "t", "p_value", "ci_lower", "ci_upper")}
    return theta, vr, per_arm


def fixture_ab():
    rng = np.random.default_rng(SEED_AB)
    n = 3000
    alpha = 0.05
    control = "control"
    arms = ["A", "B"]
    arm = rng.choice(np.array(["control", "A", "B"]), size=n, p=[0.5, 0.25, 0.25])

    # Pre-period covariates: x_pre lognormal-ish positive; x_pre2 a second,
    # partly independent pre metric.
    x_pre = rng.lognormal(mean=2.0, sigma=0.5, size=n)
    x_pre2 = rng.normal(0.0, 1.0, size=n) + 0.1 * x_pre
    effect = np.where(arm == "A", 0.2, np.where(arm == "B", 0.05, 0.0))
    y = 1.0 + 0.8 * x_pre + 0.6 * x_pre2 + effect + rng.normal(0.0, 1.0, size=n)

    # Binary conversion
    conv_eta = -1.0 + 0.05 * x_pre + np.where(arm == "A", 0.15, np.where(arm == "B", 0.05, 0.0))
    conv = (rng.random(n) < 1.0 / (1.0 + np.exp(-conv_eta))).astype(np.int64)

    # Ratio metric: den = views (Poisson, zeros allowed), num = watch seconds
    # summed over the views (0 when there are no views).
    den = rng.poisson(lam=3.0, size=n).astype(np.int64)
    per_view = rng.gamma(shape=2.0, scale=15.0, size=n) * np.where(arm == "A", 1.05, 1.0)
    num = den * per_view
    assert den.sum() > 0 and (den == 0).any()

    plain = {}
    for metric, vals in (("y", y), ("conv", conv.astype(float))):
        plain[metric] = {a: plain_compare(vals[arm == a], vals[arm == control], alpha)
                         for a in arms}

    ratio = {"num/den": {a: ratio_compare(num[arm == a], den[arm == a],
                                          num[arm == control], den[arm == control], alpha)
                         for a in arms}}

    th1, vr1, cu1 = cuped(y, x_pre, arm, arms, control, alpha)
    th2, vr2, cu2 = cuped(y, np.column_stack([x_pre, x_pre2]), arm, arms, control, alpha)

    # Sample-ratio mismatch
    split = np.array([50, 25, 25], dtype=float)
    order = ["control", "A", "B"]
    counts = np.array([(arm == a).sum() for a in order])
    f_exp = counts.sum() * split / split.sum()
    srm = st.chisquare(counts, f_exp=f_exp)

    # Multiple-testing adjustment on made-up p-values (unsorted, with ties,
    # values near 0 and near 1).
    pvals = np.array([0.04, 0.0001, 0.8, 0.01, 0.999, 0.03, 0.01, 0.2, 0.04, 0.004])
    holm = multipletests(pvals, method="holm")[1]
    bh = multipletests(pvals, method="fdr_bh")[1]

    write_fixture("ab.json", {
        "provenance": provenance(SEED_AB),
        "data": {"arm": arm.tolist(), "y": y, "conv": conv, "num": num, "den": den,
                 "x_pre": x_pre, "x_pre2": x_pre2},
        "control": control,
        "alpha": alpha,
        "plain": plain,
        "ratio": ratio,
        "cuped_one": {"pre": ["x_pre"], "theta": th1, "variance_reduction": vr1, "y": cu1},
        "cuped_two": {"pre": ["x_pre", "x_pre2"], "theta": th2, "variance_reduction": vr2,
                      "y": cu2},
        "srm": {"split": [50, 25, 25], "order": order, "counts": counts,
                "chi2": float(srm.statistic), "df": 2, "p_value": float(srm.pvalue)},
        "adjust": {"p_values": pvals, "holm": holm, "bh": bh},
    })


# --------------------------------------------------------------------------
# 5. penn.json
# --------------------------------------------------------------------------
def fixture_penn():
    df = pd.read_csv(PENN_CSV)
    df = df[df["tg"].isin([0, 4])].copy()
    treat = (df["tg"] == 4).to_numpy().astype(float)
    out = {
        "provenance": provenance(None),
        "file": PENN_CSV,
        "n_control": int((treat == 0).sum()),
        "n_treated": int((treat == 1).sum()),
    }
    max_gap = 0.0
    for name, yv in (("inuidur1", df["inuidur1"].to_numpy(dtype=float)),
                     ("log_inuidur1", np.log(df["inuidur1"].to_numpy(dtype=float)))):
        res = sm.OLS(yv, sm.add_constant(treat)).fit(cov_type="HC2")
        w = welch(yv[treat == 1], yv[treat == 0])
        se_hc2 = float(res.bse[1])
        assert_close(res.params[1], w["diff"], what="penn diff OLS vs means")
        gap = abs(se_hc2 - w["se"])
        max_gap = max(max_gap, gap / w["se"])
        if gap > 1e-12:
            raise AssertionError(f"HC2 and Welch SE differ: {se_hc2} vs {w['se']}")
        out[name] = {
            "mean_control": w["mean_control"],
            "mean_treated": w["mean_treatment"],
            "diff": float(res.params[1]),
            "se_HC2": se_hc2,
            "se_welch": w["se"],
            "t": w["t"],
            "df": w["df"],
            "p_value": w["p_value"],
        }
    out["notes"] = (
        "Rows with tg in {0,4}; treat = (tg == 4). diff, se_HC2 from "
        "OLS(y, add_constant(treat)).fit(cov_type='HC2') coefficient on treat; se_welch, t, df, "
        "p_value from scipy.stats.ttest_ind(treated, control, equal_var=False) (t uses se_welch). "
        "With a single binary regressor HC2 equals the Welch SE; here they agree to "
        f"max relative gap {max_gap:.3g} (asserted |diff| <= 1e-12)."
    )
    write_fixture("penn.json", out)


# --------------------------------------------------------------------------
# 6. two_way_spec.json (shared/specs/experiment-designs.md section 2.4)
# --------------------------------------------------------------------------
def two_way_case(name, v, s, y, D, coef_index, spec_expected):
    """Two-way CGM variance for one coefficient, components and combination,
    with and without statsmodels' small-sample factors."""
    y = np.asarray(y, dtype=float)
    codes_v = np.unique(v, return_inverse=True)[1].astype(np.int64)
    codes_s = np.unique(s, return_inverse=True)[1].astype(np.int64)
    if D is None:
        X = np.ones((len(y), 1))
        columns = ["const"]
    else:
        X = np.column_stack([np.ones(len(y)), np.asarray(D, dtype=float)])
        columns = ["const", "D"]
    res = sm.OLS(y, X).fit()
    groups = np.column_stack([codes_v, codes_s])
    pairs = combine_indices(groups)[0].astype(np.int64)

    def components(use_correction):
        # cov_cluster_2groups returns (cov_both, cov_first, cov_second); the
        # intersection term is not returned, so it is computed with
        # cov_cluster on combine_indices(groups) exactly as the function does
        # internally, and checked: both = V + S - VS.
        both, cv, cs = sw.cov_cluster_2groups(res, groups, use_correction=use_correction)
        cvs = sw.cov_cluster(res, pairs, use_correction=use_correction)
        assert_close(both, cv + cs - cvs, what=f"{name}: 2way = V + S - VS")
        j = coef_index
        return {"var_V": cv[j, j], "var_S": cs[j, j], "var_VS": cvs[j, j],
                "var_2way": both[j, j]}

    raw = components(False)
    # one row per (v,s) pair => intersection term equals HC0
    assert_close(raw["var_VS"], res.cov_HC0[coef_index, coef_index], what=f"{name}: VS == HC0")
    corr = components(True)
    psd = raw["var_2way"] > 0
    return {
        "name": name,
        "data": {"v": list(v), "s": list(s), "y": y,
                 **({} if D is None else {"D": np.asarray(D, dtype=float)})},
        "columns": columns,
        "coef_index": coef_index,
        "params": np.asarray(res.params),
        "resid": np.asarray(res.resid),
        "no_correction": {**raw, "se_2way": math.sqrt(raw["var_2way"]) if psd else None,
                          "positive": bool(psd)},
        "with_correction": {**corr, "n_groups": {"V": int(codes_v.max() + 1),
                                                 "S": int(codes_s.max() + 1),
                                                 "VS": int(pairs.max() + 1)},
                            "nobs": len(y), "k_params": X.shape[1]},
        "spec_expected": spec_expected,
    }


def fixture_two_way_spec():
    cases = []
    # Intercept only: (v,s,y) = (v1,s1,1),(v1,s2,3),(v2,s1,2),(v2,s2,6)
    cases.append(two_way_case(
        "intercept_only",
        v=["v1", "v1", "v2", "v2"], s=["s1", "s2", "s1", "s2"], y=[1, 3, 2, 6], D=None,
        coef_index=0,
        spec_expected={"mean": 3.0, "var_V": 0.5, "var_S": 1.125, "var_VS": 0.875,
                       "var_2way": 0.75, "se_2way": 0.8660},
    ))
    # Non-PSD slope case: y ~ 1 + D over 8 (v,s) pairs
    rows = [("v1", "s1", 1, 9), ("v1", "s2", 1, 11), ("v1", "s3", 0, 6), ("v2", "s1", 1, 13),
            ("v2", "s3", 0, 7), ("v3", "s2", 0, 6), ("v3", "s3", 0, 3), ("v3", "s1", 0, 7)]
    case = two_way_case(
        "non_psd_slope",
        v=[r[0] for r in rows], s=[r[1] for r in rows], y=[r[3] for r in rows],
        D=[r[2] for r in rows], coef_index=1,
        spec_expected={"slope": 5.2, "var_V": 0.759822, "var_S": 0.137600,
                       "var_VS": 1.320889, "var_2way": -0.423467},
    )
    # Score-form check from the spec: psi_i = e_i (D_i/n1 - (1-D_i)/n0)
    D = np.array([r[2] for r in rows], dtype=float)
    e = np.array(case["resid"])
    psi = e * (D / D.sum() - (1 - D) / (1 - D).sum())
    v_score = sum(psi[[i for i, r in enumerate(rows) if r[0] == g]].sum() ** 2
                  for g in ("v1", "v2", "v3"))
    assert_close(v_score, case["no_correction"]["var_V"], what="score form V")
    cases.append(case)

    write_fixture("two_way_spec.json", {
        "provenance": provenance(None),
        "source": "shared/specs/experiment-designs.md section 2.4",
        "notes": (
            "no_correction: statsmodels.stats.sandwich_covariance.cov_cluster_2groups(res, "
            "np.column_stack([v_codes, s_codes]), use_correction=False), res = OLS(y, X).fit(). "
            "That function returns (cov_both, cov_V, cov_S) only; var_VS is computed with "
            "cov_cluster(res, combine_indices(groups)[0], use_correction=False), exactly its "
            "internal intersection term, and cov_both == cov_V + cov_S - cov_VS is asserted. "
            "Group labels are coded to 0-based ints in order of np.unique. with_correction: same "
            "calls with use_correction=True, each term multiplied by its own "
            "G/(G-1)*(N-1)/(N-K). se_2way is null when var_2way <= 0 (guard must fire)."
        ),
        "cases": cases,
    })


def main():
    if not Path(PENN_CSV).exists() or not Path("tools/golden").is_dir():
        sys.exit("run from the repository root (needs ../shared/data and tools/golden)")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    fixture_welch()
    fixture_ols()
    fixture_logit()
    fixture_ab()
    fixture_penn()
    fixture_two_way_spec()


if __name__ == "__main__":
    main()
