/* pool.c — ep_pool: object pool with per-thread magazines and a shared depot.
 *
 * Design (Bonwick & Adams, "Magazines and Vmem", 2001): every thread has, per
 * pool, a cache (`tcache`) of two magazines, `loaded` and `prev`.  get pops
 * from `loaded`, put pushes onto it; when it is empty/full the two magazines
 * are swapped, and only when both are empty/full does the thread take the
 * pool's mutex to exchange a magazine with the depot (a stack of full
 * magazines and a stack of empty ones).  The fast path is a TLS load, a
 * bounds check, a pointer compare and the array access: no lock and no atomic
 * read-modify-write.  Fields another thread may read (round counts, counters)
 * are _Atomic but written only by their owner with relaxed load+store pairs,
 * which compile to plain moves.  That fast path is inlined into callers
 * (ep_pool.h): the head of the tcache (`f`, an _ep_pool_fast) and the
 * thread's last-used cache pointer are visible there; everything else stays
 * in this file, and the out-of-line _ep_pool_get/put_general are complete
 * get/put by themselves (debug and ASan builds use only them).
 *
 * Finding the cache: each pool owns a small integer `slot`; each thread owns
 * an array `tl.v` indexed by slot.  Empty entries point at `dummy_cache`
 * (whose pool is NULL), so the lookup needs no NULL test.  A cache belongs to
 * one thread for its life; it is attached to one pool at a time and linked in
 * that pool's `caches` list.
 *
 * Locks: `global_lock` (slot table, attach/detach of caches, destroy, thread
 * exit) is taken before a pool's `lock` (depot, reservations, cache list,
 * retired counters).  A cache's list links change only with both held, so
 * stats readers need only the pool lock.
 *
 * Caps: with a cap, a thread may only cache objects it holds a reservation
 * for.  Invariant (under the pool lock): p->reserved = depot_objs + Σ
 * c->reserved ≤ cap_objs, and c->reserved ≥ c->f.n + c->prev_n; with a shared
 * budget, the budget's `used` includes p->reserved × obj_size.  A put that
 * finds no reservation left takes more (up to a magazine) under the lock, or
 * drops the object when the cap is reached.  Single-threaded, reservations
 * only grow when the thread's rounds have caught up with them, so a drop
 * happens exactly when depot + magazines hold the cap.  A thread's unused
 * reservation (after gets) is given back on its next depot visit.  A shared
 * budget (buffer-pool classes) is reserved one object at a time, so the room
 * a class holds beyond what it retains is at most what it has handed out.
 *
 * Peak: each thread keeps the high-water mark `hw` of its rounds (n + prev_n)
 * since its last depot visit; under the lock, peak = max(peak, depot_objs +
 * Σ hw).  The depot only changes under the lock, where the visiting thread
 * folds its high-water mark in first, so the peak is exact single-threaded
 * and an upper bound with several threads.
 *
 * Trim: frees the depot and the caller's magazines now, and bumps
 * `trim_gen`; other threads free what their magazines hold the next time they
 * visit the depot with a stale generation, or give it to the depot at exit.
 */
#include "ep_pool_internal.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RLD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define RST(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
#define RINC(x, v) RST(x, RLD(x) + (v))

/* ---- debug header ------------------------------------------------------- */

/* EP_DEBUG builds prefix every object with a header naming its pool and
 * whether it is in the pool or handed out, so a foreign or doubly-put pointer
 * is caught.  16 bytes keep the object 16-byte aligned. */
#ifdef EP_DEBUG
#define HDR_SIZE ((size_t)16)
#define HDR_MAGIC UINT64_C(0x9E3779B97F4A7C15)
#define HDR_OUT UINT64_C(0x0D7D0D7D0D7D0D7D) /* handed out */
#define HDR_IN UINT64_C(0x1A1A1A1A1A1A1A1A)  /* in the pool */
typedef struct hdr { uint64_t tag, state; } hdr;
#define HDR(obj) ((hdr *)((char *)(obj) - HDR_SIZE))
#else
#define HDR_SIZE ((size_t)0)
#endif

/* ---- structures --------------------------------------------------------- */

typedef struct magazine {
    struct magazine *next; /* depot stacks */
    unsigned rounds;       /* valid while in the depot; a cache keeps its own counts */
    void *obj[];
} magazine;

