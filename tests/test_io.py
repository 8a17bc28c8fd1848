"""Model persistence: ``model.save(path)`` / ``cc.load(path)``.

Round trips of every model (binary and multiclass, string / int / bool / object labels,
1-D and 2-D regression targets, float32 and float64) give bit-identical predictions, equal
parameters, history and fitted attributes; a battery of corrupt, truncated, edited and
foreign files each raises a ValueError naming the problem, and loading never unpickles.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import crash_core as cc
from crash_core.callbacks import History
from crash_core.io import FORMAT_NAME, FORMAT_VERSION, ModelFileError
from crash_core.optimizers import SGD, Adam
from crash_core.schedules import StepDecay

# --------------------------------------------------------------------------- data / models


def binary_data(n=60, seed=0):
    X, y = cc.datasets.moons(n, random_state=seed)
    return X, np.array(["no", "yes"])[y]


def multiclass_data(n=60, seed=0, k=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(n, 3)) + y[:, None]
    return X, np.array(["ant", "bee", "cat", "dog"])[y]


def regression_data(n=60, seed=0, two_d=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)
    return X, (np.c_[y, 2 * y - 1] if two_d else y)


CASES = {
    "perceptron-binary": (lambda: cc.Perceptron(epochs=5, random_state=0), binary_data),
    "perceptron-multi-f32": (
        lambda: cc.Perceptron(epochs=5, random_state=0, dtype="float32"),
        multiclass_data,
    ),
    "logistic-binary": (lambda: cc.LogisticRegression(epochs=5, random_state=0), binary_data),
    "logistic-multi-f32-adam": (
        lambda: cc.LogisticRegression(
            epochs=5, batch_size=8, optimizer=Adam(beta1=0.8), dtype="float32", random_state=0
        ),
        multiclass_data,
    ),
    "mlp-binary-f32": (
        lambda: cc.MLPClassifier(hidden_layers=(6, 4), epochs=4, random_state=0),
        binary_data,
    ),
    "mlp-binary-f64-tricks": (
        lambda: cc.MLPClassifier(
            hidden_layers=(5,),
            activation=["tanh"],
            optimizer=SGD(momentum=0.9, nesterov=True),
            learning_rate=0.05,
            lr_schedule=StepDecay(factor=0.5, every=2),
            early_stopping=True,
            patience=2,
            n_restarts=2,
            dropout=[0.1],
            class_weight={"no": 2.0, "yes": 1.0},
            dtype="float64",
            epochs=6,
            random_state=1,
        ),
        binary_data,
    ),
    "mlp-multi-f64": (
        lambda: cc.MLPClassifier(hidden_layers=(5,), epochs=4, dtype="float64", random_state=0),
        multiclass_data,
    ),
    "mlp-multi-f32": (
        lambda: cc.MLPClassifier(
            hidden_layers=[4, 4], activation="sigmoid", epochs=3, random_state=0
        ),
        lambda: multiclass_data(k=4),
    ),
    "regressor-1d-f32": (
        lambda: cc.MLPRegressor(hidden_layers=(5,), epochs=4, random_state=0),
        regression_data,
    ),
    "regressor-2d-f64": (
        lambda: cc.MLPRegressor(
            hidden_layers=(5,), epochs=4, dtype="float64", optimizer="momentum", random_state=0
        ),
        lambda: regression_data(two_d=True),
    ),
}


def fit_case(name):
    make, data = CASES[name]
    X, y = data()
    return make().fit(X, y), X, y


def save_load(model, path):
    model.save(path)
    return cc.load(path)


def history_equal(a, b):
    da, db = a.to_dict(), b.to_dict()
    return json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True)


def public_attributes(model):
    return {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}


def assert_same_model(loaded, model, X, y):
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert repr(loaded) == repr(model)
    for method in ("predict", "predict_proba", "decision_function", "predict_log_proba"):
        if hasattr(model, method):
            want = getattr(model, method)(X)
            got = getattr(loaded, method)(X)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want), method
    assert loaded.score(X, y) == model.score(X, y)
    attrs, loaded_attrs = public_attributes(model), public_attributes(loaded)
    assert set(attrs) == set(loaded_attrs)
    for key, value in attrs.items():
        other = loaded_attrs[key]
        if key == "network_":
            assert other.layer_sizes == value.layer_sizes
            assert other.activations == value.activations
            assert other.output == value.output and other.dtype == value.dtype
            assert other.params.dtype == value.params.dtype
            assert np.array_equal(other.params, value.params)
        elif key == "history_":
            assert isinstance(other, History) and history_equal(other, value)
        elif isinstance(value, np.ndarray):
            assert other.dtype == value.dtype and np.array_equal(other, value), key
        else:
            assert other == value and type(other) is type(value), key


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip(case, tmp_path):
    model, X, y = fit_case(case)
    loaded = save_load(model, tmp_path / "model.npz")
    assert_same_model(loaded, model, X, y)
    assert loaded.n_features_in_ == model.n_features_in_
    if hasattr(model, "classes_"):
        assert loaded.classes_.dtype == model.classes_.dtype
        assert loaded.classes_.tolist() == model.classes_.tolist()


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 7]),
        np.array([-1, 0, 5]),
        np.array([False, True]),
        np.array([0.0, 2.0]),
        np.array(["a", "bb"], dtype=object),
        np.array([10, 20, 30], dtype=object),
        np.array(["x", "y", "z"], dtype="<U1"),
    ],
    ids=["int-binary", "int-multi", "bool", "float", "object-str", "object-int", "unicode"],
)
@pytest.mark.parametrize("model_cls", [cc.Perceptron, cc.LogisticRegression, cc.MLPClassifier])
def test_label_dtypes_survive(labels, model_cls, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = labels[np.arange(40) % len(labels)]
    kwargs = {"epochs": 2, "random_state": 0}
    if model_cls is cc.MLPClassifier:
        kwargs["hidden_layers"] = (3,)
    model = model_cls(**kwargs).fit(X, y)
    loaded = save_load(model, tmp_path / "m.npz")
    assert loaded.classes_.dtype == model.classes_.dtype
    assert np.array_equal(loaded.classes_, model.classes_)
    assert [type(c) for c in loaded.classes_.tolist()] == [type(c) for c in model.classes_.tolist()]
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict(X).dtype == model.predict(X).dtype


def test_feature_names_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = multiclass_data()
    frame = pd.DataFrame(X, columns=["height", "width", "depth"])
    model = cc.MLPClassifier(hidden_layers=(4,), epochs=2, random_state=0).fit(frame, y)
    loaded = save_load(model, tmp_path / "m.npz")
    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == ["height", "width", "depth"]
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    renamed = frame.rename(columns={"depth": "colour"})
    with pytest.raises(ValueError):
        loaded.predict(renamed)


def test_history_with_missing_values_round_trips(tmp_path):
    model, X, y = fit_case("mlp-multi-f64")
    model.history_.on_epoch_end(model.n_epochs_, {"loss": 0.5, "extra": math.inf})
    model.n_epochs_ += 1
    loaded = save_load(model, tmp_path / "m.npz")
    assert history_equal(loaded.history_, model.history_)
    assert math.isnan(loaded.history_["extra"][0]) and loaded.history_["extra"][-1] == math.inf


def test_saves_to_exactly_the_given_path(tmp_path):
    model, _, _ = fit_case("perceptron-binary")
    path = tmp_path / "my_model"
    model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_model"]
    assert zipfile.is_zipfile(path)
    model.save(str(tmp_path / "other.model"))
    assert (tmp_path / "other.model").exists()
    assert type(cc.load(str(path))) is cc.Perceptron


def test_file_layout_is_documented_npz(tmp_path):
    model, _, _ = fit_case("mlp-binary-f32")
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as npz:
        # adam keeps two moment buffers, saved so that warm_start continues after load
        assert sorted(npz.files) == [
            "classes_",
            "header.json",
            "optimizer_state1",
            "optimizer_state2",
            "params",
        ]
        raw = npz["header.json"]
        assert raw.dtype == np.uint8 and raw.ndim == 1
        header = json.loads(raw.tobytes().decode("utf-8"))
        params = npz["params"]
    assert header["format"] == FORMAT_NAME == "crash_core.model"
    assert header["format_version"] == FORMAT_VERSION == 1
    assert header["library_version"] == cc.__version__
    assert header["class"] == "MLPClassifier"
    assert header["network"] == {
        "layer_sizes": [2, 6, 4, 1],
        "activation": ["relu", "relu"],
        "output": "sigmoid",
        "dtype": "float32",
    }
    assert header["params"]["hidden_layers"] == {"__type__": "tuple", "items": [6, 4]}
    assert params.dtype == np.float32 and params.shape == (model.network_.n_params,)
    assert header["optimizer_state"] == {"steps": model._optimizer_state.t, "buffers": 2}


def test_save_and_load_file_objects():
    model, X, y = fit_case("logistic-binary")
    buffer = io.BytesIO()
    cc.io.save(model, buffer)
    buffer.seek(0)
    loaded = cc.load(buffer)
    assert_same_model(loaded, model, X, y)


def test_unfitted_models_cannot_be_saved(tmp_path):
    for model in (cc.Perceptron(), cc.LogisticRegression(), cc.MLPClassifier(), cc.MLPRegressor()):
        with pytest.raises(cc.NotFittedError):
            model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_only_the_four_models_can_be_saved(tmp_path):
    class MyMLP(cc.MLPClassifier):
        pass

    X, y = binary_data()
    with pytest.raises(TypeError, match="subclass"):
        MyMLP(hidden_layers=(3,), epochs=1).fit(X, y).save(tmp_path / "m.npz")
    with pytest.raises(TypeError):
        cc.io.save(object(), tmp_path / "m.npz")


# --------------------------------------------------------------------------- after loading


@pytest.mark.parametrize(
    "case", ["mlp-binary-f32", "mlp-multi-f64", "regressor-1d-f32", "regressor-2d-f64"]
)
def test_loaded_model_can_continue_training(case, tmp_path):
    model, X, y = fit_case(case)
    loaded = save_load(model, tmp_path / "m.npz")
    n = loaded.n_epochs_
    loaded.set_params(warm_start=True, epochs=2)
    loaded.fit(X, y)
    assert loaded.n_epochs_ == n + 2 and len(loaded.history_) == n + 2
    assert loaded.history_.epoch == list(range(n + 2))
    loaded.partial_fit(X, y)
    assert loaded.n_epochs_ == n + 3
    assert np.isfinite(loaded.score(X, y))
    # a cold refit starts over
    loaded.set_params(warm_start=False, epochs=3)
    loaded.fit(X, y)
    assert loaded.n_epochs_ == 3
    # and the original is untouched by all this
    assert model.n_epochs_ == n


@pytest.mark.parametrize("case", ["perceptron-multi-f32", "logistic-binary"])
def test_loaded_linear_model_can_be_refit(case, tmp_path):
    model, X, y = fit_case(case)
    loaded = save_load(model, tmp_path / "m.npz")
    loaded.fit(X, y)
    assert np.array_equal(loaded.coef_, model.coef_)  # same seed, same data -> same fit
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_warm_start_after_load_continues_the_optimizer(tmp_path):
    """The optimizer state (moments, step count) is saved: continuing a loaded model equals
    continuing the original, given the same generator."""
    model, X, y = fit_case("mlp-binary-f32")
    loaded = save_load(model, tmp_path / "m.npz")
    assert loaded._optimizer_state.t == model._optimizer_state.t > 0
    model._rng = np.random.default_rng(0)
    loaded._rng = np.random.default_rng(0)
    for m in (model, loaded):
        m.set_params(warm_start=True, epochs=2).fit(X, y)
    assert np.array_equal(model.network_.params, loaded.network_.params)


@pytest.mark.parametrize(
    "state, message",
    [
        ({"steps": 3, "buffers": 1}, "buffer"),
        ({"steps": -1, "buffers": 2}, "optimizer_state must be"),
        ({"steps": 3}, "optimizer_state must be"),
        ("adam", "optimizer_state must be"),
    ],
)
def test_bad_optimizer_state_is_rejected(tmp_path, state, message):
    model, _, _ = fit_case("mlp-binary-f32")
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as npz:
        entries = {k: npz[k] for k in npz.files}
    header = json.loads(entries["header.json"].tobytes().decode("utf-8"))
    header["optimizer_state"] = state
    if isinstance(state, dict) and state.get("buffers") == 1:
        del entries["optimizer_state2"]
    entries["header.json"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **entries)
    with pytest.raises(ValueError, match=message):
        cc.load(path)


def test_unsaveable_params_are_saved_as_none_with_a_warning(tmp_path):
    X, y = binary_data()
    model = cc.MLPClassifier(
        hidden_layers=(3,),
        epochs=2,
        callbacks=[History()],
        lr_schedule=lambda epoch, lr: lr,
        random_state=np.random.default_rng(0),
    ).fit(X, y)
    with pytest.warns(UserWarning) as record:
        model.save(tmp_path / "m.npz")
    messages = " ".join(str(w.message) for w in record)
    for name in ("callbacks", "lr_schedule", "random_state"):
        assert name in messages
    loaded = cc.load(tmp_path / "m.npz")
    assert loaded.callbacks is None and loaded.lr_schedule is None
    assert loaded.random_state is None
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_saveable_params_do_not_warn(tmp_path):
    model, _, _ = fit_case("mlp-binary-f64-tricks")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.save(tmp_path / "m.npz")
    loaded = cc.load(tmp_path / "m.npz")
    assert loaded.optimizer == SGD(momentum=0.9, nesterov=True)
    assert loaded.lr_schedule == StepDecay(factor=0.5, every=2)
    assert loaded.hidden_layers == (5,) and loaded.activation == ["tanh"]
    assert loaded.class_weight == {"no": 2.0, "yes": 1.0}
    assert loaded.restart_losses_ == model.restart_losses_
    assert loaded.best_epoch_ == model.best_epoch_


def test_numpy_dtype_params_round_trip(tmp_path):
    X, y = binary_data()
    for dtype in (np.float32, np.dtype("float64")):
        model = cc.LogisticRegression(epochs=2, dtype=dtype).fit(X, y)
        loaded = save_load(model, tmp_path / "m.npz")
        assert loaded.dtype == dtype and type(loaded.dtype) is type(dtype)


def test_invalid_params_are_refused_at_save_time(tmp_path):
    model, _, _ = fit_case("mlp-binary-f32")
    model.set_params(learning_rate=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# --------------------------------------------------------------------------- corrupt files


def read_entries(path):
    """The header (a dict) and the other arrays of a saved model."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays.pop("header.json").tobytes().decode("utf-8"))
    return header, arrays


