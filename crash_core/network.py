"""``cc.Network``: the compute object behind every model.

A network is a stack of dense layers.  Layer i maps a batch A (rows x n_in) to
f(A W_i + b_i); hidden layers use sigmoid, tanh or relu, the output layer sigmoid (one
unit, binary), softmax (k classes) or identity (regression).  Every weight and bias lives
in ONE contiguous 1-D array ``params``; ``weights[i]`` (n_in x n_out) and ``biases[i]``
(n_out,) are views into it, so an optimizer step, a snapshot or a restore is one pass over
one buffer.

The loss is the mean over samples of the cross-entropy (sigmoid/softmax) or of
0.5 * sum over outputs of the squared error (identity), plus l1 * sum|w| + l2 * sum w^2
over the weights (never the biases).
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from crash_core import _memory
from crash_core._blas_threads import (
    BLAS_ONE_THREAD_MACS,
    FLOPS_PER_THREAD,
    SPLIT_MIN_FLOPS,
    idle_cores,
    kernel_threads,
    limited_blas,
    split_budget,
    threads_earned,
)
from crash_core._kernels import network as kernels
from crash_core.optimizers import Optimizer, OptimizerState, needs_gradient, resolve_optimizer

__all__ = ["Network", "EpochTrainer", "ACTIVATIONS", "OUTPUTS"]

ACTIVATIONS = {"sigmoid": 0, "tanh": 1, "relu": 2}
OUTPUTS = {"sigmoid": 0, "softmax": 1, "identity": 2}
DTYPES = {"float32": np.float32, "float64": np.float64}
# rows fed forward at a time at prediction: big enough for efficient matrix products,
# small enough for the activations to stay in cache
PREDICT_CHUNK = 2048
# the widest layer and the most parameters a network may have: far beyond any memory, far
# below the sizes whose products overflow the kernels' 64-bit offsets
_MAX_WIDTH = 2**31
_MAX_PARAMS = 2**40
_INF = float("inf")
# the kernels' own products take every forward (NN) product of a layer with up to this
# many inputs (CC_OWN_MAX_K in src/simd/gemm.h), so the forward pass of a network whose
# layers all have as few makes no BLAS call and needs no thread guard; a build without
# vector types (kernels.VECTOR_BYTES == 0) leaves every product to BLAS
OWN_MAX_INPUTS = 4096
_OWN_PRODUCTS = getattr(kernels, "VECTOR_BYTES", 0) > 0


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only view whose base is read-only too, so it cannot be made writable again."""
    array = np.array(array)
    array.setflags(write=False)
    return array.view()


def _short_sizes(sizes: Sequence[int]) -> str:
    return str(list(sizes[:6]))[:-1] + (", ...]" if len(sizes) > 6 else "]")


# a forward pass cuts each PREDICT_CHUNK-row chunk into at most this many shares of at
# least SPLIT_MIN_ROWS rows, which threads take as they free up (several per thread, so
# a core that another process holds slows only the shares it gets)
SPLIT_MAX_SHARES = 8
SPLIT_MIN_ROWS = 128


