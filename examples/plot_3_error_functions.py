"""
Error functions
===============

From discrete to continuous: the sigmoid ``1 / (1 + e^-z)`` replaces the step function, so
a prediction becomes a probability.  Softmax turns the scores of ``k`` classes into
probabilities, ``e^Z_i / sum_j e^Z_j``.  Cross-entropy, ``-sum [y ln p + (1 - y) ln(1 - p)]``,
says how likely the labels are under the model's probabilities: low for a good model.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import crash_core as cc
from crash_core import functional as F

cc.plot.activation_functions(("step", "sigmoid"))
plt.show()

# %%
# Softmax of a linear model's scores for three ice-cream flavours.
scores = np.array([2.0, 1.0, 0.1])
print("softmax:", F.softmax(scores).round(3))
cc.plot.softmax_scores(scores, ["chocolate", "vanilla", "cookie dough"])
plt.show()

# %%
# The three doors: a gift behind each with probability 0.8, 0.7 and 0.1.  The likeliest
# case (gift, gift, no gift) has the lowest cross-entropy, -ln 0.8 - ln 0.7 - ln 0.9.
doors = np.array([0.8, 0.7, 0.1])
print("cross-entropy of case 2:", round(F.cross_entropy(np.array([1.0, 1.0, 0.0]), doors), 3))
cc.plot.cross_entropy_cases(doors)
plt.show()