def write_entries(path, header, arrays, raw_header=None, compressed=True):
    text = raw_header if raw_header is not None else json.dumps(header).encode("utf-8")
    write = np.savez_compressed if compressed else np.savez
    write(path, **{"header.json": np.frombuffer(text, dtype=np.uint8)}, **arrays)


@pytest.fixture
def saved(tmp_path):
    """A saved binary MLPClassifier (float64) and its header / arrays, to be edited."""
    X, y = binary_data()
    model = cc.MLPClassifier(hidden_layers=(4,), epochs=3, dtype="float64", random_state=0)
    model.fit(X, y)
    path = tmp_path / "good.npz"
    model.save(path)
    header, arrays = read_entries(path)
    return path, header, arrays


def edited(tmp_path, header, arrays, raw_header=None):
    path = tmp_path / "bad.npz"
    write_entries(path, header, arrays, raw_header)
    return path


def load_error(path):
    with pytest.raises(ValueError) as info:
        cc.load(path)
    assert isinstance(info.value, ModelFileError)
    return str(info.value)


def test_random_bytes_are_rejected(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    assert "not a crash_core model file" in load_error(path)


def test_empty_file_is_rejected(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    assert "empty" in load_error(path)


def test_other_file_formats_are_rejected(tmp_path):
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(3))
    assert "not a crash_core model file" in load_error(npy)
    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(pickle.dumps({"a": 1}))
    assert "not a crash_core model file" in load_error(pkl)
    text = tmp_path / "model.json"
    text.write_text('{"format": "crash_core.model"}')
    assert "not a crash_core model file" in load_error(text)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        cc.load(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError):
        cc.load(tmp_path)


def test_truncated_files_are_rejected(saved, tmp_path):
    path, _, _ = saved
    data = path.read_bytes()
    cut_path = tmp_path / "cut.npz"
    for cut in sorted(
        {1, 3, 4, 10, 30, 100, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1}
    ):
        cut_path.write_bytes(data[:cut])
        message = load_error(cut_path)
        assert "not a crash_core model file" in message or "corrupt" in message, message


def test_every_truncation_and_corruption_is_a_value_error(saved, tmp_path):
    """No cut point or flipped byte may crash the process or leak another exception."""
    path, _, _ = saved
    data = path.read_bytes()
    bad = tmp_path / "bad.npz"
    for cut in range(0, len(data), max(1, len(data) // 150)):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError):
            cc.load(bad)
    rng = np.random.default_rng(0)
    for _ in range(150):
        corrupt = bytearray(data)
        for pos in rng.integers(0, len(data), size=rng.integers(1, 4)):
            corrupt[pos] ^= int(rng.integers(1, 256))
        bad.write_bytes(bytes(corrupt))
        try:
            cc.load(bad)
        except ValueError:
            pass  # a flip in unused zip fields may leave a valid file


def test_zip_without_header_is_rejected(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, weights=np.zeros(3))
    assert "no 'header.json' entry" in load_error(path)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert "not a crash_core model file" in load_error(path)


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe\x00", "not valid UTF-8 JSON"),
        (b"[1, 2, 3]", "must be a JSON object"),
        (b'{"format": "crash_core.model", "format": "x"}', "repeats the key"),
        (b'{"format": "crash_core.model", "format_version": NaN}', "non-JSON number"),
        (b"", "not valid UTF-8 JSON"),
    ],
)
def test_bad_header_json(saved, tmp_path, raw, match):
    _, header, arrays = saved
    assert match in load_error(edited(tmp_path, header, arrays, raw_header=raw))


def test_header_entry_must_be_bytes(saved, tmp_path):
    _, header, arrays = saved
    path = tmp_path / "bad.npz"
    text = json.dumps(header).encode()
    np.savez(path, **{"header.json": np.frombuffer(text, np.uint8).astype(np.int32)}, **arrays)
    assert "header.json" in load_error(path)


def test_wrong_format_name(saved, tmp_path):
    _, header, arrays = saved
    header["format"] = "sklearn.model"
    assert "not a crash_core model file" in load_error(edited(tmp_path, header, arrays))


def test_newer_format_version(saved, tmp_path):
    _, header, arrays = saved
    header["format_version"] = 7
    header["library_version"] = "9.0.0"
    message = load_error(edited(tmp_path, header, arrays))
    assert "format version 7" in message and "reads version 1" in message
    assert "upgrade crash_core" in message


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None])
def test_invalid_format_version(saved, tmp_path, version):
    _, header, arrays = saved
    header["format_version"] = version
    assert "invalid format_version" in load_error(edited(tmp_path, header, arrays))


