#!/usr/bin/env python3
"""Reference numbers for the honest causal forest (generalized random forests, Athey, Tibshirani
& Wager 2019; the R package grf, shared/specs/grf.md). The R package cannot run here, so the
peers are the two causal forests of EconML 0.17.0 (with scikit-learn 1.9.1, numpy 2.4.6), pinned
in tools/golden/requirements-grf.txt:

  peer 1 "econml_grf": grf's causal_forest pipeline rebuilt from econml.grf.RegressionForest
          (the nuisances Y.hat, W.hat, out of bag) and econml.grf.CausalForest (the forest on the
          centred data), with grf's downstream AIPW average effects (spec section 7) computed here
          in numpy from the peer's OOB predictions;
  peer 2 "econml_cfdml": econml.dml.CausalForestDML, the packaged estimator (cross-fitted
          scikit-learn random-forest nuisances, then the same CausalForest).

Forests are random and no two implementations share a generator, so paribus cannot reproduce
these numbers bit for bit: the Rust tests compare accuracy (CATE RMSE against the true effect,
interval coverage, ATE and SE) with tolerances. The one exact comparison is section 7: the
fixture stores the peer's OOB tau.hat, Y.hat and W.hat, and paribus's AIPW functions applied to
those arrays must give the stored ATE / ATT / ATC and SEs to about 1e-12.

Run from the repository root, in a virtual environment built from that requirements file:

    python3.11 -m venv /work/venv-grf
    /work/venv-grf/bin/pip install -r tools/golden/requirements-grf.txt
    /work/venv-grf/bin/python tools/golden/grf.py

It takes about 90 seconds on one core (every econml / sklearn call runs with n_jobs=1, which
also keeps the floating-point summation order fixed). Two runs give byte-identical files.

Data (two cases, one generator each)
------------------------------------
smooth_confounded (seed 7101) and smooth_randomized (seed 7102). n_train = 2000, n_test = 1000,
p = 6. rng = numpy.random.default_rng(seed), drawn in this order:
    X      = rng.uniform(size=(2000, 6))          # X ~ U[0, 1]^6, row by row
    u_w    = rng.uniform(size=2000);  W = 1{u_w < e(X)}   (Bernoulli(e(X)))
    eps    = rng.standard_normal(2000)
    X_test = rng.uniform(size=(1000, 6))
with (x1, x2, x3 = columns 0, 1, 2)
    tau(x) = s(x1) s(x2),  s(u) = 1 + 1 / (1 + exp(-20 (u - 1/3)))     (Wager & Athey 2018)
    e(x)   = 0.25 (1 + B(x1)), B = Beta(2, 4) density = 20 u (1 - u)^3   (confounded case;
             e in [0.25, 0.7773]); e(x) = 0.5 in the randomized case
    m(x)   = 2 x1 + x3 - 1
    Y      = m(X) + (W - e(X)) tau(X) + eps,  so E[Y | X] = m(X) and E[W | X] = e(X).
x1 drives both the effect and the propensity, so the confounded case is confounded through x1.
Files: tools/golden/fixtures/grf_<case>_train.csv (x1..x6,w,y,tau,e) and grf_<case>_test.csv
(x1..x6,tau), floats written with repr (shortest round trip), read back with pandas and
asserted bit-identical; everything below runs on the values read back.

Peer 1: grf's causal_forest rebuilt from econml.grf (sources read: econml/grf/_base_grf.py,
classes.py, _base_grftree.py, econml/tree/_tree_classes.py, and the Cython sources quoted in
econml/grf/_criterion.c, econml/tree/_splitter.c and _tree.c)
---------------------------------------------------------------------------------------------
Step 1 (spec 1.1): Y.hat, W.hat = RegressionForest(...).fit(X, Y or W).oob_predict(X), with
n_estimators=500 (grf: max(50, num.trees / 4)), honest=True, min_samples_leaf=5,
max_samples=0.5, min_balancedness_tol=0.45, max_features=6, inference=False (grf:
ci.group.size = 1), random_state = seed + 1 (Y) and seed + 2 (W).
Step 2: CausalForest(...).fit(X, T = W - W.hat, y = Y - Y.hat) with the settings below,
random_state = seed + 3. Test CATEs: predict(X_test, interval=True, alpha=0.05) and
predict_var(X_test); training CATEs: oob_predict(X).

grf argument            -> econml argument (what is and is not the same)
  num.trees 2000        -> n_estimators=2000.
  sample.fraction 0.5   -> max_samples=0.5. econml draws floor(0.5 n) = 1000 rows per tree
                           without replacement; with inference it first draws a half-sample of
                           n // 2 rows per group and then max_samples rows from it, so, as in
                           grf (spec 4.1), both trees of a group use the same half-sample.
  ci.group.size 2       -> inference=True, subforest_size=2 (allowed: >= 2 and 2000 % 2 == 0).
  honesty TRUE, 0.5     -> honest=True (fixed fraction: the subsample is shuffled and split
                           n//2 / rest into the split set J1 and the estimation set J2).
  honesty.prune.leaves  -> no equivalent and not needed: econml never makes an empty leaf,
                           since every split must leave min_samples_leaf rows of J1 AND of J2 in
                           each child (grf checks J1 only and prunes empty J2 leaves afterwards).
  min.node.size 5       -> min_samples_leaf=5 (min_samples_split keeps its default 10, which
                           econml raises to 2 * min_samples_leaf = 10 anyway). NOT the same rule:
                           grf splits any node with more than 5 J1 rows and, for the causal
                           forest, wants >= 5 rows on each side of the parent's mean W.tilde in
                           each child (5 treated and 5 controls); econml wants >= 5 rows of J1
                           and of J2 in each child, whatever their treatment, and >= 10 J1 and
                           J2 rows in a node to split it.
  alpha 0.05            -> min_balancedness_tol=0.45: each child keeps >= 5% of the parent's
                           rows, on J1 and on J2. grf's causal forest instead bounds the
                           child's treatment variation sum (W.tilde - mean)^2 by alpha times the
                           parent's, and its regression forest the J1 count (ceil(alpha n_P)).
                           min_var_fraction_leaf (a bound relative to the WHOLE sample's
                           treatment variance, not the parent's) is left at None.
  mtry = min(ceil(sqrt(p) + 20), p) = 6
                        -> max_features=6. NOT the same: grf draws m ~ Poisson(6) per node and
                           tries min(max(m, 1), 6) features (fewer than 6 at about 45% of the
                           nodes); econml always tries all 6.
  stabilize.splits TRUE -> criterion='het'. Same argmax: econml's proxy is
                           sum_child (sum of rho_i)^2 / weight(child) with rho_i the tau
                           coordinate of J_P^{-1} (T_i; 1)(y_i - tau_P T_i - beta_P), i.e. grf's
                           pseudo-outcome (spec 2) divided by the parent's treatment variance;
                           grf's Delta (spec 3.2) is the same sum up to that positive constant.
                           The thresholds differ: econml splits at midpoints between adjacent
                           values, grf at the observed values (spec 3.1).
  (intercept)           -> fit_intercept=True: the local moment E[(y - tau T - beta)(T; 1)] = 0
                           of spec 5.3; the point estimate is pinv(mean_trees J_leaf) @
                           mean_trees A_leaf with leaf averages divided by the leaf count, as in
                           grf.
  imbalance.penalty 0, max depth none, min_impurity_decrease 0: same.
  seed                  -> random_state (numpy RandomState streams; nothing shared with grf).
  variance              -> predict_var: bootstrap of little bags with the objective-Bayes
                           debiasing of spec 6 (econml centres the between-group term at the
                           overall moment, which is zero at the estimate, and clips se at 1e-10
                           instead of returning 0). The interval is pred -/+ z_0.975 sqrt(var);
                           the script checks predict(interval=True) against that to 1e-12.
  OOB                   -> oob_predict: the trees whose subsample (both honesty halves) left
                           the row out, as spec 5.4.
AIPW (spec 7.1-7.2, target.sample all / treated / control, unit weights, no clusters) is
computed here from tau.hat = oob_predict, Y.hat and W.hat:
    Gamma_i = tau_i + (W_i - W.hat_i) / (W.hat_i (1 - W.hat_i)) (Y_i - Y.hat_i - tau_i (W_i - W.hat_i))
    ATE = mean(Gamma), SE^2 = sum (Gamma_i - ATE)^2 / n^2 * n / (n - 1);
ATT / ATC exactly as grf's average_treatment_effect.R (raw mean of tau over the arm plus the
normalised-gamma correction, SE = sqrt(v + sigma^2)). The script checks Gamma against the
mu.hat_0 / mu.hat_1 form of the score.

Peer 2: econml.dml.CausalForestDML
----------------------------------
CausalForestDML(model_y=RandomForestRegressor(n_estimators=500, min_samples_leaf=5,
max_features=None, random_state=seed + 5, n_jobs=1), model_t=RandomForestClassifier(same,
random_state=seed + 6), discrete_treatment=True, cv=5, n_estimators=2000, criterion='het',
min_samples_leaf=5, max_samples=0.5, min_balancedness_tol=0.45, max_features=6, honest=True,
inference=True, subforest_size=2, fit_intercept=True, random_state=seed + 4, n_jobs=1)
.fit(Y, W, X=X). Differences from grf: the nuisances are 5-fold cross-fitted scikit-learn forests
(bootstrap with replacement, not honest), not OOB grf regression forests; econml's ate_ is the
mean of the same AIPW score built from the forest's OOB tau (with W.hat (1 - W.hat) clipped
below at 0.01) but ate_stderr_ is std(ddof=0)/sqrt(n), a factor sqrt((n-1)/n) below grf's; and
att_(T=1) / att_(T=0) are plain means of that score over the treated / controls (not grf's
normalised-gamma ATT / ATC). Recorded: test CATE RMSE (effect), the coverage of
effect_interval(alpha=0.05), ate_, ate_stderr_, att_ and att_stderr_ for T=1 and T=0.

Output: tools/golden/fixtures/grf.json and the four CSVs. to_py and quiet come from
golden_common.py beside this script.
"""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from econml.dml import CausalForestDML
from econml.grf import CausalForest, RegressionForest
from golden_common import quiet, rel, to_py

