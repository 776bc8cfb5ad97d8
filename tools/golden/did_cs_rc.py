#!/usr/bin/env python3
"""Reference values for Callaway & Sant'Anna (2021) on repeated cross sections and on an
unbalanced panel, from the Python port of R `did` (analytic influence-function standard
errors, bootstrap off).

Peers (pinned in tools/golden/requirements-did-cs.txt, Python 3.11; the same venv as
did_cs.py):

- `csdid` 0.4.3 (Python port of R `did`): every ATT(g,t) cell with its analytic SE, the Wald
  pre-test and the `aggte` aggregations. Called as
  `ATTgt(..., panel=False).fit(est_method=..., bstrap=False)` for repeated cross sections and
  `ATTgt(..., panel=True, allow_unbalanced_panel=True).fit(...)` for the unbalanced panel.
  Its 2x2 kernels are csdid's own copy `csdid/attgt_fnc/drdid_trim.py` (drdid_rc) and the
  `drdid` 1.1.7 port (reg_did_rc).
- `moderndid` 0.2.0 (another Python port of `did`/`DRDID`): second peer for the repeated
  cross sections only (its unbalanced-panel path raises a TypeError, see the notes); its
  drdid_rc transcribes R DRDID's influence function, which csdid's does not (notes), so it
  also supplies the R-formula SEs of the dr cases with covariates.

Data: ../shared/data/mpdta/mpdta.csv (relative to the repository root), with the row of
county c in year t dropped when (c + 3 t) % 4 == 0 (1777 of 2500 rows kept). The same rows
are used as repeated cross sections (every row its own sampling unit) and as an unbalanced
panel (rows grouped by countyreal).

Run from the repository root, in the venv made from that requirements file:

    python3.11 -m venv /work/venv-cs
    /work/venv-cs/bin/pip install -r tools/golden/requirements-did-cs.txt
    /work/venv-cs/bin/python tools/golden/did_cs_rc.py

It writes tools/golden/fixtures/did_cs_rc.json. Nothing is random (no bootstrap), so two runs
are byte-identical. It imports the csdid/moderndid helpers it shares with did_cs.py (cells,
pre-test, aggte blocks, the moderndid summary, provenance, fixture writing) from that script,
and num / rel / quiet from golden_common.py; both sit beside it, so run it as shown above.

The script checks itself and stops with an error if a check fails:
- every cell's influence-function column against the port's own 2x2 kernel run on a 2x2 sample
  built here (rows of periods t and base in cohort g or the control group), scaled by n/m and,
  for the unbalanced panel, summed within unit: this pins down m (rows in the cell) and n;
- the no-covariate cells against a closed form (difference of four cell means, SE^2 = sum of
  s_c^2/m_c with divide-by-m variances for repeated cross sections; the within-unit sums for
  the unbalanced panel);
- the SEs and the Wald statistic against the influence-function matrix, and every aggregation
  against a numpy implementation of ../shared/specs/did-cs.md section 5;
- csdid's faster_mode=False path against the default faster path;
- moderndid against csdid on the repeated cross sections (ATT, reg SEs, no-covariate
  aggregations), and a finite-difference influence function for one dr cell with covariates.
"""

from __future__ import annotations

import math
from importlib.metadata import version

import numpy as np
import pandas as pd
from scipy.stats import chi2

from csdid.att_gt import ATTgt
from csdid.attgt_fnc import drdid_trim
from drdid import reg_did as drdid_reg
from moderndid.did import att_gt as md_att_gt

from did_cs import (
    DATA, ROOT, aggregations, cells_of, moderndid_summary, pretest_of, provenance, write_fixture,
)
from golden_common import num, quiet, rel

OUT = ROOT / "tools" / "golden" / "fixtures" / "did_cs_rc.json"

YNAME, TNAME, IDNAME, GNAME = "lemp", "year", "countyreal", "first.treat"
DROP_RULE = "drop the row of county c (countyreal) in year t when (c + 3*t) % 4 == 0"