@pytest.mark.parametrize(
    "name", ["os.system", "BaseEstimator", "crash_core.models.mlp.MLPClassifier", "Network", 3]
)
def test_unknown_class(saved, tmp_path, name):
    _, header, arrays = saved
    header["class"] = name
    assert "unknown model class" in load_error(edited(tmp_path, header, arrays))


def test_missing_and_extra_header_keys(saved, tmp_path):
    _, header, arrays = saved
    del header["network"]
    header["payload"] = "__import__('os')"
    message = load_error(edited(tmp_path, header, arrays))
    assert "lacks the key(s) ['network']" in message and "payload" in message


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("learning_rate", -1.0, "learning_rate"),
        ("activation", "relux", "activation"),
        ("optimizer", "adamw", "optimizer"),
        ("dropout", 1.5, "dropout"),
        ("hidden_layers", {"__type__": "tuple", "items": [0]}, "hidden_layers"),
        ("epochs", "many", "epochs"),
        ("random_state", -3, "random_state"),
        ("class_weight", {"__type__": "dict", "items": [["maybe", 1.0]]}, "class_weight"),
        ("callbacks", ["os.system"], "callbacks"),
    ],
)
def test_params_failing_validation(saved, tmp_path, param, value, match):
    _, header, arrays = saved
    header["params"][param] = value
    message = load_error(edited(tmp_path, header, arrays))
    assert "validation" in message and match in message


