/* One element type's small-matrix products; included by gemm.h once per type with
 *   T (float / double), V (its vector type), L (lanes per vector), FN(name) (prefixed names).
 * Every output element is one sum over p = 0, 1, ..., k - 1 in that order (axpy form: in
 * one accumulator lane; dot form: lane l sums p = l, l + L, ..., the lanes are added
 * pairwise, then the last k % L terms), so a row's result never depends on how many rows
 * share the call. */

/* What a product does to its outputs before storing them (tile_axpy with ccs == 1).
 * Forward: z = product + bias[column] (``bias`` NULL: nothing added), then max(z, 0) when
 * ``relu``; ``bad`` (NULL: no check) accumulates z - z, which stays 0 unless some z is NaN
 * or infinite.  Backward (delta W^T): the product times f'(z) of the layer below, read
 * from its activations a = f(z) (``deriv``, laid out like C from ``c0``) by ``dkind``
 * (CC_DERIV_*; 0: none). */
typedef struct {
    const T* bias;
    int relu;
    V* bad;
    const T* deriv;
    const T* c0;
    int dkind;
} FN(epilogue);

/* Set *nonfinite when some lane of ``bad`` (the epilogue's running z - z) is not 0. */
static CC_INLINE void FN(report_nonfinite)(V bad, int* nonfinite) {
    T lanes[L];
    memcpy(lanes, &bad, sizeof(V));
    for (int l = 0; l < L; l++)
        if (lanes[l] != 0) __atomic_store_n(nonfinite, 1, __ATOMIC_RELAXED);
}

/* out + beta c (beta == 0: c is not read). */
static CC_INLINE V FN(plus_beta)(V out, T beta, const T* c) {
    if (beta != 0) out += FN(load)(c) * beta;
    return out;
}

/* A tile's R x NV output vectors (``out[r * 4 + v]``, NV <= 4; one row may have up to 8),
 * alpha times their sums, made ready and stored at C (rows crs apart): + beta C (beta ==
 * 0: C is not read), then the epilogue ``e`` (NULL: none), its bias read at the tile's
 * columns.  Each step is decided once for the whole tile and the bias loaded once per
 * column vector.  (Decided vector by vector, the epilogue's branches and loads cost a
 * 64x128x64 forward product with bias and ReLU 2 us on Zen 4, a sixth of its time, and a
 * 64x128x10 delta W^T with the ReLU mask 2.3 us, two fifths.) */
static CC_INLINE void FN(finish_tile)(int R, int NV, V* out, T beta, T* C, long crs,
                                      const FN(epilogue)* e) {
    CC_UNROLL for (int r = 0; r < R; r++)
        CC_UNROLL for (int v = 0; v < NV; v++)
            out[r * 4 + v] = FN(plus_beta)(out[r * 4 + v], beta, C + r * crs + v * L);
    if (e != NULL) {
        const T* bias = e->bias;
        V* bad = e->bad;
        const int dkind = e->dkind;
        if (bias != NULL) {
            V b[8];
            CC_UNROLL for (int v = 0; v < NV; v++) b[v] = FN(load)(bias + v * L);
            CC_UNROLL for (int r = 0; r < R; r++)
                CC_UNROLL for (int v = 0; v < NV; v++) out[r * 4 + v] += b[v];
        }
        if (bad != NULL) {
            V sum = *bad;
            CC_UNROLL for (int r = 0; r < R; r++)
                CC_UNROLL for (int v = 0; v < NV; v++) sum += out[r * 4 + v] - out[r * 4 + v];
            *bad = sum;
        }
        if (e->relu)
            CC_UNROLL for (int r = 0; r < R; r++)
                CC_UNROLL for (int v = 0; v < NV; v++)
                    out[r * 4 + v] = (V)((VI)out[r * 4 + v] & (VI)(out[r * 4 + v] > 0));
        if (dkind) {
            const T* a = e->deriv + (C - e->c0);
            CC_UNROLL for (int r = 0; r < R; r++)
                CC_UNROLL for (int v = 0; v < NV; v++) {
                    V d = FN(load)(a + r * crs + v * L), o = out[r * 4 + v];
                    if (dkind == CC_DERIV_RELU) o = (V)((VI)o & (VI)(d > 0));
                    else if (dkind == CC_DERIV_SIGMOID) o = o * d * ((T)1 - d);
                    else o = o * (((T)1 - d) * ((T)1 + d)); /* 1 - d^2, see below */
                    out[r * 4 + v] = o;
                }
        }
    }
    CC_UNROLL for (int r = 0; r < R; r++)
        CC_UNROLL for (int v = 0; v < NV; v++) FN(store)(C + r * crs + v * L, out[r * 4 + v]);
}

/* The epilogue of the last w < L columns: ``e`` with its bias (read from its first column)
 * copied into ``padded`` and zero-padded, so that whole vectors read it; NULL for none. */
static CC_INLINE const FN(epilogue)* FN(edge_epilogue)(const FN(epilogue)* e, int w,
                                                       T* padded, FN(epilogue)* edge) {
    if (e == NULL) return NULL;
    for (int j = 0; j < L; j++) padded[j] = e->bias != NULL && j < w ? e->bias[j] : 0;
    *edge = *e;
    edge->bias = padded;
    return edge;
}

/* C(r, c) = alpha sum_p opA(r, p) B[p, c] + beta C(r, c) for MR rows and NV vectors of
 * columns: opA(r, p) = A[r ars + p acs], B rows contiguous, C(r, c) = C[r crs + c ccs]
 * (ccs == 1: vector stores; else C is written transposed, lane by lane).  ``e`` (NULL:
 * none) is applied with vector stores only; its bias is read at the tile's columns. */
static CC_INLINE void FN(tile_axpy)(int MR, int NV, int k, T alpha, const T* A, long ars,
                                    long acs, const T* B, long ldb, T beta, T* C, long crs,
                                    long ccs, const FN(epilogue)* e) {
    V acc[CC_MR][CC_TILE_NV];
    CC_UNROLL for (int r = 0; r < MR; r++)
        CC_UNROLL for (int v = 0; v < NV; v++) acc[r][v] = (V){0};
    for (int p = 0; p < k; p++) {
        V b[CC_TILE_NV];
        CC_UNROLL for (int v = 0; v < NV; v++) b[v] = FN(load)(B + (long)p * ldb + v * L);
        CC_UNROLL for (int r = 0; r < MR; r++) {
            V a = FN(splat)(A[r * ars + p * acs]);
            CC_UNROLL for (int v = 0; v < NV; v++) acc[r][v] += a * b[v];
        }
    }
    if (ccs == 1) {
        V out[CC_MR * 4];
        CC_UNROLL for (int r = 0; r < MR; r++)
            CC_UNROLL for (int v = 0; v < NV; v++) out[r * 4 + v] = acc[r][v] * alpha;
        FN(finish_tile)(MR, NV, out, beta, C, crs, e);
        return;
    }
    CC_UNROLL for (int r = 0; r < MR; r++)
        CC_UNROLL for (int v = 0; v < NV; v++) {
            V out = acc[r][v] * alpha;
            T lanes[L];
            memcpy(lanes, &out, sizeof(V));
            for (int l = 0; l < L; l++) {
                T* c = C + r * crs + (long)(v * L + l) * ccs;
                *c = beta != 0 ? lanes[l] + beta * *c : lanes[l];
            }
        }
}

/* One function per tile shape (MR = 1..6 rows, NV = 1..2 vectors), each tile_axpy with
 * its shape fixed, called from the row loops instead of inlined into them.  Inlined, every
 * shape's unrolled code and addresses made one function whose entry spent 0.1-0.15 us
 * before its first multiply-add: on Zen 4 a 6x32x1 product took 158 ns, 38 ns this way,
 * and a 64x128x10 delta W^T 3.4 us against 2.3 us.  The shapes are written out (not left
 * to a compiler's cloning of constant arguments), so every compiler builds them. */
#define CC_TILE_SHAPE(MR, NV)                                                                \
    static __attribute__((noinline)) void FN(tile_##MR##x##NV)(                              \
        int k, T alpha, const T* A, long ars, long acs, const T* B, long ldb, T beta, T* C,  \
        long crs, long ccs, const FN(epilogue)* e) {                                         \
        FN(tile_axpy)(MR, NV, k, alpha, A, ars, acs, B, ldb, beta, C, crs, ccs, e);          \
    }
