"""The training loop at epoch granularity, shared by every network-backed model.

Each epoch is ONE call of the epoch kernel (``EpochTrainer.run``); around it this loop
does what happens once per epoch: pick the learning rate (schedule, callbacks), draw
the shuffled order, measure the validation loss, tell the callbacks, and stop on
divergence or on request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crash_core import _memory
from crash_core._kernels import linear as linear_kernels
from crash_core.callbacks import Callback, History
from crash_core.network import PREDICT_CHUNK, EpochTrainer, Network, batch_threads, kernels

__all__ = ["Dataset", "DivergenceError", "LossWatch", "TrainingRun", "evaluate", "train"]

# epochs in a row the loss may grow (ending above the first epoch's loss) before it is
# called divergence
GROWTH_EPOCHS = 5


@dataclass
class Dataset:
    """Training or validation data as the kernels take them (targets already encoded).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features, C-contiguous, of the network's dtype.
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets (0/1 column, one-hot rows, or values).
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Weight of each sample's loss.
    """

    X: np.ndarray
    Y: np.ndarray
    sample_weight: np.ndarray | None = None

    @property
    def total_weight(self) -> float:
        n = self.X.shape[0]
        return float(n if self.sample_weight is None else self.sample_weight.sum())


class DivergenceError(ValueError):
    """Training diverged: the loss became NaN or infinite, or grew epoch after epoch.

    ``epoch`` is the epoch (counted from 1) at which it was detected. The model keeps
    finite weights: those of the epoch before (non-finite loss) or of the epoch with the
    lowest loss (a growing loss). The message names the cure: a lower learning rate,
    scaled features.

    Parameters
    ----------
    message : str
        What happened and the cure.
    epoch : int
        The epoch, counted from 1, at which training diverged.
    """

    def __init__(self, message: str, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch

    @classmethod
    def at(cls, epoch: int, loss: float, learning_rate: float) -> DivergenceError:
        """The error for 0-based ``epoch``, whose loss (or weights) left the finite numbers."""
        what = f"the loss became {loss}" if not math.isfinite(loss) else "the weights overflowed"
        return cls(
            f"Training diverged at epoch {epoch + 1}: {what} with learning_rate="
            f"{learning_rate:g}. The weights of the epoch before were kept; try a lower "
            "learning_rate (or scale the features).",
            epoch + 1,
        )


class LossWatch:
    """Catches a loss that runs away, so no fit ends silently worse than it started.

    After each epoch ``update(epoch, loss, params)``: when the loss has grown in each of the
    last ``GROWTH_EPOCHS`` epochs and is above the first epoch's loss, the weights of the
    epoch with the lowest loss are put back into ``params`` and a DivergenceError is raised.
    ``finish()`` warns (ConvergenceWarning) when the last loss is above the first one.
    Both messages name the cure: lower the learning rate, scale the features.

    Parameters
    ----------
    learning_rate : float
        The rate in use, named in the messages.
    growth_epochs : int, default=5
        Epochs in a row the loss may grow before it is divergence.
    """

    def __init__(self, learning_rate: float, growth_epochs: int = GROWTH_EPOCHS) -> None:
        self.learning_rate = learning_rate
        self.growth_epochs = growth_epochs
        self.first: float | None = None
        self.best = math.inf
        self.best_epoch = 0
        self.best_params: np.ndarray | None = None
        self.previous = math.inf
        self.grown = 0

    def update(self, epoch: int, loss: float, params: np.ndarray) -> None:
        """Record the loss of 0-based ``epoch`` (``params`` are its weights, changed in place
        only when raising)."""
        if self.first is None:
            self.first = loss
        self.grown = self.grown + 1 if loss > self.previous else 0
        self.previous = loss
        if loss < self.best:
            self.best, self.best_epoch = loss, epoch
            if self.best_params is None:
                self.best_params = params.copy()
            else:
                self.best_params[...] = params
        if self.grown >= self.growth_epochs and loss > self.first:
            params[...] = self.best_params
            raise DivergenceError(
                f"Training diverged: the loss grew in each of the last {self.grown} epochs, "
                f"from {self.best:.4g} (epoch {self.best_epoch + 1}) to {loss:.4g} (epoch "
                f"{epoch + 1}), above where it started ({self.first:.4g}), with learning_rate="
                f"{self.learning_rate:g}. The weights of epoch {self.best_epoch + 1} were kept; "
                "lower the learning_rate or scale the features (e.g. StandardScaler or "
                "crash_core.preprocessing.TabularPreprocessor).",
                epoch + 1,
            )

    def finish(self, stacklevel: int = 4) -> None:
        """Warn when training ended with a higher loss than its first epoch."""
        import warnings

        from crash_core.exceptions import ConvergenceWarning

        if self.first is not None and self.previous > self.first:
            warnings.warn(
                f"The loss ended higher than it started ({self.first:.4g} after the first "
                f"epoch, {self.previous:.4g} after the last) with learning_rate="
                f"{self.learning_rate:g}: training is not converging. Lower the learning_rate "
                "or scale the features.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )


@dataclass
class TrainingRun:
    """What callbacks see as ``self.model`` during one training run.

    ``stop_training`` stops after the current epoch; ``learning_rate_`` is the rate the
    next epoch uses; ``network_.params`` is the one flat weight buffer; ``estimator`` is
    the model being fitted.

    Parameters
    ----------
    network_ : Network
        The network being trained.
    learning_rate : float
        The initial rate (the hyper-parameter).
    learning_rate_ : float
        The rate the next epoch uses.
    epochs : int
        The ``epochs`` hyper-parameter (for progress totals).
    estimator : object, default=None
        The model being fitted.
    stop_training : bool, default=False
        Set by a callback to stop after the current epoch.
    history : History
        The record of every epoch.
    rng : numpy Generator or None, default=None
        Generator of the shuffles.
    error : DivergenceError or None, default=None
        Set when the run diverged.
    """

    network_: Network
    learning_rate: float
    learning_rate_: float
    epochs: int
    estimator: Any = None
    stop_training: bool = False
    history: History = field(default_factory=History)
    rng: Any = None
    error: DivergenceError | None = None


def evaluate(
    network: Network,
    data: Dataset,
    l1: float = 0.0,
    l2: float = 0.0,
    trainer: EpochTrainer | None = None,
) -> tuple[float, float]:
    """(mean loss + penalty, accuracy) of ``network`` on ``data``, without gradients.

    With a ``trainer`` its batch buffers are reused, so evaluating allocates nothing.

    Parameters
    ----------
    network : Network
    data : Dataset
    l1 : float, default=0.0
        L1 penalty added to the loss.
    l2 : float, default=0.0
        L2 penalty added to the loss.
    trainer : EpochTrainer or None, default=None
        Whose buffers to reuse.

    Returns
    -------
    (loss, accuracy) : tuple of float (accuracy is NaN for regression)
    """
    n = data.X.shape[0]
    if trainer is not None:
        cap, acts, delta = trainer.capacity, trainer.acts, trainer.delta
    else:
        cap = max(1, min(PREDICT_CHUNK, n))
        acts = _memory.empty(cap * int(network.layers[:, 1].sum()), network.dtype)
        delta = _memory.empty(cap * network.n_outputs, network.dtype)
    weighted = data.sample_weight is not None
    sw = data.sample_weight if weighted else acts[:0]
    with batch_threads(network, cap):
        total, correct = kernels.evaluate_(
            network.params,
            network.layers,
            network.kinds,
            network.out_kind,
            data.X,
            data.Y,
            sw,
            weighted,
            acts,
            delta,
            cap,
        )
    loss = total / data.total_weight + penalty(network, l1, l2)
    accuracy = correct / n if network.output != "identity" else float("nan")
    return loss, accuracy


def penalty(network: Network, l1: float, l2: float) -> float:
    """l1 sum|w| + l2 sum w^2 over the weights (never the biases)."""
    if not l1 and not l2:
        return 0.0
    return float(
        sum(
            l1 * np.abs(w).sum() + l2 * np.square(w, dtype=np.float64).sum()
            for w in network.weights
        )
    )


def epoch_order(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The rows' order 0, 1, ..., n - 1 and a state for ``shuffle_rows``, drawn from ``rng``.

    ``train`` shuffles this one order in place before each epoch (a uniform shuffle of any
    order is uniform): 10,000 rows in 27 us against 100 us for a new ``rng.permutation(n)``,
    and nothing allocated.
    """
    order = np.arange(n, dtype=np.intp)
    state = rng.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)
    state[0] |= np.uint64(1)  # xoshiro's state is never all zeros
    return order, state


