"""Saving and loading fitted models: ``model.save(path)`` and ``cc.load(path)``.

A model file is pickle-free: ONE zip archive in NumPy's ``.npz`` layout, written to exactly
the path given (no extension is added; ``.npz`` or ``.ccm`` are good choices). Its entries
are ``.npy`` arrays, stored uncompressed (so that no entry can expand beyond the bytes the
file really holds; files written compressed by older versions still load):

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
         "history": {"epoch": [...], "history": {"loss": [...], ...}},  # null for Perceptron
         "optimizer_state": {"steps": 120, "buffers": 2},   # null when none is kept
         "preprocessing": {"step": "TabularPreprocessor", "config": {...}}}  # optional

``params``
    the network's flat parameter buffer, 1-D, of the network's dtype.
``optimizer_state1``, ``optimizer_state2``
    the optimizer's momentum / moment buffers, laid out like ``params``.
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

**What a class saves is declared, not coded here.** Each savable class registers a
:class:`Format` next to its definition (``register(Perceptron, Format(...))``): the attribute
that proves it fitted, its fitted attributes and their kinds, which of the standard parts it
carries (class labels, a network with its history and optimizer state, linear coefficients),
extra named arrays with their shapes, and the checks of its parameters and of the loaded
values. This module knows the container, the bounds and those parts; it imports no model
class. :func:`load` looks the header's class name up in the registry, which is filled by
importing the modules listed in ``PROVIDERS`` (a fixed list: a file never makes crash_core
import anything by name).

**Loading is bounded.** Every size the file declares is checked before anything is read or
allocated: the zip directory's member sizes against the file's real size (an entry may
expand at most ``MAX_EXPANSION`` times its compressed bytes, plus ``EXPANSION_SLACK``), the
header's size against ``MAX_HEADER_BYTES``, and every ``.npy`` header's shape and dtype
against what the JSON header declares. Arrays are only built from bytes already read, so a
file costs at most a small multiple of its size in memory and time, and error messages quote
at most a few values of anything they show.

Loading never executes code from the file: no pickle, the class comes from the registry,
and every entry, shape, dtype, value and parameter is checked before the model is rebuilt.
Any problem with the file's contents raises :class:`ModelFileError` (a ``ValueError``)
naming the problem; only a bad *path* raises ``FileNotFoundError`` / ``IsADirectoryError``
/ ``PermissionError``.

The file format is NumPy's own ``.npz`` rather than safetensors: it needs no new dependency,
older files stay readable, and the header needs nested JSON (params, history), which
safetensors' string-to-string metadata would only carry as a second, escaped JSON document.
The bounds are the same few lines either way: safetensors' own check is an offset table
against the file size, which is what :class:`_Archive` does for the zip directory.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import reprlib
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import numpy as np
import numpy.lib.format as npy_format

__all__ = [
    "save",
    "load",
    "register",
    "Format",
    "ModelFileError",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PROVIDERS",
    "register_step",
]

FORMAT_NAME = "crash_core.model"
FORMAT_VERSION = 1

# modules whose import registers every savable class (see Format) and input step
PROVIDERS = ("crash_core.models", "crash_core.preprocessing")

_HEADER = "header.json"
MAX_HEADER_BYTES = 16 * 2**20
MAX_EXPANSION = 16
EXPANSION_SLACK = 64 * 2**10
_MAX_ENTRIES = 64
_MAX_NPY_HEADER = 4096  # numpy writes 128 bytes or so; its reader allows 10,000 by default
_FILE_KEYS = ("format", "format_version", "library_version")
_OBJECT_KEYS = (
    "class",
    "params",
    "attributes",
    "n_features_in",
    "feature_names_in",
    "classes",
    "network",
    "history",
    "optimizer_state",
)
# header keys a file may leave out: files without them (older ones) still load
_OPTIONAL_KEYS = ("preprocessing",)
# a public fitted attribute: learned by fit, name ends with "_"
_PUBLIC_ATTR = re.compile(r"^[a-z][a-z0-9_]*_$")
# attributes written by the standard parts, never under "attributes"
_PART_ATTRS = {
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "network_",
    "history_",
    "coef_",
    "intercept_",
    "preprocessor_",
}
_ATTR_KINDS = ("count", "count_list", "bool", "float", "float_list")
_FLOAT_NAMES = ("float32", "float64")
_LABEL_KINDS = "biufUS"  # dtype kinds of class labels stored as an array entry

_short_repr = reprlib.Repr()
_short_repr.maxlist = _short_repr.maxtuple = _short_repr.maxdict = _short_repr.maxset = 6
_short_repr.maxstring = _short_repr.maxother = 60
_short_repr.maxlevel = 3


def _short(value: Any) -> str:
    """A repr of at most ~100 characters, whatever the size of ``value`` (arrays included)."""
    if isinstance(value, np.ndarray):
        head = value.ravel()[:6].tolist()
        more = ", ..." if value.size > 6 else ""
        return f"array({_short_repr.repr(head)[:-1]}{more}], shape={value.shape})"
    return _short_repr.repr(value)


class ModelFileError(ValueError):
    """A model file is corrupt, truncated, edited or not a crash_core model file."""


# ---------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Format:
    """What a savable class stores and how a loaded one is validated.

    fitted : the attribute that exists once the object is fitted (``coef_``, ``network_``).
    attributes, optional : fitted attributes stored in the header, name -> kind, one of
        "count" (int >= 0), "count_list", "bool", "float" (finite), "float_list"; the
        required ones must be present. Names may be private (``_n_targets``).
    classes : it is a classifier: ``classes_`` is stored (and checked against the outputs).
    network : ``network_`` and ``history_`` are stored (the flat ``params`` entry).
    optimizer_state : the optimizer's buffers are stored, so ``warm_start`` continues.
    coef : ``coef_`` (units x n_features) and ``intercept_`` (units,) are stored, float64.
    arrays : further fitted arrays, name -> (shape, dtype); a dimension is an int,
        "n_features" or None (any length), e.g. ``{"mean_": (("n_features",), "float64")}``.
    children : fitted attributes holding another registered object (a fitted
        preprocessing step inside a model, say), saved with it: its header under
        ``"children"``, its entries prefixed with ``"<attribute>."``.
    check_params : ``check_params(estimator)`` raises TypeError/ValueError for parameters
        its ``fit`` would refuse; by default the estimator's own ``_check_params()``.
    check : ``check(saved)`` raises ValueError when the decoded values disagree with each
        other; ``saved`` has ``.attributes`` (dict), ``.network`` (the network spec or None)
        and ``.n_features``.
    """

    fitted: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    optional: Mapping[str, str] = field(default_factory=dict)
    classes: bool = False
    network: bool = False
    optimizer_state: bool = False
    coef: bool = False
    arrays: Mapping[str, tuple[tuple[int | str | None, ...], str]] = field(default_factory=dict)
    children: tuple[str, ...] = ()
    check_params: Callable[[Any], None] | None = None
    check: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        for name, kind in {**self.attributes, **self.optional}.items():
            if kind not in _ATTR_KINDS:
                raise ValueError(f"attribute {name}: unknown kind {kind!r}; use {_ATTR_KINDS}.")
        taken = set(self.attributes) | set(self.optional) | set(self.children) | _PART_ATTRS
        if self.optimizer_state and not self.network:
            raise ValueError("an optimizer state is stored with a network: set network=True.")
        for name, (shape, dtype) in self.arrays.items():
            np.dtype(dtype)
            if name in taken or name == _HEADER[:-5] or not re.match(r"^\w+$", name):
                raise ValueError(f"array {name!r} clashes with another entry or attribute.")
            if not all(d is None or d == "n_features" or type(d) is int for d in shape):
                raise ValueError(f"array {name!r}: dimensions are ints, 'n_features' or None.")


_REGISTRY: dict[str, tuple[type, Format]] = {}


def register(cls: type, fmt: Format) -> type:
    """Make ``cls`` savable with ``save`` and loadable with ``load``, as ``fmt`` declares.

    The class is stored under its ``__name__``, which must be unique among savable classes.
    Returns ``cls``.

    Parameters
    ----------
    cls : type
        The class to make savable.
    fmt : Format
        What it stores and how a loaded one is checked.
    """
    if not isinstance(fmt, Format):
        raise TypeError(f"register needs a Format, got {type(fmt).__name__}.")
    known = _REGISTRY.get(cls.__name__)
    if known is not None and known[0] is not cls:
        raise ValueError(f"another class is already registered as {cls.__name__!r}.")
    _REGISTRY[cls.__name__] = (cls, fmt)
    return cls


def registered() -> dict[str, tuple[type, Format]]:
    """Class name -> (class, Format) of every savable class."""
    for module in PROVIDERS:
        importlib.import_module(module)
    return dict(_REGISTRY)


_STEPS: dict[str, type] = {}


def register_step(cls: type) -> type:
    """Let any saved model carry a fitted ``cls`` as its ``preprocessor_`` (the input step
    that ``python -m crash_core predict`` replays).

    ``cls`` provides ``to_config()`` (JSON-ready values) and the classmethod
    ``from_config(config)`` that validates them (ValueError) and rebuilds the fitted step,
    and ``n_features_out_``. Stored in the header as ``"preprocessing": {"step": name,
    "config": {...}}`` (``null`` or absent without a step). Returns ``cls``.
    """
    for needed in ("to_config", "from_config"):
        if not callable(getattr(cls, needed, None)):
            raise TypeError(f"an input step needs {needed}(); {cls.__name__} has none.")
    known = _STEPS.get(cls.__name__)
    if known is not None and known is not cls:
        raise ValueError(f"another step is already registered as {cls.__name__!r}.")
    _STEPS[cls.__name__] = cls
    return cls


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
    entry = _REGISTRY.get(type(value).__name__)
    if entry is not None and entry[0] is type(value):  # an (unfitted) estimator as a setting
        params = value.get_params(deep=False).items()
        return {
            "__type__": "estimator",
            "class": type(value).__name__,
            "params": {str(k): _encode(v) for k, v in params},
        }
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
        raise ModelFileError(f"unexpected value {_short(obj)}")
    tag = obj.get("__type__")
    fields = set(obj) - {"__type__"}
    if tag in ("tuple", "dict") and fields == {"items"} and isinstance(obj["items"], list):
        if tag == "tuple":
            return tuple(_decode(v) for v in obj["items"])
        out = {}
        for pair in obj["items"]:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ModelFileError(
                    f"a saved dict item must be a [key, value] pair, got {_short(pair)}"
                )
            key = _decode(pair[0])
            if key is not None and not isinstance(key, (bool, int, float, str)):
                raise ModelFileError(f"a saved dict key must be a scalar, got {_short(key)}")
            out[key] = _decode(pair[1])
        return out
    if tag == "float" and fields == {"value"} and obj["value"] in ("nan", "inf", "-inf"):
        return float(obj["value"])
    if tag in ("optimizer", "schedule") and fields == {"config"}:
        config = obj["config"]
        if not isinstance(config, dict):
            raise ModelFileError(f"a saved {tag} config must be an object, got {_short(config)}")
        config = {k: _decode(v) for k, v in config.items()}
        if not all(v is None or isinstance(v, (bool, int, float, str)) for v in config.values()):
            raise ModelFileError(f"a saved {tag} config holds non-scalar values: {_short(config)}")
        if tag == "optimizer":
            from crash_core.optimizers import from_config
        else:
            from crash_core.schedules import from_config
        try:
            return from_config(config)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"the saved {tag} {_short(config)} is invalid: {exc}") from exc
    if tag == "estimator" and fields == {"class", "params"} and isinstance(obj["params"], dict):
        cls, fmt = (
            registered().get(obj["class"], (None, None))
            if isinstance(obj["class"], str)
            else (None, None)
        )
        if cls is None:
            raise ModelFileError(f"a saved setting names the unknown class {_short(obj['class'])}.")
        return _validate_params(
            cls, fmt, {k: _decode(v) for k, v in obj["params"].items()}, None, "a saved setting"
        )
    if tag in ("dtype", "numpy_type") and fields == {"name"} and obj["name"] in _FLOAT_NAMES:
        kind = np.float32 if obj["name"] == "float32" else np.float64
        return np.dtype(kind) if tag == "dtype" else kind
    raise ModelFileError(f"unknown tagged value {_short(obj)}")


def _float_list(values: Any, what: str) -> list[float]:
    if not isinstance(values, list):
        raise ModelFileError(f"{what} must be a list of numbers, got {_short(values)}")
    out = []
    for v in values:
        v = _decode(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ModelFileError(f"{what} must hold numbers, got {_short(v)}")
        out.append(float(v))
    return out


def _check_attr(name: str, kind: str, value: Any, context: str) -> Any:
    """A known fitted attribute's decoded value, type-checked."""
    try:
        return _checked_attr(name, kind, value)
    except ModelFileError as exc:
        raise ModelFileError(f"{context}: {exc}") from None


