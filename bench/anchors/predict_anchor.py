#!/usr/bin/python3
"""Anchor for `reckon bench predict`: the same scoring workloads in the
Python stack (Debian's python3-xgboost, python3-sklearn, python3-torch).

  /usr/bin/python3 bench/anchors/predict_anchor.py examples/tumor/breast_cancer_wisconsin_clean.csv

- XGBoost 1.7 `hist`, 300 trees of depth 6, lr 0.1, 256 bins (reckon's
  default budget; XGBoost grows depthwise trees), trained on the tumor table,
  predict_proba on 1,000,000 rows (the table's rows repeated), nthread 1 and 2.
- scikit-learn LogisticRegression (standardised inputs) predict_proba on the
  same rows.
- PyTorch nn.LSTM, bidirectional, 2 layers of 64, 12 inputs, T=256 (reckon's
  default LSTM shape) with two linear heads per step: one track at a time
  (as reckon scores them) and all tracks in one batch, 1 and 2 threads.

Best of --reps repetitions; one JSON object on stdout.
"""
import argparse, json, time

import numpy as np
import pandas as pd


def best(fn, reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tracks", type=int, default=48)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    out = {"rows": a.rows, "tracks": a.tracks}

    df = pd.read_csv(a.csv)
    y = (df.pop("diagnosis") == "malignant").astype(int).values
    X = df.values.astype(np.float64)
    big = np.tile(X, (a.rows // len(X) + 1, 1))[: a.rows]

    import xgboost as xgb
    for threads in (1, 2):
        m = xgb.XGBClassifier(tree_method="hist", n_estimators=300, max_depth=6, learning_rate=0.1,
                              max_bin=256, n_jobs=threads)
        m.fit(X, y)
        s = best(lambda: m.predict_proba(big), a.reps)
        out[f"xgboost_threads{threads}_rows_per_s"] = round(a.rows / s)

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    s = best(lambda: lr.predict_proba(big), a.reps)
    out["sklearn_logistic_rows_per_s"] = round(a.rows / s)

    import torch
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(12, 64, num_layers=2, bidirectional=True, batch_first=True).eval()
    reg, cls = torch.nn.Linear(128, 1).eval(), torch.nn.Linear(128, 1).eval()
    xs = torch.randn(a.tracks, 256, 12)

    def one_at_a_time():
        with torch.no_grad():
            for i in range(a.tracks):
                h, _ = lstm(xs[i : i + 1])
                reg(h), cls(h)

    def batched():
        with torch.no_grad():
            h, _ = lstm(xs)
            reg(h), cls(h)

    for threads in (1, 2):
        torch.set_num_threads(threads)
        out[f"torch_lstm_threads{threads}_tracks_per_s_one_at_a_time"] = round(a.tracks / best(one_at_a_time, a.reps), 1)
        out[f"torch_lstm_threads{threads}_tracks_per_s_batched"] = round(a.tracks / best(batched, a.reps), 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
