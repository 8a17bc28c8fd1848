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
from libc.string cimport memcpy, memset
from libc.stdlib cimport malloc, free
from cpython.pycapsule cimport PyCapsule_New

from blas cimport (gemm, cc_vector_bytes, cc_fma512_full_rate, cc_choose_kernels,
                  cc_set_wide_tiles, cc_wide_products,
                  cc_set_split_threads,
                  cc_set_split_min_flops, cc_split_products, cc_set_sparse_density,
                  cc_sparse_products, cc_packed_products, cc_set_narrow_backward,
                  cc_narrow_passes,
                  cc_split_threads_now, cc_pair_steps, cc_duo_begin, cc_duo_step, cc_duo_end,
                  cc_duo_took, cc_set_pair_min_flops, cc_duo_run, cc_pair_step_taken,
                  cc_duo_alone, cc_set_duo_pattern, CC_PAIR_BELOW_SHARE)
from layers cimport forward, layer_forward, backward, act_offset, add_partials
from losses cimport output_loss
from optimizers cimport (Optimizer, update_all, add_penalty, weights_penalty, penalty_sum,
                         penalty_rows, steps_in_backward, decay_beta, OPT_SGD, OPT_ADAM)
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
    backward(<floating*> params, grad, 1, 0, 0, layers, n_layers, kinds, X, n, n, acts, NULL,
             NULL, delta, spare)
    penalty = add_penalty(params, grad, layers, n_layers, l1, l2)
    return total / wsum + penalty