# name: (xformla, control_group, est_method, aggregate)
RCS_CASES = {
    "A": (None, "nevertreated", "dr", True),
    "A_reg": (None, "nevertreated", "reg", False),
    "A2": (None, "notyettreated", "dr", False),
    "A2_reg": (None, "notyettreated", "reg", False),
    "C": ("~lpop", "nevertreated", "dr", False),
    "C_reg": ("~lpop", "nevertreated", "reg", False),
    "D": ("~lpop", "notyettreated", "dr", False),
    "D_reg": ("~lpop", "notyettreated", "reg", False),
}
UNBALANCED_CASES = {
    "A": (None, "nevertreated", "dr", True),
}
AGG_TYPES = ("simple", "dynamic", "group", "calendar")
AGGREGATIONS = tuple((typ, typ, None) for typ in AGG_TYPES)  # (key, type, balance_e), as in did_cs


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------


def load():
    full = pd.read_csv(DATA)
    drop = (full[IDNAME] + 3 * full[TNAME]) % 4 == 0
    df = full[~drop].sort_values([IDNAME, TNAME]).reset_index(drop=True)
    rows_per_unit = df.groupby(IDNAME).size()
    counts = df.groupby([GNAME, TNAME]).size()
    meta = {
        "source": "../shared/data/mpdta/mpdta.csv",
        "rule": DROP_RULE,
        "order": "rows sorted by (countyreal, year); this is the row order of the repeated-"
                 "cross-section influence functions. Unbalanced-panel influence functions are "
                 "one per county, countyreal ascending",
        "rows_before": int(len(full)),
        "rows_dropped": int(drop.sum()),
        "rows": int(len(df)),
        "units": int(df[IDNAME].nunique()),
        "units_by_rows_kept": {str(k): int(v) for k, v in rows_per_unit.value_counts().sort_index().items()},
        "rows_by_cohort_year": [
            {"cohort": int(g), "year": int(t), "rows": int(c)} for (g, t), c in counts.items()
        ],
        "columns": "yname lemp, tname year, gname first.treat, covariate lpop; idname countyreal "
                   "for the unbalanced panel, none (one sampling unit per row) for repeated cross "
                   "sections",
    }
    return df, meta


# ---------------------------------------------------------------------------------------
# csdid
# ---------------------------------------------------------------------------------------


def fit_csdid(df, xformla, control_group, est_method, unbalanced, faster_mode=True):
    formula = None if xformla is None else YNAME + " " + xformla
    kw = dict(panel=True, allow_unbalanced_panel=True, idname=IDNAME) if unbalanced else \
        dict(panel=False, idname=None)
    model, w = quiet(
        lambda: ATTgt(
            yname=YNAME, tname=TNAME, gname=GNAME, data=df, control_group=control_group,
            xformla=formula, faster_mode=faster_mode, **kw,
        ).fit(est_method=est_method, base_period="varying", bstrap=False)
    )
    return model, w


# ---------------------------------------------------------------------------------------
# own construction of every 2x2 sample, and the checks built on it
# ---------------------------------------------------------------------------------------


def cell_plan(df, control_group):
    """Every (g, t) cell with base period and the boolean row mask of its 2x2 sample
    (did-cs.md sections 1.2-1.4, 2.5: varying base, anticipation 0)."""
    years = sorted(df[TNAME].unique())
    G = df[GNAME].to_numpy()
    T = df[TNAME].to_numpy()
    plan = []
    for g in sorted(set(G) - {0}):
        bg = max(j for j, y in enumerate(years) if y < g)
        for j in range(1, len(years)):
            t = years[j]
            b = bg if t >= g else j - 1
            if control_group == "nevertreated":
                ctrl = G == 0
            else:
                ctrl = (G == 0) | ((G > t) & (G != g))
            mask = ((T == t) | (T == years[b])) & ((G == g) | ctrl)
            plan.append((int(g), int(t), int(years[b]), mask))
    return plan


