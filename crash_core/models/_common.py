"""Pieces every model shares: class-label encoding, class weights, seeds, predictions."""

from __future__ import annotations

from typing import Any

import numpy as np

from crash_core._validation import (
    check_classification_targets,
    check_sample_weight,
    check_two_or_more_classes,
    encode_labels,
    validate_X,
)
from crash_core.network import DTYPES, Network, one_hot_rows, resolve_dtype


def fitted_network(model: Any) -> Any:
    """The model's ``network_``, once it is checked to be a Network that fits the model."""
    net = model.__dict__.get("network_")
    if net is None:
        model._check_is_fitted("network_")
        net = model.network_
    if not isinstance(net, Network):
        raise TypeError(
            f"{type(model).__name__}.network_ must be a crash_core Network, got "
            f"{type(net).__name__}; it was replaced after fit. Fit the model again."
        )
    classes = getattr(model, "classes_", None)
    units = None if classes is None else (1 if len(classes) == 2 else len(classes))
    sizes = net.layer_sizes
    if sizes[0] != model.n_features_in_ or units not in (None, sizes[-1]):
        raise ValueError(
            f"{type(model).__name__}.network_ has layers {net.layer_sizes}, which do not fit "
            f"{model.n_features_in_} features and {units or net.n_outputs} output(s); it was "
            "replaced after fit. Fit the model again."
        )
    return net


class LinearClassifierMixin:
    """Scores and predictions of a fitted line (hyperplane): ``coef_``, ``intercept_``."""

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores x . w + b: shape (n,) for two classes, else (n, k)."""
        self._check_is_fitted("coef_")
        k = len(self.classes_)
        units = 1 if k == 2 else k
        shapes = (np.shape(self.coef_), np.shape(self.intercept_))
        if shapes != ((units, self.n_features_in_), (units,)):
            raise ValueError(
                f"coef_ and intercept_ have shapes {shapes[0]} and {shapes[1]}, but "
                f"{k} classes and {self.n_features_in_} features need ({units}, "
                f"{self.n_features_in_}) and ({units},); they were replaced after fit. "
                "Fit the model again."
            )
        dtype = DTYPES[dtype_name(self.dtype)]  # float32 models score in float32
        X = validate_X(self, X, reset=False, dtype=dtype)
        scores = X @ self.coef_.T.astype(dtype) + self.intercept_.astype(dtype)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: Any) -> np.ndarray:
        """step(x . w + b) for two classes (score >= 0 picks the second); else the class
        with the highest score."""
        scores = self.decision_function(X)
        idx = (scores >= 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]


class LogProbaMixin:
    """``predict_log_proba`` for a classifier with ``predict_proba``."""

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """ln of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


def dtype_name(dtype: Any) -> str:
    """'float32' / 'float64' from a name or a numpy dtype; anything else is an error."""
    return np.dtype(resolve_dtype(dtype)).name


def encode_classes(model: Any, y: np.ndarray, classes: Any = None, *, reset: bool) -> np.ndarray:
    """Class indices of ``y``; on ``reset`` learn ``classes_`` (from ``classes`` or ``y``).

    Without ``reset`` every label of ``y`` must be one of the fitted ``classes_``.
    """
    if not reset and y.ndim == 1 and y.dtype.kind in "iu":
        known = _known_indices(model.classes_, y, classes)
        if known is not None:
            return known
    if reset and classes is None:
        counted = counted_classes(y)  # integer labels: always binary or multiclass
        if counted is not None:
            model.classes_, idx = counted
            check_two_or_more_classes(model.classes_, type(model).__name__)
            return idx
    check_classification_targets(y)
    if reset:
        model.classes_, idx = encode_labels(y, classes)
        check_two_or_more_classes(model.classes_, type(model).__name__)
        return idx
    if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), model.classes_):
        raise ValueError(
            f"classes={np.asarray(classes).tolist()} differs from the classes of the first "
            f"call, {model.classes_.tolist()}; pass the same classes on every partial_fit call."
        )
    return encode_labels(y, model.classes_)[1]


# integer labels spanning fewer values than this are counted instead of sorted
COUNTED_SPAN = 1 << 16