def shuffle_rows(order: np.ndarray, state: np.ndarray) -> None:
    """Fisher-Yates shuffle of ``order`` in place by the kernels, drawing from ``state``
    (from ``epoch_order``, advanced)."""
    linear_kernels.shuffle(order, state)


def train(
    run: TrainingRun,
    trainer: EpochTrainer,
    data: Dataset,
    *,
    epochs: int,
    first_epoch: int = 0,
    validation: Dataset | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
    shuffle: bool = True,
    rng: np.random.Generator,
    lr_schedule: Callable[[int, float], float] | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainingRun:
    """Train ``run.network_`` for up to ``epochs`` epochs starting at ``first_epoch``.

    Per epoch: lr = lr_schedule(epoch, initial lr) when a schedule is given, callbacks'
    ``on_epoch_begin`` (which may change it), one kernel call over a shuffled order,
    validation loss, ``on_epoch_end``.  Records everything in ``run.history``.  A
    non-finite loss restores the weights of the epoch before and raises DivergenceError
    (a ValueError).

    Parameters
    ----------
    run : TrainingRun
        The network and state; ``run.history`` gets one entry per epoch.
    trainer : EpochTrainer
        Buffers and optimizer state.
    data : Dataset
        The training data.
    epochs : int
        Most epochs to train.
    first_epoch : int, default=0
        The 0-based number of the first epoch (warm starts count on).
    validation : Dataset or None, default=None
        Evaluated after every epoch (``val_loss``, ``val_accuracy``).
    l1 : float, default=0.0
        L1 penalty.
    l2 : float, default=0.0
        L2 penalty.
    shuffle : bool, default=True
        A new order of the rows every epoch.
    rng : numpy Generator
        Source of the shuffles.
    lr_schedule : callable or None, default=None
        ``lr_schedule(epoch, initial_lr) -> lr``.
    callbacks : sequence of Callback, default=()
        Called around every epoch.

    Returns
    -------
    TrainingRun
    """
    network = run.network_
    n = data.X.shape[0]
    every = [run.history, *callbacks]
    for cb in every:
        cb.set_model(run)
    for cb in every:
        cb.on_train_begin({})
    last_finite = np.empty_like(network.params)
    watch = LossWatch(run.learning_rate)
    has_accuracy = network.output != "identity"
    order, shuffle_state = epoch_order(n, rng)
    for epoch in range(first_epoch, first_epoch + epochs):
        if lr_schedule is not None:
            run.learning_rate_ = _checked_lr(lr_schedule(epoch, run.learning_rate), epoch)
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        lr = _checked_lr(run.learning_rate_, epoch)
        if shuffle:
            shuffle_rows(order, shuffle_state)
        last_finite[...] = network.params
        total, correct = trainer.run(data.X, data.Y, order, lr, l1, l2, data.sample_weight)
        loss = total / data.total_weight
        if not (math.isfinite(loss) and np.isfinite(network.params).all()):
            network.params[...] = last_finite
            raise DivergenceError.at(epoch, loss, lr)
        watch.update(epoch, loss, network.params)
        logs = {"loss": loss}
        if has_accuracy:
            logs["accuracy"] = correct / n
        if validation is not None:
            val_loss, val_accuracy = evaluate(network, validation, l1, l2, trainer)
            logs["val_loss"] = val_loss
            if has_accuracy:
                logs["val_accuracy"] = val_accuracy
        logs["lr"] = lr
        for cb in every:
            cb.on_epoch_end(epoch, logs)
        if run.stop_training:
            break
    for cb in every:
        cb.on_train_end({})
    watch.finish(stacklevel=5)
    return run


def _checked_lr(lr: Any, epoch: int) -> float:
    try:
        value = float(lr)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"The learning rate for epoch {epoch + 1} is {lr!r}; it must be a finite number "
            "> 0. Check lr_schedule and the learning-rate callbacks."
        )
    return value
