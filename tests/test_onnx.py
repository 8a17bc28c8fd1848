"""ONNX export: every model kind runs in ONNX Runtime and agrees with the model itself."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import crash_core as cc

onnx = pytest.importorskip("onnx", reason="the 'onnx' extra (onnx) is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

ATOL = {"float32": 1e-5, "float64": 1e-10}
ACTIVATIONS = ["relu", "tanh", "sigmoid", ("relu", "tanh")]


def run(data: bytes, X: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of the ONNX model on X, by name."""
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X}), strict=True))


def data(n_classes: int, n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (
        (X[:, 0] > 0).astype(int)
        + (X[:, 1] > 0.5) * (n_classes > 2)
        + (X[:, 2] > 1) * (n_classes > 3)
    )
    return X, y


def mlp(cls, activation, dtype, **kw):
    hidden = (6, 5) if isinstance(activation, tuple) else (6,)
    return cls(
        hidden_layers=hidden,
        activation=activation,
        epochs=15,
        learning_rate=0.05,
        dtype=dtype,
        random_state=0,
        **kw,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_mlp_classifier_matches_predict_proba(n_classes, activation, dtype):
    X, y = data(n_classes)
    labels = np.array(["cat", "dog", "eel"])[y]  # string labels stay strings
    model = mlp(cc.MLPClassifier, activation, dtype).fit(X, labels)
    out = run(model.to_onnx(), X.astype(dtype))
    assert list(out) == ["label", "probabilities"]
    assert out["probabilities"].shape == (len(X), n_classes)
    assert out["probabilities"].dtype == np.dtype(dtype)
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), atol=ATOL[dtype])
    assert out["label"].shape == (len(X),)
    np.testing.assert_array_equal(out["label"], model.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_targets", [1, 3])
def test_mlp_regressor_matches_predict(n_targets, activation, dtype):
    X, _ = data(2)
    Y = np.column_stack([X[:, 0] * 2 - X[:, 1], X[:, 2] ** 2, X.sum(axis=1)])[:, :n_targets]
    y = Y.ravel() if n_targets == 1 else Y
    model = mlp(cc.MLPRegressor, activation, dtype).fit(X, y)
    out = run(model.to_onnx(), X.astype(dtype))
    assert list(out) == ["variable"]
    assert out["variable"].shape == (len(X), n_targets)  # (n, 1) for one target, as skl2onnx
    np.testing.assert_allclose(
        out["variable"], model.predict(X).reshape(len(X), -1), atol=ATOL[dtype], rtol=1e-5
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_logistic_regression(n_classes, dtype):
    X, y = data(n_classes)
    labels = np.array([3, 7, 11, 20])[y]  # integer labels that are not 0..k-1
    model = cc.LogisticRegression(epochs=20, dtype=dtype, random_state=0).fit(X, labels)
    out = run(model.to_onnx(), X.astype(dtype))
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), atol=ATOL[dtype])
    assert out["label"].dtype == np.int64
    np.testing.assert_array_equal(out["label"], model.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_perceptron_step(n_classes, dtype):
    X, y = data(n_classes)
    labels = np.array(["no", "yes", "maybe"])[y]
    model = cc.Perceptron(epochs=10, dtype=dtype, random_state=0).fit(X, labels)
    out = run(model.to_onnx(), X.astype(dtype))
    assert list(out) == ["label", "scores"]
    scores = model.decision_function(X).reshape(len(X), -1)
    np.testing.assert_allclose(out["scores"], scores, atol=ATOL[dtype])
    np.testing.assert_array_equal(out["label"], model.predict(X))


def test_binary_tie_follows_predict():
    """A point exactly on the boundary (p = 0.5, score 0) gets the second class, as predict."""
    X = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    model = cc.LogisticRegression(epochs=1).fit(X, [0, 1, 0])
    model.network_.params[...] = 0  # p = sigmoid(0) = 0.5 everywhere
    model.coef_[...] = 0
    model.intercept_[...] = 0
    out = run(model.to_onnx(), X)
    np.testing.assert_array_equal(out["label"], model.predict(X))
    np.testing.assert_array_equal(out["label"], [1, 1, 1])
    perceptron = cc.Perceptron(epochs=1).fit(X, ["a", "b", "a"])
    perceptron.coef_[...] = 0
    perceptron.intercept_[...] = 0
    np.testing.assert_array_equal(run(perceptron.to_onnx(), X)["label"], ["b", "b", "b"])


@pytest.mark.parametrize("output,k", [("sigmoid", 1), ("softmax", 3), ("identity", 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_matches_forward(output, k, dtype):
    net = cc.Network(
        (4, 7, 5, k), activation=["tanh", "relu"], output=output, dtype=dtype, random_state=1
    )
    X = np.random.default_rng(2).normal(size=(40, 4)).astype(dtype)
    out = run(net.to_onnx(), X)
    assert list(out) == ["output"]
    np.testing.assert_allclose(out["output"], net.forward(X), atol=ATOL[dtype], rtol=1e-6)


def test_file_metadata_and_opset(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = data(2)
    frame = pd.DataFrame(X, columns=["grade", "test", "rank", "age"])
    model = mlp(cc.MLPClassifier, "relu", "float32").fit(frame, y)
    path = tmp_path / "model.onnx"
    data_bytes = model.to_onnx(path)
    assert path.read_bytes() == data_bytes
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["crash_core_version"] == cc.__version__
    assert props["class"] == "MLPClassifier"
    assert json.loads(props["feature_names"]) == ["grade", "test", "rank", "age"]
    assert json.loads(props["classes"]) == [0, 1]
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 13)]
    assert proto.ir_version == 7  # the oldest IR that opset 13 allows
    assert {n.op_type for n in proto.graph.node} <= {
        "Gemm",
        "Relu",
        "Sub",
        "Concat",
        "Sigmoid",
        "ArgMax",
        "Gather",
    }
    newer = onnx.load_from_string(model.to_onnx(opset=17))
    assert newer.opset_import[0].version == 17
    np.testing.assert_allclose(
        run(newer.SerializeToString(), X.astype(np.float32))["probabilities"],
        model.predict_proba(frame),
        atol=1e-5,
    )


def test_bad_requests():
    X, y = data(2)
    model = cc.MLPClassifier(hidden_layers=(3,), epochs=2, random_state=0)
    with pytest.raises(cc.NotFittedError):
        model.to_onnx()
    model.fit(X, y)
    with pytest.raises(ValueError, match="opset=9 is out of range"):
        model.to_onnx(opset=9)
    with pytest.raises(TypeError, match="opset must be an int"):
        model.to_onnx(opset="13")
    from crash_core.onnx import to_onnx

    with pytest.raises(TypeError, match="exports cc.Network"):
        to_onnx(object())


def test_missing_onnx_names_the_extra(monkeypatch):
    model = cc.Perceptron(epochs=2).fit(*data(2))
    monkeypatch.setitem(sys.modules, "onnx", None)  # what an absent package looks like
    with pytest.raises(ImportError, match=r"pip install 'crash-core\[onnx\]'"):
        model.to_onnx()
    with pytest.raises(ImportError, match=r"'onnx' package"):
        cc.Network((2, 1)).to_onnx()


def test_missing_skl2onnx_names_the_extra(monkeypatch):
    from crash_core.onnx import register

    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"skl2onnx.*crash-core\[onnx\]"):
        register()


# ---------------------------------------------------------------------- skl2onnx pipelines
@pytest.fixture
def skl2onnx():
    module = pytest.importorskip("skl2onnx", reason="skl2onnx is not installed")
    from crash_core.onnx import register

    register()
    return module


def pipeline(model):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("model", model)])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_pipeline_classifier_through_skl2onnx(skl2onnx, n_classes):
    X, y = data(n_classes)
    X = (X * [1, 10, 100, 0.1] + 5).astype(np.float32)
    labels = np.array(["cat", "dog", "eel"])[y]
    pipe = pipeline(mlp(cc.MLPClassifier, "tanh", "float32")).fit(X, labels)
    proto = skl2onnx.to_onnx(pipe, X[:1])
    out = run(proto.SerializeToString(), X)
    assert list(out) == ["label", "probabilities"]  # plain tensors, no ZipMap
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(out["label"], pipe.predict(X))


