#!/usr/bin/env python3
"""Reference numbers for the meta-learners (S, T, X, R, DR) and for the uplift evaluation
curves (cumulative gain, Qini, AUUC, Qini coefficient, uplift by percentile).

Peers (pinned in tools/golden/requirements-meta.txt): causalml 0.18.0, econml 0.17.0 and
scikit-uplift 0.5.1, with scikit-learn 1.9.1, numpy 2.4.6, pandas 3.1.1 (Python 3.11.7).
Run from the repository root, in a virtual environment built from that requirements file:

    python3.11 -m venv /work/venv-meta
    /work/venv-meta/bin/pip install -r tools/golden/requirements-meta.txt
    /work/venv-meta/bin/python tools/golden/meta.py

It takes a few seconds. Nothing else is random: every draw comes from
numpy.random.default_rng(seed) with the seeds below, all fits are deterministic, and two runs on
the same day give byte-identical files (provenance.date is the run date; set SOURCE_DATE_EPOCH
to pin it).

Every learner is defined here once, in plain numpy (`*_ref` columns), and each peer is compared
with that definition; the script stops if a peer is further away than the tolerance of its
learner (see TOL).

Base learners
-------------
* Regression: sklearn LinearRegression() (OLS with intercept). Reference: np.linalg.lstsq on
  [1, x] (weighted: rows scaled by sqrt(weight)).
* Propensity: LogisticRegression(C=np.inf, tol=1e-10, max_iter=10000). scikit-learn 1.9 deprecated
  `penalty` (linear_model/_logistic.py: penalty="deprecated"; "C=np.inf instead of
  penalty=None"), so "no penalty" is spelled C=np.inf; the solver is the default lbfgs.
  Reference: the exact MLE by Newton's method on [1, x] (to |step| < 1e-14). lbfgs stops at
  gtol = tol on the mean log loss, so the peer's propensities differ from the MLE by ~1e-9;
  every learner that uses a propensity inherits that (see TOL and the JSON's max_abs_diff).

Data
----
meta_binary.csv (seed 9101; n = 2000): rng draws, in order, x = standard_normal((n, 4)),
u = uniform(n), eps = standard_normal(n), perm = permutation(n);
  e = 1/(1 + exp(-(0.5 x0 - 0.25 x1))), w = 1{u < e},
  tau = 1 + 0.5 x0 - 0.5 x3, y = 1 + x0 + 0.5 x1 - 0.5 x2 + w tau + eps,
  fold[perm[i]] = i mod 5 (400 rows per fold).
  Columns x0..x3, w, y, e_true, tau_true, fold, part3.
  part3[idx_k] = k for the k-th test index set of sklearn's KFold(n_splits=3, shuffle=True,
  random_state=PART3_SEED).split(rows) (CausalML's DR-learner split with seed=PART3_SEED).
meta_multi.csv (seed 9102; n = 3000): x = standard_normal((n, 4)), w = choice(3, n,
p = [0.4, 0.3, 0.3]), eps = standard_normal(n), perm = permutation(n);
  y = 1 + x0 - 0.5 x2 + 1{w=1}(1 + x0) + 1{w=2}(0.5 - x1) + eps; fold as above.
  Columns x0..x3, w, y, fold, part3 (as above).
uplift_eval.csv (seed 9103; n = 5000): x0 = standard_normal(n), u = uniform(n),
eps = standard_normal(n), noise = standard_normal(n);
  w = 1{u < 0.5}, tau = 0.5 + x0, y = x0 + w tau + eps, score = tau + 0.5 noise,
  y_bin = 1{y > 0} (scikit-uplift accepts only a binary outcome).
  Columns x0, w, tau, y, y_bin, score.
Floats are written with repr (shortest round trip), ints as ints; each CSV is read back and
compared bit for bit, and everything below runs on what was read back.

Learners (one CATE per row, evaluated on the training rows themselves)
----------------------------------------------------------------------
For an arm a against control 0, "pair" = the rows with w in {0, a}, d = 1{w = a}.
* S: OLS of y on [1, d, x] over the pair; CATE = prediction at d=1 minus at d=0 (= the
  coefficient of d, one value for every row).
* T: mu_a, mu_0 = OLS on the arm-a rows and on the control rows; CATE = mu_a(x) - mu_0(x).
* X (Kuenzel et al.): mu_0, mu_a as in T; D_a = y - mu_0(x) on arm a, D_0 = mu_a(x) - y on
  control; tau_a, tau_0 = OLS of D_a, D_0 on x over those rows; p(x) = unpenalised logistic
  of d on x over the pair (in sample, no cross-fitting), predicted for every row;
  CATE = p tau_0 + (1 - p) tau_a. Binary also with p = e_true ("x_etrue").
  NOTE: with OLS on all of x everywhere, tau_a = OLS(y - mu_0) = mu_a - mu_0 and
  tau_0 = OLS(mu_a - y) = mu_a - mu_0 on the same design, so X == T exactly for every p. The
  fixture therefore adds "xr" (and binary "xr_etrue"): the same X-learner with the two effect
  regressions restricted to the columns of the true effect (XR_COLS: binary x0, x3; multi x0,
  x1), the outcome models still on all of x, so that p enters the answer.
* R (Nie & Wager), binary: m = OLS of y on x, e = logistic of w on x, both cross-fitted with
  the fold column (fit on the 4 other folds, predict the fold); tau = WLS of (y - m)/(w - e) on
  [1, x] with weights (w - e)^2 over all rows.
* DR (Kennedy), binary: mu_a = OLS on the arm-a rows of the other folds (a = 0, 1), e as in R;
  phi = mu1 - mu0 + w (y - mu1)/e - (1 - w)(y - mu0)/(1 - e); tau = OLS of phi on [1, x] over
  all rows. ATE = mean(phi), SE = sd(phi, ddof=1)/sqrt(n) (ddof 0 also recorded).
* DR with Kennedy's three-way split ("dr3"; binary and multi): the parts are the column part3
  (0, 1, 2). The pseudo-outcomes of part t come from mu_0, mu_a = OLS on the control and arm-a
  rows of part (t + 2) mod 3 and the known propensity (binary: e_true; multi: the pair's
  randomization probability, 0.3 / (0.4 + 0.3)); tau_t = OLS of phi on [1, x] over the pair's
  rows of part t; CATE = (tau_0 + tau_1 + tau_2) / 3 at every row.

Peers (sources read: causalml/inference/meta/{slearner,tlearner,xlearner,rlearner,base,utils}.py,
causalml/propensity.py; econml/metalearners/_metalearners.py, econml/dml/dml.py,
econml/dr/_drlearner.py, econml/_ortho_learner.py)
-------------------------------------------------------------------------------------------
* causalml BaseSRegressor(LinearRegression()): per arm, fits [d, x] on the pair = S. Binary and
  multi-arm.
* econml SLearner(overall_model=LinearRegression()), binary: fits on ALL rows the features
  [x, 1 - sum(T), T] (one-hot T, drop first), i.e. [x, 1 - w, w] beside LinearRegression's
  intercept: a rank-deficient design (1 - w + w = 1). lstsq's minimum-norm solution still gives
  the unique contrast coef_w - coef_(1-w) = the reference. With 3 arms it pools all arms into
  one additive model, which is NOT the pairwise S-learner; the JSON records that difference
  (notes.econml_slearner_multi_pooled) but it is no peer.
* causalml BaseTRegressor / econml TLearner(models=LinearRegression()): = T (binary, multi).
* causalml BaseXRegressor(LinearRegression()) with p passed to fit_predict (the propensities of
  the sklearn logistic above: an array for binary, a dict {arm: p} for multi, each fitted on its
  pair and predicted on all rows) = X; also with p = e_true. econml XLearner(models=
  LinearRegression(), propensity_model=LogisticRegression(C=inf, ...)) fits the same pairwise
  logistic internally: binary and multi. For "xr" the effect learners are
  E = make_pipeline(ColumnTransformer([("keep", "passthrough", cols)]), LinearRegression()),
  passed as causalml's control_effect_learner / treatment_effect_learner and econml's
  cate_models.
* econml NonParamDML(model_y=LinearRegression(), model_t=LogisticRegression(C=inf, ...),
  model_final=LinearRegression(), discrete_treatment=True, cv=[(train, test) per fold 0..4]):
  = R. It fits model_final on x with target Y_res / clip(T_res, |.| >= 1e-5) and weight T_res^2
  (the weight trick, dml.py _FinalWrapper.fit); the clip never binds here.
* causalml BaseRRegressor: SKIPPED. It cannot take given folds: BaseRLearner.fit calls
  compute_r_residuals (causalml/propensity.py), which builds its own
  StratifiedKFold(n_folds, shuffle=True, random_state) on the treatment; there is no cv
  attribute or argument to replace.
* causalml BaseDRRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y, p=...,
  seed=PART3_SEED, verbose=False) = dr3: its fit draws KFold(n_splits=3, shuffle=True,
  random_state=seed) and in rotation i fits the propensity on split i (skipped: p is given),
  mu_0 and mu_a on split i + 1 and tau on split i + 2 (mod 3), and predicts the mean of the
  three tau models (causalml/inference/meta/drlearner.py). part3 is that KFold's split of the
  rows, so that paribus (--cross-fit three-way --fold-column part3) gets the same parts.
* econml DRLearner(model_regression=PerArmOLS(), model_propensity=LogisticRegression(C=inf,
  ...), model_final=LinearRegression(), cv=folds, min_propensity=1e-6): = DR. econml passes
  model_regression the features hstack([X, W, T]) with T one-hot drop-first (binary: the last
  column is w) and predicts at T = 0 and T = e_k (_drlearner.py _ModelNuisance.train/predict);
  PerArmOLS reads the last n_t columns, fits one LinearRegression per treatment level on the
  remaining columns and predicts with the model of the level given. The pseudo-outcome is
  Y_pred[:, k] - Y_pred[:, 0] with Y_pred[:, 0] = mu0 + (y - mu0) 1{w=0}/(1 - e) and
  Y_pred[:, 1] = mu1 + (y - mu1) 1{w=1}/e, propensities clipped to [1e-6, 1 - 1e-6] (not
  binding) and no trimming (trimming_threshold=None) = phi above.

Uplift evaluation (formulas: see the fixture's `formulas` block; sources
causalml/metrics/visualize.py get_cumlift, get_cumgain, get_qini, auuc_score, qini_score and
sklift/metrics/metrics.py)
-----------------------------------------------------------------------------------------------
causalml on y (continuous) and on y_bin, with data frames holding exactly [y, w, score] (every
other column would count as a model, and a column named "tau" as the true effect);
scikit-uplift on y_bin, plus its qini_curve / uplift_curve on the continuous y with the
binary-outcome check switched off (the formulas do not need a binary y; labelled
"unchecked_continuous"). Each number is recomputed here in numpy and compared (1e-9).
Curves have n + 1 = 5001 points; the fixture keeps the points at rows 0..10, every 500th row
and the last 11 rows (`index` = the number of rows targeted), plus the sum and the sum of
squares of the full curve.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold

from golden_common import quiet, to_py

import causalml.metrics as cm_metrics
from causalml.inference.meta import BaseDRRegressor, BaseSRegressor, BaseTRegressor, BaseXRegressor
from econml.dml import NonParamDML
from econml.dr import DRLearner
from econml.metalearners import SLearner, TLearner, XLearner
import sklift.metrics as sk_metrics
import sklift.metrics.metrics as sk_metrics_module

# scikit-uplift 0.5.1 calls sklearn.utils.extmath.stable_cumsum, deprecated in scikit-learn 1.8
warnings.filterwarnings("ignore", message=".*stable_cumsum.*", category=FutureWarning)

FIX = Path("tools/golden/fixtures")
BIN_CSV = FIX / "meta_binary.csv"
MULTI_CSV = FIX / "meta_multi.csv"
BIN_PEER_CSV = FIX / "meta_binary_peer.csv"
MULTI_PEER_CSV = FIX / "meta_multi_peer.csv"
META_JSON = FIX / "meta_learners.json"
UPLIFT_CSV = FIX / "uplift_eval.csv"
UPLIFT_JSON = FIX / "uplift_eval_peer.json"

SEEDS = {"meta_binary": 9101, "meta_multi": 9102, "uplift_eval": 9103}
N_BIN, N_MULTI, N_UPLIFT = 2000, 3000, 5000
XCOLS = ["x0", "x1", "x2", "x3"]
# columns of x used by the effect regressions of the restricted X-learner ("xr"): the variables
# of the true effect (binary: tau = 1 + 0.5 x0 - 0.5 x3; multi: arm 1 x0, arm 2 x1)
XR_COLS = {"binary": [0, 3], "multi": [0, 1]}
K_FOLDS = 5
# the seed of CausalML's DR-learner split (BaseDRLearner.fit(..., seed)), whose parts are part3
PART3_SEED = 9104
# the multi-arm fixture's randomization probabilities (control, arm 1, arm 2)
MULTI_P = [0.4, 0.3, 0.3]

# max |peer - reference| allowed, per learner. OLS-only learners agree to rounding; learners
# with a propensity carry lbfgs's stopping error (the MLE is the reference).
TOL = {"s": 1e-10, "t": 1e-10, "x": 1e-6, "x_same_p": 1e-10, "x_etrue": 1e-10, "r": 1e-6,
       "dr": 1e-6, "dr3": 1e-10, "propensity": 1e-6, "uplift": 1e-9}


def logit_model():
    return LogisticRegression(C=np.inf, tol=1e-10, max_iter=10000)


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


def balanced_folds(perm):
    fold = np.empty(len(perm), dtype=np.int64)
    fold[perm] = np.arange(len(perm)) % K_FOLDS
    return fold


def parts3(n):
    """CausalML's DR-learner parts of n rows: the k-th test set of its KFold is part k."""
    part = np.empty(n, dtype=np.int64)
    for k, (_, test) in enumerate(KFold(n_splits=3, shuffle=True, random_state=PART3_SEED).split(np.zeros(n))):
        part[test] = k
    return part