typedef struct tcache {
    /* fast-path fields (ep_pool.h), owner-written; first, so a tcache * and
     * a pointer to its f convert into each other.  f.fast_top is min(lim,
     * hw_n) for plain pools, else 0: the fast put's one compare (below the
     * high-water mark, hw needs no update) */
    _ep_pool_fast f;
    unsigned hw_n;           /* hw - prev_n: high-water of n, for a one-compare update */
    _Atomic unsigned prev_n; /* rounds in prev */
    _Atomic unsigned hw;     /* high-water of n + prev_n since the last depot visit */
    unsigned reserved;       /* retention slots held (capped pools) */
    magazine *loaded, *prev;
    _Atomic uint64_t misses, drops, clear_ns, init_failures;
    /* slow-path fields */
    uint64_t pool_id, trim_gen;
    uint32_t slot;
    struct tcache *lnext, *lprev; /* pool's cache list */
} tcache;

struct ep_pool {
    /* read-only after creation: shared by every thread's fast path */
    uint32_t slot;
    int bypass, clear_on_put, capped;
    int plain; /* no reset callback, no clear: put is a pointer store */
    unsigned mag_cap;
    size_t obj_size;   /* what the user sees */
    size_t alloc_size; /* obj_size + HDR_SIZE */
    uint64_t id;
    int (*init)(void *, void *);
    void (*reset)(void *, void *);
    void (*fini)(void *, void *);
    void *ctx;
    char *name;
    size_t name_size;
    uint32_t size_class;
    size_t cap_objs; /* SIZE_MAX = unlimited */
    _ep_pool_budget *budget;

    /* under `lock`; on their own cache lines so fast paths never share them */
    alignas(EP_CACHELINE) pthread_mutex_t lock;
    magazine *full, *empty;
    size_t depot_objs;
    size_t reserved;
    tcache *caches;
    uint64_t trim_gen;
    uint64_t peak_objs;
    ep_pool_stats retired; /* counters of caches that detached, and of uncached operations */
};

/* ---- globals: slot table, per-thread cache array ------------------------ */

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static ep_pool **slots;
static uint32_t nslots;
static _Atomic uint64_t next_id = 1;
static tcache dummy_cache; /* pool == NULL: never matches */
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

/* initial-exec: this file is part of a dlopen'ed extension; the default TLS
 * model would cost a __tls_get_addr call on every get and put. */
static __thread struct {
    tcache **v;
    uint32_t n;
} tl __attribute__((tls_model("initial-exec")));
/* The cache used last: most code uses one pool at a time, and this turns the
 * lookup into one TLS load and one compare. */
__thread _ep_pool_fast *_ep_pool_tl_last __attribute__((tls_model("initial-exec"))) = &dummy_cache.f;
#define tl_last ((tcache *)_ep_pool_tl_last)

static void thread_exit(void *unused);
static void make_key(void) { pthread_key_create(&tl_key, thread_exit); }

/* ---- object allocation -------------------------------------------------- */

static inline void *obj_alloc(ep_pool *p) {
    const char *otag;
    uint32_t oclass;
    _ep_alloc_tag_get(&otag, &oclass);
    _ep_alloc_tag_set(p->name, p->size_class);
    /* clear_on_put promises zeroed objects, fresh ones included */
    void *raw = p->clear_on_put ? ep_calloc(p->alloc_size) : ep_alloc(p->alloc_size);
    _ep_alloc_tag_set(otag, oclass);
    if (!raw) return NULL;
    void *obj = (char *)raw + HDR_SIZE;
#ifdef EP_DEBUG
    HDR(obj)->tag = p->id ^ HDR_MAGIC;
    HDR(obj)->state = HDR_OUT;
#endif
    if (p->init && p->init(obj, p->ctx) != 0) {
        ep_free(raw, p->alloc_size);
        return NULL;
    }
    return obj;
}

/* Free an object that is in the pool (poisoned) or being dropped. */
static void obj_free(ep_pool *p, void *obj) {
    EP_UNPOISON(obj, p->obj_size);
    if (p->fini) p->fini(obj, p->ctx);
    ep_free((char *)obj - HDR_SIZE, p->alloc_size);
}

static magazine *mag_new(ep_pool *p) {
    const char *otag;
    uint32_t oclass;
    _ep_alloc_tag_get(&otag, &oclass);
    _ep_alloc_tag_set(p->name, 0);
    magazine *m = ep_alloc(sizeof(magazine) + p->mag_cap * sizeof(void *));
    _ep_alloc_tag_set(otag, oclass);
    if (m) {
        m->next = NULL;
        m->rounds = 0;
    }
    return m;
}

static void mag_free(ep_pool *p, magazine *m) {
    if (m) ep_free(m, sizeof(magazine) + p->mag_cap * sizeof(void *));
}

