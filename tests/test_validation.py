"""The validation gate: what comes out is clean, what is refused says why and how to fix it."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from crash_core._validation import (
    check_array,
    check_classification_targets,
    check_feature_names,
    check_n_features,
    check_option,
    check_sample_weight,
    check_scalar,
    check_two_or_more_classes,
    check_X_y,
    encode_labels,
    validate_X,
    validate_X_y,
)
from crash_core.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from crash_core.models._common import COUNTED_SPAN, counted_classes


class _ArrayLike:
    """Not an ndarray, but convertible with np.asarray (like sklearn's _NotAnArray)."""

    def __init__(self, data):
        self.data = np.asarray(data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)


class _Frame(_ArrayLike):
    """A minimal DataFrame look-alike: an array with named columns."""

    def __init__(self, data, columns):
        super().__init__(data)
        self.columns = list(columns)


class _Sparse:
    def toarray(self):
        return np.zeros((2, 2))


class _Model:
    """Stands in for an estimator: the helpers only set/read attributes on it."""


def test_exceptions_hierarchy():
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    assert issubclass(DataConversionWarning, UserWarning)
    assert issubclass(ConvergenceWarning, UserWarning)


# check_array: what comes out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", "float64"])
def test_check_array_dtype_and_contiguity(dtype):
    X = np.asfortranarray(np.arange(12, dtype=np.int64).reshape(4, 3))
    out = check_array(X, dtype=dtype)
    assert out.dtype == np.dtype(dtype)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_array_clean_input_is_not_copied(dtype):
    X = np.ones((5, 2), dtype=dtype)
    assert check_array(X, dtype=dtype) is X


def test_check_array_numeric_keeps_float_dtypes_and_converts_others():
    X32 = np.ones((3, 2), dtype=np.float32)
    assert check_array(X32, dtype="numeric") is X32
    assert check_array(np.ones((3, 2), dtype=np.int32), dtype="numeric").dtype == np.float64
    assert check_array(np.ones((3, 2), dtype=np.float16), dtype="numeric").dtype == np.float64
    assert check_array([[True, False]], dtype="numeric").dtype == np.float64


def test_check_array_never_modifies_input():
    X = np.asfortranarray(np.arange(6.0).reshape(3, 2))
    before = X.copy()
    out = check_array(X, dtype=np.float32)
    out += 1
    np.testing.assert_array_equal(X, before)


def test_check_array_read_only_and_memmap(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    X.setflags(write=False)
    out = check_array(X)
    assert not out.flags.writeable and np.shares_memory(out, X)

    path = tmp_path / "X.npy"
    np.save(path, np.arange(6.0).reshape(3, 2))
    mm = np.load(path, mmap_mode="r")
    out = check_array(mm)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, mm)


def test_check_array_accepts_lists_and_array_likes():
    np.testing.assert_array_equal(check_array([[1, 2], [3, 4]]), [[1.0, 2.0], [3.0, 4.0]])
    out = check_array(_ArrayLike([[1, 2], [3, 4]]))
    assert out.dtype == np.float64 and out.shape == (2, 2)
    # object arrays of numbers (e.g. a mixed-dtype DataFrame's values) are converted
    assert check_array(np.array([[1, 2.5]], dtype=object)).dtype == np.float64


def test_check_array_one_d_when_allowed():
    assert check_array([1, 2, 3], ensure_2d=False).shape == (3,)


# check_array: what is refused


def test_check_array_sparse():
    with pytest.raises(TypeError, match=r"Sparse input is not supported.*X\.toarray\(\)"):
        check_array(_Sparse())
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="Sparse input is not supported by Model"):
        check_array(sparse.csr_matrix(np.eye(3)), estimator_name="Model")


def test_check_array_complex():
    with pytest.raises(ValueError, match="Complex data not supported"):
        check_array(np.ones((2, 2)) + 1j)


def test_check_array_strings():
    with pytest.raises(ValueError, match=r"X contains values that are not numbers.*'a'"):
        check_array([["a", "b"], ["c", "d"]])


def test_check_array_objects_that_are_not_numbers():
    X = np.ones((2, 2), dtype=object)
    X[0, 0] = {"foo": "bar"}
    # keeps numpy's wording, which scikit-learn's check_dtype_object looks for
    with pytest.raises(TypeError, match="argument must be .* string.* number"):
        check_array(X)


