"""The own small-matrix product kernels (src/simd/gemm.h) at every ISA level this CPU runs.

Each level's build of the network kernels carries its own compilation of the kernels;
``gemm_rm`` in that module multiplies through them (or through BLAS for the shapes they
decline).  The vector exp / log1p of the losses are checked against their documented maximum
errors.  Products are checked against a float64 NumPy product, at every level, for every path: wide
NN products with row and column tails, narrow outputs, narrow TN (the output layer's
weight gradient), and the shapes handed to BLAS.  The kernels' 64-, 32- and 16-byte
tilings are also compiled on their own (with the system C compiler) and checked, so the
AVX-512 tiling is exercised on a CPU without AVX-512.
"""

import ctypes
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import crash_core._kernels as kernels
from crash_core._kernels import network as knetwork
from crash_core.network import Network

sys.path.insert(0, str(Path(__file__).resolve().parent))
oracle = importlib.import_module("oracle")

SRC = Path(__file__).resolve().parent.parent / "src"


def runnable_levels():
    """Each level's build of the network kernels that this CPU runs, as pytest params."""
    found = []
    for level in kernels.cpu_levels():
        if level in kernels.built_levels("network_kernels"):
            found.append(pytest.param(knetwork.at_level(level), id=level))
    return found


LEVELS = runnable_levels()
DTYPES = [np.float32, np.float64]
# (trans_a, trans_b, m, n, k): every path of cc_gemm and the shapes it leaves to BLAS
SHAPES = [
    (False, False, 13, 40, 7),  # wide NN: row tail (13 = 2 x 6 + 1), column tail
    (False, False, 6, 16, 3),
    (False, False, 32, 64, 64),
    (False, False, 1, 33, 5),
    (False, False, 5, 1, 9),  # narrow NN: dot products
    (False, False, 7, 3, 20),
    (False, False, 9, 4, 1),
    (False, False, 9, 10, 20),  # fewer columns than a tile: dot products, B transposed
    (True, False, 33, 1, 5),  # narrow TN: the transposed product
    (True, False, 17, 4, 40),
    (True, False, 20, 30, 6),  # wide TN: the weight gradient
    (False, True, 11, 9, 13),  # NT through a transposed panel: delta W^T
    (False, True, 13, 40, 64),
    (False, True, 7, 3, 20),  # narrow NT: dot products
    (False, True, 5, 1, 1),
    (False, True, 5, 100, 100),  # an NT panel too big for the stack: allocated
    (False, True, 9, 21, 33),  # a transpose with rows and columns past its last block
    (False, True, 3, 300, 300),  # an NT panel too big to transpose: BLAS
    # k <= CC_SMALL_K: B's rows held in registers, rows in pairs (the last alone), blocks of
    # up to four vectors of columns and the edge
    (False, False, 13, 100, 4),
    (False, False, 7, 70, 2),
    (True, False, 21, 50, 3),
    (False, True, 9, 70, 2),
    (False, False, 40, 20, 300),  # a long k
    (False, False, 70, 20, 30),  # a big batch
    (False, False, 3, 2, 1100),  # narrow with a long k: BLAS
    (False, False, 3, 20, 4100),  # a k beyond CC_OWN_MAX_K: BLAS
    # edge panels: whole-vector rows of B with the lanes past the edge cleared, and the last
    # rows (whose loads would run past B) element by element
    (False, False, 4, 15, 1),
    (False, False, 4, 17, 2),
    (False, False, 5, 10, 3),
    (False, False, 6, 31, 9),
    (True, False, 9, 18, 2),
    # a narrow weight gradient multiplied into a buffer and transposed into C (8 x 8 blocks
    # and the rest element by element), and row counts that end in a tile of 4
    (True, False, 128, 10, 64),
    (True, False, 20, 9, 33),
    (False, False, 10, 40, 7),
    (True, False, 16, 64, 32),
]


