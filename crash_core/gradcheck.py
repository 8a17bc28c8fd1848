"""Gradient checking: does backpropagation agree with the definition of a derivative?

Backpropagation computes every partial derivative dE/dp of the error E in one backward
pass.  The definition of a derivative gives each one independently, two forward passes
apiece, by the central difference

    dE/dp_i ~ (E(p + eps e_i) - E(p - eps e_i)) / (2 eps),

whose error shrinks like eps^2.  After changing a layer, a loss or a penalty, a learner
runs ``cc.gradcheck(net, X, y)``: a worst relative difference around 1e-8 or below says
the gradient is right; 1e-3 or more says it is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crash_core.network import Network

__all__ = ["gradcheck"]

# Below this size, a partial derivative is compared absolutely: central differences in
# float64 resolve a derivative to about 1e-10, so smaller values carry no relative meaning.
FLOOR = 1e-3


def _float64_twin(network: Network) -> Network:
    """A copy of ``network`` (same class, same methods) computing in float64."""
    return network.astype(np.float64)


def gradcheck(
    network: Network,
    X: Any,
    y: Any,
    l1: float = 0.0,
    l2: float = 0.0,
    eps: float = 1e-6,
) -> float:
    """Worst relative difference between backpropagation and finite differences.

    With g = ``network.loss_and_grad(X, y, l1, l2)[1]`` (backpropagation) and
    n_i = (E(p + eps e_i) - E(p - eps e_i)) / (2 eps) (central differences of the loss E
    over each parameter p_i in turn), the result is ::

        max_i |g_i - n_i| / max(|g_i| + |n_i|, 1e-3)

    computed in float64 (a float32 network is checked through a float64 copy).  Below
    1e-6 the gradient is right; a wrong gradient gives 1e-3 or more.  Partial derivatives
    under 1e-3 are compared absolutely, since finite differences resolve them to no better
    than about 1e-10.  ReLU units and the L1 penalty have kinks: a parameter within
    ``eps`` of one can disagree for that reason alone, so check with tanh or sigmoid
    units, or mind the kinks.

    Parameters
    ----------
    network : cc.Network
        The network to check; its parameters are left as they were.  A fitted MLP model
        (anything with a ``network_``) is accepted too.
    X : array of shape (n_samples, n_features)
        A few samples (every parameter costs two losses over them).
    y : array
        Targets as ``Network.loss_and_grad`` takes them.
    l1, l2 : float
        Penalties included in the loss, as in ``loss_and_grad``.
    eps : float
        The step of the central differences, > 0.

    Returns
    -------
    float
        The worst relative difference over all parameters.

    Examples
    --------
    >>> import crash_core as cc
    >>> net = cc.Network((2, 3, 1), activation="tanh", random_state=0)
    >>> X, y = cc.datasets.moons(n=20, random_state=0)
    >>> cc.gradcheck(net, X, y) < 1e-6
    True
    """
    network = getattr(network, "network_", network)
    if not isinstance(network, Network):
        raise TypeError(
            f"gradcheck needs a cc.Network (or a fitted MLP model), got {type(network).__name__}."
        )
    eps = float(eps)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number (e.g. 1e-6), got {eps}.")
    for name, value in (("l1", l1), ("l2", l2)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative number, got {value}.")
    twin = _float64_twin(network)
    X = np.asarray(X, dtype=np.float64)
    _, grad = twin.loss_and_grad(X, y, l1=l1, l2=l2)
    p = twin.params
    numeric = np.empty_like(grad)
    for i in range(p.size):
        kept = p[i]
        p[i] = kept + eps
        up, _ = twin.loss_and_grad(X, y, l1=l1, l2=l2)
        p[i] = kept - eps
        down, _ = twin.loss_and_grad(X, y, l1=l1, l2=l2)
        p[i] = kept
        numeric[i] = (up - down) / (2 * eps)
    scale = np.maximum(np.abs(grad) + np.abs(numeric), FLOOR)
    return float(np.max(np.abs(grad - numeric) / scale))