def sample_counts(df, g, t, mask):
    sub = df[mask]
    D = sub[GNAME].to_numpy() == g
    post = sub[TNAME].to_numpy() == t
    units = sub.groupby(IDNAME).size()
    return {
        "m": int(mask.sum()),
        "m_treated_pre": int((D & ~post).sum()), "m_treated_post": int((D & post).sum()),
        "m_control_pre": int((~D & ~post).sum()), "m_control_post": int((~D & post).sum()),
        "units_in_sample": int(len(units)), "units_with_both_rows": int((units == 2).sum()),
    }


def kernel_phi(df, g, t, mask, xformla, est_method):
    """The port's own 2x2 kernel on our sample: (ATT, phi over the m rows, in row order)."""
    sub = df[mask]
    y = sub[YNAME].to_numpy()
    post = (sub[TNAME].to_numpy() == t).astype(float)
    D = (sub[GNAME].to_numpy() == g).astype(float)
    X = np.ones((len(sub), 1)) if xformla is None else \
        np.column_stack([np.ones(len(sub)), sub["lpop"].to_numpy()])
    fn = drdid_trim.drdid_rc if est_method == "dr" else drdid_reg.reg_did_rc
    (att, phi), _ = quiet(fn, y, post, D, covariates=X, i_weights=np.ones(len(sub)))
    return float(att), np.asarray(phi, dtype=float), (y, post, D, X)


def closed_form_phi(df, g, t, mask):
    """No covariates: ATT = (Y11 - Y10) - (Y01 - Y00) (cell means of D, post) and
    phi_r = m * sum over the four cells of +-1{r in c}(Y_r - Ybar_c)/m_c."""
    sub = df[mask]
    y = sub[YNAME].to_numpy()
    D = sub[GNAME].to_numpy() == g
    post = sub[TNAME].to_numpy() == t
    m = len(y)
    att, phi = 0.0, np.zeros(m)
    for d, p, sign in [(True, True, 1.0), (True, False, -1.0), (False, True, -1.0), (False, False, 1.0)]:
        c = (D == d) & (post == p)
        mean = y[c].mean()
        att += sign * mean
        phi[c] += sign * m * (y[c] - mean) / c.sum()
    return att, phi


def scatter_psi(phi, mask, n, unit_index):
    """psi = (n/m) phi placed at its rows; for unbalanced panels summed within unit."""
    m = int(mask.sum())
    psi = np.zeros(n)
    if unit_index is None:
        psi[mask] = (n / m) * phi
    else:
        np.add.at(psi, unit_index[mask], (n / m) * phi)
    return psi


def check_against_kernel(name, df, model, cells, plan, xformla, est_method, unit_index):
    """Every csdid influence-function column = the kernel's phi on our sample, scaled and
    (unbalanced) summed by unit; the SE = sqrt(sum psi^2)/n; no covariates: the closed form."""
    Psi = np.asarray(model.MP["inffunc"]["inffunc"], dtype=float)  # n x K
    n = Psi.shape[0]
    expected_n = len(df) if unit_index is None else int(unit_index.max()) + 1
    assert n == expected_n == model.MP["n"], (name, n, expected_n, model.MP["n"])
    worst = {"psi_max_abs_diff": 0.0, "att_rel_se": 0.0, "se_rel": 0.0}
    closed = 0.0
    own_psi = np.zeros_like(Psi)
    for k, (c, (g, t, b, mask)) in enumerate(zip(cells, plan, strict=True)):
        assert (c["g"], c["t"]) == (g, t), (name, c, g, t)
        att, phi, _ = kernel_phi(df, g, t, mask, xformla, est_method)
        psi = scatter_psi(phi, mask, n, unit_index)
        own_psi[:, k] = psi
        d_psi = float(np.max(np.abs(psi - Psi[:, k])))
        assert d_psi < 1e-12 * max(1.0, float(np.max(np.abs(psi)))), (name, c, d_psi)
        se = math.sqrt(float(np.sum(psi**2))) / n
        assert rel(c["att"], att, c["se"]) < 1e-12 and rel(c["se"], se) < 1e-12, (name, c, att, se)
        worst["psi_max_abs_diff"] = max(worst["psi_max_abs_diff"], d_psi)
        worst["att_rel_se"] = max(worst["att_rel_se"], rel(c["att"], att, c["se"]))
        worst["se_rel"] = max(worst["se_rel"], rel(c["se"], se))
        if xformla is None:
            a0, phi0 = closed_form_phi(df, g, t, mask)
            psi0 = scatter_psi(phi0, mask, n, unit_index)
            se0 = math.sqrt(float(np.sum(psi0**2))) / n
            closed = max(closed, rel(c["att"], a0, c["se"]), rel(c["se"], se0))
            assert closed < 1e-10, (name, c, a0, se0)
    return worst, (closed if xformla is None else None), own_psi


