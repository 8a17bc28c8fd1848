"""Callbacks: small objects the training loop calls at the start and end of training and epochs.

The protocol (Keras-style). For every callback the loop calls ``set_model(model)`` once, then
``on_train_begin(logs)``, per epoch ``on_epoch_begin(epoch, logs)`` and
``on_epoch_end(epoch, logs)``, and finally ``on_train_end(logs)``.

- ``epoch`` is 0-based, as in Keras, and keeps counting across ``warm_start``/``partial_fit``
  calls. Everything a person reads counts epochs from 1: ``n_epochs_``, ``best_epoch_``,
  messages, progress lines, plot axes; ``history_[key][i]`` belongs to epoch ``i + 1``.
  (Attributes of the callbacks themselves, ``EarlyStopping.best_epoch`` and
  ``stopped_epoch``, keep Keras' 0-based numbers.)
- ``logs`` maps some of ``"loss"``, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``, ``"lr"``
  (the learning rate used in that epoch) to floats; a missing key means "not available".
- A callback may set ``model.stop_training = True`` (training stops after the current epoch),
  read or write ``model.learning_rate_`` (the rate the NEXT epoch will use), and snapshot or
  restore the weights, the one flat array ``model.network_.params``.

``EarlyStopping`` and ``ReduceLROnPlateau`` share one base, ``MonitorCallback``, that reads the
monitored value from the logs and decides what counts as an improvement:

    mode "min":  improved  <=>  current < best - min_delta
    mode "max":  improved  <=>  current > best + min_delta
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import (
    Callable,
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from contextlib import contextmanager
from typing import Any, TextIO

import numpy as np

from crash_core.schedules import Schedule

__all__ = [
    "Callback",
    "History",
    "MonitorCallback",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "ProgressBar",
]

Logs = Mapping[str, float]
_MODES = ("auto", "min", "max")


class Callback:
    """Base class: every hook is a no-op; ``self.model`` is the model being trained."""

    def __init__(self) -> None:
        self.model: Any = None

    def set_model(self, model: Any) -> None:
        """Remember the model the hooks act on; called once before ``on_train_begin``."""
        self.model = model

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once when ``fit`` (or a ``partial_fit`` call) starts training."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called before epoch ``epoch`` (0-based) is trained."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called after epoch ``epoch`` with that epoch's metrics in ``logs``."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once when training ends (out of epochs or stopped)."""


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}.")
    return int(value)


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return float(value)


