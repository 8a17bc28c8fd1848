# Dense layers over the flat parameter buffer.  ``layers`` holds, per layer,
# (n_in, n_out, weight offset, bias offset); W is stored row-major (n_in x n_out), so a
# batch A (rows x n_in) feeds forward as  Z = A W + b  and back as
#   dW = A^T delta,   db = sum over rows of delta,   delta_prev = (delta W^T) * f'(A).
# Activations of layer l for a batch of capacity ``cap`` rows start at
# cap * (n_out_0 + ... + n_out_{l-1}) in the activation buffer.

from cython cimport floating
from libc.stdint cimport uint64_t
from blas cimport gemm, gemm_forward, gemm_backward, narrow_backward, column_sums
from activations cimport (add_bias_activate, multiply_derivative, derivative, RELU, SIGMOID,
                         TANH, vsigmoid, vtanh)
from losses cimport output_activation
from random cimport next_u64, drop_threshold


cdef inline Py_ssize_t act_offset(const Py_ssize_t* layers, Py_ssize_t l,
                                  Py_ssize_t cap) noexcept nogil:
    cdef Py_ssize_t j, off = 0
    for j in range(l):
        off += layers[4 * j + 1]
    return off * cap


cdef inline void dropout(floating* a, floating* dmask, Py_ssize_t n, double rate, int kind,
                         uint64_t* rng) noexcept nogil:
    """Inverted dropout in place: a <- a m / (1 - rate) with m ~ Bernoulli(1 - rate).

    ``dmask`` receives f'(z) m / (1 - rate), the factor the backward pass multiplies by.
    """
    cdef Py_ssize_t i
    cdef uint64_t threshold = drop_threshold(rate)
    cdef floating keep = <floating> (1.0 / (1.0 - rate))
    for i in range(n):
        if next_u64(rng) < threshold:
            a[i] = 0
            dmask[i] = 0
        else:
            dmask[i] = derivative(a[i], kind) * keep
            a[i] = a[i] * keep


cdef inline void layer_forward(const floating* w, const floating* bias, int kind,
                               const floating* inp, Py_ssize_t lda, Py_ssize_t rows,
                               Py_ssize_t n_in, Py_ssize_t n_out, floating* out,
                               bint* nonfinite) noexcept nogil:
    """out (rows x n_out) = f(inp w + bias) for inp rows of ``lda`` values (the first n_in
    taken) and w (n_in x n_out), f by ``kind`` (3: the logits z + b); ``nonfinite`` as in
    ``forward``."""
    cdef Py_ssize_t i
    cdef bint bad = False
    cdef int overflow = 0
    # the own kernels add the bias, apply ReLU and check z in the product's epilogue,
    # while the tile is in registers; other shapes take separate passes
    if gemm_forward(rows, n_out, n_in, inp, lda, w, n_out, out, n_out, bias, kind == RELU,
                    &overflow if nonfinite != NULL else NULL):
        if overflow:
            nonfinite[0] = True
        if kind == SIGMOID:
            vsigmoid(out, rows * n_out)
        elif kind == TANH:
            vtanh(out, rows * n_out)
    else:
        gemm(False, False, rows, n_out, n_in, <floating> 1, inp, lda, w, n_out, <floating> 0,
             out, n_out)
        if nonfinite != NULL:
            for i in range(rows * n_out):
                bad = bad | ((out[i] - out[i]) != 0)
            if bad:
                nonfinite[0] = True
        add_bias_activate(out, bias, rows, n_out, kind)


cdef inline void forward(const floating* params, const Py_ssize_t* layers, Py_ssize_t n_layers,
                         const int* kinds, int out_kind, const floating* x, Py_ssize_t rows,
                         Py_ssize_t cap, floating* acts, bint apply_output,
                         const double* rates, floating* dmask, uint64_t* rng,
                         bint* nonfinite) noexcept nogil:
    """Feed ``rows`` samples forward; the last layer's block holds logits (or outputs).

    ``rates`` is NULL at prediction time, else the dropout rate per hidden layer.
    When ``nonfinite`` is not NULL it is set if any layer's product is NaN or infinite: an
    input row holding NaN or infinity makes its first-layer product non-finite, and a
    product that overflows the dtype deeper in is caught at the layer it happens (checked
    while still in cache, instead of separate passes).
    """
    cdef Py_ssize_t li, n_in, n_out, off = 0
    cdef const floating* inp = x
    cdef floating* out
    for li in range(n_layers):
        n_in = layers[4 * li]
        n_out = layers[4 * li + 1]
        out = acts + off
        layer_forward(params + layers[4 * li + 2], params + layers[4 * li + 3],
                      kinds[li] if li < n_layers - 1 else 3,  # the output layer's logits: z + b
                      inp, n_in, rows, n_in, n_out, out, nonfinite)
        if li < n_layers - 1:
            if rates != NULL and rates[li] > 0:
                dropout(out, dmask + off, rows * n_out, rates[li], kinds[li], rng)
        elif apply_output:
            output_activation(out, rows, n_out, out_kind)
        inp = out
        off += cap * n_out