/* Free a chain of depot magazines and the objects they hold. */
static size_t chain_free(ep_pool *p, magazine *m) {
    size_t freed = 0;
    while (m) {
        magazine *next = m->next;
        for (unsigned i = 0; i < m->rounds; i++) obj_free(p, m->obj[i]);
        freed += m->rounds;
        mag_free(p, m);
        m = next;
    }
    return freed;
}

/* Object leaves the pool / enters it: sanitizer poisoning, debug state. */
static inline void *hand_out(ep_pool *p, void *obj) {
    EP_UNPOISON(obj, p->obj_size);
#ifdef EP_DEBUG
    ep_assert(HDR(obj)->tag == (p->id ^ HDR_MAGIC) && HDR(obj)->state == HDR_IN);
    HDR(obj)->state = HDR_OUT;
#else
    EP_UNUSED(p);
#endif
    return obj;
}

/* Prepare an object for caching: reset, clear (timed), poison. */
static inline void take_in(ep_pool *p, tcache *c, void *obj) {
    if (p->reset) p->reset(obj, p->ctx);
    if (p->clear_on_put) {
        uint64_t t0 = ep_now_ns();
        memset(obj, 0, p->obj_size);
        RINC(c->clear_ns, ep_now_ns() - t0);
    }
#ifdef EP_DEBUG
    HDR(obj)->state = HDR_IN;
#endif
    EP_POISON(obj, p->obj_size);
}

/* ---- reservations (capped pools; under p->lock) ------------------------- */

static void budget_release(ep_pool *p, size_t objs) {
    if (objs == 0) return;
    ep_assert(p->reserved >= objs);
    p->reserved -= objs;
    if (p->budget) atomic_fetch_sub_explicit(&p->budget->used, objs * p->obj_size, memory_order_relaxed);
}

