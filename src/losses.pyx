"""Loss kernels, exposed to Python for tests."""

from cython cimport floating
from losses cimport OUT_SIGMOID, OUT_SOFTMAX, OUT_IDENTITY, output_loss, output_activation

OUTPUTS = {"sigmoid": OUT_SIGMOID, "softmax": OUT_SOFTMAX, "identity": OUT_IDENTITY}


def output_loss_(floating[:, ::1] z, const floating[:, ::1] y, floating[:, ::1] delta,
                 int kind, double scale=1.0):
    """Return (sum of per-row losses, correct count); z becomes the outputs, delta dL/dz."""
    cdef Py_ssize_t correct = 0
    cdef double total
    if y.shape[0] != z.shape[0] or y.shape[1] != z.shape[1]:
        raise ValueError("output_loss_: y must have the shape of z")
    if delta.shape[0] != z.shape[0] or delta.shape[1] != z.shape[1]:
        raise ValueError("output_loss_: delta must have the shape of z")
    with nogil:
        total = output_loss(&z[0, 0], &y[0, 0], NULL, <floating> scale, z.shape[0],
                            z.shape[1], kind, &delta[0, 0], &correct)
    return total, correct


def output_activation_(floating[:, ::1] z, int kind):
    """Logits -> outputs in place."""
    with nogil:
        output_activation(&z[0, 0], z.shape[0], z.shape[1], kind)
