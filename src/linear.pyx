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
from activations cimport sigmoid, log_sigmoid, fexp, flog
from optimizers cimport penalty_grad
from libc.math cimport fabs


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
    cdef int diff
    if W.shape[0] != nf * k or Y.shape[1] != k or Y.shape[0] != X.shape[0]:
        raise ValueError("perceptron_epoch: W, b, X and Y do not agree")
    for i in range(n):
        if order[i] < 0 or order[i] >= X.shape[0]:
            raise ValueError("perceptron_epoch: order holds an index outside X")
    with nogil:
        for i in range(n):
            r = order[i]
            for j in range(k):
                z = b[j]
                for f in range(nf):
                    z = z + X[r, f] * W[f * k + j]
                diff = Y[r, j] - (1 if z >= 0 else 0)
                if diff != 0:
                    mistakes += 1
                    step_lr = lr if diff > 0 else -lr
                    for f in range(nf):
                        W[f * k + j] = W[f * k + j] + step_lr * X[r, f]
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
    cdef floating z, m, s, lse, err, wi, lr = <floating> learning_rate
    cdef double total = 0, loss
    cdef bint penalised = l1 != 0 or l2 != 0
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
            for j in range(k):
                z = b[j]
                for f in range(nf):
                    z = z + X[r, f] * W[f * k + j]
                scores[j] = z
            if k == 1:
                z = scores[0]
                loss = -(Y[r, 0] * log_sigmoid(z) + (1 - Y[r, 0]) * log_sigmoid(-z))
                scores[0] = sigmoid(z)
                if (scores[0] >= 0.5) == (Y[r, 0] >= 0.5):
                    correct += 1
            else:
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
                for j in range(k):
                    s = s + fexp(scores[j] - m)
                lse = m + flog(s)
                loss = 0
                for j in range(k):
                    loss -= Y[r, j] * (scores[j] - lse)
                    scores[j] = fexp(scores[j] - lse)
                if best == target:
                    correct += 1
            total += wi * loss
            for j in range(k):
                err = wi * (Y[r, j] - scores[j])
                for f in range(nf):
                    if penalised:
                        W[f * k + j] = W[f * k + j] + lr * (
                            err * X[r, f] - penalty_grad(W[f * k + j], l1, l2))
                    else:
                        W[f * k + j] = W[f * k + j] + lr * err * X[r, f]
                b[j] = b[j] + lr * err
    return total, correct
