"""PC on 50 variables x 100,000 rows: paribus vs causal-learn, side by side.

Run from the repository root after `cargo build --release -p paribus-cli`, with causal-learn
installed from tools/golden/requirements-graph.txt into a venv outside the repository:

    /work/venv-graph/bin/python bench/pc/bench.py

Data: a random linear-Gaussian DAG (numpy default_rng(77), 50 nodes, expected degree 3,
weights uniform in +-[0.5, 1.5]), 100,000 rows. Both run PC-stable with Fisher-z at alpha 0.01
(causal-learn's defaults otherwise). Two ratios: the algorithm alone (causal-learn's `pc` on the
array in memory vs paribus's own PC time from `--timings`), and end to end from the same CSV
file (pandas.read_csv + `pc` vs the whole `paribus graph discover` process), and the same from
a Parquet file. Each side runs three
times, interleaved; the best time is kept. The script checks that the two CPDAGs are identical
and writes bench/pc/results.json.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

P, N, SEED, ALPHA = 50, 100_000, 77, 0.01


def data():
    rng = np.random.default_rng(SEED)
    order = rng.permutation(P)
    prob = 3.0 / (P - 1)
    w = np.zeros((P, P))
    for a in range(P):
        for b in range(a + 1, P):
            if rng.random() < prob:
                w[order[a], order[b]] = rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
    x = np.zeros((N, P))
    for k in range(P):
        v = order[k]
        x[:, v] = x @ w[:, v] + rng.standard_normal(N)
    return x


def main():
    from causallearn.search.ConstraintBased.PC import pc
    import causallearn

    x = data()
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "pc50.csv")
    np.savetxt(path, x, delimiter=",", header=",".join(f"x{i}" for i in range(P)), comments="", fmt="%.17g")
    binary = "target/release/paribus"
    import pandas as pd

    pq = os.path.join(tmp, "pc50.parquet")
    pd.DataFrame(x, columns=[f"x{i}" for i in range(P)]).to_parquet(pq, index=False)
    t_cl, t_cl_e2e, t_pb, t_pb_e2e = [], [], [], []
    t_cl_pq, t_pb_pq = [], []
    g_cl = g_pb = None
    for _ in range(3):
        t0 = time.perf_counter()
        arr = pd.read_csv(path).to_numpy()
        t1 = time.perf_counter()
        cg = pc(arr, ALPHA, "fisherz", stable=True, show_progress=False)
        t2 = time.perf_counter()
        t_cl.append(t2 - t1)
        t_cl_e2e.append(t2 - t0)
        g_cl = cg.G.graph.tolist()
        t0 = time.perf_counter()
        out = subprocess.run(
            [binary, "graph", "discover", "--data", path, "--columns", "x*", "--alpha", str(ALPHA), "--json",
             "--timings"],
            check=True, capture_output=True, text=True)
        t_pb_e2e.append(time.perf_counter() - t0)
        t_pb.append(json.loads(out.stderr.strip().splitlines()[-1])["timings"]["pc_s"])
        t0 = time.perf_counter()
        pc(pd.read_parquet(pq).to_numpy(), ALPHA, "fisherz", stable=True, show_progress=False)
        t_cl_pq.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([binary, "graph", "discover", "--data", pq, "--columns", "x*", "--alpha", str(ALPHA), "--json"],
                       check=True, capture_output=True, text=True)
        t_pb_pq.append(time.perf_counter() - t0)
        doc = json.loads(out.stdout)["discovery"]
        g = np.zeros((P, P), dtype=int)
        idx = {f"x{i}": i for i in range(P)}
        for a, b in doc["directed"]:
            g[idx[a], idx[b]] = -1
            g[idx[b], idx[a]] = 1
        for a, b in doc["undirected"]:
            g[idx[a], idx[b]] = g[idx[b], idx[a]] = -1
        g_pb = g.tolist()
    same = g_cl == g_pb
    res = {
        "what": f"PC-stable, Fisher-z, alpha {ALPHA}, {P} variables x {N} rows (linear-Gaussian DAG, seed {SEED})",
        "causal_learn": causallearn.__version__ if hasattr(causallearn, "__version__") else "see tools/golden/requirements-graph.txt",
        "algorithm": {"causal_learn_s": min(t_cl), "paribus_s": min(t_pb), "speedup": min(t_cl) / min(t_pb)},
        "end_to_end_from_csv": {
            "causal_learn_s": min(t_cl_e2e),
            "paribus_s": min(t_pb_e2e),
            "speedup": min(t_cl_e2e) / min(t_pb_e2e),
            "note": "paribus's CSV reading dominates its time here",
        },
        "end_to_end_from_parquet": {
            "causal_learn_s": min(t_cl_pq),
            "paribus_s": min(t_pb_pq),
            "speedup": min(t_cl_pq) / min(t_pb_pq),
            "note": "pandas.read_parquet (pyarrow) + pc vs the whole paribus process",
        },
        "same_cpdag": same,
        "n_edges": int((np.array(g_pb) != 0).sum() // 2),
        "threads": os.cpu_count(),
    }
    with open("bench/pc/results.json", "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(json.dumps(res, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
