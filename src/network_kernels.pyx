"""The network's nogil kernels at one ISA level: feedforward, loss + gradient, the epoch.

setup.py compiles this module once per ISA level (``network_kernels``,
``network_kernels_avx2``, ``network_kernels_avx512``), so the kernels and the product and
vector-math code they inline (``src/layers.pxd``, ``src/simd/``) take that level's vector
width.  The module holds no Python-facing function: it exports its kernels as a table of C
function pointers (``src/network_table.pxd``) in the PyCapsule ``table``, which
``crash_core._kernels.network`` (compiled once) calls after checking every argument.  The
kernels take raw pointers and check nothing.
"""

from cython cimport floating
from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from cpython.pycapsule cimport PyCapsule_New

from blas cimport (gemm, pair_takes, cc_vector_bytes, cc_set_split_threads,
                  cc_set_split_min_flops, cc_split_products, cc_set_sparse_density,
                  cc_sparse_products, cc_set_narrow_backward, cc_narrow_passes,
                  cc_split_threads_now, cc_pair_steps, cc_duo_begin, cc_duo_step, cc_duo_end,
                  cc_duo_took, cc_set_pair_min_flops)
from layers cimport forward, backward, act_offset, pair_forward_pass, pair_backward_pass
from losses cimport output_loss
from optimizers cimport Optimizer, update_all, add_penalty, steps_in_backward
from network_table cimport NetworkTable, TABLE_NAME
from prefetch cimport prefetch_row


cdef bint forward_rows(const floating* params, const Py_ssize_t* layers, Py_ssize_t n_layers,
                       const int* kinds, int out_kind, const floating* X, Py_ssize_t n,
                       floating* out, Py_ssize_t k, floating* acts,
                       Py_ssize_t cap) noexcept nogil:
    """Outputs for the n rows of X into ``out``, ``cap`` rows at a time; True when some
    layer's product was NaN or infinite."""
    cdef Py_ssize_t nf = layers[0], start = 0, rows
    cdef Py_ssize_t last = act_offset(layers, n_layers - 1, cap)
    cdef bint nonfinite = False
    while start < n:
        rows = min(cap, n - start)
        forward(params, layers, n_layers, kinds, out_kind, X + start * nf, rows, cap, acts,
                True, NULL, NULL, NULL, &nonfinite)
        memcpy(out + start * k, acts + last, rows * k * sizeof(floating))
        start += rows
    return nonfinite


cdef double evaluate_rows(const floating* params, const Py_ssize_t* layers,
                          Py_ssize_t n_layers, const int* kinds, int out_kind,
                          const floating* X, const floating* Y, const floating* W,
                          Py_ssize_t n, Py_ssize_t k, floating* acts, floating* delta,
                          Py_ssize_t cap, Py_ssize_t* correct) noexcept nogil:
    """sum_i w_i L_i over the n rows of X (``W`` NULL: unweighted), ``cap`` rows at a time;
    the correct count into ``correct``."""
    cdef Py_ssize_t nf = layers[0], start = 0, rows, c
    cdef Py_ssize_t last = act_offset(layers, n_layers - 1, cap)
    cdef double total = 0
    correct[0] = 0
    while start < n:
        rows = min(cap, n - start)
        forward(params, layers, n_layers, kinds, out_kind, X + start * nf, rows, cap, acts,
                False, NULL, NULL, NULL, NULL)
        total += output_loss(acts + last, Y + start * k, W + start if W != NULL else NULL,
                             <floating> 1, rows, k, out_kind, delta, &c)
        correct[0] += c
        start += rows
    return total


