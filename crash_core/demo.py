"""``python -m crash_core demo``: the crash course, taught by the library.

One step per section of the course, in its order: what a neural network is (the line
that splits accepted from rejected students), perceptrons, error functions, logistic
regression, the architecture of a network, feedforward and backpropagation, and the
training tricks.  Each step prints what it shows in numbers and, with ``--figures DIR``
(matplotlib installed), saves its pictures there, 18 PNG files and 2 GIFs.

The training tricks run on data chosen so that each one can do what the course says;
the demo measures whether it did, and says so either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import crash_core as cc
from crash_core import functional as F

# a finding of a step: (the course's claim, what was measured, whether it held)
Finding = tuple[str, str, bool]


class Course:
    """Runs the steps; saves each figure under ``figures`` (None: print only)."""

    def __init__(self, figures: Path | None) -> None:
        self.figures = figures
        self.findings: list[Finding] = []
        self.saved: list[Path] = []

    # ------------------------------------------------------------------ output
    @staticmethod
    def title(text: str) -> None:
        print(f"\n== {text} " + "=" * max(0, 74 - len(text)))

    def check(self, claim: str, measured: str, held: bool) -> None:
        self.findings.append((claim, measured, bool(held)))
        verdict = "yes" if held else "NO, not on this data"
        print(f"   {claim}: {measured} -> {verdict}")

    def figure(self, name: str, draw: Callable[[Any], None], size: tuple[float, float]) -> None:
        """Draw on a fresh off-screen Figure and save it as ``name``.png (no backend involved)."""
        if self.figures is None:
            return
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        self.figures.mkdir(parents=True, exist_ok=True)
        path = self.figures / f"{name}.png"
        fig.savefig(path, dpi=90)
        self.saved.append(path)
        print(f"   (saved {path})")

    def animation(self, name: str, model: Any, X: np.ndarray, y: np.ndarray, **kw: Any) -> None:
        if self.figures is None:
            return
        path = cc.plot.animate_training(model, X, y, self.figures / f"{name}.gif", **kw)
        self.saved.append(path)
        print(f"   (saved {path})")


class CourseLine:
    """The course's line 2 x1 + x2 - 18 = 0 as a classifier: 1 (accepted) on or above it."""

    classes_ = np.array([0, 1])
    w, b = np.array([2.0, 1.0]), -18.0

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X) @ self.w + self.b >= 0).astype(int)


STUDENTS = ["rejected", "accepted"]


def _equation(w: np.ndarray, b: float) -> str:
    return f"{w[0]:.2f} x1 {w[1]:+.2f} x2 {b:+.2f} = 0"


# ---------------------------------------------------------------------------- 1
def what_is_a_network(c: Course) -> None:
    c.title("1. What are neural networks? A line that splits accepted from rejected students")
    X, y = cc.datasets.admissions(n=200, noise=0.05, random_state=0)
    line = CourseLine()
    accuracy = np.mean(line.predict(X) == y)
    print(f"   200 students, grades x1 and test scores x2 in [0, 10]; {y.mean():.0%} accepted")
    print(
        f"   prediction y_hat = 1 if 2 x1 + x2 - 18 >= 0: right for {accuracy:.1%} of them "
        "(5 % of the labels are flipped)"
    )

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        cc.plot.decision_boundary(line, X, y, ax=ax, class_names=STUDENTS)
        ax.plot([4, 9], [10, 0], "k-", lw=2)
        ax.set_title(f"the line 2 x1 + x2 - 18 = 0: accuracy {accuracy:.1%}")
        ax.set_xlabel("x1: grades")
        ax.set_ylabel("x2: test score")

    c.figure("01_admissions_line", draw, (6, 5))


