"""Export to ONNX: a fitted model as a graph of standard operators, for ONNX Runtime.

``model.to_onnx(path=None, *, opset=None) -> bytes`` (and :func:`to_onnx`) writes what the
model computes at prediction time:

- every dense layer as ``Gemm`` (A W + b) followed by its activation: ``Relu``, ``Tanh``,
  ``Sigmoid``, ``Softmax`` (axis 1), nothing for identity;
- classifiers (``MLPClassifier``, ``LogisticRegression``): ``probabilities`` (n, k), in
  ``classes_`` order; a single sigmoid unit p becomes the two columns [1 - p, p], as
  ``predict_proba`` does; and ``label`` (n,) = classes[ArgMax(probabilities)], the labels
  kept as they are (int64, string, bool or double tensors);
- ``Perceptron``: the step, label = classes[s >= 0] for two classes, the class of the
  highest score s_c = w_c . x + b_c for more; having no probabilities, its second output is
  ``scores`` (n, 1 or k), ``decision_function`` as a column per perceptron;
- ``MLPRegressor``: ``variable`` (n, n_outputs), (n, 1) for one target;
- ``cc.Network``: ``output`` = ``net.forward(X)``.

The input ``X`` is (n, n_features) of the model's dtype: float32 for float32 models (the
default of the networks), float64 (ONNX double) for float64 ones, so an export computes
exactly the arithmetic the model does and a float64 model loses no precision.  The names and
shapes of the outputs are those of skl2onnx's converters (without ZipMap: the
probabilities are a plain tensor), so serving code written for scikit-learn models takes
crash_core's unchanged.  The model's library version, class, dtype, classes and feature names
go into ``metadata_props``.

The default opset is 13: every operator used here has had its present definition since
opset 13 (Softmax normalises one axis from 13 on), and every ONNX Runtime since 1.6 runs it,
so a file exported with the default loads in old deployments as well as new ones.  Any
opset from 13 to the newest the installed ``onnx`` knows may be asked for.

:func:`register` teaches skl2onnx to convert the estimators, so a whole scikit-learn
``Pipeline`` ending in one converts with ``skl2onnx.to_onnx``; both paths build the graph
with the same function.

This module imports the core; nothing in the core imports it.  ``onnx`` (and, for
:func:`register`, ``skl2onnx``) are imported only when a function here is called.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

import crash_core
from crash_core.models.logistic import LogisticRegression
from crash_core.models.mlp import MLPClassifier, MLPRegressor
from crash_core.models.perceptron import Perceptron
from crash_core.network import Network

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "register", "to_onnx"]

DEFAULT_OPSET = 13
MIN_OPSET = 13

_MISSING_ONNX = (
    "Exporting to ONNX needs the 'onnx' package, an optional dependency of crash_core: "
    "install the 'onnx' extra with  pip install 'crash-core[onnx]'  (or  pip install onnx)."
)
_MISSING_SKL2ONNX = (
    "crash_core.onnx.register() hooks crash_core into skl2onnx, which is not installed: "
    "install the 'onnx' extra with  pip install 'crash-core[onnx]'  (or  pip install skl2onnx)."
)

_INT64 = 7  # onnx.TensorProto.INT64, for Cast

# hidden and output activations -> ONNX operator (identity adds none)
_ACTIVATION_OPS = {
    "relu": "Relu",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "softmax": "Softmax",
    "identity": None,
}


def _onnx() -> Any:
    """The ``onnx`` package, or the one ImportError that says how to get it."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError(_MISSING_ONNX) from error
    return onnx


# ---------------------------------------------------------------------- what a model exports
def _fitted(model: Any) -> Any:
    """The model, checked: a Network or a fitted crash_core estimator."""
    if isinstance(model, Network):
        return model
    if not isinstance(model, (Perceptron, LogisticRegression, MLPClassifier, MLPRegressor)):
        raise TypeError(
            f"to_onnx exports cc.Network, Perceptron, LogisticRegression, MLPClassifier and "
            f"MLPRegressor, not {type(model).__name__}."
        )
    model._check_is_fitted("coef_" if isinstance(model, Perceptron) else "network_")
    return model


def _model_dtype(model: Any) -> np.dtype:
    if isinstance(model, Network):
        return model.dtype
    if isinstance(model, Perceptron):
        return np.dtype(model.dtype)
    return model.network_.dtype


