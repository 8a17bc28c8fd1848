"""Activation kernels, exposed to Python for tests (compiled from ``src/activations.pyx``)."""

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

# the fused ``floating`` type: every floating array of one call is float32, or every one float64
_F = TypeVar("_F", np.float32, np.float64)

NAMES: dict[str, int]
"""Activation name ("sigmoid", "tanh", "relu", "identity") -> the kernels' ``kind`` code."""

def add_bias_activate_(z: NDArray[_F], bias: NDArray[_F], kind: int) -> None:
    """z <- f(z + bias) in place, bias added row-wise (z C-contiguous 2-D, bias 1-D)."""

def multiply_derivative_(delta: NDArray[_F], a: NDArray[_F], kind: int) -> None:
    """delta <- delta * f'(z) in place, f'(z) computed from a = f(z) (contiguous 1-D arrays)."""