def simulate_binary():
    rng = np.random.default_rng(SEEDS["meta_binary"])
    x = rng.standard_normal((N_BIN, 4))
    u = rng.uniform(size=N_BIN)
    eps = rng.standard_normal(N_BIN)
    perm = rng.permutation(N_BIN)
    e = 1.0 / (1.0 + np.exp(-(0.5 * x[:, 0] - 0.25 * x[:, 1])))
    w = (u < e).astype(np.int64)
    tau = 1.0 + 0.5 * x[:, 0] - 0.5 * x[:, 3]
    y = 1.0 + x[:, 0] + 0.5 * x[:, 1] - 0.5 * x[:, 2] + w * tau + eps
    cols = {c: x[:, j] for j, c in enumerate(XCOLS)}
    cols.update(w=w, y=y, e_true=e, tau_true=tau, fold=balanced_folds(perm), part3=parts3(N_BIN))
    return cols


def simulate_multi():
    rng = np.random.default_rng(SEEDS["meta_multi"])
    x = rng.standard_normal((N_MULTI, 4))
    w = rng.choice(3, size=N_MULTI, p=MULTI_P).astype(np.int64)
    eps = rng.standard_normal(N_MULTI)
    perm = rng.permutation(N_MULTI)
    y = (1.0 + x[:, 0] - 0.5 * x[:, 2] + (w == 1) * (1.0 + x[:, 0]) + (w == 2) * (0.5 - x[:, 1])
         + eps)
    cols = {c: x[:, j] for j, c in enumerate(XCOLS)}
    cols.update(w=w, y=y, fold=balanced_folds(perm), part3=parts3(N_MULTI))
    return cols


def simulate_uplift():
    rng = np.random.default_rng(SEEDS["uplift_eval"])
    x0 = rng.standard_normal(N_UPLIFT)
    u = rng.uniform(size=N_UPLIFT)
    eps = rng.standard_normal(N_UPLIFT)
    noise = rng.standard_normal(N_UPLIFT)
    w = (u < 0.5).astype(np.int64)
    tau = 0.5 + x0
    y = x0 + w * tau + eps
    score = tau + 0.5 * noise
    return {"x0": x0, "w": w, "tau": tau, "y": y, "y_bin": (y > 0).astype(np.int64),
            "score": score}


