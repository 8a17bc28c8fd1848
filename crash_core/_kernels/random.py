"""The in-kernel generator, exposed to Python for tests and fits.

Written in ``src/random.pyx``, compiled into ``crash_core._kernels.wrappers``.
"""

from crash_core._kernels.wrappers import new_state, uniform

__all__ = ["new_state", "uniform"]