def test_linear_model_params_are_validated(tmp_path):
    X, y = binary_data()
    for model, param in [
        (cc.Perceptron(epochs=2), "epochs"),
        (cc.LogisticRegression(epochs=2), "l2"),
    ]:
        model.fit(X, y).save(tmp_path / "m.npz")
        header, arrays = read_entries(tmp_path / "m.npz")
        header["params"][param] = -5
        message = load_error(edited(tmp_path, header, arrays))
        assert "validation" in message and param in message


def test_unknown_param(saved, tmp_path):
    _, header, arrays = saved
    header["params"]["__class__"] = "x"
    assert "unknown parameter" in load_error(edited(tmp_path, header, arrays))


@pytest.mark.parametrize(
    "value",
    [
        {"__type__": "pickle", "data": "gASV"},
        {"__type__": "optimizer", "config": {"name": "rmsprop"}},
        {"__type__": "optimizer", "config": {"name": "adam", "beta1": 2.0}},
        {"__type__": "schedule", "config": {"name": "os.system"}},
        {"__type__": "tuple"},
        {"__type__": "float", "value": "1e999999"},
        {"__type__": "numpy_type", "name": "object"},
    ],
)
def test_bad_tagged_values(saved, tmp_path, value):
    _, header, arrays = saved
    header["params"]["optimizer"] = value
    message = load_error(edited(tmp_path, header, arrays))
    assert "unknown tagged value" in message or "invalid" in message


