/* One element type's vector exp and log1p; included by vmath.h once per type with
 *   T, V (vector of T), VI (vector of same-width integers), L (lanes), FN(name),
 *   and the constants EXP_LO / EXP_HI / ROUND / EXP_TERMS / LOG_TERMS / MANT / BIAS. */

/* y = x if mask else y, lane by lane (mask lanes are all ones or all zeros) */
static CC_INLINE V FN(select)(VI mask, V x, V y) {
    return (V)(((VI)x & mask) | ((VI)y & ~mask));
}

/* The losses' running sums: a double lane per lane of V (the loss kernels below add a
 * batch's weighted losses lane by lane, each lane's values in order, and the correct
 * predictions in integer lanes); add_lanes adds them up once at the end.  (Added value by
 * value into one double, each sum waited on the last: a 32-row batch of one sigmoid unit
 * took 64 ns against 44, AVX-512, float32, Zen 5; 37 weighted rows 148 against 110.) */
typedef double FN(lanes_d) __attribute__((vector_size(L * sizeof(double))));

/* Lane l holds l. */
static CC_INLINE VI FN(lane_index)(void) {
    VI lane;
    for (int l = 0; l < L; l++) lane[l] = l;
    return lane;
}

/* *total += the sum of the loss lanes, *correct += the sum of the count lanes. */
static CC_INLINE void FN(add_lanes)(const FN(lanes_d)* losses, VI hits, double* total,
                                    long* correct) {
    double sum = 0;
    long count = 0;
    for (int l = 0; l < L; l++) {
        sum += (*losses)[l];
        count += hits[l];
    }
    *total += sum;
    *correct += count;
}

/* 1 / j! for j = 0 .. 13 (rounded from exact values) */
static const T FN(inv_factorial)[14] = {
    (T)1.0, (T)1.0, (T)0.5, (T)1.6666666666666666e-1, (T)4.1666666666666664e-2,
    (T)8.3333333333333332e-3, (T)1.3888888888888889e-3, (T)1.9841269841269841e-4,
    (T)2.4801587301587302e-5, (T)2.7557319223985893e-6, (T)2.7557319223985888e-7,
    (T)2.5052108385441720e-8, (T)2.0876756987868100e-9, (T)1.6059043836821613e-10};

/* e^x = 2^n e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split
 * in two so n ln 2 is exact); e^r by its Taylor polynomial through r^EXP_TERMS
 * (truncation error (ln2/2)^(EXP_TERMS+1) / (EXP_TERMS+1)! < half an ulp). */
static CC_INLINE V FN(exp_v)(V x) {
    V xc = FN(select)((VI)(x < EXP_LO), (V){0} + EXP_LO, x);
    xc = FN(select)((VI)(xc > EXP_HI), (V){0} + EXP_HI, xc);
    V n = (xc * (T)1.4426950408889634 + ROUND) - ROUND;  /* round to nearest */
    V r = xc - n * (T)0.693145751953125;
    r = r - n * (T)1.4286068203094172321e-6;
    V p = (V){0} + FN(inv_factorial)[EXP_TERMS];
    CC_UNROLL for (int j = EXP_TERMS - 1; j >= 0; j--) p = p * r + FN(inv_factorial)[j];
    /* 2^n in two factors, so that n = 128 (x near the top of the float range) works */
    VI ni = __builtin_convertvector(n, VI);
    VI half = ni >> 1;
    V y = p * (V)((half + BIAS) << MANT) * (V)((ni - half + BIAS) << MANT);
    y = FN(select)((VI)(x < EXP_LO), (V){0}, y);                        /* underflow: 0 */
    y = FN(select)((VI)(x > EXP_HI), (V){0} + (T)__builtin_inf(), y);   /* overflow */
    return FN(select)((VI)(x != x), x, y);                              /* NaN stays */
}

/* e^x for one value, for loops that wait on each result before the next (the per-point
 * logistic step): exp_v's reduction and Taylor polynomial, the polynomial evaluated in
 * Estrin's scheme (neighbouring terms paired with r, the pairs paired with r^2, then r^4,
 * ...), which puts about half as many multiply-adds in a row as Horner's rule does, and
 * 2^n in one factor.  So n <= BIAS: above x = (BIAS + 1/2) ln 2 (88.38 for float32,
 * 709.44 for float64) it gives inf, a little below exp_v's overflow (the callers pass
 * x <= 0).  Otherwise the same special values as exp_v; its error is checked with
 * exp_v's. */
