#!/usr/bin/env python3
"""Reference values for nearest-neighbour matching, regression on an experiment, propensity
weighting and entropy balancing. Peers: causalinference 0.1.3.post1 (matching), statsmodels
0.15.0 (OLS with HC covariances, logit, WLS), scipy 1.17.1 (Welch test, optimisers). The
environment is pinned in tools/golden/requirements-match.txt.

Run from the repository root, in a virtual environment built from that requirements file:

    python3.11 -m venv /work/venv-match
    /work/venv-match/bin/pip install -r tools/golden/requirements-match.txt
    /work/venv-match/bin/python tools/golden/matching.py

Inputs
------
match_sim.csv (written here, then read back and asserted bit-identical): n = 400,
numpy.random.default_rng(909), drawn in this order:
    x1 = N(0, 1); x2 = 2 N(0, 1); x3 = U(0, 1); x4 = N(0, 1) * x3   (one vector of n each)
    d = 1{U < logistic(0.8 x1 - 0.3 x2 + x3 - 0.5)}
    y = 1 + x1 + 0.5 x2^2 / 4 + 2 x3 + d (1 + 0.5 x1) + N(0, 1)
match_lalonde.csv (written here): the 185 treated rows of ../shared/data/lalonde_nsw/nsw_dw.csv
(treat == 1, file order) followed by the 128 rows of psid_controls3.csv (file order); columns
re78,treat,age,education,black,hispanic,married,nodegree,re74,re75. Many covariate ties.
nsw_dw.csv (all 445 rows, the Dehejia-Wahba experimental sample) for the OLS / Welch block.

What causalinference 0.1.3.post1 computes (estimators/matching.py, causal.py)
---------------------------------------------------------------------------
CausalModel(Y, D, X).est_via_matching(weights, matches=M, bias_adj). Matching with
replacement, each treated unit against all controls and each control against all treated.
  distance: d(i, j) = sum_k W_k (x_jk - x_ik)^2 for weights='inv', W_k = 1 / var(X_k) over the
      pooled sample (ddof 0); for 'maha' d = (x_j - x_i)' W (x_j - x_i) with
      W = inv((V_c + V_t) / 2), V_g the ddof-0 covariance of the group's X.
  match set J(i): every unit whose distance is <= the M-th smallest distance, i.e. all units
      tied at the M-th distance are included (smallestm), so |J(i)| can exceed M.
  imputation: Yhat_i = mean of Y over J(i); ITT_t = Y_t - Yhat_t, ITT_c = Yhat_c - Y_c.
  bias_adj: for the controls' imputed Y(1), beta_t = lstsq([1, X_t[flat]], Y_t[flat]) where
      flat is the concatenation of all control match sets (a treated unit appears once per
      appearance); ITT_c -= (mean X_t[J(i)] - X_i) . beta_t (slopes only). Symmetrically
      beta_c from the treated units' match sets and ITT_t += (mean X_c[J(i)] - X_i) . beta_c.
      np.linalg.lstsq (min-norm if rank deficient; the ranks are recorded).
  att = mean(ITT_t), atc = mean(ITT_c), ate = (N_c atc + N_t att) / N.
  K(j) = sum over units i that use j of 1/|J(i)| (partial credit); K_c for controls (used by
      treated units), K_t for treated (used by controls).
  s2_t = var(ITT_t), s2_c = var(ITT_c) (ddof 0, after bias adjustment, one constant per group).
  att_se^2 = s2_t / N_t + s2_c sum_c K_c^2 / N_t^2
  atc_se^2 = s2_c / N_c + s2_t sum_t K_t^2 / N_c^2
  ate_se^2 = [s2_c sum_c (1 + K_c)^2 + s2_t sum_t (1 + K_t)^2] / N^2
The script recomputes every case in numpy (own tie rule: d <= sorted(d)[M-1]) and stops if the
match sets differ or any number differs by more than 1e-10 relative.

statsmodels / scipy blocks: see the notes fields written into the fixture (NOTES below).

Output: tools/golden/fixtures/matching.json, match_sim.csv, match_lalonde.csv. Nothing is
random apart from the seeded simulation; two runs give byte-identical files.
rel, to_py and quiet come from golden_common.py beside this script.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import optimize, special, stats

from causalinference import CausalModel
from causalinference.estimators import matching as ci_matching
from golden_common import quiet, rel, to_py

FIXTURES = Path("tools/golden/fixtures")
OUT_JSON = FIXTURES / "matching.json"
SIM_CSV = FIXTURES / "match_sim.csv"
LALONDE_CSV = FIXTURES / "match_lalonde.csv"
LALONDE_DIR = Path("../shared/data/lalonde_nsw")
NSW_DW = LALONDE_DIR / "nsw_dw.csv"
PSID3 = LALONDE_DIR / "psid_controls3.csv"

SEED_SIM = 909
N_SIM = 400
SIM_X = ["x1", "x2", "x3", "x4"]
LALONDE_X = ["age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75"]
LALONDE_COLS = ["re78", "treat"] + LALONDE_X
TOL = 1e-10


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


def logistic(t):
    return 1.0 / (1.0 + np.exp(-t))


def simulate():
    rng = np.random.default_rng(SEED_SIM)
    x1 = rng.standard_normal(N_SIM)
    x2 = 2.0 * rng.standard_normal(N_SIM)
    x3 = rng.uniform(size=N_SIM)
    x4 = rng.standard_normal(N_SIM) * x3
    prop = logistic(0.8 * x1 - 0.3 * x2 + x3 - 0.5)
    d = (rng.uniform(size=N_SIM) < prop).astype(float)
    y = 1.0 + x1 + 0.5 * x2**2 / 4.0 + 2.0 * x3 + d * (1.0 + 0.5 * x1) + rng.standard_normal(N_SIM)
    return {"y": y, "d": d, "x1": x1, "x2": x2, "x3": x3, "x4": x4}


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


def build_lalonde():
    nsw = pd.read_csv(NSW_DW)
    psid = pd.read_csv(PSID3)
    treated = nsw[nsw["treat"] == 1]
    if not (psid["treat"] == 0).all():
        raise SystemExit("psid_controls3 has treated rows")
    stacked = pd.concat([treated[LALONDE_COLS], psid[LALONDE_COLS]], ignore_index=True)
    cols = {c: stacked[c].to_numpy(dtype=float) for c in LALONDE_COLS}
    return write_csv(LALONDE_CSV, LALONDE_COLS, cols), len(treated), len(psid)


# ----------------------------------------------------------------------------------------------
# matching: causalinference and an own numpy version
# ----------------------------------------------------------------------------------------------


def weight_matrix(X, d, kind):
    if kind == "inv":
        return 1.0 / X.var(axis=0)
    vc = np.cov(X[d == 0], rowvar=False, ddof=0)
    vt = np.cov(X[d == 1], rowvar=False, ddof=0)
    return np.linalg.inv((vc + vt) / 2.0)


def own_sets(Xa, Xb, W, m):
    """Match set in Xb of every row of Xa: all j with distance <= the m-th smallest. Also the
    smallest relative gap between the m-th distance and the next larger one (how clear-cut the
    ties are). For diagonal W the distances are also summed left to right over the columns (the
    order a plain loop uses) and the sets must not change."""
    out = []
    gap = np.inf
    for xi in Xa:
        diff = Xb - xi
        dist = (diff**2 * W).sum(axis=1) if W.ndim == 1 else np.einsum("ij,jk,ik->i", diff, W, diff)
        kth = np.sort(dist)[m - 1]
        idx = np.flatnonzero(dist <= kth)
        if W.ndim == 1:
            seq = np.zeros(len(dist))
            for k in range(len(W)):
                seq = seq + diff[:, k] ** 2 * W[k]
            if not np.array_equal(np.flatnonzero(seq <= np.sort(seq)[m - 1]), idx):
                raise SystemExit("match sets depend on the summation order of the distance")
        above = dist[dist > kth]
        if len(above):
            gap = min(gap, (above.min() - kth) / max(kth, 1e-300))
        out.append(idx)
    return out, gap


def own_slopes(sets, Yb, Xb):
    idx = np.concatenate(sets)
    Z = np.column_stack([np.ones(len(idx)), Xb[idx]])
    rank = int(np.linalg.matrix_rank(Z))
    if rank == Z.shape[1]:
        coef = np.linalg.solve(Z.T @ Z, Z.T @ Yb[idx])
    else:
        coef = np.linalg.pinv(Z) @ Yb[idx]
    return coef[1:], rank, len(idx)


def partial_counts(n, sets):
    k = np.zeros(n)
    for s in sets:
        k[s] += 1.0 / len(s)
    return k


def own_matching(y, d, X, W, m, bias_adj):
    t, c = d == 1, d == 0
    yt, yc, Xt, Xc = y[t], y[c], X[t], X[c]
    nt, nc = len(yt), len(yc)
    n = nt + nc
    sets_t, gap_t = own_sets(Xt, Xc, W, m)  # controls matched to each treated unit
    sets_c, gap_c = own_sets(Xc, Xt, W, m)  # treated units matched to each control
    itt_t = yt - np.array([yc[s].mean() for s in sets_t])
    itt_c = np.array([yt[s].mean() for s in sets_c]) - yc
    extra = {}
    if bias_adj:
        beta_c, rank_c, rows_c = own_slopes(sets_t, yc, Xc)
        beta_t, rank_t, rows_t = own_slopes(sets_c, yt, Xt)
        disc_t = np.array([Xc[s].mean(axis=0) for s in sets_t]) - Xt
        disc_c = np.array([Xt[s].mean(axis=0) for s in sets_c]) - Xc
        itt_t = itt_t + disc_t @ beta_c
        itt_c = itt_c - disc_c @ beta_t
        extra = {
            "bias_slopes_from_matched_controls": beta_c,
            "bias_slopes_from_matched_treated": beta_t,
            "bias_regression_matched_controls": {"rows": rows_c, "columns": X.shape[1] + 1, "rank": rank_c},
            "bias_regression_matched_treated": {"rows": rows_t, "columns": X.shape[1] + 1, "rank": rank_t},
        }
    att, atc = itt_t.mean(), itt_c.mean()
    ate = (nc * atc + nt * att) / n
    kc = partial_counts(nc, sets_t)
    kt = partial_counts(nt, sets_c)
    s2t, s2c = itt_t.var(), itt_c.var()
    att_se = np.sqrt(s2t / nt + s2c * np.sum(kc**2) / nt**2)
    atc_se = np.sqrt(s2c / nc + s2t * np.sum(kt**2) / nc**2)
    ate_se = np.sqrt((s2c * np.sum((1 + kc) ** 2) + s2t * np.sum((1 + kt) ** 2)) / n**2)
    est = {"ate": ate, "att": att, "atc": atc, "ate_se": ate_se, "att_se": att_se, "atc_se": atc_se}
    inter = {
        "sets_treated": sets_t,
        "sets_control": sets_c,
        "K_control": kc,
        "K_treated": kt,
        "var_itt_treated": s2t,
        "var_itt_control": s2c,
        "min_rel_gap_above_mth": min(gap_t, gap_c),
        **extra,
    }
    return est, inter


def ci_sets(Xa, Xb, W, m):
    return [np.sort(ci_matching.match(xi, Xb, W, m)) for xi in Xa]


def matching_block(df, ycol, dcol, xcols, grid, detail):
    y = df[ycol].to_numpy(dtype=float)
    d = df[dcol].to_numpy(dtype=float)
    X = df[xcols].to_numpy(dtype=float)
    Wmats = {}
    cases = []
    max_rel = 0.0
    for kind, m, b in grid:
        cm = CausalModel(y.copy(), d.copy(), X.copy())
        _, warns = quiet(cm.est_via_matching, weights=kind, matches=m, bias_adj=b)
        res = cm.estimates["matching"]
        got = {k: float(res[k]) for k in ("ate", "att", "atc", "ate_se", "att_se", "atc_se")}
        W = weight_matrix(X, d, kind)
        Wmats[kind] = W
        own, inter = own_matching(y, d, X, W, m, b)
        # causalinference's own match sets, compared as sets with the own tie rule
        Xt, Xc = X[d == 1], X[d == 0]
        for ours, theirs in ((inter["sets_treated"], ci_sets(Xt, Xc, W, m)), (inter["sets_control"], ci_sets(Xc, Xt, W, m))):
            if any(not np.array_equal(a, b2) for a, b2 in zip(ours, theirs)):
                raise SystemExit(f"{kind} M={m}: match sets differ from causalinference's")
        for k, v in got.items():
            r = rel(v, own[k])
            max_rel = max(max_rel, r)
            if not r <= TOL:
                raise SystemExit(f"{kind} M={m} bias_adj={b}: {k} {v} vs own {own[k]}")
        sizes_t = np.array([len(s) for s in inter["sets_treated"]])
        sizes_c = np.array([len(s) for s in inter["sets_control"]])
        case = {
            "name": f"{kind}_m{m}_{'biasadj' if b else 'nobias'}",
            "call": f"CausalModel(Y, D, X).est_via_matching(weights={kind!r}, matches={m}, bias_adj={b})",
            "weights": kind,
            "matches": m,
            "bias_adj": b,
            **got,
            "var_itt_treated": inter["var_itt_treated"],
            "var_itt_control": inter["var_itt_control"],
            "match_sets": {
                "treated_units_with_more_than_m": int(np.sum(sizes_t > m)),
                "control_units_with_more_than_m": int(np.sum(sizes_c > m)),
                "max_size_treated": int(sizes_t.max()),
                "max_size_control": int(sizes_c.max()),
                "total_size_treated": int(sizes_t.sum()),
                "total_size_control": int(sizes_c.sum()),
                "min_rel_gap_above_mth_distance": inter["min_rel_gap_above_mth"],
            },
            "warnings": warns,
        }
        for key in ("bias_slopes_from_matched_controls", "bias_slopes_from_matched_treated",
                    "bias_regression_matched_controls", "bias_regression_matched_treated"):
            if key in inter:
                case[key] = inter[key]
        if detail:
            case["match_sets"]["size_treated"] = sizes_t
            case["match_sets"]["size_control"] = sizes_c
            case["K_control"] = inter["K_control"]
            case["K_treated"] = inter["K_treated"]
        cases.append(case)
    return cases, Wmats, max_rel, {"n": len(y), "n_treated": int(d.sum()), "n_control": int((1 - d).sum())}


# ----------------------------------------------------------------------------------------------
# OLS on the experiment
# ----------------------------------------------------------------------------------------------


def ols_block(nsw):
    y = nsw["re78"].to_numpy(dtype=float)
    treat = nsw["treat"].to_numpy(dtype=float)
    models = {}
    checks = {}
    for name, xcols in (("simple", ["treat"]), ("covariates", ["treat"] + LALONDE_X)):
        X = np.column_stack([np.ones(len(y))] + [nsw[c].to_numpy(dtype=float) for c in xcols])
        names = ["const"] + xcols
        se = {}
        params = None
        for cov in ("nonrobust", "HC0", "HC1", "HC2", "HC3"):
            fit = sm.OLS(y, X).fit(cov_type=cov)
            if params is None:
                params = fit.params
            elif not np.array_equal(params, fit.params):
                raise SystemExit("OLS params depend on cov_type")
            se[cov] = float(fit.bse[1])
        # own HC0 / HC2 check
        xtx_inv = np.linalg.inv(X.T @ X)
        u = y - X @ params
        h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
        hc0 = xtx_inv @ (X.T * u**2) @ X @ xtx_inv
        hc2 = xtx_inv @ (X.T * (u**2 / (1 - h))) @ X @ xtx_inv
        checks[name] = {
            "HC0_rel": rel(se["HC0"], np.sqrt(hc0[1, 1])),
            "HC2_rel": rel(se["HC2"], np.sqrt(hc2[1, 1])),
        }
        if max(checks[name].values()) > 1e-12:
            raise SystemExit(f"OLS {name}: HC check failed {checks[name]}")
        models[name] = {
            "formula": "re78 ~ 1 + " + " + ".join(xcols),
            "columns": names,
            "params": params,
            "treat_coef": float(params[1]),
            "treat_se": se,
        }
    yt, yc = y[treat == 1], y[treat == 0]
    tt = stats.ttest_ind(yt, yc, equal_var=False)
    diff = yt.mean() - yc.mean()
    se_w = np.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc))
    if rel(diff / se_w, tt.statistic) > 1e-12:
        raise SystemExit("Welch t")
    if rel(se_w, models["simple"]["treat_se"]["HC2"]) > 1e-12:
        raise SystemExit("Welch SE != HC2 SE of the simple regression")
    if rel(diff, models["simple"]["treat_coef"]) > 1e-12:
        raise SystemExit("difference of means != OLS coefficient")
    welch = {
        "call": "scipy.stats.ttest_ind(re78[treat == 1], re78[treat == 0], equal_var=False)",
        "mean_treated": yt.mean(),
        "mean_control": yc.mean(),
        "diff": diff,
        "se": se_w,
        "t": float(tt.statistic),
        "df": float(tt.df),
        "p_value": float(tt.pvalue),
        "se_HC2_rel_diff": rel(se_w, models["simple"]["treat_se"]["HC2"]),
    }
    info = {"n": len(y), "n_treated": int(treat.sum()), "n_control": int((1 - treat).sum())}
    return models, welch, checks, info


# ----------------------------------------------------------------------------------------------
# propensity weighting
# ----------------------------------------------------------------------------------------------


def weighted_diff(y, d, w):
    t, c = d == 1, d == 0
    return np.sum(w[t] * y[t]) / np.sum(w[t]) - np.sum(w[c] * y[c]) / np.sum(w[c])


def weighting_block(sim):
    y, d = sim["y"].to_numpy(dtype=float), sim["d"].to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(y))] + [sim[c].to_numpy(dtype=float) for c in SIM_X])
    fit, warns = quiet(sm.Logit(d, X).fit, method="newton", tol=1e-12, maxiter=100, disp=0)
    if not fit.mle_retvals["converged"]:
        raise SystemExit("logit did not converge")
    p = fit.predict(X)
    score = X.T @ (d - p)
    if np.max(np.abs(score)) > 1e-9:
        raise SystemExit(f"logit score {score}")
    schemes = {
        "ipw_ate": (d / p + (1 - d) / (1 - p), "treated 1/p, control 1/(1-p)"),
        "ipw_att": (d + (1 - d) * p / (1 - p), "treated 1, control p/(1-p)"),
        "overlap": (d * (1 - p) + (1 - d) * p, "treated 1-p, control p (Li, Morgan, Zaslavsky 2018, ATO)"),
    }
    est = {}
    max_diff = 0.0
    D = np.column_stack([np.ones(len(y)), d])
    for name, (w, text) in schemes.items():
        direct = weighted_diff(y, d, w)
        wls = float(sm.WLS(y, D, weights=w).fit().params[1])
        diff = abs(direct - wls)
        max_diff = max(max_diff, rel(wls, direct))
        if not rel(wls, direct) <= TOL:
            raise SystemExit(f"{name}: WLS {wls} vs direct {direct}")
        est[name] = {
            "weights": text,
            "estimate": direct,
            "wls_coef": wls,
            "abs_diff_wls_direct": diff,
            "sum_w_treated": np.sum(w[d == 1]),
            "sum_w_control": np.sum(w[d == 0]),
        }
    logit = {
        "call": 'statsmodels Logit(d, [1, x1, x2, x3, x4]).fit(method="newton", tol=1e-12, maxiter=100)',
        "columns": ["const"] + SIM_X,
        "params": fit.params,
        "bse": fit.bse,
        "llf": fit.llf,
        "iterations": int(fit.mle_retvals["iterations"]),
        "max_abs_score": float(np.max(np.abs(score))),
        "warnings": warns,
    }
    return logit, p, est, max_diff


# ----------------------------------------------------------------------------------------------
# entropy balancing
# ----------------------------------------------------------------------------------------------


def eb_parts(lam, C):
    z = C @ lam
    w = special.softmax(z)
    g = C.T @ w
    H = (C.T * w) @ C - np.outer(g, g)
    return special.logsumexp(z), g, H, w


def entropy_balance(Xc, target):
    C = Xc - target
    k = C.shape[1]
    fun = lambda lam: eb_parts(lam, C)[0]
    jac = lambda lam: eb_parts(lam, C)[1]
    hess = lambda lam: eb_parts(lam, C)[2]
    # primary: BFGS on the dual from 0. It stops near |g| ~ 1e-9, where the dual is flat to f64
    # precision (scipy reports precision loss), so Newton steps on the gradient finish it: lambda -= H^-1 g
    # while max |g| still falls.
    bfgs = optimize.minimize(fun, np.zeros(k), jac=jac, method="BFGS", options={"gtol": 1e-10, "maxiter": 10000})
    lam = bfgs.x.copy()
    g_max = float(np.max(np.abs(jac(lam))))
    steps = 0
    for _ in range(50):
        _, g, H, _ = eb_parts(lam, C)
        cand = lam - np.linalg.solve(H, g)
        g_cand = float(np.max(np.abs(jac(cand))))
        if not g_cand < g_max:
            break
        lam, g_max, steps = cand, g_cand, steps + 1
    # second method: root of the moment conditions from zero
    root = optimize.root(jac, np.zeros(k), jac=hess, method="hybr", options={"xtol": 1e-13})
    _, g, _, w = eb_parts(lam, C)
    _, g_root, _, w_root = eb_parts(root.x, C)
    if not (root.success or np.max(np.abs(g_root)) < 1e-12):
        raise SystemExit(f"root: {root.message}")
    return {
        "lambda": lam,
        "weights": w,
        "max_abs_imbalance": float(np.max(np.abs(g))),
        "bfgs": {"nit": int(bfgs.nit), "max_abs_gradient": float(np.max(np.abs(bfgs.jac))), "message": str(bfgs.message)},
        "newton_polish": {"steps": steps, "max_abs_gradient": g_max},
        "root": {
            "method": "hybr",
            "success": bool(root.success),
            "message": str(root.message),
            "lambda": root.x,
            "max_abs_imbalance": float(np.max(np.abs(g_root))),
            "max_abs_lambda_diff": float(np.max(np.abs(root.x - lam))),
            "max_abs_weight_diff": float(np.max(np.abs(w_root - w))),
        },
    }, w_root


def eb_block(sim):
    y, d = sim["y"].to_numpy(dtype=float), sim["d"].to_numpy(dtype=float)
    X1 = sim[SIM_X].to_numpy(dtype=float)
    out = {}
    for name, X, cols in (
        ("first_moments", X1, SIM_X),
        ("first_and_second_moments", np.column_stack([X1, X1**2]), SIM_X + [f"{c}^2" for c in SIM_X]),
    ):
        target = X[d == 1].mean(axis=0)
        res, w_root = entropy_balance(X[d == 0], target)
        w = res["weights"]
        if abs(np.sum(w) - 1) > 1e-14 or res["max_abs_imbalance"] > 1e-10 or res["root"]["max_abs_weight_diff"] > 1e-12:
            raise SystemExit(f"entropy balancing {name}: {res['max_abs_imbalance']} {res['root']}")
        mean_t = y[d == 1].mean()
        att = mean_t - np.sum(w * y[d == 0])
        att_root = mean_t - np.sum(w_root * y[d == 0])
        if rel(att_root, att) > 1e-12:
            raise SystemExit(f"entropy balancing {name}: ATT differs between methods")
        out[name] = {
            "balance_columns": cols,
            "target_treated_means": target,
            "att": att,
            "att_root": att_root,
            "mean_y_treated": mean_t,
            "weighted_mean_y_control": np.sum(w * y[d == 0]),
            "n_control": len(w),
            "effective_sample_size": 1.0 / np.sum(w**2),
            **res,
        }
    return out


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------

NOTES = {
    "matching": (
        "causalinference 0.1.3.post1 est_via_matching, with replacement, both directions. weights 'inv': "
        "d = sum_k W_k (dx_k)^2, W_k = 1/var(X_k) over the pooled sample, ddof 0 (weight_matrix.inv); 'maha': "
        "d = dx' W dx, W = inv((V_c + V_t)/2), V_g the ddof-0 covariance within group g (weight_matrix.maha). "
        "Match set J(i) = all opposite-group units with distance <= the M-th smallest distance: units tied at "
        "the M-th distance are ALL included, so |J(i)| can exceed M (match_sets). Yhat_i = mean of Y over J(i); "
        "ITT_t = Y_t - Yhat_t, ITT_c = Yhat_c - Y_c. bias_adj: beta_c = slopes of np.linalg.lstsq([1, X], Y) "
        "over the concatenated match sets of the treated units (controls, repeated once per appearance), "
        "ITT_t += (mean X_c[J(i)] - X_i) . beta_c; beta_t likewise from the controls' match sets, "
        "ITT_c -= (mean X_t[J(i)] - X_i) . beta_t. att = mean ITT_t, atc = mean ITT_c, ate = (N_c atc + N_t att)/N. "
        "K(j) = sum over the units i using j of 1/|J(i)|. s2_t = var(ITT_t), s2_c = var(ITT_c) (ddof 0, after "
        "bias adjustment; var_itt_*). att_se^2 = s2_t/N_t + s2_c sum_c K_c^2/N_t^2; atc_se^2 = s2_c/N_c + "
        "s2_t sum_t K_t^2/N_c^2; ate_se^2 = (s2_c sum_c (1+K_c)^2 + s2_t sum_t (1+K_t)^2)/N^2. Not the "
        "Abadie-Imbens conditional-variance estimator. Recomputed in numpy (own tie rule, own sets compared "
        "with causalinference's match() as sets) to <= 1e-10 relative."
    ),
    "matching_lalonde": (
        "The same estimator on match_lalonde.csv (185 NSW treated + 128 PSID-3 controls, covariates age, "
        "education, black, hispanic, married, nodegree, re74, re75; outcome re78), weights 'inv'. The "
        "covariates have many exact ties (e.g. re74 = re75 = 0): causalinference includes every unit tied at "
        "the M-th distance, so match sets are larger than M (match_sets.size_*, in treated / control row order; "
        "K_control, K_treated the partial-credit counts in the same order)."
    ),
    "ols": (
        "statsmodels OLS on all 445 rows of nsw_dw.csv (Dehejia-Wahba experimental sample), fit(cov_type=...) "
        "for nonrobust, HC0 (sandwich), HC1 (n/(n-k) HC0), HC2 (u^2/(1-h)), HC3 (u^2/(1-h)^2); treat_coef and "
        "treat_se are the treat entries. welch: scipy ttest_ind(equal_var=False), se = sqrt(s_t^2/n_t + "
        "s_c^2/n_c) with ddof 1, which equals the HC2 SE of the simple regression (checked to 1e-12)."
    ),
    "weighting": (
        "Propensity p from statsmodels Logit of d on [1, x1, x2, x3, x4] (Newton, tol 1e-12) on match_sim.csv. "
        "Each estimate = sum_t w y / sum_t w - sum_c w y / sum_c w (normalised, Hajek) with ipw_ate: treated "
        "1/p, control 1/(1-p); ipw_att: treated 1, control p/(1-p); overlap: treated 1-p, control p. wls_coef "
        "is the d coefficient of statsmodels WLS(y, [1, d], weights=w), asserted equal to 1e-10 relative. "
        "propensity lists p for every row."
    ),
    "entropy_balancing": (
        "Hainmueller (2012) for the ATT on match_sim.csv, uniform base weights: control weights "
        "w_i = exp(lambda' x_i) / sum_j exp(lambda' x_j) with sum_i w_i x_i = treated mean of every balance "
        "column. lambda minimises the dual log sum_i exp(lambda' (x_i - target)) (scipy BFGS from 0, gtol 1e-10, "
        "then Newton steps lambda -= H^-1 g with the analytic Hessian while max |g| falls; newton_polish). Second method: scipy.optimize.root "
        "(hybr, analytic Jacobian) on the moment conditions from lambda = 0 (root). weights are normalised "
        "(sum 1) in control-row order; max_abs_imbalance = max_k |sum_i w_i x_ik - target_k|; att = mean(y | "
        "d=1) - sum_i w_i y_i. lambda is in the raw-column parameterisation (not standardised). "
        "first_and_second_moments adds x_k^2 (k = 1..4) as balance columns."
    ),
}


def main():
    if not Path("tools/golden").is_dir():
        raise SystemExit("run from the repository root")
    sim_cols = simulate()
    names = ["y", "d"] + SIM_X
    sim = write_csv(SIM_CSV, names, sim_cols)
    lalonde, n_t_lal, n_c_lal = build_lalonde()
    nsw = pd.read_csv(NSW_DW)

    grid_sim = [(k, m, b) for k in ("inv", "maha") for m in (1, 3) for b in (False, True)]
    sim_cases, sim_W, sim_rel, sim_info = matching_block(sim, "y", "d", SIM_X, grid_sim, detail=False)
    grid_lal = [("inv", m, b) for m in (1, 5) for b in (False, True)]
    lal_cases, lal_W, lal_rel, lal_info = matching_block(lalonde, "re78", "treat", LALONDE_X, grid_lal, detail=True)
    models, welch, ols_checks, nsw_info = ols_block(nsw)
    logit, p, wt, wt_diff = weighting_block(sim)
    eb = eb_block(sim)

    fixture = {
        "provenance": {
            "script": "tools/golden/matching.py",
            "python": platform.python_version(),
            "causalinference": version("CausalInference"),
            "statsmodels": statsmodels.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
            "seed": {"match_sim": SEED_SIM},
        },
        "data": {
            "match_sim": {
                "path": str(SIM_CSV),
                "columns": names,
                **sim_info,
                "seed": SEED_SIM,
                "dgp": (
                    "default_rng(909), drawn in order: x1 = N(0,1); x2 = 2 N(0,1); x3 = U(0,1); x4 = N(0,1) x3; "
                    "d = 1{U < logistic(0.8 x1 - 0.3 x2 + x3 - 0.5)}; "
                    "y = 1 + x1 + 0.5 x2^2/4 + 2 x3 + d (1 + 0.5 x1) + N(0,1)"
                ),
            },
            "match_lalonde": {
                "path": str(LALONDE_CSV),
                "columns": LALONDE_COLS,
                "n": n_t_lal + n_c_lal,
                "n_treated": n_t_lal,
                "n_control": n_c_lal,
                "sources": (
                    f"rows with treat == 1 of {NSW_DW} (file order), then all rows of {PSID3} (file order)"
                ),
            },
            "nsw_dw": {"path": str(NSW_DW), **nsw_info},
        },
        "matching_sim": {
            "notes": NOTES["matching"],
            "data": str(SIM_CSV),
            "outcome": "y",
            "treatment": "d",
            "covariates": SIM_X,
            "weight_matrix": sim_W,
            "cases": sim_cases,
        },
        "matching_lalonde": {
            "notes": NOTES["matching"] + " " + NOTES["matching_lalonde"],
            "data": str(LALONDE_CSV),
            "outcome": "re78",
            "treatment": "treat",
            "covariates": LALONDE_X,
            "weight_matrix": lal_W,
            "cases": lal_cases,
        },
        "ols_nsw": {
            "notes": NOTES["ols"],
            "data": str(NSW_DW),
            "models": models,
            "welch": welch,
        },
        "weighting": {
            "notes": NOTES["weighting"],
            "data": str(SIM_CSV),
            "logit": logit,
            "propensity": p,
            "estimates": wt,
        },
        "entropy_balancing": {
            "notes": NOTES["entropy_balancing"],
            "data": str(SIM_CSV),
            "cases": eb,
        },
        "self_check": {
            "tolerance": TOL,
            "matching_sim_max_rel_diff_own": sim_rel,
            "matching_lalonde_max_rel_diff_own": lal_rel,
            "ols_hc_rel_diff_own": ols_checks,
            "weighting_max_rel_diff_wls_direct": wt_diff,
        },
    }
    OUT_JSON.write_text(json.dumps(to_py(fixture), indent=1) + "\n")
    for label, cases in (("sim", sim_cases), ("lalonde", lal_cases)):
        for c in cases:
            print(f"{label} {c['name']}: ate {c['ate']:.6f} ({c['ate_se']:.6f}) att {c['att']:.6f} ({c['att_se']:.6f}) "
                  f"atc {c['atc']:.6f} ({c['atc_se']:.6f}) extra-ties t/c {c['match_sets']['treated_units_with_more_than_m']}"
                  f"/{c['match_sets']['control_units_with_more_than_m']}")
    for k, m in models.items():
        print(f"ols {k}: treat {m['treat_coef']:.6f} se {m['treat_se']}")
    print(f"welch: diff {welch['diff']:.6f} se {welch['se']:.6f} t {welch['t']:.6f} df {welch['df']:.6f} p {welch['p_value']:.6g}")
    for k, v in wt.items():
        print(f"{k}: {v['estimate']:.10f} (wls diff {v['abs_diff_wls_direct']:.2e})")
    for k, v in eb.items():
        print(f"eb {k}: att {v['att']:.10f} imbalance {v['max_abs_imbalance']:.2e} root {v['root']['max_abs_weight_diff']:.2e}")
    print(f"wrote {OUT_JSON}, {SIM_CSV}, {LALONDE_CSV}")


if __name__ == "__main__":
    sys.exit(main())