def fmt(v):
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def write_csv(path, cols):
    names = list(cols)
    n = len(cols[names[0]])
    lines = [",".join(names)]
    for i in range(n):
        lines.append(",".join(fmt(cols[c][i]) for c in names))
    path.write_text("\n".join(lines) + "\n")
    back = pd.read_csv(path)
    if list(back.columns) != names:
        raise SystemExit(f"{path}: header did not round-trip")
    for c in names:
        a = np.asarray(cols[c])
        b = back[c].to_numpy()
        if a.dtype.kind == "i":
            ok = b.dtype.kind == "i" and np.array_equal(a, b)
        else:
            ok = np.array_equal(a.astype(float), b.astype(float))
        if not ok:
            raise SystemExit(f"{path}: column {c} did not round-trip")
    return back


# ----------------------------------------------------------------------------------------------
# numpy references
# ----------------------------------------------------------------------------------------------


def add1(x):
    return np.column_stack([np.ones(len(x)), x])


def ols(x, y, weight=None):
    z = add1(x)
    if weight is not None:
        s = np.sqrt(weight)
        z, y = z * s[:, None], y * s
    beta, *_ = np.linalg.lstsq(z, y, rcond=None)
    return beta


def ols_pred(beta, x):
    return add1(x) @ beta


def logit_mle(x, d):
    z = add1(x)
    b = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ b)))
        g = z.T @ (d - p)
        h = (z * (p * (1.0 - p))[:, None]).T @ z
        step = np.linalg.solve(h, g)
        b = b + step
        if np.max(np.abs(step)) < 1e-14:
            break
    else:
        raise SystemExit("Newton logit did not converge")
    return b


def logit_pred(b, x):
    return 1.0 / (1.0 + np.exp(-(add1(x) @ b)))


def crossfit(fold, fit, pred, x, target, rows=None):
    """Out-of-fold predictions: for fold k, fit on the rows of the other folds (within `rows`
    when given) and predict every row of fold k."""
    out = np.empty(len(x))
    for k in range(K_FOLDS):
        train = fold != k
        if rows is not None:
            train = train & rows
        out[fold == k] = pred(fit(x[train], target[train]), x[fold == k])
    return out


def ref_s(x, w, y, arm):
    pair = (w == 0) | (w == arm)
    d = (w[pair] == arm).astype(float)
    beta = ols(np.column_stack([d, x[pair]]), y[pair])
    return np.full(len(x), beta[1])


def ref_t(x, w, y, arm):
    return ols_pred(ols(x[w == arm], y[w == arm]), x) - ols_pred(ols(x[w == 0], y[w == 0]), x)


def ref_x(x, w, y, arm, p, effect_cols=None):
    """effect_cols: the columns of x the two effect regressions use (None = all). With all
    columns and OLS everywhere, tau_a = mu_a - mu_0 = tau_0 exactly, so the X-learner equals the
    T-learner whatever p is; restricting the effect regressions makes p matter."""
    c, t = w == 0, w == arm
    mu0, mu1 = ols(x[c], y[c]), ols(x[t], y[t])
    d1 = y[t] - ols_pred(mu0, x[t])
    d0 = ols_pred(mu1, x[c]) - y[c]
    xe = x if effect_cols is None else x[:, effect_cols]
    tau1, tau0 = ols(xe[t], d1), ols(xe[c], d0)
    return p * ols_pred(tau0, xe) + (1.0 - p) * ols_pred(tau1, xe)


def ref_pair_propensity(x, w, arm):
    pair = (w == 0) | (w == arm)
    return logit_pred(logit_mle(x[pair], (w[pair] == arm).astype(float)), x)


def ref_r(x, w, y, fold):
    m = crossfit(fold, ols, ols_pred, x, y)
    e = crossfit(fold, logit_mle, logit_pred, x, w.astype(float))
    res_w = w - e
    beta = ols(x, (y - m) / res_w, weight=res_w**2)
    return ols_pred(beta, x), m, e


def ref_dr(x, w, y, fold):
    e = crossfit(fold, logit_mle, logit_pred, x, w.astype(float))
    mu0 = crossfit(fold, ols, ols_pred, x, y, rows=(w == 0))
    mu1 = crossfit(fold, ols, ols_pred, x, y, rows=(w == 1))
    phi = mu1 - mu0 + w * (y - mu1) / e - (1 - w) * (y - mu0) / (1.0 - e)
    tau = ols_pred(ols(x, phi), x)
    return tau, mu0, mu1, e, phi


def ref_dr3(x, w, y, part, arm, p):
    """Kennedy's DR-learner with its three-way split and a known propensity p (per row): the
    pseudo-outcomes of part t from mu_0, mu_arm fitted on part t + 2 (mod 3); one effect OLS per
    part on the pair's rows of that part; the CATE is their mean at every row."""
    pair = (w == 0) | (w == arm)
    d = (w == arm).astype(float)
    cate = np.zeros(len(x))
    for t in range(3):
        o = part == (t + 2) % 3
        mu0 = ols(x[o & (w == 0)], y[o & (w == 0)])
        mu1 = ols(x[o & (w == arm)], y[o & (w == arm)])
        rows = pair & (part == t)
        m0, m1 = ols_pred(mu0, x[rows]), ols_pred(mu1, x[rows])
        dd, pp, yy = d[rows], p[rows], y[rows]
        phi = m1 - m0 + dd * (yy - m1) / pp - (1 - dd) * (yy - m0) / (1 - pp)
        cate += ols_pred(ols(x[rows], phi), x) / 3.0
    return cate


# ----------------------------------------------------------------------------------------------
# peers
# ----------------------------------------------------------------------------------------------


class PerArmOLS(BaseEstimator, RegressorMixin):
    """econml DRLearner's model_regression: it is handed hstack([X, W, T]) with T one-hot (drop
    first, n_t columns). Fit one LinearRegression per treatment level on the other columns."""

    def __init__(self, n_t=1):
        self.n_t = n_t

    def _split(self, xt):
        xt = np.asarray(xt, dtype=float)
        feats, t = xt[:, :-self.n_t], xt[:, -self.n_t:]
        if not np.all((t == 0) | (t == 1)) or np.any(t.sum(axis=1) > 1):
            raise ValueError("treatment columns are not one-hot")
        level = np.where(t.sum(axis=1) == 0, 0, np.argmax(t, axis=1) + 1)
        return feats, level

    def fit(self, xt, y, sample_weight=None):
        feats, level = self._split(xt)
        y = np.asarray(y, dtype=float).ravel()
        self.models_ = {}
        for a in range(self.n_t + 1):
            rows = level == a
            if not rows.any():
                raise ValueError(f"no rows of treatment level {a}")
            sw = None if sample_weight is None else np.asarray(sample_weight)[rows]
            self.models_[a] = LinearRegression().fit(feats[rows], y[rows], sample_weight=sw)
        return self

    def predict(self, xt):
        feats, level = self._split(xt)
        out = np.empty(len(feats))
        for a, model in self.models_.items():
            rows = level == a
            if rows.any():
                out[rows] = model.predict(feats[rows])
        return out


def effect_ols(cols):
    """LinearRegression on the columns `cols` of the feature matrix (the restricted X-learner's
    effect regressions, for causalml and econml alike)."""
    return make_pipeline(ColumnTransformer([("keep", "passthrough", list(cols))]), LinearRegression())


def fold_splits(fold):
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(K_FOLDS)]


def sk_pair_propensity(x, w, arm):
    pair = (w == 0) | (w == arm)
    model = logit_model().fit(x[pair], (w[pair] == arm).astype(int))
    return model.predict_proba(x)[:, 1]


def col(a):
    a = np.asarray(a, dtype=float)
    return a.reshape(len(a), -1)


def maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


class Checker:
    def __init__(self):
        self.rows = []

    def __call__(self, learner, peer, a, b, tol_key=None):
        d = maxdiff(a, b)
        tol = TOL[tol_key or learner]
        self.rows.append((learner, peer, d, tol))
        if not d <= tol:
            raise SystemExit(f"{learner} / {peer}: max |diff| = {d:.3e} > {tol:.0e}")
        return d


