"""
Logistic regression
===================

Take the data, pick a random model, compute the error, and lower it by gradient descent:
for each point, ``w += lr (y - y_hat) x`` and ``b += lr (y - y_hat)`` with
``y_hat = sigmoid(w . x + b)``.  :class:`crash_core.LogisticRegression` runs it per point
(``batch_size=1``, the course's update), on the full batch, or on mini-batches.
"""

# %%
import matplotlib.pyplot as plt

import crash_core as cc

X, y = cc.datasets.admissions(n=400, noise=0.1, random_state=1)
X = (X - X.mean(axis=0)) / X.std(axis=0)
X_train, X_test, y_train, y_test = cc.datasets.train_test_split(X, y, stratify=y, random_state=0)

runs = {}
for batch, name in ((1, "per point"), (None, "full batch"), (16, "mini-batch 16")):
    runs[name] = cc.LogisticRegression(
        learning_rate=0.1, epochs=60, batch_size=batch, tol=0.0, random_state=0
    ).fit(X_train, y_train)
    print(f"{name:14s} test accuracy {runs[name].score(X_test, y_test):.1%}")

# %%
# The line found, and the error falling epoch by epoch.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
cc.plot.decision_boundary(runs["per point"], X_test, y_test, ax=left)
cc.plot.compare_histories(runs, ax=right, title="the error per epoch")
plt.show()

# %%
# One pass of the course's update in plain NumPy is also there:
# ``cc.functional.gradient_descent_step(X, y, W, b, learn_rate)``.
