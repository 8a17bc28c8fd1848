"""Row-major BLAS wrappers, exposed to Python for tests."""

from cython cimport floating
from blas cimport gemm, axpy, dot

cdef extern from *:
    """
    #ifndef CRASH_CORE_DEBUG
    #define CRASH_CORE_DEBUG 0
    #endif
    """
    int CRASH_CORE_DEBUG

# True in a build made with CRASH_CORE_DEBUG=1 (bounds, wrap-around and initialisation checks)
BOUNDS_CHECKED = bool(CRASH_CORE_DEBUG)


def gemm_rm(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
            bint trans_a=False, bint trans_b=False, double alpha=1.0, double beta=0.0):
    """c = alpha op(a) op(b) + beta c, in place on ``c`` (row-major arrays)."""
    cdef int m = c.shape[0], n = c.shape[1], i, j
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int kb = b.shape[1] if trans_b else b.shape[0]
    cdef int ma = a.shape[1] if trans_a else a.shape[0]
    cdef int nb = b.shape[0] if trans_b else b.shape[1]
    if k != kb or m != ma or n != nb:
        raise ValueError("gemm_rm: shapes of a, b and c do not agree")
    if m == 0 or n == 0:
        return
    if k == 0:
        for i in range(m):
            for j in range(n):
                c[i, j] = <floating> beta * c[i, j]
        return
    with nogil:
        gemm(trans_a, trans_b, m, n, k, <floating> alpha, &a[0, 0], a.shape[1],
             &b[0, 0], b.shape[1], <floating> beta, &c[0, 0], n)


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
