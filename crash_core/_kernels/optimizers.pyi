"""Optimizer update kernels, exposed to Python for tests (compiled from ``src/optimizers.pyx``)."""

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

# the fused ``floating`` type: every floating array of one call is float32, or every one float64
_F = TypeVar("_F", np.float32, np.float64)

KINDS: dict[str, int]
"""Optimizer name ("sgd", "momentum", "nesterov", "adam") -> the kernels' ``kind`` code."""

def step(
    params: NDArray[_F],
    grad: NDArray[_F],
    state1: NDArray[_F],
    state2: NDArray[_F],
    layers: NDArray[np.intp],
    kind: int,
    learning_rate: float,
    momentum: float = 0.0,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    l1: float = 0.0,
    l2: float = 0.0,
    t: int = 0,
) -> tuple[float, int]:
    """One update of ``params`` in place; returns (penalty before the step, new t)."""
