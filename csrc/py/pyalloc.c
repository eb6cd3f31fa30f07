/* pyalloc.c — Python's own allocations, counted and sampled: a
 * PyMem_SetAllocator wrapper over the RAW, MEM and OBJ domains.
 *
 * Counter.  Each hook calls the allocator it replaced (read with
 * PyMem_GetAllocator when the hook is installed) and, on success, adds the
 * requested size and one block to the calling thread's counter block: owned
 * by that thread, written with relaxed load+store pairs (no lock, no RMW),
 * summed with the totals of exited threads on read, as csrc/alloc.c does for
 * ep_alloc.  calloc counts nelem*elsize; realloc counts its new size as one
 * block, as Go counts a grown slice.  Frees are not counted (the hook adds no
 * header, so it does not know a block's size; Go's B/op is cumulative too).
 * Only the outermost call counts: pymalloc serves requests above 512 bytes
 * from PyMem_RawMalloc, which re-enters our RAW hook; a per-thread "inside"
 * flag passes such nested calls (and the profiler's own allocations) straight
 * through, as tracemalloc does.
 *
 * Installation.  The hooks add no header and keep no per-block state the
 * original allocator lacks, so a block allocated before installation is
 * freed through the wrapper into the original allocator, uncounted (and, for
 * the profiler, unknown: only sampled blocks are in its live table); a block
 * allocated while installed may be freed after removal.  Both are therefore
 * safe.  Hooks go in when the first user (counter or profiler) starts and
 * come out when the last stops, but only if they are still on top in every
 * domain; if someone (tracemalloc) stacked a hook over ours, ours stays in
 * as a pass-through, since removing it would unhook theirs; and since their
 * removal may unhook ours (it restores what it found), a later install
 * probes each domain and hooks again where ours no longer runs.  CPython's rule
 * for PyMem_SetAllocator applies: it is called with the GIL held, and no
 * other thread may be inside a RAW allocation at that instant (RAW is called
 * without the GIL); the functions here are called from Python, GIL held.
 *
 * Profiler.  Each thread counts down bytes to its next sample: exponential
 * gaps with mean `rate` (Go's MemProfileRate; rate 1 samples every block).  A
 * sampled block's stack is the Python stack (code object and instruction
 * offset per frame, turned into lines when the profile is read, leaf first,
 * at most EP_PA_DEPTH frames), read under the GIL, which MEM and OBJ callers
 * hold: on 3.11 and 3.12 straight from the interpreter's frames (no frame
 * objects, no reference counts), elsewhere with PyThreadState_GetFrame /
 * PyFrame_GetBack.
 * RAW callers may not hold it, so a RAW sample gets the one pseudo-frame
 * "[PyMem_RawMalloc]" instead of a stack.  Samples are bucketed by (stack,
 * size), as Go buckets them, with alloc and free counts; a live table maps a
 * sampled block's address to its bucket so its free is seen (a lock-free
 * counting filter keeps unsampled frees off the lock).  Rate 1 samples every
 * block, so a sample is kept cheap: the stack's hash is folded during the
 * walk, and each thread caches the stacks and buckets it used lately (a
 * stack compared frame by frame), so a repeated site costs no shared-table
 * lookup.  The stack table holds strong references to the code objects it
 * names until the next start or reset (taken and dropped with the GIL held).
 * With `peak` on, the profile also keeps each bucket's in-use values at the
 * moment the estimated in-use total was highest: buckets changed since the
 * last peak are on a dirty list, copied when a new peak is reached, so the
 * cost is amortized O(1).  The tables live in libc memory (never PyMem,
 * which would re-enter the hook), under one spin lock that is never held
 * while calling into Python.
 */
#include "seam.h"
#include "ep_threadreg.h"
#include "ep_arrays.h"
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h> /* PyFrame_GetBack, before 3.11 */
#elif PY_VERSION_HEX < 0x030D0000
/* 3.11 and 3.12: the interpreter's frames are read in place (see capture()) */
#define EP_PA_FAST_FRAMES 1
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#define EP_PA_UNDEF_CORE 1
#endif
#include "internal/pycore_frame.h"
#ifdef EP_PA_UNDEF_CORE
#undef Py_BUILD_CORE
#endif
#endif

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define EP_PA_DEPTH 64
#define EP_PA_FILTER_SLOTS (1u << 13) /* 8 KiB of counters: stays in L1 on the free path */
#define RAW_STACK (UINT32_MAX - 1) /* the stack of RAW samples: no GIL, no frames */
#ifdef EP_PA_FAST_FRAMES
#define CAPTURE_OWNS 0 /* capture() returns borrowed code references */
#else
#define CAPTURE_OWNS 1 /* capture() returns new code references */
#endif

/* ---- per-thread state ---- */

typedef struct { PyCodeObject *code; int lasti; } pa_frame; /* lasti: bytes; the line is found at snapshot */

/* The sampling thread's own caches of the profiler's tables (see sample()):
 * a stack seen lately → its id, a (stack, size) seen lately → its bucket. */
