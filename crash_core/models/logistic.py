"""Logistic regression: the course's sigmoid (or softmax) model trained by gradient descent.

For two classes p = sigmoid(w . x + b); for k classes p = softmax(x W + b).  The error
is the mean cross-entropy E = -1/m sum_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)] (plus
l1 sum|w| + l2 sum w^2), and each gradient step moves w <- w + lr (y - p) x, b <- b + lr (y - p)
averaged over the batch.  ``batch_size=None`` takes the whole data set per step,
``batch_size=1`` is the course's per-point update (a dedicated per-sample loop),
any other k uses mini-batches through the network's epoch kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crash_core._kernels import linear as _linear
from crash_core._kernels.random import new_state
from crash_core._validation import check_scalar, validate_X, validate_X_y
from crash_core.base import BaseEstimator, ClassifierMixin
from crash_core.callbacks import History
from crash_core.io import Format, register
from crash_core.models._common import (
    LinearClassifierMixin,
    LogProbaMixin,
    combined_weights,
    dtype_name,
    encode_classes,
    fitted_network,
    one_hot,
    two_column_proba,
)
from crash_core.network import DTYPES, EpochTrainer, Network, make_rng
from crash_core.optimizers import resolve_optimizer
from crash_core.training import DivergenceError

__all__ = ["LogisticRegression"]

# epochs in a row without a loss improvement of ``tol`` before training stops
N_ITER_NO_CHANGE = 5


class LogisticRegression(LinearClassifierMixin, LogProbaMixin, ClassifierMixin, BaseEstimator):
    """Sigmoid (two classes) / softmax (more) regression trained by gradient descent.

    Parameters
    ----------
    learning_rate : step size.
    epochs : most passes over the data.
    batch_size : None (full batch), 1 (per-point updates) or the mini-batch size.
    l1, l2 : penalties l1 sum|w| + l2 sum w^2 on the weights (not the intercept).
    optimizer : "sgd", "momentum", "nesterov", "adam" or an optimizer object
        (mini-batch and full-batch training; the per-point loop is plain SGD).
    tol : stop when the epoch loss has not improved by ``tol`` for 5 epochs in a row.
    shuffle, random_state, dtype, verbose : as everywhere.

    Attributes: ``coef_`` (1 x n_features for two classes, else k x n_features),
    ``intercept_``, ``classes_``, ``n_features_in_``, ``n_epochs_``, ``history_``.
    """

    def __init__(
        self,
        learning_rate: float = 0.1,
        epochs: int = 100,
        batch_size: int | None = None,
        l1: float = 0.0,
        l2: float = 0.0,
        optimizer: Any = "sgd",
        tol: float = 1e-6,
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
        shuffle = check_scalar(self.shuffle, "shuffle", kind=bool)
        batch = self.batch_size
        if batch is not None:
            batch = check_scalar(batch, "batch_size", kind=int, min_val=1)
        optimizer = resolve_optimizer(self.optimizer)
        check_scalar(self.verbose, "verbose", kind=int, min_val=0)
        return lr, epochs, l1, l2, tol, shuffle, batch, optimizer, DTYPES[dtype_name(self.dtype)]

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Gradient descent on the cross-entropy of (X, y); returns self."""
        lr, epochs, l1, l2, tol, shuffle, batch, optimizer, dtype = self._check_params()
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
        if per_point:
            W, b = network.params[: -Y.shape[1]], network.params[-Y.shape[1] :]
            scores = np.empty(Y.shape[1], dtype=dtype)
        else:
            trainer = EpochTrainer(
                network,
                n if batch is None else min(batch, n),
                optimizer,
                seed=int(rng.integers(2**63)),
            )
        self.history_ = History()
        best, stale = np.inf, 0
        order = np.arange(n, dtype=np.intp)
        shuffle_rng = new_state(int(rng.integers(2**63)))
        last_finite = np.empty_like(network.params)
        for epoch in range(epochs):
            last_finite[...] = network.params
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
                raise DivergenceError.at(epoch, loss, lr)
            self.history_.on_epoch_end(epoch, {"loss": loss, "accuracy": correct / n, "lr": lr})
            if self.verbose:
                print(f"epoch {epoch + 1}/{epochs}  loss {loss:.4f}  accuracy {correct / n:.4f}")
            if loss > best - tol:
                stale += 1
                if stale >= N_ITER_NO_CHANGE:
                    break
            else:
                stale = 0
            best = min(best, loss)
        self._keep(network)
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
        P = network.forward(X)
        return two_column_proba(P) if P.shape[1] == 1 else P.astype(np.float64)


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
