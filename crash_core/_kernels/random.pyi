"""The in-kernel generator, exposed to Python for tests (compiled from ``src/random.pyx``)."""

import numpy as np
from numpy.typing import NDArray

def new_state(seed: int) -> NDArray[np.uint64]:
    """A fresh xoshiro256** state (4 uint64 words) seeded by splitmix64 (0 <= seed < 2**64)."""

def uniform(state: NDArray[np.uint64], n: int) -> NDArray[np.float64]:
    """n draws uniform on [0, 1), advancing ``state`` (4 uint64 words) in place."""
