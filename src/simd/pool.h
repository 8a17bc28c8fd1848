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
/* How long products stay on the calling thread after one waited for a late helper (a
 * thread of another pool or process held its core): one wasted wait per rest at most.
 * The first rest is CC_REST_MIN_NS; each late product after a rest doubles it, up to
 * CC_REST_NS, and each product on time halves it again.  A lone late product (a helper
 * woken from its sleep, a few microseconds of the host's own) then costs one short rest,
 * while a core that stays taken soon costs one wait per CC_REST_NS.  (A fixed 20 ms rest:
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

#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define CC_HAVE_POOL 1
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1 /* sched_getcpu */
#endif
#include <pthread.h>
#include <sched.h>
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
} cc_pool __attribute__((unused)) = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0, 0, 0, 0};

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

static __attribute__((unused)) void* cc_helper(void* unused) {
    unsigned long seen = __atomic_load_n(&cc_pool.posted, __ATOMIC_ACQUIRE);
    (void)unused;
#if defined(__linux__)
    pthread_setname_np(pthread_self(), CC_HELPER_NAME); /* the policy tells them apart */
#endif
    for (;;) {
        cc_job* job;
        long until = cc_now_ns() + CC_SPIN_NS;
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
        failed = pthread_create(&thread, &attr, cc_helper, NULL);
        pthread_attr_destroy(&attr);
        if (failed) break;
        cc_pool.helpers++;
    }
    return cc_pool.helpers;
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
        cc_split_min_flops > 0) {
        long rest = cc_pool.rest_next > CC_REST_MIN_NS ? cc_pool.rest_next : CC_REST_MIN_NS;
        cc_pool.rest_until = cc_now_ns() + rest;
        cc_pool.rest_next = 2 * rest < CC_REST_NS ? 2 * rest : CC_REST_NS;
    } else {
        cc_pool.rest_next /= 2;
    }
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

/* Products split over threads so far, in the whole process. */
static inline long cc_split_products(void) {
    return (long)__atomic_load_n(&cc_pool.posted, __ATOMIC_RELAXED);
}

#else /* no POSIX threads: the caller does everything */

static double cc_split_min_flops = CC_SPLIT_MIN_FLOPS;
static inline long cc_split_products(void) { return 0; }
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