def own_wald(cells, psi):
    n = psi.shape[0]
    pre = [k for k, c in enumerate(cells) if c["g"] > c["t"] and c["se"] is not None]
    V = psi.T @ psi / n
    th = np.array([cells[k]["att"] for k in pre])
    return float(n * th @ np.linalg.solve(V[np.ix_(pre, pre)], th))


def own_aggte(cells, psi, G_units):
    """did-cs.md section 5 (no weights): pg = share of the n sampling units (rows for repeated
    cross sections, units for the unbalanced panel) in each cohort, with the wif correction."""
    n = psi.shape[0]
    g = np.array([c["g"] for c in cells])
    t = np.array([c["t"] for c in cells])
    th = np.array([c["att"] for c in cells])
    pg = np.array([np.mean(G_units == gk) for gk in g])

    def combine(K):
        K = np.asarray(K)
        S = pg[K].sum()
        cmat = (G_units[:, None] == g[K][None, :]).astype(float) - pg[K][None, :]
        xi = cmat / S - np.outer(cmat.sum(1), pg[K] / S**2)
        return float(pg[K] @ th[K] / S), psi[:, K] @ (pg[K] / S) + xi @ th[K]

    se = lambda f: math.sqrt(float(np.sum(f**2))) / n  # noqa: E731
    out = {}
    post = np.flatnonzero(g <= t)
    a, f = combine(post)
    out["simple"] = {"att": a, "se": se(f)}
    comps, fs, atts = [], [], []
    for gg in sorted(set(g)):
        K = np.flatnonzero((g == gg) & (g <= t))
        ag, fg = float(th[K].mean()), psi[:, K].mean(1)
        comps.append({"g": int(gg), "att": ag, "se": se(fg)})
        fs.append(fg)
        atts.append(ag)
    P = np.array([np.mean(G_units == gg) for gg in sorted(set(g))])
    S = P.sum()
    cmat = (G_units[:, None] == np.array(sorted(set(g)))[None, :]).astype(float) - P[None, :]
    xi = cmat / S - np.outer(cmat.sum(1), P / S**2)
    f = np.column_stack(fs) @ (P / S) + xi @ np.array(atts)
    out["group"] = {"att": float(P @ np.array(atts) / S), "se": se(f), "components": comps}
    comps, fs = [], []
    for e in sorted(set(t - g)):
        a, fe = combine(np.flatnonzero(t - g == e))
        comps.append({"e": int(e), "att": a, "se": se(fe)})
        if e >= 0:
            fs.append((a, fe))
    out["dynamic"] = {"att": float(np.mean([a for a, _ in fs])),
                      "se": se(np.mean([fe for _, fe in fs], axis=0)), "components": comps}
    comps, fs = [], []
    for tt in sorted(set(t)):
        K = np.flatnonzero((t == tt) & (g <= tt))
        if tt < g.min() or K.size == 0:
            continue
        a, ft = combine(K)
        comps.append({"t": int(tt), "att": a, "se": se(ft)})
        fs.append((a, ft))
    out["calendar"] = {"att": float(np.mean([a for a, _ in fs])),
                       "se": se(np.mean([ft for _, ft in fs], axis=0)), "components": comps}
    return out


