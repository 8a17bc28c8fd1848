"""Activation kernels, exposed to Python for tests.

Written in ``src/activations.pyx``, compiled into ``crash_core._kernels.wrappers``.
"""

from crash_core._kernels.wrappers import NAMES, add_bias_activate_, multiply_derivative_

__all__ = ["NAMES", "add_bias_activate_", "multiply_derivative_"]
