#!/usr/bin/env python3
"""Reference graphs for the PC algorithm: causal-learn 0.1.4.8's
causallearn.search.ConstraintBased.PC.pc on a linear-Gaussian sample (Fisher z) and on a
discrete sample (G-square and chi-square). The environment is pinned in
tools/golden/requirements-graph.txt (the venv of graph_dsep.py).

Run from the repository root:

    python3.11 -m venv /work/venv-graph
    /work/venv-graph/bin/pip install -r tools/golden/requirements-graph.txt
    /work/venv-graph/bin/python tools/golden/graph_pc.py

Data
----
pc_gauss.csv (x0..x19, n = 10000, floats as repr): numpy.random.default_rng(3434), drawn in
this order: order = permutation(20) (a random topological order); U = random((20, 20)), edge
x{order[a]} -> x{order[b]} iff a < b and U[a, b] < 2.5 / 19 (expected degree 2.5);
M = uniform(0.5, 1.5, (20, 20)) and S = choice([-1.0, 1.0], (20, 20)), weight M[a, b] S[a, b];
E = standard_normal((10000, 20)); then node by node in topological order
x_j = E[:, j] + sum over parents i (in order position) of w_ij x_i.
pc_discrete.csv (x0..x7, n = 5000, integers): numpy.random.default_rng(5656): card =
integers(2, 4, 8) categories per variable; order = permutation(8); U = random((8, 8)), edge
x{order[a]} -> x{order[b]} iff a < b and U[a, b] < 0.35; then for each node in topological
order one Dirichlet(1, ..., 1) row per parent configuration (mixed radix over the parents in
index order, the first parent most significant); then the rows: for each node in topological
order u = random(5000) and x = the number of cumulative probabilities of its row that are < u
(inverse CDF, capped at card - 1).
Both files are read back with the csv module and asserted identical to the arrays in memory;
PC runs on what was read back.

What causal-learn's PC does (search/ConstraintBased/PC.py, utils/PCUtils/SkeletonDiscovery.py,
UCSepset.py, Meek.py, utils/cit.py)
------------------------------------------------------------------------------------------
pc(data, alpha, indep_test, stable=True, uc_rule=0, uc_priority=2) — the defaults of the
signature, read with inspect and recorded.
Skeleton (stable): depth d = 0, 1, ... while max degree - 1 > d. For every ordered pair (x, y)
    adjacent at the start of the depth, every S of size d from adj(x) minus y is tested
    (no early stop); if any p > alpha the edge is removed at the end of the depth, and the union
    of all separating S found from x's side is appended to sepset[x, y] (and sepset[y, x]); the
    pass from y's side appends its own union (possibly empty).
Unshielded colliders (uc_rule 0, uc_sepset): for every unshielded triple (x, y, z) with x < z,
    in causal-learn's enumeration order, y is a collider iff y is in none of the tuples in
    sepset[x, z]. uc_priority 2 ("prioritize existing colliders"): x -> y <- z is oriented
    only if neither y -> x nor y -> z is already oriented; so an earlier collider wins a
    conflict and no bidirected edge is produced.
Then Meek's rules R1 (skipped when the target would close a directed cycle, via causal-learn's
    ancestor matrix), R2, R3 until nothing changes (no R4).
Fisher z: r = -P01 / sqrt(P00 P11) with P the inverse of the np.corrcoef submatrix of
    (x, y, S); p = 2 (1 - Phi(sqrt(n - |S| - 3) |atanh r|)).
G-square / chi-square: columns re-coded by np.unique; the statistic sums over the strata of S
    that occur; df = sum over strata of (|X| - 1 - empty rows)(|Y| - 1 - empty columns); p = 1
    when df = 0, else chi2.sf.
Each run also lists every distinct CI test PC performed (the p-value cache of its CIT object).
Graph encoding (G.graph, rows/columns = column index): G.graph[j, i] = 1 and G.graph[i, j] = -1
    means i -> j; G.graph[i, j] = G.graph[j, i] = -1 means i - j (undirected); both 1 means
    i <-> j; 0 both ways means not adjacent.

Truth: the true DAG's edges, and its CPDAG (skeleton, v-structures, then Meek R1-R3 to closure,
own plain-Python code, asserted equal to causal-learn's dag2cpdag) in the same encoding; the
true DAG's matrix is asserted equal to causal-learn's Dag encoding, which pins the convention. skeleton: TP / FP / FN of the undirected
adjacencies, precision, recall and F1 = 2 TP / (2 TP + FP + FN). marks_equal_true_cpdag counts
the true adjacencies found whose two end marks equal the true CPDAG's.

Output: tools/golden/fixtures/graph_pc.json, pc_gauss.csv, pc_discrete.csv. Two runs give
byte-identical files. to_py comes from golden_common.py beside this script.
"""

