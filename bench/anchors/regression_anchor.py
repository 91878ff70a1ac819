#!/usr/bin/python3
"""Regression anchor: scikit-learn on the same table and folds as reckon.

  regression_anchor.py make OUT.csv [--rows N] [--seed S]
      a generated regression table: Friedman #1 (x1..x5 matter, x6..x8 are
      noise), a categorical column with an additive effect, Gaussian noise
      and 1% outliers in the target.
  regression_anchor.py folds TABLE.csv OUT.json [--k 5] [--repeats 1] [--seed 0]
      RepeatedKFold folds in reckon's fold-file format.
  regression_anchor.py score TABLE.csv FOLDS.json --target y
      cross-validated rmse/mae/r2/mape/max_error (means over the folds) of
      Ridge(alpha=1) after StandardScaler (categoricals one-hot) and of
      HistGradientBoostingRegressor (defaults; categoricals native), as JSON.
"""
import argparse
import json
import sys

import numpy as np


def make(args):
    rng = np.random.default_rng(args.seed)
    n = args.rows
    x = rng.uniform(size=(n, 8))
    regions = np.array(["north", "south", "east", "west"])
    region = regions[rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])]
    effect = {"north": 0.0, "south": 2.5, "east": -1.5, "west": 4.0}
    y = (10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
         + np.array([effect[r] for r in region]) + rng.normal(0, 1, n))
    out = rng.random(n) < 0.01
    y[out] += rng.normal(0, 15, out.sum())
    with open(args.out, "w") as f:
        f.write(",".join([f"x{j+1}" for j in range(8)] + ["region", "y"]) + "\n")
        for i in range(n):
            f.write(",".join([f"{v:.6f}" for v in x[i]] + [region[i], f"{y[i]:.6f}"]) + "\n")


def folds(args):
    import pandas as pd
    from sklearn.model_selection import RepeatedKFold
    n = len(pd.read_csv(args.table))
    rkf = RepeatedKFold(n_splits=args.k, n_repeats=args.repeats, random_state=args.seed)
    fs = [{"train": tr.tolist(), "test": te.tolist()} for tr, te in rkf.split(np.zeros(n))]
    with open(args.out, "w") as f:
        json.dump({"protocol": f"RepeatedKFold({args.k}, {args.repeats}, random_state={args.seed})", "folds": fs}, f)


def score(args):
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.metrics import (max_error, mean_absolute_error, mean_absolute_percentage_error,
                                 mean_squared_error, r2_score)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
    df = pd.read_csv(args.table)
    y = df.pop(args.target).to_numpy()
    cats = [c for c in df.columns if df[c].dtype == object]
    nums = [c for c in df.columns if c not in cats]
    with open(args.folds) as f:
        fs = json.load(f)["folds"]

    def ridge():
        pre = ColumnTransformer([("num", "passthrough", nums),
                                 ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats)])
        return make_pipeline(pre, StandardScaler(), Ridge(alpha=1.0))

    def hgb():
        pre = ColumnTransformer([("num", "passthrough", nums), ("cat", OrdinalEncoder(), cats)])
        cat_mask = [False] * len(nums) + [True] * len(cats)
        return make_pipeline(pre, HistGradientBoostingRegressor(categorical_features=cat_mask, random_state=0))

    res = {}
    for name, mk in [("ridge", ridge), ("hist_gbr", hgb)]:
        per = []
        for fo in fs:
            m = mk().fit(df.iloc[fo["train"]], y[fo["train"]])
            p = m.predict(df.iloc[fo["test"]])
            t = y[fo["test"]]
            per.append({"rmse": mean_squared_error(t, p) ** 0.5, "mae": mean_absolute_error(t, p), "r2": r2_score(t, p),
                        "mape": mean_absolute_percentage_error(t, p), "max_error": max_error(t, p)})
        res[name] = {k: float(np.mean([d[k] for d in per])) for k in per[0]}
    json.dump(res, sys.stdout, indent=1)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--rows", type=int, default=2000)
    m.add_argument("--seed", type=int, default=20261203)
    f = sub.add_parser("folds")
    f.add_argument("table")
    f.add_argument("out")
    f.add_argument("--k", type=int, default=5)
    f.add_argument("--repeats", type=int, default=1)
    f.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("score")
    s.add_argument("table")
    s.add_argument("folds")
    s.add_argument("--target", default="y")
    args = ap.parse_args()
    {"make": make, "folds": folds, "score": score}[args.cmd](args)


if __name__ == "__main__":
    main()
