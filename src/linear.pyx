"""Per-sample loops of the course's linear models, one call per epoch, no BLAS per sample.

The perceptron algorithm (step activation), for each point x in the given order:
    y_hat = step(w . x + b)            step(z) = 1 if z >= 0 else 0
    y - y_hat = +1:  w <- w + lr x,  b <- b + lr
    y - y_hat = -1:  w <- w - lr x,  b <- b - lr

Logistic regression's per-point gradient step (the course's update_weights), generalised
to k softmax outputs and with the L1/L2 penalty gradient on the weights:
    p = sigmoid(w . x + b)  (or softmax over the k scores)
    w_j <- w_j + lr ((y_j - p_j) x - l1 sign(w_j) - 2 l2 w_j),   b_j <- b_j + lr (y_j - p_j)

Weights are laid out as in ``cc.Network``: W is (n_features x k) row-major.

For one sigmoid unit on rows of at most ``early_scores_max_features()`` features, the
logistic loop computes a point's score before the step of the point before has reached w,
from the weights before it plus that step's share (``logistic_epoch`` has the formula): the
points' chain of dependent operations then holds only what the step needs.  On wider rows
the extra dot product costs more than the wait, and with softmax outputs it measured no
gain, so there each point's scores read the weights after the step.
"""

from cython cimport floating
from activations cimport exp1, flog, fabs_
from losses cimport vlog1p_unit, CHUNK
from optimizers cimport penalty_grad
from libc.stdint cimport uint64_t
from random cimport next_below
from prefetch cimport prefetch_row

# rows ahead of the current one whose memory is requested early, so a shuffled pass
# does not wait on each row
cdef enum:
    AHEAD = 8

# The most features a row may have for the logistic loop's early scores (one sigmoid unit;
# softmax outputs read the weights after each step).  Measured on a Zen 5 EPYC, float32,
# 50,000 shuffled points, one process, early / direct time a point at 20, 64, 100 and 200
# features: AVX2 0.79, 0.81, 1.00, 1.29; portable 0.70, 0.89, 1.18, 1.30; with 3 softmax
# outputs 1.01-1.06 at 5-200 features (BENCHMARKS.md, round 18).
cdef Py_ssize_t early_max = 64


def early_scores_max_features(Py_ssize_t n=-1):
    """The most features a row may have for the early scores (``n`` >= 0 sets it, 0 turns
    them off); returns the setting before."""
    global early_max
    cdef Py_ssize_t previous = early_max
    if n >= 0:
        early_max = n
    return previous


def shuffle(Py_ssize_t[::1] order, uint64_t[::1] rng):
    """Fisher-Yates shuffle of ``order`` in place, drawing from the generator state ``rng``."""
    cdef Py_ssize_t i, j, tmp
    cdef uint64_t state[4]  # a local copy, kept in registers: stores to order may alias rng
    if rng.shape[0] != 4:
        raise ValueError("shuffle: rng must hold 4 uint64 words")
    with nogil:
        for i in range(4):
            state[i] = rng[i]
        for i in range(order.shape[0] - 1, 0, -1):
            j = <Py_ssize_t> next_below(state, <uint64_t> (i + 1))
            tmp = order[i]
            order[i] = order[j]
            order[j] = tmp
        for i in range(4):
            rng[i] = state[i]


cdef extern from *:
    """
    /* The logistic loop's contiguous dot products of at least CC_WIDE_DOT terms keep
     * CC_WIDE_LANES running sums, a few vectors the compiler keeps in registers: with
     * four, a 200-term product waits on a chain of 50 multiply-adds.  Only where the build
     * has AVX2 and FMA: the portable build (SSE2, -O2) kept the sums in memory and lost
     * (BENCHMARKS.md, round 18). */
    #ifdef __AVX2__
    #define CC_WIDE_DOT 64
    #else
    #define CC_WIDE_DOT 0x7fffffff
    #endif
    #define CC_WIDE_LANES 16
    """
    Py_ssize_t WIDE_DOT "CC_WIDE_DOT"
    enum: WIDE_LANES "CC_WIDE_LANES"


