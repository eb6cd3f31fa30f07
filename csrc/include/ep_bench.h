/* ep_bench.h — the benchmark harness: a registry of kernels and a runner that
 * times N iterations of one, serially or over a team of threads.
 *
 * Semantics are Go's testing.B: a kernel's run(state, n) performs n
 * iterations (the loop is inside the kernel, so the harness costs nothing
 * per iteration); a parallel kernel instead gives a body that every thread of
 * a team runs, taking iterations from a shared counter in grains
 * (ep_bench_pb_next, as b.RunParallel's pb.Next), and ns/op is wall time / N.
 * B/op and allocs/op are what ep_alloc counted on the team's threads during
 * the timed region (or on every thread, for kernels flagged
 * EP_BENCH_ALLOC_GLOBAL whose work runs on threads of their own).
 *
 * A run is opened once per (kernel, thread count) and reused for every
 * sample: state (pools, worker threads, the thread team) persists, so pooled
 * kernels are measured in steady state as Go's package-level pools are.  One
 * sample is begin → step(n₁) → step(n₂) … → end: the caller (csrc/py/bench.c) steps
 * in chunks of ~20 ms so it can check for Ctrl-C between them; only the steps
 * are timed.  Pooled kernels report their pools' counters, turned into the
 * extra units hits/op, misses/op, clear-ns/op and retained-B.
 */
#ifndef EP_BENCH_H
#define EP_BENCH_H

#include "ep_pool.h"

#include <stdatomic.h>

#define EP_BENCH_MAX_UNITS 8
#define EP_BENCH_MAX_THREADS 256

/* Kernel flags */
#define EP_BENCH_ALLOC_GLOBAL 1u  /* count allocations of every thread, not just the team's */

typedef struct ep_bench_unit {
    char name[24];
    double value;
} ep_bench_unit;

/* One sample: totals over its steps, then per-op units added by end(). */
typedef struct ep_bench_sample {
    uint64_t n;             /* iterations completed */
    uint64_t ns;            /* timed nanoseconds (sum over steps) */
    uint64_t cpu_ns;        /* CPU time of the measuring threads in those steps: ≪ ns·threads = preempted */
    uint64_t alloc_bytes;   /* through ep_alloc, during the timed steps */
    uint64_t alloc_objects;
    uint64_t bytes_per_op;  /* the kernel's SetBytes (0 = none): MB/s = bytes_per_op·n/ns·1e3 */
    unsigned nunits;
    ep_bench_unit units[EP_BENCH_MAX_UNITS];
    /* machine probe, timed after each step (outside ns), set by ep_bench_end:
     * means over the sample's ticks, leaving out ticks over twice the median
     * (an interrupt's, not the machine's speed); 0 ticks leaves them 0 */
    uint64_t probe_ticks;
    double probe_zero64k_ns; /* ns to zero 64 KiB */
    double probe_chain_ns;   /* ns of one EP_BENCH_PROBE_CHAIN-step multiply chain */
    /* private: the pools' counters when the sample began */
    ep_pool_stats _pool0;
} ep_bench_sample;

/* Iteration source of a parallel body (b.RunParallel's *testing.PB). */
typedef struct ep_bench_pb {
    _Atomic uint64_t *next;
    uint64_t n, grain;
    uint64_t cur, end;
    unsigned tid, nthreads;
} ep_bench_pb;

static inline int ep_bench_pb_next(ep_bench_pb *pb) {
    if (EP_LIKELY(pb->cur < pb->end)) {
        pb->cur++;
        return 1;
    }
    uint64_t s = atomic_fetch_add_explicit(pb->next, pb->grain, memory_order_relaxed);
    if (s >= pb->n) return 0;
    pb->cur = s + 1;
    pb->end = s + pb->grain < pb->n ? s + pb->grain : pb->n;
    return 1;
}

/* Keep a computed value alive without storing it anywhere. */
static inline void ep_bench_consume(uint64_t v) { __asm__ volatile("" : : "r"(v) : "memory"); }

