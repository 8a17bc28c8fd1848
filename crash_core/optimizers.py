"""Optimizers: how a gradient becomes a weight update.

The updates themselves run inside the training kernel, fused over the flat parameter
buffer (see ``src/optimizers.pxd``); these objects only name the rule, hold its
hyper-parameters and allocate its state once per fit.

With g the gradient (the L1/L2 penalty gradient included) and lr the learning rate:

* ``SGD()``:                          w <- w - lr g
* ``SGD(momentum=mu)``:               v <- mu v - lr g;  w <- w + v
* ``SGD(momentum=mu, nesterov=True)``: v <- mu v - lr g;  w <- w + mu v - lr g
* ``Adam(beta1, beta2, eps)``:        m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
  w <- w - lr m_hat / (sqrt(s_hat) + eps), with m_hat = m / (1 - b1^t), s_hat = s / (1 - b2^t)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crash_core import _memory

__all__ = ["SGD", "Adam", "Optimizer", "OptimizerState", "resolve_optimizer", "OPTIMIZER_NAMES"]

OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_ADAM = 0, 1, 2, 3


def needs_gradient(kind: int, l1: float = 0.0, l2: float = 0.0) -> bool:
    """Whether an epoch of optimizer ``kind`` with these penalties needs a gradient buffer:
    plain SGD without an L1 penalty steps inside the backward pass (the epoch kernel's
    fused path, an L2 penalty as weight decay) and never writes one."""
    return kind != OPT_SGD or l1 != 0


@dataclass
class OptimizerState:
    """Buffers an optimizer keeps between steps: velocity or moments, and the step count.

    Parameters
    ----------
    state1 : ndarray
        Velocity (momentum) or first moment m (Adam); empty for plain SGD.
    state2 : ndarray
        Second moment s (Adam); empty otherwise.
    t : int, default=0
        Steps taken (for Adam's bias correction).
    """

    state1: np.ndarray
    state2: np.ndarray
    t: int = 0


class Optimizer:
    """Base class: a named update rule with hyper-parameters and a state layout."""

    kind: int
    n_buffers: int

    def init_state(self, n_params: int, dtype: Any) -> OptimizerState:
        """Zeroed state for ``n_params`` parameters, allocated once per fit."""
        empty = np.zeros(0, dtype=dtype)
        bufs = [_memory.zeros(n_params, dtype) for _ in range(self.n_buffers)]
        bufs += [empty] * (2 - self.n_buffers)
        return OptimizerState(bufs[0], bufs[1], 0)

    def kernel_args(self) -> tuple[int, float, float, float, float]:
        """(kind, momentum, beta1, beta2, eps) as the training kernel takes them."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _check_fraction(value: float, name: str, *, include_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}.")
    value = float(value)
    low_ok = value >= 0 if include_zero else value > 0
    if not (low_ok and value < 1) or not math.isfinite(value):
        bound = "[0, 1)" if include_zero else "(0, 1)"
        raise ValueError(f"{name} must be in {bound}, got {value!r}.")
    return value


@dataclass(eq=False, repr=False)
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    w <- w - lr g;  with momentum mu: v <- mu v - lr g, w <- w + v
    (Nesterov: w <- w + mu v - lr g).

    Parameters
    ----------
    momentum : float, default=0.0
        mu in [0, 1); 0 is plain gradient descent.
    nesterov : bool, default=False
        Nesterov's look-ahead form (needs momentum > 0).
    """

    momentum: float = 0.0
    nesterov: bool = False
    name: str = field(default="sgd", init=False)

    def __post_init__(self) -> None:
        self.momentum = _check_fraction(self.momentum, "momentum", include_zero=True)
        if self.nesterov and self.momentum == 0:
            raise ValueError(
                "nesterov=True needs a momentum > 0, e.g. SGD(momentum=0.9, nesterov=True)."
            )
        self.nesterov = bool(self.nesterov)

    @property
    def kind(self) -> int:  # type: ignore[override]
        if self.momentum == 0:
            return OPT_SGD
        return OPT_NESTEROV if self.nesterov else OPT_MOMENTUM

    @property
    def n_buffers(self) -> int:  # type: ignore[override]
        return 0 if self.momentum == 0 else 1

    def kernel_args(self) -> tuple[int, float, float, float, float]:
        return self.kind, self.momentum, 0.9, 0.999, 1e-8

    def get_config(self) -> dict[str, Any]:
        return {"name": "sgd", "momentum": self.momentum, "nesterov": self.nesterov}


@dataclass(eq=False, repr=False)
class Adam(Optimizer):
    """Adam: m <- b1 m + (1-b1) g, s <- b2 s + (1-b2) g^2, w <- w - lr m_hat / (sqrt(s_hat) + eps).

    m_hat = m / (1 - b1^t) and s_hat = s / (1 - b2^t) undo the bias of the zero start.

    Parameters
    ----------
    beta1 : float, default=0.9
        Decay b1 of the first moment, in [0, 1).
    beta2 : float, default=0.999
        Decay b2 of the second moment, in [0, 1).
    eps : float, default=1e-8
        Added to sqrt(s_hat) so the step stays finite (> 0).
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name: str = field(default="adam", init=False)
    kind = OPT_ADAM
    n_buffers = 2

    def __post_init__(self) -> None:
        self.beta1 = _check_fraction(self.beta1, "beta1", include_zero=True)
        self.beta2 = _check_fraction(self.beta2, "beta2", include_zero=True)
        if isinstance(self.eps, bool) or not isinstance(self.eps, (int, float, np.number)):
            raise TypeError(f"eps must be a number, got {type(self.eps).__name__}.")
        if not (float(self.eps) > 0 and math.isfinite(self.eps)):
            raise ValueError(f"eps must be > 0, got {self.eps!r}.")
        self.eps = float(self.eps)

    def kernel_args(self) -> tuple[int, float, float, float, float]:
        return OPT_ADAM, 0.0, self.beta1, self.beta2, self.eps

    def get_config(self) -> dict[str, Any]:
        return {"name": "adam", "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


OPTIMIZER_NAMES = {
    "sgd": lambda: SGD(),
    "momentum": lambda: SGD(momentum=0.9),
    "nesterov": lambda: SGD(momentum=0.9, nesterov=True),
    "adam": lambda: Adam(),
}


def resolve_optimizer(optimizer: str | Optimizer) -> Optimizer:
    """A name ("sgd", "momentum", "nesterov", "adam") or an instance -> an instance.

    Parameters
    ----------
    optimizer : str or Optimizer
        A name ("sgd", "momentum" = SGD(momentum=0.9), "nesterov", "adam") or an instance.

    Returns
    -------
    Optimizer
    """
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer in OPTIMIZER_NAMES:
        return OPTIMIZER_NAMES[optimizer]()
    valid = ", ".join(repr(n) for n in OPTIMIZER_NAMES)
    raise ValueError(
        f"Unknown optimizer {optimizer!r}. Valid options: {valid}, "
        "or an instance of cc.optimizers.SGD / cc.optimizers.Adam."
    )


def from_config(config: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from ``get_config()``'s dict (used when loading models).

    Parameters
    ----------
    config : dict
        ``{"name": "sgd" | "adam", ...hyper-parameters}``.

    Returns
    -------
    Optimizer
    """
    config = dict(config)
    name = config.pop("name", None)
    if name == "sgd":
        return SGD(**config)
    if name == "adam":
        return Adam(**config)
    raise ValueError(f"Unknown optimizer config {name!r}; expected 'sgd' or 'adam'.")
