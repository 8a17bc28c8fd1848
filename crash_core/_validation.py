"""Input and hyperparameter validation: the one gate between users and the kernels.

The compiled kernels assume clean input (C-contiguous float32/float64, finite, the right
shapes) and never raise. Every public method of a model therefore passes its arguments
through these helpers first; each error names the problem and says how to fix it.

What a model calls:

- in ``fit``: ``X, y = validate_X_y(self, X, y, dtype=...)`` (sets ``n_features_in_`` and
  ``feature_names_in_``), then for classifiers ``check_classification_targets(y)``,
  ``classes_, y_idx = encode_labels(y)``, ``check_two_or_more_classes(classes_, name)``;
  ``check_sample_weight(...)``; ``check_scalar`` / ``check_option`` for hyperparameters;
- in ``predict``: ``X = validate_X(self, X, reset=False, dtype=...)``.
"""

from __future__ import annotations

import difflib
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from crash_core.exceptions import DataConversionWarning

__all__ = [
    "check_X_y",
    "check_array",
    "check_classification_targets",
    "check_feature_names",
    "check_n_features",
    "check_option",
    "check_sample_weight",
    "check_scalar",
    "check_two_or_more_classes",
    "encode_labels",
    "validate_X",
    "validate_X_y",
]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _by(estimator_name: str | None) -> str:
    return f" by {estimator_name}" if estimator_name else ""


def _resolve_dtype(dtype: Any, current: np.dtype) -> np.dtype:
    """The float dtype to convert to: float32/float64 as asked, or for "numeric" the
    current dtype when it is already one of those, else float64."""
    if isinstance(dtype, str) and dtype == "numeric":
        return current if current in _FLOAT_DTYPES else np.dtype(np.float64)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in _FLOAT_DTYPES:
        raise ValueError(
            f"dtype must be 'float32', 'float64' or 'numeric', got {dtype!r}. "
            "Pass dtype='float32' (faster, less memory) or dtype='float64' (more precise)."
        )
    return resolved


def _reject_sparse(X: Any, name: str, estimator_name: str | None) -> None:
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"Sparse input is not supported{_by(estimator_name)}: {name} is a "
            f"{type(X).__name__}. Convert it to a dense array first with {name}.toarray()."
        )


def _as_ndarray(X: Any, name: str, estimator_name: str | None) -> np.ndarray:
    """``np.asarray`` with an error that names the problem when it fails."""
    _reject_sparse(X, name, estimator_name)
    if X is None:
        raise ValueError(
            f"Expected array-like (array or non-string sequence), got None for {name}. "
            f"Pass {name} as an array of shape (n_samples, n_features)."
        )
    if isinstance(X, str):
        raise ValueError(
            f"Expected array-like (array or non-string sequence) for {name}, got the "
            f"string {X!r}. Pass {name} as an array of numbers."
        )
    try:
        return np.asarray(X)
    except ValueError as exc:
        raise ValueError(
            f"{name} could not be turned into an array: {exc}. Every sample (row) must "
            "have the same number of features."
        ) from exc


def _reject_complex(array: np.ndarray, name: str) -> None:
    if array.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} has dtype {array.dtype}. Pass real "
            f"numbers, e.g. np.abs({name}) or np.real({name})."
        )