def run_binary(df, check):
    x = df[XCOLS].to_numpy(dtype=float)
    w = df["w"].to_numpy()
    y = df["y"].to_numpy(dtype=float)
    e_true = df["e_true"].to_numpy(dtype=float)
    fold = df["fold"].to_numpy()
    splits = fold_splits(fold)
    out = {}
    learners = {}
    warn = {}

    # propensity (X-learner, in sample)
    p_ref = ref_pair_propensity(x, w, 1)
    p_sk = sk_pair_propensity(x, w, 1)
    out["p_ref"], out["p_sklearn"] = p_ref, p_sk
    d_p = check("propensity", "sklearn LogisticRegression(C=inf) lbfgs vs Newton MLE", p_sk, p_ref)

    # S
    s_ref = ref_s(x, w, y, 1)
    (s_cm, warn["s_causalml"]) = quiet(lambda: BaseSRegressor(LinearRegression()).fit_predict(x, treatment=w, y=y))
    est = SLearner(overall_model=LinearRegression())
    (_, warn["s_econml"]) = quiet(lambda: est.fit(y, w, X=x))
    s_ec = est.effect(x, T0=0, T1=1)
    out.update(s_ref=s_ref, s_causalml=col(s_cm)[:, 0], s_econml=np.ravel(s_ec))
    learners["s"] = {
        "definition": "OLS of y on [1, w, x]; CATE = coefficient of w (same for every row)",
        "ref_value": float(s_ref[0]),
        "peers": [
            peer("causalml", "BaseSRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y)",
                 check("s", "causalml", out["s_causalml"], s_ref)),
            peer("econml", "SLearner(overall_model=LinearRegression()).fit(y, w, X=X).effect(X)",
                 check("s", "econml", out["s_econml"], s_ref),
                 "features [x, 1 - w, w] with an intercept: rank-deficient, the min-norm lstsq "
                 "solution gives the same unique contrast"),
        ],
    }

    # T
    t_ref = ref_t(x, w, y, 1)
    (t_cm, warn["t_causalml"]) = quiet(lambda: BaseTRegressor(LinearRegression()).fit_predict(x, treatment=w, y=y))
    est = TLearner(models=LinearRegression())
    (_, warn["t_econml"]) = quiet(lambda: est.fit(y, w, X=x))
    out.update(t_ref=t_ref, t_causalml=col(t_cm)[:, 0], t_econml=np.ravel(est.effect(x, T0=0, T1=1)))
    learners["t"] = {
        "definition": "mu1(x) - mu0(x), OLS per arm",
        "peers": [
            peer("causalml", "BaseTRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y)",
                 check("t", "causalml", out["t_causalml"], t_ref)),
            peer("econml", "TLearner(models=LinearRegression()).fit(y, w, X=X).effect(X)",
                 check("t", "econml", out["t_econml"], t_ref)),
        ],
    }

    # X
    x_ref = ref_x(x, w, y, 1, p_ref)
    x_ref_skp = ref_x(x, w, y, 1, p_sk)
    (x_cm, warn["x_causalml"]) = quiet(lambda: BaseXRegressor(LinearRegression()).fit_predict(x, treatment=w, y=y, p=p_sk))
    est = XLearner(models=LinearRegression(), propensity_model=logit_model())
    (_, warn["x_econml"]) = quiet(lambda: est.fit(y, w, X=x))
    out.update(x_ref=x_ref, x_causalml=col(x_cm)[:, 0], x_econml=np.ravel(est.effect(x, T0=0, T1=1)))
    learners["x"] = {
        "definition": "p tau0 + (1 - p) tau1, p = in-sample unpenalised logistic (Newton MLE in the reference)",
        "peers": [
            peer("causalml", "BaseXRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y, p=p_sklearn)",
                 check("x", "causalml", out["x_causalml"], x_ref),
                 f"with the reference evaluated at the same p_sklearn: "
                 f"{check('x', 'causalml at p_sklearn', out['x_causalml'], x_ref_skp, 'x_same_p'):.3e}"),
            peer("econml", "XLearner(models=LinearRegression(), propensity_model=LogisticRegression(C=inf, tol=1e-10, max_iter=10000))",
                 check("x", "econml", out["x_econml"], x_ref),
                 f"with the reference evaluated at p_sklearn: "
                 f"{check('x', 'econml at p_sklearn', out['x_econml'], x_ref_skp, 'x_same_p'):.3e}"),
        ],
    }
    xe_ref = ref_x(x, w, y, 1, e_true)
    (xe_cm, warn["x_etrue_causalml"]) = quiet(lambda: BaseXRegressor(LinearRegression()).fit_predict(x, treatment=w, y=y, p=e_true))
    out.update(x_etrue_ref=xe_ref, x_etrue_causalml=col(xe_cm)[:, 0])
    learners["x_etrue"] = {
        "definition": "X-learner with p = e_true (known propensity)",
        "peers": [peer("causalml", "BaseXRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y, p=e_true)",
                       check("x_etrue", "causalml", out["x_etrue_causalml"], xe_ref))],
    }

    # X with restricted effect regressions (p matters), estimated p and p = e_true
    cols = XR_COLS["binary"]
    xr_ref = ref_x(x, w, y, 1, p_ref, cols)
    xr_ref_skp = ref_x(x, w, y, 1, p_sk, cols)
    xre_ref = ref_x(x, w, y, 1, e_true, cols)

    def xr_cm(p):
        return BaseXRegressor(control_outcome_learner=LinearRegression(), treatment_outcome_learner=LinearRegression(),
                              control_effect_learner=effect_ols(cols), treatment_effect_learner=effect_ols(cols)
                              ).fit_predict(x, treatment=w, y=y, p=p)
    (xr_c, warn["xr_causalml"]) = quiet(lambda: xr_cm(p_sk))
    (xre_c, warn["xr_etrue_causalml"]) = quiet(lambda: xr_cm(e_true))
    est = XLearner(models=LinearRegression(), cate_models=effect_ols(cols), propensity_model=logit_model())
    (_, warn["xr_econml"]) = quiet(lambda: est.fit(y, w, X=x))
    out.update(xr_ref=xr_ref, xr_causalml=col(xr_c)[:, 0], xr_econml=np.ravel(est.effect(x, T0=0, T1=1)),
               xr_etrue_ref=xre_ref, xr_etrue_causalml=col(xre_c)[:, 0])
    learners["xr"] = {
        "definition": f"X-learner as x, but the effect regressions tau_0, tau_1 are OLS on x columns {cols} only "
                      "(outcome models on all of x); p = in-sample logistic (Newton MLE in the reference)",
        "why": "with OLS on all of x, tau_1 = mu_1 - mu_0 = tau_0 in sample, so x equals t whatever p is "
               f"(max |x_ref - t_ref| = {maxdiff(x_ref, t_ref):.1e}); here p enters "
               f"(max |xr_ref - t_ref| = {maxdiff(xr_ref, t_ref):.3f}, "
               f"max |xr_ref(p) - xr_ref(1 - p swapped)| = {maxdiff(xr_ref, ref_x(x, w, y, 1, 1.0 - p_ref, cols)):.3f})",
        "peers": [
            peer("causalml", "BaseXRegressor(control_outcome_learner=LinearRegression(), treatment_outcome_learner="
                 "LinearRegression(), control_effect_learner=E, treatment_effect_learner=E).fit_predict(X, "
                 "treatment=w, y=y, p=p_sklearn), E = make_pipeline(ColumnTransformer([('keep', 'passthrough', "
                 f"{cols})]), LinearRegression())",
                 check("x", "xr causalml", out["xr_causalml"], xr_ref),
                 f"with the reference at the same p_sklearn: "
                 f"{check('x_same_p', 'xr causalml at p_sklearn', out['xr_causalml'], xr_ref_skp):.3e}"),
            peer("econml", "XLearner(models=LinearRegression(), cate_models=E, propensity_model=LogisticRegression("
                 "C=inf, tol=1e-10, max_iter=10000))",
                 check("x", "xr econml", out["xr_econml"], xr_ref),
                 f"with the reference at p_sklearn: "
                 f"{check('x_same_p', 'xr econml at p_sklearn', out['xr_econml'], xr_ref_skp):.3e}"),
        ],
    }
    learners["xr_etrue"] = {
        "definition": "xr with p = e_true",
        "peers": [peer("causalml", "as xr with p=e_true", check("x_etrue", "xr_etrue causalml",
                                                               out["xr_etrue_causalml"], xre_ref))],
    }

    # R
    r_ref, m_cf, e_cf = ref_r(x, w, y, fold)
    est = NonParamDML(model_y=LinearRegression(), model_t=logit_model(), model_final=LinearRegression(),
                      discrete_treatment=True, cv=splits)
    (_, warn["r_econml"]) = quiet(lambda: est.fit(y, w, X=x, cache_values=True))
    y_res, t_res = est._cached_values.nuisances[:2]
    out.update(r_ref=r_ref, r_econml=np.ravel(est.effect(x, T0=0, T1=1)), m_cf_ref=m_cf, e_cf_ref=e_cf)
    d_m = maxdiff(np.ravel(y_res), y - m_cf)
    d_e = maxdiff(np.ravel(t_res), w - e_cf)
    learners["r"] = {
        "definition": "WLS of (y - m)/(w - e) on [1, x], weights (w - e)^2; m, e cross-fitted on the fold column",
        "peers": [
            peer("econml", "NonParamDML(model_y=LinearRegression(), model_t=LogisticRegression(C=inf, tol=1e-10, max_iter=10000), "
                 "model_final=LinearRegression(), discrete_treatment=True, cv=fold splits)",
                 check("r", "econml", out["r_econml"], r_ref),
                 f"out-of-fold nuisances: max |Y_res - (y - m_ref)| = {d_m:.3e}, max |T_res - (w - e_ref)| = {d_e:.3e}"),
        ],
        "skipped": {"causalml": "BaseRRegressor cannot take given folds: BaseRLearner.fit calls "
                                "causalml.propensity.compute_r_residuals, which draws its own "
                                "StratifiedKFold(n_folds, shuffle=True, random_state) on the treatment "
                                "(no cv attribute or argument)"},
    }

    # DR
    dr_ref, mu0_cf, mu1_cf, e_cf2, phi = ref_dr(x, w, y, fold)
    est = DRLearner(model_regression=PerArmOLS(n_t=1), model_propensity=logit_model(),
                    model_final=LinearRegression(), cv=splits, min_propensity=1e-6)
    (_, warn["dr_econml"]) = quiet(lambda: est.fit(y, w, X=x, cache_values=True))
    y_pred, t_pred = est._cached_values.nuisances[:2]
    phi_ec = y_pred[:, 1] - y_pred[:, 0]
    out.update(dr_ref=dr_ref, dr_econml=np.ravel(est.effect(x, T0=0, T1=1)), mu0_cf_ref=mu0_cf,
               mu1_cf_ref=mu1_cf, phi_ref=phi, phi_econml=phi_ec)
    n = len(y)
    ate = float(np.mean(phi))
    learners["dr"] = {
        "definition": "OLS of phi on [1, x]; phi = mu1 - mu0 + w (y - mu1)/e - (1 - w)(y - mu0)/(1 - e), "
                      "mu_a (per-arm OLS) and e cross-fitted on the fold column",
        "ate": {"estimate": ate, "se": float(np.std(phi, ddof=1) / np.sqrt(n)),
                "se_ddof0": float(np.std(phi, ddof=0) / np.sqrt(n)),
                "econml_ate": float(np.ravel(est.ate(x, T0=0, T1=1))[0]),
                "definition": "estimate = mean(phi); se = sd(phi, ddof=1)/sqrt(n); econml_ate = "
                              "mean of econml's final-model CATE (= mean of its phi, OLS with intercept)"},
        "peers": [
            peer("econml", "DRLearner(model_regression=PerArmOLS(n_t=1), model_propensity=LogisticRegression(C=inf, tol=1e-10, "
                 "max_iter=10000), model_final=LinearRegression(), cv=fold splits, min_propensity=1e-6)",
                 check("dr", "econml", out["dr_econml"], dr_ref),
                 f"pseudo-outcome: max |phi_econml - phi_ref| = {check('dr', 'econml phi', phi_ec, phi):.3e}; "
                 f"propensity max |t_pred[:,1] - e_ref| = {maxdiff(t_pred[:, 1], e_cf2):.3e}"),
        ],
    }
    check("dr", "econml ate", learners["dr"]["ate"]["econml_ate"], ate)

    # DR, Kennedy's three-way split, known propensity e_true
    part = df["part3"].to_numpy()
    dr3_ref = ref_dr3(x, w, y, part, 1, e_true)
    (dr3_cm, warn["dr3_causalml"]) = quiet(lambda: BaseDRRegressor(LinearRegression()).fit_predict(
        x, treatment=w, y=y, p=e_true, seed=PART3_SEED, verbose=False))
    out.update(dr3_ref=dr3_ref, dr3_causalml=col(dr3_cm)[:, 0])
    learners["dr3"] = {
        "definition": "Kennedy's three-way split on part3: phi of part t from per-arm OLS on part t + 2 (mod 3) "
                      "and p = e_true; one OLS of phi on [1, x] per part; CATE = their mean",
        "peers": [peer("causalml", f"BaseDRRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y, p=e_true, "
                       f"seed={PART3_SEED}, verbose=False)", check("dr3", "causalml", out["dr3_causalml"], dr3_ref))],
    }
    if maxdiff(e_cf, e_cf2) != 0.0:
        raise SystemExit("R and DR reference propensities differ")
    return out, learners, {"propensity_max_abs_diff": d_p}, warn


