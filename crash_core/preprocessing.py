"""Tabular preprocessing: raw columns (numbers with gaps, text) -> the matrix a model takes.

``TabularPreprocessor`` is a scikit-learn transformer (``fit`` / ``transform`` /
``fit_transform`` / ``get_feature_names_out``, usable as the first step of a ``Pipeline``) and
the step that a model file carries, so ``python -m crash_core predict`` replays exactly what
``train`` did. Per column:

- numeric: a missing value (NaN, or an NA token when the file was read) becomes the column's
  training mean m, then the column is standardised, x' = (x - m) / s with s the training
  standard deviation (s = 1 for a constant column);
- categorical (strings, pandas ``category``/``object`` columns): one-hot encoded over the
  categories seen in training, in sorted order; a missing value, and with
  ``handle_unknown="ignore"`` a category never seen in training, becomes a row of zeros;
- named in ``drop``: left out.

Its state is plain numbers and strings (``to_config`` / ``from_config``), never a pickle.
It needs only NumPy; pandas DataFrames are accepted (and give the column names).

``target_kind(y)`` tells a classification target from a regression target the way the
command line does (see its docstring).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from crash_core.base import BaseEstimator
from crash_core.io import register_step

__all__ = ["TabularPreprocessor", "target_kind", "MAX_CLASSES"]

# a numeric target with more distinct values than this is a regression target
MAX_CLASSES = 20

_KINDS = ("numeric", "categorical")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    # pandas.NA and pandas.NaT compare as neither equal nor unequal to themselves
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return True


def _columns(X: Any) -> tuple[list[str] | None, list[np.ndarray]]:
    """(column names or None, one 1-D array per column) of a DataFrame or a 2-D array."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a pandas DataFrame
        names = [str(c) for c in X.columns]
        if len(set(names)) != len(names):
            raise ValueError(
                f"The column names {names} repeat a name; give every column its own name."
            )
        return names, [X.iloc[:, j].to_numpy() for j in range(X.shape[1])]
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(
            "TabularPreprocessor takes a 2-D array or a DataFrame, not a sparse matrix."
        )
    array = np.asarray(X)
    if array.dtype.kind in "OUS":
        array = np.asarray(X, dtype=object)
    if array.ndim != 2:
        raise ValueError(
            f"Expected a 2-D table (rows x columns), got an array of shape {array.shape}; "
            "use X.reshape(-1, 1) for a single column."
        )
    return None, [array[:, j] for j in range(array.shape[1])]


def _as_float(column: np.ndarray) -> np.ndarray | None:
    """The column as float64 with NaN for missing values, or None if a value is not a number."""
    if column.dtype.kind in "biuf":
        return column.astype(np.float64)
    out = np.empty(column.shape[0])
    for i, value in enumerate(column):
        if _is_missing(value):
            out[i] = np.nan
        elif isinstance(value, (numbers.Real, np.bool_)) and not isinstance(value, str):
            out[i] = float(value)
        else:
            return None
    return out


def _as_text(column: np.ndarray) -> list[str | None]:
    """The column's values as strings, None for a missing value."""
    return [None if _is_missing(v) else str(v) for v in column]


