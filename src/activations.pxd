# Activation functions, fused with the bias add on the way forward and with the delta
# multiply on the way back.  The derivative is taken from the activation's OUTPUT a:
#   sigmoid'(z) = a (1 - a),  tanh'(z) = 1 - a^2 = (1 - a)(1 + a),  relu'(z) = 1 if a > 0 else 0.

from cython cimport floating
from libc.math cimport log, logf, fabs, fabsf

# Vector sigmoid and tanh (and the losses' e^x, ln(1 + x)): polynomials with the maximum
# errors documented in src/simd/vmath.h and checked by the tests, compiled at each
# module's ISA level like the products.
cdef extern from "simd/vmath.h" nogil:
    void cc_exp_f32(float* x, long n)
    void cc_exp_f64(double* x, long n)
    float cc_exp1_f32(float x)
    double cc_exp1_f64(double x)
    void cc_log1p_unit_f32(float* x, long n)
    void cc_log1p_unit_f64(double* x, long n)
    void cc_log_f32(float* x, long n)
    void cc_log_f64(double* x, long n)
    void cc_sigmoid_f32(float* x, long n)
    void cc_sigmoid_f64(double* x, long n)
    void cc_tanh_f32(float* x, long n)
    void cc_tanh_f64(double* x, long n)


cdef inline void vsigmoid(floating* x, Py_ssize_t n) noexcept nogil:
    """x <- sigmoid(x) in place, a vector at a time."""
    if floating is float:
        cc_sigmoid_f32(x, n)
    else:
        cc_sigmoid_f64(x, n)


cdef inline void vtanh(floating* x, Py_ssize_t n) noexcept nogil:
    """x <- tanh(x) in place, a vector at a time."""
    if floating is float:
        cc_tanh_f32(x, n)
    else:
        cc_tanh_f64(x, n)


cdef enum:
    SIGMOID = 0
    TANH = 1
    RELU = 2
    IDENTITY = 3


cdef inline floating exp1(floating x) noexcept nogil:
    """e^x for one value by the vector exp's polynomial, with a short dependency chain."""
    if floating is float:
        return cc_exp1_f32(x)
    else:
        return cc_exp1_f64(x)


cdef inline floating flog(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating fabs_(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating derivative(floating a, int kind) noexcept nogil:
    """f'(z) from a = f(z)."""
    cdef floating one = 1  # a bare 1 - a would be Cython's 1.0 - a, in double
    if kind == RELU:
        return 1 if a > 0 else 0
    if kind == SIGMOID:
        return a * (one - a)
    if kind == TANH:
        return (one - a) * (one + a)  # 1 - a^2 with no fusable multiply-add
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
        else:
            for j in range(cols):
                row[j] = row[j] + bias[j]
    if kind == SIGMOID:
        vsigmoid(z, rows * cols)
    elif kind == TANH:
        vtanh(z, rows * cols)


cdef inline void multiply_derivative(floating* delta, const floating* a, Py_ssize_t n,
                                     int kind) noexcept nogil:
    """delta <- delta * f'(z), with f'(z) taken from a = f(z), in the precision of floating
    (as the backward products' epilogue takes it)."""
    cdef Py_ssize_t i
    cdef floating one = 1  # a bare 1 - a would be Cython's 1.0 - a, in double
    if kind == RELU:
        for i in range(n):
            delta[i] = delta[i] if a[i] > 0 else 0
    elif kind == SIGMOID:
        for i in range(n):
            delta[i] = delta[i] * a[i] * (one - a[i])
    elif kind == TANH:
        for i in range(n):
            delta[i] = delta[i] * ((one - a[i]) * (one + a[i]))  # as gemm_body.h's epilogue