def compare_agg(ours, theirs, key_of=lambda c: list(c.values())[0]):
    worst = 0.0
    for typ in AGG_TYPES:
        a, b = ours[typ], theirs[typ]
        worst = max(worst, rel(a["att"], b["att"], a["se"]), rel(a["se"], b["se"]))
        ca, cb = a.get("components", []), b.get("components", [])
        assert [key_of(x) for x in ca] == [key_of(x) for x in cb], (typ, ca, cb)
        for x, y in zip(ca, cb, strict=True):
            worst = max(worst, rel(x["att"], y["att"], x["se"]), rel(x["se"], y["se"]))
    return worst


def compare_cells(a_cells, b_cells, with_se=True):
    worst = 0.0
    for c, d in zip(a_cells, b_cells, strict=True):
        assert (c["g"], c["t"]) == (d["g"], d["t"])
        worst = max(worst, rel(c["att"], d["att"], c["se"]))
        if with_se:
            worst = max(worst, rel(c["se"], d["se"]))
    return worst


# ---------------------------------------------------------------------------------------
# moderndid (second peer, repeated cross sections only)
# ---------------------------------------------------------------------------------------


def moderndid_case(df, xformla, control_group, est_method, aggregate):
    r, _ = quiet(
        md_att_gt, df, yname=YNAME, tname=TNAME, gname=GNAME, idname=None, panel=False,
        xformla=xformla, control_group=control_group, est_method=est_method,
        base_period="varying", boot=False, cband=False,
    )
    return moderndid_summary(r, AGGREGATIONS if aggregate else ())


def moderndid_unbalanced_status(df):
    """moderndid 0.2.0 cannot fit an unbalanced panel; record what it raises."""
    try:
        quiet(md_att_gt, df, yname=YNAME, tname=TNAME, gname=GNAME, idname=IDNAME, panel=True,
              allow_unbalanced_panel=True, boot=False, cband=False, est_method="dr")
    except Exception as e:  # noqa: BLE001 (recorded, not handled)
        return f"raises {type(e).__name__}: {e}"
    return "ran"


def finite_difference_check(df, plan, cells, md_cells, g, t):
    """For one dr ~lpop cell: m * dATT/dw_r by central differences against csdid's phi (the exact
    empirical influence function) and against the R-formula SE from moderndid."""
    k = next(i for i, (gg, tt, _, _) in enumerate(plan) if (gg, tt) == (g, t))
    _, _, _, mask = plan[k]
    att, phi, (y, post, D, X) = kernel_phi(df, g, t, mask, "~lpop", "dr")
    m, h = len(y), 1e-5
    fd = np.empty(m)
    for i in range(m):
        w = np.ones(m)
        w[i] += h
        (ap, _), _ = quiet(drdid_trim.drdid_rc, y, post, D, covariates=X, i_weights=w)
        w[i] -= 2 * h
        (am, _), _ = quiet(drdid_trim.drdid_rc, y, post, D, covariates=X, i_weights=w)
        fd[i] = m * (ap - am) / (2 * h)
    err = float(np.max(np.abs(fd - phi)))
    assert err < 1e-6 * float(np.max(np.abs(fd))), err
    return {
        "cell": {"g": g, "t": t, "m": m},
        "max_abs_err_csdid_phi": err, "max_abs_if": float(np.max(np.abs(fd))),
        "se_from_fd_if": math.sqrt(float(np.sum(fd**2))) / m,
        "se_csdid": cells[k]["se"], "se_r_formula_moderndid": md_cells[k]["se"],
    }


# ---------------------------------------------------------------------------------------