def test_check_array_ragged():
    with pytest.raises(ValueError, match="same number of features"):
        check_array([[1, 2], [3]])


def test_check_array_none_and_scalar():
    with pytest.raises(ValueError, match="got None"):
        check_array(None)
    with pytest.raises(ValueError, match="Expected 2D array, got scalar array"):
        check_array(3.0)


def test_check_array_one_d():
    msg = (
        r"Expected 2D array, got 1D array instead.*Reshape your data either using "
        r"array.reshape\(-1, 1\) if your data has a single feature or "
        r"array.reshape\(1, -1\) if it contains a single sample."
    )
    with pytest.raises(ValueError, match=re.compile(msg, re.DOTALL)):
        check_array([1.0, 2.0])


def test_check_array_three_d():
    with pytest.raises(ValueError, match=r"Found array with dim 3\. Expected <= 2"):
        check_array(np.ones((2, 2, 2)))


def test_check_array_empty():
    with pytest.raises(
        ValueError,
        match=r"0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1 is required by M",
    ):
        check_array(np.empty((0, 3)), estimator_name="M")
    with pytest.raises(
        ValueError, match=r"0 feature\(s\) \(shape=\(4, 0\)\) while a minimum of 1 is required"
    ):
        check_array(np.empty((4, 0)))
    with pytest.raises(ValueError, match=r"1 sample\(s\).*minimum of 2 is required"):
        check_array(np.ones((1, 3)), ensure_min_samples=2)


def test_check_array_nan():
    X = np.ones((3, 2))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN\. Model .*impute.*drop the rows"):
        check_array(X, estimator_name="Model")
    with pytest.raises(ValueError, match=r"Input X contains NaN"):
        check_array(np.array([[1, None]], dtype=object))


def test_check_array_infinity():
    X = np.ones((3, 2))
    X[0, 0] = -np.inf
    msg = r"Input X contains infinity or a value too large for dtype\('float64'\)\."
    with pytest.raises(ValueError, match=msg):
        check_array(X)


def test_check_array_too_large_for_float32():
    X = np.full((2, 2), 1e300)
    assert np.isfinite(check_array(X)).all()  # a large but finite sum is fine in float64
    with pytest.raises(ValueError, match=r"too large for dtype\('float32'\).*'float64'"):
        check_array(X, dtype=np.float32)


def test_check_array_finite_values_whose_sum_overflows():
    X = np.full((4, 1), np.finfo(np.float64).max)
    assert check_array(X) is X


def test_check_array_bad_dtype_argument():
    with pytest.raises(ValueError, match="dtype must be 'float32', 'float64' or 'numeric'"):
        check_array([[1.0]], dtype=np.int64)


# check_X_y


def test_check_X_y_clean():
    X, y = check_X_y([[1, 2], [3, 4]], [0, 1])
    assert X.dtype == np.float64 and y.tolist() == [0, 1]
    labels = np.array(["a", "b"])
    _, y = check_X_y([[1], [2]], labels)
    assert y is labels  # class labels keep their dtype


def test_check_X_y_inconsistent_lengths():
    msg = r"Found input variables with inconsistent numbers of samples: \[3, 2\]\. X and y"
    with pytest.raises(ValueError, match=msg):
        check_X_y(np.ones((3, 2)), [0, 1])


def test_check_X_y_y_none():
    with pytest.raises(ValueError, match="Model requires y to be passed, but the target y is None"):
        check_X_y(np.ones((3, 2)), None, estimator_name="Model")


@pytest.mark.parametrize(
    "value, msg",
    [(np.nan, "Input y contains NaN"), (np.inf, "Input y contains infinity")],
)
def test_check_X_y_non_finite_y(value, msg):
    y = np.array([0.0, 1.0, value])
    with pytest.raises(ValueError, match=msg):
        check_X_y(np.ones((3, 2)), y)
    with pytest.raises(ValueError, match=msg):
        check_X_y(np.ones((3, 2)), y, y_numeric=True)


def test_check_X_y_missing_object_label():
    with pytest.raises(ValueError, match="Input y contains NaN or None"):
        check_X_y(np.ones((2, 2)), np.array(["a", None], dtype=object))


def test_check_X_y_complex_y():
    with pytest.raises(ValueError, match="Complex data not supported"):
        check_X_y(np.ones((2, 2)), np.array([1 + 1j, 2]))