cdef inline void copy_row(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    """dst[:n] = src[:n], inlined: a row of a batch is a few cache lines, not worth a call."""
    cdef Py_ssize_t j
    for j in range(n):
        dst[j] = src[j]


cdef inline double gather_rows(const floating* X, const floating* Y, const floating* W,
                               const Py_ssize_t* rows_at, Py_ssize_t rows, Py_ssize_t nf,
                               Py_ssize_t k, floating* xb, floating* yb,
                               floating* wb) noexcept nogil:
    """The batch of rows ``rows_at[:rows]`` of X, Y and W (NULL: unweighted) into xb, yb
    and wb; returns the sum of their weights, in order (``rows`` without weights)."""
    cdef Py_ssize_t i, r
    cdef double wsum = 0
    for i in range(rows):
        r = rows_at[i]
        copy_row(xb + i * nf, X + r * nf, nf)
        copy_row(yb + i * k, Y + r * k, k)
        if W != NULL:
            wb[i] = W[r]
            wsum += W[r]
    return wsum if W != NULL else rows


cdef enum:
    # the next batch is prefetched while both batches fit in (a typical) L2 cache
    PREFETCH_BYTES = 256 * 1024
    CACHE_LINE = 64


cdef inline void* carve(char* block, Py_ssize_t* used, Py_ssize_t bytes) noexcept nogil:
    """The next ``bytes`` of ``block`` after the ``used`` ones, whole cache lines (NULL for
    no bytes or no block: then it only counts them)."""
    cdef void* start = block + used[0] if block != NULL and bytes > 0 else NULL
    used[0] += (bytes + CACHE_LINE - 1) // CACHE_LINE * CACHE_LINE
    return start


cdef enum:
    # the pair step takes networks of up to this many layers (hidden ones and the output)
    PAIR_MAX_LAYERS = 8


cdef struct PairHalf:
    # one half of the last hidden layer's units as a network of its own: the layers below
    # it whole (both halves train them alike), then nin -> units -> k; its params laid out
    # as a network's, [the layers below, W (nin x units), b, W_out (units x k), b_out]
    # (b_out is the real one in half 0, a zero in half 1), activations twice (by the
    # step's parity), the batch, the summed logits, the deltas, and (below a hidden layer)
    # its delta W^T for the layer below: each array on cache lines of its own (as
    # crash_core/_memory.py aligns the network's), in one block per half
    Py_ssize_t units, c0
    Py_ssize_t layers[4 * PAIR_MAX_LAYERS]
    void* block
    void* params
    void* acts[2]
    void* xb
    void* yb
    void* wb
    void* z
    void* delta
    void* spare
    void* partial
    # the optimizer's: the gradient (not with plain SGD, folded into the backward pass)
    # and its state, laid out as params; a copy of the Optimizer each half steps alike
    void* grad
    void* s1
    void* s2
    Optimizer opt
    double wsum
    double loss
    Py_ssize_t correct
    # the penalty of a step's weights before it (see step_penalty), in parts: this half's
    # share (half_penalty) and, in half 0, the layers below the split one and the step's
    # batch weight; ``pen_valid`` while the pair session has not added it to the loss
    double pen_top
    double pen_lower
    double pen_wsum
    bint pen_valid
    # the other half's fields on other cache lines: each thread writes its own every step
    char apart[CACHE_LINE]


cdef struct PairEpoch:
    const void* X
    const void* Y
    const void* W
    const Py_ssize_t* order
    const int* kinds
    Py_ssize_t n, nf, k, cap, steps, step, back, n_layers
    int out_kind
    bint fused
    # this task: the loss of step ``back`` and the backward pass of the layers from the
    # split one up (``top``), the backward pass of the layers below it (``bottom``), the
    # forward pass of ``step`` (``forward``)
    bint top, bottom, forward
    PairHalf half[2]


cdef double half_penalty(const floating* w, Py_ssize_t ld, Py_ssize_t nin, Py_ssize_t units,
                         const floating* w_out, Py_ssize_t k, double l1,
                         double l2) noexcept nogil:
    """One half's share of the penalty: the weights into its ``units`` of the split layer
    (``nin`` rows of ``units``, ``ld`` apart: the whole network's arrays and the half's
    own give the same sums), then its ``units`` rows of the output layer's weights."""
    return (penalty_rows(w, ld, nin, units, l1, l2)
            + penalty_sum(w_out, units * k, l1, l2))


cdef double step_penalty(const floating* params, const Py_ssize_t* layers, Py_ssize_t n_layers,
                         Py_ssize_t first, double l1, double l2) noexcept nogil:
    """l1 sum|w| + l2 sum w^2 of a step's weights: weights_penalty; with the last hidden
    layer in two halves (``first`` > 0, its first units), in the pair step's order, so
    that one thread and two report the same loss: the layers below the split one, plus
    half 0's share, plus half 1's (half_penalty)."""
    cdef Py_ssize_t t = n_layers - 2, o = n_layers - 1
    cdef Py_ssize_t nin, nh, k
    cdef const floating* w
    cdef const floating* w_out
    if first == 0 or (l1 == 0 and l2 == 0):
        return weights_penalty(params, layers, n_layers, l1, l2)
    nin, nh, k = layers[4 * t], layers[4 * t + 1], layers[4 * o + 1]
    w = params + layers[4 * t + 2]
    w_out = params + layers[4 * o + 2]
    return ((weights_penalty(params, layers, t, l1, l2)
             + half_penalty(w, nh, nin, first, w_out, k, l1, l2))
            + half_penalty(w + first, nh, nin, nh - first, w_out + first * k, k, l1, l2))


cdef void pair_half(PairEpoch* e, int which, bint share, floating* dummy) noexcept nogil:
    """Half ``which`` of a task of the pair step (PairEpoch's ``top``, ``bottom`` and
    ``forward``, in that order).  ``share`` (the second half right after the first on the
    same thread): the batch and the output delta are copied from the first half's, the
    same values, instead of being gathered and computed again."""
    cdef PairHalf* h = &e.half[which]
    cdef PairHalf* other = &e.half[1 - which]
    cdef Py_ssize_t s = e.step, b = e.back, rows, i, n, start, ahead, middle, t
    cdef Py_ssize_t nl = e.n_layers
    cdef bint prefetching
    cdef floating* params = <floating*> h.params
    cdef floating* z = <floating*> h.z
    cdef floating* acts = <floating*> h.acts[b & 1]
    cdef floating* dest = params if e.fused else <floating*> h.grad
    cdef floating alpha = <floating> -h.opt.learning_rate if e.fused else 1
    cdef floating beta = 1 if e.fused else 0
    cdef floating wbeta = <floating> decay_beta(h.opt.learning_rate, h.opt.l2) if e.fused else 0
    cdef bint penalised = h.opt.l1 != 0 or h.opt.l2 != 0
    cdef const floating* mine
    cdef const floating* theirs
    cdef double batch_loss
    cdef Py_ssize_t batch_correct
    cdef Py_ssize_t out_off = act_offset(h.layers, nl - 1, e.cap)
    cdef bint weighs = e.W == NULL or h.wsum > 0
    rows = min(e.cap, e.n - b * e.cap)
    if e.top and weighs:
        # the logits: half 0's (with b_out) + half 1's, summed in that order on both
        n = rows * e.k
        if share:
            memcpy(h.delta, other.delta, n * sizeof(floating))
        else:
            mine = acts + out_off
            theirs = (<const floating*> other.acts[b & 1] +
                      act_offset(other.layers, nl - 1, e.cap))
            if which == 0:
                for i in range(n):
                    z[i] = mine[i] + theirs[i]
            else:
                for i in range(n):
                    z[i] = theirs[i] + mine[i]
            batch_loss = output_loss(z, <floating*> h.yb,
                                     <floating*> h.wb if e.W != NULL else NULL,
                                     <floating> (1.0 / h.wsum), rows, e.k, e.out_kind,
                                     <floating*> h.delta, &batch_correct)
            h.loss += batch_loss
            h.correct += batch_correct
        if penalised:  # this half's share, before its weights move
            h.pen_top = half_penalty(params + h.layers[4 * nl - 6], h.units, h.layers[4 * nl - 8],
                                     h.units, params + h.layers[4 * nl - 2], e.k, h.opt.l1,
                                     h.opt.l2)
            if which == 0:
                h.pen_wsum = h.wsum
                h.pen_valid = True
        # below a hidden layer, this half's delta W^T for it waits in h.partial
        backward(params, dest, alpha, beta, wbeta, h.layers, nl, e.kinds, <floating*> h.xb, rows,
                 e.cap, acts, NULL, NULL, <floating*> h.delta, <floating*> h.spare, -1,
                 <floating*> h.partial)
    if e.bottom and weighs:
        # the layers below the split one, from both halves' delta W^T added in order
        t = nl - 2
        if penalised and which == 0:  # the layers below, before they move
            h.pen_lower = weights_penalty(params, h.layers, t, h.opt.l1, h.opt.l2)
        add_partials(<floating*> h.delta, <const floating*> e.half[0].partial,
                     <const floating*> e.half[1].partial,
                     acts + act_offset(h.layers, t - 1, e.cap), rows * h.layers[4 * t],
                     e.kinds[t - 1])
        backward(params, dest, alpha, beta, wbeta, h.layers, t, e.kinds, <floating*> h.xb, rows,
                 e.cap, acts, NULL, NULL, <floating*> h.delta, <floating*> h.spare)
    if (e.bottom or (e.top and nl == 2)) and weighs:  # the step is whole
        if e.fused:
            h.opt.t += 1
        else:
            update_all(params, <floating*> h.grad, <floating*> h.s1, <floating*> h.s2,
                       h.layers, nl, &h.opt)
    if which == 1 and weighs and (e.top or e.bottom):  # half 1 has no output bias
        memset(params + h.layers[4 * nl - 1], 0, e.k * sizeof(floating))
    acts = <floating*> h.acts[s & 1]
    if e.forward and share:
        rows = min(e.cap, e.n - s * e.cap)
        memcpy(h.xb, other.xb, rows * e.nf * sizeof(floating))
        memcpy(h.yb, other.yb, rows * e.k * sizeof(floating))
        if e.W != NULL:
            memcpy(h.wb, other.wb, rows * sizeof(floating))
        h.wsum = other.wsum
        forward(params, h.layers, nl, e.kinds, e.out_kind, <floating*> h.xb, rows, e.cap,
                acts, False, NULL, NULL, NULL, NULL)
    elif e.forward:
        rows = min(e.cap, e.n - s * e.cap)
        h.wsum = gather_rows(<const floating*> e.X, <const floating*> e.Y,
                             <const floating*> e.W, e.order + s * e.cap, rows, e.nf, e.k,
                             <floating*> h.xb, <floating*> h.yb, <floating*> h.wb)
        # the next batch's rows into this core's caches while this one trains, half before
        # the forward pass and half after (as run_epoch does)
        start = (s + 1) * e.cap
        ahead = min(start + e.cap, e.n)
        middle = start + (ahead - start) // 2
        prefetching = (rows + ahead - start) * (e.nf + e.k) * sizeof(floating) <= PREFETCH_BYTES
        if prefetching:
            for i in range(start, middle):
                prefetch_row(<const floating*> e.X + e.order[i] * e.nf, e.nf, True)
                prefetch_row(<const floating*> e.Y + e.order[i] * e.k, e.k, True)
        forward(params, h.layers, nl, e.kinds, e.out_kind, <floating*> h.xb, rows, e.cap,
                acts, False, NULL, NULL, NULL, NULL)
        if prefetching:
            for i in range(middle, ahead):
                prefetch_row(<const floating*> e.X + e.order[i] * e.nf, e.nf, True)
                prefetch_row(<const floating*> e.Y + e.order[i] * e.k, e.k, True)


cdef void pair_task_f(void* arg, int begin, int end) noexcept nogil:
    cdef int which
    for which in range(begin, end):
        pair_half[float](<PairEpoch*> arg, which, which > begin, NULL)


cdef void pair_task_d(void* arg, int begin, int end) noexcept nogil:
    cdef int which
    for which in range(begin, end):
        pair_half[double](<PairEpoch*> arg, which, which > begin, NULL)


cdef inline void pair_task(PairEpoch* e, int begin, int end, floating* dummy) noexcept nogil:
    """The halves [begin, end) of the task ``e`` names, here."""
    if floating is float:
        pair_task_f(e, begin, end)
    else:
        pair_task_d(e, begin, end)


cdef inline void run_pair_task(PairEpoch* e, floating* dummy) noexcept nogil:
    """The task ``e`` names: the second half on the session's helper when it takes it."""
    if floating is float:
        cc_duo_run(pair_task_f, e)
    else:
        cc_duo_run(pair_task_d, e)


cdef Py_ssize_t pair_units(Py_ssize_t nh, Py_ssize_t lanes) noexcept nogil:
    """Units of the first half of a hidden layer of nh units: about half, whole vectors of
    ``lanes``; 0 where the second half would have less than a vector."""
    cdef Py_ssize_t first = (nh // 2 + lanes - 1) // lanes * lanes
    return first if nh - first >= lanes else 0


cdef inline void pair_move(floating* whole, floating* part, Py_ssize_t n,
                           bint back) noexcept nogil:
    """n values from ``whole`` into ``part`` (``back``: the other way)."""
    if back:
        memcpy(whole, part, n * sizeof(floating))
    else:
        memcpy(part, whole, n * sizeof(floating))


cdef void pair_copy(floating* whole, floating* halves[2], const PairEpoch* e,
                    const Py_ssize_t* layers, bint back) noexcept nogil:
    """An array laid out as the network's parameters (the parameters, the optimizer's
    state) into its two halves' (``back``: the other way, the layers below the split one
    from half 0's, which half 1's equal); the second half's b_out is 0."""
    cdef Py_ssize_t t = e.n_layers - 2, which, f, u, k = e.k
    cdef Py_ssize_t nin = layers[4 * t], nh = layers[4 * t + 1], below = layers[4 * t + 2]
    cdef const PairHalf* h
    cdef floating* part
    for which in range(2):
        h = &e.half[which]
        u = h.units
        part = halves[which]
        if below and (which == 0 or not back):
            pair_move(whole, part, below, back)
        for f in range(nin):
            pair_move(whole + layers[4 * t + 2] + f * nh + h.c0,
                      part + h.layers[4 * t + 2] + f * u, u, back)
        pair_move(whole + layers[4 * t + 3] + h.c0, part + h.layers[4 * t + 3], u, back)
        pair_move(whole + layers[4 * t + 6] + h.c0 * k, part + h.layers[4 * t + 6], u * k, back)
        if which == 0:
            pair_move(whole + layers[4 * t + 7], part + h.layers[4 * t + 7], k, back)
        elif not back:
            memset(part + h.layers[4 * t + 7], 0, k * sizeof(floating))


cdef void pair_swap(floating* params, floating* s1, floating* s2, Optimizer* opt,
                    PairEpoch* e, const Py_ssize_t* layers, bint back) noexcept nogil:
    """The network's parameters, optimizer state and step count into the halves' arrays
    (``back``: the other way)."""
    cdef floating* parts[2]
    cdef int which
    parts[0], parts[1] = <floating*> e.half[0].params, <floating*> e.half[1].params
    pair_copy(params, parts, e, layers, back)
    if opt.kind != OPT_SGD:
        parts[0], parts[1] = <floating*> e.half[0].s1, <floating*> e.half[1].s1
        pair_copy(s1, parts, e, layers, back)
    if opt.kind == OPT_ADAM:
        parts[0], parts[1] = <floating*> e.half[0].s2, <floating*> e.half[1].s2
        pair_copy(s2, parts, e, layers, back)
    if back:
        opt[0] = e.half[0].opt
    else:
        for which in range(2):
            e.half[which].opt = opt[0]


cdef double pair_epoch(floating* params, floating* grad, floating* s1, floating* s2,
                       Optimizer* opt, const Py_ssize_t* layers, Py_ssize_t n_layers,
                       const int* kinds, int out_kind, const floating* X, const floating* Y,
                       const floating* W, Py_ssize_t nf, Py_ssize_t k, const Py_ssize_t* order,
                       Py_ssize_t n, Py_ssize_t cap, floating* xb, floating* yb, floating* wb,
                       floating* acts, floating* delta, floating* spare, floating* partial,
                       Py_ssize_t first, Py_ssize_t* correct, bint* done) noexcept nogil:
    """One epoch of mini-batch training with the last hidden layer's units in two halves,
    each a network of its own (the layers below whole in both) whose logits add up to the
    whole network's.  A network of one hidden layer takes one task per step and half (the
    backward pass and the update of the last batch, then the forward pass of this one:
    each half computes the loss from both halves' logits itself); a deeper one two, as
    the layers below the split one need both halves' delta W^T: the backward pass of the
    last batch's layers below and the update, then the forward pass of this one; the loss
    and the backward pass of this one's layers from the split one up.  The second half runs
    on the pair session's helper (simd/pool.h) when it takes it, else here.  The caller
    holds a session, which this ends.  While the session runs alone (its timed blocks
    found that faster, or it ended early), the steps run on the whole network's arrays
    (``grad`` ... ``partial``, as run_epoch's) with the halves' sums (train_steps'
    ``split_at``): the same bits, at the whole step's speed.  The same bits on one thread or
    two.  Returns what run_epoch does; ``done`` False: nothing was allocated, nothing
    changed (the session ended too)."""
    cdef PairEpoch e
    cdef PairHalf* h
    cdef Py_ssize_t t = n_layers - 2, nh = layers[4 * t + 1], nin = layers[4 * t]
    cdef Py_ssize_t below = layers[4 * t + 2], which, u, j, size, s, carving, used, widest
    cdef Py_ssize_t lower_acts = 0
    cdef char* base
    cdef bint state = opt.kind != OPT_SGD, second = opt.kind == OPT_ADAM
    cdef bint in_halves = True  # the halves' arrays hold the network's latest values
    cdef bint deep = n_layers > 2, pending = False
    cdef bint penalised = opt.l1 != 0 or opt.l2 != 0
    cdef double total, ptotal = 0
    done[0] = False
    e.X = X
    e.Y = Y
    e.W = W
    e.order = order
    e.kinds = kinds
    e.n = n
    e.nf = nf
    e.k = k
    e.cap = cap
    e.n_layers = n_layers
    e.steps = (n + cap - 1) // cap
    e.out_kind = out_kind
    e.fused = steps_in_backward(opt.kind, opt.l1, opt.l2)
    e.top = e.bottom = e.forward = False
    e.half[0].block = e.half[1].block = NULL
    widest = 0  # the widest layer below the split one
    for j in range(t):
        lower_acts += layers[4 * j + 1]
        widest = max(widest, layers[4 * j + 1])
    for which in range(2):
        h = &e.half[which]
        h.units = u = first if which == 0 else nh - first
        h.c0 = 0 if which == 0 else first
        for j in range(4 * t):
            h.layers[j] = layers[j]
        h.layers[4 * t] = nin
        h.layers[4 * t + 1] = u
        h.layers[4 * t + 2] = below
        h.layers[4 * t + 3] = below + nin * u
        h.layers[4 * t + 4] = u
        h.layers[4 * t + 5] = k
        h.layers[4 * t + 6] = below + nin * u + u
        h.layers[4 * t + 7] = below + nin * u + u + u * k
        h.loss = 0
        h.correct = 0
        h.pen_valid = False
        h.pen_lower = 0
        # the arrays, carved from one block: a first pass with no block counts its bytes
        base = NULL
        for carving in range(2):
            used = 0
            size = (below + nin * u + u + u * k + k) * sizeof(floating)
            h.params = carve(base, &used, size)
            h.grad = carve(base, &used, size if not e.fused else 0)
            h.s1 = carve(base, &used, size if state else 0)
            h.s2 = carve(base, &used, size if second else 0)
            h.acts[0] = carve(base, &used, cap * (lower_acts + u + k) * sizeof(floating))
            h.acts[1] = carve(base, &used, cap * (lower_acts + u + k) * sizeof(floating))
            h.xb = carve(base, &used, cap * nf * sizeof(floating))
            h.yb = carve(base, &used, cap * k * sizeof(floating))
            h.wb = carve(base, &used, cap * sizeof(floating))
            h.z = carve(base, &used, cap * k * sizeof(floating))
            h.delta = carve(base, &used, cap * max(widest, k) * sizeof(floating))
            h.spare = carve(base, &used, cap * max(widest, u) * sizeof(floating))
            h.partial = carve(base, &used, cap * nin * sizeof(floating) if deep else 0)
            if carving == 0:
                h.block = malloc(used + CACHE_LINE)
                if h.block == NULL:
                    break
                base = <char*> h.block + (CACHE_LINE - <size_t> h.block % CACHE_LINE)
    if e.half[0].block == NULL or e.half[1].block == NULL:
        pair_free(&e)
        cc_duo_end()
        return 0
    pair_swap(params, s1, s2, opt, &e, layers, False)
    s = 0
    while s < e.steps or pending:
        cc_duo_step()
        e.back = s - 1
        if s < e.steps and cc_duo_alone():
            if in_halves:
                if pending:  # the last forward pass's backward pass, both halves here
                    e.forward = False
                    e.top = not deep
                    e.bottom = deep
                    pair_task(&e, 0, 2, <floating*> NULL)
                    pending = False
                    if penalised:
                        add_pair_penalty(&e, &ptotal)
                pair_swap(params, s1, s2, opt, &e, layers, True)
                in_halves = False
            train_steps(params, grad, s1, s2, opt, layers, n_layers, kinds, out_kind, X, Y,
                        W, nf, k, order, s * cap, min(n, (s + 1) * cap), n, cap, xb, yb, wb,
                        acts, delta, spare, partial, NULL, NULL, NULL, first,
                        &e.half[0].loss, &ptotal, &e.half[0].correct)
        else:
            if not in_halves:
                pair_swap(params, s1, s2, opt, &e, layers, False)
                in_halves = True
            e.step = s
            e.forward = s < e.steps
            e.top = pending and not deep
            e.bottom = pending and deep
            run_pair_task(&e, <floating*> NULL)
            if penalised and (e.top or e.bottom):  # the last step's penalty is whole
                add_pair_penalty(&e, &ptotal)
            pending = e.forward
            if e.forward and (W == NULL or e.half[0].wsum > 0):  # a batch that weighs
                cc_pair_step_taken()
            if deep and e.forward:  # the loss and the layers from the split one up
                e.back = s
                e.top = True
                e.bottom = e.forward = False
                run_pair_task(&e, <floating*> NULL)
        s += 1
    cc_duo_end()
    if in_halves:  # and back
        pair_swap(params, s1, s2, opt, &e, layers, True)
    correct[0] = e.half[0].correct
    total = e.half[0].loss + ptotal
    pair_free(&e)
    done[0] = True
    return total


cdef inline void add_pair_penalty(PairEpoch* e, double* ptotal) noexcept nogil:
    """Add the penalty of the step whose last task just ended (its layers below the split
    one, then each half's share, as step_penalty sums them), times its batch weight, to
    the running sum of penalties; nothing for a batch that weighed nothing."""
    if e.half[0].pen_valid:
        ptotal[0] += e.half[0].pen_wsum * (
            (e.half[0].pen_lower + e.half[0].pen_top) + e.half[1].pen_top)
        e.half[0].pen_valid = False


cdef void pair_free(PairEpoch* e) noexcept nogil:
    free(e.half[0].block)
    free(e.half[1].block)


cdef void split_forward(const floating* params, const Py_ssize_t* layers, Py_ssize_t n_layers,
                        const int* kinds, const floating* x, Py_ssize_t rows, Py_ssize_t cap,
                        floating* acts, Py_ssize_t first, floating* partial,
                        floating* zeros) noexcept nogil:
    """``forward`` (logits out) with the logits summed from the two halves of the last
    hidden layer's units, the first ``first`` units' with the bias and the rest's with a
    bias of ``zeros``, in that order: the pair step's logits, computed on the whole
    network's arrays (``partial``: rows x k of room)."""
    cdef Py_ssize_t i, li, off = 0, t = n_layers - 1
    cdef Py_ssize_t nh = layers[4 * t], k = layers[4 * t + 1]
    cdef const floating* inp = x
    cdef floating* z
    for li in range(t):
        layer_forward(params + layers[4 * li + 2], params + layers[4 * li + 3], kinds[li], inp,
                      layers[4 * li], rows, layers[4 * li], layers[4 * li + 1], acts + off,
                      NULL)
        inp = acts + off
        off += cap * layers[4 * li + 1]
    z = acts + off
    layer_forward(params + layers[4 * t + 2], params + layers[4 * t + 3], 3, inp, nh, rows,
                  first, k, z, NULL)
    layer_forward(params + layers[4 * t + 2] + first * k, zeros, 3, inp + first, nh, rows,
                  nh - first, k, partial, NULL)
    for i in range(rows * k):
        z[i] = z[i] + partial[i]


cdef void train_steps(floating* params, floating* grad, floating* s1, floating* s2,
                      Optimizer* opt, const Py_ssize_t* layers, Py_ssize_t n_layers,
                      const int* kinds, int out_kind,
                      const floating* X, const floating* Y, const floating* W,
                      Py_ssize_t nf, Py_ssize_t k, const Py_ssize_t* order, Py_ssize_t start,
                      Py_ssize_t end, Py_ssize_t n, Py_ssize_t cap, floating* xb,
                      floating* yb, floating* wb, floating* acts, floating* delta,
                      floating* spare, floating* partial, const double* rates,
                      floating* dmask, uint64_t* rng, Py_ssize_t split_at, double* total,
                      double* ptotal, Py_ssize_t* correct) noexcept nogil:
    """The mini-batch steps of the rows order[start:end] of an epoch of n (start a multiple
    of ``cap``), adding sum_i w_i L_i to ``total``, sum_batches W_b penalty_b to ``ptotal``
    (step_penalty's, of the weights before each step) and the correct count to
    ``correct``.  ``split_at`` > 0: the last hidden layer's units in two halves, its first
    ``split_at`` and the rest, whose logits (split_forward), delta for the layer below
    (backward, ``partial``: cap x its inputs) and penalty are summed as the pair step's
    halves sum them."""
    cdef Py_ssize_t rows, i, j, batch_correct, ahead, half
    cdef bint prefetching
    cdef Py_ssize_t out_off = act_offset(layers, n_layers - 1, cap)
    cdef double wsum, batch_loss, penalty
    # plain SGD without an L1 penalty needs no gradient buffer: the step is folded into the
    # backward pass's weight-gradient products, an L2 penalty's as the weights' beta
    cdef bint fused = steps_in_backward(opt.kind, opt.l1, opt.l2)
    cdef floating wbeta = <floating> decay_beta(opt.learning_rate, opt.l2)
    while start < end:
        rows = min(cap, end - start)
        wsum = gather_rows(X, Y, W, order + start, rows, nf, k, xb, yb, wb)
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
        if W != NULL and wsum <= 0:
            continue
        if split_at:
            for j in range(k):
                spare[j] = 0
            split_forward(params, layers, n_layers, kinds, xb, rows, cap, acts, split_at,
                          delta, spare)
            cc_pair_step_taken()
        else:
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
        # the penalty of the weights before the step (the fused step moves them in backward)
        penalty = step_penalty(params, layers, n_layers, split_at, opt.l1, opt.l2)
        if fused:
            backward(params, params, <floating> -opt.learning_rate, 1, wbeta, layers,
                     n_layers, kinds, xb, rows, cap, acts, rates, dmask, delta, spare,
                     split_at, partial)
            opt.t += 1
        else:
            backward(params, grad, 1, 0, 0, layers, n_layers, kinds, xb, rows, cap, acts, rates,
                     dmask, delta, spare, split_at, partial)
            update_all(params, grad, s1, s2, layers, n_layers, opt)
        total[0] += batch_loss
        ptotal[0] += wsum * penalty


cdef double run_epoch(floating* params, floating* grad, floating* s1, floating* s2,
                      Optimizer* opt, const Py_ssize_t* layers, Py_ssize_t n_layers,
                      const int* kinds, int out_kind,
                      const floating* X, const floating* Y, const floating* W,
                      Py_ssize_t nf, Py_ssize_t k, const Py_ssize_t* order, Py_ssize_t n,
                      Py_ssize_t cap, floating* xb, floating* yb, floating* wb,
                      floating* acts, floating* delta, floating* spare,
                      const double* rates, floating* dmask, uint64_t* rng,
                      Py_ssize_t* correct) noexcept nogil:
    """One epoch of mini-batch training; returns sum_i w_i L_i + sum_batches W_b penalty_b
    (each sum in the order of the batches, then the two added)."""
    cdef double total = 0, ptotal = 0
    cdef Py_ssize_t first = pair_split(layers, n_layers, cap, rates, opt,
                                          sizeof(floating))
    cdef Py_ssize_t nin = layers[4 * (n_layers - 2)] if n_layers > 1 else 0
    cdef floating* partial = NULL
    cdef bint done = False
    if first > 0 and n_layers > 2:  # the delta for the layer below, from two halves
        partial = <floating*> malloc(cap * nin * sizeof(floating))
        if partial == NULL:
            first = 0
    if first > 0:
        # with a helper held for the epoch (a second thread from the policy, the pool
        # neither busy nor resting after a late helper), the two halves; else the whole
        # step with the halves' sums on this thread, the same bits
        if cc_split_threads_now() >= 2 and cc_duo_begin(cc_set_pair_min_flops(-1) == 0):
            total = pair_epoch(params, grad, s1, s2, opt, layers, n_layers, kinds, out_kind,
                               X, Y, W, nf, k, order, n, cap, xb, yb, wb, acts, delta, spare,
                               partial, first, correct, &done)
            if done:
                free(partial)
                return total
    correct[0] = 0
    train_steps(params, grad, s1, s2, opt, layers, n_layers, kinds, out_kind, X, Y, W, nf, k,
                order, 0, n, n, cap, xb, yb, wb, acts, delta, spare, partial, rates, dmask,
                rng, first, &total, &ptotal, correct)
    free(partial)
    return total + ptotal


cdef Py_ssize_t pair_split(const Py_ssize_t* layers, Py_ssize_t n_layers, Py_ssize_t cap,
                           const double* rates, const Optimizer* opt,
                           Py_ssize_t itemsize) noexcept nogil:
    """Units of the first half (whole vectors of ``itemsize`` values) where an epoch's last
    hidden layer is split in two for the pair step, else 0.  Taken for a network trained
    without dropout whose batch's forward pass through the split layer and the
    output is worth it (src/simd/gemm.h's CC_PAIR_MIN_FLOPS; the layers below it,
    CC_PAIR_BELOW_SHARE of that at most, as both halves run them), but whose products are
    not split one by one (CC_SPLIT_MIN_FLOPS, pool.h): on two threads when the policy gave
    it them (pair_epoch); on one, the whole step with the halves' sums, the same bits.  At
    a threshold of 0 (the tests') every such epoch is split, and paired strictly on two
    threads."""
    cdef double pair_min = cc_set_pair_min_flops(-1), split_flops, below_flops = 0, most = 0
    cdef Py_ssize_t j, t = n_layers - 2, lanes = cc_vector_bytes() // itemsize
    if n_layers < 2 or n_layers > PAIR_MAX_LAYERS or lanes <= 0:
        return 0
    for j in range(n_layers - 1):
        if rates != NULL and rates[j] > 0:
            return 0
    for j in range(n_layers):
        most = max(most, 2.0 * cap * layers[4 * j] * layers[4 * j + 1])
        if j < t:
            below_flops += 2.0 * cap * layers[4 * j] * layers[4 * j + 1]
    split_flops = 2.0 * cap * layers[4 * t + 1] * (layers[4 * t] + layers[4 * t + 5])
    if pair_min != 0 and (split_flops < pair_min or most >= cc_set_split_min_flops(-1) or
                          below_flops > CC_PAIR_BELOW_SHARE * split_flops):
        return 0
    return pair_units(layers[4 * t + 1], lanes)


cdef void product(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                  const floating* a, int lda, const floating* b, int ldb, floating beta,
                  floating* c, int ldc) noexcept nogil:
    """``gemm`` (src/blas.pxd) with this level's own product kernels."""
    gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef NetworkTable _table
_table.vector_bytes = cc_vector_bytes()
_table.fma512_full_rate = cc_fma512_full_rate()
cc_choose_kernels(_table.fma512_full_rate)
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
_table.packed_products = cc_packed_products
_table.narrow_backward = cc_set_narrow_backward
_table.narrow_passes = cc_narrow_passes
_table.pair_steps = cc_pair_steps
_table.pair_halves = cc_duo_took
_table.pair_min_flops = cc_set_pair_min_flops
_table.pair_alone_steps = cc_set_duo_pattern
_table.wide_tiles = cc_set_wide_tiles
_table.wide_products = cc_wide_products

# the kernels' table, for crash_core._kernels.network
table = PyCapsule_New(&_table, TABLE_NAME, NULL)
