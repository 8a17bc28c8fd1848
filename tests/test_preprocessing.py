"""TabularPreprocessor (impute + standardise numbers, one-hot text, drop columns) as a
scikit-learn transformer, its pickle-free state in the model file, and target_kind."""

import json
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import crash_core as cc
from crash_core.io import ModelFileError
from crash_core.preprocessing import TabularPreprocessor, target_kind

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")


def table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.normal(5.0, 2.0, n),
        "size": rng.choice(["S", "M", "L"], n),
        "z": rng.integers(0, 100, n).astype(float),
        "note": [f"row {i}" for i in range(n)],
    })
    frame.loc[::7, "x"] = np.nan
    frame.loc[::11, "size"] = None
    y = ((frame["x"].fillna(5.0) > 5.0) | (frame["size"] == "L")).astype(int).to_numpy()
    return frame, y


def test_numbers_are_imputed_with_the_mean_and_standardised():
    frame, _ = table()
    prep = TabularPreprocessor(drop=["note"]).fit(frame)
    out = prep.transform(frame)
    x = frame["x"].to_numpy()
    mean, std = np.nanmean(x), np.nanstd(x)
    assert_allclose(out[:, 0], (np.where(np.isnan(x), mean, x) - mean) / std)
    assert_allclose(out[np.isnan(x), 0], 0.0, atol=1e-12)  # a gap becomes the mean
    names = prep.get_feature_names_out().tolist()
    assert names == ["x", "size=L", "size=M", "size=S", "z"]
    assert prep.kinds_ == ["numeric", "categorical", "numeric", "dropped"]
    onehot = out[:, 1:4]
    assert_array_equal(onehot.sum(axis=1), np.where(frame["size"].isna(), 0, 1))
    assert out.dtype == np.float64 and out.flags.c_contiguous