#define EP_PA_SCACHE 256       /* stack cache entries (direct-mapped by stack hash) */
#define EP_PA_SCACHE_DEPTH 7  /* deeper stacks always go to the shared table; an entry is 2 cache lines */
#define EP_PA_BCACHE 1024      /* bucket cache entries (direct-mapped by bucket hash) */
typedef struct { uint64_t hash; uint32_t n, stack; pa_frame f[EP_PA_SCACHE_DEPTH]; } pa_scache;
typedef struct { uint64_t size; uint32_t stack, bucket; } pa_bcache;
typedef struct {
    _Alignas(64) pa_scache sc[EP_PA_SCACHE]; /* each entry on its own 2 lines */
    pa_bcache bc[EP_PA_BCACHE];
    unsigned tab_gen;      /* the tables' generation the caches hold ids of */
} pa_cache;

typedef struct pa_thread {
    _ep_treg_link link;    /* first: the registry's list */
    _Atomic uint64_t bytes, blocks;
    int inside;            /* in one of our hooks (or the profiler): pass through */
    unsigned gen;          /* profiler session the countdown belongs to */
    int64_t sample_left;   /* bytes to the next sample */
    uint64_t rng;
    pa_cache *cache;       /* libc memory, made at the thread's first sample (keeps
                              this block small: the counter touches only its head) */
} pa_thread;

static uint64_t retired_bytes, retired_blocks; /* threads that exited; under reg.lock */
static void retire(_ep_treg_link *l);
static _ep_treg reg = _EP_TREG_INIT(pa_thread, retire);
static __thread pa_thread *self_pa __attribute__((tls_model("initial-exec")));

#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define ADD(x, v) atomic_store_explicit(&(x), LD(x) + (v), memory_order_relaxed)

static void retire(_ep_treg_link *l) {
    pa_thread *t = (pa_thread *)l;
    retired_bytes += LD(t->bytes);
    retired_blocks += LD(t->blocks);
    free(t->cache);
    self_pa = NULL;
}

static pa_thread *pa_self(void) {
    pa_thread *t = self_pa;
    if (EP_LIKELY(t != NULL)) return t;
    return self_pa = (pa_thread *)_ep_treg_join(&reg); /* NULL: uncounted rather than failing */
}

static void pa_read(uint64_t *bytes, uint64_t *blocks, int this_thread) {
    pthread_mutex_lock(&reg.lock);
    uint64_t b = 0, n = 0;
    if (this_thread) {
        if (self_pa) b = LD(self_pa->bytes), n = LD(self_pa->blocks);
    } else {
        b = retired_bytes, n = retired_blocks;
        for (pa_thread *t = (pa_thread *)reg.head; t; t = (pa_thread *)t->link.next) b += LD(t->bytes), n += LD(t->blocks);
    }
    pthread_mutex_unlock(&reg.lock);
    *bytes = b, *blocks = n;
}

/* ---- profiler state (all under prof_lock) ---- */

typedef struct { uint32_t off, n; uint64_t hash; } pa_stack;
typedef struct {
    uint32_t stack;
    int dirty;
    uint64_t size;
    uint64_t pk_obj; /* bytes are objects times size */
    double scale;
} pa_bucket;
typedef struct { uint64_t a, f; } pa_count; /* a bucket's allocs and frees: all a sample or free touches */

/* prof_lock: a test-and-test-and-set spin lock, one atomic exchange to take
 * and a release store to drop (a mutex costs two atomic RMWs per round trip,
 * and at rate 1 every allocation and every free takes the lock once).  Held
 * only for table work, never across a call into Python or a syscall; a
 * waiter that has spun a while yields its CPU (the holder may be
 * descheduled on a crowded machine). */
static _Atomic int prof_lock;

static void prof_lock_wait(void) {
    for (unsigned spins = 0;;) {
        while (atomic_load_explicit(&prof_lock, memory_order_relaxed)) {
            if (++spins < 128) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            } else {
                sched_yield();
                spins = 0;
            }
        }
        if (!atomic_exchange_explicit(&prof_lock, 1, memory_order_acquire)) return;
    }
}

static inline void prof_lock_acquire(void) {
    if (EP_UNLIKELY(atomic_exchange_explicit(&prof_lock, 1, memory_order_acquire))) prof_lock_wait();
}

static inline void prof_lock_release(void) { atomic_store_explicit(&prof_lock, 0, memory_order_release); }
static _Atomic int prof_on;            /* sampling allocations */
static _Atomic int prof_watch;         /* sampled blocks may be live: look at frees */
static _Atomic unsigned prof_gen;
static unsigned tab_gen = 1;           /* bumped when the tables are cleared: ids change */
static uint64_t prof_rate, prof_seed, prof_dropped;
static int prof_peak;
static double inuse_est, peak_est;
static pa_frame *frames;   static size_t n_frames, cap_frames;
static pa_stack *stacks;   static size_t n_stacks, cap_stacks;
static uint32_t *stack_ix; static size_t cap_stack_ix;  /* open addressing, 0 = empty, else id+1 */
static pa_bucket *buckets; static size_t n_buckets, cap_buckets;
static pa_count *counts; static size_t cap_counts;     /* one per bucket */
static uint32_t *bucket_ix; static size_t cap_bucket_ix;
static uint32_t *dirty;    static size_t n_dirty, cap_dirty;
typedef struct { uintptr_t p; uint32_t bucket; } pa_live;
static pa_live *live; static size_t n_live, cap_live;  /* linear probing, p == 0 empty */
static unsigned live_shift;  /* 64 - log2(cap_live): live_home's Fibonacci hashing */
static _Atomic uint8_t filter[EP_PA_FILTER_SLOTS];