static CC_INLINE T FN(exp1)(T x) {
    T xc = x < EXP_LO ? (T)EXP_LO : x > EXP_HI ? (T)EXP_HI : x;
    T n = (xc * (T)1.4426950408889634 + ROUND) - ROUND;  /* round to nearest */
    T r = xc - n * (T)0.693145751953125;
    r = r - n * (T)1.4286068203094172321e-6;
    T c[EXP_TERMS + 1];
    CC_UNROLL for (int j = 0; j <= EXP_TERMS; j++) c[j] = FN(inv_factorial)[j];
    T power = r;
    CC_UNROLL for (int count = EXP_TERMS + 1; count > 1; count = (count + 1) / 2) {
        CC_UNROLL for (int j = 0; 2 * j < count; j++)
            c[j] = 2 * j + 1 < count ? c[2 * j] + power * c[2 * j + 1] : c[2 * j];
        power = power * power;
    }
    TI ni = (TI)n;
    TI bits = (ni + BIAS) << MANT;
    T scale;
    memcpy(&scale, &bits, sizeof scale);
    T y = c[0] * scale;
    if (x != x) return x;
    return x < EXP_LO ? (T)0 : x > EXP_HI ? (T)__builtin_inf() : y;
}

/* ln(1 + x) for 0 <= x <= 1: with t = x / (2 + x) in [0, 1/3],
 * ln(1 + x) = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), through t^(2 LOG_TERMS + 1). */
static CC_INLINE V FN(log1p_v)(V x) {
    V t = x / (x + (T)2);
    V t2 = t * t;
    V s = (V){0} + (T)1 / (T)(2 * LOG_TERMS + 1);
    CC_UNROLL for (int j = LOG_TERMS - 1; j >= 0; j--) s = s * t2 + (T)1 / (T)(2 * j + 1);
    return (T)2 * t * s;
}

/* tanh x = x - x^3/3 + 2 x^5/15 - ...: its Taylor coefficients (exact values rounded) */
static const T FN(tanh_taylor)[19] = {
    (T)1.0, (T)-0.3333333333333333, (T)0.13333333333333333, (T)-0.05396825396825397,
    (T)0.021869488536155203, (T)-0.008863235529902197, (T)0.003592128036572481,
    (T)-0.0014558343870513183, (T)0.000590027440945586, (T)-0.00023912911424355248,
    (T)9.691537956929451e-05, (T)-3.927832388331683e-05, (T)1.5918905069328964e-05,
    (T)-6.451689215655431e-06, (T)2.6147711512907546e-06, (T)-1.0597268320104654e-06,
    (T)4.294911078273806e-07, (T)-1.7406618963571648e-07, (T)7.054636946400968e-08};

/* sigmoid(z) = 1 / (1 + e^-z) = e^z / (1 + e^z), from e = e^-|z| so it never overflows. */
static CC_INLINE V FN(sigmoid_v)(V z) {
    VI negative = (VI)(z < 0);
    V e = FN(exp_v)(FN(select)(negative, z, -z));
    V p = (T)1 / ((T)1 + e);
    return FN(select)(negative, e * p, p);
}

/* tanh z: below |z| = 0.55 its Taylor polynomial through z^(2 TANH_TERMS - 1) (truncation
 * under half an ulp); above, sign(z) (1 - 2 / (1 + e^(2|z|))), where 2 / (1 + e^(2|z|))
 * <= 1/2, so the subtraction loses nothing; e^(2|z|) = inf gives 1. */
static CC_INLINE V FN(tanh_v)(V z) {
    VI negative = (VI)(z < 0);
    V a = FN(select)(negative, -z, z);
    V z2 = z * z;
    V s = (V){0} + FN(tanh_taylor)[TANH_TERMS - 1];
    CC_UNROLL for (int j = TANH_TERMS - 2; j >= 0; j--) s = s * z2 + FN(tanh_taylor)[j];
    V big = (T)1 - (T)2 / ((T)1 + FN(exp_v)(a + a));
    return FN(select)((VI)(a < (T)0.55), z * s, FN(select)(negative, -big, big));
}

/* ln x = e ln 2 + ln(1 + f) with x = 2^e (1 + f), 1 + f in [sqrt(1/2), sqrt(2)) (ln 2
 * split in two as in exp_v, so e ln 2 is exact; subnormal x scaled by 2^MANT first), ln(1 + f)
 * by log1p_v's series (|t| <= 0.172 here).  0 gives -inf, inf gives inf, x < 0 and NaN give
 * NaN. */