def test_params_of_the_wrong_length(saved, tmp_path):
    _, header, arrays = saved
    arrays["params"] = arrays["params"][:-1]
    message = load_error(edited(tmp_path, header, arrays))
    assert "'params' has shape" in message and "declares" in message


def test_params_of_the_wrong_dtype_or_rank(saved, tmp_path):
    _, header, arrays = saved
    good = arrays["params"]
    arrays["params"] = good.astype(np.float32)
    assert "'params' has dtype float32" in load_error(edited(tmp_path, header, arrays))
    arrays["params"] = good.reshape(1, -1)
    assert "'params' has shape" in load_error(edited(tmp_path, header, arrays))
    arrays["params"] = good.astype(np.int64)
    assert "'params' has dtype int64" in load_error(edited(tmp_path, header, arrays))


def test_layer_shapes_must_match_the_model(saved, tmp_path):
    _, header, arrays = saved
    bigger = json.loads(json.dumps(header))
    bigger["network"]["layer_sizes"] = [2, 5, 1]
    assert "'params' has shape" in load_error(edited(tmp_path, bigger, arrays))
    wrong_inputs = json.loads(json.dumps(header))
    wrong_inputs["n_features_in"] = 3
    assert "takes 2 inputs" in load_error(edited(tmp_path, wrong_inputs, arrays))
    bad_act = json.loads(json.dumps(header))
    bad_act["network"]["activation"] = "swish"
    assert "activation" in load_error(edited(tmp_path, bad_act, arrays))
    bad_sizes = json.loads(json.dumps(header))
    bad_sizes["network"]["layer_sizes"] = [2, -4, 1]
    assert "layer_sizes" in load_error(edited(tmp_path, bad_sizes, arrays))
    bad_dtype = json.loads(json.dumps(header))
    bad_dtype["network"]["dtype"] = "float16"
    assert "dtype" in load_error(edited(tmp_path, bad_dtype, arrays))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_params(saved, tmp_path, bad):
    _, header, arrays = saved
    arrays["params"] = arrays["params"].copy()
    arrays["params"][3] = bad
    assert "NaN or infinity" in load_error(edited(tmp_path, header, arrays))


def test_classes_must_match_the_output_layer(saved, tmp_path):
    _, header, arrays = saved
    arrays["classes_"] = np.array(["no", "yes", "zzz"])
    header["classes"]["dtype"] = arrays["classes_"].dtype.str
    assert "3 classes need a softmax output" in load_error(edited(tmp_path, header, arrays))
    arrays["classes_"] = np.array(["yes", "no"], dtype="<U3")
    assert "sorted and unique" in load_error(edited(tmp_path, header, arrays))
    arrays["classes_"] = np.array(["no"], dtype="<U3")
    assert "at least 2 classes" in load_error(edited(tmp_path, header, arrays))