static inline uint64_t mix(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return x;
}

/* The free-path filter: per slot, how many live sampled blocks hash there
 * (saturating at 255, then never lowered).  Counting, not bits, because
 * the allocator hands a sampled block's address out again at once, and a
 * stale bit would send every later free of that address to the lock.
 * Changed under prof_lock; read without it (a sampled block's slot was
 * raised before its address left the allocating thread). */
static inline uint32_t filter_slot(uintptr_t p) { return (uint32_t)(((p >> 4) ^ (p >> 17)) & (EP_PA_FILTER_SLOTS - 1)); }

static void filter_add(uintptr_t p, int d) {
    _Atomic uint8_t *c = &filter[filter_slot(p)];
    unsigned v = atomic_load_explicit(c, memory_order_relaxed);
    if (v == 255 || (d < 0 && v == 0)) return;
    atomic_store_explicit(c, (uint8_t)(v + (unsigned)d), memory_order_release);
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem) { return ep_grow_array(arr, cap, need, elem, 64); }

/* A stack's hash, one frame at a time (capture() folds it as it walks):
 * one dependent multiply a frame, the high half folded into the low bits
 * (which index the tables). */
#define STACK_HASH_SEED 0x9e3779b97f4a7c15ULL
static inline uint64_t stack_hash_step(uint64_t h, const PyCodeObject *code, int lasti) {
    h = ((h ^ (uintptr_t)code) + (uint64_t)(unsigned)lasti * 0x9e3779b97f4a7c15ULL) * 0xff51afd7ed558ccdULL;
    return h ^ (h >> 32);
}

/* Rebuilds an open-addressing index of `n` entries whose hashes `hash_of` gives. */
static int rehash(uint32_t **ix, size_t *cap, size_t n, uint64_t (*hash_of)(size_t)) {
    size_t c = *cap ? *cap * 2 : 256;
    while (c < n * 2) c *= 2;
    uint32_t *t = calloc(c, sizeof *t);
    if (!t) return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t j = hash_of(i) & (c - 1);
        while (t[j]) j = (j + 1) & (c - 1);
        t[j] = (uint32_t)i + 1;
    }
    free(*ix);
    *ix = t, *cap = c;
    return 0;
}

static uint64_t stack_hash_of(size_t i) { return stacks[i].hash; }
static uint64_t bucket_hash(uint32_t stack, uint64_t size) {
    uint64_t h = (((uint64_t)stack << 40) ^ size) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 32); /* the product's high bits reach the low ones, which index */
}
static uint64_t bucket_hash_of(size_t i) { return bucket_hash(buckets[i].stack, buckets[i].size); }

/* Field by field: a pa_frame has padding, which memcmp would compare. */
static inline int frames_eq(const pa_frame *a, const pa_frame *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i].code != b[i].code || a[i].lasti != b[i].lasti) return 0;
    return 1;
}

/* The id of stack f[0..n) (of hash h), interned; *owned says whether the table took
 * over the code references (else the caller drops them, unlocked).
 * UINT32_MAX if out of memory. */
static uint32_t intern_stack(pa_frame *f, size_t n, uint64_t h, int *owned) {
    if (cap_stack_ix) {
        for (size_t j = h & (cap_stack_ix - 1); stack_ix[j]; j = (j + 1) & (cap_stack_ix - 1)) {
            pa_stack *s = &stacks[stack_ix[j] - 1];
            if (s->hash == h && s->n == n && frames_eq(frames + s->off, f, n)) return stack_ix[j] - 1;
        }
    }
    if (grow((void **)&frames, &cap_frames, n_frames + n, sizeof *frames) ||
        grow((void **)&stacks, &cap_stacks, n_stacks + 1, sizeof *stacks))
        goto oom;
    if ((n_stacks + 1) * 2 > cap_stack_ix && rehash(&stack_ix, &cap_stack_ix, n_stacks, stack_hash_of)) goto oom;
    memcpy(frames + n_frames, f, n * sizeof *f);
    if (!CAPTURE_OWNS) /* GIL held (MEM/OBJ): the references become the table's */
        for (size_t i = 0; i < n; i++) Py_XINCREF(f[i].code);
    stacks[n_stacks] = (pa_stack){(uint32_t)n_frames, (uint32_t)n, h};
    n_frames += n;
    size_t j = h & (cap_stack_ix - 1);
    while (stack_ix[j]) j = (j + 1) & (cap_stack_ix - 1);
    stack_ix[j] = (uint32_t)++n_stacks;
    *owned = 1;
    return (uint32_t)(n_stacks - 1);
oom:
    return UINT32_MAX;
}

