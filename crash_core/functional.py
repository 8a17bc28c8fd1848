"""The crash course's formulas as vectorised NumPy functions: ``cc.functional``.

Each function computes one formula from the course on whole arrays at once. All of them

* keep float32 as float32 and float64 as float64; other real inputs (ints, bools) are
  computed in float64;
* are numerically stable: no overflow for large ``|z|`` and no ``log(0)``, because
  probabilities are clipped to ``[eps, 1 - eps]`` with ``eps`` the machine epsilon of the dtype;
* never modify their inputs (the two update rules return new ``W`` and ``b``);
* reject NaN or infinity with a ``ValueError`` and non-numeric input with a ``TypeError``.

The element-wise activations (``step``, ``sigmoid``, ``sigmoid_derivative``, ``tanh``,
``relu``) take arrays of any shape, empty ones included, and return the same shape (a NumPy
scalar for a scalar, as NumPy's own functions do). The losses and the two update rules
need at least one sample, since a mean or a pass over no points means nothing.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "cross_entropy",
    "gradient_descent_step",
    "perceptron_step",
    "relu",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "step",
    "tanh",
]

_ArrayOrScalar = np.ndarray | np.floating


# ---------------------------------------------------------------------------------------------
# Input checks


def _as_float(a: ArrayLike, name: str) -> np.ndarray:
    """``a`` as a finite float32 or float64 array; other real dtypes become float64."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got an array of dtype {arr.dtype}; "
            f"pass numbers, e.g. np.asarray({name}, dtype=float)"
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{name} contains NaN or infinity; remove or impute those values before calling"
        )
    return arr


def _check_not_empty(arr: np.ndarray, name: str) -> None:
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one sample")


def _check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}; "
            f"one value of {name_a} per value of {name_b} (flatten a column with .ravel())"
        )


def _check_unit_interval(arr: np.ndarray, name: str, what: str) -> None:
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"{name} must hold {what} in [0, 1], got values from {arr.min()} to {arr.max()}"
        )


def _check_probabilities(arr: np.ndarray, name: str) -> None:
    _check_unit_interval(arr, name, "probabilities (outputs of sigmoid or softmax, not raw scores)")


def _clip_probabilities(p: np.ndarray) -> np.ndarray:
    """p clipped to [eps, 1 - eps] so that ln(p) and ln(1 - p) stay finite."""
    eps = np.finfo(p.dtype).eps
    return np.clip(p, eps, 1 - eps)


def _check_learn_rate(learn_rate: float) -> None:
    if isinstance(learn_rate, bool) or not isinstance(learn_rate, Real):
        raise TypeError(
            f"learn_rate must be a number, got {type(learn_rate).__name__}; pass e.g. 0.01"
        )
    if not (np.isfinite(learn_rate) and learn_rate > 0):
        raise ValueError(f"learn_rate must be a positive finite number, got {learn_rate}")


_Shapes = tuple[tuple[int, ...], tuple[int, ...]]


def _linear_model_inputs(
    X: ArrayLike, y: ArrayLike, W: ArrayLike, b: ArrayLike, learn_rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.floating, _Shapes, np.floating]:
    """Checked X and y, copies of W (flat) and b, the shapes of W and b, and learn_rate.

    Everything is in one dtype: float32 if X and W both are, float64 otherwise.
    """
    X = _as_float(X, "X")
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got shape {X.shape}; "
            "reshape a single feature with X.reshape(-1, 1)"
        )
    _check_not_empty(X, "X")
    y = _as_float(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}; use y.ravel()")
    if len(y) != len(X):
        raise ValueError(
            f"X and y have different lengths ({len(X)} and {len(y)}); pass one label per row of X"
        )
    _check_unit_interval(y, "y", "labels")
    W_in = _as_float(W, "W")
    n_features = X.shape[1]
    if W_in.shape not in ((n_features,), (n_features, 1)):
        raise ValueError(
            f"W must hold one weight per feature of X, shape ({n_features},) or "
            f"({n_features}, 1), got shape {W_in.shape}"
        )
    b_in = _as_float(b, "b")
    if b_in.size != 1:
        raise ValueError(f"b must be a single number, got shape {b_in.shape}")
    _check_learn_rate(learn_rate)
    dtype = np.result_type(X, W_in)
    w = W_in.astype(dtype).ravel()  # astype copies, so the caller's W is never touched
    return (
        X.astype(dtype, copy=False),
        y.astype(dtype, copy=False),
        w,
        dtype.type(b_in.item()),
        (W_in.shape, b_in.shape),
        dtype.type(learn_rate),
    )


