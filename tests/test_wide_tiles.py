"""AVX-512's wide tiles (src/simd/gemm_body.h, ``axpy_wide_column``): 4 rows x 4 vectors of
columns, taken where a 512-bit FMA runs at a 256-bit one's rate.  Each element is summed
in the same order as in the 6 x 2 tiles, so products, predictions and fits are bit for bit
the same with them on or off; they really run where they should and only there."""

import numpy as np
import pytest

from crash_core.network import EpochTrainer, Network
from tests.builds import BUILDS, IDS, using

AVX512 = [b for b in BUILDS if b.VECTOR_BYTES == 64]

# (m, n, k, trans_a, trans_b): whole blocks of 4 vectors (float32: 64 columns), a block of
# 4 then of 2, 1 and an edge, every count of rows left after the tiles of 4 (1-3), one row,
# TN and NT products (both transposed go another way)
SHAPES = [
    (32, 64, 64, False, False),
    (33, 100, 40, False, False),
    (7, 200, 19, False, True),
    (64, 64, 32, True, False),
    (5, 130, 64, False, True),
    (30, 64, 70, True, False),
    (1, 64, 10, False, False),
    (3, 96, 9, False, False),
    (6, 136, 33, True, False),
]


def _product(build, a, b, c0, trans_a, trans_b, wide):
    previous = build.wide_tiles_(wide)
    try:
        c = c0.copy()
        build.gemm_rm(a, b, c, trans_a, trans_b, alpha=0.7, beta=0.3)
    finally:
        build.wide_tiles_(previous)
    return c


@pytest.mark.parametrize("build", AVX512, ids=[b.level for b in AVX512])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape", SHAPES, ids=[f"{m}x{n}x{k}-{'NT'[ta]}{'NT'[tb]}" for m, n, k, ta, tb in SHAPES]
)
def test_wide_tiles_are_the_six_by_two_tiles_bit_for_bit(build, dtype, shape):
    m, n, k, trans_a, trans_b = shape
    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    before = build.wide_products_()
    narrow = _product(build, a, b, c0, trans_a, trans_b, 0)
    assert build.wide_products_() == before
    wide = _product(build, a, b, c0, trans_a, trans_b, 1)
    lanes = 64 // np.dtype(dtype).itemsize
    assert build.wide_products_() == before + (n >= 4 * lanes)
    np.testing.assert_array_equal(wide, narrow)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    reference = 0.7 * (a64.T if trans_a else a64) @ (b64.T if trans_b else b64) + 0.3 * c0
    np.testing.assert_allclose(
        wide, reference, rtol=1e-4, atol=1e-4 if dtype == "float32" else 1e-12
    )


# (layer sizes, hidden activation, output, optimizer, dtype, dropout, batch): the forward
# epilogue (bias + activation), the backward one (the derivative's mask), the fused update
NETWORKS = [
    ((5, 64, 64, 1), "relu", "sigmoid", "sgd", "float32", 0.0, 32),
    ((6, 130, 70, 3), "tanh", "softmax", "adam", "float64", 0.0, 17),
    ((3, 96, 80, 2), "sigmoid", "identity", "momentum", "float32", 0.2, 9),
]


def _fit(build, case, wide):
    sizes, activation, output, optimizer, dtype, dropout, batch = case
    rng = np.random.default_rng(0)
    X = rng.standard_normal((70, sizes[0])).astype(dtype)
    y = (
        rng.standard_normal((70, sizes[-1]))
        if output == "identity"
        else rng.integers(0, max(2, sizes[-1]), 70)
    )
    previous = build.wide_tiles_(wide)
    try:
        with using(build):
            net = Network(sizes, activation, output, dtype, random_state=0)
            trainer = EpochTrainer(net, batch, optimizer, dropout=dropout, seed=1)
            Y = net.targets(y, X.shape[0])
            losses = [
                trainer.run(X, Y, np.random.default_rng(e).permutation(70), 0.05) for e in range(3)
            ]
            loss, grad = net.loss_and_grad(X, y, l2=1e-3)
            out = net.forward(X)
    finally:
        build.wide_tiles_(previous)
    return net.params.copy(), losses, loss, grad, out


@pytest.mark.parametrize("build", AVX512, ids=[b.level for b in AVX512])
@pytest.mark.parametrize(
    "case", NETWORKS, ids=["-".join(map(str, c[0])) + f"-{c[1]}-{c[4]}" for c in NETWORKS]
)
def test_a_fit_with_wide_tiles_is_the_same_bit_for_bit(build, case):
    before = build.wide_products_()
    on = _fit(build, case, 1)
    assert build.wide_products_() > before
    off = _fit(build, case, 0)
    np.testing.assert_array_equal(on[0], off[0])  # the parameters after three epochs
    assert on[1] == off[1]  # every epoch's (loss, correct, steps)
    assert on[2] == off[2]
    np.testing.assert_array_equal(on[3], off[3])  # loss_and_grad's gradient
    np.testing.assert_array_equal(on[4], off[4])  # forward


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_only_avx512_takes_wide_tiles_by_its_fma_rate(build):
    # on by default exactly where 512-bit FMAs run at the full rate
    assert build.wide_tiles_() == float(build.FMA512_FULL_RATE)
    previous = build.wide_tiles_(1)
    try:
        assert build.wide_tiles_() == float(build.VECTOR_BYTES == 64)  # elsewhere it stays 0
    finally:
        build.wide_tiles_(previous)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_only_avx512_measures_its_fma_rate(build):
    assert isinstance(build.FMA512_FULL_RATE, bool)
    if build.VECTOR_BYTES != 64:
        assert not build.FMA512_FULL_RATE
