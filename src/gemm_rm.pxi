# ``gemm_rm`` and the build's vector width, for tests: included by blas.pyx and by every
# ISA build of network.pyx, so each level's product kernels can be checked directly.

# bytes per vector of the own product kernels in this build (0: BLAS does every product)
VECTOR_BYTES = cc_vector_bytes()


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