def _checked_attr(name: str, kind: str, value: Any) -> Any:

    def count(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ModelFileError(f"attribute {name} must be a count (int >= 0), got {_short(v)}")
        return v

    if kind == "count":
        return count(value)
    if kind == "count_list":
        if not isinstance(value, list):
            raise ModelFileError(f"attribute {name} must be a list of ints, got {_short(value)}")
        return [count(v) for v in value]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ModelFileError(f"attribute {name} must be true or false, got {_short(value)}")
        return value
    if kind == "float":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ModelFileError(f"attribute {name} must be a finite number, got {_short(value)}")
        return float(value)
    return _float_list(value, f"attribute {name}")  # float_list


def _is_simple(value: Any) -> bool:
    """A JSON scalar, or a list of them (what an unknown fitted attribute may hold)."""
    scalar = (type(None), bool, int, float, str)
    return isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(v, scalar) for v in value)
    )


# ---------------------------------------------------------------------- the container
def _write_archive(entries: dict[str, np.ndarray]) -> bytes:
    """The bytes of an .npz archive of ``entries``, stored uncompressed."""
    buffer = BytesIO()
    np.savez(buffer, **entries)
    return buffer.getvalue()


class _Archive:
    """A zip archive of ``.npy`` entries whose every declared size is checked before use."""

    def __init__(self, f: Any) -> None:
        f.seek(0, os.SEEK_END)
        self.file_size = f.tell()
        f.seek(0)
        self.zip = zipfile.ZipFile(f)  # reads the directory: at most the file's bytes
        infos = self.zip.infolist()
        if len(infos) > _MAX_ENTRIES:
            raise ModelFileError(f"the archive holds {len(infos)} entries; a model has a few.")
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if key in self.members:
                raise ModelFileError(f"the archive holds the entry {_short(key)} twice.")
            self.members[key] = info

    def check_sizes(self, key: str) -> zipfile.ZipInfo:
        """The member of ``key``, once its declared sizes fit in the file."""
        info = self.members[key]
        if not info.filename.endswith(".npy"):
            raise ModelFileError(f"the entry {_short(info.filename)} is not a .npy array.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"the entry {key!r} uses an unsupported zip compression.")
        expansion = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_EXPANSION
        if (
            info.header_offset + info.compress_size > self.file_size
            or info.file_size > expansion * info.compress_size + EXPANSION_SLACK
        ):
            raise ModelFileError(
                f"the entry {key!r} declares {info.file_size} bytes, more than its "
                f"{info.compress_size} stored bytes of the {self.file_size}-byte file can "
                "hold; the file is corrupt or forged."
            )
        return info

    def read(
        self, key: str, shape: tuple[int | None, ...], dtype: str, max_bytes: int
    ) -> np.ndarray:
        """The array of ``key``, checked against ``shape`` / ``dtype`` before it is built.

        ``shape`` holds None for a dimension the header does not fix; the data may not
        exceed ``max_bytes``.
        """
        info = self.check_sizes(key)
        if info.file_size > max_bytes + _MAX_NPY_HEADER:
            raise ModelFileError(
                f"the entry {key!r} declares {info.file_size} bytes, more than the header "
                f"allows ({max_bytes} bytes of data); the file is corrupt or was edited."
            )
        with self.zip.open(info) as fp:
            raw = fp.read(info.file_size + 1)
        if len(raw) != info.file_size:
            raise ModelFileError(f"the entry {key!r} is truncated (its data is missing).")
        stream = BytesIO(raw)
        version = npy_format.read_magic(stream)
        reader = {
            (1, 0): npy_format.read_array_header_1_0,
            (2, 0): npy_format.read_array_header_2_0,
        }.get(version)
        if reader is None:
            raise ModelFileError(f"the entry {key!r} uses the unsupported .npy version {version}.")
        found_shape, fortran, found_dtype = reader(stream, max_header_size=_MAX_NPY_HEADER)
        if found_dtype.hasobject or found_dtype.kind == "V":
            raise ModelFileError(
                f"the entry {key!r} holds Python objects (dtype {found_dtype}), which can only "
                "be read by unpickling; crash_core never unpickles model files. This is not a "
                "file written by model.save()."
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
                f"the entry {key!r} has shape {_short(found_shape)}, but the header declares "
                f"{declared}; the file is corrupt or was edited."
            )
        count = math.prod(found_shape)
        start = stream.tell()
        if count * found_dtype.itemsize != len(raw) - start:
            raise ModelFileError(
                f"the entry {key!r} holds {len(raw) - start} bytes of data for shape "
                f"{_short(found_shape)}; the file is corrupt or was edited."
            )
        array = np.frombuffer(raw, dtype=found_dtype, count=count, offset=start)
        order = "F" if fortran else "C"
        return array.reshape(found_shape, order=order).astype(found_dtype.newbyteorder("="))


# ---------------------------------------------------------------------- saving
def save(model: Any, path: str | os.PathLike | Any) -> None:
    """Write a fitted model to ``path`` (exactly that path: no extension is added).

    ``path`` is a file name or a binary file object open for writing. The file is an
    ``.npz`` archive with a JSON header and no pickled data (see the module docstring); read
    it back with :func:`load`. Parameters that cannot be stored without pickle (callbacks,
    plain callables, numpy Generators) are saved as ``None`` with a warning.

    Raises ``NotFittedError`` for an unfitted model, ``TypeError`` for an object of a class
    that is not registered (crash_core's models are).

    Parameters
    ----------
    model : estimator
        A fitted model of a registered class (crash_core's four models are).
    path : str, path-like or binary file object
        Where to write.
    """
    import crash_core

    header, arrays = _object_entries(model)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": crash_core.__version__,
        **header,
    }
    text = json.dumps(header, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    data = _write_archive({_HEADER: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays})
    if hasattr(path, "write"):
        path.write(data)
        return
    with open(path, "wb") as f:
        f.write(data)


def _object_entries(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the header fields, the array entries) that describe a fitted ``model``."""
    formats = registered()
    name = type(model).__name__
    cls, fmt = formats.get(name, (None, None))
    if cls is not type(model) or fmt is None:
        raise TypeError(
            f"save() stores crash_core models ({', '.join(formats)}), got "
            f"{type(model).__module__}.{type(model).__qualname__}; a subclass would load as "
            "its base class, so save the base class or store your model another way."
        )
    model._check_is_fitted(fmt.fitted)

    params = {}
    for key, value in model.get_params(deep=False).items():
        try:
            params[key] = _encode(value)
        except _Unencodable:
            warnings.warn(
                f"{name}.{key}={_short(value)} cannot be saved without pickle; it is saved as "
                f"None. Set it again after loading (model.set_params({key}=...)).",
                UserWarning,
                stacklevel=4,
            )
            params[key] = None
    # a file that load() would reject must not be written: check the params as load does
    _validate_params(
        cls,
        fmt,
        {k: _decode(v) for k, v in params.items()},
        getattr(model, "classes_", None),
        context=f"cannot save this {name}",
    )

    kinds = {**fmt.attributes, **fmt.optional}
    attributes = {}
    for key, value in vars(model).items():
        known = key in kinds
        if (
            key in _PART_ATTRS
            or key in fmt.arrays
            or key in fmt.children
            or not known
            and not _PUBLIC_ATTR.match(key)
        ):
            continue  # stored by a part, private, or not an attribute of this class
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
                stacklevel=4,
            )
            continue
        if known:
            _check_attr(key, kinds[key], _decode(encoded), context=f"cannot save this {name}")
        attributes[key] = encoded
    missing = set(fmt.attributes) - set(attributes)
    if missing:
        raise ValueError(f"This {name} lacks the fitted attribute(s) {sorted(missing)}; refit it.")

    arrays: dict[str, np.ndarray] = {}
    header: dict[str, Any] = dict.fromkeys(_OBJECT_KEYS)
    header.update(
        {
            "class": name,
            "params": params,
            "attributes": attributes,
            "n_features_in": int(model.n_features_in_),
        }
    )
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        header["feature_names_in"] = [str(n) for n in names]
    if fmt.classes:
        labels = np.asarray(model.classes_)
        if labels.dtype.kind in _LABEL_KINDS:
            header["classes"] = {"dtype": labels.dtype.str, "values": None}
            arrays["classes_"] = labels
        elif labels.dtype.kind == "O" and all(_is_label(v) for v in labels.tolist()):
            header["classes"] = {"dtype": "|O", "values": labels.tolist()}
        else:
            raise ValueError(
                f"Cannot save class labels of dtype {labels.dtype} ({_short(labels)}); "
                "only ints, floats, bools and strings can be stored without pickle. Refit with "
                "such labels."
            )
    if fmt.network:
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
    if fmt.optimizer_state and state is not None:
        # momentum / moments and the step count, so warm_start after load continues
        buffers = [b for b in (state.state1, state.state2) if b.size]
        header["optimizer_state"] = {"steps": int(state.t), "buffers": len(buffers)}
        for i, buffer in enumerate(buffers, start=1):
            arrays[f"optimizer_state{i}"] = np.ascontiguousarray(buffer)
    if fmt.coef:
        arrays["coef_"] = np.asarray(model.coef_, dtype=np.float64)
        arrays["intercept_"] = np.asarray(model.intercept_, dtype=np.float64)
    for key, (_, dtype) in fmt.arrays.items():
        arrays[key] = np.ascontiguousarray(getattr(model, key), dtype=dtype)
    if fmt.children:
        header["children"] = {}
        for attr in fmt.children:
            header["children"][attr], child_arrays = _object_entries(getattr(model, attr))
            arrays.update({f"{attr}.{key}": array for key, array in child_arrays.items()})
    step = getattr(model, "preprocessor_", None)
    if step is not None:
        if _STEPS.get(type(step).__name__) is not type(step):
            raise TypeError(
                f"{name}.preprocessor_ is a {type(step).__name__}, which cannot be saved; "
                f"the input steps a model file can carry are {', '.join(_STEPS)}."
            )
        header["preprocessing"] = {"step": type(step).__name__, "config": step.to_config()}
    return header, arrays


def _is_label(value: Any) -> bool:
    return isinstance(value, str) or isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------- loading
def load(path: str | os.PathLike | Any) -> Any:
    """Read a model written by ``model.save(path)`` / :func:`save`; returns the model.

    ``path`` is a file name or a seekable binary file object. The file is fully validated
    and never unpickled: a corrupt, truncated, edited or foreign file raises
    :class:`ModelFileError` (a ``ValueError``) that says what is wrong. A missing file raises
    ``FileNotFoundError``.

    Parameters
    ----------
    path : str, path-like or binary file object
        The model file.

    Returns
    -------
    the model, fitted, of the class named in the file
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
    except MemoryError:
        raise
    except Exception as exc:  # a corrupt file may break the zip reader anywhere
        raise ModelFileError(
            f"{label} is not a valid crash_core model file (corrupt or truncated: "
            f"{type(exc).__name__}: {_short(str(exc))}). Save the model again with "
            "model.save(path)."
        ) from exc


def _load(f: Any) -> Any:
    magic = f.read(4)
    if not magic:
        raise ModelFileError("the file is empty (0 bytes); it is not a crash_core model file.")
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise ModelFileError(
            "not a crash_core model file (not an .npz / zip archive); write model files with "
            "model.save(path) and read them with crash_core.load(path)."
        )
    archive = _Archive(f)
    if _HEADER not in archive.members:
        raise ModelFileError(
            f"not a crash_core model file: the archive has no {_HEADER!r} entry (it "
            f"holds {_short(sorted(archive.members))})."
        )
    raw = archive.read(_HEADER, (None,), "u1", max_bytes=MAX_HEADER_BYTES)
    header = _parse_header(raw)
    _check_file_keys(header)
    library = header["library_version"]
    plan = _Plan.from_header(
        {k: v for k, v in header.items() if k not in _FILE_KEYS},
        library if isinstance(library, str) else "an unknown version",
    )
    entries = dict(plan.all_entries())
    expected = set(entries) | {_HEADER}
    extra, missing = set(archive.members) - expected, expected - set(archive.members)
    if missing:
        raise ModelFileError(
            f"the {plan.cls_name} file lacks the entry(ies) {sorted(missing)}; the file is "
            "incomplete. Save the model again."
        )
    if extra:
        raise ModelFileError(
            f"the archive holds unexpected entry(ies) {_short(sorted(extra))}; a "
            f"{plan.cls_name} file has exactly {sorted(expected)}."
        )
    arrays = {}
    for key, (shape, dtype) in entries.items():
        known = math.prod(d for d in shape if d is not None)
        itemsize = np.dtype(dtype).itemsize
        # a dimension the header does not fix is bounded by the member's own (checked) size
        limit = known * itemsize if None not in shape else archive.check_sizes(key).file_size
        arrays[key] = archive.read(key, shape, dtype, max_bytes=limit)
    return plan.build(arrays)


def _parse_header(raw: np.ndarray) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            keys = [k for k, _ in pairs]
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ModelFileError(f"the header repeats the key {_short(dup)}.")
        return out

    def no_constants(token: str) -> Any:
        raise ModelFileError(f"the header holds the non-JSON number {token}.")

    try:
        text = raw.tobytes().decode("utf-8")
        header = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(
            f"the {_HEADER} entry is not valid UTF-8 JSON ({_short(str(exc))}); the file is "
            "corrupt."
        ) from exc
    if not isinstance(header, dict):
        raise ModelFileError(f"the {_HEADER} entry must be a JSON object; the file is corrupt.")
    return header


def _check_file_keys(header: dict[str, Any]) -> None:
    fmt = header.get("format")
    if fmt != FORMAT_NAME:
        raise ModelFileError(
            f"not a crash_core model file (its header names the format {_short(fmt)}, "
            f"expected {FORMAT_NAME!r}); write model files with model.save(path)."
        )
    version = header.get("format_version")
    library = header.get("library_version")
    library = library if isinstance(library, str) else "an unknown version"
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"the header has an invalid format_version {_short(version)}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"the file was written by format version {version} (crash_core {library:.40}); "
            f"this crash_core reads version {FORMAT_VERSION} — upgrade crash_core."
        )