NOTES = [
    "Data: mpdta with the row of county c in year t dropped when (c + 3*t) % 4 == 0: 723 of 2500 "
    "rows, so counties with c % 4 == 3 lose 2003 and 2007, the others lose one year (2004, 2005 or "
    "2006 for c % 4 = 0, 1, 2). 1777 rows of 500 counties remain; every cohort-year has rows.",
    "Repeated cross sections (csdid/attgt_fnc/preprocess_did.py and compute_att_gt2.py, "
    "_att_gt_rc_cell): ATTgt(panel=False) requires idname to be unique or None (a repeated "
    "countyreal is refused), so it is called with idname=None and the port numbers the rows 0..N-1 "
    "(after sorting by (countyreal, year) here). n = dp['n'] = number of rows = 1777. For a cell "
    "(g,t) with base period b the 2x2 sample is every row of period t or b whose cohort is g or in the "
    "control group; m = its number of rows (the fixture's 'm', with the four (D, post) counts). The "
    "kernel (drdid_rc / reg_did_rc) returns phi over those m rows; the port stores psi_r = (n/m) "
    "phi_r at each row's position and 0 elsewhere, and SE = sqrt(mean(psi^2))/sqrt(n) = "
    "sqrt(sum psi^2)/n = sqrt(sum phi^2)/m. This is did-cs.md section 2.5 with section 3.1 "
    "(n = rows). Checked for every cell of every case: csdid's column equals (n/m) times the kernel "
    "run on the sample built by this script, to 1e-12.",
    "Unbalanced panel: ATTgt(panel=True, allow_unbalanced_panel=True) detects imbalance as "
    "nrow != n_units * n_periods (1777 != 2500) and switches to the same repeated-cross-section "
    "kernels on the rows, with rowid = countyreal. n = number of distinct units = 500, m = rows in the "
    "cell's 2x2 sample (not units); psi_i = (n/m) * sum over unit i's rows in the sample of phi_r "
    "(pandas groupby sum over rowid), so SE = sqrt(sum_i (sum_r phi_r)^2)/m: the within-unit sum "
    "makes it a unit-clustered variance of the row-level estimator. This is did-cs.md section 2.5 "
    "(row-level IF scaled by n/m with n = units, summed within unit) and csdid follows it exactly "
    "(same check as above). Consequence: the unbalanced-panel ATTs are exactly the repeated-cross-"
    "section ATTs (the kernel ignores the pairing; only the influence function uses it), while the "
    "SEs differ, here by a factor of up to 23 (cell 2004/2007, where every sampled county has both "
    "rows) because lemp is a level whose between-county variance cancels in the within-unit sums. "
    "The aggregations differ slightly too: their group shares are unit shares, not row shares.",
    "No covariates: dr and reg give identical ATT and phi (the difference of the four (D, post) cell "
    "means; phi_r = m * sum_c +-1{r in c}(Y_r - Ybar_c)/m_c), so the repeated-cross-section SE is "
    "sqrt(sum_c s_c^2/m_c) with divide-by-m_c variances. The script checks every no-covariate cell "
    "against that closed form (1e-10).",
    "Aggregations (csdid/aggte_fnc/compute_aggte.py): for repeated cross sections the group shares are "
    "row shares pg = (rows of cohort g)/n over all n rows, and the wif runs over rows; for the "
    "unbalanced panel they are unit shares over the 500 units (a groupby-id mean of the cohort). Both "
    "are did-cs.md section 5 with 'unit' = sampling unit, checked against this script's own "
    "implementation (1e-12).",
    "Wald pre-test: W = n theta' V^-1 theta with V = Psi'Psi/n, n = rows (rcs) or units (unbalanced); "
    "p rounded to 5 decimals as in R; 'df' = number of pre cells with a finite SE (the port does not "
    "return it); 'p_unrounded' = chi2.sf(W, df) computed here.",
    "DEVIATION (dr with covariates, cases C and D): csdid's drdid_rc (its copy in drdid_trim.py, like "
    "the drdid port) uses the exact empirical influence function (the finite-difference check in "
    "cross_checks agrees), whereas R DRDID's drdid_rc adds the two pre-period outcome-regression terms "
    "with the opposite sign (see did_cs.json, notes). R did uses drdid_rc for panel = FALSE and for "
    "unbalanced panels, so R's SEs for these cells differ; ATTs are identical. Each such cell carries "
    "'se_r_formula' from moderndid 0.2.0 (which transcribes R), and the case carries "
    "'pretest_r_formula'. Here R's SE is 0.99 to 1.017 times csdid's (cross_checks). For R "
    "compatibility use the r_formula values; reg (reg_did_rc) and every no-covariate case agree "
    "between the two.",
    "moderndid 0.2.0 agrees with csdid on every repeated-cross-section number (except the dr-with-"
    "covariates SEs above), but its unbalanced-panel path (panel=True, allow_unbalanced_panel=True) "
    "raises a TypeError (outcomes_tensor is None), so the unbalanced case has only csdid plus this "
    "script's own checks.",
    "est_method 'dr' is the traditional (locally efficient) drdid_rc, not drdid_imp_rc; 'reg' is "
    "reg_did_rc from the drdid 1.1.7 port. Covariates: the row's own lpop (time-invariant in mpdta). "
    "With ~lpop the propensity logit is statsmodels GLM (IRLS), so compare covariate cases at about "
    "1e-9 relative, no-covariate cases at about 1e-12.",
    "csdid's faster_mode=False (compute_att_gt.py) path gives the same cells (cross_checks).",
]


