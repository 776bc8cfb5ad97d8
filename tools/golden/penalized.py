#!/usr/bin/env python3
"""Reference values for penalised linear and logistic regression (lasso, elastic net, ridge,
the default lasso alpha grid, LassoCV on given folds with a 1-SE rule, L2- and L1-penalised
logistic regression), computed with scikit-learn 1.9.1 (pinned with numpy 2.4.6 and scipy
1.17.1 in tools/golden/requirements.txt).

Run from the repository root, in the venv built from that requirements file:

    python3.11 -m venv /work/venv-golden
    /work/venv-golden/bin/pip install -r tools/golden/requirements.txt
    /work/venv-golden/bin/python tools/golden/penalized.py

Output: tools/golden/fixtures/penalized.json, with the input data stored inside it. Everything
random is drawn here from numpy.random.default_rng(505); the solvers are deterministic (saga gets
random_state=0), and two runs give byte-identical files. tools/golden/README.md describes every
field. to_py and quiet come from golden_common.py beside this script.

Data (n = 200, p = 8), drawn in this order from default_rng(505)
----------------------------------------------------------------
  Z ~ N(0, I) (200 x 8); S_jk = 0.5^|j-k| (AR(1), rho = 0.5); X0 = Z @ chol(S)'
  X[:, j] = mu_j + (j + 1) * X0[:, j]   (j = 0..7, so column j has sd j + 1),
      mu = (1, -2, 0.5, 3, 0, -1, 2, -0.5)  (non-zero means, so centring matters)
  y  = 1 + X b + e, e ~ N(0, 1),  b = (1.5, 0, 0, -0.5, 0, 0, 0.3, 0)
  yb ~ Bernoulli(sigmoid(-0.3 + X bb)), bb = (0.8, 0, 0, -0.25, 0, 0, 0.15, 0) (uniforms u,
      yb = 1{u < sigmoid(.)})
  folds: perm = rng.permutation(200); fold[perm] = arange(200) % 5 (0-based, 40 rows per fold)

Objectives (sklearn 1.9.1, read in linear_model/_coordinate_descent.py, _cd_fast.pyx, _ridge.py,
_logistic.py, _sag.py); every fit has fit_intercept=True and an unpenalised intercept b0
-------------------------------------------------------------------------------------------
  Lasso(alpha):          (1/(2n)) ||y - X b - b0||^2 + alpha ||b||_1
  ElasticNet(alpha, r):  (1/(2n)) ||y - X b - b0||^2 + alpha r ||b||_1 + (alpha (1 - r)/2) ||b||^2
  Ridge(alpha):          ||y - X b - b0||^2 + alpha ||b||^2          (no 1/(2n), no 1/2)
      so Ridge(alpha) = ElasticNet(alpha / n, l1_ratio = 0); the script fits both.
  LogisticRegression(C, l1_ratio = 0) (L2): sum_i logloss_i + (1/(2C)) ||b||^2
      (sklearn codes it as mean logloss + (1/(2 C n)) ||b||^2: l2_reg_strength = 1/(C n))
  LogisticRegression(C, l1_ratio = 1) (L1): sum_i logloss_i + (1/C) ||b||_1
      (saga: alpha = 0, beta = 1/C, both divided by n inside sag_solver)
  with logloss_i = log(1 + exp(eta_i)) - yb_i eta_i, eta_i = b0 + x_i'b.
  sklearn 1.8 deprecated `penalty` (to be removed in 1.10): the penalty is chosen by l1_ratio
  (0 = L2, 1 = L1) and C = inf means none; so `penalty` is never passed here. liblinear is not
  used: it penalises the intercept (it is a synthetic feature of weight intercept_scaling).

Cases
-----
  lasso.raw: Lasso at alphas (1, 0.1, 0.01) on raw X; lasso.standardized: the same on
  Xs = (X - mean) / sd (sd with ddof = 0), also mapped back to the raw scale.
  elastic_net: ElasticNet(alpha, l1_ratio = 0.5) at (1, 0.1, 0.01), raw X.
  ridge: Ridge(alpha, solver="cholesky") at (10, 1, 0.1), and ElasticNet(alpha/n, l1_ratio=0).
  alpha_grid: the default grid of LassoCV / ElasticNetCV (alphas = 100, eps = 1e-3):
      alpha_max = max_j |X_c[:, j]' y_c| / (n l1_ratio), X_c, y_c centred; geomspace down to
      eps alpha_max; taken from LassoCV().alphas_ and ElasticNetCV(l1_ratio = 0.5).alphas_
      and recomputed in numpy.
  lasso_cv: LassoCV(alphas = that grid, cv = the stored folds, tol = 1e-12) with alpha_, coef_,
      intercept_, mse_path_ (per fold and the mean), and the 1-SE rule computed here.
  elastic_net_cv: ElasticNetCV(l1_ratio = 0.5, default grid, same folds), for completeness.
  logistic.l2: LogisticRegression(C, solver = "newton-cg", tol = 1e-12), C in (1, 0.1).
  logistic.l1: LogisticRegression(C, l1_ratio = 1, solver = "saga", tol = 1e-12,
      max_iter = 1e6, random_state = 0), C in (1, 0.1, 0.05); 0.05 is an extra case
      (at C = 1 and 0.1 no coefficient is zero, so it alone exercises the zero branch).

All coordinate-descent fits use tol = 1e-12 and max_iter = 1e6; ConvergenceWarning (or any other
warning) stops the script. Self-checks (stop with an error when violated):
  lasso / EN:  |X_j' r / n - alpha (1 - r) b_j| <= alpha r for b_j = 0, and equality with
               sign(b_j) for b_j != 0 (r = y - X b - b0), to 1e-9; sum(r) = 0.
  ridge:       the normal equations (X_c'X_c + alpha I) b = X_c'y_c, b0 = ybar - xbar'b, and
               the ElasticNet(alpha/n, 0) fit agree.
  alpha grid:  numpy alpha_max and geomspace against sklearn; b = 0 at alpha_max (Lasso fit).
  LassoCV:     every fold and alpha refitted with Lasso on the training rows, test MSE
               recomputed; alpha_ = grid[argmin(mean MSE)]; the refit equals Lasso(alpha_).
  logistic:    the gradient of the stated objective (L2) or its KKT conditions (L1), and an own
               numpy solver (Newton for L2, IRLS + coordinate descent for L1).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import (
    ElasticNet,
    ElasticNetCV,
    Lasso,
    LassoCV,
    LogisticRegression,
    Ridge,
)

from golden_common import quiet, to_py

OUT_JSON = Path("tools/golden/fixtures/penalized.json")
SEED = 505
N, P = 200, 8
RHO = 0.5
MU = np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.0, 2.0, -0.5])
B0_TRUE, B_TRUE = 1.0, np.array([1.5, 0.0, 0.0, -0.5, 0.0, 0.0, 0.3, 0.0])
BB0_TRUE, BB_TRUE = -0.3, np.array([0.8, 0.0, 0.0, -0.25, 0.0, 0.0, 0.15, 0.0])
K_FOLDS = 5

TOL = 1e-12
MAX_ITER = 1_000_000
KKT_TOL = 1e-9
LASSO_ALPHAS = [1.0, 0.1, 0.01]
ENET_ALPHAS = [1.0, 0.1, 0.01]
ENET_L1_RATIO = 0.5
RIDGE_ALPHAS = [10.0, 1.0, 0.1]
N_ALPHAS, EPS = 100, 1e-3
LOGIT_CS = [1.0, 0.1]
LOGIT_L1_CS = [1.0, 0.1, 0.05]  # 0.05 is extra: at 1 and 0.1 every coefficient is non-zero


def check(cond, msg):
    if not cond:
        raise SystemExit(f"self-check failed: {msg}")


def fit_quiet(est, *args):
    """Fit with all warnings recorded; any warning (ConvergenceWarning above all) is fatal."""
    fitted, caught = quiet(est.fit, *args)
    check(not caught, f"{type(est).__name__} warned: {caught}")
    return fitted


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------
def draw_data():
    rng = np.random.default_rng(SEED)
    idx = np.arange(P)
    S = RHO ** np.abs(idx[:, None] - idx[None, :])
    L = np.linalg.cholesky(S)
    Z = rng.standard_normal((N, P))
    X0 = Z @ L.T
    X = MU + X0 * (idx + 1.0)
    e = rng.standard_normal(N)
    y = B0_TRUE + X @ B_TRUE + e
    eta = BB0_TRUE + X @ BB_TRUE
    u = rng.uniform(size=N)
    yb = (u < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    perm = rng.permutation(N)
    fold = np.empty(N, dtype=int)
    fold[perm] = np.arange(N) % K_FOLDS
    return X, y, yb, fold


# ------------------------------------------------------------------------------------------
# Linear models: fits and KKT checks
# ------------------------------------------------------------------------------------------
def enet_kkt(X, y, b0, b, alpha, l1_ratio):
    """Largest violation of the elastic-net optimality conditions (objective scale)."""
    n = X.shape[0]
    r = y - X @ b - b0
    g = X.T @ r / n - alpha * (1.0 - l1_ratio) * b  # = alpha l1_ratio * subgradient of |b|
    lam = alpha * l1_ratio
    viol = np.where(b != 0.0, np.abs(g - lam * np.sign(b)), np.maximum(np.abs(g) - lam, 0.0))
    return float(np.max(viol)), float(abs(r.mean())), g


def enet_exact(X, y, b, alpha, l1_ratio):
    """The solution with the support and signs of b, from the KKT linear system
    (X_S'X_S/n + alpha (1 - l1_ratio) I) b_S = X_S'y/n - alpha l1_ratio sign(b_S) on centred
    data; checked to satisfy every optimality condition, so it is the exact optimum (unique:
    X has full column rank)."""
    n = X.shape[0]
    xm, ym = X.mean(axis=0), y.mean()
    Xc, yc = X - xm, y - ym
    S = np.flatnonzero(b != 0.0)
    s = np.sign(b[S])
    A = Xc[:, S].T @ Xc[:, S] / n + alpha * (1.0 - l1_ratio) * np.eye(S.size)
    bs = np.linalg.solve(A, Xc[:, S].T @ yc / n - alpha * l1_ratio * s)
    be = np.zeros_like(b)
    be[S] = bs
    b0 = float(ym - xm @ be)
    check(np.array_equal(np.sign(bs), s), "exact active-set solution changes a sign")
    kkt, _, _ = enet_kkt(X, y, b0, be, alpha, l1_ratio)
    check(kkt <= 1e-13 * max(1.0, alpha), f"exact active-set solution KKT {kkt:.3e}")
    return b0, be


def enet_fit(X, y, alpha, l1_ratio, cls=ElasticNet, exact=True):
    kw = dict(alpha=alpha, fit_intercept=True, tol=TOL, max_iter=MAX_ITER)
    if cls is ElasticNet:
        kw["l1_ratio"] = l1_ratio
    m = fit_quiet(cls(**kw), X, y)
    check(m.n_iter_ < MAX_ITER, f"{cls.__name__}({alpha}) hit max_iter")
    b0, b = float(m.intercept_), m.coef_.copy()
    kkt, rmean, g = enet_kkt(X, y, b0, b, alpha, l1_ratio)
    check(kkt <= KKT_TOL, f"{cls.__name__}(alpha={alpha}, l1={l1_ratio}) KKT violation {kkt:.3e}")
    check(rmean <= 1e-12 * max(1.0, np.abs(y).max()), f"mean residual {rmean:.3e}")
    out = {
        "alpha": alpha,
        "intercept": b0,
        "coef": b,
        "n_nonzero": int(np.count_nonzero(b)),
        "n_iter": int(m.n_iter_),
        "dual_gap": float(m.dual_gap_),
        "objective": enet_objective(X, y, b0, b, alpha, l1_ratio),
        "kkt_max_violation": kkt,
        "scaled_gradient": g,
    }
    if exact:
        e0, eb = enet_exact(X, y, b, alpha, l1_ratio)
        d = float(max(np.max(np.abs(eb - b)), abs(e0 - b0)))
        check(d <= 1e-9 * max(1.0, np.max(np.abs(b))), f"sklearn vs exact solution {d:.3e}")
        out["exact"] = {"intercept": e0, "coef": eb, "max_abs_diff_to_sklearn": d}
    return out


def enet_objective(X, y, b0, b, alpha, l1_ratio):
    r = y - X @ b - b0
    n = X.shape[0]
    return float(
        r @ r / (2 * n)
        + alpha * l1_ratio * np.abs(b).sum()
        + 0.5 * alpha * (1 - l1_ratio) * (b @ b)
    )


def ridge_case(X, y, alpha):
    n = X.shape[0]
    m = fit_quiet(Ridge(alpha=alpha, fit_intercept=True, solver="cholesky"), X, y)
    b0, b = float(m.intercept_), m.coef_.copy()
    xm, ym = X.mean(axis=0), y.mean()
    Xc, yc = X - xm, y - ym
    lhs = (Xc.T @ Xc + alpha * np.eye(X.shape[1])) @ b
    rhs = Xc.T @ yc
    ne = float(np.max(np.abs(lhs - rhs)) / np.max(np.abs(rhs)))
    check(ne <= 1e-12, f"ridge({alpha}) normal equations, rel {ne:.3e}")
    b_np = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), rhs)
    d_np = float(np.max(np.abs(b_np - b)) / np.max(np.abs(b)))
    check(d_np <= 1e-12, f"ridge({alpha}) vs numpy solve, rel {d_np:.3e}")
    d0 = abs((ym - xm @ b) - b0)
    check(d0 <= 1e-12 * max(1.0, abs(b0)), f"ridge intercept {d0:.3e}")
    # ElasticNet with l1_ratio = 0 at alpha / n minimises the same objective divided by 2n.
    en = enet_fit(X, y, alpha / n, 0.0, exact=False)
    d_en = float(np.max(np.abs(en["coef"] - b)) / np.max(np.abs(b)))
    check(d_en <= 1e-9, f"ridge({alpha}) vs ElasticNet(alpha/n, 0), rel {d_en:.3e}")
    r = y - X @ b - b0
    return {
        "alpha": alpha,
        "intercept": b0,
        "coef": b,
        "objective": float(r @ r + alpha * (b @ b)),
        "normal_equations_max_rel_residual": ne,
        "elastic_net_equivalent": {
            "alpha": alpha / n,
            "l1_ratio": 0.0,
            "intercept": en["intercept"],
            "coef": en["coef"],
            "n_iter": en["n_iter"],
            "max_rel_diff_to_ridge_coef": d_en,
        },
    }


def numpy_alpha_grid(X, y, l1_ratio):
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    amax = float(np.max(np.abs(Xc.T @ yc)) / (X.shape[0] * l1_ratio))
    return amax, np.geomspace(amax, amax * EPS, num=N_ALPHAS)


def one_se_rule(alphas, mse_folds):
    """1-SE rule: the largest alpha whose mean CV MSE <= min mean + SE at the minimum."""
    mean = mse_folds.mean(axis=1)
    k = mse_folds.shape[1]
    se = mse_folds.std(axis=1, ddof=1) / np.sqrt(k)
    i_min = int(np.argmin(mean))
    thr = float(mean[i_min] + se[i_min])
    ok = np.flatnonzero(mean <= thr)
    i_1se = int(ok[np.argmax(alphas[ok])])
    return i_min, i_1se, thr, se


# ------------------------------------------------------------------------------------------
# Logistic: own solvers and checks
# ------------------------------------------------------------------------------------------
def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def logit_objective(X1, yb, w, C, kind):
    eta = X1 @ w
    loss = float(np.sum(np.logaddexp(0.0, eta) - yb * eta))
    pen = (0.5 / C) * float(w[1:] @ w[1:]) if kind == "l2" else float(np.abs(w[1:]).sum()) / C
    return loss + pen


def newton_l2(X1, yb, C, iters=100):
    """Newton on sum logloss + (1/(2C)) ||b||^2 (intercept X1[:, 0] unpenalised)."""
    D = np.ones(X1.shape[1]) / C
    D[0] = 0.0
    w = np.zeros(X1.shape[1])
    for _ in range(iters):
        p = sigmoid(X1 @ w)
        g = X1.T @ (p - yb) + D * w
        H = (X1 * (p * (1 - p))[:, None]).T @ X1 + np.diag(D)
        step = np.linalg.solve(H, g)
        w = w - step
        if np.max(np.abs(step)) <= 1e-15 * max(1.0, np.max(np.abs(w))):
            break
    return w


def irls_cd_l1(X1, yb, C, outer=200):
    """IRLS with an exact inner coordinate-descent solve of the weighted lasso, for
    sum logloss + (1/C) ||b||_1 (column 0 of X1 is the unpenalised intercept)."""
    lam = 1.0 / C
    n, q = X1.shape
    w = np.zeros(q)
    for _ in range(outer):
        eta = X1 @ w
        p = sigmoid(eta)
        v = p * (1 - p)
        z = eta + (yb - p) / v
        w_old = w.copy()
        # minimise 0.5 sum v (z - X1 w)^2 + lam ||w[1:]||_1 by cyclic coordinate descent
        r = z - X1 @ w
        col = (X1 * X1 * v[:, None]).sum(axis=0)
        for _ in range(100000):
            dmax = 0.0
            for j in range(q):
                rho = (v * X1[:, j]) @ r + col[j] * w[j]
                if j == 0:
                    new = rho / col[j]
                else:
                    new = np.sign(rho) * max(abs(rho) - lam, 0.0) / col[j]
                d = new - w[j]
                if d != 0.0:
                    r -= d * X1[:, j]
                    w[j] = new
                    dmax = max(dmax, abs(d))
            if dmax <= 1e-16 * max(1.0, np.max(np.abs(w))):
                break
        if np.max(np.abs(w - w_old)) <= 1e-15 * max(1.0, np.max(np.abs(w))):
            break
    return w


def logit_case(X, yb, C, kind):
    X1 = np.column_stack([np.ones(X.shape[0]), X])
    if kind == "l2":
        est = LogisticRegression(C=C, solver="newton-cg", tol=TOL, max_iter=10000)
        call = 'LogisticRegression(C=C, solver="newton-cg", tol=1e-12, max_iter=10000)'
    else:
        est = LogisticRegression(
            C=C, l1_ratio=1.0, solver="saga", tol=TOL, max_iter=MAX_ITER, random_state=0
        )
        call = ('LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, '
                "max_iter=1000000, random_state=0)")
    m = fit_quiet(est, X, yb)
    n_iter = int(m.n_iter_[0])
    check(n_iter < est.max_iter, f"logistic {kind} C={C} hit max_iter")
    w = np.concatenate([m.intercept_, m.coef_[0]])
    p = sigmoid(X1 @ w)
    score = X1.T @ (yb - p)  # minus the gradient of sum logloss
    out = {
        "C": C,
        "call": call,
        "intercept": float(w[0]),
        "coef": w[1:],
        "n_nonzero": int(np.count_nonzero(w[1:])),
        "n_iter": n_iter,
        "objective": logit_objective(X1, yb, w, C, kind),
    }
    if kind == "l2":
        grad = -score + np.concatenate([[0.0], w[1:] / C])
        gmax = float(np.max(np.abs(grad)))
        check(gmax <= 1e-8, f"logistic l2 C={C}: gradient {gmax:.3e}")
        w_own = newton_l2(X1, yb, C)
        d = float(np.max(np.abs(w_own - w)) / np.max(np.abs(w)))
        check(d <= 1e-10, f"logistic l2 C={C}: own Newton differs, rel {d:.3e}")
        out["gradient_max_abs"] = gmax
    else:
        lam = 1.0 / C
        b, g = w[1:], score[1:]
        viol = np.where(b != 0.0, np.abs(g - lam * np.sign(b)), np.maximum(np.abs(g) - lam, 0.0))
        kkt = float(max(np.max(viol), abs(score[0]))) / lam
        check(kkt <= KKT_TOL, f"logistic l1 C={C}: KKT violation {kkt:.3e} (relative to 1/C)")
        w_own = irls_cd_l1(X1, yb, C)
        d = float(np.max(np.abs(w_own - w)) / np.max(np.abs(w)))
        check(d <= 1e-9, f"logistic l1 C={C}: own IRLS+CD differs, rel {d:.3e}")
        check(np.array_equal(w_own[1:] != 0.0, b != 0.0), f"logistic l1 C={C}: support differs")
        out["kkt_max_violation_over_lambda"] = kkt
        s_own = X1.T @ (yb - sigmoid(X1 @ w_own))
        v_own = np.where(w_own[1:] != 0.0, np.abs(s_own[1:] - lam * np.sign(w_own[1:])),
                         np.maximum(np.abs(s_own[1:]) - lam, 0.0))
        kkt_own = float(max(np.max(v_own), abs(s_own[0]))) / lam
        check(kkt_own <= 1e-12, f"own IRLS+CD KKT {kkt_own:.3e}")
        out["own_irls_cd"] = {
            "intercept": float(w_own[0]),
            "coef": w_own[1:],
            "kkt_max_violation_over_lambda": kkt_own,
        }
    out["score_X1t_y_minus_p"] = score
    out["max_rel_diff_own_solver"] = d
    return out


# ------------------------------------------------------------------------------------------
def main():
    X, y, yb, fold = draw_data()
    n = X.shape[0]
    check(np.all(np.bincount(fold) == n // K_FOLDS), "folds not balanced")
    fixture = {
        "provenance": {
            "script": "tools/golden/penalized.py",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "seed": SEED,
        },
    }
    fixture["data"] = {
        "n": n,
        "p": P,
        "columns": [f"x{j + 1}" for j in range(P)],
        "dgp": (
            "X0 = Z chol(S)', Z ~ N(0, I), S_jk = 0.5^|j-k|; X[:, j] = mu_j + (j+1) X0[:, j]; "
            "y = 1 + X b + N(0, 1); yb ~ Bernoulli(sigmoid(-0.3 + X bb)); "
            "fold[perm] = arange(n) % 5"
        ),
        "mu": MU,
        "b_true": B_TRUE,
        "b0_true": B0_TRUE,
        "bb_true": BB_TRUE,
        "bb0_true": BB0_TRUE,
        "X": X,
        "y": y,
        "yb": yb.astype(int),
        "fold": fold,
    }

    # 1. Lasso, raw and standardised
    raw = [enet_fit(X, y, a, 1.0, cls=Lasso) for a in LASSO_ALPHAS]
    mean, sd = X.mean(axis=0), X.std(axis=0, ddof=0)
    Xs = (X - mean) / sd
    std_fits = []
    for a in LASSO_ALPHAS:
        f = enet_fit(Xs, y, a, 1.0, cls=Lasso)
        b_orig = f["coef"] / sd
        f["coef_original_scale"] = b_orig
        f["intercept_original_scale"] = float(f["intercept"] - mean @ b_orig)
        check(abs(f["intercept"] - y.mean()) <= 1e-12 * abs(y.mean()), "standardised b0 != ybar")
        std_fits.append(f)
    fixture["lasso"] = {
        "objective": "(1/(2n)) ||y - X b - b0||^2 + alpha ||b||_1",
        "call": "Lasso(alpha, fit_intercept=True, tol=1e-12, max_iter=1000000)",
        "raw": raw,
        "standardized": {
            "transform": "Xs[:, j] = (X[:, j] - mean_j) / sd_j, sd with ddof = 0; y unchanged",
            "mean": mean,
            "sd": sd,
            "fits": std_fits,
        },
    }

    # 2. Elastic net
    fixture["elastic_net"] = {
        "objective": (
            "(1/(2n)) ||y - X b - b0||^2 + alpha l1_ratio ||b||_1 "
            "+ 0.5 alpha (1 - l1_ratio) ||b||^2"
        ),
        "call": "ElasticNet(alpha, l1_ratio=0.5, fit_intercept=True, tol=1e-12, max_iter=1000000)",
        "l1_ratio": ENET_L1_RATIO,
        "fits": [enet_fit(X, y, a, ENET_L1_RATIO) for a in ENET_ALPHAS],
    }

    # 3. Ridge
    fixture["ridge"] = {
        "objective": "||y - X b - b0||^2 + alpha ||b||^2",
        "call": 'Ridge(alpha, fit_intercept=True, solver="cholesky")',
        "equivalence": "Ridge(alpha) = ElasticNet(alpha / n, l1_ratio = 0)",
        "fits": [ridge_case(X, y, a) for a in RIDGE_ALPHAS],
    }

    # 4. Default alpha grids (from the public CV estimators) + numpy recomputation
    folds = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(K_FOLDS)]
    cv_kw = dict(cv=folds, tol=TOL, max_iter=MAX_ITER, eps=EPS)
    lcv_default = fit_quiet(LassoCV(alphas=N_ALPHAS, **cv_kw), X, y)
    ecv = fit_quiet(ElasticNetCV(l1_ratio=ENET_L1_RATIO, alphas=N_ALPHAS, **cv_kw), X, y)
    grids = {}
    for key, l1, got in (("l1_ratio_1", 1.0, lcv_default.alphas_),
                         ("l1_ratio_0_5", ENET_L1_RATIO, ecv.alphas_)):
        amax, grid = numpy_alpha_grid(X, y, l1)
        got = np.asarray(got)
        d = float(np.max(np.abs(grid - got) / got))
        check(got.shape == (N_ALPHAS,) and d <= 1e-13, f"alpha grid {key}: rel {d:.3e}")
        # at alpha_max every coefficient is 0; just below it one is not
        at = enet_fit(X, y, float(got[0]), l1, exact=False)
        below = enet_fit(X, y, float(got[0]) * (1 - 1e-3), l1, exact=False)
        check(at["n_nonzero"] == 0 and below["n_nonzero"] >= 1, f"alpha_max {key} not sharp")
        grids[key] = {
            "l1_ratio": l1,
            "alpha_max": float(got[0]),
            "alpha_max_numpy": amax,
            "alphas": got,
        }
    fixture["alpha_grid"] = {
        "n_alphas": N_ALPHAS,
        "eps": EPS,
        "rule": (
            "alpha_max = max_j |X_c[:, j]' y_c| / (n l1_ratio) with X_c, y_c centred; "
            "alphas = geomspace(alpha_max, eps alpha_max, n_alphas), descending"
        ),
        "source": "LassoCV(alphas=100, eps=1e-3).alphas_ and ElasticNetCV(l1_ratio=0.5).alphas_",
        **grids,
    }

    # 5. LassoCV on the stored folds and the 1-SE rule
    grid = np.asarray(grids["l1_ratio_1"]["alphas"])
    lcv = fit_quiet(LassoCV(alphas=grid, **cv_kw), X, y)
    check(np.array_equal(np.asarray(lcv.alphas_), grid), "LassoCV reordered the grid")
    check(np.array_equal(lcv.mse_path_, lcv_default.mse_path_), "explicit grid != default grid")
    mse_folds = np.asarray(lcv.mse_path_)  # (n_alphas, n_folds), column k = fold k as test set
    mse_mean = mse_folds.mean(axis=1)
    i_min, i_1se, thr, se = one_se_rule(grid, mse_folds)
    check(lcv.alpha_ == grid[i_min], "alpha_ != grid[argmin mean mse]")
    # recompute every fold's test MSE with Lasso refits on the training rows
    worst = 0.0
    for k, (tr, te) in enumerate(folds):
        for i, a in enumerate(grid):
            f = enet_fit(X[tr], y[tr], float(a), 1.0, cls=Lasso, exact=False)
            res = y[te] - X[te] @ f["coef"] - f["intercept"]
            worst = max(worst, abs(res @ res / te.size - mse_folds[i, k]) / mse_folds[i, k])
    check(worst <= 1e-9, f"LassoCV mse_path_ recomputation, rel {worst:.3e}")
    refit = enet_fit(X, y, float(lcv.alpha_), 1.0, cls=Lasso)
    d_refit = float(np.max(np.abs(refit["coef"] - lcv.coef_)))
    check(d_refit <= 1e-12, f"LassoCV refit differs from Lasso(alpha_): {d_refit:.3e}")
    kkt_cv, _, _ = enet_kkt(X, y, float(lcv.intercept_), lcv.coef_, float(lcv.alpha_), 1.0)
    check(kkt_cv <= KKT_TOL, f"LassoCV coef KKT {kkt_cv:.3e}")
    fit_1se = enet_fit(X, y, float(grid[i_1se]), 1.0, cls=Lasso)
    fixture["lasso_cv"] = {
        "call": (
            "LassoCV(alphas=<alpha_grid.l1_ratio_1.alphas>, cv=[(where(fold != k), "
            "where(fold == k)) for k in 0..4], tol=1e-12, max_iter=1000000, eps=1e-3)"
        ),
        "alphas": grid,
        "alpha": float(lcv.alpha_),
        "index_min": i_min,
        "intercept": float(lcv.intercept_),
        "coef": lcv.coef_,
        "n_iter": int(lcv.n_iter_),
        "exact": {"intercept": refit["exact"]["intercept"], "coef": refit["exact"]["coef"]},
        "mse_path": mse_folds,
        "mse_mean": mse_mean,
        "mse_se": se,
        "mse_definition": (
            "mse_path[i][k] = mean over test rows of fold k of (y - b0_ik - X b_ik)^2, "
            "(b0_ik, b_ik) = Lasso(alphas[i]) fitted on the other folds' rows; "
            "mse_mean[i] = mean over k; alpha = alphas[argmin mse_mean] (first on ties)"
        ),
        "one_se": {
            "rule": (
                "largest alpha with mse_mean <= mse_mean[index_min] + mse_se[index_min], "
                "mse_se = sd over the K = 5 folds (ddof = 1) / sqrt(K)"
            ),
            "threshold": thr,
            "index": i_1se,
            "alpha": float(grid[i_1se]),
            "mse_mean": float(mse_mean[i_1se]),
            "intercept": fit_1se["intercept"],
            "coef": fit_1se["coef"],
            "n_nonzero": fit_1se["n_nonzero"],
            "exact": {"intercept": fit_1se["exact"]["intercept"], "coef": fit_1se["exact"]["coef"]},
            "call": "Lasso(alpha, fit_intercept=True, tol=1e-12, max_iter=1000000) on all rows",
        },
        "self_check": {"mse_path_max_rel_diff_refits": worst, "kkt_max_violation": kkt_cv},
    }
    i_e = int(np.argmin(np.asarray(ecv.mse_path_).mean(axis=1)))
    kkt_e, _, _ = enet_kkt(X, y, float(ecv.intercept_), ecv.coef_, float(ecv.alpha_), 0.5)
    check(kkt_e <= KKT_TOL and ecv.alpha_ == ecv.alphas_[i_e], "ElasticNetCV checks")
    fixture["elastic_net_cv"] = {
        "call": (
            "ElasticNetCV(l1_ratio=0.5, alphas=100, eps=1e-3, cv=<same folds>, tol=1e-12, "
            "max_iter=1000000)"
        ),
        "alphas": np.asarray(ecv.alphas_),
        "alpha": float(ecv.alpha_),
        "index_min": i_e,
        "intercept": float(ecv.intercept_),
        "coef": ecv.coef_,
        "mse_path": np.asarray(ecv.mse_path_),
        "mse_mean": np.asarray(ecv.mse_path_).mean(axis=1),
    }

    # 6. Logistic regression
    fixture["logistic"] = {
        "outcome": "data.yb",
        "loss": "logloss_i = log(1 + exp(eta_i)) - yb_i eta_i, eta_i = b0 + x_i'b",
        "l2": {
            "objective": "sum_i logloss_i + (1/(2C)) ||b||^2  (b0 unpenalised)",
            "fits": [logit_case(X, yb, C, "l2") for C in LOGIT_CS],
        },
        "l1": {
            "objective": "sum_i logloss_i + (1/C) ||b||_1  (b0 unpenalised)",
            "fits": [logit_case(X, yb, C, "l1") for C in LOGIT_L1_CS],
        },
    }
    fixture["notes"] = [
        "All fits: fit_intercept=True; the intercept is never penalised.",
        "sklearn's ElasticNet/Lasso objectives carry 1/(2n); Ridge's does not: "
        "Ridge(alpha) = ElasticNet(alpha/n, l1_ratio=0).",
        "LogisticRegression(C): sum logloss + penalty/C (L2: (1/(2C))||b||^2, L1: (1/C)||b||_1); "
        "sklearn 1.9 selects the penalty by l1_ratio (penalty= is deprecated since 1.8).",
        "kkt_max_violation: max_j of |g_j - alpha l1_ratio sign(b_j)| (b_j != 0) or "
        "max(|g_j| - alpha l1_ratio, 0) (b_j = 0), g = X'r/n - alpha (1 - l1_ratio) b.",
        "Folds are 0-based; fold k is the test set of split k and mse_path column k.",
    ]

    OUT_JSON.write_text(json.dumps(to_py(fixture), indent=1) + "\n")
    print(f"wrote {OUT_JSON} ({OUT_JSON.stat().st_size} bytes)")
    for k in ("raw",):
        for f in fixture["lasso"][k]:
            print("lasso", f["alpha"], f["n_nonzero"], f["n_iter"], f"{f['kkt_max_violation']:.2e}")
    print("lasso_cv alpha", lcv.alpha_, "index", i_min, "1se", grid[i_1se], "index", i_1se)
    for kind in ("l2", "l1"):
        for f in fixture["logistic"][kind]["fits"]:
            print("logit", kind, f["C"], f["n_iter"], f["n_nonzero"], f["max_rel_diff_own_solver"])


if __name__ == "__main__":
    main()
