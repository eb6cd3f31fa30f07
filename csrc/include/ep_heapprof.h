/* ep_heapprof.h — the profilers: sampling heap profiler over ep_alloc/ep_free,
 * SIGPROF CPU profiler, and the stack capture they share.
 *
 * Heap profiler: an allocation is sampled when the per-thread byte countdown
 * (kept by alloc.c, so the fast path is one subtract and one branch) crosses
 * zero; gaps are exponential with mean `rate` bytes (Go's MemProfileRate:
 * rate 1 samples every allocation).  A sample records the caller's stack, the
 * requested size and the thread's (pool, size class) tag; frees of sampled
 * blocks are matched by address.  Values are raw (not unbiased): the writer
 * scales them with Go's formula.
 *
 * CPU profiler: setitimer(ITIMER_PROF) + SIGPROF; the handler walks the
 * interrupted stack into a lock-free ring, a drainer thread folds the ring
 * into per-stack counts.  Several users may share one running profiler (the
 * counts are cumulative; a user subtracts its start snapshot).
 *
 * Stacks are return addresses (the leaf of a CPU sample is the exact PC),
 * leaf first, at most EP_STACK_MAX frames.
 */
#ifndef EP_HEAPPROF_H
#define EP_HEAPPROF_H

#include "ep_common.h"

#define EP_STACK_MAX 64
#define EP_HEAPPROF_DEFAULT_RATE (512u * 1024u)

/* ---- stack capture (stackwalk.c) ---------------------------------------- */

/* Frame-pointer walk of the calling thread, skipping `skip` return addresses
 * (0 = the caller of ep_stack_capture).  Not for signal handlers. */
size_t ep_stack_capture(uintptr_t *pcs, size_t max, size_t skip);
/* From a signal handler's ucontext: exact PC first, then return addresses.
 * Async-signal-safe; every memory read is bounds-checked or probed. */
size_t ep_stack_capture_uc(const void *ucontext, uintptr_t *pcs, size_t max);
/* Cache the calling thread's stack bounds (makes later walks cheap and
 * syscall-free; called lazily by the heap profiler).  0 or errno. */
int ep_stack_thread_init(void);
/* Create the probe pipe used by signal-context walks on threads whose bounds
 * are unknown.  Idempotent.  0 or errno. */
int ep_stack_probe_init(void);

/* ---- heap profiler (heapprof.c) ----------------------------------------- */

typedef struct ep_heapprof_entry {
    uint32_t pc_off, npcs;  /* stack: pcs[pc_off .. pc_off+npcs) */
    uint64_t size;          /* requested size of every block in this record */
    const char *pool;       /* pool tag, NULL when none (lives forever) */
    uint32_t size_class;    /* 0 when none */
    uint64_t alloc_objects, alloc_bytes, free_objects, free_bytes; /* raw, sampled */
    uint64_t peak_objects, peak_bytes; /* in use at the session's peak (raw) */
} ep_heapprof_entry;

typedef struct ep_heapprof_snap {
    uint64_t rate;          /* rate of the session these samples came from */
    uint64_t dropped;       /* samples lost to out-of-memory in the profiler */
    uint64_t events;        /* sampled allocations and tracked frees so far */
    uint64_t inuse_bytes;   /* sampled bytes in use now */
    uint64_t peak_bytes, peak_objects; /* sampled in-use high-water mark */
    uint64_t peak_event;    /* the event that first reached it (0: none) */
    size_t n;
    ep_heapprof_entry *e;
    uintptr_t *pcs;
} ep_heapprof_snap;

/* Start a session: clears previous samples, samples with mean gap `rate`
 * bytes (1 = every allocation).  seed 0 = random, else a reproducible
 * sequence per thread.  EINVAL when rate is 0, EALREADY when running. */
int ep_heapprof_start(uint64_t rate, uint64_t seed);
/* Stop sampling; samples and the tracking of frees of sampled blocks stay. */
void ep_heapprof_stop(void);
/* Current rate (0 = not sampling). */
uint64_t ep_heapprof_rate(void);
/* Copy of the samples (malloc'd; free with ep_heapprof_snap_free). */
int ep_heapprof_snapshot(ep_heapprof_snap *out);
void ep_heapprof_snap_free(ep_heapprof_snap *s);

