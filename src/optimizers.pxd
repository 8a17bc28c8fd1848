# Parameter updates over the flat parameter buffer, one pass over memory per step with the
# L1/L2 penalty folded in.  With g the data gradient and, for weights only,
#   g' = g + l1 sign(w) + 2 l2 w        (the gradient of l1 sum|w| + l2 sum w^2)
# the rules are
#   sgd:       w <- w - lr g'
#   momentum:  v <- mu v - lr g';  w <- w + v
#   nesterov:  v <- mu v - lr g';  w <- w + mu v - lr g'
#   adam:      m <- b1 m + (1 - b1) g';  s <- b2 s + (1 - b2) g'^2;
#              w <- w - lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)

from cython cimport floating
from libc.math cimport sqrt, fabs, pow

cdef enum:
    OPT_SGD = 0
    OPT_MOMENTUM = 1
    OPT_NESTEROV = 2
    OPT_ADAM = 3


cdef struct Optimizer:
    int kind
    double learning_rate
    double momentum
    double beta1
    double beta2
    double eps
    double l1
    double l2
    long long t          # steps taken (Adam's bias correction)


cdef inline Optimizer make_optimizer(int kind, double learning_rate, double momentum,
                                     double beta1, double beta2, double eps, double l1,
                                     double l2, long long t) noexcept nogil:
    cdef Optimizer o
    o.kind = kind
    o.learning_rate = learning_rate
    o.momentum = momentum
    o.beta1 = beta1
    o.beta2 = beta2
    o.eps = eps
    o.l1 = l1
    o.l2 = l2
    o.t = t
    return o


cdef inline bint steps_in_backward(int kind, double l1, double l2) noexcept nogil:
    """Plain SGD without an L1 penalty: its step is folded into the backward pass's
    weight-gradient products (dest = params, alpha = -lr), and no gradient buffer is
    written.  An L2 penalty rides along as weight decay, the weights' beta (decay_beta)."""
    return kind == OPT_SGD and l1 == 0


cdef inline double decay_beta(double learning_rate, double l2) noexcept nogil:
    """The SGD step with an L2 penalty as one product's beta:
    w - lr (g + 2 l2 w) = (1 - 2 lr l2) w - lr g."""
    return 1 - 2 * learning_rate * l2


cdef inline floating penalty_grad(floating w, double l1, double l2) noexcept nogil:
    """d/dw (l1 |w| + l2 w^2) = l1 sign(w) + 2 l2 w."""
    cdef floating sign = (w > 0) - (w < 0)
    return <floating> (l1 * sign + 2 * l2 * w)


cdef enum:
    PENALTY_LANES = 16


cdef inline double lane_sum(const floating* w, Py_ssize_t ld, Py_ssize_t rows,
                            Py_ssize_t cols, bint squares) noexcept nogil:
    """sum w^2 (``squares``) or sum |w| over ``rows`` rows of ``cols`` values, ``ld`` apart,
    in double, in a fixed order that vectorises.

    Column j of every row goes to partial sum j mod PENALTY_LANES (16 lanes, whatever the
    vector width, so the order is the same at every ISA level), row after row; the lanes
    are then added pairwise, lane j and lane j + h for h = 8, 4, 2, 1.  One running sum
    (the order of a plain loop) is a chain of dependent additions that no compiler may
    reorder: the L2 penalty of a tiny network (2-64-64-1, batch 32) cost its SGD step a
    third of its time that way.
    """
    cdef double acc[PENALTY_LANES]
    cdef double x
    cdef Py_ssize_t i, j, r
    cdef Py_ssize_t whole = cols - cols % PENALTY_LANES
    cdef const floating* row
    for j in range(PENALTY_LANES):
        acc[j] = 0
    for r in range(rows):
        row = w + r * ld
        i = 0
        while i < whole:
            for j in range(PENALTY_LANES):
                x = row[i + j]
                acc[j] += x * x if squares else fabs(x)
            i += PENALTY_LANES
        if whole < cols:
            # the last cols mod 16 in their lanes, the other lanes adding an exact 0: the
            # accumulators are only ever indexed by constants, so they stay in registers
            for j in range(PENALTY_LANES):
                x = row[whole + j] if whole + j < cols else 0
                acc[j] += x * x if squares else fabs(x)
    for j in range(8):
        acc[j] += acc[j + 8]
    for j in range(4):
        acc[j] += acc[j + 4]
    for j in range(2):
        acc[j] += acc[j + 2]
    return acc[0] + acc[1]


cdef inline double penalty_rows(const floating* w, Py_ssize_t ld, Py_ssize_t rows,
                                Py_ssize_t cols, double l1, double l2) noexcept nogil:
    """l1 sum|w| + l2 sum w^2 over ``rows`` rows of ``cols`` values, ``ld`` apart (each sum
    by lane_sum, a penalty of 0 skipping its sum)."""
    cdef double penalty = 0
    if l1 != 0:
        penalty = l1 * lane_sum(w, ld, rows, cols, False)
    if l2 != 0:
        penalty = penalty + l2 * lane_sum(w, ld, rows, cols, True)
    return penalty