def _new_weights(
    w: np.ndarray, b: np.floating, shapes: _Shapes
) -> tuple[np.ndarray, np.ndarray | np.floating]:
    """W and b in the shapes the caller passed them (a scalar b stays a scalar)."""
    W_shape, b_shape = shapes
    return w.reshape(W_shape), np.full(b_shape, b, dtype=w.dtype)[()]


# ---------------------------------------------------------------------------------------------
# Activations


def _sigmoid(z: np.ndarray) -> _ArrayOrScalar:
    # exp(-|z|) lies in (0, 1], so it never overflows, whatever the sign of z
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))[()]


def step(z: ArrayLike) -> _ArrayOrScalar:
    """step(z) = 1 if z >= 0 else 0, element-wise.

    Parameters
    ----------
    z : array-like or float
        Scores.

    Returns
    -------
    ndarray or float of 0.0 / 1.0, in the dtype of z
    """
    z = _as_float(z, "z")
    return (z >= 0).astype(z.dtype)[()]


def sigmoid(z: ArrayLike) -> _ArrayOrScalar:
    """sigmoid(z) = 1 / (1 + exp(-z)), element-wise.

    Parameters
    ----------
    z : array-like or float
        Scores (float32 or float64; others become float64).

    Returns
    -------
    ndarray or float in (0, 1), numerically stable for large ``abs(z)``
    """
    return _sigmoid(_as_float(z, "z"))


def sigmoid_derivative(z: ArrayLike) -> _ArrayOrScalar:
    """sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)), element-wise.

    Parameters
    ----------
    z : array-like or float
        Scores.

    Returns
    -------
    ndarray or float
    """
    z = _as_float(z, "z")
    # with e = exp(-|z|), sigmoid(z) (1 - sigmoid(z)) = e / (1 + e)^2 for either sign of z
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


def tanh(z: ArrayLike) -> _ArrayOrScalar:
    """tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z)), element-wise.

    Parameters
    ----------
    z : array-like or float
        Scores.

    Returns
    -------
    ndarray or float in (-1, 1)
    """
    return np.tanh(_as_float(z, "z"))


def relu(z: ArrayLike) -> _ArrayOrScalar:
    """relu(z) = max(0, z), element-wise.

    Parameters
    ----------
    z : array-like or float
        Scores.

    Returns
    -------
    ndarray or float
    """
    z = _as_float(z, "z")
    return np.maximum(z, z.dtype.type(0))


def softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """softmax(Z)_i = exp(Z_i) / sum_j exp(Z_j), along ``axis``.

    Parameters
    ----------
    Z : array-like
        Scores, e.g. of shape (n_samples, n_classes).
    axis : int, default=-1
        The axis that sums to 1.

    Returns
    -------
    ndarray of the shape of Z
    """
    Z = _as_float(Z, "Z")
    if Z.ndim == 0:
        raise ValueError("Z must have at least one dimension of scores; wrap a scalar in a list")
    if isinstance(axis, bool) or not isinstance(axis, Integral):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -Z.ndim <= axis < Z.ndim:
        raise ValueError(
            f"axis {axis} is out of range for Z of shape {Z.shape}; use -1 for the last axis"
        )
    if Z.shape[axis] == 0:
        raise ValueError(f"Z has no scores along axis {axis} (shape {Z.shape})")
    # softmax(Z) = softmax(Z - c) for any c; with c = max, every exponent is <= 0
    e = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Error functions


