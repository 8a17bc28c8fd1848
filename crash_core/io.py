"""Saving and loading fitted models: ``model.save(path)`` and ``cc.load(path)``.

A model file is pickle-free: ONE zip archive in NumPy's ``.npz`` layout, written by
``numpy.savez_compressed`` to exactly the path given (no extension is added; ``.npz`` or
``.ccm`` are good choices). Its entries are ``.npy`` arrays:

``header.json``
    a 1-D ``uint8`` array holding UTF-8 JSON (standard JSON: no NaN / Infinity tokens)::

        {"format": "crash_core.model", "format_version": 1, "library_version": "0.1.0",
         "class": "MLPClassifier",
         "params": {...},            # get_params(deep=False), encoded as below
         "attributes": {...},        # fitted scalars and lists: n_epochs_, loss_, ...
         "n_features_in": 2,
         "feature_names_in": null,   # or the column names (strings)
         "classes": {"dtype": "<U3", "values": null},   # null for a regressor
         "network": {"layer_sizes": [2, 64, 1], "activation": "relu",
                     "output": "sigmoid", "dtype": "float32"},   # null for Perceptron
         "history": {"epoch": [...], "history": {"loss": [...], ...}}}  # null for Perceptron

``params``
    the network's flat parameter buffer (``MLPClassifier``, ``MLPRegressor``,
    ``LogisticRegression``), 1-D, of the network's dtype.
``coef_``, ``intercept_``
    ``Perceptron`` and ``LogisticRegression``, float64.
``classes_``
    the class labels (classifiers), when their dtype is a plain NumPy one (ints, floats,
    bools, strings). Labels held in an ``object`` array (e.g. strings from a pandas column)
    are stored in the header instead, as ``"values"``, and come back as an ``object`` array.

Values in ``params`` / ``attributes`` are JSON with a few tagged objects, so that the types
come back: ``{"__type__": "tuple", "items": [...]}``, ``{"__type__": "dict", "items":
[[key, value], ...]}``, ``{"__type__": "float", "value": "nan" | "inf" | "-inf"}``,
``{"__type__": "optimizer", "config": ...}`` (``crash_core.optimizers.from_config``),
``{"__type__": "schedule", "config": ...}`` (``crash_core.schedules.from_config``),
``{"__type__": "dtype" | "numpy_type", "name": "float32" | "float64"}``. Anything else
(callbacks, a plain callable as ``lr_schedule``, a numpy Generator as ``random_state``) cannot
be stored without pickle: it is saved as ``None`` with a warning naming the parameter.

Loading never executes code from the file: ``np.load(..., allow_pickle=False)``, the class is
looked up in a fixed table of the four models, and every entry, shape, dtype, value and
parameter is checked before the model is rebuilt. Any problem with the file's contents raises
:class:`ModelFileError` (a ``ValueError``) naming the problem; only a bad *path* raises
``FileNotFoundError`` / ``IsADirectoryError`` / ``PermissionError``.

The optimizer state (Adam moments, momentum) is not saved: a loaded model predicts and scores
exactly like the saved one, and ``fit`` with ``warm_start=True`` / ``partial_fit`` continue
from the saved weights and history with a fresh optimizer state.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from io import BytesIO
from typing import Any

import numpy as np
import numpy.lib.format as npy_format

__all__ = ["save", "load", "ModelFileError", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "crash_core.model"
FORMAT_VERSION = 1

_HEADER = "header.json"
_MAX_HEADER_BYTES = 64 * 2**20
_HEADER_KEYS = {
    "format",
    "format_version",
    "library_version",
    "class",
    "params",
    "attributes",
    "n_features_in",
    "feature_names_in",
    "classes",
    "network",
    "history",
    "optimizer_state",
}
_WITH_OPTIMIZER_STATE = ("MLPClassifier", "MLPRegressor")
# a public fitted attribute: learned by fit, name ends with "_"
_PUBLIC_ATTR = re.compile(r"^[a-z][a-z0-9_]*_$")
# attributes written by dedicated header fields / array entries, not under "attributes"
_SPECIAL_ATTRS = {
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "network_",
    "history_",
    "coef_",
    "intercept_",
    "preprocessor_",
}
# header keys a file may leave out (written only when the model has the attribute)
_OPTIONAL_HEADER_KEYS = {"preprocessing"}
# the kind of value each known fitted attribute holds
_ATTR_KINDS = {
    "n_epochs_": "count",
    "n_iter_": "count",
    "mistakes_": "count_list",
    "loss_": "float",
    "learning_rate_": "float",
    "best_epoch_": "count",
    "restart_losses_": "float_list",
    "restart_seeds_": "count_list",
    "best_restart_": "count",
    "_n_targets": "count",
    "_y_1d": "bool",
}
_MLP_REQUIRED = {"n_epochs_", "n_iter_", "loss_", "learning_rate_"}
_MLP_OPTIONAL = {"best_epoch_", "restart_losses_", "restart_seeds_", "best_restart_"}
# class name -> (required attributes, optional attributes, private attributes saved)
_SCHEMA: dict[str, tuple[set[str], set[str], set[str]]] = {
    "Perceptron": ({"n_epochs_", "n_iter_", "mistakes_"}, set(), set()),
    "LogisticRegression": ({"n_epochs_", "n_iter_"}, set(), set()),
    "MLPClassifier": (_MLP_REQUIRED, _MLP_OPTIONAL, set()),
    "MLPRegressor": (
        _MLP_REQUIRED | {"_n_targets", "_y_1d"},
        _MLP_OPTIONAL,
        {"_n_targets", "_y_1d"},
    ),
}
_FITTED_ATTR = {
    "Perceptron": "coef_",
    "LogisticRegression": "coef_",
    "MLPClassifier": "network_",
    "MLPRegressor": "network_",
}
_HAS_NETWORK = {"LogisticRegression", "MLPClassifier", "MLPRegressor"}
_HAS_COEF = {"Perceptron", "LogisticRegression"}
_CLASSIFIERS = {"Perceptron", "LogisticRegression", "MLPClassifier"}
_FLOAT_NAMES = ("float32", "float64")
_LABEL_KINDS = "biufUS"  # dtype kinds of class labels stored as an array entry


class ModelFileError(ValueError):
    """A model file is corrupt, truncated, edited or not a crash_core model file."""


def _model_classes() -> dict[str, type]:
    """The ONLY classes a file may name: a fixed table, never an import by name."""
    from crash_core.models.logistic import LogisticRegression
    from crash_core.models.mlp import MLPClassifier, MLPRegressor
    from crash_core.models.perceptron import Perceptron

    return {
        "Perceptron": Perceptron,
        "LogisticRegression": LogisticRegression,
        "MLPClassifier": MLPClassifier,
        "MLPRegressor": MLPRegressor,
    }


# ---------------------------------------------------------------------- value encoding
class _Unencodable(Exception):
    pass


def _encode(value: Any) -> Any:
    """A JSON-ready form of ``value`` that :func:`_decode` turns back into it."""
    from crash_core.optimizers import Optimizer
    from crash_core.schedules import Schedule

    if value is None or isinstance(value, (bool, str)):
        return str(value) if isinstance(value, str) else value
    if isinstance(value, np.generic) and not isinstance(value, np.void):
        return _encode(value.item())
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"__type__": "float", "value": repr(float(value))}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"__type__": "tuple", "items": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__type__": "dict", "items": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (Optimizer, Schedule)):
        tag = "optimizer" if isinstance(value, Optimizer) else "schedule"
        config = value.get_config()
        return {"__type__": tag, "config": {str(k): _encode(v) for k, v in config.items()}}
    if isinstance(value, np.dtype) and value.name in _FLOAT_NAMES:
        return {"__type__": "dtype", "name": value.name}
    if isinstance(value, type) and value in (np.float32, np.float64):
        return {"__type__": "numpy_type", "name": np.dtype(value).name}
    raise _Unencodable(type(value).__name__)


def _decode(obj: Any) -> Any:
    """Inverse of :func:`_encode`; raises ModelFileError on anything it did not write."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if not isinstance(obj, dict):
        raise ModelFileError(f"unexpected value {obj!r:.80}")
    tag = obj.get("__type__")
    fields = set(obj) - {"__type__"}
    if tag in ("tuple", "dict") and fields == {"items"} and isinstance(obj["items"], list):
        if tag == "tuple":
            return tuple(_decode(v) for v in obj["items"])
        out = {}
        for pair in obj["items"]:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ModelFileError(
                    f"a saved dict item must be a [key, value] pair, got {pair!r:.80}"
                )
            key = _decode(pair[0])
            if key is not None and not isinstance(key, (bool, int, float, str)):
                raise ModelFileError(f"a saved dict key must be a scalar, got {key!r:.80}")
            out[key] = _decode(pair[1])
        return out
    if tag == "float" and fields == {"value"} and obj["value"] in ("nan", "inf", "-inf"):
        return float(obj["value"])
    if tag in ("optimizer", "schedule") and fields == {"config"}:
        config = obj["config"]
        if not isinstance(config, dict):
            raise ModelFileError(f"a saved {tag} config must be an object, got {config!r:.80}")
        config = {k: _decode(v) for k, v in config.items()}
        if not all(v is None or isinstance(v, (bool, int, float, str)) for v in config.values()):
            raise ModelFileError(f"a saved {tag} config holds non-scalar values: {config!r:.120}")
        if tag == "optimizer":
            from crash_core.optimizers import from_config
        else:
            from crash_core.schedules import from_config
        try:
            return from_config(config)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"the saved {tag} {config!r:.120} is invalid: {exc}") from exc
    if tag in ("dtype", "numpy_type") and fields == {"name"} and obj["name"] in _FLOAT_NAMES:
        kind = np.float32 if obj["name"] == "float32" else np.float64
        return np.dtype(kind) if tag == "dtype" else kind
    raise ModelFileError(f"unknown tagged value {obj!r:.120}")


