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
 * stream B's rows (6 x 16 floats on AVX2: 12 accumulators); a TN product with fewer
 * columns than a tile is computed as its transpose (C^T = B^T A, whole vectors along A's
 * rows); NT products transpose B into a panel first; NN products with very few columns
 * (CC_DOT_MAX_N) take dot products of contiguous rows, CC_DR x CC_DC of them at a time.
 */
#ifndef CRASH_CORE_SIMD_GEMM_H
#define CRASH_CORE_SIMD_GEMM_H

#include <stdlib.h>
#include <string.h>

#include "simd/pool.h"

#define CC_MR 6
#define CC_NV 2
#define CC_DR 4
#define CC_DC 3
#define CC_NARROW 4
#define CC_NARROW_K 1024
/* Products of at most this many terms a sum (a first layer of a few inputs, the delta of
 * an output layer of a few units) keep B's rows in registers and run row by row
 * (gemm_body.h's small_rows) instead of through the tiles, whose set-up is most of such a
 * product.  Zen 4, float32, one thread: 32x64x2 forward with bias and ReLU 0.24-0.38 us
 * through the tiles; 32x64x1 delta with ReLU's mask 0.21-0.23 us. */
#define CC_SMALL_K 4
/* Which products the own kernels take (the rest go to OpenBLAS).  Measured on a 2-vCPU
 * EPYC (Zen 2, AVX2 + FMA build, one thread, thread CPU time, against scipy's OpenBLAS
 * 0.3.30 sgemm on one thread), own / OpenBLAS time, float32 (run twice):
 *   NN: 32x64x64 0.46, 64x128x64 0.43-0.46, 128x256x784 0.44-0.49, 128x128x256 0.44,
 *     256x64x64 0.86, 256x128x16 0.76, 1x128x64 0.10: every NN product up to
 *     CC_OWN_MAX_K inputs;
 *   TN (weight gradients): 64x64x32 0.67, 64x128x64 0.75-0.79, 256x128x128 0.89,
 *     784x256x128 0.93-0.99, 128x10x64 1.02, 128x10x128 0.95, 2x64x32 0.20: all of them;
 *   NT (delta W^T; W is transposed into a panel first, which costs n k moves against the
 *     product's m n k FMAs): 32x64x64 0.98, 64x64x10 0.70, 128x128x10 0.75, 128x64x64
 *     0.79, 256x64x64 0.90, 96x128x64 1.02, 128x256x128 1.11-1.23; with the panel
 *     transposed by vector shuffles: 32x64x64 0.73-0.77, 128x64x64 0.86-0.88,
 *     128x256x128 0.92: a panel of up to CC_NT_PANEL elements;
 *   NN with fewer columns than a tile (dot products, B transposed): 64x10x128 0.90,
 *     128x10x128 0.87, 32x10x64 1.02 (axpy with an edge panel: 1.26-1.44); on Zen 4 the
 *     axpy tiles win from a few columns up (CC_DOT_MAX_N below);
 *   TN with fewer columns than a tile, as its transpose: 128x10x64 0.71, 64x10x64 0.58-0.69,
 *     128x12x64 0.55 (as an NN-style tile: 1.18-1.24);
 *   NT with <= CC_NARROW columns (dot products of W's rows): 32x64x1 0.40-0.45. */
#define CC_OWN_MAX_K 4096
/* The activations whose derivative a backward product's epilogue applies: activations.pxd's
 * codes (SIGMOID 0, TANH 1, RELU 2) plus one, 0 for none. */
#define CC_DERIV_SIGMOID 1
#define CC_DERIV_TANH 2
#define CC_DERIV_RELU 3
/* Elements of a transposed panel kept on the stack (larger ones go to the thread's scratch
 * panel, pool.h, or are allocated; at most two such frames nest, 64 KiB of doubles, and
 * the sparse rows' positions add 16 KiB, AVX2's bits 512 bytes: well inside a small
 * thread stack), and the largest panel an NT product transposes (bigger ones go to
 * OpenBLAS). */
#define CC_PACK_STACK 4096
/* An 8-way 32 KiB L1's way (bytes), and the most rows of a block of B in one of its sets
 * (its ways) that the products read in place (gemm_body.h's packing_pays): 64-128-10's
 * 64 x 128 weights (8 rows a set) ran 1.015x as long packed, at batch 64, float32. */