/* Reserve up to `want` slots; returns how many were granted. */
static size_t budget_reserve(ep_pool *p, size_t want) {
    size_t room = p->cap_objs == SIZE_MAX ? SIZE_MAX : p->cap_objs - p->reserved;
    if (want > room) want = room;
    if (want == 0) return 0;
    if (p->budget) {
        size_t used = atomic_load_explicit(&p->budget->used, memory_order_relaxed);
        for (;;) {
            size_t broom = used >= p->budget->max ? 0 : (p->budget->max - used) / p->obj_size;
            size_t got = want < broom ? want : broom;
            if (got == 0) return 0;
            if (atomic_compare_exchange_weak_explicit(&p->budget->used, &used, used + got * p->obj_size,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                want = got;
                break;
            }
        }
    }
    p->reserved += want;
    return want;
}

static inline void set_lim(ep_pool *p, tcache *c) {
    unsigned prev_n = RLD(c->prev_n);
    if (p->bypass) {
        c->f.lim = 0; /* every put takes the slow path, which frees */
    } else if (!p->capped) {
        c->f.lim = p->mag_cap;
    } else {
        unsigned r = c->reserved - prev_n; /* reserved ≥ n + prev_n */
        c->f.lim = r < p->mag_cap ? r : p->mag_cap;
    }
    c->f.fast_top = p->plain ? (c->f.lim < c->hw_n ? c->f.lim : c->hw_n) : 0;
}

/* Fold every cache's high-water mark into the peak (under p->lock), then
 * restart the caller's mark at its current rounds. */
static void peak_update(ep_pool *p, tcache *self) {
    uint64_t cur = p->depot_objs;
    for (tcache *c = p->caches; c; c = c->lnext) {
        unsigned now = RLD(c->f.n) + RLD(c->prev_n);
        unsigned hw = RLD(c->hw);
        cur += hw > now ? hw : now;
    }
    /* retained never exceeds the caps, so neither may their upper bound */
    if (cur > p->cap_objs) cur = p->cap_objs;
    if (p->budget && cur > p->budget->max / p->obj_size) cur = p->budget->max / p->obj_size;
    if (cur > p->peak_objs) p->peak_objs = cur;
    if (self) {
        unsigned n = RLD(self->f.n), prev_n = RLD(self->prev_n);
        RST(self->hw, n + prev_n);
        self->hw_n = n;
    }
}

/* A cache whose trim generation is stale frees what it holds (under lock). */
static void flush_if_trimmed(ep_pool *p, tcache *c) {
    if (c->trim_gen == p->trim_gen) return;
    c->trim_gen = p->trim_gen;
    unsigned n = RLD(c->f.n), prev_n = RLD(c->prev_n);
    for (unsigned i = 0; i < n; i++) obj_free(p, c->loaded->obj[i]);
    for (unsigned i = 0; i < prev_n; i++) obj_free(p, c->prev->obj[i]);
    RST(c->f.n, 0);
    RST(c->prev_n, 0);
    p->retired.trimmed += n + prev_n;
    if (p->capped) {
        budget_release(p, c->reserved);
        c->reserved = 0;
    }
    RST(c->hw, 0);
    c->hw_n = 0;
    set_lim(p, c);
}

/* ---- attach / detach ---------------------------------------------------- */

/* Slow path of the lookup: give this thread a cache for p.  NULL on ENOMEM
 * (the caller then works uncached). */
static tcache *tc_attach(ep_pool *p) {
    pthread_once(&tl_once, make_key);
    uint32_t s = p->slot;
    if (s >= tl.n) {
        uint32_t nn = tl.n ? tl.n * 2 : 8;
        while (nn <= s) nn *= 2;
        tcache **v = ep_realloc(tl.v, tl.n * sizeof *v, nn * sizeof *v);
        if (!v) return NULL;
        for (uint32_t i = tl.n; i < nn; i++) v[i] = &dummy_cache;
        if (!tl.v) pthread_setspecific(tl_key, (void *)1);
        tl.v = v;
        tl.n = nn;
    }
    tcache *c = tl.v[s];
    if (c == &dummy_cache) {
        c = ep_alloc_aligned(sizeof *c, EP_CACHELINE);
        if (!c) return NULL;
        memset(c, 0, sizeof *c);
        c->slot = s;
        tl.v[s] = c;
    }
    _ep_pool_tl_last = &c->f;
    /* c is new, or was detached when its previous pool was destroyed */
    ep_assert(RLD(c->f.pool) == NULL && c->loaded == NULL && c->prev == NULL);
    magazine *a = NULL, *b = NULL;
    if (!p->bypass) {
        a = mag_new(p);
        b = mag_new(p);
        if (!a || !b) {
            mag_free(p, a);
            mag_free(p, b);
            return NULL;
        }
    }
    RST(c->f.n, 0);
    RST(c->prev_n, 0);
    RST(c->hw, 0);
    c->hw_n = 0;
    c->reserved = 0;
    c->loaded = a;
    c->prev = b;
    c->f.objs = a ? a->obj : NULL;
    RST(c->f.hits, 0);
    RST(c->misses, 0);
    RST(c->f.puts, 0);
    RST(c->drops, 0);
    RST(c->clear_ns, 0);
    RST(c->init_failures, 0);
    c->pool_id = p->id;
    set_lim(p, c);
    pthread_mutex_lock(&global_lock);
    pthread_mutex_lock(&p->lock);
    c->trim_gen = p->trim_gen;
    c->lprev = NULL;
    c->lnext = p->caches;
    if (p->caches) p->caches->lprev = c;
    p->caches = c;
    RST(c->f.pool, p);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&global_lock);
    return c;
}

static void unlink_cache(ep_pool *p, tcache *c) {
    if (c->lprev) c->lprev->lnext = c->lnext; else p->caches = c->lnext;
    if (c->lnext) c->lnext->lprev = c->lprev;
    c->lnext = c->lprev = NULL;
}

static void fold_counters(ep_pool *p, tcache *c) {
    p->retired.hits += RLD(c->f.hits);
    p->retired.misses += RLD(c->misses);
    p->retired.puts += RLD(c->f.puts);
    p->retired.drops += RLD(c->drops);
    p->retired.clear_ns += RLD(c->clear_ns);
    p->retired.init_failures += RLD(c->init_failures);
}

/* Push a magazine onto a depot stack (under lock). */
static void depot_push(ep_pool *p, magazine *m, unsigned rounds) {
    m->rounds = rounds;
    if (rounds) {
        m->next = p->full;
        p->full = m;
        p->depot_objs += rounds;
    } else {
        m->next = p->empty;
        p->empty = m;
    }
}

