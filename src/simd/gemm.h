/* Small-matrix products for the shapes small networks make (a batch of 1-256 rows times
 * layers of a few hundred units), register-blocked, one source for every ISA level.
 *
 * The code is written on GCC/Clang vector types, so the SAME source becomes AVX-512
 * (64-byte vectors) in a module compiled with -mavx512f, AVX2 + FMA (32-byte) with
 * -mavx2 -mfma, and 16-byte SSE2 / NEON in the portable build; ``a * b + c`` on vectors
 * is contracted to a fused multiply-add where the target has one.  CC_VEC_BYTES may be
 * set to force a width (the tests build the 64-byte tiling on a CPU without AVX-512).
 * A compiler without vector types (MSVC) gets cc_gemm_* that decline, and BLAS does
 * every product.
 *
 * Tiles: NN and TN products keep a CC_MR x (CC_NV vectors) block of C in registers and
 * stream B's rows (6 x 16 floats on AVX2: 12 accumulators); NT products, and NN products
 * with at most CC_NARROW output columns, take dot products of contiguous rows, CC_DR x
 * CC_DC of them at a time.
 */
#ifndef CRASH_CORE_SIMD_GEMM_H
#define CRASH_CORE_SIMD_GEMM_H

#include <stdlib.h>
#include <string.h>

#define CC_MR 6
#define CC_NV 2
#define CC_DR 4
#define CC_DC 3
#define CC_NARROW 4
#define CC_NARROW_K 1024
/* Which products the own kernels take (the rest go to OpenBLAS).  Measured on a 2-vCPU
 * EPYC (Zen, AVX2 + FMA build, one thread, thread CPU time, against scipy's OpenBLAS
 * 0.3.30 sgemm on one thread), own / OpenBLAS time.  The own NN kernel runs at a steady
 * ~23 GFLOP/s there; OpenBLAS swings between 10 and 33 with the shape:
 *   NN with a long k, measured alone: 128x128x256 0.39-0.44, 128x256x784 0.51 -- but in
 *     the epoch kernel (784-256-128-10, batch 128) the training step was 13% slower with
 *     them than with OpenBLAS, so a batch above CC_OWN_SHORT_M rows goes to OpenBLAS;
 *   NN, m <= CC_OWN_SHORT_M (a small batch): 32x64x64 0.67-0.73, 32x256x64 0.9-1.1;
 *   NN, m >= 64 and k <= 128: 64x64x64 0.72-1.30, 128x64x64 0.83-1.37, 128x128x128 1.39,
 *     256x64x64 1.41: OpenBLAS;
 *   NN with <= CC_NARROW columns: 32x1x64 0.52-0.56, 1x3x100 0.35-0.41 (32x4x64 1.11:
 *     kept for the batching-independence of narrow outputs);
 *   TN with <= CC_NARROW columns (dW of a narrow output layer): 256x1x128 0.27,
 *     64x4x64 0.92, 784x4x128 0.80;
 *   TN with wide outputs (64x64x32 1.20, 128x128x64 1.32) and NT (32x64x64 0.99,
 *     64x128x10 1.37): OpenBLAS. */
#define CC_OWN_SHORT_M 48
#define CC_OWN_MAX_K 4096

#if defined(__GNUC__) || defined(__clang__)

#ifndef CC_VEC_BYTES
#if defined(__AVX512F__)
#define CC_VEC_BYTES 64
#elif defined(__AVX__)
#define CC_VEC_BYTES 32
#else
#define CC_VEC_BYTES 16
#endif
#endif

#define CC_INLINE inline __attribute__((always_inline))
#define CC_UNROLL _Pragma("GCC unroll 16")
#define CC_UNUSED __attribute__((unused))

typedef float cc_vf __attribute__((vector_size(CC_VEC_BYTES), aligned(4)));
typedef double cc_vd __attribute__((vector_size(CC_VEC_BYTES), aligned(8)));

/* The kernels want full unrolling and scalar replacement of their register tiles, which
 * GCC does at -O3; the modules around them are built at -O2. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3")
#endif

static CC_INLINE cc_vf cc_load_f32(const float* p) { cc_vf v; memcpy(&v, p, sizeof v); return v; }
static CC_INLINE void cc_store_f32(float* p, cc_vf v) { memcpy(p, &v, sizeof v); }
static CC_INLINE cc_vd cc_load_f64(const double* p) { cc_vd v; memcpy(&v, p, sizeof v); return v; }
static CC_INLINE void cc_store_f64(double* p, cc_vd v) { memcpy(p, &v, sizeof v); }

#define T float
#define V cc_vf
#define L (CC_VEC_BYTES / 4)
#define FN(name) cc_##name##_f32
#include "simd/gemm_body.h"
#undef T
#undef V
#undef L
#undef FN

#define T double
#define V cc_vd
#define L (CC_VEC_BYTES / 8)
#define FN(name) cc_##name##_f64
#include "simd/gemm_body.h"
#undef T
#undef V
#undef L
#undef FN

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* The vector width this module was compiled for, in bytes (0: no own kernels). */
static CC_UNUSED int cc_vector_bytes(void) { return CC_VEC_BYTES; }

#else  /* no vector types: BLAS does every product */

#define CC_UNUSED

static int cc_gemm_f32(int ta, int tb, int m, int n, int k, float alpha, const float* A,
                       int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    return 0;
}
static int cc_gemm_f64(int ta, int tb, int m, int n, int k, double alpha, const double* A,
                       int lda, const double* B, int ldb, double beta, double* C, int ldc) {
    return 0;
}
static int cc_vector_bytes(void) { return 0; }

#endif
#endif