#define CC_CACHE_WAY 4096L
#define CC_PACK_SET_ROWS 8
/* The fewest rows of A for which a block is packed: the copy's two moves a row of B pay
 * back over eight tiles of rows; 20-128-128-10 at batch 32 (6 tiles of rows) ran 1.02x as
 * long packed. */
#define CC_PACK_MIN_ROWS 48
#define CC_NT_PANEL 65536

#if defined(__GNUC__) || defined(__clang__)

#define CC_UNUSED __attribute__((unused))

#ifndef CC_VEC_BYTES
#if defined(__AVX512F__)
#define CC_VEC_BYTES 64
#elif defined(__AVX__)
#define CC_VEC_BYTES 32
#else
#define CC_VEC_BYTES 16
#endif
#endif

/* NN products of at most this many columns take dot products, wider ones the axpy tiles
 * (the last columns through a zero-padded edge panel).  Measured on a 2-vCPU EPYC (Zen 4),
 * one thread, 1000 x n x 100 (run twice): with 64-byte vectors the dot form's 16-lane sums
 * lose from n = 3 (float32, us dot / axpy: n=1 19.6 / 32.3, n=2 35.8 / 32.5, n=3 47.6 /
 * 32.5, n=6 91.6 / 32.8, n=10 167 / 42; 128 x 16 x 128 27.6 / 6.4); with 32-byte vectors
 * up to n = L - 1 (float32 n=6 24.9 / 40.0, n=8 66.0 / 19.8, n=10 79.3 / 43.2). */
#if CC_VEC_BYTES >= 64
#define CC_DOT_MAX_N(L) 2
#else
#define CC_DOT_MAX_N(L) ((L) - 1)
#endif

/* The sparse row kernels (see gemm_body.h) take a product C = A B (beta = 0) whose A has at
 * most CC_SPARSE_DENSITY nonzeros in its first CC_SPARSE_SAMPLE rows, with more than two
 * vectors of columns and a B of at most CC_SPARSE_MAX_B bytes (they walk B's rows in the
 * order of each row's nonzeros, so B must stay in L1).
 *
 * AVX-512 takes pairs of rows (the union of their nonzero positions, compressed 16 at a
 * time) over up to four vectors of columns.  Measured on a 2-vCPU EPYC (Zen 4), float32,
 * one thread, sparse rows / dense tiles at half the entries nonzero (0.65 nonzero in
 * brackets; run twice): 32x64x64 0.74-0.75 (0.85), 32x128x64 0.72-0.73 (0.84), 32x48x64
 * 0.81 (0.91), 16x100x20 0.59-0.85, 16x50x100 0.86-0.94 (0.97), 64x64x128 (B 32 KiB)
 * 0.84-0.88 (1.01); but 32x32x64 0.98, 64x10x128 1.9 (too few columns), 64x256x64 (B 64
 * KiB) 0.90 (1.10), 128x128x128 1.11 (1.23).  Where a 512-bit FMA runs at the full rate
 * the dense tiles are twice as fast; the same density measured best in training there too
 * (cc_choose_kernels).
 *
 * AVX2 (16 registers of 8 floats) takes one row at a time over up to CC_SPARSE_ROW_NV = 8
 * vectors of columns: eight sums in flight, what two FMA pipes of four cycles' latency
 * need.  (The pair of rows over four vectors, as AVX-512 has it, had four sums a row,
 * multiplied the union of two rows' positions, three quarters of them at half of each
 * row nonzero, and listed the positions by a scalar loop: a 2-64-64-1 step at batch 32
 * took 1.18x the dense tiles' time.)  The row's nonzero positions are bits of 64-position
 * words, walked by count-trailing-zeros.  A row of fewer than eight vectors of columns is
 * bound by the FMAs' latency, and the density it pays at shrinks in proportion.  Measured
 * on a 2-vCPU EPYC (Zen 3), float32, one thread, us per product through gemm_rm (about 1 us
 * of it the call), sparse / dense at 0.3, 0.5, 0.6, 0.7, 0.8 nonzero: 32x64x64 3.0 / 4.2,
 * 3.7 / 4.2, -, 4.4 / 4.2 (0.7), 4.7 / 4.2 (0.8); 64x64x64 4.5 / 7.0, 6.0 / 7.0, 6.9 / 7.0,
 * 7.6 / 7.0, 8.3 / 7.0; 32x128x64 4.3 / 7.4, 6.0 / 7.4, 6.8 / 7.4, 7.5 / 7.4, 8.4 / 7.4;
 * 16x64x64 2.4 / 2.8, 2.9 / 2.8, 3.1 / 2.8.  Training steps (ReLU, plain SGD), sparse at
 * every density / dense: 2-64-64-1 b32 0.90, 10-64-64-3 b64 0.91, 2-64-64-64-1 b32 0.88,
 * 20-48-48-3 b32 (six vectors) 0.98, 8-32-32-1 b32 (four) 1.11; with B up to 128 KiB,
 * 30-100-100-3 b32 1.09 and 64-128-128-2 b64 1.05: B stays within L1. */
