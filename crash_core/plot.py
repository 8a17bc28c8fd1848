"""Pictures of the crash course (needs matplotlib: ``pip install "crash-core[plot]"``).

Every section of the course is built on a picture; each function here draws one of them
and returns the matplotlib Axes (or Figure) it drew on.  Nothing here chooses or changes
the matplotlib backend: in a notebook the figures appear inline, in a script
``plt.show()`` or ``fig.savefig`` shows or saves them.

* ``decision_boundary``: the class regions of a model with the data on top — the line a
  perceptron draws, the curve a network draws; accuracy in the title.
* ``perceptron_update``: one step of the perceptron algorithm — the line pulled toward a
  misclassified point.
* ``activation_functions``: step vs sigmoid, tanh and ReLU.
* ``softmax_scores``: a linear model's scores and the probabilities softmax makes of them.
* ``cross_entropy_cases``: the three doors — each case's probability and cross-entropy.
* ``combined_models``: two linear models combined into a curve, sigmoid(w1 p1 + w2 p2 + b).
* ``network_diagram``: the units and weights of a network (dropped-out units in red).
* ``model_complexity``: training vs validation error per epoch, the best epoch marked.
* ``compare_histories``: a per-epoch metric of several runs, training solid, validation dashed.
* ``weight_histogram``: the weights of several models (what L1 and L2 do to them).
* ``restart_losses``: the final loss of each random restart, the kept one marked.
* ``learning_curves``: every metric of a history, one panel each.
* ``animate_training``: a GIF of training — the boundary moving beside the loss curve.

Epochs are counted from 1 on every axis: ``history[key][i]`` belongs to epoch ``i + 1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "decision_boundary",
    "perceptron_update",
    "activation_functions",
    "softmax_scores",
    "cross_entropy_cases",
    "combined_models",
    "network_diagram",
    "model_complexity",
    "compare_histories",
    "weight_histogram",
    "restart_losses",
    "learning_curves",
    "animate_training",
]

# the course's colours: rejected / class 0 red, accepted / class 1 blue
CLASS_COLORS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown")


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "crash_core.plot needs matplotlib; install it with pip install 'crash-core[plot]'."
        ) from exc
    return matplotlib


def _pyplot() -> Any:
    _matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Any, figsize: tuple[float, float] = (5.5, 4.5)) -> Any:
    if ax is None:
        _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def _integer_epochs(ax: Any, label: str = "epoch") -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(label)


def _history_dict(history: Any) -> dict[str, list[float]]:
    data = getattr(history, "history", history)
    if not hasattr(data, "keys") or "loss" not in data:
        raise ValueError(
            "history must be a model's history_ (or a dict of per-epoch lists) with a 'loss' key."
        )
    return {k: list(data[k]) for k in data.keys()}


def _points_2d(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{what} draws data with 2 features (x1, x2); X has shape {X.shape}. "
            "Pick two columns, or project the data to 2-D first."
        )
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)}; pass one label per row.")
    return X, y


def _grid(X: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A resolution x resolution grid over the data, 10 % margin: (xx, yy, rows of points)."""
    pad = 0.1 * np.where(np.ptp(X, axis=0) > 0, np.ptp(X, axis=0), 1.0)
    gx = np.linspace(X[:, 0].min() - pad[0], X[:, 0].max() + pad[0], resolution)
    gy = np.linspace(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _scatter_classes(
    ax: Any, X: np.ndarray, y: np.ndarray, classes: Sequence[Any], names: Any = None
) -> None:
    """One scatter per class, in the course's colours, with the class in the legend."""
    for i, c in enumerate(classes):
        mask = y == c
        label = names[i] if names is not None else f"class {c}"
        color = CLASS_COLORS[i % len(CLASS_COLORS)]
        ax.scatter(
            X[mask, 0], X[mask, 1], s=16, c=color, edgecolors="k", linewidths=0.3, label=label
        )


def _shade_classes(ax: Any, xx: np.ndarray, yy: np.ndarray, idx: np.ndarray, k: int) -> Any:
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(k)])
    return ax.contourf(
        xx, yy, idx.reshape(xx.shape), levels=np.arange(k + 1) - 0.5, cmap=cmap, alpha=0.2
    )