from __future__ import annotations

import csv
import inspect
import json
import platform
from importlib.metadata import version
from pathlib import Path

import numpy as np
import scipy

from causallearn.graph.Dag import Dag
from causallearn.graph.GraphNode import GraphNode
from causallearn.search.ConstraintBased.PC import pc
from causallearn.utils.DAG2CPDAG import dag2cpdag
from golden_common import quiet, to_py

FIXTURES = Path("tools/golden/fixtures")
OUT_JSON = FIXTURES / "graph_pc.json"
GAUSS_CSV = FIXTURES / "pc_gauss.csv"
DISC_CSV = FIXTURES / "pc_discrete.csv"

SEED_GAUSS = 3434
SEED_DISC = 5656
P_GAUSS, N_GAUSS, N_ROWS_GAUSS = 20, 10000, 10000
EDGE_PROB_GAUSS = 2.5 / 19
P_DISC, N_ROWS_DISC = 8, 5000
EDGE_PROB_DISC = 0.35
ALPHAS_GAUSS = [0.01, 0.05]
ALPHA_DISC = 0.05
TESTS_DISC = ["gsq", "chisq"]


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


def random_order_dag(rng, p, prob):
    order = [int(v) for v in rng.permutation(p)]
    u = rng.random((p, p))
    edges = [(order[a], order[b]) for a in range(p) for b in range(a + 1, p) if u[a, b] < prob]
    return order, edges, u


def gauss_data():
    rng = np.random.default_rng(SEED_GAUSS)
    order, edges, _ = random_order_dag(rng, P_GAUSS, EDGE_PROB_GAUSS)
    mag = rng.uniform(0.5, 1.5, size=(P_GAUSS, P_GAUSS))
    sign = rng.choice([-1.0, 1.0], size=(P_GAUSS, P_GAUSS))
    pos = {v: k for k, v in enumerate(order)}
    weights = {(i, j): float(mag[pos[i], pos[j]] * sign[pos[i], pos[j]]) for i, j in edges}
    e = rng.standard_normal((N_ROWS_GAUSS, P_GAUSS))
    x = np.zeros_like(e)
    for j in order:
        col = e[:, j].copy()
        for i in sorted((i for i, jj in edges if jj == j), key=pos.__getitem__):
            col = col + weights[(i, j)] * x[:, i]
        x[:, j] = col
    return rng, order, edges, weights, x


def disc_data():
    rng = np.random.default_rng(SEED_DISC)
    card = [int(c) for c in rng.integers(2, 4, size=P_DISC)]
    order = [int(v) for v in rng.permutation(P_DISC)]
    u = rng.random((P_DISC, P_DISC))
    edges = [(order[a], order[b]) for a in range(P_DISC) for b in range(a + 1, P_DISC) if u[a, b] < EDGE_PROB_DISC]
    parents = {j: sorted(i for i, jj in edges if jj == j) for j in range(P_DISC)}
    cpts = {}
    for j in order:
        n_cfg = int(np.prod([card[i] for i in parents[j]])) if parents[j] else 1
        cpts[j] = rng.dirichlet(np.ones(card[j]), size=n_cfg)
    x = np.zeros((N_ROWS_DISC, P_DISC), dtype=np.int64)
    for j in order:
        cfg = np.zeros(N_ROWS_DISC, dtype=np.int64)
        for i in parents[j]:
            cfg = cfg * card[i] + x[:, i]
        cum = np.cumsum(cpts[j], axis=1)[cfg]
        uu = rng.random(N_ROWS_DISC)
        x[:, j] = np.minimum((cum < uu[:, None]).sum(axis=1), card[j] - 1)
    return rng, order, card, edges, parents, cpts, x


