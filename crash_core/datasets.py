"""Small generated data sets for the crash course, and a train/test split: ``cc.datasets``.

Nothing is downloaded. Every data set is drawn from a NumPy random generator, so the same
``random_state`` (an int or a ``numpy.random.Generator``) gives the same data; ``None`` gives
fresh data each call. Each generator returns ``(X, y)``: ``X`` a float64 array of shape
``(n, 2)`` (two features, easy to plot) and ``y`` an int64 array of class labels. The points
come in random order, not grouped by class.

``admissions(n, noise)``
    The course's student-admissions picture. Column 0 is the grades ``x1`` and column 1 the
    test score ``x2``, each uniform on [0, 10]. A student is accepted (``y = 1``) when
    ``2 x1 + x2 - 18 >= 0``, the course's line, and rejected (``y = 0``) otherwise, so about
    35 % are accepted. There is no margin: points may lie arbitrarily close to the line. Then
    ``round(noise * n)`` labels, chosen at random, are flipped; ``noise=0`` leaves the classes
    separated by the line exactly.
``moons(n, noise)``
    Two interleaving half circles of radius 1: ``y = 0`` on the upper arc centred at (0, 0),
    ``y = 1`` on the lower arc centred at (1, 0.5). No line separates them; a curve does.
``circles(n, noise, factor)``
    A circle of radius 1 (``y = 0``) around a circle of radius ``factor`` (``y = 1``), both
    centred at the origin. The boundary is a closed curve.
``spirals(n, noise, n_classes, turns)``
    ``n_classes`` arms winding out of the origin to radius 1, each turning ``turns`` times
    and rotated by ``1 / n_classes`` of a full turn from the previous one; arm ``k`` is class
    ``k``. Along an arm the radius grows in proportion to the angle turned.

In ``moons``, ``circles`` and ``spirals`` the classes are balanced (their sizes differ by at
most one), the points are evenly spaced along each curve, and ``noise`` is the standard
deviation of Gaussian noise added to each coordinate (the curves have radius about 1).

``train_test_split(X, y, test_size, stratify, random_state, shuffle)`` splits ``X`` and ``y``
into a training part and a test part, as scikit-learn's function of that name does.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["admissions", "circles", "moons", "spirals", "train_test_split"]

RandomState = int | np.random.Generator | None


# ---------------------------------------------------------------------------------------------
# Argument checks


def _rng(random_state: RandomState) -> np.random.Generator:
    """A Generator from None (fresh entropy), a non-negative int seed, or a Generator (as is)."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int seed, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        "random_state must be None, an int seed or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )


def _check_int(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_real(
    value: float, name: str, low: float, high: float, *, open_low: bool, open_high: bool
) -> float:
    """value as a float, checked to lie between low and high (each end open or closed)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    above_low = value > low if open_low else value >= low
    below_high = value < high if open_high else value <= high
    if not (above_low and below_high):
        interval = f"{'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def _check_noise(noise: float) -> float:
    """noise as a standard deviation: finite and >= 0."""
    return _check_real(noise, "noise", 0.0, math.inf, open_low=False, open_high=True)


def _class_sizes(n: int, n_classes: int) -> list[int]:
    """n split into n_classes sizes that differ by at most one."""
    return [n // n_classes + (k < n % n_classes) for k in range(n_classes)]


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise of standard deviation ``noise`` to X and shuffle the points."""
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order], y[order].astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Data sets


def admissions(
    n: int = 400, noise: float = 0.1, random_state: RandomState = None
) -> tuple[np.ndarray, np.ndarray]:
    """Grades x1 and test scores x2 uniform on [0, 10]; y = 1 if 2 x1 + x2 - 18 >= 0.

    ``noise`` is the fraction of labels flipped at random (``round(noise * n)`` of them), in
    [0, 1]; with ``noise=0`` the line 2 x1 + x2 - 18 = 0 separates the classes exactly.
    About 35 % of the students are accepted.

    Parameters
    ----------
    n : int, default=400
        Number of students (>= 2).
    noise : float, default=0.1
        Fraction of labels flipped at random, in [0, 1].
    random_state : int, numpy Generator or None, default=None
        Seed of the random numbers; an int gives the same data every time.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,) of int
    """
    n = _check_int(n, "n", 2)
    noise = _check_real(noise, "noise", 0.0, 1.0, open_low=False, open_high=False)
    rng = _rng(random_state)
    X = rng.uniform(0.0, 10.0, size=(n, 2))
    y = (2 * X[:, 0] + X[:, 1] - 18 >= 0).astype(np.int64)
    flipped = rng.choice(n, size=round(noise * n), replace=False)
    y[flipped] = 1 - y[flipped]
    return X, y


