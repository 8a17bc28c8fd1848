"""The estimator contract shared by every model: parameters, repr, tags, fitted state, score.

It follows scikit-learn's rules so models work with ``clone``, ``GridSearchCV``, ``Pipeline``
and ``parametrize_with_checks``, without importing scikit-learn (only ``__sklearn_tags__``,
which only scikit-learn calls, imports it):

- ``__init__`` only stores its keyword arguments, under the same names (no ``*args``);
- ``fit`` validates, learns attributes whose names end with ``_``, and returns ``self``;
- mixins come first: ``class MLPClassifier(ClassifierMixin, BaseEstimator)``.
"""

from __future__ import annotations

import inspect
import math
import weakref
from collections import defaultdict
from typing import Any

import numpy as np

from crash_core._validation import check_sample_weight
from crash_core.exceptions import not_fitted_error

__all__ = ["BaseEstimator", "ClassifierMixin", "RegressorMixin"]

_REPR_WIDTH = 79
# class -> (its __init__, the parameter names read from that __init__'s signature): a
# signature is read once per class, not on every get_params
_PARAM_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _same_value(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if isinstance(value, float) and isinstance(default, float):
        if math.isnan(value) and math.isnan(default):
            return True
    # repr compares arrays and nested estimators too, without their __eq__ surprises
    return type(value) is type(default) and repr(value) == repr(default)


class BaseEstimator:
    """Base class of all crash_core models.

    Provides ``get_params`` / ``set_params`` (from ``__init__``'s signature), a repr showing
    the parameters that differ from their defaults, scikit-learn tags and the fitted-state
    check ``_check_is_fitted``.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The hyperparameter names: ``__init__``'s arguments, in signature order."""
        known = _PARAM_NAMES.get(cls)
        if known is not None and known[0] is cls.__init__:
            return list(known[1])
        names = cls._read_param_names()
        _PARAM_NAMES[cls] = (cls.__init__, tuple(names))
        return names

    @classmethod
    def _read_param_names(cls) -> list[str]:
        """``__init__``'s keyword arguments, read from its signature."""
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.kind == p.VAR_POSITIONAL:
                raise TypeError(
                    f"{cls.__name__}.__init__ takes *{p.name}; an estimator must list every "
                    "hyperparameter as an explicit keyword argument."
                )
            if p.name != "self" and p.kind != p.VAR_KEYWORD:
                names.append(p.name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters, by name.

        With ``deep=True`` the parameters of nested estimators are included too, as
        ``<param>__<nested param>``.
        """
        params: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> BaseEstimator:
        """Set hyperparameters (nested ones as ``<param>__<nested param>``); return self.

        Values are stored as given; they are validated when ``fit`` runs.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = defaultdict(dict)
        for key, value in params.items():
            name, delim, sub_name = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {sorted(self._get_param_names())!r}."
                )
            if delim:
                nested[name][sub_name] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            if not hasattr(valid[name], "set_params"):
                raise ValueError(
                    f"Invalid parameter {name + '__' + next(iter(sub_params))!r} for "
                    f"estimator {type(self).__name__}: {name}={valid[name]!r} has no "
                    "parameters of its own. Set it as a whole instead."
                )
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__).parameters
        parts = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            default = signature[name].default
            if default is inspect.Parameter.empty or not _same_value(value, default):
                parts.append(f"{name}={value!r}")
        head = f"{type(self).__name__}("
        one_line = head + ", ".join(parts) + ")"
        if len(one_line) <= _REPR_WIDTH:
            return one_line
        # Too long for one line: wrap, continuation lines aligned after the "(".
        lines = [head + parts[0] + ","]
        for part in parts[1:]:
            candidate = f"{lines[-1]} {part},"
            if len(candidate) <= _REPR_WIDTH:
                lines[-1] = candidate
            else:
                lines.append(" " * len(head) + part + ",")
        lines[-1] = lines[-1][:-1] + ")"
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The estimator as a small HTML table for notebooks: every parameter (those set
        away from their defaults in bold) and, once fitted, what was learned."""
        import html

        signature = inspect.signature(type(self).__init__).parameters
        rows = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            changed = not _same_value(value, signature[name].default)
            text = html.escape(repr(value))
            cell = f"<b>{text}</b>" if changed else text
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{cell}</td></tr>")
        fitted = [f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                  for k, v in self._fitted_summary()]
        title = html.escape(type(self).__name__)
        status = "fitted" if fitted else "not fitted"
        parts = [
            f'<div class="crash-core-estimator"><strong>{title}</strong> ({status})',
            '<table><tr><th colspan="2">parameters</th></tr>',
            *rows,
        ]
        if fitted:
            parts += ['<tr><th colspan="2">fitted</th></tr>', *fitted]
        parts.append("</table></div>")
        return "\n".join(parts)

    def _fitted_summary(self) -> list[tuple[str, str]]:
        """(name, value) pairs describing what fit learned, for ``_repr_html_``."""
        out = []
        if hasattr(self, "n_features_in_"):
            out.append(("n_features_in_", str(self.n_features_in_)))
        classes = getattr(self, "classes_", None)
        if classes is not None:
            shown = ", ".join(map(str, list(classes)[:10])) + (" ..." if len(classes) > 10 else "")
            out.append(("classes_", f"{len(classes)}: {shown}"))
        network = getattr(self, "network_", None)
        if network is not None:
            sizes = " → ".join(map(str, network.layer_sizes))
            out.append(("network_", f"{sizes} ({network.n_params} parameters, "
                                    f"{network.dtype.name})"))
        coef = getattr(self, "coef_", None)
        if coef is not None:
            out.append(("coef_", f"shape {tuple(coef.shape)}"))
        for key in ("n_epochs_", "best_epoch_", "loss_"):
            if hasattr(self, key):
                value = getattr(self, key)
                out.append((key, f"{value:.4g}" if isinstance(value, float) else str(value)))
        return out

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's description of this estimator (``sklearn.utils.Tags``).

        Only scikit-learn calls this, so scikit-learn is imported here and nowhere else.
        Subclasses adjust the tags in :meth:`_tags_update`.
        """
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        estimator_type = getattr(self, "_estimator_type", None)
        tags = Tags(
            estimator_type=estimator_type,
            target_tags=TargetTags(required=estimator_type in ("classifier", "regressor")),
            classifier_tags=ClassifierTags() if estimator_type == "classifier" else None,
            regressor_tags=RegressorTags() if estimator_type == "regressor" else None,
            input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False),
        )
        self._tags_update(tags)
        return tags

    def _tags_update(self, tags: Any) -> None:
        """Hook for subclasses: change ``tags`` in place, e.g.
        ``tags.target_tags.multi_output = True`` (call ``super()._tags_update(tags)`` first).
        """

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted when ``fit`` has set an attribute whose name ends with ``_``."""
        return any(k.endswith("_") and not k.startswith("__") for k in vars(self))

    def _check_is_fitted(self, attr: str | None = None) -> None:
        """Raise :class:`~crash_core.NotFittedError` unless the model has been fitted.

        ``attr`` names an attribute that ``fit`` sets (e.g. ``"network_"``); without it, any
        attribute ending with ``_`` counts.
        """
        fitted = hasattr(self, attr) if attr is not None else self.__sklearn_is_fitted__()
        if not fitted:
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def save(self, path: Any) -> None:
        """Write the fitted model to ``path`` (exactly that path, no extension added) as a
        pickle-free ``.npz`` file; read it back with ``crash_core.load(path)``.
        See :func:`crash_core.io.save`."""
        from crash_core.io import save

        save(self, path)

    def to_onnx(self, path: Any = None, *, opset: int | None = None) -> bytes:
        """The fitted model as an ONNX graph of standard operators (bytes; also written to
        ``path`` when given), for ONNX Runtime. Needs the ``onnx`` extra.
        See :func:`crash_core.onnx.to_onnx`."""
        from crash_core.onnx import to_onnx

        return to_onnx(self, path, opset=opset)


def _score_inputs(
    y_true: Any, y_pred: np.ndarray, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray | None]:
    """``y_true`` shaped like the predictions, and the checked weights."""
    y_true = np.asarray(y_true)
    if y_true.ndim == 0:
        raise ValueError(
            f"y must hold one target per sample, got the scalar {y_true.item()!r:.40}."
        )
    if (
        y_true.dtype.kind in "fc"
        and not np.isfinite(y_true).all()
        or y_true.dtype.kind == "O"
        and any(isinstance(v, float) and not math.isfinite(v) for v in y_true.ravel().tolist())
    ):
        raise ValueError(
            "y contains NaN or infinity; a score needs a known target for every sample. Drop "
            "those rows first."
        )
    if y_true.ndim == 2 and y_true.shape[1] == 1 and y_pred.ndim == 1:
        y_true = y_true.ravel()
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{y_pred.shape[0]}, {y_true.shape[0]}]. X and y need one row / one target "
            "per sample."
        )
    return y_true, check_sample_weight(sample_weight, y_true.shape[0])


class ClassifierMixin:
    """Mixin for classifiers: the estimator type and ``score`` as (weighted) accuracy."""

    _estimator_type = "classifier"

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Fraction of samples whose predicted class equals ``y`` (weighted by
        ``sample_weight``): ``accuracy = sum(w * [y_hat == y]) / sum(w)``."""
        y_pred = self.predict(X)
        y_true, weights = _score_inputs(y, y_pred, sample_weight)
        return float(np.average(y_pred == y_true, weights=weights))


class RegressorMixin:
    """Mixin for regressors: the estimator type and ``score`` as (weighted) R²."""

    _estimator_type = "regressor"

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination ``R² = 1 - sum(w (y - y_hat)²) / sum(w (y - ȳ)²)``,
        averaged over outputs. A constant ``y`` scores 1.0 if predicted exactly, else 0.0.
        """
        y_pred = np.asarray(self.predict(X), dtype=np.float64)
        y_true, weights = _score_inputs(y, y_pred, sample_weight)
        y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
        y_pred = y_pred.reshape(len(y_pred), -1)
        w = np.ones(len(y_true)) if weights is None else weights.astype(np.float64)
        y_mean = np.average(y_true, axis=0, weights=w)
        residual = w @ (y_true - y_pred) ** 2
        total = w @ (y_true - y_mean) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1.0 - residual / total, np.where(residual == 0, 1.0, 0.0))
        return float(np.mean(r2))