def counted_classes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(classes_, indices)`` of 1-D integer labels by counting, as ``encode_labels`` gives
    them: a pass for the range, a ``bincount`` and a lookup per label, where
    ``np.unique`` hashes every label (twice: the target check and the encoding) and a
    binary search follows (20,000 labels: about 0.1 ms against 0.9 ms).  None for labels
    of another kind, no labels, or labels spanning ``COUNTED_SPAN`` values or more."""
    if y.ndim != 1 or y.dtype.kind not in "iu" or y.size == 0:
        return None
    lo, hi = int(y.min()), int(y.max())
    if hi - lo >= COUNTED_SPAN:
        return None
    shifted = y.astype(np.intp) - lo
    present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
    lookup = np.empty(hi - lo + 1, dtype=np.intp)
    lookup[present] = np.arange(present.size)
    return (present + lo).astype(y.dtype), lookup[shifted]


def _known_indices(classes_: np.ndarray, y: np.ndarray, classes: Any) -> np.ndarray | None:
    """The indices of integer labels ``y`` in integer ``classes_`` when every label is
    known and ``classes`` (if given) lists ``classes_`` as they are; else None (the full
    check then finds what is wrong and says so).  One binary search per label, the
    whole check of a later ``partial_fit`` call in the common case."""
    if classes_.dtype.kind not in "iu" or y.size == 0:
        return None
    if classes is not None:
        given = np.asarray(classes)
        if given.shape != classes_.shape or not np.array_equal(given, classes_):
            return None
    idx = np.searchsorted(classes_, y)
    if not (classes_[np.minimum(idx, classes_.size - 1)] == y).all():
        return None
    return idx.astype(np.intp, copy=False)


def class_weights(class_weight: Any, classes: np.ndarray, y_idx: np.ndarray) -> np.ndarray | None:
    """Per-sample weights from ``class_weight``: None, "balanced" or {label: weight}.

    "balanced" gives class c the weight n / (k * n_c), as in scikit-learn.
    """
    if class_weight is None:
        return None
    k = len(classes)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight={class_weight!r} is not understood; use None, 'balanced' or a "
                "dict {label: weight}."
            )
        counts = np.bincount(y_idx, minlength=k).astype(np.float64)
        per_class = np.where(counts > 0, len(y_idx) / (k * np.maximum(counts, 1)), 0.0)
        return per_class[y_idx]
    if isinstance(class_weight, dict):
        per_class = np.ones(k)
        known = {c: i for i, c in enumerate(classes.tolist())}
        for label, weight in class_weight.items():
            if label not in known:
                raise ValueError(
                    f"class_weight names the label {label!r}, which is not a class of y "
                    f"({classes.tolist()})."
                )
            if isinstance(weight, (bool, np.bool_)) or not isinstance(
                weight, (int, float, np.integer, np.floating)
            ):
                raise TypeError(
                    f"class_weight[{label!r}] must be a number >= 0, got "
                    f"{type(weight).__name__} {weight!r:.40}."
                )
            if not (np.isfinite(weight) and weight >= 0):
                raise ValueError(f"class_weight[{label!r}] must be a finite number >= 0.")
            per_class[known[label]] = weight
        return per_class[y_idx]
    raise TypeError(
        f"class_weight must be None, 'balanced' or a dict, got {type(class_weight).__name__}."
    )


def combined_weights(
    sample_weight: Any,
    class_weight: Any,
    classes: np.ndarray | None,
    y_idx: np.ndarray | None,
    n: int,
    dtype: Any,
) -> np.ndarray | None:
    """sample_weight (validated) times the class weights, or None when both are absent."""
    sw = check_sample_weight(sample_weight, n, dtype)
    cw = class_weights(class_weight, classes, y_idx) if classes is not None else None
    if cw is None:
        return sw
    w = cw.astype(dtype) if sw is None else sw * cw.astype(dtype)
    if not np.any(w > 0):
        raise ValueError("class_weight and sample_weight leave every sample with weight 0.")
    return np.ascontiguousarray(w, dtype=dtype)


def one_hot(idx: np.ndarray, k: int, dtype: Any) -> np.ndarray:
    """Targets for the output layer: an (n, 1) 0/1 column for 2 classes, else one-hot rows."""
    if k == 2:
        return np.ascontiguousarray(idx.reshape(-1, 1), dtype=dtype)
    return one_hot_rows(idx, k, dtype)


def two_column_proba(p: np.ndarray) -> np.ndarray:
    """(n, 1) probabilities of class 1 -> (n, 2) [P(class 0), P(class 1)], float64."""
    out = np.empty((p.shape[0], 2))
    out[:, 1] = p.reshape(-1)  # to float64 as it is copied in
    np.subtract(1.0, out[:, 1], out=out[:, 0])
    return out


def class_proba(P: np.ndarray) -> np.ndarray:
    """The output layer's probabilities as float64 rows that sum to 1 within 1e-15.

    A sigmoid column p becomes [1 - p, p]; softmax rows computed in float32 sum to
    1 +- 3e-7 and are renormalised in float64, P_ij / sum_j P_ij, so that tools that check
    the sums (scikit-learn's log_loss) accept them.
    """
    if P.shape[1] == 1:
        return two_column_proba(P)
    P = P.astype(np.float64)
    P /= P.sum(axis=1, keepdims=True)
    return P


def seeds_for(random_state: Any, n: int) -> list[Any]:
    """The seed of each of ``n`` runs: ``random_state`` itself for one run, else n ints
    drawn from it (so any run can be repeated alone with its seed)."""
    from crash_core.network import make_rng

    if n == 1:
        return [random_state]
    return [int(s) for s in make_rng(random_state).integers(0, 2**31 - 1, size=n)]