def _binary_losses(y: ArrayLike, p: ArrayLike, y_name: str, p_name: str) -> np.ndarray:
    """Per-element -(y ln p + (1 - y) ln(1 - p)), in the dtype of p."""
    p = _as_float(p, p_name)
    y = _as_float(y, y_name)
    _check_same_shape(y, p, y_name, p_name)
    _check_not_empty(p, p_name)
    _check_unit_interval(y, y_name, "labels")
    _check_probabilities(p, p_name)
    y = y.astype(p.dtype, copy=False)
    p = _clip_probabilities(p)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def cross_entropy(Y: ArrayLike, P: ArrayLike) -> np.floating:
    """CE = -sum_i (y_i ln(p_i) + (1 - y_i) ln(1 - p_i)).

    The course's sum form: ``Y`` holds labels in [0, 1], ``P`` the predicted probabilities
    (same shape). The result has the dtype of ``P``.

    Parameters
    ----------
    Y : array-like
        Labels in [0, 1] (the events that happened).
    P : array-like of the same shape
        Predicted probabilities in [0, 1] (clipped away from 0 and 1 before the log).

    Returns
    -------
    float
    """
    return _binary_losses(Y, P, "Y", "P").sum()


def binary_cross_entropy(y: ArrayLike, p: ArrayLike) -> np.floating:
    """E = -(1/m) sum_i (y_i ln(p_i) + (1 - y_i) ln(1 - p_i)).

    The course's error function, the mean of ``cross_entropy`` over the m values.

    Parameters
    ----------
    y : array-like of shape (m,)
        Labels in [0, 1].
    p : array-like of shape (m,)
        Predicted probabilities of class 1.

    Returns
    -------
    float
    """
    return _binary_losses(y, p, "y", "p").mean()


def categorical_cross_entropy(Y: ArrayLike, P: ArrayLike) -> np.floating:
    """E = -(1/m) sum_i sum_j Y_ij ln(P_ij).

    ``P`` has shape (m, k): one row of class probabilities per sample (softmax outputs).
    ``Y`` is either the same shape (one-hot rows, or any rows of label weights in [0, 1]) or a
    1-D array of m integer class labels in [0, k). The result has the dtype of ``P``.

    Parameters
    ----------
    Y : array-like of shape (m, k) or (m,)
        One-hot rows, or integer class indices.
    P : array-like of shape (m, k)
        Predicted class probabilities, rows summing to 1.

    Returns
    -------
    float
    """
    P = _as_float(P, "P")
    if P.ndim != 2:
        raise ValueError(
            f"P must be 2-D (n_samples, n_classes), got shape {P.shape}; "
            "for two classes with one probability each, use binary_cross_entropy"
        )
    _check_not_empty(P, "P")
    _check_probabilities(P, "P")
    n_samples, n_classes = P.shape
    log_P = np.log(_clip_probabilities(P))
    Y_arr = np.asarray(Y)
    if Y_arr.ndim == 1:
        if Y_arr.dtype.kind not in "iu":
            raise TypeError(
                f"1-D Y must hold integer class labels, got dtype {Y_arr.dtype}; "
                "pass Y.astype(int), or one-hot rows of the same shape as P"
            )
        if len(Y_arr) != n_samples:
            raise ValueError(
                f"Y has {len(Y_arr)} labels but P has {n_samples} rows; pass one label per row"
            )
        if Y_arr.min() < 0 or Y_arr.max() >= n_classes:
            raise ValueError(
                f"class labels must be in [0, {n_classes - 1}] (one per column of P), "
                f"got values from {Y_arr.min()} to {Y_arr.max()}"
            )
        return -log_P[np.arange(n_samples), Y_arr].mean()
    Y = _as_float(Y_arr, "Y")
    _check_same_shape(Y, P, "Y", "P")
    _check_unit_interval(Y, "Y", "one-hot labels")
    return -(Y.astype(P.dtype, copy=False) * log_P).sum(axis=1).mean()


