"""The multi-layer network kernels (compiled from ``src/network.pyx``).

Arrays are C-contiguous; ``layers`` is the (n_layers, 4) table of (n_in, n_out, weight
offset, bias offset) and ``kinds`` the hidden layers' activation codes.  The functions run
the ISA level ``LEVEL`` (``crash_core._kernels.select``); ``at_level`` gives another level's.
"""

from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

# the fused ``floating`` type: every floating array of one call is float32, or every one float64
_F = TypeVar("_F", np.float32, np.float64)

def _check_layers(
    layers: NDArray[np.intp],
    kinds: NDArray[np.intc],
    out_kind: int,
    n_params: int,
    n_features: int,
    n_outputs: int,
) -> None:
    """Raise ValueError unless every table entry is consistent with the buffers it indexes."""

def forward_(
    params: NDArray[_F],
    layers: NDArray[np.intp],
    kinds: NDArray[np.intc],
    out_kind: int,
    X: NDArray[_F],
    out: NDArray[_F],
    acts: NDArray[_F],
    cap: int,
) -> bool:
    """Write the network's outputs for X into ``out``; False when X holds NaN or infinity."""

def evaluate_(
    params: NDArray[_F],
    layers: NDArray[np.intp],
    kinds: NDArray[np.intc],
    out_kind: int,
    X: NDArray[_F],
    Y: NDArray[_F],
    sample_weight: NDArray[_F],
    weighted: bool,
    acts: NDArray[_F],
    delta: NDArray[_F],
    cap: int,
) -> tuple[float, int]:
    """Loss without gradient: (sum_i w_i L_i, correct count), ``cap`` rows at a time."""

def loss_and_grad_(
    params: NDArray[_F],
    grad: NDArray[_F],
    layers: NDArray[np.intp],
    kinds: NDArray[np.intc],
    out_kind: int,
    X: NDArray[_F],
    Y: NDArray[_F],
    sample_weight: NDArray[_F],
    weighted: bool,
    l1: float,
    l2: float,
    acts: NDArray[_F],
    delta: NDArray[_F],
    spare: NDArray[_F],
) -> tuple[float, int]:
    """(mean loss + penalty, correct count); the gradient is written into ``grad``."""

def train_epoch_(
    params: NDArray[_F],
    layers: NDArray[np.intp],
    kinds: NDArray[np.intc],
    out_kind: int,
    X: NDArray[_F],
    Y: NDArray[_F],
    sample_weight: NDArray[_F],
    weighted: bool,
    order: NDArray[np.intp],
    batch_size: int,
    optimizer: int,
    learning_rate: float,
    momentum: float,
    beta1: float,
    beta2: float,
    eps: float,
    l1: float,
    l2: float,
    t: int,
    state1: NDArray[_F],
    state2: NDArray[_F],
    rates: NDArray[np.float64],
    use_dropout: bool,
    rng: NDArray[np.uint64],
    grad: NDArray[_F],
    xb: NDArray[_F],
    yb: NDArray[_F],
    wb: NDArray[_F],
    acts: NDArray[_F],
    delta: NDArray[_F],
    spare: NDArray[_F],
    dmask: NDArray[_F],
) -> tuple[float, int, int]:
    """Train one epoch in place; returns (summed loss, correct count, optimizer steps so far)."""

VECTOR_BYTES: int
"""Bytes per vector of the own product kernels in this build (0: BLAS does every product)."""
FMA512_FULL_RATE: bool
"""Whether this core runs a 512-bit FMA at a 256-bit one's rate (measured when the AVX-512
build is imported; False at the other levels)."""

def gemm_rm(
    a: NDArray[_F],
    b: NDArray[_F],
    c: NDArray[_F],
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
) -> None:
    """c = alpha op(a) op(b) + beta c through this level's products (own kernels or BLAS)."""

def split_threads_(threads: int) -> int:
    """Threads over which the calling thread's large products split their rows (1: none);
    returns the previous count.  Results do not depend on it."""

def split_min_flops_(flops: float = -1) -> float:
    """Set the fewest FLOPs a product needs to be split and return the previous value; with
    no argument only return it."""

def split_products_() -> int:
    """How many products the kernels have split over threads so far."""

def sparse_density_(density: float = -1) -> float:
    """Set the largest share of nonzeros in a product's A for which it skips A's zeros (0:
    never) and return the previous value; with no argument only return it.  Results do not
    depend on it."""

def sparse_products_() -> int:
    """How many products the kernels have run skipping A's zeros so far."""

def packed_products_() -> int:
    """How many products the kernels have run with B's blocks of columns copied into
    panels so far."""

def wide_tiles_(on: float = -1) -> float:
    """Set whether products of 4 or more vectors of columns take the AVX-512 level's 4 x 4
    tiles (1 or 0) and return the previous value; with no argument only return it.
    Results do not depend on it."""

def wide_products_() -> int:
    """How many row ranges of products (one a thread) have taken the wide tiles so far."""

def narrow_backward_(on: float = -1) -> float:
    """Set whether the backward pass through a layer of at most 4 units takes the one-pass
    kernel (1 or 0) and return the previous value; with no argument only return it.
    Results do not depend on it."""

def narrow_passes_() -> int:
    """How many backward passes the kernels have taken in one pass so far."""

def pair_steps_() -> int:
    """How many training steps of a network of one hidden layer the kernels have run as the
    pair step (its hidden units in two halves) so far."""

def pair_halves_() -> int:
    """How many halves of pair steps the kernels' helper thread has run so far."""

def pair_min_flops_(flops: float = -1) -> float:
    """Set the fewest forward FLOPs of a batch for which an epoch of a network of one hidden
    layer that has two threads runs the pair step, and return the previous value; with no
    argument only return it.  Results do not depend on it."""

def pair_alone_steps_(pattern: float = -1) -> float:
    """Set the steps of each epoch that a pair step at a threshold of 0 runs on the calling
    thread alone (bit s % 32 for step s), and return the previous value; with no argument
    only return it.  Results do not depend on it."""

LEVEL: str
"""The ISA level of the module's functions: avx512, avx2 or portable."""

class Kernels:
    """The functions above, bound to the kernels of one ISA level."""

    level: str
    module: ModuleType
    VECTOR_BYTES: int
    FMA512_FULL_RATE: bool
    forward_: Callable[..., bool]
    evaluate_: Callable[..., tuple[float, int]]
    loss_and_grad_: Callable[..., tuple[float, int]]
    train_epoch_: Callable[..., tuple[float, int, int]]
    gemm_rm: Callable[..., None]
    split_threads_: Callable[[int], int]
    split_min_flops_: Callable[..., float]
    split_products_: Callable[[], int]
    sparse_density_: Callable[..., float]
    sparse_products_: Callable[[], int]
    packed_products_: Callable[[], int]
    narrow_backward_: Callable[..., float]
    wide_tiles_: Callable[..., float]
    wide_products_: Callable[..., int]
    narrow_passes_: Callable[[], int]
    pair_steps_: Callable[[], int]
    pair_halves_: Callable[[], int]
    pair_min_flops_: Callable[..., float]
    pair_alone_steps_: Callable[..., float]
    def __init__(self, level: str, module: ModuleType) -> None: ...

def at_level(level: str) -> Kernels:
    """The kernels built at ISA ``level``; only a level the CPU runs may be asked for."""
