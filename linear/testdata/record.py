#!/usr/bin/python3
"""Records scikit-learn's fits for linear_test.go. Run from this directory:
/usr/bin/python3 record.py"""
import json
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression, LinearRegression, Ridge
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("../../examples/tumor/breast_cancer_wisconsin_clean.csv")
y = (df.pop("diagnosis") == "malignant").astype(int).to_numpy()
X = StandardScaler().fit_transform(df.to_numpy(dtype=np.float64))
out = {}
for name, kw in {"c1": dict(C=1.0), "c0.1_weighted": dict(C=0.1, class_weight={0: 1, 1: 2.5})}.items():
    m = LogisticRegression(solver="newton-cg", tol=1e-12, max_iter=1000, **kw).fit(X, y)
    out["logistic_" + name] = {"coef": m.coef_[0].tolist(), "intercept": float(m.intercept_[0])}
rng = np.random.default_rng(0)
Xr = rng.normal(size=(60, 4)) * [1, 10, 0.1, 3] + [0, 5, 1, -2]
yr = Xr @ [1.5, -0.2, 4.0, 0.0] + rng.normal(size=60)
np.savetxt("regression.csv", np.column_stack([Xr, yr]), delimiter=",", fmt="%.17g")
Z = StandardScaler().fit_transform(Xr)
for name, m in {"ols": LinearRegression(), "ridge2": Ridge(alpha=2.0)}.items():
    m.fit(Z, yr)
    out["regression_" + name] = {"coef": m.coef_.tolist(), "intercept": float(m.intercept_)}
json.dump(out, open("sklearn.json", "w"), indent=1)