cdef inline floating row_dot(const floating* x, const floating* w, Py_ssize_t n,
                             Py_ssize_t stride) noexcept nogil:
    """sum_f x[f] w[f * stride], in four running sums so the additions overlap."""
    cdef Py_ssize_t f = 0
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    if stride == 1:  # one output: contiguous weights, the common case
        while f + 4 <= n:
            s0 = s0 + x[f] * w[f]
            s1 = s1 + x[f + 1] * w[f + 1]
            s2 = s2 + x[f + 2] * w[f + 2]
            s3 = s3 + x[f + 3] * w[f + 3]
            f += 4
    while f + 4 <= n:
        s0 = s0 + x[f] * w[f * stride]
        s1 = s1 + x[f + 1] * w[(f + 1) * stride]
        s2 = s2 + x[f + 2] * w[(f + 2) * stride]
        s3 = s3 + x[f + 3] * w[(f + 3) * stride]
        f += 4
    while f < n:
        s0 = s0 + x[f] * w[f * stride]
        f += 1
    return (s0 + s1) + (s2 + s3)


cdef inline floating unit_dot(const floating* x, const floating* w,
                              Py_ssize_t n) noexcept nogil:
    """sum_f x[f] w[f] for the logistic loop of one unit: row_dot's, or from WIDE_DOT
    terms on WIDE_LANES running sums, added pairwise at the end."""
    cdef Py_ssize_t f = 0, l, q
    cdef floating acc[WIDE_LANES]
    if n < WIDE_DOT:
        return row_dot(x, w, n, 1)
    for l in range(WIDE_LANES):
        acc[l] = 0
    while f + WIDE_LANES <= n:
        for l in range(WIDE_LANES):
            acc[l] = acc[l] + x[f + l] * w[f + l]
        f += WIDE_LANES
    l = WIDE_LANES // 2
    while l >= 1:
        for q in range(l):
            acc[q] = acc[q] + acc[q + l]
        l = l // 2
    return acc[0] + row_dot(x + f, w + f, n - f, 1)


def perceptron_epoch(floating[::1] W, floating[::1] b, const floating[:, ::1] X,
                     const signed char[:, ::1] Y, const Py_ssize_t[::1] order,
                     double learning_rate):
    """One pass of the perceptron algorithm for each of k one-vs-rest perceptrons.

    ``W`` is (n_features x k) flattened, ``b`` has k entries, ``Y[i, j]`` is 1 when sample i
    belongs to class j (else 0).  Updates in place; returns the number of mistakes.
    """
    cdef Py_ssize_t n = order.shape[0], nf = X.shape[1], k = b.shape[0]
    cdef Py_ssize_t i, r, j, mistakes = 0
    cdef floating z, step_lr, lr = <floating> learning_rate
    cdef const floating* x
    cdef int diff
    if W.shape[0] != nf * k or Y.shape[1] != k or Y.shape[0] != X.shape[0]:
        raise ValueError("perceptron_epoch: W, b, X and Y do not agree")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("perceptron_epoch: order holds an index outside X")
    if nf == 0:
        raise ValueError("perceptron_epoch: X has no features; give it at least one column")
    with nogil:
        for i in range(n):
            r = order[i]
            x = next_point(&X[0, 0], nf, &order[0], i, n)
            for j in range(k):
                z = b[j] + row_dot(x, &W[j], nf, k)
                diff = Y[r, j] - (1 if z >= 0 else 0)
                if diff != 0:
                    mistakes += 1
                    step_lr = lr if diff > 0 else -lr
                    add_step(&W[j], x, step_lr, nf, k)
                    b[j] = b[j] + step_lr
    return mistakes