def _classes_of(model: Any, y: np.ndarray) -> np.ndarray:
    classes = getattr(model, "classes_", None)
    return np.asarray(classes) if classes is not None else np.unique(y)


def decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    ax: Any = None,
    resolution: int = 200,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Any:
    """Shade the class regions of a fitted 2-feature classifier and scatter (X, y) on top.

    The title names the model and its accuracy on (X, y); the legend names the classes
    (``class_names``, in ``model.classes_`` order, or "class <label>").
    """
    X, y = _points_2d(X, y, "decision_boundary")
    ax = _axes(ax)
    classes = _classes_of(model, y)
    xx, yy, grid = _grid(X, resolution)
    idx = np.searchsorted(classes, model.predict(grid))
    _shade_classes(ax, xx, yy, idx, len(classes))
    _scatter_classes(ax, X, y, classes, class_names)
    accuracy = float(np.mean(model.predict(X) == y))
    ax.set_title(f"{title or type(model).__name__}: accuracy {accuracy:.1%}")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="best", fontsize="small")
    return ax


def _line_points(w: np.ndarray, b: float, xlim: tuple[float, float]) -> tuple[Any, Any]:
    """Two points of w1 x1 + w2 x2 + b = 0 across ``xlim`` (a vertical line when w2 = 0)."""
    if abs(w[1]) > 1e-12 * max(1.0, abs(w[0])):
        xs = np.array(xlim)
        return xs, -(w[0] * xs + b) / w[1]
    if abs(w[0]) > 0:
        x = -b / w[0]
        return np.array([x, x]), np.array([-1e6, 1e6])
    return np.array([]), np.array([])