static uint32_t bucket_of(uint32_t stack, uint64_t size, uint64_t h) {
    if (cap_bucket_ix)
        for (size_t j = h & (cap_bucket_ix - 1); bucket_ix[j]; j = (j + 1) & (cap_bucket_ix - 1)) {
            pa_bucket *b = &buckets[bucket_ix[j] - 1];
            if (b->stack == stack && b->size == size) return bucket_ix[j] - 1;
        }
    if (grow((void **)&buckets, &cap_buckets, n_buckets + 1, sizeof *buckets) ||
        grow((void **)&counts, &cap_counts, n_buckets + 1, sizeof *counts))
        return UINT32_MAX;
    if ((n_buckets + 1) * 2 > cap_bucket_ix && rehash(&bucket_ix, &cap_bucket_ix, n_buckets, bucket_hash_of))
        return UINT32_MAX;
    double s = prof_rate <= 1 || !size ? 1.0 : 1.0 / (1.0 - exp(-(double)size / (double)prof_rate));
    buckets[n_buckets] = (pa_bucket){.stack = stack, .size = size, .scale = s};
    counts[n_buckets] = (pa_count){0, 0};
    size_t j = h & (cap_bucket_ix - 1);
    while (bucket_ix[j]) j = (j + 1) & (cap_bucket_ix - 1);
    bucket_ix[j] = (uint32_t)++n_buckets;
    return (uint32_t)(n_buckets - 1);
}

static void mark_peak(uint32_t bi, double delta) {
    pa_bucket *b = &buckets[bi];
    inuse_est += delta;
    if (!b->dirty && !grow((void **)&dirty, &cap_dirty, n_dirty + 1, sizeof *dirty)) {
        b->dirty = 1;
        dirty[n_dirty++] = bi;
    }
    if (inuse_est > peak_est) {
        for (size_t i = 0; i < n_dirty; i++) {
            pa_bucket *d = &buckets[dirty[i]];
            d->pk_obj = counts[dirty[i]].a - counts[dirty[i]].f, d->dirty = 0;
        }
        n_dirty = 0;
        peak_est = inuse_est;
    }
}

/* The estimated in-use total moves by delta; it serves only the peak. */
#define mark(bi, delta) do { if (prof_peak) mark_peak((bi), (delta)); } while (0)

/* A block's home slot: Fibonacci hashing (one multiply; the top bits of
 * the product depend on every bit of the address). */
static inline size_t live_home(uintptr_t p, unsigned shift) { return (size_t)(((uint64_t)p * 0x9e3779b97f4a7c15ULL) >> shift); }

static int live_put(uintptr_t p, uint32_t bucket) {
    if ((n_live + 1) * 2 > cap_live) {
        size_t c = cap_live ? cap_live * 2 : 1024;
        unsigned shift = (unsigned)__builtin_clzll((unsigned long long)c) + 1; /* c = 2^(63 - clz) */
        pa_live *t = calloc(c, sizeof *t);
        if (!t) return ENOMEM;
        for (size_t i = 0; i < cap_live; i++)
            if (live[i].p) {
                size_t j = live_home(live[i].p, shift);
                while (t[j].p) j = (j + 1) & (c - 1);
                t[j] = live[i];
            }
        free(live);
        live = t, cap_live = c, live_shift = shift;
    }
    size_t j = live_home(p, live_shift);
    while (live[j].p && live[j].p != p) j = (j + 1) & (cap_live - 1);
    if (!live[j].p) n_live++;
    live[j] = (pa_live){p, bucket};
    return 0;
}

/* Removes p from the live table; its bucket, or UINT32_MAX if not sampled. */
static uint32_t live_take(uintptr_t p) {
    if (!cap_live) return UINT32_MAX;
    size_t m = cap_live - 1, j = live_home(p, live_shift);
    while (live[j].p && live[j].p != p) j = (j + 1) & m;
    if (!live[j].p) return UINT32_MAX;
    uint32_t b = live[j].bucket;
    filter_add(p, -1);
    /* backward-shift deletion keeps probe chains whole without tombstones */
    size_t i = j;
    for (;;) {
        live[i].p = 0;
        size_t k = i;
        for (;;) {
            k = (k + 1) & m;
            if (!live[k].p) { n_live--; return b; }
            size_t home = live_home(live[k].p, live_shift);
            if ((k > i) ? (home <= i || home > k) : (home <= i && home > k)) break;
        }
        live[i] = live[k];
        i = k;
    }
}

static void free_sampled(uintptr_t p) {
    uint32_t bi = live_take(p);
    if (bi == UINT32_MAX) return;
    counts[bi].f++;
    mark(bi, -(double)buckets[bi].size * buckets[bi].scale);
}

/* ---- sampling ---- */

