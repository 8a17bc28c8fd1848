"""The multi-layer network kernels: feedforward, loss + backpropagation, and the epoch.

``train_epoch_`` is the one training path: a single call trains one epoch of mini-batch
gradient descent (gather a shuffled batch into a preallocated buffer, feed forward,
compute the loss and output delta, backpropagate, update every parameter) with the GIL
released throughout and no allocation per batch.  The Python layer allocates every
buffer once per fit (see ``crash_core.network.EpochTrainer``).

This module is compiled once: it checks every argument, then runs the nogil kernels of one
ISA level (``src/network_kernels.pyx``, compiled once per level) through their table of C
function pointers.  The module-level functions run the level ``crash_core._kernels``
selected at import; ``at_level(level)`` gives the same functions bound to another level's
kernels (the tests check every level this CPU runs).
"""

from cython cimport floating
from libc.stdint cimport uint64_t
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.pycapsule cimport PyCapsule_GetPointer

from optimizers cimport Optimizer, OPT_SGD, OPT_ADAM, make_optimizer, steps_in_backward
from network_table cimport NetworkTable, TABLE_NAME

import importlib

from crash_core import _kernels as _dispatch


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
    cdef Py_ssize_t li, total = 0
    for li in range(layers.shape[0]):
        total += layers[li, 1]
    return total


cdef Py_ssize_t _widest(const Py_ssize_t[:, ::1] layers):
    cdef Py_ssize_t li, widest = 0
    for li in range(layers.shape[0]):
        widest = max(widest, layers[li, 1])  # the inputs never get a delta
    return widest