def test_classes_dtype_must_match_the_header(saved, tmp_path):
    _, header, arrays = saved
    arrays["classes_"] = np.array([0, 1])
    assert "'classes_' has dtype" in load_error(edited(tmp_path, header, arrays))


def test_perceptron_coef_shape_must_match_classes(tmp_path):
    X, y = multiclass_data()
    cc.Perceptron(epochs=2).fit(X, y).save(tmp_path / "m.npz")
    header, arrays = read_entries(tmp_path / "m.npz")
    arrays["coef_"] = arrays["coef_"][:2]
    assert "coef_ has shape" in load_error(edited(tmp_path, header, arrays))
    header2, arrays2 = read_entries(tmp_path / "m.npz")
    arrays2["coef_"] = arrays2["coef_"][:, :2]
    assert "'coef_' has shape" in load_error(edited(tmp_path, header2, arrays2))


def test_missing_and_extra_entries(saved, tmp_path):
    _, header, arrays = saved
    without = {k: v for k, v in arrays.items() if k != "params"}
    assert "lacks the entry(ies) ['params']" in load_error(edited(tmp_path, header, without))
    extra = {**arrays, "bonus": np.zeros(2)}
    assert "unexpected entry(ies) ['bonus']" in load_error(edited(tmp_path, header, extra))


def test_attributes_are_validated(saved, tmp_path):
    _, header, arrays = saved
    for key, value, match in [
        ("n_epochs_", -1, "n_epochs_"),
        ("n_epochs_", 99, "history has 3 epochs"),
        ("loss_", "low", "loss_"),
        ("__class__", 1, "unexpected attribute"),
        ("predict_proba", 1, "unexpected attribute"),
        ("mistakes_", [1], "unexpected attribute"),
    ]:
        bad = json.loads(json.dumps(header))
        bad["attributes"][key] = value
        assert match in load_error(edited(tmp_path, bad, arrays)), key
    bad = json.loads(json.dumps(header))
    del bad["attributes"]["learning_rate_"]
    assert "learning_rate_" in load_error(edited(tmp_path, bad, arrays))


def test_history_is_validated(saved, tmp_path):
    _, header, arrays = saved
    bad = json.loads(json.dumps(header))
    bad["history"]["history"]["loss"].append(0.1)
    assert "has 4 values for 3 epochs" in load_error(edited(tmp_path, bad, arrays))
    bad = json.loads(json.dumps(header))
    bad["history"]["history"]["loss"][0] = "0.1"
    assert "must hold numbers" in load_error(edited(tmp_path, bad, arrays))
    bad = json.loads(json.dumps(header))
    bad["history"] = None
    assert "history" in load_error(edited(tmp_path, bad, arrays))


def test_feature_names_are_validated(saved, tmp_path):
    _, header, arrays = saved
    header["feature_names_in"] = ["a"]
    assert "feature_names_in" in load_error(edited(tmp_path, header, arrays))


def test_regressor_targets_are_validated(tmp_path):
    X, y = regression_data(two_d=True)
    cc.MLPRegressor(hidden_layers=(3,), epochs=2).fit(X, y).save(tmp_path / "m.npz")
    header, arrays = read_entries(tmp_path / "m.npz")
    header["attributes"]["_y_1d"] = True
    assert "target(s)" in load_error(edited(tmp_path, header, arrays))
    header["attributes"]["_y_1d"] = 1
    assert "_y_1d" in load_error(edited(tmp_path, header, arrays))


def test_non_npy_entry_is_rejected(saved, tmp_path):
    path, _, _ = saved
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("script.py", "import os")
    assert "script.py" in load_error(bad)


# --------------------------------------------------------------------------- no pickle, ever


def object_entry_file(saved, tmp_path):
    """A model file whose params entry is a pickled object array."""
    _, header, arrays = saved
    arrays["params"] = np.array([{"evil": True}, 1.0], dtype=object)
    path = tmp_path / "pickled.npz"
    write_entries(path, header, arrays)
    with zipfile.ZipFile(path) as zf:  # it really holds a pickle
        assert b"evil" in zf.read("params.npy")
    return path


@pytest.fixture
def no_pickle(monkeypatch):
    """Make any unpickling fail the test, and check every np.load refuses pickles."""
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("crash_core.load unpickled data")

    class ForbiddenUnpickler:
        def __init__(self, *args, **kwargs):
            forbidden()

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", ForbiddenUnpickler)
    real_load = np.load

    def checked_load(*args, **kwargs):
        assert kwargs.get("allow_pickle") is False
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", checked_load)
    return calls


def test_object_array_entry_is_rejected_without_unpickling(saved, tmp_path, no_pickle):
    path = object_entry_file(saved, tmp_path)
    message = load_error(path)
    assert "Python objects" in message and "never unpickles" in message
    assert no_pickle == []