# ---------------------------------------------------------------------------- 2
def perceptrons(c: Course) -> None:
    c.title("2. Perceptrons: the step function and the perceptron algorithm")
    print(f"   step(-1, 0, 2) = {F.step(np.array([-1.0, 0.0, 2.0]))}  (1 where w.x + b >= 0)")
    X, y = cc.datasets.admissions(n=100, noise=0.0, random_state=2)
    w, b, lr = np.array([1.0, 1.0]), -12.0, 0.01
    scores = X @ w + b
    wrong = np.flatnonzero((scores < 0) & (y == 1))  # accepted, but below the line
    point = int(wrong[np.argmin(scores[wrong])])  # the farthest from the line
    new_w, new_b = w + lr * X[point], b + lr
    after = X[point] @ new_w + new_b
    print(
        f"   an accepted student {X[point].round(2)} below the line {_equation(w, b)}: one "
        f"step w += {lr} x, b += {lr} gives {_equation(new_w, new_b)}"
    )
    errors = [int(np.sum((X @ v + c >= 0) != y)) for v, c in ((w, b), (new_w, new_b))]
    print(
        f"   the point's score w.x + b went from {scores[point]:+.2f} to {after:+.2f}: the line "
        f"was pulled toward it; misclassified students {errors[0]} -> {errors[1]}"
    )

    def step(fig: Any) -> None:
        cc.plot.perceptron_update(X, y, w, b, point=point, learning_rate=lr, ax=fig.subplots())

    c.figure("02_perceptron_step", step, (6.5, 5))

    model = cc.Perceptron(learning_rate=0.1, epochs=1000, random_state=0).fit(X, y)
    mw, mb = model.coef_[0], model.intercept_[0]
    print(
        f"   the perceptron algorithm: {mw[0]:.2f} x1 + {mw[1]:.2f} x2 {mb:+.2f} = 0, i.e. "
        f"{mw[0] / mw[1]:.2f} x1 + x2 {mb / mw[1]:+.2f} = 0 (the course's 2 x1 + x2 - 18 = 0)"
    )
    print(
        f"   accuracy {model.score(X, y):.0%} after {model.n_epochs_} epochs "
        f"({sum(model.mistakes_)} corrections)"
    )
    M, m = cc.datasets.moons(n=200, noise=0.1, random_state=0)
    curved = cc.Perceptron(learning_rate=0.1, epochs=100, random_state=0).fit(M, m)
    print(f"   on data split by a curve (moons) a line is too simple: {curved.score(M, m):.0%}")
    c.check("a line splits the admissions data", f"{model.score(X, y):.0%}", model.score(X, y) == 1)

    def fitted(fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        cc.plot.decision_boundary(model, X, y, ax=left, class_names=STUDENTS)
        left.set_title(f"perceptron on the admissions: accuracy {model.score(X, y):.0%}")
        cc.plot.decision_boundary(curved, M, m, ax=right)
        right.set_title(f"perceptron on moons (a curve): accuracy {curved.score(M, m):.0%}")

    c.figure("03_perceptron_line", fitted, (12, 5))
    c.animation(
        "perceptron_training",
        cc.Perceptron(learning_rate=0.1, epochs=1000, random_state=0),
        X,
        y,
        max_frames=16,
        fps=3,
    )


# ---------------------------------------------------------------------------- 3
def error_functions(c: Course) -> None:
    c.title("3. Error functions: sigmoid, softmax and cross-entropy")
    z = np.array([-2.0, 0.0, 2.0])
    print(f"   step(-2, 0, 2) = {F.step(z)}   sigmoid(-2, 0, 2) = {F.sigmoid(z).round(4)}")
    c.figure(
        "04_step_vs_sigmoid",
        lambda fig: cc.plot.activation_functions(("step", "sigmoid"), ax=fig.subplots()),
        (6, 4.5),
    )
    scores = np.array([2.0, 1.0, 0.1])
    flavours = ["chocolate", "vanilla", "cookie dough"]
    print(
        f"   softmax of the scores {scores}: {F.softmax(scores).round(3)} "
        f"(sum {F.softmax(scores).sum():g})"
    )
    c.figure(
        "05_softmax",
        lambda fig: cc.plot.softmax_scores(scores, flavours, ax=fig.subplots()),
        (6.5, 4.5),
    )
    doors = np.array([0.8, 0.7, 0.1])
    case2 = F.cross_entropy(np.array([1.0, 1.0, 0.0]), doors)
    print(
        f"   three doors, gift chances {doors}: case 2 (gift, gift, no gift) has probability "
        f"{0.8 * 0.7 * 0.9:.3f} and cross-entropy {case2:.3f} = -ln 0.8 - ln 0.7 - ln 0.9"
    )
    worst = F.cross_entropy(np.array([0.0, 0.0, 1.0]), doors)
    print(f"   the least likely case (no, no, gift) has cross-entropy {worst:.3f}")
    c.figure(
        "06_cross_entropy",
        lambda fig: cc.plot.cross_entropy_cases(doors, ax=fig.subplots()),
        (8.5, 4.5),
    )


# ---------------------------------------------------------------------------- 4
def logistic_regression(c: Course) -> None:
    c.title("4. Logistic regression: gradient descent on the cross-entropy")
    X, y = cc.datasets.admissions(n=400, noise=0.1, random_state=1)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X_train, X_test, y_train, y_test = cc.datasets.train_test_split(
        X, y, random_state=0, stratify=y
    )
    runs = {}
    for batch, name in ((1, "per point"), (None, "full batch"), (16, "mini-batch 16")):
        model = cc.LogisticRegression(
            learning_rate=0.1, epochs=60, batch_size=batch, tol=0.0, random_state=0
        ).fit(X_train, y_train)
        runs[name] = model
        h = model.history_["loss"]
        print(
            f"   {name:14s} error {h[0]:.4f} (epoch 1) -> {h[-1]:.4f} (epoch {len(h)}), "
            f"test accuracy {model.score(X_test, y_test):.1%}"
        )
    per_point = runs["per point"]
    c.check(
        "gradient descent lowers the error",
        f"{per_point.history_['loss'][0]:.3f} -> {per_point.history_['loss'][-1]:.3f}",
        per_point.history_["loss"][-1] < per_point.history_["loss"][0],
    )

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        cc.plot.decision_boundary(per_point, X_test, y_test, ax=left, class_names=STUDENTS)
        left.set_title(
            f"per-point gradient descent: test accuracy {per_point.score(X_test, y_test):.1%}"
        )
        left.set_xlabel("x1: grades (standardised)")
        left.set_ylabel("x2: test score (standardised)")
        cc.plot.compare_histories(runs, ax=right, title="the error falls, epoch by epoch")
        right.set_ylabel("error (mean cross-entropy)")

    c.figure("07_gradient_descent", draw, (12, 5))


# ---------------------------------------------------------------------------- 5
def architecture(c: Course) -> None:
    c.title("5. Neural network architecture: two linear models make a curve")
    p1, p2 = 0.7, 0.8
    print(
        f"   a point with p1 = {p1}, p2 = {p2}: sigmoid(p1 + p2) = {F.sigmoid(p1 + p2):.2f}; "
        f"weighted, sigmoid(7 p1 + 5 p2 - 6) = {F.sigmoid(7 * p1 + 5 * p2 - 6):.2f}"
    )
    first = (np.array([-1.0, -1.5]), 10.0)  # blue below the line x1 + 1.5 x2 = 10
    second = (np.array([1.2, -1.0]), -1.5)  # blue right of the line 1.2 x1 - x2 = 1.5
    net = cc.Network((2, 2, 1), activation="sigmoid", output="sigmoid", random_state=0)
    net.weights[0][:] = np.column_stack([first[0], second[0]])
    net.biases[0][:] = [first[1], second[1]]
    net.weights[1][:, 0] = [7.0, 5.0]
    net.biases[1][:] = -6.0
    X, y = cc.datasets.admissions(n=200, noise=0.0, random_state=3)
    by_hand = F.sigmoid(
        7 * F.sigmoid(X @ first[0] + first[1]) + 5 * F.sigmoid(X @ second[0] + second[1]) - 6
    )
    gap = np.abs(net.forward(X)[:, 0] - by_hand).max()
    print(
        f"   the same as a 2-2-1 network with hidden weights = the two lines, output weights "
        f"7 and 5, bias -6: largest difference {gap:.1e}"
    )
    c.figure(
        "08_combining_models",
        lambda fig: cc.plot.combined_models(
            first, second, (7, 5), -6, extent=(0, 10, 0, 10), fig=fig
        ),
        (14, 4.5),
    )
    deep = cc.Network((3, 6, 6, 4, 2), activation="relu", output="softmax", random_state=0)
    print(
        f"   a deep network {'-'.join(map(str, deep.layer_sizes))}: {len(deep.weights)} weight "
        f"matrices, {deep.n_params} parameters in one buffer"
    )
    c.figure(
        "09_deep_network", lambda fig: cc.plot.network_diagram(deep, ax=fig.subplots()), (8, 5)
    )


# ---------------------------------------------------------------------------- 6
def feedforward_backpropagation(c: Course) -> None:
    c.title("6. Feedforward and backpropagation: a network learns a curve")
    X, y = cc.datasets.moons(n=600, noise=0.2, random_state=0)
    X_train, X_test, y_train, y_test = cc.datasets.train_test_split(
        X, y, random_state=0, stratify=y
    )
    net = cc.Network((2, 8, 8, 1), activation="tanh", output="sigmoid", random_state=0)
    a = X_test[:5]
    for w, b in zip(net.weights[:-1], net.biases[:-1], strict=True):
        a = np.tanh(a @ w + b)
    by_hand = F.sigmoid(a @ net.weights[-1] + net.biases[-1])
    print(
        "   feedforward by hand, sigmoid(W3 tanh(W2 tanh(W1 x + b1) + b2) + b3), vs the "
        f"kernel: largest difference {np.abs(by_hand - net.forward(X_test[:5])).max():.1e}"
    )
    worst = cc.gradcheck(net, X_train[:50], y_train[:50])
    print(f"   backpropagation vs finite differences (cc.gradcheck): {worst:.1e}")
    c.check("backpropagation computes the gradient", f"gradcheck {worst:.1e}", worst < 1e-6)
    line = cc.LogisticRegression(random_state=0).fit(X_train, y_train)
    model = cc.MLPClassifier(
        hidden_layers=(16, 16), activation="tanh", learning_rate=0.01, epochs=80, random_state=0
    ).fit(X_train, y_train)
    start = time.perf_counter()
    for epoch in range(1, 41):
        loss, acc = net.train_epoch(X_train, y_train, batch_size=16, learning_rate=0.1)
        if epoch in (1, 5, 10, 20, 40):
            print(f"   epoch {epoch:2d}: error {loss:.4f}, training accuracy {acc:.1%}")
    took = time.perf_counter() - start
    print(f"   (40 epochs of feedforward + backpropagation in {took * 1000:.0f} ms)")
    print(
        f"   test accuracy: a line {line.score(X_test, y_test):.1%}, "
        f"a 2-16-16-1 network {model.score(X_test, y_test):.1%}"
    )
    c.check(
        "a network draws the curve a line cannot",
        f"{model.score(X_test, y_test):.1%} vs {line.score(X_test, y_test):.1%}",
        model.score(X_test, y_test) > line.score(X_test, y_test),
    )

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, 3)
        cc.plot.decision_boundary(line, X_test, y_test, ax=axes[0], title="a line")
        cc.plot.decision_boundary(model, X_test, y_test, ax=axes[1], title="a 2-16-16-1 network")
        cc.plot.compare_histories(
            {"network": model}, ax=axes[2], title="the error during backpropagation"
        )

    c.figure("10_backpropagation", draw, (16, 4.8))
    c.animation(
        "network_training",
        cc.MLPClassifier(
            hidden_layers=(16, 16), activation="tanh", learning_rate=0.01, epochs=80, random_state=0
        ),
        X_train,
        y_train,
        max_frames=16,
        fps=4,
    )