cdef class Kernels:
    """The network kernels of one ISA level, behind the argument checks.

    Its methods are the module's functions (``forward_``, ``evaluate_``,
    ``loss_and_grad_``, ``train_epoch_``, ``gemm_rm``, ``split_threads_``,
    ``split_min_flops_``, ``split_products_``, ``sparse_density_``,
    ``sparse_products_``, ``packed_products_``, ``narrow_backward_``, ``narrow_passes_``,
    ``wide_tiles_``, ``wide_products_``, ``pair_steps_``, ``pair_halves_``,
    ``pair_min_flops_``, ``pair_alone_steps_``); ``level``
    names the ISA level and ``VECTOR_BYTES`` the bytes per vector of its own product kernels
    (0: BLAS does every product); ``FMA512_FULL_RATE`` says whether this core runs a 512-bit
    FMA at a 256-bit one's rate (measured when the AVX-512 build is imported; False at the
    other levels), which turns the AVX-512 level's wide tiles on (see ``wide_tiles_``).
    """

    cdef const NetworkTable* table
    cdef readonly str level
    cdef readonly object module
    cdef readonly int VECTOR_BYTES
    cdef readonly bint FMA512_FULL_RATE

    def __init__(self, str level, module):
        """The kernels of ``module``, the build of ``network_kernels`` at ``level``."""
        self.table = <const NetworkTable*> PyCapsule_GetPointer(module.table, TABLE_NAME)
        self.level = level
        self.module = module
        self.VECTOR_BYTES = self.table.vector_bytes
        self.FMA512_FULL_RATE = self.table.fma512_full_rate

    def __repr__(self):
        return f"<crash_core network kernels, {self.level} level>"

    def forward_(self, const floating[::1] params, const Py_ssize_t[:, ::1] layers,
                 const int[::1] kinds, int out_kind, const floating[:, ::1] X,
                 floating[:, ::1] out, floating[::1] acts, Py_ssize_t cap):
        """Outputs of the network for X, written into ``out``, ``cap`` rows at a time.

        ``acts`` must hold cap x (sum of layer widths) values.  Returns False when X holds
        NaN or infinity (the outputs are then meaningless).
        """
        cdef Py_ssize_t n = X.shape[0], nf = X.shape[1], k = out.shape[1]
        cdef Py_ssize_t n_layers = layers.shape[0]
        cdef bint nonfinite
        _check_layers(layers, kinds, out_kind, params.shape[0], nf, k)
        if out.shape[0] != n:
            raise ValueError("out must have one row per sample")
        if cap < 1 or not _holds(acts.shape[0], cap, _total_width(layers)):
            raise ValueError("acts is too small for cap rows")
        if n == 0:
            return True
        with nogil:
            if floating is float:
                nonfinite = self.table.forward_rows_f(
                    &params[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], n, &out[0, 0], k, &acts[0], cap)
            else:
                nonfinite = self.table.forward_rows_d(
                    &params[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], n, &out[0, 0], k, &acts[0], cap)
        return not nonfinite

    def evaluate_(self, const floating[::1] params, const Py_ssize_t[:, ::1] layers,
                  const int[::1] kinds, int out_kind, const floating[:, ::1] X,
                  const floating[:, ::1] Y, const floating[::1] sample_weight, bint weighted,
                  floating[::1] acts, floating[::1] delta, Py_ssize_t cap):
        """Loss without gradient: (sum_i w_i L_i, correct count), ``cap`` rows at a time.

        ``acts`` holds cap x (sum of widths) values, ``delta`` cap x (output width).
        """
        cdef Py_ssize_t n = X.shape[0], k = Y.shape[1], n_layers = layers.shape[0]
        cdef Py_ssize_t correct = 0
        cdef double total = 0
        cdef const floating* w
        _check_layers(layers, kinds, out_kind, params.shape[0], X.shape[1], k)
        if Y.shape[0] != n or (weighted and sample_weight.shape[0] != n) or cap < 1:
            raise ValueError("X, Y and sample_weight do not agree")
        if (not _holds(acts.shape[0], cap, _total_width(layers))
                or not _holds(delta.shape[0], cap, k)):
            raise ValueError("work buffers are too small")
        if n == 0:
            return total, correct
        w = &sample_weight[0] if weighted else NULL
        with nogil:
            if floating is float:
                total = self.table.evaluate_rows_f(
                    &params[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], &Y[0, 0], w, n, k, &acts[0], &delta[0], cap, &correct)
            else:
                total = self.table.evaluate_rows_d(
                    &params[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], &Y[0, 0], w, n, k, &acts[0], &delta[0], cap, &correct)
        return total, correct

    def loss_and_grad_(self, const floating[::1] params, floating[::1] grad,
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
        cdef double loss, wsum = 0
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
            if floating is float:
                loss = self.table.loss_and_grad_f(
                    &params[0], &grad[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], &Y[0, 0], w, wsum, n, k, l1, l2, &acts[0], &delta[0],
                    &spare[0], &correct)
            else:
                loss = self.table.loss_and_grad_d(
                    &params[0], &grad[0], &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], &Y[0, 0], w, wsum, n, k, l1, l2, &acts[0], &delta[0],
                    &spare[0], &correct)
        return loss, correct

    def train_epoch_(self, floating[::1] params, const Py_ssize_t[:, ::1] layers,
                     const int[::1] kinds, int out_kind, const floating[:, ::1] X,
                     const floating[:, ::1] Y, const floating[::1] sample_weight,
                     bint weighted, const Py_ssize_t[::1] order, Py_ssize_t batch_size,
                     int optimizer, double learning_rate, double momentum, double beta1,
                     double beta2, double eps, double l1, double l2, long long t,
                     floating[::1] state1, floating[::1] state2,
                     const double[::1] rates, bint use_dropout, uint64_t[::1] rng,
                     floating[::1] grad, floating[::1] xb, floating[::1] yb,
                     floating[::1] wb, floating[::1] acts, floating[::1] delta,
                     floating[::1] spare, floating[::1] dmask):
        """Train one epoch; returns (summed loss, correct count, optimizer steps so far).

        Buffers (allocated once per fit by the caller): ``grad`` like params (or empty
        for plain SGD without an L1 penalty, whose step needs no gradient buffer); ``xb``,
        ``yb``, ``wb`` one batch of inputs, targets and weights; ``acts`` and ``dmask``
        batch x (sum of widths); ``delta``, ``spare`` batch x (widest layer output);
        ``rng`` four uint64 words, advanced in place.  Shapes are checked here once; the
        loop itself never checks.
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
        if (not _holds(acts.shape[0], cap, total_width)
                or not _holds(delta.shape[0], cap, widest)
                or not _holds(spare.shape[0], cap, widest)):
            raise ValueError("work buffers are too small")
        # plain SGD without an L1 penalty steps inside the backward pass: no gradient buffer
        if grad.shape[0] != params.shape[0] and (
                grad.shape[0] != 0 or not steps_in_backward(optimizer, l1, l2)):
            raise ValueError("grad must have the length of params (or be empty for plain "
                             "SGD without an L1 penalty)")
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
            if floating is float:
                total = self.table.run_epoch_f(
                    &params[0], &grad[0] if grad.shape[0] else NULL,
                    &state1[0] if optimizer != OPT_SGD else NULL,
                    &state2[0] if optimizer == OPT_ADAM else NULL,
                    &o, &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], &Y[0, 0], &sample_weight[0] if weighted else NULL,
                    nf, k, &order[0], n, cap, &xb[0], &yb[0], &wb[0],
                    &acts[0], &delta[0], &spare[0],
                    &rates[0] if use_dropout else NULL,
                    &dmask[0] if use_dropout else NULL, &rng[0], &correct)
            else:
                total = self.table.run_epoch_d(
                    &params[0], &grad[0] if grad.shape[0] else NULL,
                    &state1[0] if optimizer != OPT_SGD else NULL,
                    &state2[0] if optimizer == OPT_ADAM else NULL,
                    &o, &layers[0, 0], n_layers, kinds_ptr(kinds), out_kind,
                    &X[0, 0], &Y[0, 0], &sample_weight[0] if weighted else NULL,
                    nf, k, &order[0], n, cap, &xb[0], &yb[0], &wb[0],
                    &acts[0], &delta[0], &spare[0],
                    &rates[0] if use_dropout else NULL,
                    &dmask[0] if use_dropout else NULL, &rng[0], &correct)
        return total, correct, o.t

    def split_threads_(self, int threads):
        """Threads over which the calling thread's large products split their rows (1: no
        split; the helpers are started on first use); returns the previous count.  The
        result never depends on it: each output element is computed the same way."""
        return self.table.split_threads(threads)

    def split_min_flops_(self, double flops=-1):
        """The fewest FLOPs (2 m n k) a product needs to be split: sets it and returns the
        previous value, or (no argument) only returns it."""
        return self.table.split_min_flops(flops)

    def split_products_(self):
        """How many products this level's kernels have split over threads so far."""
        return self.table.split_products()

    def sparse_density_(self, double density=-1):
        """The largest share of nonzeros in a product's A for which the product skips A's
        zeros (ReLU activations, masked deltas; 0: never; AVX2 takes products of fewer
        than eight vectors of columns at proportionally lower shares, 1 takes every one):
        sets it and returns the previous value, or (no argument) only returns it.  The
        result never depends on it (for finite weights)."""
        return self.table.sparse_density(density)

    def narrow_backward_(self, double on=-1):
        """Whether the backward pass through a layer of at most 4 units (a sigmoid or linear
        output, a few classes) takes the one-pass kernel: sets it (1 or 0) and returns the
        previous value, or (no argument) only returns it.  The result never depends on it."""
        return self.table.narrow_backward(on)

    def wide_tiles_(self, double on=-1):
        """Whether products of 4 or more vectors of columns take the AVX-512 level's tiles of
        4 rows x 4 vectors (on where ``FMA512_FULL_RATE``; always 0 at the other levels):
        sets it (1 or 0) and returns the previous value, or (no argument) only returns it.
        The result never depends on it."""
        return self.table.wide_tiles(on)

    def wide_products_(self):
        """How many row ranges of products (one a thread) have taken the wide tiles so far."""
        return self.table.wide_products()

    def narrow_passes_(self):
        """How many backward passes this level's kernels have taken in one pass so far."""
        return self.table.narrow_passes()

    def pair_steps_(self):
        """How many training steps this level's kernels have run as the pair step (the
        last hidden layer's units in two halves) so far."""
        return self.table.pair_steps()

    def pair_halves_(self):
        """How many halves of pair steps this level's helper thread has run so far."""
        return self.table.pair_halves()

    def pair_min_flops_(self, double flops=-1):
        """The fewest forward FLOPs of a batch through the last hidden layer and the
        output, 2 rows (n_in n_hidden + n_hidden n_out), for which an epoch (no dropout, no
        penalty; the layers below at most ``CC_PAIR_BELOW_SHARE`` of that) runs the pair
        step (the last hidden layer's units in two halves, on two threads when it has
        them): sets it and returns the previous value, or (no argument) only returns it.
        The pair step sums the logits, and the delta for the layer below, from the two
        halves, so it moves a fit by rounding; the thread count never does."""
        return self.table.pair_min_flops(flops)

    def pair_alone_steps_(self, double pattern=-1):
        """The steps of each epoch that a pair step at a threshold of 0 (every epoch with
        two threads paired, the helper running every second half) runs on the calling
        thread alone, on the whole network's arrays: step s when bit s % 32 of the pattern
        is set.  Sets it and returns the previous value, or (no argument) only returns it.
        Tests use it to switch between the halves and the whole network mid-epoch, as
        the pair session does when one thread is faster; results never depend on it."""
        return self.table.pair_alone_steps(pattern)

    def sparse_products_(self):
        """How many products this level's kernels have run skipping A's zeros so far."""
        return self.table.sparse_products()

    def packed_products_(self):
        """How many products this level's kernels have run with B's blocks of columns
        copied into panels so far."""
        return self.table.packed_products()

    def gemm_rm(self, const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
                bint trans_a=False, bint trans_b=False, double alpha=1.0, double beta=0.0):
        """c = alpha op(a) op(b) + beta c, in place on ``c`` (row-major arrays), through
        this level's product kernels (or BLAS, for the shapes they leave to it)."""
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
            if floating is float:
                self.table.gemm_f(trans_a, trans_b, m, n, k, <floating> alpha, &a[0, 0],
                                  a.shape[1], &b[0, 0], b.shape[1], <floating> beta,
                                  &c[0, 0], n)
            else:
                self.table.gemm_d(trans_a, trans_b, m, n, k, <floating> alpha, &a[0, 0],
                                  a.shape[1], &b[0, 0], b.shape[1], <floating> beta,
                                  &c[0, 0], n)