_Static_assert(CC_MR == 6 && CC_NV == 2, "the tile shapes below cover CC_MR x CC_NV");
CC_TILE_SHAPE(1, 1)
CC_TILE_SHAPE(2, 1)
CC_TILE_SHAPE(3, 1)
CC_TILE_SHAPE(4, 1)
CC_TILE_SHAPE(5, 1)
CC_TILE_SHAPE(6, 1)
CC_TILE_SHAPE(1, 2)
CC_TILE_SHAPE(2, 2)
CC_TILE_SHAPE(3, 2)
CC_TILE_SHAPE(4, 2)
CC_TILE_SHAPE(5, 2)
CC_TILE_SHAPE(6, 2)
#ifdef CC_WIDE_NV
_Static_assert(CC_WIDE_NV == 4, "the wide tile shapes below are 1-4 rows of 4 vectors");
CC_TILE_SHAPE(1, 4)
CC_TILE_SHAPE(2, 4)
CC_TILE_SHAPE(3, 4)
CC_TILE_SHAPE(4, 4)
#endif
#undef CC_TILE_SHAPE

/* tile_axpy of MR <= CC_MR rows and NV <= CC_NV vectors through its shape's function. */
static CC_INLINE void FN(tile)(int MR, int NV, int k, T alpha, const T* A, long ars, long acs,
                               const T* B, long ldb, T beta, T* C, long crs, long ccs,
                               const FN(epilogue)* e) {
    typedef void (*tile_fn)(int, T, const T*, long, long, const T*, long, T, T*, long, long,
                            const FN(epilogue)*);
    static const tile_fn shapes[2][6] = {
        {FN(tile_1x1), FN(tile_2x1), FN(tile_3x1), FN(tile_4x1), FN(tile_5x1), FN(tile_6x1)},
        {FN(tile_1x2), FN(tile_2x2), FN(tile_3x2), FN(tile_4x2), FN(tile_5x2), FN(tile_6x2)}};
    shapes[NV - 1][MR - 1](k, alpha, A, ars, acs, B, ldb, beta, C, crs, ccs, e);
}

/* The last w < L columns: B's columns are copied into a zero-padded panel (once per
 * product, before any row is written), the tiles' results go through a buffer.  A row is
 * one whole-vector load with the lanes from w on cleared, as long as the load ends inside
 * B (whose last row ends w elements in: the lanes past w read the next row or the gap
 * between rows); the last rows, whose loads would run past B, go element by element.
 * (Element by element throughout, a 100 x 2 edge cost a tanh network of 20-100-50-3 units
 * at batch 16 a tenth of its training step on Zen 4.) */
static void FN(edge_panel)(int w, int k, const T* B, long ldb, T* panel) {
    T lanes[L];
    VI keep;
    /* rows p <= whole read B[p ldb, p ldb + L) inside the last row's end, (k - 1) ldb + w */
    const long whole = (k - 1) - (L - w + ldb - 1) / ldb;
    int p = 0;
    for (int j = 0; j < L; j++) lanes[j] = j < w ? (T)1 : (T)0;
    keep = (VI)(FN(load)(lanes) != (V){0});
    for (; p <= whole; p++) FN(store)(panel + p * L, (V)((VI)FN(load)(B + p * ldb) & keep));
    for (; p < k; p++)
        for (int j = 0; j < L; j++) panel[p * L + j] = j < w ? B[(long)p * ldb + j] : 0;
}

static void FN(edge_axpy)(int m, int w, int k, T alpha, const T* A, long ars, long acs,
                          T beta, T* C, long crs, long ccs, const T* panel,
                          const FN(epilogue)* e) {
    T buf[CC_MR * L] CC_LINE_ALIGNED, bias[L] CC_LINE_ALIGNED;
    FN(epilogue) edge;
    const FN(epilogue)* ee = FN(edge_epilogue)(e, w, bias, &edge);
    for (int i = 0; i < m; i += CC_MR) {
        int mr = m - i < CC_MR ? m - i : CC_MR;
        if (beta != 0) /* beta == 0 never reads C */
            for (int r = 0; r < mr; r++)
                for (int j = 0; j < w; j++) buf[r * L + j] = C[(i + r) * crs + j * ccs];
        FN(tile)(mr, 1, k, alpha, A + i * ars, ars, acs, panel, L, beta, buf, L, 1, ee);
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < w; j++) C[(i + r) * crs + j * ccs] = buf[r * L + j];
    }
}

/* One product of gemm_axpy, for the threads that share its rows. */
typedef struct {
    int n, k;
    T alpha, beta;
    const T* A;
    long ars, acs;
    const T* B;
    long ldb;
    T* C;
    long crs, ccs;
    const T* panel; /* the last n % L columns of B, zero-padded (see edge_panel) */
    const T* bias;  /* the forward epilogue (see FN(epilogue)); NULL with relu 0: none */
    int relu;
    int* nonfinite; /* set to 1 when some z is NaN or infinite (NULL: not checked) */
    const T* deriv; /* the backward epilogue (see FN(epilogue)); dkind 0: none */
    int dkind;
    int m;
} FN(axpy_job);

/* The epilogue of a job's rows (NULL: none), its non-finite check accumulating in ``bad``;
 * the caller points its bias at each block of columns. */
static CC_INLINE const FN(epilogue)* FN(job_epilogue)(const FN(axpy_job)* g, V* bad,
                                                      FN(epilogue)* epi) {
    *bad = (V){0};
    epi->bias = g->bias;
    epi->relu = g->relu;
    epi->bad = g->nonfinite != NULL ? bad : NULL;
    epi->deriv = g->deriv;
    epi->c0 = g->C;
    epi->dkind = g->dkind;
    return g->bias != NULL || g->relu || g->nonfinite != NULL || g->dkind ? epi : NULL;
}

/* Rows [0, m) of the NV vectors of columns at j: tiles of CC_MR rows, then the last rows.
 * 7-9 rows go as 3+4, 4+4 and 5+4: a tile of 2 vectors needs 8 sums in flight to keep
 * both multiply-add pipes busy (4 cycles of latency each), so a 32-row batch's last 8 rows
 * as 6+2 took 6+4 tiles' time.  Fewer than 6 rows: a tile of 5, else of 4, tiles of 2 (a
 * 1-row tile waits on its loads), then 1.  (Four rows left as two tiles of 2 loaded B
 * twice per multiply-add of a row pair: a 64x128x64 product, 10 tiles of 6 and 4 rows,
 * took 11.5-12.0 us on Zen 4 against 10.7-10.8 us with the tile of 4.)  Every element is
 * summed in the same order whichever tile holds its row. */
static CC_INLINE void FN(axpy_column)(int NV, int j, const T* B, long ldb, int m,
                                      const FN(axpy_job)* g, const T* A, T* C,
                                      const FN(epilogue)* e) {
    const long ars = g->ars, acs = g->acs, crs = g->crs, ccs = g->ccs;
    int i = 0, six = m / CC_MR, rest = m % CC_MR;
    if (six > 0 && rest > 0 && rest < 4) {
        six--;
        rest += CC_MR;
    }
    for (; i < six * CC_MR; i += CC_MR)
        FN(tile)(CC_MR, NV, g->k, g->alpha, A + i * ars, ars, acs, B, ldb,
                      g->beta, C + i * crs + j * ccs, crs, ccs, e);
    if (rest > CC_MR || rest == 5) {
        const int r = rest == 5 ? 5 : rest - 4;
        FN(tile)(r, NV, g->k, g->alpha, A + i * ars, ars, acs, B, ldb, g->beta,
                      C + i * crs + j * ccs, crs, ccs, e);
        i += r;
    }
    if (i + 4 <= m) {
        FN(tile)(4, NV, g->k, g->alpha, A + i * ars, ars, acs, B, ldb, g->beta,
                      C + i * crs + j * ccs, crs, ccs, e);
        i += 4;
    }
    for (; i + 2 <= m; i += 2)
        FN(tile)(2, NV, g->k, g->alpha, A + i * ars, ars, acs, B, ldb, g->beta,
                      C + i * crs + j * ccs, crs, ccs, e);
    if (i < m)
        FN(tile)(1, NV, g->k, g->alpha, A + i * ars, ars, acs, B, ldb, g->beta,
                      C + i * crs + j * ccs, crs, ccs, e);
}

#ifdef CC_WIDE_NV
/* Rows [0, m) of the CC_WIDE_NV vectors of columns at j in tiles of 4 rows (16 sums in
 * flight, 8 loads for 16 multiply-adds), then one of the last 1-3 rows.  Taken where
 * 512-bit FMAs run at the full rate (cc_wide_tiles): there the 6 x 2 tiles' 8 loads for
 * 12 multiply-adds and a 32-row batch's tiles of 4 rows (8 sums, the latency's minimum)
 * held a 32x64x64 product to 85% of the FMA peak.  Every element is summed as in the
 * other tiles, so the results are theirs bit for bit. */