def perceptron_update(
    X: Any,
    y: Any,
    w: Any,
    b: float,
    point: int,
    learning_rate: float = 0.1,
    ax: Any = None,
) -> Any:
    """One step of the perceptron algorithm: the line pulled toward a misclassified point.

    The line w . x + b = 0 (dashed) predicts step(w . x + b); if sample ``point`` is
    misclassified the step is w +- lr x, b +- lr (``+`` when its label is 1), drawn solid.
    ``y`` holds 0/1 labels.  Returns the Axes; the new line's (w, b) is in ``ax.new_line``.
    """
    X, y = _points_2d(X, y, "perceptron_update")
    w = np.asarray(w, dtype=np.float64)
    ax = _axes(ax)
    _scatter_classes(ax, X, y, [0, 1], ["rejected (0)", "accepted (1)"])
    xlim = (X[:, 0].min() - 0.5, X[:, 0].max() + 0.5)
    ylim = (X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    x = X[point]
    y_hat = int(w @ x + b >= 0)
    sign = int(y[point]) - y_hat
    new_w, new_b = w + sign * learning_rate * x, b + sign * learning_rate
    ax.plot(*_line_points(w, b, xlim), "k--", lw=1.2, label=f"before: {_equation(w, b)}")
    ax.plot(
        *_line_points(new_w, new_b, xlim), "k-", lw=2, label=f"after: {_equation(new_w, new_b)}"
    )
    ax.scatter(
        [x[0]],
        [x[1]],
        s=220,
        facecolors="none",
        edgecolors="gold",
        linewidths=2.5,
        label="misclassified point" if sign else "correctly classified point",
    )
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("x1 (grades)")
    ax.set_ylabel("x2 (test score)")
    verb = "pulled toward" if sign else "left in place by"
    ax.set_title(f"perceptron step, learning rate {learning_rate:g}: line {verb} the point")
    ax.legend(loc="best", fontsize="small")
    ax.new_line = (new_w, new_b)
    return ax


def _equation(w: np.ndarray, b: float) -> str:
    return f"{w[0]:.2f} x1 {w[1]:+.2f} x2 {b:+.2f} = 0"


def activation_functions(
    names: Sequence[str] = ("step", "sigmoid", "tanh", "relu"), ax: Any = None
) -> Any:
    """The activation functions of the course over z in [-5, 5], one line each."""
    from crash_core import functional as F

    known = {"step": F.step, "sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"Unknown activation(s) {unknown}. Valid options: {sorted(known)}.")
    ax = _axes(ax)
    z = np.linspace(-5, 5, 401)
    for name in names:
        ax.plot(
            z, known[name](z), lw=2, label=name, drawstyle="steps-post" if name == "step" else None
        )
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("z = w . x + b")
    ax.set_ylabel("activation f(z)")
    ax.set_title("activation functions: " + ", ".join(names))
    ax.legend()
    return ax


def softmax_scores(scores: Any, labels: Sequence[str] | None = None, ax: Any = None) -> Any:
    """Bars of a linear model's scores Z_i and the probabilities e^Z_i / sum_j e^Z_j."""
    from crash_core.functional import softmax

    z = np.asarray(scores, dtype=np.float64).ravel()
    p = softmax(z)
    labels = list(labels) if labels is not None else [f"class {i + 1}" for i in range(z.size)]
    if len(labels) != z.size:
        raise ValueError(f"{z.size} scores but {len(labels)} labels; give one label per score.")
    ax = _axes(ax, (6, 4))
    at = np.arange(z.size)
    ax.bar(at - 0.2, z, 0.4, label="score Z")
    bars = ax.bar(at + 0.2, p, 0.4, label="softmax probability")
    for rect, value in zip(bars, p, strict=True):
        ax.annotate(
            f"{value:.2f}",
            (rect.get_x() + rect.get_width() / 2, value),
            ha="center",
            va="bottom",
            fontsize="small",
        )
    ax.set_xticks(at, labels)
    ax.set_xlabel("class")
    ax.set_ylabel("score / probability")
    ax.set_title("softmax: P(class i) = exp(Z_i) / sum_j exp(Z_j)")
    ax.legend()
    return ax


def cross_entropy_cases(probabilities: Any, ax: Any = None) -> Any:
    """The course's doors: for each gift / no-gift case, its probability and cross-entropy.

    ``probabilities[i]`` is the chance of a gift behind door i.  A case's probability is the
    product of its doors' chances; its cross-entropy is -ln of that probability,
    -sum_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)].
    """
    from crash_core.functional import cross_entropy

    p = np.asarray(probabilities, dtype=np.float64).ravel()
    if p.size > 6 or np.any((p <= 0) | (p >= 1)):
        raise ValueError("give at most 6 door probabilities, each strictly between 0 and 1.")
    cases = np.array(
        [[(c >> (p.size - 1 - i)) & 1 for i in range(p.size)] for c in range(2**p.size)]
    )[::-1]
    prob = np.prod(np.where(cases == 1, p, 1 - p), axis=1)
    ce = np.array([cross_entropy(c, p) for c in cases])
    ax = _axes(ax, (8, 4))
    at = np.arange(len(cases))
    ax.bar(at - 0.2, prob, 0.4, color="tab:green", label="probability of the case")
    twin = ax.twinx()
    twin.bar(at + 0.2, ce, 0.4, color="tab:purple", label="cross-entropy = -ln(probability)")
    names = ["".join("G" if v else "-" for v in c) for c in cases]
    ax.set_xticks(at, names)
    ax.set_xlabel("case (G = gift behind the door, - = none)")
    ax.set_ylabel("probability")
    twin.set_ylabel("cross-entropy")
    doors = ", ".join(f"{v:g}" for v in p)
    ax.set_title(f"doors with gift chances {doors}: likely cases have low cross-entropy")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="upper center")
    ax.cross_entropies = ce
    return ax


def combined_models(
    first: tuple[Any, float],
    second: tuple[Any, float],
    weights: tuple[float, float] = (7.0, 5.0),
    bias: float = -6.0,
    X: Any = None,
    y: Any = None,
    extent: tuple[float, float, float, float] | None = None,
    fig: Any = None,
) -> Any:
    """Two linear models combined into a curve: p = sigmoid(w1 p1 + w2 p2 + b).

    ``first`` and ``second`` are (w, b) of the linear models p_k = sigmoid(w . x + b); the
    three panels show p1, p2 and their combination with ``weights`` and ``bias`` (the
    course's 7, 5 and -6), the data (X, y) on top when given.  Draws on ``fig`` (a new
    pyplot figure when None) and returns it.
    """
    from crash_core.functional import sigmoid

    plt = _pyplot()
    if extent is None:
        if X is None:
            raise ValueError("give the data X (and y) or the extent (x1min, x1max, x2min, x2max).")
        Xp, _ = _points_2d(X, np.zeros(len(X)) if y is None else y, "combined_models")
        xx, yy, grid = _grid(Xp, 150)
    else:
        xx, yy = np.meshgrid(np.linspace(*extent[:2], 150), np.linspace(*extent[2:], 150))
        grid = np.column_stack([xx.ravel(), yy.ravel()])
    p1 = sigmoid(grid @ np.asarray(first[0], dtype=float) + first[1])
    p2 = sigmoid(grid @ np.asarray(second[0], dtype=float) + second[1])
    p = sigmoid(weights[0] * p1 + weights[1] * p2 + bias)
    if fig is None:
        fig = plt.figure(figsize=(14, 4.2))
    axes = fig.subplots(1, 3, sharey=True)
    titles = (
        "linear model 1: p1 = sigmoid(w.x + b)",
        "linear model 2: p2 = sigmoid(w.x + b)",
        f"combined: sigmoid({weights[0]:g} p1 + {weights[1]:g} p2 {bias:+g})",
    )
    for ax, values, title in zip(axes, (p1, p2, p), titles, strict=True):
        image = ax.contourf(
            xx, yy, values.reshape(xx.shape), levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6
        )
        ax.contour(xx, yy, values.reshape(xx.shape), levels=[0.5], colors="k", linewidths=1.5)
        if X is not None and y is not None:
            Xp, yp = _points_2d(X, y, "combined_models")
            _scatter_classes(ax, Xp, yp, np.unique(yp))
            ax.legend(loc="lower left", fontsize="small")
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("x1")
    axes[0].set_ylabel("x2")
    fig.colorbar(image, ax=axes, label="probability of blue (class 1)", shrink=0.9)
    fig.suptitle("two linear models make a non-linear one (black: the 0.5 boundary)")
    return fig


def network_diagram(network: Any, ax: Any = None, dropped: Any = None) -> Any:
    """Units as circles, layer by layer, joined by weights (width ~ ``|w|``, blue > 0, red < 0).

    ``network`` is a ``cc.Network``, a fitted MLP model, or a tuple of layer sizes.
    ``dropped`` lists, per hidden layer, the indices of units shut off by dropout: they are
    drawn red with their connections removed.
    """
    net = getattr(network, "network_", network)
    if hasattr(net, "layer_sizes"):
        sizes, weights = tuple(net.layer_sizes), [np.asarray(w) for w in net.weights]
    else:
        sizes, weights = tuple(int(s) for s in network), None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"network_diagram needs two or more layer sizes, got {sizes}.")
    if max(sizes) > 40:
        raise ValueError(f"network_diagram draws layers of up to 40 units; got {max(sizes)}.")
    drop = [set() for _ in sizes]
    for layer, units in enumerate(dropped or [], start=1):
        drop[layer] = set(int(u) for u in units)
    ax = _axes(ax, (7, 4.5))
    tallest = max(sizes)
    pos = [
        [(x, (tallest - 1) / 2 - (n - 1) / 2 + j) for j in range(n)] for x, n in enumerate(sizes)
    ]
    peak = max((float(np.abs(w).max()) for w in weights), default=1.0) if weights else 1.0
    for layer in range(len(sizes) - 1):
        for i, (x0, y0) in enumerate(pos[layer]):
            for j, (x1, y1) in enumerate(pos[layer + 1]):
                if i in drop[layer] or j in drop[layer + 1]:
                    continue
                w = weights[layer][i, j] if weights else 1.0
                ax.plot(
                    [x0, x1],
                    [y0, y1],
                    color="tab:blue" if w >= 0 else "tab:red",
                    lw=0.3 + 2.5 * abs(w) / (peak or 1.0),
                    alpha=0.6,
                    zorder=1,
                )
    kinds = ["input"] + ["hidden"] * (len(sizes) - 2) + ["output"]
    for layer, units in enumerate(pos):
        for j, (x, y) in enumerate(units):
            off = j in drop[layer]
            ax.scatter(
                [x],
                [y],
                s=260,
                zorder=2,
                edgecolors="k",
                c="tab:red" if off else ("white" if kinds[layer] != "hidden" else "lightgrey"),
            )
    ax.set_xticks(range(len(sizes)), [f"{k}\n{n} units" for k, n in zip(kinds, sizes, strict=True)])
    ax.set_yticks([])
    ax.set_xlabel("layer")
    n_off = sum(len(d) for d in drop)
    depth = "deep " if len(sizes) > 3 else ""
    title = f"a {depth}neural network {'-'.join(map(str, sizes))}"
    ax.set_title(title + (f", {n_off} units dropped out (red)" if n_off else ""))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax


