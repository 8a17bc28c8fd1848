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
"""

from cython cimport floating
from activations cimport fexp, flog, fabs_
from losses cimport bce_from, vlog1p_unit, CHUNK
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
    """
    cdef Py_ssize_t n = order.shape[0], nf = X.shape[1], k = b.shape[0]
    cdef Py_ssize_t i, r, f, j, mistakes = 0
    cdef floating z, step_lr, lr = <floating> learning_rate
    cdef const floating* x
    cdef floating* w
    cdef int diff
    if W.shape[0] != nf * k or Y.shape[1] != k or Y.shape[0] != X.shape[0]:
        raise ValueError("perceptron_epoch: W, b, X and Y do not agree")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("perceptron_epoch: order holds an index outside X")
    with nogil:
        for i in range(n):
            r = order[i]
            if i + AHEAD < n:
                prefetch_row(&X[order[i + AHEAD], 0], nf)
            x = &X[r, 0]
            for j in range(k):
                z = b[j] + row_dot(x, &W[j], nf, k)
                diff = Y[r, j] - (1 if z >= 0 else 0)
                if diff != 0:
                    mistakes += 1
                    step_lr = lr if diff > 0 else -lr
                    w = &W[j]
                    if k == 1:
                        for f in range(nf):
                            w[f] = w[f] + step_lr * x[f]
                    else:
                        for f in range(nf):
                            w[f * k] = w[f * k] + step_lr * x[f]
                    b[j] = b[j] + step_lr
    return mistakes


def logistic_epoch(floating[::1] W, floating[::1] b, const floating[:, ::1] X,
                   const floating[:, ::1] Y, const floating[::1] sample_weight, bint weighted,
                   const Py_ssize_t[::1] order, double learning_rate, double l1, double l2,
                   floating[::1] scores):
    """One epoch of per-point gradient steps; returns (sum of w_i L_i, correct count).

    Y is (n x k): 0/1 for one sigmoid unit (k = 1) or one-hot rows for softmax (k >= 2).
    Each point's loss is measured before its own update.  ``scores`` is scratch of k values.
    With sample weights the step for point i is scaled by its weight.
    """
    cdef Py_ssize_t n = order.shape[0], nf = X.shape[1], k = b.shape[0]
    cdef Py_ssize_t i, r, f, j, best, target, correct = 0
    cdef floating z, m, s, err, wi, lr = <floating> learning_rate
    cdef const floating* x
    cdef floating* w
    cdef double total = 0, loss
    cdef bint penalised = l1 != 0 or l2 != 0
    # one sigmoid unit: the step needs e = exp(-|z|) at once, the loss's ln(1 + e) only in
    # the sum, so the e of a chunk of points wait here (with their weights) and take
    # their logarithms a vector at a time
    cdef floating soft[CHUNK]
    cdef floating soft_w[CHUNK]
    cdef Py_ssize_t pending = 0, q
    if W.shape[0] != nf * k or Y.shape[1] != k or Y.shape[0] != X.shape[0]:
        raise ValueError("logistic_epoch: W, b, X and Y do not agree")
    if scores.shape[0] < k or (weighted and sample_weight.shape[0] != X.shape[0]):
        raise ValueError("logistic_epoch: scores or sample_weight has the wrong length")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("logistic_epoch: order holds an index outside X")
    with nogil:
        for i in range(n):
            r = order[i]
            wi = sample_weight[r] if weighted else 1
            if i + AHEAD < n:
                prefetch_row(&X[order[i + AHEAD], 0], nf)
            x = &X[r, 0]
            if k == 1:
                z = b[0] + row_dot(x, &W[0], nf, 1)
                m = fexp(-fabs_(z))
                loss = bce_from(z, Y[r, 0], m, 0, &scores[0])  # ln(1 + m) added below
                soft[pending] = m
                soft_w[pending] = wi
                pending += 1
                if pending == CHUNK or i == n - 1:
                    vlog1p_unit(soft, pending)
                    for q in range(pending):
                        total += soft_w[q] * soft[q]
                    pending = 0
                if (scores[0] >= 0.5) == (Y[r, 0] >= 0.5):
                    correct += 1
            else:
                for j in range(k):
                    scores[j] = b[j] + row_dot(x, &W[j], nf, k)
                m = scores[0]
                best = 0
                target = 0
                for j in range(1, k):
                    if scores[j] > m:
                        m = scores[j]
                        best = j
                    if Y[r, j] > Y[r, target]:
                        target = j
                s = 0
                loss = 0
                for j in range(k):
                    loss -= Y[r, j] * (scores[j] - m)
                    scores[j] = fexp(scores[j] - m)
                    s = s + scores[j]
                loss += flog(s)
                for j in range(k):
                    scores[j] = scores[j] / s
                if best == target:
                    correct += 1
            total += wi * loss
            for j in range(k):
                err = lr * wi * (Y[r, j] - scores[j])
                w = &W[j]
                if penalised:
                    for f in range(nf):
                        w[f * k] = w[f * k] + err * x[f] - lr * penalty_grad(w[f * k], l1, l2)
                elif k == 1:
                    for f in range(nf):
                        w[f] = w[f] + err * x[f]
                else:
                    for f in range(nf):
                        w[f * k] = w[f * k] + err * x[f]
                b[j] = b[j] + err
    return total, correct