def _check_object_keys(header: dict[str, Any], fmt: Format, context: str) -> None:
    keys = set(_OBJECT_KEYS) | ({"children"} if fmt.children else set())
    missing, extra = keys - set(header), set(header) - keys - set(_OPTIONAL_KEYS)
    if missing or extra:
        raise ModelFileError(
            f"{context}: the header lacks the key(s) {sorted(missing)} and has the unexpected "
            f"key(s) {_short(sorted(extra))}; the file is corrupt."
        )


def _validate_params(
    cls: type, fmt: Format, params: dict[str, Any], classes: Any, context: str
) -> Any:
    """An estimator holding ``params``, checked by the estimator's own rules."""
    from crash_core.network import make_rng

    name = cls.__name__
    valid = cls._get_param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ModelFileError(
            f"{context}: unknown parameter(s) {_short(unknown)} for {name} (it takes "
            f"{valid}); the file was written by another crash_core version — upgrade crash_core."
        )
    estimator = cls(**params)
    try:
        if fmt.check_params is not None:
            fmt.check_params(estimator)
        else:
            estimator._check_params()
        verbose = getattr(estimator, "verbose", 0)
        if isinstance(verbose, bool) or not isinstance(verbose, int):
            raise TypeError(f"verbose must be an int, got {_short(verbose)}.")
        make_rng(getattr(estimator, "random_state", None))
        if classes is not None and getattr(estimator, "class_weight", None) is not None:
            from crash_core.models._common import class_weights

            class_weights(estimator.class_weight, np.asarray(classes), np.zeros(1, np.intp))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{context}: its parameters fail {name}'s validation: {exc}") from exc
    return estimator