typedef struct ep_bench_kernel {
    const char *name;     /* "HashBuffer", "PoolGetPut/size=64" (no "Benchmark" prefix) */
    const char *variant;  /* "impl=pool", or "" */
    const char *group;    /* kernels of one group are interleaved; NULL = same name */
    const char *doc;
    unsigned flags;
    uint64_t bytes_per_op;
    /* threads: the -cpu value; arg: the kernel's .arg (one setup serves the
     * variants of a family, told apart by it).  Returns 0 or an errno code. */
    int (*setup)(void **state, unsigned threads, uintptr_t arg);
    uintptr_t arg;
    void (*teardown)(void *state);
    int (*run)(void *state, uint64_t n);                 /* serial kernels */
    int (*run_parallel)(void *state, ep_bench_pb *pb);   /* parallel kernels (run is then NULL) */
    /* pooled kernels: the pools' counters now (summed over the kernel's pools) */
    void (*pool_stats)(void *state, ep_pool_stats *out);
    /* optional: add kernel-specific units to a finished sample (ep_bench_add_unit) */
    void (*extra)(void *state, ep_bench_sample *s);
} ep_bench_kernel;

size_t ep_bench_count(void);
const ep_bench_kernel *ep_bench_at(size_t i);
/* Full name without prefix and procs suffix: "HashBuffer/impl=pool" (buf ≥ 128). */
void ep_bench_fullname(const ep_bench_kernel *k, char *buf, size_t size);
/* Kernel by full name ("HashBuffer/impl=pool"); NULL when unknown. */
const ep_bench_kernel *ep_bench_find(const char *fullname);
const char *ep_bench_group(const ep_bench_kernel *k);

typedef struct ep_bench_run ep_bench_run;

/* The machine probe: after every step, outside the timed region, the calling
 * thread zeroes a 64 KiB buffer EP_BENCH_PROBE_ZEROS times (store-bound: what
 * another tenant on the same core or cache slows down) and runs a dependent
 * multiply chain of EP_BENCH_PROBE_CHAIN steps (latency-bound: only the clock
 * changes it).  A few µs per ~20 ms step; a sample's means say how fast the
 * machine itself was while the sample ran. */
#define EP_BENCH_PROBE_BYTES ((size_t)64 << 10)
#define EP_BENCH_PROBE_ZEROS 4
#define EP_BENCH_PROBE_CHAIN 2048
#define EP_BENCH_PROBE_KEEP 8192 /* ticks kept per sample (the latest, past that) */

/* EINVAL: threads 0 or > EP_BENCH_MAX_THREADS; errors of the kernel's setup. */
int ep_bench_open(const ep_bench_kernel *k, unsigned threads, ep_bench_run **out);
void ep_bench_close(ep_bench_run *r);   /* NULL is fine */
const ep_bench_kernel *ep_bench_run_kernel(const ep_bench_run *r);
unsigned ep_bench_run_threads(const ep_bench_run *r);

void ep_bench_begin(ep_bench_run *r, ep_bench_sample *s);
/* Run n more iterations into s.  The kernel's error code on failure (s then
 * holds what finished before the failing step). */
int ep_bench_step(ep_bench_run *r, uint64_t n, ep_bench_sample *s);
void ep_bench_end(ep_bench_run *r, ep_bench_sample *s);
/* Iterations for the next step so that it lasts about target_ns, from the
 * speed seen so far on this run (1 at first; at most 100× the last step). */
uint64_t ep_bench_chunk(const ep_bench_run *r, uint64_t remaining, uint64_t target_ns);

/* Append a unit to a sample (ignored beyond EP_BENCH_MAX_UNITS). */
void ep_bench_add_unit(ep_bench_sample *s, const char *name, double value);

/* For tests: build TarArchive's file set and one archive (pooled or not), and
 * report them: fn is called once per entry (name, type, data, size; archive
 * NULL), then once with name NULL and the archive bytes.  A nonzero return
 * from fn stops and is returned. */
typedef int (*ep_bench_tar_archive_fn)(void *ctx, const char *name, char type, const void *data, size_t size,
                                       const void *archive, size_t archive_len);
int ep_bench_tar_archive(int pooled, ep_bench_tar_archive_fn fn, void *ctx);

#endif