def _float_list(values: Any, what: str) -> list[float]:
    if not isinstance(values, list):
        raise ModelFileError(f"{what} must be a list of numbers, got {values!r:.80}")
    out = []
    for v in values:
        v = _decode(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ModelFileError(f"{what} must hold numbers, got {v!r:.80}")
        out.append(float(v))
    return out


def _check_attr(name: str, value: Any, context: str) -> Any:
    """A known fitted attribute's decoded value, type-checked."""
    kind = _ATTR_KINDS[name]
    try:
        return _checked_attr(name, kind, value)
    except ModelFileError as exc:
        raise ModelFileError(f"{context}: {exc}") from None


def _checked_attr(name: str, kind: str, value: Any) -> Any:

    def count(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ModelFileError(f"attribute {name} must be a count (int >= 0), got {v!r:.80}")
        return v

    if kind == "count":
        return count(value)
    if kind == "count_list":
        if not isinstance(value, list):
            raise ModelFileError(f"attribute {name} must be a list of ints, got {value!r:.80}")
        return [count(v) for v in value]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ModelFileError(f"attribute {name} must be true or false, got {value!r:.80}")
        return value
    if kind == "float":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ModelFileError(f"attribute {name} must be a finite number, got {value!r:.80}")
        return float(value)
    return _float_list(value, f"attribute {name}")  # float_list


def _is_simple(value: Any) -> bool:
    """A JSON scalar, or a list of them (what an unknown fitted attribute may hold)."""
    scalar = (type(None), bool, int, float, str)
    return isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(v, scalar) for v in value)
    )


