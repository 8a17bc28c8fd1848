"""Learning-rate schedules for the ``lr_schedule`` parameter.

How the training loop uses a schedule: at the start of every epoch it calls

    lr = lr_schedule(epoch, initial_lr)

with the 0-based epoch index (which keeps counting across ``warm_start``/``partial_fit``) and the
model's INITIAL ``learning_rate`` hyper-parameter, and trains that epoch with the returned value.
A schedule is therefore a closed-form, stateless function of ``(epoch, lr0)``: the same epoch
always gets the same learning rate, whatever happened before. (``callbacks.LearningRateScheduler``
follows Keras instead and passes the *current* learning rate.)

``lr_schedule=None`` keeps the learning rate constant; any callable ``(epoch, lr0) -> lr`` works;
the classes below are the usual decays, with a ``get_config()`` so a saved model can rebuild them
with :func:`from_config`:

    StepDecay(factor=0.5, every=10)   lr0 * factor ** (epoch // every)
    ExponentialDecay(rate=0.96)       lr0 * rate ** (epoch / decay_epochs)
    InverseTimeDecay(decay=0.01)      lr0 / (1 + decay * epoch)
    CosineDecay(epochs, min_lr=0.0)   min_lr + (lr0 - min_lr) * (1 + cos(pi * t)) / 2,
                                      t = min(epoch, epochs) / epochs
"""

from __future__ import annotations

import inspect
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Union

__all__ = [
    "Schedule",
    "StepDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "from_config",
    "resolve_schedule",
]

ScheduleLike = Union["Schedule", Callable[[int, float], float], None]


def _check_number(name: str, value: Any, *, integer: bool = False) -> None:
    # bool is an int subclass; StepDecay(every=True) is a mistake, not "every 1 epoch"
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")


class Schedule(ABC):
    """A learning-rate schedule: ``lr = schedule(epoch, initial_lr)``, closed-form and stateless.

    Subclasses store each ``__init__`` argument under the same name; ``get_config``, ``repr`` and
    equality are derived from those arguments.
    """

    @abstractmethod
    def __call__(self, epoch: int, initial_lr: float) -> float:
        """The learning rate of 0-based ``epoch`` when the initial rate is ``initial_lr``."""

    @classmethod
    def _param_names(cls) -> list[str]:
        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_config(self) -> dict[str, Any]:
        """A JSON-ready dict ``{"name": class name, **params}``; :func:`from_config` inverts it."""
        return {"name": type(self).__name__, **{p: getattr(self, p) for p in self._param_names()}}

    def __repr__(self) -> str:
        params = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._param_names())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(self.get_config().items()))


