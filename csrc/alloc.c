/* alloc.c — ep_alloc/ep_free: the one allocation path, counted per thread.
 *
 * Design: each thread owns a counter block (malloc'd on its first
 * allocation, linked into a global registry).  Only the owner writes it, with
 * relaxed atomic load+store pairs (no read-modify-write, no lock prefix), so
 * the fast path costs a TLS access and four plain stores.  Readers take the
 * registry lock and sum every live block plus the totals folded in from
 * threads that have exited (a pthread key destructor does the folding).
 *
 * Heap-profiler hook: the block also holds the thread's sampling countdown
 * (bytes left before the next sampled allocation), so with the profiler on or
 * off an allocation costs one more subtract and branch; the heap profiler's
 * slow path runs when it reaches zero and returns the next countdown.  Frees
 * call the profiler only while it watches (sampled blocks are live) and
 * its filter says the address may be a sampled block.
 *
 * Invariants: a block is in the registry from its thread's first allocation
 * until that thread exits; retired totals only grow; the heap profiler is
 * called outside any lock of ours.
 */
#include "enginepools.h"
#include "ep_threadreg.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct tblock {
    _ep_treg_link link; /* first: the registry's list */
    _Atomic uint64_t alloc_bytes, alloc_objects, free_bytes, free_objects;
    _Atomic int64_t sample_left; /* heap profiler countdown; 0 on a new thread */
} tblock;

static ep_alloc_counters retired; /* threads that exited; under reg.lock */
static void retire(_ep_treg_link *l);
static _ep_treg reg = _EP_TREG_INIT(tblock, retire);
static __thread tblock *self_block __attribute__((tls_model("initial-exec")));

uint64_t ep_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define ADD(x, v) atomic_store_explicit(&(x), LD(x) + (v), memory_order_relaxed)

static void retire(_ep_treg_link *l) {
    tblock *b = (tblock *)l;
    retired.alloc_bytes += LD(b->alloc_bytes);
    retired.alloc_objects += LD(b->alloc_objects);
    retired.free_bytes += LD(b->free_bytes);
    retired.free_objects += LD(b->free_objects);
    self_block = NULL;
}

/* Slow path: first allocation on this thread.  If the block itself cannot be
 * had, the allocation goes uncounted rather than failing. */
static tblock *register_thread(void) {
    return self_block = (tblock *)_ep_treg_join(&reg);
}

static inline tblock *self(void) {
    tblock *b = self_block;
    return EP_LIKELY(b != NULL) ? b : register_thread();
}

static inline __attribute__((always_inline)) void count_alloc(void *p, size_t size) {
    tblock *b = self();
    if (EP_LIKELY(b != NULL)) {
        ADD(b->alloc_bytes, size);
        ADD(b->alloc_objects, 1);
        int64_t left = LD(b->sample_left) - (int64_t)size;
        if (EP_UNLIKELY(left <= 0)) left = _ep_heapprof_sample(p, size);
        atomic_store_explicit(&b->sample_left, left, memory_order_relaxed);
    }
}

static inline int heapprof_watching(void) {
    return atomic_load_explicit(&_ep_heapprof_watching, memory_order_relaxed);
}

static inline void count_free(void *p, size_t size) {
    /* before the block can be reused by another thread's allocation */
    if (EP_UNLIKELY(heapprof_watching()) && _ep_heapprof_maybe_live(p)) _ep_heapprof_free(p, size);
    tblock *b = self();
    if (EP_LIKELY(b != NULL)) {
        ADD(b->free_bytes, size);
        ADD(b->free_objects, 1);
    }
}

void *ep_alloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (EP_LIKELY(p != NULL)) count_alloc(p, size);
    return p;
}

void *ep_calloc(size_t size) {
    void *p = calloc(1, size ? size : 1);
    if (EP_LIKELY(p != NULL)) count_alloc(p, size);
    return p;
}

void *ep_alloc_aligned(size_t size, size_t align) {
    void *p = NULL;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (posix_memalign(&p, align, size ? size : 1) != 0) return NULL;
    count_alloc(p, size);
    return p;
}

void *ep_realloc(void *p, size_t old_size, size_t new_size) {
    if (p == NULL) return ep_alloc(new_size);
    /* The profiler tracks blocks by address: forget p before realloc can
     * free it and another thread get its address.  (If realloc then fails,
     * p stays allocated but untracked: a sampled block goes missing from
     * in-use, nothing worse.) */
    if (EP_UNLIKELY(heapprof_watching())) _ep_heapprof_free(p, old_size);
    void *q = realloc(p, new_size ? new_size : 1);
    if (!q) return NULL;
    tblock *b = self();
    if (EP_LIKELY(b != NULL)) {
        ADD(b->free_bytes, old_size);
        ADD(b->free_objects, 1);
    }
    count_alloc(q, new_size);
    return q;
}

void ep_free(void *p, size_t size) {
    if (p == NULL) return;
    count_free(p, size);
    free(p);
}

void ep_alloc_counters_read(ep_alloc_counters *out) {
    ep_alloc_counters s;
    pthread_mutex_lock(&reg.lock);
    s = retired;
    for (tblock *b = (tblock *)reg.head; b; b = (tblock *)b->link.next) {
        s.alloc_bytes += LD(b->alloc_bytes);
        s.alloc_objects += LD(b->alloc_objects);
        s.free_bytes += LD(b->free_bytes);
        s.free_objects += LD(b->free_objects);
    }
    pthread_mutex_unlock(&reg.lock);
    *out = s;
}

void ep_alloc_counters_read_self(ep_alloc_counters *out) {
    tblock *b = self();
    memset(out, 0, sizeof *out);
    if (!b) return;
    out->alloc_bytes = LD(b->alloc_bytes);
    out->alloc_objects = LD(b->alloc_objects);
    out->free_bytes = LD(b->free_bytes);
    out->free_objects = LD(b->free_objects);
}

void _ep_alloc_sample_reset_all(void) {
    pthread_mutex_lock(&reg.lock);
    for (tblock *b = (tblock *)reg.head; b; b = (tblock *)b->link.next) atomic_store_explicit(&b->sample_left, 0, memory_order_relaxed);
    pthread_mutex_unlock(&reg.lock);
}

/* ---- heap-profiler labels ------------------------------------------------ */

/* initial-exec: this library is dlopen'ed as a Python extension; the default
 * (global-dynamic) model would cost a __tls_get_addr call per access. */
static __thread struct { const char *pool; uint32_t size_class; } alloc_tag
    __attribute__((tls_model("initial-exec")));

void _ep_alloc_tag_set(const char *pool, uint32_t size_class) {
    alloc_tag.pool = pool;
    alloc_tag.size_class = size_class;
}

void _ep_alloc_tag_clear(void) {
    alloc_tag.pool = NULL;
    alloc_tag.size_class = 0;
}

void _ep_alloc_tag_get(const char **pool, uint32_t *size_class) {
    if (pool) *pool = alloc_tag.pool;
    if (size_class) *size_class = alloc_tag.size_class;
}
