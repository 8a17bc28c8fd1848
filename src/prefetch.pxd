# Asking for memory before it is read: a shuffled pass over the rows of X would otherwise
# wait on each row it gathers.

from cython cimport floating

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define CC_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define CC_PREFETCH(p) ((void)0)
    #endif
    """
    void CC_PREFETCH(const void* p) noexcept nogil


cdef inline void prefetch_row(const floating* x, Py_ssize_t n) noexcept nogil:
    """Ask for every cache line of a row of n values."""
    cdef Py_ssize_t f = 0
    cdef Py_ssize_t line = 64 // sizeof(floating)
    while f < n:
        CC_PREFETCH(x + f)
        f += line
    CC_PREFETCH(x + n - 1)