static CC_INLINE void FN(axpy_wide_column)(int j, const T* B, long ldb, int m,
                                           const FN(axpy_job)* g, const T* A, T* C,
                                           const FN(epilogue)* e) {
    typedef void (*tile_fn)(int, T, const T*, long, long, const T*, long, T, T*, long, long,
                            const FN(epilogue)*);
    static const tile_fn shapes[4] = {FN(tile_1x4), FN(tile_2x4), FN(tile_3x4), FN(tile_4x4)};
    const long ars = g->ars, acs = g->acs, crs = g->crs, ccs = g->ccs;
    for (int i = 0; i < m; i += 4)
        shapes[(m - i < 4 ? m - i : 4) - 1](g->k, g->alpha, A + i * ars, ars, acs, B, ldb,
                                            g->beta, C + i * crs + j * ccs, crs, ccs, e);
}
#endif

/* Whether B's blocks of columns are copied into a contiguous panel before the tiles read
 * them (axpy_blocks).  B's rows ``ldb`` elements apart, a stride that is a multiple of a
 * large power of two, fall into few sets of an 8-way 32 KiB L1 (a 4 KiB way) and of L2:
 * the k rows of a 784 x 256 weight matrix, 1 KiB apart, use 4 of L1's 64 sets and 1/16 of
 * L2, so every tile of rows read its block from L3 again.  A copy costs two vector moves a
 * row of the block, once for all m rows (at least CC_PACK_MIN_ROWS).  Measured on Zen 3 (AVX2,
 * float32, one thread): 128 x 784 x 256 NN 78 GFLOP/s in place, 93 with B's rows 272
 * apart, 86-89 packed; the TN 784 x 256 x 128 weight gradient 74 -> 84-88, 256 x 128 x
 * 128 78 -> 89, the NT 128 x 256 x 128 67 -> 78 (OpenBLAS: 85-91 on all four). */
static CC_INLINE int FN(packing_pays)(int m, int k, long ldb) {
    const long bytes = ldb * (long)sizeof(T), pow2 = bytes & -bytes;
    return m >= CC_PACK_MIN_ROWS && (long)k * (pow2 < CC_CACHE_WAY ? pow2 : CC_CACHE_WAY) >
                                 (long)CC_PACK_SET_ROWS * CC_CACHE_WAY;
}

/* B's k rows of CC_NV vectors of columns into ``panel``, rows CC_NV L apart. */
static void FN(pack_block)(int k, const T* B, long ldb, T* panel) {
    for (int p = 0; p < k; p++)
        CC_UNROLL for (int v = 0; v < CC_NV; v++)
            FN(store)(panel + (long)p * CC_NV * L + v * L, FN(load)(B + (long)p * ldb + v * L));
}

/* Rows [begin, end) of an axpy_job: column blocks of CC_NV vectors, then of one, then the
 * edge. */
static void FN(axpy_rows)(void* arg, int begin, int end) {
    const FN(axpy_job)* g = (const FN(axpy_job)*)arg;
    const int m = end - begin, n = g->n;
    const T* A = g->A + begin * g->ars;
    T* C = g->C + begin * g->crs;
    V bad;
    FN(epilogue) epi;
    const FN(epilogue)* e = FN(job_epilogue)(g, &bad, &epi);
    int j = 0;
#ifdef CC_WIDE_NV
    if (cc_wide_tiles && n >= CC_WIDE_NV * L) {
        __atomic_fetch_add(&cc_wide_count, 1, __ATOMIC_RELAXED);
        for (; j + CC_WIDE_NV * L <= n; j += CC_WIDE_NV * L) {
            epi.bias = g->bias != NULL ? g->bias + j : NULL;
            FN(axpy_wide_column)(j, g->B + j, g->ldb, m, g, A, C, e);
        }
    }
#endif
    for (; j + CC_NV * L <= n; j += CC_NV * L) {
        epi.bias = g->bias != NULL ? g->bias + j : NULL;
        FN(axpy_column)(CC_NV, j, g->B + j, g->ldb, m, g, A, C, e);
    }
    for (; j + L <= n; j += L) {
        epi.bias = g->bias != NULL ? g->bias + j : NULL;
        FN(axpy_column)(1, j, g->B + j, g->ldb, m, g, A, C, e);
    }
    if (j < n) {
        epi.bias = g->bias != NULL ? g->bias + j : NULL;
        FN(edge_axpy)(m, n - j, g->k, g->alpha, A, g->ars, g->acs, g->beta, C + j * g->ccs,
                      g->crs, g->ccs, g->panel, e);
    }
    if (g->nonfinite != NULL) FN(report_nonfinite)(bad, g->nonfinite);
}

/* Rows [begin, end) of columns [j, j + NV L) of an axpy_job with k <= CC_SMALL_K and ccs
 * == 1: B's k rows of the block loaded once, then each pair of rows (the last one alone)
 * summed p = 0, 1, ..., k - 1 in one accumulator lane, as tile_axpy does, and finished by
 * finish_tile. */
static CC_INLINE void FN(small_block)(int NV, int j, int begin, int end, const FN(axpy_job)* g,
                                      const FN(epilogue)* e) {
    const int k = g->k;
    const long ars = g->ars, acs = g->acs, crs = g->crs;
    V b[CC_SMALL_K][4];
    CC_UNROLL for (int p = 0; p < CC_SMALL_K; p++)
        CC_UNROLL for (int v = 0; v < NV; v++)
            b[p][v] = p < k ? FN(load)(g->B + (long)p * g->ldb + j + v * L) : (V){0};
    int i = begin;
    for (; i < end; i += 2) {
        const int R = end - i >= 2 ? 2 : 1;
        V out[2 * 4];
        CC_UNROLL for (int r = 0; r < 2; r++) {
            const T* a = g->A + (long)(i + (r < R ? r : 0)) * ars;
            CC_UNROLL for (int v = 0; v < NV; v++) {
                V acc = (V){0};
                CC_UNROLL for (int p = 0; p < CC_SMALL_K; p++)
                    if (p < k) acc += FN(splat)(a[p * acs]) * b[p][v];
                out[r * 4 + v] = acc * g->alpha;
            }
        }
        if (R == 2)
            FN(finish_tile)(2, NV, out, g->beta, g->C + i * crs + j, crs, e);
        else
            FN(finish_tile)(1, NV, out, g->beta, g->C + i * crs + j, crs, e);
    }
}

/* Blocks [begin, end) of CC_NV vectors of columns of an axpy_job whose n is whole blocks,
 * each copied into a panel (see packing_pays) and then run down all m rows: the threads
 * share a product whose B is packed by its blocks of columns, so each block is copied
 * once, and every element is computed as axpy_rows computes it. */
static void FN(axpy_blocks)(void* arg, int begin, int end) {
    const FN(axpy_job)* g = (const FN(axpy_job)*)arg;
    V bad;
    FN(epilogue) epi;
    const FN(epilogue)* e = FN(job_epilogue)(g, &bad, &epi);
    T* packed = (T*)cc_thread_scratch(CC_SCRATCH_BLOCK, sizeof(T) * (size_t)g->k * CC_NV * L);
    for (int b = begin; b < end; b++) {
        const int j = b * CC_NV * L;
        const T* B = g->B + j;
        long ldb = g->ldb;
        if (packed != NULL) { /* else B is read where it is */
            FN(pack_block)(g->k, B, ldb, packed);
            B = packed;
            ldb = CC_NV * L;
        }
        epi.bias = g->bias != NULL ? g->bias + j : NULL;
        FN(axpy_column)(CC_NV, j, B, ldb, g->m, g, g->A, g->C, e);
    }
    if (g->nonfinite != NULL) FN(report_nonfinite)(bad, g->nonfinite);
}

/* Rows [begin, end) of an axpy_job whose k <= CC_SMALL_K (ccs == 1): blocks of up to four
 * vectors of columns through small_block, the last n % L columns as axpy_rows does. */
