"""
Training optimization
=====================

Train on one part of the data, judge on another.  A model too simple underfits; one too
flexible overfits: its training error keeps falling while its validation error turns
back up.  The tricks: early stopping (keep the epoch of the lowest validation error),
L1/L2 penalties and dropout (a smaller train/validation gap), random restarts (several
starting points, keep the best), other activations (tanh, ReLU) and learning-rate decay.
"""

# %%
import matplotlib.pyplot as plt

import crash_core as cc

X, y = cc.datasets.circles(n=200, noise=0.3, random_state=0)
X_train, X_val, y_train, y_val = cc.datasets.train_test_split(
    X, y, test_size=0.6, stratify=y, random_state=0
)
big = dict(hidden_layers=(64, 64), learning_rate=0.01, epochs=200, random_state=0)

# %%
# Overfitting and early stopping: the model-complexity graph.
plain = cc.MLPClassifier(**big).fit(X_train, y_train, validation_data=(X_val, y_val))
stop = cc.MLPClassifier(**big, early_stopping=True, patience=20).fit(
    X_train, y_train, validation_data=(X_val, y_val)
)
print(
    f"validation accuracy: {plain.score(X_val, y_val):.1%} after 200 epochs, "
    f"{stop.score(X_val, y_val):.1%} with early stopping"
)
cc.plot.model_complexity(plain.history_)
plt.show()

# %%
# L1, L2 and dropout narrow the gap between training and validation accuracy.
runs = {"none": plain}
for name, extra in {"L1": {"l1": 2e-3}, "L2": {"l2": 1e-2}, "dropout": {"dropout": 0.5}}.items():
    runs[name] = cc.MLPClassifier(**big, **extra).fit(
        X_train, y_train, validation_data=(X_val, y_val)
    )
for name, model in runs.items():
    gap = model.score(X_train, y_train) - model.score(X_val, y_val)
    print(f"{name:8s} train/validation gap {gap:+.1%}")
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
cc.plot.compare_histories(runs, ax=left, title="validation error with each trick")
cc.plot.weight_histogram({k: runs[k] for k in ("none", "L1", "L2")}, ax=right)
plt.show()

# %%
# Random restarts: a small network can stop in a local minimum; 8 starts, the best kept.
C, c = cc.datasets.circles(n=200, noise=0.1, random_state=0)
restarts = cc.MLPClassifier(
    hidden_layers=(3,), learning_rate=0.05, epochs=60, n_restarts=8, random_state=0
).fit(C, c)
cc.plot.restart_losses(restarts)
plt.show()

# %%
# Learning-rate decay: a high constant rate overshoots; halving it every 10 epochs settles.
M, m = cc.datasets.moons(n=400, noise=0.2, random_state=0)
M_train, M_val, m_train, m_val = cc.datasets.train_test_split(
    M, m, test_size=0.3, stratify=m, random_state=0
)
common = dict(
    hidden_layers=(16,),
    activation="tanh",
    optimizer="sgd",
    learning_rate=4.0,
    epochs=60,
    random_state=0,
)
rates = {
    "constant 4.0": cc.MLPClassifier(**common),
    "halved every 10 epochs": cc.MLPClassifier(
        **common, lr_schedule=cc.schedules.StepDecay(factor=0.5, every=10)
    ),
}
for model in rates.values():
    model.fit(M_train, m_train, validation_data=(M_val, m_val))
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
cc.plot.activation_functions(("sigmoid", "tanh", "relu"), ax=left)
cc.plot.compare_histories(rates, ax=right, title="learning-rate decay")
plt.show()