cdef double loss_and_grad(const floating* params, floating* grad, const Py_ssize_t* layers,
                          Py_ssize_t n_layers, const int* kinds, int out_kind,
                          const floating* X, const floating* Y, const floating* W,
                          double wsum, Py_ssize_t n, Py_ssize_t k, double l1, double l2,
                          floating* acts, floating* delta, floating* spare,
                          Py_ssize_t* correct) noexcept nogil:
    """Mean loss over the n rows of X (weights ``W`` summing to ``wsum``, or NULL) plus the
    penalty; the gradient into ``grad``, the correct count into ``correct``."""
    cdef double total, penalty
    forward(params, layers, n_layers, kinds, out_kind, X, n, n, acts, False, NULL, NULL,
            NULL, NULL)
    total = output_loss(acts + act_offset(layers, n_layers - 1, n), Y, W,
                        <floating> (1.0 / wsum), n, k, out_kind, delta, correct)
    backward(<floating*> params, grad, 1, 0, layers, n_layers, kinds, X, n, n, acts, NULL,
             NULL, delta, spare)
    penalty = add_penalty(params, grad, layers, n_layers, l1, l2)
    return total / wsum + penalty


cdef inline void copy_row(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    """dst[:n] = src[:n], inlined: a row of a batch is a few cache lines, not worth a call."""
    cdef Py_ssize_t j
    for j in range(n):
        dst[j] = src[j]


cdef enum:
    # the next batch is prefetched while both batches fit in (a typical) L2 cache
    PREFETCH_BYTES = 256 * 1024


cdef double run_epoch(floating* params, floating* grad, floating* s1, floating* s2,
                      Optimizer* opt, const Py_ssize_t* layers, Py_ssize_t n_layers,
                      const int* kinds, int out_kind,
                      const floating* X, const floating* Y, const floating* W,
                      Py_ssize_t nf, Py_ssize_t k, const Py_ssize_t* order, Py_ssize_t n,
                      Py_ssize_t cap, floating* xb, floating* yb, floating* wb,
                      floating* acts, floating* delta, floating* spare,
                      const double* rates, floating* dmask, uint64_t* rng,
                      Py_ssize_t* correct) noexcept nogil:
    """One epoch of mini-batch training; returns sum_i w_i L_i + sum_batches W_b penalty_b."""
    cdef Py_ssize_t start, rows, i, r, batch_correct, ahead, half
    cdef bint prefetching
    cdef Py_ssize_t out_off = act_offset(layers, n_layers - 1, cap)
    cdef double total = 0, wsum, batch_loss, penalty
    # plain SGD without penalties needs no gradient buffer: the step is folded into the
    # backward pass's weight-gradient products
    cdef bint fused = steps_in_backward(opt.kind, opt.l1, opt.l2)
    # a network of one hidden layer on two threads, each keeping half of the hidden units
    # through the step (layers.pxd's pair_forward_pass, src/simd/pool.h's pair session),
    # where the policy gave this epoch two threads, no dropout is drawn and a batch's
    # forward pass is worth it (src/simd/gemm.h's CC_PAIR_MIN_FLOPS) but its products are
    # not split one by one (CC_SPLIT_MIN_FLOPS, pool.h): the same bits as on one thread.
    # At a threshold of 0 (the tests') every such epoch is paired, strictly.
    cdef double pair_min = cc_set_pair_min_flops(-1), first = 0, second = 0
    cdef bint paired = n_layers == 2 and (rates == NULL or rates[0] <= 0)
    if paired:
        first = 2.0 * cap * layers[0] * layers[1]
        second = 2.0 * cap * layers[1] * layers[5]
        paired = (first + second >= pair_min and
                  (max(first, second) < cc_set_split_min_flops(-1) or pair_min == 0) and
                  pair_takes(params, cap, layers[0], layers[1], layers[5]) and
                  cc_split_threads_now() >= 2 and cc_duo_begin(pair_min == 0))
    cdef bint pair_step
    correct[0] = 0
    start = 0
    while start < n:
        if paired:
            cc_duo_step()  # times the steps: paired or alone, whichever is faster now
        rows = min(cap, n - start)
        wsum = 0
        for i in range(rows):
            r = order[start + i]
            copy_row(xb + i * nf, X + r * nf, nf)
            copy_row(yb + i * k, Y + r * k, k)
            if W != NULL:
                wb[i] = W[r]
                wsum += W[r]
        start += rows
        # the next batch's rows of X and Y are requested into the outer caches while this
        # one trains (src/prefetch.pxd), half before the forward pass and half before the
        # backward one, nearer their use.  Digits-like 64-128-10, batch 64, Zen 4: the row
        # copies of a shuffled epoch cost 1-3 us a step more than of rows in order when
        # X's rows were asked for into L1 and Y's not at all; now 0.2-0.8 us
        ahead = min(start + cap, n)
        half = start + (ahead - start) // 2
        prefetching = (rows + ahead - start) * (nf + k) * sizeof(floating) <= PREFETCH_BYTES
        if prefetching:
            for i in range(start, half):
                prefetch_row(X + order[i] * nf, nf, True)
                prefetch_row(Y + order[i] * k, k, True)
        if W == NULL:
            wsum = rows
        elif wsum <= 0:
            continue
        pair_step = paired and pair_forward_pass(params, layers, kinds, xb, rows, cap, acts)
        if not pair_step:
            forward(params, layers, n_layers, kinds, out_kind, xb, rows, cap, acts, False,
                    rates, dmask, rng, NULL)
        batch_loss = output_loss(acts + out_off, yb, wb if W != NULL else NULL,
                                 <floating> (1.0 / wsum), rows, k, out_kind, delta,
                                 &batch_correct)
        correct[0] += batch_correct
        if prefetching:
            for i in range(half, ahead):
                prefetch_row(X + order[i] * nf, nf, True)
                prefetch_row(Y + order[i] * k, k, True)
        if fused and pair_step:
            pair_backward_pass(params, params, <floating> -opt.learning_rate, 1, layers,
                               kinds, xb, rows, acts, delta, spare)
        elif fused:
            backward(params, params, <floating> -opt.learning_rate, 1, layers, n_layers,
                     kinds, xb, rows, cap, acts, rates, dmask, delta, spare)
        elif pair_step:
            pair_backward_pass(params, grad, 1, 0, layers, kinds, xb, rows, acts, delta, spare)
        else:
            backward(params, grad, 1, 0, layers, n_layers, kinds, xb, rows, cap, acts, rates,
                     dmask, delta, spare)
        if fused:
            opt.t += 1
            penalty = 0
        else:
            penalty = update_all(params, grad, s1, s2, layers, n_layers, opt)
        total += batch_loss + wsum * penalty
    if paired:
        cc_duo_end()
    return total


cdef void product(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                  const floating* a, int lda, const floating* b, int ldb, floating beta,
                  floating* c, int ldc) noexcept nogil:
    """``gemm`` (src/blas.pxd) with this level's own product kernels."""
    gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef NetworkTable _table
_table.vector_bytes = cc_vector_bytes()
_table.forward_rows_f = forward_rows[float]
_table.forward_rows_d = forward_rows[double]
_table.evaluate_rows_f = evaluate_rows[float]
_table.evaluate_rows_d = evaluate_rows[double]
_table.loss_and_grad_f = loss_and_grad[float]
_table.loss_and_grad_d = loss_and_grad[double]
_table.run_epoch_f = run_epoch[float]
_table.run_epoch_d = run_epoch[double]
_table.gemm_f = product[float]
_table.gemm_d = product[double]
_table.split_threads = cc_set_split_threads
_table.split_min_flops = cc_set_split_min_flops
_table.split_products = cc_split_products
_table.sparse_density = cc_set_sparse_density
_table.sparse_products = cc_sparse_products
_table.narrow_backward = cc_set_narrow_backward
_table.narrow_passes = cc_narrow_passes
_table.pair_steps = cc_pair_steps
_table.pair_halves = cc_duo_took
_table.pair_min_flops = cc_set_pair_min_flops

# the kernels' table, for crash_core._kernels.network
table = PyCapsule_New(&_table, TABLE_NAME, NULL)
