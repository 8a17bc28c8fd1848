"""
Perceptrons
===========

A perceptron computes ``w . x + b`` and passes it through the step function: 1 when it is
``>= 0``, else 0.  The perceptron algorithm finds the line: for each misclassified point it
moves the line toward the point, ``w += lr x, b += lr`` for a point labelled 1 that was
predicted 0, ``w -= lr x, b -= lr`` for the opposite mistake.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import crash_core as cc
from crash_core import functional as F

print("step(-1, 0, 2) =", F.step(np.array([-1.0, 0.0, 2.0])))

# %%
# One step of the algorithm: an accepted student below the line ``x1 + x2 - 12 = 0``.
X, y = cc.datasets.admissions(n=100, noise=0.0, random_state=2)
w, b = np.array([1.0, 1.0]), -12.0
wrong = np.flatnonzero((X @ w + b < 0) & (y == 1))
ax = cc.plot.perceptron_update(X, y, w, b, point=int(wrong[0]), learning_rate=0.01)
plt.show()

# %%
# The whole algorithm, :class:`crash_core.Perceptron`, stops after an epoch without a mistake.
model = cc.Perceptron(learning_rate=0.1, epochs=1000, random_state=0).fit(X, y)
(w1, w2), b = model.coef_[0], model.intercept_[0]
print(f"{w1:.2f} x1 + {w2:.2f} x2 {b:+.2f} = 0 after {model.n_epochs_} epochs")

# %%
# A line is too simple for data split by a curve.
M, m = cc.datasets.moons(n=200, noise=0.1, random_state=0)
curved = cc.Perceptron(learning_rate=0.1, random_state=0).fit(M, m)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
cc.plot.decision_boundary(model, X, y, ax=left, class_names=["rejected", "accepted"])
cc.plot.decision_boundary(curved, M, m, ax=right, title="perceptron on moons")
plt.show()

# %%
# ``cc.plot.animate_training(model, X, y, "perceptron.gif")`` writes the algorithm as a GIF:
# the line pulled toward each misclassified point, beside the count of points still wrong.
