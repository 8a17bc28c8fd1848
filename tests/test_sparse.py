"""Products that skip the zeros of A (src/simd/gemm_body.h, ``sparse_rows``): ReLU
activations in the forward pass and masked deltas in the backward one.  Skipping a zero
term never changes a sum, so every product, prediction and fit is bit for bit the dense
tiles' at every ISA level; the kernels really take the sparse path where they should and
only there."""

import numpy as np
import pytest

import crash_core as cc
from tests.builds import BUILDS, IDS, using

# (m, n, k, trans_b): whole vectors of columns only, an edge panel after them, an odd last
# row, more columns than one block of four (AVX-512) or eight (AVX2) vectors, a k with a
# scalar tail, more than 64 positions a row (AVX2 walks them as 64-bit words: two whole
# words and a part; a second word of whole vectors and a scalar tail), every count of
# vectors in AVX2's last block (1-8; 61 columns: 7 and an edge), delta W^T (every B within
# the 32 KiB the sparse rows take, in float64 too)
SHAPES = [
    (32, 64, 64, False),
    (33, 100, 40, False),
    (7, 200, 19, False),
    (16, 3 * 16 + 5, 60, False),
    (6, 24, 130, False),
    (4, 40, 100, False),
    (3, 61, 67, False),
    (32, 64, 64, True),
    (9, 70, 37, True),
    (5, 40, 96, True),
]


@pytest.fixture
def sparse_always():
    """Every eligible product through the sparse rows, at every level (also where the
    default keeps them off)."""
    previous = [b.sparse_density_(1.0) for b in BUILDS]
    yield
    for b, density in zip(BUILDS, previous, strict=True):
        b.sparse_density_(density)


def _relu_like(rng, shape, dtype):
    """Half the entries +0 or -0, the rest Gaussian (a ReLU layer's output, a masked delta)."""
    a = rng.standard_normal(shape)
    a[rng.random(shape) < 0.5] = 0.0
    a[rng.random(shape) < 0.1] = -0.0
    return a.astype(dtype)


def _lanes(build, dtype):
    return build.VECTOR_BYTES // np.dtype(dtype).itemsize


