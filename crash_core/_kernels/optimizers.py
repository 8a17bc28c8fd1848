"""Optimizer update kernels, exposed to Python for tests.

Written in ``src/optimizers.pyx``, compiled into ``crash_core._kernels.wrappers``.
"""

from crash_core._kernels.wrappers import KINDS, step

__all__ = ["KINDS", "step"]
