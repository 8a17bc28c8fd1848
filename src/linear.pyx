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

Both loops compute a point's scores before the step of the point before has reached W,
from the weights before it plus that step's share (each function's docstring has the
formula), so the points' chain of dependent operations holds only what the step needs.
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


def shuffle(Py_ssize_t[::1] order, uint64_t[::1] rng):
    """Fisher-Yates shuffle of ``order`` in place, drawing from the generator state ``rng``."""
    cdef Py_ssize_t i, j, tmp
    if rng.shape[0] != 4:
        raise ValueError("shuffle: rng must hold 4 uint64 words")
    with nogil:
        for i in range(order.shape[0] - 1, 0, -1):
            j = <Py_ssize_t> next_below(&rng[0], <uint64_t> (i + 1))
            tmp = order[i]
            order[i] = order[j]
            order[j] = tmp


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


def perceptron_epoch(floating[::1] W, floating[::1] b, const floating[:, ::1] X,
                     const signed char[:, ::1] Y, const Py_ssize_t[::1] order,
                     double learning_rate):
    """One pass of the perceptron algorithm for each of k one-vs-rest perceptrons.

    ``W`` is (n_features x k) flattened, ``b`` has k entries, ``Y[i, j]`` is 1 when sample i
    belongs to class j (else 0).  Updates in place; returns the number of mistakes.

    The k perceptrons learn apart, so each takes the whole pass in turn.  A point's score
    does not wait for the step of the point before (s_i = lr (y_i - step(z_i)), 0 where
    the point is classified right): z_(i+1) = b_(i-1) + w_(i-1) . x_(i+1)
    + s_i (1 + x_i . x_(i+1)), and s_i x_i is added to w after it (adding 0 x_i leaves w
    as it is), so the loop has no branch on the mistakes.
    """
    cdef Py_ssize_t n = order.shape[0], nf = X.shape[1], k = b.shape[0]
    cdef Py_ssize_t i, j, mistakes = 0
    if W.shape[0] != nf * k or Y.shape[1] != k or Y.shape[0] != X.shape[0]:
        raise ValueError("perceptron_epoch: W, b, X and Y do not agree")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("perceptron_epoch: order holds an index outside X")
    if nf == 0:
        raise ValueError("perceptron_epoch: X has no features; give it at least one column")
    if n == 0:
        return 0
    with nogil:
        for j in range(k):
            mistakes += perceptron_pass(&W[j], k, &b[j], &X[0, 0], nf, &Y[0, j], k,
                                        &order[0], n, <floating> learning_rate)
    return mistakes


cdef Py_ssize_t perceptron_pass(floating* w, Py_ssize_t k, floating* b, const floating* X,
                                Py_ssize_t nf, const signed char* y, Py_ssize_t ystride,
                                const Py_ssize_t* order, Py_ssize_t n,
                                floating lr) noexcept nogil:
    """perceptron_epoch for one perceptron: weights w[f k], bias b[0], labels y[r ystride];
    returns its mistakes."""
    cdef Py_ssize_t i, r, mistakes = 0
    cdef floating z, c = 0, step = 0, bias = b[0]
    cdef const floating* x
    cdef const floating* x_prev = X
    cdef int diff
    for i in range(n):
        r = order[i]
        x = next_point(X, nf, order, i, n, x_prev, &c)
        z = (bias + row_dot(x, w, nf, k)) + step * c
        # the step of the point before
        if i > 0:
            add_step(w, x_prev, step, nf, k)
            bias = bias + step
        diff = y[r * ystride] - (z >= 0)
        mistakes += diff != 0
        step = lr * diff
        x_prev = x
    add_step(w, x_prev, step, nf, k)
    b[0] = bias + step
    return mistakes


