#!/usr/bin/env python3
"""Reference values for effect heterogeneity and multi-treatment inference in double machine
learning: the best linear predictor of the IRM ATE signal (DoubleML `cate`), group average
effects (`gate`), a PLR with two treatments and its multiplier-bootstrap joint confidence band,
and L1-penalised logistic regression (scikit-learn) as a propensity learner reference.

The peer is DoubleML 0.11.4 with scikit-learn 1.9.1 and statsmodels 0.15.0. This script has no
requirements file of its own: it reuses tools/golden/requirements-dml.txt, the pinned
environment of dml_doubleml.py. Run from the repository root:

    python3.11 -m venv /work/venv-dml
    /work/venv-dml/bin/pip install -r tools/golden/requirements-dml.txt
    /work/venv-dml/bin/python tools/golden/dml_heterogeneity.py

It imports the data helpers and learners of dml_doubleml.py (same folder), so the IRM fit is
exactly that script's case C, and it reads to_py / rel / quiet from golden_common.py.

Inputs
------
* tools/golden/fixtures/dml_irm.csv (written by dml_doubleml.py; read here, not redrawn):
  y, d, x1..x5, fold. n = 500, d in {0, 1}, fold = 5 balanced folds (0-based).
* tools/golden/fixtures/dml_plr2.csv, drawn here (n = 500, p = 5), columns
  y, d1, d2, x1..x5, fold. rng = numpy.random.default_rng(706), drawn in this order:
      x = e @ chol(S)', e ~ N(0, I_5) (a 500 x 5 draw), S_jk = 0.5^|j-k|;
      v1, v2, eps ~ N(0, 1) (three draws of 500, in this order);
      d1 = x1 + 0.5 x2 + v1
      d2 = x3 - 0.5 x1 + v2          (the brief's "0.5 d1 * 0" term is zero and is left out)
      y  = 0.5 d1 - 0.3 d2 + x1 + 0.25 x3 + eps
  fold: default_rng(707), perm = rng.permutation(500), fold[perm] = arange(500) % 5
  (100 rows per fold), as balanced_folds in dml_doubleml.py. The CSV is written with floats as
  repr (shortest round trip) and read back with pandas; the script asserts bit equality.
* Output: tools/golden/fixtures/dml_heterogeneity.json. Nothing is random except the
  bootstrap, which runs under numpy.random.seed(708). Two runs are byte-identical.

Learners and folds (as dml_doubleml.py)
---------------------------------------
Regressions: sklearn LinearRegression() (OLS with intercept). IRM propensity:
LogisticRegression(C=np.inf, solver="newton-cg", tol=1e-12, max_iter=10000), the unpenalised
MLE; DoubleML clips it to [0.01, 0.99] (default PSProcessorConfig clipping_threshold = 0.01,
the deprecated trimming_threshold default; normalize_ipw = False). Folds are handed over with
set_sample_splitting([[(where(fold != k), where(fold == k)) for k in 0..4]]) on an object built
with n_folds = 5, n_rep = 1, draw_sample_splitting = False.

1. BLP / CATE and GATE of the IRM ATE (doubleml/irm/irm.py: DoubleMLIRM.cate, .gate;
   doubleml/utils/blp.py: DoubleMLBLP.fit, .confint, ._predict_and_aggregate;
   statsmodels/regression/linear_model.py: OLS.fit, RegressionResults.get_robustcov_results,
   cov_HC0; statsmodels/base/model.py: LikelihoodModelResults.conf_int)
-------------------------------------------------------------------------------------------
* Orthogonal signal: DoubleMLIRM.cate takes orth_signal = psi_elements["psi_b"] of the fitted
  ATE model (squeezed to n x n_rep) -- the AIPW pseudo-outcome
      psi_b_i = g1_i - g0_i + d_i (y_i - g1_i) / m_i - (1 - d_i)(y_i - g0_i) / (1 - m_i)
  with the out-of-fold predictions g0 (OLS on the training rows with d = 0), g1 (d = 1) and the
  clipped propensity m (weights = 1 for ATE). psi_a = -1, so theta_ATE = mean(psi_b). Only the
  ATE score is allowed (ATTE raises).
* BLP: DoubleMLBLP.fit(cov_type="HC0") runs statsmodels sm.OLS(psi_b, basis).fit(cov_type="HC0")
  per repetition. The basis DataFrame is the design matrix as given: DoubleML adds no constant,
  so the constant column must be in the basis (here [const = 1, x1, x2]). coef = (B'B)^-1 B'psi_b.
  Covariance HC0 (the default of DoubleMLBLP.fit; cate/gate pass **kwargs through):
      Omega = (B'B)^-1 [sum_i u_i^2 b_i b_i'] (B'B)^-1,  u = psi_b - B coef,
  with NO small-sample factor (not n/(n-k)); se = sqrt(diag(Omega)).
  With a robust cov_type statsmodels sets use_t = False, so t = coef/se is referred to N(0, 1):
  p = 2 Phi(-|t|), and the pointwise CI confint(level=0.95) (basis=None, not a GATE) is
  median_r of statsmodels conf_int(alpha = 0.05) = coef -/+ norm.ppf(0.975) se.
  confint(basis=B0) at new basis rows b0: g = b0'coef, se(b0) = sqrt(b0' Omega b0),
  CI g -/+ norm.ppf(0.975) se(b0) (the fixture's cate.grid).
  With n_rep > 1 coef and se are aggregated by _aggregate_coefs_and_ses (median, as in
  dml_doubleml.py); here n_rep = 1.
* GATE: DoubleMLIRM.gate(groups) requires a DataFrame of bool or int dummy columns (or one
  column of labels, which it one-hot encodes with pd.get_dummies, prefix "Group"), warns when a
  group has <= 5 rows, and then calls cate(groups, is_gate=True): it is the SAME HC0 OLS of
  psi_b on the dummies, without a constant. For mutually exclusive groups that gives
      coef_g = mean of psi_b over group g,  se_g = sqrt(sum_{i in g} (psi_b_i - coef_g)^2) / n_g
  (HC0 with exclusive dummies; covariances between groups are 0). GATE confint() with
  basis=None evaluates the identity basis through _predict_and_aggregate: coef_g -/+
  norm.ppf(0.975) se_g (normal; joint=True would instead draw N(0, I) vectors, map them through
  the real sqrtm(Omega), and take the quantile of max_g |.|/se_g from the global np.random
  state -- not recorded here).
  Groups here: cuts c = numpy.quantile(x1, [1/3, 2/3]) (default method "linear"); group q1 =
  {x1 <= c1}, q2 = {c1 < x1 <= c2}, q3 = {x1 > c2}. With n = 500 neither cut falls on a data
  value ((n - 1) p is not an integer), so strict or weak inequalities give the same groups; the
  fixture also stores the label of every row.

2. PLR with two treatments (doubleml/plm/plr.py: _nuisance_est, _score_elements;
   doubleml/double_ml.py: fit, construct_framework, bootstrap, confint;
   doubleml/data/base_data.py: DoubleMLData.set_x_d; doubleml/double_ml_framework.py:
   DoubleMLFramework.bootstrap, .confint; doubleml/utils/_estimation.py: _draw_weights)
------------------------------------------------------------------------------------------
* DoubleMLData(df, y_col="y", d_cols=["d1", "d2"], x_cols=x1..x5) has the default
  use_other_treat_as_covariate = True. fit() loops over the treatments j and calls
  set_x_d(d_cols[j]), which sets the covariate matrix to x_cols + d_cols with d_j removed
  (order: x1..x5, then the other treatments in d_cols order). So for d1 both nuisances use
  [x1..x5, d2] and for d2 [x1..x5, d1]: ml_l regresses y on that matrix (a different l for each
  treatment), ml_m regresses d_j on it. With use_other_treat_as_covariate = False both use only
  x1..x5 (the fixture's block without_other_treatments).
* Per treatment, partialling out: psi_a = -(d_j - m_j)^2, psi_b = (d_j - m_j)(y - l_j),
  theta_j = -mean(psi_b)/mean(psi_a), psi_j = psi_a theta_j + psi_b, J_j = mean(psi_a),
  se_j = sqrt(mean(psi_j^2) / (n J_j^2)) (divisor n). Pointwise CI theta_j -/+ norm.ppf(0.975) se_j.
* Multiplier bootstrap, bootstrap(method="normal", n_rep_boot=B): construct_framework stores
  scaled_psi_ij = psi_ij / J_j (psi divided by mean(psi_deriv) = mean(psi_a)), and
  var_scaling_factors = n. Per repetition _draw_weights draws ONE matrix
  W = np.random.normal(0, 1, size=(B, n)) from the global numpy state, shared by all treatments,
  and
      t*_bj = sum_i W_bi scaled_psi_ij / (n se_j) = sum_i W_bi psi_ij / (n J_j se_j).
  (J_j < 0 flips the sign of a whole column, which |.| removes.) "Bayes" would use
  Exp(1) - 1 weights, "wild" xx/sqrt(2) + (yy^2 - 1)/2.
* confint(joint=True, level=0.95): c = np.quantile(max_j |t*_bj| over j, 0.95) (linear
  interpolation, over the B draws), CI_j = theta_j -/+ c se_j; with n_rep > 1 the bounds are
  medians over repetitions of theta_jr -/+ c_r se_jr.
  Given the data, t*_b ~ N(0, R) exactly, with R_jk = mean(psi_j psi_k) /
  sqrt(mean(psi_j^2) mean(psi_k^2)) times sign(J_j J_k) (R_jj = 1). The fixture gives the exact
  conditional critical value c_exact solving P(max_j |Z_j| <= c) = 0.95 for Z ~ N(0, R)
  (two-dimensional: one quad integral plus brentq) and the Monte Carlo standard error of the
  B-draw quantile, sqrt(0.95 * 0.05 / B) / f(c) with f the density of max |Z_j| at c, so a Rust
  test can check its own bootstrap against c_exact (or DoubleML's c) within a few MC SEs.
  The script redraws W under the same seed and reproduces DoubleML's t* and c.

3. L1-penalised logistic regression (sklearn/linear_model/_logistic.py:
   LogisticRegression.fit, _logistic_regression_path; sklearn/linear_model/_sag.py:
   sag_solver; _sag_fast.pyx.tp: the stopping rule)
-------------------------------------------------------------------------------------
* Data: dml_irm.csv, target d, features x1..x5 raw (not standardised), with intercept.
* Call: LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=1_000_000,
  random_state=0) for C in (0.01, 0.05, 1.0). In sklearn 1.9 `penalty` is deprecated (since
  1.8, removal in 1.10): l1_ratio = 1 selects the pure L1 penalty, and penalty is not passed.
  saga is used because it does not penalise the intercept; liblinear appends a synthetic
  feature (intercept_scaling) whose weight -- the intercept -- is penalised.
* Objective (saga gets alpha = 0 for L2, beta = 1/C for L1; sag_solver divides both by n and
  works on the mean loss):
      sum_i [log(1 + exp(eta_i)) - d_i eta_i] + (1/C) ||b||_1,   eta_i = b0 + x_i'b,
  i.e. the documented C sum(logloss) + ||b||_1 divided by C; the intercept b0 is unpenalised.
  glmnet-style: (1/n) sum logloss + lambda ||b||_1 with lambda = 1/(C n).
* saga stops when max_j |w_j - w_j^prev| / max_j |w_j| <= tol over an epoch (feature weights
  only), or when all weights stay 0. The script requires n_iter_ < max_iter and no warning.
* KKT at the optimum, with s = X'(d - p) (sum scale) and s0 = sum(d - p):
  s0 = 0; s_j = (1/C) sign(b_j) for b_j != 0; |s_j| <= 1/C for b_j = 0. The fixture reports
  the residuals. It also polishes each solution: Newton on the smooth problem restricted to
  sklearn's support with the signs fixed (sum logloss + (1/C) sign(b_S)'b_S), converged to
  machine precision, then rechecks the full KKT conditions (`exact`).

Self-checks (the script stops on failure)
----------------------------------------
* IRM: coef and psi_b equal dml_doubleml.json case C_irm_ate (<= 1e-12); the BLP and GATE are
  recomputed in numpy (lstsq, HC0 sandwich, group means) to 1e-10 relative.
* PLR2: every nuisance prediction is recomputed by fold-wise lstsq OLS on [x, other treatment]
  (1e-10), and coef/se from the formulas above; the bootstrap t* are reproduced from the same
  seed (1e-10) and c and the joint CI exactly.
* L1 logit: KKT residual / (1/C) <= 1e-9 for saga, <= 1e-12 for the polished solution.

Output fields are listed in tools/golden/README.md (section dml_heterogeneity.json).
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
from scipy import integrate, optimize
from scipy.stats import norm
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import doubleml as dml
from dml_doubleml import (
    CLF,
    CSV,
    K,
    LEARNER_TEXT,
    N,
    P,
    REG,
    XCOLS,
    balanced_folds,
    draw_x,
    logistic,
    ols_cv,
    read_back,
    smpls_from,
    write_csv,
)
from golden_common import quiet, rel, to_py

FIXTURES = Path("tools/golden/fixtures")
OUT_JSON = FIXTURES / "dml_heterogeneity.json"
IRM_CSV = CSV["irm"]
DML_JSON = FIXTURES / "dml_doubleml.json"
PLR2_CSV = FIXTURES / "dml_plr2.csv"
SEEDS = {"plr2": 706, "plr2_folds": 707, "bootstrap": 708}
N_BOOT = 20000
LEVEL = 0.95
L1_CS = [0.01, 0.05, 1.0]
L1_TOL = 1e-12
L1_MAX_ITER = 1_000_000
TOL = 1e-10
D_COLS = ["d1", "d2"]


def check(cond, msg):
    if not cond:
        raise SystemExit(f"check failed: {msg}")


def max_rel_arr(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ----------------------------------------------------------------------------------------------
# 1. IRM ATE: BLP and GATE
# ----------------------------------------------------------------------------------------------


def fit_irm(df):
    data = dml.DoubleMLData(df, y_col="y", d_cols="d", x_cols=XCOLS)
    obj = dml.DoubleMLIRM(data, clone(REG), clone(CLF), n_folds=K, n_rep=1, score="ATE", draw_sample_splitting=False)
    obj.set_sample_splitting([smpls_from(df["fold"].to_numpy())])
    _, warns = quiet(obj.fit)
    return obj, warns


def hc0(b, s):
    """OLS of s on the design b (no constant added) with the HC0 sandwich."""
    coef = np.linalg.lstsq(b, s, rcond=None)[0]
    u = s - b @ coef
    bread = np.linalg.inv(b.T @ b)
    meat = (b * (u**2)[:, None]).T @ b
    omega = bread @ meat @ bread
    return coef, omega


def blp_block(model, columns, z):
    """Fields of a fitted DoubleMLBLP (n_rep = 1)."""
    res = model.blp_model[0]
    coef = np.asarray(model.coef)
    se = np.asarray(model.se)
    t = coef / se
    return {
        "columns": columns,
        "coef": coef,
        "se": se,
        "t": t,
        "p_value": 2 * norm.cdf(-np.abs(t)),
        "cov": model.blp_omega[:, :, 0],
        "statsmodels_cov_type": res.cov_type,
        "statsmodels_use_t": bool(res.use_t),
        "z_975": z,
    }


def irm_part(df, dml_json):
    obj, warns = fit_irm(df)
    n = int(obj.n_obs)
    psi_b = obj.psi_elements["psi_b"][:, 0, 0]
    psi_a = obj.psi_elements["psi_a"][:, 0, 0]
    check(np.all(psi_a == -1.0), "IRM ATE psi_a is not -1")
    coef = float(obj.coef[0])
    check(rel(coef, float(np.mean(psi_b))) <= 1e-14, "theta != mean(psi_b)")

    # the same fit as dml_doubleml.py case C
    case_c = dml_json["cases"]["C_irm_ate"]
    diff_c = {
        "coef_rel": rel(coef, case_c["coef"]),
        "se_rel": rel(float(obj.se[0]), case_c["se"]),
        "psi_b_max_rel": max_rel_arr(psi_b, case_c["reps"][0]["rows"]["psi_b"]),
    }
    check(all(v <= 1e-12 for v in diff_c.values()), f"IRM fit differs from dml_doubleml.json case C: {diff_c}")

    z = float(norm.ppf(0.975))
    x1 = df["x1"].to_numpy()
    x2 = df["x2"].to_numpy()

    # a. CATE / BLP on [const, x1, x2]
    basis = pd.DataFrame({"const": np.ones(n), "x1": x1, "x2": x2})
    (cate, cate_warns) = quiet(obj.cate, basis)
    ci = cate.confint(level=LEVEL).to_numpy()
    cate_out = blp_block(cate, list(basis.columns), z)
    cate_out["ci_95_pointwise"] = {"lower": ci[:, 0], "upper": ci[:, 2]}
    # own check
    b_np = basis.to_numpy()
    c_np, om_np = hc0(b_np, psi_b)
    se_np = np.sqrt(np.diag(om_np))
    cate_diff = {
        "coef": max_rel_arr(cate.coef, c_np),
        "se": max_rel_arr(cate.se, se_np),
        "cov": max_rel_arr(cate.blp_omega[:, :, 0], om_np),
        "ci": max(max_rel_arr(ci[:, 0], c_np - z * se_np), max_rel_arr(ci[:, 2], c_np + z * se_np)),
    }
    check(all(v <= TOL for v in cate_diff.values()), f"CATE numpy check {cate_diff}")
    hc1_se = se_np * math.sqrt(n / (n - b_np.shape[1]))
    cate_out["se_HC1_for_contrast"] = hc1_se
    check(cate_out["statsmodels_cov_type"] == "HC0" and not cate_out["statsmodels_use_t"], "BLP cov type / use_t")

    # confint at new basis rows (pointwise)
    grid = pd.DataFrame([[1.0, -1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.5]], columns=list(basis.columns))
    gci = cate.confint(basis=grid, level=LEVEL).to_numpy()
    g_np = grid.to_numpy() @ c_np
    gse_np = np.sqrt(np.einsum("ij,jk,ik->i", grid.to_numpy(), om_np, grid.to_numpy()))
    check(max_rel_arr(gci[:, 1], g_np) <= TOL and max_rel_arr(gci[:, 0], g_np - z * gse_np) <= TOL, "CATE grid")
    cate_out["grid"] = {
        "rows": grid.to_numpy(),
        "effect": gci[:, 1],
        "se": gse_np,
        "lower": gci[:, 0],
        "upper": gci[:, 2],
        "formula": "effect = b0'coef, se = sqrt(b0' cov b0), CI effect -/+ z_975 se",
    }
    cate_out["doubleml_warnings"] = cate_warns

    # b. GATE on x1 terciles
    cuts = np.quantile(x1, [1.0 / 3.0, 2.0 / 3.0])
    label = np.where(x1 <= cuts[0], 0, np.where(x1 <= cuts[1], 1, 2)).astype(np.int64)
    check(np.array_equal(label, np.digitize(x1, cuts, right=True)), "tercile labels")
    check(not np.any(np.isin(x1, cuts)), "a cut point equals a data value")
    names = ["q1", "q2", "q3"]
    groups = pd.DataFrame({nm: (label == g).astype(np.int64) for g, nm in enumerate(names)})
    (gate, gate_warns) = quiet(obj.gate, groups)
    gci = gate.confint(level=LEVEL)
    check(list(gci.index) == names, "GATE confint index")
    gci = gci.to_numpy()
    gate_out = blp_block(gate, names, z)
    gate_out["ci_95_pointwise"] = {"lower": gci[:, 0], "upper": gci[:, 2]}
    counts = np.bincount(label, minlength=3)
    means = np.array([np.mean(psi_b[label == g]) for g in range(3)])
    se_g = np.array([math.sqrt(np.sum((psi_b[label == g] - means[g]) ** 2)) / counts[g] for g in range(3)])
    _, om_g = hc0(groups.to_numpy().astype(float), psi_b)
    gate_diff = {
        "coef": max_rel_arr(gate.coef, means),
        "se": max_rel_arr(gate.se, se_g),
        "cov_offdiag_max_abs": float(np.max(np.abs(gate.blp_omega[:, :, 0] - np.diag(np.diag(gate.blp_omega[:, :, 0]))))),
        "cov_vs_numpy_hc0": max_rel_arr(gate.blp_omega[:, :, 0], om_g),
        "ci": max(max_rel_arr(gci[:, 0], means - z * se_g), max_rel_arr(gci[:, 2], means + z * se_g)),
    }
    check(all(v <= TOL for v in gate_diff.values()), f"GATE numpy check {gate_diff}")
    gate_out["groups"] = {
        "x_column": "x1",
        "quantile_probs": [1.0 / 3.0, 2.0 / 3.0],
        "cuts": cuts,
        "rule": "q1: x1 <= cuts[0]; q2: cuts[0] < x1 <= cuts[1]; q3: x1 > cuts[1]; "
        "cuts = numpy.quantile(x1, [1/3, 2/3]) (method 'linear': h = (n - 1) p, "
        "x_(floor h) + (h - floor h)(x_(floor h + 1) - x_(floor h)), 0-based order statistics)",
        "counts": counts,
        "label": label,
        "label_coding": "0 = q1, 1 = q2, 2 = q3, in CSV row order",
    }
    gate_out["doubleml_warnings"] = gate_warns

    out = {
        "data": str(IRM_CSV),
        "model": "IRM",
        "score": "ATE",
        "fold_column": "fold",
        "n_obs": n,
        "coef": coef,
        "se": float(obj.se[0]),
        "doubleml_warnings": warns,
        "same_fit_as": "dml_doubleml.json cases.C_irm_ate (its reps[0].rows.psi_b is the full signal)",
        "diff_to_dml_doubleml_case_C": diff_c,
        "psi_b_first5": psi_b[:5],
        "psi_b_mean": float(np.mean(psi_b)),
        "psi_b_sum_sq": float(np.sum(psi_b**2)),
        # AUC of the out-of-fold (clipped) propensity against d, scikit-learn's roc_auc_score
        "auc_ml_m": float(roc_auc_score(df["d"].to_numpy(), obj.predictions["ml_m"][:, 0, 0])),
        "cate": cate_out,
        "gate": gate_out,
    }
    return out, {"cate": cate_diff, "gate": gate_diff, "dml_doubleml_case_C": diff_c}


# ----------------------------------------------------------------------------------------------
# 2. PLR with two treatments
# ----------------------------------------------------------------------------------------------


def simulate_plr2():
    rng = np.random.default_rng(SEEDS["plr2"])
    x = draw_x(rng, 0.5)
    v1 = rng.standard_normal(N)
    v2 = rng.standard_normal(N)
    eps = rng.standard_normal(N)
    d1 = x[:, 0] + 0.5 * x[:, 1] + v1
    d2 = x[:, 2] - 0.5 * x[:, 0] + v2
    y = 0.5 * d1 - 0.3 * d2 + x[:, 0] + 0.25 * x[:, 2] + eps
    fold = balanced_folds(np.random.default_rng(SEEDS["plr2_folds"]), N, K)
    cols = [("y", y), ("d1", d1), ("d2", d2)] + [(XCOLS[j], x[:, j]) for j in range(P)] + [("fold", fold)]
    write_csv(PLR2_CSV, cols)
    return read_back(PLR2_CSV, cols)


def fit_plr2(df, other_as_covariate):
    data = dml.DoubleMLData(df, y_col="y", d_cols=D_COLS, x_cols=XCOLS, use_other_treat_as_covariate=other_as_covariate)
    obj = dml.DoubleMLPLR(
        data, clone(REG), clone(REG), n_folds=K, n_rep=1, score="partialling out", draw_sample_splitting=False
    )
    obj.set_sample_splitting([smpls_from(df["fold"].to_numpy())])
    _, warns = quiet(obj.fit)
    covars = {}
    for t in D_COLS:
        data.set_x_d(t)
        covars[t] = list(data._X.columns)
    return obj, warns, covars


def numpy_plr2(df, other_as_covariate):
    y = df["y"].to_numpy()
    fold = df["fold"].to_numpy()
    out = []
    for j, t in enumerate(D_COLS):
        cols = XCOLS + ([c for c in D_COLS if c != t] if other_as_covariate else [])
        x = df[cols].to_numpy()
        d = df[t].to_numpy()
        l_hat = ols_cv(x, y, fold)
        m_hat = ols_cv(x, d, fold)
        v = d - m_hat
        psi_a, psi_b = -v * v, v * (y - l_hat)
        theta = -np.mean(psi_b) / np.mean(psi_a)
        psi = psi_a * theta + psi_b
        jj = np.mean(psi_a)
        se = math.sqrt(np.mean(psi**2) / jj**2 / len(y))
        out.append({"cols": cols, "l": l_hat, "m": m_hat, "theta": theta, "se": se, "psi": psi, "J": jj})
    return out


def max_abs_corr_quantile(r, level):
    """c with P(|Z1| <= c, |Z2| <= c) = level, Z ~ N(0, [[1, r], [r, 1]]); also the density of
    max(|Z1|, |Z2|) at c."""
    s = math.sqrt(1.0 - r * r)

    def prob(c):
        f = lambda z: norm.pdf(z) * (norm.cdf((c - r * z) / s) - norm.cdf((-c - r * z) / s))
        return integrate.quad(f, -c, c, epsabs=1e-13, epsrel=1e-13, limit=200)[0]

    c = optimize.brentq(lambda c: prob(c) - level, 1.0, 5.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    # d/dc P(max <= c) = 2 phi(c) [Phi((c - r c)/s) - Phi((-c - r c)/s)] + (same for the other coordinate)
    dens = 2.0 * 2.0 * norm.pdf(c) * (norm.cdf((c - r * c) / s) - norm.cdf((-c - r * c) / s))
    return c, dens, prob(c)


def plr2_part(df):
    n = len(df)
    obj, warns, covars = fit_plr2(df, True)
    ref = numpy_plr2(df, True)
    coef = np.asarray(obj.coef)
    se = np.asarray(obj.se)
    diffs = {"coef": 0.0, "se": 0.0, "preds": 0.0, "psi": 0.0}
    for j, t in enumerate(D_COLS):
        check(covars[t] == ref[j]["cols"], f"covariates of {t}: {covars[t]}")
        diffs["coef"] = max(diffs["coef"], rel(coef[j], ref[j]["theta"]))
        diffs["se"] = max(diffs["se"], rel(se[j], ref[j]["se"]))
        diffs["preds"] = max(
            diffs["preds"],
            max_rel_arr(obj.predictions["ml_l"][:, 0, j], ref[j]["l"]),
            max_rel_arr(obj.predictions["ml_m"][:, 0, j], ref[j]["m"]),
        )
        diffs["psi"] = max(diffs["psi"], max_rel_arr(obj.psi[:, 0, j], ref[j]["psi"]))
    check(all(v <= TOL for v in diffs.values()), f"PLR2 numpy check {diffs}")
    ci_point = obj.confint(level=LEVEL).to_numpy()
    z = float(norm.ppf(0.975))
    check(max_rel_arr(ci_point[:, 0], coef - z * se) <= 1e-14, "pointwise CI")

    # multiplier bootstrap and joint band
    np.random.seed(SEEDS["bootstrap"])
    obj.bootstrap(method="normal", n_rep_boot=N_BOOT)
    ci_joint = obj.confint(joint=True, level=LEVEL).to_numpy()
    tstar = obj.boot_t_stat[:, :, 0]
    crit = float(np.quantile(np.max(np.abs(tstar), axis=1), LEVEL))
    check(max_rel_arr(ci_joint[:, 0], coef - crit * se) <= 1e-14, "joint CI lower = coef - c se")
    check(max_rel_arr(ci_joint[:, 1], coef + crit * se) <= 1e-14, "joint CI upper = coef + c se")
    # redraw the weights under the same seed
    np.random.seed(SEEDS["bootstrap"])
    w = np.random.normal(loc=0.0, scale=1.0, size=(N_BOOT, n))
    psi = np.column_stack([ref[j]["psi"] for j in range(2)])
    jj = np.array([ref[j]["J"] for j in range(2)])
    se_np = np.array([ref[j]["se"] for j in range(2)])
    tstar_np = w @ (psi / (n * jj * se_np))
    boot_diff = max_rel_arr(tstar, tstar_np)
    crit_np = float(np.quantile(np.max(np.abs(tstar_np), axis=1), LEVEL))
    check(boot_diff <= TOL and rel(crit, crit_np) <= 1e-12, f"bootstrap redraw {boot_diff} {crit} {crit_np}")
    diffs["bootstrap_t_star"] = boot_diff
    diffs["critical_value"] = rel(crit, crit_np)

    # exact conditional distribution of t*
    m2 = psi.T @ psi / n
    r = float(m2[0, 1] / math.sqrt(m2[0, 0] * m2[1, 1]) * np.sign(jj[0] * jj[1]))
    emp_corr = float(np.corrcoef(tstar.T)[0, 1])
    c_exact, dens, p_at = max_abs_corr_quantile(r, LEVEL)
    mc_se = math.sqrt(LEVEL * (1 - LEVEL) / N_BOOT) / dens

    without, w_warns, w_covars = fit_plr2(df, False)
    ref_w = numpy_plr2(df, False)
    for j, t in enumerate(D_COLS):
        check(w_covars[t] == XCOLS, "without other treatments: covariates")
        check(rel(without.coef[j], ref_w[j]["theta"]) <= TOL and rel(without.se[j], ref_w[j]["se"]) <= TOL, "without")

    out = {
        "data": str(PLR2_CSV),
        "columns": list(df.columns),
        "dgp": (
            "x ~ N(0, S), S_jk = 0.5^|j-k| (e @ chol(S)'); d1 = x1 + 0.5 x2 + v1; d2 = x3 - 0.5 x1 + v2; "
            "y = 0.5 d1 - 0.3 d2 + x1 + 0.25 x3 + eps; v1, v2, eps ~ N(0, 1), drawn after x in this order"
        ),
        "seed": SEEDS["plr2"],
        "fold_seed": SEEDS["plr2_folds"],
        "true_coef": [0.5, -0.3],
        "model": "PLR",
        "score": "partialling out",
        "d_cols": D_COLS,
        "n_obs": n,
        "n_folds": K,
        "n_rep": 1,
        "use_other_treat_as_covariate": True,
        "nuisance_covariates": covars,
        "coef": coef,
        "se": se,
        "t": coef / se,
        "p_value": 2 * norm.cdf(-np.abs(coef / se)),
        "ci_95_pointwise": {"lower": ci_point[:, 0], "upper": ci_point[:, 1]},
        "J_mean_psi_a": jj,
        "mean_psi_sq": np.diag(m2),
        "mean_psi_cross": float(m2[0, 1]),
        "psi_first5": psi[:5, :],
        "psi_layout": "psi_first5[i][j]: row i, treatment j (d1, d2); psi = psi_a coef + psi_b",
        "bootstrap": {
            "method": "normal",
            "n_rep_boot": N_BOOT,
            "numpy_seed": SEEDS["bootstrap"],
            "weights": "np.random.seed(708); W = np.random.normal(0, 1, size=(n_rep_boot, n_obs)), one matrix for both treatments",
            "t_star": "t*_bj = sum_i W_bi psi_ij / (n J_j se_j), J_j = mean(psi_a_j)",
            "critical_value": crit,
            "critical_value_rule": "np.quantile(max_j |t*_bj|, 0.95) over the n_rep_boot draws (linear interpolation)",
            "t_star_corr_empirical": emp_corr,
            "t_star_corr_exact": r,
            "critical_value_exact": c_exact,
            "critical_value_exact_prob_check": p_at,
            "critical_value_mc_se": mc_se,
            "t_star_first3": tstar[:3, :],
            "ci_95_joint": {"lower": ci_joint[:, 0], "upper": ci_joint[:, 1]},
        },
        "without_other_treatments": {
            "use_other_treat_as_covariate": False,
            "nuisance_covariates": w_covars,
            "coef": np.asarray(without.coef),
            "se": np.asarray(without.se),
            "doubleml_warnings": w_warns,
        },
        "doubleml_warnings": warns,
    }
    return out, diffs


# ----------------------------------------------------------------------------------------------
# 3. L1-penalised logistic regression
# ----------------------------------------------------------------------------------------------


def l1_objective(x1, d, w, C):
    eta = x1 @ w
    return float(np.sum(np.logaddexp(0.0, eta) - d * eta) + np.sum(np.abs(w[1:])) / C)


def l1_kkt(x1, d, w, C):
    lam = 1.0 / C
    score = x1.T @ (d - logistic(x1 @ w))
    b = w[1:]
    s = score[1:]
    viol = np.where(b != 0, np.abs(s - lam * np.sign(b)), np.maximum(np.abs(s) - lam, 0.0))
    return score, viol, float(max(np.max(viol), abs(score[0])))


def l1_polish(x1, d, w, C):
    """Newton on the support with signs fixed; returns the polished (b0, b)."""
    lam = 1.0 / C
    act = np.concatenate([[True], w[1:] != 0])
    a = x1[:, act]
    sgn = np.concatenate([[0.0], np.sign(w[1:][w[1:] != 0])])
    v = w[act].copy()
    for it in range(100):
        p = logistic(a @ v)
        grad = -a.T @ (d - p) + lam * sgn
        hess = (a * (p * (1 - p))[:, None]).T @ a
        step = np.linalg.solve(hess, grad)
        v = v - step
        if np.max(np.abs(step)) < 1e-15 * (1 + np.max(np.abs(v))):
            break
    else:
        raise SystemExit("polish did not converge")
    check(np.array_equal(np.sign(v[1:]), sgn[1:]), "polished signs changed")
    out = np.zeros_like(w)
    out[act] = v
    return out, it + 1


def l1_part(df):
    x = df[XCOLS].to_numpy()
    d = df["d"].to_numpy()
    n = len(d)
    x1 = np.column_stack([np.ones(n), x])
    lam_max = float(np.max(np.abs(x.T @ (d - d.mean()))))
    fits = []
    worst = 0.0
    for C in L1_CS:
        est = LogisticRegression(
            C=C, l1_ratio=1.0, solver="saga", tol=L1_TOL, max_iter=L1_MAX_ITER, random_state=0
        )
        est, warns = quiet(est.fit, x, d)
        check(not warns, f"L1 logit C={C} warnings: {warns}")
        n_iter = int(est.n_iter_[0])
        check(n_iter < L1_MAX_ITER, f"L1 logit C={C} hit max_iter")
        w = np.concatenate([est.intercept_, est.coef_[0]])
        score, viol, kkt = l1_kkt(x1, d, w, C)
        check(kkt * C <= 1e-9, f"L1 logit C={C}: KKT {kkt * C:.3e} relative to 1/C")
        we, newton_it = l1_polish(x1, d, w, C)
        score_e, viol_e, kkt_e = l1_kkt(x1, d, we, C)
        check(kkt_e * C <= 1e-12, f"polished KKT {kkt_e * C:.3e}")
        worst = max(worst, kkt * C)
        fits.append(
            {
                "C": C,
                "lambda_glmnet": 1.0 / (C * n),
                "penalty_sum_scale": 1.0 / C,
                "intercept": float(w[0]),
                "coef": w[1:],
                "n_nonzero": int(np.sum(w[1:] != 0)),
                "n_iter": n_iter,
                "objective": l1_objective(x1, d, w, C),
                "score_X1t_d_minus_p": score,
                "kkt": {
                    "intercept_gradient": float(score[0]),
                    "per_coef_violation": viol,
                    "max_violation": kkt,
                    "max_violation_over_lambda": kkt * C,
                    "slack_zero_coefs": [float(1.0 / C - abs(sj)) if bj == 0 else None for bj, sj in zip(w[1:], score[1:])],
                },
                "exact": {
                    "intercept": float(we[0]),
                    "coef": we[1:],
                    "objective": l1_objective(x1, d, we, C),
                    "newton_iterations": newton_it,
                    "max_violation_over_lambda": kkt_e * C,
                    "max_abs_diff_to_sklearn": float(np.max(np.abs(we - w))),
                },
            }
        )
    out = {
        "data": str(IRM_CSV),
        "target": "d",
        "features": XCOLS,
        "standardized": False,
        "n_obs": n,
        "call": (
            'LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=1000000, random_state=0)'
            " (penalty not passed: deprecated since sklearn 1.8)"
        ),
        "objective": "sum_i [log(1 + exp(eta_i)) - d_i eta_i] + (1/C) ||b||_1, eta = b0 + x'b, b0 unpenalised",
        "objective_glmnet": "(1/n) sum_i logloss_i + lambda ||b||_1, lambda = 1/(C n)",
        "solver_choice": "saga (intercept not penalised); liblinear is not used: it penalises the intercept as a synthetic feature",
        "kkt_definition": (
            "s = X'(d - p), s0 = sum(d - p): s0 = 0; s_j = (1/C) sign(b_j) if b_j != 0; |s_j| <= 1/C if b_j = 0. "
            "per_coef_violation: |s_j - sign(b_j)/C| or max(|s_j| - 1/C, 0); max_violation includes |s0|; "
            "slack_zero_coefs: 1/C - |s_j| for zero b_j, null for nonzero"
        ),
        "lambda_max_sum_scale": lam_max,
        "lambda_max_note": "max_j |x_j'(d - mean d)|: for 1/C >= this all b_j = 0",
        "fits": fits,
    }
    return out, {"max_kkt_over_lambda_saga": worst}


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def main():
    if not Path("tools/golden").is_dir():
        raise SystemExit("run from the repository root")
    irm_df = pd.read_csv(IRM_CSV)
    check(list(irm_df.columns) == ["y", "d"] + XCOLS + ["fold"], "dml_irm.csv columns")
    dml_json = json.loads(DML_JSON.read_text())

    irm, irm_checks = irm_part(irm_df, dml_json)
    plr_df = simulate_plr2()
    plr2, plr_checks = plr2_part(plr_df)
    l1, l1_checks = l1_part(irm_df)

    fixture = {
        "provenance": {
            "script": "tools/golden/dml_heterogeneity.py",
            "requirements": "tools/golden/requirements-dml.txt",
            "python": platform.python_version(),
            "doubleml": version("DoubleML"),
            "scikit-learn": version("scikit-learn"),
            "statsmodels": version("statsmodels"),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": version("scipy"),
            "seed": SEEDS,
        },
        "learners": LEARNER_TEXT,
        "notes": {
            "orthogonal_signal": (
                "IRM ATE psi_b = g1 - g0 + d (y - g1)/m - (1 - d)(y - g0)/(1 - m) (out-of-fold, m clipped to "
                "[0.01, 0.99]); psi_a = -1; DoubleMLIRM.cate uses psi_elements['psi_b']"
            ),
            "blp": (
                "statsmodels OLS(psi_b, basis).fit(cov_type='HC0'); basis used as given (no constant added); "
                "HC0 = (B'B)^-1 B' diag(u^2) B (B'B)^-1, no small-sample factor; use_t = False, so p values and "
                "CIs use the normal: coef -/+ norm.ppf(0.975) se"
            ),
            "gate": (
                "same OLS/HC0 on the group dummies (no constant): coef_g = mean_g(psi_b), "
                "se_g = sqrt(sum_g (psi_b - coef_g)^2)/n_g; confint: coef_g -/+ norm.ppf(0.975) se_g"
            ),
            "multi_treatment": (
                "use_other_treat_as_covariate = True (default): the nuisances of treatment j use x_cols + the "
                "other d_cols; each treatment has its own ml_l and ml_m fits"
            ),
            "bootstrap": (
                "W ~ N(0,1) (n_rep_boot x n), one matrix shared by the treatments; t*_bj = sum_i W_bi psi_ij / "
                "(n J_j se_j); c = quantile_0.95(max_j |t*_bj|); joint CI theta_j -/+ c se_j"
            ),
            "sources": (
                "doubleml 0.11.4: irm/irm.py (cate, gate, _score_elements), utils/blp.py (DoubleMLBLP), "
                "plm/plr.py, double_ml.py (fit, construct_framework, bootstrap, confint), double_ml_framework.py "
                "(bootstrap, confint), data/base_data.py (set_x_d), utils/_estimation.py (_draw_weights); "
                "statsmodels 0.15.0: regression/linear_model.py (cov_HC0, get_robustcov_results), base/model.py "
                "(conf_int); scikit-learn 1.9.1: linear_model/_logistic.py, _sag.py, _sag_fast.pyx.tp"
            ),
        },
        "self_check": {"tolerance": TOL, "irm": irm_checks, "plr2": plr_checks, "l1_logit": l1_checks},
        "irm_blp": irm,
        "plr2": plr2,
        "l1_logit": l1,
    }
    OUT_JSON.write_text(json.dumps(to_py(fixture), indent=1) + "\n")
    print(f"IRM ATE {irm['coef']:.10f}; CATE coef {np.round(irm['cate']['coef'], 6)} se {np.round(irm['cate']['se'], 6)}")
    print(f"GATE coef {np.round(irm['gate']['coef'], 6)} se {np.round(irm['gate']['se'], 6)}")
    b = plr2["bootstrap"]
    print(f"PLR2 coef {np.round(plr2['coef'], 6)} se {np.round(plr2['se'], 6)}; c {b['critical_value']:.6f} "
          f"exact {b['critical_value_exact']:.6f} (MC se {b['critical_value_mc_se']:.4f}) r {b['t_star_corr_exact']:.4f}")
    for f in l1["fits"]:
        print(f"L1 C={f['C']}: n_iter {f['n_iter']} nnz {f['n_nonzero']} kkt/lam {f['kkt']['max_violation_over_lambda']:.2e} "
              f"exact diff {f['exact']['max_abs_diff_to_sklearn']:.2e}")
    print(f"wrote {OUT_JSON} and {PLR2_CSV}")


if __name__ == "__main__":
    sys.exit(main())
