"""Builds the LaLonde table of docs/weighting.md by running the paribus binary.

Run from the repository root after `cargo build --release -p paribus-cli`:

    python3 tools/docs/lalonde_table.py > docs/lalonde_table.md

Standard library only. The samples are the Dehejia-Wahba (1999) subsample of the NSW experiment
(`../shared/data/lalonde_nsw/nsw_dw.csv`) and its 185 treated men stacked with the CPS-1 or
PSID-1 non-experimental controls (LaLonde 1986), as in Dehejia & Wahba. Each cell is the
estimate with its standard error; the experimental difference in means (1794) is the benchmark.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile

DATA = "../shared/data/lalonde_nsw"
BIN = "target/release/paribus"
X = "age,education,black,hispanic,married,nodegree,re74,re75"


def stacked(tmp, controls):
    """DW treated rows stacked with a control file, written as CSV; returns the path."""
    path = os.path.join(tmp, f"dw_{controls}.csv")
    with open(path, "w", newline="") as out:
        w = csv.writer(out)
        with open(f"{DATA}/nsw_dw.csv") as f:
            r = csv.reader(f)
            header = next(r)
            w.writerow(header)
            for row in r:
                if float(row[header.index("treat")]) == 1.0:
                    w.writerow(row)
        with open(f"{DATA}/{controls}.csv") as f:
            r = csv.reader(f)
            next(r)
            for row in r:
                w.writerow(row)
    return path


def run(args):
    out = subprocess.run([BIN, *args, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1]
    return json.loads(out.stdout), None


def cell(v, label):
    if v is None:
        return "—"
    e = next(e for e in v["estimates"] if e["label"] == label)
    se = e["std_error"]
    return f"{e['estimate']:,.0f} ({se:,.0f})" if se is not None else f"{e['estimate']:,.0f}"


ROWS = [
    ("difference in means", ["weight", "ipw", "--estimand", "att"], "diff_in_means"),
    ("regression on the covariates (HC2)", ["weight", "ipw", "--estimand", "att"], "regression"),
    ("matching, M = 5, bias-adjusted (covariates, inverse variance)",
     ["match", "--neighbors", "5", "--bias-adjust", "--estimand", "att"], "ATT"),
    ("matching, M = 5, bias-adjusted (propensity score)",
     ["match", "--on", "propensity", "--neighbors", "5", "--bias-adjust", "--estimand", "att"], "ATT"),
    ("IPW (normalized), ATT", ["weight", "ipw", "--estimand", "att"], "ATT"),
    ("AIPW, ATT (cross-fitted OLS/logit nuisances, 5 folds)",
     ["weight", "aipw", "--estimand", "att", "--seed", "1"], "ATT"),
    ("AIPW, ATT (cross-fitted boosted trees, 5 folds)",
     ["weight", "aipw", "--estimand", "att", "--learner", "gbm", "--seed", "1"], "ATT"),
    ("entropy balancing, first moments, ATT", ["weight", "entropy"], "ATT"),
    ("entropy balancing, first and second moments, ATT", ["weight", "entropy", "--moments", "2"], "ATT"),
    ("overlap weights (ATO: a different population)", ["weight", "overlap"], "ATO"),
]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        samples = [
            ("DW experiment (260 controls)", f"{DATA}/nsw_dw.csv"),
            ("DW treated + CPS-1 (15,992)", stacked(tmp, "cps_controls")),
            ("DW treated + PSID-1 (2,490)", stacked(tmp, "psid_controls")),
        ]
        print("| estimator | " + " | ".join(s for s, _ in samples) + " |")
        print("|---|" + "---|" * len(samples))
        notes = []
        for name, args, label in ROWS:
            cells = []
            for sname, path in samples:
                v, err = run([*args, "--data", path, "--outcome", "re78", "--treatment", "treat",
                              "--covariates", X])
                if err:
                    notes.append(f"{name} on {sname}: {err}")
                cells.append(cell(v, label))
            print(f"| {name} | " + " | ".join(cells) + " |")
        for n in notes:
            print(f"\n- {n}")


if __name__ == "__main__":
    sys.exit(main())