/* pthread key destructor: give every live pool this thread's magazines. */
static void thread_exit(void *unused) {
    EP_UNUSED(unused);
    tcache **v = tl.v;
    uint32_t n = tl.n;
    tl.v = NULL;
    tl.n = 0;
    _ep_pool_tl_last = &dummy_cache.f;
    pthread_mutex_lock(&global_lock);
    for (uint32_t s = 0; s < n; s++) {
        tcache *c = v[s];
        if (c == &dummy_cache) continue;
        ep_pool *p = RLD(c->f.pool);
        /* The id check is belt and braces: destroy clears c->f.pool. */
        if (p && s < nslots && slots[s] == p && p->id == c->pool_id) {
            pthread_mutex_lock(&p->lock);
            peak_update(p, NULL);
            unsigned rn = RLD(c->f.n), rp = RLD(c->prev_n);
            if (c->trim_gen != p->trim_gen) {
                flush_if_trimmed(p, c);
                rn = rp = 0;
            }
            if (c->loaded) depot_push(p, c->loaded, rn);
            if (c->prev) depot_push(p, c->prev, rp);
            if (p->capped) budget_release(p, c->reserved - rn - rp);
            fold_counters(p, c);
            unlink_cache(p, c);
            pthread_mutex_unlock(&p->lock);
        }
        ep_free(c, sizeof *c);
    }
    pthread_mutex_unlock(&global_lock);
    ep_free(v, n * sizeof *v);
}

/* ---- create / destroy --------------------------------------------------- */

static unsigned default_mag_cap(size_t obj_size) {
    if (obj_size <= 256) return 64;
    if (obj_size <= 4096) return 32;
    if (obj_size <= 65536) return 8;
    return 4;
}

int _ep_pool_create_budgeted(const ep_pool_config *cfg, _ep_pool_budget *budget, ep_pool **out) {
    if (!cfg || !out || cfg->obj_size == 0 || cfg->obj_size > ((size_t)1 << 40)) return EINVAL;
    if (cfg->magazine_size > 4096) return EINVAL;
    const char *name = cfg->name ? cfg->name : "pool";
    size_t name_size = strlen(name) + 1;
    ep_pool *p = ep_alloc_aligned(sizeof *p, EP_CACHELINE);
    if (!p) return ENOMEM;
    memset(p, 0, sizeof *p);
    p->name = ep_alloc(name_size);
    if (!p->name) {
        ep_free(p, sizeof *p);
        return ENOMEM;
    }
    memcpy(p->name, name, name_size);
    p->name_size = name_size;
    p->obj_size = cfg->obj_size;
    p->alloc_size = cfg->obj_size + HDR_SIZE;
    p->init = cfg->init;
    p->reset = cfg->reset;
    p->fini = cfg->fini;
    p->ctx = cfg->ctx;
    p->clear_on_put = cfg->clear_on_put != 0;
    p->plain = !cfg->reset && !p->clear_on_put;
    p->size_class = cfg->size_class;
    p->mag_cap = cfg->magazine_size ? cfg->magazine_size : default_mag_cap(cfg->obj_size);
    size_t cap = SIZE_MAX;
    if (cfg->max_objects) cap = cfg->max_objects;
    if (cfg->max_bytes && cfg->max_bytes / cfg->obj_size < cap) cap = cfg->max_bytes / cfg->obj_size;
    p->cap_objs = cap;
    p->budget = budget;
    p->capped = cap != SIZE_MAX || budget != NULL;
    const char *bp = getenv("EP_POOL_BYPASS");
    p->bypass = bp && bp[0] && strcmp(bp, "0") != 0;
    p->id = atomic_fetch_add(&next_id, 1);
    pthread_mutex_init(&p->lock, NULL);

    pthread_mutex_lock(&global_lock);
    uint32_t s = 0;
    while (s < nslots && slots[s]) s++;
    if (s == nslots) {
        uint32_t nn = nslots ? nslots * 2 : 16;
        ep_pool **ns = ep_realloc(slots, nslots * sizeof *ns, nn * sizeof *ns);
        if (!ns) {
            pthread_mutex_unlock(&global_lock);
            pthread_mutex_destroy(&p->lock);
            ep_free(p->name, name_size);
            ep_free(p, sizeof *p);
            return ENOMEM;
        }
        for (uint32_t i = nslots; i < nn; i++) ns[i] = NULL;
        slots = ns;
        nslots = nn;
    }
    slots[s] = p;
    p->slot = s;
    pthread_mutex_unlock(&global_lock);
    *out = p;
    return 0;
}

int ep_pool_create(const ep_pool_config *cfg, ep_pool **out) {
    return _ep_pool_create_budgeted(cfg, NULL, out);
}