def row_shares(n: int) -> list[tuple[int, int]]:
    """(start, stop) of the shares a forward pass of ``n`` rows feeds to the kernel.

    The rows are cut into PREDICT_CHUNK-row chunks and each chunk into an even number of
    near-equal shares (at most SPLIT_MAX_SHARES, each of at least SPLIT_MIN_ROWS rows).
    The cut depends on ``n`` only, never on the number of threads that feed the shares:
    how a product tiles its rows can change the last bits of a row's result (see
    docs/guide/performance.rst), so the same cut makes a prediction bit for bit the same
    on one thread or many.
    """
    shares = []
    for begin in range(0, n, PREDICT_CHUNK):
        rows = min(PREDICT_CHUNK, n - begin)
        parts = min(SPLIT_MAX_SHARES, rows // SPLIT_MIN_ROWS)
        parts = max(1, parts - parts % 2)
        cuts = [begin + rows * i // parts for i in range(parts + 1)]
        shares += list(zip(cuts[:-1], cuts[1:], strict=True))
    return shares


def split_threads(largest_flops: float, budget: int | None = None, strict: bool = False) -> int:
    """Threads the own kernels may split the products of a pass over, when its largest
    product is ``largest_flops`` FLOPs (see ``_blas_threads.kernel_threads``); ``budget``
    is ``split_budget()`` read before any ``limited_blas`` lowered it; ``strict`` counts
    this process's other busy threads as taken cores (a prediction)."""
    return kernel_threads(largest_flops, kernels.split_min_flops_(), budget, strict)


class batch_threads:  # noqa: N801 - used like a function: with batch_threads(net, cap)
    """The threads of a pass over batches of ``cap`` rows (an epoch, an evaluation): the
    BLAS thread count its products earn (``epoch_threads``) and the own kernels' split
    (``split_threads``), both from one reading of the budget, taken before the first of
    them lowers the BLAS count.  A training epoch (``training``) also gets two threads
    where its batches earn the pair step (each thread keeps half of the last hidden
    layer's units through the step: ``src/network_kernels.pyx``'s
    ``pair_epoch``, ``src/simd/pool.h``'s pair session), and no other thread of this
    process is running: its helper spins beside the caller the whole epoch, and another
    library's pool that spins after its products (OpenBLAS, OpenMP) would share its core.
    (64-128-10 / b64 on 2 cores, 3 epochs right after 20 products of 512x512 in numpy:
    43-46 us a step with the helper, which ran 10-47% of the second halves, against
    38-40 us on one thread, in the same runs as 24-36 us after an idle 0.1 s.)"""

    __slots__ = ("blas", "split")

    def __init__(self, net: Network, cap: int, training: bool = False) -> None:
        budget = split_budget()
        # epoch_threads(net.layers, cap, budget), from the widest layer the network keeps
        largest = 2.0 * cap * net._largest_layer
        self.blas = limited_blas(threads_earned(largest, budget))
        split = split_threads(largest, budget)
        if training and split < 2 and len(net.layers) >= 2:
            split = kernel_threads(
                cap * net._split_row_flops, kernels.pair_min_flops_(), budget, strict=True
            )
        self.split = kernel_split(split)

    def __enter__(self) -> None:
        self.blas.__enter__()
        self.split.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.split.__exit__(*exc)
        self.blas.__exit__(*exc)


class kernel_split:  # noqa: N801 - used like a function: with kernel_split(threads)
    """Within the block the calling thread's large products split their rows over
    ``threads`` threads (``src/simd/pool.h``); nothing to do for 1."""

    __slots__ = ("threads", "previous")

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.previous = 1

    def __enter__(self) -> None:
        if self.threads > 1:
            self.previous = kernels.split_threads_(self.threads)

    def __exit__(self, *exc: object) -> None:
        if self.threads > 1:
            kernels.split_threads_(self.previous)


# the caller feeds one share itself; these threads feed the others
_HELPERS = max(1, (os.cpu_count() or 1) - 1)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    """The library's prediction threads, started on first use and kept."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_HELPERS, thread_name_prefix="crash_core")
        return _pool


def _forget_threads() -> None:
    """In a forked child the parent's threads do not exist: start new ones when needed."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads)


def _feed_shares(
    net: Network, X: np.ndarray, out: np.ndarray, shares: list[tuple[int, int]], workers: int
) -> bool:
    """Feed the shares forward on ``workers`` threads (the caller's among them), each taking
    the next share as it frees up, every product on one BLAS thread; False if X is not
    finite.  The threads are GIL-free inside the kernel."""
    todo = iter(shares)  # next() on a list iterator is atomic: no share is taken twice

    def work() -> bool:
        finite = True
        for start, stop in todo:
            finite &= net._forward_rows(X[start:stop], out[start:stop])
        return finite

    with limited_blas(1) if net._forward_blas else contextlib.nullcontext():
        if workers < 2:
            return work()
        pool = _threads()
        helpers = [pool.submit(work) for _ in range(min(workers - 1, _HELPERS))]
        finite = work()
        return all([h.result() for h in helpers]) and finite


NONFINITE_X = (
    "Input X contains NaN or infinity. Impute the missing values (e.g. fill each column "
    "with its mean) or drop the rows that contain them."
)
OVERFLOW = (
    "The network's values overflowed {dtype} inside a layer: X holds values too large for "
    "these weights (largest |x| = {largest:.3g}). Scale the features (e.g. to mean 0, "
    "standard deviation 1) or use dtype='float64'."
)


def check_rates(learning_rate: Any = None, l1: Any = 0.0, l2: Any = 0.0) -> None:
    """learning_rate (when given) finite and > 0; l1, l2 finite and >= 0."""
    if (
        type(l1) is type(l2) is float
        and 0.0 <= l1 < _INF
        and 0.0 <= l2 < _INF
        and (learning_rate is None or (type(learning_rate) is float and 0.0 < learning_rate < _INF))
    ):
        return  # plain floats in range, the case of every epoch: three comparisons
    from crash_core._validation import check_scalar

    finite = {"max_val": float("inf"), "include_max": False}
    if learning_rate is not None:
        check_scalar(learning_rate, "learning_rate", min_val=0.0, include_min=False, **finite)
    check_scalar(l1, "l1", min_val=0.0, **finite)
    check_scalar(l2, "l2", min_val=0.0, **finite)


def check_dropout(dropout: Any, n_hidden: int) -> np.ndarray:
    """One dropout rate in [0, 1) per hidden layer, from None, one rate or one per layer."""
    from crash_core._validation import check_scalar

    if dropout is None:
        return np.zeros(n_hidden)
    rates = [dropout] * n_hidden if np.ndim(dropout) == 0 else list(np.ravel(dropout))
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout lists {len(rates)} rates for {n_hidden} hidden layers; give one rate "
            "or one per hidden layer."
        )
    return np.array(
        [check_scalar(r, "dropout", min_val=0.0, max_val=1.0, include_max=False) for r in rates],
        dtype=np.float64,
    )


def _names(options: dict[str, int]) -> str:
    return ", ".join(repr(k) for k in options)


def _layout(name: str, doc: str) -> property:
    """A read-only attribute fixed at construction: the kernels index ``params`` by it."""

    def get(self: Network) -> Any:
        return self.__dict__["_" + name]

    def refuse(self: Network, value: Any) -> None:
        raise AttributeError(
            f"Network.{name} is fixed when the network is built (it maps the parameter "
            "buffer); build a new Network(layer_sizes, activation, output, dtype) instead."
        )

    return property(get, refuse, doc=doc)


def one_hot_rows(idx: np.ndarray, k: int, dtype: Any) -> np.ndarray:
    """Row i is all zeros but a 1 in column idx[i]: shape (len(idx), k)."""
    Y = np.zeros((idx.size, k), dtype=dtype)
    Y[np.arange(idx.size), idx] = 1
    return Y


def resolve_dtype(dtype: Any) -> type:
    """'float32' / 'float64' (or the numpy types) -> the numpy scalar type."""
    try:
        key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        key = None
    if key not in DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}. Valid options: 'float32', 'float64'.")
    return DTYPES[key]


