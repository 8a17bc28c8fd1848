/* One element type's vector exp and log1p; included by vmath.h once per type with
 *   T, V (vector of T), VI (vector of same-width integers), L (lanes), FN(name),
 *   and the constants EXP_LO / EXP_HI / ROUND / EXP_TERMS / LOG_TERMS / MANT / BIAS. */

/* y = x if mask else y, lane by lane (mask lanes are all ones or all zeros) */
static CC_INLINE V FN(select)(VI mask, V x, V y) {
    return (V)(((VI)x & mask) | ((VI)y & ~mask));
}

/* e^x = 2^n e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split
 * in two so n ln 2 is exact); e^r by its Taylor polynomial through r^EXP_TERMS
 * (truncation error (ln2/2)^(EXP_TERMS+1) / (EXP_TERMS+1)! < half an ulp). */
static CC_INLINE V FN(exp_v)(V x) {
    V xc = FN(select)((VI)(x < EXP_LO), (V){0} + EXP_LO, x);
    xc = FN(select)((VI)(xc > EXP_HI), (V){0} + EXP_HI, xc);
    V n = (xc * (T)1.4426950408889634 + ROUND) - ROUND;  /* round to nearest */
    V r = xc - n * (T)0.693145751953125;
    r = r - n * (T)1.4286068203094172321e-6;
    V p = (V){0} + (T)1;
    for (int j = EXP_TERMS; j >= 1; j--) p = p * (r / (T)j) + (T)1;  /* Horner on 1/j! */
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
    for (int j = LOG_TERMS - 1; j >= 0; j--) s = s * t2 + (T)1 / (T)(2 * j + 1);
    return (T)2 * t * s;
}

/* x[i] <- e^x[i] for i < n, in place. */
static CC_UNUSED void FN(exp)(T* x, long n) {
    long i = 0;
    for (; i + L <= n; i += L) {
        V v;
        memcpy(&v, x + i, sizeof v);
        v = FN(exp_v)(v);
        memcpy(x + i, &v, sizeof v);
    }
    if (i < n) {  /* the tail through a padded vector: same polynomial, same result */
        T buf[L] = {0};
        V v;
        memcpy(buf, x + i, sizeof(T) * (size_t)(n - i));
        memcpy(&v, buf, sizeof v);
        v = FN(exp_v)(v);
        memcpy(buf, &v, sizeof v);
        memcpy(x + i, buf, sizeof(T) * (size_t)(n - i));
    }
}

/* x[i] <- ln(1 + x[i]) for i < n, in place; each x[i] in [0, 1]. */
static CC_UNUSED void FN(log1p_unit)(T* x, long n) {
    long i = 0;
    for (; i + L <= n; i += L) {
        V v;
        memcpy(&v, x + i, sizeof v);
        v = FN(log1p_v)(v);
        memcpy(x + i, &v, sizeof v);
    }
    if (i < n) {
        T buf[L] = {0};
        V v;
        memcpy(buf, x + i, sizeof(T) * (size_t)(n - i));
        memcpy(&v, buf, sizeof v);
        v = FN(log1p_v)(v);
        memcpy(buf, &v, sizeof v);
        memcpy(x + i, buf, sizeof(T) * (size_t)(n - i));
    }
}