static void FN(small_rows)(void* arg, int begin, int end) {
    const FN(axpy_job)* g = (const FN(axpy_job)*)arg;
    const int n = g->n, w = n % L;
    V bad;
    FN(epilogue) epi;
    const FN(epilogue)* e = FN(job_epilogue)(g, &bad, &epi);
    for (int j = 0; j + L <= n - w; j += 4 * L) {
        const int nv = (n - w - j) / L;
        epi.bias = g->bias != NULL ? g->bias + j : NULL;
        if (nv >= 4) FN(small_block)(4, j, begin, end, g, e);
        else if (nv == 3) FN(small_block)(3, j, begin, end, g, e);
        else if (nv == 2) FN(small_block)(2, j, begin, end, g, e);
        else FN(small_block)(1, j, begin, end, g, e);
    }
    if (w) {
        epi.bias = g->bias != NULL ? g->bias + n - w : NULL;
        FN(edge_axpy)(end - begin, w, g->k, g->alpha, g->A + begin * g->ars, g->ars, g->acs,
                      g->beta, g->C + begin * g->crs + (n - w), g->crs, 1, g->panel, e);
    }
    if (g->nonfinite != NULL) FN(report_nonfinite)(bad, g->nonfinite);
}

/* The epilogue of an axpy_job's last w < L columns (edge_epilogue, its bias read from
 * column n - w, through ``epi``, whose pointer ``e`` is; NULL for w == 0 or none). */
static CC_INLINE const FN(epilogue)* FN(edge_job_epilogue)(const FN(axpy_job)* g, int w,
                                                         FN(epilogue)* epi,
                                                         const FN(epilogue)* e, T* padded,
                                                         FN(epilogue)* edge) {
    if (w == 0) return NULL;
    epi->bias = g->bias != NULL ? g->bias + g->n - w : NULL;
    return FN(edge_epilogue)(e, w, padded, edge);
}

/* ReLU zeroes about half of a hidden layer's activations, and the derivative mask the same
 * share of its delta, so the products that read them (the next layer's forward product
 * A W, the backward delta W^T) may skip the zero terms: each row of A is reduced to the
 * positions of its nonzeros, and only those rows of B are multiplied in.  Every output
 * element still sums its (nonzero) terms in the order of p in one accumulator lane, and
 * adding the skipped 0 * B[p, c] (+0 or -0) never changes a sum, so the result is bit for
 * bit the dense tiles' (for finite B: 0 * inf would have been NaN; and a sum whose every
 * product is -0, underflowed, stays -0 where the dense tiles' +0 + -0 gave +0, the same
 * value). */

/* The positions p < k where a0[p] != 0 or a1[p] != 0 (NaN included), in increasing order,
 * into ``idx`` (room for k + 16 entries); returns how many.  a1 == a0 for one row. */
static CC_INLINE int FN(nonzeros)(const T* a0, const T* a1, int k, int* idx) {
    int c = 0, p = 0;
#ifdef CC_COMPRESS
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(L);
    for (; p + L <= k; p += L) {
        VI nz = (VI)(FN(load)(a0 + p) != (V){0}) | (VI)(FN(load)(a1 + p) != (V){0});
        unsigned mask = sizeof(T) == 4 ? _mm512_movepi32_mask((__m512i)nz)
                                       : _mm512_movepi64_mask((__m512i)nz);
        _mm512_storeu_si512(idx + c, _mm512_maskz_compress_epi32((__mmask16)mask, iota));
        c += __builtin_popcount(mask);
        iota = _mm512_add_epi32(iota, step);
    }
#endif
    for (; p < k; p++) {
        idx[c] = p;
        c += a0[p] != 0 || a1[p] != 0;
    }
    return c;
}

/* The share of nonzeros in the first rows of A (m x k, rows of length lda): the sample
 * that decides between the dense and the sparse row kernels. */
static double FN(density)(int m, int k, const T* A, long lda) {
    long nz = 0;
    int rows = m < CC_SPARSE_SAMPLE ? m : CC_SPARSE_SAMPLE;
    VI count = (VI){0}; /* the lanes' counts over all the rows, added up once at the end */
    for (int i = 0; i < rows; i++) {
        const T* a = A + i * lda;
        int p = 0;
        for (; p + L <= k; p += L) count -= (VI)(FN(load)(a + p) != (V){0});
        for (; p < k; p++) nz += a[p] != 0;
    }
    for (int l = 0; l < L; l++) nz += count[l];
    return (double)nz / ((double)rows * k);
}

/* R (1 or 2) rows of C over NV vectors of columns: row r sums a_r[p] B[p, :] over the c
 * positions idx where some of the R rows is nonzero (each B row loaded once for both;
 * a row's zero terms among them add 0); the epilogue is tile_axpy's. */
static CC_INLINE void FN(tile_sparse)(int R, int NV, const int* idx, int c, const T* a0,
                                      const T* a1, const T* B, long ldb, T alpha, T beta,
                                      T* C0, T* C1, const FN(epilogue)* e) {
    V acc[2][4];
    CC_UNROLL for (int r = 0; r < 2; r++)
        CC_UNROLL for (int v = 0; v < 4; v++) acc[r][v] = (V){0};
    for (int t = 0; t < c; t++) {
        const long p = idx[t];
        const T* b = B + p * ldb;
        V x0 = FN(splat)(a0[p]), x1 = FN(splat)(a1[p]);
        CC_UNROLL for (int v = 0; v < NV; v++) {
            V bv = FN(load)(b + v * L);
            acc[0][v] += x0 * bv;
            if (R == 2) acc[1][v] += x1 * bv;
        }
    }
    V out[2 * 4];
    CC_UNROLL for (int r = 0; r < R; r++)
        CC_UNROLL for (int v = 0; v < NV; v++) out[r * 4 + v] = acc[r][v] * alpha;
    FN(finish_tile)(R, NV, out, beta, C0, C1 - C0, e);
}

#ifndef CC_SPARSE_ONE_ROW
/* Rows [begin, end) of an axpy_job (acs == 1, ccs == 1, beta == 0: C is never read)
 * through tile_sparse: pairs of rows, each over column blocks of up to four vectors, the
 * last n % L columns from the edge panel through a buffer. */
static void FN(sparse_rows)(void* arg, int begin, int end) {
    const FN(axpy_job)* g = (const FN(axpy_job)*)arg;
    const int n = g->n, k = g->k, w = n % L;
    const long ars = g->ars, crs = g->crs, ldb = g->ldb;
    int idx[CC_OWN_MAX_K + 16];
    T buf[2][L] CC_LINE_ALIGNED, bias[L] CC_LINE_ALIGNED;
    V bad;
    FN(epilogue) epi, edge;
    const FN(epilogue)* e = FN(job_epilogue)(g, &bad, &epi);
    const FN(epilogue)* ee = FN(edge_job_epilogue)(g, w, &epi, e, bias, &edge);
    for (int i = begin; i < end; i += 2) {
        const int R = end - i >= 2 ? 2 : 1;
        const T* a0 = g->A + i * ars;
        const T* a1 = a0 + (R == 2 ? ars : 0);
        T* C0 = g->C + i * crs;
        T* C1 = C0 + (R == 2 ? crs : 0);
        const int c = FN(nonzeros)(a0, a1, k, idx);
#define CC_SPARSE_CASE(NV, B, ldb, c0, c1, e)                                                \
    if (R == 2)                                                                              \
        FN(tile_sparse)(2, NV, idx, c, a0, a1, B, ldb, g->alpha, 0, c0, c1, e);              \
    else                                                                                     \
        FN(tile_sparse)(1, NV, idx, c, a0, a1, B, ldb, g->alpha, 0, c0, c1, e);
        for (int j = 0; j + L <= n - w; j += 4 * L) {
            const int nv = (n - w - j) / L;
            epi.bias = g->bias != NULL ? g->bias + j : NULL;
            if (nv >= 4) { CC_SPARSE_CASE(4, g->B + j, ldb, C0 + j, C1 + j, e) }
            else if (nv == 3) { CC_SPARSE_CASE(3, g->B + j, ldb, C0 + j, C1 + j, e) }
            else if (nv == 2) { CC_SPARSE_CASE(2, g->B + j, ldb, C0 + j, C1 + j, e) }
            else { CC_SPARSE_CASE(1, g->B + j, ldb, C0 + j, C1 + j, e) }
        }
        if (w) {
            CC_SPARSE_CASE(1, g->panel, L, buf[0], buf[1], ee)
            for (int r = 0; r < R; r++) memcpy((r ? C1 : C0) + n - w, buf[r], sizeof(T) * w);
        }
#undef CC_SPARSE_CASE
    }
    if (g->nonfinite != NULL) FN(report_nonfinite)(bad, g->nonfinite);
}
#endif

#ifdef CC_SPARSE_ONE_ROW
/* Bit l set where x[l] != 0 (NaN included), l < L. */
static CC_INLINE unsigned long long FN(nonzero_lanes)(const T* x) {
    VI nz = (VI)(FN(load)(x) != (V){0});
    return sizeof(T) == 4 ? (unsigned)_mm256_movemask_ps((__m256)nz)
                          : (unsigned)_mm256_movemask_pd((__m256d)nz);
}

