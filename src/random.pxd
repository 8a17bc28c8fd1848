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


cdef extern from *:
    """
    /* The high and low 64 bits of a * b. */
    static inline uint64_t cc_mul_wide(uint64_t a, uint64_t b, uint64_t* low) {
    #if defined(__SIZEOF_INT128__)
        unsigned __int128 p = (unsigned __int128)a * b;
        *low = (uint64_t)p;
        return (uint64_t)(p >> 64);
    #else
        uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
        uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
        uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
        *low = (mid << 32) | (p00 & 0xffffffffu);
        return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    #endif
    }
    """
    uint64_t cc_mul_wide(uint64_t a, uint64_t b, uint64_t* low) noexcept nogil


cdef inline uint64_t next_below(uint64_t* s, uint64_t n) noexcept nogil:
    """A uniform integer in [0, n) for n >= 1: the high word of a draw times n, redrawn in
    the rare case (probability below n / 2^64) where that would favour some values
    (Lemire's multiply-shift); no division, where ``draw % n`` takes one per call and is
    not exactly uniform."""
    cdef uint64_t low, high = cc_mul_wide(next_u64(s), n, &low)
    cdef uint64_t threshold
    if low < n:
        threshold = (<uint64_t> 0 - n) % n  # 2^64 mod n
        while low < threshold:
            high = cc_mul_wide(next_u64(s), n, &low)
    return high