#define CC_SPARSE_ROW_NV 8
#define CC_SPARSE_ROW_DENSITY 0.55
#if CC_VEC_BYTES >= 64
#define CC_SPARSE_DENSITY 0.6
#elif CC_VEC_BYTES == 32 && defined(__AVX__)
#define CC_SPARSE_ONE_ROW 1
#define CC_SPARSE_DENSITY CC_SPARSE_ROW_DENSITY
#else
#define CC_SPARSE_DENSITY 0.0
#endif
#define CC_SPARSE_MAX_B 32768
#define CC_SPARSE_SAMPLE 8
#define CC_SPARSE_MIN_K 16
static double cc_sparse_density CC_UNUSED = CC_SPARSE_DENSITY;
static long cc_sparse_count CC_UNUSED = 0; /* products the sparse kernels took */
static long cc_packed_count CC_UNUSED = 0; /* products whose B went into panels */
/* Whether the backward pass through a layer of at most CC_SMALL_K units takes
 * gemm_body.h's narrow_backward (1) or gemm_backward and the weight gradient's gemm (0);
 * the bits are the same. */
static int cc_narrow_backward CC_UNUSED = 1;
static long cc_narrow_count CC_UNUSED = 0; /* backward passes narrow_backward took */

/* AVX-512's wide tiles (gemm_body.h's axpy_wide_column): 4 rows x 4 vectors (64 floats),
 * taken for products of at least 4 vectors of columns where 512-bit FMAs run at the full
 * rate (cc_choose_kernels turns them on; a setting for the tests).  Measured on a
 * 2-vCPU EPYC (Zen 5), float32, one thread, rows of bias + ReLU tiles in a loop, 6 x 2
 * tiles (a 32-row batch as 6+6+6+6+4+4) / 4 x 4: 32x64x64 204 / 227 GFLOP/s, 64x64x32
 * 199 / 216, 32x128x64 203 / 229, 64x128x64 198 / 219, 128x256x128 208 / 206. */
#if CC_VEC_BYTES >= 64
#define CC_WIDE_NV 4
#define CC_TILE_NV CC_WIDE_NV
#else
#define CC_TILE_NV CC_NV
#endif
static int cc_wide_tiles CC_UNUSED = 0;
static long cc_wide_count CC_UNUSED = 0; /* row ranges that took the wide tiles */
static long cc_pair_count CC_UNUSED __attribute__((aligned(64))) = 0; /* pair steps so far */

/* AVX-512 compresses a row's nonzero positions 16 at a time, AVX2 gathers them as bits
 * (movemask); the portable build lists them by a scalar loop. */
#if (defined(__AVX512F__) && defined(__AVX512DQ__) && CC_VEC_BYTES == 64) || \
    defined(CC_SPARSE_ONE_ROW)
#include <immintrin.h>
#endif
#if defined(__AVX512F__) && defined(__AVX512DQ__) && CC_VEC_BYTES == 64
#define CC_COMPRESS 1
#endif

#define CC_INLINE inline __attribute__((always_inline))
/* Buffers on the stack that the tiles read by whole vectors start on a cache line, as the
 * library's own buffers do (crash_core/_memory.py): 16 bytes into a line, every other
 * half-vector load of theirs would read two lines. */
