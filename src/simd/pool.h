/* Splitting one large product's rows over threads that stay alive between products.
 *
 * A product of ``cc_rows_parallel`` is cut into chunks of rows that the calling thread and
 * up to ``cc_split_threads - 1`` helper threads claim one at a time (an atomic counter), so
 * a helper that gets less time takes fewer chunks and a helper that never starts takes
 * none (one preempted inside a chunk holds the product up until it runs again: the policy
 * does not split where another process wants the cores).  Every output element is computed
 * by the same code whichever thread runs its chunk, so the result is bit for bit the same
 * on one thread or many.
 *
 * ``cc_split_threads`` is per calling thread (the library sets it for each epoch from its
 * threading policy, crash_core/_blas_threads.py); at 1, or for a product under
 * ``cc_split_min_flops``, the caller does everything.  One caller uses the helpers at a
 * time; a second thread that finds them busy runs its product alone.
 *
 * Helpers are started on first use and kept.  After a product a helper spins for
 * CC_SPIN_NS waiting for the next one (the products of a training step follow each other
 * within microseconds), then sleeps on a condition variable.  In a forked child the pool
 * starts again from nothing.  Without POSIX threads (MSVC) the caller does everything.
 *
 * A caller that got no chunk or shared its CPU with a helper (the scheduler woke the
 * helper on the caller's core), or waited longer for a helper's last chunk than half the
 * time it worked (the helper lost its core to some other thread), runs its products alone
 * for a while: 1 ms after a lone late product, up to CC_REST_NS while they keep coming.
 */
#ifndef CRASH_CORE_SIMD_POOL_H
#define CRASH_CORE_SIMD_POOL_H

/* Products of fewer FLOPs (2 m n k) than this stay on the calling thread.  Measured on a
 * 2-vCPU EPYC (Zen 4), float32, own AVX-512 kernels, 2 threads against 1 (run twice):
 * single products in a loop (the helper spinning): 128x784x256 0.56, TN 784x256x128 0.53,
 * NT 128x256x128 0.64, 64x128x128 (2.1 MFLOP) 0.61, 32x64x64 (0.26 MFLOP) 0.86; whole
 * epochs, where the steps' other work stays on one thread, with products split from a
 * threshold of 2^k FLOPs: 784-256-128-10 / b128 0.60 (2^23), / b32 0.79 (2^22);
 * 64-256-256-2 / b64 0.85 (2^22), / b32 0.97 (2^22) and 0.86 (2^20); 64-128-10 / b64 1.03
 * (2^20); 2-64-64-1 / b32 1.12 (2^18).  With another process on the second core a split
 * product can wait a scheduler slice for a helper, which the policy avoids by not splitting
 * there; 2^23 splits only where an epoch gained clearly. */
#define CC_SPLIT_MIN_FLOPS 8388608.0
/* How long a helper waits for the next product before it sleeps, and the most helpers. */
#define CC_SPIN_NS 200000L
/* How long it waits after a pair session (below): the next epoch usually begins within a
 * millisecond, and a helper woken from its sleep joins it 50-100 us late. */
#define CC_DUO_LINGER_NS 2000000L
/* How long products stay on the calling thread after one waited for a late helper (a
 * thread of another pool or process held its core): one wasted wait per rest at most.
 * The first rest is CC_REST_MIN_NS; each late product after a rest doubles it, up to
 * CC_REST_NS, and each product on time halves it again, as does each pair session (below)
 * that ended without a late helper.  A lone late product (a helper woken from its sleep, a
 * few microseconds of the host's own) then costs one short rest, while a core that stays
 * taken soon costs one wait per CC_REST_NS.  (Pair sessions of 64-128-10 / b64 whose
 * rests only grew: 6-13% of epochs found the pool resting, against 1% with the halving,
 * and epochs took 1.16x as long, median of 8 runs each on 2 cores.)  (A fixed 20 ms rest:
 * 784-256-128-10 / b128 on two threads on a quiet 2-vCPU Zen 4 host rested 2-3 times a
 * two-epoch fit, each after a wait of 35 us to 3.5 ms, and ran 20 ms on one thread each
 * time.) */