FIXTURES = Path("tools/golden/fixtures")
OUT_JSON = FIXTURES / "grf.json"
N_TRAIN, N_TEST, P = 2000, 1000, 6
XCOLS = [f"x{j + 1}" for j in range(P)]
CASES = [("smooth_confounded", 7101, True), ("smooth_randomized", 7102, False)]
Z975 = float(stats.norm.ppf(0.975))

NUISANCE_FOREST = dict(n_estimators=500, honest=True, min_samples_leaf=5, max_samples=0.5,
                       min_balancedness_tol=0.45, max_features=P, inference=False, n_jobs=1)
CAUSAL_FOREST = dict(n_estimators=2000, criterion="het", honest=True, min_samples_leaf=5,
                     max_samples=0.5, min_balancedness_tol=0.45, max_features=P, inference=True,
                     subforest_size=2, fit_intercept=True, n_jobs=1)
SK_FOREST = dict(n_estimators=500, min_samples_leaf=5, max_features=None, n_jobs=1)


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


def s_fn(u):
    return 1.0 + 1.0 / (1.0 + np.exp(-20.0 * (u - 1.0 / 3.0)))


def tau_fn(X):
    return s_fn(X[:, 0]) * s_fn(X[:, 1])


def propensity(X, confounded):
    if not confounded:
        return np.full(X.shape[0], 0.5)
    u = X[:, 0]
    return 0.25 * (1.0 + 20.0 * u * (1.0 - u) ** 3)


