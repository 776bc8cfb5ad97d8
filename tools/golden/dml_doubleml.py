#!/usr/bin/env python3
"""Reference values for double machine learning (PLR, IRM, PLIV with K-fold cross-fitting),
computed with DoubleML 0.11.4 (pinned, with scikit-learn, numpy, pandas, scipy and everything
else it pulls in, in tools/golden/requirements-dml.txt).

Run from the repository root, in a virtual environment built from that requirements file:

    python3.11 -m venv /work/venv-dml
    /work/venv-dml/bin/pip install -r tools/golden/requirements-dml.txt
    /work/venv-dml/bin/python tools/golden/dml_doubleml.py

Inputs: three simulated data sets, drawn here with numpy.random.default_rng and fixed seeds
(PLR 701, IRM 702, PLIV 703, fold ids 704), written to tools/golden/fixtures/dml_plr.csv,
dml_irm.csv and dml_pliv.csv and read back with pandas (the script asserts that the values read
are bit-identical to the values drawn), so DoubleML sees exactly the numbers the Rust
tests read. Output: tools/golden/fixtures/dml_doubleml.json. Nothing else is random (the
learners are deterministic), and two runs on one machine give byte-identical files (a machine with other BLAS kernels may move the last bits: regenerated on 2026-12-01 the values moved by at most ~1e-15 relative). tools/golden/README.md
describes every field. to_py, rel and quiet come from golden_common.py beside this script.

Data (n = 500, p = 5; x ~ N(0, S) drawn as e @ chol(S)', e ~ N(0, I))
---------------------------------------------------------------------
The DGPs are those of DoubleML's own generators, re-drawn with default_rng (DoubleML's use the
global np.random state and multivariate_normal's SVD):
  PLR  (make_plr_CCDDHNR2018, alpha = 0.5): S_jk = 0.7^|j-k|, d = x1 + 0.25 s(x3) + v,
       y = 0.5 d + s(x1) + 0.25 x3 + zeta, s = logistic function, v, zeta ~ N(0, 1).
  IRM  (make_irm_data, theta = 0.5, R2_d = R2_y = 0.5): S_jk = 0.5^|j-k|, b_j = 1/j^2,
       c_y = sqrt(R2_y / ((1 - R2_y) b'Sb)), c_d = sqrt((pi^2/3) R2_d / ((1 - R2_d) b'Sb)),
       d = 1{s(c_d x'b) > u}, u ~ U(0, 1), y = 0.5 d + c_y (x'b) d + zeta.
  PLIV (make_pliv_CHS2015, dim_z = 1, alpha = 0.5): S_jk = 0.5^|j-k|, (eps, w) ~ N(0, [[1, .6],
       [.6, 1]]), xi ~ N(0, 1), z = x1 + xi, d = x'b + z + w, y = 0.5 d + x'b + eps, b_j = 1/j^2.
Fold ids (0-based, default_rng(704), drawn in this order): balanced folds assign
perm = rng.permutation(n) and fold[perm] = arange(n) % 5 (100 rows per fold). dml_plr.csv has
fold, fold_r0, fold_r1, fold_r2 (four independent assignments), cluster = row // 5 (100
clusters of 5 rows) and two cluster-respecting assignments: fold_cluster (the 100 clusters
permuted and dealt 20 per fold) and fold_cluster_unbal (16, 18, 20, 22, 24 clusters per fold);
then dml_irm.csv's fold, then dml_pliv.csv's fold.

Fits
----
Learners: sklearn LinearRegression() for every regression nuisance, and for the IRM propensity
LogisticRegression(C=inf, solver="newton-cg", tol=1e-12, max_iter=10000) -- unpenalised (C=inf
is what sklearn 1.9 wants; penalty=None is deprecated since 1.8). lbfgs with tol=1e-12 stops on
its ftol = 64 eps rule and agrees with the exact MLE only to about 1e-8, newton-cg to about
1e-14; the script refits every fold, checks the score gradient X'(d - p) at the solution and
that n_iter_ < max_iter. DoubleML gets the folds through set_sample_splitting with
[(where(fold != k), where(fold == k)) for k = 0..4] (draw_sample_splitting=False, so no
stratified split of its own is drawn), plus for clustered data the cluster partition.

Case H (interactive IV, LATE) uses dml_iivm.csv (seed 705, its fold ids drawn after all the
others): make_iivm_data's form with a confounded instrument, z = 1{U < s(0.5 x2)},
d = 1{z + 0.5 x1 + v > 0}, y = 0.5 d + x'b + u, (u, v) ~ N(0, [[1, .3], [.3, 1]]); learners
LinearRegression for ml_g and the logit above for ml_m (P(z=1|x)) and ml_r (P(d=1|x, z)).

Cases: A PLR partialling out (ml_l, ml_m); B PLR IV-type (ml_l, ml_m, ml_g); C IRM ATE;
D IRM ATTE (ml_g regressor, ml_m classifier); E PLIV partialling out (ml_l, ml_m, ml_r);
F = A with n_rep = 3 on fold_r0..fold_r2; G = A with one-way clustering (cluster) on
fold_cluster; G2 = G on fold_cluster_unbal (unequal clusters per fold, where DoubleML's
fold-weighted cluster formulas differ from the textbook ones); H IIVM LATE (ml_g, ml_m, ml_r).

What DoubleML 0.11.4 computes (read in the installed source)
-----------------------------------------------------------
Files: plm/plr.py, plm/pliv.py, irm/irm.py, double_ml.py, double_ml_score_mixins.py
(LinearScoreMixin), double_ml_framework.py, utils/_estimation.py (_dml_cv_predict, _var_est,
_aggregate_coefs_and_ses), utils/propensity_score_processing.py, utils/_propensity_score.py.
Nuisance predictions are out of fold: the learner is cloned and fitted on each fold's training
rows and predicts its test rows (sklearn cross_val_predict with cv = the given folds). Every
score is linear, psi = psi_a * theta + psi_b, with (hats are out-of-fold predictions):

  PLR partialling out: psi_a = -(d - m)^2,       psi_b = (d - m)(y - l);  l ~ E[y|x], m ~ E[d|x]
  PLR IV-type:         psi_a = -(d - m) d,        psi_b = (d - m)(y - g).
      g is ml_g fitted fold-wise on the target y - theta0 d, where theta0 is the partialling-out
      estimate from the same split's l and m (theta0 = -nanmean(psi_b^PO) / nanmean(psi_a^PO)).
      It is not l - theta0 m; but with OLS learners the two agree (fitted values are linear in
      the target), which the script checks. nuisance_loss["ml_g"] is the RMSE against that target
      y - theta0 d, not against y.
  IRM (weights = 1):   g0 = ml_g fitted on the training rows with d = 0, g1 on those with d = 1,
      each predicting every test row; m = ml_m.predict_proba[:, 1], then clipped to
      [0.01, 0.99] (PSProcessor.adjust_ps: clipping_threshold = 0.01 = the deprecated
      trimming_threshold default, trimming_rule default "truncate"; no calibration;
      normalize_ipw default False). The stored prediction ml_m is the clipped one.
      ATE:  psi_a = -1,  psi_b = g1 - g0 + d (y - g1)/m - (1 - d)(y - g0)/(1 - m)
      ATTE: p = mean(d), psi_a = -(d/p) / mean(d/p) (= -d/p),
            psi_b = (d/p)(g1 - g0) + (m/p) [d (y - g1)/m - (1 - d)(y - g0)/(1 - m)]
            (= d (y - g0)/p - m (1 - d)(y - g0)/(p (1 - m)); g1 cancels).
  PLIV partialling out, one instrument: l ~ E[y|x], m ~ E[z|x], r ~ E[d|x],
      psi_a = -(d - r)(z - m),  psi_b = (z - m)(y - l).
  theta = -mean(psi_b) / mean(psi_a);  J = mean(psi_a);  se = sqrt(mean(psi^2) / (n J^2))
      -- mean, i.e. divisor n (no n - 1, no centring; mean(psi) = 0 by construction).
  t = coef / se;  p = 2 Phi(-|t|) (normal);  CI = theta -/+ norm.ppf(0.975) se.
  Repeated cross-fitting (n_rep = R, DoubleML._aggregate_coefs_and_ses, used by fit() and by
      DoubleMLFramework): coef = median_r(theta_r);
      se = (median_r(theta_r + 1.96 se_r) - coef) / 1.96, with the literal 1.96;
      p (DoubleML.pval, in summary) = 2 Phi(-|coef/se|) from these aggregates, while
      DoubleMLFramework.pvals = median_r(2 (1 - Phi(|theta_r / se_r|)));
      confint = median_r of the per-split bounds theta_r -/+ norm.ppf(0.975) se_r (so it is not
      coef -/+ 1.96 se). Earlier DoubleML versions used
      se = sqrt(median_r(n se_r^2 + (theta_r - coef)^2) / n); the fixture also gives that value,
      computed here, under se_median_variance_formula (not DoubleML 0.11.4's output).
  One-way clustering (DoubleMLData(cluster_cols=...); DoubleMLClusterData is deprecated in
      0.11). Folds must be unions of clusters. For fold k with test clusters I_k and test rows
      T_k, w_k = 1/|I_k|, K = n_folds, G = number of clusters (var_scaling_factor):
      theta = -sum_k w_k sum_{T_k} psi_b / sum_k w_k sum_{T_k} psi_a
      J = (1/K) sum_k w_k sum_{T_k} psi_a;  gamma = (1/K) sum_k w_k sum_{c in I_k} (sum_{i in c} psi_i)^2
      se = sqrt(gamma / (G J^2)).  No G/(G-1) or (n-1)/(n-k) factor. With |I_k| = G/K for every
      k (case G) this is theta = -sum psi_b / sum psi_a and se = sqrt(sum_c S_c^2) / |sum psi_a|;
      case G2 has unequal |I_k|.
  Nuisance losses (nuisance_loss, shown in the summary): RMSE over the rows with a target
      (ml_g0: the d = 0 rows, ml_g1: the d = 1 rows) for regressors; for the classifier the log
      loss -mean(d log m + (1 - d) log(1 - m)) of the clipped m, itself clipped to
      [1e-15, 1 - 1e-15]. evaluate_learners() (default metric) is the RMSE for every learner,
      the propensity too.

Self-check: every case is recomputed in plain numpy (fold-wise OLS by lstsq with an intercept
column, a Newton logit to a step of 1e-15, the scores, clipping, variance, repeat aggregation
and cluster formulas above), and the script stops if coef or se differ from DoubleML by more
than 1e-8 relative, or any prediction or score by more than 1e-8 of its largest absolute value.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression

import doubleml as dml
from golden_common import quiet, rel, to_py

FIXTURES = Path("tools/golden/fixtures")
OUT_JSON = FIXTURES / "dml_doubleml.json"
CSV = {
    "plr": FIXTURES / "dml_plr.csv",
    "irm": FIXTURES / "dml_irm.csv",
    "pliv": FIXTURES / "dml_pliv.csv",
    "iivm": FIXTURES / "dml_iivm.csv",
}
SEEDS = {"plr": 701, "irm": 702, "pliv": 703, "folds": 704, "iivm": 705}
N, P, K = 500, 5, 5
THETA = 0.5
CLUSTER_SIZE = 5
UNBAL_CLUSTERS_PER_FOLD = [16, 18, 20, 22, 24]
TOL = 1e-8
XCOLS = [f"x{j + 1}" for j in range(P)]

REG = LinearRegression()
CLF = LogisticRegression(C=np.inf, solver="newton-cg", tol=1e-12, max_iter=10000)
LEARNER_TEXT = {
    "regression": "sklearn.linear_model.LinearRegression()",
    "classifier": 'sklearn.linear_model.LogisticRegression(C=np.inf, solver="newton-cg", tol=1e-12, max_iter=10000)',
}


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


def logistic(t):
    return 1.0 / (1.0 + np.exp(-t))


def toeplitz_cov(rho, p):
    idx = np.arange(p)
    return rho ** np.abs(idx[:, None] - idx[None, :])


def draw_x(rng, rho):
    chol = np.linalg.cholesky(toeplitz_cov(rho, P))
    return rng.standard_normal((N, P)) @ chol.T


def simulate_plr():
    rng = np.random.default_rng(SEEDS["plr"])
    x = draw_x(rng, 0.7)
    v = rng.standard_normal(N)
    zeta = rng.standard_normal(N)
    d = x[:, 0] + 0.25 * logistic(x[:, 2]) + v
    y = THETA * d + logistic(x[:, 0]) + 0.25 * x[:, 2] + zeta
    return y, d, x


def simulate_irm():
    rng = np.random.default_rng(SEEDS["irm"])
    x = draw_x(rng, 0.5)
    u = rng.uniform(size=N)
    zeta = rng.standard_normal(N)
    cov = toeplitz_cov(0.5, P)
    beta = 1.0 / np.arange(1, P + 1) ** 2
    bsb = beta @ cov @ beta
    r2_d = r2_y = 0.5
    c_y = math.sqrt(r2_y / ((1 - r2_y) * bsb))
    c_d = math.sqrt(math.pi**2 / 3.0 * r2_d / ((1 - r2_d) * bsb))
    xb = x @ beta
    d = (logistic(c_d * xb) > u).astype(float)
    y = THETA * d + c_y * xb * d + zeta
    return y, d, x, {"c_y": c_y, "c_d": c_d, "beta": beta}


def simulate_pliv():
    rng = np.random.default_rng(SEEDS["pliv"])
    x = draw_x(rng, 0.5)
    ew = rng.standard_normal((N, 2)) @ np.linalg.cholesky(np.array([[1.0, 0.6], [0.6, 1.0]])).T
    eps, w = ew[:, 0], ew[:, 1]
    xi = rng.standard_normal(N)
    beta = 1.0 / np.arange(1, P + 1) ** 2
    z = x[:, 0] + xi
    d = x @ beta + z + w
    y = THETA * d + x @ beta + eps
    return y, d, z, x


def simulate_iivm():
    rng = np.random.default_rng(SEEDS["iivm"])
    x = draw_x(rng, 0.5)
    uv = rng.standard_normal((N, 2)) @ np.linalg.cholesky(np.array([[1.0, 0.3], [0.3, 1.0]])).T
    u, v = uv[:, 0], uv[:, 1]
    beta = 1.0 / np.arange(1, P + 1) ** 2
    z = (rng.uniform(size=N) < logistic(0.5 * x[:, 1])).astype(float)
    d = (1.0 * z + 0.5 * x[:, 0] + v > 0.0).astype(float)
    y = THETA * d + x @ beta + u
    return y, d, z, x


def balanced_folds(rng, n, k):
    fold = np.empty(n, dtype=np.int64)
    fold[rng.permutation(n)] = np.arange(n) % k
    return fold


def cluster_folds(rng, cluster, per_fold):
    n_clusters = int(cluster.max()) + 1
    assert sum(per_fold) == n_clusters
    cf = np.empty(n_clusters, dtype=np.int64)
    cf[rng.permutation(n_clusters)] = np.repeat(np.arange(len(per_fold)), per_fold)
    fold = cf[cluster]
    for c in range(n_clusters):
        assert len(np.unique(fold[cluster == c])) == 1, "a cluster is split across folds"
    return fold


def write_csv(path, columns):
    """columns: list of (name, array). Floats as repr (shortest round trip), ints as ints."""
    names = [c[0] for c in columns]
    arrays = [c[1] for c in columns]
    lines = [",".join(names)]
    for i in range(N):
        cells = []
        for a in arrays:
            v = a[i]
            cells.append(str(int(v)) if np.issubdtype(a.dtype, np.integer) else repr(float(v)))
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def read_back(path, columns):
    df = pd.read_csv(path)
    assert list(df.columns) == [c[0] for c in columns]
    for name, a in columns:
        back = df[name].to_numpy()
        if not np.array_equal(back.astype(a.dtype), a):
            raise SystemExit(f"{path}: column {name} did not round-trip")
    return df


def build_data():
    fold_rng = np.random.default_rng(SEEDS["folds"])

    y, d, x = simulate_plr()
    cluster = np.arange(N, dtype=np.int64) // CLUSTER_SIZE
    n_clusters = N // CLUSTER_SIZE
    plr_cols = [("y", y), ("d", d)] + [(XCOLS[j], x[:, j]) for j in range(P)]
    plr_cols += [("fold", balanced_folds(fold_rng, N, K))]
    plr_cols += [(f"fold_r{r}", balanced_folds(fold_rng, N, K)) for r in range(3)]
    plr_cols += [("cluster", cluster)]
    plr_cols += [("fold_cluster", cluster_folds(fold_rng, cluster, [n_clusters // K] * K))]
    plr_cols += [("fold_cluster_unbal", cluster_folds(fold_rng, cluster, UNBAL_CLUSTERS_PER_FOLD))]

    yi, di, xi, irm_consts = simulate_irm()
    irm_cols = [("y", yi), ("d", di)] + [(XCOLS[j], xi[:, j]) for j in range(P)]
    irm_cols += [("fold", balanced_folds(fold_rng, N, K))]

    yp, dp, zp, xp = simulate_pliv()
    pliv_cols = [("y", yp), ("d", dp), ("z", zp)] + [(XCOLS[j], xp[:, j]) for j in range(P)]
    pliv_cols += [("fold", balanced_folds(fold_rng, N, K))]

    # drawn last, so the fold ids above are those of the fixture before this case was added
    yv, dv, zv, xv = simulate_iivm()
    iivm_cols = [("y", yv), ("d", dv), ("z", zv)] + [(XCOLS[j], xv[:, j]) for j in range(P)]
    iivm_cols += [("fold", balanced_folds(fold_rng, N, K))]

    frames = {}
    for key, cols in (("plr", plr_cols), ("irm", irm_cols), ("pliv", pliv_cols), ("iivm", iivm_cols)):
        write_csv(CSV[key], cols)
        frames[key] = read_back(CSV[key], cols)
    return frames, irm_consts


# ----------------------------------------------------------------------------------------------
# DoubleML fits
# ----------------------------------------------------------------------------------------------


def smpls_from(fold):
    return [(np.where(fold != k)[0], np.where(fold == k)[0]) for k in range(K)]


def smpls_cluster_from(fold, cluster):
    out = []
    for k in range(K):
        test = np.unique(cluster[fold == k])
        train = np.unique(cluster[fold != k])
        out.append(([train], [test]))
    return out


def make_data(df, kind, cluster=False):
    z_cols = "z" if kind in ("pliv", "iivm") else None
    return dml.DoubleMLData(
        df, y_col="y", d_cols="d", x_cols=XCOLS, z_cols=z_cols, cluster_cols="cluster" if cluster else None
    )


def fit_case(model, df, fold_cols, score, kind, cluster=False):
    data = make_data(df, kind, cluster)
    n_rep = len(fold_cols)
    if model == "PLR":
        kw = {"ml_g": clone(REG)} if score == "IV-type" else {}
        obj = dml.DoubleMLPLR(
            data, clone(REG), clone(REG), n_folds=K, n_rep=n_rep, score=score, draw_sample_splitting=False, **kw
        )
    elif model == "IRM":
        obj = dml.DoubleMLIRM(data, clone(REG), clone(CLF), n_folds=K, n_rep=n_rep, score=score, draw_sample_splitting=False)
    elif model == "IIVM":
        obj = dml.DoubleMLIIVM(
            data, clone(REG), clone(CLF), clone(CLF), n_folds=K, n_rep=n_rep, score=score, draw_sample_splitting=False
        )
    else:
        obj = dml.DoubleMLPLIV(
            data, clone(REG), clone(REG), clone(REG), n_folds=K, n_rep=n_rep, score=score, draw_sample_splitting=False
        )
    all_smpls = [smpls_from(df[c].to_numpy()) for c in fold_cols]
    if cluster:
        clus = df["cluster"].to_numpy()
        all_smpls_cluster = [smpls_cluster_from(df[c].to_numpy(), clus) for c in fold_cols]
        obj.set_sample_splitting(all_smpls, all_smpls_cluster)
    else:
        obj.set_sample_splitting(all_smpls)
    _, warns = quiet(obj.fit)
    assert obj.n_rep == n_rep and obj.n_folds == K
    return obj, warns


def extract(obj, model, score, fold_cols, warns):
    names = obj.params_names
    ci = obj.confint(level=0.95).to_numpy()[0]
    evals = obj.evaluate_learners()
    reps = []
    for r, fc in enumerate(fold_cols):
        psi_a = obj.psi_elements["psi_a"][:, r, 0]
        rows = {
            "psi_a": psi_a,
            "psi_b": obj.psi_elements["psi_b"][:, r, 0],
            "psi": obj.psi[:, r, 0],
        }
        for nm in names:
            rows[nm] = obj.predictions[nm][:, r, 0]
        theta_r = float(obj.all_coef[0, r])
        se_r = float(obj.all_se[0, r])
        rep = {
            "fold_column": fc,
            "coef": theta_r,
            "se": se_r,
            "t": theta_r / se_r,
            "p_value": float(2 * norm.cdf(-abs(theta_r / se_r))),
            "J_mean_psi_a": float(np.mean(psi_a)),
            "mean_psi_sq": float(np.mean(np.square(rows["psi"]))),
            "nuisance_loss": {nm: float(obj.nuisance_loss[nm][r, 0]) for nm in names},
            "evaluate_learners_rmse": {nm: float(evals[nm][r, 0]) for nm in names},
            "rows": rows,
        }
        reps.append(rep)
    out = {
        "model": model,
        "score": score,
        "n_obs": int(obj.n_obs),
        "n_folds": int(obj.n_folds),
        "n_rep": int(obj.n_rep),
        "fold_columns": list(fold_cols),
        "learner_names": list(names),
        "coef": float(obj.coef[0]),
        "se": float(obj.se[0]),
        "t": float(obj.t_stat[0]),
        "p_value": float(obj.pval[0]),
        "ci_95": [float(ci[0]), float(ci[1])],
        "p_value_framework_median": float(obj.framework.pvals[0]),
        "var_scaling_factor": float(obj._var_scaling_factors[0]),
        "doubleml_warnings": warns,
        "reps": reps,
    }
    return out


# ----------------------------------------------------------------------------------------------
# plain-numpy re-implementation
# ----------------------------------------------------------------------------------------------


def with_const(x):
    return np.column_stack([np.ones(x.shape[0]), x])


def ols_cv(x, t, fold, subset=None):
    a = with_const(x)
    pred = np.full(len(t), np.nan)
    for k in range(K):
        tr = fold != k
        if subset is not None:
            tr = tr & subset
        te = fold == k
        b = np.linalg.lstsq(a[tr], t[tr], rcond=None)[0]
        pred[te] = a[te] @ b
    return pred


def newton_logit(a, y):
    w = np.zeros(a.shape[1])
    for it in range(200):
        p = logistic(a @ w)
        grad = a.T @ (y - p)
        hess = (a * (p * (1 - p))[:, None]).T @ a
        step = np.linalg.solve(hess, grad)
        w = w + step
        if np.max(np.abs(step)) < 1e-15 * (1 + np.max(np.abs(w))):
            return w, it + 1
    raise SystemExit("Newton logit did not converge")


def logit_cv(x, d, fold, subset=None):
    a = with_const(x)
    pred = np.full(len(d), np.nan)
    info = []
    for k in range(K):
        tr, te = fold != k, fold == k
        if subset is not None:
            tr = tr & subset
        w, iters = newton_logit(a[tr], d[tr])
        pred[te] = logistic(a[te] @ w)
        # the sklearn learner DoubleML uses, refitted on the same rows: convergence evidence
        sk = clone(CLF).fit(x[tr], d[tr])
        wsk = np.concatenate([sk.intercept_, sk.coef_[0]])
        grad_sk = a[tr].T @ (d[tr] - logistic(a[tr] @ wsk))
        info.append(
            {
                "fold": k,
                "newton_iterations": iters,
                "sklearn_n_iter": int(sk.n_iter_[0]),
                "sklearn_max_abs_score_gradient": float(np.max(np.abs(grad_sk))),
                "max_rel_coef_diff_sklearn_vs_newton": float(np.max(np.abs(wsk - w)) / np.max(np.abs(w))),
            }
        )
        if sk.n_iter_[0] >= CLF.max_iter:
            raise SystemExit("sklearn logit hit max_iter")
    return pred, info


def solve_linear(psi_a, psi_b):
    n = len(psi_a)
    theta = -np.mean(psi_b) / np.mean(psi_a)
    psi = psi_a * theta + psi_b
    j = np.mean(psi_a)
    se = math.sqrt(np.mean(psi**2) / (j**2) / n)
    return theta, se, psi


def solve_cluster(psi_a, psi_b, fold, cluster):
    w = np.array([1.0 / len(np.unique(cluster[fold == k])) for k in range(K)])
    num_b = sum(w[k] * np.sum(psi_b[fold == k]) for k in range(K))
    num_a = sum(w[k] * np.sum(psi_a[fold == k]) for k in range(K))
    theta = -num_b / num_a
    psi = psi_a * theta + psi_b
    j = num_a / K
    sums = np.bincount(cluster, weights=psi)
    cl_fold = np.array([fold[cluster == c][0] for c in range(len(sums))])
    gamma = sum(w[k] * np.sum(sums[cl_fold == k] ** 2) for k in range(K)) / K
    g = len(sums)
    se = math.sqrt(gamma / (g * j**2))
    textbook = math.sqrt(np.sum(sums**2)) / abs(np.sum(psi_a))
    return theta, se, psi, {"J": j, "gamma_hat": gamma, "n_clusters": g, "clusters_per_fold": [int(1 / v) for v in w],
                            "se_textbook_cluster": textbook}


def aggregate(thetas, ses, n):
    thetas, ses = np.asarray(thetas), np.asarray(ses)
    coef = np.median(thetas)
    se = (np.median(thetas + 1.96 * ses) - coef) / 1.96
    legacy = math.sqrt(np.median(n * ses**2 + (thetas - coef) ** 2) / n)
    crit = norm.ppf(0.975)
    ci = [np.median(thetas - crit * ses), np.median(thetas + crit * ses)]
    return coef, se, legacy, ci


def numpy_case(model, score, df, fold_cols, cluster=False):
    y = df["y"].to_numpy()
    d = df["d"].to_numpy()
    x = df[XCOLS].to_numpy()
    reps = []
    for fc in fold_cols:
        fold = df[fc].to_numpy()
        preds, extra = {}, {}
        if model == "PLR":
            l_hat = ols_cv(x, y, fold)
            m_hat = ols_cv(x, d, fold)
            preds.update(ml_l=l_hat, ml_m=m_hat)
            v = d - m_hat
            if score == "partialling out":
                psi_a, psi_b = -v * v, v * (y - l_hat)
            else:
                theta0 = -np.mean(v * (y - l_hat)) / np.mean(-v * v)
                g_hat = ols_cv(x, y - theta0 * d, fold)
                preds["ml_g"] = g_hat
                extra["theta_initial"] = theta0
                extra["max_abs_g_minus_l_minus_theta0_m"] = float(np.max(np.abs(g_hat - (l_hat - theta0 * m_hat))))
                psi_a, psi_b = -v * d, v * (y - g_hat)
        elif model == "IRM":
            g0 = ols_cv(x, y, fold, subset=(d == 0))
            g1 = ols_cv(x, y, fold, subset=(d == 1))
            raw, info = logit_cv(x, d, fold)
            m = np.clip(raw, 0.01, 0.99)
            preds.update(ml_g0=g0, ml_g1=g1, ml_m=m)
            extra["propensity_unclipped"] = raw
            extra["n_clipped"] = int(np.sum((raw < 0.01) | (raw > 0.99)))
            extra["logit_convergence"] = info
            if score == "ATE":
                psi_a = -np.ones(N)
                psi_b = g1 - g0 + d * (y - g1) / m - (1 - d) * (y - g0) / (1 - m)
            else:
                p = np.mean(d)
                psi_a = -d / p
                psi_b = d * (y - g0) / p - m * (1 - d) * (y - g0) / (p * (1 - m))
        elif model == "IIVM":
            z = df["z"].to_numpy()
            g0 = ols_cv(x, y, fold, subset=(z == 0))
            g1 = ols_cv(x, y, fold, subset=(z == 1))
            raw, info = logit_cv(x, z, fold)
            m = np.clip(raw, 0.01, 0.99)
            r0, _ = logit_cv(x, d, fold, subset=(z == 0))
            r1, _ = logit_cv(x, d, fold, subset=(z == 1))
            preds.update(ml_g0=g0, ml_g1=g1, ml_m=m, ml_r0=r0, ml_r1=r1)
            extra["propensity_unclipped"] = raw
            extra["n_clipped"] = int(np.sum((raw < 0.01) | (raw > 0.99)))
            extra["logit_convergence"] = info
            psi_b = g1 - g0 + z * (y - g1) / m - (1 - z) * (y - g0) / (1 - m)
            psi_a = -(r1 - r0 + z * (d - r1) / m - (1 - z) * (d - r0) / (1 - m))
        else:
            z = df["z"].to_numpy()
            l_hat = ols_cv(x, y, fold)
            m_hat = ols_cv(x, z, fold)
            r_hat = ols_cv(x, d, fold)
            preds.update(ml_l=l_hat, ml_m=m_hat, ml_r=r_hat)
            psi_a, psi_b = -(d - r_hat) * (z - m_hat), (z - m_hat) * (y - l_hat)
        if cluster:
            theta, se, psi, cl = solve_cluster(psi_a, psi_b, fold, df["cluster"].to_numpy())
            extra["cluster"] = cl
        else:
            theta, se, psi = solve_linear(psi_a, psi_b)
        reps.append({"theta": theta, "se": se, "psi_a": psi_a, "psi_b": psi_b, "psi": psi, "preds": preds, "extra": extra})
    coef, se, legacy, ci = aggregate([r["theta"] for r in reps], [r["se"] for r in reps], N)
    return {"coef": coef, "se": se, "se_legacy": legacy, "ci": ci, "reps": reps}


def compare(name, dml_out, ref):
    """Stop above TOL; return the observed differences."""
    diffs = {
        "coef_rel": float(rel(dml_out["coef"], ref["coef"])),
        "se_rel": float(rel(dml_out["se"], ref["se"])),
        "ci_rel": float(max(rel(dml_out["ci_95"][i], ref["ci"][i]) for i in range(2))),
    }
    row_max = 0.0
    for rep, rr in zip(dml_out["reps"], ref["reps"]):
        diffs["coef_rel"] = max(diffs["coef_rel"], float(rel(rep["coef"], rr["theta"])))
        diffs["se_rel"] = max(diffs["se_rel"], float(rel(rep["se"], rr["se"])))
        pairs = [(rep["rows"][k], rr[k]) for k in ("psi_a", "psi_b", "psi")]
        pairs += [(rep["rows"][k], v) for k, v in rr["preds"].items()]
        for a, b in pairs:
            row_max = max(row_max, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
    diffs["rows_max_rel_to_max_abs"] = row_max
    bad = {k: v for k, v in diffs.items() if not v <= TOL}
    if bad:
        raise SystemExit(f"{name}: DoubleML and the numpy re-implementation differ: {bad}")
    return diffs


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------

CASES = [
    ("A_plr_partialling_out", "PLR", "partialling out", "plr", ["fold"], False),
    ("B_plr_iv_type", "PLR", "IV-type", "plr", ["fold"], False),
    ("C_irm_ate", "IRM", "ATE", "irm", ["fold"], False),
    ("D_irm_atte", "IRM", "ATTE", "irm", ["fold"], False),
    ("E_pliv_partialling_out", "PLIV", "partialling out", "pliv", ["fold"], False),
    ("F_plr_partialling_out_nrep3", "PLR", "partialling out", "plr", ["fold_r0", "fold_r1", "fold_r2"], False),
    ("G_plr_cluster", "PLR", "partialling out", "plr", ["fold_cluster"], True),
    ("G2_plr_cluster_unbalanced_folds", "PLR", "partialling out", "plr", ["fold_cluster_unbal"], True),
    ("H_iivm_late", "IIVM", "LATE", "iivm", ["fold"], False),
]

NUISANCES = {
    "ml_l": "E[y|x] (LinearRegression)",
    "ml_m": (
        "PLR: E[d|x]; IRM: P(d=1|x), clipped to [0.01, 0.99] (LogisticRegression); PLIV: E[z|x]; "
        "IIVM: P(z=1|x), clipped to [0.01, 0.99] (LogisticRegression)"
    ),
    "ml_g": "PLR IV-type: E[y - theta_initial d | x] (LinearRegression)",
    "ml_g0": "IRM: E[y|x, d=0], fitted on the training rows with d = 0, predicted for every test row",
    "ml_g1": "IRM: E[y|x, d=1], fitted on the training rows with d = 1, predicted for every test row",
    # IIVM: ml_g0 / ml_g1 are E[y|x, z=0] / E[y|x, z=1], fitted on the training rows with z = 0 / 1
    "ml_r": "PLIV: E[d|x]",
    "ml_r0": "IIVM: P(d=1|x, z=0) (LogisticRegression), fitted on the training rows with z = 0, not clipped",
    "ml_r1": "IIVM: P(d=1|x, z=1) (LogisticRegression), fitted on the training rows with z = 1, not clipped",
}

NOTES = {
    "scores": {
        "PLR partialling out": "psi_a = -(d - ml_m)^2, psi_b = (d - ml_m)(y - ml_l)",
        "PLR IV-type": (
            "psi_a = -(d - ml_m) d, psi_b = (d - ml_m)(y - ml_g); ml_g is fitted fold-wise on y - theta_initial d, "
            "theta_initial = -nanmean((d - ml_m)(y - ml_l)) / nanmean(-(d - ml_m)^2) of the same split "
            "(with OLS learners ml_g = ml_l - theta_initial ml_m up to rounding)"
        ),
        "IRM ATE": "psi_a = -1, psi_b = g1 - g0 + d (y - g1)/m - (1 - d)(y - g0)/(1 - m), m clipped",
        "IRM ATTE": (
            "p = mean(d); psi_a = -(d/p)/mean(d/p); psi_b = (d/p)(g1 - g0) + (m/p)[d (y - g1)/m - (1 - d)(y - g0)/(1 - m)] "
            "= d (y - g0)/p - m (1 - d)(y - g0)/(p (1 - m))"
        ),
        "PLIV partialling out": "psi_a = -(d - ml_r)(z - ml_m), psi_b = (z - ml_m)(y - ml_l)",
        "IIVM LATE": (
            "psi_b = g1 - g0 + z (y - g1)/m - (1 - z)(y - g0)/(1 - m); "
            "psi_a = -(r1 - r0 + z (d - r1)/m - (1 - z)(d - r0)/(1 - m)); g0, g1, r0, r1 fitted on the z = 0 / z = 1 "
            "training rows, m = P(z=1|x) clipped; subgroups always_takers = never_takers = True (r0, r1 estimated)"
        ),
    },
    "estimate": "theta = -mean(psi_b)/mean(psi_a); psi = psi_a theta + psi_b",
    "variance": "se = sqrt(mean(psi^2) / mean(psi_a)^2 / n), divisor n, psi not centred; var_scaling_factor = n",
    "inference": "t = coef/se; p_value = 2 Phi(-|t|); ci_95 = median_r(theta_r -/+ norm.ppf(0.975) se_r)",
    "repeats": (
        "coef = median_r(theta_r); se = (median_r(theta_r + 1.96 se_r) - coef)/1.96 (literal 1.96); "
        "p_value from (coef, se); p_value_framework_median = median_r(2(1 - Phi(|theta_r/se_r|))); "
        "se_median_variance_formula = sqrt(median_r(n se_r^2 + (theta_r - coef)^2)/n) is the formula of earlier "
        "DoubleML versions, computed by this script, not output by DoubleML 0.11.4"
    ),
    "cluster": (
        "one-way: w_k = 1/|I_k| (test clusters of fold k), K folds, G clusters; "
        "theta = -sum_k w_k sum_{T_k} psi_b / sum_k w_k sum_{T_k} psi_a; J = (1/K) sum_k w_k sum_{T_k} psi_a; "
        "gamma = (1/K) sum_k w_k sum_{c in I_k} (sum_{i in c} psi_i)^2; se = sqrt(gamma/(G J^2)); no small-sample "
        "factor; var_scaling_factor = G. Folds must be unions of clusters (set_sample_splitting with all_smpls_cluster)"
    ),
    "trimming": (
        "IRM propensity clipped to [clipping_threshold, 1 - clipping_threshold] after prediction, before the score "
        "and before the stored prediction / nuisance loss; defaults below"
    ),
    "nuisance_loss": (
        "regressors: sqrt(nanmean((target - pred)^2)) over rows with a target (ml_g0: d = 0 rows, ml_g1: d = 1 rows, "
        "ml_g of IV-type: target y - theta_initial d); classifier: -nanmean(d log p + (1 - d) log(1 - p)) with "
        "p = clip(clipped propensity, 1e-15, 1 - 1e-15). evaluate_learners_rmse: DoubleML.evaluate_learners() "
        "default metric, the RMSE for every learner (the propensity too)"
    ),
    "sources": (
        "doubleml 0.11.4: plm/plr.py, plm/pliv.py, irm/irm.py, double_ml.py, double_ml_score_mixins.py, "
        "double_ml_framework.py, utils/_estimation.py, utils/propensity_score_processing.py, "
        "utils/_propensity_score.py, utils/_checks.py"
    ),
}


def irm_defaults():
    import inspect

    sig = inspect.signature(dml.DoubleMLIRM.__init__)
    cfg = dml.utils.propensity_score_processing.PSProcessorConfig()
    return {
        "trimming_rule": sig.parameters["trimming_rule"].default,
        "trimming_threshold": sig.parameters["trimming_threshold"].default,
        "normalize_ipw": sig.parameters["normalize_ipw"].default,
        "ps_processor_config": {
            "clipping_threshold": cfg.clipping_threshold,
            "extreme_threshold": cfg.extreme_threshold,
            "calibration_method": cfg.calibration_method,
            "cv_calibration": cfg.cv_calibration,
        },
        "note": (
            "trimming_rule / trimming_threshold are deprecated in 0.11 (to be removed in 0.12) in favour of "
            "ps_processor_config; the default clips at 0.01 either way. extreme_threshold only triggers a warning."
        ),
    }


def main():
    if not Path("tools/golden").is_dir():
        raise SystemExit("run from the repository root")
    frames, irm_consts = build_data()

    cases = {}
    checks = {}
    for name, model, score, kind, fold_cols, cluster in CASES:
        df = frames[kind]
        obj, warns = fit_case(model, df, fold_cols, score, kind, cluster)
        out = extract(obj, model, score, fold_cols, warns)
        out["data"] = str(CSV[kind])
        ref = numpy_case(model, score, df, fold_cols, cluster)
        checks[name] = compare(name, out, ref)
        if out["n_rep"] > 1:
            out["se_median_variance_formula"] = ref["se_legacy"]
        for rep, rr in zip(out["reps"], ref["reps"]):
            ex = rr["extra"]
            if "theta_initial" in ex:
                rep["theta_initial"] = ex["theta_initial"]
                rep["max_abs_ml_g_minus_l_minus_theta_initial_m"] = ex["max_abs_g_minus_l_minus_theta0_m"]
                if ex["max_abs_g_minus_l_minus_theta0_m"] > 1e-10:
                    raise SystemExit("IV-type: ml_g is not l - theta_initial m")
            if "propensity_unclipped" in ex:
                rep["rows"]["ml_m_unclipped"] = ex["propensity_unclipped"]
                rep["n_clipped"] = ex["n_clipped"]
                rep["n_clipped_low"] = int(np.sum(ex["propensity_unclipped"] < 0.01))
                rep["n_clipped_high"] = int(np.sum(ex["propensity_unclipped"] > 0.99))
                rep["logit_convergence"] = ex["logit_convergence"]
                raw = ex["propensity_unclipped"]
                for bound in (0.01, 0.99):
                    if not np.array_equal(np.clip(raw, 0.01, 0.99) == bound, rep["rows"]["ml_m"] == bound):
                        raise SystemExit("the clipped rows differ between DoubleML and the refit")
            if "cluster" in ex:
                cl = ex["cluster"]
                rep["cluster"] = {
                    "column": "cluster",
                    "n_clusters": cl["n_clusters"],
                    "clusters_per_fold": cl["clusters_per_fold"],
                    "J": cl["J"],
                    "gamma_hat": cl["gamma_hat"],
                    "se_textbook_cluster": cl["se_textbook_cluster"],
                }
                if rel(out["var_scaling_factor"], cl["n_clusters"]) > 0:
                    raise SystemExit("cluster var_scaling_factor")
            # for clustered fits J_mean_psi_a is the plain mean; J is in rep["cluster"]
        if model == "IRM":
            out["irm_defaults"] = irm_defaults()
            out["p_treated"] = float(np.mean(df["d"].to_numpy()))
        cases[name] = out
        print(f"{name}: coef {out['coef']:.10f} se {out['se']:.10f}  max diffs {checks[name]}")

    fixture = {
        "provenance": {
            "script": "tools/golden/dml_doubleml.py",
            "python": platform.python_version(),
            "doubleml": version("DoubleML"),
            "scikit-learn": version("scikit-learn"),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": version("scipy"),
            "seed": SEEDS,
        },
        "learners": LEARNER_TEXT,
        "nuisances": NUISANCES,
        "notes": NOTES,
        "data": {
            "plr": {
                "path": str(CSV["plr"]),
                "columns": list(frames["plr"].columns),
                "dgp": "make_plr_CCDDHNR2018 form, alpha = 0.5, S_jk = 0.7^|j-k|; see the script docstring",
                "seed": SEEDS["plr"],
                "cluster": "cluster = row // 5 (100 clusters of 5 rows)",
                "unbalanced_clusters_per_fold": UNBAL_CLUSTERS_PER_FOLD,
            },
            "irm": {
                "path": str(CSV["irm"]),
                "columns": list(frames["irm"].columns),
                "dgp": "make_irm_data form, theta = 0.5, R2_d = R2_y = 0.5, S_jk = 0.5^|j-k|",
                "seed": SEEDS["irm"],
                "c_y": irm_consts["c_y"],
                "c_d": irm_consts["c_d"],
            },
            "pliv": {
                "path": str(CSV["pliv"]),
                "columns": list(frames["pliv"].columns),
                "dgp": "make_pliv_CHS2015 form, dim_z = 1, alpha = 0.5, S_jk = 0.5^|j-k|",
                "seed": SEEDS["pliv"],
            },
            "iivm": {
                "path": str(CSV["iivm"]),
                "columns": list(frames["iivm"].columns),
                "dgp": (
                    "make_iivm_data form with confounded instrument and treatment: S_jk = 0.5^|j-k|, "
                    "(u, v) ~ N(0, [[1, .3], [.3, 1]]), z = 1{U < s(0.5 x2)}, d = 1{z + 0.5 x1 + v > 0}, "
                    "y = 0.5 d + x'b + u, b_j = 1/j^2"
                ),
                "seed": SEEDS["iivm"],
            },
            "fold_seed": SEEDS["folds"],
            "folds": "5 balanced folds, 0-based; fold k is the test set of DoubleML's k-th (train, test) pair",
        },
        "self_check": {
            "tolerance": TOL,
            "max_differences": checks,
        },
        "cases": cases,
    }
    OUT_JSON.write_text(json.dumps(to_py(fixture), indent=1) + "\n")
    print(f"wrote {OUT_JSON} and {', '.join(str(p) for p in CSV.values())}")


if __name__ == "__main__":
    sys.exit(main())
