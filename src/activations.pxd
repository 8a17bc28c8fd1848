# Activation functions, fused with the bias add on the way forward and with the delta
# multiply on the way back.  The derivative is taken from the activation's OUTPUT a:
#   sigmoid'(z) = a (1 - a),  tanh'(z) = 1 - a^2,  relu'(z) = 1 if a > 0 else 0.

from cython cimport floating
from libc.math cimport exp, expf, tanh, tanhf, log, logf, log1p, log1pf, fabs, fabsf

cdef enum:
    SIGMOID = 0
    TANH = 1
    RELU = 2
    IDENTITY = 3


cdef inline floating fexp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating flog(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating flog1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating fabs_(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating sigmoid(floating z) noexcept nogil:
    """sigmoid(z) = 1 / (1 + e^-z), never overflowing."""
    cdef floating e
    if z >= 0:
        return 1 / (1 + fexp(-z))
    e = fexp(z)
    return e / (1 + e)


cdef inline floating activate(floating z, int kind) noexcept nogil:
    if kind == RELU:
        return z if z > 0 else 0
    if kind == SIGMOID:
        return sigmoid(z)
    if kind == TANH:
        if floating is float:
            return tanhf(z)
        else:
            return tanh(z)
    return z


cdef inline floating derivative(floating a, int kind) noexcept nogil:
    """f'(z) from a = f(z)."""
    if kind == RELU:
        return 1 if a > 0 else 0
    if kind == SIGMOID:
        return a * (1 - a)
    if kind == TANH:
        return 1 - a * a
    return 1


cdef inline void add_bias_activate(floating* z, const floating* bias, Py_ssize_t rows,
                                   Py_ssize_t cols, int kind) noexcept nogil:
    """z[i, j] <- f(z[i, j] + bias[j]) in place."""
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating v
    for i in range(rows):
        row = z + i * cols
        if kind == RELU:
            # branch-free, so the compiler vectorises it (signs are random: no prediction)
            for j in range(cols):
                v = row[j] + bias[j]
                row[j] = v if v > 0 else 0
        elif kind == IDENTITY:
            for j in range(cols):
                row[j] = row[j] + bias[j]
        else:
            for j in range(cols):
                row[j] = activate(row[j] + bias[j], kind)


cdef inline void multiply_derivative(floating* delta, const floating* a, Py_ssize_t n,
                                     int kind) noexcept nogil:
    """delta <- delta * f'(z), with f'(z) taken from a = f(z)."""
    cdef Py_ssize_t i
    if kind == RELU:
        for i in range(n):
            delta[i] = delta[i] if a[i] > 0 else 0
    elif kind == SIGMOID:
        for i in range(n):
            delta[i] = delta[i] * a[i] * (1 - a[i])
    elif kind == TANH:
        for i in range(n):
            delta[i] = delta[i] * (1 - a[i] * a[i])