static CC_INLINE V FN(log_v)(V x) {
    VI subnormal = (VI)(x < NORMAL_MIN);
    V xs = FN(select)(subnormal, x * (T)(1LL << MANT), x);
    VI bits = (VI)xs;
    VI e = ((bits >> MANT) & ((VI){0} + (2 * BIAS + 1))) - BIAS;
    e -= subnormal & ((VI){0} + MANT);
    V m = (V)((bits & ((VI){0} + ((((__typeof__(bits[0]))1) << MANT) - 1))) |
              ((VI){0} + ((__typeof__(bits[0]))BIAS << MANT)));
    VI high = (VI)(m > (T)1.4142135623730951);
    m = FN(select)(high, m * (T)0.5, m);
    e -= high;  /* the comparison's lanes are -1 where true */
    V n = __builtin_convertvector(e, V);
    V y = n * (T)1.4286068203094172321e-6 + FN(log1p_v)(m - (T)1);
    y = y + n * (T)0.693145751953125;
    y = FN(select)((VI)(x == (T)0), (V){0} - (T)__builtin_inf(), y);
    y = FN(select)((VI)(x == (T)__builtin_inf()), x, y);
    return FN(select)((VI)(x < (T)0) | (VI)(x != x), (V){0} + (T)__builtin_nan(""), y);
}

enum { FN(softmax_max_k) = 64 };

/* The R <= L rows of k values at x (rows k apart) into a class-major block: out[j L + r] =
 * x[r k + j] (gemm_body.h's transpose), the lanes past R zero. */
static CC_INLINE void FN(to_lanes)(const T* x, int R, int k, T* out) {
    if (R < L) memset(out, 0, sizeof(T) * (size_t)k * L);
    FN(transpose)(R, k, x, k, out, L, 0);
}

/* The inverse of to_lanes: x[r k + j] = block[j L + r] for the R rows. */
static CC_INLINE void FN(from_lanes)(const T* block, int R, int k, T* x) {
    FN(transpose)(k, R, block, L, x, k, 0);
}

/* Softmax of each of ``rows`` rows of k logits (rows k apart) in place, L rows at a time
 * with a row in each lane: the rows' classes are copied into a class-major block, so that
 * each step below is one vector operation for L rows, and the results copied back.  Per
 * row, in the order of the element-by-element code in losses.pxd (so the probabilities
 * and deltas are the same to the bit): m = max_j z_j, e_j = e^(z_j - m), s = e_0 + e_1 +
 * ... + e_(k-1), p_j = e_j (1 / s).  With targets y (NULL: the probabilities only):
 * delta = (scale w_i) (p - y) (w NULL: every w_i = 1); w_i L_i, L_i = ln s sum_j y_j -
 * sum_j y_j (z_j - m), added to *total in double lanes (a lane's rows in order, then the
 * lanes; a row's weight loaded a vector at a time); *correct counts the rows whose first
 * largest p is at y's first largest.  Returns 0, touching nothing, for k < 4 and k >
 * softmax_max_k: the caller computes those element by element.  (Zen 4, float32: 64 rows
 * of 10 classes 2.5-2.8 us element by element, 1.2-1.3 us this way; 16 rows of 3 classes
 * 0.16-0.24 us either way, 64 rows of 2 classes 0.42-0.51 against 0.60-0.67 us.) */
