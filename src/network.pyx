"""The multi-layer network kernels: feedforward, loss + backpropagation, and the epoch.

``train_epoch`` is the one training path: a single call trains one epoch of mini-batch
gradient descent (gather a shuffled batch into a preallocated buffer, feed forward,
compute the loss and output delta, backpropagate, update every parameter) with the GIL
released throughout and no allocation per batch.  The Python layer allocates every
buffer once per fit (see ``crash_core.network.EpochTrainer``).
"""

from cython cimport floating
from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from cpython.pyport cimport PY_SSIZE_T_MAX

from blas cimport gemm, cc_vector_bytes
from layers cimport forward, backward, act_offset
from losses cimport output_loss
from optimizers cimport (Optimizer, OPT_SGD, OPT_ADAM, update_all, add_penalty,
                         make_optimizer)


cdef inline const int* kinds_ptr(const int[::1] kinds) noexcept nogil:
    return &kinds[0] if kinds.shape[0] > 0 else NULL


cdef inline bint _holds(Py_ssize_t length, Py_ssize_t rows, Py_ssize_t width) noexcept:
    """length >= rows * width, without overflowing (rows, width >= 0)."""
    return rows >= 0 and width >= 0 and (width == 0 or rows <= length // width)


def _check_layers(const Py_ssize_t[:, ::1] layers, const int[::1] kinds, int out_kind,
                  Py_ssize_t n_params, Py_ssize_t n_features, Py_ssize_t n_outputs):
    """Raise ValueError unless every entry of the table is consistent with the buffers.

    Each layer takes the previous layer's width, has at least one input and one unit, and
    its weights and biases lie inside ``params``; ``kinds`` holds one valid code per hidden
    layer and ``out_kind`` is a valid output code.  After this, no index the kernels derive
    from the table falls outside the buffers they are given.
    """
    cdef Py_ssize_t li, n_layers = layers.shape[0], n_in, n_out, w_off, b_off
    if n_layers < 1 or layers.shape[1] != 4:
        raise ValueError("layers must be an (n_layers, 4) table")
    if kinds.shape[0] != n_layers - 1:
        raise ValueError("kinds must hold one activation code per hidden layer")
    for li in range(n_layers - 1):
        if kinds[li] < 0 or kinds[li] > 2:
            raise ValueError("kinds holds an unknown activation code")
    if out_kind < 0 or out_kind > 2:
        raise ValueError("out_kind is not an output code")
    if layers[0, 0] != n_features or layers[n_layers - 1, 1] != n_outputs:
        raise ValueError("layers do not match the input or output widths")
    for li in range(n_layers):
        n_in, n_out, w_off, b_off = layers[li, 0], layers[li, 1], layers[li, 2], layers[li, 3]
        if n_in < 1 or n_out < 1 or w_off < 0 or b_off < 0:
            raise ValueError("layers holds a width < 1 or a negative offset")
        if li > 0 and n_in != layers[li - 1, 1]:
            raise ValueError("a layer's inputs differ from the previous layer's units")
        if (not _holds(n_params, n_in, n_out) or w_off > n_params - n_in * n_out
                or n_out > n_params or b_off > n_params - n_out):
            raise ValueError("layers point outside the parameter buffer")
    if not _holds(PY_SSIZE_T_MAX, n_layers, n_params):
        raise ValueError("layers are too many for the parameter buffer")


cdef Py_ssize_t _total_width(const Py_ssize_t[:, ::1] layers):
    """Sum of the layers' widths (checked tables only)."""
    return act_offset(&layers[0, 0], layers.shape[0], 1)


cdef Py_ssize_t _widest(const Py_ssize_t[:, ::1] layers):
    cdef Py_ssize_t li, widest = 0
    for li in range(layers.shape[0]):
        widest = max(widest, layers[li, 1])  # the inputs never get a delta
    return widest


def forward_(const floating[::1] params, const Py_ssize_t[:, ::1] layers,
             const int[::1] kinds, int out_kind, const floating[:, ::1] X,
             floating[:, ::1] out, floating[::1] acts, Py_ssize_t cap):
    """Outputs of the network for X, written into ``out``, ``cap`` rows at a time.

    ``acts`` must hold cap x (sum of layer widths) values.  Returns False when X holds
    NaN or infinity (the outputs are then meaningless).
    """
    cdef Py_ssize_t n = X.shape[0], nf = X.shape[1], k = out.shape[1]
    cdef Py_ssize_t n_layers = layers.shape[0], start, rows, last
    cdef bint nonfinite = False
    _check_layers(layers, kinds, out_kind, params.shape[0], nf, k)
    if out.shape[0] != n:
        raise ValueError("out must have one row per sample")
    if cap < 1 or not _holds(acts.shape[0], cap, _total_width(layers)):
        raise ValueError("acts is too small for cap rows")
    if n == 0:
        return True
    last = act_offset(&layers[0, 0], n_layers - 1, cap)
    with nogil:
        start = 0
        while start < n:
            rows = min(cap, n - start)
            forward(&params[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[start, 0], rows, cap, &acts[0], True, NULL, NULL, NULL, &nonfinite)
            memcpy(&out[start, 0], &acts[last], rows * k * sizeof(floating))
            start += rows
    return not nonfinite


def evaluate_(const floating[::1] params, const Py_ssize_t[:, ::1] layers,
              const int[::1] kinds, int out_kind, const floating[:, ::1] X,
              const floating[:, ::1] Y, const floating[::1] sample_weight, bint weighted,
              floating[::1] acts, floating[::1] delta, Py_ssize_t cap):
    """Loss without gradient: (sum_i w_i L_i, correct count), ``cap`` rows at a time.

    ``acts`` holds cap x (sum of widths) values, ``delta`` cap x (output width).
    """
    cdef Py_ssize_t n = X.shape[0], k = Y.shape[1], n_layers = layers.shape[0]
    cdef Py_ssize_t start = 0, rows, c, correct = 0, last
    cdef double total = 0
    _check_layers(layers, kinds, out_kind, params.shape[0], X.shape[1], k)
    if Y.shape[0] != n or (weighted and sample_weight.shape[0] != n) or cap < 1:
        raise ValueError("X, Y and sample_weight do not agree")
    if not _holds(acts.shape[0], cap, _total_width(layers)) or not _holds(delta.shape[0], cap, k):
        raise ValueError("work buffers are too small")
    last = act_offset(&layers[0, 0], n_layers - 1, cap)
    with nogil:
        while start < n:
            rows = min(cap, n - start)
            forward(&params[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[start, 0], rows, cap, &acts[0], False, NULL, NULL, NULL, NULL)
            total += output_loss(&acts[last], &Y[start, 0],
                                 &sample_weight[start] if weighted else NULL, <floating> 1,
                                 rows, k, out_kind, &delta[0], &c)
            correct += c
            start += rows
    return total, correct


def loss_and_grad_(const floating[::1] params, floating[::1] grad,
                   const Py_ssize_t[:, ::1] layers, const int[::1] kinds, int out_kind,
                   const floating[:, ::1] X, const floating[:, ::1] Y,
                   const floating[::1] sample_weight, bint weighted, double l1, double l2,
                   floating[::1] acts, floating[::1] delta, floating[::1] spare):
    """Mean loss over X (weighted by sample_weight when ``weighted``) plus the penalty.

    The gradient, laid out like ``params``, is written into ``grad``.  Buffers hold
    n x (sum of widths) (acts) and n x (widest layer output) (delta, spare) values.
    Returns (loss, correct count).
    """
    cdef Py_ssize_t n = X.shape[0], k = Y.shape[1], n_layers = layers.shape[0], i
    cdef Py_ssize_t correct = 0
    cdef double total, wsum = 0, penalty
    cdef const floating* w = NULL
    _check_layers(layers, kinds, out_kind, params.shape[0], X.shape[1], k)
    if Y.shape[0] != n or grad.shape[0] != params.shape[0] or n == 0:
        raise ValueError("X, Y and grad do not agree")
    if (not _holds(acts.shape[0], n, _total_width(layers))
            or not _holds(delta.shape[0], n, _widest(layers))
            or not _holds(spare.shape[0], n, _widest(layers))):
        raise ValueError("work buffers are too small")
    if weighted:
        if sample_weight.shape[0] != n:
            raise ValueError("sample_weight must have one value per sample")
        w = &sample_weight[0]
        for i in range(n):
            wsum += sample_weight[i]
    else:
        wsum = n
    with nogil:
        forward(&params[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind, &X[0, 0],
                n, n, &acts[0], False, NULL, NULL, NULL, NULL)
        total = output_loss(&acts[act_offset(&layers[0, 0], n_layers - 1, n)], &Y[0, 0], w,
                            <floating> (1.0 / wsum), n, k, out_kind, &delta[0], &correct)
        backward(<floating*> &params[0], &grad[0], 1, 0, &layers[0, 0], n_layers,
                 kinds_ptr(kinds), &X[0, 0], n, n, &acts[0], NULL, NULL, &delta[0], &spare[0])
        penalty = add_penalty(&params[0], &grad[0], &layers[0, 0], n_layers, l1, l2)
    return total / wsum + penalty, correct


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
    cdef Py_ssize_t start, rows, i, r, batch_correct
    cdef Py_ssize_t out_off = act_offset(layers, n_layers - 1, cap)
    cdef double total = 0, wsum, batch_loss, penalty
    # plain SGD without penalties needs no gradient buffer: the step is folded into the
    # backward pass's weight-gradient products
    cdef bint fused = opt.kind == OPT_SGD and opt.l1 == 0 and opt.l2 == 0
    correct[0] = 0
    start = 0
    while start < n:
        rows = min(cap, n - start)
        wsum = 0
        for i in range(rows):
            r = order[start + i]
            memcpy(xb + i * nf, X + r * nf, nf * sizeof(floating))
            memcpy(yb + i * k, Y + r * k, k * sizeof(floating))
            if W != NULL:
                wb[i] = W[r]
                wsum += W[r]
        start += rows
        if W == NULL:
            wsum = rows
        elif wsum <= 0:
            continue
        forward(params, layers, n_layers, kinds, out_kind, xb, rows, cap, acts, False,
                rates, dmask, rng, NULL)
        batch_loss = output_loss(acts + out_off, yb, wb if W != NULL else NULL,
                                 <floating> (1.0 / wsum), rows, k, out_kind, delta,
                                 &batch_correct)
        correct[0] += batch_correct
        if fused:
            backward(params, params, <floating> -opt.learning_rate, 1, layers, n_layers,
                     kinds, xb, rows, cap, acts, rates, dmask, delta, spare)
            opt.t += 1
            penalty = 0
        else:
            backward(params, grad, 1, 0, layers, n_layers, kinds, xb, rows, cap, acts, rates,
                     dmask, delta, spare)
            penalty = update_all(params, grad, s1, s2, layers, n_layers, opt)
        total += batch_loss + wsum * penalty
    return total


def train_epoch_(floating[::1] params, const Py_ssize_t[:, ::1] layers, const int[::1] kinds,
                 int out_kind, const floating[:, ::1] X, const floating[:, ::1] Y,
                 const floating[::1] sample_weight, bint weighted,
                 const Py_ssize_t[::1] order, Py_ssize_t batch_size,
                 int optimizer, double learning_rate, double momentum, double beta1,
                 double beta2, double eps, double l1, double l2, long long t,
                 floating[::1] state1, floating[::1] state2,
                 const double[::1] rates, bint use_dropout, uint64_t[::1] rng,
                 floating[::1] grad, floating[::1] xb, floating[::1] yb, floating[::1] wb,
                 floating[::1] acts, floating[::1] delta, floating[::1] spare,
                 floating[::1] dmask):
    """Train one epoch; returns (summed loss, correct count, optimizer steps taken so far).

    Buffers (allocated once per fit by the caller): ``grad`` like params; ``xb``, ``yb``,
    ``wb`` one batch of inputs, targets and weights; ``acts`` and ``dmask`` batch x (sum of
    widths); ``delta``, ``spare`` batch x (widest layer output); ``rng`` four uint64 words,
    advanced in place.  Shapes are checked here once; the loop itself never checks.
    """
    cdef Py_ssize_t n = order.shape[0], nf = X.shape[1], k = Y.shape[1]
    cdef Py_ssize_t n_layers = layers.shape[0], cap = batch_size, i, correct = 0
    cdef Py_ssize_t widest, total_width
    cdef Optimizer o
    cdef double total
    _check_layers(layers, kinds, out_kind, params.shape[0], nf, k)
    widest, total_width = _widest(layers), _total_width(layers)
    if Y.shape[0] != X.shape[0] or (weighted and sample_weight.shape[0] != X.shape[0]):
        raise ValueError("X, Y and sample_weight must have the same number of rows")
    if (cap < 1 or not _holds(xb.shape[0], cap, nf) or not _holds(yb.shape[0], cap, k)
            or wb.shape[0] < cap):
        raise ValueError("batch buffers are smaller than batch_size")
    if (not _holds(acts.shape[0], cap, total_width) or not _holds(delta.shape[0], cap, widest)
            or not _holds(spare.shape[0], cap, widest) or grad.shape[0] != params.shape[0]):
        raise ValueError("work buffers are too small")
    if use_dropout and (not _holds(dmask.shape[0], cap, total_width)
                        or rates.shape[0] < n_layers - 1):
        raise ValueError("dropout buffers are too small")
    if optimizer != OPT_SGD and state1.shape[0] != params.shape[0]:
        raise ValueError("optimizer state1 must have the length of params")
    if optimizer == OPT_ADAM and state2.shape[0] != params.shape[0]:
        raise ValueError("optimizer state2 must have the length of params")
    if rng.shape[0] != 4:
        raise ValueError("rng must hold 4 uint64 words")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("order holds an index outside X")
    if n == 0:
        return 0.0, 0, t
    o = make_optimizer(optimizer, learning_rate, momentum, beta1, beta2, eps, l1, l2, t)
    with nogil:
        total = run_epoch(&params[0], &grad[0],
                          &state1[0] if optimizer != OPT_SGD else NULL,
                          &state2[0] if optimizer == OPT_ADAM else NULL,
                          &o, &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                          &X[0, 0], &Y[0, 0], &sample_weight[0] if weighted else NULL,
                          nf, k, &order[0], n, cap, &xb[0], &yb[0], &wb[0],
                          &acts[0], &delta[0], &spare[0],
                          &rates[0] if use_dropout else NULL,
                          &dmask[0] if use_dropout else NULL, &rng[0], &correct)
    return total, correct, o.t


include "gemm_rm.pxi"
