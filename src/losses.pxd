# Output layers and their losses.  Each loss is computed from the output layer's
# pre-activation z (the logits) in one pass that also writes the output delta
# dL/dz = p - y (the same simple form for all three pairs) and the probabilities:
#   sigmoid + binary cross-entropy:   L = -[y ln s(z) + (1 - y) ln s(-z)]
#   softmax + categorical x-entropy:  L = -sum_j y_j (z_j - logsumexp(z))
#   identity + squared error:         L = 0.5 sum_j (z_j - y_j)^2

from cython cimport floating
from activations cimport (vsigmoid, fabs_, cc_exp_f32, cc_exp_f64, cc_log1p_unit_f32,
                          cc_log1p_unit_f64, cc_log_f32, cc_log_f64)

# The output layers' losses a vector at a time (src/simd/vmath_body.h): outputs in place
# and, given targets, the output delta, the weighted loss and the correct count, the same
# outputs and deltas to the bit as the element-by-element code below.  Each returns 0,
# touching nothing, where not built; the softmax rows also for fewer than 4 or more than 64
# classes.
cdef extern from "simd/vmath.h" nogil:
    int cc_softmax_rows_f32(float* z, long rows, int k, const float* y, const float* w,
                            float scale, float* delta, double* total, long* correct)
    int cc_softmax_rows_f64(double* z, long rows, int k, const double* y, const double* w,
                            double scale, double* delta, double* total, long* correct)
    int cc_sigmoid_xent_f32(float* z, long rows, int k, const float* y, const float* w,
                            float scale, float* delta, double* total, long* correct)
    int cc_sigmoid_xent_f64(double* z, long rows, int k, const double* y, const double* w,
                            double scale, double* delta, double* total, long* correct)


cdef inline bint sigmoid_xent(floating* z, Py_ssize_t rows, Py_ssize_t k, const floating* y,
                              const floating* w, floating scale, floating* delta,
                              double* total, long* correct) noexcept nogil:
    """Sigmoid outputs in place, the delta, the binary cross-entropy (added to ``total``)
    and the correct count (added to ``correct``) a vector at a time (src/simd/vmath_body.h);
    False, touching nothing, where the vector code is not built."""
    if floating is float:
        return cc_sigmoid_xent_f32(z, rows, <int> k, y, w, scale, delta, total, correct)
    else:
        return cc_sigmoid_xent_f64(z, rows, <int> k, y, w, scale, delta, total, correct)


cdef inline bint softmax_rows(floating* z, Py_ssize_t rows, Py_ssize_t k, const floating* y,
                              const floating* w, floating scale, floating* delta,
                              double* total, long* correct) noexcept nogil:
    """Softmax of each row of z in place and, with targets y (NULL: none), the delta, the
    loss (added to ``total``) and the correct count (added to ``correct``); False,
    touching nothing, for the widths the vector code leaves to the caller."""
    if floating is float:
        return cc_softmax_rows_f32(z, rows, <int> k, y, w, scale, delta, total, correct)
    else:
        return cc_softmax_rows_f64(z, rows, <int> k, y, w, scale, delta, total, correct)


cdef enum:
    CHUNK = 256  # elements whose ln(1 + e) one stack buffer holds


cdef inline void vexp(floating* x, Py_ssize_t n) noexcept nogil:
    """x <- e^x in place, a vector at a time."""
    if floating is float:
        cc_exp_f32(x, n)
    else:
        cc_exp_f64(x, n)


cdef inline void vlog(floating* x, Py_ssize_t n) noexcept nogil:
    """x <- ln x in place, a vector at a time."""
    if floating is float:
        cc_log_f32(x, n)
    else:
        cc_log_f64(x, n)


cdef inline void vlog1p_unit(floating* x, Py_ssize_t n) noexcept nogil:
    """x <- ln(1 + x) in place for 0 <= x <= 1, a vector at a time."""
    if floating is float:
        cc_log1p_unit_f32(x, n)
    else:
        cc_log1p_unit_f64(x, n)

cdef enum:
    OUT_SIGMOID = 0
    OUT_SOFTMAX = 1
    OUT_IDENTITY = 2


cdef inline double bce_from(floating z, floating y, floating e, floating soft,
                            floating* p) noexcept nogil:
    """-[y ln s(z) + (1 - y) ln s(-z)] given e = exp(-|z|) and soft = ln(1 + e); p = s(z).

    ln s(z) = min(z, 0) - ln(1 + e), ln s(-z) = min(-z, 0) - ln(1 + e), and
    s(z) = 1 / (1 + e) or e / (1 + e).
    """
    p[0] = 1 / (1 + e) if z >= 0 else e / (1 + e)
    return soft - y * (z if z < 0 else 0) - (1 - y) * (-z if z > 0 else 0)


