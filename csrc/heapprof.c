/* heapprof.c — sampling heap profiler over ep_alloc/ep_free.
 *
 * Design (Go's runtime.MemProfile): alloc.c keeps a per-thread byte countdown;
 * when an allocation takes it to zero or below, _ep_heapprof_sample records
 * that allocation and draws the next gap from an exponential distribution of
 * mean `rate`, so each byte is equally likely to be sampled and a block of
 * size s is sampled with probability 1 - exp(-s/rate) (the writer unbiases
 * with that).  rate 1 samples every allocation (gap 0).  A sample stores the
 * caller's stack, the size and the thread's pool tag in a stack table keyed
 * by (stack, size, pool, size class), and the block's address in a live
 * table, so a later free of the block moves it from in-use to freed.
 *
 * Cost: only the sampled slow path takes the lock.  Frees check a counting
 * filter (a hashed array of counters of live sampled addresses) without the
 * lock, and only look up the live table when their counter is non-zero; alloc.c
 * looks at the filter at all only while _ep_heapprof_watching is set, which is
 * exactly while sampled blocks are live (a loop that frees what it allocates
 * pays nothing on its frees most of the time).
 *
 * Peak: every recorded allocation and tracked free is an event with a
 * sequence number; the profiler keeps the sampled in-use total, its
 * high-water mark and the event that first reached it (as memray's peak
 * snapshot).  The live set at the peak is kept lazily, O(1) per event and
 * exact: each entry remembers the event that last changed it and its
 * in-use value as of the latest peak.  An entry changed after the peak
 * event first saves its current (pre-change) value, which is its value at
 * the peak; an entry untouched since holds it still.  The cost is a compare
 * and a few stores inside the lock already taken per sampled event, nothing
 * on the unsampled fast path; the in-use bytes per pool tag (for a
 * timeline) are summed over the entries when asked, not kept per event.
 *
 * Invariants: every address in the live table has its filter counter
 * incremented once; a session (start..stop) has one epoch, and a sample
 * taken under an older epoch is dropped; the profiler never allocates through
 * ep_alloc (it runs inside it).
 */
#include "enginepools.h"
#include "ep_stacktab.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#define EP_NOIPA __attribute__((noinline))
#else
#define EP_NOIPA __attribute__((noinline, noipa))
#endif

/* Countdown handed back while no session is on: the thread looks again for a
 * started session after this many bytes (the thread that starts a session,
 * and every registered thread, are reset at once by alloc.c). */
#define RECHECK_BYTES 8192
/* Return addresses between ep_stack_capture and the caller of ep_alloc:
 * record, _ep_heapprof_sample, ep_alloc (or ep_calloc, ...). */
#define CAPTURE_SKIP 3

enum { T_SIZE, T_POOL, T_CLASS };                       /* stack-table tag */
/* stack-table values; the last three are the peak bookkeeping: the event
 * that last changed the entry and its in-use objects/bytes as of the peak */
enum { V_AOBJ, V_ABYTES, V_FOBJ, V_FBYTES, V_PSEQ, V_POBJ, V_PBYTES };

_Atomic int _ep_heapprof_watching;
static _Atomic uint64_t hp_rate;   /* 0 = not sampling */
static _Atomic uint32_t hp_epoch;
static _Atomic uint32_t hp_thread_seq;
#define filter _ep_heapprof_filter
#define FILTER_BITS _EP_HEAPPROF_FILTER_BITS
_Atomic uint32_t _ep_heapprof_filter[1u << _EP_HEAPPROF_FILTER_BITS];

/* hp_lock guards the tables.  Its critical sections are a few dozen
 * nanoseconds (a table probe and a store; growing a table is rare), and at
 * rate 1 every allocation and free takes it, so it is a test-and-test-and-set
 * spinlock: half the cost of an uncontended pthread mutex pair.  A waiter
 * yields the CPU after a short spin, so a preempted holder cannot starve it. */
static _Atomic int hp_lock;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static inline void hp_lock_acquire(void) {
    for (unsigned spins = 0;; spins++) {
        if (!atomic_load_explicit(&hp_lock, memory_order_relaxed) &&
            !atomic_exchange_explicit(&hp_lock, 1, memory_order_acquire))
            return;
        if (spins >= 64) sched_yield();
        else cpu_relax();
    }
}

static inline void hp_lock_release(void) { atomic_store_explicit(&hp_lock, 0, memory_order_release); }
/* under hp_lock: */
static _Atomic uint64_t hp_seed; /* read unlocked by _ep_heapprof_sample */
static uint64_t hp_session_rate, hp_dropped;
static ep_stacktab stacks;
static struct { uintptr_t addr; uint32_t id; } *live; /* addr 0 = empty */
static size_t live_n, live_cap;
static const char **pools; /* interned pool names; never freed, so entries can point at them */
static uint32_t npools, pools_cap;
/* peak tracking (under hp_lock; see the design note) */
static uint64_t hp_seq, hp_inuse;
static uint64_t hp_peak, hp_peak_seq;

