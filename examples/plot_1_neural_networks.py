"""
What are neural networks?
=========================

A neural network solves a classification problem: given a student's grades ``x1`` and
test score ``x2``, is the student accepted?  The course's answer is a line,
``2 x1 + x2 - 18 = 0``: predict ``y_hat = 1`` (accepted) when ``w . x + b >= 0`` with
``w = (2, 1)`` and ``b = -18``, else 0 (rejected).
"""

# %%
# The students: :func:`crash_core.datasets.admissions` labels them with the course's line
# and flips 5 % of the labels, so no line is perfect.
import matplotlib.pyplot as plt
import numpy as np

import crash_core as cc

X, y = cc.datasets.admissions(n=200, noise=0.05, random_state=0)
print(f"{len(X)} students, {y.mean():.0%} accepted")


# %%
# The line as a model: anything with ``predict`` and ``classes_`` can be drawn.
class CourseLine:
    classes_ = np.array([0, 1])

    def predict(self, X):
        return (X @ np.array([2.0, 1.0]) - 18 >= 0).astype(int)


line = CourseLine()
print(f"the line is right for {np.mean(line.predict(X) == y):.1%} of the students")

ax = cc.plot.decision_boundary(line, X, y, class_names=["rejected", "accepted"])
ax.plot([4, 9], [10, 0], "k-", lw=2)
ax.set_xlabel("x1: grades")
ax.set_ylabel("x2: test score")
plt.show()