def run_multi(df, check):
    x = df[XCOLS].to_numpy(dtype=float)
    w = df["w"].to_numpy()
    y = df["y"].to_numpy(dtype=float)
    out, learners, warn = {}, {}, {}
    arms = [1, 2]
    p_ref = {a: ref_pair_propensity(x, w, a) for a in arms}
    p_sk = {a: sk_pair_propensity(x, w, a) for a in arms}
    d_p = {a: check("propensity", f"multi arm {a}", p_sk[a], p_ref[a]) for a in arms}

    (s_cm, warn["s_causalml"]) = quiet(lambda: BaseSRegressor(LinearRegression()).fit_predict(x, treatment=w, y=y))
    (t_cm, warn["t_causalml"]) = quiet(lambda: BaseTRegressor(LinearRegression()).fit_predict(x, treatment=w, y=y))
    (x_cm, warn["x_causalml"]) = quiet(lambda: BaseXRegressor(LinearRegression()).fit_predict(x, treatment=w, y=y, p=p_sk))
    t_ec = TLearner(models=LinearRegression())
    (_, warn["t_econml"]) = quiet(lambda: t_ec.fit(y, w, X=x))
    x_ec = XLearner(models=LinearRegression(), propensity_model=logit_model())
    (_, warn["x_econml"]) = quiet(lambda: x_ec.fit(y, w, X=x))
    s_pool = SLearner(overall_model=LinearRegression())
    (_, warn["s_econml_pooled"]) = quiet(lambda: s_pool.fit(y, w, X=x))
    cols = XR_COLS["multi"]
    (xr_cm, warn["xr_causalml"]) = quiet(lambda: BaseXRegressor(
        control_outcome_learner=LinearRegression(), treatment_outcome_learner=LinearRegression(),
        control_effect_learner=effect_ols(cols), treatment_effect_learner=effect_ols(cols)
    ).fit_predict(x, treatment=w, y=y, p=p_sk))
    xr_ec = XLearner(models=LinearRegression(), cate_models=effect_ols(cols), propensity_model=logit_model())
    (_, warn["xr_econml"]) = quiet(lambda: xr_ec.fit(y, w, X=x))

    # DR with Kennedy's three-way split and the known randomization: the pair's propensity of
    # arm a is P(w = a | w in {0, a})
    part = df["part3"].to_numpy()
    p_pair = {a: np.full(len(y), MULTI_P[a] / (MULTI_P[0] + MULTI_P[a])) for a in arms}
    (dr3_cm, warn["dr3_causalml"]) = quiet(lambda: BaseDRRegressor(LinearRegression()).fit_predict(
        x, treatment=w, y=y, p=p_pair, seed=PART3_SEED, verbose=False))

    per = {k: [] for k in ("s", "t", "x", "xr", "dr3")}
    pooled_diff = {}
    for j, a in enumerate(arms):
        s_ref, t_ref = ref_s(x, w, y, a), ref_t(x, w, y, a)
        x_ref = ref_x(x, w, y, a, p_ref[a])
        out[f"s{a}_ref"], out[f"s{a}_causalml"] = s_ref, col(s_cm)[:, j]
        out[f"t{a}_ref"], out[f"t{a}_causalml"] = t_ref, col(t_cm)[:, j]
        out[f"t{a}_econml"] = np.ravel(t_ec.effect(x, T0=0, T1=a))
        out[f"x{a}_ref"], out[f"x{a}_causalml"] = x_ref, col(x_cm)[:, j]
        out[f"x{a}_econml"] = np.ravel(x_ec.effect(x, T0=0, T1=a))
        out[f"p{a}_ref"], out[f"p{a}_sklearn"] = p_ref[a], p_sk[a]
        per["s"].append({"arm": a, "causalml": check("s", f"causalml arm {a}", out[f"s{a}_causalml"], s_ref)})
        per["t"].append({"arm": a, "causalml": check("t", f"causalml arm {a}", out[f"t{a}_causalml"], t_ref),
                         "econml": check("t", f"econml arm {a}", out[f"t{a}_econml"], t_ref)})
        per["x"].append({"arm": a, "causalml": check("x", f"causalml arm {a}", out[f"x{a}_causalml"], x_ref),
                         "econml": check("x", f"econml arm {a}", out[f"x{a}_econml"], x_ref)})
        xr_ref = ref_x(x, w, y, a, p_ref[a], cols)
        out[f"xr{a}_ref"], out[f"xr{a}_causalml"] = xr_ref, col(xr_cm)[:, j]
        out[f"xr{a}_econml"] = np.ravel(xr_ec.effect(x, T0=0, T1=a))
        per["xr"].append({"arm": a, "causalml": check("x", f"xr causalml arm {a}", out[f"xr{a}_causalml"], xr_ref),
                          "econml": check("x", f"xr econml arm {a}", out[f"xr{a}_econml"], xr_ref),
                          "max_abs_diff_xr_ref_vs_t_ref": maxdiff(xr_ref, t_ref)})
        dr3_ref = ref_dr3(x, w, y, part, a, p_pair[a])
        out[f"dr3_{a}_ref"], out[f"dr3_{a}_causalml"] = dr3_ref, col(dr3_cm)[:, j]
        per["dr3"].append({"arm": a, "causalml": check("dr3", f"causalml arm {a}", out[f"dr3_{a}_causalml"], dr3_ref)})
        pooled_diff[a] = maxdiff(np.ravel(s_pool.effect(x, T0=0, T1=a)), s_ref)
        per["s"][-1]["ref_value"] = float(s_ref[0])
        per["s"][-1]["econml_pooled_value"] = float(np.ravel(s_pool.effect(x, T0=0, T1=a))[0])

    learners["s"] = {"definition": "per arm a: OLS of y on [1, 1{w=a}, x] over rows w in {0, a}",
                     "peers": [peer("causalml", "BaseSRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y)", None)],
                     "max_abs_diff_by_arm": per["s"]}
    learners["t"] = {"definition": "mu_a(x) - mu_0(x)",
                     "peers": [peer("causalml", "BaseTRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y)", None),
                               peer("econml", "TLearner(models=LinearRegression()).fit(y, w, X=X).effect(X, T0=0, T1=a)", None)],
                     "max_abs_diff_by_arm": per["t"]}
    learners["x"] = {"definition": "p_a tau_0 + (1 - p_a) tau_a, p_a = logistic of 1{w=a} on x over rows w in {0, a}, predicted on all rows",
                     "peers": [peer("causalml", "BaseXRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y, p={1: p1_sklearn, 2: p2_sklearn})", None),
                               peer("econml", "XLearner(models=LinearRegression(), propensity_model=LogisticRegression(C=inf, ...)).effect(X, T0=0, T1=a)", None)],
                     "max_abs_diff_by_arm": per["x"]}
    learners["xr"] = {"definition": f"as x, effect regressions on x columns {cols} only (see binary.learners.xr)",
                      "peers": [peer("causalml", "BaseXRegressor(..., control_effect_learner=E, treatment_effect_learner=E)"
                                     ".fit_predict(X, treatment=w, y=y, p={1: p1_sklearn, 2: p2_sklearn})", None),
                                peer("econml", "XLearner(models=LinearRegression(), cate_models=E, propensity_model="
                                     "LogisticRegression(C=inf, ...))", None)],
                      "max_abs_diff_by_arm": per["xr"]}
    learners["dr3"] = {"definition": "per arm a, as binary.learners.dr3 on the rows w in {0, a}, with p = "
                                     "P(w = a | w in {0, a}) = 0.3 / (0.4 + 0.3)",
                       "peers": [peer("causalml", f"BaseDRRegressor(LinearRegression()).fit_predict(X, treatment=w, y=y, "
                                      f"p={{1: p_pair, 2: p_pair}}, seed={PART3_SEED}, verbose=False)", None)],
                       "max_abs_diff_by_arm": per["dr3"]}
    extra = {"propensity_max_abs_diff_by_arm": d_p,
             "econml_slearner_multi_pooled": {
                 "call": "SLearner(overall_model=LinearRegression()).fit(y, w, X=X).effect(X, T0=0, T1=a)",
                 "max_abs_diff_vs_pairwise_s_ref": pooled_diff,
                 "why": "econml fits ONE OLS on all rows with features [x, 1{w=0}, 1{w=1}, 1{w=2}], so the "
                        "x-slopes are pooled over the three arms; the pairwise S-learner fits control and "
                        "arm a only. Not a peer."}}
    return out, learners, extra, warn