def run_case(df, meta_plan, name, xf, cg, est, agg, unbalanced, unit_index, G_units):
    model, warns = fit_csdid(df, xf, cg, est, unbalanced)
    cells = cells_of(model)
    plan = meta_plan[cg]
    for c, (g, t, b, mask) in zip(cells, plan, strict=True):
        assert (c["g"], c["t"]) == (g, t)
        c["base"] = b
        c.update(sample_counts(df, g, t, mask))
    worst, closed, psi = check_against_kernel(name, df, model, cells, plan, xf, est, unit_index)
    case = {
        "settings": {
            "xformla": "~1" if xf is None else xf, "control_group": cg, "est_method": est,
            "base_period": "varying", "bstrap": False, "anticipation": 0,
            "panel": bool(unbalanced), "allow_unbalanced_panel": bool(unbalanced),
            "idname": IDNAME if unbalanced else None, "n": int(model.MP["n"]),
            "n_is": "units" if unbalanced else "rows",
        },
        "cells": cells,
        "pretest": pretest_of(model, cells),
    }
    checks = {"kernel": worst}
    if closed is not None:
        checks["closed_form_max_rel_diff"] = closed
    if case["pretest"] is not None:
        W = own_wald(cells, psi)
        assert rel(case["pretest"]["W"], W) < 1e-10, (name, case["pretest"], W)
        checks["wald_rel_diff"] = rel(case["pretest"]["W"], W)
    if agg:
        case["aggte"] = aggregations(model, AGGREGATIONS)
        d = compare_agg(case["aggte"], own_aggte(cells, psi, G_units))
        assert d < 1e-12, (name, d)
        checks["own_aggte_max_rel_diff"] = d
    slow, _ = fit_csdid(df, xf, cg, est, unbalanced, faster_mode=False)
    d = compare_cells(cells, cells_of(slow))
    assert d < 1e-10, (name, d)
    checks["faster_mode_false_max_rel_diff"] = d
    if warns:
        case["warnings"] = warns
    return case, checks, model