def _label_values(classes: np.ndarray) -> np.ndarray:
    """``classes_`` as the tensor the label lookup gathers from."""
    kind = classes.dtype.kind
    if kind in "iu":
        return classes.astype(np.int64)
    if kind in "bf":
        return classes.astype(np.bool_ if kind == "b" else np.float64)
    if kind in "US" or (kind == "O" and all(isinstance(c, str) for c in classes)):
        return np.array([str(c) for c in classes], dtype=object)
    raise TypeError(
        f"Class labels of type {classes.dtype} cannot be exported to ONNX; use integer, "
        "boolean, float or string labels."
    )


def _outputs(model: Any, dtype: np.dtype) -> list[tuple[str, np.dtype, int | None]]:
    """(name, element dtype, columns or None for a 1-D output) of each graph output."""
    if isinstance(model, Network):
        return [("output", dtype, model.n_outputs)]
    if isinstance(model, MLPRegressor):
        return [("variable", dtype, model.network_.n_outputs)]
    label = _label_values(model.classes_).dtype
    if isinstance(model, Perceptron):
        return [("label", label, None), ("scores", dtype, model.coef_.shape[0])]
    return [("label", label, None), ("probabilities", dtype, len(model.classes_))]


# ---------------------------------------------------------------------- the graph builder
class _Graph:
    """Where the builder puts what it makes; a subclass turns it into ONNX for one path."""

    def constant(self, hint: str, value: np.ndarray) -> str:
        """Name of a new initializer holding ``value``."""
        raise NotImplementedError

    def node(self, op: str, inputs: list[str], hint: str, out: str | None = None, **attrs) -> str:
        """Add one operator; returns the name of its (single) output, ``out`` if given."""
        raise NotImplementedError


def _dense_stack(g: _Graph, network: Network, x: str, dtype: np.dtype, out: str | None) -> str:
    """a_0 = x, a_i = f_i(a_{i-1} W_i + b_i): one Gemm and one activation per layer; the
    last layer's result is named ``out`` (when given)."""
    functions = [*network.activations, network.output]
    a = x
    last = len(functions) - 1
    for i, (W, b, f) in enumerate(zip(network.weights, network.biases, functions, strict=True)):
        op = _ACTIVATION_OPS[f]
        w_name = g.constant(f"W{i}", W.astype(dtype))
        b_name = g.constant(f"b{i}", b.astype(dtype))
        a = g.node("Gemm", [a, w_name, b_name], f"z{i}", out if i == last and op is None else None)
        if op is not None:
            attrs = {"axis": 1} if op == "Softmax" else {}
            a = g.node(op, [a], f"a{i}", out if i == last else None, **attrs)
    return a


def _classes_lookup(g: _Graph, classes: np.ndarray, index: str, label: str) -> str:
    """label_i = classes[index_i] (Gather over the labels, whatever their type)."""
    return g.node("Gather", [g.constant("classes", _label_values(classes)), index], "lookup", label)


def _build(g: _Graph, model: Any, x: str, dtype: np.dtype, names: list[str]) -> None:
    """The graph computing ``model``'s predictions from the input ``x`` into ``names``
    (the outputs listed by :func:`_outputs`, in that order)."""
    if isinstance(model, (Network, MLPRegressor)):
        network = model if isinstance(model, Network) else model.network_
        _dense_stack(g, network, x, dtype, names[0])
        return
    label, proba = names
    if isinstance(model, Perceptron):
        coef = g.constant("coef", model.coef_.T.astype(dtype))
        intercept = g.constant("intercept", model.intercept_.astype(dtype))
        scores = g.node("Gemm", [x, coef, intercept], "scores", proba)
        if len(model.classes_) > 2:
            index = g.node("ArgMax", [scores], "index", axis=1, keepdims=0)
        else:  # the step: class 1 where s >= 0, i.e. where not s < 0
            negative = g.node("Less", [scores, g.constant("zero", np.zeros(1, dtype))], "negative")
            step = g.node("Cast", [g.node("Not", [negative], "step")], "step_int", to=_INT64)
            index = g.node("Reshape", [step, g.constant("flat", np.array([-1]))], "index")
        _classes_lookup(g, model.classes_, index, label)
        return
    network = model.network_
    binary = network.output == "sigmoid"
    p = _dense_stack(g, network, x, dtype, None if binary else proba)
    if binary:  # one sigmoid unit p -> [1 - p, p]
        one = g.constant("one", np.ones(1, dtype=dtype))
        p = g.node("Concat", [g.node("Sub", [one, p], "complement"), p], "pair", proba, axis=1)
    # ties: predict takes class 1 at p = 0.5 exactly, and the first of equal softmax columns
    index = g.node("ArgMax", [p], "index", axis=1, keepdims=0, select_last_index=int(binary))
    _classes_lookup(g, model.classes_, index, label)


