#!/usr/bin/env python3
"""Reference values for Callaway & Sant'Anna (2021) staggered DiD on mpdta, with analytic
influence-function standard errors (bootstrap off), from the Python ports of R `did` and
`DRDID`.

Peers (all pinned in tools/golden/requirements-did-cs.txt, Python 3.11):

- `csdid` 0.4.3 (Python port of R `did`): every ATT(g,t) cell with its analytic SE, the Wald
  pre-test, and the `aggte` aggregations (simple, dynamic, group, calendar, dynamic with
  balance_e=1). Called as `ATTgt(...).fit(est_method=..., base_period=..., bstrap=False)`.
- `drdid` 1.1.7 (Python port of R `DRDID`): the 2x2 estimators drdid_panel, reg_did_panel,
  std_ipw_did_panel, drdid_rc, reg_did_rc, std_ipw_did_rc. They return (ATT, influence
  function) only; the SE fields are computed here from that influence function (see notes).
- `moderndid` 0.2.0 (another Python port of `did`/`DRDID`): only for the improved DR
  estimators, which `drdid` does not have (drdid_imp_panel; R's drdid_imp_rc, which
  moderndid calls drdid_imp_local_rc), and as a second peer for the cross-checks.

Run from the repository root, in a virtual environment made from that requirements file:

    python3.11 -m venv /work/venv-cs
    /work/venv-cs/bin/pip install -r tools/golden/requirements-did-cs.txt
    /work/venv-cs/bin/python tools/golden/did_cs.py

It reads ../shared/data/mpdta/mpdta.csv (relative to the repository root) and writes
tools/golden/fixtures/did_cs.json. Nothing is random (no bootstrap), so two runs are
byte-identical. num / rel / quiet come from golden_common.py beside it; did_cs_rc.py imports
this script's csdid/moderndid helpers (cells_of, pretest_of, aggregations, moderndid_summary,
provenance, write_fixture), so keep them general.

The script checks itself and stops with an error if a check fails:
- the no-covariate cells against closed-form differences of mean changes (SE^2 = s1^2/N1 +
  s0^2/N0, divide-by-N variances), and every dr/reg/ipw cell against a plain-numpy
  re-implementation of the spec's formulas (Newton logit to 1e-15);
- the Wald statistic against n * theta' V^-1 theta recomputed from the port's influence
  functions, and the cluster SEs against cluster sums of those influence functions;
- every 2x2 influence function against n * dATT/dw_i by central finite differences (exact for
  all but R's drdid_rc formula and drdid_imp_rc, which are recorded; see the fixture's notes);
- the moderndid port against csdid (att_gt, aggte) and drdid (2x2), about 1e-15, except the
  drdid_rc influence function, where the two ports differ (notes).
It also compares case A with ../shared/specs/did-cs.md section 6.2 and every printed number
of ../shared/data/mpdta/REFERENCE.md, and stores the outcome under "cross_checks" (these are
recorded, not asserted).
"""

from __future__ import annotations

import importlib
import json
import math
import platform
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2

from csdid.att_gt import ATTgt
from drdid import drdid as drdid_dr
from drdid import ipwd_did as drdid_ipw
from drdid import reg_did as drdid_reg
from moderndid.did import aggte as md_aggte
from moderndid.did import att_gt as md_att_gt

from golden_common import num, quiet, rel

# `moderndid.drdid` the attribute is a function; the submodule is only reachable this way
md_drdid = importlib.import_module("moderndid.drdid")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "mpdta" / "mpdta.csv"
OUT = ROOT / "tools" / "golden" / "fixtures" / "did_cs.json"

COLS = dict(yname="lemp", tname="year", idname="countyreal", gname="first.treat")

CASES = {
    # name: (xformla, control_group, est_method, base_period, clustervar, aggregate)
    "A": (None, "nevertreated", "dr", "varying", None, True),
    "A2": (None, "notyettreated", "dr", "varying", None, False),
    "A3": (None, "nevertreated", "dr", "universal", None, False),
    "C": ("~lpop", "nevertreated", "dr", "varying", None, True),
    "C_reg": ("~lpop", "nevertreated", "reg", "varying", None, False),
    "C_ipw": ("~lpop", "nevertreated", "ipw", "varying", None, False),
    "D": ("~lpop", "notyettreated", "dr", "varying", None, False),
    "A_cluster_state": (None, "nevertreated", "dr", "varying", "state", True),
}


# The aggregations stored for a case: (fixture key, aggte type, balance_e).
AGGREGATIONS = (
    ("simple", "simple", None),
    ("dynamic", "dynamic", None),
    ("group", "group", None),
    ("calendar", "calendar", None),
    ("dynamic_balance_e1", "dynamic", 1),
)
AGG_KEY = {"dynamic": "e", "group": "g", "calendar": "t"}  # component key of each aggte type


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------