class History(Callback):
    """Every logged metric, one value per epoch: ``history["loss"][i]`` is the loss of epoch
    ``history.epoch[i]``.

    A read-only mapping ``key -> list of floats`` (``history.history`` is the plain dict);
    ``len(history)`` is the number of epochs recorded. ``on_train_begin`` does not clear it, so a
    warm-started fit appends to the same record. A key that is missing in some epoch gets NaN
    there, so every list stays aligned with ``history.epoch``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        n_before = len(self.epoch)
        self.epoch.append(int(epoch))
        for key in logs:
            if key not in self.history:  # a new key: NaN for the epochs before it
                self.history[key] = [math.nan] * n_before
        for key, values in self.history.items():
            values.append(float(logs.get(key, math.nan)))

    def __getitem__(self, key: str) -> list[float]:
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(
                f"{key!r} was not recorded; the history has {sorted(self.history)}."
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __iter__(self) -> Iterator[str]:
        return iter(self.history)

    def __len__(self) -> int:
        return len(self.epoch)

    def keys(self) -> KeysView[str]:
        return self.history.keys()

    def values(self) -> ValuesView[list[float]]:
        return self.history.values()

    def items(self) -> ItemsView[str, list[float]]:
        return self.history.items()

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={list(self.history)})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: ``{"epoch": [...], "history": {key: [...]}}``.

        NaN (a metric missing in some epoch) is kept as a float; write JSON with the default
        ``allow_nan=True`` or map it to ``null`` yourself.
        """
        return {
            "epoch": list(self.epoch),
            "history": {key: list(values) for key, values in self.history.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a History from :meth:`to_dict` output; ``None`` values (JSON null) become NaN."""
        if not isinstance(data, Mapping) or set(data) != {"epoch", "history"}:
            raise ValueError(
                "A saved History is a dict with exactly the keys 'epoch' and 'history' "
                f"(see History.to_dict()), got {data!r:.200}."
            )
        history = cls()
        history.epoch = [int(e) for e in data["epoch"]]
        for key, values in dict(data["history"]).items():
            column = [math.nan if v is None else float(v) for v in values]
            if len(column) != len(history.epoch):
                raise ValueError(
                    f"Saved History is inconsistent: {key!r} has {len(column)} values "
                    f"for {len(history.epoch)} epochs."
                )
            history.history[str(key)] = column
        return history


def _missing_key_hint(key: str) -> str:
    if key.startswith("val_"):
        return (
            "Validation metrics exist only when there is validation data: pass "
            "validation_data=(X_val, y_val) to fit(), or set early_stopping=True so that "
            "validation_fraction of the training data is held out"
        )
    if "acc" in key:
        return "Regressors log no accuracy; monitor a loss instead"
    return "Check the spelling of monitor"


class MonitorCallback(Callback):
    """Shared base of EarlyStopping and ReduceLROnPlateau: watch one metric for improvement.

    ``mode="auto"`` means ``"max"`` when ``"acc"`` is in the monitored name, else ``"min"``. In
    mode "min" a value improves on ``reference`` when ``value < reference - min_delta``; in mode
    "max" when ``value > reference + min_delta``. NaN never improves.

    Parameters
    ----------
    monitor : str
        The logged metric to watch, e.g. ``"val_loss"``, ``"loss"``, ``"val_accuracy"``.
    min_delta : float
        Smallest change that counts as an improvement (>= 0).
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; "auto" decides from the name.
    """

    def __init__(self, monitor: str, min_delta: float, mode: str) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}.")
        min_delta = _check_float("min_delta", min_delta)
        if min_delta < 0:
            raise ValueError(
                f"min_delta must be >= 0 (an absolute improvement threshold), got {min_delta!r}."
            )
        if mode not in _MODES:
            raise ValueError(f"Unknown mode {mode!r}; valid modes are {', '.join(_MODES)}.")
        self.monitor = monitor
        self.min_delta = min_delta
        self.mode = mode

    @property
    def resolved_mode(self) -> str:
        """``"min"`` or ``"max"``: ``mode`` with ``"auto"`` resolved from the monitor's name."""
        if self.mode == "auto":
            return "max" if "acc" in self.monitor else "min"
        return self.mode

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if math.isnan(value):
            return False
        if reference is None:
            return True
        if self.resolved_mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def _monitored_value(self, epoch: int, logs: Logs | None) -> float:
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"{type(self).__name__} monitors {self.monitor!r}, but epoch {epoch} logged "
                f"only {sorted(logs)}. {_missing_key_hint(self.monitor)}, or monitor one of "
                f"the available keys."
            )
        return float(logs[self.monitor])


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves when ``monitor`` beats the best value so far by more than ``min_delta``
    (see ``MonitorCallback``); ``wait`` counts the epochs since the last improvement and training
    stops (``model.stop_training = True``) once ``wait >= patience``. Epochs before
    ``start_from_epoch`` are not monitored (the key must still be logged). With a ``baseline``,
    ``wait`` is only reset by values that also improve on the baseline, so training stops after
    ``patience`` epochs if the model never beats it.

    With ``restore_best_weights=True`` the weights of the best epoch are put back at the end of
    training in every case (also when training ran out of epochs), so the final model is the one
    that scored ``best`` at ``best_epoch``. State is reset by ``on_train_begin``: a warm-started
    fit looks for its own best epoch.

    Parameters
    ----------
    monitor : str, default="val_loss"
        The logged metric to watch.
    patience : int, default=10
        Epochs without improvement before training stops.
    min_delta : float, default=0.0
        Smallest change of ``monitor`` that counts as an improvement.
    mode : {"auto", "min", "max"}, default="auto"
        Whether lower or higher is better; "auto" is "max" for names with "acc".
    restore_best_weights : bool, default=True
        Put back the weights of the best epoch when training ends.
    start_from_epoch : int, default=0
        Epochs (0-based, as ``epoch``) not monitored at the start (warm-up).
    baseline : float or None, default=None
        A value the model must beat; without one, any first value is the reference.
    verbose : int, default=0
        Print a line when stopping and when restoring weights.

    Attributes
    ----------
    best : float or None
        Best monitored value.
    best_epoch : int or None
        Its epoch, 0-based as the callback's ``epoch`` argument (Keras' convention; a
        model's ``best_epoch_`` is this plus 1).
    wait : int
        Epochs since the last improvement.
    stopped_epoch : int or None
        The 0-based epoch at which it stopped training.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
        start_from_epoch: int = 0,
        baseline: float | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(monitor, min_delta, mode)
        self.patience = _check_int("patience", patience, 0)
        self.start_from_epoch = _check_int("start_from_epoch", start_from_epoch, 0)
        self.baseline = None if baseline is None else _check_float("baseline", baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = _check_int("verbose", verbose, 0)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_weights: np.ndarray | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        current = self._monitored_value(epoch, logs)
        if epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.network_.params.copy()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
        if self.wait >= self.patience and self.wait > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(
                    f"EarlyStopping: {self.monitor} has not improved by more than "
                    f"{self.min_delta:g} for {self.wait} epoch(s); stopping after epoch "
                    f"{epoch + 1}."
                )

    def on_train_end(self, logs: Logs | None = None) -> None:
        if not self.restore_best_weights or self.best_weights is None:
            return
        self.model.network_.params[...] = self.best_weights
        if self.verbose:
            print(
                f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1} "
                f"({self.monitor} {self.best:.4g})."
            )


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    ``wait`` counts epochs without an improvement of more than ``min_delta``; when
    ``wait >= patience`` the rate the next epoch uses becomes
    ``model.learning_rate_ = max(model.learning_rate_ * factor, min_lr)`` (nothing happens if
    it is already at ``min_lr``), and the next ``cooldown`` epochs are not counted in ``wait``.

    Parameters
    ----------
    monitor : str, default="val_loss"
        The logged metric to watch.
    factor : float, default=0.1
        Multiplier of the learning rate, in (0, 1).
    patience : int, default=5
        Epochs without improvement before the rate is lowered.
    min_delta : float, default=1e-4
        Smallest change of ``monitor`` that counts as an improvement.
    cooldown : int, default=0
        Epochs after a reduction during which ``wait`` is not counted.
    min_lr : float, default=0.0
        The rate never goes below this.
    mode : {"auto", "min", "max"}, default="auto"
        Whether lower or higher is better; "auto" is "max" for names with "acc".
    verbose : int, default=0
        Print a line at every reduction.

    Attributes
    ----------
    best : float or None
    wait : int
    cooldown_counter : int
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 5,
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        mode: str = "auto",
        verbose: int = 0,
    ) -> None:
        super().__init__(monitor, min_delta, mode)
        factor = _check_float("factor", factor)
        if not 0.0 < factor < 1.0:
            raise ValueError(
                f"factor must be in (0, 1) so the learning rate goes down, got {factor!r}."
            )
        min_lr = _check_float("min_lr", min_lr)
        if min_lr < 0:
            raise ValueError(f"min_lr must be >= 0, got {min_lr!r}.")
        self.factor = factor
        self.patience = _check_int("patience", patience, 0)
        self.cooldown = _check_int("cooldown", cooldown, 0)
        self.min_lr = min_lr
        self.verbose = _check_int("verbose", verbose, 0)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        current = self._monitored_value(epoch, logs)
        in_cooldown = self.cooldown_counter > 0
        if in_cooldown:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if in_cooldown:
            return
        self.wait += 1
        old_lr = float(self.model.learning_rate_)
        if self.wait >= self.patience and old_lr > self.min_lr:
            new_lr = max(old_lr * self.factor, self.min_lr)
            self.model.learning_rate_ = new_lr
            self.cooldown_counter = self.cooldown
            self.wait = 0
            if self.verbose:
                print(
                    f"ReduceLROnPlateau: epoch {epoch + 1}: {self.monitor} has not improved; "
                    f"learning rate {old_lr:g} -> {new_lr:g}."
                )


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule``.

    As in Keras, ``model.learning_rate_ = schedule(epoch, current_lr)`` with the rate the model
    would otherwise use. The exception is a ``crash_core.schedules.Schedule`` (StepDecay, ...):
    those are closed-form in the INITIAL rate, so they get ``model.learning_rate`` (the
    hyper-parameter) instead, exactly as with ``lr_schedule=``. The result must be a finite
    positive number.

    Parameters
    ----------
    schedule : callable or Schedule
        ``schedule(epoch, lr) -> new lr`` with the 0-based ``epoch``.
    verbose : int, default=0
        Print the rate chosen for each epoch.
    """

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        super().__init__()
        if isinstance(schedule, type) or not callable(schedule):
            raise TypeError(
                f"schedule must be a callable (epoch, lr) -> lr or a Schedule instance, "
                f"got {schedule!r}."
            )
        self.schedule = schedule
        self.verbose = _check_int("verbose", verbose, 0)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if isinstance(self.schedule, Schedule):
            lr_in = float(self.model.learning_rate)
        else:
            lr_in = float(self.model.learning_rate_)
        lr = self.schedule(epoch, lr_in)
        if (
            isinstance(lr, bool)
            or not isinstance(lr, numbers.Real)
            or not math.isfinite(lr)
            or lr <= 0
        ):
            raise ValueError(
                f"The learning-rate schedule {self.schedule!r} returned {lr!r} for epoch "
                f"{epoch}; it must return a finite positive float."
            )
        self.model.learning_rate_ = float(lr)
        if self.verbose:
            print(f"LearningRateScheduler: epoch {epoch + 1}: learning rate {float(lr):g}.")


def _notebook_display() -> Any:
    """IPython's ``display`` when running inside a Jupyter kernel, else None."""
    shell_module = sys.modules.get("IPython")
    if shell_module is None or "ipykernel" not in sys.modules:
        return None
    try:
        shell = shell_module.get_ipython()
        from IPython.display import display
    except (ImportError, AttributeError):
        return None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return display


