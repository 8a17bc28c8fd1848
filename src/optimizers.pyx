"""Optimizer update kernels, exposed to Python for tests."""

from cython cimport floating
from optimizers cimport (Optimizer, OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_ADAM,
                         update_all, weights_penalty, make_optimizer)

KINDS = {"sgd": OPT_SGD, "momentum": OPT_MOMENTUM, "nesterov": OPT_NESTEROV, "adam": OPT_ADAM}


def step(floating[::1] params, const floating[::1] grad, floating[::1] state1,
         floating[::1] state2, const Py_ssize_t[:, ::1] layers, int kind, double learning_rate,
         double momentum=0.0, double beta1=0.9, double beta2=0.999, double eps=1e-8,
         double l1=0.0, double l2=0.0, long long t=0):
    """One update of ``params`` in place; returns (penalty before the step, new t).

    ``state1``/``state2`` are the velocity (momentum, nesterov) or the first/second
    moments (adam), the shape of ``params``; unused ones may have length 0.
    """
    cdef Optimizer o = make_optimizer(kind, learning_rate, momentum, beta1, beta2, eps, l1, l2, t)
    cdef double penalty
    n = params.shape[0]
    if grad.shape[0] != n:
        raise ValueError("step: grad must have the length of params")
    if kind != OPT_SGD and state1.shape[0] != n:
        raise ValueError("step: state1 must have the length of params")
    if kind == OPT_ADAM and state2.shape[0] != n:
        raise ValueError("step: state2 must have the length of params")
    if layers.shape[1] != 4:
        raise ValueError("step: layers must have 4 columns")
    with nogil:
        penalty = weights_penalty(&params[0], &layers[0, 0], layers.shape[0], l1, l2)
        update_all(&params[0], &grad[0],
                             &state1[0] if state1.shape[0] else NULL,
                             &state2[0] if state2.shape[0] else NULL,
                             &layers[0, 0], layers.shape[0], &o)
    return penalty, o.t