def _to_float(array: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """Convert to ``dtype``, C-contiguous; a copy only when the input is not already so."""
    if array.dtype.kind in "OUS":
        try:
            array = array.astype(np.float64)
        except ValueError as exc:
            raise ValueError(
                f"{name} contains values that are not numbers ({exc}). Convert every "
                "column to numbers first, e.g. encode text categories as integers or "
                "one-hot columns."
            ) from exc
        except TypeError as exc:
            # numpy's message ("float() argument must be a string or a real number, not
            # 'dict'") is kept: it names the offending type.
            raise TypeError(
                f"{name} contains values that are not numbers: {exc}. Convert every "
                "column to numbers first."
            ) from exc
    # Values beyond the float32 range become inf here; the finiteness check that follows
    # reports them as "too large for dtype('float32')".
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(array, dtype=dtype)


def _assert_all_finite(array: np.ndarray, name: str, estimator_name: str | None) -> None:
    """Raise if a float array holds NaN or infinity (one cheap reduction when it is clean)."""
    if array.dtype.kind == "O":
        if any(v is None or (isinstance(v, float) and v != v) for v in array.ravel()):
            raise ValueError(
                f"Input {name} contains NaN or None. Drop the samples with missing "
                f"values, or fill them in, before passing {name}."
            )
        return
    if array.dtype.kind != "f":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(array)):
            return
    has_nan = bool(np.isnan(array).any())
    if not has_nan and not np.isinf(array).any():
        return  # the sum overflowed, every value is finite
    if has_nan:
        problem = "NaN"
        fix = (
            f"{estimator_name or 'This model'} does not accept missing values: impute "
            "them (e.g. fill each column with its mean) or drop the rows that contain them."
        )
    else:
        problem = f"infinity or a value too large for {array.dtype!r}"
        fix = "Replace the infinite or huge values, or drop the rows that contain them."
        if array.dtype == np.float32:
            fix += " With dtype='float32', values beyond ~3.4e38 overflow; use 'float64'."
    raise ValueError(f"Input {name} contains {problem}. {fix}")


def check_array(
    X: Any,
    *,
    dtype: Any = "float64",
    name: str = "X",
    ensure_2d: bool = True,
    ensure_min_samples: int = 1,
    ensure_min_features: int = 1,
    estimator_name: str | None = None,
    ensure_finite: bool = True,
) -> np.ndarray:
    """Return ``X`` as a finite, C-contiguous float array, or raise an error saying why not.

    ``ensure_finite=False`` leaves the NaN/infinity check to the caller (the prediction
    kernels check their input in the pass that reads it).

    Parameters
    ----------
    X : array-like
        Lists, NumPy arrays (read-only and memory-mapped ones too), anything ``np.asarray``
        understands (e.g. a pandas DataFrame). Sparse matrices are rejected.
    dtype : {"float64", "float32", "numeric"} or numpy dtype
        Target dtype. ``"numeric"`` keeps float32/float64 input and converts the rest to
        float64.
    name : str
        What the array is called in error messages.
    ensure_2d : bool
        Require a 2-D array (n_samples, n_features); otherwise 1-D is accepted too.
    ensure_min_samples, ensure_min_features : int
        Minimum number of rows / columns.
    estimator_name : str, optional
        The model's class name, used in error messages.

    Returns
    -------
    numpy.ndarray
        ``X`` itself (as an ndarray view) when it already has the dtype and layout, else a
        converted copy. The caller's array is never modified.
    """
    array = _as_ndarray(X, name, estimator_name)
    _reject_complex(array, name)
    if array.ndim == 0:
        raise ValueError(
            f"Expected 2D array, got scalar array instead: {name}={array!r}. Pass {name} as "
            "an array of shape (n_samples, n_features)."
        )
    if ensure_2d and array.ndim == 1:
        raise ValueError(
            f"Expected 2D array, got 1D array instead:\n{name}={array}.\n"
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
    if array.ndim > 2:
        raise ValueError(
            f"Found array with dim {array.ndim}. Expected <= 2 dimensions, "
            f"(n_samples, n_features){_by(estimator_name)}. Flatten each sample, "
            f"e.g. {name}.reshape(len({name}), -1)."
        )
    array = _to_float(array, _resolve_dtype(dtype, array.dtype), name)
    n_samples = array.shape[0]
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={array.shape}) while a minimum "
            f"of {ensure_min_samples} is required{_by(estimator_name)}. Pass a non-empty "
            f"{name}: check the filtering or splitting that produced it."
        )
    if array.ndim == 2 and array.shape[1] < ensure_min_features:
        raise ValueError(
            f"Found array with {array.shape[1]} feature(s) (shape={array.shape}) while a "
            f"minimum of {ensure_min_features} is required{_by(estimator_name)}. "
            f"{name} needs at least one column."
        )
    if ensure_finite:
        _assert_all_finite(array, name, estimator_name)
    return array