#define CC_LINE_ALIGNED __attribute__((aligned(64)))
#define CC_UNROLL _Pragma("GCC unroll 16")

typedef float cc_vf __attribute__((vector_size(CC_VEC_BYTES), aligned(4)));
typedef double cc_vd __attribute__((vector_size(CC_VEC_BYTES), aligned(8)));
/* integer vectors of the same lanes, for masks (a comparison of cc_vf gives a cc_vfi) */
typedef int cc_vfi __attribute__((vector_size(CC_VEC_BYTES)));
typedef long long cc_vdi __attribute__((vector_size(CC_VEC_BYTES)));

/* The kernels want full unrolling and scalar replacement of their register tiles, which
 * GCC does at -O3; the modules around them are built at -O2. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3")
#endif

/* Unaligned vector loads and stores through a type that may alias the element type (a
 * memcpy into a vector makes GCC bounce it through the stack: a store-forwarding stall in
 * the inner loop). */
typedef float cc_vf_u __attribute__((vector_size(CC_VEC_BYTES), aligned(1), may_alias));
typedef double cc_vd_u __attribute__((vector_size(CC_VEC_BYTES), aligned(1), may_alias));
static CC_INLINE cc_vf cc_load_f32(const float* p) { return *(const cc_vf_u*)p; }
static CC_INLINE void cc_store_f32(float* p, cc_vf v) { *(cc_vf_u*)p = v; }
static CC_INLINE cc_vd cc_load_f64(const double* p) { return *(const cc_vd_u*)p; }
static CC_INLINE void cc_store_f64(double* p, cc_vd v) { *(cc_vd_u*)p = v; }
/* Eight-lane vectors for transposing 8 x 8 blocks (any ISA; GCC splits what the target
 * cannot hold in one register). */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define CC_SHUFFLE 1
typedef float cc_v8f __attribute__((vector_size(32), aligned(4), may_alias));
typedef double cc_v8d __attribute__((vector_size(64), aligned(8), may_alias));
typedef double cc_v4d __attribute__((vector_size(32), aligned(8), may_alias));
#endif
#endif
/* Every lane x (``(V){0} + x`` is an addition: 0 + -0 is +0, so it is not folded away). */
static CC_INLINE cc_vf cc_splat_f32(float x) { return x - (cc_vf){0}; }
static CC_INLINE cc_vd cc_splat_f64(double x) { return x - (cc_vd){0}; }

#define T float
#define V cc_vf
#define VI cc_vfi
#define V8 cc_v8f
#define CC_TRANSPOSE_BLOCK 8
#define L (CC_VEC_BYTES / 4)
#define FN(name) cc_##name##_f32
#include "simd/gemm_body.h"
#undef T
#undef V
#undef VI
#undef V8
#undef CC_TRANSPOSE_BLOCK
#undef L
#undef FN

#define T double
#define V cc_vd
#define VI cc_vdi
#define V8 cc_v8d
#define V4 cc_v4d
#if CC_VEC_BYTES >= 64 /* 8 doubles are one AVX-512 register */
#define CC_TRANSPOSE_BLOCK 8
#else
#define CC_TRANSPOSE_BLOCK 4
#endif
#define L (CC_VEC_BYTES / 8)
#define FN(name) cc_##name##_f64
#include "simd/gemm_body.h"
#undef T
#undef V
#undef VI
#undef V8
#undef V4
#undef CC_TRANSPOSE_BLOCK
#undef L
#undef FN

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* The vector width this module was compiled for, in bytes (0: no own kernels). */
static CC_UNUSED int cc_vector_bytes(void) { return CC_VEC_BYTES; }

#if CC_VEC_BYTES >= 64 && defined(__x86_64__)
#include <x86intrin.h>
/* The two widths' loops, the same but for the vector type and its intrinsics. */
#define CC_FMA_CHAINS(V, SET1, FMADD, ADD, FIRST)                                            \
    do {                                                                                     \
        const V m = SET1(0.999999f), a = SET1(1e-7f);                                        \
        V c[12];                                                                             \
        for (int j = 0; j < 12; j++) c[j] = SET1((float)j);                                  \
        t0 = __rdtsc();                                                                      \
        for (int i = 0; i < n; i++)                                                          \
            for (int j = 0; j < 12; j++) c[j] = FMADD(c[j], m, a);                           \
        t0 = __rdtsc() - t0;                                                                 \
        for (int j = 1; j < 12; j++) c[0] = ADD(c[0], c[j]);                                 \
        sink = FIRST(c[0]);                                                                  \
    } while (0)