/* The positions p < k where a[p] != 0 (NaN included) as bits: bit q of bits[w] is
 * position 64 w + q. */
static CC_INLINE void FN(nonzero_bits)(const T* a, int k, unsigned long long* bits) {
    for (int w = 0; w * 64 < k; w++) {
        const T* x = a + w * 64;
        const int end = k - w * 64 < 64 ? k - w * 64 : 64;
        unsigned long long m = 0;
        int q = 0;
        if (end == 64) /* a whole word: every shift a constant */
            CC_UNROLL for (; q < 64; q += L) m |= FN(nonzero_lanes)(x + q) << q;
        else
            for (; q + L <= end; q += L) m |= FN(nonzero_lanes)(x + q) << q;
        for (; q < end; q++) m |= (unsigned long long)(x[q] != 0) << q;
        bits[w] = m;
    }
}

/* One row of C over NV (<= CC_SPARSE_ROW_NV) vectors of columns: the sum of a[p] B[p, :]
 * over the positions p in ``bits``, in increasing order in one accumulator lane; the
 * epilogue is tile_axpy's. */
static CC_INLINE void FN(row_sparse)(int NV, const unsigned long long* bits, int k,
                                     const T* a, const T* B, long ldb, T alpha, T* C,
                                     const FN(epilogue)* e) {
    V acc[CC_SPARSE_ROW_NV];
    CC_UNROLL for (int v = 0; v < CC_SPARSE_ROW_NV; v++) acc[v] = (V){0};
    for (int w = 0; w * 64 < k; w++)
        for (unsigned long long m = bits[w]; m != 0; m &= m - 1) {
            const long p = w * 64 + __builtin_ctzll(m);
            const T* b = B + p * ldb;
            const V x = FN(splat)(a[p]);
            CC_UNROLL for (int v = 0; v < NV; v++) acc[v] += x * FN(load)(b + v * L);
        }
    V out[CC_SPARSE_ROW_NV];
    CC_UNROLL for (int v = 0; v < NV; v++) out[v] = acc[v] * alpha;
    FN(finish_tile)(1, NV, out, 0, C, 0, e);
}

/* Rows [begin, end) of an axpy_job (acs == 1, ccs == 1, beta == 0: C is never read)
 * through row_sparse: each row over column blocks of up to CC_SPARSE_ROW_NV vectors, the
 * last n % L columns from the edge panel through a buffer. */
static void FN(sparse_rows)(void* arg, int begin, int end) {
    _Static_assert(CC_SPARSE_ROW_NV == 8, "the cases below cover CC_SPARSE_ROW_NV");
    const FN(axpy_job)* g = (const FN(axpy_job)*)arg;
    const int n = g->n, k = g->k, w = n % L;
    unsigned long long bits[(CC_OWN_MAX_K + 63) / 64];
    T buf[L] CC_LINE_ALIGNED, bias[L] CC_LINE_ALIGNED;
    V bad;
    FN(epilogue) epi, edge;
    const FN(epilogue)* e = FN(job_epilogue)(g, &bad, &epi);
    const FN(epilogue)* ee = FN(edge_job_epilogue)(g, w, &epi, e, bias, &edge);
    for (int i = begin; i < end; i++) {
        const T* a = g->A + i * g->ars;
        T* C = g->C + i * g->crs;
        FN(nonzero_bits)(a, k, bits);
        for (int j = 0; j + L <= n - w; j += CC_SPARSE_ROW_NV * L) {
            const int left = (n - w - j) / L;
            const T* B = g->B + j;
            epi.bias = g->bias != NULL ? g->bias + j : NULL;
#define CC_ROW_CASE(NV)                                                                      \
    case NV: FN(row_sparse)(NV, bits, k, a, B, g->ldb, g->alpha, C + j, e); break;
            switch (left < CC_SPARSE_ROW_NV ? left : CC_SPARSE_ROW_NV) {
            CC_ROW_CASE(8) CC_ROW_CASE(7) CC_ROW_CASE(6) CC_ROW_CASE(5)
            CC_ROW_CASE(4) CC_ROW_CASE(3) CC_ROW_CASE(2) default: CC_ROW_CASE(1)
            }
#undef CC_ROW_CASE
        }
        if (w) {
            FN(row_sparse)(1, bits, k, a, g->panel, L, g->alpha, buf, ee);
            memcpy(C + n - w, buf, sizeof(T) * w);
        }
    }
    if (g->nonfinite != NULL) FN(report_nonfinite)(bad, g->nonfinite);
}

/* The density up to which the sparse rows take a product of n columns: the set one for
 * CC_SPARSE_ROW_NV vectors of columns or more, in proportion below (fewer sums in
 * flight); a setting of 1 (the tests') takes every product they can. */
static CC_INLINE double FN(sparse_limit)(int n) {
    const int vectors = n / L;
    return vectors >= CC_SPARSE_ROW_NV || cc_sparse_density >= 1
               ? cc_sparse_density
               : cc_sparse_density * vectors / CC_SPARSE_ROW_NV;
}
#define CC_SPARSE_ROWS_AT_ONCE 1
#else
static CC_INLINE double FN(sparse_limit)(int n) { (void)n; return cc_sparse_density; }
#define CC_SPARSE_ROWS_AT_ONCE 2
#endif

/* C = alpha opA B + beta C with B (k x n) rows contiguous (see tile_axpy); large products
 * share their rows among threads (simd/pool.h). */
static int FN(gemm_axpy_epilogue)(int m, int n, int k, T alpha, const T* A, long ars,
                                  long acs, const T* B, long ldb, T beta, T* C, long crs,
                                  long ccs, const T* bias, int relu, int* nonfinite,
                                  const T* deriv, int dkind) {
    /* the panel of the last columns, taken before anything is written (on failure BLAS
     * does the whole product) */
    T stack[CC_PACK_STACK] CC_LINE_ALIGNED;
    T* panel = n % L == 0 || (long)k * L <= CC_PACK_STACK
                   ? stack : (T*)malloc(sizeof(T) * (size_t)k * L);
    FN(axpy_job) job = {n, k, alpha, beta, A, ars, acs, B, ldb, C, crs, ccs, panel,
                        bias, relu, nonfinite, deriv, dkind, m};
    if (panel == NULL) return 0;
    if (n % L) FN(edge_panel)(n % L, k, B + (n - n % L), ldb, panel);
    if (acs == 1 && ccs == 1 && beta == 0 && k >= CC_SPARSE_MIN_K && n > 2 * L &&
        (long)k * n * (long)sizeof(T) <= CC_SPARSE_MAX_B && cc_sparse_density > 0) {
        double density = FN(density)(m, k, A, ars);
        if (density <= FN(sparse_limit)(n)) {
            __atomic_fetch_add(&cc_sparse_count, 1, __ATOMIC_RELAXED);
            cc_rows_parallel(FN(sparse_rows), &job, m, CC_SPARSE_ROWS_AT_ONCE,
                             2.0 * m * n * k * density);
            if (panel != stack) free(panel);
            return 1;
        }
    }
    if (k <= CC_SMALL_K && ccs == 1)
        cc_rows_parallel(FN(small_rows), &job, m, 2, 2.0 * m * n * k);
    else if (n % (CC_NV * L) == 0 && FN(packing_pays)(m, k, ldb) &&
             n / (CC_NV * L) >= 2 * cc_split_width(2.0 * m * n * k)) {
        /* (with fewer than two blocks a thread, the rows are split instead, unpacked) */
        __atomic_fetch_add(&cc_packed_count, 1, __ATOMIC_RELAXED);
        cc_rows_parallel(FN(axpy_blocks), &job, n / (CC_NV * L), 1, 2.0 * m * n * k);
    }
    else
        cc_rows_parallel(FN(axpy_rows), &job, m, CC_MR, 2.0 * m * n * k);
    if (panel != stack) free(panel);
    return 1;
}

static int FN(gemm_axpy)(int m, int n, int k, T alpha, const T* A, long ars, long acs,
                         const T* B, long ldb, T beta, T* C, long crs, long ccs) {
    return FN(gemm_axpy_epilogue)(m, n, k, alpha, A, ars, acs, B, ldb, beta, C, crs, ccs,
                                  NULL, 0, NULL, NULL, 0);
}