@pytest.mark.parametrize(
    "model",
    [
        cc.LogisticRegression(epochs=20, random_state=0),
        cc.Perceptron(epochs=10, random_state=0),
        cc.MLPClassifier(hidden_layers=(5,), epochs=10, dtype="float64", random_state=0),
    ],
    ids=lambda m: type(m).__name__,
)
def test_pipeline_other_classifiers(skl2onnx, model):
    X, y = data(3)
    pipe = pipeline(model).fit(X, y)
    out = run(
        skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)).SerializeToString(), X.astype(np.float32)
    )
    np.testing.assert_array_equal(out["label"], pipe.predict(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("n_targets", [1, 2])
def test_pipeline_regressor_through_skl2onnx(skl2onnx, n_targets):
    X, _ = data(2)
    Y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2] * 3])[:, :n_targets]
    y = Y.ravel() if n_targets == 1 else Y
    pipe = pipeline(mlp(cc.MLPRegressor, "relu", "float64")).fit(X, y)
    out = run(skl2onnx.to_onnx(pipe, X[:1]).SerializeToString(), X)  # double all the way
    assert list(out) == ["variable"]
    np.testing.assert_allclose(out["variable"], pipe.predict(X).reshape(len(X), -1), atol=1e-10)


def test_module_reachable_from_the_package():
    import crash_core.onnx

    assert cc.onnx is crash_core.onnx
    assert cc.onnx.DEFAULT_OPSET == 13


@pytest.mark.parametrize(
    "labels,onnx_dtype",
    [
        (np.array([False, True]), np.bool_),
        (np.array([-1.0, 2.0]), np.float64),
        (np.array([-5, 9]), np.int64),
        (np.array(["no", "yes"], dtype=object), object),
    ],
    ids=["bool", "float", "int", "str"],
)
def test_labels_keep_their_type(labels, onnx_dtype):
    X, y = data(2)
    model = mlp(cc.MLPClassifier, "relu", "float32").fit(X, labels[y])
    label = run(model.to_onnx(), X.astype(np.float32))["label"]
    assert label.dtype == onnx_dtype
    np.testing.assert_array_equal(label, model.predict(X))


def test_preprocessing_step_named_in_the_metadata():
    from crash_core.preprocessing import TabularPreprocessor

    X, y = data(2)
    step = TabularPreprocessor().fit(X)
    model = mlp(cc.MLPClassifier, "relu", "float32").fit(step.transform(X), y)
    model.preprocessor_ = step
    props = {p.key: p.value for p in onnx.load_from_string(model.to_onnx()).metadata_props}
    carried = json.loads(props["preprocessing"])
    assert carried["step"] == "TabularPreprocessor"
    assert set(carried["config"]) == set(step.to_config())
