from crash_core._kernels.network_kernels import *  # noqa: F403  (the same kernels, built with AVX-512 + FMA)