def model_complexity(history: Any, ax: Any = None, best_epoch: int | None = None) -> Any:
    """Training vs validation loss per epoch; the best epoch (1-based) marked.

    ``best_epoch`` defaults to the epoch of the lowest validation loss.
    """
    h = _history_dict(history)
    ax = _axes(ax)
    epochs = np.arange(1, len(h["loss"]) + 1)
    ax.plot(epochs, h["loss"], label="training error")
    if "val_loss" in h:
        ax.plot(epochs, h["val_loss"], "--", label="validation error")
        best = int(np.nanargmin(h["val_loss"])) + 1 if best_epoch is None else int(best_epoch)
        ax.axvline(best, color="grey", lw=0.8, label=f"best epoch {best}")
        ax.plot([best], [h["val_loss"][best - 1]], "o", color="grey")
    _integer_epochs(ax)
    ax.set_ylabel("loss (cross-entropy)")
    ax.set_title("model complexity: training vs validation error")
    ax.legend()
    return ax


def compare_histories(
    histories: Mapping[str, Any], key: str = "loss", ax: Any = None, title: str | None = None
) -> Any:
    """One colour per run: ``key`` on the training data solid, on validation data dashed."""
    if not histories:
        raise ValueError("compare_histories needs at least one history, e.g. {'name': model}.")
    ax = _axes(ax, (6.5, 4.5))
    for color, (name, history) in zip(CLASS_COLORS * 4, histories.items(), strict=False):
        h = _history_dict(getattr(history, "history_", history))
        if key not in h:
            raise ValueError(f"history {name!r} has no {key!r}; it has {sorted(h)}.")
        epochs = np.arange(1, len(h[key]) + 1)
        ax.plot(epochs, h[key], color=color, label=f"{name} (training)")
        if f"val_{key}" in h:
            ax.plot(epochs, h[f"val_{key}"], "--", color=color, label=f"{name} (validation)")
    _integer_epochs(ax)
    ax.set_ylabel(key)
    ax.set_title(title or f"{key} per epoch")
    ax.legend(fontsize="small")
    return ax