def main() -> None:
    df, data_meta = load()
    plans = {cg: cell_plan(df, cg) for cg in ("nevertreated", "notyettreated")}

    rcs, rcs_checks, md_cases = {}, {}, {}
    for name, (xf, cg, est, agg) in RCS_CASES.items():
        G_rows = df[GNAME].to_numpy()
        case, checks, _ = run_case(df, plans, name, xf, cg, est, agg, False, None, G_rows)
        md = moderndid_case(df, xf, cg, est, agg)
        md_cases[name] = md
        r_formula = xf is not None and est == "dr"
        checks["moderndid_att_max_rel_se"] = compare_cells(case["cells"], md["cells"], with_se=False)
        assert checks["moderndid_att_max_rel_se"] < 1e-10, (name, checks)
        if r_formula:
            ratios = []
            for c, d in zip(case["cells"], md["cells"], strict=True):
                c["se_r_formula"] = d["se"]
                ratios.append(d["se"] / c["se"])
            case["pretest_r_formula"] = {
                "W": md["W"], "df": case["pretest"]["df"], "p": md["p"],
                "p_unrounded": num(chi2.sf(md["W"], case["pretest"]["df"])),
                "peer": f"moderndid {version('moderndid')}",
            }
            checks["se_r_formula_over_csdid"] = {"min": min(ratios), "max": max(ratios)}
        else:
            checks["moderndid_se_max_rel"] = compare_cells(case["cells"], md["cells"])
            assert checks["moderndid_se_max_rel"] < 1e-10, (name, checks)
            checks["moderndid_wald_rel"] = rel(case["pretest"]["W"], md["W"])
            assert checks["moderndid_wald_rel"] < 1e-10 and case["pretest"]["p"] == md["p"], name
        if agg:
            d = compare_agg(case["aggte"], md["aggte"])
            assert d < 1e-10, (name, d)
            checks["moderndid_aggte_max_rel_diff"] = d
        rcs[name] = case
        rcs_checks[name] = checks

    # no covariates: dr and reg coincide
    for a, b in [("A", "A_reg"), ("A2", "A2_reg")]:
        assert compare_cells(rcs[a]["cells"], rcs[b]["cells"]) < 1e-12, (a, b)

    units = np.sort(df[IDNAME].unique())
    unit_index = np.searchsorted(units, df[IDNAME].to_numpy())
    G_units = df.groupby(IDNAME)[GNAME].first().reindex(units).to_numpy()
    unb, unb_checks = {}, {}
    for name, (xf, cg, est, agg) in UNBALANCED_CASES.items():
        case, checks, _ = run_case(df, plans, name, xf, cg, est, agg, True, unit_index, G_units)
        # the unbalanced ATTs are the repeated-cross-section ATTs of the same settings
        same = next(k for k, v in RCS_CASES.items() if v == (xf, cg, est, v[3]))
        d = max(rel(c["att"], r["att"], c["se"]) for c, r in zip(case["cells"], rcs[same]["cells"]))
        assert d < 1e-12, (name, d)
        checks["att_equals_rcs_case"] = {"case": same, "max_rel_se": d}
        unb[name] = case
        unb_checks[name] = checks

    cross = {
        "rcs": rcs_checks,
        "unbalanced": unb_checks,
        "moderndid_unbalanced": moderndid_unbalanced_status(df),
        "finite_difference_dr_lpop": finite_difference_check(
            df, plans["nevertreated"], rcs["C"]["cells"], md_cases["C"]["cells"], 2006, 2007),
        "note": "kernel: csdid's influence-function columns against (n/m) x the port's kernel on this "
                "script's 2x2 samples (max abs diff of psi; ATT difference relative to the SE; SE "
                "relative); closed_form: no-covariate cells against the four-cell-means formula; "
                "own_aggte: aggregations against did-cs.md section 5 in numpy; moderndid_*: the "
                "second peer (ATT relative to the SE, SEs relative)",
    }

    fixture = {
        "provenance": provenance("tools/golden/did_cs_rc.py"),
        "notes": NOTES,
        "data": data_meta,
        "rcs": rcs,
        "unbalanced": unb,
        "cross_checks": cross,
    }
    write_fixture(OUT, fixture)


if __name__ == "__main__":
    main()