def moons(
    n: int = 400, noise: float = 0.1, random_state: RandomState = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: y = 0 on (cos t, sin t), y = 1 on (1 - cos t, 0.5 - sin t).

    t runs evenly over [0, pi] on each arc; ``noise`` is the standard deviation of the Gaussian
    noise added to each coordinate.

    Parameters
    ----------
    n : int, default=400
        Number of points (>= 2), half on each arc.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each coordinate.
    random_state : int, numpy Generator or None, default=None
        Seed of the random numbers; an int gives the same data every time.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,) of int
    """
    n = _check_int(n, "n", 2)
    noise = _check_noise(noise)
    rng = _rng(random_state)
    n_upper, n_lower = _class_sizes(n, 2)
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_upper), np.sin(t_upper)]),
            np.column_stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)]),
        ]
    )
    y = np.repeat([0, 1], [n_upper, n_lower])
    return _finish(X, y, noise, rng)


def circles(
    n: int = 400, noise: float = 0.1, factor: float = 0.5, random_state: RandomState = None
) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (y = 0) around a circle of radius ``factor`` (y = 1).

    The points are evenly spaced in angle on each circle; ``factor`` is in (0, 1) and
    ``noise`` is the standard deviation of the Gaussian noise added to each coordinate.

    Parameters
    ----------
    n : int, default=400
        Number of points (>= 2), half on each circle.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each coordinate.
    factor : float, default=0.5
        Radius of the inner circle, in (0, 1).
    random_state : int, numpy Generator or None, default=None
        Seed of the random numbers; an int gives the same data every time.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,) of int
    """
    n = _check_int(n, "n", 2)
    noise = _check_noise(noise)
    factor = _check_real(factor, "factor", 0.0, 1.0, open_low=True, open_high=True)
    rng = _rng(random_state)
    sizes = _class_sizes(n, 2)
    X = np.concatenate(
        [
            radius * _unit_circle(np.linspace(0.0, 2 * np.pi, size, endpoint=False))
            for radius, size in zip((1.0, factor), sizes, strict=True)
        ]
    )
    y = np.repeat([0, 1], sizes)
    return _finish(X, y, noise, rng)