# ---------------------------------------------------------------------------- 7
def noisy_circles() -> tuple[np.ndarray, ...]:
    """200 noisy points on two circles: 80 to train on, 120 to validate on: easy to overfit."""
    X, y = cc.datasets.circles(n=200, noise=0.3, random_state=0)
    return cc.datasets.train_test_split(X, y, test_size=0.6, stratify=y, random_state=0)


def training_optimization(c: Course) -> None:
    c.title("7. Training optimisation: under- and overfitting, early stopping")
    X_train, X_val, y_train, y_val = noisy_circles()
    print(
        f"   noisy circles: {len(X_train)} points to train on, {len(X_val)} to validate on "
        "(a flexible network can memorise the noise)"
    )
    big = dict(hidden_layers=(64, 64), learning_rate=0.01, epochs=300, random_state=0)
    models = {
        "underfit: a line": cc.LogisticRegression(random_state=0),
        "about right: 2-8-1, L2": cc.MLPClassifier(
            hidden_layers=(8,), learning_rate=0.01, epochs=300, l2=3e-3, random_state=0
        ),
        "overfit: 2-64-64-1": cc.MLPClassifier(**big),
    }
    scores = {}
    for name, model in models.items():
        model.fit(X_train, y_train)
        scores[name] = (model.score(X_train, y_train), model.score(X_val, y_val))
        print(f"   {name:24s} training {scores[name][0]:.1%}, validation {scores[name][1]:.1%}")

    def fits(fig: Any) -> None:
        for ax, (name, model) in zip(fig.subplots(1, 3), models.items(), strict=True):
            cc.plot.decision_boundary(model, X_train, y_train, ax=ax)
            tr, va = scores[name]
            ax.set_title(f"{name}\ntraining {tr:.0%}, validation {va:.0%}")

    c.figure("11_under_and_overfitting", fits, (15, 5))

    plain = cc.MLPClassifier(**big).fit(X_train, y_train, validation_data=(X_val, y_val))
    h = plain.history_
    stop = cc.MLPClassifier(**big, early_stopping=True, patience=20).fit(
        X_train, y_train, validation_data=(X_val, y_val)
    )
    best = int(np.argmin(stop.history_["val_loss"])) + 1
    print("   epoch  training error  validation error")
    for e in sorted({1, 5, 10, best, 50, 100, 200, len(h["loss"])}):
        mark = "   <- early stopping keeps this epoch" if e == best else ""
        print(f"   {e:5d}  {h['loss'][e - 1]:14.4f}  {h['val_loss'][e - 1]:16.4f}{mark}")
    print(
        f"   early stopping (patience 20) stopped after epoch {stop.n_epochs_} and kept epoch "
        f"{best}: validation accuracy {stop.score(X_val, y_val):.1%} vs "
        f"{plain.score(X_val, y_val):.1%} after all {len(h['loss'])} epochs"
    )
    c.check(
        "early stopping picks a better epoch than the last",
        f"validation error {h['val_loss'][best - 1]:.3f} at epoch {best} vs "
        f"{h['val_loss'][-1]:.3f} at epoch {len(h['loss'])}",
        h["val_loss"][best - 1] < h["val_loss"][-1],
    )
    c.figure(
        "12_model_complexity",
        lambda fig: cc.plot.model_complexity(h, ax=fig.subplots(), best_epoch=best),
        (7, 5),
    )
    regularization(c, plain, big, (X_train, X_val, y_train, y_val))


