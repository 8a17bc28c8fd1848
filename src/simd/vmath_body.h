/* One element type's vector exp and log1p; included by vmath.h once per type with
 *   T, V (vector of T), VI (vector of same-width integers), L (lanes), FN(name),
 *   and the constants EXP_LO / EXP_HI / ROUND / EXP_TERMS / LOG_TERMS / MANT / BIAS. */

/* y = x if mask else y, lane by lane (mask lanes are all ones or all zeros) */
static CC_INLINE V FN(select)(VI mask, V x, V y) {
    return (V)(((VI)x & mask) | ((VI)y & ~mask));
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