def write_csv(path, names, x, fmt):
    lines = [",".join(names)]
    lines += [",".join(fmt(v) for v in row) for row in x.tolist()]
    path.write_text("\n".join(lines) + "\n")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if rows[0] != names:
        raise SystemExit(f"{path}: header did not round-trip")
    conv = float if fmt is repr else int
    back = np.array([[conv(v) for v in r] for r in rows[1:]], dtype=x.dtype)
    if back.shape != x.shape or not np.array_equal(back, x):
        raise SystemExit(f"{path}: data did not round-trip")
    return back


# ----------------------------------------------------------------------------------------------
# graphs
# ----------------------------------------------------------------------------------------------


def dag_matrix(p, edges):
    g = np.zeros((p, p), dtype=np.int64)
    for i, j in edges:
        g[j, i] = 1
        g[i, j] = -1
    return g


def true_cpdag(p, edges):
    """CPDAG of a DAG in causal-learn's encoding: v-structures directed, then Meek R1-R3."""
    par = {j: {i for i, jj in edges if jj == j} for j in range(p)}
    adj = {v: set() for v in range(p)}
    for i, j in edges:
        adj[i].add(j)
        adj[j].add(i)
    directed = set()
    for c in range(p):
        for a in par[c]:
            for b in par[c]:
                if a < b and b not in adj[a]:
                    directed.add((a, c))
                    directed.add((b, c))

    def undirected(a, b):
        return b in adj[a] and (a, b) not in directed and (b, a) not in directed

    changed = True
    while changed:
        changed = False
        for a in range(p):
            for b in range(p):
                if not undirected(a, b):
                    continue
                # R1: c -> a - b, c and b not adjacent
                r1 = any((c, a) in directed and b not in adj[c] and c != b for c in range(p))
                # R2: a -> c -> b and a - b
                r2 = any((a, c) in directed and (c, b) in directed for c in range(p))
                # R3: a - c -> b, a - d -> b, c and d not adjacent
                cs = [c for c in range(p) if undirected(a, c) and (c, b) in directed]
                r3 = any(d not in adj[c] for c in cs for d in cs if c < d)
                if r1 or r2 or r3:
                    directed.add((a, b))
                    changed = True
    g = np.zeros((p, p), dtype=np.int64)
    for i in range(p):
        for j in adj[i]:
            if (i, j) in directed:
                g[j, i], g[i, j] = 1, -1
            elif (j, i) not in directed:
                g[i, j] = g[j, i] = -1
    # a DAG's CPDAG must contain the DAG's skeleton and agree with it on every directed edge
    for i, j in edges:
        if g[i, j] == 1:
            raise SystemExit("true CPDAG reverses a true edge")
    # second method: causal-learn's dag2cpdag (Chickering's edge labelling)
    nodes = [GraphNode(f"x{i}") for i in range(p)]
    dag = Dag(nodes)
    for i, j in edges:
        dag.add_directed_edge(nodes[i], nodes[j])
    if not np.array_equal(np.asarray(dag2cpdag(dag).graph), g):
        raise SystemExit("own CPDAG differs from causal-learn's dag2cpdag")
    if not np.array_equal(np.asarray(dag.graph), dag_matrix(p, edges)):
        raise SystemExit("DAG encoding differs from causal-learn's")
    return g


def decode(g):
    p = g.shape[0]
    out = {"directed": [], "undirected": [], "bidirected": [], "other": []}
    for i in range(p):
        for j in range(p):
            a, b = int(g[i, j]), int(g[j, i])
            if a == 0 and b == 0:
                continue
            if a == -1 and b == 1:
                out["directed"].append([i, j])
            elif i < j and a == -1 and b == -1:
                out["undirected"].append([i, j])
            elif i < j and a == 1 and b == 1:
                out["bidirected"].append([i, j])
            elif i < j and not ((a == 1 and b == -1) or (a == -1 and b == 1)):
                out["other"].append([i, j, a, b])
    return out


