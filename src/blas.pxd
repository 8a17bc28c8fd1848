# Row-major wrappers over scipy's BLAS for the fused ``floating`` type.
#
# BLAS is column-major; a row-major matrix read column-major is its transpose, so the
# row-major product C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T.
# Everything here is ``inline`` so that a kernel that cimports it needs no other compiled
# module at run time (see setup.py).

from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm, saxpy, daxpy, sdot, ddot


# The own small-matrix kernels (src/simd/gemm.h): one C source, compiled into each module
# with that module's ISA flags (vector width).  They take the batch-sized shapes where
# they beat OpenBLAS, including outputs of at most 4 columns (a sigmoid unit, a few
# classes), which they sum in a fixed order so that a row's result does not depend on
# how many rows share the call; they return 0 for the rest.
cdef extern from "simd/gemm.h" nogil:
    int cc_gemm_f32(int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float* a, int lda, const float* b, int ldb, float beta,
                    float* c, int ldc)
    int cc_gemm_f64(int trans_a, int trans_b, int m, int n, int k, double alpha,
                    const double* a, int lda, const double* b, int ldb, double beta,
                    double* c, int ldc)
    int cc_gemm_forward_f32(int m, int n, int k, const float* a, int lda, const float* b,
                            int ldb, float* c, int ldc, const float* bias, int relu,
                            int* nonfinite)
    int cc_gemm_forward_f64(int m, int n, int k, const double* a, int lda, const double* b,
                            int ldb, double* c, int ldc, const double* bias, int relu,
                            int* nonfinite)
    # b = alpha (sum of D's rows) + beta b (beta == 0: b not read); 0 where not built
    int cc_column_sums_f32(int m, int n, const float* d, long ldd, float alpha, float beta,
                           float* b)
    int cc_column_sums_f64(int m, int n, const double* d, long ldd, double alpha,
                           double beta, double* b)
    int cc_gemm_backward_f32(int m, int n, int k, const float* a, int lda, const float* bt,
                             int ldb, float* c, int ldc, const float* act, int dkind)
    int cc_gemm_backward_f64(int m, int n, int k, const double* a, int lda,
                             const double* bt, int ldb, double* c, int ldc,
                             const double* act, int dkind)
    int cc_narrow_backward_f32(int m, int n, int k, const float* d, int ldd, const float* w,
                               int ldw, const float* a, int lda, float* p, int ldp,
                               int dkind, float alpha, float beta, float* dest)
    int cc_narrow_backward_f64(int m, int n, int k, const double* d, int ldd,
                               const double* w, int ldw, const double* a, int lda,
                               double* p, int ldp, int dkind, double alpha, double beta,
                               double* dest)
    double cc_set_narrow_backward(double on)
    long cc_narrow_passes()
    int cc_vector_bytes()
    # whether a 512-bit FMA runs at a 256-bit one's rate (measured; 0 below AVX-512), and
    # the kernels that follow from it: the wide tiles (gemm.h)
    int cc_fma512_full_rate()
    void cc_choose_kernels(int fma512_full_rate)
    # whether products of 4+ vectors of columns take AVX-512's 4 x 4 tiles (gemm_body.h)
    double cc_set_wide_tiles(double on)
    long cc_wide_products()
    # the threads a large product's rows are split over (src/simd/pool.h)
    int cc_set_split_threads(int threads)
    double cc_set_split_min_flops(double flops)
    long cc_split_products()
    # the largest share of nonzeros in A for which a product skips A's zeros (gemm_body.h;
    # AVX2 scales it down for products of fewer than eight vectors of columns)
    double cc_set_sparse_density(double density)
    long cc_sparse_products()
    # products that copied B's blocks of columns into panels so far (gemm_body.h)
    long cc_packed_products()
    int cc_split_threads_now()
    # a session of pair steps: the pool's helper kept for an epoch (simd/pool.h)
    ctypedef void (*cc_rows_fn)(void* arg, int begin, int end) noexcept nogil
    int cc_duo_begin(int strict)
    void cc_duo_run(cc_rows_fn fn, void* arg)
    void cc_pair_step_taken()
    void cc_duo_step()
    void cc_duo_end()
    long cc_duo_took()
    int cc_duo_alone()
    double cc_set_duo_pattern(double pattern)
    double cc_set_pair_min_flops(double flops)
    const double CC_PAIR_BELOW_SHARE
    long cc_pair_steps()


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* a, int lda, const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """C (m x n) = alpha op(A) op(B) + beta C, row-major; op(A) is m x k, op(B) is k x n."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m == 0 or n == 0:
        return
    if floating is float:
        if cc_gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
            return
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)
    else:
        if cc_gemm_f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
            return
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)


cdef inline bint gemm_forward(int m, int n, int k, const floating* a, int lda,
                              const floating* b, int ldb, floating* c, int ldc,
                              const floating* bias, bint relu, int* nonfinite) noexcept nogil:
    """C = f(A B + bias) (f: max(., 0) when ``relu``, else the identity) in one pass over C,
    ``*nonfinite`` set when some A B + bias is NaN or infinite (NULL: not checked); False,
    touching nothing, for a shape the own kernels leave to ``gemm``."""
    if floating is float:
        return cc_gemm_forward_f32(m, n, k, a, lda, b, ldb, c, ldc, bias, relu, nonfinite)
    else:
        return cc_gemm_forward_f64(m, n, k, a, lda, b, ldb, c, ldc, bias, relu, nonfinite)


cdef inline bint gemm_backward(int m, int n, int k, const floating* a, int lda,
                               const floating* bt, int ldb, floating* c, int ldc,
                               const floating* act, int kind) noexcept nogil:
    """C = (A Bt^T) * f'(z), the derivative of activation ``kind`` (activations.pxd's code)
    taken from ``act`` = f(z) (laid out like C) in the product's epilogue; False, touching
    nothing, for a shape the own kernels leave to ``gemm`` and a separate pass."""
    if floating is float:
        return cc_gemm_backward_f32(m, n, k, a, lda, bt, ldb, c, ldc, act, kind + 1)
    else:
        return cc_gemm_backward_f64(m, n, k, a, lda, bt, ldb, c, ldc, act, kind + 1)


cdef inline bint narrow_backward(int m, int n, int k, const floating* d, const floating* w,
                                 const floating* a, floating* p, int kind, floating alpha,
                                 floating beta, floating* dest) noexcept nogil:
    """The backward pass through a layer of n <= 4 units in one pass over its inputs' rows:
    P = (D W^T) * f'(z) (f' of activation ``kind`` read from A = f(z)) and dest = alpha A^T D
    + beta dest, for D (m x n), W and dest (k x n; dest may be W) and A, P (m x k), all
    rows contiguous; the same bits as ``gemm_backward`` and the weight gradient's ``gemm``.
    False, touching nothing, for a shape it leaves to them."""
    if floating is float:
        return cc_narrow_backward_f32(m, n, k, d, n, w, n, a, k, p, k, kind + 1, alpha, beta,
                                      dest)
    else:
        return cc_narrow_backward_f64(m, n, k, d, n, w, n, a, k, p, k, kind + 1, alpha, beta,
                                      dest)


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


cdef inline void column_sums(int m, int n, const floating* d, floating alpha, floating beta,
                             floating* b) noexcept nogil:
    """b = alpha sum_i d[i, :] + beta b for d (m x n, row-major); beta == 0 never reads b (a
    NaN there stays out).  Each column sums its rows in order."""
    cdef int i, j
    cdef floating acc
    if floating is float:
        if cc_column_sums_f32(m, n, d, n, alpha, beta, b):
            return
    else:
        if cc_column_sums_f64(m, n, d, n, alpha, beta, b):
            return
    for j in range(n):
        acc = 0
        for i in range(m):
            acc = acc + d[i * n + j]
        b[j] = acc * alpha + b[j] * beta if beta != 0 else acc * alpha
