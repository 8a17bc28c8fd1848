"""The in-kernel generator, exposed to Python for tests."""

import numpy as np
from libc.stdint cimport uint64_t
from random cimport seed_state, next_double


def new_state(uint64_t seed):
    """A fresh xoshiro256** state (4 uint64 words) seeded by splitmix64."""
    state = np.empty(4, dtype=np.uint64)
    cdef uint64_t[::1] s = state
    seed_state(&s[0], seed)
    return state


def uniform(uint64_t[::1] state, Py_ssize_t n):
    """n draws uniform on [0, 1), advancing ``state`` in place."""
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    if state.shape[0] != 4:
        raise ValueError("uniform: state must hold 4 uint64 words")
    with nogil:
        for i in range(n):
            o[i] = next_double(&state[0])
    return out
