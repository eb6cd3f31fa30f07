/* ep_pool.h — object pool with per-thread magazines (sync.Pool semantics).
 *
 * get() hands out a cached object or a new one (allocated through ep_alloc,
 * then passed to cfg.init); put() hands it back.  Nothing is promised to be
 * retained: a put beyond the retention cap frees the object ("drop").
 *
 * Design (Bonwick's magazines, as in Solaris' kmem and mimalloc's thread
 * caches): each thread owns two magazines (small arrays of objects) per pool.
 * The fast path of get/put touches only them: no lock, no atomic
 * read-modify-write.  When both are empty/full the thread exchanges a
 * magazine with the pool's depot under the pool's mutex.  Counters live in
 * the per-thread cache and are summed on read.
 *
 * Retention caps (max_objects, max_bytes) are enforced with reservations:
 * a thread reserves retention slots from the pool under the mutex before it
 * caches beyond what it already holds, so depot + all magazines never exceed
 * the cap.  Single-threaded the cap is exact (put N+k objects into a pool
 * capped at N: k drops).  With several threads, a thread may hold up to
 * magazine_size reserved-but-unused slots, so another thread can drop while
 * the pool holds fewer than the cap (never more): the slack is at most
 * magazine_size × threads, and it is given back on that thread's next miss.
 *
 * Thread exit gives the thread's magazines back to the depot of every pool
 * still alive (a pthread key destructor; destroyed pools are recognised by
 * their id).  trim() frees the depot and the calling thread's magazines at
 * once; other live threads free what their magazines hold at their next
 * slow-path operation (or give it to the depot when they exit, where the next
 * trim frees it).  destroy() frees everything, including what other threads
 * cache — the pool must no longer be in use by any thread.
 *
 * EP_POOL_BYPASS=1 in the environment (read at creation) turns every pool into
 * plain ep_alloc/ep_free (counters still count; every put is a drop), so
 * sanitizers and heap profiles see through pools.  Under ASan, memory held by
 * a pool is poisoned.  EP_DEBUG builds put a header before every object and
 * detect a foreign or doubly-put pointer (ep_pool_put_checked → EINVAL, the
 * unchecked put aborts through ep_assert).
 */
#ifndef EP_POOL_H
#define EP_POOL_H

#include <stdatomic.h>

#include "ep_common.h"

typedef struct ep_pool ep_pool;

typedef struct ep_pool_config {
    const char *name;                    /* label: stats, heap-profiler "pool" label (copied) */
    size_t obj_size;
    int (*init)(void *obj, void *ctx);   /* run on a miss after allocation; NULL = none; nonzero = fail */
    void (*reset)(void *obj, void *ctx); /* run on put before caching; NULL = none */
    void (*fini)(void *obj, void *ctx);  /* run before an object is freed (drop/trim/destroy) */
    void *ctx;
    int clear_on_put;                    /* memset(0) on put (and fresh objects are zeroed); time in clear_ns */
    size_t max_objects;                  /* retention cap in objects, 0 = unlimited */
    size_t max_bytes;                    /* retention cap in bytes (obj_size each), 0 = unlimited */
    unsigned magazine_size;              /* objects per magazine, 0 = default (by obj_size) */
    uint32_t size_class;                 /* label for the heap profiler (bufpool sets it) */
} ep_pool_config;

typedef struct ep_pool_stats {
    uint64_t gets, hits, misses;         /* gets = hits + misses */
    uint64_t puts, drops;                /* drops: puts that freed the object (cap, bypass) */
    uint64_t retained_objects, retained_bytes; /* now, depot + every thread's magazines */
    uint64_t peak_retained_bytes;        /* see ep_pool.c: exact single-threaded, upper bound otherwise */
    uint64_t clear_ns;                   /* time spent in clear_on_put memsets */
    uint64_t trims;                      /* trim() calls */
    /* fields added after the first API freeze */
    uint64_t trimmed;                    /* objects freed by trim() */
    uint64_t init_failures;              /* misses whose allocation or init failed */
} ep_pool_stats;

/* Every counter of ep_pool_stats, in order, as X(field): for the code that
 * treats them alike (sums over pools, the Python dict). */
