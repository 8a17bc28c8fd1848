# The network kernels compiled for x86-64 CPUs with AVX2 and FMA (setup.py adds the
# flags).  crash_core.network picks this module at import time when the CPU has both,
# and the portable build of the same source otherwise.
include "network.pyx"