def make_rng(random_state: Any) -> np.random.Generator:
    """None (fresh entropy), an int seed, a numpy Generator or RandomState -> a Generator."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "random_state must be None, an int or a numpy Generator, got "
        f"{type(random_state).__name__}."
    )


# weight initialisations: Glorot everywhere, or He in front of relu units
INITS = ("glorot", "he")


class Network:
    """A fully connected feed-forward network over one flat parameter buffer.

    Parameters
    ----------
    layer_sizes : sequence of int
        Widths from the input to the output layer, e.g. ``(2, 64, 64, 1)``.
    activation : {"relu", "sigmoid", "tanh"} or list of them, default="relu"
        Hidden activation, one name for all hidden layers or one per hidden layer.
    output : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        Output layer: one sigmoid unit (two classes), a softmax over k >= 2 units, or
        identity units (regression).
    dtype : {"float64", "float32"}, default="float64"
        Precision of the parameters and the arithmetic.
    random_state : int, numpy Generator or None, default=None
        Seed of the initial weights and of the shuffling of ``train_epoch``.
    init : {"glorot", "he"}, default="glorot"
        Initial weights (see the notes).

    Notes
    -----
    Weights start Glorot-uniform, U(+-sqrt(6 / (n_in + n_out))), in every layer with
    ``init="glorot"``; with ``init="he"`` the layers in front of relu units start He-uniform,
    U(+-sqrt(6 / n_in)), instead. Biases start at zero. Glorot is the default because it
    measured better on real data with few inputs (see BENCHMARKS.md, "Initialisation").
    """

    layer_sizes = _layout("layer_sizes", "Widths from the input to the output layer.")
    activation = _layout("activation", "The activation as given: one name or one per layer.")
    activations = _layout("activations", "The activation of each hidden layer.")
    output = _layout("output", "The output layer: 'sigmoid', 'softmax' or 'identity'.")
    dtype = _layout("dtype", "The numpy dtype of params and of every computation.")
    layers = _layout("layers", "(n_in, n_out, weight offset, bias offset) per layer, read-only.")
    kinds = _layout("kinds", "The activation code of each hidden layer, read-only.")
    out_kind = _layout("out_kind", "The output layer's code.")

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str | Sequence[str] = "relu",
        output: str = "sigmoid",
        dtype: Any = "float64",
        random_state: Any = None,
        init: str = "glorot",
    ) -> None:
        if init not in INITS:
            raise ValueError(f"Unknown init {init!r}. Valid options: {', '.join(INITS)}.")
        self.init = init
        try:
            sizes = list(layer_sizes) if not isinstance(layer_sizes, (str, bytes)) else None
        except TypeError:
            sizes = None
        if (
            sizes is None
            or len(sizes) < 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes)
            or min(sizes) < 1
        ):
            raise ValueError(
                f"layer_sizes must be a sequence of at least two positive ints "
                f"(inputs, ..., outputs), got {layer_sizes!r}."
            )
        if max(sizes) > _MAX_WIDTH:
            raise ValueError(
                f"layer_sizes {_short_sizes(sizes)} holds a layer wider than {_MAX_WIDTH} units; "
                "no such layer fits in memory. Use smaller layers."
            )
        n_params = sum(
            int(i) * int(o) + int(o) for i, o in zip(sizes[:-1], sizes[1:], strict=False)
        )
        if n_params > _MAX_PARAMS:
            raise ValueError(
                f"layer_sizes {_short_sizes(sizes)} needs {n_params} parameters, more than "
                f"{_MAX_PARAMS}; use smaller layers."
            )
        d = self.__dict__
        d["_layer_sizes"] = tuple(int(s) for s in sizes)
        n_hidden = len(sizes) - 2
        if isinstance(activation, str):
            acts = [activation] * n_hidden
        elif isinstance(activation, (list, tuple)):
            acts = list(activation)
        else:
            raise TypeError(
                f"activation must be a name ({_names(ACTIVATIONS)}) or a list with one name per "
                f"hidden layer, got {type(activation).__name__}."
            )
        if len(acts) != n_hidden:
            raise ValueError(
                f"activation lists {len(acts)} names for {n_hidden} hidden layers; give one "
                "name for all of them or one per hidden layer."
            )
        for a in acts:
            if a not in ACTIVATIONS:
                raise ValueError(f"Unknown activation {a!r}. Valid options: {_names(ACTIVATIONS)}.")
        if output not in OUTPUTS:
            raise ValueError(f"Unknown output {output!r}. Valid options: {_names(OUTPUTS)}.")
        if output == "sigmoid" and sizes[-1] != 1:
            raise ValueError(
                f"A sigmoid output has one unit (binary), got {sizes[-1]}; use output='softmax' "
                "for several classes."
            )
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("A softmax output needs at least 2 units; use output='sigmoid'.")
        d["_activation"] = activation if isinstance(activation, str) else tuple(acts)
        d["_activations"] = tuple(acts)
        d["_output"] = output
        d["_dtype"] = np.dtype(resolve_dtype(dtype))
        self.random_state = random_state

        # (n_in, n_out, weight offset, bias offset) per layer: the kernels' map of params
        table, offset = [], 0
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=False):
            table.append((n_in, n_out, offset, offset + n_in * n_out))
            offset += n_in * n_out + n_out
        d["_layers"] = _frozen(np.array(table, dtype=np.intp).reshape(-1, 4))
        d["_kinds"] = _frozen(np.array([ACTIVATIONS[a] for a in acts], dtype=np.intc))
        d["_out_kind"] = OUTPUTS[output]
        self._layout_sums()
        d["_params"] = _memory.zeros(offset, self.dtype)
        self.weights, self.biases = self.split(self.params)
        self._rng = make_rng(random_state)
        self.initialize(self._rng)

    # ------------------------------------------------------------------ layout
    def _layout_sums(self) -> None:
        """What every forward pass needs from the layout, computed once: the FLOPs of one
        row (2 n_in n_out summed over the layers; those of the last hidden layer and the
        output, which the pair step splits), the activations it holds, the largest weight
        matrix (n_in n_out) and whether any product of the pass goes to BLAS."""
        layers = self.__dict__["_layers"]
        self.__dict__["_row_flops"] = 2 * int((layers[:, 0] * layers[:, 1]).sum())
        self.__dict__["_split_row_flops"] = 2 * int((layers[-2:, 0] * layers[-2:, 1]).sum())
        self.__dict__["_width_sum"] = int(layers[:, 1].sum())
        self.__dict__["_largest_layer"] = int((layers[:, 0] * layers[:, 1]).max())
        own = _OWN_PRODUCTS and layers[:, 0].max() <= OWN_MAX_INPUTS
        self.__dict__["_forward_blas"] = not own

    @property
    def n_features(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.layer_sizes[-1]

    @property
    def n_params(self) -> int:
        return self.params.size

    @property
    def params(self) -> np.ndarray:
        """Every weight and bias, one contiguous 1-D buffer (writable in place)."""
        return self._params

    @params.setter
    def params(self, value: Any) -> None:
        """``net.params = values`` copies ``values`` into the buffer, after checking them."""
        try:
            values = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"params must be an array of numbers, got {exc}.") from None
        if values.dtype.kind not in "biuf":
            raise TypeError(f"params must hold real numbers, got dtype {values.dtype}.")
        if values.shape != self._params.shape:
            raise ValueError(
                f"params must be a 1-D array of {self._params.size} values (the layout of "
                f"layer_sizes {self.layer_sizes}), got shape {values.shape}."
            )
        if not np.isfinite(values).all():
            raise ValueError("params must be finite (no NaN or infinity).")
        self._params[...] = values

    def split(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Views (weight_list, bias_list) of any array laid out like ``params``."""
        flat = np.asarray(flat)
        if flat.ndim != 1 or flat.size != self.params.size:
            raise ValueError(
                f"split needs a 1-D array of {self.params.size} values (the layout of params), "
                f"got shape {flat.shape}."
            )
        weights = [flat[w : w + i * o].reshape(i, o) for i, o, w, _ in self.layers]
        biases = [flat[b : b + o] for _, o, _, b in self.layers]
        return weights, biases

    def initialize(self, rng: np.random.Generator) -> None:
        """Fresh weights (Glorot, or He in front of relu with init="he") and zero biases,
        in place."""
        he = getattr(self, "init", "glorot") == "he"
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=False)):
            n_in, n_out = w.shape
            relu_next = he and i < len(self.activations) and self.activations[i] == "relu"
            limit = np.sqrt(6.0 / n_in) if relu_next else np.sqrt(6.0 / (n_in + n_out))
            w[...] = rng.uniform(-limit, limit, size=w.shape)
            b[...] = 0

    def copy(self) -> Network:
        """An independent network with the same structure and parameters."""
        return self.astype(self.dtype)

    def astype(self, dtype: Any) -> Network:
        """An independent copy computing in ``dtype`` ("float32" / "float64"): the same
        structure, the parameters cast to it."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.__dict__["_dtype"] = np.dtype(resolve_dtype(dtype))
        clone.__dict__["_params"] = _memory.aligned_copy(self.params, clone.dtype)  # a copy
        clone.weights, clone.biases = clone.split(clone.params)
        clone._rng = copy.deepcopy(self._rng)  # the same shuffles ahead, without drawing
        return clone

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["weights"], state["biases"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__["_layers"] = _frozen(self._layers)
        self.__dict__["_kinds"] = _frozen(self._kinds)
        if not _memory.is_aligned(self._params):  # unpickled into numpy's own buffer
            self.__dict__["_params"] = _memory.aligned_copy(self._params)
        self._layout_sums()
        self.weights, self.biases = self.split(self.params)

    def to_onnx(self, path: Any = None, *, opset: int | None = None) -> bytes:
        """This network as an ONNX graph (input ``X``, output ``output`` = ``forward(X)``),
        as bytes; also written to ``path`` when given. Needs the ``onnx`` extra.
        See :func:`crash_core.onnx.to_onnx`."""
        from crash_core.onnx import to_onnx

        return to_onnx(self, path, opset=opset)

    def __repr__(self) -> str:
        return (
            f"Network(layer_sizes={self.layer_sizes}, activation={self.activation!r}, "
            f"output={self.output!r}, dtype={self.dtype.name!r})"
        )

    # ------------------------------------------------------------------ data
    def _inputs(self, X: Any, check_finite: bool = True) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"X must have shape (n_samples, {self.n_features}), got {X.shape}; "
                "reshape it or build the network with a matching first layer size."
            )
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must be numeric, got dtype {X.dtype}.")
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if check_finite and not np.isfinite(X).all():
            raise ValueError(NONFINITE_X)
        return X

    def targets(self, y: Any, n_samples: int) -> np.ndarray:
        """y as the kernels take it: an (n, n_outputs) array of the network's dtype.

        sigmoid: 0/1 values (or probabilities in [0, 1]); softmax: integer class indices or
        rows of class probabilities (one-hot); identity: targets, (n,) or (n, k).
        """
        y = np.asarray(y)
        k = self.n_outputs
        if y.ndim == 0:
            raise ValueError(
                f"y must hold one target per sample (an array of {n_samples}), got the "
                f"scalar {y.item()!r:.40}."
            )
        if y.dtype.kind not in "biuf":
            raise TypeError(
                f"y must be numeric, got dtype {y.dtype}: the network takes 0/1 targets "
                "(sigmoid), class indices (softmax) or numbers (identity); encode labels "
                "first, or use MLPClassifier, which does it for you."
            )
        if y.shape[0] != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {y.shape[0]}; pass one target per row."
            )
        if self.output == "softmax" and y.ndim == 1:
            if y.dtype.kind not in "iub" and not np.all(np.mod(y, 1) == 0):
                raise ValueError("softmax targets must be integer class indices or one-hot rows.")
            idx = y.astype(np.intp)
            if idx.size and (idx.min() < 0 or idx.max() >= k):
                raise ValueError(f"class indices must lie in [0, {k - 1}] for {k} output units.")
            return one_hot_rows(idx, k, self.dtype)
        Y = np.ascontiguousarray(y.reshape(n_samples, -1), dtype=self.dtype)
        if Y.shape[1] != k:
            raise ValueError(f"y must have {k} column(s) for this network, got {Y.shape[1]}.")
        if not np.isfinite(Y).all():
            raise ValueError("y contains NaN or infinity; drop those rows first.")
        if self.output != "identity" and Y.size and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(
                f"{self.output} targets must lie in [0, 1] (0/1 labels or probabilities), got "
                f"values in [{Y.min():.3g}, {Y.max():.3g}]."
            )
        if self.output == "softmax" and not np.allclose(Y.sum(axis=1), 1, atol=1e-3):
            raise ValueError("softmax target rows must sum to 1 (one-hot or probabilities).")
        return Y

    # ------------------------------------------------------------------ compute
    def forward(self, X: Any) -> np.ndarray:
        """Output activations for X, shape (n, n_outputs): probabilities for sigmoid/softmax.

        With the own product kernels, each large product splits its rows over the
        library's threads (``_blas_threads.kernel_threads`` says how many); otherwise many
        rows are cut into shares (see :func:`row_shares`) fed forward by up to
        ``split_budget()`` GIL-free threads when the work earns them, each share's
        products on one BLAS thread.  The result does not depend on the thread count.
        """
        return self._feed(self._inputs(X, check_finite=False))  # the kernel checks finiteness

    def _feed(self, X: np.ndarray) -> np.ndarray:
        """``forward`` of an X already checked to be a C-contiguous 2-D array of this
        network's dtype and width (what the models' fast path hands over)."""
        n = X.shape[0]
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        if not self._forward_blas:  # own products: large ones split their rows over threads
            largest = 2.0 * min(n, PREDICT_CHUNK) * self._largest_layer
            with kernel_split(split_threads(largest, strict=True)):
                finite = self._forward_rows(X, out)
        elif n < 2 * SPLIT_MIN_ROWS:  # one share, too little work for threads
            if n * self._largest_layer <= BLAS_ONE_THREAD_MACS:
                finite = self._forward_rows(X, out)  # no BLAS call, or one on one thread
            else:  # the products earn BLAS threads by their size (see _blas_threads)
                flops = n * self._row_flops
                threads = 1 if flops < FLOPS_PER_THREAD else threads_earned(flops, split_budget())
                with limited_blas(threads):
                    finite = self._forward_rows(X, out)
        else:
            shares = row_shares(n)
            budget = 1
            if n * self._row_flops >= SPLIT_MIN_FLOPS:
                budget = min(split_budget(), idle_cores())
            finite = _feed_shares(self, X, out, shares, min(budget, len(shares)))
        if not finite:
            if not np.isfinite(X).all():
                raise ValueError(NONFINITE_X)
            largest = float(np.abs(X).max())
            raise ValueError(OVERFLOW.format(dtype=self.dtype.name, largest=largest))
        return out

    def _forward_rows(self, X: np.ndarray, out: np.ndarray) -> bool:
        """Feed X forward into ``out``, PREDICT_CHUNK rows at a time; False if X is not finite."""
        d = self.__dict__
        cap = max(1, min(PREDICT_CHUNK, X.shape[0]))
        acts = _memory.empty(cap * d["_width_sum"], d["_dtype"])
        return bool(
            kernels.forward_(
                d["_params"], d["_layers"], d["_kinds"], d["_out_kind"], X, out, acts, cap
            )
        )

    def loss_and_grad(
        self, X: Any, y: Any, l1: float = 0.0, l2: float = 0.0, sample_weight: Any = None
    ) -> tuple[float, np.ndarray]:
        """(loss, grad) at the current parameters; ``grad`` has the layout of ``params``.

        loss = sum_i w_i L_i / sum_i w_i + l1 sum|W| + l2 sum W^2 (w_i = 1 without weights).
        """
        from crash_core._validation import check_sample_weight

        check_rates(None, l1, l2)
        X = self._inputs(X)
        if X.shape[0] == 0:
            raise ValueError("X is empty; loss_and_grad needs at least one sample.")
        Y = self.targets(y, X.shape[0])
        weighted = sample_weight is not None
        sw = (
            check_sample_weight(sample_weight, X.shape[0], self.dtype)
            if weighted
            else np.zeros(0, dtype=self.dtype)
        )
        n = X.shape[0]
        widest = int(self.layers[:, 1].max())  # the inputs never get a delta
        grad = _memory.empty(self.params.size, self.dtype)
        acts = _memory.empty(n * int(self.layers[:, 1].sum()), self.dtype)
        delta = _memory.empty(n * widest, self.dtype)
        spare = _memory.empty(n * widest, self.dtype)
        loss, _ = kernels.loss_and_grad_(
            self.params,
            grad,
            self.layers,
            self.kinds,
            self.out_kind,
            X,
            Y,
            sw,
            weighted,
            float(l1),
            float(l2),
            acts,
            delta,
            spare,
        )
        return float(loss), grad

    def train_epoch(
        self,
        X: Any,
        y: Any,
        batch_size: int = 32,
        learning_rate: float = 0.01,
        l1: float = 0.0,
        l2: float = 0.0,
        shuffle: bool = True,
        random_state: Any = None,
    ) -> tuple[float, float]:
        """One epoch of plain mini-batch SGD in one kernel call: (mean loss, accuracy).

        Accuracy is NaN for an identity output.  Without ``random_state`` the batches
        are shuffled by the network's own generator (seeded by its ``random_state``).
        """
        check_rates(learning_rate, l1, l2)
        X = self._inputs(X)
        Y = self.targets(y, X.shape[0])
        trainer = EpochTrainer(self, batch_size, "sgd", n_samples=X.shape[0])
        rng = self._rng if random_state is None else make_rng(random_state)
        order = rng.permutation(X.shape[0]) if shuffle else np.arange(X.shape[0])
        before = self.params.copy()
        loss_sum, correct = trainer.run(X, Y, order, learning_rate, l1, l2)
        if not (np.isfinite(loss_sum) and np.isfinite(self.params).all()):
            self.params[...] = before
            raise ValueError(
                f"Training diverged: the loss or the weights overflowed with "
                f"learning_rate={learning_rate!r}; the weights from before this epoch are "
                "kept. Lower learning_rate or scale X."
            )
        n = X.shape[0]
        accuracy = correct / n if self.output != "identity" and n else float("nan")
        return (loss_sum / n if n else float("nan")), accuracy


class EpochTrainer:
    """Everything one fit needs between epochs, allocated once: the batch buffers, the
    optimizer state and the dropout generator.  ``run`` is one call of the epoch kernel.

    Parameters
    ----------
    network : Network
        The network to train (its ``params`` are updated in place).
    batch_size : int
        Rows per step (the whole data set for full batch).
    optimizer : str or Optimizer, default="sgd"
        The update rule.
    dropout : sequence of float or None, default=None
        Dropout rate per hidden layer.
    seed : int, default=0
        Seed of the dropout masks.
    state : OptimizerState or None, default=None
        State to continue from (warm start); None starts at zero.
    n_samples : int or None, default=None
        Rows of the data, to size the buffers (default: ``batch_size``).
    """

    def __init__(
        self,
        network: Network,
        batch_size: int,
        optimizer: str | Optimizer = "sgd",
        dropout: Sequence[float] | None = None,
        seed: int = 0,
        state: OptimizerState | None = None,
        n_samples: int | None = None,
    ) -> None:
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        self.network = network
        self.optimizer = resolve_optimizer(optimizer)
        dt = network.dtype
        n_layers = len(network.layers)
        widths = int(network.layers[:, 1].sum())
        widest = int(network.layers[:, 1].max())  # the inputs never get a delta
        rates = np.zeros(max(n_layers - 1, 1), dtype=np.float64)
        rates[: n_layers - 1] = check_dropout(dropout, n_layers - 1)
        self.rates = rates
        self.use_dropout = bool(rates.any())
        # a batch never exceeds the data, so its buffers need no more rows than that
        self.capacity = int(batch_size if n_samples is None else max(1, min(batch_size, n_samples)))
        cap = self.capacity
        # plain SGD allocates the gradient at its first epoch with a penalty (see ``run``)
        self.grad = _memory.empty(
            network.n_params if needs_gradient(self.optimizer.kind) else 0, dt
        )
        self.xb = _memory.empty(cap * network.n_features, dt)
        self.yb = _memory.empty(cap * network.n_outputs, dt)
        self.wb = _memory.empty(cap, dt)
        self.acts = _memory.empty(cap * widths, dt)
        self.delta = _memory.empty(cap * widest, dt)
        self.spare = _memory.empty(cap * widest, dt)
        self.dmask = _memory.empty(cap * widths if self.use_dropout else 1, dt)
        self.state = state if state is not None else self.optimizer.init_state(network.n_params, dt)
        from crash_core._kernels.random import new_state

        self.rng = new_state(int(seed) % 2**64)

    def run(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        order: np.ndarray,
        learning_rate: float,
        l1: float = 0.0,
        l2: float = 0.0,
        sample_weight: np.ndarray | None = None,
    ) -> tuple[float, int]:
        """Train one epoch over X[order]; returns (sum_i w_i L_i + batch penalties, correct)."""
        check_rates(learning_rate, l1, l2)
        net = self.network
        kind, momentum, beta1, beta2, eps = self.optimizer.kernel_args()
        weighted = sample_weight is not None
        sw = sample_weight if weighted else self.wb[:0]
        if not self.grad.size and needs_gradient(kind, l1, l2):
            self.grad = _memory.empty(net.n_params, net.dtype)
        # the epoch's products are batch-sized: they get the threads their size earns
        with batch_threads(net, self.capacity, training=True):
            total, correct, t = kernels.train_epoch_(
                net.params,
                net.layers,
                net.kinds,
                net.out_kind,
                X,
                Y,
                sw,
                weighted,
                np.ascontiguousarray(order, dtype=np.intp),
                self.capacity,
                kind,
                float(learning_rate),
                momentum,
                beta1,
                beta2,
                eps,
                float(l1),
                float(l2),
                self.state.t,
                self.state.state1,
                self.state.state2,
                self.rates,
                self.use_dropout,
                self.rng,
                self.grad,
                self.xb,
                self.yb,
                self.wb,
                self.acts,
                self.delta,
                self.spare,
                self.dmask,
            )
        self.state.t = int(t)
        return float(total), int(correct)
