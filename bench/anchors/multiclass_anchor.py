#!/usr/bin/python3
"""The multiclass logistic regression anchor: scikit-learn's accuracy on
tables reckon's tests never saw (iris, wine and digits, which ship with
scikit-learn), on folds written for reckon to use too.

    /usr/bin/python3 bench/anchors/multiclass_anchor.py OUT_DIR
    for t in iris wine digits; do
      reckon train tabular --data OUT_DIR/$t.csv --target label --model logistic \
        --folds OUT_DIR/${t}_folds.json --out OUT_DIR/$t.rkm --json | jq .cv.mean.accuracy
    done

Both sides standardise the features on each training fold and fit the
multinomial L2 model with C = 1 to convergence.
"""
import json, os, sys
import numpy as np, pandas as pd
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.preprocessing import StandardScaler

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
for name, loader in [("iris", datasets.load_iris), ("wine", datasets.load_wine), ("digits", datasets.load_digits)]:
    d = loader()
    X, y = d.data, d.target
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["label"] = [f"c{v}" for v in y]
    df.to_csv(os.path.join(out, f"{name}.csv"), index=False, float_format="%.17g")
    folds, accs = [], []
    for tr, te in RepeatedStratifiedKFold(n_splits=5, n_repeats=1, random_state=0).split(X, y):
        folds.append({"train": tr.tolist(), "test": te.tolist()})
        sc = StandardScaler().fit(X[tr])
        m = LogisticRegression(C=1.0, max_iter=10000, tol=1e-10).fit(sc.transform(X[tr]), y[tr])
        accs.append((m.predict(sc.transform(X[te])) == y[te]).mean())
    with open(os.path.join(out, f"{name}_folds.json"), "w") as f:
        json.dump({"protocol": "RepeatedStratifiedKFold(5, 1, random_state=0)", "folds": folds}, f)
    print(f"{name} {X.shape[0]}x{X.shape[1]}, {len(set(y))} classes: scikit-learn accuracy {np.mean(accs):.4f}")
