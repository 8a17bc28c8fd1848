# A small seeded generator for in-kernel randomness (dropout masks): xoshiro256**,
# seeded through splitmix64.  Its state is four 64-bit words kept by the caller, so a
# fit with a random_state is reproducible and training can continue the same stream.

from libc.stdint cimport uint64_t


cdef inline uint64_t rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t splitmix64(uint64_t* x) noexcept nogil:
    cdef uint64_t z
    x[0] += 0x9E3779B97F4A7C15ULL
    z = x[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline void seed_state(uint64_t* s, uint64_t seed) noexcept nogil:
    """Fill the four state words from one seed (never all zero)."""
    cdef int i
    for i in range(4):
        s[i] = splitmix64(&seed)


cdef inline uint64_t next_u64(uint64_t* s) noexcept nogil:
    cdef uint64_t result = rotl(s[1] * 5, 7) * 9
    cdef uint64_t t = s[1] << 17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result


cdef inline double next_double(uint64_t* s) noexcept nogil:
    """Uniform on [0, 1) with 53 random bits."""
    return (next_u64(s) >> 11) * (1.0 / 9007199254740992.0)


cdef inline uint64_t drop_threshold(double rate) noexcept nogil:
    """A unit is dropped when a 64-bit draw falls below rate * 2^64."""
    if rate <= 0:
        return 0
    return <uint64_t> (rate * 18446744073709551616.0)
