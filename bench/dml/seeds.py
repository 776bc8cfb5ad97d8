#!/usr/bin/env python3
"""Are the nuisance-loss gaps of bench.py (paribus / DoubleML + LightGBM, a few parts in ten
thousand either way) the learner's or the data set's? Both sides on fresh draws of bench.py's
design, one data set per seed (numpy's default_rng(seed) instead of the model's fixed seed, a
new fold column with it), and per nuisance the ratio of the out-of-fold losses paribus /
DoubleML on each draw, their mean, standard deviation and the standard error of the mean.

    /work/venv-dml-bench/bin/python bench/dml/seeds.py --rows 100000 --seeds 1 2 3 4 5 6 7 8
        # --models plr irm (default both) --threads 2 --out FILE (JSON)

The commands are bench.py's (`paribus dml plr|irm --learner gbm --fold-column fold`, and
peer_dml.py); nothing is timed. A mean ratio above 1 by more than two of its standard errors
is a gap that the draws do not explain; within that, the two learners are equal on this design
as far as these draws can tell.
"""
import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import bench
from bench import MODELS, check, generate, run_paribus, run_peer


def summary(ratios):
    k = len(ratios)
    mean = sum(ratios) / k
    sd = math.sqrt(sum((r - mean) ** 2 for r in ratios) / (k - 1)) if k > 1 else None
    se = None if sd is None else sd / math.sqrt(k)
    return {"ratios": [round(r, 5) for r in ratios], "mean": round(mean, 5),
            "sd": None if sd is None else round(sd, 5), "se_of_mean": None if se is None else round(se, 5),
            "min": round(min(ratios), 5), "max": round(max(ratios), 5),
            "above_1_by_more_than_2_se": None if se is None else mean - 1 > 2 * se}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--paribus", type=Path, default=bench.OURS, help="the binary (default: bench.py's)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if not a.paribus.exists():
        sys.exit(f"build it first: cargo build --release -p paribus-cli ({a.paribus})")
    bench.OURS = a.paribus
    doc = {"rows": a.rows, "seeds": a.seeds, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models:
            per_nuisance, gaps = {}, []
            for seed in a.seeds:
                path = generate(model, a.rows, seed=seed, path=Path(tmp) / f"{model}_{seed}.parquet")
                ours = run_paribus(model, path, a.threads, False)
                peer = run_peer(model, path, a.threads)
                gaps.append(check(model, a.rows, ours, peer))
                line = []
                for nm, theirs in peer["nuisance_loss"].items():
                    r = ours["nuisance_loss"][nm] / theirs
                    per_nuisance.setdefault(nm, []).append(r)
                    line.append(f"{nm} {r:.5f}")
                print(f"{model} {a.rows} seed {seed}: " + ", ".join(line), flush=True)
                path.unlink()
            doc["models"][model] = {"estimate_gap_in_se": gaps,
                                    "loss_ratio_paribus_over_doubleml":
                                        {nm: summary(rs) for nm, rs in per_nuisance.items()}}
            for nm, s in doc["models"][model]["loss_ratio_paribus_over_doubleml"].items():
                print(f"{model} {nm}: mean ratio {s['mean']:.5f} (SE {s['se_of_mean']}, "
                      f"range {s['min']:.5f}-{s['max']:.5f}) over {len(a.seeds)} draws")
    if a.out:
        a.out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
