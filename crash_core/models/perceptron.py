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
from crash_core.io import Format, register
from crash_core.models._common import LinearClassifierMixin, dtype_name, encode_classes, one_hot
from crash_core.network import DTYPES, make_rng
from crash_core.training import DivergenceError

__all__ = ["Perceptron"]


class Perceptron(LinearClassifierMixin, ClassifierMixin, BaseEstimator):
    """The perceptron algorithm with the step function (one-vs-rest for k > 2 classes).

    Parameters
    ----------
    learning_rate : step size lr of each correction.
    epochs : most passes over the data; fewer when an epoch makes no mistake.
    shuffle : visit the points in a new random order each epoch (else in data order).
    random_state : seed for the shuffling.
    dtype : "float64" or "float32".
    verbose : print the mistakes of each epoch when > 0.

    Attributes: ``coef_`` (1 x n_features for two classes, else k x n_features),
    ``intercept_``, ``classes_``, ``n_features_in_``, ``n_epochs_``, ``mistakes_`` (per epoch).
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        epochs: int = 100,
        shuffle: bool = True,
        random_state: Any = None,
        dtype: str = "float64",
        verbose: int = 0,
    ) -> None:
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self) -> tuple[float, int, bool, type]:
        """(learning_rate, epochs, shuffle, dtype), checked; what fit and load refuse."""
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
        return lr, epochs, shuffle, DTYPES[dtype_name(self.dtype)]

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Run the perceptron algorithm on (X, y); returns self."""
        lr, epochs, shuffle, dtype = self._check_params()
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
        for epoch in range(epochs):
            if shuffle:
                _linear.shuffle(order, rng)
            mistakes = _linear.perceptron_epoch(W, b, X, Y, order, lr)
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                raise DivergenceError(
                    f"The perceptron's weights overflowed at epoch {epoch + 1}: "
                    f"learning_rate={lr!r} times the inputs (largest |x| = "
                    f"{float(np.abs(X).max()):.3g}) exceeds the largest {np.dtype(dtype).name}. "
                    "Scale X (e.g. to mean 0, standard deviation 1) or lower learning_rate.",
                    epoch + 1,
                )
            self.mistakes_.append(int(mistakes))
            if self.verbose:
                print(f"epoch {epoch + 1}/{epochs}  mistakes {mistakes}")
            if mistakes == 0:
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
