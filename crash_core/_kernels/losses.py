"""Loss kernels, exposed to Python for tests.

Written in ``src/losses.pyx``, compiled into ``crash_core._kernels.wrappers``.
"""

from crash_core._kernels.wrappers import OUTPUTS, output_activation_, output_loss_

__all__ = ["OUTPUTS", "output_loss_", "output_activation_"]