def logistic_epoch(floating[::1] W, floating[::1] b, const floating[:, ::1] X,
                   const floating[:, ::1] Y, const floating[::1] sample_weight, bint weighted,
                   const Py_ssize_t[::1] order, double learning_rate, double l1, double l2,
                   floating[::1] scores):
    """One epoch of per-point gradient steps; returns (sum of w_i L_i, correct count).

    Y is (n x k): 0/1 for one sigmoid unit (k = 1) or one-hot rows for softmax (k >= 2).
    Each point's loss is measured before its own update.  ``scores`` is scratch of k
    values.  With sample weights the step for point i is scaled by its weight.

    For one sigmoid unit on rows of at most ``early_scores_max_features()`` features, a
    point's score does not wait for the step of the point before (softmax outputs and
    wider rows read the weights after it).  Point i's step is w_i = u_i + e_i x_i and
    b_i = b_(i-1) + e_i, with e_i = lr s_i (y_i - p_i) (s_i its sample weight) and
    u_i = w_(i-1) - lr (l1 sign(w_(i-1)) + 2 l2 w_(i-1)), so the next point's score is
        z_(i+1) = b_(i-1) + u_i . x_(i+1) + e_i (1 + x_i . x_(i+1)):
    u_i . x_(i+1) and x_i . x_(i+1) are computed while point i's probability is, and
    e_i x_i is added to w after them.
    """
    cdef Py_ssize_t n = order.shape[0], nf = X.shape[1], k = b.shape[0], i
    cdef Py_ssize_t correct = 0
    cdef double total
    cdef bint early
    if W.shape[0] != nf * k or Y.shape[1] != k or Y.shape[0] != X.shape[0]:
        raise ValueError("logistic_epoch: W, b, X and Y do not agree")
    if scores.shape[0] < k or (weighted and sample_weight.shape[0] != X.shape[0]):
        raise ValueError("logistic_epoch: scores or sample_weight has the wrong length")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("logistic_epoch: order holds an index outside X")
    if nf == 0:
        raise ValueError("logistic_epoch: X has no features; give it at least one column")
    if n == 0:
        return 0.0, 0
    early = k == 1 and nf <= early_max
    with nogil:
        if k == 1:
            total = sigmoid_unit_epoch(&W[0], &b[0], &X[0, 0], nf, &Y[0, 0],
                                       &sample_weight[0] if weighted else NULL, &order[0], n,
                                       <floating> learning_rate, l1, l2, early, &correct)
        else:
            total = softmax_epoch(&W[0], &b[0], &X[0, 0], nf, k, &Y[0, 0],
                                  &sample_weight[0] if weighted else NULL, &order[0], n,
                                  <floating> learning_rate, l1, l2, &scores[0], &correct)
    return total, correct


cdef double sigmoid_unit_epoch(floating* w, floating* b, const floating* X, Py_ssize_t nf,
                               const floating* Y, const floating* sample_weight,
                               const Py_ssize_t* order, Py_ssize_t n, floating lr,
                               double l1, double l2, bint early,
                               Py_ssize_t* correct) noexcept nogil:
    """logistic_epoch for one sigmoid unit: p = sigmoid(z) from e = exp(-|z|), the
    step e_i = lr s_i (y_i - p_i) on the chain from one point to the next, the loss's
    ln(1 + e) a vector at a time off it; ``early``: the scores before the step is added."""
    cdef Py_ssize_t i, r, q, pending = 0, hits = 0
    cdef floating one = 1, half = 0.5
    cdef floating z, m, p, y, wi, c = 0, err = 0, bias = b[0]
    cdef const floating* x
    cdef const floating* x_prev = X
    cdef double total = 0
    cdef bint penalised = l1 != 0 or l2 != 0
    # the e of a chunk of points wait here (with their weights) for their logarithms
    cdef floating soft[CHUNK]
    cdef floating soft_w[CHUNK]
    for i in range(n):
        r = order[i]
        x = next_point(X, nf, order, i, n)
        if i > 0 and early:
            c = 1 + unit_dot(x, x_prev, nf)
        wi = sample_weight[r] if sample_weight != NULL else one
        y = Y[r]
        z = (bias + unit_dot(x, w, nf)) + err * c
        m = exp1(-fabs_(z))
        p = (one if z >= 0 else m) / (one + m)
        # -[y ln p + (1 - y) ln(1 - p)] = ln(1 + e) - y min(z, 0) - (1 - y) min(-z, 0)
        total += wi * (-y * (z if z < 0 else 0) - (one - y) * (-z if z > 0 else 0))
        soft[pending] = m
        soft_w[pending] = wi
        pending += 1
        if pending == CHUNK or i == n - 1:
            vlog1p_unit(soft, pending)
            for q in range(pending):
                total += soft_w[q] * soft[q]
            pending = 0
        hits += (p >= half) == (y >= half)
        # the step of the point before, then this point's penalty (and, not early, step)
        if i > 0 and early:
            add_step(w, x_prev, err, nf, 1)
            bias = bias + err
        if penalised:
            penalise(w, nf, 1, lr, l1, l2)
        err = lr * wi * (y - p)
        if not early:
            add_step(w, x, err, nf, 1)
            bias = bias + err
            err = 0
        x_prev = x
    add_step(w, x_prev, err, nf, 1)
    b[0] = bias + err
    correct[0] = hits
    return total