# ---------------------------------------------------------------------- saving
def save(model: Any, path: str | os.PathLike | Any) -> None:
    """Write a fitted model to ``path`` (exactly that path: no extension is added).

    ``path`` is a file name or a binary file object open for writing. The file is an
    ``.npz`` archive with a JSON header and no pickled data (see the module docstring); read
    it back with :func:`load`. Parameters that cannot be stored without pickle (callbacks,
    plain callables, numpy Generators) are saved as ``None`` with a warning.

    Raises ``NotFittedError`` for an unfitted model, ``TypeError`` for an object that is not
    one of crash_core's four models.
    """
    import crash_core

    classes = _model_classes()
    name = type(model).__name__
    if classes.get(name) is not type(model):
        raise TypeError(
            f"save() stores crash_core models ({', '.join(classes)}), got "
            f"{type(model).__module__}.{type(model).__qualname__}; a subclass would load as "
            "its base class, so save the base class or store your model another way."
        )
    model._check_is_fitted(_FITTED_ATTR[name])

    params = {}
    for key, value in model.get_params(deep=False).items():
        try:
            params[key] = _encode(value)
        except _Unencodable:
            warnings.warn(
                f"{name}.{key}={value!r:.80} cannot be saved without pickle; it is saved as "
                f"None. Set it again after loading (model.set_params({key}=...)).",
                UserWarning,
                stacklevel=3,
            )
            params[key] = None
    # a file that load() would reject must not be written: check the params as load does
    _validate_params(
        name,
        classes[name],
        {k: _decode(v) for k, v in params.items()},
        getattr(model, "classes_", None),
        context=f"cannot save this {name}",
    )

    required, optional, _ = _SCHEMA[name]
    attributes = {}
    for key, value in vars(model).items():
        known = key in required | optional
        if (
            key in _SPECIAL_ATTRS
            or not known
            and (key in _ATTR_KINDS or not _PUBLIC_ATTR.match(key))
        ):
            continue  # stored elsewhere, private, or not an attribute of this class
        try:
            encoded = _encode(value)
            ok = known or _is_simple(_decode(encoded))
        except _Unencodable:
            ok = False
        if not ok:
            warnings.warn(
                f"The fitted attribute {name}.{key} ({type(value).__name__}) cannot be saved "
                "without pickle; the loaded model will not have it.",
                UserWarning,
                stacklevel=3,
            )
            continue
        if known:
            _check_attr(key, _decode(encoded), context=f"cannot save this {name}")
        attributes[key] = encoded
    missing = required - set(attributes)
    if missing:
        raise ValueError(f"This {name} lacks the fitted attribute(s) {sorted(missing)}; refit it.")

    arrays: dict[str, np.ndarray] = {}
    header: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": crash_core.__version__,
        "class": name,
        "params": params,
        "attributes": attributes,
        "n_features_in": int(model.n_features_in_),
        "feature_names_in": None,
        "classes": None,
        "network": None,
        "history": None,
        "optimizer_state": None,
    }
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        header["feature_names_in"] = [str(n) for n in names]
    if name in _CLASSIFIERS:
        labels = np.asarray(model.classes_)
        if labels.dtype.kind in _LABEL_KINDS:
            header["classes"] = {"dtype": labels.dtype.str, "values": None}
            arrays["classes_"] = labels
        elif labels.dtype.kind == "O" and all(
            isinstance(v, str) or isinstance(v, int) and not isinstance(v, bool)
            for v in labels.tolist()
        ):
            header["classes"] = {"dtype": "|O", "values": labels.tolist()}
        else:
            raise ValueError(
                f"Cannot save class labels of dtype {labels.dtype} ({labels.tolist()!r:.80}); "
                "only ints, floats, bools and strings can be stored without pickle. Refit with "
                "such labels."
            )
    if name in _HAS_NETWORK:
        net = model.network_
        header["network"] = {
            "layer_sizes": [int(s) for s in net.layer_sizes],
            "activation": net.activation
            if isinstance(net.activation, str)
            else list(net.activation),
            "output": net.output,
            "dtype": net.dtype.name,
        }
        arrays["params"] = np.ascontiguousarray(net.params)
        history = model.history_.to_dict()
        header["history"] = {
            "epoch": [int(e) for e in history["epoch"]],
            "history": {
                str(k): [_encode(float(v)) for v in vals] for k, vals in history["history"].items()
            },
        }
    state = getattr(model, "_optimizer_state", None)
    if name in _WITH_OPTIMIZER_STATE and state is not None:
        # momentum / moments and the step count, so warm_start after load continues
        buffers = [b for b in (state.state1, state.state2) if b.size]
        header["optimizer_state"] = {"steps": int(state.t), "buffers": len(buffers)}
        for i, buffer in enumerate(buffers, start=1):
            arrays[f"optimizer_state{i}"] = np.ascontiguousarray(buffer)
    prep = getattr(model, "preprocessor_", None)
    if prep is not None:
        header["preprocessing"] = prep.to_config()
    if name in _HAS_COEF:
        arrays["coef_"] = np.asarray(model.coef_, dtype=np.float64)
        arrays["intercept_"] = np.asarray(model.intercept_, dtype=np.float64)

    text = json.dumps(header, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    buffer = BytesIO()
    entries = {_HEADER: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays}
    np.savez_compressed(buffer, **entries)
    data = buffer.getvalue()
    if hasattr(path, "write"):
        path.write(data)
        return
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------- loading
def load(path: str | os.PathLike | Any) -> Any:
    """Read a model written by ``model.save(path)`` / :func:`save`; returns the model.

    ``path`` is a file name or a seekable binary file object. The file is fully validated
    and never unpickled: a corrupt, truncated, edited or foreign file raises
    :class:`ModelFileError` (a ``ValueError``) that says what is wrong. A missing file raises
    ``FileNotFoundError``.
    """
    if hasattr(path, "read"):
        name = getattr(path, "name", None)
        return _load_checked(path, repr(name) if isinstance(name, str) else "the model file")
    with open(path, "rb") as f:  # path problems raise FileNotFoundError, IsADirectoryError...
        return _load_checked(f, repr(os.fspath(path)))


def _load_checked(f: Any, label: str) -> Any:
    try:
        return _load(f)
    except ModelFileError as exc:
        raise ModelFileError(f"{label}: {exc}") from exc.__cause__
    except Exception as exc:  # a corrupt file may break the zip / npy readers anywhere
        raise ModelFileError(
            f"{label} is not a valid crash_core model file (corrupt or truncated: "
            f"{type(exc).__name__}: {exc}). Save the model again with model.save(path)."
        ) from exc


def _load(f: Any) -> Any:
    magic = f.read(4)
    f.seek(-len(magic), 1)
    if not magic:
        raise ModelFileError("the file is empty (0 bytes); it is not a crash_core model file.")
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise ModelFileError(
            "not a crash_core model file (not an .npz / zip archive); write model files with "
            "model.save(path) and read them with crash_core.load(path)."
        )
    with np.load(f, allow_pickle=False) as npz:
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ModelFileError("not a crash_core model file (not an .npz archive).")
        members = {}
        for member in npz.zip.namelist():
            key = member[:-4] if member.endswith(".npy") else member
            if key in members:
                raise ModelFileError(f"the archive holds the entry {key!r} twice.")
            members[key] = member
        if _HEADER not in members:
            raise ModelFileError(
                f"not a crash_core model file: the archive has no {_HEADER!r} entry (it "
                f"holds {sorted(members)!r:.200})."
            )
        raw = _read_entry(npz, members, _HEADER, (None,), "u1", max_bytes=_MAX_HEADER_BYTES)
        plan = _Plan.from_header(_parse_header(raw))
        expected = set(plan.entries) | {_HEADER}
        extra, missing = set(members) - expected, expected - set(members)
        if missing:
            raise ModelFileError(
                f"the {plan.cls_name} file lacks the entry(ies) {sorted(missing)}; the file is "
                "incomplete. Save the model again."
            )
        if extra:
            raise ModelFileError(
                f"the archive holds unexpected entry(ies) {sorted(extra)!r:.200}; a "
                f"{plan.cls_name} file has exactly {sorted(expected)}."
            )
        arrays = {
            key: _read_entry(npz, members, key, shape, dtype)
            for key, (shape, dtype) in plan.entries.items()
        }
    return plan.build(arrays)


def _read_entry(
    npz: Any,
    members: dict[str, str],
    key: str,
    shape: tuple[int | None, ...],
    dtype: str,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Check an entry's .npy header against ``shape`` / ``dtype`` before reading its data."""
    member = members[key]
    info = npz.zip.getinfo(member)
    if not member.endswith(".npy"):
        raise ModelFileError(f"the entry {member!r} is not a .npy array.")
    with npz.zip.open(member) as fp:
        version = npy_format.read_magic(fp)
        if version == (1, 0):
            found_shape, fortran, found_dtype = npy_format.read_array_header_1_0(fp)
        elif version == (2, 0):
            found_shape, fortran, found_dtype = npy_format.read_array_header_2_0(fp)
        else:
            raise ModelFileError(f"the entry {key!r} uses the unsupported .npy version {version}.")
        header_len = fp.tell() if fp.seekable() else 0
    if found_dtype.hasobject or found_dtype.kind == "V":
        raise ModelFileError(
            f"the entry {key!r} holds Python objects (dtype {found_dtype}), which can only be "
            "read by unpickling; crash_core never unpickles model files. This is not a file "
            "written by model.save()."
        )
    wanted = np.dtype(dtype)
    if found_dtype.kind != wanted.kind or found_dtype.itemsize != wanted.itemsize:
        raise ModelFileError(
            f"the entry {key!r} has dtype {found_dtype}, but the header declares {wanted}."
        )
    if len(found_shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(found_shape, shape, strict=True)
    ):
        declared = tuple("n" if d is None else d for d in shape)
        raise ModelFileError(
            f"the entry {key!r} has shape {tuple(found_shape)}, but the header declares "
            f"{declared}; the file is corrupt or was edited."
        )
    n_bytes = math.prod(found_shape) * found_dtype.itemsize
    if max_bytes is not None and n_bytes > max_bytes:
        raise ModelFileError(f"the entry {key!r} is too large ({n_bytes} bytes).")
    if n_bytes + header_len > info.file_size:
        raise ModelFileError(f"the entry {key!r} is truncated (its data is missing).")
    array = npz[key]  # numpy's reader, allow_pickle=False
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _parse_header(raw: np.ndarray) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            keys = [k for k, _ in pairs]
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ModelFileError(f"the header repeats the key {dup!r}.")
        return out

    def no_constants(token: str) -> Any:
        raise ModelFileError(f"the header holds the non-JSON number {token}.")

    try:
        text = raw.tobytes().decode("utf-8")
        header = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(
            f"the {_HEADER} entry is not valid UTF-8 JSON ({exc}); the file is corrupt."
        ) from exc
    if not isinstance(header, dict):
        raise ModelFileError(f"the {_HEADER} entry must be a JSON object; the file is corrupt.")
    return header


def _validate_params(
    cls_name: str, cls: type, params: dict[str, Any], classes: Any, context: str
) -> Any:
    """An estimator holding ``params``, checked by the estimator's own rules."""
    from crash_core._validation import check_scalar
    from crash_core.models._common import class_weights
    from crash_core.models._common import dtype_name as _dtype_name
    from crash_core.network import make_rng
    from crash_core.optimizers import resolve_optimizer

    valid = cls._get_param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ModelFileError(
            f"{context}: unknown parameter(s) {unknown!r:.200} for {cls_name} (it takes "
            f"{valid}); the file was written by another crash_core version — upgrade crash_core."
        )
    estimator = cls(**params)
    try:
        check = getattr(estimator, "_check_params", None)
        if check is not None:  # the MLPs validate every parameter here
            check()
        else:  # Perceptron / LogisticRegression validate inline in fit: the same checks
            check_scalar(estimator.learning_rate, "learning_rate", min_val=0.0, include_min=False)
            check_scalar(estimator.epochs, "epochs", kind=int, min_val=1)
            check_scalar(estimator.shuffle, "shuffle", kind=bool)
            _dtype_name(estimator.dtype)
            if cls_name == "LogisticRegression":
                check_scalar(estimator.l1, "l1", min_val=0.0)
                check_scalar(estimator.l2, "l2", min_val=0.0)
                check_scalar(estimator.tol, "tol", min_val=0.0)
                if estimator.batch_size is not None:
                    check_scalar(estimator.batch_size, "batch_size", kind=int, min_val=1)
                resolve_optimizer(estimator.optimizer)
        if not isinstance(estimator.verbose, (bool, int)):
            raise TypeError(f"verbose must be an int, got {estimator.verbose!r}.")
        make_rng(estimator.random_state)
        if cls_name == "MLPClassifier" and classes is not None:
            class_weights(estimator.class_weight, np.asarray(classes), np.zeros(1, np.intp))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{context}: its parameters fail {cls_name}'s validation: {exc}"
        ) from exc
    return estimator


class _Plan:
    """A validated header: what the archive must hold and how to rebuild the model."""

    def __init__(self) -> None:
        # entry name -> (shape, None for a dimension not known before reading; dtype)
        self.entries: dict[str, tuple[tuple[int | None, ...], str]] = {}
        self.network: dict[str, Any] | None = None
        self.history: dict[str, Any] | None = None
        self.n_units: int | None = None
        self.optimizer_state: dict[str, int] | None = None

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> _Plan:
        plan = cls()
        fmt = header.get("format")
        if fmt != FORMAT_NAME:
            raise ModelFileError(
                f"not a crash_core model file (its header names the format {fmt!r:.80}, "
                f"expected {FORMAT_NAME!r}); write model files with model.save(path)."
            )
        version = header.get("format_version")
        library = header.get("library_version")
        library = library if isinstance(library, str) else "an unknown version"
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ModelFileError(f"the header has an invalid format_version {version!r:.80}.")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"the file was written by format version {version} (crash_core {library:.40}); "
                f"this crash_core reads version {FORMAT_VERSION} — upgrade crash_core."
            )
        missing = _HEADER_KEYS - set(header)
        extra = set(header) - _HEADER_KEYS - _OPTIONAL_HEADER_KEYS
        if missing or extra:
            raise ModelFileError(
                f"the header lacks the key(s) {sorted(missing)} and has the unexpected key(s) "
                f"{sorted(extra)!r:.200}; the file is corrupt."
            )
        plan.library = library
        classes = _model_classes()
        name = header["class"]
        if not isinstance(name, str) or name not in classes:
            raise ModelFileError(
                f"the file holds an unknown model class {name!r:.80}; crash_core loads only "
                f"{', '.join(classes)}."
            )
        plan.cls_name, plan.cls = name, classes[name]
        context = f"the saved {name} (crash_core {library:.40}) is invalid"

        # ---- structure: features, classes, network
        n_features = header["n_features_in"]
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ModelFileError(
                f"{context}: n_features_in must be an int >= 1, got {n_features!r:.80}."
            )
        plan.n_features = n_features
        names = header["feature_names_in"]
        if names is not None and not (
            isinstance(names, list)
            and len(names) == n_features
            and all(isinstance(n, str) for n in names)
        ):
            raise ModelFileError(
                f"{context}: feature_names_in must be null or {n_features} strings, got "
                f"{names!r:.120}."
            )
        plan.feature_names = names
        plan.preprocessor = None
        if header.get("preprocessing") is not None:
            from crash_core.preprocessing import TabularPreprocessor

            try:
                prep = TabularPreprocessor.from_config(header["preprocessing"])
            except ValueError as exc:
                raise ModelFileError(f"{context}: {exc}") from None
            if prep.n_features_out_ != n_features:
                raise ModelFileError(
                    f"{context}: the preprocessing gives {prep.n_features_out_} features, but "
                    f"the model takes {n_features}."
                )
            plan.preprocessor = prep

        plan.classes_spec = header["classes"]
        plan.classes_values = None
        if name in _CLASSIFIERS:
            spec = plan.classes_spec
            if not (
                isinstance(spec, dict)
                and set(spec) == {"dtype", "values"}
                and isinstance(spec["dtype"], str)
            ):
                raise ModelFileError(
                    f"{context}: 'classes' must be {{dtype, values}}, got {spec!r:.120}."
                )
            try:
                dtype = np.dtype(spec["dtype"])
            except TypeError as exc:
                raise ModelFileError(
                    f"{context}: unknown classes dtype {spec['dtype']!r:.40}."
                ) from exc
            if dtype.kind in _LABEL_KINDS and spec["values"] is None:
                plan.entries["classes_"] = ((None,), dtype.str)
            elif (
                dtype.kind == "O"
                and isinstance(spec["values"], list)
                and all(
                    isinstance(v, str) or isinstance(v, int) and not isinstance(v, bool)
                    for v in spec["values"]
                )
            ):
                plan.classes_values = np.empty(len(spec["values"]), dtype=object)
                plan.classes_values[:] = spec["values"]
            else:
                raise ModelFileError(
                    f"{context}: class labels of dtype {dtype} must be stored as an array "
                    "entry (ints, floats, bools, strings) or as a JSON list of strings / ints "
                    "(object dtype)."
                )
        elif plan.classes_spec is not None:
            raise ModelFileError(f"{context}: a {name} has no classes, but the header lists some.")

        # ---- fitted attributes
        attrs = header["attributes"]
        if not isinstance(attrs, dict):
            raise ModelFileError(f"{context}: 'attributes' must be an object.")
        required, optional, private = _SCHEMA[name]
        missing = required - set(attrs)
        if missing:
            raise ModelFileError(
                f"{context}: the fitted attribute(s) {sorted(missing)} are missing."
            )
        plan.attributes = {}
        for key, value in attrs.items():
            value = _decode(value)
            if key in required | optional:
                plan.attributes[key] = _check_attr(key, value, context)
            elif (
                _PUBLIC_ATTR.match(key)
                and key not in _SPECIAL_ATTRS
                and key not in _ATTR_KINDS
                and not hasattr(plan.cls, key)
                and _is_simple(value)
            ):
                plan.attributes[key] = value  # a simple fitted attribute of a newer model
            else:
                raise ModelFileError(
                    f"{context}: unexpected attribute {key!r:.80} = {value!r:.80}."
                )

        # ---- parameters, checked like fit checks them
        params = header["params"]
        if not isinstance(params, dict):
            raise ModelFileError(f"{context}: 'params' must be an object.")
        decoded = {k: _decode(v) for k, v in params.items()}
        plan.params = decoded
        plan.context = context

        # ---- network / coefficients / history
        if name in _HAS_NETWORK:
            plan.network = _check_network(header["network"], context)
            sizes = plan.network["layer_sizes"]
            if sizes[0] != n_features:
                raise ModelFileError(
                    f"{context}: the network takes {sizes[0]} inputs but "
                    f"n_features_in is {n_features}."
                )
            if name == "LogisticRegression" and len(sizes) != 2:
                raise ModelFileError(
                    f"{context}: a LogisticRegression network has no hidden "
                    f"layers, got layer sizes {sizes}."
                )
            if name == "MLPRegressor":
                if plan.network["output"] != "identity":
                    raise ModelFileError(
                        f"{context}: an MLPRegressor has an 'identity' output, "
                        f"got {plan.network['output']!r}."
                    )
                n_targets = plan.attributes["_n_targets"]
                if sizes[-1] != n_targets or plan.attributes["_y_1d"] and n_targets != 1:
                    raise ModelFileError(
                        f"{context}: the output layer has {sizes[-1]} units for {n_targets} "
                        "target(s)."
                    )
            n_params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:], strict=False))
            plan.entries["params"] = ((n_params,), plan.network["dtype"])
            plan.n_units = sizes[-1]
            plan.history = _check_history(header["history"], context)
            n_history = len(plan.history["epoch"])
            if n_history != plan.attributes["n_epochs_"]:
                raise ModelFileError(
                    f"{context}: the history has {n_history} epochs but n_epochs_ is "
                    f"{plan.attributes['n_epochs_']}."
                )
            plan.optimizer_state = _check_optimizer_state(header["optimizer_state"], name, context)
            for i in range(1, (plan.optimizer_state or {}).get("buffers", 0) + 1):
                plan.entries[f"optimizer_state{i}"] = ((n_params,), plan.network["dtype"])
        elif header["network"] is not None or header["history"] is not None:
            raise ModelFileError(f"{context}: a {name} has no network or history.")
        if name not in _HAS_NETWORK and header["optimizer_state"] is not None:
            raise ModelFileError(f"{context}: a {name} has no optimizer state.")
        if (
            name == "Perceptron"
            and len(plan.attributes["mistakes_"]) != plan.attributes["n_epochs_"]
        ):
            raise ModelFileError(
                f"{context}: mistakes_ has {len(plan.attributes['mistakes_'])} "
                f"epochs but n_epochs_ is {plan.attributes['n_epochs_']}."
            )
        if name in _HAS_COEF:
            # the number of units: 1 for two classes, else one per class; known from the
            # network (LogisticRegression) or from the classes (checked after reading them)
            plan.entries["coef_"] = ((plan.n_units, n_features), "float64")
            plan.entries["intercept_"] = ((plan.n_units,), "float64")
        return plan

    def build(self, arrays: dict[str, np.ndarray]) -> Any:
        from crash_core.callbacks import History
        from crash_core.network import Network, make_rng
        from crash_core.optimizers import resolve_optimizer

        context, name = self.context, self.cls_name
        classes = self.classes_values if "classes_" not in arrays else arrays["classes_"]
        if classes is not None:
            k = len(classes)
            if k < 2:
                raise ModelFileError(f"{context}: a classifier needs at least 2 classes, got {k}.")
            try:
                ordered = np.array_equal(np.unique(classes), classes)
            except TypeError:
                ordered = False
            if not ordered:
                raise ModelFileError(
                    f"{context}: classes_ must be sorted and unique, got {classes.tolist()!r:.120}."
                )
            n_units = 1 if k == 2 else k
            if self.n_units is not None:
                output = self.network["output"]
                if self.n_units != n_units or output != ("sigmoid" if k == 2 else "softmax"):
                    raise ModelFileError(
                        f"{context}: {k} classes need a {'sigmoid' if k == 2 else 'softmax'} "
                        f"output layer of {n_units} unit(s), but the network ends in "
                        f"{self.n_units} {output!r} unit(s)."
                    )
            self.n_units = n_units
        estimator = _validate_params(name, self.cls, self.params, classes, context)

        for key in ("coef_", "intercept_"):
            if key in arrays:
                shape = (self.n_units, self.n_features) if key == "coef_" else (self.n_units,)
                if arrays[key].shape != shape:
                    raise ModelFileError(
                        f"{context}: {key} has shape {arrays[key].shape}, expected {shape}."
                    )
        for key, array in arrays.items():
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ModelFileError(
                    f"{context}: the entry {key!r} holds NaN or infinity; the file is corrupt "
                    "(or the model was saved after training diverged)."
                )

        estimator.n_features_in_ = self.n_features
        if self.feature_names is not None:
            estimator.feature_names_in_ = np.array(self.feature_names, dtype=object)
        if classes is not None:
            estimator.classes_ = classes
        if self.preprocessor is not None:
            estimator.preprocessor_ = self.preprocessor
        for key, value in self.attributes.items():
            setattr(estimator, key, value)
        if "coef_" in arrays:
            estimator.coef_ = arrays["coef_"]
            estimator.intercept_ = arrays["intercept_"]
        if "params" in arrays:
            spec = self.network
            activation = spec["activation"]
            net = Network(
                spec["layer_sizes"],
                activation if isinstance(activation, str) else list(activation),
                spec["output"],
                spec["dtype"],
            )
            net.params[...] = arrays["params"]
            estimator.network_ = net
            estimator.history_ = History.from_dict(self.history)
        if name in _WITH_OPTIMIZER_STATE:
            # what warm_start / partial_fit need to continue where the saved fit stopped
            optimizer = resolve_optimizer(estimator.optimizer)
            estimator._optimizer = optimizer
            estimator._optimizer_state = None
            spec = self.optimizer_state
            if spec is not None:
                if spec["buffers"] != optimizer.n_buffers:
                    raise ModelFileError(
                        f"{context}: the optimizer state has {spec['buffers']} buffer(s) but "
                        f"{optimizer!r} keeps {optimizer.n_buffers}."
                    )
                state = optimizer.init_state(estimator.network_.n_params, estimator.network_.dtype)
                for i, buffer in enumerate((state.state1, state.state2)[: spec["buffers"]], 1):
                    buffer[...] = arrays[f"optimizer_state{i}"]
                state.t = spec["steps"]
                estimator._optimizer_state = state
            estimator._rng = make_rng(estimator.random_state)
        return estimator


