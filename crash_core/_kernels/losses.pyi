"""Loss kernels, exposed to Python for tests (compiled from ``src/losses.pyx``)."""

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

# the fused ``floating`` type: every floating array of one call is float32, or every one float64
_F = TypeVar("_F", np.float32, np.float64)

OUTPUTS: dict[str, int]
"""Output layer name ("sigmoid", "softmax", "identity") -> the kernels' ``kind`` code."""

def output_loss_(
    z: NDArray[_F], y: NDArray[_F], delta: NDArray[_F], kind: int, scale: float = 1.0
) -> tuple[float, int]:
    """Return (sum of per-row losses, correct count); z becomes the outputs, delta dL/dz."""

def output_activation_(z: NDArray[_F], kind: int) -> None:
    """Logits -> outputs in place (z C-contiguous 2-D)."""
