"""The forward product's epilogue (src/simd/gemm_body.h, gemm_forward): the own kernels add
the bias, apply ReLU and check z = a W + b for NaN and infinity while each tile is still in
registers.  At every ISA level the outputs match the oracle, widths that leave edge columns
included, and a non-finite z is caught at the layer where it appears."""

import numpy as np
import pytest

import crash_core as cc
from tests import oracle
from tests.builds import BUILDS, IDS, using

# widths with tiles, edge columns and few columns at every vector width
SIZES = [(7, 40, 33, 5), (64, 100, 10), (3, 17, 1), (12, 96, 3, 2), (2, 64, 64, 1)]


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("sizes", SIZES, ids=["-".join(map(str, s)) for s in SIZES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_forward_pass_matches_the_oracle(build, activation, sizes, dtype):
    output = "sigmoid" if sizes[-1] == 1 else "softmax" if sizes[-1] > 3 else "identity"
    with using(build):
        net = cc.Network(sizes, activation, output, dtype, random_state=1)
        # biases that are not zero, and not all alike (a bias read at the wrong columns shows)
        offsets = np.random.default_rng(3).uniform(0.02, 0.1, net.n_params).astype(dtype)
        net.params = net.params + offsets
        X = np.random.default_rng(2).standard_normal((37, sizes[0])).astype(dtype)
        got = net.forward(X)
    expected = oracle.forward(oracle.Net.like(net), X)
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_non_finite_z_is_caught_where_it_appears(build, dtype):
    with using(build):
        net = cc.Network((6, 40, 33, 4), "relu", "softmax", dtype, random_state=0)
        X = np.random.default_rng(0).standard_normal((50, 6)).astype(dtype)
        assert np.isfinite(net.forward(X)).all()
        X[31, 4] = np.nan  # ReLU would turn its NaN row into zeros if it were not checked
        with pytest.raises(ValueError, match="NaN or infinity"):
            net.forward(X)
        X[31, 4] = 0.0
        params = net.params.copy()
        start = net.layers[0][3]  # the first layer's biases: huge, finite activations
        params[start : start + 40] = np.finfo(dtype).max / 4
        w2 = net.layers[1][2]
        params[w2 : w2 + 40 * 33] = 1.0  # their sum overflows
        net.params = params
        with pytest.raises(ValueError, match="overflowed"):  # the second layer's z is not
            net.forward(X)
