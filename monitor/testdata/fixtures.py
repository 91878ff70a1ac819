#!/usr/bin/python3
"""Records scipy's answers for the monitor package's tests: each case is a
reference and a current column, the anchor's own verdict for it
(../shared/bench/drift_anchor.py's column(), scipy underneath) and the
two-sample chi-squared of the same counts (scipy.stats.chi2_contingency,
no correction). Run from the repository root:

  /usr/bin/python3 monitor/testdata/fixtures.py ../shared/bench > monitor/testdata/scipy.json
"""
import json, sys

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, sys.argv[1])
import drift_anchor  # noqa: E402

rng = np.random.default_rng(7)
cases = []


def add(name, ref, cur, ref_rows=None):
    r, c = pd.Series(ref), pd.Series(cur)
    out = drift_anchor.column(name, r, c, ref_rows or len(r), 10)
    case = {"name": name, "ref": [None if pd.isna(x) else x for x in ref], "cur": [None if pd.isna(x) else x for x in cur],
            "ref_rows": ref_rows or len(r), "anchor": out}
    rd, cd = r.dropna(), c.dropna()
    if out["test"] == "chisquare":
        keys = sorted(set(rd.unique()) | set(cd.unique()), key=str)
        table = np.array([rd.value_counts().reindex(keys, fill_value=0), cd.value_counts().reindex(keys, fill_value=0)])
        table = table[:, table.sum(axis=0) > 0]
        case["chi2_two_sample"] = float(stats.chi2_contingency(table, correction=False)[1])
    cases.append(case)


levels = [f"c{j}" for j in range(8)]
p = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03])
add("normal_same", rng.normal(10, 2, 120).tolist(), rng.normal(10, 2, 150).tolist())
add("normal_shift", rng.normal(10, 2, 200).tolist(), rng.normal(11, 2, 200).tolist())
add("normal_equal_n", rng.normal(0, 1, 300).tolist(), rng.normal(0.1, 1, 300).tolist())
add("lognormal_ties", np.round(rng.lognormal(1, 0.6, 250), 1).tolist(), np.round(rng.lognormal(1.1, 0.6, 400), 1).tolist())
add("uniform_unequal", rng.uniform(-5, 5, 333).tolist(), rng.uniform(-5, 5, 777).tolist())
add("ints_0_3", rng.integers(0, 4, 300).astype(float).tolist(), rng.integers(0, 4, 280).astype(float).tolist())
add("flag", np.where(rng.random(400) < 0.3, "yes", "no").tolist(), np.where(rng.random(350) < 0.36, "yes", "no").tolist())
add("flag_constant", ["no"] * 50, ["no"] * 60)
add("cat8", rng.choice(levels, 500, p=p).tolist(), rng.choice(levels, 450, p=p).tolist())
swap = rng.choice(levels, 500, p=p)
add("cat8_swapped", rng.choice(levels, 500, p=p).tolist(), np.where(swap == "c0", "c1", np.where(swap == "c1", "c0", swap)).tolist())
add("cat_new_level", rng.choice(levels[:5], 200).tolist(), rng.choice(levels[:6], 200).tolist())
miss = rng.normal(5, 1, 200)
miss[rng.random(200) < 0.2] = np.nan
add("normal_missing", rng.normal(5, 1, 180).tolist(), miss.tolist())
# A large reference (the rows count says so): the distance tests.
add("wasserstein", rng.normal(10, 2, 600).tolist(), rng.normal(10.4, 2, 700).tolist(), ref_rows=5000)
add("wasserstein_ten_values", rng.integers(0, 10, 600).astype(float).tolist(), rng.integers(0, 10, 500).astype(float).tolist(), ref_rows=100000)
add("js_cat", rng.choice(levels, 900, p=p).tolist(), rng.choice(levels, 800, p=p[::-1]).tolist(), ref_rows=5000)
add("js_ints", rng.integers(0, 4, 600).astype(float).tolist(), rng.integers(0, 3, 600).astype(float).tolist(), ref_rows=5000)
add("js_flag", np.where(rng.random(900) < 0.3, "yes", "no").tolist(), np.where(rng.random(900) < 0.5, "yes", "no").tolist(), ref_rows=5000)
json.dump({"scipy": __import__("scipy").__version__, "numpy": np.__version__, "cases": cases}, sys.stdout)
print()