def _check_consistent_length(X: np.ndarray, y: np.ndarray) -> None:
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{X.shape[0]}, {y.shape[0]}]. X and y need one row / one target per sample; "
            "check that they were split or filtered the same way."
        )


def _check_y(
    y: Any,
    *,
    dtype: Any,
    y_numeric: bool,
    multi_output: bool,
    estimator_name: str | None,
) -> np.ndarray:
    if y is None:
        raise ValueError(
            f"{estimator_name or 'This estimator'} requires y to be passed, but the target "
            "y is None. Pass the targets: fit(X, y)."
        )
    y = _as_ndarray(y, "y", estimator_name)
    _reject_complex(y, "y")
    if y.ndim == 2 and y.shape[1] == 1 and not multi_output:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
            stacklevel=5,
        )
        y = y.ravel()
    if y.ndim == 0 or y.ndim > 2 or (y.ndim == 2 and not multi_output):
        expected = "(n_samples,) or (n_samples, n_outputs)" if multi_output else "(n_samples,)"
        raise ValueError(
            f"y should be a 1d array of shape {expected}, got an array of shape "
            f"{y.shape} instead{_by(estimator_name)}."
        )
    if y_numeric:
        y = _to_float(y, _resolve_dtype(dtype, y.dtype), "y")
    _assert_all_finite(y, "y", estimator_name)
    return y