void ep_pool_destroy(ep_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&global_lock);
    pthread_mutex_lock(&p->lock);
    /* Caches of every thread: the contract is that none uses p any more. */
    while (p->caches) {
        tcache *c = p->caches;
        unsigned rn = RLD(c->f.n), rp = RLD(c->prev_n);
        for (unsigned i = 0; i < rn; i++) obj_free(p, c->loaded->obj[i]);
        for (unsigned i = 0; i < rp; i++) obj_free(p, c->prev->obj[i]);
        mag_free(p, c->loaded);
        mag_free(p, c->prev);
        c->loaded = c->prev = NULL;
        c->f.objs = NULL;
        RST(c->f.n, 0);
        RST(c->prev_n, 0);
        c->f.lim = c->f.fast_top = 0;
        unlink_cache(p, c);
        RST(c->f.pool, NULL);
    }
    chain_free(p, p->full);
    chain_free(p, p->empty);
    if (p->budget) atomic_fetch_sub_explicit(&p->budget->used, p->reserved * p->obj_size, memory_order_relaxed);
    slots[p->slot] = NULL;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&global_lock);
    pthread_mutex_destroy(&p->lock);
    ep_free(p->name, p->name_size);
    ep_free(p, sizeof *p);
}

/* ---- get / put ---------------------------------------------------------- */

static tcache *__attribute__((noinline)) tc_lookup_slot(ep_pool *p) {
    uint32_t s = p->slot;
    if (EP_LIKELY(s < tl.n)) {
        tcache *c = tl.v[s];
        if (EP_LIKELY(RLD(c->f.pool) == p)) {
            _ep_pool_tl_last = &c->f;
            return c;
        }
    }
    return NULL;
}

/* This thread's cache for p, or NULL when it has none yet.  A destroyed
 * pool's caches have pool == NULL, so a new pool at the same address never
 * matches a stale cache. */
static inline tcache *tc_lookup(ep_pool *p) {
    tcache *c = tl_last;
    if (EP_LIKELY(RLD(c->f.pool) == p)) return c;
    return tc_lookup_slot(p);
}

static inline void swap_mags(tcache *c) {
    magazine *m = c->loaded;
    unsigned n = RLD(c->f.n);
    c->loaded = c->prev;
    c->prev = m;
    c->f.objs = c->loaded->obj;
    RST(c->f.n, RLD(c->prev_n));
    RST(c->prev_n, n);
    /* keep hw (a total) meaningful: hw_n is relative to the new prev_n */
    unsigned hw = RLD(c->hw);
    c->hw_n = hw - n;
}

static void *__attribute__((noinline)) get_slow(ep_pool *p, tcache *c) {
    if (!c) c = tc_attach(p);
    if (EP_UNLIKELY(!c)) {
        /* no cache (ENOMEM): allocate uncached, count under the lock */
        void *obj = obj_alloc(p);
        pthread_mutex_lock(&p->lock);
        if (obj) p->retired.misses++; else p->retired.init_failures++;
        pthread_mutex_unlock(&p->lock);
        return obj;
    }
    if (!p->bypass) {
        if (RLD(c->prev_n) > 0) {
            swap_mags(c);
            set_lim(p, c);
            unsigned n = RLD(c->f.n) - 1;
            void *obj = c->f.objs[n];
            RST(c->f.n, n);
            RINC(c->f.hits, 1);
            return hand_out(p, obj);
        }
        /* both magazines empty: visit the depot */
        pthread_mutex_lock(&p->lock);
        flush_if_trimmed(p, c);
        peak_update(p, c);
        if (p->capped) {
            /* give back the unused reservation; a full magazine brings its own */
            budget_release(p, c->reserved);
            c->reserved = 0;
        }
        magazine *m = p->full;
        if (m) {
            p->full = m->next;
            p->depot_objs -= m->rounds;
            if (p->capped) c->reserved = m->rounds; /* moves from depot to us */
            depot_push(p, c->loaded, 0); /* our empty one */
            c->loaded = m;
            c->f.objs = m->obj;
            RST(c->f.n, m->rounds);
            peak_update(p, c);
            set_lim(p, c);
            unsigned n = m->rounds - 1;
            void *obj = c->f.objs[n];
            RST(c->f.n, n);
            RINC(c->f.hits, 1);
            pthread_mutex_unlock(&p->lock);
            return hand_out(p, obj);
        }
        set_lim(p, c);
        pthread_mutex_unlock(&p->lock);
    }
    void *obj = obj_alloc(p);
    if (obj) RINC(c->misses, 1); else RINC(c->init_failures, 1);
    return obj;
}

