/* Vector e^x and ln(1 + x) for the losses, one source for every ISA level (see gemm.h on
 * the vector types).  Measured maximum errors against a float64 / long double reference
 * (tests/test_microkernels.py checks them):
 *   cc_exp_f32:        2 ulp (relative 2.4e-7) over [-87.3, 88.7]; 0 below, inf above
 *   cc_exp_f64:        2 ulp (relative 4.5e-16) over [-708, 709]
 *   cc_exp1_f32 / _f64 (one value, for loops that wait on it): the same, up to 88.3 /
 *                      709.4 (inf above 88.38 / 709.44)
 *   cc_log1p_unit_f32: 2 ulp over [0, 1];  cc_log1p_unit_f64: 2 ulp over [0, 1]
 *   cc_log_f32 / _f64: 3 ulp over every positive value (subnormals included); ln 0 = -inf
 *   cc_sigmoid_f32:    2 ulp over [-87, 87] (0 below -87.3);  cc_sigmoid_f64: 2 ulp over
 *                      [-700, 700]
 *   cc_tanh_f32 / _f64: 2 ulp everywhere
 * Without vector types (MSVC) they are loops over the C library's functions. */
#ifndef CRASH_CORE_SIMD_VMATH_H
#define CRASH_CORE_SIMD_VMATH_H

#include <math.h>
#include "simd/gemm.h"

#if defined(__GNUC__) || defined(__clang__)

/* integer lanes for masks: gemm.h's cc_vfi and cc_vdi */

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3")
#endif

#define T float
#define V cc_vf
#define VI cc_vfi
#define TI int
#define L (CC_VEC_BYTES / 4)
#define FN(name) cc_##name##_f32
#define EXP_LO -87.33654f
#define EXP_HI 88.72283f
#define ROUND 12582912.0f
#define EXP_TERMS 7
#define LOG_TERMS 8
#define TANH_TERMS 9
#define MANT 23
#define BIAS 127
#define NORMAL_MIN 1.17549435082228750797e-38f
#include "simd/vmath_body.h"
#undef T
#undef V
#undef VI
#undef TI
#undef L
#undef FN
#undef EXP_LO
#undef EXP_HI
#undef ROUND
#undef EXP_TERMS
#undef LOG_TERMS
#undef TANH_TERMS
#undef MANT
#undef BIAS
#undef NORMAL_MIN

#define T double
#define V cc_vd
#define VI cc_vdi
#define TI long long
#define L (CC_VEC_BYTES / 8)
#define FN(name) cc_##name##_f64
#define EXP_LO -708.3964185322641
#define EXP_HI 709.782712893384
#define ROUND 6755399441055744.0
#define EXP_TERMS 13
#define LOG_TERMS 17
#define TANH_TERMS 19
#define MANT 52
#define BIAS 1023
#define NORMAL_MIN 2.2250738585072013831e-308
#include "simd/vmath_body.h"
#undef T
#undef V
#undef VI
#undef TI
#undef L
#undef FN
#undef EXP_LO
#undef EXP_HI
#undef ROUND
#undef EXP_TERMS
#undef LOG_TERMS
#undef TANH_TERMS
#undef MANT
#undef BIAS
#undef NORMAL_MIN

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#else

static void cc_exp_f32(float* x, long n) { for (long i = 0; i < n; i++) x[i] = expf(x[i]); }
static void cc_exp_f64(double* x, long n) { for (long i = 0; i < n; i++) x[i] = exp(x[i]); }
static float cc_exp1_f32(float x) { return expf(x); }
static double cc_exp1_f64(double x) { return exp(x); }
static void cc_log1p_unit_f32(float* x, long n) {
    for (long i = 0; i < n; i++) x[i] = log1pf(x[i]);
}
static void cc_log1p_unit_f64(double* x, long n) {
    for (long i = 0; i < n; i++) x[i] = log1p(x[i]);
}
static void cc_sigmoid_f32(float* x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] >= 0 ? 1 / (1 + expf(-x[i])) : expf(x[i]) / (1 + expf(x[i]));
}
static void cc_sigmoid_f64(double* x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] >= 0 ? 1 / (1 + exp(-x[i])) : exp(x[i]) / (1 + exp(x[i]));
}
static void cc_log_f32(float* x, long n) { for (long i = 0; i < n; i++) x[i] = logf(x[i]); }
static void cc_log_f64(double* x, long n) { for (long i = 0; i < n; i++) x[i] = log(x[i]); }
static void cc_tanh_f32(float* x, long n) { for (long i = 0; i < n; i++) x[i] = tanhf(x[i]); }
static void cc_tanh_f64(double* x, long n) { for (long i = 0; i < n; i++) x[i] = tanh(x[i]); }
static int cc_sigmoid_xent_f32(float* z, long rows, int k, const float* y, const float* w,
                               float scale, float* delta, double* total, long* correct) {
    return 0;
}
static int cc_sigmoid_xent_f64(double* z, long rows, int k, const double* y, const double* w,
                               double scale, double* delta, double* total, long* correct) {
    return 0;
}
static int cc_softmax_rows_f32(float* z, long rows, int k, const float* y, const float* w,
                               float scale, float* delta, double* total, long* correct) {
    return 0;
}
static int cc_softmax_rows_f64(double* z, long rows, int k, const double* y, const double* w,
                               double scale, double* delta, double* total, long* correct) {
    return 0;
}

#endif
#endif