def weight_histogram(models: Mapping[str, Any], ax: Any = None, bins: int = 40) -> Any:
    """Histogram of every weight (not bias) of each model; the legend counts near-zero ones."""
    if not models:
        raise ValueError("weight_histogram needs at least one model, e.g. {'L1': model}.")
    ax = _axes(ax, (6.5, 4.5))
    flat = {}
    for name, model in models.items():
        net = getattr(model, "network_", model)
        flat[name] = np.concatenate([np.asarray(w, dtype=float).ravel() for w in net.weights])
    edges = np.linspace(
        min(v.min() for v in flat.values()), max(v.max() for v in flat.values()), bins + 1
    )
    for color, (name, w) in zip(CLASS_COLORS * 4, flat.items(), strict=False):
        small = np.mean(np.abs(w) < 1e-2)
        ax.hist(
            w,
            bins=edges,
            histtype="step",
            lw=2,
            color=color,
            label=f"{name}: {small:.0%} of |w| < 0.01, sum|w| = {np.abs(w).sum():.1f}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("weight value")
    ax.set_ylabel("number of weights")
    ax.set_title("weights after training")
    ax.legend(fontsize="small")
    return ax


def restart_losses(model: Any, ax: Any = None) -> Any:
    """The final loss of each random restart of a model fitted with ``n_restarts > 1``."""
    losses = getattr(model, "restart_losses_", None)
    if losses is None:
        raise ValueError("restart_losses needs a model fitted with n_restarts > 1.")
    losses = np.asarray(losses, dtype=float)
    best = int(getattr(model, "best_restart_", int(np.nanargmin(losses))))
    ax = _axes(ax, (6, 4))
    colors = ["tab:green" if i == best else "tab:grey" for i in range(losses.size)]
    ax.bar(np.arange(1, losses.size + 1), losses, color=colors)
    ax.axhline(losses[best], color="tab:green", lw=1, ls="--", label=f"kept: restart {best + 1}")
    _integer_epochs(ax, "restart")
    ax.set_ylabel("final loss")
    ax.set_title(f"random restarts: best {losses[best]:.3f}, worst {np.nanmax(losses):.3f}")
    ax.legend()
    return ax


def learning_curves(history: Any) -> Any:
    """One panel per metric (loss, accuracy, lr), training and validation together."""
    plt = _pyplot()
    h = _history_dict(history)
    metrics = [k for k in h if not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5), squeeze=False)
    epochs = np.arange(1, len(h["loss"]) + 1)
    for ax, key in zip(axes[0], metrics, strict=False):
        ax.plot(epochs, h[key], label=key)
        if f"val_{key}" in h:
            ax.plot(epochs, h[f"val_{key}"], "--", label=f"val_{key}")
        _integer_epochs(ax)
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------- animation


