"""Row-major BLAS wrappers, exposed to Python for tests (compiled from ``src/blas.pyx``)."""

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

# the fused ``floating`` type: every floating array of one call is float32, or every one float64
_F = TypeVar("_F", np.float32, np.float64)

BOUNDS_CHECKED: bool
"""True in a build made with CRASH_CORE_DEBUG=1 (bounds, wrap-around and initialisation checks)."""

def gemm_rm(
    a: NDArray[_F],
    b: NDArray[_F],
    c: NDArray[_F],
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
) -> None:
    """c = alpha op(a) op(b) + beta c, in place on ``c`` (C-contiguous 2-D arrays)."""

def axpy_(alpha: float, x: NDArray[_F], y: NDArray[_F]) -> None:
    """y += alpha x, in place (contiguous 1-D arrays)."""

def dot_(x: NDArray[_F], y: NDArray[_F]) -> float:
    """x . y of two contiguous 1-D arrays."""

VECTOR_BYTES: int
"""Bytes per vector of the own product kernels in this (portable) build."""
