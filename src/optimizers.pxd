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
    """Plain SGD without penalties: its step is folded into the backward pass's
    weight-gradient products, and no gradient buffer is written."""
    return kind == OPT_SGD and l1 == 0 and l2 == 0


cdef inline floating penalty_grad(floating w, double l1, double l2) noexcept nogil:
    """d/dw (l1 |w| + l2 w^2) = l1 sign(w) + 2 l2 w."""
    cdef floating sign = (w > 0) - (w < 0)
    return <floating> (l1 * sign + 2 * l2 * w)


cdef inline double update_segment(floating* w, const floating* g, floating* s1, floating* s2,
                                  Py_ssize_t n, double l1, double l2,
                                  const Optimizer* o) noexcept nogil:
    """Update n parameters in place; return l1 sum|w| + l2 sum w^2 before the update.

    One loop per rule with no branch inside, so each vectorises; the penalty gradient is
    added in the same pass (a no-op when l1 = l2 = 0).
    """
    cdef Py_ssize_t i
    cdef double penalty = 0
    cdef floating gi, lr = <floating> o.learning_rate, mu = <floating> o.momentum
    cdef floating b1 = <floating> o.beta1, b2 = <floating> o.beta2, eps = <floating> o.eps
    cdef floating fl1 = <floating> l1, two_l2 = <floating> (2 * l2)
    cdef floating c1 = 1, c2 = 1
    if l1 != 0 or l2 != 0:
        for i in range(n):
            penalty += l1 * fabs(w[i]) + l2 * w[i] * w[i]
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
            s1[i] = b1 * s1[i] + (1 - b1) * gi
            s2[i] = b2 * s2[i] + (1 - b2) * gi * gi
            w[i] = w[i] - lr * (s1[i] * c1) / (<floating> sqrt(s2[i] * c2) + eps)
    return penalty


cdef inline double update_all(floating* params, const floating* grad, floating* s1,
                              floating* s2, const Py_ssize_t* layers, Py_ssize_t n_layers,
                              Optimizer* o) noexcept nogil:
    """One optimizer step over every layer; weights are penalised, biases never.

    ``layers`` holds (n_in, n_out, weight offset, bias offset) per layer.  Returns the
    penalty of the weights before the step.
    """
    cdef Py_ssize_t li, wo, bo, nw, nb
    cdef double penalty = 0
    cdef bint has_state = o.kind != OPT_SGD
    cdef bint has_second = o.kind == OPT_ADAM
    o.t += 1
    for li in range(n_layers):
        nw = layers[4 * li] * layers[4 * li + 1]
        nb = layers[4 * li + 1]
        wo = layers[4 * li + 2]
        bo = layers[4 * li + 3]
        penalty += update_segment(params + wo, grad + wo,
                                  s1 + wo if has_state else NULL,
                                  s2 + wo if has_second else NULL, nw, o.l1, o.l2, o)
        update_segment(params + bo, grad + bo,
                       s1 + bo if has_state else NULL,
                       s2 + bo if has_second else NULL, nb, 0, 0, o)
    return penalty


cdef inline double add_penalty(const floating* params, floating* grad, const Py_ssize_t* layers,
                               Py_ssize_t n_layers, double l1, double l2) noexcept nogil:
    """grad += penalty gradient on the weights; return l1 sum|w| + l2 sum w^2."""
    cdef Py_ssize_t li, i, wo, nw
    cdef double penalty = 0
    if l1 == 0 and l2 == 0:
        return 0
    for li in range(n_layers):
        nw = layers[4 * li] * layers[4 * li + 1]
        wo = layers[4 * li + 2]
        for i in range(wo, wo + nw):
            penalty += l1 * fabs(params[i]) + l2 * params[i] * params[i]
            grad[i] = grad[i] + penalty_grad(params[i], l1, l2)
    return penalty