static CC_UNUSED int FN(softmax_rows)(T* z, long rows, int k, const T* y, const T* w, T scale,
                                      T* delta, double* total, long* correct) {
    T zt[FN(softmax_max_k) * L], yt[FN(softmax_max_k) * L], lanes[L];
    FN(lanes_d) losses = (FN(lanes_d)){0}; /* a row's loss in its lane's sum (add_lanes) */
    VI hits = (VI){0};
    const VI lane = FN(lane_index)();
    if (k < 4 || k > FN(softmax_max_k)) return 0;
    for (long g = 0; g < rows; g += L) {
        const int R = rows - g < L ? (int)(rows - g) : L;
        const VI in = (VI)(lane < R); /* the lanes of rows (all but in the last group) */
        FN(to_lanes)(z + g * k, R, k, zt);
        if (y != NULL) FN(to_lanes)(y + g * k, R, k, yt);
        V m = FN(load)(zt);
        for (int j = 1; j < k; j++) {
            V zj = FN(load)(zt + j * L);
            m = FN(select)((VI)(zj > m), zj, m);
        }
        V sum = (V){0}, yz = (V){0}, ysum = (V){0};
        for (int j = 0; j < k; j++) {
            V zs = FN(load)(zt + j * L) - m;
            if (y != NULL) {
                V yj = FN(load)(yt + j * L);
                yz += yj * zs;
                ysum += yj;
            }
            V e = FN(exp_v)(zs);
            FN(store)(zt + j * L, e);
            sum = j == 0 ? e : sum + e;
        }
        const V inverse = (T)1 / sum;
        V pbest = (V){0}, pat = (V){0}, ybest = (V){0}, yat = (V){0};
        V factor = (V){0};
        V wv = (V){0} + (T)1;
        if (y != NULL) {
            if (w != NULL && R == L)
                wv = FN(load)(w + g);
            else if (w != NULL) {
                for (int r = 0; r < L; r++) lanes[r] = r < R ? w[g + r] : 0;
                wv = FN(load)(lanes);
            }
            wv = FN(select)(in, wv, (V){0});
            factor = scale * wv;
        }
        for (int j = 0; j < k; j++) {
            V p = FN(load)(zt + j * L) * inverse;
            FN(store)(zt + j * L, p);
            if (y == NULL) continue;
            V yj = FN(load)(yt + j * L);
            FN(store)(yt + j * L, factor * (p - yj));
            V at = (V){0} + (T)j;
            VI up = j == 0 ? (VI){0} - 1 : (VI)(p > pbest);
            pbest = FN(select)(up, p, pbest);
            pat = FN(select)(up, at, pat);
            up = j == 0 ? (VI){0} - 1 : (VI)(yj > ybest);
            ybest = FN(select)(up, yj, ybest);
            yat = FN(select)(up, at, yat);
        }
        FN(from_lanes)(zt, R, k, z + g * k);
        if (y != NULL) FN(from_lanes)(yt, R, k, delta + g * k);
        if (y == NULL) continue;
        /* lanes past R: weight 0 and a finite loss (their rows of zeros), so they add +0 */
        const V logs = FN(log_v)(sum);
        losses += __builtin_convertvector(wv, FN(lanes_d)) *
                  (__builtin_convertvector(ysum, FN(lanes_d)) *
                       __builtin_convertvector(logs, FN(lanes_d)) -
                   __builtin_convertvector(yz, FN(lanes_d)));
        hits -= (VI)(pat == yat) & in;
    }
    if (y != NULL) FN(add_lanes)(&losses, hits, total, correct);
    return 1;
}

/* Sigmoid outputs and binary cross-entropy for the n = rows k values of z (rows k apart)
 * in place, a vector at a time, the last n % L through a padded buffer: e = e^(-|z|),
 * p = 1 / (1 + e) (z >= 0) or e / (1 + e), L = ln(1 + e) - y min(z, 0) - (1 - y) min(-z, 0)
 * (losses.pxd's bce_from); z <- p, delta = (scale w_i) (p - y) (w NULL: every w_i = 1, w_i
 * the weight of the value's row); sum w_i L added to *total, in double (see below);
 * *correct counts the values with (p >= 0.5) == (y >= 0.5).  The probabilities and deltas
 * are the element-by-element code's to the bit; the sum differs from its order of
 * additions in the last bits.  Returns 1 (0 is the build without
 * vector types, where the caller computes it). */