#define CC_FIRST_256(x) _mm_cvtss_f32(_mm256_castps256_ps128(x))
/* Time-stamp ticks of n rounds of twelve independent FMA chains (more than two pipes of
 * four cycles' latency keep busy), on 512-bit vectors (wide) or 256-bit ones. */
static __attribute__((noinline)) unsigned long long cc_fma_ticks(int wide, int n) {
    volatile float sink;
    unsigned long long t0;
    if (wide)
        CC_FMA_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
                      _mm512_reduce_add_ps);
    else
        CC_FMA_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, CC_FIRST_256);
    (void)sink;
    return t0;
}
#undef CC_FIRST_256
#undef CC_FMA_CHAINS

/* Whether this core runs a 512-bit FMA at the rate of a 256-bit one (two full-width pipes,
 * as on Zen 5 and Intel's server cores) rather than at half of it (one 512-bit FMA in two
 * halves, as on Zen 4).  The fastest of seven interleaved trials of each width, about 30
 * us in all: at the full rate the 512-bit loop takes about as long as the 256-bit one, at
 * half the rate twice as long. */
static CC_UNUSED int cc_fma512_full_rate(void) {
    unsigned long long best[2] = {~0ULL, ~0ULL};
    for (int trial = 0; trial < 8; trial++)
        for (int wide = 0; wide < 2; wide++) {
            unsigned long long t = cc_fma_ticks(wide, 256);
            if (trial > 0 && t < best[wide]) best[wide] = t; /* the first warms up */
        }
    return best[1] < 1.5 * best[0];
}
#else
static CC_UNUSED int cc_fma512_full_rate(void) { return 0; }
#endif

/* The kernels chosen at import by the FMA rate: on AVX-512 cores whose 512-bit FMAs run at
 * the full rate, the wide tiles (cc_wide_tiles).  The sparse rows keep their density:
 * there the dense tiles run twice as fast as on Zen 4 and the pairs of rows, bound by their
 * loads, lost on products whose zeros fall at random (on a 2-vCPU EPYC, Zen 5, float32,
 * one thread, sparse / dense at half the entries nonzero: 32x64x64 0.64-1.46, 32x128x64
 * 1.27-1.41, 64x64x128 1.29-1.63), but not in training, where a ReLU layer's dead and
 * always-active units line two rows' nonzeros up: benchmarks/full_rate.py, epochs with the
 * wide tiles, sparse rows up to 0.45 / 0.6 / off, two runs: compare.py's tiny 0.967-0.968
 * / 0.979-0.982 / 1.019 of the 6 x 2 tiles with the sparse rows up to 0.6; a random-data
 * 2-64-64-1 0.992-1.003 / 0.972-0.989 / 0.967; 20-128-128-10 1.023-1.026 / 1.007-1.010 /
 * 1.017-1.018. */
static CC_UNUSED void cc_choose_kernels(int fma512_full_rate) {
    if (CC_VEC_BYTES >= 64 && fma512_full_rate) cc_wide_tiles = 1;
}

/* Whether products of 4 or more vectors of columns take the wide tiles (AVX-512 only; 0
 * elsewhere): sets it (on >= 0) and returns the previous value, or (on < 0) only returns
 * it. */
static CC_UNUSED double cc_set_wide_tiles(double on) {
    double previous = cc_wide_tiles;
#ifdef CC_WIDE_NV
    if (on >= 0) cc_wide_tiles = on != 0;
#else
    (void)on;
#endif
    return previous;
}

/* The largest share of nonzeros for which a product takes the sparse row kernels (0: never;
 * on AVX2 in proportion less for fewer than CC_SPARSE_ROW_NV vectors of columns, see
 * sparse_limit); sets it (density >= 0) and returns the previous value, or (density < 0)
 * only returns it. */