def simulate(seed, confounded):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N_TRAIN, P))
    e = propensity(X, confounded)
    W = (rng.uniform(size=N_TRAIN) < e).astype(float)
    eps = rng.standard_normal(N_TRAIN)
    X_test = rng.uniform(size=(N_TEST, P))
    tau = tau_fn(X)
    m = 2.0 * X[:, 0] + X[:, 2] - 1.0
    Y = m + (W - e) * tau + eps
    train = {c: X[:, j] for j, c in enumerate(XCOLS)}
    train.update(w=W, y=Y, tau=tau, e=e)
    test = {c: X_test[:, j] for j, c in enumerate(XCOLS)}
    test.update(tau=tau_fn(X_test))
    return train, test


def write_csv(path, names, cols):
    n = len(cols[names[0]])
    lines = [",".join(names)]
    for i in range(n):
        lines.append(",".join(repr(float(cols[c][i])) for c in names))
    path.write_text("\n".join(lines) + "\n")
    back = pd.read_csv(path)
    if list(back.columns) != names:
        raise SystemExit(f"{path}: header did not round-trip")
    for c in names:
        if not np.array_equal(back[c].to_numpy(dtype=float), np.asarray(cols[c], dtype=float)):
            raise SystemExit(f"{path}: column {c} did not round-trip")
    return back


# ----------------------------------------------------------------------------------------------
# grf's AIPW average effects (spec section 7), unit weights, no clusters
# ----------------------------------------------------------------------------------------------