def check_X_y(
    X: Any,
    y: Any,
    *,
    dtype: Any = "float64",
    y_numeric: bool = False,
    multi_output: bool = False,
    estimator_name: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate training data: ``X`` as in :func:`check_array`, ``y`` against it.

    ``y`` must have one entry per row of ``X`` and no NaN/infinity. A column vector
    ``(n_samples, 1)`` is raveled with a :class:`~crash_core.exceptions.DataConversionWarning`
    unless ``multi_output`` (regressors), which accepts ``(n_samples, n_outputs)``.
    ``y_numeric`` converts ``y`` to the float ``dtype`` (regression targets); otherwise ``y``
    keeps its dtype (class labels may be strings).
    """
    X = check_array(X, dtype=dtype, estimator_name=estimator_name)
    y = _check_y(
        y,
        dtype=dtype,
        y_numeric=y_numeric,
        multi_output=multi_output,
        estimator_name=estimator_name,
    )
    _check_consistent_length(X, y)
    return X, y


def _label_kinds(values: np.ndarray) -> set[str]:
    """'str', 'bool', 'number' or the type's name, for each element type of an object array."""
    kinds = set()
    for kind in {type(v) for v in values.ravel()}:
        if issubclass(kind, str):
            kinds.add("str")
        elif issubclass(kind, (bool, np.bool_)):
            kinds.add("bool")
        elif issubclass(kind, numbers.Number):
            kinds.add("number")
        else:
            kinds.add(kind.__name__)
    return kinds


def _reject_mixed_labels(y: np.ndarray) -> None:
    if y.dtype.kind != "O":
        return
    kinds = _label_kinds(y)
    if len(kinds) > 1 or not kinds <= {"str", "bool", "number"}:
        found = (
            f"labels mix types {sorted(kinds)}"
            if len(kinds) > 1
            else f"labels of type {kinds.pop()}"
        )
        raise ValueError(
            f"Unknown label type: {found}. Class labels must all be numbers or all be "
            "strings; convert them, e.g. y.astype(str)."
        )


def _type_of_target(y: np.ndarray) -> str:
    """The kind of target, in scikit-learn's vocabulary ('binary', 'continuous', ...)."""
    if y.ndim > 2 or y.size == 0:
        return "unknown"
    suffix = "-multioutput" if y.ndim == 2 and y.shape[1] > 1 else ""
    values = y
    if y.dtype.kind == "O":
        kinds = _label_kinds(y)
        if not kinds <= {"str", "bool", "number"}:
            return "unknown"
        if kinds == {"number"}:
            values = y.astype(np.float64)
    if values.dtype.kind == "f" and np.any(values != np.floor(values)):
        return "continuous" + suffix
    if suffix:
        return "multiclass" + suffix
    return "binary" if np.unique(y).size <= 2 else "multiclass"


def check_classification_targets(y: Any) -> None:
    """Raise ``ValueError("Unknown label type: ...")`` unless ``y`` holds class labels.

    Accepted: one label per sample, binary or multiclass, as ints, strings, bools or
    integer-valued floats. Rejected: continuous floats (a regression target), several
    outputs per sample, label types that are mixed or not numbers/strings.
    """
    y = np.asarray(y)
    _reject_mixed_labels(y)
    kind = _type_of_target(y)
    if kind in ("binary", "multiclass"):
        return
    if kind.startswith("continuous"):
        hint = (
            "Maybe you are trying to fit a classifier, which expects discrete classes, on "
            "a regression target with continuous values. Use a regressor (e.g. "
            "cc.MLPRegressor), or convert y to class labels."
        )
    else:
        hint = "Pass one class label (a number or a string) per sample, as a 1-D array."
    raise ValueError(f"Unknown label type: {kind}. {hint}")


def encode_labels(y: Any, classes: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Map class labels to indices ``0 .. n_classes - 1``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels: ints, strings or bools (not mixed).
    classes : array-like, optional
        The known classes (a fitted ``classes_``, or ``partial_fit``'s ``classes``). When
        given, every label in ``y`` must be one of them.

    Returns
    -------
    classes_ : numpy.ndarray
        The sorted unique labels (of ``classes`` when given, else of ``y``).
    y_indices : numpy.ndarray of intp
        ``classes_[y_indices] == y``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array of labels, got an array of shape {y.shape}.")
    _reject_mixed_labels(y)
    if classes is None:
        # unique values first, then a binary search per label: faster than sorting all
        # of y when there are few classes
        classes_ = np.unique(y)
        return classes_, np.searchsorted(classes_, y).astype(np.intp, copy=False)
    classes_ = np.asarray(classes)
    _reject_mixed_labels(classes_)
    classes_ = np.unique(classes_)
    if classes_.size == 0:
        raise ValueError("classes is empty: pass every class label the model should know.")
    try:
        y_indices = np.searchsorted(classes_, y)
        found = classes_[np.minimum(y_indices, classes_.size - 1)] == y
    except TypeError:  # labels and classes of incomparable types (e.g. str vs int)
        y_indices, found = np.zeros(y.shape, np.intp), np.zeros(y.shape, dtype=bool)
    if not np.all(found):
        unknown = np.unique(y[~np.asarray(found, dtype=bool)]).tolist()
        raise ValueError(
            f"y contains labels not seen before: {unknown[:10]}. Known classes: "
            f"{classes_.tolist()}. Pass every class up front (partial_fit's `classes`), or "
            "refit on data that contains all classes."
        )
    return classes_, y_indices.astype(np.intp, copy=False)


def check_two_or_more_classes(classes_: np.ndarray, name: str) -> None:
    """Raise a ValueError naming the only class when fewer than 2 are present."""
    if len(classes_) < 2:
        only = f": {np.asarray(classes_).tolist()[0]!r}" if len(classes_) else ""
        raise ValueError(
            f"{name} needs samples of at least 2 classes in the data, but y contains only "
            f"one class{only}. A classifier needs at least 2 classes to train; pass data "
            "with examples of every class."
        )


def check_sample_weight(
    sample_weight: Any, n_samples: int, dtype: Any = "float64"
) -> np.ndarray | None:
    """Validate per-sample weights; None stays None (every sample weighs 1).

    A scalar is broadcast to every sample. Otherwise the weights must be a 1-D array of
    length ``n_samples``, finite, non-negative and not all zero. Returns a C-contiguous array
    of ``dtype`` (never the caller's array modified).
    """
    if sample_weight is None:
        return None
    dtype = _resolve_dtype(dtype, np.dtype(np.float64))
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        weights = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        weights = _as_ndarray(sample_weight, "sample_weight", None)
        _reject_complex(weights, "sample_weight")
        if weights.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {weights.shape}, expected ({n_samples},): pass one "
                "weight per sample, as a 1-D array."
            )
        weights = _to_float(weights, dtype, "sample_weight")
    _assert_all_finite(weights, "sample_weight", None)
    if np.any(weights < 0):
        raise ValueError(
            "sample_weight contains negative values. Weights must be >= 0 (0 drops a sample)."
        )
    if not np.any(weights > 0):
        raise ValueError(
            "sample_weight contains only zeros: at least one sample needs a positive weight."
        )
    return weights


def _feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame-like ``X`` when they are all strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size == 0:
        return None
    are_str = [isinstance(n, str) for n in names]
    if all(are_str):
        return names
    if any(are_str):
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            "but X mixes string and non-string column names. Convert them all to strings, "
            "e.g. X.columns = X.columns.astype(str)."
        )
    return None


def check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    """Record (``reset=True``) or compare ``feature_names_in_`` with ``X``'s column names.

    Call it with the raw input, before conversion to an array. Only string column names
    count. At predict time a name mismatch is a ValueError; names present on one side only
    give a UserWarning, as in scikit-learn.
    """
    names = _feature_names(X)
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    cls = type(estimator).__name__
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {cls} was fitted without feature names", stacklevel=4
        )
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {cls} was fitted with feature names",
            stacklevel=4,
        )
        return
    if len(fitted) == len(names) and np.all(fitted == names):
        return
    unseen = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))
    message = "The feature names should match those that were passed during fit.\n"
    if unseen:
        message += f"Feature names unseen at fit time: {unseen[:5]}\n"
    if missing:
        message += f"Feature names seen at fit time, yet now missing: {missing[:5]}\n"
    if not unseen and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message + "Pass the same columns, in the same order, as in fit.")


