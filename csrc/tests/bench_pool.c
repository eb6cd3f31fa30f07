/* bench_pool.c — speed of the pool fast path, against malloc and itself.
 *
 * Measures, in one process and interleaved round by round (A B C A B C …) so
 * that machine drift hits every variant alike:
 *   pool_1t    get+put of a 64-byte object, one thread
 *   malloc_1t  malloc+free of 64 bytes, one thread
 *   epalloc_1t ep_alloc+ep_free of 64 bytes (the counted path plain code uses)
 *   pool_2t    get+put on the same pool from two threads at once, aggregate
 *   malloc_2t  malloc+free of 64 bytes from two threads at once, aggregate
 *   tar64k_1t  get+put of a 64 KiB buffer from the "tar" buffer pool
 *   hash64k_1t the same from the "hash" pool, which zeroes 64 KiB on put
 *   malloc64k_1t malloc+free of 64 KiB
 * Each loop touches the object (one store) and hides the pointer from the
 * optimiser, so malloc/free pairs cannot be elided.
 *
 * Output: one line per round and variant, "variant round wall_ns cpu_ns",
 * then nothing else: wall_ns = wall time / (iterations × threads), the
 * aggregate figure; cpu_ns = the threads' own CPU time (CLOCK_THREAD_CPUTIME_ID)
 * / (iterations × threads), which leaves out time spent descheduled, so it
 * stays meaningful on a machine shared with other work (two threads scale
 * perfectly when cpu_ns does not rise).  benchmarks/pool_speed.py computes
 * medians and ratios.
 * Usage: bench_pool [iterations] [rounds]   (defaults 20000000, 7)
 */
#include "enginepools.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define OBJ 64

static inline void opaque(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

#define BIG (64 * 1024)

static ep_pool *pool;
static ep_bufpool *tarpool, *hashpool;
static long iters;

/* One loop per allocator: take an object of SIZE, touch one byte of it, hide
 * the pointer, give it back.  A macro, not a function pointer, so each loop
 * is the straight-line code a caller of that allocator would have. */
#define GET_PUT_LOOP(name, SIZE, GET, PUT)           \
    static void name(long n) {                       \
        for (long i = 0; i < n; i++) {               \
            char *o = (GET);                         \
            o[i & ((SIZE) - 1)] = (char)i;           \
            opaque(o);                               \
            PUT;                                     \
        }                                            \
    }
GET_PUT_LOOP(loop_pool, OBJ, ep_pool_get(pool), ep_pool_put(pool, o))
GET_PUT_LOOP(loop_malloc, OBJ, malloc(OBJ), free(o))
GET_PUT_LOOP(loop_epalloc, OBJ, ep_alloc(OBJ), ep_free(o, OBJ))
GET_PUT_LOOP(loop_malloc64k, BIG, malloc(BIG), free(o))

static void loop_bufpool(ep_bufpool *bp, long n) {
    for (long i = 0; i < n; i++) {
        void *b;
        size_t cap;
        if (ep_bufpool_get(bp, BIG, &b, &cap) != 0) abort();
        ((char *)b)[i & (BIG - 1)] = (char)i;
        opaque(b);
        ep_bufpool_put(bp, b, cap);
    }
}

static void loop_tar(long n) { loop_bufpool(tarpool, n); }
static void loop_hash(long n) { loop_bufpool(hashpool, n); }

typedef struct run {
    void (*fn)(long);
    long n;
    pthread_barrier_t *go;
    uint64_t cpu_ns;
    uint64_t t_start, t_end; /* monotonic, taken by the thread itself */
} run;

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *thread_main(void *arg) {
    run *r = arg;
    r->fn(1000); /* warm: attach the thread's cache, fill malloc's tcache */
    pthread_barrier_wait(r->go);
    r->t_start = ep_now_ns();
    uint64_t c0 = thread_cpu_ns();
    r->fn(r->n);
    r->cpu_ns = thread_cpu_ns() - c0;
    r->t_end = ep_now_ns();
    return NULL;
}

/* Wall time per operation of nthreads threads each doing n iterations,
 * aggregate: wall / (n × nthreads).  Every variant runs on fresh threads so
 * one-thread and two-thread figures are measured the same way. */
typedef struct fig { double wall, cpu; } fig;

static fig measure(void (*fn)(long), int nthreads, long n) {
    /* Free what earlier threads left in the depot: each thread then allocates
     * its own object in its warm-up, as a long-lived thread would have, instead
     * of recycling neighbours from one malloc run (64-byte objects share cache
     * lines, and two threads writing neighbours would measure false sharing). */
    ep_pool_trim(pool);
    pthread_t t[2];
    run r[2];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        r[i] = (run){fn, n, &go, 0, 0, 0};
        pthread_create(&t[i], NULL, thread_main, &r[i]);
    }
    pthread_barrier_wait(&go);
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    /* wall time from the threads' own clocks: the main thread may be
     * descheduled after the barrier, so its clock could start late */
    uint64_t t0 = UINT64_MAX, t1 = 0, cpu = 0;
    for (int i = 0; i < nthreads; i++) {
        if (r[i].t_start < t0) t0 = r[i].t_start;
        if (r[i].t_end > t1) t1 = r[i].t_end;
        cpu += r[i].cpu_ns;
    }
    double ops = (double)n * nthreads;
    return (fig){(double)(t1 - t0) / ops, (double)cpu / ops};
}

static void report(const char *variant, int round, fig f) {
    printf("%s %d %.4f %.4f\n", variant, round, f.wall, f.cpu);
}

int main(int argc, char **argv) {
    iters = argc > 1 ? atol(argv[1]) : 20000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (iters < 1000) iters = 1000;
    if (rounds < 1) rounds = 1;
    ep_pool_config cfg = {.name = "bench", .obj_size = OBJ};
    if (ep_pool_create(&cfg, &pool) != 0) return 1;
    if (ep_bufpool_preset("tar", &tarpool) != 0 || ep_bufpool_preset("hash", &hashpool) != 0) return 1;
    /* 64 KiB variants: fewer iterations (the hash pool's memset is ~µs) */
    long big = iters / 20 < 1000 ? 1000 : iters / 20;
    for (int r = 0; r < rounds; r++) {
        report("pool_1t", r, measure(loop_pool, 1, iters));
        report("malloc_1t", r, measure(loop_malloc, 1, iters));
        report("epalloc_1t", r, measure(loop_epalloc, 1, iters));
        report("pool_2t", r, measure(loop_pool, 2, iters));
        report("malloc_2t", r, measure(loop_malloc, 2, iters));
        report("tar64k_1t", r, measure(loop_tar, 1, big));
        report("hash64k_1t", r, measure(loop_hash, 1, big / 10 < 1000 ? 1000 : big / 10));
        report("malloc64k_1t", r, measure(loop_malloc64k, 1, big));
        fflush(stdout);
    }
    ep_bufpool_destroy(tarpool);
    ep_bufpool_destroy(hashpool);
    ep_pool_destroy(pool);
    return 0;
}