static CC_UNUSED int FN(sigmoid_xent)(T* z, long rows, int k, const T* y, const T* w, T scale,
                                      T* delta, double* total, long* correct) {
    /* the losses and hits in lanes (add_lanes); a row's weight loaded a vector at a time
     * for one unit */
    const long n = rows * k;
    FN(lanes_d) losses = (FN(lanes_d)){0};
    VI hits = (VI){0};
    const VI lane = FN(lane_index)();
    long row = 0;  /* the row of value i, and the value's place in it */
    int col = 0;
    for (long i = 0; i < n; i += L) {
        const int m = n - i < L ? (int)(n - i) : L;
        T zb[L] = {0}, yb[L] = {0}, wb[L];
        V zv, yv, wv;
        if (m == L) {
            zv = FN(load)(z + i);
            yv = FN(load)(y + i);
        } else {
            memcpy(zb, z + i, sizeof(T) * (size_t)m);
            memcpy(yb, y + i, sizeof(T) * (size_t)m);
            zv = FN(load)(zb);
            yv = FN(load)(yb);
        }
        if (w == NULL)
            wv = (V){0} + (T)1;
        else if (k == 1 && m == L) /* a row a value */
            wv = FN(load)(w + i);
        else if (k == 1) {
            for (int l = 0; l < L; l++) wb[l] = l < m ? w[i + l] : 0;
            wv = FN(load)(wb);
        }
        else {
            for (int l = 0; l < m; l++) { /* each value's row weight, rows followed in step */
                wb[l] = w[row];
                if (++col == k) {
                    col = 0;
                    row++;
                }
            }
            for (int l = m; l < L; l++) wb[l] = 0;
            wv = FN(load)(wb);
        }
        const VI in = (VI)(lane < m); /* the lanes of values (all but in the last vector) */
        wv = FN(select)(in, wv, (V){0});
        VI negative = (VI)(zv < 0);
        V e = FN(exp_v)(FN(select)(negative, zv, -zv));
        V soft = FN(log1p_v)(e);
        V p = FN(select)((VI)(zv >= 0), (T)1 / ((T)1 + e), e / ((T)1 + e));
        V loss = soft - yv * FN(select)(negative, zv, (V){0}) -
                 ((T)1 - yv) * FN(select)((VI)(zv > 0), -zv, (V){0});
        V d = (scale * wv) * (p - yv);
        VI right = ~((VI)(p >= (T)0.5) ^ (VI)(yv >= (T)0.5));
        if (m == L) {
            FN(store)(z + i, p);
            FN(store)(delta + i, d);
        } else {
            FN(store)(zb, p);
            memcpy(z + i, zb, sizeof(T) * (size_t)m);
            FN(store)(zb, d);
            memcpy(delta + i, zb, sizeof(T) * (size_t)m);
        }
        /* lanes past m: weight 0, loss ln 2 (finite), so they add +0 */
        losses += __builtin_convertvector(wv, FN(lanes_d)) *
                  __builtin_convertvector(loss, FN(lanes_d));
        hits -= right & in;
    }
    FN(add_lanes)(&losses, hits, total, correct);
    return 1;
}

enum { FN(op_exp), FN(op_log1p), FN(op_sigmoid), FN(op_tanh), FN(op_log) };

/* x[i] <- f(x[i]) for i < n in place, whole vectors then the tail through a padded one
 * (same polynomial, same result). */
static CC_INLINE void FN(apply)(T* x, long n, int op) {
    long i = 0;
    for (; i < n; i += L) {
        T buf[L] = {0};
        int whole = i + L <= n;
        V v;
        if (whole) {
            v = FN(load)(x + i);
        } else {
            memcpy(buf, x + i, sizeof(T) * (size_t)(n - i));
            v = FN(load)(buf);
        }
        if (op == FN(op_exp)) v = FN(exp_v)(v);
        else if (op == FN(op_log1p)) v = FN(log1p_v)(v);
        else if (op == FN(op_sigmoid)) v = FN(sigmoid_v)(v);
        else if (op == FN(op_log)) v = FN(log_v)(v);
        else v = FN(tanh_v)(v);
        if (whole) {
            FN(store)(x + i, v);
        } else {
            FN(store)(buf, v);
            memcpy(x + i, buf, sizeof(T) * (size_t)(n - i));
        }
    }
}

/* x[i] <- e^x[i] for i < n, in place. */
static CC_UNUSED void FN(exp)(T* x, long n) { FN(apply)(x, n, FN(op_exp)); }

/* x[i] <- ln(1 + x[i]) for i < n, in place; each x[i] in [0, 1]. */
static CC_UNUSED void FN(log1p_unit)(T* x, long n) { FN(apply)(x, n, FN(op_log1p)); }

/* x[i] <- ln x[i] for i < n, in place. */
static CC_UNUSED void FN(log)(T* x, long n) { FN(apply)(x, n, FN(op_log)); }

/* x[i] <- sigmoid(x[i]) for i < n, in place. */
static CC_UNUSED void FN(sigmoid)(T* x, long n) { FN(apply)(x, n, FN(op_sigmoid)); }

/* x[i] <- tanh(x[i]) for i < n, in place. */
static CC_UNUSED void FN(tanh)(T* x, long n) { FN(apply)(x, n, FN(op_tanh)); }