class TabularPreprocessor(BaseEstimator):
    """Impute and standardise numeric columns, one-hot encode categorical ones, drop some.

    Parameters
    ----------
    drop : sequence of str or int, default=()
        Columns to leave out: names (for a DataFrame) or positions (for an array).
    categorical : sequence of str or int or None, default=None
        Columns to one-hot encode. ``None`` decides per column: a column whose values are
        all numbers (or missing) is numeric, any other (strings, pandas ``category``) is
        categorical. Name a numeric column here to encode it as categories instead
        (e.g. a product code).
    handle_unknown : {"ignore", "error"}, default="ignore"
        What ``transform`` does with a category not seen in ``fit``: ``"ignore"`` gives
        the column a row of zeros (like a missing value), ``"error"`` raises a ValueError.
    standardize : bool, default=True
        Scale numeric columns to x' = (x - mean) / std (a constant column keeps std = 1).
        With ``False`` numeric columns are only imputed.
    standardize_target : bool, default=False
        ``fit(X, y)`` also learns the mean and standard deviation of a numeric target, for
        ``transform_target`` (y' = (y - mean) / std) and ``inverse_transform_target``: a
        regressor then learns targets of any scale (prices in the thousands) at its
        default learning rate. Without it both are the identity.

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Input column names (``"0"``, ``"1"``, ... for an array without names).
    kinds_ : list of {"numeric", "categorical", "dropped"}
        What happens to each input column.
    mean_, scale_ : dict of str to float
        Per numeric column, the imputed value (training mean) and the divisor.
    categories_ : dict of str to list of str
        Per categorical column, its sorted training categories.
    target_mean_, target_scale_ : float
        With ``standardize_target``: the target's mean and divisor (else 0 and 1).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, "red"], [np.nan, "blue"], [3.0, "red"]], dtype=object)
    >>> TabularPreprocessor().fit(X).get_feature_names_out().tolist()
    ['0', '1=blue', '1=red']
    """

    def __init__(
        self,
        drop: Sequence[str | int] = (),
        categorical: Sequence[str | int] | None = None,
        handle_unknown: str = "ignore",
        standardize: bool = True,
        standardize_target: bool = False,
    ) -> None:
        self.drop = drop
        self.categorical = categorical
        self.handle_unknown = handle_unknown
        self.standardize = standardize
        self.standardize_target = standardize_target

    # ------------------------------------------------------------------ fitting
    def _resolve(self, spec: Any, names: list[str], by_name: bool, what: str) -> set[str]:
        """Column names from a list of names or positions; an unknown one is an error."""
        if spec is None:
            return set()
        if isinstance(spec, (str, int, np.integer)):
            spec = [spec]
        chosen = set()
        for item in spec:
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not -len(names) <= item < len(names):
                    raise ValueError(
                        f"{what} names column {item}, but the data has {len(names)} columns."
                    )
                chosen.add(names[item])
            elif str(item) in names:
                chosen.add(str(item))
            else:
                hint = "" if by_name else " (an array has no names: give column positions)"
                raise ValueError(f"{what} names {item!r}, which is not a column{hint}: {names}.")
        return chosen

    def fit(self, X: Any, y: Any = None) -> TabularPreprocessor:
        """Learn each column's kind, mean and scale (numeric) or categories (categorical).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The raw table; NaN / None mark missing values.
        y : array-like of shape (n_samples,) or None, default=None
            The target; used only with ``standardize_target=True``.

        Returns
        -------
        self : TabularPreprocessor
        """
        if self.handle_unknown not in ("ignore", "error"):
            raise ValueError(
                f"handle_unknown must be 'ignore' or 'error', got {self.handle_unknown!r}."
            )
        names, columns = _columns(X)
        by_name = names is not None
        if names is None:
            names = [str(j) for j in range(len(columns))]
        n_rows = columns[0].shape[0] if columns else 0
        if not columns or n_rows == 0:
            raise ValueError(
                f"Found a table with {n_rows} row(s) and {len(columns)} column(s); "
                "TabularPreprocessor needs at least one of each."
            )
        dropped = self._resolve(self.drop, names, by_name, "drop")
        forced = self._resolve(self.categorical, names, by_name, "categorical")
        kinds, mean, scale, categories = [], {}, {}, {}
        for name, column in zip(names, columns, strict=True):
            if name in dropped:
                kinds.append("dropped")
                continue
            values = None if name in forced else _as_float(column)
            if values is None:
                kinds.append("categorical")
                categories[name] = sorted({v for v in _as_text(column) if v is not None})
                continue
            if np.isinf(values).any():
                raise ValueError(f"Column {name!r} holds an infinite value; remove or clip it.")
            seen = values[~np.isnan(values)]
            m = float(seen.mean()) if seen.size else 0.0
            s = float(seen.std()) if seen.size else 0.0
            kinds.append("numeric")
            mean[name] = m
            scale[name] = s if (self.standardize and s > 0 and math.isfinite(s)) else 1.0
        if all(k == "dropped" for k in kinds):
            raise ValueError("drop leaves no column to learn from; keep at least one.")
        self.target_mean_, self.target_scale_ = 0.0, 1.0
        if self.standardize_target:
            if y is None:
                raise ValueError("standardize_target=True needs the target: call fit(X, y).")
            target = np.asarray(y, dtype=np.float64)
            if target.ndim != 1 or target.shape[0] != n_rows or not np.isfinite(target).all():
                raise ValueError(
                    f"y must be {n_rows} finite numbers (one per row) to be standardised."
                )
            std = float(target.std())
            self.target_mean_ = float(target.mean())
            self.target_scale_ = std if std > 0 and math.isfinite(std) else 1.0
        self.n_features_in_ = len(names)
        self.feature_names_in_ = np.array(names, dtype=object)
        self._by_name = by_name
        self.kinds_ = kinds
        self.mean_ = mean
        self.scale_ = scale
        self.categories_ = categories
        return self

    # ------------------------------------------------------------------ transforming
    def _input_columns(self, X: Any) -> list[np.ndarray]:
        """The fitted columns of ``X``, matched by name (DataFrame) or by position (array)."""
        names, columns = _columns(X)
        expected = [str(n) for n in self.feature_names_in_]
        if names is not None and self._by_name:
            where = {n: j for j, n in enumerate(names)}
            needed = [n for n, k in zip(expected, self.kinds_, strict=True) if k != "dropped"]
            missing = [n for n in needed if n not in where]
            if missing:
                raise ValueError(
                    f"X has no column(s) {missing}, which the preprocessor was fitted on; "
                    f"it has {names}."
                )
            return [columns[where[n]] if n in where else None for n in expected]
        if len(columns) != len(expected):
            raise ValueError(
                f"X has {len(columns)} columns, but the preprocessor was fitted on "
                f"{len(expected)}; pass the same columns in the same order."
            )
        return columns

    def transform(self, X: Any) -> np.ndarray:
        """The model-ready matrix: imputed, standardised numbers and one-hot columns.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            Columns as in ``fit`` (a DataFrame is matched by column name, extra
            columns are ignored; an array by position).

        Returns
        -------
        ndarray of shape (n_samples, n_features_out), float64
            Columns in the order of ``get_feature_names_out()``.
        """
        self._check_is_fitted("kinds_")
        columns = self._input_columns(X)
        names = [str(n) for n in self.feature_names_in_]
        blocks = []
        for name, kind, column in zip(names, self.kinds_, columns, strict=True):
            if kind == "numeric":
                values = _as_float(column)
                if values is None:
                    bad = next(v for v in column if not _is_missing(v) and _as_float(
                        np.array([v], dtype=object)) is None)
                    raise ValueError(
                        f"Column {name!r} was numeric in training but holds {bad!r}; "
                        "fix the value or mark it as missing."
                    )
                if np.isinf(values).any():
                    raise ValueError(f"Column {name!r} holds an infinite value; remove or clip it.")
                values = np.where(np.isnan(values), self.mean_[name], values)
                blocks.append(((values - self.mean_[name]) / self.scale_[name])[:, None])
            elif kind == "categorical":
                blocks.append(self._one_hot(name, column))
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float64)

    def _one_hot(self, name: str, column: np.ndarray) -> np.ndarray:
        categories = self.categories_[name]
        where = {c: j for j, c in enumerate(categories)}
        out = np.zeros((column.shape[0], len(categories)))
        for i, value in enumerate(_as_text(column)):
            if value is None:
                continue
            j = where.get(value)
            if j is None:
                if self.handle_unknown == "error":
                    raise ValueError(
                        f"Column {name!r} holds the category {value!r}, not seen in training "
                        f"(known: {categories[:10]}); use handle_unknown='ignore' to encode "
                        "it as zeros."
                    )
                continue
            out[i, j] = 1.0
        return out

    def transform_target(self, y: Any) -> np.ndarray:
        """y' = (y - ``target_mean_``) / ``target_scale_`` (the identity without
        ``standardize_target``).

        Parameters
        ----------
        y : array-like of numbers

        Returns
        -------
        ndarray of float64
        """
        self._check_is_fitted("kinds_")
        return (np.asarray(y, dtype=np.float64) - self.target_mean_) / self.target_scale_

    def inverse_transform_target(self, z: Any) -> np.ndarray:
        """y = z ``target_scale_`` + ``target_mean_``: predictions in the target's units.

        Parameters
        ----------
        z : array-like of numbers
            Values on the standardised scale (a regressor's predictions).

        Returns
        -------
        ndarray of float64
        """
        self._check_is_fitted("kinds_")
        return np.asarray(z, dtype=np.float64) * self.target_scale_ + self.target_mean_

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: a numeric column keeps its name, a categorical column
        ``c`` becomes ``"c=<category>"`` per category.

        Parameters
        ----------
        input_features : ignored
            Accepted for scikit-learn compatibility; the fitted names are used.

        Returns
        -------
        ndarray of str
        """
        self._check_is_fitted("kinds_")
        out: list[str] = []
        for name, kind in zip(self.feature_names_in_, self.kinds_, strict=True):
            if kind == "numeric":
                out.append(str(name))
            elif kind == "categorical":
                out.extend(f"{name}={c}" for c in self.categories_[str(name)])
        return np.array(out, dtype=object)

    @property
    def n_features_out_(self) -> int:
        """Number of columns ``transform`` returns."""
        return len(self.get_feature_names_out())

    def describe(self) -> str:
        """One line for people: how many columns of each kind, and which were dropped."""
        self._check_is_fitted("kinds_")
        count = {k: self.kinds_.count(k) for k in ("numeric", "categorical", "dropped")}
        parts = [f"{count['numeric']} numeric (imputed, standardised)"]
        if count["categorical"]:
            n_cat = sum(len(c) for c in self.categories_.values())
            parts.append(f"{count['categorical']} categorical ({n_cat} one-hot columns)")
        if count["dropped"]:
            dropped = [
                str(n) for n, k in zip(self.feature_names_in_, self.kinds_, strict=True)
                if k == "dropped"
            ]
            parts.append(f"dropped {dropped}")
        return ", ".join(parts)

    # ------------------------------------------------------------------ state
    def to_config(self) -> dict[str, Any]:
        """The fitted state as JSON-ready values (what a model file stores).

        Returns
        -------
        dict
            ``{"params": {...}, "columns": [[name, kind], ...], "mean": {...},
            "scale": {...}, "categories": {...}, "by_name": bool,
            "target": [mean, scale]}``.
        """
        self._check_is_fitted("kinds_")
        return {
            "params": {
                "drop": list(self.drop) if not isinstance(self.drop, (str, int)) else [self.drop],
                "categorical": None if self.categorical is None else list(self.categorical),
                "handle_unknown": self.handle_unknown,
                "standardize": bool(self.standardize),
                "standardize_target": bool(self.standardize_target),
            },
            "columns": [[str(n), k] for n, k in zip(self.feature_names_in_, self.kinds_,
                                                      strict=True)],
            "mean": dict(self.mean_),
            "scale": dict(self.scale_),
            "categories": {k: list(v) for k, v in self.categories_.items()},
            "by_name": bool(self._by_name),
            "target": [self.target_mean_, self.target_scale_],
        }

    @classmethod
    def from_config(cls, config: Any) -> TabularPreprocessor:
        """Rebuild a fitted preprocessor from ``to_config()``; a malformed config is a
        ValueError naming the problem.

        Parameters
        ----------
        config : dict
            As returned by :meth:`to_config` (e.g. read back from JSON).

        Returns
        -------
        TabularPreprocessor
        """

        def fail(what: str) -> ValueError:
            return ValueError(f"Invalid preprocessing config: {what}.")

        if not isinstance(config, dict) or set(config) != {
            "params", "columns", "mean", "scale", "categories", "by_name", "target"
        }:
            raise fail(
                "expected the keys params, columns, mean, scale, categories, by_name, target"
            )
        params = config["params"]
        if not isinstance(params, dict) or set(params) != {
            "drop", "categorical", "handle_unknown", "standardize", "standardize_target"
        }:
            raise fail(
                "'params' must hold drop, categorical, handle_unknown, standardize, "
                "standardize_target"
            )
        if params["handle_unknown"] not in ("ignore", "error"):
            raise fail("handle_unknown must be 'ignore' or 'error'")
        columns = config["columns"]
        if not isinstance(columns, list) or not columns or not all(
            isinstance(c, list) and len(c) == 2 and isinstance(c[0], str)
            and c[1] in (*_KINDS, "dropped") for c in columns
        ):
            raise fail("'columns' must be a non-empty list of [name, kind] pairs")
        names = [c[0] for c in columns]
        if len(set(names)) != len(names):
            raise fail("column names repeat")
        numeric = {n for n, k in columns if k == "numeric"}
        categorical = {n for n, k in columns if k == "categorical"}

        def numbers_for(key: str, positive: bool) -> dict[str, float]:
            values = config[key]
            if not isinstance(values, dict) or set(values) != numeric:
                raise fail(f"'{key}' must give one number per numeric column")
            out = {}
            for n, v in values.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise fail(f"{key}[{n!r}] must be a finite number")
                if positive and v <= 0:
                    raise fail(f"{key}[{n!r}] must be > 0")
                out[n] = float(v)
            return out

        cats = config["categories"]
        if not isinstance(cats, dict) or set(cats) != categorical or not all(
            isinstance(v, list) and all(isinstance(c, str) for c in v) for v in cats.values()
        ):
            raise fail("'categories' must give a list of strings per categorical column")
        if not isinstance(config["by_name"], bool):
            raise fail("'by_name' must be true or false")
        target = config["target"]
        if not (
            isinstance(target, list) and len(target) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isfinite(v) for v in target)
            and target[1] > 0
        ):
            raise fail("'target' must be [mean, scale] with a finite mean and a scale > 0")
        prep = cls(
            drop=params["drop"] or (),
            categorical=params["categorical"],
            handle_unknown=params["handle_unknown"],
            standardize=bool(params["standardize"]),
            standardize_target=bool(params["standardize_target"]),
        )
        prep.n_features_in_ = len(names)
        prep.feature_names_in_ = np.array(names, dtype=object)
        prep._by_name = config["by_name"]
        prep.kinds_ = [k for _, k in columns]
        prep.mean_ = numbers_for("mean", positive=False)
        prep.scale_ = numbers_for("scale", positive=True)
        prep.categories_ = {k: list(v) for k, v in cats.items()}
        prep.target_mean_, prep.target_scale_ = float(target[0]), float(target[1])
        return prep

    def _tags_update(self, tags: Any) -> None:
        from sklearn.utils import TransformerTags

        super()._tags_update(tags)
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True


def target_kind(y: Any, max_classes: int = MAX_CLASSES) -> tuple[str, str]:
    """Whether ``y`` is a classification or a regression target, and why (for people).

    The rule: strings, booleans and other non-numbers are class labels; numbers with a
    fractional part, or with more than ``max_classes`` distinct values, are a regression
    target; other whole numbers are class labels.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The target column (missing values are not allowed).
    max_classes : int, default=20
        Most distinct whole-number values a classification target may have.

    Returns
    -------
    kind : {"classification", "regression"}
    reason : str
        E.g. ``"numeric with 214 distinct values"``.
    """
    column = np.asarray(y, dtype=object) if not hasattr(y, "to_numpy") else y.to_numpy()
    values = _as_float(np.asarray(column))
    if values is None or np.asarray(column).dtype.kind == "b":
        n = len({str(v) for v in column})
        return "classification", f"{n} distinct labels"
    if np.isnan(values).any():
        raise ValueError("The target has missing values; drop those rows or fill them first.")
    distinct = np.unique(values)
    if not np.all(distinct == np.round(distinct)):
        return "regression", f"numeric with fractional values ({distinct.size} distinct)"
    if distinct.size > max_classes:
        return "regression", f"numeric with {distinct.size} distinct values"
    return "classification", f"{distinct.size} distinct whole-number labels"


register_step(TabularPreprocessor)
