/* kernels_alloc.c — the pool's own cost against the allocator's.
 *
 * PoolGetPut/size=S: get an S-byte object from an ep_pool, touch it, put it
 * back.  MallocFree/size=S: ep_alloc S bytes, touch, ep_free.  Both are
 * parallel kernels (every -cpu thread runs the body), and each size's pair is
 * one interleaving group, so PoolGetPut/size=64 and MallocFree/size=64 run
 * A B A B … and their ratio is fair.  Touching one byte keeps the compiler
 * from dropping the allocation without measuring memory traffic.
 */
#include "ep_kernels.h"

#include <stdlib.h>

typedef struct ga_state {
    ep_pool *pool;
    size_t size;
} ga_state;

static void ga_teardown(void *state) {
    ga_state *s = state;
    ep_pool_destroy(s->pool);
    free(s);
}

/* arg: the object size.  MallocFree needs no pool. */
static int malloc_setup(void **state, unsigned threads, uintptr_t size) {
    (void)threads;
    ga_state *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->size = size;
    *state = s;
    return 0;
}

static int pool_setup(void **state, unsigned threads, uintptr_t size) {
    int err = malloc_setup(state, threads, size);
    if (err) return err;
    ep_pool_config cfg = {.name = size == 64 ? "getput-64" : "getput-65536", .obj_size = size};
    return _ep_setup_done(state, *state, ep_pool_create(&cfg, &((ga_state *)*state)->pool), ga_teardown);
}

static int pool_body(void *state, ep_bench_pb *pb) {
    ga_state *s = state;
    uint64_t i = 0;
    while (ep_bench_pb_next(pb)) {
        volatile uint8_t *p = ep_pool_get(s->pool);
        if (EP_UNLIKELY(!p)) return ENOMEM;
        p[0] = (uint8_t)i++;
        ep_pool_put(s->pool, (void *)p);
    }
    return 0;
}

static int malloc_body(void *state, ep_bench_pb *pb) {
    ga_state *s = state;
    uint64_t i = 0;
    while (ep_bench_pb_next(pb)) {
        volatile uint8_t *p = ep_alloc(s->size);
        if (EP_UNLIKELY(!p)) return ENOMEM;
        p[0] = (uint8_t)i++;
        ep_free((void *)p, s->size);
    }
    return 0;
}

static void ga_pool_stats(void *state, ep_pool_stats *out) {
    ep_pool_stats_read(((ga_state *)state)->pool, out);
}

static const ep_bench_kernel kernels[] = {
    {.name = "PoolGetPut/size=64", .variant = "", .group = "alloc/size=64",
     .doc = "ep_pool get + put of a 64-byte object (parallel over -cpu threads)",
     .setup = pool_setup, .arg = 64, .teardown = ga_teardown, .run_parallel = pool_body, .pool_stats = ga_pool_stats},
    {.name = "MallocFree/size=64", .variant = "", .group = "alloc/size=64",
     .doc = "ep_alloc + ep_free of 64 bytes (parallel over -cpu threads)",
     .setup = malloc_setup, .arg = 64, .teardown = ga_teardown, .run_parallel = malloc_body},
    {.name = "PoolGetPut/size=65536", .variant = "", .group = "alloc/size=65536",
     .doc = "ep_pool get + put of a 64 KiB object (parallel over -cpu threads)",
     .setup = pool_setup, .arg = 65536, .teardown = ga_teardown, .run_parallel = pool_body, .pool_stats = ga_pool_stats},
    {.name = "MallocFree/size=65536", .variant = "", .group = "alloc/size=65536",
     .doc = "ep_alloc + ep_free of 64 KiB (parallel over -cpu threads)",
     .setup = malloc_setup, .arg = 65536, .teardown = ga_teardown, .run_parallel = malloc_body},
};
EP_BENCH_FAMILY(_ep_kernels_alloc, kernels);