_builds = {}


def at_level(str level):
    """The kernels built at ISA ``level`` (avx512, avx2 or portable), as a ``Kernels``.

    Only a level the CPU runs may be asked for (``crash_core._kernels.cpu_levels``):
    another level's code would crash the process at its first instruction.
    """
    if level not in _builds:
        name = "network_kernels" if level == "portable" else f"network_kernels_{level}"
        _builds[level] = Kernels(level, importlib.import_module(f"{_dispatch.__name__}.{name}"))
    return _builds[level]


# the level crash_core._kernels selected (CRASH_CORE_KERNELS, else the best the CPU runs)
_active = Kernels(_dispatch.kernel_level("network_kernels"), _dispatch.select("network_kernels"))
_builds[_active.level] = _active
LEVEL = _active.level
VECTOR_BYTES = _active.VECTOR_BYTES
FMA512_FULL_RATE = _active.FMA512_FULL_RATE
forward_ = _active.forward_
evaluate_ = _active.evaluate_
loss_and_grad_ = _active.loss_and_grad_
train_epoch_ = _active.train_epoch_
gemm_rm = _active.gemm_rm
split_threads_ = _active.split_threads_
split_min_flops_ = _active.split_min_flops_
split_products_ = _active.split_products_
sparse_density_ = _active.sparse_density_
sparse_products_ = _active.sparse_products_
packed_products_ = _active.packed_products_
narrow_backward_ = _active.narrow_backward_
narrow_passes_ = _active.narrow_passes_
wide_tiles_ = _active.wide_tiles_
wide_products_ = _active.wide_products_
pair_steps_ = _active.pair_steps_
pair_halves_ = _active.pair_halves_
pair_min_flops_ = _active.pair_min_flops_
pair_alone_steps_ = _active.pair_alone_steps_