def _gap(model: Any, data: tuple[np.ndarray, ...]) -> tuple[float, float, float]:
    X_train, X_val, y_train, y_val = data
    tr, va = model.score(X_train, y_train), model.score(X_val, y_val)
    return tr, va, tr - va


def regularization(c: Course, plain: Any, big: dict[str, Any], data: tuple[Any, ...]) -> None:
    c.title("   Regularisation (L1, L2) and dropout: the train/validation gap")
    X_train, X_val, y_train, y_val = data
    variants = {
        "L1 = 0.002": {"l1": 2e-3},
        "L2 = 0.01": {"l2": 1e-2},
        "dropout 0.5": {"dropout": 0.5},
    }
    fitted = {"none": plain}
    for name, extra in variants.items():
        fitted[name] = cc.MLPClassifier(**big, **extra).fit(
            X_train, y_train, validation_data=(X_val, y_val)
        )
    print("   trick          training  validation    gap   sum|w|")
    _, base_va, base_gap = _gap(plain, data)
    for name, model in fitted.items():
        tr, va, gap = _gap(model, data)
        size = sum(np.abs(w).sum() for w in model.network_.weights)
        print(f"   {name:12s} {tr:9.1%}  {va:10.1%}  {gap:+6.1%}  {size:7.1f}")
    for name in variants:
        # a narrower gap only helps if the validation accuracy did not pay for it
        tr, va, gap = _gap(fitted[name], data)
        c.check(
            f"{name} narrows the gap and helps",
            f"gap {base_gap:+.1%} -> {gap:+.1%}, validation {base_va:.1%} -> {va:.1%}",
            gap < base_gap and va >= base_va,
        )

    def penalties(fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        runs = {k: fitted[k] for k in ("none", "L1 = 0.002", "L2 = 0.01")}
        cc.plot.compare_histories(runs, ax=left, title="L1 and L2 keep validation error down")
        left.set_ylabel("loss (cross-entropy + penalty)")
        cc.plot.weight_histogram(runs, ax=right)
        right.set_title("L1 sends weights to zero, L2 shrinks them all")

    c.figure("13_regularization", penalties, (14, 5))

    dropped = fitted["dropout 0.5"]

    def dropout(fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        rng = np.random.default_rng(1)
        off = [rng.choice(8, 4, replace=False), rng.choice(8, 4, replace=False)]
        cc.plot.network_diagram((2, 8, 8, 1), ax=left, dropped=off)
        cc.plot.compare_histories(
            {"no dropout": plain, "dropout 0.5": dropped},
            ax=right,
            title="dropout: each epoch trains a thinned network",
        )

    c.figure("14_dropout", dropout, (14, 5))


def random_restarts(c: Course) -> None:
    c.title("   Random restarts: escaping a local minimum")
    X, y = cc.datasets.circles(n=200, noise=0.1, random_state=0)
    small = dict(hidden_layers=(3,), learning_rate=0.05, epochs=60, random_state=0)
    model = cc.MLPClassifier(**small, n_restarts=8).fit(X, y)
    losses = np.asarray(model.restart_losses_)
    print(f"   a 2-3-1 network from 8 random starts: final losses {losses.round(3)}")
    worst, best = int(np.argmax(losses)), model.best_restart_
    print(
        f"   kept restart {best + 1} (loss {losses[best]:.3f}); the worst start stopped at "
        f"{losses[worst]:.3f}, accuracy {model.score(X, y):.1%}"
    )
    c.check(
        "restarts find a lower loss than the worst start",
        f"{losses[best]:.3f} vs {losses[worst]:.3f}",
        losses[best] < losses[worst],
    )
    seeds = model.restart_seeds_
    stuck = cc.MLPClassifier(**{**small, "random_state": int(seeds[worst])}).fit(X, y)

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, 3)
        cc.plot.restart_losses(model, ax=axes[0])
        cc.plot.decision_boundary(stuck, X, y, ax=axes[1], title=f"worst start ({worst + 1})")
        cc.plot.decision_boundary(model, X, y, ax=axes[2], title=f"kept start ({best + 1})")

    c.figure("15_random_restarts", draw, (16, 4.8))


def moons_split(random_state: int) -> tuple[np.ndarray, ...]:
    """400 moons points (noise 0.2): 70 % to train on, 30 % to validate on."""
    X, y = cc.datasets.moons(n=400, noise=0.2, random_state=random_state)
    return cc.datasets.train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def activations(c: Course) -> None:
    c.title("   Other activation functions: tanh and ReLU")
    X_train, X_val, y_train, y_val = moons_split(random_state=1)
    runs = {}
    for name in ("sigmoid", "tanh", "relu"):
        runs[name] = cc.MLPClassifier(
            hidden_layers=(16, 16),
            activation=name,
            optimizer="sgd",
            learning_rate=0.1,
            epochs=40,
            random_state=0,
        ).fit(X_train, y_train, validation_data=(X_val, y_val))
        h = runs[name].history_
        print(
            f"   {name:8s} hidden units: error after 40 epochs of SGD {h['loss'][-1]:.4f}, "
            f"validation accuracy {runs[name].score(X_val, y_val):.1%}"
        )

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        cc.plot.activation_functions(("sigmoid", "tanh", "relu"), ax=left)
        cc.plot.compare_histories(runs, ax=right, title="the same network with each activation")

    c.figure("16_activations", draw, (14, 5))


def learning_rate_decay(c: Course) -> None:
    c.title("   Learning-rate decay: a high rate overshoots, a decaying one settles")
    X_train, X_val, y_train, y_val = moons_split(random_state=0)
    common = dict(
        hidden_layers=(16,), activation="tanh", optimizer="sgd", epochs=60, random_state=0
    )
    runs = {
        "constant 4.0 (too high)": cc.MLPClassifier(**common, learning_rate=4.0),
        "4.0, halved every 10 epochs": cc.MLPClassifier(
            **common, learning_rate=4.0, lr_schedule=cc.schedules.StepDecay(factor=0.5, every=10)
        ),
    }
    finals = {}
    for name, model in runs.items():
        h = model.fit(X_train, y_train, validation_data=(X_val, y_val)).history_
        finals[name] = h["val_loss"][-1]
        print(
            f"   {name:28s} validation error {h['val_loss'][-1]:.4f}, training error over the "
            f"last 10 epochs {min(h['loss'][-10:]):.3f}..{max(h['loss'][-10:]):.3f}"
        )
    const, decay = finals.values()
    c.check("decay beats a too-high constant rate", f"{decay:.3f} vs {const:.3f}", decay < const)

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        cc.plot.compare_histories(runs, ax=left, title="a high constant rate keeps overshooting")
        cc.plot.compare_histories(runs, key="lr", ax=right, title="the learning rate per epoch")
        right.set_yscale("log")
        right.set_ylabel("learning rate")

    c.figure("17_learning_rate_decay", draw, (14, 5))


def run(figures: str | None = "crash_course_figures") -> list[Finding]:
    """Run the crash course, printing each step; save its figures in ``figures``.

    Figures need matplotlib (``pip install "crash-core[plot]"``); they are drawn off-screen,
    so the matplotlib backend in use is never changed.  Returns the findings: (the course's
    claim, what was measured, whether it held on the data chosen for it).
    """
    out: Path | None = None
    if figures:
        try:
            import matplotlib  # noqa: F401

            out = Path(figures)
        except ImportError:
            print("(matplotlib is not installed: no figures; pip install 'crash-core[plot]')")
    start = time.perf_counter()
    print(f"crash_core {cc.__version__}: the machine-learning crash course, run for real")
    course = Course(out)
    for step in (
        what_is_a_network,
        perceptrons,
        error_functions,
        logistic_regression,
        architecture,
        feedforward_backpropagation,
        training_optimization,
        random_restarts,
        activations,
        learning_rate_decay,
    ):
        step(course)
    course.title("What the course says, and what this run measured")
    for claim, measured, held in course.findings:
        print(f"   [{'x' if held else ' '}] {claim:52s} {measured}")
    missed = [claim for claim, _, held in course.findings if not held]
    if missed:
        print(f"   not shown on this data: {'; '.join(missed)}")
    if course.saved:
        print(f"\n{len(course.saved)} pictures in {out}/")
    print(f"The whole course ran in {time.perf_counter() - start:.1f} s.")
    return course.findings