cdef inline double penalty_sum(const floating* w, Py_ssize_t n, double l1,
                               double l2) noexcept nogil:
    """l1 sum|w| + l2 sum w^2 over n contiguous values (penalty_rows of one row)."""
    return penalty_rows(w, n, 1, n, l1, l2)


cdef inline void update_segment(floating* w, const floating* g, floating* s1, floating* s2,
                                Py_ssize_t n, double l1, double l2,
                                const Optimizer* o) noexcept nogil:
    """Update n parameters in place.

    One loop per rule with no branch inside, so each vectorises; the penalty gradient is
    added in the same pass (a no-op when l1 = l2 = 0).
    """
    cdef Py_ssize_t i
    cdef floating gi, lr = <floating> o.learning_rate, mu = <floating> o.momentum
    cdef floating b1 = <floating> o.beta1, b2 = <floating> o.beta2, eps = <floating> o.eps
    # written in the loop, (1 - b1) is a double (Cython's 1.0), which took Adam's float32
    # loop through double precision: a third of a 2-64-64-1 step at batch 32 went to it
    cdef floating one_b1 = 1 - b1, one_b2 = 1 - b2
    cdef floating fl1 = <floating> l1, two_l2 = <floating> (2 * l2)
    cdef floating c1 = 1, c2 = 1
    if o.kind == OPT_ADAM:
        c1 = <floating> (1.0 / (1.0 - pow(o.beta1, <double> o.t)))
        c2 = <floating> (1.0 / (1.0 - pow(o.beta2, <double> o.t)))
    if o.kind == OPT_SGD:
        for i in range(n):
            w[i] = w[i] - lr * (g[i] + fl1 * ((w[i] > 0) - (w[i] < 0)) + two_l2 * w[i])
    elif o.kind == OPT_MOMENTUM:
        for i in range(n):
            gi = g[i] + fl1 * ((w[i] > 0) - (w[i] < 0)) + two_l2 * w[i]
            s1[i] = mu * s1[i] - lr * gi
            w[i] = w[i] + s1[i]
    elif o.kind == OPT_NESTEROV:
        for i in range(n):
            gi = g[i] + fl1 * ((w[i] > 0) - (w[i] < 0)) + two_l2 * w[i]
            s1[i] = mu * s1[i] - lr * gi
            w[i] = w[i] + mu * s1[i] - lr * gi
    else:
        for i in range(n):
            gi = g[i] + fl1 * ((w[i] > 0) - (w[i] < 0)) + two_l2 * w[i]
            s1[i] = b1 * s1[i] + one_b1 * gi
            s2[i] = b2 * s2[i] + one_b2 * gi * gi
            w[i] = w[i] - lr * (s1[i] * c1) / (<floating> sqrt(s2[i] * c2) + eps)


cdef inline void update_all(floating* params, const floating* grad, floating* s1,
                            floating* s2, const Py_ssize_t* layers, Py_ssize_t n_layers,
                            Optimizer* o) noexcept nogil:
    """One optimizer step over every layer; weights are penalised, biases never.

    ``layers`` holds (n_in, n_out, weight offset, bias offset) per layer.  The penalty
    itself (for the loss) is weights_penalty's, taken before the step.
    """
    cdef Py_ssize_t li, wo, bo, nw, nb
    cdef bint has_state = o.kind != OPT_SGD
    cdef bint has_second = o.kind == OPT_ADAM
    o.t += 1
    for li in range(n_layers):
        nw = layers[4 * li] * layers[4 * li + 1]
        nb = layers[4 * li + 1]
        wo = layers[4 * li + 2]
        bo = layers[4 * li + 3]
        update_segment(params + wo, grad + wo,
                       s1 + wo if has_state else NULL,
                       s2 + wo if has_second else NULL, nw, o.l1, o.l2, o)
        update_segment(params + bo, grad + bo,
                       s1 + bo if has_state else NULL,
                       s2 + bo if has_second else NULL, nb, 0, 0, o)


cdef inline double weights_penalty(const floating* params, const Py_ssize_t* layers,
                                   Py_ssize_t n_layers, double l1, double l2) noexcept nogil:
    """l1 sum|w| + l2 sum w^2 over every layer's weights (biases never), layer by layer."""
    cdef Py_ssize_t li
    cdef double penalty = 0
    if l1 == 0 and l2 == 0:
        return 0
    for li in range(n_layers):
        penalty += penalty_sum(params + layers[4 * li + 2], layers[4 * li] * layers[4 * li + 1],
                               l1, l2)
    return penalty


cdef inline double add_penalty(const floating* params, floating* grad, const Py_ssize_t* layers,
                               Py_ssize_t n_layers, double l1, double l2) noexcept nogil:
    """grad += penalty gradient on the weights; return l1 sum|w| + l2 sum w^2."""
    cdef Py_ssize_t li, i, wo, nw
    if l1 == 0 and l2 == 0:
        return 0
    for li in range(n_layers):
        nw = layers[4 * li] * layers[4 * li + 1]
        wo = layers[4 * li + 2]
        for i in range(wo, wo + nw):
            grad[i] = grad[i] + penalty_grad(params[i], l1, l2)
    return weights_penalty(params, layers, n_layers, l1, l2)