def aipw(tau, y_hat, w_hat, Y, W):
    n = len(Y)
    resid = Y - y_hat - tau * (W - w_hat)
    gamma_score = tau + (W - w_hat) / (w_hat * (1.0 - w_hat)) * resid
    mu0 = y_hat - w_hat * tau
    mu1 = y_hat + (1.0 - w_hat) * tau
    alt = mu1 - mu0 + W * (Y - mu1) / w_hat - (1.0 - W) * (Y - mu0) / (1.0 - w_hat)
    dev = float(np.max(np.abs(gamma_score - alt)))
    if dev > 1e-10 * max(1.0, float(np.max(np.abs(alt)))):
        raise SystemExit(f"AIPW score forms disagree by {dev}")
    omega = np.full(n, 1.0 / n)
    ate = float(np.sum(omega * gamma_score) / np.sum(omega))
    # each row its own cluster; K = clusters whose weighted deviation is non-zero (grf's nnzero)
    dev_c = omega * (gamma_score - ate)
    k = int(np.count_nonzero(dev_c))
    sigma2 = float(np.sum(dev_c**2) / np.sum(omega) ** 2 * k / (k - 1))
    out = {"all": {"estimate": ate, "std_err": float(np.sqrt(sigma2))}}

    treated, control = W == 1.0, W == 0.0
    for target, arm in (("treated", treated), ("control", control)):
        raw = float(np.sum(omega[arm] * tau[arm]) / np.sum(omega[arm]))
        v = float(np.sum(omega[arm] ** 2 * (tau[arm] - raw) ** 2) / np.sum(omega[arm]) ** 2)
        if target == "treated":
            g_c = w_hat[control] / (1.0 - w_hat[control])
            g_t = np.ones(int(treated.sum()))
        else:
            g_c = np.ones(int(control.sum()))
            g_t = (1.0 - w_hat[treated]) / w_hat[treated]
        g = np.zeros(n)
        g[control] = g_c / np.sum(omega[control] * g_c) * np.sum(omega)
        g[treated] = g_t / np.sum(omega[treated] * g_t) * np.sum(omega)
        corr = W * g * (Y - mu1) - (1.0 - W) * g * (Y - mu0)
        cbar = float(np.sum(omega * corr) / np.sum(omega))
        n_pos = int(np.count_nonzero(omega))
        s2 = float(np.sum(omega**2 * corr**2 / np.sum(omega) ** 2) * n_pos / (n_pos - 1))
        out[target] = {"estimate": raw + cbar, "std_err": float(np.sqrt(v + s2)),
                       "raw": raw, "raw_var": v, "correction": cbar, "correction_var": s2}
    return out, gamma_score


# ----------------------------------------------------------------------------------------------
# peers
# ----------------------------------------------------------------------------------------------


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def peer_econml_grf(X, W, Y, X_test, tau_test, tau_train, seed):
    warns = []
    rf_y = RegressionForest(random_state=seed + 1, **NUISANCE_FOREST)
    _, w1 = quiet(rf_y.fit, X, Y)
    y_hat = rf_y.oob_predict(X)[:, 0]
    rf_w = RegressionForest(random_state=seed + 2, **NUISANCE_FOREST)
    _, w2 = quiet(rf_w.fit, X, W)
    w_hat = rf_w.oob_predict(X)[:, 0]
    if np.isnan(y_hat).any() or np.isnan(w_hat).any():
        raise SystemExit("nuisance OOB prediction missing for some row")

    cf = CausalForest(random_state=seed + 3, **CAUSAL_FOREST)
    _, w3 = quiet(cf.fit, X, W - w_hat, Y - y_hat)
    (pred, lb, ub), w4 = quiet(cf.predict, X_test, interval=True, alpha=0.05)
    pred, lb, ub = pred[:, 0], lb[:, 0], ub[:, 0]
    var = cf.predict_var(X_test)[:, 0, 0]
    if not np.array_equal(cf.predict(X_test)[:, 0], pred):
        raise SystemExit("predict and predict(interval=True) disagree")
    sd = np.sqrt(np.maximum(var, 1e-32))
    dev = max(float(np.max(np.abs(lb - (pred - Z975 * sd)))), float(np.max(np.abs(ub - (pred + Z975 * sd)))))
    if dev > 1e-12:
        raise SystemExit(f"interval is not pred -/+ z sqrt(var): {dev}")
    tau_oob = cf.oob_predict(X)[:, 0]
    if np.isnan(tau_oob).any():
        raise SystemExit("causal-forest OOB prediction missing for some row")
    warns += w1 + w2 + w3 + w4

    covered = (lb <= tau_test) & (tau_test <= ub)
    ate, _ = aipw(tau_oob, y_hat, w_hat, Y, W)
    return {
        "settings": {"nuisance_forest": dict(NUISANCE_FOREST, random_state_y=seed + 1, random_state_w=seed + 2),
                     "causal_forest": dict(CAUSAL_FOREST, random_state=seed + 3)},
        "test_rmse": rmse(pred, tau_test),
        "test_coverage_95": float(np.mean(covered)),
        "test_n_covered": int(covered.sum()),
        "test_mean_prediction": float(np.mean(pred)),
        "test_mean_se": float(np.mean(np.sqrt(var))),
        "oob_rmse_train": rmse(tau_oob, tau_train),
        "y_hat_rmse_vs_m": None,  # filled by the caller (needs m)
        "w_hat_rmse_vs_e": None,
        "ate": ate,
        "test_predictions": pred,
        "test_variances": var,
        "oob_tau_hat": tau_oob,
        "y_hat": y_hat,
        "w_hat": w_hat,
        "warnings": sorted(set(warns)),
    }