/* b = alpha sum_i D[i, :] + beta b for D (m x n, rows of length ldd; beta == 0: b is not
 * read): a layer's bias gradient, its delta summed over the batch (and, with alpha = -lr,
 * beta = 1, the plain SGD step on the bias).  Each column sums its rows in order in one
 * accumulator lane, four vectors of columns at a time in registers: a running sum kept in
 * b itself waited on a store and a reload for every row.  Returns 1 (0 is the build
 * without vector types, where the caller sums). */
/* Not inlined, as transpose below: their last step, alpha sum + beta b, is one multiply-add
 * or two roundings as the compiler contracts it, and inlined into callers that know beta
 * (1) and callers that do not, the same sums came out in other bits (the pair step's
 * halves and the whole step that must match them). */
static CC_UNUSED __attribute__((noinline)) int FN(column_sums)(int m, int n, const T* D,
                                                               long ldd, T alpha, T beta,
                                                               T* b) {
    int j = 0;
    for (; j + 4 * L <= n; j += 4 * L) {
        V acc[4] = {(V){0}, (V){0}, (V){0}, (V){0}};
        for (int i = 0; i < m; i++)
            CC_UNROLL for (int v = 0; v < 4; v++) acc[v] += FN(load)(D + i * ldd + j + v * L);
        CC_UNROLL for (int v = 0; v < 4; v++)
            FN(store)(b + j + v * L, FN(plus_beta)(acc[v] * alpha, beta, b + j + v * L));
    }
    for (; j + L <= n; j += L) {
        V acc = (V){0};
        for (int i = 0; i < m; i++) acc += FN(load)(D + i * ldd + j);
        FN(store)(b + j, FN(plus_beta)(acc * alpha, beta, b + j));
    }
    for (; j < n; j++) {
        T acc = 0;
        for (int i = 0; i < m; i++) acc += D[i * ldd + j];
        b[j] = beta != 0 ? acc * alpha + b[j] * beta : acc * alpha;
    }
    return 1;
}

/* x with its lanes rotated down by w (lane j holds x[(j + w) % L]), for w = L/2, ..., 1. */
static CC_INLINE V FN(rotate)(V x, int w) {
#if defined(CC_SHUFFLE) && L == 16
    if (w == 8) return __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    if (w == 4) return __builtin_shufflevector(x, x, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
    if (w == 2) return __builtin_shufflevector(x, x, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1);
    return __builtin_shufflevector(x, x, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0);
#elif defined(CC_SHUFFLE) && L == 8
    if (w == 4) return __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3);
    if (w == 2) return __builtin_shufflevector(x, x, 2, 3, 4, 5, 6, 7, 0, 1);
    return __builtin_shufflevector(x, x, 1, 2, 3, 4, 5, 6, 7, 0);
#elif defined(CC_SHUFFLE) && L == 4
    if (w == 2) return __builtin_shufflevector(x, x, 2, 3, 0, 1);
    return __builtin_shufflevector(x, x, 1, 2, 3, 0);
#elif defined(CC_SHUFFLE) && L == 2
    (void)w;
    return __builtin_shufflevector(x, x, 1, 0);
#else
    T in[L], out[L];
    memcpy(in, &x, sizeof(V));
    for (int j = 0; j < L; j++) out[j] = in[(j + w) % L];
    return FN(load)(out);
#endif
}

/* Sum of a vector's lanes, pairwise in a fixed order: for w = L/2, ..., 1, lane j < w adds
 * lane j + w; a rotation and an addition a stage, in registers.  (Through memory, a store
 * and L - 1 scalar additions, the 32 dot products of a 32x1x64 product took 0.27-0.35 us on
 * Zen 4.) */
static CC_INLINE T FN(hsum)(V x) {
    CC_UNROLL for (int w = L / 2; w >= 1; w /= 2) x = x + FN(rotate)(x, w);
    return x[0];
}

/* C[i, j] = alpha sum_p A[i lda + p] Bt[j ldb + p] + beta C[i, j] for MR x NC outputs:
 * rows of A against rows of Bt, both contiguous along p. */
static CC_INLINE void FN(tile_dot)(int MR, int NC, int k, T alpha, const T* A, long lda,
                                   const T* Bt, long ldb, T beta, T* C, long ldc) {
    V acc[CC_DR][CC_DC];
    CC_UNROLL for (int r = 0; r < CC_DR; r++)
        CC_UNROLL for (int c = 0; c < CC_DC; c++) acc[r][c] = (V){0};
    int p = 0;
    for (; p + L <= k; p += L) {
        V b[CC_DC];
        CC_UNROLL for (int c = 0; c < NC; c++) b[c] = FN(load)(Bt + c * ldb + p);
        CC_UNROLL for (int r = 0; r < MR; r++) {
            V a = FN(load)(A + r * lda + p);
            CC_UNROLL for (int c = 0; c < NC; c++) acc[r][c] += a * b[c];
        }
    }
    CC_UNROLL for (int r = 0; r < MR; r++)
        CC_UNROLL for (int c = 0; c < NC; c++) {
            T s = FN(hsum)(acc[r][c]);
            for (int q = p; q < k; q++) s += A[r * lda + q] * Bt[c * ldb + q];
            T* out = C + r * ldc + c;
            *out = beta != 0 ? alpha * s + beta * *out : alpha * s;
        }
}

/* One product of gemm_dot, for the threads that share its rows. */
typedef struct {
    int n, k;
    T alpha, beta;
    const T* A;
    long lda;
    const T* Bt;
    long ldb;
    T* C;
    long ldc;
} FN(dot_job);

/* Rows [begin, end) of a dot_job: CC_DR x CC_DC tiles, then the last columns and rows. */
static void FN(dot_rows)(void* arg, int begin, int end) {
    const FN(dot_job)* g = (const FN(dot_job)*)arg;
    const int n = g->n, k = g->k;
    const long lda = g->lda, ldb = g->ldb, ldc = g->ldc;
    const T alpha = g->alpha, beta = g->beta;
    const T* Bt = g->Bt;
    int i = begin;
    for (; i + CC_DR <= end; i += CC_DR) {
        int j = 0;
        for (; j + CC_DC <= n; j += CC_DC)
            FN(tile_dot)(CC_DR, CC_DC, k, alpha, g->A + i * lda, lda, Bt + j * ldb, ldb, beta,
                         g->C + (long)i * ldc + j, ldc);
        for (; j < n; j++)
            FN(tile_dot)(CC_DR, 1, k, alpha, g->A + i * lda, lda, Bt + j * ldb, ldb, beta,
                         g->C + (long)i * ldc + j, ldc);
    }
    for (; i < end; i++) {
        int j = 0;
        for (; j + CC_DC <= n; j += CC_DC)
            FN(tile_dot)(1, CC_DC, k, alpha, g->A + i * lda, lda, Bt + j * ldb, ldb, beta,
                         g->C + (long)i * ldc + j, ldc);
        for (; j < n; j++)
            FN(tile_dot)(1, 1, k, alpha, g->A + i * lda, lda, Bt + j * ldb, ldb, beta,
                         g->C + (long)i * ldc + j, ldc);
    }
}

/* C = alpha A Bt^T + beta C, rows of A against rows of Bt; large products share their
 * rows among threads (simd/pool.h). */
static void FN(gemm_dot)(int m, int n, int k, T alpha, const T* A, long lda, const T* Bt,
                         long ldb, T beta, T* C, long ldc) {
    FN(dot_job) job = {n, k, alpha, beta, A, lda, Bt, ldb, C, ldc};
    cc_rows_parallel(FN(dot_rows), &job, m, CC_DR, 2.0 * m * n * k);
}

/* *out = x + beta *out (beta == 0: *out is not read), an element of a transpose. */
static CC_INLINE void FN(transposed)(T x, T beta, T* out) {
    if (beta != 0) x += *out * beta;
    *out = x;
}

/* out (k x n, rows of length ldo) = in^T + beta out for in (n x k, rows of length ldi;
 * beta == 0: out is not read): blocks through vector shuffles where the compiler has them,
 * the rest element by element.  float, and double with AVX-512: 8 x 8 blocks (3 stages of
 * pairwise interleaves); double with narrower vectors: 4 x 4 blocks of 32-byte vectors (2
 * stages).  (8 x 8 blocks of doubles are 64-byte vectors, which GCC lowered for AVX2
 * through the stack element by element: a float64 32x64x64 delta W^T spent half its time
 * transposing W, and ran at half OpenBLAS's rate.) */
