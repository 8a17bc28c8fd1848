"""Logistic regression: the course's sigmoid (or softmax) model trained by gradient descent.

For two classes p = sigmoid(w . x + b); for k classes p = softmax(x W + b).  The error
is the mean cross-entropy E = -1/m sum_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)] (plus
l1 sum|w| + l2 sum w^2), and each gradient step moves w <- w + lr (y - p) x, b <- b + lr (y - p)
averaged over the batch.  ``batch_size=None`` takes the whole data set per step (with a
backtracking line search, so the loss never grows),
``batch_size=1`` is the course's per-point update (a dedicated per-sample loop),
any other k uses mini-batches through the network's epoch kernel.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from crash_core._kernels import select
from crash_core._kernels.random import new_state
from crash_core._validation import check_scalar, validate_X, validate_X_y
from crash_core.base import BaseEstimator, ClassifierMixin
from crash_core.callbacks import History, progress
from crash_core.exceptions import ConvergenceWarning
from crash_core.io import Format, register
from crash_core.models._common import (
    LinearClassifierMixin,
    LogProbaMixin,
    class_proba,
    combined_weights,
    dtype_name,
    encode_classes,
    fitted_network,
    one_hot,
)
from crash_core.network import DTYPES, EpochTrainer, Network, make_rng
from crash_core.optimizers import resolve_optimizer
from crash_core.training import DivergenceError, LossWatch

_linear = select("linear")  # the per-point loops at the active ISA level

__all__ = ["LogisticRegression"]

# a full-batch step cut below learning_rate / STEP_CUT means badly scaled features
STEP_CUT = 100.0
# most halvings of the step in one line search (2**-60 ~ 1e-18)
MAX_HALVINGS = 60


class _LineSearch:
    """Full-batch gradient descent with backtracking: from lr, halve the step until
    E(w - step g) <= E(w) - 1e-4 step ||g||^2 (Armijo's sufficient decrease)."""

    def __init__(
        self,
        network: Network,
        X: np.ndarray,
        Y: np.ndarray,
        weights: np.ndarray | None,
        l1: float,
        l2: float,
        lr: float,
    ) -> None:
        self.network, self.X, self.Y, self.weights = network, X, Y, weights
        self.l1, self.l2, self.lr = l1, l2, lr
        self.loss, self.grad = self._evaluate()
        self.smallest = lr
        self.steps: list[float] = []

    def _evaluate(self) -> tuple[float, np.ndarray]:
        return self.network.loss_and_grad(self.X, self.Y, self.l1, self.l2, self.weights)

    def step(self, epoch: int) -> tuple[float, int, float]:
        """One accepted step: (loss after it, correct predictions, the step size)."""
        params = self.network.params
        start = params.copy()
        g = self.grad
        slope = float(np.dot(g.astype(np.float64), g))
        step = self.lr
        for _ in range(MAX_HALVINGS):
            np.subtract(start, step * g, out=params, casting="unsafe")
            loss, grad = self._evaluate()
            if np.isfinite(loss) and loss <= self.loss - 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            if not (np.isfinite(loss) and loss <= self.loss):
                params[...] = start
                raise DivergenceError.at(epoch, float("inf"), self.lr)
        self.loss, self.grad = loss, grad
        self.steps.append(step)
        self.smallest = min(self.smallest, step)
        out = self.network.forward(self.X)
        if out.shape[1] == 1:
            correct = int(np.sum((out[:, 0] >= 0.5) == (self.Y[:, 0] == 1)))
        else:
            correct = int(np.sum(out.argmax(axis=1) == self.Y.argmax(axis=1)))
        return loss, correct, step

    def cut_far(self) -> bool:
        """Whether most steps had to be cut below lr / STEP_CUT."""
        if not self.steps:
            return False
        return float(np.median(self.steps)) < self.lr / STEP_CUT


class LogisticRegression(LinearClassifierMixin, LogProbaMixin, ClassifierMixin, BaseEstimator):
    """Sigmoid (two classes) / softmax (more) regression trained by gradient descent.

    The model is p = sigmoid(w . x + b) for two classes and p = softmax(x W + b) for k;
    training minimises the mean cross-entropy plus penalties,
    E = -1/m sum_i sum_j y_ij ln p_ij + l1 sum|w| + l2 sum w^2.

    Full-batch plain gradient descent (``batch_size=None``, ``optimizer="sgd"``) takes one
    step per epoch with a backtracking line search: the step starts at ``learning_rate`` and
    is halved until the loss falls by at least 1e-4 lr ||grad||^2 (Armijo's rule), so the loss
    never grows. A step cut far below ``learning_rate`` is the mark of features on very
    different scales; the fit then warns (ConvergenceWarning) naming the cure.

    Parameters
    ----------
    learning_rate : float, default=0.1
        Step size lr of w <- w - lr dE/dw (the first step tried, with full batch).
    epochs : int, default=1000
        Most passes over the data; fewer when the loss converges (see ``tol``).
    batch_size : int or None, default=None
        None: the whole data set per step (gradient descent); 1: the course's per-point
        update w += lr (y - p) x (a dedicated per-sample loop); k: mini-batches of k rows.
    l1 : float, default=0.0
        L1 penalty l1 sum|w| on the weights (never the intercept).
    l2 : float, default=0.0
        L2 penalty l2 sum w^2 on the weights (never the intercept).
    optimizer : {"sgd", "momentum", "nesterov", "adam"} or Optimizer, default="sgd"
        The update rule for full-batch and mini-batch training (the per-point loop is
        plain SGD); the line search applies to full-batch "sgd" only.
    tol : float, default=1e-4
        Convergence: training stops when the epoch loss has not fallen below the best loss
        so far minus ``tol`` for ``n_iter_no_change`` epochs in a row (as scikit-learn's
        SGD models). ``tol=0`` trains exactly ``epochs`` epochs. Running out of epochs
        with ``tol > 0`` warns (ConvergenceWarning).
    n_iter_no_change : int, default=5
        Epochs without an improvement of ``tol`` before training stops.
    shuffle : bool, default=True
        Visit the rows in a new random order each epoch (per-point and mini-batch).
    random_state : int, numpy Generator or None, default=None
        Seed of the shuffling; fix it for reproducible fits.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the weights and of the arithmetic.
    verbose : int, default=0
        Print one line per epoch (loss, accuracy) when > 0.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) for two classes, else (k, n_features)
    intercept_ : ndarray of shape (1,) or (k,)
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_epochs_ : int
        Epochs trained (counted from 1); ``n_iter_`` is the same number.
    history_ : History
        ``history_["loss"][i]`` is the loss of epoch i + 1; also ``"accuracy"``, ``"lr"``.
    """

    def __init__(
        self,
        learning_rate: float = 0.1,
        epochs: int = 1000,
        batch_size: int | None = None,
        l1: float = 0.0,
        l2: float = 0.0,
        optimizer: Any = "sgd",
        tol: float = 1e-4,
        n_iter_no_change: int = 5,
        shuffle: bool = True,
        random_state: Any = None,
        dtype: str = "float64",
        verbose: int = 0,
    ) -> None:
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.l1 = l1
        self.l2 = l2
        self.optimizer = optimizer
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self) -> tuple[Any, ...]:
        """Every hyperparameter checked, as fit uses them; what fit and load refuse."""
        lr = check_scalar(
            self.learning_rate,
            "learning_rate",
            min_val=0.0,
            include_min=False,
            max_val=float("inf"),
            include_max=False,
        )
        epochs = check_scalar(self.epochs, "epochs", kind=int, min_val=1)
        finite = {"max_val": float("inf"), "include_max": False}
        l1 = check_scalar(self.l1, "l1", min_val=0.0, **finite)
        l2 = check_scalar(self.l2, "l2", min_val=0.0, **finite)
        tol = check_scalar(self.tol, "tol", min_val=0.0, **finite)
        patience = check_scalar(self.n_iter_no_change, "n_iter_no_change", kind=int, min_val=1)
        shuffle = check_scalar(self.shuffle, "shuffle", kind=bool)
        batch = self.batch_size
        if batch is not None:
            batch = check_scalar(batch, "batch_size", kind=int, min_val=1)
        optimizer = resolve_optimizer(self.optimizer)
        check_scalar(self.verbose, "verbose", kind=int, min_val=0)
        return (
            lr, epochs, l1, l2, tol, patience, shuffle, batch, optimizer,
            DTYPES[dtype_name(self.dtype)],
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Gradient descent on the cross-entropy of (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (any sortable values).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each sample's loss; the loss is normalised by the sum of weights.

        Returns
        -------
        self : LogisticRegression
        """
        lr, epochs, l1, l2, tol, patience, shuffle, batch, optimizer, dtype = self._check_params()
        X, y = validate_X_y(self, X, y, reset=True, dtype=dtype)
        idx = encode_classes(self, y, reset=True)
        k = len(self.classes_)
        n = X.shape[0]
        Y = one_hot(idx, k, dtype)
        weights = combined_weights(sample_weight, None, None, None, n, dtype)
        total_weight = float(n if weights is None else weights.sum())
        rng = make_rng(self.random_state)
        network = Network(
            (X.shape[1], Y.shape[1]),
            (),
            "sigmoid" if k == 2 else "softmax",
            dtype,
            random_state=rng,
        )
        network.params[...] = 0
        per_point = batch == 1
        line_search = batch is None and resolve_optimizer("sgd") == optimizer
        if per_point:
            W, b = network.params[: -Y.shape[1]], network.params[-Y.shape[1] :]
            scores = np.empty(Y.shape[1], dtype=dtype)
        elif not line_search:
            trainer = EpochTrainer(
                network,
                n if batch is None else min(batch, n),
                optimizer,
                seed=int(rng.integers(2**63)),
            )
        self.history_ = History()
        best, stale, converged = np.inf, 0, False
        order = np.arange(n, dtype=np.intp)
        shuffle_rng = new_state(int(rng.integers(2**63)))
        last_finite = np.empty_like(network.params)
        watch = LossWatch(lr)
        search = _LineSearch(network, X, Y, weights, l1, l2, lr) if line_search else None
        with progress(self, self.verbose) as bar:
            for epoch in range(epochs):
                last_finite[...] = network.params
                if search is not None:
                    loss, correct, step = search.step(epoch)
                else:
                    step = lr
                    if shuffle:
                        _linear.shuffle(order, shuffle_rng)
                    if per_point:
                        sw = weights if weights is not None else scores[:0]
                        total, correct = _linear.logistic_epoch(
                            W, b, X, Y, sw, weights is not None, order, lr, l1, l2, scores
                        )
                    else:
                        total, correct = trainer.run(X, Y, order, lr, l1, l2, weights)
                    loss = total / total_weight
                if not (np.isfinite(loss) and np.isfinite(network.params).all()):
                    network.params[...] = last_finite
                    self._keep(network)
                    raise DivergenceError.at(epoch, loss, step)
                try:
                    watch.update(epoch, loss, network.params)
                except DivergenceError:
                    self._keep(network)
                    raise
                logs = {"loss": loss, "accuracy": correct / n, "lr": step}
                self.history_.on_epoch_end(epoch, logs)
                if bar is not None:
                    bar.on_epoch_end(epoch, logs)
                if loss > best - tol:
                    stale += 1
                    if stale >= patience:
                        converged = tol > 0
                        break
                else:
                    stale = 0
                best = min(best, loss)
        self._keep(network)
        if search is not None and search.cut_far():
            warnings.warn(
                f"The gradient-descent step had to be cut from learning_rate={lr:g} to "
                f"{search.smallest:.3g} to keep the loss falling: the features are on very "
                "different scales, and the fit may be far from the best one. Scale the "
                "features (e.g. sklearn's StandardScaler or crash_core.preprocessing."
                "TabularPreprocessor).",
                ConvergenceWarning,
                stacklevel=2,
            )
        elif tol > 0 and not converged:
            warnings.warn(
                f"LogisticRegression did not converge in {epochs} epochs (the loss still fell "
                f"by more than tol={tol:g}). Raise epochs, or scale the features so that "
                "gradient descent converges faster.",
                ConvergenceWarning,
                stacklevel=2,
            )
        else:
            watch.finish(stacklevel=3)
        return self

    def _keep(self, network: Network) -> None:
        self.n_epochs_ = len(self.history_)
        self.n_iter_ = self.n_epochs_
        self.network_ = network
        self.coef_ = network.weights[0].T.astype(np.float64)
        self.intercept_ = network.biases[0].astype(np.float64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """sigmoid / softmax of the scores, shape (n_samples, n_classes)."""
        self._check_is_fitted("coef_")
        network = fitted_network(self)
        X = validate_X(self, X, reset=False, dtype=network.dtype, ensure_finite=False)
        return class_proba(network.forward(X))



def _check_saved(saved: Any) -> None:
    sizes = saved.network["layer_sizes"]
    if len(sizes) != 2:
        raise ValueError(f"a LogisticRegression network has no hidden layers, got {sizes}.")


register(
    LogisticRegression,
    Format(
        fitted="coef_",
        attributes={"n_epochs_": "count", "n_iter_": "count"},
        classes=True,
        network=True,
        coef=True,
        check=_check_saved,
    ),
)