# softmax(z)_j = e^(z_j - max z) / sum_l e^(z_l - max z), in three passes over a block of
# rows: subtract each row's max, exponentiate the whole block, normalise each row.
cdef inline floating subtract_max(floating* z, Py_ssize_t k) noexcept nogil:
    """z <- z - max z; returns max z."""
    cdef Py_ssize_t j
    cdef floating m = z[0]
    for j in range(1, k):
        if z[j] > m:
            m = z[j]
    for j in range(k):
        z[j] = z[j] - m
    return m


cdef inline floating normalize(floating* e, Py_ssize_t k) noexcept nogil:
    """e <- e (1 / sum e) (one division a row, not one per class); returns the sum."""
    cdef Py_ssize_t j
    cdef floating s = 0, inverse
    for j in range(k):
        s = s + e[j]
    inverse = 1 / s
    for j in range(k):
        e[j] = e[j] * inverse
    return s


cdef inline void output_activation(floating* z, Py_ssize_t rows, Py_ssize_t k,
                                   int kind) noexcept nogil:
    """Turn logits into outputs in place: sigmoid, softmax per row, or identity."""
    cdef Py_ssize_t i
    if kind == OUT_SIGMOID:
        vsigmoid(z, rows * k)
    elif kind == OUT_SOFTMAX:
        if softmax_rows(z, rows, k, <const floating*> NULL, <const floating*> NULL, 1,
                        <floating*> NULL, NULL, NULL):
            return
        for i in range(rows):
            subtract_max(z + i * k, k)
        vexp(z, rows * k)
        for i in range(rows):
            normalize(z + i * k, k)


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
    (p >= 0.5 for sigmoid, argmax for softmax) matches the target.  The exponentials and
    logarithms of a whole block are taken a vector at a time.
    """
    cdef Py_ssize_t i, j, q, start, stop, n = rows * k
    cdef floating wi, zj
    cdef floating soft[CHUNK]
    cdef double factor[CHUNK]
    cdef double total = 0, row_loss, ysum
    cdef floating* zi
    cdef const floating* yi
    cdef floating* di
    cdef long hits = 0
    correct[0] = 0
    if kind == OUT_SIGMOID:
        if sigmoid_xent(z, rows, k, y, w, scale, delta, &total, &hits):
            correct[0] = hits
            return total
        # element by element where the vector code is not built:
        # e = exp(-|z|) for the block (held in delta), ln(1 + e) a chunk at a time
        for q in range(n):
            delta[q] = -fabs_(z[q])
        vexp(delta, n)
        start = 0
        while start < n:
            stop = min(start + CHUNK, n)
            for q in range(start, stop):
                soft[q - start] = delta[q]
            vlog1p_unit(soft, stop - start)
            for q in range(start, stop):
                wi = 1 if w == NULL else w[q // k]
                total += wi * bce_from(z[q], y[q], delta[q], soft[q - start], &z[q])
                delta[q] = scale * wi * (z[q] - y[q])
                if (z[q] >= 0.5) == (y[q] >= 0.5):
                    correct[0] += 1
            start = stop
        return total
    if kind == OUT_SOFTMAX:
        if softmax_rows(z, rows, k, y, w, scale, delta, &total, &hits):
            correct[0] = hits
            return total
        # element by element (few classes, many classes, no vector types):
        # L = -sum_j y_j (z_j - m - ln s) with m = max z, s = sum_j e^(z_j - m);
        # p_j = e^(z_j - m) / s, from the same exponentials (rows sum to 1)
        for i in range(rows):
            zi = z + i * k
            subtract_max(zi, k)
            row_loss = 0
            for j in range(k):
                row_loss -= y[i * k + j] * zi[j]
            total += (1 if w == NULL else w[i]) * row_loss
        vexp(z, n)
        # the rows' sums s and their factors w_i sum_j y_j a chunk at a time, then the
        # chunk's logarithms a vector at a time, so that no row calls the C library's log
        start = 0
        while start < rows:
            stop = min(start + CHUNK, rows)
            for i in range(start, stop):
                wi = 1 if w == NULL else w[i]
                zi = z + i * k
                yi = y + i * k
                di = delta + i * k
                soft[i - start] = normalize(zi, k)
                ysum = 0
                for j in range(k):
                    ysum += yi[j]
                    di[j] = scale * wi * (zi[j] - yi[j])
                factor[i - start] = wi * ysum
                if argmax(zi, k) == argmax(yi, k):
                    correct[0] += 1
            vlog(soft, stop - start)
            for i in range(start, stop):
                total += factor[i - start] * soft[i - start]
            start = stop
        return total
    for i in range(rows):
        wi = 1 if w == NULL else w[i]
        zi = z + i * k
        yi = y + i * k
        di = delta + i * k
        row_loss = 0
        for j in range(k):
            zj = zi[j] - yi[j]
            row_loss += 0.5 * zj * zj
            di[j] = scale * wi * zj
        total += wi * row_loss
    return total