def peer(name, call, max_abs_diff, note=None):
    pkg = {"causalml": "causalml", "econml": "econml"}[name]
    d = {"peer": name, "version": version(pkg), "call": call}
    if max_abs_diff is not None:
        d["max_abs_diff_vs_ref"] = max_abs_diff
    if note:
        d["note"] = note
    return d


# ----------------------------------------------------------------------------------------------
# uplift evaluation: numpy re-implementations of the two libraries' formulas
# ----------------------------------------------------------------------------------------------


def order_desc(s):
    # no ties in the fixture's score; both libraries then give this order
    return np.argsort(-s, kind="stable")


def interp_nan(v):
    """pandas Series.interpolate() (linear in position, forward) for a curve whose entry 0 is 0."""
    v = v.copy()
    bad = np.isnan(v)
    idx = np.arange(len(v))
    v[bad] = np.interp(idx[bad], idx[~bad], v[~bad])
    return v


def cm_curves(y, w, s):
    o = order_desc(s)
    y, w = y[o].astype(float), w[o].astype(float)
    k = np.arange(1, len(y) + 1, dtype=float)
    nt = np.cumsum(w)
    nc = k - nt
    yt = np.cumsum(y * w)
    yc = np.cumsum(y * (1 - w))
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = yt / nt - yc / nc
        qini = yt - yc * nt / nc
    lift = interp_nan(np.r_[0.0, lift])
    qini = interp_nan(np.r_[0.0, qini])
    gain = lift * np.arange(len(lift))
    return gain, qini


def cm_scores(gain, qini):
    n1 = len(qini)
    return {"auuc": float(gain.sum() / n1),
            "qini": float((qini.sum() - np.linspace(qini[0], qini[-1], n1).sum()) / n1)}


def sk_order(s):
    return np.argsort(s, kind="mergesort")[::-1]


def sk_curves(y, w, s):
    o = sk_order(s)
    y, w, s = y[o].astype(float), w[o].astype(float), s[o]
    thr = np.r_[np.where(np.diff(s))[0], len(s) - 1]
    nt = np.cumsum(w)[thr]
    yt = np.cumsum(y * w)[thr]
    yc = np.cumsum(y * (1 - w))[thr]
    k = (thr + 1).astype(float)
    nc = k - nt
    mt = np.divide(yt, nt, out=np.zeros_like(yt), where=nt != 0)
    mc = np.divide(yc, nc, out=np.zeros_like(yc), where=nc != 0)
    upl = (mt - mc) * k
    ratio = np.divide(nt, nc, out=np.zeros_like(nt), where=nc != 0)
    qin = yt - yc * ratio
    return np.r_[0.0, k], np.r_[0.0, upl], np.r_[0.0, qin]


def trapz(x, y):
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def sk_norm_auc(xa, ya, xp, yp):
    base = trapz(np.array([0.0, xp[-1]]), np.array([0.0, yp[-1]]))
    return (trapz(xa, ya) - base) / (trapz(xp, yp) - base)


