"""BLAS wrappers, exposed to Python for tests (the products: ``network.gemm_rm``)."""

from cython cimport floating
from blas cimport axpy, dot

cdef extern from *:
    """
    #ifndef CRASH_CORE_DEBUG
    #define CRASH_CORE_DEBUG 0
    #endif
    """
    int CRASH_CORE_DEBUG

# True in a build made with CRASH_CORE_DEBUG=1 (bounds, wrap-around and initialisation checks)
BOUNDS_CHECKED = bool(CRASH_CORE_DEBUG)


def axpy_(double alpha, const floating[::1] x, floating[::1] y):
    """y += alpha x, in place."""
    if x.shape[0] != y.shape[0]:
        raise ValueError("axpy_: x and y differ in length")
    if x.shape[0] == 0:
        return
    with nogil:
        axpy(x.shape[0], <floating> alpha, &x[0], &y[0])


def dot_(const floating[::1] x, const floating[::1] y):
    """x . y"""
    if x.shape[0] != y.shape[0]:
        raise ValueError("dot_: x and y differ in length")
    if x.shape[0] == 0:
        return 0.0
    return dot(x.shape[0], &x[0], &y[0])