def test_loading_never_unpickles(saved, tmp_path, no_pickle):
    path, _, _ = saved
    model = cc.load(path)
    assert type(model) is cc.MLPClassifier
    for case in ("perceptron-binary", "logistic-multi-f32-adam", "regressor-2d-f64"):
        fitted, X, _ = fit_case(case)
        fitted.save(tmp_path / "m.npz")
        assert np.array_equal(cc.load(tmp_path / "m.npz").predict(X), fitted.predict(X))
    assert no_pickle == []


def test_saved_file_holds_no_pickle(saved):
    path, _, _ = saved
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            with zf.open(name) as fp:
                assert np.lib.format.read_magic(fp) == (1, 0)
                _, _, dtype = np.lib.format.read_array_header_1_0(fp)
            assert not dtype.hasobject, name


# --------------------------------------------------------------------------- bounded loading
# A forged file of a few KB must cost no more than a few MB and a fraction of a second.
PEAK_LIMIT = 8 * 2**20


def load_peak(path):
    """(the ModelFileError message, peak bytes traced while loading ``path``)."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as info:
            cc.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return str(info.value), peak


def forge_member_size(data, member, size):
    """``data`` (a zip archive) with ``member``'s declared sizes set to ``size`` bytes."""
    out = bytearray(data)
    name = member.encode()
    for signature, field in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        pos = out.find(signature)
        while pos >= 0:
            name_at = pos + (46 if signature == b"PK\x01\x02" else 30)
            if out[name_at : name_at + len(name)] == name:
                out[pos + field : pos + field + 4] = struct.pack("<I", size)
            pos = out.find(signature, pos + 4)
    return bytes(out)


def npy_bytes(shape, dtype="<f8", data=b"", header_pad=0):
    """A .npy entry declaring ``shape`` whatever ``data`` it really holds."""
    text = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    text += " " * header_pad + "\n"
    if len(text) + 10 < 65536:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text.encode() + data