/* Lookup through the slot table, then the fast pop, else the slow path. */
static void *__attribute__((noinline)) get_general(ep_pool *p) {
    tcache *c = tc_lookup(p);
    if (c) {
        unsigned n = RLD(c->f.n);
        if (n > 0) {
            void *obj = c->f.objs[--n];
            RST(c->f.n, n);
            RINC(c->f.hits, 1);
            return hand_out(p, obj);
        }
    }
    return get_slow(p, c);
}

#ifdef EP_TEST_FAULT_DOUBLE_HANDOUT
/* Fault injection for the stress test's own test (make stress-broken): now
 * and then hand out the top object without popping it, so it is handed out
 * twice.  Never compiled into the library. */
static __thread unsigned fault_tick;
#endif

void *_ep_pool_get_general(ep_pool *p) {
    /* fast path: the last cache used is p's and its magazine is not empty */
    tcache *c = tl_last;
    if (EP_LIKELY(RLD(c->f.pool) == p)) {
        unsigned n = RLD(c->f.n);
#ifdef EP_TEST_FAULT_DOUBLE_HANDOUT
        if (n > 0 && ++fault_tick % 997 == 0) return hand_out(p, c->f.objs[n - 1]);
#endif
        if (EP_LIKELY(n > 0)) {
            void *obj = c->f.objs[--n];
            RST(c->f.n, n);
            RINC(c->f.hits, 1);
            return hand_out(p, obj);
        }
    }
    return get_general(p);
}

static void drop(ep_pool *p, tcache *c, void *obj) {
    if (c) {
        RINC(c->f.puts, 1);
        RINC(c->drops, 1);
    } else {
        pthread_mutex_lock(&p->lock);
        p->retired.puts++;
        p->retired.drops++;
        pthread_mutex_unlock(&p->lock);
    }
    obj_free(p, obj);
}

static inline void push(ep_pool *p, tcache *c, void *obj) {
    take_in(p, c, obj);
    unsigned n = RLD(c->f.n);
    c->f.objs[n++] = obj;
    RST(c->f.n, n);
    RINC(c->f.puts, 1);
    if (EP_UNLIKELY(n > c->hw_n)) {
        c->hw_n = n;
        RST(c->hw, n + RLD(c->prev_n));
        if (p->plain) c->f.fast_top = c->f.lim < n ? c->f.lim : n;
    }
}

static void __attribute__((noinline)) put_slow(ep_pool *p, tcache *c, void *obj) {
    if (!c) c = tc_attach(p);
    if (!c || p->bypass) {
        drop(p, c, obj);
        return;
    }
    unsigned n = RLD(c->f.n);
    if (n == p->mag_cap && RLD(c->prev_n) == 0) {
        /* loaded full, prev empty: swap, no lock */
        swap_mags(c);
        set_lim(p, c);
        n = 0;
        if (n < c->f.lim) {
            push(p, c, obj);
            return;
        }
    }
    pthread_mutex_lock(&p->lock);
    flush_if_trimmed(p, c);
    peak_update(p, c);
    n = RLD(c->f.n);
    if (n == p->mag_cap) {
        /* both full: prev goes to the depot (with its reservation), loaded
         * becomes prev, an empty magazine becomes loaded */
        magazine *e = p->empty;
        if (e) p->empty = e->next; else e = mag_new(p);
        if (e) {
            unsigned rp = RLD(c->prev_n);
            depot_push(p, c->prev, rp);
            if (p->capped) c->reserved -= rp;
            c->prev = c->loaded;
            RST(c->prev_n, n);
            c->loaded = e;
            c->f.objs = e->obj;
            RST(c->f.n, 0);
            n = 0;
            peak_update(p, c);
        }
    }
    if (p->capped && n < p->mag_cap && n + RLD(c->prev_n) >= c->reserved) {
        /* A shared budget is reserved one object at a time: room one class
         * held unused would be room no other class could retain in.  Only a
         * put that grows what the thread retains comes here; get/put cycles
         * reuse the reservation on the fast path. */
        size_t want = p->budget ? 1 : p->mag_cap - n;
        c->reserved += (unsigned)budget_reserve(p, want);
    }
    set_lim(p, c);
    pthread_mutex_unlock(&p->lock);
    if (n < c->f.lim) push(p, c, obj); else drop(p, c, obj);
}

/* Everything but the plain fast path: NULL, debug checks, reset/clear
 * callbacks, full magazines.  Kept out of line so the fast path needs no
 * callee-saved registers. */
/* Everything but the plain fast path: lookup through the slot table, NULL,
 * debug checks, reset/clear callbacks, full magazines.  Out of line so the
 * fast path needs no stack frame. */