class StepDecay(Schedule):
    """Multiply the rate by ``factor`` every ``every`` epochs.

    ``lr(epoch) = lr0 * factor ** (epoch // every)``, with ``0 < factor <= 1`` and ``every >= 1``.

    Parameters
    ----------
    factor : float, default=0.5
        Multiplier per step, in (0, 1].
    every : int, default=10
        Epochs between steps (>= 1).
    """

    def __init__(self, factor: float = 0.5, every: int = 10) -> None:
        _check_number("factor", factor)
        _check_number("every", every, integer=True)
        if not 0.0 < factor <= 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor!r}.")
        if every < 1:
            raise ValueError(f"every must be a whole number of epochs >= 1, got {every!r}.")
        self.factor = float(factor)
        self.every = int(every)

    def __call__(self, epoch: int, initial_lr: float) -> float:
        return initial_lr * self.factor ** (epoch // self.every)


class ExponentialDecay(Schedule):
    """Decay the rate by ``rate`` per ``decay_epochs`` epochs, smoothly or in steps.

    ``lr(epoch) = lr0 * rate ** (epoch / decay_epochs)``; with ``staircase=True`` the exponent
    is floored, ``lr0 * rate ** floor(epoch / decay_epochs)``. With the default
    ``decay_epochs=1`` both are ``lr0 * rate ** epoch``. ``0 < rate <= 1``, ``decay_epochs > 0``.

    Parameters
    ----------
    rate : float, default=0.96
        Multiplier per ``decay_epochs`` epochs, in (0, 1].
    staircase : bool, default=False
        Floor the exponent (decay in steps).
    decay_epochs : float, default=1
        Epochs per factor ``rate`` (> 0).
    """

    def __init__(
        self, rate: float = 0.96, staircase: bool = False, decay_epochs: float = 1
    ) -> None:
        _check_number("rate", rate)
        _check_number("decay_epochs", decay_epochs)
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {rate!r}.")
        if decay_epochs <= 0:
            raise ValueError(f"decay_epochs must be > 0, got {decay_epochs!r}.")
        if not isinstance(staircase, bool):
            raise TypeError(f"staircase must be True or False, got {staircase!r}.")
        self.rate = float(rate)
        self.staircase = staircase
        self.decay_epochs = decay_epochs

    def __call__(self, epoch: int, initial_lr: float) -> float:
        exponent = epoch / self.decay_epochs
        if self.staircase:
            exponent = math.floor(exponent)
        return initial_lr * self.rate**exponent


class InverseTimeDecay(Schedule):
    """Decay the rate like ``1 / t``: ``lr(epoch) = lr0 / (1 + decay * epoch)``, ``decay >= 0``.

    Parameters
    ----------
    decay : float, default=0.01
        The rate's decay per epoch (>= 0).
    """

    def __init__(self, decay: float = 0.01) -> None:
        _check_number("decay", decay)
        if decay < 0:
            raise ValueError(f"decay must be >= 0, got {decay!r}.")
        self.decay = float(decay)

    def __call__(self, epoch: int, initial_lr: float) -> float:
        return initial_lr / (1.0 + self.decay * epoch)


class CosineDecay(Schedule):
    """Half a cosine from ``lr0`` down to ``min_lr`` over ``epochs`` epochs, then flat.

    ``lr(epoch) = min_lr + (lr0 - min_lr) * (1 + cos(pi * min(epoch, epochs) / epochs)) / 2``,
    with ``epochs >= 1`` and ``0 <= min_lr <= lr0``.

    Parameters
    ----------
    epochs : int
        Epochs over which the rate falls (>= 1).
    min_lr : float, default=0.0
        The rate at the end (>= 0, at most the initial rate).
    """

    def __init__(self, epochs: int, min_lr: float = 0.0) -> None:
        _check_number("epochs", epochs, integer=True)
        _check_number("min_lr", min_lr)
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs!r}.")
        if min_lr < 0:
            raise ValueError(f"min_lr must be >= 0, got {min_lr!r}.")
        self.epochs = int(epochs)
        self.min_lr = float(min_lr)

    def __call__(self, epoch: int, initial_lr: float) -> float:
        if self.min_lr > initial_lr:
            raise ValueError(
                f"CosineDecay(min_lr={self.min_lr!r}) is above the initial learning rate "
                f"{initial_lr!r}, so the rate would grow; lower min_lr or raise learning_rate."
            )
        progress = min(epoch, self.epochs) / self.epochs
        return self.min_lr + (initial_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


_SCHEDULES: dict[str, type[Schedule]] = {
    cls.__name__: cls for cls in (StepDecay, ExponentialDecay, InverseTimeDecay, CosineDecay)
}


def from_config(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from ``Schedule.get_config()`` output (e.g. read from a model file).

    Parameters
    ----------
    config : dict
        ``{"name": "StepDecay" | ..., ...parameters}``.

    Returns
    -------
    Schedule
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"A schedule config is a dict with a 'name' key, got {config!r}.")
    params = dict(config)
    name = params.pop("name")
    if name not in _SCHEDULES:
        raise ValueError(
            f"Unknown schedule {name!r}; valid names are {', '.join(sorted(_SCHEDULES))}."
        )
    cls = _SCHEDULES[name]
    unknown = set(params) - set(cls._param_names())
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {sorted(unknown)} for {name}; it takes {cls._param_names()}."
        )
    return cls(**params)


def resolve_schedule(obj: ScheduleLike) -> Schedule | Callable[[int, float], float] | None:
    """Check an ``lr_schedule`` value: ``None`` (constant rate), a Schedule, or any callable.

    Returns it unchanged; raises ``TypeError`` for anything else.

    Parameters
    ----------
    obj : None, Schedule or callable
        The ``lr_schedule`` value to check.

    Returns
    -------
    the same object
    """
    if isinstance(obj, type):
        raise TypeError(
            f"lr_schedule must be a schedule object, not the class {obj.__name__}; "
            f"instantiate it, e.g. lr_schedule={obj.__name__}(...)."
        )
    if obj is None or callable(obj):
        return obj
    raise TypeError(
        f"lr_schedule must be None (constant learning rate), a crash_core.schedules.Schedule "
        f"such as StepDecay(factor=0.5, every=10), or a callable (epoch, initial_lr) -> lr; "
        f"got {obj!r} ({type(obj).__name__})."
    )