#define CC_REST_MIN_NS 1000000L
#define CC_REST_NS 20000000L
#define CC_MAX_HELPERS 15
/* The helpers' thread name (crash_core/_blas_threads.py reads it in /proc). */
#define CC_HELPER_NAME "crash_core"
/* Chunks per thread: small enough to balance, large enough to keep a tile's rows whole. */
#define CC_CHUNKS_PER_THREAD 4

typedef void (*cc_rows_fn)(void* arg, int begin, int end);

/* The steps of each epoch that a strict pair session (below) runs alone, bit s % 32 for
 * step s (the tests'; kept where there is no pair session). */
static unsigned cc_duo_pattern = 0;

/* Sets them (a value >= 0) and returns the previous ones. */
static inline double cc_set_duo_pattern(double pattern) {
    double previous = (double)cc_duo_pattern;
    if (pattern >= 0) cc_duo_pattern = (unsigned)pattern;
    return previous;
}

#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define CC_HAVE_POOL 1
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1 /* sched_getcpu */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static __thread int cc_split_threads __attribute__((unused)) = 1;
static double cc_split_min_flops __attribute__((unused)) = CC_SPLIT_MIN_FLOPS;

typedef struct {
    cc_rows_fn fn;
    void* arg;
    int m, chunk;
    int next;   /* the first row nobody has claimed */
    int refs;   /* helpers inside the job */
    int room;   /* how many helpers may join it */
    int shared; /* a helper ran a chunk on the CPU the caller ended on */
} cc_job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    cc_job* job;          /* the product being split, or NULL */
    unsigned long posted; /* products posted so far */
    int helpers;          /* helpers started */
    int sleeping;         /* helpers waiting on ``wake`` */
    int busy;             /* a caller holds the helpers */
    long rest_until;      /* no split before this time (ns, CLOCK_MONOTONIC) */
    long rest_next;       /* the next rest's length (0: CC_REST_MIN_NS) */
    int atfork;           /* the fork handler is registered */
    int linger;           /* the last job was a pair session: wait CC_DUO_LINGER_NS */
} cc_pool __attribute__((unused)) = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0, 0, 0, 0, 0};