static void __attribute__((noinline)) put_general(ep_pool *p, void *obj) {
    if (EP_UNLIKELY(obj == NULL)) return;
#ifdef EP_DEBUG
    if (HDR(obj)->tag != (p->id ^ HDR_MAGIC) || HDR(obj)->state != HDR_OUT) {
        fprintf(stderr, "ep_pool_put(%s): %p was not handed out by this pool, or was put twice\n", p->name, obj);
        abort();
    }
#endif
    tcache *c = tc_lookup(p);
    if (EP_LIKELY(c != NULL) && EP_LIKELY(RLD(c->f.n) < c->f.lim)) {
        push(p, c, obj);
        return;
    }
    put_slow(p, c, obj);
}

void _ep_pool_put_general(ep_pool *p, void *obj) {
#ifndef EP_DEBUG
    /* fast path: plain pool (no reset, no clear; fast_top is 0 otherwise),
     * the last cache used is p's, room in its magazine below the high-water
     * mark (rising above it takes put_general, which moves the mark) */
    tcache *c = tl_last;
    if (EP_LIKELY(RLD(c->f.pool) == p) && EP_LIKELY(obj != NULL)) {
        unsigned n = RLD(c->f.n);
        if (EP_LIKELY(n < c->f.fast_top)) {
            EP_POISON(obj, p->obj_size);
            c->f.objs[n++] = obj;
            RST(c->f.n, n);
            RINC(c->f.puts, 1);
            return;
        }
    }
#endif
    put_general(p, obj);
}

int ep_pool_put_checked(ep_pool *p, void *obj) {
    if (!p || !obj) return EINVAL;
#ifdef EP_DEBUG
#if defined(EP_SANITIZE_ADDRESS) || defined(__SANITIZE_ADDRESS__)
    /* a foreign heap pointer's "header" is usually a redzone: don't read it */
    if (__asan_region_is_poisoned((char *)obj - HDR_SIZE, HDR_SIZE)) return EINVAL;
#endif
    if (HDR(obj)->tag != (p->id ^ HDR_MAGIC) || HDR(obj)->state != HDR_OUT) return EINVAL;
#endif
    ep_pool_put(p, obj);
    return 0;
}

/* ---- trim / stats ------------------------------------------------------- */

void ep_pool_trim(ep_pool *p) {
    tcache *c = tc_lookup(p);
    pthread_mutex_lock(&p->lock);
    peak_update(p, c);
    p->retired.trims++;
    p->trim_gen++;
    magazine *full = p->full, *empty = p->empty;
    size_t depot = p->depot_objs;
    p->full = p->empty = NULL;
    p->depot_objs = 0;
    if (p->capped) budget_release(p, depot);
    p->retired.trimmed += depot;
    if (c) flush_if_trimmed(p, c); /* the caller's magazines, now */
    pthread_mutex_unlock(&p->lock);
    /* free outside the lock: fini may be slow */
    chain_free(p, full);
    chain_free(p, empty);
}

void _ep_pool_stats_add(ep_pool_stats *a, const ep_pool_stats *b) {
#define EP_ADD_(f) a->f += b->f;
    EP_POOL_STATS_COUNTERS(EP_ADD_)
#undef EP_ADD_
}

void ep_pool_stats_read(const ep_pool *cp, ep_pool_stats *out) {
    ep_pool *p = (ep_pool *)cp; /* the lock and the peak are mutable */
    ep_pool_stats s;
    pthread_mutex_lock(&p->lock);
    s = p->retired;
    uint64_t retained = p->depot_objs;
    for (tcache *c = p->caches; c; c = c->lnext) {
        s.hits += RLD(c->f.hits);
        s.misses += RLD(c->misses);
        s.puts += RLD(c->f.puts);
        s.drops += RLD(c->drops);
        s.clear_ns += RLD(c->clear_ns);
        s.init_failures += RLD(c->init_failures);
        retained += RLD(c->f.n) + RLD(c->prev_n);
    }
    peak_update(p, NULL);
    s.peak_retained_bytes = p->peak_objs * p->obj_size;
    pthread_mutex_unlock(&p->lock);
    s.gets = s.hits + s.misses + s.init_failures;
    s.retained_objects = retained;
    s.retained_bytes = retained * p->obj_size;
    *out = s;
}

size_t ep_pool_obj_size(const ep_pool *p) { return p->obj_size; }
const char *ep_pool_name(const ep_pool *p) { return p->name; }
int ep_pool_bypassed(const ep_pool *p) { return p->bypass; }
