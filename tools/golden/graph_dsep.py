#!/usr/bin/env python3
"""Reference answers for d-separation and graphical identification on DAGs: d-separation
queries (networkx), back-door adjustment sets (a brute force on Pearl's criterion, with
pgmpy's answers beside it), minimal front-door sets and unconditional instruments (brute
force). Peers: networkx 3.6.1 and pgmpy 1.1.2; the environment is pinned in
tools/golden/requirements-graph.txt.

Run from the repository root, in a virtual environment built from that requirements file:

    python3.11 -m venv /work/venv-graph
    /work/venv-graph/bin/pip install -r tools/golden/requirements-graph.txt
    /work/venv-graph/bin/python tools/golden/graph_dsep.py

The script re-executes itself with PYTHONHASHSEED=0: pgmpy's get_minimal_adjustment_set walks
a Python set of node names, so its answer (one of possibly several minimal separators)
depends on string hashing. With the seed fixed, two runs give byte-identical files.

Random DAGs (numpy.random.default_rng(1212), drawn in this order for each of the 200 DAGs)
----------------------------------------------------------------------------------------
    n      = rng.integers(5, 13)                 nodes "v0".."v{n-1}"
    p      = rng.uniform(0.15, 0.4)              edge probability of this DAG
    order  = rng.permutation(n)                  a random topological order
    U      = rng.random((n, n))                  edge v{order[a]} -> v{order[b]} iff a < b and U[a, b] < p
    10 queries, each: (x, y) = rng.choice(n, 2, replace=False); k = rng.integers(0, 4);
        Z = rng.choice(the other n - 2 nodes in index order, k, replace=False)
    effect pair: the pairs (x, y) with y a descendant of x, in index order; restricted to the
        pairs whose x has a parent when there is one (so that the back-door question is not
        trivially the empty set); one is taken with rng.integers(len(pairs)). A DAG without
        edges has no pair and draws nothing.

Every set below is a list of node names in node-list order (v2 before v10), and every list of
sets is sorted by (size, node positions). Nothing is latent in the random DAGs.

Definitions (brute force, every d-separation test by networkx.is_d_separator)
-----------------------------------------------------------------------------
De(x): the proper descendants of x. G_x_out: G with the edges out of x removed.
Back-door (Pearl 1993): Z is valid for (x, y) iff Z has no latent node, no descendant of x,
    neither x nor y, and x is d-separated from y given Z in G_x_out. All subsets of the
    candidates (observed nodes minus x, y, De(x)) are tested; `minimal` keeps the valid sets
    with no valid proper subset (the reference); `n_valid` counts them all, and the
    textbook graphs also list them (`valid`).
Front-door (Pearl 1995): Z (non-empty, observed, without x and y) is valid iff
    (i) every directed path x -> ... -> y meets Z (no path from x to y in G minus Z),
    (ii) for every z in Z, x is d-separated from z given {} in G_x_out (no open back-door
         path from x to z),
    (iii) for every z in Z, z is d-separated from y given {x} in G with the edges out of z
         removed (x blocks every back-door path from z to y).
    All subsets of the candidates are tested; `minimal` keeps the inclusion-minimal ones.
Instrument (unconditional): z observed, not x or y, not in De(x), z d-connected to x given {}
    in G, and z d-separated from y given {} in G_x_out.

pgmpy (CausalInference on pgmpy.base.DAG, latents passed as DAG latents)
-----------------------------------------------------------------------
get_all_backdoor_adjustment_sets(x, y): if its own test accepts the empty set it returns
    frozenset() (no sets at all), which is read here as [[]]; otherwise it walks the power set
    of the observed non-descendants by size, skipping supersets of sets already accepted, so it
    returns the minimal sets; it raises ValueError when there is none (read as []). Its test is
    "every parent p of x is d-separated from y given Z + {x} in G" (pgmpy's own d-separation).
get_minimal_adjustment_set(x, y): the minimal d-separator (Tian, Paz and Pearl 1998, greedy
    removal from the parents of x and y) in the proper back-door graph (first edge of every
    causal path from x removed). It does not exclude descendants of x, returns None when no
    separator exists, and raises ValueError when x and y stay adjacent.
get_all_frontdoor_adjustment_sets(x, y): all valid front-door sets (pgmpy's own test, the same
    three conditions); compared with the brute force's full list of valid sets.
The fixture records pgmpy's answers and flags whether they agree with the brute force. They
are not forced to agree.

Self checks: an own d-separation (moral graph of the ancestral set, plain Python) agrees with
networkx on every query; the three textbook graphs' hand-written answers equal the brute force.

Output: tools/golden/fixtures/graph_dsep.json. to_py comes from golden_common.py beside this
script.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import itertools
import json
import platform
from pathlib import Path

import warnings

import networkx as nx
import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # pgmpy's own deprecation notices on import
    import pgmpy
    from pgmpy.base import DAG
    from pgmpy.inference import CausalInference

from golden_common import quiet, to_py

OUT_JSON = Path("tools/golden/fixtures/graph_dsep.json")
SEED = 1212
N_DAGS = 200
N_QUERIES = 10
N_MIN, N_MAX = 5, 12
P_LO, P_HI = 0.15, 0.4
MAX_Z = 3

IS_D_SEPARATOR = getattr(nx, "is_d_separator", None) or getattr(nx, "d_separated")
DSEP_FUNCTION = "networkx.is_d_separator" if hasattr(nx, "is_d_separator") else "networkx.d_separated"


# ----------------------------------------------------------------------------------------------
# graphs and sets
# ----------------------------------------------------------------------------------------------


class Graph:
    """A DAG with an ordered node list, optional latent nodes and a networkx copy."""

    def __init__(self, nodes, edges, latent=()):
        self.nodes = list(nodes)
        self.pos = {v: i for i, v in enumerate(self.nodes)}
        self.edges = sorted((tuple(e) for e in edges), key=lambda e: (self.pos[e[0]], self.pos[e[1]]))
        self.latent = sorted(latent, key=self.pos.__getitem__)
        self.g = nx.DiGraph()
        self.g.add_nodes_from(self.nodes)
        self.g.add_edges_from(self.edges)
        if not nx.is_directed_acyclic_graph(self.g):
            raise SystemExit("graph has a cycle")
        self.parents = {v: set(self.g.predecessors(v)) for v in self.nodes}

    def sort(self, s):
        return sorted(s, key=self.pos.__getitem__)

    def sort_sets(self, sets):
        rows = [self.sort(s) for s in sets]
        return sorted(rows, key=lambda r: (len(r), [self.pos[v] for v in r]))

    def without_out_edges(self, v):
        h = self.g.copy()
        h.remove_edges_from(list(self.g.out_edges(v)))
        return h

    def observed(self):
        return [v for v in self.nodes if v not in set(self.latent)]


def subsets(items):
    for r in range(len(items) + 1):
        yield from itertools.combinations(items, r)


def minimal_of(sets):
    fs = [frozenset(s) for s in sets]
    return [s for s in fs if not any(t < s for t in fs)]


def own_d_separated(graph, x, y, z):
    """x and y d-separated by z: x, y disconnected in the moral graph of An({x, y} + z) minus z."""
    keep = {x, y, *z}
    stack = list(keep)
    while stack:
        v = stack.pop()
        for p in graph.parents[v]:
            if p not in keep:
                keep.add(p)
                stack.append(p)
    nbr = {v: set() for v in keep}
    for v in keep:
        ps = sorted(graph.parents[v])
        for p in ps:
            nbr[v].add(p)
            nbr[p].add(v)
        for a, b in itertools.combinations(ps, 2):
            nbr[a].add(b)
            nbr[b].add(a)
    blocked = set(z)
    seen = {x}
    stack = [x]
    while stack:
        v = stack.pop()
        if v == y:
            return False
        for w in nbr[v]:
            if w not in seen and w not in blocked:
                seen.add(w)
                stack.append(w)
    return True


# ----------------------------------------------------------------------------------------------
# brute force: back-door, front-door, instruments
# ----------------------------------------------------------------------------------------------


def backdoor_brute(graph, x, y):
    de = nx.descendants(graph.g, x)
    cand = [v for v in graph.observed() if v not in (x, y) and v not in de]
    g_bd = graph.without_out_edges(x)
    valid = [set(s) for s in subsets(cand) if IS_D_SEPARATOR(g_bd, {x}, {y}, set(s))]
    return {
        "candidates": graph.sort(cand),
        "n_valid": len(valid),
        "valid": graph.sort_sets(valid),
        "minimal": graph.sort_sets(minimal_of(valid)),
    }


def frontdoor_valid(graph, x, y, zset, g_bd, cut_cache):
    # (i) Z intercepts every directed path from x to y
    rest = graph.g.subgraph([v for v in graph.nodes if v not in zset])
    if nx.has_path(rest, x, y):
        return False
    for z in zset:
        # (ii) no open back-door path from x to z
        if not IS_D_SEPARATOR(g_bd, {x}, {z}, set()):
            return False
        # (iii) x blocks every back-door path from z to y
        if z not in cut_cache:
            cut_cache[z] = graph.without_out_edges(z)
        if not IS_D_SEPARATOR(cut_cache[z], {z}, {y}, {x}):
            return False
    return True


def frontdoor_brute(graph, x, y):
    cand = [v for v in graph.observed() if v not in (x, y)]
    g_bd = graph.without_out_edges(x)
    cache = {}
    valid = [set(s) for s in subsets(cand) if s and frontdoor_valid(graph, x, y, set(s), g_bd, cache)]
    return {
        "n_valid": len(valid),
        "valid": graph.sort_sets(valid),
        "minimal": graph.sort_sets(minimal_of(valid)),
    }


def instruments_brute(graph, x, y):
    de = nx.descendants(graph.g, x)
    g_bd = graph.without_out_edges(x)
    out = []
    for z in graph.observed():
        if z in (x, y) or z in de:
            continue
        if IS_D_SEPARATOR(graph.g, {x}, {z}, set()):
            continue
        if IS_D_SEPARATOR(g_bd, {z}, {y}, set()):
            out.append(z)
    return graph.sort(out)


# ----------------------------------------------------------------------------------------------
# pgmpy
# ----------------------------------------------------------------------------------------------


def pgmpy_block(graph, x, y, bd, fd):
    dag = DAG(ebunch=graph.edges, latents=set(graph.latent))
    dag.add_nodes_from(graph.nodes)
    ci = CausalInference(dag)

    try:
        res, _ = quiet(ci.get_all_backdoor_adjustment_sets, x, y)
        if res == frozenset():
            status, sets = "returned_empty_frozenset", [[]]
        else:
            status, sets = "returned_sets", graph.sort_sets(res)
    except ValueError as e:
        status, sets = f"ValueError: {e}", []

    try:
        mres, _ = quiet(ci.get_minimal_adjustment_set, x, y)
        if mres is None:
            mstatus, mset = "returned_None", None
        else:
            mstatus, mset = "returned_set", graph.sort(mres)
    except ValueError as e:
        mstatus, mset = f"ValueError: {e}", None

    fres, _ = quiet(ci.get_all_frontdoor_adjustment_sets, x, y)
    fsets = graph.sort_sets(fres)

    valid_bd = [frozenset(s) for s in bd["valid"]]
    de = nx.descendants(graph.g, x)
    return {
        "all_backdoor_status": status,
        "all_backdoor_sets": sets,
        "all_backdoor_agrees": sets == bd["minimal"],
        "minimal_adjustment_status": mstatus,
        "minimal_adjustment_set": mset,
        "minimal_is_valid_backdoor": None if mset is None else frozenset(mset) in valid_bd,
        "minimal_in_brute_minimal": None if mset is None else mset in bd["minimal"],
        "minimal_descendants_of_treatment": None if mset is None else graph.sort(set(mset) & de),
        "minimal_none_agrees": (mset is None) == (len(bd["minimal"]) == 0) if mstatus != "returned_set" else None,
        "all_frontdoor_sets": fsets,
        "all_frontdoor_agrees": fsets == fd["valid"],
    }


def effect_block(graph, x, y, keep_valid):
    bd = backdoor_brute(graph, x, y)
    fd = frontdoor_brute(graph, x, y)
    pg = pgmpy_block(graph, x, y, bd, fd)
    if not keep_valid:
        bd = {k: v for k, v in bd.items() if k != "valid"}
    return {
        "treatment": x,
        "outcome": y,
        "descendants_of_treatment": graph.sort(nx.descendants(graph.g, x)),
        "backdoor": bd,
        "frontdoor": {"n_valid": fd["n_valid"], "minimal": fd["minimal"]},
        "instruments": instruments_brute(graph, x, y),
        "pgmpy": pg,
    }


# ----------------------------------------------------------------------------------------------
# random DAGs
# ----------------------------------------------------------------------------------------------


def random_dags():
    rng = np.random.default_rng(SEED)
    out = []
    n_queries_checked = 0
    for k in range(N_DAGS):
        n = int(rng.integers(N_MIN, N_MAX + 1))
        p = float(rng.uniform(P_LO, P_HI))
        order = [int(v) for v in rng.permutation(n)]
        u = rng.random((n, n))
        names = [f"v{i}" for i in range(n)]
        edges = [
            (names[order[a]], names[order[b]]) for a in range(n) for b in range(a + 1, n) if u[a, b] < p
        ]
        graph = Graph(names, edges)

        queries = []
        for _ in range(N_QUERIES):
            xi, yi = (int(v) for v in rng.choice(n, size=2, replace=False))
            others = [i for i in range(n) if i not in (xi, yi)]
            kz = int(rng.integers(0, MAX_Z + 1))
            zi = sorted(int(v) for v in rng.choice(others, size=kz, replace=False))
            x, y, z = names[xi], names[yi], [names[i] for i in zi]
            sep = bool(IS_D_SEPARATOR(graph.g, {x}, {y}, set(z)))
            if sep != own_d_separated(graph, x, y, z):
                raise SystemExit(f"dag {k}: own d-separation disagrees with networkx on {x}, {y} | {z}")
            n_queries_checked += 1
            queries.append({"x": x, "y": y, "z": z, "d_separated": sep})

        pairs = [(a, b) for a in names for b in graph.sort(nx.descendants(graph.g, a))]
        with_parent = [(a, b) for a, b in pairs if graph.parents[a]]
        pool = with_parent or pairs
        effect = None
        if pool:
            a, b = pool[int(rng.integers(len(pool)))]
            effect = effect_block(graph, a, b, keep_valid=False)

        out.append(
            {
                "id": k,
                "n_nodes": n,
                "edge_probability": p,
                "nodes": names,
                "topological_order": [names[i] for i in order],
                "edges": [list(e) for e in graph.edges],
                "latent": [],
                "dsep_queries": queries,
                "effect": effect,
            }
        )
    return out, n_queries_checked


# ----------------------------------------------------------------------------------------------
# textbook graphs
# ----------------------------------------------------------------------------------------------


TEXTBOOK = [
    {
        "name": "backdoor_pearl",
        "description": (
            "Pearl's back-door example (Pearl 1993, Fig. 1; Causality 2009, Fig. 3.4), eight nodes. "
            "x = Pearl's X_i, y = X_j, x1..x6 = X_1..X_6. The book: {X3, X4} and {X4, X5} satisfy the "
            "back-door criterion, {X4} does not (it opens X_i <- X3 <- X1 -> X4 <- X2 -> X5 -> X_j). "
            "X4 is needed for x <- x4 -> y, and conditioning on it opens the collider x1 -> x4 <- x2, "
            "which one of x1, x2, x3, x5 then blocks."
        ),
        "nodes": ["x1", "x2", "x3", "x4", "x5", "x6", "x", "y"],
        "edges": [
            ["x1", "x3"], ["x1", "x4"], ["x2", "x4"], ["x2", "x5"], ["x3", "x"],
            ["x4", "x"], ["x4", "y"], ["x5", "y"], ["x", "x6"], ["x6", "y"],
        ],
        "latent": [],
        "treatment": "x",
        "outcome": "y",
        "known": {
            "backdoor_minimal": [["x1", "x4"], ["x2", "x4"], ["x3", "x4"], ["x4", "x5"]],
            "backdoor_valid_examples": [["x3", "x4"], ["x4", "x5"]],
            "backdoor_invalid_examples": [[], ["x4"], ["x3"], ["x5"], ["x6"], ["x4", "x6"]],
            "frontdoor_minimal": [["x6"]],
            "instruments": [],
        },
    },
    {
        "name": "frontdoor",
        "description": (
            "Front-door graph: x -> m -> y with a latent confounder u -> x, u -> y (the smoking / tar / "
            "cancer example). u is latent, so no adjustment set may contain it: there is no valid "
            "back-door set, {m} is the front-door set, and there is no unconditional instrument."
        ),
        "nodes": ["u", "x", "m", "y"],
        "edges": [["u", "x"], ["u", "y"], ["x", "m"], ["m", "y"]],
        "latent": ["u"],
        "treatment": "x",
        "outcome": "y",
        "known": {
            "backdoor_minimal": [],
            "backdoor_valid_examples": [],
            "backdoor_invalid_examples": [[], ["m"]],
            "frontdoor_minimal": [["m"]],
            "instruments": [],
        },
    },
    {
        "name": "m_bias",
        "description": (
            "M-bias: x <- a -> m <- b -> y and x -> y. The empty set is the minimal adjustment set; {m} "
            "alone opens a -> m <- b and is not valid, {m} with a or b is. a is an unconditional "
            "instrument (it reaches y only through x); b and m are not."
        ),
        "nodes": ["x", "y", "a", "b", "m"],
        "edges": [["a", "x"], ["a", "m"], ["b", "m"], ["b", "y"], ["x", "y"]],
        "latent": [],
        "treatment": "x",
        "outcome": "y",
        "known": {
            "backdoor_minimal": [[]],
            "backdoor_valid": [[], ["a"], ["b"], ["a", "b"], ["a", "m"], ["b", "m"], ["a", "b", "m"]],
            "backdoor_valid_examples": [[], ["a", "m"], ["b", "m"]],
            "backdoor_invalid_examples": [["m"]],
            "frontdoor_minimal": [],
            "instruments": ["a"],
        },
    },
]


def textbook_graphs():
    out = []
    for spec in TEXTBOOK:
        graph = Graph(spec["nodes"], spec["edges"], spec["latent"])
        x, y = spec["treatment"], spec["outcome"]
        eff = effect_block(graph, x, y, keep_valid=True)
        known = spec["known"]
        valid = [frozenset(s) for s in eff["backdoor"]["valid"]]
        checks = {
            "backdoor_minimal": graph.sort_sets(known["backdoor_minimal"]) == eff["backdoor"]["minimal"],
            "backdoor_valid_examples": all(frozenset(s) in valid for s in known["backdoor_valid_examples"]),
            "backdoor_invalid_examples": all(frozenset(s) not in valid for s in known["backdoor_invalid_examples"]),
            "frontdoor_minimal": graph.sort_sets(known["frontdoor_minimal"]) == eff["frontdoor"]["minimal"],
            "instruments": graph.sort(known["instruments"]) == eff["instruments"],
        }
        if "backdoor_valid" in known:
            checks["backdoor_valid"] = graph.sort_sets(known["backdoor_valid"]) == eff["backdoor"]["valid"]
        if not all(checks.values()):
            raise SystemExit(f"textbook graph {spec['name']}: known answers differ from the brute force: {checks}")
        out.append(
            {
                "name": spec["name"],
                "description": spec["description"],
                "nodes": graph.nodes,
                "edges": [list(e) for e in graph.edges],
                "latent": graph.latent,
                "known": known,
                "known_matches_brute_force": checks,
                **eff,
            }
        )
    return out


# ----------------------------------------------------------------------------------------------


NOTES = {
    "dsep_queries": (
        f"d_separated = {DSEP_FUNCTION}(G, {{x}}, {{y}}, set(z)) on the DAG (no latents). Each query has "
        "x != y and z a random subset (size 0..3) of the other nodes. An own moral-ancestral-graph "
        "d-separation agrees on every query."
    ),
    "backdoor": (
        "Brute force on Pearl's back-door criterion: Z valid iff Z holds no latent node, no descendant of "
        "the treatment x, neither x nor y, and x is d-separated from y given Z (networkx) in G with the "
        "edges out of x removed. Every subset of `candidates` is tested; `n_valid` counts the valid sets "
        "(the textbook graphs also list them in `valid`), `minimal` (the reference) those with no valid proper subset. [] means no valid set, [[]] means "
        "the empty set is valid (then it is the only minimal set)."
    ),
    "frontdoor": (
        "Brute force on Pearl's front-door criterion, over every non-empty subset Z of the observed nodes "
        "other than x and y: (i) Z meets every directed path from x to y; (ii) for each z in Z, x and z "
        "are d-separated given {} in G with the edges out of x removed; (iii) for each z in Z, z and y are "
        "d-separated given {x} in G with the edges out of z removed. `minimal` keeps the inclusion-minimal "
        "valid sets, `n_valid` counts all valid sets."
    ),
    "instruments": (
        "Unconditional instruments: z observed, z not x or y and not a descendant of x, z d-connected to x "
        "given {} in G, and z d-separated from y given {} in G with the edges out of x removed."
    ),
    "pgmpy": (
        "pgmpy.inference.CausalInference(DAG(edges, latents)). all_backdoor_sets: "
        "get_all_backdoor_adjustment_sets(x, y), read as [[]] when it returns frozenset() (its way of "
        "saying the empty set suffices; status returned_empty_frozenset) and as [] when it raises "
        "ValueError (no valid set). Its validity test is that every parent of x is d-separated from y "
        "given Z + {x} in G, and it returns the minimal valid sets among observed non-descendants of x; "
        "all_backdoor_agrees compares with backdoor.minimal. minimal_adjustment_set: "
        "get_minimal_adjustment_set(x, y), the greedy minimal d-separator of x and y in the proper "
        "back-door graph (Perkovic et al. 2017), which may hold descendants of x (so minimal_is_valid_backdoor "
        "can be false) and depends on set iteration order (PYTHONHASHSEED=0 here); None when no separator "
        "exists. minimal_none_agrees (only when pgmpy gave no set): pgmpy's None agrees with the brute force "
        "finding no valid set. all_frontdoor_sets: get_all_frontdoor_adjustment_sets(x, y), every valid "
        "set, compared with the brute force's full list."
    ),
    "ordering": (
        "Sets list node names in node-list order (v2 before v10); lists of sets are sorted by size, then by "
        "node positions."
    ),
}


def summary(dags, textbook):
    effects = [d["effect"] for d in dags if d["effect"] is not None]
    pg = [e["pgmpy"] for e in effects]
    n_set = sum(1 for p in pg if p["minimal_adjustment_status"] == "returned_set")
    return {
        "n_dags": len(dags),
        "n_dsep_queries": sum(len(d["dsep_queries"]) for d in dags),
        "n_d_separated_true": sum(q["d_separated"] for d in dags for q in d["dsep_queries"]),
        "n_effects": len(effects),
        "n_effects_treatment_has_parent": sum(1 for d in dags if d["effect"] and any(
            e[1] == d["effect"]["treatment"] for e in d["edges"])),
        "n_backdoor_none_valid": sum(1 for e in effects if not e["backdoor"]["minimal"]),
        "n_backdoor_empty_set_valid": sum(1 for e in effects if e["backdoor"]["minimal"] == [[]]),
        "n_with_frontdoor_set": sum(1 for e in effects if e["frontdoor"]["minimal"]),
        "n_with_instrument": sum(1 for e in effects if e["instruments"]),
        "pgmpy_all_backdoor_agrees": sum(p["all_backdoor_agrees"] for p in pg),
        "pgmpy_minimal_returned_set": n_set,
        "pgmpy_minimal_is_valid_backdoor": sum(1 for p in pg if p["minimal_is_valid_backdoor"]),
        "pgmpy_minimal_in_brute_minimal": sum(1 for p in pg if p["minimal_in_brute_minimal"]),
        "pgmpy_minimal_returned_none": sum(1 for p in pg if p["minimal_adjustment_status"] == "returned_None"),
        "pgmpy_minimal_raised": sum(1 for p in pg if p["minimal_adjustment_status"].startswith("ValueError")),
        "pgmpy_all_frontdoor_agrees": sum(p["all_frontdoor_agrees"] for p in pg),
        "textbook_pgmpy_all_backdoor_agrees": {t["name"]: t["pgmpy"]["all_backdoor_agrees"] for t in textbook},
    }


def main():
    if not Path("tools/golden").is_dir():
        raise SystemExit("run from the repository root")
    dags, n_checked = random_dags()
    textbook = textbook_graphs()
    fixture = {
        "provenance": {
            "script": "tools/golden/graph_dsep.py",
            "python": platform.python_version(),
            "networkx": nx.__version__,
            "pgmpy": pgmpy.__version__,
            "numpy": np.__version__,
            "seed": {"random_dags": SEED},
            "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
        },
        "notes": NOTES,
        "generator": {
            "n_dags": N_DAGS,
            "nodes_range": [N_MIN, N_MAX],
            "edge_probability_range": [P_LO, P_HI],
            "queries_per_dag": N_QUERIES,
            "max_conditioning_size": MAX_Z,
            "draw_order": (
                "per DAG: n = integers(5, 13); p = uniform(0.15, 0.4); order = permutation(n); U = random((n, n)), "
                "edge v{order[a]} -> v{order[b]} iff a < b and U[a, b] < p; then 10 queries, each "
                "choice(n, 2, replace=False) for (x, y), integers(0, 4) for |Z|, choice(others, |Z|, "
                "replace=False) with others the remaining indices in increasing order; then the effect pair "
                "integers(len(pool)) where pool = descendant pairs (x, y) in index order whose x has a parent "
                "(all descendant pairs if none has), drawn only when the pool is not empty"
            ),
        },
        "self_check": {"own_dsep_queries_agreeing_with_networkx": n_checked},
        "summary": None,
        "textbook": textbook,
        "dags": dags,
    }
    fixture["summary"] = summary(dags, textbook)
    OUT_JSON.write_text(json.dumps(to_py(fixture), indent=1) + "\n")
    print(json.dumps(fixture["summary"], indent=1))


if __name__ == "__main__":
    main()
