"""Pictures of the crash course (needs matplotlib: ``pip install "crash-core[plot]"``).

* ``decision_boundary``: the regions a model assigns to each class, with the data on top —
  the line a perceptron draws, the curve a network draws.
* ``model_complexity``: training vs validation error per epoch, the best epoch marked —
  the picture behind early stopping (training error keeps falling, validation error turns).
* ``learning_curves``: every metric in a history, one panel each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["decision_boundary", "model_complexity", "learning_curves"]


def _pyplot() -> Any:
    try:
        import matplotlib

        if (
            matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps")
            and not _has_display()
        ):
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "crash_core.plot needs matplotlib; install it with pip install 'crash-core[plot]'."
        ) from exc
    return plt


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or os.name == "nt"


def _history_dict(history: Any) -> dict[str, list[float]]:
    data = getattr(history, "history", history)
    if not hasattr(data, "keys") or "loss" not in data:
        raise ValueError(
            "history must be a model's history_ (or a dict of per-epoch lists) with a 'loss' key."
        )
    return {k: list(data[k]) for k in data.keys()}


def decision_boundary(model: Any, X: Any, y: Any, ax: Any = None, resolution: int = 200) -> Any:
    """Shade the class regions of a fitted 2-feature classifier and scatter (X, y) on top."""
    plt = _pyplot()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2 features; X has shape {X.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    pad_x = 0.1 * (np.ptp(X[:, 0]) or 1.0)
    pad_y = 0.1 * (np.ptp(X[:, 1]) or 1.0)
    gx = np.linspace(X[:, 0].min() - pad_x, X[:, 0].max() + pad_x, resolution)
    gy = np.linspace(X[:, 1].min() - pad_y, X[:, 1].max() + pad_y, resolution)
    xx, yy = np.meshgrid(gx, gy)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    classes = getattr(model, "classes_", np.unique(y))
    pred = np.searchsorted(classes, model.predict(grid)).reshape(xx.shape)
    ax.contourf(xx, yy, pred, levels=np.arange(len(classes) + 1) - 0.5, cmap="coolwarm", alpha=0.3)
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=np.searchsorted(classes, y),
        cmap="coolwarm",
        edgecolors="k",
        linewidths=0.3,
        s=14,
    )
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(type(model).__name__)
    return ax


def model_complexity(history: Any, ax: Any = None, best_epoch: int | None = None) -> Any:
    """Training vs validation loss per epoch; the best (lowest validation loss) epoch marked."""
    plt = _pyplot()
    h = _history_dict(history)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    epochs = np.arange(1, len(h["loss"]) + 1)
    ax.plot(epochs, h["loss"], label="training error")
    if "val_loss" in h:
        ax.plot(epochs, h["val_loss"], "--", label="validation error")
        best = int(np.nanargmin(h["val_loss"])) if best_epoch is None else best_epoch
        ax.axvline(best + 1, color="grey", lw=0.8)
        ax.annotate(
            f"best epoch {best + 1}",
            (best + 1, h["val_loss"][best]),
            textcoords="offset points",
            xytext=(5, 10),
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("model complexity")
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
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    return fig