class _Plan:
    """A validated header: what the archive must hold and how to rebuild the object."""

    def __init__(self) -> None:
        # entry name -> (shape, None for a dimension not known before reading; dtype)
        self.entries: dict[str, tuple[tuple[int | None, ...], str]] = {}
        self.network: dict[str, Any] | None = None
        self.history: dict[str, Any] | None = None
        self.n_units: int | None = None
        self.optimizer_state: dict[str, int] | None = None
        self.classes_values: np.ndarray | None = None
        self.children: dict[str, _Plan] = {}

    @classmethod
    def from_header(cls, header: Any, library: str, depth: int = 0) -> _Plan:
        if not isinstance(header, dict):
            raise ModelFileError(f"a saved object must be a JSON object, got {_short(header)}.")
        plan = cls()
        formats = registered()
        name = header.get("class")
        if not isinstance(name, str) or name not in formats:
            raise ModelFileError(
                f"the file holds an unknown model class {_short(name)}; crash_core loads only "
                f"{', '.join(formats)}."
            )
        plan.cls_name = name
        plan.cls, fmt = formats[name]
        plan.fmt = fmt
        context = f"the saved {name} (crash_core {library:.40}) is invalid"
        plan.context = context
        _check_object_keys(header, fmt, context)
        if fmt.children and depth > 8:
            raise ModelFileError(f"{context}: its saved objects nest too deeply.")
        plan.children = {
            attr: _Plan.from_header(header["children"].get(attr), library, depth + 1)
            if isinstance(header["children"], dict)
            else _Plan.from_header(None, library)
            for attr in fmt.children
        }
        if fmt.children and set(header["children"]) != set(fmt.children):
            raise ModelFileError(
                f"{context}: its saved objects must be {sorted(fmt.children)}, got "
                f"{_short(sorted(header['children']))}."
            )

        # ---- features
        n_features = header["n_features_in"]
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ModelFileError(
                f"{context}: n_features_in must be an int >= 1, got {_short(n_features)}."
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
                f"{_short(names)}."
            )
        plan.feature_names = names
        plan.preprocessor = _check_step(header.get("preprocessing"), n_features, context)

        # ---- classes
        spec = header["classes"]
        if fmt.classes:
            plan._plan_classes(spec)
        elif spec is not None:
            raise ModelFileError(f"{context}: a {name} has no classes, but the header lists some.")

        # ---- fitted attributes
        attrs = header["attributes"]
        if not isinstance(attrs, dict):
            raise ModelFileError(f"{context}: 'attributes' must be an object.")
        kinds = {**fmt.attributes, **fmt.optional}
        missing = set(fmt.attributes) - set(attrs)
        if missing:
            raise ModelFileError(
                f"{context}: the fitted attribute(s) {sorted(missing)} are missing."
            )
        plan.attributes = {}
        for key, value in attrs.items():
            value = _decode(value)
            if key in kinds:
                plan.attributes[key] = _check_attr(key, kinds[key], value, context)
            elif (
                _PUBLIC_ATTR.match(key)
                and key not in _PART_ATTRS
                and key not in fmt.arrays
                and not any(key in f.attributes or key in f.optional for _, f in formats.values())
                and not hasattr(plan.cls, key)
                and _is_simple(value)
            ):
                plan.attributes[key] = value  # a simple fitted attribute of a newer model
            else:
                raise ModelFileError(
                    f"{context}: unexpected attribute {_short(key)} = {_short(value)}."
                )

        # ---- parameters, checked like fit checks them (in build, once classes are known)
        params = header["params"]
        if not isinstance(params, dict):
            raise ModelFileError(f"{context}: 'params' must be an object.")
        plan.params = {k: _decode(v) for k, v in params.items()}

        # ---- network, history, optimizer state
        if fmt.network:
            plan._plan_network(header)
        elif header["network"] is not None or header["history"] is not None:
            raise ModelFileError(f"{context}: a {name} has no network or history.")
        if not fmt.optimizer_state and header["optimizer_state"] is not None:
            raise ModelFileError(f"{context}: a {name} has no optimizer state.")
        if fmt.check is not None:
            try:
                fmt.check(plan)
            except ValueError as exc:
                raise ModelFileError(f"{context}: {exc}") from None
        if fmt.coef:
            # the number of units: 1 for two classes, else one per class; known from the
            # network (LogisticRegression) or from the classes (checked after reading them)
            plan.entries["coef_"] = ((plan.n_units, n_features), "float64")
            plan.entries["intercept_"] = ((plan.n_units,), "float64")
        for key, (shape, dtype) in fmt.arrays.items():
            dims = tuple(n_features if d == "n_features" else d for d in shape)
            plan.entries[key] = (dims, np.dtype(dtype).str)
        return plan

    def all_entries(self, prefix: str = "") -> Any:
        """(entry name, (shape, dtype)) of this object and of the objects it holds."""
        for key, spec in self.entries.items():
            yield prefix + key, spec
        for attr, child in self.children.items():
            yield from child.all_entries(f"{prefix}{attr}.")

    def _plan_classes(self, spec: Any) -> None:
        context = self.context
        if not (
            isinstance(spec, dict)
            and set(spec) == {"dtype", "values"}
            and isinstance(spec["dtype"], str)
        ):
            raise ModelFileError(
                f"{context}: 'classes' must be {{dtype, values}}, got {_short(spec)}."
            )
        try:
            dtype = np.dtype(spec["dtype"])
        except TypeError as exc:
            raise ModelFileError(
                f"{context}: unknown classes dtype {_short(spec['dtype'])}."
            ) from exc
        if dtype.kind in _LABEL_KINDS and spec["values"] is None:
            self.entries["classes_"] = ((None,), dtype.str)
        elif (
            dtype.kind == "O"
            and isinstance(spec["values"], list)
            and all(_is_label(v) for v in spec["values"])
        ):
            self.classes_values = np.empty(len(spec["values"]), dtype=object)
            self.classes_values[:] = spec["values"]
        else:
            raise ModelFileError(
                f"{context}: class labels of dtype {dtype} must be stored as an array "
                "entry (ints, floats, bools, strings) or as a JSON list of strings / ints "
                "(object dtype)."
            )

    def _plan_network(self, header: dict[str, Any]) -> None:
        context = self.context
        self.network = _check_network(header["network"], context)
        sizes = self.network["layer_sizes"]
        if sizes[0] != self.n_features:
            raise ModelFileError(
                f"{context}: the network takes {sizes[0]} inputs but "
                f"n_features_in is {self.n_features}."
            )
        n_params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:], strict=False))
        self.entries["params"] = ((n_params,), self.network["dtype"])
        self.n_units = sizes[-1]
        self.history = _check_history(header["history"], context)
        n_history = len(self.history["epoch"])
        n_epochs = self.attributes.get("n_epochs_", n_history)
        if n_history != n_epochs:
            raise ModelFileError(
                f"{context}: the history has {n_history} epochs but n_epochs_ is {n_epochs}."
            )
        if self.fmt.optimizer_state:
            self.optimizer_state = _check_optimizer_state(header["optimizer_state"], context)
            for i in range(1, (self.optimizer_state or {}).get("buffers", 0) + 1):
                self.entries[f"optimizer_state{i}"] = ((n_params,), self.network["dtype"])

    def build(self, arrays: dict[str, np.ndarray]) -> Any:
        context = self.context
        classes = self.classes_values if "classes_" not in arrays else arrays["classes_"]
        if classes is not None:
            self._check_classes(classes)
        estimator = _validate_params(self.cls, self.fmt, self.params, classes, context)

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
        for key in ("coef_", "intercept_", *self.fmt.arrays):
            if key in arrays:
                setattr(estimator, key, arrays[key])
        if self.network is not None:
            self._build_network(estimator, arrays)
        for attr, child in self.children.items():
            start = f"{attr}."
            inner = {k[len(start) :]: v for k, v in arrays.items() if k.startswith(start)}
            setattr(estimator, attr, child.build(inner))
        return estimator

    def _check_classes(self, classes: np.ndarray) -> None:
        context = self.context
        k = len(classes)
        if k < 2:
            raise ModelFileError(f"{context}: a classifier needs at least 2 classes, got {k}.")
        try:
            ordered = np.array_equal(np.unique(classes), classes)
        except TypeError:
            ordered = False
        if not ordered:
            raise ModelFileError(
                f"{context}: classes_ must be sorted and unique, got {_short(classes)}."
            )
        n_units = 1 if k == 2 else k
        if self.n_units is not None and self.network is not None:
            output = self.network["output"]
            if self.n_units != n_units or output != ("sigmoid" if k == 2 else "softmax"):
                raise ModelFileError(
                    f"{context}: {k} classes need a {'sigmoid' if k == 2 else 'softmax'} "
                    f"output layer of {n_units} unit(s), but the network ends in "
                    f"{self.n_units} {output!r} unit(s)."
                )
        self.n_units = n_units

    def _build_network(self, estimator: Any, arrays: dict[str, np.ndarray]) -> None:
        from crash_core.callbacks import History
        from crash_core.network import Network, make_rng
        from crash_core.optimizers import resolve_optimizer

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
        if not self.fmt.optimizer_state:
            return
        # what warm_start / partial_fit need to continue where the saved fit stopped
        optimizer = resolve_optimizer(estimator.optimizer)
        estimator._optimizer = optimizer
        estimator._optimizer_state = None
        state_spec = self.optimizer_state
        if state_spec is not None:
            if state_spec["buffers"] != optimizer.n_buffers:
                raise ModelFileError(
                    f"{self.context}: the optimizer state has {state_spec['buffers']} "
                    f"buffer(s) but {optimizer!r} keeps {optimizer.n_buffers}."
                )
            state = optimizer.init_state(net.n_params, net.dtype)
            for i, buffer in enumerate((state.state1, state.state2)[: state_spec["buffers"]], 1):
                buffer[...] = arrays[f"optimizer_state{i}"]
            state.t = state_spec["steps"]
            estimator._optimizer_state = state
        estimator._rng = make_rng(estimator.random_state)