class ProgressBar(Callback):
    """One progress line, updated in place after each epoch; what ``verbose=1`` shows
    (metrics in the order loss, accuracy, val_loss, val_accuracy, lr, then any others)::

        epoch 3/200  loss 0.4123  accuracy 0.8810  val_loss 0.4410  lr 0.001  1.2s

    Where it goes:

    - in a Jupyter notebook (an IPython kernel, ``stream=None``): ONE output that each epoch
      replaces (``display(..., display_id=True)`` then ``update``), not one per epoch;
    - on a terminal: one line rewritten in place (``"\\r"``), ended by a newline at the end;
    - anywhere else (a file, a pipe, a log): one line per epoch.

    The total is the epoch at which this training run started plus ``model.epochs`` (the
    hyper-parameter), so warm-started fits count on; without ``model.epochs`` only the epoch
    number is shown. Epochs are counted from 1. The time is elapsed since training began.

    Parameters
    ----------
    stream : text file or None, default=None
        Where to write; None means ``sys.stdout`` at the time of writing (or the notebook's
        output area inside a Jupyter kernel).
    """

    _ORDER = ("loss", "accuracy", "val_loss", "val_accuracy", "lr")

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream
        self._start = 0.0
        self._first_epoch: int | None = None
        self._last_width = 0
        self._handle: Any = None

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _is_tty(self) -> bool:
        isatty = getattr(self._out(), "isatty", None)
        return bool(isatty()) if callable(isatty) else False

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._start = time.perf_counter()
        self._first_epoch = None
        self._last_width = 0
        self._handle = None

    def _format_line(self, epoch: int, logs: Logs, elapsed: float) -> str:
        n_epochs = getattr(self.model, "epochs", None)
        head = f"epoch {epoch + 1}"
        if isinstance(n_epochs, numbers.Integral) and not isinstance(n_epochs, bool):
            head += f"/{self._first_epoch + int(n_epochs)}"
        keys = [k for k in self._ORDER if k in logs] + [k for k in logs if k not in self._ORDER]
        fields = [
            f"{k} {logs[k]}" if isinstance(logs[k], numbers.Integral)
            else f"{k} {logs[k]:g}" if k == "lr" else f"{k} {logs[k]:.4f}"
            for k in keys
        ]
        return "  ".join([head, *fields, f"{elapsed:.1f}s"])

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._first_epoch is None:
            self._first_epoch = epoch
        line = self._format_line(epoch, logs or {}, time.perf_counter() - self._start)
        display = _notebook_display() if self.stream is None else None
        if display is not None:
            content = {"text/plain": line}
            if self._handle is None:
                self._handle = display(content, raw=True, display_id=True)
            else:
                self._handle.update(content, raw=True)
            return
        out = self._out()
        if self._is_tty():
            # pad so a shorter line fully covers the previous one
            out.write("\r" + line.ljust(self._last_width))
            self._last_width = len(line)
        else:
            out.write(line + "\n")
        out.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self._last_width and self._is_tty():
            out = self._out()
            out.write("\n")
            out.flush()
        self._last_width = 0
        self._handle = None


@contextmanager
def progress(model: Any, verbose: int) -> Iterator[ProgressBar | None]:
    """A started ProgressBar for ``model``'s training when ``verbose`` (else None), ended
    however the training ends; for the models whose loop is not ``training.train``."""
    if not verbose:
        yield None
        return
    bar = ProgressBar()
    bar.set_model(model)
    bar.on_train_begin({})
    try:
        yield bar
    finally:
        bar.on_train_end({})