#define EP_POOL_STATS_COUNTERS(X)                                                          \
    X(gets) X(hits) X(misses) X(puts) X(drops) X(retained_objects) X(retained_bytes)        \
    X(peak_retained_bytes) X(clear_ns) X(trims) X(trimmed) X(init_failures)

/* EINVAL: cfg NULL, obj_size 0 or absurd; ENOMEM. */
int ep_pool_create(const ep_pool_config *cfg, ep_pool **out);
void ep_pool_destroy(ep_pool *p);          /* NULL is fine */
/* ep_pool_get: NULL only when allocation/init fails.
 * ep_pool_put: obj from ep_pool_get of this pool; NULL ignored.
 * Both are inline below: their fast paths, inlined into the caller. */
static inline void *ep_pool_get(ep_pool *p);
static inline void ep_pool_put(ep_pool *p, void *obj);
/* As ep_pool_put but returns EINVAL (and does nothing) for NULL, and in
 * EP_DEBUG builds for a pointer not handed out by this pool or put twice. */
int ep_pool_put_checked(ep_pool *p, void *obj);
void ep_pool_trim(ep_pool *p);
void ep_pool_stats_read(const ep_pool *p, ep_pool_stats *out);

size_t ep_pool_obj_size(const ep_pool *p);
const char *ep_pool_name(const ep_pool *p);
int ep_pool_bypassed(const ep_pool *p);    /* EP_POOL_BYPASS was set at creation */

/* ---- inline fast paths ----------------------------------------------------
 * A call each way costs about as much as a whole get+put, so the common case
 * is inlined into the caller.  _ep_pool_fast is the head of a thread's cache
 * of one pool (pool.c's tcache), written only by its owner thread (and read
 * relaxed by stats readers); _ep_pool_tl_last is the cache this thread used
 * last.  Anything else (another pool, empty/full magazine, reset/clear
 * callbacks, debug headers, ASan poisoning) goes to the out-of-line
 * functions, which are complete get/put on their own. */
typedef struct _ep_pool_fast {
    _Atomic(ep_pool *) pool; /* NULL while detached (its pool was destroyed) */
    void **objs;             /* the loaded magazine's objects */
    _Atomic unsigned n;      /* rounds in the loaded magazine */
    unsigned lim;            /* put stays in the magazine while n < lim */
    unsigned fast_top;       /* plain pools: the inline put's bound; 0 otherwise */
    _Atomic uint64_t hits, puts;
} _ep_pool_fast;

extern __thread _ep_pool_fast *_ep_pool_tl_last __attribute__((tls_model("initial-exec")));
void *_ep_pool_get_general(ep_pool *p);
void _ep_pool_put_general(ep_pool *p, void *obj);

#define _EP_RLD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define _EP_RST(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

#if defined(EP_DEBUG) || defined(EP_SANITIZE_ADDRESS) || defined(__SANITIZE_ADDRESS__) || \
    defined(EP_TEST_FAULT_DOUBLE_HANDOUT)
static inline void *ep_pool_get(ep_pool *p) { return _ep_pool_get_general(p); }
static inline void ep_pool_put(ep_pool *p, void *obj) { _ep_pool_put_general(p, obj); }
#else
static inline void *ep_pool_get(ep_pool *p) {
    _ep_pool_fast *c = _ep_pool_tl_last;
    if (EP_LIKELY(_EP_RLD(c->pool) == p)) {
        unsigned n = _EP_RLD(c->n);
        if (EP_LIKELY(n > 0)) {
            void *obj = c->objs[--n];
            _EP_RST(c->n, n);
            _EP_RST(c->hits, _EP_RLD(c->hits) + 1);
            return obj;
        }
    }
    return _ep_pool_get_general(p);
}

static inline void ep_pool_put(ep_pool *p, void *obj) {
    _ep_pool_fast *c = _ep_pool_tl_last;
    if (EP_LIKELY(_EP_RLD(c->pool) == p) && EP_LIKELY(obj != NULL)) {
        unsigned n = _EP_RLD(c->n);
        if (EP_LIKELY(n < c->fast_top)) {
            c->objs[n++] = obj;
            _EP_RST(c->n, n);
            _EP_RST(c->puts, _EP_RLD(c->puts) + 1);
            return;
        }
    }
    _ep_pool_put_general(p, obj);
}
#endif

#endif