def logistic_epoch(floating[::1] W, floating[::1] b, const floating[:, ::1] X,
                   const floating[:, ::1] Y, const floating[::1] sample_weight, bint weighted,
                   const Py_ssize_t[::1] order, double learning_rate, double l1, double l2,
                   floating[::1] scores):
    """One epoch of per-point gradient steps; returns (sum of w_i L_i, correct count).

    Y is (n x k): 0/1 for one sigmoid unit (k = 1) or one-hot rows for softmax (k >= 2).
    Each point's loss is measured before its own update.  ``scores`` is scratch of 2k
    values.  With sample weights the step for point i is scaled by its weight.

    A point's scores do not wait for the step of the point before.  Point i's step is
    W_i = U_i + x_i e_i^T and b_i = b_(i-1) + e_i, with e_i = lr w_i (y_i - p_i) and
    U_i = W_(i-1) - lr (l1 sign(W_(i-1)) + 2 l2 W_(i-1)), so the next point's scores are
        z_(i+1) = b_(i-1) + U_i^T x_(i+1) + e_i (1 + x_i . x_(i+1)):
    U_i^T x_(i+1) and x_i . x_(i+1) are computed while point i's probabilities are, and
    x_i e_i^T is added to W after them.
    """
    cdef Py_ssize_t n = order.shape[0], nf = X.shape[1], k = b.shape[0], i
    cdef Py_ssize_t correct = 0
    cdef double total
    if W.shape[0] != nf * k or Y.shape[1] != k or Y.shape[0] != X.shape[0]:
        raise ValueError("logistic_epoch: W, b, X and Y do not agree")
    if scores.shape[0] < 2 * k or (weighted and sample_weight.shape[0] != X.shape[0]):
        raise ValueError("logistic_epoch: scores or sample_weight has the wrong length")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("logistic_epoch: order holds an index outside X")
    if nf == 0:
        raise ValueError("logistic_epoch: X has no features; give it at least one column")
    if n == 0:
        return 0.0, 0
    with nogil:
        if k == 1:
            total = sigmoid_unit_epoch(&W[0], &b[0], &X[0, 0], nf, &Y[0, 0],
                                       &sample_weight[0] if weighted else NULL, &order[0], n,
                                       <floating> learning_rate, l1, l2, &correct)
        else:
            total = softmax_epoch(&W[0], &b[0], &X[0, 0], nf, k, &Y[0, 0],
                                  &sample_weight[0] if weighted else NULL, &order[0], n,
                                  <floating> learning_rate, l1, l2, &scores[0], &correct)
    return total, correct


cdef double sigmoid_unit_epoch(floating* w, floating* b, const floating* X, Py_ssize_t nf,
                               const floating* Y, const floating* sample_weight,
                               const Py_ssize_t* order, Py_ssize_t n, floating lr,
                               double l1, double l2, Py_ssize_t* correct) noexcept nogil:
    """logistic_epoch for one sigmoid unit: p = sigmoid(z) from e = exp(-|z|), the
    step e_i = lr w_i (y_i - p_i) on the chain from one point to the next, the loss's
    ln(1 + e) a vector at a time off it."""
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
        x = next_point(X, nf, order, i, n, x_prev, &c)
        wi = sample_weight[r] if sample_weight != NULL else one
        y = Y[r]
        z = (bias + row_dot(x, w, nf, 1)) + err * c
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
        # the step of the point before, then this point's penalty
        if i > 0:
            add_step(w, x_prev, err, nf, 1)
            bias = bias + err
        if penalised:
            penalise(w, nf, 1, lr, l1, l2)
        err = lr * wi * (y - p)
        x_prev = x
    add_step(w, x_prev, err, nf, 1)
    b[0] = bias + err
    correct[0] = hits
    return total


cdef double softmax_epoch(floating* W, floating* b, const floating* X, Py_ssize_t nf,
                          Py_ssize_t k, const floating* Y, const floating* sample_weight,
                          const Py_ssize_t* order, Py_ssize_t n, floating lr, double l1,
                          double l2, floating* scores, Py_ssize_t* correct) noexcept nogil:
    """logistic_epoch for k softmax outputs; ``scores`` holds k probabilities, then the
    k steps waiting to be added."""
    cdef Py_ssize_t i, r, j, best, target, hits = 0
    cdef floating one = 1
    cdef floating m, s, c = 0, wi
    cdef floating* err = scores + k
    cdef const floating* x
    cdef const floating* x_prev = X
    cdef const floating* y
    cdef double total = 0, loss
    cdef bint penalised = l1 != 0 or l2 != 0
    for j in range(k):
        err[j] = 0
    for i in range(n):
        r = order[i]
        x = next_point(X, nf, order, i, n, x_prev, &c)
        wi = sample_weight[r] if sample_weight != NULL else one
        y = Y + r * k
        for j in range(k):
            scores[j] = (b[j] + row_dot(x, W + j, nf, k)) + err[j] * c
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
        # the steps of the point before, then this point's penalty
        for j in range(k):
            if i > 0:
                add_step(W + j, x_prev, err[j], nf, k)
                b[j] = b[j] + err[j]
            if penalised:
                penalise(W + j, nf, k, lr, l1, l2)
            err[j] = lr * wi * (y[j] - scores[j])
        x_prev = x
    for j in range(k):
        add_step(W + j, x_prev, err[j], nf, k)
        b[j] = b[j] + err[j]
    correct[0] = hits
    return total


cdef inline const floating* next_point(const floating* X, Py_ssize_t nf,
                                       const Py_ssize_t* order, Py_ssize_t i, Py_ssize_t n,
                                       const floating* x_prev, floating* c) noexcept nogil:
    """Row order[i] of X, with c = 1 + x_(i-1) . x_i for i > 0; asks for the row AHEAD
    places on."""
    cdef const floating* x = X + order[i] * nf
    if i + AHEAD < n:
        prefetch_row(X + order[i + AHEAD] * nf, nf)
    if i > 0:
        c[0] = 1 + row_dot(x, x_prev, nf, 1)
    return x


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