static __attribute__((noinline)) void FN(transpose)(int n, int k, const T* in, long ldi,
                                                    T* out, long ldo, T beta) {
    int j = 0;
#if defined(CC_SHUFFLE) && CC_TRANSPOSE_BLOCK == 4
    for (; j + 4 <= n; j += 4) {
        int p = 0;
        for (; p + 4 <= k; p += 4) {
            V4 r[4], t[4], o[4];
            CC_UNROLL for (int i = 0; i < 4; i++) r[i] = *(const V4*)(in + (j + i) * ldi + p);
            t[0] = __builtin_shufflevector(r[0], r[1], 0, 4, 2, 6);
            t[1] = __builtin_shufflevector(r[0], r[1], 1, 5, 3, 7);
            t[2] = __builtin_shufflevector(r[2], r[3], 0, 4, 2, 6);
            t[3] = __builtin_shufflevector(r[2], r[3], 1, 5, 3, 7);
            o[0] = __builtin_shufflevector(t[0], t[2], 0, 1, 4, 5);
            o[1] = __builtin_shufflevector(t[1], t[3], 0, 1, 4, 5);
            o[2] = __builtin_shufflevector(t[0], t[2], 2, 3, 6, 7);
            o[3] = __builtin_shufflevector(t[1], t[3], 2, 3, 6, 7);
            CC_UNROLL for (int i = 0; i < 4; i++) {
                V4* dst = (V4*)(out + (p + i) * ldo + j);
                if (beta != 0) o[i] += *dst * beta;
                *dst = o[i];
            }
        }
        for (; p < k; p++)
            for (int i = 0; i < 4; i++)
                FN(transposed)(in[(j + i) * ldi + p], beta, out + p * ldo + j + i);
    }
#elif defined(CC_SHUFFLE)
    for (; j + 8 <= n; j += 8) {
        int p = 0;
        for (; p + 8 <= k; p += 8) {
            V8 r[8], a[8], b[8];
            CC_UNROLL for (int i = 0; i < 8; i++) r[i] = *(const V8*)(in + (j + i) * ldi + p);
            CC_UNROLL for (int i = 0; i < 8; i += 2) {  /* interleave single lanes */
                a[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
                a[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
            }
            CC_UNROLL for (int i = 0; i < 8; i += 4)  /* interleave pairs */
                CC_UNROLL for (int h = 0; h < 2; h++) {
                    b[i + 2 * h] = __builtin_shufflevector(a[i + h], a[i + h + 2], 0, 1, 8, 9,
                                                           4, 5, 12, 13);
                    b[i + 2 * h + 1] = __builtin_shufflevector(a[i + h], a[i + h + 2], 2, 3,
                                                               10, 11, 6, 7, 14, 15);
                }
            CC_UNROLL for (int i = 0; i < 4; i++) {  /* interleave halves */
                V8 lo = __builtin_shufflevector(b[i], b[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
                V8 hi = __builtin_shufflevector(b[i], b[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
                V8* o_lo = (V8*)(out + (p + i) * ldo + j);
                V8* o_hi = (V8*)(out + (p + i + 4) * ldo + j);
                if (beta != 0) {
                    lo += *o_lo * beta;
                    hi += *o_hi * beta;
                }
                *o_lo = lo;
                *o_hi = hi;
            }
        }
        for (; p < k; p++)
            for (int i = 0; i < 8; i++) FN(transposed)(in[(j + i) * ldi + p], beta, out + p * ldo + j + i);
    }
#endif
    for (; j < n; j++)
        for (int p = 0; p < k; p++) FN(transposed)(in[j * ldi + p], beta, out + p * ldo + j);
}

/* C = alpha A Bt^T + beta C (the NT product delta W^T of backpropagation): Bt (n x k,
 * n k <= CC_NT_PANEL) is transposed into a k x n panel (on the stack up to CC_PACK_STACK
 * elements, else the thread's scratch panel, kept between products), then multiplied in
 * axpy form. */
static int FN(gemm_nt)(int m, int n, int k, T alpha, const T* A, int lda, const T* Bt,
                       int ldb, T beta, T* C, int ldc, const T* deriv, int dkind) {
    T stack[CC_PACK_STACK] CC_LINE_ALIGNED;
    T *panel = stack, *owned = NULL;
    int ok;
    if ((long)n * k > CC_PACK_STACK) {
        panel = (T*)cc_thread_scratch(CC_SCRATCH_PANEL, sizeof(T) * (size_t)n * k);
        if (panel == NULL) panel = owned = (T*)malloc(sizeof(T) * (size_t)n * k);
        if (panel == NULL) return 0;
    }
    FN(transpose)(n, k, Bt, ldb, panel, n, 0);
    ok = FN(gemm_axpy_epilogue)(m, n, k, alpha, A, lda, 1, panel, n, beta, C, ldc, 1, NULL, 0,
                                NULL, deriv, dkind);
    free(owned);
    return ok;
}

/* Row-major C (m x n) = alpha op(A) op(B) + beta C with op(A) m x k and op(B) k x n; the
 * leading dimensions are those of A, B and C as stored.  Runs the shapes where the own
 * kernels beat OpenBLAS (see CC_OWN_* in gemm.h) and returns 1; otherwise returns 0 and
 * the caller uses BLAS.  beta == 0 never reads C. */
static CC_UNUSED int FN(gemm)(int trans_a, int trans_b, int m, int n, int k, T alpha, const T* A,
                    int lda, const T* B, int ldb, T beta, T* C, int ldc) {
    if (m <= 0 || n <= 0 || k <= 0 || (trans_a && trans_b) || k > CC_OWN_MAX_K) return 0;
    if (trans_b) {
        if (n <= CC_NARROW)  /* B's few columns are Bt's contiguous rows: dot products */
            FN(gemm_dot)(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        else if ((long)n * k <= CC_NT_PANEL)
            return FN(gemm_nt)(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0);
        else
            return 0;
        return 1;
    }
    if (trans_a && (n <= CC_NARROW || (n < CC_NV * L && m >= CC_NV * L))) {
        /* C^T = B^T A, its rows (over i) A's contiguous rows: few columns of C become
         * few rows of whole vectors, multiplied into a buffer and transposed into C
         * (written into C's columns lane by lane, a 128x10x64 weight gradient took
         * 3.7-4.4 us on Zen 4, against 3.3-3.8 us; with the 4-row tile of axpy_column,
         * 2.4 us) */
        if ((long)n * m <= CC_PACK_STACK) {
            T buf[CC_PACK_STACK] CC_LINE_ALIGNED;
            if (!FN(gemm_axpy)(n, m, k, alpha, B, 1, ldb, A, lda, 0, buf, m, 1)) return 0;
            FN(transpose)(n, m, buf, m, C, ldc, beta);
            return 1;
        }
        return FN(gemm_axpy)(n, m, k, alpha, B, 1, ldb, A, lda, beta, C, 1, ldc);
    }
    if (!trans_a && n <= CC_DOT_MAX_N(L)) {
        /* a few columns: B's columns become contiguous rows, dot products */
        T stack[CC_PACK_STACK] CC_LINE_ALIGNED;
        T* bt = stack;
        if (k > CC_NARROW_K) return 0;
        if ((long)n * k > CC_PACK_STACK && !(bt = (T*)malloc(sizeof(T) * (size_t)n * k)))
            return 0;
        FN(transpose)(k, n, B, ldb, bt, k, 0);
        FN(gemm_dot)(m, n, k, alpha, A, lda, bt, k, beta, C, ldc);
        if (bt != stack) free(bt);
        return 1;
    }
    if (trans_a) return FN(gemm_axpy)(m, n, k, alpha, A, 1, lda, B, ldb, beta, C, ldc, 1);
    return FN(gemm_axpy)(m, n, k, alpha, A, lda, 1, B, ldb, beta, C, ldc, 1);
}

/* The forward product of a layer with its epilogue: row-major C (m x n) = f(A B + bias)
 * with A m x k, B k x n, f the identity or max(., 0) (``relu``); ``*nonfinite`` is set to 1
 * when some A B + bias is NaN or infinite.  Returns 0, touching nothing, for the shapes the
 * axpy tiles do not take (the caller then multiplies and applies the rest itself). */
static CC_UNUSED int FN(gemm_forward)(int m, int n, int k, const T* A, int lda, const T* B,
                                      int ldb, T* C, int ldc, const T* bias, int relu,
                                      int* nonfinite) {
    if (m <= 0 || n <= CC_DOT_MAX_N(L) || k <= 0 || k > CC_OWN_MAX_K) return 0;
    return FN(gemm_axpy_epilogue)(m, n, k, 1, A, lda, 1, B, ldb, 0, C, ldc, 1, bias, relu,
                                  nonfinite, NULL, 0);
}

/* Whether gemm_backward takes the m x n x k shape: not the NT products gemm leaves to dot
 * products or to BLAS, nor columns that are not whole vectors. */
static CC_INLINE int FN(backward_takes)(int m, int n, int k) {
    return m > 0 && n > CC_NARROW && n % L == 0 && k > 0 && k <= CC_OWN_MAX_K &&
           (long)n * k <= CC_NT_PANEL;
}

/* The backward product of a layer with the derivative of the activation below in its
 * epilogue: row-major C (m x n) = (A Bt^T) * f'(z), f'(z) taken from that layer's
 * activations ``act`` (m x n, rows of length ldc) by ``dkind`` (CC_DERIV_*), as
 * multiply_derivative would in a pass of its own.  Returns 0, touching nothing, for the
 * shapes it does not take (backward_takes): the caller then multiplies and applies f'(z)
 * itself. */
static CC_UNUSED int FN(gemm_backward)(int m, int n, int k, const T* A, int lda, const T* Bt,
                                       int ldb, T* C, int ldc, const T* act, int dkind) {
    if (!FN(backward_takes)(m, n, k)) return 0;
    return FN(gemm_nt)(m, n, k, 1, A, lda, Bt, ldb, 0, C, ldc, act, dkind);
}

/* The backward pass through a layer of few units (n <= CC_SMALL_K: a sigmoid or linear
 * output, a few classes) in one pass over the rows of its input activations A (m x k, rows
 * of length lda), for its delta D (m x n, rows of length ldd) and weights W (k x n, rows of
 * length ldw):
 *   P = (D W^T) * f'(z),   f'(z) read from A = f(z) by ``dkind`` (CC_DERIV_*; 0: none),
 *   dest = alpha A^T D + beta dest   (dest laid out like W, rows of length ldw; beta == 0:
 *                                     dest is not read; dest may be W itself).
 * gemm_backward and the weight-gradient gemm would each read A, and their set-up (W^T into
 * a panel, the weight gradient through a buffer and a transpose) is most of so small a
 * product: Zen 4, float32, one thread, 32 rows of 64 into one unit with ReLU below, 0.28 us
 * for the two, 0.15 us in one pass.  The bits are theirs: P sums p = 0 .. n - 1 from 0 and
 * applies f' as finish_tile does; dest sums the rows i = 0 .. m - 1 in order in one
 * accumulator lane, times alpha, plus beta dest as ``transposed`` adds it.  The columns of
 * A are cut into blocks of up to CC_NARROW_NV vectors (half that for more than two units,
 * whose weights and sums would not fit in the registers); large products share the blocks
 * among threads.  W's rows of a block are read before its rows of dest are written, so P
 * takes W before the update.  (More units in groups of CC_SMALL_K, each group a pass that
 * adds to P's running sums, did not pay: 64 rows of 128 into ten units, 4.43 us against
 * 4.32 us for the two products.) */
#define CC_NARROW_NV 4
/* Vectors of columns a block of a layer of n units: CC_NARROW_NV up to two units, half that
 * for three or four. */
#define CC_NARROW_BLOCK(n) ((n) <= 2 ? CC_NARROW_NV : CC_NARROW_NV / 2)

typedef struct {
    int m, n, k;
    const T* D;
    long ldd;
    const T* W;
    long ldw;
    const T* A;
    long lda;
    T* P;
    long ldp;
    int dkind;
    T alpha, beta;
    T* dest;
} FN(narrow_job);

/* Columns [j, j + NV L) of a narrow_job with n = N units: W's rows of the block transposed
 * into registers, the rows of A, and the block's rows of dest from the sums transposed. */
static CC_INLINE void FN(narrow_block)(int N, int NV, int j, const FN(narrow_job)* g) {
    V wt[CC_SMALL_K][CC_NARROW_NV], acc[CC_SMALL_K][CC_NARROW_NV];
    T units[CC_SMALL_K * CC_NARROW_NV * L] CC_LINE_ALIGNED; /* N rows of NV L */
    const int dkind = g->dkind;
    FN(transpose)(NV * L, N, g->W + j * g->ldw, g->ldw, units, NV * L, 0);
    CC_UNROLL for (int o = 0; o < N; o++)
        CC_UNROLL for (int v = 0; v < NV; v++) {
            wt[o][v] = FN(load)(units + (o * NV + v) * L);
            acc[o][v] = (V){0};
        }
    for (int i = 0; i < g->m; i++) {
        const T* a = g->A + i * g->lda + j;
        const T* d = g->D + i * g->ldd;
        T* p = g->P + i * g->ldp + j;
        V s[CC_SMALL_K];
        CC_UNROLL for (int o = 0; o < N; o++) s[o] = FN(splat)(d[o]);
        CC_UNROLL for (int v = 0; v < NV; v++) {
            V x = FN(load)(a + v * L), out = (V){0};
            CC_UNROLL for (int o = 0; o < N; o++) {
                acc[o][v] += s[o] * x;
                out += s[o] * wt[o][v];
            }
            if (dkind == CC_DERIV_RELU) out = (V)((VI)out & (VI)(x > 0));
            else if (dkind == CC_DERIV_SIGMOID) out = out * x * ((T)1 - x);
            /* tanh' = 1 - x^2 as (1 - x)(1 + x): no multiply-add a compiler could fuse in
             * one build of a formula and not in another (the passes of activations.pxd,
             * compiled without optimisation in the bounds-checked build, left 1 - x x
             * unfused where these kernels fused it), so every path has the same bits */
            else if (dkind == CC_DERIV_TANH) out = out * (((T)1 - x) * ((T)1 + x));
            FN(store)(p + v * L, out);
        }
    }
    CC_UNROLL for (int o = 0; o < N; o++)
        CC_UNROLL for (int v = 0; v < NV; v++)
            FN(store)(units + (o * NV + v) * L, acc[o][v] * g->alpha);
    FN(transpose)(N, NV * L, units, NV * L, g->dest + j * g->ldw, g->ldw, g->beta);
}

/* narrow_block of N units; nv vectors in this block (at most CC_NARROW_BLOCK(N)). */
static CC_INLINE void FN(narrow_units)(int N, int nv, int j, const FN(narrow_job)* g) {
    if (CC_NARROW_BLOCK(N) >= 4 && nv >= 4) FN(narrow_block)(N, 4, j, g);
    else if (CC_NARROW_BLOCK(N) >= 3 && nv == 3) FN(narrow_block)(N, 3, j, g);
    else if (nv >= 2) FN(narrow_block)(N, 2, j, g);
    else FN(narrow_block)(N, 1, j, g);
}

/* Blocks [begin, end) of a narrow_job. */
static void FN(narrow_blocks)(void* arg, int begin, int end) {
    const FN(narrow_job)* g = (const FN(narrow_job)*)arg;
    const int block = CC_NARROW_BLOCK(g->n);
    _Static_assert(CC_SMALL_K == 4 && CC_NARROW_NV == 4, "narrow_blocks covers these");
    for (int b = begin; b < end; b++) {
        const int j = b * block * L, left = (g->k - j) / L;
        const int nv = left < block ? left : block;
        switch (g->n) {
        case 1: FN(narrow_units)(1, nv, j, g); break;
        case 2: FN(narrow_units)(2, nv, j, g); break;
        case 3: FN(narrow_units)(3, nv, j, g); break;
        default: FN(narrow_units)(4, nv, j, g); break;
        }
    }
}

/* The narrow backward pass above; returns 0, touching nothing, unless n <= CC_SMALL_K and
 * gemm_backward would take the shape (the caller then runs the product, the derivative and
 * the weight gradient's gemm).  The narrow pass is off while cc_narrow_backward is 0. */
static CC_UNUSED int FN(narrow_backward)(int m, int n, int k, const T* D, int ldd, const T* W,
                                         int ldw, const T* A, int lda, T* P, int ldp,
                                         int dkind, T alpha, T beta, T* dest) {
    const int block = CC_NARROW_BLOCK(n);
    if (!cc_narrow_backward || n < 1 || n > CC_SMALL_K || m > CC_OWN_MAX_K ||
        !FN(backward_takes)(m, k, n))
        return 0;
    FN(narrow_job) job = {m, n, k, D, ldd, W, ldw, A, lda, P, ldp, dkind, alpha, beta, dest};
    __atomic_fetch_add(&cc_narrow_count, 1, __ATOMIC_RELAXED);
    cc_rows_parallel(FN(narrow_blocks), &job, (k / L + block - 1) / block, 1,
                     4.0 * (double)m * n * k);
    return 1;
}