def test_unknown_categories_at_predict_time_are_zeros_or_an_error():
    frame, _ = table()
    prep = TabularPreprocessor(drop=["note"]).fit(frame)
    new = frame.head(3).copy()
    new.loc[:, "size"] = ["XL", "S", "XXL"]
    out = prep.transform(new)
    assert_array_equal(out[:, 1:4], [[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    strict = TabularPreprocessor(drop=["note"], handle_unknown="error").fit(frame)
    with pytest.raises(ValueError, match="'XL', not seen in training"):
        strict.transform(new)


def test_columns_are_matched_by_name_and_checked():
    frame, _ = table()
    prep = TabularPreprocessor(drop=["note"]).fit(frame)
    shuffled = frame[["z", "note", "size", "x"]]
    assert_array_equal(prep.transform(shuffled), prep.transform(frame))
    # the dropped column need not be there at all
    assert_array_equal(prep.transform(frame.drop(columns=["note"])), prep.transform(frame))
    with pytest.raises(ValueError, match=r"no column\(s\) \['z'\]"):
        prep.transform(frame.drop(columns=["z"]))
    bad = frame.copy()
    bad["x"] = bad["x"].astype(object)
    bad.loc[3, "x"] = "seven"
    with pytest.raises(ValueError, match="'x' was numeric in training but holds 'seven'"):
        prep.transform(bad)
    with pytest.raises(ValueError, match="drop names 'nope'"):
        TabularPreprocessor(drop=["nope"]).fit(frame)


def test_a_plain_array_with_text_works_by_position():
    X = np.array([[1.0, "red"], [np.nan, "blue"], [3.0, "red"]], dtype=object)
    prep = TabularPreprocessor().fit(X)
    assert prep.get_feature_names_out().tolist() == ["0", "1=blue", "1=red"]
    assert_allclose(prep.transform(X), [[-1, 0, 1], [0, 1, 0], [1, 0, 1]])
    with pytest.raises(ValueError, match="X has 1 columns, but the preprocessor was fitted on 2"):
        prep.transform(X[:, :1])


def test_in_a_sklearn_pipeline_with_a_model_and_clone():
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    frame, y = table(300)
    pipe = make_pipeline(
        TabularPreprocessor(drop=["note"]), cc.LogisticRegression(random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning in a normal run
        scores = cross_val_score(pipe, frame, y, cv=3)
    assert scores.mean() > 0.9
    again = clone(pipe)
    assert again.get_params()["tabularpreprocessor__drop"] == ["note"]
    assert "TabularPreprocessor" in again[0]._repr_html_()


def test_state_is_json_and_round_trips():
    frame, _ = table()
    prep = TabularPreprocessor(drop=["note"], categorical=["z"]).fit(frame)
    config = json.loads(json.dumps(prep.to_config()))
    back = TabularPreprocessor.from_config(config)
    assert_array_equal(back.transform(frame), prep.transform(frame))
    assert back.get_params() == {
        "drop": ["note"], "categorical": ["z"], "handle_unknown": "ignore", "standardize": True,
        "standardize_target": False,
    }
    broken = json.loads(json.dumps(config))
    broken["scale"]["x"] = 0.0
    with pytest.raises(ValueError, match=r"scale\['x'\] must be > 0"):
        TabularPreprocessor.from_config(broken)
    with pytest.raises(ValueError, match="Invalid preprocessing config"):
        TabularPreprocessor.from_config({"columns": []})


def test_the_model_file_carries_the_preprocessing(tmp_path):
    frame, y = table()
    prep = TabularPreprocessor(drop=["note"]).fit(frame)
    model = cc.MLPClassifier(hidden_layers=(8,), epochs=5, random_state=0)
    model.fit(prep.transform(frame), y)
    model.preprocessor_ = prep
    path = tmp_path / "m.ccm"
    model.save(path)
    loaded = cc.load(path)
    assert_array_equal(loaded.preprocessor_.transform(frame), prep.transform(frame))
    assert_array_equal(
        loaded.predict(loaded.preprocessor_.transform(frame)), model.predict(prep.transform(frame))
    )
    # a preprocessing that does not fit the network is refused on loading
    model.preprocessor_ = TabularPreprocessor(drop=["note", "size"]).fit(frame)
    model.save(path)
    with pytest.raises(ModelFileError, match="the preprocessing gives 2 features"):
        cc.load(path)


@pytest.mark.parametrize(
    "y, kind",
    [
        (["a", "b", "a"], "classification"),
        ([True, False, True], "classification"),
        ([0, 1, 2, 1, 0], "classification"),
        ([0.0, 1.0, 1.0], "classification"),
        ([0.5, 1.0, 1.5], "regression"),
        (list(range(21)), "regression"),
        (list(range(20)), "classification"),
    ],
)
def test_target_kind(y, kind):
    assert target_kind(np.array(y))[0] == kind


def test_target_kind_says_why():
    kind, reason = target_kind(np.arange(214) % 214)
    assert kind == "regression" and reason == "numeric with 214 distinct values"
    with pytest.raises(ValueError, match="missing values"):
        target_kind(np.array([1.0, np.nan]))


def test_a_regression_target_is_standardised_and_mapped_back():
    frame, _ = table()
    y = 1000.0 * frame["z"].to_numpy() + 5e4
    prep = TabularPreprocessor(drop=["note"], standardize_target=True).fit(frame, y)
    z = prep.transform_target(y)
    assert abs(z.mean()) < 1e-12 and z.std() == pytest.approx(1.0)
    assert_allclose(prep.inverse_transform_target(z), y)
    back = TabularPreprocessor.from_config(json.loads(json.dumps(prep.to_config())))
    assert_allclose(back.inverse_transform_target(z), y)
    plain = TabularPreprocessor().fit(frame)
    assert_array_equal(plain.transform_target(y), y)  # the identity without the option
    with pytest.raises(ValueError, match="needs the target"):
        TabularPreprocessor(standardize_target=True).fit(frame)