def load() -> pd.DataFrame:
    df = pd.read_csv(DATA)
    df["state"] = df["countyreal"] // 1000
    return df.sort_values(["countyreal", "year"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# att_gt / aggte from csdid
# ---------------------------------------------------------------------------------------


def fit_csdid(df, xformla, control_group, est_method, base_period, clustervar):
    # csdid takes a patsy formula; "lemp ~ lpop" is R's ~lpop (intercept added by patsy).
    formula = None if xformla is None else "lemp " + xformla
    model, w = quiet(
        lambda: ATTgt(
            data=df, control_group=control_group, xformla=formula, clustervar=clustervar, **COLS
        ).fit(est_method=est_method, base_period=base_period, bstrap=False)
    )
    return model, w


def cells_of(model):
    r = model.results
    return [
        {"g": int(g), "t": int(t), "att": num(a), "se": num(s)}
        for g, t, a, s in zip(r["group"], r["year"], r["att"], r["se"])
    ]


def pretest_of(model, cells):
    W, p = model.MP["W"], model.MP["Wpval"]
    if W is None:
        return None
    # The port does not return df: it is the number of pre-treatment cells (g > t) whose SE
    # is finite and positive, exactly the cells its _wald_pretest keeps.
    df_ = sum(1 for c in cells if c["g"] > c["t"] and c["se"] is not None)
    return {"W": num(W), "df": df_, "p": num(p), "p_unrounded": num(chi2.sf(W, df_))}


def aggte_block(model, typec, balance_e=None):
    model_, _ = quiet(model.aggte, typec=typec, balance_e=balance_e)
    a = model_.atte
    out = {"att": num(a["overall_att"]), "se": num(a["overall_se"])}
    if typec != "simple":
        se = np.asarray(a["se_egt"], dtype=float).ravel()
        out["components"] = [
            {AGG_KEY[typec]: int(k), "att": num(v), "se": num(s)}
            for k, v, s in zip(a["egt"], a["att_egt"], se)
        ]
    return out


def aggregations(model, specs=AGGREGATIONS):
    """csdid's aggte for every (key, type, balance_e) in specs."""
    return {key: aggte_block(model, typ, be) for key, typ, be in specs}


# ---------------------------------------------------------------------------------------
# own numpy re-implementation (cross-check only; the fixture's numbers are the peer's)
# ---------------------------------------------------------------------------------------


def _logit(X, D, w):
    b = np.zeros(X.shape[1])
    for _ in range(200):
        p = 1.0 / (1.0 + np.exp(-(X @ b)))
        step = np.linalg.solve(X.T @ (X * (w * p * (1 - p))[:, None]), X.T @ (w * (D - p)))
        b = b + step
        if np.max(np.abs(step)) < 1e-15:
            break
    return 1.0 / (1.0 + np.exp(-(X @ b)))


def own_2x2(dy, D, X, w, method):
    """Spec sections 2.1-2.3 (reg / std ipw / traditional dr), returning (ATT, phi)."""
    m = len(D)
    w = w / w.mean()
    C = D == 0
    beta = np.linalg.solve(X[C].T @ (X[C] * w[C, None]), X[C].T @ (w[C] * dy[C]))
    mh = X @ beta
    ell = (X * (w * (1 - D) * (dy - mh))[:, None]) @ np.linalg.inv((X * (w * (1 - D))[:, None]).T @ X / m)
    if method == "reg":
        pbar = np.mean(w * D)
        e1, e0 = np.mean(w * D * dy) / pbar, np.mean(w * D * mh) / pbar
        phi = w * D * (dy - e1) / pbar - (w * D * (mh - e0) + ell @ np.mean((w * D)[:, None] * X, 0)) / pbar
        return e1 - e0, phi
    p = np.minimum(_logit(X, D, w), 1 - 1e-6)
    tau = np.where(D == 1, True, p < 0.995)
    lam = (X * (w * (D - p))[:, None]) @ np.linalg.inv(X.T @ (X * (w * p * (1 - p))[:, None])) * m
    v1, v0 = tau * w * D, tau * w * p * (1 - D) / (1 - p)
    r = dy if method == "ipw" else dy - mh
    e1, e0 = np.mean(v1 * r) / np.mean(v1), np.mean(v0 * r) / np.mean(v0)
    phi1 = v1 * (r - e1)
    phi0 = v0 * (r - e0) + lam @ np.mean((v0 * (r - e0))[:, None] * X, 0)
    if method == "dr":
        phi1 = phi1 - ell @ np.mean(v1[:, None] * X, 0)
        phi0 = phi0 - ell @ np.mean(v0[:, None] * X, 0)
    return e1 - e0, phi1 / np.mean(v1) - phi0 / np.mean(v0)


def own_cells(df, xformla, control_group, est_method, base_period):
    """All ATT(g,t) and SEs by the spec (sections 1.2-1.4, 2, 3.1), for the cross-check."""
    wide = df.pivot(index="countyreal", columns="year", values="lemp")
    unit = df.groupby("countyreal")[["first.treat", "lpop"]].first()
    G = unit["first.treat"].to_numpy()
    years = sorted(df["year"].unique())
    out = []
    for g in sorted(set(G) - {0}):
        bg = max(j for j, y in enumerate(years) if y < g)
        for j in range(0 if base_period == "universal" else 1, len(years)):
            t = years[j]
            b = bg if (t >= g or base_period == "universal") else j - 1
            if j == b:
                out.append((g, t, 0.0, math.nan))
                continue
            if control_group == "nevertreated":
                ctrl = G == 0
            else:
                tau = years[max(j, b)]
                ctrl = (G == 0) | ((G > tau) & (G != g))
            sel = ctrl | (G == g)
            dy = (wide[t] - wide[years[b]]).to_numpy()[sel]
            D = (G[sel] == g).astype(float)
            X = np.ones((sel.sum(), 1))
            if xformla is not None:
                X = np.column_stack([X, unit["lpop"].to_numpy()[sel]])
            att, phi = own_2x2(dy, D, X, np.ones(len(D)), est_method)
            out.append((g, t, att, math.sqrt(np.sum(phi**2)) / len(D)))
    return out


def closed_form_cells(df, control_group):
    """No covariates: difference of mean changes; SE^2 = s1^2/N1 + s0^2/N0 (ddof 0)."""
    wide = df.pivot(index="countyreal", columns="year", values="lemp")
    G = df.groupby("countyreal")["first.treat"].first().to_numpy()
    years = sorted(df["year"].unique())
    out = []
    for g in sorted(set(G) - {0}):
        for j in range(1, len(years)):
            t = years[j]
            b = j - 1 if t < g else max(k for k, y in enumerate(years) if y < g)
            ctrl = (G == 0) if control_group == "nevertreated" else ((G == 0) | ((G > t) & (G != g)))
            dy = (wide[t] - wide[years[b]]).to_numpy()
            d1, d0 = dy[G == g], dy[ctrl]
            out.append((g, t, d1.mean() - d0.mean(), math.sqrt(d1.var() / len(d1) + d0.var() / len(d0))))
    return out


def check_cells(name, cells, ref, tol):
    worst = 0.0
    for c, (g, t, a, s) in zip(cells, ref, strict=True):
        assert (c["g"], c["t"]) == (g, t), (name, c, g, t)
        if c["se"] is None:
            assert math.isnan(s) and c["att"] == 0.0, (name, c)
            continue
        da, ds = rel(c["att"], a, s), rel(c["se"], s)
        worst = max(worst, da, ds)
        assert da < tol and ds < tol, (name, c, a, s)
    return worst


def check_model_internals(model, cells, clustered):
    """Wald W and (clustered) SEs recomputed from the port's own influence functions."""
    psi = np.asarray(model.MP["inffunc"]["inffunc"], dtype=float)  # n x K
    n = psi.shape[0]
    if clustered:
        dp = model.dp
        first = dp["data"][dp["data"][dp["tname"]] == dp["tlist"][0]]
        labels = first["state"].to_numpy()
        S = np.vstack([psi[labels == c].sum(0) for c in np.unique(labels)])
        V = S.T @ S / n
    else:
        V = psi.T @ psi / n
    se = np.sqrt(np.diag(V) / n)
    for k, c in enumerate(cells):
        if c["se"] is not None:
            assert rel(c["se"], se[k]) < 1e-12, (c, se[k])
    pre = [k for k, c in enumerate(cells) if c["g"] > c["t"] and c["se"] is not None]
    th = np.array([cells[k]["att"] for k in pre])
    W = float(n * th @ np.linalg.solve(V[np.ix_(pre, pre)], th))
    assert rel(model.MP["W"], W) < 1e-10, (model.MP["W"], W)
    return len(np.unique(labels)) if clustered else None


# ---------------------------------------------------------------------------------------
# moderndid as a second peer for att_gt / aggte (cross-check only)
# ---------------------------------------------------------------------------------------


def moderndid_summary(r, specs=()):
    """Cells, Wald test and, for every (key, type, balance_e) in specs, the aggte of a
    moderndid att_gt result, in the layout of the csdid blocks (components keyed "k")."""
    cells = [
        {"g": int(g), "t": int(t), "att": num(a), "se": num(s)}
        for g, t, a, s in zip(r.groups, r.times, r.att_gt, r.se_gt)
    ]
    out = {"cells": cells, "W": num(r.wald_stat), "p": num(r.wald_pvalue)}
    if specs:
        agg = {}
        for key, typ, be in specs:
            a, _ = quiet(md_aggte, r, type=typ, balance_e=be)
            block = {"att": num(a.overall_att), "se": num(a.overall_se)}
            if typ != "simple":
                block["components"] = [
                    {"k": int(k), "att": num(v), "se": num(s)}
                    for k, v, s in zip(a.event_times, a.att_by_event, np.ravel(a.se_by_event))
                ]
            agg[key] = block
        out["aggte"] = agg
    return out


def moderndid_case(df, xformla, control_group, est_method, base_period, aggregate):
    r, _ = quiet(
        md_att_gt, df, xformla=xformla, control_group=control_group, est_method=est_method,
        base_period=base_period, boot=False, cband=False, **COLS,
    )
    return moderndid_summary(r, AGGREGATIONS if aggregate else ())


def compare_moderndid(ours, theirs):
    """Largest relative difference (ATT scaled by its SE) between csdid and moderndid."""
    worst = 0.0
    for c, d in zip(ours["cells"], theirs["cells"], strict=True):
        assert (c["g"], c["t"]) == (d["g"], d["t"])
        if c["se"] is None:
            assert d["se"] is None and c["att"] == d["att"] == 0.0
            continue
        worst = max(worst, rel(c["att"], d["att"], c["se"]), rel(c["se"], d["se"]))
    if ours.get("pretest"):
        worst = max(worst, rel(ours["pretest"]["W"], theirs["W"]))
        assert ours["pretest"]["p"] == theirs["p"]
    if "aggte" in ours:
        for key, blk in ours["aggte"].items():
            other = theirs["aggte"][key]
            worst = max(worst, rel(blk["att"], other["att"], blk["se"]), rel(blk["se"], other["se"]))
            for c, d in zip(blk.get("components", []), other.get("components", []), strict=True):
                assert list(c.values())[0] == d["k"]
                worst = max(worst, rel(c["att"], d["att"], c["se"]), rel(c["se"], d["se"]))
    return worst


# ---------------------------------------------------------------------------------------
# 2x2 estimators (drdid port; improved DR from moderndid)
# ---------------------------------------------------------------------------------------


def two_by_two_samples(df):
    sub = df[df["year"].isin([2003, 2004]) & df["first.treat"].isin([0, 2004])].copy()
    sub = sub.sort_values(["countyreal", "year"]).reset_index(drop=True)
    wide = sub.pivot(index="countyreal", columns="year", values="lemp").sort_index()
    unit = sub.groupby("countyreal")[["first.treat", "lpop"]].first().sort_index()
    panel = {
        "ids": unit.index.to_numpy(),
        "y1": wide[2004].to_numpy(),
        "y0": wide[2003].to_numpy(),
        "D": (unit["first.treat"] == 2004).to_numpy().astype(float),
        "X": np.column_stack([np.ones(len(unit)), unit["lpop"].to_numpy()]),
        "w": unit["lpop"].to_numpy(),
    }
    drop = ((sub["year"] == 2003) & (sub["countyreal"] % 2 == 0)) | (
        (sub["year"] == 2004) & (sub["countyreal"] % 3 == 0)
    )
    rc = sub[~drop].reset_index(drop=True)
    rcs = {
        "y": rc["lemp"].to_numpy(),
        "post": (rc["year"] == 2004).to_numpy().astype(float),
        "D": (rc["first.treat"] == 2004).to_numpy().astype(float),
        "X": np.column_stack([np.ones(len(rc)), rc["lpop"].to_numpy()]),
        "w": rc["lpop"].to_numpy(),
    }
    cnt = lambda d, p: int(((rcs["D"] == d) & (rcs["post"] == p)).sum())  # noqa: E731
    meta = {
        "panel": {
            "rule": "mpdta rows with year in {2003, 2004} and first.treat in {0, 2004}; one unit per "
                    "county, ordered by countyreal ascending; y1 = lemp 2004, y0 = lemp 2003, "
                    "D = (first.treat == 2004), covariates [1, lpop]",
            "n": int(len(unit)), "n_treated": int(panel["D"].sum()),
            "n_control": int(len(unit) - panel["D"].sum()),
        },
        "rc": {
            "rule": "the same rows treated as independent cross-sections, after dropping the 2003 row of "
                    "every county with countyreal % 2 == 0 and the 2004 row of every county with "
                    "countyreal % 3 == 0; rows ordered by (countyreal, year); post = (year == 2004), "
                    "D = (first.treat == 2004), covariates [1, lpop]",
            "rows_before": int(len(sub)), "n": int(len(rc)),
            "n_treated_pre": cnt(1, 0), "n_treated_post": cnt(1, 1),
            "n_control_pre": cnt(0, 0), "n_control_post": cnt(0, 1),
        },
        "weights": "i_weights = lpop (per unit for the panel, per row for rc); the estimators "
                   "normalise them to mean 1",
    }
    return panel, rcs, meta


def se_pair(phi):
    n = len(phi)
    return {
        "se": num(math.sqrt(float(np.sum(phi**2))) / n),
        "se_drdid": num(float(np.std(phi, ddof=1)) * math.sqrt(n - 1) / n),
        "n": n,
    }


def finite_difference_if(fn, n, h=1e-5):
    """n * dATT/dw_i by central differences around unit weights (ATT is invariant to rescaling
    all weights, so this is the empirical influence function)."""
    out = np.empty(n)
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        out[i] = n * (fn(1.0 + e) - fn(1.0 - e)) / (2 * h)
    return out


def drdid_block(panel, rcs):
    P, R = panel, rcs
    pa = (P["y1"], P["y0"], P["D"])
    ra = (R["y"], R["post"], R["D"])
    drdid_fns = {
        "drdid_panel": (drdid_dr.drdid_panel, pa, P),
        "reg_did_panel": (drdid_reg.reg_did_panel, pa, P),
        "std_ipw_did_panel": (drdid_ipw.std_ipw_did_panel, pa, P),
        "drdid_rc": (drdid_dr.drdid_rc, ra, R),
        "reg_did_rc": (drdid_reg.reg_did_rc, ra, R),
        "std_ipw_did_rc": (drdid_ipw.std_ipw_did_rc, ra, R),
    }
    # R function name -> moderndid function (moderndid's own "drdid_imp_rc" is R's drdid_imp_rc1)
    md_fns = {
        "drdid_panel": md_drdid.drdid_panel, "reg_did_panel": md_drdid.reg_did_panel,
        "std_ipw_did_panel": md_drdid.std_ipw_did_panel, "drdid_rc": md_drdid.drdid_rc,
        "reg_did_rc": md_drdid.reg_did_rc, "std_ipw_did_rc": md_drdid.std_ipw_did_rc,
        "drdid_imp_panel": md_drdid.drdid_imp_panel, "drdid_imp_rc": md_drdid.drdid_imp_local_rc,
    }

    def run_drdid(name, w=None):
        fn, args, S = drdid_fns[name]
        att, phi = fn(*args, covariates=S["X"], i_weights=w)
        return float(att), np.asarray(phi, dtype=float)

    def run_md(name, w=None):
        args, S = (pa, P) if name.endswith("panel") else (ra, R)
        res, _ = quiet(md_fns[name], *args, covariates=S["X"],
                       i_weights=None if w is None else np.array(w, dtype=float),  # it rescales in place
                       influence_func=True)
        return res

    out, checks = {}, {"finite_difference": {}, "moderndid_vs_drdid": {}}
    order = ["drdid_panel", "drdid_imp_panel", "reg_did_panel", "std_ipw_did_panel",
             "drdid_rc", "drdid_imp_rc", "reg_did_rc", "std_ipw_did_rc"]
    for name in order:
        S = P if name.endswith("panel") else R
        if name in drdid_fns:
            att, phi = run_drdid(name)
            blk = {"att": num(att), **se_pair(phi), "peer": f"drdid {version('drdid')}"}
            md = run_md(name)
            d = max(rel(att, md.att, blk["se"]), float(np.max(np.abs(phi - md.att_inf_func))))
            checks["moderndid_vs_drdid"][name] = d
            if name == "drdid_rc":
                # moderndid transcribes R DRDID's drdid_rc; its influence function differs (notes)
                blk["r_drdid_formula"] = {**se_pair(np.asarray(md.att_inf_func, dtype=float)),
                                          "peer": f"moderndid {version('moderndid')} (drdid_rc)"}
                assert rel(md.se, blk["r_drdid_formula"]["se_drdid"]) < 1e-12
                assert rel(att, md.att, blk["se"]) < 1e-12
            else:
                assert d < 1e-10 * max(1.0, float(np.max(np.abs(phi)))), (name, d)
            fd_fn = lambda w, name=name: run_drdid(name, w)[0]  # noqa: E731
        else:
            md = run_md(name)
            att, phi = float(md.att), np.asarray(md.att_inf_func, dtype=float)
            blk = {"att": num(att), **se_pair(phi),
                   "peer": f"moderndid {version('moderndid')} ({md_fns[name].__name__})"}
            assert rel(md.se, blk["se_drdid"]) < 1e-12
            fd_fn = lambda w, name=name: float(run_md(name, w).att)  # noqa: E731
        fd = finite_difference_if(fd_fn, len(S["D"]))
        checks["finite_difference"][name] = {
            "max_abs_err": float(np.max(np.abs(fd - phi))), "max_abs_if": float(np.max(np.abs(fd))),
            "se_from_fd_if": math.sqrt(float(np.sum(fd**2))) / len(fd),
        }
        if name == "drdid_rc":
            checks["finite_difference"]["drdid_rc (R formula, moderndid)"] = {
                "max_abs_err": float(np.max(np.abs(fd - md.att_inf_func)))}
        out[name] = blk

    # with sampling weights i_weights = lpop
    out["weighted"] = {}
    for name in ["drdid_panel", "drdid_rc"]:
        S = P if name.endswith("panel") else R
        att, phi = run_drdid(name, S["w"])
        blk = {"att": num(att), **se_pair(phi), "peer": f"drdid {version('drdid')}"}
        md = run_md(name, S["w"])
        assert rel(att, md.att, blk["se"]) < 1e-10
        if name == "drdid_rc":
            blk["r_drdid_formula"] = {**se_pair(np.asarray(md.att_inf_func, dtype=float)),
                                      "peer": f"moderndid {version('moderndid')} (drdid_rc)"}
        else:
            assert float(np.max(np.abs(phi - md.att_inf_func))) < 1e-10 * float(np.max(np.abs(phi)))
        out["weighted"][name] = blk

    # own re-implementation of the spec (sections 2.1-2.3) on the panel sample
    for name, method in [("drdid_panel", "dr"), ("reg_did_panel", "reg"), ("std_ipw_did_panel", "ipw")]:
        for weighted in (False, True):
            if weighted and name != "drdid_panel":
                continue
            w = P["w"] if weighted else np.ones(len(P["D"]))
            att, phi = own_2x2(P["y1"] - P["y0"], P["D"], P["X"], w, method)
            blk = out["weighted"][name] if weighted else out[name]
            assert rel(blk["att"], att, blk["se"]) < 1e-9, (name, weighted, blk["att"], att)
            assert rel(blk["se"], math.sqrt(np.sum(phi**2)) / len(phi)) < 1e-9, (name, weighted)

    # the exact empirical influence function is what the drdid port (and R, for these) returns
    for name in ["drdid_panel", "drdid_imp_panel", "reg_did_panel", "std_ipw_did_panel",
                 "drdid_rc", "reg_did_rc", "std_ipw_did_rc"]:
        c = checks["finite_difference"][name]
        assert c["max_abs_err"] < 1e-6 * c["max_abs_if"], (name, c)

    _, phi_dr = run_drdid("drdid_panel")
    out["drdid_panel"]["influence_function"] = {
        "ids": [int(i) for i in P["ids"]],
        "values": [num(v) for v in phi_dr],
    }
    return out, checks


# ---------------------------------------------------------------------------------------
# published numbers: did-cs.md section 6.2 and REFERENCE.md
# ---------------------------------------------------------------------------------------

SPEC_A_CELLS = {  # (g, t): (ATT, analytic SE), 7 decimals
    (2004, 2004): (-0.0105032, 0.0232510), (2004, 2005): (-0.0704232, 0.0309848),
    (2004, 2006): (-0.1372587, 0.0364357), (2004, 2007): (-0.1008114, 0.0343592),
    (2006, 2004): (0.0065201, 0.0233268), (2006, 2005): (-0.0027508, 0.0195586),
    (2006, 2006): (-0.0045946, 0.0177552), (2006, 2007): (-0.0412245, 0.0202292),
    (2007, 2004): (0.0305067, 0.0150336), (2007, 2005): (-0.0027259, 0.0163958),
    (2007, 2006): (-0.0310871, 0.0178775), (2007, 2007): (-0.0260544, 0.0166554),
}
SPEC_A_AGG = {  # overall ATT [SE], 6 decimals
    "simple": (-0.039951, 0.012034), "dynamic": (-0.077240, 0.019965),
    "group": (-0.031018, 0.012446), "calendar": (-0.041700, 0.015972),
    "dynamic_balance_e1": (-0.028761, 0.013686),
}
SPEC_A_COMPONENT_SE = {  # 6 decimals
    "dynamic": {-3: 0.015034, -2: 0.013292, -1: 0.014236, 0: 0.011826, 1: 0.016893, 2: 0.036436, 3: 0.034359},
    "group": {2004: 0.026368, 2006: 0.016703, 2007: 0.016655},
    "calendar": {2004: 0.023251, 2005: 0.030985, 2006: 0.020126, 2007: 0.013747},
}
SPEC_A2_CELLS = {  # ATT, 6 decimals, marked [U] in the spec
    (2004, 2004): -0.019372, (2004, 2005): -0.078319, (2004, 2006): -0.136274, (2004, 2007): -0.100811,
    (2006, 2004): -0.002563, (2006, 2005): -0.001939, (2006, 2006): 0.004661, (2006, 2007): -0.041224,
    (2007, 2004): 0.029759, (2007, 2005): -0.002411, (2007, 2006): -0.031087, (2007, 2007): -0.026054,
}
SPEC_A3_CELLS = {(2006, 2003): -0.003769, (2007, 2003): 0.003306, (2007, 2004): 0.033813,
                 (2007, 2005): 0.031087}

REF_A = {
    (2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373, (2004, 2007): -0.1008,
    (2006, 2004): 0.0065, (2006, 2005): -0.0028, (2006, 2006): -0.0046, (2006, 2007): -0.0412,
    (2007, 2004): 0.0305, (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261,
}
REF_C = {
    (2004, 2004): -0.0145, (2004, 2005): -0.0764, (2004, 2006): -0.1404, (2004, 2007): -0.1069,
    (2006, 2004): -0.0005, (2006, 2005): -0.0062, (2006, 2006): 0.0010, (2006, 2007): -0.0413,
    (2007, 2004): 0.0267, (2007, 2005): -0.0046, (2007, 2006): -0.0284, (2007, 2007): -0.0288,
}
REF_D = {
    (2004, 2004): -0.0212, (2004, 2005): -0.0816, (2004, 2006): -0.1382, (2004, 2007): -0.1069,
    (2006, 2004): -0.0075, (2006, 2005): -0.0046, (2006, 2006): 0.0087, (2006, 2007): -0.0413,
    (2007, 2004): 0.0269, (2007, 2005): -0.0042, (2007, 2006): -0.0284, (2007, 2007): -0.0288,
}
REF_P = {"A": 0.16812, "C": 0.23267, "D": 0.23326}
REF_B = {
    "simple": -0.0400, "dynamic": -0.0772, "group": -0.0310, "calendar": -0.0417,
    "dynamic_balance_e1": -0.0288,
}
REF_B_COMPONENTS = {
    "dynamic": {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008},
    "group": {2004: -0.0797, 2006: -0.0229, 2007: -0.0261},
    "calendar": {2004: -0.0105, 2005: -0.0704, 2006: -0.0488, 2007: -0.0371},
    "dynamic_balance_e1": {-2: 0.0065, -1: -0.0028, 0: -0.0066, 1: -0.0510},
}


class Tally:
    """Compare port values with printed ones: within half a unit of the last printed digit?"""

    def __init__(self):
        self.n = 0
        self.max_ulp = 0.0  # largest |port - printed| in units of the last printed digit
        self.rounding_failures = []
        self.beyond_1e6_rel = []

    def add(self, label, port, printed, decimals):
        self.n += 1
        unit = 10.0 ** (-decimals)
        d = abs(port - printed)
        self.max_ulp = max(self.max_ulp, d / unit)
        if d > 0.5 * unit * (1 + 1e-9):
            self.rounding_failures.append({"what": label, "port": port, "printed": printed})
        if printed != 0 and d / abs(printed) > 1e-6:
            self.beyond_1e6_rel.append({"what": label, "port": port, "printed": printed,
                                        "rel": d / abs(printed)})

    def summary(self, with_rel=True):
        out = {
            "compared": self.n,
            "max_diff_in_last_printed_digit": self.max_ulp,
            "all_within_rounding": not self.rounding_failures,
            "rounding_failures": self.rounding_failures,
        }
        if with_rel:
            out["n_beyond_1e-6_relative"] = len(self.beyond_1e6_rel)
        return out


def cell_map(case):
    return {(c["g"], c["t"]): c for c in case["cells"]}


def spec_cross_check(att_gt):
    A = cell_map(att_gt["A"])
    spec = Tally()
    for (g, t), (a, s) in SPEC_A_CELLS.items():
        spec.add(f"A ATT({g},{t})", A[(g, t)]["att"], a, 7)
        spec.add(f"A SE({g},{t})", A[(g, t)]["se"], s, 7)
    pt = att_gt["A"]["pretest"]
    spec.add("A Wald W", pt["W"], 7.791237, 6)
    spec.add("A Wald p", pt["p"], 0.16812, 5)
    agg = att_gt["A"]["aggte"]
    for k, (a, s) in SPEC_A_AGG.items():
        spec.add(f"A aggte {k} ATT", agg[k]["att"], a, 6)
        spec.add(f"A aggte {k} SE", agg[k]["se"], s, 6)
    for k, comps in SPEC_A_COMPONENT_SE.items():
        key = AGG_KEY[k]
        got = {c[key]: c["se"] for c in agg[k]["components"]}
        for e, s in comps.items():
            spec.add(f"A aggte {k} SE[{e}]", got[e], s, 6)
    extra = Tally()
    A2, A3 = cell_map(att_gt["A2"]), cell_map(att_gt["A3"])
    for gt, a in SPEC_A2_CELLS.items():
        extra.add(f"A2 ATT{gt}", A2[gt]["att"], a, 6)
    extra.add("A2 Wald p", att_gt["A2"]["pretest"]["p"], 0.16814, 5)
    for gt, a in SPEC_A3_CELLS.items():
        extra.add(f"A3 ATT{gt}", A3[gt]["att"], a, 6)
    for gt, c in A.items():  # universal post cells equal case A
        if gt[1] >= gt[0]:
            assert A3[gt]["att"] == c["att"] or rel(A3[gt]["att"], c["att"], c["se"]) < 1e-12

    ref = Tally()
    for name, table in [("A", REF_A), ("C", REF_C), ("D", REF_D)]:
        cm = cell_map(att_gt[name])
        for gt, a in table.items():
            ref.add(f"{name} ATT{gt}", cm[gt]["att"], a, 4)
        ref.add(f"{name} Wald p", att_gt[name]["pretest"]["p"], REF_P[name], 5)
    for k, a in REF_B.items():
        ref.add(f"A aggte {k} ATT", agg[k]["att"], a, 4)
    for k, comps in REF_B_COMPONENTS.items():
        key = "e" if k.startswith("dynamic") else {"group": "g", "calendar": "t"}[k]
        got = {c[key]: c["att"] for c in agg[k]["components"]}
        assert set(got) == set(comps), (k, got)
        for e, a in comps.items():
            ref.add(f"A aggte {k} ATT[{e}]", got[e], a, 4)

    spec_out = spec.summary()
    spec_out["beyond_1e-6_relative"] = spec.beyond_1e6_rel
    return {
        "spec_6_2_case_A": spec_out,
        "spec_6_2_extra_cells_A2_A3": extra.summary(with_rel=False),
        "reference_md_4_decimals": ref.summary(with_rel=False),
    }


# ---------------------------------------------------------------------------------------


NOTES = [
    "Analytic SE in csdid 0.4.3 (csdid/att_gt.py, ATTgt.fit) is sqrt(mean(psi^2))/sqrt(n) = "
    "sqrt(sum psi^2)/n over the n = 500 units, with psi the n/n1-rescaled cell influence function "
    "(compute_att_gt2.py): not demeaned, no n-1. This is the spec's section 3.1 formula. (A comment "
    "in that file says earlier versions used np.std(ddof=1), which is larger by sqrt(n/(n-1)) and "
    "demeaned; do not use an older csdid.)",
    "Wald pre-test (csdid/att_gt.py, _wald_pretest): W = n theta' V_pre^-1 theta with V = Psi'Psi/n "
    "(or cluster sums when clustered and bstrap is off), pre cells g - anticipation > t with finite "
    "positive SE, p = round(1 - chi2.cdf(W, q), 5) as in R. The port does not return df; 'df' here is "
    "that count of pre cells, and 'p_unrounded' = chi2.sf(W, df) computed by this script.",
    "est_method 'dr' is the traditional (locally efficient) DR estimator drdid_panel, not the "
    "improved one: csdid dispatches to its own copy csdid/attgt_fnc/drdid_trim.py (dr, ipw) and to "
    "drdid.reg_did.reg_did_panel (reg). The propensity logit is statsmodels GLM Binomial (IRLS, "
    "freq_weights = mean-1 weights) rather than R's fastglm; the logit information is rebuilt at the "
    "final capped probabilities as in R. The script's own Newton-to-1e-15 re-implementation agrees "
    "to 2e-11 at worst (case D; statsmodels' IRLS stopping rule), to 1e-15 without covariates: "
    "compare covariate cases at about 1e-9 relative, no-covariate cases at about 1e-12.",
    "Clustered case: ATTgt(clustervar='state') with state = countyreal // 1000 (n_clusters stored). "
    "With bstrap=False csdid computes analytic cluster SEs sqrt(sum_c S_c^2)/n (S_c = sum of psi over "
    "cluster c, divided by the number of units n, not of clusters), for cells and for aggte, and its "
    "Wald test uses V = S'S/n; this is the spec's section 3.2. All 20 counties of cohort 2004 lie in "
    "one state, so the treated part of their cluster sum is zero and the g=2004 cluster SEs are "
    "smaller than the iid ones (0.0121 against 0.0233 at t=2004): a correct, useful test value. moderndid 0.2.0 instead ignores "
    "clustering without the bootstrap (it warns) and drops the Wald test, so it was not used there.",
    "2x2 estimators: the drdid port returns (ATT, influence function) and no SE. 'se' = "
    "sqrt(sum phi^2)/n (the did convention); 'se_drdid' = sd(phi)*sqrt(n-1)/n = "
    "sqrt(sum (phi - mean phi)^2)/n, which is what current R DRDID (R/drdid_panel.R etc.) and moderndid "
    "report. Older DRDID releases reported sd(phi)/sqrt(n) = se_drdid*sqrt(n/(n-1)). The influence "
    "functions have mean ~0, so se and se_drdid agree to about 1e-15 relative here. For rc, n is the "
    "number of rows.",
    "drdid_imp_panel and drdid_imp_rc are not in the drdid port (checked 1.0.3 to 1.1.7); they come "
    "from moderndid 0.2.0. R's drdid_imp_rc (improved and locally efficient) is moderndid's "
    "drdid_imp_local_rc; moderndid's own drdid_imp_rc is R's drdid_imp_rc1 (not locally efficient) "
    "and is not used. The improved propensity is the inverse-probability-tilting fit.",
    "drdid_panel influence_function: phi_i on the 2x2 sample (mean-1 weights, n = 329), in the order "
    "of 'ids' (countyreal ascending); se = sqrt(sum phi^2)/n. Checked against n*dATT/dw_i by central "
    "finite differences (cross_checks).",
    "drdid_rc: the drdid port's influence function is the exact empirical one (it matches "
    "n*dATT/dw_i by finite differences to 1.6e-8, cross_checks), but it is not R's. R DRDID "
    "(R/drdid_rc.R: inf.treat.or <- inf.treat.or.post + inf.treat.or.pre, and the same for "
    "inf.cont.or) adds the pre-period outcome-regression estimation-effect terms, whose moments M1.pre "
    "and M3.pre already carry a minus sign; the derivative of -att.treat.pre and +att.cont.pre calls "
    "for a minus there. The drdid port (and csdid's copy in drdid_trim.py) subtracts them. The ATT is "
    "the same; the SE differs by 0.21% here. 'r_drdid_formula' holds the SE computed from moderndid's "
    "drdid_rc, which transcribes R's formula, so it is what R's DRDID and R did report (did uses it for "
    "panel = FALSE and unbalanced panels with est_method 'dr'). The two terms vanish asymptotically, so "
    "both are valid; for R compatibility use r_drdid_formula. csdid's repeated-cross-section path "
    "inherits the port's version; no att_gt case here uses that path.",
    "drdid_imp_rc (moderndid drdid_imp_local_rc, as R's drdid_imp_rc): by design its influence function "
    "leaves out the estimation effects of the outcome regressions used in the local-efficiency terms, "
    "so it is not the exact empirical influence function (finite-difference SE 0.090422 against the "
    "reported 0.090641, cross_checks). This is R's definition, not a port error. drdid_imp_panel's "
    "influence function is exact (the IPT and WLS first-order conditions cancel the estimation effects).",
    "Universal base period (A3): base cells are reported with att 0 and se null (the port sets SE to "
    "NaN there, as R reports NA).",
    "Port behaviour that differs from the spec but is not exercised by these cases: (1) with "
    "anticipation > 0 and base_period 'varying', csdid (compute_att_gt_shared.plan_cell) uses the "
    "last unaffected period as base for g - anticipation <= t < g, where the spec says t_{j-1}; (2) "
    "its Wald test drops cells in the anticipation window (g - anticipation <= t < g), the spec keeps "
    "every g > t; (3) aggte applies min_e/max_e in calendar units, the spec says simple/group use "
    "rank space when periods have gaps; (4) an SE is set to NA only when <= 0 or non-finite, R uses "
    "<= 10*sqrt(machine eps). mpdta has anticipation 0, consecutive years and no tiny SEs.",
]


def provenance(script):
    """The fixture's provenance block (did_cs_rc.py uses it too: same venv, same data)."""
    return {
        "script": script,
        "python": platform.python_version(),
        "csdid": version("csdid"),
        "drdid": version("drdid"),
        "moderndid": version("moderndid"),
        "numpy": version("numpy"),
        "scipy": version("scipy"),
        "statsmodels": version("statsmodels"),
        "pandas": version("pandas"),
        "patsy": version("patsy"),
        "data": "../shared/data/mpdta/mpdta.csv",
        "seed": None,
    }


def write_fixture(path, fixture):
    """Write the fixture as indented JSON and print its cross_checks block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    print(json.dumps(fixture["cross_checks"], indent=1))


def main() -> None:
    df = load()
    att_gt, md_diffs, own_diffs, closed_diffs = {}, {}, {}, {}
    for name, (xf, cg, est, bp, cl, agg) in CASES.items():
        model, warns = fit_csdid(df, xf, cg, est, bp, cl)
        cells = cells_of(model)
        case = {
            "settings": {
                "xformla": "~1" if xf is None else xf, "control_group": cg, "est_method": est,
                "base_period": bp, "clustervars": cl, "bstrap": False, "panel": True,
                "anticipation": 0, "n_units": int(model.MP["n"]),
            },
            "cells": cells,
            "pretest": pretest_of(model, cells),
        }
        n_clusters = check_model_internals(model, cells, cl is not None)
        if n_clusters is not None:
            case["settings"]["n_clusters"] = n_clusters
        if agg:
            case["aggte"] = aggregations(model)
        if warns:
            case["warnings"] = warns
        # own re-implementation of the spec
        if cl is None:
            own_diffs[name] = check_cells(name, cells, own_cells(df, xf, cg, est, bp), 1e-9)
            if xf is None and bp == "varying":
                closed_diffs[name] = check_cells(name, cells, closed_form_cells(df, cg), 1e-10)
            md = moderndid_case(df, xf, cg, est, bp, agg)
            md_diffs[name] = compare_moderndid(case, md)
            assert md_diffs[name] < 1e-10, (name, md_diffs[name])
        att_gt[name] = case

    # the clustered cells must have the same ATT as case A, only the SEs change
    for c, d in zip(att_gt["A"]["cells"], att_gt["A_cluster_state"]["cells"], strict=True):
        assert c["att"] == d["att"]

    panel, rcs, sample_meta = two_by_two_samples(df)
    drdid_out, drdid_checks = drdid_block(panel, rcs)
    drdid_out = {"samples": sample_meta, **drdid_out}

    cross = spec_cross_check(att_gt)
    cross["moderndid_att_gt_max_rel_diff"] = md_diffs
    cross["moderndid_att_gt_note"] = (
        "largest difference between csdid and moderndid 0.2.0 over cells, Wald W and aggregations, "
        "relative to the SE for ATTs and relative for SEs")
    cross["own_reimplementation_max_rel_diff"] = own_diffs
    cross["closed_form_max_rel_diff"] = closed_diffs
    cross["own_note"] = (
        "this script's numpy implementation of the spec (Newton logit to 1e-15) and, without "
        "covariates, the closed form, against csdid: ATT differences relative to the SE, SEs relative")
    cross["drdid_2x2"] = drdid_checks

    fixture = {
        "provenance": provenance("tools/golden/did_cs.py"),
        "notes": NOTES,
        "att_gt": att_gt,
        "drdid": drdid_out,
        "cross_checks": cross,
    }
    write_fixture(OUT, fixture)


if __name__ == "__main__":
    main()
