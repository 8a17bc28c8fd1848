"""``python -m crash_core demo``: the whole crash course, run on built-in data.

Each step prints what it achieved: the course's formulas, the perceptron on the
admissions data, logistic regression by gradient descent, a neural network on data split
by a curve (loss and accuracy per epoch), then the training tricks — train/validation
data, early stopping, L2, dropout, random restarts and learning-rate decay.  With
matplotlib installed, the pictures are saved too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import crash_core as cc


def _title(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)))


def _formulas() -> None:
    F = cc.functional
    _title("1. The formulas")
    print(f"step(-1, 0, 2)             = {F.step(np.array([-1.0, 0.0, 2.0]))}")
    print(f"sigmoid(-2, 0, 2)          = {np.round(F.sigmoid(np.array([-2.0, 0.0, 2.0])), 4)}")
    print(f"softmax(2, 1, 0)           = {np.round(F.softmax(np.array([2.0, 1.0, 0.0])), 4)}")
    y, p = np.array([1.0, 1.0, 0.0]), np.array([0.8, 0.7, 0.1])
    print(f"cross-entropy, 3 doors     = {F.cross_entropy(y, p):.4f}   (-ln 0.8 - ln 0.7 - ln 0.9)")


def _perceptron() -> None:
    _title("2. Perceptron: a line that splits the admissions data")
    X, y = cc.datasets.admissions(n=400, noise=0.0, random_state=0)
    model = cc.Perceptron(learning_rate=0.01, epochs=1000, random_state=0).fit(X, y)
    w, b = model.coef_[0], model.intercept_[0]
    print(
        f"line {w[0]:.3f} x1 + {w[1]:.3f} x2 + {b:.3f} = 0   (the course's 2 x1 + x2 - 18 = 0"
        f" scaled: {w[0] / w[1]:.2f} x1 + x2 {b / w[1]:+.2f})"
    )
    print(
        f"training accuracy {model.score(X, y):.1%} after {model.n_epochs_} epochs "
        f"(stopped after an epoch without mistakes: {model.mistakes_[-1] == 0})"
    )
    return model, X, y


def _logistic() -> None:
    _title("3. Logistic regression: sigmoid + cross-entropy + gradient descent")
    X, y = cc.datasets.admissions(n=400, noise=0.1, random_state=1)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X_train, X_test, y_train, y_test = cc.datasets.train_test_split(
        X, y, random_state=0, stratify=y
    )
    for batch, name in (
        (None, "full batch"),
        (1, "per point (the course's update)"),
        (16, "mini-batches of 16"),
    ):
        model = cc.LogisticRegression(
            learning_rate=0.1, epochs=100, batch_size=batch, random_state=0
        ).fit(X_train, y_train)
        print(
            f"{name:32s} error {model.history_['loss'][-1]:.4f}  test accuracy "
            f"{model.score(X_test, y_test):.1%}  ({model.n_epochs_} epochs)"
        )


def _network(figures: Path | None) -> Any:
    _title("4. A neural network: data split by a curve (feedforward + backpropagation)")
    X, y = cc.datasets.moons(n=1000, noise=0.15, random_state=0)
    X_train, X_test, y_train, y_test = cc.datasets.train_test_split(
        X, y, random_state=0, stratify=y
    )
    line = cc.LogisticRegression(random_state=0).fit(X_train, y_train)
    print(f"a line (logistic regression):  test accuracy {line.score(X_test, y_test):.1%}")
    net = cc.Network((2, 32, 32, 1), activation="relu", output="sigmoid", random_state=0)
    start = time.perf_counter()
    for epoch in range(1, 61):
        loss, acc = net.train_epoch(X_train, y_train, batch_size=32, learning_rate=0.1)
        if epoch in (1, 2, 5, 10, 20, 40, 60):
            print(f"epoch {epoch:3d}  loss {loss:.4f}  accuracy {acc:.1%}")
    took = time.perf_counter() - start
    test_acc = np.mean((net.forward(X_test)[:, 0] >= 0.5) == y_test)
    print(
        f"a 2-32-32-1 network:           test accuracy {test_acc:.1%} "
        f"(60 epochs in {took * 1000:.0f} ms)"
    )
    model = cc.MLPClassifier(
        hidden_layers=(32, 32), learning_rate=0.01, epochs=60, random_state=0
    ).fit(X_train, y_train)
    print(f"MLPClassifier (adam):          test accuracy {model.score(X_test, y_test):.1%}")
    if figures is not None:
        plt = _pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        cc.plot.decision_boundary(line, X_test, y_test, ax=axes[0])
        cc.plot.decision_boundary(model, X_test, y_test, ax=axes[1])
        _save(fig, figures / "decision_boundaries.png")
    return model


def _tricks(figures: Path | None) -> None:
    _title("5. Training optimisation: the model-complexity picture in numbers")
    rng = np.random.default_rng(0)
    X, y = cc.datasets.moons(n=300, noise=0.3, random_state=0)
    X = np.hstack([X, rng.normal(size=(X.shape[0], 20))])  # 20 features of pure noise
    X_train, X_test, y_train, y_test = cc.datasets.train_test_split(
        X, y, test_size=0.5, random_state=0, stratify=y
    )
    X_fit, X_val, y_fit, y_val = cc.datasets.train_test_split(
        X_train, y_train, test_size=0.3, random_state=1, stratify=y_train
    )
    print(f"{X.shape[0]} noisy points with 2 useful and 20 noise features: easy to overfit")
    common = dict(hidden_layers=(128, 128), learning_rate=0.003, epochs=150, random_state=0)
    stop = cc.MLPClassifier(**common, early_stopping=True, patience=15).fit(
        X_fit, y_fit, validation_data=(X_val, y_val)
    )
    h = stop.history_
    print("epoch  training loss  validation loss")
    for e in sorted({0, 4, 9, 19, 29, 49, stop.best_epoch_, len(h) - 1} & set(range(len(h)))):
        mark = "  <- early stopping keeps this epoch" if e == stop.best_epoch_ else ""
        print(f"{e + 1:5d}  {h['loss'][e]:13.4f}  {h['val_loss'][e]:15.4f}{mark}")
    print(
        f"stopped after {stop.n_epochs_} epochs (patience 15); best epoch "
        f"{stop.best_epoch_ + 1}, validation loss {min(h['val_loss']):.4f}"
    )

    print("\nregulariser          train acc  test acc  gap")
    variants = {
        "none": {},
        "L2 = 1e-2": {"l2": 1e-2},
        "L1 = 1e-3": {"l1": 1e-3},
        "dropout 0.5": {"dropout": 0.5},
        "early stopping": {"early_stopping": True, "patience": 15},
    }
    for name, extra in variants.items():
        m = cc.MLPClassifier(**common, **extra).fit(X_train, y_train)
        tr, te = m.score(X_train, y_train), m.score(X_test, y_test)
        print(f"{name:20s} {tr:9.1%}  {te:8.1%}  {tr - te:+.1%}")

    restarts = cc.MLPClassifier(
        hidden_layers=(4,), learning_rate=0.01, epochs=60, n_restarts=4, random_state=0
    ).fit(X_fit, y_fit, validation_data=(X_val, y_val))
    losses = ", ".join(f"{v:.3f}" for v in restarts.restart_losses_)
    print(
        f"\nrandom restarts (4 starts of a 4-unit net): validation losses {losses}; "
        f"kept restart {restarts.best_restart_ + 1}"
    )

    for schedule in (None, cc.schedules.StepDecay(factor=0.5, every=10)):
        decay = cc.MLPClassifier(
            hidden_layers=(32,),
            optimizer="sgd",
            learning_rate=0.2,
            epochs=40,
            lr_schedule=schedule,
            random_state=0,
        ).fit(X_fit, y_fit, validation_data=(X_val, y_val))
        lrs = decay.history_["lr"]
        print(
            f"learning rate {lrs[0]:g} -> {lrs[-1]:g} ({schedule or 'constant'}): "
            f"final loss {decay.history_['loss'][-1]:.4f}, validation loss "
            f"{decay.history_['val_loss'][-1]:.4f}"
        )
    if figures is not None:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        cc.plot.model_complexity(h, ax=ax)
        _save(fig, figures / "model_complexity.png")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    print(f"(saved {path})")


def run(figures: str | None = "crash_course_figures") -> None:
    """Run the crash course; save figures in ``figures`` when matplotlib is installed."""
    out: Path | None = None
    if figures:
        try:
            import matplotlib  # noqa: F401

            out = Path(figures)
        except ImportError:
            print("(matplotlib is not installed: no figures; pip install 'crash-core[plot]')")
    start = time.perf_counter()
    print(f"crash_core {cc.__version__}: the machine-learning crash course, for real")
    _formulas()
    _perceptron()
    _logistic()
    _network(out)
    _tricks(out)
    print(f"\nThe whole course ran in {time.perf_counter() - start:.1f} s.")