def _check_optimizer_state(spec: Any, name: str, context: str) -> dict[str, int] | None:
    """The header's optimizer state: null, or {"steps": int >= 0, "buffers": 0, 1 or 2}."""
    if spec is None:
        return None
    if name not in _WITH_OPTIMIZER_STATE:
        raise ModelFileError(f"{context}: a {name} keeps no optimizer state.")

    def whole(value: Any, low: int, high: int) -> bool:
        return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high

    if (
        not isinstance(spec, dict)
        or set(spec) != {"steps", "buffers"}
        or not whole(spec["steps"], 0, 2**62)
        or not whole(spec["buffers"], 0, 2)
    ):
        raise ModelFileError(
            f"{context}: optimizer_state must be null or {{'steps': int >= 0, 'buffers': 0-2}}, "
            f"got {spec!r:.120}."
        )
    return spec


def _check_network(spec: Any, context: str) -> dict[str, Any]:
    from crash_core.network import ACTIVATIONS, OUTPUTS

    keys = {"layer_sizes", "activation", "output", "dtype"}
    if not isinstance(spec, dict) or set(spec) != keys:
        raise ModelFileError(
            f"{context}: 'network' must be an object with the keys "
            f"{sorted(keys)}, got {spec!r:.120}."
        )
    sizes = spec["layer_sizes"]
    if not (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)
    ):
        raise ModelFileError(
            f"{context}: layer_sizes must be a list of at least two positive "
            f"ints, got {sizes!r:.120}."
        )
    activation = spec["activation"]
    acts = [activation] * (len(sizes) - 2) if isinstance(activation, str) else activation
    if not (
        isinstance(acts, list)
        and len(acts) == len(sizes) - 2
        and all(isinstance(a, str) and a in ACTIVATIONS for a in acts)
    ):
        raise ModelFileError(
            f"{context}: the network's activation {activation!r:.80} must be one of "
            f"{sorted(ACTIVATIONS)} or one per hidden layer ({len(sizes) - 2})."
        )
    output = spec["output"]
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ModelFileError(
            f"{context}: unknown output layer {output!r:.40}; valid: {sorted(OUTPUTS)}."
        )
    if output == "sigmoid" and sizes[-1] != 1 or output == "softmax" and sizes[-1] < 2:
        raise ModelFileError(f"{context}: a {output} output cannot have {sizes[-1]} units.")
    if spec["dtype"] not in _FLOAT_NAMES:
        raise ModelFileError(
            f"{context}: the network dtype must be 'float32' or 'float64', "
            f"got {spec['dtype']!r:.40}."
        )
    return spec


def _check_history(data: Any, context: str) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) != {"epoch", "history"}:
        raise ModelFileError(
            f"{context}: 'history' must be an object with the keys epoch and "
            f"history, got {data!r:.120}."
        )
    epochs = data["epoch"]
    if not (
        isinstance(epochs, list)
        and all(isinstance(e, int) and not isinstance(e, bool) and e >= 0 for e in epochs)
    ):
        raise ModelFileError(f"{context}: history epochs must be ints >= 0.")
    if not isinstance(data["history"], dict):
        raise ModelFileError(f"{context}: history values must be an object of lists.")
    columns = {}
    for key, values in data["history"].items():
        column = _float_list(values, f"history[{key!r:.40}]")
        if len(column) != len(epochs):
            raise ModelFileError(
                f"{context}: history[{key!r:.40}] has {len(column)} values "
                f"for {len(epochs)} epochs."
            )
        columns[key] = column
    return {"epoch": epochs, "history": columns}