def test_check_X_y_column_vector_warns_and_ravels():
    y = np.array([[0], [1], [0]])
    msg = (
        "A column-vector y was passed when a 1d array was expected. Please change the shape "
        "of y to (n_samples, ), for example using ravel()."
    )
    with pytest.warns(DataConversionWarning, match=re.escape(msg)) as record:
        _, out = check_X_y(np.ones((3, 2)), y)
    assert out.shape == (3,)
    # scikit-learn's check_supervised_y_2d looks for this exact repr prefix
    assert repr(record[0].message).startswith(
        "DataConversionWarning('A column-vector y was passed when a 1d array was expected"
    )


def test_check_X_y_multi_output():
    y = np.arange(6).reshape(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, out = check_X_y(np.ones((3, 2)), y, y_numeric=True, multi_output=True)
        _, col = check_X_y(np.ones((3, 2)), y[:, :1], y_numeric=True, multi_output=True)
    assert out.shape == (3, 2) and out.dtype == np.float64
    assert col.shape == (3, 1)
    with pytest.raises(ValueError, match=r"y should be a 1d array.*shape \(3, 2\)"):
        check_X_y(np.ones((3, 2)), y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_X_y_y_numeric_uses_dtype(dtype):
    X, y = check_X_y(np.ones((3, 2)), [1, 2, 3], dtype=dtype, y_numeric=True)
    assert X.dtype == dtype and y.dtype == dtype and y.flags.c_contiguous


def test_check_X_y_y_numeric_strings():
    with pytest.raises(ValueError, match="y contains values that are not numbers"):
        check_X_y(np.ones((2, 2)), ["a", "b"], y_numeric=True)


def test_check_X_y_validates_X_first():
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        check_X_y(np.empty((0, 3)), [])


# classification targets and labels


@pytest.mark.parametrize(
    "y",
    [[0, 1, 1], [1.0, 2.0, 3.0], ["a", "b", "a"], [True, False, True], np.array([1, 2], "O")],
)
def test_check_classification_targets_accepts_labels(y):
    check_classification_targets(y)


@pytest.mark.parametrize(
    "y, kind",
    [
        ([0.5, 1.0, 2.0], "continuous"),
        (np.array([0.5, 1], dtype=object), "continuous"),
        ([[0.5, 1.0], [1.0, 2.0]], "continuous-multioutput"),
        ([[0, 1], [1, 2]], "multiclass-multioutput"),
    ],
)
def test_check_classification_targets_rejects(y, kind):
    with pytest.raises(ValueError, match=f"Unknown label type: {kind}"):
        check_classification_targets(y)


def test_check_classification_targets_continuous_suggests_a_regressor():
    with pytest.raises(ValueError, match="continuous.*regressor"):
        check_classification_targets([0.1, 0.2])


def test_check_classification_targets_mixed_types():
    with pytest.raises(ValueError, match=r"Unknown label type: labels mix types.*astype\(str\)"):
        check_classification_targets(np.array([1, "a"], dtype=object))
    with pytest.raises(ValueError, match="Unknown label type: labels of type dict"):
        check_classification_targets(np.array([{"a": 1}, {"b": 2}], dtype=object))


@pytest.mark.parametrize(
    "y, classes",
    [
        ([3, 1, 3, 2], [1, 2, 3]),
        (["b", "a", "b"], ["a", "b"]),
        ([True, False], [False, True]),
        (np.array(["b", "a"], dtype=object), ["a", "b"]),
    ],
)
def test_encode_labels(y, classes):
    classes_, idx = encode_labels(y)
    assert classes_.tolist() == classes
    assert idx.dtype == np.intp
    assert classes_[idx].tolist() == list(y)


@pytest.mark.parametrize(
    "y",
    [
        np.array([3, 1, 3, 2]),
        np.array([-7, 40, -7, 0, 40], dtype=np.int32),
        np.array([255, 0, 3], dtype=np.uint8),
        np.array([2**62, 5, 2**62], dtype=np.int64),  # too wide a span to count: None
        np.arange(-3, 1000, 7)[::-1].copy(),
    ],
)
def test_counted_classes_are_encode_labels_classes(y):
    counted = counted_classes(y)
    if np.ptp(y) >= COUNTED_SPAN:
        assert counted is None
        return
    classes_, idx = counted
    expected_classes, expected_idx = encode_labels(y)
    assert classes_.dtype == expected_classes.dtype
    np.testing.assert_array_equal(classes_, expected_classes)
    assert idx.dtype == np.intp
    np.testing.assert_array_equal(idx, expected_idx)


def test_counted_classes_leave_other_labels_to_the_full_check():
    assert counted_classes(np.array([1.0, 2.0])) is None
    assert counted_classes(np.array([True, False])) is None
    assert counted_classes(np.array([], dtype=int)) is None
    assert counted_classes(np.array([[1, 2]])) is None


def test_encode_labels_mixed_types():
    with pytest.raises(ValueError, match="mix types"):
        encode_labels(np.array([1, "a", 2], dtype=object))


def test_encode_labels_against_known_classes():
    classes_, idx = encode_labels(["b", "b"], classes=["c", "a", "b"])
    assert classes_.tolist() == ["a", "b", "c"] and idx.tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"labels not seen before: \['z'\].*Known classes"):
        encode_labels(["a", "z"], classes=["a", "b"])
    with pytest.raises(ValueError, match=r"labels not seen before: \[5\]"):
        encode_labels([1, 5], classes=[1, 2])
    with pytest.raises(ValueError, match="labels not seen before"):
        encode_labels([1, 2], classes=["a", "b"])


def test_encode_labels_empty_classes():
    with pytest.raises(ValueError, match="classes is empty"):
        encode_labels([1], classes=[])


def test_encode_labels_needs_one_d():
    with pytest.raises(ValueError, match="1d array of labels"):
        encode_labels([[1, 2]])


def test_check_two_or_more_classes():
    check_two_or_more_classes(np.array([0, 1]), "Model")
    msg = r"Model needs .*at least 2 classes.*only one class: 'spam'"
    with pytest.raises(ValueError, match=msg):
        check_two_or_more_classes(np.array(["spam"]), "Model")


# sample weights


def test_check_sample_weight_none_and_scalar():
    assert check_sample_weight(None, 3) is None
    np.testing.assert_array_equal(check_sample_weight(2, 3), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_sample_weight_array(dtype):
    w = np.array([1, 2, 0], dtype=np.int64)
    out = check_sample_weight(w, 3, dtype)
    assert out.dtype == dtype and out.flags.c_contiguous
    clean = np.ones(3, dtype=dtype)
    assert check_sample_weight(clean, 3, dtype) is clean
    assert check_sample_weight([1, 1, 1], 3).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "weights, msg",
    [
        (np.ones(4), r"sample_weight.shape == \(4,\), expected \(3,\)"),
        (np.ones((3, 1)), r"sample_weight.shape == \(3, 1\), expected \(3,\)"),
        (np.array([1.0, -1.0, 1.0]), "negative values.*>= 0"),
        (np.array([1.0, np.nan, 1.0]), "Input sample_weight contains NaN"),
        (np.array([1.0, np.inf, 1.0]), "Input sample_weight contains infinity"),
        (np.zeros(3), "only zeros.*positive weight"),
        (0, "only zeros"),
    ],
)
def test_check_sample_weight_errors(weights, msg):
    with pytest.raises(ValueError, match=msg):
        check_sample_weight(weights, 3)


# number of features and feature names


def test_check_n_features():
    model = _Model()
    check_n_features(model, np.ones((2, 4)), reset=True)
    assert model.n_features_in_ == 4
    check_n_features(model, np.ones((5, 4)), reset=False)
    msg = "X has 1 features, but _Model is expecting 4 features as input."
    with pytest.raises(ValueError, match=msg):
        check_n_features(model, np.ones((5, 1)), reset=False)
    check_n_features(_Model(), np.ones((5, 1)), reset=False)  # not fitted: nothing to check


def test_feature_names_recorded_and_checked():
    model = _Model()
    X = np.ones((2, 2))
    check_feature_names(model, _Frame(X, ["a", "b"]), reset=True)
    assert model.feature_names_in_.tolist() == ["a", "b"]
    check_feature_names(model, _Frame(X, ["a", "b"]), reset=False)
    with pytest.raises(ValueError, match="same order as they were in fit"):
        check_feature_names(model, _Frame(X, ["b", "a"]), reset=False)
    msg = re.compile(r"unseen at fit time: \['c'\].*now missing: \['b'\]", re.DOTALL)
    with pytest.raises(ValueError, match=msg):
        check_feature_names(model, _Frame(X, ["a", "c"]), reset=False)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        check_feature_names(model, X, reset=False)
    check_feature_names(model, X, reset=True)  # refit without names forgets them
    assert not hasattr(model, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but _Model was fitted without"):
        check_feature_names(model, _Frame(X, ["a", "b"]), reset=False)


def test_feature_names_only_strings_count():
    model = _Model()
    check_feature_names(model, _Frame(np.ones((2, 2)), [0, 1]), reset=True)
    assert not hasattr(model, "feature_names_in_")
    with pytest.raises(TypeError, match=r"X.columns = X.columns.astype\(str\)"):
        check_feature_names(model, _Frame(np.ones((2, 2)), ["a", 1]), reset=True)


def test_validate_X_and_X_y():
    model = _Model()
    X, y = validate_X_y(model, _Frame([[1, 2], [3, 4]], ["a", "b"]), [0, 1])
    assert X.dtype == np.float64 and model.n_features_in_ == 2
    assert model.feature_names_in_.tolist() == ["a", "b"]
    out = validate_X(model, _Frame([[1, 2]], ["a", "b"]), reset=False, dtype=np.float32)
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="X has 3 features, but _Model is expecting 2"):
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            validate_X(model, np.ones((1, 3)), reset=False)


# hyperparameters


def test_check_scalar_valid():
    assert check_scalar(np.float32(0.5), "dropout", kind=float, min_val=0, max_val=1) == 0.5
    assert type(check_scalar(np.int64(3), "epochs", kind=int, min_val=1)) is int
    assert type(check_scalar(2, "learning_rate", kind=float)) is float
    assert check_scalar(np.bool_(True), "shuffle", kind=bool) is True


@pytest.mark.parametrize(
    "value, kind, msg",
    [
        (True, int, "epochs must be an integer, got True of type bool"),
        (2.0, int, "epochs must be an integer, got 2.0 of type float. Pass an integer >= 1"),
        ("3", float, "epochs must be a real number, got '3' of type str"),
        (1, bool, "epochs must be a bool"),
    ],
)
def test_check_scalar_wrong_type(value, kind, msg):
    with pytest.raises(TypeError, match=re.escape(msg)):
        check_scalar(value, "epochs", kind=kind, min_val=1)


@pytest.mark.parametrize(
    "value, bounds, msg",
    [
        (-0.1, dict(min_val=0, include_min=False), "learning_rate=-0.1 is out of range: "),
        (0, dict(min_val=0, include_min=False), "learning_rate must be > 0. Choose"),
        (-1, dict(min_val=0), "learning_rate must be >= 0"),
        (1.0, dict(min_val=0, max_val=1, include_max=False), "must be in [0, 1)."),
        (0, dict(min_val=0, max_val=1, include_min=False), "must be in (0, 1]."),
        (5, dict(max_val=1), "learning_rate must be <= 1. Choose a learning_rate <= 1."),
        (2, dict(max_val=2, include_max=False), "must be < 2"),
        (float("nan"), dict(min_val=0), "learning_rate must be a number, got nan"),
    ],
)
def test_check_scalar_out_of_range(value, bounds, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        check_scalar(value, "learning_rate", kind=float, **bounds)


def test_check_scalar_bad_kind():
    with pytest.raises(ValueError, match="kind must be float, int or bool"):
        check_scalar(1, "x", kind=str)


def test_check_option():
    assert check_option("relu", "activation", ("sigmoid", "tanh", "relu")) == "relu"
    msg = (
        "Unknown activation 'relux'. Valid options: 'relu', 'sigmoid', 'tanh'. Did you mean 'relu'?"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        check_option("relux", "activation", ("sigmoid", "tanh", "relu"))
    with pytest.raises(ValueError, match=r"Valid options: 'adam', 'sgd'\.$"):
        check_option("zzz", "optimizer", ["sgd", "adam"])
    with pytest.raises(TypeError, match="activation must be a string, one of 'relu'; got 3"):
        check_option(3, "activation", ["relu"])
    with pytest.raises(TypeError, match="must be a string"):
        check_option(np.array([1, 2]), "activation", ["relu"])
    assert check_option(None, "lr_schedule", [None, "step"]) is None