static inline uint64_t rng_next(pa_thread *t) {
    uint64_t x = t->rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    t->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Go's nextSample: an exponential gap with mean prof_rate. */
static int64_t next_gap(pa_thread *t) {
    if (prof_rate <= 1) return 0;
    double u = ((double)(rng_next(t) >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
    double g = -log(u) * (double)prof_rate;
    return g > 9.0e18 ? INT64_MAX : (int64_t)g;
}

static PyThreadState *tstate_now(void) {
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
#else
    return _PyThreadState_UncheckedGet();
#endif
}

#ifdef EP_PA_FAST_FRAMES
/* 3.11, 3.12: walks the _PyInterpreterFrame chain as PyThreadState_GetFrame and
 * PyFrame_GetBack do (skipping incomplete frames), without making a frame
 * object per frame or touching reference counts: the code references are
 * borrowed (the frames hold them; the GIL is held), and the table takes its
 * own when it keeps a new stack.  `lasti` is PyFrame_GetLasti's: bytes. */
static size_t capture(pa_frame *out, uint64_t *hash) {
    PyThreadState *ts = tstate_now();
    uint64_t h = STACK_HASH_SEED;
    size_t n = 0;
    for (_PyInterpreterFrame *f = ts && ts->cframe ? ts->cframe->current_frame : NULL; f && n < EP_PA_DEPTH;
         f = f->previous) {
        if (_PyFrame_IsIncomplete(f)) continue;
        int lasti = _PyInterpreterFrame_LASTI(f);
        out[n].code = f->f_code;
        out[n].lasti = lasti < 0 ? -1 : lasti * (int)sizeof(_Py_CODEUNIT);
        h = stack_hash_step(h, out[n].code, out[n].lasti);
        n++;
    }
    *hash = h;
    return n;
}
#else
static size_t capture(pa_frame *out, uint64_t *hash) {
    PyThreadState *ts = tstate_now();
    uint64_t h = STACK_HASH_SEED;
    PyFrameObject *f = ts ? PyThreadState_GetFrame(ts) : NULL;
    size_t n = 0;
    while (f && n < EP_PA_DEPTH) {
        out[n].code = PyFrame_GetCode(f);
        /* the instruction offset, not the line: finding a line decodes the
         * line table, which costs more than all the rest of a sample */
#if PY_VERSION_HEX >= 0x030B0000
        out[n].lasti = PyFrame_GetLasti(f);
#else
        out[n].lasti = f->f_lasti < 0 ? -1 : f->f_lasti * 2;
#endif
        h = stack_hash_step(h, out[n].code, out[n].lasti);
        n++;
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    Py_XDECREF(f);
    *hash = h;
    return n;
}
#endif

/* A sample: the stack is captured unlocked (MEM/OBJ hold the GIL; RAW
 * callers may not, so RAW samples take no stack), then looked up first in
 * the thread's own caches, which hold the ids of the stacks and buckets it
 * used lately (an allocation site repeats: at rate 1 most samples hit), and
 * only on a miss in the shared tables.  A cached stack is compared frame by
 * frame, not trusted by its hash.  The caches hold ids of one generation of
 * the tables (tab_gen, read under the lock); a clear makes them stale. */
static void sample(pa_thread *t, int domain, void *p, size_t size) {
    pa_frame fr[EP_PA_DEPTH];
    uint64_t h = 0;
    int raw = domain == PYMEM_DOMAIN_RAW;
    size_t n = raw ? 0 : capture(fr, &h);
    pa_cache *c = t->cache;
    if (EP_UNLIKELY(!c) && (c = t->cache = aligned_alloc(64, sizeof *c)) != NULL) c->tab_gen = 0; /* tab_gen starts at 1 */
    if (EP_UNLIKELY(!c)) {
        prof_lock_acquire();
        prof_dropped++;
        prof_lock_release();
        if (CAPTURE_OWNS)
            for (size_t i = 0; i < n; i++) Py_XDECREF(fr[i].code);
        return;
    }
    pa_scache *sc = &c->sc[h & (EP_PA_SCACHE - 1)];
    /* indexed by the stack's hash, not its id: both cache slots are known,
     * and loaded, at once */
    pa_bcache *bc = &c->bc[(size_t)(((h ^ size) * 0x9e3779b97f4a7c15ULL) >> 32) & (EP_PA_BCACHE - 1)];
    int hit = !raw && sc->hash == h && sc->n == n && frames_eq(sc->f, fr, n);
    prof_lock_acquire();
    if (!LD(prof_on)) { /* stopped while we captured */
        prof_lock_release();
        if (CAPTURE_OWNS)
            for (size_t i = 0; i < n; i++) Py_XDECREF(fr[i].code);
        return;
    }
    if (EP_UNLIKELY(c->tab_gen != tab_gen)) {
        memset(c->sc, 0xff, sizeof c->sc); /* n = UINT32_MAX, stack = UINT32_MAX: never match */
        memset(c->bc, 0xff, sizeof c->bc);
        c->tab_gen = tab_gen;
        hit = 0;
    }
    int owned = 0;
    uint32_t st = raw ? RAW_STACK : hit ? sc->stack : intern_stack(fr, n, h, &owned);
    if (!raw && !hit && st != UINT32_MAX && n <= EP_PA_SCACHE_DEPTH) {
        sc->hash = h, sc->n = (uint32_t)n, sc->stack = st;
        memcpy(sc->f, fr, n * sizeof *fr);
    }
    uint32_t bi = UINT32_MAX;
    if (st != UINT32_MAX) {
        if (bc->stack == st && bc->size == size) {
            bi = bc->bucket;
        } else if ((bi = bucket_of(st, size, bucket_hash(st, size))) != UINT32_MAX) {
            bc->stack = st, bc->size = size, bc->bucket = bi;
        }
    }
    if (bi == UINT32_MAX || live_put((uintptr_t)p, bi)) {
        prof_dropped++;
    } else {
        counts[bi].a++;
        filter_add((uintptr_t)p, 1);
        mark(bi, (double)size * buckets[bi].scale);
    }
    prof_lock_release();
    if (CAPTURE_OWNS && !owned) /* after unlocking: a last reference's dealloc frees through our hooks */
        for (size_t i = 0; i < n; i++) Py_XDECREF(fr[i].code);
}

/* ---- the hooks ---- */

static PyMemAllocatorEx orig[3], hooks[3];
static int installed;
static int n_counters;            /* counter users (GIL) */
#define MODE_COUNT 1 /* counter users or the profiler on */
#define MODE_PROBE 2 /* install() asks which domains still run through us */
static _Atomic int mode;
static _Atomic int probe_seen;    /* bit d: our domain-d hook ran while probing */

static inline int maybe_sampled(void *p) {
    if (!p || EP_LIKELY(!LD(prof_watch))) return 0;
    return atomic_load_explicit(&filter[filter_slot((uintptr_t)p)], memory_order_acquire) != 0;
}

static inline void note_alloc(pa_thread *t, int domain, void *p, size_t size) {
    ADD(t->bytes, size);
    ADD(t->blocks, 1);
    if (EP_LIKELY(!LD(prof_on))) return;
    unsigned gen = atomic_load_explicit(&prof_gen, memory_order_acquire);
    if (EP_UNLIKELY(t->gen != gen)) {
        t->gen = gen;
        t->rng = mix(prof_seed ^ (uintptr_t)t) | 1;
        t->sample_left = next_gap(t);
    }
    if ((int64_t)size <= t->sample_left) { /* Go: size < nextSample */
        t->sample_left -= (int64_t)size;
        return;
    }
    sample(t, domain, p, size);
    t->sample_left = prof_rate <= 1 ? 0 : next_gap(t);
}

#define DOMAIN(ctx) ((int)(intptr_t)(ctx))

static void *pa_malloc(void *ctx, size_t size) {
    PyMemAllocatorEx *o = &orig[DOMAIN(ctx)];
    int m = LD(mode);
    if (EP_UNLIKELY(m & MODE_PROBE)) atomic_fetch_or(&probe_seen, 1 << DOMAIN(ctx));
    pa_thread *t = (m & MODE_COUNT) ? pa_self() : NULL;
    if (!t || t->inside) return o->malloc(o->ctx, size);
    if (DOMAIN(ctx) == 0) { /* RAW: calls nothing of ours, and samples take no stack */
        void *p = o->malloc(o->ctx, size);
        if (p) note_alloc(t, 0, p, size);
        return p;
    }
    t->inside = 1;
    void *p = o->malloc(o->ctx, size);
    if (p) note_alloc(t, DOMAIN(ctx), p, size);
    t->inside = 0;
    return p;
}

static void *pa_calloc(void *ctx, size_t nelem, size_t elsize) {
    PyMemAllocatorEx *o = &orig[DOMAIN(ctx)];
    pa_thread *t = (LD(mode) & MODE_COUNT) ? pa_self() : NULL;
    if (!t || t->inside) return o->calloc(o->ctx, nelem, elsize);
    t->inside = 1;
    void *p = o->calloc(o->ctx, nelem, elsize);
    if (p) note_alloc(t, DOMAIN(ctx), p, nelem * elsize); /* the allocator checked the product */
    t->inside = 0;
    return p;
}

static void pa_free(void *ctx, void *p) {
    PyMemAllocatorEx *o = &orig[DOMAIN(ctx)];
    if (EP_UNLIKELY(maybe_sampled(p))) {
        /* before the address can be handed out again */
        prof_lock_acquire();
        free_sampled((uintptr_t)p);
        prof_lock_release();
    }
    o->free(o->ctx, p);
}

static void *pa_realloc(void *ctx, void *old, size_t size) {
    PyMemAllocatorEx *o = &orig[DOMAIN(ctx)];
    uint32_t was = UINT32_MAX;
    if (EP_UNLIKELY(maybe_sampled(old))) {
        /* take it out first: once realloc frees it another thread may get the address */
        prof_lock_acquire();
        was = live_take((uintptr_t)old);
        prof_lock_release();
    }
    pa_thread *t = (LD(mode) & MODE_COUNT) ? pa_self() : NULL;
    if (t && t->inside) t = NULL; /* nested: the outer call counts */
    if (t) t->inside = 1;
    void *p = o->realloc(o->ctx, old, size);
    if (was != UINT32_MAX) {
        prof_lock_acquire();
        if (!p) {
            if (!live_put((uintptr_t)old, was)) filter_add((uintptr_t)old, 1); /* failed: old is still live */
        } else {
            counts[was].f++;
            mark(was, -(double)buckets[was].size * buckets[was].scale);
        }
        prof_lock_release();
    }
    if (t) {
        if (p) note_alloc(t, DOMAIN(ctx), p, size);
        t->inside = 0;
    }
    return p;
}

static const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

/* Hooks go in where they are not in the chain.  Once installed, ours may
 * since have been unhooked by another hook's removal (tracemalloc.stop()
 * restores what it found, which may be older than ours), or sit under
 * another hook: a probe allocation in each domain tells which. */
static void install(void) {
    int missing = 7;
    if (installed) {
        atomic_store(&probe_seen, 0);
        atomic_fetch_or(&mode, MODE_PROBE);
        PyMem_RawFree(PyMem_RawMalloc(1));
        PyMem_Free(PyMem_Malloc(1));
        PyObject_Free(PyObject_Malloc(1));
        atomic_fetch_and(&mode, ~MODE_PROBE);
        missing = 7 & ~LD(probe_seen);
    }
    for (int d = 0; d < 3; d++) {
        if (!(missing & (1 << d))) continue;
        PyMem_GetAllocator(domains[d], &orig[d]);
        hooks[d] = (PyMemAllocatorEx){(void *)(intptr_t)d, pa_malloc, pa_calloc, pa_realloc, pa_free};
        PyMem_SetAllocator(domains[d], &hooks[d]);
    }
    installed = 1;
}

/* Out only if ours is still on top everywhere (see the header). */
static void uninstall(void) {
    if (!installed) return;
    for (int d = 0; d < 3; d++) {
        PyMemAllocatorEx cur;
        PyMem_GetAllocator(domains[d], &cur);
        if (cur.malloc != pa_malloc || cur.ctx != hooks[d].ctx) return;
    }
    for (int d = 0; d < 3; d++) PyMem_SetAllocator(domains[d], &orig[d]);
    installed = 0;
}

static void update(void) {
    int want = n_counters > 0 || LD(prof_on) || LD(prof_watch);
    if (want) install();
    atomic_store(&mode, (n_counters > 0 || LD(prof_on)) ? MODE_COUNT : 0);
    if (!want) uninstall();
}

/* Runs fn with this thread's hooks passing through: the profiler's and the
 * readers' own allocations are not the program's. */
#define QUIET_BEGIN pa_thread *q_ = pa_self(); int q_was_ = q_ ? q_->inside : 0; if (q_) q_->inside = 1
#define QUIET_END if (q_) q_->inside = q_was_

/* Drops the profile (GIL held: releases the code references). */
static void prof_clear(void) {
    prof_lock_acquire();
    pa_frame *fr = frames;
    size_t nf = n_frames;
    frames = NULL, n_frames = cap_frames = 0;
    n_stacks = 0, n_buckets = 0, n_live = 0, n_dirty = 0;
    if (stack_ix) memset(stack_ix, 0, cap_stack_ix * sizeof *stack_ix);
    if (bucket_ix) memset(bucket_ix, 0, cap_bucket_ix * sizeof *bucket_ix);
    if (live) memset(live, 0, cap_live * sizeof *live);
    memset((void *)filter, 0, sizeof filter);
    inuse_est = peak_est = 0;
    prof_dropped = 0;
    tab_gen++;
    prof_lock_release();
    for (size_t i = 0; i < nf; i++) Py_XDECREF(fr[i].code);
    free(fr);
}

/* ---- Python functions ---- */

static PyObject *py_pyalloc_start(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    n_counters++;
    update();
    Py_RETURN_NONE;
}

static PyObject *py_pyalloc_stop(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    if (n_counters > 0) n_counters--;
    update();
    Py_RETURN_NONE;
}

static PyObject *py_pyalloc_counters(PyObject *m, PyObject *args, PyObject *kw) {
    (void)m;
    static char *names[] = {"this_thread", NULL};
    int this_thread = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:pyalloc_counters", names, &this_thread)) return NULL;
    uint64_t b, n;
    pa_read(&b, &n, this_thread);
    QUIET_BEGIN;
    PyObject *r = Py_BuildValue("{s:K,s:K}", "alloc_bytes", (unsigned long long)b, "alloc_objects",
                                (unsigned long long)n);
    QUIET_END;
    return r;
}

static PyObject *py_pyalloc_state(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    return Py_BuildValue("{s:i,s:i,s:i,s:K}", "installed", installed, "counters", n_counters,
                         "profiling", (int)LD(prof_on), "rate", (unsigned long long)prof_rate);
}

static PyObject *py_pyheap_start(PyObject *m, PyObject *args, PyObject *kw) {
    (void)m;
    static char *names[] = {"rate", "seed", "peak", NULL};
    unsigned long long rate, seed = 0;
    int peak = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "K|Kp:pyheap_start", names, &rate, &seed, &peak)) return NULL;
    if (rate < 1) return _ep_py_raise(EINVAL, "pyheap_start(rate=%llu): rate must be >= 1 (bytes between samples)", rate);
    if (LD(prof_on)) return _ep_py_raise(EALREADY, "Python heap profiler already running (rate %llu)",
                                         (unsigned long long)prof_rate);
    prof_clear();
    prof_lock_acquire();
    prof_rate = rate, prof_seed = seed ? seed : (uint64_t)ep_now_ns(), prof_peak = peak;
    atomic_fetch_add(&prof_gen, 1);
    prof_lock_release();
    atomic_store(&prof_watch, 1);
    atomic_store(&prof_on, 1);
    update();
    Py_RETURN_NONE;
}

static PyObject *py_pyheap_stop(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    /* sampling and free-watching stop: the profile's in-use figures are
     * those of this moment, as a Go heap profile is of its GC */
    atomic_store(&prof_on, 0);
    atomic_store(&prof_watch, 0);
    update();
    Py_RETURN_NONE;
}

static PyObject *py_pyheap_reset(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    if (LD(prof_on)) return _ep_py_raise(EBUSY, "pyheap_reset: the Python heap profiler is running; stop it first");
    atomic_store(&prof_watch, 0);
    prof_clear();
    update();
    Py_RETURN_NONE;
}

static PyObject *frame_tuple(const pa_frame *f) {
    PyCodeObject *co = f->code;
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *name = co->co_qualname;
#else
    PyObject *name = co->co_name;
#endif
    return Py_BuildValue("(OOi)", name, co->co_filename, PyCode_Addr2Line(co, f->lasti));
}

static PyObject *py_pyheap_snapshot(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    QUIET_BEGIN;
    PyObject *out = NULL, *recs = NULL, *raw_stack = NULL, **stack_objs = NULL;
    pa_frame *fr = NULL;
    pa_stack *st = NULL;
    pa_bucket *bk = NULL;
    pa_count *ct = NULL;
    size_t nf, ns, nb;
    int ok = 1;
    prof_lock_acquire();
    nf = n_frames, ns = n_stacks, nb = n_buckets;
    fr = malloc((nf + 1) * sizeof *fr), st = malloc((ns + 1) * sizeof *st), bk = malloc((nb + 1) * sizeof *bk);
    ct = malloc((nb + 1) * sizeof *ct);
    if (fr && st && bk && ct) {
        memcpy(fr, frames, nf * sizeof *fr), memcpy(st, stacks, ns * sizeof *st), memcpy(bk, buckets, nb * sizeof *bk);
        memcpy(ct, counts, nb * sizeof *ct);
        for (size_t i = 0; i < nf; i++) Py_XINCREF(fr[i].code); /* a finalizer may reset meanwhile */
    } else {
        ok = 0, nf = 0;
    }
    unsigned long long rate = prof_rate, dropped = prof_dropped;
    int peak = prof_peak;
    prof_lock_release();
    if (!ok) { PyErr_NoMemory(); goto done; }
    if (!(stack_objs = calloc(ns + 1, sizeof *stack_objs))) { PyErr_NoMemory(); goto done; }
    if (!(raw_stack = Py_BuildValue("((ssi))", "[PyMem_RawMalloc]", "", 0))) goto done;
    for (size_t s = 0; s < ns; s++) {
        PyObject *t = PyTuple_New(st[s].n);
        if (!t) goto done;
        stack_objs[s] = t;
        for (uint32_t i = 0; i < st[s].n; i++) {
            PyObject *f = frame_tuple(&fr[st[s].off + i]);
            if (!f) goto done;
            PyTuple_SET_ITEM(t, i, f);
        }
    }
    if (!(recs = PyList_New(0))) goto done;
    for (size_t i = 0; i < nb; i++) {
        const pa_bucket *b = &bk[i];
        unsigned long long sz = b->size, a = ct[i].a, f = ct[i].f, pk = b->pk_obj;
        PyObject *stack = b->stack == RAW_STACK ? raw_stack : stack_objs[b->stack];
        PyObject *r = Py_BuildValue("(OKKKKKKK)", stack, sz, a, a * sz, f, f * sz, pk, pk * sz);
        if (!r || PyList_Append(recs, r) < 0) { Py_XDECREF(r); goto done; }
        Py_DECREF(r);
    }
    out = Py_BuildValue("{s:K,s:K,s:O,s:O}", "rate", rate, "dropped", dropped, "peak", peak ? Py_True : Py_False,
                        "records", recs);
done:
    if (stack_objs) for (size_t s = 0; s < ns; s++) Py_XDECREF(stack_objs[s]);
    free(stack_objs);
    Py_XDECREF(raw_stack);
    Py_XDECREF(recs);
    for (size_t i = 0; i < nf; i++) Py_XDECREF(fr[i].code);
    free(fr), free(st), free(bk), free(ct);
    QUIET_END;
    return out;
}

PyMethodDef _ep_pyalloc_methods[] = {
    {"pyalloc_start", py_pyalloc_start, METH_NOARGS,
     "pyalloc_start(): count Python allocations (RAW/MEM/OBJ) until the matching pyalloc_stop(); nests."},
    {"pyalloc_stop", py_pyalloc_stop, METH_NOARGS, "pyalloc_stop(): end one pyalloc_start()."},
    {"pyalloc_counters", (PyCFunction)(void (*)(void))py_pyalloc_counters, METH_VARARGS | METH_KEYWORDS,
     "pyalloc_counters(this_thread=False) -> dict: cumulative Python bytes/blocks allocated while counting."},
    {"pyalloc_state", py_pyalloc_state, METH_NOARGS, "pyalloc_state() -> dict: whether the hooks are in, users."},
    {"pyheap_start", (PyCFunction)(void (*)(void))py_pyheap_start, METH_VARARGS | METH_KEYWORDS,
     "pyheap_start(rate, seed=0, peak=False): sample Python allocations, one per `rate` bytes on average."},
    {"pyheap_stop", py_pyheap_stop, METH_NOARGS, "pyheap_stop(): stop sampling (the profile stays)."},
    {"pyheap_reset", py_pyheap_reset, METH_NOARGS, "pyheap_reset(): drop the profile."},
    {"pyheap_snapshot", py_pyheap_snapshot, METH_NOARGS,
     "pyheap_snapshot() -> dict: rate, dropped, peak, records [(frames, size, alloc_objects, alloc_bytes, "
     "free_objects, free_bytes, peak_objects, peak_bytes)], frames leaf first as (function, file, line)."},
    {NULL, NULL, 0, NULL},
};