def sk_by_percentile(y, w, s, strategy, bins):
    o = sk_order(s)
    y, w = y[o].astype(float), w[o]
    res = {}
    for g, flag in (("treatment", 1), ("control", 0)):
        if strategy == "overall":
            parts = [(yy[ww == flag]) for yy, ww in zip(np.array_split(y, bins), np.array_split(w, bins))]
        else:
            parts = np.array_split(y[w == flag], bins)
        n = np.array([len(p) for p in parts], dtype=float)
        r = np.array([p.mean() for p in parts])
        res[g] = (r, r * (1 - r) / n, n)
    (rt, vt, n_t), (rc, vc, n_c) = res["treatment"], res["control"]
    return {"n_treatment": n_t, "n_control": n_c, "response_rate_treatment": rt,
            "response_rate_control": rc, "uplift": rt - rc, "std_treatment": np.sqrt(vt),
            "std_control": np.sqrt(vc), "std_uplift": np.sqrt(vt + vc)}


def keep_index(n_points):
    last = n_points - 1
    idx = set(range(11)) | set(range(0, last + 1, 500)) | set(range(last - 10, last + 1))
    return sorted(i for i in idx if 0 <= i <= last)


def curve_block(values, x=None, full=False):
    values = np.asarray(values, dtype=float)
    if full:
        return {"x": np.asarray(x, dtype=float), "y": values, "n_points": len(values)}
    keep = keep_index(len(values))
    blk = {"n_points": len(values), "index": keep, "value": values[keep],
           "sum": float(values.sum()), "sum_sq": float(np.sum(values**2))}
    if x is not None:
        blk["x"] = np.asarray(x, dtype=float)[keep]
    return blk


def run_uplift(df, check):
    w = df["w"].to_numpy()
    s = df["score"].to_numpy(dtype=float)
    if len(np.unique(s)) != len(s):
        raise SystemExit("uplift score has ties; the fixture assumes none")
    doc = {"causalml": {}, "sklift": {}}
    for yname in ("y", "y_bin"):
        y = df[yname].to_numpy()
        frame = pd.DataFrame({"y": y, "w": w, "score": s})
        gain_ref, qini_ref = cm_curves(y, w, s)
        blk = {}
        for norm in (False, True):
            g = cm_metrics.get_cumgain(frame, outcome_col="y", treatment_col="w", normalize=norm)["score"].to_numpy()
            q = cm_metrics.get_qini(frame, outcome_col="y", treatment_col="w", normalize=norm)["score"].to_numpy()
            g_ref = gain_ref / abs(gain_ref[-1]) if norm else gain_ref
            q_ref = qini_ref / abs(qini_ref[-1]) if norm else qini_ref
            check("uplift", f"causalml get_cumgain {yname} normalize={norm}", g, g_ref)
            check("uplift", f"causalml get_qini {yname} normalize={norm}", q, q_ref)
            tag = "normalize_true" if norm else "normalize_false"
            blk[f"cumgain_{tag}"] = curve_block(g)
            blk[f"qini_{tag}"] = curve_block(q)
            sc = cm_scores(g_ref, q_ref)
            auuc = float(cm_metrics.auuc_score(frame, outcome_col="y", treatment_col="w", normalize=norm)["score"])
            qs = float(cm_metrics.qini_score(frame, outcome_col="y", treatment_col="w", normalize=norm)["score"])
            check("uplift", f"causalml auuc_score {yname} normalize={norm}", auuc, sc["auuc"])
            check("uplift", f"causalml qini_score {yname} normalize={norm}", qs, sc["qini"])
            blk[f"auuc_score_{tag}"] = auuc
            blk[f"qini_score_{tag}"] = qs
        blk["default_normalize"] = True
        doc["causalml"][yname] = blk

    # scikit-uplift on the binary outcome
    yb = df["y_bin"].to_numpy()
    xs, ups, qis = sk_curves(yb, w, s)
    sk = {}
    xq, vq = sk_metrics.qini_curve(yb, s, w)
    xu, vu = sk_metrics.uplift_curve(yb, s, w)
    check("uplift", "sklift qini_curve x", xq, xs)
    check("uplift", "sklift qini_curve", vq, qis)
    check("uplift", "sklift uplift_curve x", xu, xs)
    check("uplift", "sklift uplift_curve", vu, ups)
    sk["qini_curve"] = curve_block(vq, xq)
    sk["uplift_curve"] = curve_block(vu, xu)

    # perfect curves
    cr = int(np.sum((yb == 1) & (w == 0)))
    tn = int(np.sum((yb == 0) & (w == 1)))
    summand = yb if cr > tn else w
    perfect_uplift_score = 2 * (yb == w) + summand
    xpu, ypu = sk_metrics.perfect_uplift_curve(yb, w)
    xpu_ref, ypu_ref, _ = sk_curves(yb, w, perfect_uplift_score.astype(float))
    check("uplift", "sklift perfect_uplift_curve", np.r_[xpu, ypu], np.r_[xpu_ref, ypu_ref])
    xpq, ypq = sk_metrics.perfect_qini_curve(yb, w, negative_effect=True)
    xpq_ref, _, ypq_ref = sk_curves(yb, w, (yb * w - yb * (1 - w)).astype(float))
    check("uplift", "sklift perfect_qini_curve", np.r_[xpq, ypq], np.r_[xpq_ref, ypq_ref])
    xpq2, ypq2 = sk_metrics.perfect_qini_curve(yb, w, negative_effect=False)
    ratio_random = float(yb[w == 1].sum() - (w == 1).sum() * yb[w == 0].sum() / (w == 0).sum())
    check("uplift", "sklift perfect_qini_curve(negative_effect=False)", np.r_[xpq2, ypq2],
          np.r_[0.0, ratio_random, len(yb), 0.0, ratio_random, ratio_random])
    sk["perfect_uplift_curve"] = curve_block(ypu, xpu, full=True)
    sk["perfect_uplift_curve"]["cr_num"], sk["perfect_uplift_curve"]["tn_num"] = cr, tn
    sk["perfect_qini_curve"] = curve_block(ypq, xpq, full=True)
    sk["perfect_qini_curve_no_negative"] = curve_block(ypq2, xpq2, full=True)

    qa = sk_metrics.qini_auc_score(yb, s, w)
    qa2 = sk_metrics.qini_auc_score(yb, s, w, negative_effect=False)
    ua = sk_metrics.uplift_auc_score(yb, s, w)
    check("uplift", "sklift qini_auc_score", qa, sk_norm_auc(xs, qis, xpq_ref, ypq_ref))
    check("uplift", "sklift qini_auc_score(negative_effect=False)", qa2,
          sk_norm_auc(xs, qis, np.array([0.0, ratio_random, len(yb)]), np.array([0.0, ratio_random, ratio_random])))
    check("uplift", "sklift uplift_auc_score", ua, sk_norm_auc(xs, ups, xpu_ref, ypu_ref))
    sk["qini_auc_score"] = float(qa)
    sk["qini_auc_score_negative_effect_false"] = float(qa2)
    sk["uplift_auc_score"] = float(ua)

    for strategy in ("overall", "by_group"):
        tab = sk_metrics.uplift_by_percentile(yb, s, w, strategy=strategy, bins=10, std=True)
        ref = sk_by_percentile(yb, w, s, strategy, 10)
        blk = {"percentile": list(tab.index)}
        for c in ("n_treatment", "n_control", "response_rate_treatment", "response_rate_control",
                  "uplift", "std_treatment", "std_control", "std_uplift"):
            check("uplift", f"sklift uplift_by_percentile {strategy} {c}", tab[c].to_numpy(), ref[c])
            v = tab[c].to_numpy()
            blk[c] = [int(t) for t in v] if c.startswith("n_") else v
        sk[f"uplift_by_percentile_{strategy}"] = blk
    doc["sklift"]["y_bin"] = sk

    # scikit-uplift's curves on the continuous y, binary check switched off
    yc = df["y"].to_numpy(dtype=float)
    saved = sk_metrics_module.check_is_binary
    sk_metrics_module.check_is_binary = lambda a: None
    try:
        xq_c, vq_c = sk_metrics.qini_curve(yc, s, w)
        xu_c, vu_c = sk_metrics.uplift_curve(yc, s, w)
    finally:
        sk_metrics_module.check_is_binary = saved
    try:
        sk_metrics.qini_curve(yc, s, w)
        refused = None
    except ValueError as err:
        refused = str(err).split(".")[0]
    xs_c, ups_c, qis_c = sk_curves(yc, w, s)
    check("uplift", "sklift qini_curve continuous", vq_c, qis_c)
    check("uplift", "sklift uplift_curve continuous", vu_c, ups_c)
    doc["sklift"]["unchecked_continuous_y"] = {
        "note": "sklift.metrics.metrics.check_is_binary replaced by a no-op for these two calls; with "
                "the check a non-binary y raises ValueError (here numpy's broadcast error from "
                f"np.unique(y) == np.array([0, 1]) inside check_is_binary: {refused!r})",
        "qini_curve": curve_block(vq_c, xq_c), "uplift_curve": curve_block(vu_c, xu_c)}

    # how the two libraries' curves relate (continuous y)
    g_cm, q_cm = cm_curves(yc, w, s)
    o = order_desc(s)
    k = np.arange(1, len(s) + 1)
    nt = np.cumsum(w[o])
    both = (nt > 0) & (nt < k)
    first_both = int(np.argmax(both)) + 1
    doc["relations_continuous_y"] = {
        "first_row_count_with_both_arms": first_both,
        "max_abs_diff_causalml_qini_vs_sklift_qini_from_that_row": maxdiff(q_cm[first_both:], vq_c[first_both:]),
        "max_abs_diff_causalml_cumgain_vs_sklift_uplift_curve_from_that_row": maxdiff(g_cm[first_both:], vu_c[first_both:]),
        "note": "equal wherever both arms are present among the targeted rows; before that causalml "
                "interpolates linearly from (0, 0) and scikit-uplift puts 0 for the missing arm's mean",
    }
    if doc["relations_continuous_y"]["max_abs_diff_causalml_qini_vs_sklift_qini_from_that_row"] > 1e-8:
        raise SystemExit("causalml and sklift Qini curves disagree after both arms are present")
    return doc


