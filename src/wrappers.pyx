"""The kernels' building blocks, exposed to Python: BLAS calls, activations, losses,
optimizer steps and the generator (for the tests, and the generator's seeding for fits).

One compiled module, so Cython's module code is compiled once instead of once per family;
each family's functions stay in their own file, included here, and
``crash_core._kernels.<blas|activations|losses|optimizers|random>`` re-export them.
"""

include "blas.pyx"
include "activations.pyx"
include "losses.pyx"
include "optimizers.pyx"
include "random.pyx"