cdef double softmax_epoch(floating* W, floating* b, const floating* X, Py_ssize_t nf,
                          Py_ssize_t k, const floating* Y, const floating* sample_weight,
                          const Py_ssize_t* order, Py_ssize_t n, floating lr, double l1,
                          double l2, floating* scores, Py_ssize_t* correct) noexcept nogil:
    """logistic_epoch for k softmax outputs, each point's scores from the weights after
    the step before (the early scores measured 1.01-1.06 of this); ``scores`` holds the k
    probabilities."""
    cdef Py_ssize_t i, r, j, best, target, hits = 0
    cdef floating one = 1
    cdef floating m, s, wi, err
    cdef const floating* x
    cdef const floating* y
    cdef double total = 0, loss
    cdef bint penalised = l1 != 0 or l2 != 0
    for i in range(n):
        r = order[i]
        x = next_point(X, nf, order, i, n)
        wi = sample_weight[r] if sample_weight != NULL else one
        y = Y + r * k
        for j in range(k):
            scores[j] = b[j] + row_dot(x, W + j, nf, k)
        m = scores[0]
        best = 0
        target = 0
        for j in range(1, k):
            if scores[j] > m:
                m = scores[j]
                best = j
            if y[j] > y[target]:
                target = j
        s = 0
        loss = 0
        for j in range(k):
            loss -= y[j] * (scores[j] - m)
            scores[j] = exp1(scores[j] - m)
            s = s + scores[j]
        loss += flog(s)
        for j in range(k):
            scores[j] = scores[j] / s
        if best == target:
            hits += 1
        total += wi * loss
        # this point's penalty, then its step
        for j in range(k):
            if penalised:
                penalise(W + j, nf, k, lr, l1, l2)
            err = lr * wi * (y[j] - scores[j])
            add_step(W + j, x, err, nf, k)
            b[j] = b[j] + err
    correct[0] = hits
    return total


cdef inline const floating* next_point(const floating* X, Py_ssize_t nf,
                                       const Py_ssize_t* order, Py_ssize_t i,
                                       Py_ssize_t n) noexcept nogil:
    """Row order[i] of X; asks for the row AHEAD places on."""
    if i + AHEAD < n:
        prefetch_row(X + order[i + AHEAD] * nf, nf)
    return X + order[i] * nf


cdef inline void add_step(floating* w, const floating* x, floating err, Py_ssize_t nf,
                          Py_ssize_t stride) noexcept nogil:
    """w[f stride] += err x[f]: one output's column of W takes a point's step."""
    cdef Py_ssize_t f
    if stride == 1:
        for f in range(nf):
            w[f] = w[f] + err * x[f]
    else:
        for f in range(nf):
            w[f * stride] = w[f * stride] + err * x[f]


cdef inline void penalise(floating* w, Py_ssize_t nf, Py_ssize_t stride, floating lr,
                          double l1, double l2) noexcept nogil:
    """w <- w - lr (l1 sign(w) + 2 l2 w) over one output's column of W."""
    cdef Py_ssize_t f
    for f in range(nf):
        w[f * stride] = w[f * stride] - lr * penalty_grad(w[f * stride], l1, l2)
