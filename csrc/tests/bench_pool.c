/* bench_pool.c — speed of the pool fast path, against malloc and itself.
 *
 * Measures, in one process and interleaved round by round (A B C A B C …) so
 * that machine drift hits every variant alike:
 *   pool_1t    get+put of a 64-byte object, one thread
 *   malloc_1t  malloc+free of 64 bytes, one thread
 *   epalloc_1t ep_alloc+ep_free of 64 bytes (the counted path plain code uses)
 *   pool_2t    get+put on the same pool from two threads at once, aggregate
 * Each loop touches the object (one store) and hides the pointer from the
 * optimiser, so malloc/free pairs cannot be elided.
 *
 * Output: one line per round and variant, "variant round ns_per_op", then
 * nothing else; benchmarks/pool_speed.py computes medians and ratios.
 * Usage: bench_pool [iterations] [rounds]   (defaults 20000000, 7)
 */
#include "enginepools.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define OBJ 64

static inline void opaque(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static ep_pool *pool;
static long iters;

static void loop_pool(long n) {
    for (long i = 0; i < n; i++) {
        char *o = ep_pool_get(pool);
        o[0] = (char)i;
        opaque(o);
        ep_pool_put(pool, o);
    }
}

static void loop_malloc(long n) {
    for (long i = 0; i < n; i++) {
        char *o = malloc(OBJ);
        o[0] = (char)i;
        opaque(o);
        free(o);
    }
}

static void loop_epalloc(long n) {
    for (long i = 0; i < n; i++) {
        char *o = ep_alloc(OBJ);
        o[0] = (char)i;
        opaque(o);
        ep_free(o, OBJ);
    }
}

typedef struct run {
    void (*fn)(long);
    long n;
    pthread_barrier_t *go;
} run;

static void *thread_main(void *arg) {
    run *r = arg;
    r->fn(1000); /* warm: attach the thread's cache, fill malloc's tcache */
    pthread_barrier_wait(r->go);
    r->fn(r->n);
    return NULL;
}

/* Wall time per operation of nthreads threads each doing n iterations,
 * aggregate: wall / (n × nthreads).  Every variant runs on fresh threads so
 * one-thread and two-thread figures are measured the same way. */
static double measure(void (*fn)(long), int nthreads, long n) {
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
        r[i] = (run){fn, n, &go};
        pthread_create(&t[i], NULL, thread_main, &r[i]);
    }
    pthread_barrier_wait(&go);
    uint64_t t0 = ep_now_ns();
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    uint64_t t1 = ep_now_ns();
    pthread_barrier_destroy(&go);
    return (double)(t1 - t0) / ((double)n * nthreads);
}

int main(int argc, char **argv) {
    iters = argc > 1 ? atol(argv[1]) : 20000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (iters < 1000) iters = 1000;
    if (rounds < 1) rounds = 1;
    ep_pool_config cfg = {.name = "bench", .obj_size = OBJ};
    if (ep_pool_create(&cfg, &pool) != 0) return 1;
    for (int r = 0; r < rounds; r++) {
        printf("pool_1t %d %.4f\n", r, measure(loop_pool, 1, iters));
        printf("malloc_1t %d %.4f\n", r, measure(loop_malloc, 1, iters));
        printf("epalloc_1t %d %.4f\n", r, measure(loop_epalloc, 1, iters));
        printf("pool_2t %d %.4f\n", r, measure(loop_pool, 2, iters));
        fflush(stdout);
    }
    ep_pool_destroy(pool);
    return 0;
}