def animate_training(
    estimator: Any,
    X: Any,
    y: Any,
    path: str | Path,
    epochs: int | None = None,
    fps: int = 4,
    max_frames: int = 60,
) -> Path:
    """Train ``estimator`` on 2-feature data (X, y) and write a GIF of it, frame by frame.

    Left: the decision boundary moving over the points; right: the loss curve growing.
    For a ``Perceptron`` (two classes) each frame is one step of the perceptron algorithm:
    the line pulled toward a misclassified point (circled), beside the number of points
    still misclassified.  For the other classifiers each frame is an epoch.

    The estimator ends fitted, as by ``fit``, with ``epochs`` (when given) replacing its own
    ``epochs`` for this fit.  Without a ``random_state`` the estimator's seed is drawn once,
    so the GIF shows the very fit the estimator ends with.  At most ``max_frames`` frames
    are drawn (evenly spread, the last always included); the GIF plays at ``fps`` frames a
    second.  Returns ``path`` as a ``pathlib.Path``.  Needs matplotlib (and pillow, which
    matplotlib brings); the figure is drawn off-screen, whatever the backend.
    """
    _matplotlib()
    from matplotlib.animation import PillowWriter
    from matplotlib.figure import Figure

    from crash_core.models.perceptron import Perceptron

    X, y = _points_2d(X, y, "animate_training")
    if not hasattr(estimator, "get_params") or getattr(estimator, "_estimator_type", None) != (
        "classifier"
    ):
        raise TypeError(
            "animate_training animates a crash_core classifier (Perceptron, "
            f"LogisticRegression, MLPClassifier), got {type(estimator).__name__}."
        )
    if int(max_frames) < 2 or int(fps) < 1:
        raise ValueError(f"max_frames must be >= 2 and fps >= 1, got {max_frames} and {fps}.")
    if epochs is not None and (
        not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1
    ):
        raise ValueError(f"epochs must be a positive int or None, got {epochs!r}.")
    params = estimator.get_params()
    if params.get("n_restarts", 1) != 1:
        raise ValueError("animate_training shows one run: set n_restarts=1 on the estimator.")
    overrides: dict[str, Any] = {"verbose": 0}
    if epochs is not None:
        overrides["epochs"] = int(epochs)
    if params.get("random_state") is None:
        overrides["random_state"] = int(np.random.default_rng().integers(2**31))
    xx, yy, grid = _grid(X, 100)
    try:
        estimator.set_params(**overrides)
        if isinstance(estimator, Perceptron):
            movie = _PerceptronMovie(estimator, X, y, int(max_frames))
        else:
            movie = _EpochMovie(estimator, X, y, grid, int(max_frames))
    finally:
        estimator.set_params(**{k: params[k] for k in overrides})

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(10, 4.2))
    left, right = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.91, wspace=0.25)
    left.set_xlim(xx.min(), xx.max())
    left.set_ylim(yy.min(), yy.max())
    left.set_xlabel("x1")
    left.set_ylabel("x2")
    movie.setup(left, right, X, y, estimator.classes_)
    writer = PillowWriter(fps=int(fps))
    with writer.saving(fig, str(path), dpi=70):
        for k in range(len(movie)):
            drawn = movie.frame(k, left, right, xx, yy, grid)
            writer.grab_frame()
            for artist in drawn:
                artist.remove()
    return path