def skeleton_scores(g, edges):
    p = g.shape[0]
    found = {(i, j) for i in range(p) for j in range(i + 1, p) if g[i, j] != 0 or g[j, i] != 0}
    true = {(min(i, j), max(i, j)) for i, j in edges}
    tp, fp, fn = len(found & true), len(found - true), len(true - found)
    return {
        "n_found": len(found),
        "n_true": len(true),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "false_positive_pairs": sorted([list(e) for e in found - true]),
        "false_negative_pairs": sorted([list(e) for e in true - found]),
    }


def orientation_scores(g, cpdag, edges):
    true_dir = set(edges)
    found_true = [(min(i, j), max(i, j)) for i, j in edges if g[i, j] != 0 or g[j, i] != 0]
    same = sum(1 for i, j in found_true if g[i, j] == cpdag[i, j] and g[j, i] == cpdag[j, i])
    dec = decode(g)
    dir_right = sum(1 for i, j in dec["directed"] if (i, j) in true_dir)
    dir_reversed = sum(1 for i, j in dec["directed"] if (j, i) in true_dir)
    return {
        "n_true_adjacencies_found": len(found_true),
        "marks_equal_true_cpdag": same,
        "directed_as_in_truth": dir_right,
        "directed_reversed": dir_reversed,
        "directed_not_adjacent_in_truth": len(dec["directed"]) - dir_right - dir_reversed,
    }


def sepsets(cg):
    p = cg.G.graph.shape[0]
    out = []
    for i in range(p):
        for j in range(i + 1, p):
            s = cg.sepset[i, j]
            if s is not None:
                out.append({"pair": [i, j], "sepsets": [sorted(int(v) for v in t) for t in s]})
    return out


# ----------------------------------------------------------------------------------------------
# PC runs
# ----------------------------------------------------------------------------------------------


def pc_defaults():
    sig = inspect.signature(pc)
    return {k: sig.parameters[k].default for k in ("uc_rule", "uc_priority", "stable", "max_k")}


def ci_tests(cg):
    """Every test PC ran, from the p-value cache of its CIT object (keys 'x;y' or 'x;y|s1.s2')."""
    rows = []
    for key, p in cg.test.pvalue_cache.items():
        if key in ("data_hash", "method_name", "parameters_hash"):
            continue
        xy, _, cond = key.partition("|")
        x, y = (int(v) for v in xy.split(";"))
        s = [int(v) for v in cond.split(".")] if cond else []
        rows.append((len(s), x, y, s, float(p)))
    rows.sort(key=lambda r: r[:4])
    return rows


def run_pc(data, alpha, test, edges, cpdag):
    cg, warns = quiet(pc, data, alpha, test, stable=True, show_progress=False)
    g = np.asarray(cg.G.graph).astype(np.int64)
    if not np.array_equal(g, cg.G.graph):
        raise SystemExit("G.graph is not integer valued")
    tests = ci_tests(cg)
    return {
        "indep_test": test,
        "alpha": alpha,
        "graph": g,
        "edges": decode(g),
        "sepsets": sepsets(cg),
        "skeleton": skeleton_scores(g, edges),
        "orientation": orientation_scores(g, cpdag, edges),
        "n_ci_tests": len(tests),
        "n_ci_tests_p_zero": sum(1 for t in tests if t[4] == 0.0),
        "ci_tests_p_positive": [{"x": x, "y": y, "s": s_, "p_value": p} for _, x, y, s_, p in tests if p > 0.0],
        "warnings": warns,
    }


# ----------------------------------------------------------------------------------------------


