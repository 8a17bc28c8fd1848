"""Per-sample epoch loops of the linear models (compiled from ``src/linear.pyx``).

``W`` is the (n_features x k) weight matrix flattened row-major, ``b`` the k biases.
"""

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

# the fused ``floating`` type: every floating array of one call is float32, or every one float64
_F = TypeVar("_F", np.float32, np.float64)

def early_scores_max_features(n: int = -1) -> int:
    """The most features a row may have for the logistic loop's early scores (one sigmoid
    unit); ``n`` >= 0 sets it (0 turns them off).  Returns the setting before."""

def shuffle(order: NDArray[np.intp], rng: NDArray[np.uint64]) -> None:
    """Fisher-Yates shuffle of ``order`` in place, advancing the 4-word generator ``rng``."""

def perceptron_epoch(
    W: NDArray[_F],
    b: NDArray[_F],
    X: NDArray[_F],
    Y: NDArray[np.int8],
    order: NDArray[np.intp],
    learning_rate: float,
) -> int:
    """One perceptron pass over ``order`` for k one-vs-rest units, in place; returns mistakes."""

def logistic_epoch(
    W: NDArray[_F],
    b: NDArray[_F],
    X: NDArray[_F],
    Y: NDArray[_F],
    sample_weight: NDArray[_F],
    weighted: bool,
    order: NDArray[np.intp],
    learning_rate: float,
    l1: float,
    l2: float,
    scores: NDArray[_F],
) -> tuple[float, int]:
    """One epoch of per-point gradient steps in place; returns (sum of w_i L_i, correct count).

    ``scores`` is scratch of k values.
    """
