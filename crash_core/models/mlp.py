"""Multi-layer perceptrons: ``MLPClassifier`` and ``MLPRegressor``.

Both train a ``cc.Network`` through the epoch kernel, with every training trick of the
course: mini-batches, an optimizer (sgd, momentum, nesterov, adam), L1/L2 penalties,
dropout, a validation split with early stopping, random restarts and learning-rate
decay.  The classifier ends in a sigmoid unit (two classes) or softmax (more) on
cross-entropy; the regressor in identity units on 0.5 * squared error.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from crash_core._blas_threads import single_threaded_blas
from crash_core._kernels.random import new_state
from crash_core._parallel import map_in_parallel
from crash_core._validation import check_option, check_scalar, validate_X, validate_X_y
from crash_core.base import BaseEstimator, ClassifierMixin, RegressorMixin
from crash_core.callbacks import Callback, EarlyStopping, History, ProgressBar
from crash_core.io import Format, register
from crash_core.models._common import (
    LogProbaMixin,
    class_proba,
    combined_weights,
    encode_classes,
    fitted_network,
    one_hot,
    seeds_for,
)
from crash_core.network import (
    ACTIVATIONS,
    DTYPES,
    INITS,
    EpochTrainer,
    Network,
    check_dropout,
    make_rng,
    resolve_dtype,
)
from crash_core.optimizers import Optimizer, OptimizerState, resolve_optimizer
from crash_core.schedules import resolve_schedule
from crash_core.training import Dataset, DivergenceError, TrainingRun, evaluate, train

__all__ = ["MLPClassifier", "MLPRegressor"]


def _restart(model: _BaseMLP, args: tuple, seed: Any) -> tuple:
    """One restart of ``model._run`` run beside others (a module-level function, so a
    process-based joblib backend can pickle it)."""
    # the restarts share the cores: each keeps its matrix products to one
    with single_threaded_blas():
        return model._run(seed, *args)


# what a model keeps between calls only to make the next one cheap (never pickled)
_CALL_CACHES = ("_checked", "_kept_trainer")
_ATOMS = (type(None), bool, int, float, str)


def _value_key(value: Any) -> Any:
    """A key equal for two hyper-parameter values only if they check the same: the value
    for numbers, strings and tuples of them, else (type, identity, repr)."""
    kind = type(value)
    if kind in _ATOMS:
        return kind, value
    if kind is tuple:
        return kind, tuple(_value_key(v) for v in value)
    return kind, id(value), repr(value)


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share; subclasses set the output layer."""

    _output: str

    def __init__(
        self,
        hidden_layers: Sequence[int] = (64,),
        activation: str | Sequence[str] = "relu",
        init: str = "glorot",
        optimizer: str | Optimizer = "adam",
        learning_rate: float = 1e-3,
        lr_schedule: Any = None,
        batch_size: int | None = 32,
        epochs: int = 200,
        l1: float = 0.0,
        l2: float = 0.0,
        dropout: float | Sequence[float] = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        min_delta: float = 0.0,
        n_restarts: int = 1,
        n_jobs: int | None = None,
        class_weight: Any = None,
        callbacks: Sequence[Callback] | None = None,
        warm_start: bool = False,
        shuffle: bool = True,
        dtype: str = "float32",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.init = init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.l1 = l1
        self.l2 = l2
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.n_restarts = n_restarts
        self.n_jobs = n_jobs
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _checked_params(self) -> dict[str, Any]:
        """``_check_params()``, redone only when a hyper-parameter changed since the last
        call (``set_params`` or an assignment): the checked values are kept with a key of
        every parameter's value (the value itself for numbers, strings and tuples of them;
        identity and repr for anything else, so a list or an optimizer changed in place
        counts as changed)."""
        key = tuple(_value_key(getattr(self, name)) for name in self._get_param_names())
        kept = self.__dict__.get("_checked")
        if kept is not None and kept[0] == key:
            return kept[1]
        p = self._check_params()
        self._checked = (key, p)
        return p

    def __getstate__(self) -> dict[str, Any]:
        """The model without what it keeps only to make the next call cheap."""
        state = self.__dict__.copy()
        for name in _CALL_CACHES:
            state.pop(name, None)
        return state

    def _check_params(self) -> dict[str, Any]:
        """Validate every hyper-parameter once per fit; returns the resolved values."""
        hidden = self.hidden_layers
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, (tuple, list)) or not all(
            isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1 for h in hidden
        ):
            raise ValueError(
                f"hidden_layers must be a tuple of positive ints (units per hidden layer), "
                f"got {self.hidden_layers!r}; e.g. hidden_layers=(64, 32)."
            )
        hidden = tuple(int(h) for h in hidden)
        if not isinstance(self.activation, (str, list, tuple)):
            raise TypeError(
                f"activation must be a name ({', '.join(ACTIVATIONS)}) or a list with one name "
                f"per hidden layer, got {type(self.activation).__name__}."
            )
        acts = (
            [self.activation] * len(hidden)
            if isinstance(self.activation, str)
            else list(self.activation)
        )
        if len(acts) != len(hidden):
            raise ValueError(
                f"activation lists {len(acts)} names for {len(hidden)} hidden layers; give "
                "one name or one per hidden layer."
            )
        for a in acts:
            check_option(a, "activation", ACTIVATIONS)
        check_option(self.init, "init", INITS)
        if not (np.isscalar(self.dropout) or isinstance(self.dropout, (list, tuple))):
            raise TypeError(
                "dropout must be a rate in [0, 1) or a list with one rate per hidden layer "
                f"(0.0 for none), got {type(self.dropout).__name__}."
            )
        rates = check_dropout(self.dropout, len(hidden)).tolist()
        batch = self.batch_size
        if batch is not None:
            batch = check_scalar(batch, "batch_size", kind=int, min_val=1)
        n_jobs = self.n_jobs
        if n_jobs is not None:
            n_jobs = check_scalar(n_jobs, "n_jobs", kind=int)
            if n_jobs == 0:
                raise ValueError("n_jobs must be None, -1 (all cores) or a positive int, got 0.")
            n_jobs = os.cpu_count() or 1 if n_jobs < 0 else n_jobs
        resolve_dtype(self.dtype)
        if self.callbacks is not None and not (
            isinstance(self.callbacks, (list, tuple))
            and all(isinstance(c, Callback) for c in self.callbacks)
        ):
            raise TypeError(
                "callbacks must be a list of crash_core.callbacks.Callback objects "
                "(subclass Callback and override on_epoch_end etc.)."
            )
        return dict(
            hidden=hidden,
            activations=tuple(acts),
            init=self.init,
            dropout=rates,
            optimizer=resolve_optimizer(self.optimizer),
            learning_rate=check_scalar(
                self.learning_rate,
                "learning_rate",
                min_val=0.0,
                include_min=False,
                max_val=float("inf"),
                include_max=False,
            ),
            lr_schedule=resolve_schedule(self.lr_schedule),
            batch_size=batch,
            epochs=check_scalar(self.epochs, "epochs", kind=int, min_val=1),
            l1=check_scalar(self.l1, "l1", min_val=0.0, max_val=np.inf, include_max=False),
            l2=check_scalar(self.l2, "l2", min_val=0.0, max_val=np.inf, include_max=False),
            early_stopping=check_scalar(self.early_stopping, "early_stopping", kind=bool),
            validation_fraction=check_scalar(
                self.validation_fraction,
                "validation_fraction",
                min_val=0.0,
                max_val=1.0,
                include_min=False,
                include_max=False,
            ),
            patience=check_scalar(self.patience, "patience", kind=int, min_val=0),
            min_delta=check_scalar(
                self.min_delta, "min_delta", min_val=0.0, max_val=np.inf, include_max=False
            ),
            n_restarts=check_scalar(self.n_restarts, "n_restarts", kind=int, min_val=1),
            n_jobs=n_jobs or 1,
            warm_start=check_scalar(self.warm_start, "warm_start", kind=bool),
            shuffle=check_scalar(self.shuffle, "shuffle", kind=bool),
            verbose=check_scalar(self.verbose, "verbose", kind=int, min_val=0),
        )

    # ------------------------------------------------------------------ subclass hooks
    def _encode(self, y: np.ndarray, classes: Any, *, reset: bool) -> tuple[np.ndarray, Any]:
        """(targets for the kernel, what class weights need) for the training labels."""
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------------ fitting
    @property
    def _np_dtype(self) -> Any:
        return DTYPES[self.dtype if isinstance(self.dtype, str) else np.dtype(self.dtype).name]

    def fit(
        self,
        X: Any,
        y: Any,
        validation_data: tuple[Any, Any] | None = None,
        sample_weight: Any = None,
    ) -> _BaseMLP:
        """Train on (X, y) for up to ``epochs`` epochs; returns self.

        ``validation_data=(X_val, y_val)`` is evaluated after every epoch (``val_loss``,
        ``val_accuracy`` in ``history_``); with ``early_stopping=True`` and no
        ``validation_data``, a ``validation_fraction`` of the training data is held out
        (stratified for classifiers).  ``sample_weight`` weighs each sample's loss; the
        loss is normalised by the sum of the weights.
        """
        p = self._checked_params()
        warm = p["warm_start"] and hasattr(self, "network_")
        return self._fit(
            X,
            y,
            p,
            validation_data,
            sample_weight,
            epochs=p["epochs"],
            reset=not warm,
            classes=None,
        )

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> _BaseMLP:
        """One epoch on (X, y), keeping the weights and the optimizer state between calls.

        For a classifier, ``classes`` lists every label on the first call (default: the
        labels of that first ``y``).
        """
        p = self._checked_params()
        if p["early_stopping"]:
            raise ValueError(
                "partial_fit trains one epoch per call and cannot early-stop; use fit with "
                "early_stopping=True, or set early_stopping=False and watch the loss yourself."
            )
        reset = not hasattr(self, "network_")
        return self._fit(X, y, p, None, sample_weight, epochs=1, reset=reset, classes=classes)

    def _fit(
        self,
        X: Any,
        y: Any,
        p: dict[str, Any],
        validation_data: Any,
        sample_weight: Any,
        *,
        epochs: int,
        reset: bool,
        classes: Any,
    ) -> _BaseMLP:
        dtype = self._np_dtype
        regressor = self._output == "identity"
        X, y = validate_X_y(
            self, X, y, reset=reset, dtype=dtype, y_numeric=regressor, multi_output=regressor
        )
        Y, y_idx = self._encode(y, classes, reset=reset)
        n = X.shape[0]
        classes_ = getattr(self, "classes_", None)
        weights = combined_weights(
            sample_weight, self.class_weight if not regressor else None, classes_, y_idx, n, dtype
        )
        data = Dataset(X, Y, weights)
        validation = None
        if validation_data is not None:
            validation = self._validation_set(validation_data)
        elif p["early_stopping"]:
            data, validation = self._hold_out(data, y_idx, p["validation_fraction"])
        if not reset:
            self._continue(data, validation, p, epochs)
            return self
        sizes = (X.shape[1], *p["hidden"], self._n_outputs())
        seeds = seeds_for(self.random_state, p["n_restarts"])
        if p["n_jobs"] > 1 and len(seeds) > 1:
            # a joblib backend's workers when one is active (e.g. a Dask cluster), else threads
            restart = partial(_restart, self, (sizes, data, validation, p, epochs))
            runs = map_in_parallel(restart, seeds, p["n_jobs"])
        else:
            runs = [self._run(s, sizes, data, validation, p, epochs) for s in seeds]
        scores = [score for _, _, score, _ in runs]
        best = int(np.argmin(scores))
        run, state, _, callbacks = runs[best]
        if len(runs) > 1:
            self.restart_losses_ = scores
            self.restart_seeds_ = seeds
            self.best_restart_ = best
        self._keep(run, state, callbacks)
        if run.error is not None:  # every restart diverged
            raise run.error
        return self

    def _validation_set(self, validation_data: Any) -> Dataset:
        try:
            X_val, y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, y_val).") from None
        regressor = self._output == "identity"
        X_val, y_val = validate_X_y(
            self,
            X_val,
            y_val,
            reset=False,
            dtype=self._np_dtype,
            y_numeric=regressor,
            multi_output=regressor,
        )
        Y_val, _ = self._encode(y_val, None, reset=False)
        return Dataset(X_val, Y_val)

    def _hold_out(
        self, data: Dataset, y_idx: np.ndarray | None, fraction: float
    ) -> tuple[Dataset, Dataset]:
        """Split off ``fraction`` of the rows (stratified by class when possible)."""
        from crash_core.datasets import train_test_split

        n = data.X.shape[0]
        rng = make_rng(self.random_state)
        seed = int(rng.integers(0, 2**31 - 1))
        n_val = max(1, int(np.ceil(fraction * n)))
        if n - n_val < 1:
            raise ValueError(
                f"validation_fraction={fraction} leaves no training data out of {n} samples; "
                "lower it or pass validation_data."
            )
        rows = np.arange(n)
        try:
            train_rows, val_rows, _, _ = train_test_split(
                rows, rows, test_size=n_val, stratify=y_idx, random_state=seed
            )
        except ValueError:  # a class too small to appear on both sides
            train_rows, val_rows, _, _ = train_test_split(
                rows, rows, test_size=n_val, random_state=seed
            )
        train_rows.sort()
        val_rows.sort()

        def take(rows: np.ndarray) -> Dataset:
            w = None if data.sample_weight is None else data.sample_weight[rows]
            return Dataset(data.X[rows], data.Y[rows], w)

        return take(train_rows), take(val_rows)

    def _callbacks(self, p: dict[str, Any], copy_user: bool) -> list[Callback]:
        user = list(self.callbacks or [])
        if copy_user:
            user = [copy.deepcopy(cb) for cb in user]
        internal: list[Callback] = []
        if p["early_stopping"]:
            internal.append(
                EarlyStopping(
                    monitor="val_loss",
                    patience=p["patience"],
                    min_delta=p["min_delta"],
                    restore_best_weights=True,
                )
            )
        if p["verbose"]:
            internal.append(ProgressBar())
        return user + internal

    def _trainer(
        self,
        network: Network,
        p: dict[str, Any],
        n: int,
        seed: int,
        state: OptimizerState | None,
        keep: bool = False,
    ) -> EpochTrainer:
        """The epoch kernel's trainer for ``n`` rows; with ``keep`` (warm start,
        partial_fit) the model's kept one when it fits (the same network, batch size,
        dropout, optimizer and state), its dropout generator reseeded as a new one's."""
        batch = n if p["batch_size"] is None else min(p["batch_size"], n)
        key = (max(1, batch), tuple(p["dropout"]), p["optimizer"])
        kept = self.__dict__.get("_kept_trainer") if keep else None
        if (
            kept is not None
            and kept[0] == key
            and kept[1].network is network
            and kept[1].state is state
            and state is not None
        ):
            trainer = kept[1]
            trainer.rng = new_state(seed % 2**64)
            return trainer
        trainer = EpochTrainer(network, batch, p["optimizer"], p["dropout"], seed, state)
        if keep:
            self._kept_trainer = (key, trainer)
        return trainer

    def _epochs(
        self,
        network: Network,
        state: OptimizerState | None,
        history: History | None,
        rng: np.random.Generator,
        data: Dataset,
        validation: Dataset | None,
        p: dict[str, Any],
        epochs: int,
        first_epoch: int,
        copy_callbacks: bool,
    ) -> tuple[TrainingRun, EpochTrainer, list[Callback]]:
        """Train ``network`` for ``epochs`` epochs; what a run leaves, also when it raised
        (a DivergenceError then sits in ``run.error``)."""
        seed = int(rng.integers(2**63))
        trainer = self._trainer(network, p, data.X.shape[0], seed, state, keep=history is not None)
        lr = p["learning_rate"]
        run = TrainingRun(network, lr, lr, p["epochs"], self, rng=rng)
        if history is not None:
            run.history = history
        callbacks = self._callbacks(p, copy_user=copy_callbacks)
        try:
            train(
                run,
                trainer,
                data,
                epochs=epochs,
                first_epoch=first_epoch,
                validation=validation,
                l1=p["l1"],
                l2=p["l2"],
                shuffle=p["shuffle"],
                rng=rng,
                lr_schedule=p["lr_schedule"],
                callbacks=callbacks,
            )
        except DivergenceError as error:
            run.error = error
        return run, trainer, callbacks

    def _run(
        self,
        seed: Any,
        sizes: tuple[int, ...],
        data: Dataset,
        validation: Dataset | None,
        p: dict[str, Any],
        epochs: int,
    ) -> tuple[TrainingRun, OptimizerState, float, list]:
        """One training run from a fresh initialisation drawn from ``seed``, and its score
        (see :meth:`_score`)."""
        rng = make_rng(seed)
        network = Network(
            sizes, p["activations"], self._output, self._np_dtype, random_state=rng, init=p["init"]
        )
        restarts = p["n_restarts"] > 1
        run, trainer, callbacks = self._epochs(
            network, None, None, rng, data, validation, p, epochs, 0, restarts
        )
        score = self._score(run, trainer, callbacks, data, validation, p) if restarts else 0.0
        return run, trainer.state, score, callbacks

    def _score(
        self,
        run: TrainingRun,
        trainer: EpochTrainer,
        callbacks: list[Callback],
        data: Dataset,
        validation: Dataset | None,
        p: dict[str, Any],
    ) -> float:
        """What restarts compare: the loss of the kept weights on the validation data (on
        the training data without any), inf if the run diverged.

        Only computed when there are restarts to compare.  With validation data and no
        callbacks of the user's (which might change the weights after an epoch), the kept
        weights are those of the last epoch, or of the best one when early stopping put
        them back; their ``val_loss`` is already in the history, evaluated on the same
        weights by the same kernel, so it is reused instead of another pass.
        """
        if run.error is not None:
            return float("inf")
        val_losses = run.history.history.get("val_loss")
        if validation is not None and not self.callbacks and val_losses:
            stoppers = [cb for cb in callbacks if isinstance(cb, EarlyStopping)]
            if stoppers and stoppers[-1].best_weights is not None:
                return float(stoppers[-1].best)  # the best epoch's weights were put back
            return float(val_losses[-1])
        scored = validation if validation is not None else data
        return evaluate(run.network_, scored, p["l1"], p["l2"], trainer)[0]

    def _continue(
        self, data: Dataset, validation: Dataset | None, p: dict[str, Any], epochs: int
    ) -> None:
        """Warm start / partial_fit: more epochs from the fitted weights and optimizer state."""
        network = self.network_
        expected = (self.n_features_in_, *p["hidden"], self._n_outputs())
        if (
            network.layer_sizes != expected
            or network.dtype != np.dtype(self._np_dtype)
            or network.activations != p["activations"]
        ):
            raise ValueError(
                f"The fitted network has layers {network.layer_sizes}, activations "
                f"{network.activations} and dtype {network.dtype.name}, but the parameters now "
                f"ask for {expected}, {p['activations']} and {np.dtype(self._np_dtype).name}; "
                "set warm_start=False to start afresh."
            )
        state = self._optimizer_state
        if state is None or resolve_optimizer(self.optimizer) != self._optimizer:
            state = None
        run, trainer, callbacks = self._epochs(
            network,
            state,
            self.history_,
            self._rng,
            data,
            validation,
            p,
            epochs,
            self.n_epochs_,
            False,
        )
        self._keep(run, trainer.state, callbacks)
        if run.error is not None:
            raise run.error

    def _keep(self, run: TrainingRun, state: OptimizerState, callbacks: list[Callback]) -> None:
        """Store what a finished run leaves: the network, history, counters, state."""
        self.network_ = run.network_
        self.history_: History = run.history
        self.n_epochs_ = len(run.history)
        self.n_iter_ = self.n_epochs_
        self.loss_ = run.history["loss"][-1] if len(run.history) else float("nan")
        self.learning_rate_ = run.learning_rate_
        stoppers = [cb for cb in callbacks if isinstance(cb, EarlyStopping)]
        if stoppers and stoppers[-1].best_epoch is not None:
            self.best_epoch_ = stoppers[-1].best_epoch + 1  # epochs count from 1
        self._optimizer_state = state
        self._optimizer = resolve_optimizer(self.optimizer)
        self._rng = run.rng

    # ------------------------------------------------------------------ predicting
    def _forward(self, X: Any) -> np.ndarray:
        """The fitted network's outputs for X.

        The common case, a C-contiguous 2-D ndarray of the fitted dtype and width from a
        model fitted without feature names, has nothing left to convert: it goes straight
        to the network.  Anything else takes the full validation (lists, frames, other
        dtypes, views); both end in the same errors.  Either way the kernel checks for NaN
        and infinity in the pass that reads X.
        """
        network = fitted_network(self)
        if not (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype == network.dtype
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and X.flags.c_contiguous
            and X.flags.aligned
            and "feature_names_in_" not in self.__dict__
        ):
            X = validate_X(self, X, reset=False, dtype=network.dtype, ensure_finite=False)
        return network._feed(X)

    def _tags_update(self, tags: Any) -> None:
        super()._tags_update(tags)
        tags.non_deterministic = False