def raw_archive(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_forged_zip_size_is_rejected_before_allocating(saved, tmp_path):
    """The header declares a 3.6 GiB network and the zip directory agrees; the file is 3 KB."""
    _, header, arrays = saved
    header["network"]["layer_sizes"] = [2, 30000, 15000, 1]
    header["params"]["hidden_layers"] = {"__type__": "tuple", "items": [30000, 15000]}
    header["network"]["activation"] = ["relu", "relu"]
    header["optimizer_state"] = None
    n_params = 2 * 30000 + 30000 + 30000 * 15000 + 15000 + 15000 + 1
    path = tmp_path / "forged.npz"
    members = {
        "header.json.npy": npy_bytes(
            (len(json.dumps(header)),), "|u1", json.dumps(header).encode()
        ),
        "params.npy": npy_bytes((n_params,), "<f8", arrays["params"].tobytes()),
        "classes_.npy": npy_bytes((2,), "<U3", arrays["classes_"].tobytes()),
    }
    raw_archive(path, members)
    declared = 8 * n_params + 128
    path.write_bytes(forge_member_size(path.read_bytes(), "params.npy", declared % 2**32))
    assert path.stat().st_size < 5000
    message, peak = load_peak(path)
    assert "params" in message and ("declares" in message or "corrupt" in message), message
    assert peak < PEAK_LIMIT, peak


@pytest.mark.parametrize("member", ["header.json.npy", "params.npy", "classes_.npy"])
def test_forged_sizes_of_any_member_are_rejected(saved, tmp_path, member):
    path, _, _ = saved
    data = path.read_bytes()
    for size in (2**31, 2**32 - 1, 10 * len(data)):
        bad = tmp_path / "bad.npz"
        bad.write_bytes(forge_member_size(data, member, size))
        message, peak = load_peak(bad)
        assert peak < PEAK_LIMIT, (size, peak)
        assert len(message) < 600, message


def test_huge_npy_header_is_rejected(saved, tmp_path):
    """A .npy header of 1 MB, or one declaring 10**12 values, is refused unread."""
    _, header, arrays = saved
    header["optimizer_state"] = None
    text = json.dumps(header).encode()
    for params in (
        npy_bytes((arrays["params"].size,), "<f8", arrays["params"].tobytes(), header_pad=2**20),
        npy_bytes((10**12,), "<f8", arrays["params"].tobytes()),
        npy_bytes((2**62, 2**62), "<f8", b""),
    ):
        path = tmp_path / "bad.npz"
        members = {
            "header.json.npy": npy_bytes((len(text),), "|u1", text),
            "params.npy": params,
            "classes_.npy": npy_bytes((2,), "<U3", arrays["classes_"].tobytes()),
        }
        raw_archive(path, members, zipfile.ZIP_DEFLATED)
        message, peak = load_peak(path)
        assert "params" in message, message
        assert peak < PEAK_LIMIT, peak


def test_huge_json_arrays_are_bounded(saved, tmp_path):
    """A compressed header expanding to 32 MB of JSON list is refused before parsing."""
    _, header, arrays = saved
    header["feature_names_in"] = ["x"] * 4_000_000
    path = tmp_path / "bomb.npz"
    write_entries(path, header, arrays)  # compressed: 16 MB of JSON in a small file
    assert path.stat().st_size < 200_000
    message, peak = load_peak(path)
    assert "header.json" in message and "declares" in message, message
    assert peak < 2 * path.stat().st_size + PEAK_LIMIT, peak


def test_json_arrays_cost_a_small_multiple_of_the_file(saved, tmp_path):
    """An uncompressed header holding a long list: memory stays a small multiple of the file."""
    _, header, arrays = saved
    header["classes"] = {"dtype": "|O", "values": list(range(100_000, 0, -1))}
    arrays.pop("classes_")
    path = tmp_path / "long.npz"
    write_entries(path, header, arrays, compressed=False)
    message, peak = load_peak(path)
    assert "sorted and unique" in message and len(message) < 600, message
    assert peak < 20 * path.stat().st_size, (peak, path.stat().st_size)


def test_error_messages_never_format_whole_arrays(saved, tmp_path):
    _, header, arrays = saved
    arrays["classes_"] = np.arange(200_000, 0, -1).astype(str)
    header["classes"] = {"dtype": arrays["classes_"].dtype.str, "values": None}
    path = tmp_path / "bad.npz"
    write_entries(path, header, arrays, compressed=False)
    message = load_error(path)
    assert "sorted and unique" in message and len(message) < 600, message
    header["attributes"]["odd_"] = [[1, 2]] * 100_000
    write_entries(path, header, arrays, compressed=False)
    message = load_error(path)
    assert "odd_" in message and len(message) < 600, message


def test_too_many_entries_are_rejected(saved, tmp_path):
    path = tmp_path / "many.npz"
    raw_archive(path, {f"e{i}.npy": b"" for i in range(1000)})
    message, peak = load_peak(path)
    assert "entries" in message and peak < PEAK_LIMIT


def test_saved_files_are_stored_uncompressed(saved):
    """Stored entries cannot expand: the file's size bounds what loading reads."""
    path, _, _ = saved
    with zipfile.ZipFile(path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


# --------------------------------------------------------------------------- the registry
class Center(cc.base.BaseEstimator):
    """A preprocessing step: subtract each column's mean, then scale by ``factor``."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def _check_params(self):
        cc._validation.check_scalar(self.factor, "factor", min_val=0.0, include_min=False)

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(axis=0)
        self.n_features_in_ = X.shape[1]
        self.n_rows_ = X.shape[0]
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=float) - self.mean_) * self.factor


class CenteredPerceptron(cc.base.BaseEstimator):
    """A model and its preprocessing step, saved together in one file."""

    def __init__(self, step=None, epochs=5):
        self.step = step
        self.epochs = epochs

    def _check_params(self):
        if self.step is not None and not isinstance(self.step, Center):
            raise TypeError("step must be a Center")

    def fit(self, X, y):
        self.step_ = (self.step or Center()).fit(X)
        self.model_ = cc.Perceptron(epochs=self.epochs, random_state=0)
        self.model_.fit(self.step_.transform(X), y)
        self.n_features_in_ = self.step_.n_features_in_
        return self

    def predict(self, X):
        return self.model_.predict(self.step_.transform(X))


cc.io.register(
    Center,
    cc.io.Format(
        fitted="mean_",
        attributes={"n_rows_": "count"},
        arrays={"mean_": (("n_features",), "float64")},
    ),
)
cc.io.register(CenteredPerceptron, cc.io.Format(fitted="model_", children=("step_", "model_")))


def test_another_class_registers_what_it_saves(tmp_path):
    X, y = binary_data()
    step = Center(factor=2.0).fit(X + 3)
    step.save(tmp_path / "step.npz")
    loaded = cc.load(tmp_path / "step.npz")
    assert type(loaded) is Center and loaded.factor == 2.0 and loaded.n_rows_ == len(X)
    assert np.array_equal(loaded.transform(X), step.transform(X))


def test_a_model_and_its_preprocessing_step_share_one_file(tmp_path):
    X, y = binary_data()
    bundle = CenteredPerceptron(step=Center(factor=0.5)).fit(X + 10, y)
    path = tmp_path / "bundle.npz"
    bundle.save(path)
    with zipfile.ZipFile(path) as zf:
        assert "step_.mean_.npy" in zf.namelist() and "model_.coef_.npy" in zf.namelist()
    loaded = cc.load(path)
    assert isinstance(loaded.step, Center) and loaded.step.factor == 0.5
    assert np.array_equal(loaded.predict(X + 10), bundle.predict(X + 10))
    header, arrays = read_entries(path)
    header["children"]["step_"]["params"]["factor"] = -1.0
    assert "factor" in load_error(edited(tmp_path, header, arrays))
    header, arrays = read_entries(path)
    arrays["step_.mean_"] = np.zeros(5)
    assert "step_.mean_" in load_error(edited(tmp_path, header, arrays))
    header, arrays = read_entries(path)
    del header["children"]["model_"]
    assert "model_" in load_error(edited(tmp_path, header, arrays))


def test_io_imports_no_model():
    code = "import sys, crash_core.io, crash_core.base; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "crash_core.models" not in out.stdout and "crash_core.network" not in out.stdout
