# Output layers and their losses.  Each loss is computed from the output layer's
# pre-activation z (the logits) in one pass that also writes the output delta
# dL/dz = p - y (the same simple form for all three pairs) and the probabilities:
#   sigmoid + binary cross-entropy:   L = -[y ln s(z) + (1 - y) ln s(-z)]
#   softmax + categorical x-entropy:  L = -sum_j y_j (z_j - logsumexp(z))
#   identity + squared error:         L = 0.5 sum_j (z_j - y_j)^2

from cython cimport floating
from activations cimport sigmoid, fexp, flog, flog1p, fabs_

cdef enum:
    OUT_SIGMOID = 0
    OUT_SOFTMAX = 1
    OUT_IDENTITY = 2


cdef inline double binary_cross_entropy(floating z, floating y, floating* p) noexcept nogil:
    """-[y ln s(z) + (1 - y) ln s(-z)] from the logit z; writes p = s(z).

    One exponential and one logarithm: with e = exp(-|z|), ln s(z) = min(z, 0) - ln(1 + e),
    ln s(-z) = min(-z, 0) - ln(1 + e), and s(z) = 1 / (1 + e) or e / (1 + e).
    """
    cdef floating e = fexp(-fabs_(z))
    cdef floating soft = flog1p(e)
    p[0] = 1 / (1 + e) if z >= 0 else e / (1 + e)
    return soft - y * (z if z < 0 else 0) - (1 - y) * (-z if z > 0 else 0)


cdef inline void softmax_row(floating* z, Py_ssize_t k) noexcept nogil:
    """z <- e^(z - max z) / sum_j e^(z_j - max z), in place."""
    cdef Py_ssize_t j
    cdef floating m = z[0], s = 0
    for j in range(1, k):
        if z[j] > m:
            m = z[j]
    for j in range(k):
        z[j] = fexp(z[j] - m)
        s = s + z[j]
    for j in range(k):
        z[j] = z[j] / s


cdef inline void output_activation(floating* z, Py_ssize_t rows, Py_ssize_t k,
                                   int kind) noexcept nogil:
    """Turn logits into outputs in place: sigmoid, softmax per row, or identity."""
    cdef Py_ssize_t i
    if kind == OUT_SIGMOID:
        for i in range(rows * k):
            z[i] = sigmoid(z[i])
    elif kind == OUT_SOFTMAX:
        for i in range(rows):
            softmax_row(z + i * k, k)


cdef inline Py_ssize_t argmax(const floating* x, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t j, best = 0
    for j in range(1, k):
        if x[j] > x[best]:
            best = j
    return best


cdef inline double output_loss(floating* z, const floating* y, const floating* w,
                               floating scale, Py_ssize_t rows, Py_ssize_t k, int kind,
                               floating* delta, Py_ssize_t* correct) noexcept nogil:
    """Sum over rows of w_i L_i; writes delta_i = scale w_i (p_i - y_i) and p into z.

    ``w`` may be NULL (all weights 1).  ``correct`` counts rows whose prediction
    (p >= 0.5 for sigmoid, argmax for softmax) matches the target.
    """
    cdef Py_ssize_t i, j
    cdef floating wi, zj, m, s
    cdef double total = 0, row_loss, ysum
    cdef floating* zi
    cdef const floating* yi
    cdef floating* di
    correct[0] = 0
    for i in range(rows):
        wi = 1 if w == NULL else w[i]
        zi = z + i * k
        yi = y + i * k
        di = delta + i * k
        row_loss = 0
        if kind == OUT_SIGMOID:
            for j in range(k):
                row_loss += binary_cross_entropy(zi[j], yi[j], &zi[j])
                di[j] = scale * wi * (zi[j] - yi[j])
                if (zi[j] >= 0.5) == (yi[j] >= 0.5):
                    correct[0] += 1
        elif kind == OUT_SOFTMAX:
            # L = -sum_j y_j (z_j - m - ln s) with m = max z, s = sum_j e^(z_j - m);
            # p_j = e^(z_j - m) / s, from the same exponentials (rows sum to 1)
            m = zi[0]
            for j in range(1, k):
                if zi[j] > m:
                    m = zi[j]
            s = 0
            ysum = 0
            for j in range(k):
                row_loss -= yi[j] * (zi[j] - m)
                ysum += yi[j]
                zi[j] = fexp(zi[j] - m)
                s = s + zi[j]
            row_loss += ysum * flog(s)
            for j in range(k):
                zi[j] = zi[j] / s
                di[j] = scale * wi * (zi[j] - yi[j])
            if argmax(zi, k) == argmax(yi, k):
                correct[0] += 1
        else:
            for j in range(k):
                zj = zi[j] - yi[j]
                row_loss += 0.5 * zj * zj
                di[j] = scale * wi * zj
        total += wi * row_loss
    return total
