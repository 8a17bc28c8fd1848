"""BLAS wrappers, exposed to Python for tests (compiled from ``src/blas.pyx``).

The row-major products are ``crash_core._kernels.network.gemm_rm``.
"""

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

# the fused ``floating`` type: every floating array of one call is float32, or every one float64
_F = TypeVar("_F", np.float32, np.float64)

BOUNDS_CHECKED: bool
"""True in a build made with CRASH_CORE_DEBUG=1 (bounds, wrap-around and initialisation checks)."""

def axpy_(alpha: float, x: NDArray[_F], y: NDArray[_F]) -> None:
    """y += alpha x, in place (contiguous 1-D arrays)."""

def dot_(x: NDArray[_F], y: NDArray[_F]) -> float:
    """x . y of two contiguous 1-D arrays."""