cdef inline void add_partials(floating* delta, const floating* mine, const floating* theirs,
                              const floating* a, Py_ssize_t n, int kind) noexcept nogil:
    """delta <- (mine + theirs) * f'(z), f'(z) from a = f(z): the delta a layer of units in two
    halves hands the layer below, from each half's delta W^T (the pair step's halves and
    the whole network's steps that take the same halves add them alike)."""
    cdef Py_ssize_t i
    for i in range(n):
        delta[i] = mine[i] + theirs[i]
    multiply_derivative(delta, a, n, kind)


cdef inline void backward(floating* params, floating* dest, floating alpha, floating beta,
                          floating wbeta, const Py_ssize_t* layers, Py_ssize_t n_layers,
                          const int* kinds,
                          const floating* x, Py_ssize_t rows, Py_ssize_t cap,
                          const floating* acts, const double* rates, const floating* dmask,
                          floating* delta, floating* spare, Py_ssize_t split_at=0,
                          floating* partial=NULL) noexcept nogil:
    """Backpropagate the output delta (in ``delta``): dest <- alpha * gradient + beta * dest
    for the biases, alpha * gradient + wbeta * dest for the weights.

    With dest = grad, alpha = 1, beta = wbeta = 0 this writes the gradient.  With dest =
    params, alpha = -lr, beta = 1 it IS the plain SGD step, folded into the weight-gradient
    product: each layer's delta for the layer below is taken before its weights move; wbeta
    = 1 - 2 lr l2 adds an L2 penalty's step (optimizers.pxd's decay_beta), wbeta = 1 none.
    ``delta`` and ``spare`` are two buffers of cap x (widest layer) that the layers take
    turns writing.

    ``split_at`` names the last hidden layer's units in two halves, as the pair step
    splits them (network_kernels.pyx): > 0, the delta it hands the layer below is
    (delta_0 W_0^T + delta_1 W_1^T) f'(z) over its first ``split_at`` units and the rest
    (``partial``: a third buffer of rows x its inputs); < 0, the network is one half, whose
    delta W^T goes into ``partial`` undifferentiated, and the pass stops after that layer's
    gradient (the layers below wait for the other half's).
    """
    cdef Py_ssize_t li, i, j, n_in, n_out, prev_off = 0
    cdef const floating* a_prev
    cdef const floating* w
    cdef floating* swap
    cdef bint dropped, derived, narrow, stop = False
    for li in range(n_layers - 1, -1, -1):
        n_in = layers[4 * li]
        n_out = layers[4 * li + 1]
        w = params + layers[4 * li + 2]
        derived = dropped = narrow = False
        if li == 0:
            a_prev = x
        else:
            prev_off = act_offset(layers, li - 1, cap)
            a_prev = acts + prev_off
            if split_at != 0 and li == n_layers - 2:
                # the last hidden layer in two halves (no dropout: the pair step takes none)
                if split_at > 0:
                    gemm(False, True, rows, n_in, split_at, <floating> 1, delta, n_out, w, n_out,
                         <floating> 0, spare, n_in)
                    gemm(False, True, rows, n_in, n_out - split_at, <floating> 1, delta + split_at,
                         n_out, w + split_at, n_out, <floating> 0, partial, n_in)
                    add_partials(spare, spare, partial, a_prev, rows * n_in, kinds[li - 1])
                    derived = True
                else:
                    gemm(False, True, rows, n_in, n_out, <floating> 1, delta, n_out, w, n_out,
                         <floating> 0, partial, n_in)
                    stop = True
            else:
                dropped = rates != NULL and rates[li - 1] > 0
                # a layer of a few units (a sigmoid or linear output): its delta for the layer
                # below and its weight gradient in one pass over a_prev (no dropout below;
                # narrow_backward declines the other shapes)
                narrow = not dropped and narrow_backward(
                    rows, n_out, n_in, delta, w, a_prev, spare, kinds[li - 1], alpha, wbeta,
                    dest + layers[4 * li + 2])
                # delta W^T times f'(z) of the layer below, in the product's epilogue where
                # the own kernels take the shape (without dropout, whose mask is its own pass)
                derived = narrow or (not dropped and gemm_backward(
                    rows, n_in, n_out, delta, n_out, w, n_out, spare, n_in, a_prev,
                    kinds[li - 1]))
                if not derived:
                    gemm(False, True, rows, n_in, n_out, <floating> 1, delta, n_out, w, n_out,
                         <floating> 0, spare, n_in)
        if not narrow:
            gemm(True, False, n_in, n_out, rows, alpha, a_prev, n_in, delta, n_out,
                 wbeta, dest + layers[4 * li + 2], n_out)
        column_sums(rows, n_out, delta, alpha, beta, dest + layers[4 * li + 3])
        if li == 0 or stop:
            break
        if dropped:
            for i in range(rows * n_in):
                spare[i] = spare[i] * dmask[prev_off + i]
        elif not derived:
            multiply_derivative(spare, a_prev, rows * n_in, kinds[li - 1])
        swap = delta
        delta = spare
        spare = swap
