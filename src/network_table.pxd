# The table of one ISA level's network kernels: C function pointers, one float and one
# double entry per kernel.  ``network_kernels.pyx`` (compiled once per level) fills it and
# exports it in a PyCapsule named ``TABLE_NAME``; ``network.pyx`` (compiled once) checks
# the arguments of each call and runs the kernel of the level ``crash_core._kernels``
# selected.  Every pointer argument has been checked by the caller; the kernels never check.

from libc.stdint cimport uint64_t
from optimizers cimport Optimizer

cdef extern from *:
    """
    #define CC_NETWORK_TABLE_NAME "crash_core._kernels.network_kernels.table"
    """
    const char* TABLE_NAME "CC_NETWORK_TABLE_NAME"

# nonfinite = forward_rows(params, layers, n_layers, kinds, out_kind, X, n, out, k, acts, cap)
ctypedef bint (*forward_rows_f32)(const float*, const Py_ssize_t*, Py_ssize_t, const int*, int,
                                  const float*, Py_ssize_t, float*, Py_ssize_t, float*,
                                  Py_ssize_t) noexcept nogil
ctypedef bint (*forward_rows_f64)(const double*, const Py_ssize_t*, Py_ssize_t, const int*, int,
                                  const double*, Py_ssize_t, double*, Py_ssize_t, double*,
                                  Py_ssize_t) noexcept nogil

# total = evaluate_rows(params, layers, n_layers, kinds, out_kind, X, Y, W, n, k, acts, delta,
#                       cap, &correct)
ctypedef double (*evaluate_rows_f32)(const float*, const Py_ssize_t*, Py_ssize_t, const int*,
                                     int, const float*, const float*, const float*, Py_ssize_t,
                                     Py_ssize_t, float*, float*, Py_ssize_t,
                                     Py_ssize_t*) noexcept nogil
ctypedef double (*evaluate_rows_f64)(const double*, const Py_ssize_t*, Py_ssize_t, const int*,
                                     int, const double*, const double*, const double*,
                                     Py_ssize_t, Py_ssize_t, double*, double*, Py_ssize_t,
                                     Py_ssize_t*) noexcept nogil

# loss = loss_and_grad(params, grad, layers, n_layers, kinds, out_kind, X, Y, W, wsum, n, k,
#                      l1, l2, acts, delta, spare, &correct)
ctypedef double (*loss_and_grad_f32)(const float*, float*, const Py_ssize_t*, Py_ssize_t,
                                     const int*, int, const float*, const float*, const float*,
                                     double, Py_ssize_t, Py_ssize_t, double, double, float*,
                                     float*, float*, Py_ssize_t*) noexcept nogil
ctypedef double (*loss_and_grad_f64)(const double*, double*, const Py_ssize_t*, Py_ssize_t,
                                     const int*, int, const double*, const double*,
                                     const double*, double, Py_ssize_t, Py_ssize_t, double,
                                     double, double*, double*, double*,
                                     Py_ssize_t*) noexcept nogil

# total = run_epoch(...): see network_kernels.pyx
ctypedef double (*run_epoch_f32)(float*, float*, float*, float*, Optimizer*, const Py_ssize_t*,
                                 Py_ssize_t, const int*, int, const float*, const float*,
                                 const float*, Py_ssize_t, Py_ssize_t, const Py_ssize_t*,
                                 Py_ssize_t, Py_ssize_t, float*, float*, float*, float*, float*,
                                 float*, const double*, float*, uint64_t*,
                                 Py_ssize_t*) noexcept nogil
ctypedef double (*run_epoch_f64)(double*, double*, double*, double*, Optimizer*,
                                 const Py_ssize_t*, Py_ssize_t, const int*, int, const double*,
                                 const double*, const double*, Py_ssize_t, Py_ssize_t,
                                 const Py_ssize_t*, Py_ssize_t, Py_ssize_t, double*, double*,
                                 double*, double*, double*, double*, const double*, double*,
                                 uint64_t*, Py_ssize_t*) noexcept nogil

# gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc): see blas.pxd
ctypedef void (*gemm_f32)(bint, bint, int, int, int, float, const float*, int, const float*,
                          int, float, float*, int) noexcept nogil
ctypedef void (*gemm_f64)(bint, bint, int, int, int, double, const double*, int,
                          const double*, int, double, double*, int) noexcept nogil

# previous = split_threads(threads): threads the calling thread's large products may be split
# over (src/simd/pool.h); previous = split_min_flops(flops): the smallest product split;
# previous = sparse_density(density): the largest share of nonzeros in A for which a product
# skips A's zeros (src/simd/gemm_body.h; both settings only read with a value < 0);
# split_products(), sparse_products(), packed_products(): how many products were split,
# skipped zeros, copied B into panels so far;
# previous = narrow_backward(on): whether a layer of at most 4 units takes the one-pass
# backward kernel (src/simd/gemm_body.h; only read with a value < 0); narrow_passes(): how
# many backward passes it took so far; pair_steps(): how many training steps went through
# the pair step (its halves on two threads when it had them),
# pair_halves(): how many of their halves a helper ran; previous = pair_min_flops(flops):
# the fewest forward FLOPs of a batch for the pair step (only read with a value < 0);
# previous = pair_alone_steps(pattern): the steps of each epoch a strict pair session (the
# tests', at a threshold of 0) runs alone, bit s % 32 for step s (only read with a value < 0);
# previous = wide_tiles(on): whether products of 4+ vectors of columns take AVX-512's 4 x 4
# tiles (only read with a value < 0; always 0 below AVX-512); wide_products(): how many row
# ranges of products took them so far
ctypedef int (*split_threads_fn)(int) noexcept nogil
ctypedef double (*setting_fn)(double) noexcept nogil
ctypedef long (*count_fn)() noexcept nogil


cdef struct NetworkTable:
    int vector_bytes  # bytes per vector of the own product kernels (0: BLAS does them all)
    int fma512_full_rate  # 1 where a 512-bit FMA runs at a 256-bit one's rate (AVX-512 only)
    forward_rows_f32 forward_rows_f
    forward_rows_f64 forward_rows_d
    evaluate_rows_f32 evaluate_rows_f
    evaluate_rows_f64 evaluate_rows_d
    loss_and_grad_f32 loss_and_grad_f
    loss_and_grad_f64 loss_and_grad_d
    run_epoch_f32 run_epoch_f
    run_epoch_f64 run_epoch_d
    gemm_f32 gemm_f
    gemm_f64 gemm_d
    split_threads_fn split_threads
    setting_fn split_min_flops
    count_fn split_products
    setting_fn sparse_density
    count_fn sparse_products
    count_fn packed_products
    setting_fn narrow_backward
    count_fn narrow_passes
    count_fn pair_steps
    count_fn pair_halves
    setting_fn pair_min_flops
    setting_fn pair_alone_steps
    setting_fn wide_tiles
    count_fn wide_products