FORMULAS = {
    "order": "rows sorted by score descending (causalml: DataFrame.sort_values(ascending=False), pandas' "
             "default quicksort, so tie order is unspecified; sklift: argsort(kind='mergesort')[::-1], "
             "ties in reverse row order). The fixture's score has no ties.",
    "causalml_cumgain": "k = 0..n rows targeted; Nt_k, Nc_k, Yt_k, Yc_k cumulative counts/sums; "
                        "lift_k = Yt_k/Nt_k - Yc_k/Nc_k (NaN where an arm is absent), lift_0 = 0, NaNs "
                        "filled by linear interpolation; gain_k = k lift_k; normalize: gain / |gain_n|",
    "causalml_qini": "Q_k = Yt_k - Yc_k Nt_k / Nc_k (NaN where Nc_k = 0, interpolated), Q_0 = 0; "
                     "normalize: Q / |Q_n|",
    "causalml_auuc_score": "sum_{k=0..n} gain_k / (n + 1) (default normalize=True); no random baseline",
    "causalml_qini_score": "(sum_k Q_k - sum_k linspace(Q_0, Q_n, n + 1)_k) / (n + 1) = mean(Q) - Q_n/2 "
                           "(default normalize=True)",
    "sklift_uplift_curve": "at each distinct score threshold (and a prepended (0, 0)): x = rows targeted, "
                           "y = (Yt/Nt - Yc/Nc) x, a mean taken as 0 where its arm is absent",
    "sklift_qini_curve": "x as above, y = Yt - Yc Nt/Nc (ratio 0 where Nc = 0)",
    "sklift_perfect_uplift_curve": "uplift_curve with score 2 1{y = w} + (y if CR > TN else w), CR = #{y=1, w=0}, "
                                   "TN = #{y=0, w=1}",
    "sklift_perfect_qini_curve": "negative_effect=True: qini_curve with score y w - y (1 - w); False: the points "
                                 "(0, 0), (R, R), (n, R), R = Yt - Nt Yc / Nc over all rows (R is used as an "
                                 "x value too)",
    "sklift_auc_scores": "(AUC_model - AUC_base) / (AUC_perfect - AUC_base), AUC = trapezoid over x in rows, "
                         "base = the segment (0, 0)-(x_perfect_last, y_perfect_last)",
    "sklift_uplift_by_percentile": "overall: np.array_split of the sorted rows into bins (the first n mod bins "
                                   "bins one row longer), then per bin the mean y of each arm; by_group: each "
                                   "arm's sorted rows split separately; var = r (1 - r)/n_arm, std_uplift = "
                                   "sqrt(var_t + var_c); percentile label round(100 i/bins)",
}


def main():
    if not Path("tools/golden").is_dir():
        raise SystemExit("run from the repository root")
    FIX.mkdir(exist_ok=True)
    check = Checker()

    bin_df = write_csv(BIN_CSV, simulate_binary())
    multi_df = write_csv(MULTI_CSV, simulate_multi())
    up_df = write_csv(UPLIFT_CSV, simulate_uplift())

    bin_out, bin_learners, bin_extra, bin_warn = run_binary(bin_df, check)
    multi_out, multi_learners, multi_extra, multi_warn = run_multi(multi_df, check)
    write_csv(BIN_PEER_CSV, bin_out)
    write_csv(MULTI_PEER_CSV, multi_out)

    if "SOURCE_DATE_EPOCH" in os.environ:
        date = datetime.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), datetime.UTC).date()
    else:
        date = datetime.date.today()
    prov = {
        "script": "tools/golden/meta.py",
        "requirements": "tools/golden/requirements-meta.txt",
        "command": "/work/venv-meta/bin/python tools/golden/meta.py",
        "date": date.isoformat(),
        "python": platform.python_version(),
        "causalml": version("causalml"),
        "econml": version("econml"),
        "scikit-uplift": version("scikit-uplift"),
        "scikit-learn": version("scikit-learn"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "seed": SEEDS,
    }
    meta_doc = {
        "provenance": prov,
        "files": {"binary": str(BIN_CSV), "binary_peer": str(BIN_PEER_CSV), "multi": str(MULTI_CSV),
                  "multi_peer": str(MULTI_PEER_CSV)},
        "base_learners": {
            "regression": "sklearn LinearRegression() (OLS with intercept); reference np.linalg.lstsq",
            "propensity": "sklearn LogisticRegression(C=np.inf, tol=1e-10, max_iter=10000), lbfgs; "
                          "C=np.inf is 1.9's spelling of penalty=None (deprecated); reference = Newton MLE",
        },
        "peer_columns": "peer CSVs: <learner>_ref (numpy definition), <learner>_<peer>; binary nuisances "
                        "p_ref/p_sklearn (in-sample logistic), m_cf_ref, e_cf_ref, mu0_cf_ref, mu1_cf_ref, "
                        "phi_ref, phi_econml, dr3 (_ref, _causalml); multi: s1/s2, t1/t2, x1/x2, dr3_1/dr3_2 per arm and p1/p2 (_ref, _sklearn)",
        "tolerances": TOL,
        "binary": {"learners": bin_learners, **bin_extra},
        "multi": {"learners": multi_learners, **multi_extra},
        "checks": [{"learner": a, "peer": b, "max_abs_diff": d, "tol": t} for a, b, d, t in check.rows],
        "warnings": {"binary": {k: v for k, v in bin_warn.items() if v},
                     "multi": {k: v for k, v in multi_warn.items() if v}},
    }
    n_meta_checks = len(check.rows)
    META_JSON.write_text(json.dumps(to_py(meta_doc), indent=1) + "\n")

    up = run_uplift(up_df, check)
    up_doc = {
        "provenance": prov,
        "file": str(UPLIFT_CSV),
        "dgp": {"x0": "N(0,1)", "w": "Bernoulli(0.5)", "tau": "0.5 + x0", "y": "x0 + w tau + N(0,1)",
                "score": "tau + N(0, 0.5^2)", "y_bin": "1{y > 0}"},
        "formulas": FORMULAS,
        "curve_points": "index = rows targeted k; kept: 0..10, every 500th, last 11; sum and sum_sq over all n + 1 points",
        **up,
        "checks": [{"what": b, "max_abs_diff": d} for a, b, d, t in check.rows[n_meta_checks:]],
    }
    UPLIFT_JSON.write_text(json.dumps(to_py(up_doc), indent=1) + "\n")

    for a, b, d, t in check.rows[:n_meta_checks]:
        print(f"{a:10s} {b:60s} {d:.3e}")
    worst = max(d for a, b, d, t in check.rows[n_meta_checks:])
    print(f"uplift: {len(check.rows) - n_meta_checks} checks, worst {worst:.3e}")
    print("DR ATE", bin_learners["dr"]["ate"])


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"done in {time.time() - t0:.1f}s", file=sys.stderr)