static __thread struct {
    uint64_t rng;
    uint32_t epoch;
} tl __attribute__((tls_model("initial-exec")));

/* The entry this thread recorded last: a loop allocating at one site
 * compares its key with that entry instead of hashing it.  Valid while `gen`
 * is the table's. */
static uint64_t hp_gen; /* under hp_lock: bumped whenever the table is cleared */
static __thread struct {
    uint64_t gen;
    uint32_t id;
} last __attribute__((tls_model("initial-exec")));

/* ---- random gaps -------------------------------------------------------- */

static uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rng_next(void) { /* xorshift64* */
    uint64_t x = tl.rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    tl.rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* -ln(u) for u in (0, 1], without libm: exponent times ln 2 plus an atanh
 * series for the mantissa (error < 1e-7, far below the sampling noise). */
static double neg_log(double u) {
    union { double d; uint64_t i; } v = {u};
    int e = (int)((v.i >> 52) & 0x7ff) - 1023;
    v.i = (v.i & ((1ull << 52) - 1)) | (1023ull << 52);
    double s = (v.d - 1) / (v.d + 1), s2 = s * s;
    double ln_m = 2 * s * (1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 / 11)))));
    return -(e * 0.69314718055994531 + ln_m);
}

static int64_t next_gap(uint64_t rate) {
    if (rate <= 1) return 0;
    double u = (double)((rng_next() >> 11) + 1) * (1.0 / 9007199254740992.0);
    double g = neg_log(u) * (double)rate;
    return g > 4e18 ? (int64_t)4e18 : (int64_t)g;
}

/* ---- live table and filter (under hp_lock) ------------------------------ */

#define filter_slot _ep_heapprof_filter_slot

static inline size_t live_slot(uintptr_t a, size_t cap) {
    return (size_t)((a * 0xff51afd7ed558ccdull) >> 20) & (cap - 1);
}

static int live_grow(void) {
    size_t cap = live_cap ? live_cap * 2 : 1024;
    __typeof__(live) t = calloc(cap, sizeof *t);
    if (!t) return ENOMEM;
    for (size_t i = 0; i < live_cap; i++) {
        if (!live[i].addr) continue;
        size_t s = live_slot(live[i].addr, cap);
        while (t[s].addr) s = (s + 1) & (cap - 1);
        t[s] = live[i];
    }
    free(live);
    live = t;
    live_cap = cap;
    return 0;
}

