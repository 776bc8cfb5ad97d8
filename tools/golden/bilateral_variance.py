#!/usr/bin/env python3
"""Reference values for the grouped design-based variance of bilateral (MRD) contrasts.

No peer library analyses two-sided experiments, so this is an independent implementation in
numpy, written from the formulas in docs/DESIGN.md ("Which variance does `paribus bilateral`
report?") and working on the full viewer x streamer array rather than on the per-unit sums
that paribus streams. It also recomputes the V_CS bound of experiment-designs.md section 2.2.

Run from the repository root (numpy pinned in tools/golden/requirements.txt):

    /work/venv-golden/bin/python tools/golden/bilateral_variance.py

It writes tools/golden/fixtures/bilateral_variance.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CELLS = [(1, 1), (1, 0), (0, 1), (0, 0)]
CONTRASTS = {
    "total": [1, 0, 0, -1],
    "direct": [1, -1, -1, 1],
    "spillover(viewer)": [0, 1, 0, -1],
    "spillover(streamer)": [0, 0, 1, -1],
}


def gte_weights(p_v: float, p_s: float) -> list[float]:
    return [1.0, -1.0 + 1.0 / p_s, -1.0 + 1.0 / p_v, 1.0 - 1.0 / p_s - 1.0 / p_v]


def block(y, va, sa, v, s):
    return y[np.ix_(va == v, sa == s)]


def s2_int(b):
    r, c = b.shape
    res = b - b.mean(axis=1, keepdims=True) - b.mean(axis=0, keepdims=True) + b.mean()
    return (res**2).sum() / ((r - 1) * (c - 1))


def grouped_variance(y, va, sa, w):
    n_i, n_j = y.shape
    size_v = {1: (va == 1).sum(), 0: (va == 0).sum()}
    size_s = {1: (sa == 1).sum(), 0: (sa == 0).sum()}
    identified = 0.0
    bound = 0.0
    for arm in (1, 0):
        # viewers of this arm: d_i = sum over streamer arms of c_(arm,s) * row mean in that block
        d = sum(
            w[CELLS.index((arm, s))] * block(y, va, sa, arm, s).mean(axis=1) for s in (1, 0)
        )
        e = sum(
            w[CELLS.index((v, arm))] * block(y, va, sa, v, arm).mean(axis=0) for v in (1, 0)
        )
        sv, se = d.var(ddof=1), e.var(ddof=1)
        identified += (1 / size_v[arm] - 1 / n_i) * sv + (1 / size_s[arm] - 1 / n_j) * se
        bound += sv / n_i + se / n_j
    si = [s2_int(block(y, va, sa, v, s)) for v, s in CELLS]
    for k, (v, s) in enumerate(CELLS):
        identified -= (
            w[k] ** 2 * (1 / size_v[v] - 1 / n_i) * (1 / size_s[s] - 1 / n_j) * si[k]
        )
    bound += (abs(w[0] * w[3]) * (si[0] + si[3]) + abs(w[1] * w[2]) * (si[1] + si[2])) / (
        n_i * n_j
    )
    return max(identified + bound, 0.0)


def v_cs(y, va, sa, w):
    n_i, n_j = y.shape
    comps = []
    for v, s in CELLS:
        b = block(y, va, sa, v, s)
        r, c = b.shape
        fr, fc = 1 / r - 1 / n_i, 1 / c - 1 / n_j
        rows, cols, inter = b.mean(axis=1).var(ddof=1), b.mean(axis=0).var(ddof=1), s2_int(b)
        comps.append((max(rows - fc * inter, 0), max(cols - fr * inter, 0), inter))
    size_v = {1: (va == 1).sum(), 0: (va == 0).sum()}
    size_s = {1: (sa == 1).sum(), 0: (sa == 0).sum()}
    total = 0.0
    for k, (vk, sk) in enumerate(CELLS):
        for l, (vl, sl) in enumerate(CELLS):
            fa = (1 / size_v[vk] - 1 / n_i) if vk == vl else -1 / n_i
            fb = (1 / size_s[sk] - 1 / n_j) if sk == sl else -1 / n_j
            a, b = comps[k], comps[l]
            total += abs(w[k] * w[l]) * (
                abs(fa) * np.sqrt(a[0] * b[0])
                + abs(fb) * np.sqrt(a[1] * b[1])
                + abs(fa * fb) * np.sqrt(a[2] * b[2])
            )
    return total


def case(name, y, va, sa):
    y, va, sa = np.asarray(y, float), np.asarray(va), np.asarray(sa)
    p_v, p_s = va.mean(), sa.mean()
    contrasts = dict(CONTRASTS)
    contrasts["gte(linear exposure)"] = gte_weights(p_v, p_s)
    return {
        "name": name,
        "y": y.tolist(),
        "viewer_arm": va.tolist(),
        "streamer_arm": sa.tolist(),
        "variance": {k: float(grouped_variance(y, va, sa, w)) for k, w in contrasts.items()},
        "variance_cs": {k: float(v_cs(y, va, sa, w)) for k, w in contrasts.items()},
    }


def main() -> None:
    spec = [
        [10, 12, 7, 8],
        [12, 15, 9, 9],
        [7, 8, 6, 7],
        [6, 8, 5, 7],
    ]
    rng = np.random.default_rng(2026)
    sparse = rng.exponential(size=(9, 7)) * rng.exponential(size=(1, 7)) * 5
    sparse[rng.random((9, 7)) < 0.4] = 0.0
    out = {
        "provenance": f"tools/golden/bilateral_variance.py, numpy {np.__version__}",
        "cases": [
            case("spec 2.2 example", spec, [1, 1, 0, 0], [1, 1, 0, 0]),
            case(
                "sparse 9 x 7, unequal arms",
                sparse.round(6),
                [1, 0, 1, 1, 0, 0, 1, 0, 1],
                [0, 1, 1, 0, 1, 0, 1],
            ),
        ],
    }
    path = Path(__file__).parent / "fixtures" / "bilateral_variance.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