def check_n_features(estimator: Any, X: np.ndarray, *, reset: bool) -> None:
    """Set ``n_features_in_`` (``reset=True``) or check ``X`` has that many columns."""
    n_features = X.shape[1]
    if reset:
        estimator.n_features_in_ = n_features
        return
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is expecting "
            f"{expected} features as input. Pass the same columns as in fit."
        )


def validate_X(
    estimator: Any, X: Any, *, reset: bool, dtype: Any = "float64", ensure_finite: bool = True
) -> np.ndarray:
    """The whole check of a model's ``X``: feature names, :func:`check_array`, feature count.

    ``reset=True`` (``fit``, the first ``partial_fit``) records ``n_features_in_`` and
    ``feature_names_in_``; ``reset=False`` (``predict``, ``score``...) checks against them.
    """
    check_feature_names(estimator, X, reset=reset)
    array = check_array(
        X, dtype=dtype, estimator_name=type(estimator).__name__, ensure_finite=ensure_finite
    )
    check_n_features(estimator, array, reset=reset)
    return array


def validate_X_y(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    reset: bool = True,
    dtype: Any = "float64",
    y_numeric: bool = False,
    multi_output: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`validate_X` plus :func:`check_X_y`'s checks of ``y``; for ``fit``/``partial_fit``."""
    check_feature_names(estimator, X, reset=reset)
    X, y = check_X_y(
        X,
        y,
        dtype=dtype,
        y_numeric=y_numeric,
        multi_output=multi_output,
        estimator_name=type(estimator).__name__,
    )
    check_n_features(estimator, X, reset=reset)
    return X, y


_KIND_NAMES = {float: "a real number", int: "an integer", bool: "a bool"}


def _is_kind(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, (bool, np.bool_))
    if isinstance(value, (bool, np.bool_)):
        return False
    if kind is int:
        return isinstance(value, numbers.Integral)
    return isinstance(value, numbers.Real)


def _range_text(min_val: float | None, max_val: float | None, inc_min: bool, inc_max: bool) -> str:
    if max_val is None:
        return f"{'>=' if inc_min else '>'} {min_val}"
    if min_val is None:
        return f"{'<=' if inc_max else '<'} {max_val}"
    return f"in {'[' if inc_min else '('}{min_val}, {max_val}{']' if inc_max else ')'}"


def check_scalar(
    value: Any,
    name: str,
    *,
    kind: type = float,
    min_val: float | None = None,
    max_val: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
) -> Any:
    """Check a scalar hyperparameter's type and range; return it as a Python number.

    Parameters
    ----------
    value : object
        The hyperparameter's value.
    name : str
        Its name, used in the messages.
    kind : {float, int, bool}
        ``float`` accepts any real number (ints too, bools not); ``int`` accepts integers
        (Python or NumPy, not bools or floats); ``bool`` accepts bools.
    min_val, max_val : float, optional
        Bounds of the valid range; None leaves that side open.
    include_min, include_max : bool
        Whether each bound itself is valid ("positive" is ``min_val=0, include_min=False``).

    Raises
    ------
    TypeError
        ``value`` is not of ``kind``.
    ValueError
        ``value`` is NaN or outside the range; the message names the range and the fix.
    """
    if kind not in _KIND_NAMES:
        raise ValueError(f"kind must be float, int or bool, got {kind!r}")
    valid = (
        ""
        if min_val is None and max_val is None
        else " " + _range_text(min_val, max_val, include_min, include_max)
    )
    if not _is_kind(value, kind):
        raise TypeError(
            f"{name} must be {_KIND_NAMES[kind]}, got {value!r} of type "
            f"{type(value).__name__}. Pass {_KIND_NAMES[kind]}{valid}."
        )
    if kind is bool:
        return bool(value)
    value = kind(value)
    if value != value:
        raise ValueError(f"{name} must be a number, got nan. Pass a finite value.")
    too_low = min_val is not None and (value < min_val if include_min else value <= min_val)
    too_high = max_val is not None and (value > max_val if include_max else value >= max_val)
    if too_low or too_high:
        raise ValueError(
            f"{name}={value!r} is out of range: {name} must be{valid}. Choose a {name}{valid}."
        )
    return value


def check_option(value: Any, name: str, options: Iterable[Any]) -> Any:
    """Check ``value`` is one of ``options``; return it.

    The error lists the valid options (sorted) and, for a near-miss string, the closest one:
    ``Unknown activation 'relux'. Valid options: 'relu', 'sigmoid', 'tanh'. Did you mean
    'relu'?``
    """
    options = list(options)
    try:
        if value in options:
            return value
    except (TypeError, ValueError):  # e.g. an array: not comparable, so not an option
        pass
    if isinstance(value, np.generic):
        value = value.item()  # show 'relux', not np.str_('relux')
    listed = ", ".join(repr(o) for o in sorted(options, key=str))
    if all(isinstance(o, str) for o in options) and not isinstance(value, str):
        raise TypeError(
            f"{name} must be a string, one of {listed}; got {value!r} of type "
            f"{type(value).__name__}."
        )
    message = f"Unknown {name} {value!r}. Valid options: {listed}."
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [o for o in options if isinstance(o, str)], n=1)
        if close:
            message += f" Did you mean {close[0]!r}?"
    raise ValueError(message)
