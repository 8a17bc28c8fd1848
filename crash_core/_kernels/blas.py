"""BLAS wrappers, exposed to Python for tests.

Written in ``src/blas.pyx``, compiled into ``crash_core._kernels.wrappers``.
"""

from crash_core._kernels.wrappers import BOUNDS_CHECKED, axpy_, dot_

__all__ = ["BOUNDS_CHECKED", "axpy_", "dot_"]