# ---------------------------------------------------------------------------------------------
# One pass of the course's update rules


def _finite_weights(
    w: np.ndarray, b: np.floating, shapes: _Shapes, learn_rate: float
) -> tuple[np.ndarray, np.ndarray | np.floating]:
    """The new weights, unless the update overflowed to infinity or NaN."""
    if not (np.isfinite(w).all() and np.isfinite(b)):
        raise ValueError(
            f"The update overflowed: learn_rate={learn_rate!r} times the inputs gives weights "
            "beyond the largest float. Scale X (e.g. to mean 0, standard deviation 1) or use "
            "a smaller learn_rate."
        )
    return _new_weights(w, b, shapes)


def perceptron_step(
    X: ArrayLike, y: ArrayLike, W: ArrayLike, b: float | ArrayLike, learn_rate: float = 0.01
) -> tuple[np.ndarray, np.ndarray | np.floating]:
    """Per point, in order: y_hat = step(x.W + b); W += lr (y - y_hat) x; b += lr (y - y_hat).

    One pass of the perceptron algorithm over the rows of ``X`` (shape (m, n)) with labels
    ``y`` in {0, 1}: a point the line misses pulls the line towards itself, and a correct point
    leaves it alone. ``W`` has shape (n,) or (n, 1); ``b`` is a number. Returns a new ``W`` and
    ``b`` in the shapes given, leaving the arguments untouched.

    Parameters
    ----------
    X : array-like of shape (m, n)
        The points.
    y : array-like of shape (m,)
        Labels 0 or 1.
    W : array-like of shape (n,) or (n, 1)
        Weights before the pass.
    b : float
        Bias before the pass.
    learn_rate : float, default=0.01
        Step size lr (> 0).

    Returns
    -------
    W, b : the weights and bias after the pass (new objects)
    """
    X, y, w, b, shapes, learn_rate = _linear_model_inputs(X, y, W, b, learn_rate)
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold the labels 0 and 1 for the perceptron algorithm")
    for x_i, y_i in zip(X, y, strict=True):
        y_hat = 1 if x_i @ w + b >= 0 else 0
        error = y_i - y_hat  # +1: a 1 on the 0 side, -1: a 0 on the 1 side, 0: correct
        if error:
            w += learn_rate * error * x_i
            b += learn_rate * error
    return _finite_weights(w, b, shapes, learn_rate)


def gradient_descent_step(
    X: ArrayLike, y: ArrayLike, W: ArrayLike, b: float | ArrayLike, learn_rate: float
) -> tuple[np.ndarray, np.ndarray | np.floating]:
    """Per point, in order: y_hat = sigmoid(x.W + b); W += lr (y - y_hat) x; b += lr (y - y_hat).

    One pass of the course's per-point logistic-regression update, a step against the gradient
    of the point's cross-entropy. ``X`` has shape (m, n), ``y`` labels in [0, 1], ``W`` shape
    (n,) or (n, 1), ``b`` is a number. Returns a new ``W`` and ``b`` in the shapes given,
    leaving the arguments untouched.

    Parameters
    ----------
    X : array-like of shape (m, n)
        The points.
    y : array-like of shape (m,)
        Labels in [0, 1].
    W : array-like of shape (n,) or (n, 1)
        Weights before the pass.
    b : float
        Bias before the pass.
    learn_rate : float
        Step size lr (> 0).

    Returns
    -------
    W, b : the weights and bias after the pass (new objects)
    """
    X, y, w, b, shapes, learn_rate = _linear_model_inputs(X, y, W, b, learn_rate)
    for x_i, y_i in zip(X, y, strict=True):
        error = y_i - _sigmoid(x_i @ w + b)
        w += learn_rate * error * x_i
        b += learn_rate * error
    return _finite_weights(w, b, shapes, learn_rate)
