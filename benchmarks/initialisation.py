"""Glorot vs He initial weights on the data sets scikit-learn ships (the default's evidence).

    python benchmarks/initialisation.py

Regression: R^2 on held-out rows (diabetes: 10 inputs; linnerud: 3 inputs, 3 targets).
Classification: accuracy (iris, wine, breast cancer, digits). Features standardised on the
training rows; targets of the regressions standardised too; five seeds each, the mean shown.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import datasets
from sklearn.preprocessing import StandardScaler

import crash_core as cc

SEEDS = range(5)


def split(X, y, seed, stratify):
    return cc.datasets.train_test_split(
        X, y, test_size=0.25, stratify=y if stratify else None, random_state=seed
    )


def score(cls, X, y, init, seed, stratify, **params):
    X_tr, X_te, y_tr, y_te = split(X, y, seed, stratify)
    scaler = StandardScaler().fit(X_tr)
    if not stratify:  # a regression: standardise the targets too
        ys = StandardScaler().fit(y_tr.reshape(len(y_tr), -1))
        y_tr = ys.transform(y_tr.reshape(len(y_tr), -1)).squeeze()
        y_te = ys.transform(y_te.reshape(len(y_te), -1)).squeeze()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(init=init, random_state=seed, **params).fit(scaler.transform(X_tr), y_tr)
    return model.score(scaler.transform(X_te), y_te)


def main() -> None:
    cases = [
        ("diabetes R^2", cc.MLPRegressor, *datasets.load_diabetes(return_X_y=True), False),
        ("linnerud R^2", cc.MLPRegressor, *datasets.load_linnerud(return_X_y=True), False),
        ("iris accuracy", cc.MLPClassifier, *datasets.load_iris(return_X_y=True), True),
        ("wine accuracy", cc.MLPClassifier, *datasets.load_wine(return_X_y=True), True),
        ("breast cancer accuracy", cc.MLPClassifier,
         *datasets.load_breast_cancer(return_X_y=True), True),
        ("digits accuracy", cc.MLPClassifier, *datasets.load_digits(return_X_y=True), True),
    ]
    print("| data set | glorot | he |\n|---|---|---|")
    for name, cls, X, y, stratify in cases:
        row = []
        for init in ("glorot", "he"):
            row.append(np.mean([score(cls, X, y, init, s, stratify) for s in SEEDS]))
        print(f"| {name} | {row[0]:.3f} | {row[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
