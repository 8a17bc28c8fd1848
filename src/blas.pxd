# Row-major wrappers over scipy's BLAS for the fused ``floating`` type.
#
# BLAS is column-major; a row-major matrix read column-major is its transpose, so the
# row-major product C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T.
# Everything here is ``inline`` so that a kernel that cimports it needs no other compiled
# module at run time (see setup.py).

from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm, saxpy, daxpy, sdot, ddot


# Output layers this narrow (a sigmoid unit, a few classes) are multiplied here rather
# than by BLAS: BLAS picks its kernel by shape, so a row's result would depend on how many
# rows share the call, and predictions must not depend on how the data is batched.
cdef enum:
    NARROW = 4


cdef inline void gemm_narrow(int m, int n, int k, floating alpha, const floating* a, int lda,
                             const floating* b, int ldb, floating beta, floating* c,
                             int ldc) noexcept nogil:
    """C = alpha A B + beta C for n <= NARROW columns, in a fixed summation order."""
    cdef int i, j, p
    cdef floating s0, s1, s2, s3
    cdef const floating* row
    for i in range(m):
        row = a + i * lda
        for j in range(n):
            s0 = 0
            s1 = 0
            s2 = 0
            s3 = 0
            p = 0
            while p + 4 <= k:
                s0 = s0 + row[p] * b[p * ldb + j]
                s1 = s1 + row[p + 1] * b[(p + 1) * ldb + j]
                s2 = s2 + row[p + 2] * b[(p + 2) * ldb + j]
                s3 = s3 + row[p + 3] * b[(p + 3) * ldb + j]
                p += 4
            while p < k:
                s0 = s0 + row[p] * b[p * ldb + j]
                p += 1
            s0 = alpha * ((s0 + s1) + (s2 + s3))
            c[i * ldc + j] = s0 if beta == 0 else s0 + beta * c[i * ldc + j]


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* a, int lda, const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """C (m x n) = alpha op(A) op(B) + beta C, row-major; op(A) is m x k, op(B) is k x n."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m == 0 or n == 0:
        return
    if n <= NARROW and not trans_a and not trans_b:
        gemm_narrow(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)


cdef inline void axpy(int n, floating alpha, const floating* x, floating* y) noexcept nogil:
    """y += alpha x."""
    cdef int one = 1
    if floating is float:
        saxpy(&n, &alpha, <float*> x, &one, y, &one)
    else:
        daxpy(&n, &alpha, <double*> x, &one, y, &one)


cdef inline floating dot(int n, const floating* x, const floating* y) noexcept nogil:
    """x . y"""
    cdef int one = 1
    if floating is float:
        return sdot(&n, <float*> x, &one, <float*> y, &one)
    else:
        return ddot(&n, <double*> x, &one, <double*> y, &one)
