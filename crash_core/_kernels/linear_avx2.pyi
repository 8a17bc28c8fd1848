from crash_core._kernels.linear import *  # noqa: F403  (the same loops, built with AVX2 + FMA)