def _frame_indices(n: int, max_frames: int) -> np.ndarray:
    """At most max_frames of range(n), evenly spread, first and last included."""
    if n <= max_frames:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_frames)).astype(int))


class _PerceptronMovie:
    """The perceptron algorithm replayed point by point with the kernel ``fit`` uses, so
    the last line drawn is the fitted one."""

    def __init__(self, model: Any, X: np.ndarray, y: np.ndarray, max_frames: int) -> None:
        from crash_core._kernels import linear  # the build Perceptron.fit uses
        from crash_core._kernels.random import new_state
        from crash_core.network import DTYPES, make_rng

        classes = np.unique(y)
        if classes.size != 2:
            raise ValueError(
                f"animate_training draws one perceptron line: give two classes, got {classes.size}."
            )
        model.fit(X, y)  # validates the parameters and leaves the estimator fitted
        p = model.get_params()
        dtype = DTYPES[p["dtype"] if isinstance(p["dtype"], str) else np.dtype(p["dtype"]).name]
        Xd = np.ascontiguousarray(X, dtype=dtype)
        Y = (y == classes[1]).astype(np.int8).reshape(-1, 1)
        w, b = np.zeros(2, dtype=dtype), np.zeros(1, dtype=dtype)
        order = np.arange(len(X), dtype=np.intp)
        rng = new_state(int(make_rng(p["random_state"]).integers(2**63)))
        # (epoch, point, w before, b before, w after, b after, points misclassified after)
        self.steps: list[tuple[Any, ...]] = []
        for epoch in range(1, p["epochs"] + 1):
            if p["shuffle"]:
                linear.shuffle(order, rng)
            mistakes = 0
            for at in range(len(order)):
                before = (w.astype(float), float(b[0]))
                if linear.perceptron_epoch(w, b, Xd, Y, order[at : at + 1], p["learning_rate"]):
                    mistakes += 1
                    wrong = int(np.sum(((Xd @ w + b[0]) >= 0) != (Y[:, 0] == 1)))
                    self.steps.append(
                        (epoch, int(order[at]), *before, w.astype(float), float(b[0]), wrong)
                    )
            if mistakes == 0:
                break
        if not self.steps:
            raise ValueError("the perceptron made no mistake: there is no update to animate.")
        # the first updates one by one (the line swinging toward each point), then the
        # rest evenly spread
        first = min(len(self.steps), max_frames // 2)
        rest = _frame_indices(len(self.steps) - first, max_frames - first) + first
        self.shown = np.concatenate([np.arange(first), rest]).astype(int)
        self.wrong = [s[-1] for s in self.steps]
        self.n = len(X)

    def __len__(self) -> int:
        return len(self.shown)

    def setup(self, left: Any, right: Any, X: np.ndarray, y: np.ndarray, classes: Any) -> None:
        _scatter_classes(left, X, y, classes)
        right.set_xlim(0.5, len(self.steps) + 0.5)
        right.set_ylim(0, max(self.wrong) * 1.05 + 1)
        _integer_epochs(right, "update (a step toward a misclassified point)")
        right.set_ylabel("points misclassified")
        self.X = X

    def frame(self, k: int, left: Any, right: Any, xx: Any, yy: Any, grid: Any) -> list[Any]:
        step = int(self.shown[k])
        epoch, point, w0, b0, w1, b1, _ = self.steps[step]
        xlim = (xx.min(), xx.max())
        drawn = [
            _shade_classes(left, xx, yy, ((grid @ w1 + b1) >= 0).astype(int), 2),
            *left.plot(*_line_points(w0, b0, xlim), "k--", lw=1, label="line before"),
            *left.plot(*_line_points(w1, b1, xlim), "k-", lw=2, label="line after"),
            left.scatter(
                [self.X[point, 0]],
                [self.X[point, 1]],
                s=200,
                facecolors="none",
                edgecolors="gold",
                linewidths=2.5,
                label="misclassified point",
            ),
            left.legend(loc="lower left", fontsize="x-small"),
            *right.plot(np.arange(1, step + 2), self.wrong[: step + 1], color="tab:purple"),
        ]
        left.set_title(f"perceptron: update {step + 1} of {len(self.steps)} (epoch {epoch})")
        right.set_title(f"{self.wrong[step]} of {self.n} points misclassified")
        return drawn


def _probabilities_to_class(P: np.ndarray) -> np.ndarray:
    return (P[:, 0] >= 0.5).astype(int) if P.shape[1] == 1 else P.argmax(axis=1)


class _EpochMovie:
    """Class regions after chosen epochs: recorded by a callback during the one fit (MLP),
    or by refitting the seeded model for fewer epochs (the same first epochs, replayed)."""

    def __init__(
        self, model: Any, X: np.ndarray, y: np.ndarray, grid: np.ndarray, max_frames: int
    ) -> None:
        params = model.get_params()
        planned = set((_frame_indices(int(params["epochs"]), max_frames) + 1).tolist())
        regions: dict[int, np.ndarray] = {}
        if "callbacks" in params:
            from crash_core.callbacks import Callback

            class Recorder(Callback):
                def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                    if epoch + 1 in planned:
                        P = self.model.network_.forward(grid)
                        regions[epoch + 1] = _probabilities_to_class(P)

            model.set_params(callbacks=[*(params["callbacks"] or []), Recorder()])
            try:
                model.fit(X, y)
            finally:
                model.set_params(callbacks=params["callbacks"])
        else:
            model.fit(X, y)
            for e in sorted(planned):
                if e < model.n_epochs_:
                    shorter = type(model)(**{**params, "epochs": e}).fit(X, y)
                    regions[e] = np.searchsorted(shorter.classes_, shorter.predict(grid))
        self.last = int(model.n_epochs_)
        regions[self.last] = np.searchsorted(model.classes_, model.predict(grid))
        self.regions = regions
        self.shown = sorted(e for e in regions if e <= self.last)
        self.history = _history_dict(model.history_)
        self.name = type(model).__name__

    def __len__(self) -> int:
        return len(self.shown)

    def setup(self, left: Any, right: Any, X: np.ndarray, y: np.ndarray, classes: Any) -> None:
        _scatter_classes(left, X, y, classes)
        left.legend(loc="lower left", fontsize="x-small")
        self.k = len(classes)
        h = self.history
        right.set_xlim(0.5, self.last + 0.5)
        right.set_ylim(0, max(max(h["loss"]), max(h.get("val_loss", [0.0]))) * 1.05)
        _integer_epochs(right)
        right.set_ylabel("loss (cross-entropy)")

    def frame(self, k: int, left: Any, right: Any, xx: Any, yy: Any, grid: Any) -> list[Any]:
        e, h = self.shown[k], self.history
        epochs = np.arange(1, e + 1)
        drawn = [
            _shade_classes(left, xx, yy, self.regions[e], self.k),
            *right.plot(epochs, h["loss"][:e], color="tab:purple", label="training loss"),
        ]
        if "val_loss" in h:
            drawn += right.plot(
                epochs, h["val_loss"][:e], "--", color="tab:orange", label="validation loss"
            )
        drawn.append(right.legend(loc="upper right", fontsize="small"))
        left.set_title(f"{self.name}: boundary after epoch {e}")
        right.set_title(f"epoch {e} of {self.last}: loss {h['loss'][e - 1]:.3f}")
        return drawn