def peer_cfdml(X, W, Y, X_test, tau_test, seed):
    est = CausalForestDML(
        model_y=RandomForestRegressor(random_state=seed + 5, **SK_FOREST),
        model_t=RandomForestClassifier(random_state=seed + 6, **SK_FOREST),
        discrete_treatment=True, cv=5, random_state=seed + 4,
        **{k: v for k, v in CAUSAL_FOREST.items()})
    _, warns = quiet(est.fit, Y, W, X=X)
    eff = est.effect(X_test)
    lb, ub = est.effect_interval(X_test, alpha=0.05)
    covered = (lb <= tau_test) & (tau_test <= ub)
    ate_inf = est.ate__inference()
    ci = ate_inf.conf_int(alpha=0.05)
    return {
        "settings": {"nuisance_forest_sklearn": SK_FOREST, "random_state_model_y": seed + 5,
                     "random_state_model_t": seed + 6, "cv": 5, "discrete_treatment": True,
                     "causal_forest": dict(CAUSAL_FOREST, random_state=seed + 4)},
        "test_rmse": rmse(eff, tau_test),
        "test_coverage_95": float(np.mean(covered)),
        "test_n_covered": int(covered.sum()),
        "test_mean_prediction": float(np.mean(eff)),
        "ate": float(np.ravel(est.ate_)[0]),
        "ate_stderr": float(np.ravel(est.ate_stderr_)[0]),
        "ate_ci_95": [float(np.ravel(ci[0])[0]), float(np.ravel(ci[1])[0])],
        "att_treated": float(np.ravel(est.att_(T=1))[0]),
        "att_treated_stderr": float(np.ravel(est.att_stderr_(T=1))[0]),
        "att_control": float(np.ravel(est.att_(T=0))[0]),
        "att_control_stderr": float(np.ravel(est.att_stderr_(T=0))[0]),
        "test_predictions": eff,
        "warnings": warns,
    }


# ----------------------------------------------------------------------------------------------


def run_case(name, seed, confounded):
    train_cols, test_cols = simulate(seed, confounded)
    tr = write_csv(FIXTURES / f"grf_{name}_train.csv", XCOLS + ["w", "y", "tau", "e"], train_cols)
    te = write_csv(FIXTURES / f"grf_{name}_test.csv", XCOLS + ["tau"], test_cols)
    X = tr[XCOLS].to_numpy(dtype=float)
    W = tr["w"].to_numpy(dtype=float)
    Y = tr["y"].to_numpy(dtype=float)
    tau = tr["tau"].to_numpy(dtype=float)
    e = tr["e"].to_numpy(dtype=float)
    X_test = te[XCOLS].to_numpy(dtype=float)
    tau_test = te["tau"].to_numpy(dtype=float)
    m = 2.0 * X[:, 0] + X[:, 2] - 1.0

    p1 = peer_econml_grf(X, W, Y, X_test, tau_test, tau, seed)
    p1["y_hat_rmse_vs_m"] = rmse(p1["y_hat"], m)
    p1["w_hat_rmse_vs_e"] = rmse(p1["w_hat"], e)
    p2 = peer_cfdml(X, W, Y, X_test, tau_test, seed)

    # Cross-check: econml's own doubly robust ATE formula applied to peer 1's arrays has the
    # same mean as grf's (no clipping is active) and an SE smaller by sqrt((n - 1) / n).
    _, g = aipw(p1["oob_tau_hat"], p1["y_hat"], p1["w_hat"], Y, W)
    if float(np.min(p1["w_hat"] * (1 - p1["w_hat"]))) > 1e-2:
        if rel(float(np.mean(g)), p1["ate"]["all"]["estimate"]) > 1e-12:
            raise SystemExit("ATE mean check failed")
        se_econml = float(np.std(g) / np.sqrt(len(g)))
        if rel(se_econml * np.sqrt(len(g) / (len(g) - 1)), p1["ate"]["all"]["std_err"]) > 1e-10:
            raise SystemExit("ATE SE check failed")

    treated = W == 1.0
    return {
        "name": name,
        "seed": seed,
        "confounded": confounded,
        "n_train": N_TRAIN,
        "n_test": N_TEST,
        "p": P,
        "train_csv": f"grf_{name}_train.csv",
        "test_csv": f"grf_{name}_test.csv",
        "n_treated": int(treated.sum()),
        "propensity_range": [float(e.min()), float(e.max())],
        "truth": {
            "sate": float(np.mean(tau)),
            "satt": float(np.mean(tau[treated])),
            "satc": float(np.mean(tau[~treated])),
            "test_mean_tau": float(np.mean(tau_test)),
            "test_sd_tau": float(np.std(tau_test)),
        },
        "econml_grf": p1,
        "econml_cfdml": p2,
    }


