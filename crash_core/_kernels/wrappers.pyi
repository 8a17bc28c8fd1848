"""The kernels' building blocks (``src/wrappers.pyx``); see the family modules' stubs."""

from crash_core._kernels.activations import *  # noqa: F403
from crash_core._kernels.blas import *  # noqa: F403
from crash_core._kernels.losses import *  # noqa: F403
from crash_core._kernels.optimizers import *  # noqa: F403
from crash_core._kernels.random import *  # noqa: F403
