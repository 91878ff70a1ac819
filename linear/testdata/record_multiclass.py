#!/usr/bin/python3
"""Records scikit-learn's multinomial logistic regression for
linear_test.go's TestSoftmaxMatchesScikitLearn. Run from this directory:
/usr/bin/python3 record_multiclass.py"""
import json
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(3)
n, centres = 180, np.array([[0, 0, 0, 0, 0], [1.5, -1, 0.5, 0, 2], [-1, 1.2, 1, 0.3, -1], [0.5, 2, -1.5, 1, 0]])
y = rng.integers(0, len(centres), size=n)
X = centres[y] + rng.normal(size=(n, 5)) * [1, 2, 0.5, 1, 3] + [0, 10, -3, 0, 100]
np.savetxt("multiclass.csv", np.column_stack([X, y]), delimiter=",", fmt="%.17g")
Z = StandardScaler().fit_transform(X)
out = {}
for name, kw in {"c1": dict(C=1.0), "c0.05_weighted": dict(C=0.05, class_weight={0: 1, 1: 2, 2: 0.5, 3: 1.5})}.items():
    m = LogisticRegression(solver="newton-cg", tol=1e-12, max_iter=10000, **kw).fit(Z, y)
    out["softmax_" + name] = {"coef": m.coef_.tolist(), "intercept": m.intercept_.tolist(),
                              "proba": m.predict_proba(Z[:5]).tolist()}
json.dump(out, open("sklearn_multiclass.json", "w"), indent=1)