NOTES = {
    "encoding": (
        "graph is causal-learn's G.graph as a nested row-major list, rows and columns in column order: "
        "G.graph[j][i] = 1 and G.graph[i][j] = -1 means i -> j; G.graph[i][j] = G.graph[j][i] = -1 means "
        "i - j (undirected); both 1 means i <-> j; both 0 means not adjacent. edges decodes it: directed "
        "[i, j] is i -> j, undirected / bidirected list [i, j] with i < j. true_dag and true_cpdag use the "
        "same encoding."
    ),
    "pc": (
        "causallearn.search.ConstraintBased.PC.pc(data, alpha, indep_test, stable=True, show_progress=False), "
        "uc_rule and uc_priority left at their defaults (recorded in pc_settings from inspect.signature). "
        "Stable skeleton: at depth d every S of size d in adj(x) minus y is tested for every ordered "
        "adjacent pair without stopping at the first p > alpha; removals take effect at the end of the "
        "depth; sepset[x][y] collects, per side, the union of every separating S found at the removal "
        "depth (sepsets lists them, one union per side, the second possibly empty). uc_rule 0 "
        "(uc_sepset): an unshielded triple x - y - z (x < z, causal-learn's enumeration order) is a "
        "collider iff y is in none of the sepset tuples of (x, z). uc_priority 2: orient x -> y <- z only "
        "if neither y -> x nor y -> z is already oriented (earlier colliders win, no bidirected edges). "
        "Then Meek R1 (with a no-cycle check), R2, R3 to a fixpoint; no R4."
    ),
    "tests": (
        "fisherz: r = -P[0,1]/sqrt(P[0,0] P[1,1]), P = inverse of the np.corrcoef submatrix of (x, y, S); "
        "p = 2 (1 - Phi(sqrt(n - |S| - 3) |atanh r|)). gsq: 2 sum O log(O/E) and chisq: sum (O - E)^2/E "
        "over the strata of S that occur, E = n_sx n_sy / n_s; df = sum over strata of (|X| - 1 - empty "
        "rows)(|Y| - 1 - empty columns), p = 1 if df = 0 else chi2.sf(stat, df). Each run lists every "
        "distinct test PC performed (read from the p-value cache of its CIT object, x < y, s sorted): "
        "n_ci_tests counts them, n_ci_tests_p_zero those whose p underflowed to exactly 0.0 (for fisherz "
        "1 - Phi(z) is exactly 0 once z > 8.29), and ci_tests_p_positive lists the others with their p, "
        "sorted by (|s|, x, y, s). Compare p-values with an absolute tolerance (about 1e-12)."
    ),
    "scores": (
        "skeleton: adjacencies found (either mark non-zero) against the true DAG's, as unordered pairs; "
        "f1 = 2 tp / (2 tp + fp + fn). orientation: marks_equal_true_cpdag counts the true adjacencies "
        "found whose marks both equal the true CPDAG's (own v-structure + Meek R1-R3 code, asserted equal "
        "to causallearn.utils.DAG2CPDAG.dag2cpdag); "
        "directed_as_in_truth / directed_reversed count PC's directed edges against the true DAG."
    ),
}