class MLPClassifier(LogProbaMixin, ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier trained by backpropagation.

    Hidden layers a = f(a_prev W + b) with f in {sigmoid, tanh, relu}; the output is one
    sigmoid unit for two classes and a softmax over k units for more, trained on the
    cross-entropy L = -1/m sum_i sum_j y_ij ln p_ij + l1 sum|w| + l2 sum w^2. Labels may be
    any sortable values.

    Parameters
    ----------
    hidden_layers : tuple of int, default=(64,)
        Units per hidden layer, e.g. ``(64, 32)``; ``()`` is a model without hidden layer.
    activation : {"relu", "sigmoid", "tanh"} or list of them, default="relu"
        Hidden activation f, one name for every hidden layer or one per layer:
        relu(z) = max(0, z), sigmoid(z) = 1 / (1 + e^-z), tanh(z).
    init : {"glorot", "he"}, default="glorot"
        Initial weights: Glorot-uniform U(+-sqrt(6 / (n_in + n_out))) everywhere, or
        He-uniform U(+-sqrt(6 / n_in)) in front of relu units (biases start at 0).
    optimizer : {"adam", "sgd", "momentum", "nesterov"} or Optimizer, default="adam"
        The update rule (see ``crash_core.optimizers``); Adam:
        m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, w <- w - lr m_hat / (sqrt(v_hat) + eps).
    learning_rate : float, default=0.001
        Step size lr of the updates (the initial one when a schedule is given).
    lr_schedule : None, callable or Schedule, default=None
        Learning-rate decay: ``lr_schedule(epoch, learning_rate) -> lr`` at the start of
        each epoch (0-based ``epoch``), e.g. ``crash_core.schedules.StepDecay(0.5, 10)``;
        None keeps the rate constant.
    batch_size : int or None, default=32
        Rows per gradient step (mini-batch); None is the whole data set (full batch).
    epochs : int, default=200
        Most passes over the training data.
    l1 : float, default=0.0
        L1 penalty: adds l1 sum|w| over the weights (never the biases) to the loss.
    l2 : float, default=0.0
        L2 penalty: adds l2 sum w^2 over the weights (never the biases) to the loss.
    dropout : float or list of float, default=0.0
        Fraction of hidden units dropped at training time (inverted dropout: kept units
        are scaled by 1 / (1 - rate)), for every hidden layer or one rate per layer.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (unless ``validation_data`` is given
        to ``fit``), stop after ``patience`` epochs without an improvement of
        ``min_delta`` in ``val_loss`` and keep the weights of the best epoch.
    validation_fraction : float, default=0.1
        Fraction of the training rows held out for early stopping (stratified for a
        classifier).
    patience : int, default=10
        Epochs without improvement before early stopping stops.
    min_delta : float, default=0.0
        Smallest fall of ``val_loss`` that counts as an improvement.
    n_restarts : int, default=1
        Independent random initialisations (random restart); the run with the lowest
        validation loss (training loss without validation data) is kept.  The scores are
        computed only when there are restarts to compare (``n_restarts=1`` costs no pass
        after training); with validation data the ``val_loss`` the last (or, after early
        stopping, the best) epoch already measured is reused, unless ``callbacks`` are given
        (they may change the weights), which costs one more pass.
    n_jobs : int or None, default=None
        Threads for the restarts: None or 1 runs them one after the other, -1 uses every
        core.
    class_weight : None, "balanced" or dict, default=None
        Weight of each class in the loss: "balanced" gives class c the weight
        n / (k n_c); a dict maps labels to weights (classifiers only).
    callbacks : list of Callback or None, default=None
        Objects called at the start and end of training and of every epoch (see
        ``crash_core.callbacks``); each restart gets its own copy.
    warm_start : bool, default=False
        A new ``fit`` continues from the fitted weights and optimizer state instead of
        starting afresh.
    shuffle : bool, default=True
        Draw the rows in a new random order each epoch.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the weights and of the arithmetic.
    random_state : int, numpy Generator or None, default=None
        Seed of the initial weights, the shuffling, dropout masks and the held-out split.
    verbose : int, default=0
        With 1, show a progress line per epoch (``crash_core.callbacks.ProgressBar``):
        in a notebook one output updated in place, on a terminal one line rewritten.

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns.
    network_ : Network
        The trained network (``network_.params`` is the one flat weight buffer).
    history_ : History
        Per-epoch metrics: ``history_["loss"][i]`` belongs to epoch i + 1; also
        ``"accuracy"`` (classifier), ``"val_loss"``, ``"val_accuracy"``, ``"lr"``.
    n_epochs_ : int
        Epochs trained (counted from 1); ``n_iter_`` is the same number.
    best_epoch_ : int
        With early stopping: the epoch (counted from 1) whose weights were kept.
    loss_ : float
        Training loss of the last epoch.
    restart_losses_ : list of float
        With ``n_restarts > 1``: each restart's score; ``best_restart_`` is the kept one.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    """

    _output = "softmax"

    def _encode(self, y: np.ndarray, classes: Any, *, reset: bool) -> tuple[np.ndarray, Any]:
        idx = encode_classes(self, y, classes, reset=reset)
        return one_hot(idx, len(self.classes_), self._np_dtype), idx

    def _n_outputs(self) -> int:
        k = len(self.classes_)
        return 1 if k == 2 else k

    @property
    def _output(self) -> str:  # type: ignore[override]
        classes = getattr(self, "classes_", None)
        return "sigmoid" if classes is not None and len(classes) == 2 else "softmax"

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        P = self._forward(X)
        return class_proba(P)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (p >= 0.5 for the second of two classes)."""
        P = self._forward(X)
        idx = (P[:, 0] >= 0.5).astype(np.intp) if P.shape[1] == 1 else P.argmax(axis=1)
        return self.classes_[idx]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor: identity outputs on half the squared error.

    Hidden layers as in ``MLPClassifier``; the output layer is linear, y_hat = a W + b,
    trained on L = 1/m sum_i 0.5 sum_j (y_ij - y_hat_ij)^2 + l1 sum|w| + l2 sum w^2.
    ``y`` may be (n,) or (n, k) for k outputs. ``class_weight`` does not apply (it must
    stay None); ``history_`` has no accuracy.

    Parameters
    ----------
    hidden_layers : tuple of int, default=(64,)
        Units per hidden layer, e.g. ``(64, 32)``; ``()`` is a model without hidden layer.
    activation : {"relu", "sigmoid", "tanh"} or list of them, default="relu"
        Hidden activation f, one name for every hidden layer or one per layer:
        relu(z) = max(0, z), sigmoid(z) = 1 / (1 + e^-z), tanh(z).
    init : {"glorot", "he"}, default="glorot"
        Initial weights: Glorot-uniform U(+-sqrt(6 / (n_in + n_out))) everywhere, or
        He-uniform U(+-sqrt(6 / n_in)) in front of relu units (biases start at 0).
    optimizer : {"adam", "sgd", "momentum", "nesterov"} or Optimizer, default="adam"
        The update rule (see ``crash_core.optimizers``); Adam:
        m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, w <- w - lr m_hat / (sqrt(v_hat) + eps).
    learning_rate : float, default=0.001
        Step size lr of the updates (the initial one when a schedule is given).
    lr_schedule : None, callable or Schedule, default=None
        Learning-rate decay: ``lr_schedule(epoch, learning_rate) -> lr`` at the start of
        each epoch (0-based ``epoch``), e.g. ``crash_core.schedules.StepDecay(0.5, 10)``;
        None keeps the rate constant.
    batch_size : int or None, default=32
        Rows per gradient step (mini-batch); None is the whole data set (full batch).
    epochs : int, default=200
        Most passes over the training data.
    l1 : float, default=0.0
        L1 penalty: adds l1 sum|w| over the weights (never the biases) to the loss.
    l2 : float, default=0.0
        L2 penalty: adds l2 sum w^2 over the weights (never the biases) to the loss.
    dropout : float or list of float, default=0.0
        Fraction of hidden units dropped at training time (inverted dropout: kept units
        are scaled by 1 / (1 - rate)), for every hidden layer or one rate per layer.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (unless ``validation_data`` is given
        to ``fit``), stop after ``patience`` epochs without an improvement of
        ``min_delta`` in ``val_loss`` and keep the weights of the best epoch.
    validation_fraction : float, default=0.1
        Fraction of the training rows held out for early stopping (stratified for a
        classifier).
    patience : int, default=10
        Epochs without improvement before early stopping stops.
    min_delta : float, default=0.0
        Smallest fall of ``val_loss`` that counts as an improvement.
    n_restarts : int, default=1
        Independent random initialisations (random restart); the run with the lowest
        validation loss (training loss without validation data) is kept.  The scores are
        computed only when there are restarts to compare (``n_restarts=1`` costs no pass
        after training); with validation data the ``val_loss`` the last (or, after early
        stopping, the best) epoch already measured is reused, unless ``callbacks`` are given
        (they may change the weights), which costs one more pass.
    n_jobs : int or None, default=None
        Threads for the restarts: None or 1 runs them one after the other, -1 uses every
        core.
    class_weight : None, "balanced" or dict, default=None
        Weight of each class in the loss: "balanced" gives class c the weight
        n / (k n_c); a dict maps labels to weights (classifiers only).
    callbacks : list of Callback or None, default=None
        Objects called at the start and end of training and of every epoch (see
        ``crash_core.callbacks``); each restart gets its own copy.
    warm_start : bool, default=False
        A new ``fit`` continues from the fitted weights and optimizer state instead of
        starting afresh.
    shuffle : bool, default=True
        Draw the rows in a new random order each epoch.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the weights and of the arithmetic.
    random_state : int, numpy Generator or None, default=None
        Seed of the initial weights, the shuffling, dropout masks and the held-out split.
    verbose : int, default=0
        With 1, show a progress line per epoch (``crash_core.callbacks.ProgressBar``):
        in a notebook one output updated in place, on a terminal one line rewritten.

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns.
    network_ : Network
        The trained network (``network_.params`` is the one flat weight buffer).
    history_ : History
        Per-epoch metrics: ``history_["loss"][i]`` belongs to epoch i + 1; also
        ``"accuracy"`` (classifier), ``"val_loss"``, ``"val_accuracy"``, ``"lr"``.
    n_epochs_ : int
        Epochs trained (counted from 1); ``n_iter_`` is the same number.
    best_epoch_ : int
        With early stopping: the epoch (counted from 1) whose weights were kept.
    loss_ : float
        Training loss of the last epoch.
    restart_losses_ : list of float
        With ``n_restarts > 1``: each restart's score; ``best_restart_`` is the kept one.
    """

    _output = "identity"

    def _encode(self, y: np.ndarray, classes: Any, *, reset: bool) -> tuple[np.ndarray, Any]:
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=self._np_dtype)
        if reset:
            self._n_targets = Y.shape[1]
            self._y_1d = y.ndim == 1
        elif Y.shape[1] != self._n_targets:
            raise ValueError(
                f"y has {Y.shape[1]} target column(s), but the model was fitted on "
                f"{self._n_targets}; pass the same targets."
            )
        return Y, None

    def _n_outputs(self) -> int:
        return self._n_targets

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: (n,) when fitted on a 1-D y, else (n, k)."""
        out = self._forward(X).astype(np.float64)
        return out.ravel() if self._y_1d else out

    def _tags_update(self, tags: Any) -> None:
        super()._tags_update(tags)
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True


_MLP_ATTRIBUTES = {
    "n_epochs_": "count",
    "n_iter_": "count",
    "loss_": "float",
    "learning_rate_": "float",
}
_MLP_OPTIONAL = {
    "best_epoch_": "count",
    "restart_losses_": "float_list",
    "restart_seeds_": "count_list",
    "best_restart_": "count",
}


def _check_saved_regressor(saved: Any) -> None:
    network, n_targets = saved.network, saved.attributes["_n_targets"]
    if network["output"] != "identity":
        raise ValueError(f"an MLPRegressor has an 'identity' output, got {network['output']!r}.")
    units = network["layer_sizes"][-1]
    if units != n_targets or saved.attributes["_y_1d"] and n_targets != 1:
        raise ValueError(f"the output layer has {units} units for {n_targets} target(s).")


register(
    MLPClassifier,
    Format(
        fitted="network_",
        attributes=_MLP_ATTRIBUTES,
        optional=_MLP_OPTIONAL,
        classes=True,
        network=True,
        optimizer_state=True,
    ),
)
register(
    MLPRegressor,
    Format(
        fitted="network_",
        attributes={**_MLP_ATTRIBUTES, "_n_targets": "count", "_y_1d": "bool"},
        optional=_MLP_OPTIONAL,
        network=True,
        optimizer_state=True,
        check=_check_saved_regressor,
    ),
)