def _check_step(spec: Any, n_features: int, context: str) -> Any:
    """The saved input step, rebuilt and checked against the model's inputs (or None)."""
    if spec is None:
        return None
    if not (isinstance(spec, dict) and set(spec) == {"step", "config"}):
        raise ModelFileError(f"{context}: 'preprocessing' must be {{step, config}}.")
    cls = _STEPS.get(spec["step"]) if isinstance(spec["step"], str) else None
    if cls is None:
        raise ModelFileError(
            f"{context}: unknown preprocessing step {_short(spec['step'])}; crash_core knows "
            f"{', '.join(_STEPS)}."
        )
    try:
        step = cls.from_config(spec["config"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{context}: {exc}") from None
    if step.n_features_out_ != n_features:
        raise ModelFileError(
            f"{context}: the preprocessing gives {step.n_features_out_} features, but the "
            f"model takes {n_features}."
        )
    return step


def _check_optimizer_state(spec: Any, context: str) -> dict[str, int] | None:
    """The header's optimizer state: null, or {"steps": int >= 0, "buffers": 0, 1 or 2}."""
    if spec is None:
        return None

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
            f"got {_short(spec)}."
        )
    return spec


def _check_network(spec: Any, context: str) -> dict[str, Any]:
    from crash_core.network import ACTIVATIONS, OUTPUTS

    keys = {"layer_sizes", "activation", "output", "dtype"}
    if not isinstance(spec, dict) or set(spec) != keys:
        raise ModelFileError(
            f"{context}: 'network' must be an object with the keys "
            f"{sorted(keys)}, got {_short(spec)}."
        )
    sizes = spec["layer_sizes"]
    if not (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)
    ):
        raise ModelFileError(
            f"{context}: layer_sizes must be a list of at least two positive "
            f"ints, got {_short(sizes)}."
        )
    activation = spec["activation"]
    acts = [activation] * (len(sizes) - 2) if isinstance(activation, str) else activation
    if not (
        isinstance(acts, list)
        and len(acts) == len(sizes) - 2
        and all(isinstance(a, str) and a in ACTIVATIONS for a in acts)
    ):
        raise ModelFileError(
            f"{context}: the network's activation {_short(activation)} must be one of "
            f"{sorted(ACTIVATIONS)} or one per hidden layer ({len(sizes) - 2})."
        )
    output = spec["output"]
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ModelFileError(
            f"{context}: unknown output layer {_short(output)}; valid: {sorted(OUTPUTS)}."
        )
    if output == "sigmoid" and sizes[-1] != 1 or output == "softmax" and sizes[-1] < 2:
        raise ModelFileError(f"{context}: a {output} output cannot have {sizes[-1]} units.")
    if spec["dtype"] not in _FLOAT_NAMES:
        raise ModelFileError(
            f"{context}: the network dtype must be 'float32' or 'float64', "
            f"got {_short(spec['dtype'])}."
        )
    return spec


def _check_history(data: Any, context: str) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) != {"epoch", "history"}:
        raise ModelFileError(
            f"{context}: 'history' must be an object with the keys epoch and "
            f"history, got {_short(data)}."
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
        column = _float_list(values, f"history[{_short(key)}]")
        if len(column) != len(epochs):
            raise ModelFileError(
                f"{context}: history[{_short(key)}] has {len(column)} values "
                f"for {len(epochs)} epochs."
            )
        columns[key] = column
    return {"epoch": epochs, "history": columns}