def main():
    if not Path("tools/golden").is_dir():
        raise SystemExit("run from the repository root")
    defaults = pc_defaults()

    # Gaussian
    _, order_g, edges_g, weights_g, xg = gauss_data()
    names_g = [f"x{i}" for i in range(P_GAUSS)]
    xg_back = write_csv(GAUSS_CSV, names_g, xg, repr)
    cpdag_g = true_cpdag(P_GAUSS, edges_g)
    runs_g = [run_pc(xg_back, a, "fisherz", edges_g, cpdag_g) for a in ALPHAS_GAUSS]
    edges_g_sorted = sorted(edges_g)
    corr = np.corrcoef(xg_back.T)
    off = np.abs(corr - np.eye(P_GAUSS))

    # discrete
    _, order_d, card_d, edges_d, parents_d, cpts_d, xd = disc_data()
    names_d = [f"x{i}" for i in range(P_DISC)]
    xd_back = write_csv(DISC_CSV, names_d, xd, str)
    cpdag_d = true_cpdag(P_DISC, edges_d)
    runs_d = [run_pc(xd_back, ALPHA_DISC, t, edges_d, cpdag_d) for t in TESTS_DISC]

    fixture = {
        "provenance": {
            "script": "tools/golden/graph_pc.py",
            "python": platform.python_version(),
            "causal_learn": version("causal-learn"),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "seed": {"pc_gauss": SEED_GAUSS, "pc_discrete": SEED_DISC},
        },
        "notes": NOTES,
        "pc_settings": {
            "function": "causallearn.search.ConstraintBased.PC.pc",
            "stable": True,
            "uc_rule": defaults["uc_rule"],
            "uc_priority": defaults["uc_priority"],
            "signature_defaults": defaults,
            "uc_rule_meaning": "0 = uc_sepset (1 = maxP, 2 = definiteMaxP)",
            "uc_priority_meaning": (
                "2 = prioritize existing colliders (0 overwrite, 1 orient bi-directed, 3 stronger colliders, "
                "4 stronger* colliders, -1 the rule's own default)"
            ),
            "show_progress": False,
        },
        "gaussian": {
            "data": {
                "path": str(GAUSS_CSV),
                "columns": names_g,
                "n": N_ROWS_GAUSS,
                "seed": SEED_GAUSS,
                "edge_probability": EDGE_PROB_GAUSS,
                "dgp": (
                    "default_rng(3434): order = permutation(20); U = random((20, 20)), edge x{order[a]} -> "
                    "x{order[b]} iff a < b and U[a, b] < 2.5/19; M = uniform(0.5, 1.5, (20, 20)), S = "
                    "choice([-1, 1], (20, 20)), weight M[a, b] S[a, b]; E = standard_normal((10000, 20)); "
                    "x_j = E_j + sum_i w_ij x_i in topological order"
                ),
                "column_sd": np.std(xg_back, axis=0, ddof=1),
                "max_abs_offdiag_corr": float(off.max()),
            },
            "topological_order": order_g,
            "true_edges": [list(e) for e in edges_g_sorted],
            "true_weights": [weights_g[e] for e in edges_g_sorted],
            "n_true_edges": len(edges_g),
            "mean_degree": 2 * len(edges_g) / P_GAUSS,
            "true_dag": dag_matrix(P_GAUSS, edges_g),
            "true_cpdag": cpdag_g,
            "true_cpdag_edges": decode(cpdag_g),
            "runs": runs_g,
        },
        "discrete": {
            "data": {
                "path": str(DISC_CSV),
                "columns": names_d,
                "n": N_ROWS_DISC,
                "seed": SEED_DISC,
                "edge_probability": EDGE_PROB_DISC,
                "dgp": (
                    "default_rng(5656): card = integers(2, 4, 8); order = permutation(8); U = random((8, 8)), "
                    "edge x{order[a]} -> x{order[b]} iff a < b and U[a, b] < 0.35; CPT rows dirichlet(ones(card)) "
                    "per parent configuration (mixed radix, parents in index order, first most significant), "
                    "nodes in topological order; rows: per node in topological order u = random(5000), x = "
                    "min(#(cumsum(row) < u), card - 1)"
                ),
            },
            "cardinalities": card_d,
            "topological_order": order_d,
            "true_edges": [list(e) for e in sorted(edges_d)],
            "cpts": [
                {"node": j, "parents": parents_d[j], "cardinality": card_d[j], "rows": cpts_d[j]}
                for j in range(P_DISC)
            ],
            "true_dag": dag_matrix(P_DISC, edges_d),
            "true_cpdag": cpdag_d,
            "true_cpdag_edges": decode(cpdag_d),
            "runs": runs_d,
        },
    }
    OUT_JSON.write_text(json.dumps(to_py(fixture), indent=1) + "\n")
    brief = {
        name: [
            {k: r[k] for k in ("indep_test", "alpha")}
            | {"f1": r["skeleton"]["f1"], "fp": r["skeleton"]["fp"], "fn": r["skeleton"]["fn"]}
            | r["orientation"]
            for r in fixture[name]["runs"]
        ]
        for name in ("gaussian", "discrete")
    }
    print(json.dumps(to_py(brief), indent=1))


if __name__ == "__main__":
    main()