/* Peak: the session tracks the sampled in-use total (raw bytes of sampled
 * blocks, exact at rate 1), its high-water mark and, per entry, the in-use
 * objects and bytes at the moment it was first reached (peak_objects/bytes
 * of a snapshot's entries): the live set at the peak, kept in O(1) per
 * sampled event.  ep_heapprof_inuse reads the in-use bytes now, in total
 * and per pool tag, for a timeline: names[0] is NULL (untagged), then each
 * pool tag seen so far; returns how many were written (at most max). */
typedef struct ep_heapprof_inuse_point {
    uint64_t events, inuse_bytes, peak_bytes, peak_event;
} ep_heapprof_inuse_point;
size_t ep_heapprof_inuse(ep_heapprof_inuse_point *out, const char **names, uint64_t *bytes, size_t max);

/* Hooks for alloc.c.  _ep_heapprof_sample is called when the thread's
 * countdown reaches zero and returns the new countdown.  _ep_heapprof_free
 * is called on a free while _ep_heapprof_watching is set (sampled blocks are
 * live) and the filter says the block may be one of them. */
int64_t _ep_heapprof_sample(void *p, size_t size);
void _ep_heapprof_free(void *p, size_t size);
extern _Atomic int _ep_heapprof_watching;

/* Counting filter of live sampled addresses: 0 means "certainly not a
 * sampled block", so most frees skip the call and its lock. */
#define _EP_HEAPPROF_FILTER_BITS 14
extern _Atomic uint32_t _ep_heapprof_filter[1u << _EP_HEAPPROF_FILTER_BITS];
static inline uint32_t _ep_heapprof_filter_slot(const void *p) {
    return (uint32_t)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - _EP_HEAPPROF_FILTER_BITS));
}
static inline int _ep_heapprof_maybe_live(const void *p) {
    return __atomic_load_n((const uint32_t *)&_ep_heapprof_filter[_ep_heapprof_filter_slot(p)],
                           __ATOMIC_RELAXED) != 0;
}

/* ---- CPU profiler (cpuprof.c) ------------------------------------------- */

typedef struct ep_cpuprof_snap {
    uint32_t hz;
    uint64_t dropped;       /* samples lost to a full ring or table */
    uint64_t start_ns;      /* when the timer was started (ep_now_ns clock) */
    size_t n;
    uint32_t *pc_off, *npcs;
    uint64_t *count;
    uintptr_t *pcs;
} ep_cpuprof_snap;

/* Start (or join) the profiler at `hz` (1..1000).  EBUSY when it is already
 * running at another rate; errno of sigaction/setitimer otherwise. */
int ep_cpuprof_start(uint32_t hz);
/* Leave; the last user stops the timer. */
void ep_cpuprof_stop(void);
/* Cumulative per-stack counts since the timer was started. */
int ep_cpuprof_snapshot(ep_cpuprof_snap *out);
void ep_cpuprof_snap_free(ep_cpuprof_snap *s);

/* ---- test kernels (proftest.c) ------------------------------------------ */

/* Site `site` (0..2, three distinct static functions) allocates `n` blocks of
 * `size` bytes; every `keep_every`-th block (0 = none) is kept live in *keep
 * (release with ep_proftest_release), the others freed at once. */
typedef struct ep_proftest_keep ep_proftest_keep;
int ep_proftest_alloc(int site, uint64_t n, size_t size, uint64_t keep_every,
                      ep_proftest_keep **keep);
void ep_proftest_release(ep_proftest_keep *k);
/* Gets and puts `n` buffers of `size` through a buffer pool named `name`
 * that retains nothing, so every get allocates under the pool's tag. */
int ep_proftest_pool(const char *name, uint64_t n, size_t size);
/* Spins on the CPU in a static function for `seconds`. */
uint64_t ep_proftest_spin(double seconds);
/* Addresses of two functions for symbolization tests: a static function of
 * this library and a libc function.  */
void ep_proftest_addresses(uintptr_t *static_fn, uintptr_t *libc_fn);

#endif
