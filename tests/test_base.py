"""The estimator plumbing, proven on two toy models built only from crash_core.base and the
validation helpers: scikit-learn's full estimator check suite, clone, pickle, GridSearchCV."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn.exceptions
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from crash_core._validation import (
    check_classification_targets,
    check_option,
    check_sample_weight,
    check_scalar,
    check_two_or_more_classes,
    encode_labels,
    validate_X,
    validate_X_y,
)
from crash_core.base import BaseEstimator, ClassifierMixin, RegressorMixin
from crash_core.exceptions import NotFittedError


class NearestMeanClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the class with the nearest (weighted) mean; P = softmax(-d² / temperature)."""

    def __init__(self, temperature=1.0, dtype="float64"):
        self.temperature = temperature
        self.dtype = dtype

    def fit(self, X, y, sample_weight=None):
        X, y = validate_X_y(self, X, y, dtype=self._checked_dtype())
        check_classification_targets(y)
        classes, _ = encode_labels(y)
        check_two_or_more_classes(classes, type(self).__name__)
        self._start(classes, X.shape[1], X.dtype)
        self._accumulate(X, y, sample_weight)
        empty = self.classes_[self._weights == 0]
        if empty.size:
            raise ValueError(
                f"class {empty[0]!r} has no sample with a positive sample_weight; every class "
                "needs at least one."
            )
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        first_call = not hasattr(self, "classes_")
        if first_call and classes is None:
            raise ValueError("Pass classes= (every class) on the first call to partial_fit.")
        X, y = validate_X_y(self, X, y, reset=first_call, dtype=self._checked_dtype())
        if first_call:
            check_classification_targets(y)
            classes_, _ = encode_labels(classes)
            check_two_or_more_classes(classes_, type(self).__name__)
            self._start(classes_, X.shape[1], X.dtype)
        self._accumulate(X, y, sample_weight)
        return self

    def predict_proba(self, X):
        self._check_is_fitted("classes_")
        X = validate_X(self, X, reset=False, dtype=self._checked_dtype())
        d2 = ((X[:, None, :] - self.means_[None, :, :]) ** 2).sum(axis=2)
        d2 = np.where(self._weights > 0, d2, np.inf)  # classes not seen yet
        logits = -d2 / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        proba = self.predict_proba(X)  # checks the fitted state first
        return self.classes_[np.argmax(proba, axis=1)]

    def _checked_dtype(self):
        check_scalar(self.temperature, "temperature", kind=float, min_val=0, include_min=False)
        return check_option(self.dtype, "dtype", ("float32", "float64"))

    def _start(self, classes, n_features, dtype):
        self.classes_ = classes
        self._sums = np.zeros((classes.size, n_features), dtype=dtype)
        self._weights = np.zeros(classes.size, dtype=dtype)

    def _accumulate(self, X, y, sample_weight):
        _, idx = encode_labels(y, classes=self.classes_)
        w = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        w = np.ones(X.shape[0], dtype=X.dtype) if w is None else w
        np.add.at(self._sums, idx, w[:, None] * X)
        np.add.at(self._weights, idx, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.means_ = np.nan_to_num(self._sums / self._weights[:, None])


class RidgeRegressor(RegressorMixin, BaseEstimator):
    """Weighted ridge regression, closed form: w = (Xc' W Xc + alpha I)^-1 Xc' W yc."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None):
        alpha = check_scalar(self.alpha, "alpha", kind=float, min_val=0)
        X, y = validate_X_y(self, X, y, y_numeric=True, multi_output=True)
        w = check_sample_weight(sample_weight, X.shape[0])
        w = np.ones(X.shape[0]) if w is None else w
        x_mean = np.average(X, axis=0, weights=w)
        y_mean = np.average(y, axis=0, weights=w)
        Xc, yc = X - x_mean, y - y_mean
        gram = Xc.T @ (w[:, None] * Xc) + alpha * np.eye(X.shape[1])
        self.coef_ = np.linalg.lstsq(gram, Xc.T @ (w * yc.T).T, rcond=None)[0]
        self.intercept_ = y_mean - x_mean @ self.coef_
        return self

    def predict(self, X):
        self._check_is_fitted()
        X = validate_X(self, X, reset=False)
        return X @ self.coef_ + self.intercept_

    def _tags_update(self, tags):
        super()._tags_update(tags)
        tags.target_tags.multi_output = True


class Nested(BaseEstimator):
    """An estimator holding another one, for nested parameters."""

    def __init__(self, model=None, scale=1):
        self.model = model
        self.scale = scale


# Every check is expected to pass: none is marked as an expected failure.
# scikit-learn warns that the toys do not inherit sklearn.base.BaseEstimator: by design.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Estimator .* does not inherit from")
    _SKLEARN_CHECKS = parametrize_with_checks([NearestMeanClassifier(), RidgeRegressor()])


@_SKLEARN_CHECKS
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# get_params / set_params


def test_get_params_in_signature_order():
    assert NearestMeanClassifier(temperature=2.0).get_params() == {
        "temperature": 2.0,
        "dtype": "float64",
    }


def test_get_params_deep_and_set_params_nested():
    est = Nested(model=RidgeRegressor(alpha=3.0))
    assert est.get_params(deep=False) == {"model": est.model, "scale": 1}
    assert est.get_params()["model__alpha"] == 3.0
    assert est.set_params(model__alpha=0.5, scale=2) is est
    assert est.model.alpha == 0.5 and est.scale == 2
    # replacing the nested estimator and setting its parameter in one call
    est.set_params(model=RidgeRegressor(), model__alpha=7.0)
    assert est.model.alpha == 7.0


def test_set_params_invalid_names():
    msg = (
        r"Invalid parameter 'alpah' for estimator RidgeRegressor. Valid parameters are: \['alpha'\]"
    )
    with pytest.raises(ValueError, match=msg):
        RidgeRegressor().set_params(alpah=1.0)
    with pytest.raises(ValueError, match="Invalid parameter 'alpah' for estimator RidgeRegressor"):
        Nested(model=RidgeRegressor()).set_params(model__alpah=1.0)
    with pytest.raises(ValueError, match="scale=1 has no parameters of its own"):
        Nested().set_params(scale__x=1)


def test_set_params_stores_without_validating():
    est = RidgeRegressor().set_params(alpha=-1.0)
    assert est.alpha == -1.0
    with pytest.raises(ValueError, match=r"alpha=-1.0 is out of range: alpha must be >= 0"):
        est.fit(np.ones((3, 2)), [1, 2, 3])


def test_varargs_init_is_rejected():
    class Bad(BaseEstimator):
        def __init__(self, *layers):
            self.layers = layers

    with pytest.raises(TypeError, match=r"takes \*layers"):
        Bad().get_params()


# repr


def test_repr_shows_only_non_default_params():
    assert repr(NearestMeanClassifier()) == "NearestMeanClassifier()"
    assert repr(NearestMeanClassifier(dtype="float32")) == "NearestMeanClassifier(dtype='float32')"
    assert repr(Nested(model=RidgeRegressor(alpha=2))) == "Nested(model=RidgeRegressor(alpha=2))"
    nan_default = type("NanDefault", (BaseEstimator,), {"__init__": _nan_init})
    assert repr(nan_default(tol=float("nan"))) == "NanDefault()"


def _nan_init(self, tol=float("nan")):
    self.tol = tol


def test_repr_wraps_long_lines():
    text = repr(Nested(model="m" * 50, scale="s" * 50))
    lines = text.splitlines()
    assert len(lines) == 2 and all(len(line) <= 79 for line in lines)
    assert lines[1].startswith(" " * len("Nested(") + "scale=")
    assert text.endswith("')")


# tags


def test_tags():
    clf, reg, plain = (
        get_tags(NearestMeanClassifier()),
        get_tags(RidgeRegressor()),
        get_tags(Nested()),
    )
    assert clf.estimator_type == "classifier" and clf.classifier_tags is not None
    assert clf.regressor_tags is None and clf.target_tags.required
    assert reg.estimator_type == "regressor" and reg.regressor_tags is not None
    assert reg.target_tags.required and reg.target_tags.multi_output
    assert plain.estimator_type is None and not plain.target_tags.required
    for tags in (clf, reg, plain):
        assert tags.input_tags.two_d_array and not tags.input_tags.sparse
        assert not tags.input_tags.allow_nan
    assert is_classifier(NearestMeanClassifier()) and is_regressor(RidgeRegressor())


# fitted state


@pytest.mark.parametrize("est", [NearestMeanClassifier(), RidgeRegressor()])
def test_not_fitted_error(est):
    msg = (
        f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with appropriate "
        "arguments before using this estimator."
    )
    with pytest.raises(NotFittedError, match=msg) as info:
        est.predict(np.ones((2, 2)))
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)
    # scikit-learn is imported here, so its tools recognise the error as theirs too
    assert isinstance(info.value, sklearn.exceptions.NotFittedError)
    assert type(info.value).__name__ == "NotFittedError"
    # and it unpickles as crash_core's own class, without needing scikit-learn
    assert type(pickle.loads(pickle.dumps(info.value))) is NotFittedError


def test_check_is_fitted_without_attr_uses_trailing_underscore():
    est = RidgeRegressor()
    assert not est.__sklearn_is_fitted__()
    est.fit(np.arange(6.0).reshape(3, 2), [1.0, 2.0, 3.0])
    assert est.__sklearn_is_fitted__()
    est._check_is_fitted()


# score


def test_classifier_score_is_weighted_accuracy():
    X = np.array([[0.0], [0.1], [1.0], [1.1]])
    clf = NearestMeanClassifier().fit(X, ["a", "a", "b", "b"])
    y_other = ["a", "b", "b", "b"]  # one of four wrong
    assert clf.score(X, y_other) == pytest.approx(0.75)
    assert clf.score(X, y_other, sample_weight=[1, 3, 1, 1]) == pytest.approx(0.5)
    assert clf.score(X, np.array(y_other)[:, None]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.score(X, y_other[:3])


def test_regressor_score_is_weighted_r2():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, -2.0] + rng.normal(scale=0.5, size=30)
    reg = RidgeRegressor(alpha=0.0).fit(X, y)
    w = rng.uniform(0.5, 2.0, size=30)
    y_hat = reg.predict(X)
    y_bar = np.average(y, weights=w)
    expected = 1 - np.sum(w * (y - y_hat) ** 2) / np.sum(w * (y - y_bar) ** 2)
    assert reg.score(X, y, sample_weight=w) == pytest.approx(expected)
    # multi-output: the mean of the per-output R²
    Y = np.column_stack([y, 2 * y + 1])
    reg2 = RidgeRegressor(alpha=0.0).fit(X, Y)
    assert reg2.score(X, Y) == pytest.approx(reg.score(X, y))


def test_regressor_score_constant_target():
    X = np.arange(4.0).reshape(4, 1)
    reg = RidgeRegressor().fit(X, np.full(4, 2.0))
    assert reg.score(X, np.full(4, 2.0)) == 1.0
    assert reg.score(X, np.full(4, 2.0) + [0, 0, 0, 1e-3]) < 1.0


# scikit-learn tools on the toys


def test_clone_gives_an_unfitted_copy_with_the_same_params():
    clf = NearestMeanClassifier(temperature=0.5).fit([[0.0], [1.0]], [0, 1])
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    assert not hasattr(copy, "classes_")


@pytest.mark.parametrize(
    "est, X, y",
    [
        (NearestMeanClassifier(), [[0.0, 1.0], [1.0, 0.0], [0.1, 0.9]], ["x", "y", "x"]),
        (RidgeRegressor(alpha=0.1), [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [1.0, 2.0, 3.0]),
    ],
)
def test_pickle_round_trip(est, X, y):
    est.fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    assert repr(restored) == repr(est)


def test_grid_search_on_toys():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(3, 1, (30, 2))])
    y = np.repeat(["low", "high"], 30)
    search = GridSearchCV(NearestMeanClassifier(), {"temperature": [0.1, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["temperature"] in (0.1, 1.0)
    assert search.best_estimator_.score(X, y) > 0.9

    y_reg = X @ [1.0, 2.0]
    search = GridSearchCV(RidgeRegressor(), {"alpha": [0.0, 10.0, 1000.0]}, cv=3).fit(X, y_reg)
    assert search.best_params_ == {"alpha": 0.0}


def test_pipeline_on_toy():
    X = np.array([[0.0], [0.2], [1.0], [1.2]])
    pipe = make_pipeline(NearestMeanClassifier()).fit(X, [0, 0, 1, 1])
    assert pipe.score(X, [0, 0, 1, 1]) == 1.0


def test_partial_fit_matches_fit():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 3)), np.tile(["a", "b", "c", "d"], 10)
    full = NearestMeanClassifier().fit(X, y)
    parts = NearestMeanClassifier().partial_fit(X[:20], y[:20], classes=["a", "b", "c", "d"])
    parts.partial_fit(X[20:], y[20:])
    np.testing.assert_allclose(parts.means_, full.means_)
    with pytest.raises(ValueError, match=r"labels not seen before: \['e'\]"):
        parts.partial_fit(X[:1], ["e"])


def test_runtime_does_not_import_sklearn():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import crash_core as cc
        from crash_core.base import BaseEstimator, RegressorMixin
        from crash_core._validation import validate_X, validate_X_y

        class Mean(RegressorMixin, BaseEstimator):
            def fit(self, X, y):
                X, y = validate_X_y(self, X, y, y_numeric=True)
                self.mean_ = y.mean()
                return self

            def predict(self, X):
                self._check_is_fitted()
                return np.full(len(validate_X(self, X, reset=False)), self.mean_)

        try:
            Mean().predict([[1.0]])
        except cc.NotFittedError as exc:
            assert type(exc) is cc.NotFittedError
        Mean().fit([[1.0], [2.0]], [1.0, 3.0]).score([[1.0]], [2.0])
        assert "sklearn" not in sys.modules, "crash_core imported scikit-learn"
        """
    )
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo)
