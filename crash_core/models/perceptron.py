"""The course's perceptron: a line (hyperplane) w . x + b = 0 found by the perceptron algorithm.

Prediction is the step function, y_hat = 1 if w . x + b >= 0 else 0.  For each point in
turn, a point predicted 0 but labelled 1 pulls the line towards it (w += lr x, b += lr),
one predicted 1 but labelled 0 pushes it away (w -= lr x, b -= lr).  An epoch is one
pass over the data; training stops after an epoch without mistakes.  With more than two
classes, one perceptron per class learns "this class or not" (one-vs-rest) and the
class with the highest score w_c . x + b_c wins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crash_core._kernels import linear as _linear
from crash_core._kernels.random import new_state
from crash_core._validation import check_scalar, validate_X_y
from crash_core.base import BaseEstimator, ClassifierMixin
from crash_core.callbacks import progress
from crash_core.io import Format, register
from crash_core.models._common import LinearClassifierMixin, dtype_name, encode_classes, one_hot
from crash_core.network import DTYPES, make_rng
from crash_core.training import DivergenceError

# The perceptron's loop is the portable build's at every level: built for AVX2 or AVX-512
# it measured 0.89-0.99 of that time on rows of 5-20 features and 1.06-1.30 on rows of
# 64-200 (a Zen 5, BENCHMARKS.md round 18), and so a fit does not depend on the level.

__all__ = ["Perceptron"]


class Perceptron(LinearClassifierMixin, ClassifierMixin, BaseEstimator):
    """The perceptron algorithm with the step function (one-vs-rest for k > 2 classes).

    Prediction is y_hat = step(w . x + b); a mistake on a point labelled 1 moves the line
    towards it, w <- w + lr x, b <- b + lr, one on a point labelled 0 away from it.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size lr of each correction.
    epochs : int, default=1000
        Most passes over the data. Training stops earlier after an epoch without mistakes,
        or when ``n_iter_no_change`` epochs in a row made no fewer mistakes than the best
        epoch so far (converged, as scikit-learn's Perceptron stops).
    n_iter_no_change : int or None, default=100
        Epochs without fewer mistakes before training stops; None trains until an epoch
        has no mistake or ``epochs`` run out.
    shuffle : bool, default=True
        Visit the points in a new random order each epoch (else in data order).
    random_state : int, numpy Generator or None, default=None
        Seed of the shuffling.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the weights.
    verbose : int, default=0
        Print the mistakes of each epoch when > 0.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) for two classes, else (k, n_features)
    intercept_ : ndarray of shape (1,) or (k,)
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_epochs_ : int
        Epochs trained (counted from 1); ``n_iter_`` is the same number.
    mistakes_ : list of int
        ``mistakes_[i]`` is the number of corrections made in epoch i + 1.
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        epochs: int = 1000,
        n_iter_no_change: int | None = 100,
        shuffle: bool = True,
        random_state: Any = None,
        dtype: str = "float64",
        verbose: int = 0,
    ) -> None:
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self) -> tuple[float, int, int | None, bool, type]:
        """(learning_rate, epochs, n_iter_no_change, shuffle, dtype), checked; what fit and
        load refuse."""
        lr = check_scalar(
            self.learning_rate,
            "learning_rate",
            min_val=0.0,
            include_min=False,
            max_val=float("inf"),
            include_max=False,
        )
        epochs = check_scalar(self.epochs, "epochs", kind=int, min_val=1)
        shuffle = check_scalar(self.shuffle, "shuffle", kind=bool)
        check_scalar(self.verbose, "verbose", kind=int, min_val=0)
        patience = self.n_iter_no_change
        if patience is not None:
            patience = check_scalar(patience, "n_iter_no_change", kind=int, min_val=1)
        return lr, epochs, patience, shuffle, DTYPES[dtype_name(self.dtype)]

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Run the perceptron algorithm on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (any sortable values).

        Returns
        -------
        self : Perceptron
        """
        lr, epochs, patience, shuffle, dtype = self._check_params()
        X, y = validate_X_y(self, X, y, reset=True, dtype=dtype)
        idx = encode_classes(self, y, reset=True)
        k = len(self.classes_)
        n_units = 1 if k == 2 else k
        # Y[i, j] = 1 when sample i belongs to the class perceptron j answers "yes" for
        Y = one_hot(idx, k, np.int8)
        W = np.zeros(X.shape[1] * n_units, dtype=dtype)
        b = np.zeros(n_units, dtype=dtype)
        n = X.shape[0]
        order = np.arange(n, dtype=np.intp)
        rng = new_state(int(make_rng(self.random_state).integers(2**63)))
        self.mistakes_ = []
        best, stale = n + 1, 0
        with progress(self, self.verbose) as bar:
            for epoch in range(epochs):
                if shuffle:
                    _linear.shuffle(order, rng)
                mistakes = _linear.perceptron_epoch(W, b, X, Y, order, lr)
                if not (np.isfinite(W).all() and np.isfinite(b).all()):
                    raise DivergenceError(
                        f"The perceptron's weights overflowed at epoch {epoch + 1}: "
                        f"learning_rate={lr!r} times the inputs (largest |x| = "
                        f"{float(np.abs(X).max()):.3g}) exceeds the largest "
                        f"{np.dtype(dtype).name}. Scale X (e.g. to mean 0, standard "
                        "deviation 1) or lower learning_rate.",
                        epoch + 1,
                    )
                self.mistakes_.append(int(mistakes))
                if bar is not None:
                    bar.on_epoch_end(epoch, {"mistakes": int(mistakes)})
                if mistakes == 0:
                    break
                stale = stale + 1 if mistakes >= best else 0
                best = min(best, int(mistakes))
                if patience is not None and stale >= patience:
                    break
        self.n_epochs_ = len(self.mistakes_)
        self.n_iter_ = self.n_epochs_
        self.coef_ = W.reshape(X.shape[1], n_units).T.astype(np.float64)
        self.intercept_ = b.astype(np.float64)
        return self


def _check_saved(saved: Any) -> None:
    mistakes, epochs = saved.attributes["mistakes_"], saved.attributes["n_epochs_"]
    if len(mistakes) != epochs:
        raise ValueError(f"mistakes_ has {len(mistakes)} epochs but n_epochs_ is {epochs}.")


register(
    Perceptron,
    Format(
        fitted="coef_",
        attributes={"n_epochs_": "count", "n_iter_": "count", "mistakes_": "count_list"},
        classes=True,
        coef=True,
        check=_check_saved,
    ),
)