def _product(build, a, b, m, n, trans_b, density):
    previous = build.sparse_density_(density)
    try:
        c = np.full((m, n), 7.0, dtype=a.dtype)  # beta = 0: never read
        build.gemm_rm(a, b, c, False, trans_b, alpha=0.5, beta=0.0)
    finally:
        build.sparse_density_(previous)
    return c


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s[0]}x{s[1]}x{s[2]}{'T' * s[3]}" for s in SHAPES])
def test_skipping_zeros_is_the_dense_product_bit_for_bit(build, dtype, shape):
    m, n, k, trans_b = shape
    if not build.VECTOR_BYTES:
        pytest.skip("this build has no own product kernels")
    rng = np.random.default_rng(m + n + k)
    a = _relu_like(rng, (m, k), dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    before = build.sparse_products_()
    dense = _product(build, a, b, m, n, trans_b, 0.0)
    assert build.sparse_products_() == before
    sparse = _product(build, a, b, m, n, trans_b, 1.0)
    # a product of at most two vectors of columns keeps the tiles (AVX-512's 24 floats)
    assert build.sparse_products_() == before + (n > 2 * _lanes(build, dtype))
    np.testing.assert_array_equal(sparse, dense)
    reference = 0.5 * a.astype(np.float64) @ (b.T if trans_b else b)
    atol = 1e-4 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(sparse, reference, rtol=1e-4, atol=atol)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "k, at", [(40, 17), (130, 129), (130, 70)], ids=["vector", "tail", "word-2"]
)
def test_a_nan_in_a_reaches_its_row_as_in_the_dense_product(build, sparse_always, dtype, k, at):
    rng = np.random.default_rng(3)
    a = _relu_like(rng, (12, k), dtype)
    a[5, at] = np.nan
    # more than two vectors of columns at every level, B within 32 KiB
    n = 40 if dtype == "float32" else 24
    b = rng.standard_normal((k, n)).astype(dtype)
    c = np.zeros((12, n), dtype=dtype)
    before = build.sparse_products_()
    build.gemm_rm(a, b, c)
    assert build.sparse_products_() == before + (build.VECTOR_BYTES > 0)
    assert np.isnan(c[5]).all()
    assert np.isfinite(np.delete(c, 5, axis=0)).all()


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_only_sparse_products_without_beta_take_the_sparse_rows(build):
    rng = np.random.default_rng(4)
    b = rng.standard_normal((64, 64)).astype("float32")
    c = np.zeros((32, 64), dtype="float32")
    previous = build.sparse_density_(0.6)  # the share of nonzeros _relu_like leaves: 0.45
    try:
        before = build.sparse_products_()
        build.gemm_rm(rng.standard_normal((32, 64)).astype("float32"), b, c)  # dense A
        build.gemm_rm(_relu_like(rng, (32, 64), "float32"), b, c, beta=1.0)  # C is read
        build.gemm_rm(_relu_like(rng, (32, 8), "float32"), b[:8, :8].copy(), c[:, :8].copy())
        assert build.sparse_products_() == before
        build.gemm_rm(_relu_like(rng, (32, 64), "float32"), b, c)
        assert build.sparse_products_() == before + (build.VECTOR_BYTES > 0)
    finally:
        build.sparse_density_(previous)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_the_default_density_follows_the_level(build):
    default = build.sparse_density_()
    # the AVX-512 and AVX2 builds skip zeros by default (AVX-512 at up to 60% nonzeros,
    # whatever its FMA rate); the portable one keeps the tiles
    assert (default > 0) == (build.VECTOR_BYTES >= 32)
    if build.VECTOR_BYTES == 64:
        assert default == 0.6


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_avx2_takes_a_narrower_product_only_at_a_lower_density(build):
    """AVX2's sparse row keeps one sum per vector of columns in flight: with fewer than
    eight vectors the density it takes falls in proportion (0.55 x 4 / 8 for 32 floats)."""
    if build.VECTOR_BYTES != 32:
        pytest.skip("the AVX2 level's rule")
    rng = np.random.default_rng(6)
    default = build.sparse_density_()
    b = rng.standard_normal((64, 64)).astype("float32")

    def taken(n, share):
        a = rng.standard_normal((32, 64)).astype("float32")
        a[rng.random(a.shape) >= share] = 0.0
        before = build.sparse_products_()
        build.gemm_rm(a, b[:, :n].copy(), np.zeros((32, n), dtype="float32"))
        return build.sparse_products_() - before

    assert taken(64, 0.4) == 1  # eight vectors: up to 0.55
    assert taken(32, 0.4) == 0  # four vectors: up to 0.275
    assert taken(32, 0.15) == 1
    assert default == pytest.approx(0.55)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_the_forward_epilogue_still_catches_an_overflow_deep_in(build, sparse_always):
    rng = np.random.default_rng(5)
    with using(build):
        net = cc.network.Network((20, 64, 64, 3), output="softmax", dtype="float32", random_state=0)
        X = rng.standard_normal((40, 20)).astype("float32")
        before = build.sparse_products_()
        assert np.isfinite(net.forward(X)).all()
        assert build.sparse_products_() > before
        net.weights[1][...] = np.float32(1e38)  # layer 2's z overflows float32
        with pytest.raises(ValueError, match="overflowed"):
            net.forward(X)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "sgd", "dtype": "float32"},
        {"optimizer": "adam", "dropout": 0.2, "l2": 1e-3, "dtype": "float32"},
        {"optimizer": "momentum", "dtype": "float64", "batch_size": 33},
        {"optimizer": "sgd", "dtype": "float32", "hidden_layers": (64, 48)},
        {"optimizer": "sgd", "dtype": "float64", "hidden_layers": (64, 48)},
    ],
    ids=["sgd", "adam-dropout-l2", "momentum-f64", "whole-vectors", "whole-vectors-f64"],
)
def test_a_relu_fit_skipping_zeros_is_the_dense_fit_bit_for_bit(build, params):
    """Layers of whole vectors (64, 48) take the backward delta W^T with ReLU's mask in
    the sparse rows' epilogue; (70, 37) leave an edge of columns."""
    params = {"hidden_layers": (70, 37), **params}
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    fits = {}
    with using(build):
        for density in (0.0, 1.0):
            previous = build.sparse_density_(density)
            try:
                before = build.sparse_products_()
                model = cc.MLPClassifier(epochs=3, random_state=0, **params).fit(X, y)
                fits[density] = model, model.predict_proba(X)
                assert (build.sparse_products_() > before) == (density > 0)
            finally:
                build.sparse_density_(previous)
    (dense, p_dense), (sparse, p_sparse) = fits[0.0], fits[1.0]
    np.testing.assert_array_equal(sparse.network_.params, dense.network_.params)
    np.testing.assert_array_equal(p_sparse, p_dense)
    assert sparse.loss_ == dense.loss_
