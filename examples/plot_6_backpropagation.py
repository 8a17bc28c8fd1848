"""
Feedforward and backpropagation
===============================

Feedforward multiplies the inputs by each layer's weights and applies the activation,
layer after layer, to get the output probability.  Backpropagation runs the same path
backwards to get the error's derivative with respect to every weight, and gradient descent
uses it.  :func:`crash_core.gradcheck` compares that gradient with finite differences.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import crash_core as cc

X, y = cc.datasets.moons(n=600, noise=0.2, random_state=0)
X_train, X_test, y_train, y_test = cc.datasets.train_test_split(X, y, stratify=y, random_state=0)

net = cc.Network((2, 8, 8, 1), activation="tanh", output="sigmoid", random_state=0)
worst = cc.gradcheck(net, X_train[:50], y_train[:50])
print(f"backpropagation vs finite differences: {worst:.1e}")
for _ in range(30):
    loss, accuracy = net.train_epoch(X_train, y_train, batch_size=16, learning_rate=0.1)
print(f"after 30 epochs: error {loss:.3f}, training accuracy {accuracy:.1%}")
print(f"test accuracy {np.mean((net.forward(X_test)[:, 0] >= 0.5) == y_test):.1%}")

# %%
# A line against a network on data split by a curve.
line = cc.LogisticRegression(random_state=0).fit(X_train, y_train)
model = cc.MLPClassifier(
    hidden_layers=(16, 16), activation="tanh", learning_rate=0.01, epochs=60, random_state=0
).fit(X_train, y_train)
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
cc.plot.decision_boundary(line, X_test, y_test, ax=axes[0], title="a line")
cc.plot.decision_boundary(model, X_test, y_test, ax=axes[1], title="a 2-16-16-1 network")
cc.plot.model_complexity(model.history_, ax=axes[2])
plt.show()
