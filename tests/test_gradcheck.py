"""cc.gradcheck: backpropagation against central finite differences."""

import numpy as np
import pytest

import crash_core as cc


@pytest.fixture
def data():
    X, y = cc.datasets.moons(n=30, noise=0.2, random_state=0)
    return X, y


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_correct_network_passes(data, activation, output):
    X, y = data
    k = 2 if output == "softmax" else 1
    target = X.sum(axis=1) if output == "identity" else y
    net = cc.Network((2, 5, 4, k), activation=activation, output=output, random_state=1)
    assert cc.gradcheck(net, X, target) < 1e-6
    assert cc.gradcheck(net, X, target, l1=1e-3, l2=1e-2) < 1e-6


def test_float32_network_is_checked_in_float64_and_left_untouched(data):
    X, y = data
    net = cc.Network((2, 6, 1), activation="tanh", dtype="float32", random_state=0)
    before = net.params.copy()
    assert cc.gradcheck(net, X, y, l2=1e-3) < 1e-6
    assert net.params.dtype == np.float32
    np.testing.assert_array_equal(net.params, before)


def test_fitted_model_is_accepted(data):
    X, y = data
    model = cc.MLPClassifier(hidden_layers=(4,), activation="tanh", epochs=3, random_state=0)
    model.fit(X, y)
    assert cc.gradcheck(model, X, y) < 1e-6


class ForgetsTheL2Term(cc.Network):
    """A deliberately wrong backward pass: the penalty's gradient 2 l2 w is left out."""

    def loss_and_grad(self, X, y, l1=0.0, l2=0.0, sample_weight=None):
        loss, grad = super().loss_and_grad(X, y, l1=l1, l2=0.0)
        return loss + l2 * sum(float((w**2).sum()) for w in self.weights), grad


class SlipsOneSign(cc.Network):
    """A deliberately wrong backward pass: one weight's partial derivative has its sign flipped."""

    def loss_and_grad(self, X, y, l1=0.0, l2=0.0, sample_weight=None):
        loss, grad = super().loss_and_grad(X, y, l1=l1, l2=l2)
        grad[3] = -grad[3]
        return loss, grad


def test_wrong_gradients_are_flagged(data):
    X, y = data
    penalty = ForgetsTheL2Term((2, 5, 1), activation="tanh", random_state=0)
    assert cc.gradcheck(penalty, X, y) < 1e-6  # right while the penalty is off
    assert cc.gradcheck(penalty, X, y, l2=0.1) > 1e-2
    sign = SlipsOneSign((2, 5, 1), activation="tanh", random_state=0)
    assert cc.gradcheck(sign, X, y) > 0.5


def test_bad_arguments(data):
    X, y = data
    net = cc.Network((2, 3, 1), activation="tanh", random_state=0)
    with pytest.raises(ValueError, match="eps"):
        cc.gradcheck(net, X, y, eps=0.0)
    with pytest.raises(ValueError, match="l2"):
        cc.gradcheck(net, X, y, l2=-1.0)
    with pytest.raises(TypeError, match="cc.Network"):
        cc.gradcheck("not a network", X, y)
    with pytest.raises(ValueError, match="shape"):
        cc.gradcheck(net, X[:, :1], y)
