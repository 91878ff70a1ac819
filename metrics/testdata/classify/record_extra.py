#!/usr/bin/python3
"""Records scikit-learn's log loss and Brier score for the fixtures with a
score column (metrics_oracle.py prints neither). Run from this directory:
/usr/bin/python3 record_extra.py"""
import glob, json
import pandas as pd
from sklearn import metrics as M
for path in sorted(glob.glob("*.csv")):
    df = pd.read_csv(path, dtype={"y_true": str, "y_pred": str})
    if "score" not in df:
        continue
    pos = (df["y_true"] == "malignant").astype(int)
    out = {"log_loss": float(M.log_loss(pos, df["score"], labels=[0, 1])),
           "brier": float(M.brier_score_loss(pos, df["score"]))}
    with open(path[:-4] + ".extra.json", "w") as f:
        json.dump(out, f, indent=1)