static CC_UNUSED double cc_set_sparse_density(double density) {
    double previous = cc_sparse_density;
    if (density >= 0) cc_sparse_density = density;
    return previous;
}

/* Whether a narrow layer's backward pass takes narrow_backward: sets it (on >= 0) and
 * returns the previous value, or (on < 0) only returns it. */
static CC_UNUSED double cc_set_narrow_backward(double on) {
    double previous = cc_narrow_backward;
    if (on >= 0) cc_narrow_backward = on != 0;
    return previous;
}

/* How many backward passes narrow_backward has taken so far. */
static CC_UNUSED long cc_narrow_passes(void) {
    return __atomic_load_n(&cc_narrow_count, __ATOMIC_RELAXED);
}

/* How many row ranges of products have taken the wide tiles so far (a product split over
 * threads counts once a thread). */
static CC_UNUSED long cc_wide_products(void) {
    return __atomic_load_n(&cc_wide_count, __ATOMIC_RELAXED);
}

/* How many products the sparse row kernels have taken so far. */
static CC_UNUSED long cc_sparse_products(void) {
    return __atomic_load_n(&cc_sparse_count, __ATOMIC_RELAXED);
}

/* How many products have copied B's blocks of columns into panels so far (axpy_blocks). */
static CC_UNUSED long cc_packed_products(void) {
    return __atomic_load_n(&cc_packed_count, __ATOMIC_RELAXED);
}

/* How many training steps the pair step (network_kernels.pyx's pair_epoch) has taken so far. */
static CC_UNUSED long cc_pair_steps(void) {
    return __atomic_load_n(&cc_pair_count, __ATOMIC_RELAXED);
}

/* Count a training step of the pair step. */
static CC_UNUSED void cc_pair_step_taken(void) {
    __atomic_fetch_add(&cc_pair_count, 1, __ATOMIC_RELAXED);
}

#else  /* no vector types: BLAS does every product */

#define CC_UNUSED

static int cc_fma512_full_rate(void) { return 0; }
static void cc_choose_kernels(int fma512_full_rate) { (void)fma512_full_rate; }
static double cc_set_wide_tiles(double on) { (void)on; return 0; }
static long cc_wide_products(void) { return 0; }

static int cc_gemm_f32(int ta, int tb, int m, int n, int k, float alpha, const float* A,
                       int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    return 0;
}
static int cc_gemm_f64(int ta, int tb, int m, int n, int k, double alpha, const double* A,
                       int lda, const double* B, int ldb, double beta, double* C, int ldc) {
    return 0;
}
static int cc_gemm_forward_f32(int m, int n, int k, const float* A, int lda, const float* B,
                               int ldb, float* C, int ldc, const float* bias, int relu,
                               int* nonfinite) {
    return 0;
}
static int cc_gemm_forward_f64(int m, int n, int k, const double* A, int lda,
                               const double* B, int ldb, double* C, int ldc,
                               const double* bias, int relu, int* nonfinite) {
    return 0;
}
static int cc_column_sums_f32(int m, int n, const float* D, long ldd, float alpha,
                              float beta, float* b) {
    return 0;
}
static int cc_column_sums_f64(int m, int n, const double* D, long ldd, double alpha,
                              double beta, double* b) {
    return 0;
}
static int cc_gemm_backward_f32(int m, int n, int k, const float* A, int lda,
                                const float* Bt, int ldb, float* C, int ldc, const float* act,
                                int dkind) {
    return 0;
}
static int cc_gemm_backward_f64(int m, int n, int k, const double* A, int lda,
                                const double* Bt, int ldb, double* C, int ldc,
                                const double* act, int dkind) {
    return 0;
}
static int cc_narrow_backward_f32(int m, int n, int k, const float* D, int ldd,
                                  const float* W, int ldw, const float* A, int lda, float* P,
                                  int ldp, int dkind, float alpha, float beta, float* dest) {
    return 0;
}
static int cc_narrow_backward_f64(int m, int n, int k, const double* D, int ldd,
                                  const double* W, int ldw, const double* A, int lda,
                                  double* P, int ldp, int dkind, double alpha, double beta,
                                  double* dest) {
    return 0;
}
static long cc_pair_steps(void) { return 0; }
static void cc_pair_step_taken(void) {}
static int cc_vector_bytes(void) { return 0; }
static double cc_set_narrow_backward(double on) { return 0; }
static long cc_narrow_passes(void) { return 0; }
static double cc_set_sparse_density(double density) { return 0; }
static long cc_sparse_products(void) { return 0; }
static long cc_packed_products(void) { return 0; }