class _ModelGraph(_Graph):
    """The graph of a standalone ONNX model: nodes and initializers as onnx protos."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used: dict[str, int] = {}

    def _name(self, hint: str) -> str:
        count = self._used.get(hint, 0)
        self._used[hint] = count + 1
        return hint if count == 0 else f"{hint}_{count}"

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self._name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, out: str | None = None, **attrs) -> str:
        out = out or self._name(hint)
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, [out], name=self._name(op), **attrs)
        )
        return out


def _check_opset(onnx: Any, opset: Any) -> int:
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return DEFAULT_OPSET
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool):
        raise TypeError(f"opset must be an int, got {type(opset).__name__}.")
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"opset={opset} is out of range: crash_core exports opsets {MIN_OPSET} to {newest} "
            f"(the newest the installed onnx knows); the default is {DEFAULT_OPSET}."
        )
    return int(opset)


def _metadata(model: Any, dtype: np.dtype) -> dict[str, str]:
    """What travels with the graph in ``metadata_props`` (every value a string)."""
    props = {
        "crash_core_version": crash_core.__version__,
        "class": type(model).__name__,
        "dtype": dtype.name,
    }
    classes = getattr(model, "classes_", None)
    if classes is not None:
        props["classes"] = json.dumps(np.asarray(classes).tolist())
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        props["feature_names"] = json.dumps([str(n) for n in names])
    if isinstance(model, Network):
        props["layer_sizes"] = json.dumps(list(model.layer_sizes))
    step = getattr(model, "preprocessor_", None)
    if step is not None:  # the graph takes the step's output: say so, with its fitted state
        props["preprocessing"] = json.dumps(
            {"step": type(step).__name__, "config": step.to_config()},
            default=lambda v: v.item() if hasattr(v, "item") else str(v),
        )
    return props


def to_onnx(
    model: Any, path: str | os.PathLike | None = None, *, opset: int | None = None
) -> bytes:
    """The ONNX model of ``model`` as bytes, written to ``path`` too when one is given.

    Parameters
    ----------
    model : cc.Network or a fitted Perceptron, LogisticRegression, MLPClassifier, MLPRegressor
        What to export.
    path : str or os.PathLike, default=None
        A file to write the bytes to (exactly that path).
    opset : int, default=None
        The ONNX opset, from :data:`MIN_OPSET` to the newest the installed ``onnx`` knows;
        None means :data:`DEFAULT_OPSET` (13).

    Returns
    -------
    bytes
        The serialized ``onnx.ModelProto``: input ``X`` (n, n_features) in the model's
        dtype; outputs as described in this module's docstring.
    """
    onnx = _onnx()
    model = _fitted(model)
    opset = _check_opset(onnx, opset)
    dtype = _model_dtype(model)
    helper = onnx.helper
    g = _ModelGraph(onnx)
    outputs = _outputs(model, dtype)
    _build(g, model, "X", dtype, [name for name, _, _ in outputs])

    def info(name: str, elem: np.dtype, columns: int | None) -> Any:
        shape = [None] if columns is None else [None, columns]
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(elem), shape)

    n_features = model.n_features if isinstance(model, Network) else model.n_features_in_
    graph = helper.make_graph(
        g.nodes,
        type(model).__name__,
        [info("X", dtype, n_features)],
        [info(*spec) for spec in outputs],
        g.initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    onnx_model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="crash_core",
        producer_version=crash_core.__version__,
        # the oldest IR version the opset allows, so older runtimes load the file too
        ir_version=helper.find_min_ir_version_for(opsets),
    )
    helper.set_model_props(onnx_model, _metadata(model, dtype))
    onnx.checker.check_model(onnx_model)
    data = onnx_model.SerializeToString()
    if path is not None:
        Path(path).write_bytes(data)
    return data


# ---------------------------------------------------------------------- skl2onnx
class _ConverterGraph(_Graph):
    """The graph inside a skl2onnx conversion: names from its scope, protos in its container."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope = scope
        self.container = container

    def constant(self, hint: str, value: np.ndarray) -> str:
        from onnx.helper import np_dtype_to_tensor_dtype

        name = self.scope.get_unique_variable_name(hint)
        strings = value.dtype == object
        elem = 8 if strings else np_dtype_to_tensor_dtype(value.dtype)  # 8: TensorProto.STRING
        content = value.ravel().tolist() if strings else value.ravel()
        self.container.add_initializer(name, elem, list(value.shape), content)
        return name

    def node(self, op: str, inputs: list[str], hint: str, out: str | None = None, **attrs) -> str:
        out = out or self.scope.get_unique_variable_name(hint)
        name = self.scope.get_unique_operator_name(op)
        self.container.add_node(op, inputs, [out], name=name, **attrs)
        return out