def spirals(
    n: int = 400,
    noise: float = 0.1,
    n_classes: int = 2,
    turns: float = 1.0,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Arm k of n_classes: r (cos a, sin a) with a = 2 pi (turns r + k / n_classes), r in (0, 1).

    Each arm winds ``turns`` times out of the origin to radius 1, its points evenly spaced in
    r; class k is arm k. ``noise`` is the standard deviation of the Gaussian noise added to
    each coordinate. Neighbouring arms are 1 / (turns * n_classes) apart, so lower ``noise``
    when asking for many arms or turns.

    Parameters
    ----------
    n : int, default=400
        Number of points (at least one per arm).
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each coordinate.
    n_classes : int, default=2
        Number of arms (classes), >= 2.
    turns : float, default=1.0
        Turns each arm makes around the origin (> 0).
    random_state : int, numpy Generator or None, default=None
        Seed of the random numbers; an int gives the same data every time.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,) of int
    """
    n_classes = _check_int(n_classes, "n_classes", 2)
    n = _check_int(n, "n", n_classes)
    noise = _check_noise(noise)
    turns = _check_real(turns, "turns", 0.0, math.inf, open_low=True, open_high=True)
    rng = _rng(random_state)
    sizes = _class_sizes(n, n_classes)
    arms = []
    for k, size in enumerate(sizes):
        # midpoints of `size` equal slices of (0, 1]: no point sits on the shared origin
        r = (np.arange(size) + 0.5) / size
        arms.append(r[:, None] * _unit_circle(2 * np.pi * (turns * r + k / n_classes)))
    X = np.concatenate(arms)
    y = np.repeat(np.arange(n_classes), sizes)
    return _finish(X, y, noise, rng)


def _unit_circle(angle: np.ndarray) -> np.ndarray:
    """Points (cos a, sin a), one row per angle."""
    return np.column_stack([np.cos(angle), np.sin(angle)])


# ---------------------------------------------------------------------------------------------
# Splitting


def _n_test(test_size: float | int, n: int) -> int:
    """Number of test samples: an int count, or ceil(test_size * n) for a fraction."""
    if isinstance(test_size, bool) or not isinstance(test_size, Real):
        raise TypeError(
            f"test_size must be a fraction in (0, 1) or an int count, "
            f"got {type(test_size).__name__}"
        )
    if isinstance(test_size, Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"test_size={n_test} must leave at least one sample on each side; "
                f"use an int from 1 to {n - 1}, or a fraction in (0, 1)"
            )
        return n_test
    if not 0 < test_size < 1:
        raise ValueError(
            f"test_size={test_size} must be a fraction in (0, 1), or an int count of samples"
        )
    n_test = math.ceil(test_size * n)
    if n_test > n - 1:
        raise ValueError(
            f"test_size={test_size} of {n} samples leaves no training samples; use a smaller "
            "fraction"
        )
    return n_test


def _stratified_test_counts(class_counts: np.ndarray, n_test: int) -> np.ndarray:
    """Test samples per class: proportional to the class sizes, at least one on each side."""
    exact = class_counts * n_test / class_counts.sum()
    counts = np.clip(np.floor(exact).astype(np.int64), 1, class_counts - 1)
    # hand out (or take back) what rounding and clipping missed, one sample at a time, where
    # the count is furthest from its exact share
    while (missing := n_test - counts.sum()) != 0:
        gap = exact - counts
        if missing > 0:
            gap[counts >= class_counts - 1] = -np.inf
            counts[np.argmax(gap)] += 1
        else:
            gap[counts <= 1] = np.inf
            counts[np.argmin(gap)] -= 1
    return counts


def _stratified_indices(
    labels: np.ndarray, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    classes, label_index, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        lonely = classes[np.argmin(class_counts)]
        raise ValueError(
            f"stratify: class {lonely} has only 1 member, but each class needs at least 2 "
            "(one for training, one for testing); drop its rows or pass stratify=None"
        )
    n_classes = len(classes)
    n = len(labels)
    if not n_classes <= n_test <= n - n_classes:
        raise ValueError(
            f"a stratified split of {n} samples in {n_classes} classes needs at least "
            f"{n_classes} samples on each side, but test_size gives {n_test} test and "
            f"{n - n_test} training samples; choose test_size so that both are >= {n_classes}"
        )
    test_counts = _stratified_test_counts(class_counts, n_test)
    train, test = [], []
    for k, n_test_k in enumerate(test_counts):
        members = rng.permutation(np.flatnonzero(label_index == k))
        test.append(members[:n_test_k])
        train.append(members[n_test_k:])
    # mix the classes, so neither part is sorted by label
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def train_test_split(
    X: ArrayLike,
    y: ArrayLike,
    test_size: float | int = 0.25,
    stratify: ArrayLike | None = None,
    random_state: RandomState = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split X and y into X_train, X_test, y_train, y_test, rows kept together.

    ``test_size`` is a fraction in (0, 1) (the test part gets ``ceil(test_size * n)`` rows) or
    an int count. ``stratify`` is an array of labels, usually ``y``: each class then appears in
    both parts in about its overall proportion (at least one sample on each side), and needs at
    least 2 members. With ``shuffle=False`` the last rows are the test part (no stratifying).
    Lists work too; the arguments are never modified, the results are new arrays.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        The features (any array with one row per sample).
    y : array-like of shape (n_samples, ...)
        The targets, one per row of ``X``.
    test_size : float or int, default=0.25
        Fraction of the rows in (0, 1), or a count, for the test part.
    stratify : array-like of shape (n_samples,) or None, default=None
        Class labels to keep in proportion on both sides (usually ``y``).
    random_state : int, numpy Generator or None, default=None
        Seed of the shuffle.
    shuffle : bool, default=True
        Shuffle before splitting; False takes the last rows as the test part.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("X and y must be arrays with one row per sample, not scalars")
    n = len(X)
    if len(y) != n:
        raise ValueError(
            f"X and y have different lengths ({n} and {len(y)}); pass one label per row of X"
        )
    if n < 2:
        raise ValueError(f"need at least 2 samples to split into two parts, got {n}")
    n_test = _n_test(test_size, n)
    rng = _rng(random_state)
    if not isinstance(shuffle, bool | np.bool_):
        raise TypeError(f"shuffle must be True or False, got {type(shuffle).__name__}")
    if stratify is not None:
        if not shuffle:
            raise ValueError("stratify needs shuffle=True: a split in order cannot be stratified")
        labels = np.asarray(stratify)
        if labels.ndim != 1 or len(labels) != n:
            raise ValueError(
                f"stratify must be a 1-D array with one label per sample ({n}), got shape "
                f"{labels.shape}; pass stratify=y"
            )
        train, test = _stratified_indices(labels, n_test, rng)
    elif shuffle:
        order = rng.permutation(n)
        train, test = order[n_test:], order[:n_test]
    else:
        train, test = np.arange(n - n_test), np.arange(n - n_test, n)
    return X[train], X[test], y[train], y[test]