def operands(trans_a, trans_b, m, n, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    op_a, op_b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    a = np.ascontiguousarray(op_a.T if trans_a else op_a, dtype=dtype)
    b = np.ascontiguousarray(op_b.T if trans_b else op_b, dtype=dtype)
    exact = op_a.astype(dtype).astype(float) @ op_b.astype(dtype).astype(float)
    return a, b, exact, rng.normal(size=(m, n))


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_products_match_numpy_at_every_level(module, dtype, shape):
    trans_a, trans_b, m, n, k = shape
    a, b, exact, c0 = operands(*shape, dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.abs(a).max() * np.abs(b).max() * k
    c = c0.astype(dtype)
    module.gemm_rm(a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=1.5, beta=0.5)
    assert_allclose(
        c, 1.5 * exact + 0.5 * c0.astype(dtype).astype(float), rtol=rtol, atol=rtol * scale
    )
    c[...] = np.nan  # beta = 0 never reads C
    module.gemm_rm(a, b, c, trans_a=trans_a, trans_b=trans_b)
    assert_allclose(c, exact, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,k", [(40, 7), (64, 64), (1, 9), (3, 20)])
def test_a_rows_product_does_not_depend_on_the_other_rows(module, dtype, n, k):
    a, b, _, _ = operands(False, False, 19, n, k, dtype, seed=3)
    whole = np.empty((19, n), dtype=dtype)
    module.gemm_rm(a, b, whole)
    for rows in (slice(0, 1), slice(1, 7), slice(7, 19)):
        part = np.empty((rows.stop - rows.start, n), dtype=dtype)
        module.gemm_rm(np.ascontiguousarray(a[rows]), b, part)
        assert_array_equal(part, whole[rows])


def assert_oracles_loss_and_gradient(module, net, X, Y):
    """The level's loss_and_grad_ for ``net`` on (X, Y) is the oracle's, within the dtype's
    tolerance."""
    n, dtype, widths = X.shape[0], X.dtype, net.layer_sizes[1:]
    grad = np.empty_like(net.params)
    acts = np.empty(n * sum(widths), dtype=dtype)
    delta, spare = np.empty(n * max(widths), dtype=dtype), np.empty(n * max(widths), dtype=dtype)
    loss, _ = module.loss_and_grad_(
        net.params,
        grad,
        net.layers,
        net.kinds,
        net.out_kind,
        X,
        Y,
        X[:0, 0].copy(),
        False,
        0.0,
        0.0,
        acts,
        delta,
        spare,
    )
    want, gW, gb, _ = oracle.loss_and_grad(oracle.Net.like(net), X.astype(float), Y.astype(float))
    rtol = 2e-4 if dtype == np.float32 else 1e-10
    assert loss == pytest.approx(want, rel=rtol)
    got_w, got_b = net.split(grad)
    for g, w in zip(got_w + got_b, gW + gb, strict=True):
        assert_allclose(g, w, rtol=rtol, atol=rtol * np.abs(w).max())


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", ["sigmoid", "softmax", "identity"])
def test_each_level_computes_the_oracles_loss_and_gradient(module, dtype, out):
    k = {"sigmoid": 1, "softmax": 3, "identity": 2}[out]
    rng = np.random.default_rng(5)
    net = Network(
        (6, 20, 17, k), activation="relu", output=out, dtype=np.dtype(dtype).name, random_state=0
    )
    X = rng.normal(size=(23, 6)).astype(dtype)
    y = rng.integers(0, 2, 23) if out == "sigmoid" else rng.integers(0, 3, 23)
    Y = net.targets(y if out != "identity" else rng.normal(size=(23, k)), 23)
    assert_oracles_loss_and_gradient(module, net, X, Y)


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_the_backward_products_epilogue_applies_each_derivative(module, dtype, activation):
    """Hidden layers of whole vectors (32, 16 units) take delta W^T with f'(z) in the
    product's epilogue (gemm_backward); the gradient is still the oracle's, and a network
    whose widths are not whole vectors (a separate pass) agrees with it too."""
    rng = np.random.default_rng(8)
    for sizes in [(5, 32, 16, 3), (5, 33, 17, 3)]:
        net = Network(
            sizes,
            activation=activation,
            output="softmax",
            dtype=np.dtype(dtype).name,
            random_state=1,
        )
        X = rng.normal(size=(21, 5)).astype(dtype)
        assert_oracles_loss_and_gradient(module, net, X, net.targets(rng.integers(0, 3, 21), 21))


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_products_on_packed_panels_apply_their_epilogues(module, dtype, activation):
    """A 256 x 128 layer's weights (rows 512 bytes apart or more) and the 128 x 256 panel
    of its delta W^T are copied into panels by blocks of columns (gemm_body.h's
    axpy_blocks) at a batch of 64: the forward product's bias and ReLU and the backward
    product's derivative still give the oracle's loss and gradient."""
    rng = np.random.default_rng(11)
    net = Network(
        (30, 256, 128, 3),
        activation=activation,
        output="softmax",
        dtype=np.dtype(dtype).name,
        random_state=2,
    )
    for b in net.biases:  # a bias per column, so that a block that read another's fails
        b[...] = rng.normal(scale=0.5, size=b.shape)
    X = rng.normal(size=(64, 30)).astype(dtype)
    before = module.packed_products_()
    assert_oracles_loss_and_gradient(module, net, X, net.targets(rng.integers(0, 3, 64), 64))
    assert module.packed_products_() > before or module.VECTOR_BYTES == 0


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_an_edge_panel_reads_nothing_past_its_columns(module, dtype):
    """The last 17 % L columns of W go through a zero-padded panel whose rows are loaded a
    whole vector at a time: the lanes past the edge read the next row of W, and must be
    cleared, or a huge weight there (finite in its own column) overflows in a padded lane
    and the forward pass reports a non-finite input that is not there."""
    net = Network((2, 17, 1), activation="relu", output="sigmoid", dtype=np.dtype(dtype).name)
    w1 = net.weights[0]
    w1[...] = 0.5
    w1[1, 0] = np.finfo(dtype).max / 4  # x[1] = 0: column 0's output stays finite
    X = np.array([[10.0, 0.0]], dtype=dtype)
    out = np.empty((1, 1), dtype=dtype)
    acts = np.empty(18, dtype=dtype)
    assert module.forward_(net.params, net.layers, net.kinds, net.out_kind, X, out, acts, 1)
    assert np.isfinite(out).all()


def test_the_levels_predict_alike():
    if len(LEVELS) < 2:
        pytest.skip("this CPU runs one level")
    rng = np.random.default_rng(6)
    net = Network((8, 64, 64, 1), activation="relu", output="sigmoid", random_state=0)
    X = rng.normal(size=(300, 8))
    outs = []
    for param in LEVELS:
        module = param.values[0]
        out = np.empty((300, 1))
        acts = np.empty(64 * 129)
        assert module.forward_(net.params, net.layers, net.kinds, net.out_kind, X, out, acts, 64)
        outs.append(out)
    for out in outs[1:]:
        assert_allclose(out, outs[0], rtol=1e-12, atol=1e-14)


HARNESS = r"""
#include "simd/vmath.h"
int gemm_f32(int ta, int tb, int m, int n, int k, float alpha, const float* a, int lda,
             const float* b, int ldb, float beta, float* c, int ldc) {
    return cc_gemm_f32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
int gemm_f64(int ta, int tb, int m, int n, int k, double alpha, const double* a, int lda,
             const double* b, int ldb, double beta, double* c, int ldc) {
    return cc_gemm_f64(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
int width(void) { return cc_vector_bytes(); }
int column_sums_f32(int m, int n, const float* d, float alpha, float beta, float* b) {
    return cc_column_sums_f32(m, n, d, n, alpha, beta, b);
}
int column_sums_f64(int m, int n, const double* d, double alpha, double beta, double* b) {
    return cc_column_sums_f64(m, n, d, n, alpha, beta, b);
}
void exp_f32(float* x, long n) { cc_exp_f32(x, n); }
void exp_f64(double* x, long n) { cc_exp_f64(x, n); }
void exp1_f32(float* x, long n) { for (long i = 0; i < n; i++) x[i] = cc_exp1_f32(x[i]); }
void exp1_f64(double* x, long n) { for (long i = 0; i < n; i++) x[i] = cc_exp1_f64(x[i]); }
void log1p_f32(float* x, long n) { cc_log1p_unit_f32(x, n); }
void log1p_f64(double* x, long n) { cc_log1p_unit_f64(x, n); }
void log_f32(float* x, long n) { cc_log_f32(x, n); }
void log_f64(double* x, long n) { cc_log_f64(x, n); }
int sigmoid_xent_f32(float* z, long rows, int k, const float* y, const float* w, float scale,
                     float* delta, double* total, long* correct) {
    return cc_sigmoid_xent_f32(z, rows, k, y, w, scale, delta, total, correct);
}
int sigmoid_xent_f64(double* z, long rows, int k, const double* y, const double* w,
                     double scale, double* delta, double* total, long* correct) {
    return cc_sigmoid_xent_f64(z, rows, k, y, w, scale, delta, total, correct);
}
int softmax_f32(float* z, long rows, int k, const float* y, const float* w, float scale,
                float* delta, double* total, long* correct) {
    return cc_softmax_rows_f32(z, rows, k, y, w, scale, delta, total, correct);
}
int softmax_f64(double* z, long rows, int k, const double* y, const double* w, double scale,
                double* delta, double* total, long* correct) {
    return cc_softmax_rows_f64(z, rows, k, y, w, scale, delta, total, correct);
}
void sigmoid_f32(float* x, long n) { cc_sigmoid_f32(x, n); }
void sigmoid_f64(double* x, long n) { cc_sigmoid_f64(x, n); }
void tanh_f32(float* x, long n) { cc_tanh_f32(x, n); }
void tanh_f64(double* x, long n) { cc_tanh_f64(x, n); }
"""


@pytest.fixture(scope="module")
def tilings(tmp_path_factory):
    """The kernels compiled at each vector width, as ctypes libraries."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip("no C compiler to build the kernels' tilings on their own")
    if not (SRC / "simd" / "gemm.h").is_file():  # tests copied beside an installed wheel
        pytest.skip(f"needs the kernels' sources: {SRC / 'simd'} is not there")
    tmp = tmp_path_factory.mktemp("tilings")
    (tmp / "harness.c").write_text(HARNESS)
    libs = {}
    for width in (16, 32, 64):
        lib = tmp / f"gemm{width}.so"
        cmd = [
            cc,
            "-O1",
            "-shared",
            "-fPIC",
            f"-DCC_VEC_BYTES={width}",
            f"-I{SRC}",
            str(tmp / "harness.c"),
            "-o",
            str(lib),
        ]
        try:
            subprocess.run(cmd, check=True, capture_output=True)
        except subprocess.CalledProcessError as exc:
            pytest.fail(f"the kernels' headers do not compile: {exc.stderr.decode()[:400]}")
        libs[width] = ctypes.CDLL(str(lib))
    return libs


@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_every_vector_width_tiles_correctly(tilings, width, dtype, shape):
    lib = tilings[width]
    assert lib.width() == width
    trans_a, trans_b, m, n, k = shape
    a, b, exact, c0 = operands(*shape, dtype)
    ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    fn = lib.gemm_f32 if dtype == np.float32 else lib.gemm_f64
    ptr = ctypes.POINTER(ctype)
    fn.argtypes = [ctypes.c_int] * 5 + [
        ctype,
        ptr,
        ctypes.c_int,
        ptr,
        ctypes.c_int,
        ctype,
        ptr,
        ctypes.c_int,
    ]
    c = np.full((m, n), np.nan, dtype=dtype)
    ran = fn(
        trans_a,
        trans_b,
        m,
        n,
        k,
        1.0,
        a.ctypes.data_as(ptr),
        a.shape[1],
        b.ctypes.data_as(ptr),
        b.shape[1],
        0.0,
        c.ctypes.data_as(ptr),
        n,
    )
    if not ran:
        assert np.isnan(c).all()  # declined, untouched: BLAS takes it
        return
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(c, exact, rtol=rtol, atol=rtol * np.abs(exact).max())


@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n", [(1, 1), (7, 3), (32, 64), (23, 83), (5, 130), (64, 10)])
def test_column_sums_add_each_column_in_order(tilings, width, dtype, m, n):
    """The bias gradient: b = alpha sum_i d[i, :] (+ beta b), each column summed row after
    row (numpy's cumsum is that order), at every vector width; beta = 0 never reads b."""
    ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    fn = getattr(tilings[width], f"column_sums_{'f32' if dtype == np.float32 else 'f64'}")
    ptr = ctypes.POINTER(ctype)
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ptr, ctype, ctype, ptr]
    rng = np.random.default_rng(m * 1000 + n)
    d = rng.normal(size=(m, n)).astype(dtype)
    in_order = np.cumsum(d, axis=0, dtype=dtype)[-1]
    b = np.full(n, np.nan, dtype=dtype)  # beta = 0: the NaN must not reach the sums
    assert fn(m, n, d.ctypes.data_as(ptr), -0.25, 0.0, b.ctypes.data_as(ptr))
    assert_array_equal(b, in_order * dtype(-0.25))
    b0 = rng.normal(size=n).astype(dtype)
    b = b0.copy()
    assert fn(m, n, d.ctypes.data_as(ptr), 0.5, 2.0, b.ctypes.data_as(ptr))
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    assert_allclose(b, 0.5 * in_order + 2 * b0, rtol=rtol, atol=rtol * np.abs(b0).max())


# the maximum errors src/simd/vmath.h documents, in units of the type's epsilon
MAX_ULP = 2.0


def _vector_fn(lib, name, dtype):
    ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    fn = getattr(lib, f"{name}_{'f32' if dtype == np.float32 else 'f64'}")
    fn.argtypes, fn.restype = [ctypes.POINTER(ctype), ctypes.c_long], None

    def apply(x):
        out = np.ascontiguousarray(x, dtype=dtype).copy()
        fn(out.ctypes.data_as(ctypes.POINTER(ctype)), out.size)
        return out

    return apply


@pytest.mark.parametrize("name", ["exp", "exp1"])  # a vector at a time, one value at a time
@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_exp_within_its_documented_error(tilings, width, dtype, name):
    exp = _vector_fn(tilings[width], name, dtype)
    lo, hi = (-87.3, 88.7) if dtype == np.float32 else (-708.0, 709.0)
    if name == "exp1":  # 2^n in one factor: inf from (BIAS + 1/2) ln 2 on
        hi = 88.3 if dtype == np.float32 else 709.4
        assert exp(np.array([88.4 if dtype == np.float32 else 709.5], dtype=dtype))[0] == np.inf
    x = np.concatenate([np.linspace(lo, hi, 200_003), np.linspace(-20, 0, 100_001)]).astype(dtype)
    got = exp(x).astype(np.longdouble)
    want = np.exp(x.astype(np.longdouble))
    rel = np.abs(got - want) / want
    assert float(rel.max()) <= MAX_ULP * np.finfo(dtype).eps
    special = np.array([-np.inf, np.nan, 2 * lo, 2 * hi, 0.0, -0.0], dtype=dtype)
    out = exp(special)
    assert out[0] == 0 and np.isnan(out[1]) and out[2] == 0 and out[3] == np.inf
    assert out[4] == 1 and out[5] == 1


@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_log1p_within_its_documented_error(tilings, width, dtype):
    log1p = _vector_fn(tilings[width], "log1p", dtype)
    x = np.concatenate([np.linspace(0, 1, 300_007), np.geomspace(1e-30, 1, 1001)]).astype(dtype)
    got = log1p(x).astype(np.longdouble)
    want = np.log1p(x.astype(np.longdouble))
    nz = want > 0
    assert got[~nz].max() == 0
    rel = np.abs(got[nz] - want[nz]) / want[nz]
    assert float(rel.max()) <= MAX_ULP * np.finfo(dtype).eps


@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_log_within_its_documented_error(tilings, width, dtype):
    log = _vector_fn(tilings[width], "log", dtype)
    info = np.finfo(dtype)
    x = np.concatenate(
        [
            np.geomspace(info.smallest_subnormal, info.max / 2, 200_003, dtype=np.float64)
            if dtype == np.float64
            else np.geomspace(1e-45, 3.4e38, 200_003),
            [info.max],
            np.linspace(0.5, 2.0, 100_001),  # across the split at sqrt(2) and around 1
            np.linspace(1.0, 10.0, 100_001),  # the sums of a softmax's exponentials
        ]
    ).astype(dtype)
    x = x[(x > 0) & np.isfinite(x)]
    want = np.log(x.astype(np.longdouble))
    err = np.abs(log(x).astype(np.longdouble) - want)
    # 3 ulp of the result (src/simd/vmath.h); ln 1 = 0 exactly
    assert float((err / np.spacing(np.abs(want).astype(dtype))).max()) <= 3.0
    assert log(np.array([1.0], dtype=dtype))[0] == 0
    special = log(np.array([0.0, -0.0, np.inf, -1.0, np.nan, -np.inf], dtype=dtype))
    assert special[0] == -np.inf and special[1] == -np.inf and special[2] == np.inf
    assert np.isnan(special[3:]).all()


def _loss_kernel(lib, name, dtype):
    """The harness's ``name`` loss kernel (sigmoid_xent, softmax) for ``dtype``."""
    ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    fn = getattr(lib, f"{name}_{'f32' if dtype == np.float32 else 'f64'}")
    ptr = ctypes.c_void_p
    fn.argtypes = [ptr, ctypes.c_long, ctypes.c_int, ptr, ptr, ctype, ptr, ptr, ptr]
    return fn


def _assert_loss_is_the_oracles(fn, kind, z, y, w, scale):
    """One call of a loss kernel on logits z (rows x k), targets y and row weights w (None:
    unweighted) gives the oracle's outputs, delta = scale w (p - y), weighted loss sum and
    correct count; returns the outputs."""
    rows, k = z.shape
    p, delta = z.copy(), np.full_like(z, np.nan)
    total, correct = np.zeros(1), np.zeros(1, dtype=np.int64)
    weights = w.ctypes.data if w is not None else None
    args = (y.ctypes.data, weights, scale, delta.ctypes.data, total.ctypes.data)
    assert fn(p.ctypes.data, rows, k, *args, correct.ctypes.data) == 1
    want = oracle.output(z.astype(np.float64), kind)
    rows_w = w.astype(np.float64) if w is not None else np.ones(rows)
    tol = 1e-6 if z.dtype == np.float32 else 1e-14
    assert_allclose(p, want, rtol=tol * 4, atol=tol)
    assert_allclose(delta, scale * rows_w[:, None] * (want - y), rtol=tol * 4, atol=tol)
    losses = oracle.row_losses(z.astype(np.float64), y.astype(np.float64), kind)
    assert_allclose(total[0], float((rows_w * losses).sum()), rtol=tol * 10)
    if kind == "sigmoid":  # counted value by value
        assert correct[0] == int(((want >= 0.5) == (y >= 0.5)).sum())
    else:
        assert correct[0] == oracle.correct(want, y, kind)
    return p


@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, k", [(1, 1), (32, 1), (37, 1), (9, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_sigmoid_cross_entropy_matches_the_oracle(tilings, width, dtype, rows, k, weighted):
    """Sigmoid outputs, delta, loss and correct count a vector at a time (the last values
    through a padded buffer, a row's weight for each of its k values), against the oracle;
    large logits of both signs take the two forms of s(z) without overflow."""
    fn = _loss_kernel(tilings[width], "sigmoid_xent", dtype)
    rng = np.random.default_rng(rows * 10 + k)
    z = (rng.normal(size=(rows, k)) * 5).astype(dtype)
    z.flat[0], z.flat[-1] = 60.0, -60.0
    y = (rng.random((rows, k)) < 0.5).astype(dtype)
    y.flat[0] = 0.3  # a soft target
    w = rng.random(rows).astype(dtype)
    _assert_loss_is_the_oracles(fn, "sigmoid", z, y, w if weighted else None, 0.5)


@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, k", [(1, 4), (5, 4), (64, 10), (17, 16), (9, 33), (3, 64)])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_rows_match_the_oracle(tilings, width, dtype, rows, k, weighted):
    """A row in each lane: probabilities, delta, loss and correct count of every row (the
    last group of rows partial), against the oracle's softmax and cross-entropy."""
    fn = _loss_kernel(tilings[width], "softmax", dtype)
    rng = np.random.default_rng(rows * 100 + k)
    z = (rng.normal(size=(rows, k)) * 4).astype(dtype)
    y = np.eye(k, dtype=dtype)[rng.integers(0, k, rows)]
    y[0] = rng.dirichlet(np.ones(k)).astype(dtype)  # a soft target
    z[-1, :2] = z[-1].max() + 1  # a tie: the first largest counts
    y[-1] = 0
    y[-1, 1] = 1
    w = rng.random(rows).astype(dtype)
    p = _assert_loss_is_the_oracles(fn, "softmax", z, y, w if weighted else None, 0.25)
    probabilities = z.copy()  # without targets: the same probabilities, nothing else read
    assert fn(probabilities.ctypes.data, rows, k, None, None, 1.0, None, None, None) == 1
    assert_array_equal(probabilities, p)
    few = z[:, :3].copy()  # fewer than 4 classes are left to the caller, untouched
    assert fn(few.ctypes.data, rows, 3, None, None, 1.0, None, None, None) == 0
    assert_array_equal(few, z[:, :3])


@pytest.mark.parametrize("width", [16, 32, 64])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_vector_activations_within_their_documented_error(tilings, width, dtype, name):
    fn = _vector_fn(tilings[width], name, dtype)
    hi = 87.0 if dtype == np.float32 else 700.0
    tiny = np.geomspace(1e-30, 1, 1001)
    x = np.concatenate([np.linspace(-hi, hi, 200_001), np.linspace(-3, 3, 100_001), tiny, -tiny])
    x = x[x != 0].astype(dtype)
    wide = x.astype(np.longdouble)
    want = 1 / (1 + np.exp(-wide)) if name == "sigmoid" else np.tanh(wide)
    rel = np.abs(fn(x).astype(np.longdouble) - want) / np.abs(want)
    assert float(rel.max()) <= MAX_ULP * np.finfo(dtype).eps
    special = fn(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4, -1e4], dtype=dtype))
    assert np.isnan(special[0])
    if name == "sigmoid":
        assert_array_equal(special[1:], [1, 0, 0.5, 0.5, 1, 0])
    else:
        assert_array_equal(special[1:], [1, -1, 0, 0, 1, -1])
        assert np.signbit(special[4])