static int live_put(uintptr_t a, uint32_t id) {
    if ((live_n + 1) * 2 > live_cap && live_grow()) return ENOMEM;
    size_t s = live_slot(a, live_cap);
    while (live[s].addr && live[s].addr != a) s = (s + 1) & (live_cap - 1);
    if (!live[s].addr) {
        live_n++;
        uint32_t f = filter_slot((void *)a);
        atomic_store_explicit(&filter[f], atomic_load_explicit(&filter[f], memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    live[s].addr = a; /* an address seen live again: its old block was freed untracked */
    live[s].id = id;
    return 0;
}

/* Remove `a`; its entry id in *id.  Backward-shift deletion keeps linear
 * probing correct without tombstones. */
static int live_take(uintptr_t a, uint32_t *id) {
    if (!live_cap) return 0;
    size_t s = live_slot(a, live_cap);
    while (live[s].addr != a) {
        if (!live[s].addr) return 0;
        s = (s + 1) & (live_cap - 1);
    }
    *id = live[s].id;
    size_t hole = s;
    for (size_t j = (s + 1) & (live_cap - 1); live[j].addr; j = (j + 1) & (live_cap - 1)) {
        size_t home = live_slot(live[j].addr, live_cap);
        /* move j into the hole unless its home lies cyclically in (hole, j] */
        int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            live[hole] = live[j];
            hole = j;
        }
    }
    live[hole].addr = 0;
    live_n--;
    uint32_t f = filter_slot((void *)a);
    atomic_store_explicit(&filter[f], atomic_load_explicit(&filter[f], memory_order_relaxed) - 1,
                          memory_order_relaxed);
    return 1;
}

static uint64_t pool_id(const char *name) { /* 0 = none, else index + 1 */
    if (!name) return 0;
    for (uint32_t i = 0; i < npools; i++)
        if (strcmp(pools[i], name) == 0) return i + 1;
    if (npools == pools_cap) {
        uint32_t cap = pools_cap ? pools_cap * 2 : 16;
        const char **v = realloc(pools, cap * sizeof *v);
        if (!v) return 0;
        pools = v;
        pools_cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) return 0;
    pools[npools++] = copy;
    return npools;
}

static void clear_locked(void) {
    ep_stacktab_clear(&stacks);
    hp_gen++;
    free(live);
    live = NULL;
    live_n = live_cap = 0;
    for (size_t i = 0; i < (1u << FILTER_BITS); i++) atomic_store_explicit(&filter[i], 0, memory_order_relaxed);
    hp_dropped = 0;
    hp_seq = hp_inuse = hp_peak = hp_peak_seq = 0;
}

/* Entry `id` is about to change at a new event: first keep its value as of
 * the latest peak if it has not changed since.  Returns the event number. */
static inline uint64_t peak_touch(uint32_t id) {
    uint64_t *v = stacks.e[id].val;
    if (v[V_PSEQ] <= hp_peak_seq) {
        v[V_POBJ] = v[V_AOBJ] - v[V_FOBJ];
        v[V_PBYTES] = v[V_ABYTES] - v[V_FBYTES];
    }
    return v[V_PSEQ] = ++hp_seq;
}

/* ---- sampling ----------------------------------------------------------- */

/* Inline word compares: keys are a few words, a libc memcmp call costs more. */
static inline int same_key(const ep_stackent *e, const uintptr_t *epcs, const uintptr_t *pcs, size_t n,
                           const uint64_t *tag) {
    for (int i = 0; i < EP_STACKTAB_NTAG; i++)
        if (e->tag[i] != tag[i]) return 0;
    for (size_t i = 0; i < n; i++)
        if (epcs[i] != pcs[i]) return 0;
    return 1;
}

static EP_NOIPA void record(void *p, size_t size, uint32_t epoch) {
    uintptr_t pcs[EP_STACK_MAX];
    size_t n = ep_stack_capture(pcs, EP_STACK_MAX, CAPTURE_SKIP);
    const char *pool;
    uint32_t cls;
    _ep_alloc_tag_get(&pool, &cls);
    hp_lock_acquire();
    if (epoch == atomic_load(&hp_epoch)) {
        uint64_t tag[EP_STACKTAB_NTAG] = {size, pool_id(pool), pool ? cls : 0};
        uint32_t id;
        int err = 0;
        const ep_stackent *e = last.gen == hp_gen && last.id < stacks.n ? &stacks.e[last.id] : NULL;
        if (e && e->npcs == n && same_key(e, stacks.pcs + e->pc_off, pcs, n, tag)) {
            id = last.id;
        } else if ((err = ep_stacktab_find(&stacks, pcs, (uint32_t)n, tag, &id)) == 0) {
            last.gen = hp_gen;
            last.id = id;
        }
        if (!err && live_put((uintptr_t)p, id) == 0) {
            /* frees must look from now on; published before p is returned */
            atomic_store_explicit(&_ep_heapprof_watching, 1, memory_order_relaxed);
            uint64_t seq = peak_touch(id);
            stacks.e[id].val[V_AOBJ] += 1;
            stacks.e[id].val[V_ABYTES] += size;
            if ((hp_inuse += size) > hp_peak) {
                hp_peak = hp_inuse;
                hp_peak_seq = seq;
            }
        } else {
            hp_dropped++;
        }
    }
    hp_lock_release();
}

EP_NOIPA int64_t _ep_heapprof_sample(void *p, size_t size) {
    uint64_t rate = atomic_load_explicit(&hp_rate, memory_order_acquire);
    if (rate == 0) return RECHECK_BYTES;
    uint32_t epoch = atomic_load_explicit(&hp_epoch, memory_order_acquire);
    if (tl.epoch != epoch) {
        /* first allocation of this thread in this session: the countdown it
         * carries is stale, so start one here (memoryless: no bias) */
        tl.epoch = epoch;
        uint64_t seed = hp_seed ? hp_seed + atomic_fetch_add(&hp_thread_seq, 1)
                                : ep_now_ns() ^ (uintptr_t)&tl;
        tl.rng = splitmix(seed) | 1;
        int64_t left = next_gap(rate) - (int64_t)size;
        if (left > 0) return left;
    }
    record(p, size, epoch);
    return next_gap(rate);
}

void _ep_heapprof_free(void *p, size_t size) {
    (void)size; /* the sampled size is in the entry */
    if (!_ep_heapprof_maybe_live(p)) return;
    hp_lock_acquire();
    uint32_t id;
    if (live_take((uintptr_t)p, &id)) {
        uint64_t sz = stacks.e[id].tag[T_SIZE];
        peak_touch(id);
        stacks.e[id].val[V_FOBJ] += 1;
        stacks.e[id].val[V_FBYTES] += sz;
        hp_inuse -= sz;
        if (live_n == 0) atomic_store_explicit(&_ep_heapprof_watching, 0, memory_order_relaxed);
    }
    hp_lock_release();
}

/* ---- control ------------------------------------------------------------ */

/* fork() while another thread holds hp_lock would leave the child's copy
 * locked for ever: hold it across fork, release it on both sides. */
static void fork_prepare(void) { hp_lock_acquire(); }
static void fork_release(void) { hp_lock_release(); }
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) { pthread_atfork(fork_prepare, fork_release, fork_release); }

int ep_heapprof_start(uint64_t rate, uint64_t seed) {
    if (rate == 0) return EINVAL;
    int err = ep_stack_probe_init();
    if (err) return err;
    pthread_once(&atfork_once, register_atfork);
    hp_lock_acquire();
    if (atomic_load(&hp_rate) != 0) {
        hp_lock_release();
        return EALREADY;
    }
    clear_locked();
    hp_seed = seed;
    hp_session_rate = rate;
    atomic_store(&hp_thread_seq, 0);
    atomic_fetch_add(&hp_epoch, 1);
    atomic_store(&_ep_heapprof_watching, 0); /* nothing live after clear */
    atomic_store_explicit(&hp_rate, rate, memory_order_release);
    hp_lock_release();
    _ep_alloc_sample_reset_all();
    return 0;
}

void ep_heapprof_stop(void) {
    hp_lock_acquire();
    atomic_store(&hp_rate, 0);
    atomic_fetch_add(&hp_epoch, 1);
    atomic_store(&_ep_heapprof_watching, live_n > 0);
    hp_lock_release();
}

uint64_t ep_heapprof_rate(void) { return atomic_load(&hp_rate); }

int ep_heapprof_snapshot(ep_heapprof_snap *out) {
    hp_lock_acquire();
    size_t n = stacks.n, np = stacks.npcs;
    ep_heapprof_entry *e = malloc((n ? n : 1) * sizeof *e);
    uintptr_t *pcs = malloc((np ? np : 1) * sizeof *pcs);
    if (!e || !pcs) {
        hp_lock_release();
        free(e);
        free(pcs);
        return ENOMEM;
    }
    if (np) memcpy(pcs, stacks.pcs, np * sizeof *pcs);
    uint64_t peak_objs = 0;
    for (size_t i = 0; i < n; i++) {
        const ep_stackent *s = &stacks.e[i];
        int changed = s->val[V_PSEQ] > hp_peak_seq; /* since the peak */
        e[i] = (ep_heapprof_entry){
            .peak_objects = changed ? s->val[V_POBJ] : s->val[V_AOBJ] - s->val[V_FOBJ],
            .peak_bytes = changed ? s->val[V_PBYTES] : s->val[V_ABYTES] - s->val[V_FBYTES],
            .pc_off = s->pc_off, .npcs = s->npcs, .size = s->tag[T_SIZE],
            .pool = s->tag[T_POOL] ? pools[s->tag[T_POOL] - 1] : NULL,
            .size_class = (uint32_t)s->tag[T_CLASS],
            .alloc_objects = s->val[V_AOBJ], .alloc_bytes = s->val[V_ABYTES],
            .free_objects = s->val[V_FOBJ], .free_bytes = s->val[V_FBYTES],
        };
    }
    for (size_t i = 0; i < n; i++) peak_objs += e[i].peak_objects;
    *out = (ep_heapprof_snap){.rate = hp_session_rate, .dropped = hp_dropped, .n = n, .e = e, .pcs = pcs,
                              .events = hp_seq, .inuse_bytes = hp_inuse, .peak_bytes = hp_peak,
                              .peak_objects = peak_objs, .peak_event = hp_peak_seq};
    hp_lock_release();
    return 0;
}

size_t ep_heapprof_inuse(ep_heapprof_inuse_point *out, const char **names, uint64_t *bytes, size_t max) {
    hp_lock_acquire();
    out->events = hp_seq;
    out->inuse_bytes = hp_inuse;
    out->peak_bytes = hp_peak;
    out->peak_event = hp_peak_seq;
    /* per pool tag: summed over the entries (O(entries), here rather than
     * a counter per tag updated on every sampled event) */
    size_t n = (size_t)npools + 1 < max ? (size_t)npools + 1 : max;
    for (size_t i = 0; i < n; i++) {
        names[i] = i ? pools[i - 1] : NULL;
        bytes[i] = 0;
    }
    for (uint32_t i = 0; i < stacks.n; i++) {
        const ep_stackent *e = &stacks.e[i];
        if (e->tag[T_POOL] < n) bytes[e->tag[T_POOL]] += e->val[V_ABYTES] - e->val[V_FBYTES];
    }
    hp_lock_release();
    return n;
}

void ep_heapprof_snap_free(ep_heapprof_snap *s) {
    free(s->e);
    free(s->pcs);
    memset(s, 0, sizeof *s);
}