def _alias(model_class: type) -> str:
    return f"CrashCore{model_class.__name__}"


def _tensor_type(elem: np.dtype, columns: int | None, rows: Any = None) -> Any:
    """skl2onnx's type of a (rows,) or (rows, columns) tensor of ``elem``."""
    from skl2onnx.common import data_types as t

    kind = {"f": None, "i": t.Int64TensorType, "b": t.BooleanTensorType, "O": t.StringTensorType}
    cls = kind[elem.kind] or (t.FloatTensorType if elem.itemsize == 4 else t.DoubleTensorType)
    return cls([rows] if columns is None else [rows, columns])


def _input_dtype(variable: Any) -> np.dtype:
    """The dtype the pipeline feeds the model: the graph computes in it (float or double)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(variable.type, DoubleTensorType):
        return np.dtype(np.float64)
    if isinstance(variable.type, FloatTensorType):
        return np.dtype(np.float32)
    raise TypeError(
        f"crash_core's converter takes a float or double tensor, got {variable.type}; cast the "
        "input (e.g. X.astype(np.float32)) before converting."
    )


def _parse(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """One operator for the estimator, with the outputs :func:`to_onnx` gives (no ZipMap)."""
    operator = scope.declare_local_operator(_alias(type(model)), model)
    operator.inputs = inputs
    dtype = _input_dtype(inputs[0])
    for name, elem, columns in _outputs(_fitted(model), dtype):
        operator.outputs.append(scope.declare_local_variable(name, _tensor_type(elem, columns)))
    return operator.outputs


def _shape_calculator(operator: Any) -> None:
    """Outputs shaped (N,) / (N, k), N the input's batch dimension."""
    rows = operator.inputs[0].get_first_dimension()
    dtype = _input_dtype(operator.inputs[0])
    specs = _outputs(operator.raw_operator, dtype)
    for variable, (_, elem, columns) in zip(operator.outputs, specs, strict=True):
        variable.type = _tensor_type(elem, columns, rows)


def _converter(scope: Any, operator: Any, container: Any) -> None:
    """The model's graph, built by the same function as :func:`to_onnx`'s."""
    if container.target_opset is not None and container.target_opset < MIN_OPSET:
        raise ValueError(
            f"crash_core's converter needs target_opset >= {MIN_OPSET}, got "
            f"{container.target_opset}."
        )
    x = operator.inputs[0]
    names = [variable.full_name for variable in operator.outputs]
    _build(
        _ConverterGraph(scope, container),
        operator.raw_operator,
        x.full_name,
        _input_dtype(x),
        names,
    )


def register() -> None:
    """Register the four estimators with skl2onnx (parser, shape calculator, converter), so
    ``skl2onnx.to_onnx`` converts pipelines that contain them.

    Classifiers give ``label`` and ``probabilities`` as plain tensors (no ZipMap), like
    :func:`to_onnx`; the model computes in the type its input arrives in (float or double).
    """
    _onnx()
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError(_MISSING_SKL2ONNX) from error
    for cls in (Perceptron, LogisticRegression, MLPClassifier, MLPRegressor):
        update_registered_converter(cls, _alias(cls), _shape_calculator, _converter, parser=_parse)