NOTES = [
    "Forests are random: compare accuracy with tolerances, not values. See the script "
    "docstring for the grf -> econml parameter mapping and what cannot be matched "
    "(Poisson mtry, grf's per-arm min.node.size and treatment-variation alpha, midpoint "
    "thresholds, no empty-leaf pruning).",
    "econml_grf.ate is grf's average_treatment_effect (AIPW, target all / treated / control, "
    "spec 7.1-7.2) computed in numpy from econml_grf.oob_tau_hat, y_hat and w_hat with the "
    "train CSV's y and w: an exact (1e-12) target for paribus's AIPW code on those arrays.",
    "econml_grf.test_variances are CausalForest.predict_var (little bags, objective-Bayes "
    "debiased, spec 6); test_coverage_95 uses predict(interval=True, alpha=0.05).",
    "econml_cfdml.ate_stderr is std(ddof=0)/sqrt(n) of econml's DR score; att_treated / "
    "att_control are plain means of the score over treated / control rows, not grf's ATT / ATC.",
    "truth.sate is mean tau over the training rows (the estimand of target.sample = all).",
]


def main():
    cases = [run_case(name, seed, conf) for name, seed, conf in CASES]
    doc = {
        "provenance": {
            "script": "tools/golden/grf.py",
            "python": platform.python_version(),
            "econml": version("econml"),
            "scikit-learn": version("scikit-learn"),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": version("scipy"),
            "seed": {name: seed for name, seed, _ in CASES},
        },
        "dgp": {
            "X": "U[0,1]^6",
            "tau": "s(x1) s(x2), s(u) = 1 + 1/(1 + exp(-20 (u - 1/3)))",
            "e_confounded": "0.25 (1 + 20 x1 (1 - x1)^3)",
            "e_randomized": "0.5",
            "m": "2 x1 + x3 - 1",
            "y": "m + (w - e) tau + N(0, 1)",
            "draw_order": "X (2000x6 uniform), u_w (2000 uniform, w = u_w < e), eps (2000 normal), X_test (1000x6 uniform)",
        },
        "notes": NOTES,
        "cases": cases,
    }
    OUT_JSON.write_text(json.dumps(to_py(doc), indent=1) + "\n")
    for c in cases:
        a, b = c["econml_grf"], c["econml_cfdml"]
        print(f"{c['name']}: SATE {c['truth']['sate']:.4f} | grf-peer RMSE {a['test_rmse']:.4f} "
              f"cov {a['test_coverage_95']:.3f} ATE {a['ate']['all']['estimate']:.4f} "
              f"({a['ate']['all']['std_err']:.4f}) ATT {a['ate']['treated']['estimate']:.4f} "
              f"ATC {a['ate']['control']['estimate']:.4f} | CFDML RMSE {b['test_rmse']:.4f} "
              f"cov {b['test_coverage_95']:.3f} ATE {b['ate']:.4f} ({b['ate_stderr']:.4f})")
        for k in ("econml_grf", "econml_cfdml"):
            if c[k]["warnings"]:
                print(f"  {k} warnings: {c[k]['warnings']}")


if __name__ == "__main__":
    main()
