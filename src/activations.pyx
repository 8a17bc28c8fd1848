"""Activation kernels, exposed to Python for tests."""

from cython cimport floating
from activations cimport (SIGMOID, TANH, RELU, IDENTITY, add_bias_activate,
                          multiply_derivative)

NAMES = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "identity": IDENTITY}


def add_bias_activate_(floating[:, ::1] z, const floating[::1] bias, int kind):
    """z <- f(z + bias) in place (row-wise bias)."""
    if bias.shape[0] != z.shape[1]:
        raise ValueError("add_bias_activate_: bias length must equal the columns of z")
    with nogil:
        add_bias_activate(&z[0, 0], &bias[0], z.shape[0], z.shape[1], kind)


def multiply_derivative_(floating[::1] delta, const floating[::1] a, int kind):
    """delta <- delta * f'(z), f'(z) computed from a = f(z), in place."""
    if a.shape[0] != delta.shape[0]:
        raise ValueError("multiply_derivative_: delta and a differ in length")
    with nogil:
        multiply_derivative(&delta[0], &a[0], delta.shape[0], kind)