#endif

/* A training epoch (no dropout, no penalty) runs the pair step (network_kernels.pyx's
 * pair_epoch: the last hidden layer's units in two halves, each a network of its own, on
 * two threads through pool.h's pair session) where a batch's forward pass through that
 * layer and the output is at least cc_pair_min_flops FLOPs, 2 rows (nin nh + nh nout).
 * On one thread it runs the whole step with the halves' sums (train_steps' split_at), the
 * same bits.  Networks of one hidden layer, measured on a 2-vCPU EPYC (Zen 4), float32,
 * own AVX-512 kernels, plain SGD, 3 epochs of 20,000 rows (4,000 for 784 inputs), 5 runs
 * interleaved, medians against the one-layer step on one thread (benchmarks/
 * pair_step.py), two threads: 64-128-10 / b64 (1.2 MFLOP a batch) 0.57;
 * 64-256-10 / b64 (2.4) 0.68; 100-256-2 / b128 (6.7) 0.60; 32-192-4 / b128 (1.8) 0.73;
 * 64-128-1 / b64 (1.1) 0.62; 20-512-3 / b64 (1.5) 0.65; one thread 0.87-1.06.  Minutes
 * when the host slowed the second core: 0.78-1.13.  Round 9's pair step (two hand-overs a
 * step, the output layer and the loss on the caller alone), below 2^20: 64-128-10 / b32
 * (0.6) 0.89-1.0, 64-64-10 / b64 (0.6) 0.81-1.02, 20-64-3 / b16 (0.05) 1.02-1.09. */
#define CC_PAIR_MIN_FLOPS 1048576.0
/* A network of more hidden layers splits its last one, its batch's forward FLOPs through
 * that layer and the output counted against cc_pair_min_flops, and both halves run the
 * layers below: the pair step takes it while their forward FLOPs are at most this share
 * of the split part's.  Its steps hand over twice (the logits; each half's delta W^T for
 * the layer below, rows x its inputs).  Measured on a 2-vCPU EPYC (Zen 3), AVX2, float32,
 * plain SGD, 20,000 rows (benchmarks/pair_step.py, BENCHMARKS.md round 13), two threads
 * against the whole step on one thread, by share; default sessions (two runs), then
 * strict ones: 10-256-256-2 / b32 (0.04) 0.83, 0.73; 0.61; 20-128-128-10 / b64 (0.07)
 * 0.84, 0.89; 0.77; b32 0.76, 0.81; 0.70; 64-256-256-2 / b32 (0.25) 0.74; 0.61;
 * 32-64-128-4 / b64 (0.24) 0.72, 0.98; 0.81.  Beyond the share, default sessions in an
 * earlier build that took them (15 runs interleaved, strict in brackets): 64-64-128-10 /
 * b64 (0.43) 0.86 (0.93); 64-96-96-10 / b64 (0.60) 0.98 (1.01); 64-128-64-10 / b64 (0.93)
 * 0.99 (0.98); strict in round 13's runs 0.82, 0.88, 0.88.  One thread with the halves'
 * sums: 0.93-1.05 of the whole step.  Below 2^20, 2-64-64-1 / b32 (0.27 MFLOP): strict
 * 0.83-1.16, default sessions 1.07-1.20 (one thread with the halves' sums 1.04): no pair
 * step. */
#define CC_PAIR_BELOW_SHARE 0.3
static double cc_pair_min_flops CC_UNUSED = CC_PAIR_MIN_FLOPS; /* kept without vectors */

/* The least forward FLOPs of a batch for the pair step; sets it and returns the old value,
 * or (``flops`` < 0) only returns it. */
static CC_UNUSED double cc_set_pair_min_flops(double flops) {
    double previous = cc_pair_min_flops;
    if (flops >= 0) cc_pair_min_flops = flops;
    return previous;
}
#endif