static inline void cc_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline long cc_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The CPU the calling thread runs on (-1: unknown). */
static inline int cc_cpu(void) {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

/* Claim chunks of the job until none is left; the number claimed. */
static inline int cc_job_work(cc_job* job) {
    for (int claimed = 0;; claimed++) {
        int begin = __atomic_fetch_add(&job->next, job->chunk, __ATOMIC_ACQ_REL);
        if (begin >= job->m) return claimed;
        job->fn(job->arg, begin, begin + job->chunk < job->m ? begin + job->chunk : job->m);
    }
}

/* A helper's loop; ``posted`` is cc_pool.posted when it was started (under the lock, before
 * the product that started it was posted: it joins that one). */
static __attribute__((unused)) void* cc_helper(void* posted) {
    unsigned long seen = (unsigned long)(uintptr_t)posted;
#if defined(__linux__)
    pthread_setname_np(pthread_self(), CC_HELPER_NAME); /* the policy tells them apart */
#endif
    for (;;) {
        cc_job* job;
        long until = cc_now_ns() + (__atomic_load_n(&cc_pool.linger, __ATOMIC_RELAXED)
                                        ? CC_DUO_LINGER_NS : CC_SPIN_NS);
        while (__atomic_load_n(&cc_pool.posted, __ATOMIC_ACQUIRE) == seen) {
            for (int i = 0; i < 32; i++) cc_pause();
            if (cc_now_ns() > until) break;
        }
        pthread_mutex_lock(&cc_pool.lock);
        while (cc_pool.posted == seen) {
            cc_pool.sleeping++;
            pthread_cond_wait(&cc_pool.wake, &cc_pool.lock);
            cc_pool.sleeping--;
        }
        seen = cc_pool.posted;
        job = cc_pool.job;
        /* a product split over fewer threads than there are helpers takes only some */
        if (job != NULL && job->room > 0) {
            job->room--;
            __atomic_add_fetch(&job->refs, 1, __ATOMIC_ACQ_REL);
        } else {
            job = NULL;
        }
        pthread_mutex_unlock(&cc_pool.lock);
        if (job != NULL) {
            int cpu = cc_cpu();
            if (cc_job_work(job) > 0 && cpu >= 0)
                __atomic_store_n(&job->shared, cpu, __ATOMIC_RELAXED);
            __atomic_sub_fetch(&job->refs, 1, __ATOMIC_ACQ_REL);
        }
    }
    return NULL;
}

/* In a forked child the helpers do not exist and the lock may be held: start afresh. */
static inline void cc_pool_forget(void) {
    pthread_mutex_init(&cc_pool.lock, NULL);
    pthread_cond_init(&cc_pool.wake, NULL);
    cc_pool.job = NULL;
    cc_pool.helpers = cc_pool.sleeping = cc_pool.busy = 0;
    cc_pool.rest_until = cc_pool.rest_next = 0;
}

/* Start helpers until there are ``wanted`` (the caller holds the lock); the number running. */
static inline int cc_pool_start(int wanted) {
    if (!cc_pool.atfork) {
        if (pthread_atfork(NULL, NULL, cc_pool_forget) != 0) return 0;
        cc_pool.atfork = 1;
    }
    if (wanted > CC_MAX_HELPERS) wanted = CC_MAX_HELPERS;
    while (cc_pool.helpers < wanted) {
        pthread_t thread;
        pthread_attr_t attr;
        int failed;
        if (pthread_attr_init(&attr) != 0) break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        failed = pthread_create(&thread, &attr, cc_helper, (void*)(uintptr_t)cc_pool.posted);
        pthread_attr_destroy(&attr);
        if (failed) break;
        cc_pool.helpers++;
    }
    return cc_pool.helpers;
}

/* After a late helper (``late``), rest the helpers, each rest in a row twice the last (up
 * to CC_REST_NS); after one on time, halve the next rest (see CC_REST_NS). */
static inline void cc_pool_rest(int late) {
    if (late) {
        long rest = cc_pool.rest_next > CC_REST_MIN_NS ? cc_pool.rest_next : CC_REST_MIN_NS;
        cc_pool.rest_until = cc_now_ns() + rest;
        cc_pool.rest_next = 2 * rest < CC_REST_NS ? 2 * rest : CC_REST_NS;
    } else {
        cc_pool.rest_next /= 2;
    }
}

/* fn(arg, begin, end) over rows [0, m) cut at multiples of ``step``, on the calling thread
 * and the helpers when the product (``flops``) earns them. */
static inline void cc_rows_parallel(cc_rows_fn fn, void* arg, int m, int step, double flops) {
    int threads, free_pool = 0, chunks, mine;
    long started, worked;
    cc_job job;
    /* the size first: a small product does not read the thread-local count (a call into
     * the dynamic linker's TLS lookup in a shared module) */
    if (flops < cc_split_min_flops || m < 2 * step || (threads = cc_split_threads) < 2 ||
        !__atomic_compare_exchange_n(&cc_pool.busy, &free_pool, 1, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        fn(arg, 0, m);
        return;
    }
    if (cc_pool.rest_until && cc_now_ns() < cc_pool.rest_until) { /* helpers resting */
        __atomic_store_n(&cc_pool.busy, 0, __ATOMIC_RELEASE);
        fn(arg, 0, m);
        return;
    }
    chunks = CC_CHUNKS_PER_THREAD * threads;
    if (chunks > m / step) chunks = m / step;
    job.fn = fn;
    job.arg = arg;
    job.m = m;
    job.chunk = ((m + chunks - 1) / chunks + step - 1) / step * step;
    job.next = 0;
    job.refs = 0;
    job.room = threads - 1;
    job.shared = -1;
    pthread_mutex_lock(&cc_pool.lock);
    cc_pool.linger = 0;
    if (cc_pool_start(threads - 1) > 0) {
        cc_pool.job = &job;
        __atomic_add_fetch(&cc_pool.posted, 1, __ATOMIC_RELEASE);
        if (cc_pool.sleeping) pthread_cond_broadcast(&cc_pool.wake);
    }
    pthread_mutex_unlock(&cc_pool.lock);
    started = cc_now_ns();
    mine = cc_job_work(&job);
    pthread_mutex_lock(&cc_pool.lock);
    cc_pool.job = NULL; /* no helper takes it from now on */
    pthread_mutex_unlock(&cc_pool.lock);
    worked = cc_now_ns() - started;
    while (__atomic_load_n(&job.refs, __ATOMIC_ACQUIRE) > 0) cc_pause(); /* their last chunks */
    /* A helper with a core of its own finishes its last chunk about when the caller
     * does.  One that held the product up lost its core to some other thread; one that
     * ran on the caller's CPU, or ran every chunk while the caller got none, took the
     * caller's core (the scheduler woke it there, the other one being busy): either way
     * rest the helpers for a while. */
    if ((mine == 0 || cc_now_ns() - started - worked > worked / 2 ||
         (job.shared >= 0 && job.shared == cc_cpu())) &&
        cc_split_min_flops > 0)
        cc_pool_rest(1);
    else
        cc_pool_rest(0);
    __atomic_store_n(&cc_pool.busy, 0, __ATOMIC_RELEASE);
}

/* Threads the calling thread's products may be split over; returns the previous count. */
static inline int cc_set_split_threads(int threads) {
    int previous = cc_split_threads;
    cc_split_threads = threads < 1 ? 1 : threads > CC_MAX_HELPERS + 1 ? CC_MAX_HELPERS + 1
                                                                      : threads;
    return previous;
}

/* Products of fewer FLOPs stay on the calling thread; sets the threshold and returns the
 * old value, or (``flops`` < 0) only returns it.  At 0 (the tests') every product is split
 * and the helpers never rest; setting it ends a rest. */
static inline double cc_set_split_min_flops(double flops) {
    double previous = cc_split_min_flops;
    if (flops >= 0) {
        cc_split_min_flops = flops;
        cc_pool.rest_until = 0;
    }
    return previous;
}

/* A pair session: the pool's helper kept for a whole epoch of two-half steps.
 *
 * A step whose work is cut into two halves that each keep their own data
 * (network_kernels.pyx's pair step) hands one half over once a step, every few
 * microseconds, where the hand-over above (a lock, a condition, a helper that looks
 * every 32 pauses) costs too much.  A caller that begins a session holds the pool and one
 * helper for its epoch.  The helper spins on the session's phase counter and races the
 * caller for each phase's second half (a compare-and-swap on ``claimed``): a helper that
 * is late or never came costs the caller only doing that half itself.  Both halves run
 * the same code whichever thread takes them, so the bits do not depend on the helper.
 *
 * A helper that took a half and finished it far later than the caller finished its own
 * (CC_DUO_LATE_NS beyond twice that time) lost its core to some other thread: the caller
 * ends the session there and rests the pool as after a late product (above); a session
 * that ends without one halves the next rest, as a product on time does.  A core lost to
 * another thread is lost for a scheduler slice, a millisecond or more; a cold first half
 * takes tens of microseconds, and a virtual machine's host holds a CPU back for a while
 * now and then.  (With 50 us, 7 in 80 epochs of 64-128-10 / b64 on a 2-vCPU Zen 5 ended
 * their sessions that way, after waits of 67-230 us and, twice, 1.0 and 3.4 ms; each ran
 * the rest of its epoch alone and rested the pool; see below for what 500 us measured.)
 * A helper that sees no phase and no step for CC_SPIN_NS goes back to the pool.
 *
 * Two threads are not always faster than one.  On a 2-vCPU Zen 4 virtual machine the
 * paired steps of 64-128-10 / b64 took 25-31 us against 29-39 us alone for a while, then
 * 61-71 us against 35-39 (the host gave the helper's CPU less for seconds at a time; in 1
 * run in 4 a whole run was 1.0-1.7x one thread).  So the caller times its steps
 * (``cc_duo_step``) in blocks of CC_DUO_BLOCK and keeps the faster way, cycle by cycle:
 *   - While it pairs, it does not try steps alone: it estimates them from its own share of
 *     the paired steps, the time it took for its half where the helper ran the other
 *     (twice that) or for both halves where the helper did not claim one in time, times
 *     CC_DUO_WHOLE_SHARE.  Every CC_DUO_MIN_CYCLE blocks it compares that with the paired
 *     steps' mean: a helper that mostly comes too late makes the steps alone faster.  (It
 *     used to run the first block of each cycle alone instead.  The first step alone after
 *     paired ones took 130-160 us against 16 us, the whole network's arrays gone cold
 *     meanwhile.  Without those blocks and with CC_DUO_LATE_NS at 500 us instead of 50,
 *     runs of five epochs of 64-128-10 / b64 took 0.945 and 0.953 of the time (per-round
 *     geometric means 0.967 and 0.957), each run after a pause as benchmarks/compare.py
 *     times them (benchmarks/ab_runs.py, 30 and 40 rounds, Zen 5); the late helper's
 *     change alone took 0.92-0.94 in one run and 0.98-1.02 in the other.)
 *   - While it runs alone, it runs the first block of each cycle paired, as the helper's
 *     CPU may have come back.  A cycle that confirms alone doubles the next one's blocks,
 *     up to CC_DUO_MAX_CYCLE; a change starts again from CC_DUO_MIN_CYCLE.
 * The way and the cycle carry over from epoch to epoch.  While the caller runs alone the
 * helper looks every CC_DUO_NAP_NS instead of spinning.  A way is taken for faster only
 * by CC_DUO_MARGIN.  A ``strict`` session (the tests') pairs every step but those
 * ``cc_duo_pattern`` names (step s of an epoch alone when its bit s % 32 is set), the
 * caller leaves every second half to the helper and never rests it.
 *
 * The caller asks ``cc_duo_alone`` before each step: while it runs alone (the block's way,
 * or the session ended early), it trains on the whole network's arrays, which is faster
 * on one thread than the two halves one after the other (network_kernels.pyx). */
#define CC_DUO_LATE_NS 500000L
#define CC_DUO_BLOCK 8
#define CC_DUO_MIN_CYCLE 4
#define CC_DUO_MAX_CYCLE 32
#define CC_DUO_NAP_NS 20000L
#define CC_DUO_MARGIN 0.95
/* The whole step on one thread over its two halves one after the other: 1 / 1.066
 * (64-128-10 / b64, Zen 5, benchmarks/pair_step.py's "halves 1t"). */
#define CC_DUO_WHOLE_SHARE 0.94
#define CC_DUO_END (~0UL)
static struct {
    /* written by the caller, read by the helper */
    unsigned long posted; /* phases posted so far (CC_DUO_END: the session is over) */
    cc_rows_fn fn;
    void* arg;
    char pad[64];
    /* written by whichever thread takes a second half */
    unsigned long claimed; /* the last phase whose second half was taken */
    unsigned long done;    /* the last phase the helper finished */
    int left;              /* the helper went back to the pool */
    int late;              /* the caller waited for a late helper */
    int strict;            /* the session was begun strict (the helper reads it) */
    long took;             /* second halves the helper ran (in the whole process) */
    char pad2[64];
    /* the caller's own */
    unsigned long steps; /* steps begun in this session (cc_duo_step) */
    long last_ns;        /* when the last one began */
    int alone;           /* this block's steps run on the caller alone (the helper reads it) */
    long own;            /* this step alone, as estimated from the caller's share so far */
    /* carried over from session to session */
    int prefer_alone;       /* the faster way in the last cycle */
    int cycle, block;       /* blocks in this cycle, this block's place in it */
    long ns[2], counted[2]; /* this cycle's step times, paired [0] and alone [1] */
    long estimated;         /* this cycle's paired steps, estimated alone (``own``) */
} cc_duo __attribute__((aligned(64), unused)) = {.cycle = CC_DUO_MIN_CYCLE};
static __thread int cc_duo_mine __attribute__((unused)) = 0; /* this thread holds a session */
static cc_job cc_duo_job __attribute__((unused));

/* The helper's side of a session (the pool job ``cc_duo_begin`` posts). */
static __attribute__((unused)) void cc_duo_serve(void* unused, int begin, int end) {
    unsigned long next = 1;
    long idle_since = cc_now_ns();
    (void)unused, (void)begin, (void)end;
    for (unsigned spins = 1;; spins++) {
        unsigned long p = __atomic_load_n(&cc_duo.posted, __ATOMIC_ACQUIRE), before;
        if (p == CC_DUO_END) return;
        if (__atomic_load_n(&cc_duo.alone, __ATOMIC_RELAXED)) { /* the caller runs alone */
            struct timespec nap = {0, CC_DUO_NAP_NS};
            nanosleep(&nap, NULL);
            idle_since = cc_now_ns();
            continue;
        }
        if (p >= next) {
            before = p - 1;
            if (__atomic_compare_exchange_n(&cc_duo.claimed, &before, p, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED)) {
                cc_duo.fn(cc_duo.arg, 1, 2); /* the caller waits for ``done``: fn is p's */
                cc_duo.took++;
                __atomic_store_n(&cc_duo.done, p, __ATOMIC_RELEASE);
            }
            next = p + 1;
            idle_since = cc_now_ns();
            continue;
        }
        cc_pause();
        if (spins % 256 == 0 && cc_now_ns() - idle_since > CC_SPIN_NS && !cc_duo.strict) {
            __atomic_store_n(&cc_duo.left, 1, __ATOMIC_RELEASE);
            return;
        }
    }
}

/* Begin a session on the calling thread: 1 when it holds the pool and a helper is coming,
 * 0 (nothing held) where the policy gives it one thread or the pool is busy or resting
 * (``strict``: whatever the rest, see above). */
static inline int cc_duo_begin(int strict) {
    int free_pool = 0;
    if (cc_split_threads < 2 || cc_duo_mine ||
        !__atomic_compare_exchange_n(&cc_pool.busy, &free_pool, 1, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return 0;
    if (!strict && cc_pool.rest_until && cc_now_ns() < cc_pool.rest_until) {
        __atomic_store_n(&cc_pool.busy, 0, __ATOMIC_RELEASE);
        return 0;
    }
    cc_duo.posted = cc_duo.claimed = cc_duo.done = 0;
    cc_duo.left = cc_duo.late = 0;
    cc_duo.strict = strict;
    cc_duo.steps = 0;
    cc_duo.alone = 0;
    cc_duo_job.fn = cc_duo_serve;
    cc_duo_job.arg = NULL;
    cc_duo_job.m = cc_duo_job.chunk = 1;
    cc_duo_job.next = cc_duo_job.refs = 0;
    cc_duo_job.room = 1;
    cc_duo_job.shared = -1;
    pthread_mutex_lock(&cc_pool.lock);
    if (cc_pool_start(1) < 1) {
        pthread_mutex_unlock(&cc_pool.lock);
        __atomic_store_n(&cc_pool.busy, 0, __ATOMIC_RELEASE);
        return 0;
    }
    cc_pool.job = &cc_duo_job;
    __atomic_add_fetch(&cc_pool.posted, 1, __ATOMIC_RELEASE);
    if (cc_pool.sleeping) pthread_cond_broadcast(&cc_pool.wake);
    pthread_mutex_unlock(&cc_pool.lock);
    cc_duo_mine = 1;
    return 1;
}

/* End the calling thread's session, if it holds one: the helper goes back to the pool. */
static inline void cc_duo_end(void) {
    if (!cc_duo_mine) return;
    cc_duo_mine = 0;
    __atomic_store_n(&cc_duo.posted, CC_DUO_END, __ATOMIC_RELEASE);
    pthread_mutex_lock(&cc_pool.lock);
    cc_pool.job = NULL; /* a helper that had not joined yet does not */
    cc_pool.linger = 1;
    pthread_mutex_unlock(&cc_pool.lock);
    while (__atomic_load_n(&cc_duo_job.refs, __ATOMIC_ACQUIRE) > 0) cc_pause();
    if (!cc_duo.late && !cc_duo.strict) cc_pool_rest(0); /* a session on time */
    __atomic_store_n(&cc_pool.busy, 0, __ATOMIC_RELEASE);
}

/* fn(arg, 0, 1) and fn(arg, 1, 2): the second half on the session's helper when it takes
 * it in time, else (and without a session) on the calling thread. */
static inline void cc_duo_run(cc_rows_fn fn, void* arg) {
    unsigned long p, before;
    long started, worked, waited;
    if (cc_duo_mine && __atomic_load_n(&cc_duo.left, __ATOMIC_ACQUIRE)) cc_duo_end();
    if (!cc_duo_mine || cc_duo.alone) {
        fn(arg, 0, 2);
        return;
    }
    p = cc_duo.posted + 1;
    cc_duo.fn = fn;
    cc_duo.arg = arg;
    __atomic_store_n(&cc_duo.posted, p, __ATOMIC_RELEASE);
    started = cc_now_ns();
    fn(arg, 0, 1);
    before = p - 1;
    if (!cc_duo.strict &&
        __atomic_compare_exchange_n(&cc_duo.claimed, &before, p, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
        fn(arg, 1, 2); /* the helper was not there in time */
        cc_duo.own += cc_now_ns() - started;
        return;
    }
    worked = cc_now_ns() - started;
    cc_duo.own += 2 * worked;
    while (__atomic_load_n(&cc_duo.done, __ATOMIC_ACQUIRE) != p) {
        if (__atomic_load_n(&cc_duo.left, __ATOMIC_ACQUIRE)) { /* gone before claiming p */
            before = p - 1;
            if (__atomic_compare_exchange_n(&cc_duo.claimed, &before, p, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED)) {
                fn(arg, 1, 2);
                return;
            }
        }
        cc_pause();
    }
    waited = cc_now_ns() - started - worked;
    if (waited > 2 * worked + CC_DUO_LATE_NS && !cc_duo.strict) {
        cc_pool_rest(1);
        cc_duo.late = 1;
        cc_duo_end();
    }
}

/* A step of the calling thread's session begins: times the last one and picks how this
 * one runs (see the session's comment above); nothing without a session. */
static inline void cc_duo_step(void) {
    long now;
    int alone = cc_duo.alone;
    if (!cc_duo_mine) return;
    if (cc_duo.strict) {
        alone = (int)((cc_duo_pattern >> (cc_duo.steps++ % 32)) & 1u);
        __atomic_store_n(&cc_duo.alone, alone, __ATOMIC_RELAXED);
        return;
    }
    now = cc_now_ns();
    if (cc_duo.steps > 0 && (cc_duo.steps - 1) % CC_DUO_BLOCK != 0) { /* not a block's first */
        cc_duo.ns[alone] += now - cc_duo.last_ns;
        cc_duo.counted[alone]++;
        if (!alone) cc_duo.estimated += cc_duo.own;
    }
    cc_duo.own = 0;
    cc_duo.last_ns = now;
    if (cc_duo.steps++ % CC_DUO_BLOCK != 0) return;
    if (++cc_duo.block >= cc_duo.cycle) { /* a cycle ended: the faster way from now on */
        /* mean step times paired and alone (measured, or estimated while paired); the way
         * taken stays unless beaten */
        double paired = cc_duo.counted[0] ? (double)cc_duo.ns[0] / cc_duo.counted[0] : 0;
        if (!cc_duo.prefer_alone && cc_duo.counted[0]) {
            double alone = CC_DUO_WHOLE_SHARE * cc_duo.estimated / cc_duo.counted[0];
            cc_duo.prefer_alone = alone < CC_DUO_MARGIN * paired;
            cc_duo.cycle = CC_DUO_MIN_CYCLE;
        } else if (cc_duo.prefer_alone && cc_duo.counted[0] && cc_duo.counted[1]) {
            double alone = (double)cc_duo.ns[1] / cc_duo.counted[1];
            cc_duo.prefer_alone = !(paired < CC_DUO_MARGIN * alone);
            cc_duo.cycle = !cc_duo.prefer_alone ? CC_DUO_MIN_CYCLE
                           : 2 * cc_duo.cycle < CC_DUO_MAX_CYCLE ? 2 * cc_duo.cycle
                                                                 : CC_DUO_MAX_CYCLE;
        }
        cc_duo.ns[0] = cc_duo.ns[1] = cc_duo.counted[0] = cc_duo.counted[1] = 0;
        cc_duo.estimated = 0;
        cc_duo.block = 0;
    }
    /* alone: the block's steps when that is the faster way, but for the first of a cycle */
    alone = cc_duo.prefer_alone && cc_duo.block != 0;
    __atomic_store_n(&cc_duo.alone, alone, __ATOMIC_RELAXED);
}

/* Whether the calling thread runs its pair steps alone now: it holds no session (none was
 * begun, or it ended early) or this block's steps run alone. */
static inline int cc_duo_alone(void) { return !cc_duo_mine || cc_duo.alone; }


/* Second halves of pair steps the helpers have run so far, in the whole process. */
static inline long cc_duo_took(void) { return __atomic_load_n(&cc_duo.took, __ATOMIC_RELAXED); }

/* Threads the calling thread's products may be split over now. */
static inline int cc_split_threads_now(void) { return cc_split_threads; }

/* Scratch buffers that belong to the calling thread, one slot per use so that a product
 * never hands out a buffer one of its callers holds: CC_SCRATCH_PANEL for a product's right
 * factor transposed (gemm_nt), CC_SCRATCH_BLOCK for a block of its columns packed for the
 * tiles (axpy_blocks).  ``cc_thread_scratch(slot, bytes)`` returns at least ``bytes``
 * (64-byte aligned), allocated at the slot's first use, grown when a larger one is asked
 * for (the old contents are not kept), kept for the thread's next products and freed when
 * the thread ends (the helpers keep theirs; at most CC_NT_PANEL elements and a block of
 * CC_OWN_MAX_K rows, about 1 MiB, a thread and ISA level); NULL when memory runs out.  A
 * training step then allocates nothing (an NT panel of more than CC_PACK_STACK elements
 * was allocated and freed by each product; with glibc's allocator that measured the same
 * speed, a 32 x 256 x 256 delta W^T 0.98 of the time and a 64-256-256-2 step at batch 32
 * 1.00, on Zen 3). */
#define CC_SCRATCH_PANEL 0
#define CC_SCRATCH_BLOCK 1
#define CC_SCRATCH_SLOTS 2
typedef struct {
    void* buffer[CC_SCRATCH_SLOTS];
    size_t bytes[CC_SCRATCH_SLOTS];
} cc_scratch;
static pthread_key_t cc_scratch_key;
static pthread_once_t cc_scratch_once = PTHREAD_ONCE_INIT;
static int cc_scratch_ready;
static void cc_scratch_free(void* held) {
    cc_scratch* s = (cc_scratch*)held;
    for (int i = 0; i < CC_SCRATCH_SLOTS; i++) free(s->buffer[i]);
    free(s);
}
static void cc_scratch_make(void) {
    cc_scratch_ready = pthread_key_create(&cc_scratch_key, cc_scratch_free) == 0;
}
/* Threads a product of ``flops`` would be split over: 1 below the split threshold. */
static inline int cc_split_width(double flops) {
    return flops < cc_split_min_flops ? 1 : cc_split_threads;
}

static __attribute__((unused)) void* cc_thread_scratch(int slot, size_t bytes) {
    cc_scratch* s;
    void* grown;
    pthread_once(&cc_scratch_once, cc_scratch_make);
    if (!cc_scratch_ready) return NULL;
    s = (cc_scratch*)pthread_getspecific(cc_scratch_key);
    if (s == NULL) {
        s = (cc_scratch*)calloc(1, sizeof(cc_scratch));
        if (s == NULL) return NULL;
        if (pthread_setspecific(cc_scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->bytes[slot] >= bytes) return s->buffer[slot];
    if (posix_memalign(&grown, 64, bytes) != 0) return NULL;
    free(s->buffer[slot]);
    s->buffer[slot] = grown;
    s->bytes[slot] = bytes;
    return grown;
}

/* Products split over threads so far, in the whole process. */
static inline long cc_split_products(void) {
    return (long)__atomic_load_n(&cc_pool.posted, __ATOMIC_RELAXED);
}

#else /* no POSIX threads: the caller does everything */

#define CC_SCRATCH_PANEL 0
#define CC_SCRATCH_BLOCK 1
static inline int cc_split_width(double flops) {
    (void)flops;
    return 1;
}
static inline void* cc_thread_scratch(int slot, size_t bytes) {
    (void)slot;
    (void)bytes;
    return NULL; /* the products read B where it is, or allocate */
}

static double cc_split_min_flops = CC_SPLIT_MIN_FLOPS;
static inline long cc_split_products(void) { return 0; }
static inline int cc_split_threads_now(void) { return 1; }
static inline int cc_duo_begin(int strict) {
    (void)strict;
    return 0;
}
static inline void cc_duo_end(void) {}
static inline void cc_duo_run(cc_rows_fn fn, void* arg) { fn(arg, 0, 2); }
static inline long cc_duo_took(void) { return 0; }
static inline int cc_duo_alone(void) { return 1; }
static inline void cc_duo_step(void) {}
static inline void cc_rows_parallel(cc_rows_fn fn, void* arg, int m, int step, double flops) {
    (void)step;
    (void)flops;
    fn(arg, 0, m);
}
static inline int cc_set_split_threads(int threads) {
    (void)threads;
    return 1;
}
static inline double cc_set_split_min_flops(double flops) {
    double previous = cc_split_min_flops;
    if (flops >= 0) cc_split_min_flops = flops;
    return previous;
}

#endif
#endif
