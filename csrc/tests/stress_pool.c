/* stress_pool.c — multi-threaded torture test of ep_pool, ep_bufpool,
 * ep_strbuf_pool and ep_workerpool (in the spirit of mimalloc's
 * test/test-stress.c).
 *
 * Every object handed out is stamped with its owner thread and a sequence
 * number (and a check word), verified on every get (it must carry the "free"
 * stamp, or be zero for clear-on-put pools) and before every put (it must
 * still carry our stamp): an object handed to two threads at once, or
 * scribbled on while in the pool, is caught.  At the end the books must
 * balance: objects created (init calls) − objects freed (fini calls) ==
 * objects retained, misses == drops + trimmed + retained, and every byte
 * allocated through ep_alloc has been freed.
 *
 * Phase 0 checks that checked puts refuse foreign, doubly-put and misfiled
 * pointers.  Phases, each with NTHREADS threads:
 *   1 uncapped pool with init/reset/fini, random get/put with up to 64 held;
 *   2 capped pool (objects), clear-on-put, while a monitor thread trims and
 *     checks the cap from outside;
 *   3 waves of short-lived threads that exit with full magazines;
 *   4 buffer pool with a shared byte cap, random sizes, stamped ends;
 *   5 string-builder pool; 6 worker pool runs every job exactly once.
 *
 * Usage: stress_pool [iterations-per-thread] (default 1000000; env
 * STRESS_ITERS overrides the default).  Exit status 0 = pass.
 */
#include "enginepools.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define MAXHELD 64
#define FREE_STAMP UINT64_C(0xF4EEF4EEF4EEF4EE)

static long iters = 1000000;
static atomic_int failures;

#define CHECK(c, ...)                                                        \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #c);     \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            if (atomic_fetch_add(&failures, 1) > 20) abort();                \
        }                                                                    \
    } while (0)

typedef struct obj {
    uint64_t owner, seq, check, pad[5];
} obj; /* 64 bytes */

static uint64_t rnd(uint64_t *s) { /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(2685821657736338717);
}

/* ---- object pool callbacks: count lives ---------------------------------- */

static atomic_long inits, finis, resets;

static int cb_init(void *o, void *ctx) {
    (void)ctx;
    obj *b = o;
    b->owner = FREE_STAMP;
    atomic_fetch_add_explicit(&inits, 1, memory_order_relaxed);
    return 0;
}
static int cb_count_init(void *o, void *ctx) { /* leaves a zeroed object zeroed */
    (void)o; (void)ctx;
    atomic_fetch_add_explicit(&inits, 1, memory_order_relaxed);
    return 0;
}
static void cb_reset(void *o, void *ctx) {
    (void)o; (void)ctx;
    atomic_fetch_add_explicit(&resets, 1, memory_order_relaxed);
}
static void cb_fini(void *o, void *ctx) {
    (void)ctx;
    obj *b = o;
    /* an object being freed is in the pool: it carries the free stamp (or is zeroed) */
    CHECK(b->owner == FREE_STAMP || b->owner == 0, "fini of an object still owned by %llu",
          (unsigned long long)b->owner);
    atomic_fetch_add_explicit(&finis, 1, memory_order_relaxed);
}

/* ---- phases 1-3: object pool workers ------------------------------------- */

typedef struct targ {
    ep_pool *pool;
    uint64_t id;   /* 1-based owner stamp */
    long ops;      /* gets to perform */
    int zeroed;    /* clear-on-put: objects arrive zeroed */
    int keep_held; /* exit without putting back what is held (phase 3: no) */
} targ;

static void stamp(obj *o, uint64_t id, uint64_t seq) {
    o->owner = id;
    o->seq = seq;
    o->check = id ^ seq ^ UINT64_C(0x5bd1e995);
}

static void verify_mine(const obj *o, uint64_t id) {
    CHECK(o->owner == id && o->check == (o->owner ^ o->seq ^ UINT64_C(0x5bd1e995)),
          "object %p: owner %llu (expected %llu), seq %llu", (const void *)o,
          (unsigned long long)o->owner, (unsigned long long)id, (unsigned long long)o->seq);
}

static void give_back(targ *a, obj *o) {
    verify_mine(o, a->id);
    o->owner = FREE_STAMP;
    ep_pool_put(a->pool, o);
}

static void *pool_worker(void *arg) {
    targ *a = arg;
    obj *held[MAXHELD];
    int n = 0;
    uint64_t s = a->id * UINT64_C(0x9E3779B97F4A7C15) + 1, seq = 0;
    for (long i = 0; i < a->ops;) {
        uint64_t r = rnd(&s);
        /* bias towards get when few are held, towards put when many */
        if (n == 0 || (n < MAXHELD && (int)(r % MAXHELD) >= n)) {
            obj *o = ep_pool_get(a->pool);
            i++;
            CHECK(o != NULL, "get failed");
            if (!o) continue;
            if (a->zeroed)
                CHECK(o->owner == 0 && o->seq == 0 && o->check == 0, "object not zeroed: owner %llu",
                      (unsigned long long)o->owner);
            else
                CHECK(o->owner == FREE_STAMP, "object handed out while owned by %llu",
                      (unsigned long long)o->owner);
            stamp(o, a->id, ++seq);
            held[n++] = o;
        } else {
            int k = (int)((r >> 32) % (uint64_t)n);
            give_back(a, held[k]);
            held[k] = held[--n];
        }
        /* now and then re-verify everything held: catches a concurrent owner */
        if ((r & 1023) == 0)
            for (int j = 0; j < n; j++) verify_mine(held[j], a->id);
    }
    while (n > 0) give_back(a, held[--n]);
    return NULL;
}

static void run_threads(void *(*fn)(void *), targ *args, int nt) {
    pthread_t t[NTHREADS];
    for (int i = 0; i < nt; i++) pthread_create(&t[i], NULL, fn, &args[i]);
    for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
}

/* books must balance once every thread has put everything back */
static void check_books(ep_pool *p, const char *what) {
    ep_pool_stats s;
    ep_pool_stats_read(p, &s);
    CHECK(s.gets == s.hits + s.misses, "%s: gets %llu != hits+misses", what, (unsigned long long)s.gets);
    CHECK(s.misses == s.drops + s.trimmed + s.retained_objects,
          "%s: lost objects: misses %llu, drops %llu, trimmed %llu, retained %llu", what,
          (unsigned long long)s.misses, (unsigned long long)s.drops, (unsigned long long)s.trimmed,
          (unsigned long long)s.retained_objects);
    CHECK(s.gets == s.puts, "%s: gets %llu != puts %llu", what, (unsigned long long)s.gets,
          (unsigned long long)s.puts);
    long live = atomic_load(&inits) - atomic_load(&finis);
    CHECK(live == (long)s.retained_objects, "%s: init-fini %ld != retained %llu", what, live,
          (unsigned long long)s.retained_objects);
    printf("  %-28s gets %9llu  hit %5.1f%%  drops %8llu  trimmed %7llu  retained %5llu  peak %7llu B\n",
           what, (unsigned long long)s.gets, s.gets ? 100.0 * (double)s.hits / (double)s.gets : 0.0,
           (unsigned long long)s.drops, (unsigned long long)s.trimmed,
           (unsigned long long)s.retained_objects, (unsigned long long)s.peak_retained_bytes);
}

static void phase_uncapped(void) {
    ep_pool_config cfg = {.name = "stress", .obj_size = sizeof(obj), .init = cb_init,
                          .reset = cb_reset, .fini = cb_fini};
    ep_pool *p;
    CHECK(ep_pool_create(&cfg, &p) == 0, "create");
    targ a[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) a[i] = (targ){p, (uint64_t)i + 1, iters, 0, 0};
    run_threads(pool_worker, a, NTHREADS);
    check_books(p, "uncapped");
    ep_pool_destroy(p);
    CHECK(atomic_load(&inits) == atomic_load(&finis), "destroy leaked objects");
}

/* phase 2: capped + clear-on-put, monitor trims and checks the cap */
#define CAP 100
static atomic_int monitor_stop;
static long monitor_trims, cap_violations;

static void *monitor(void *arg) {
    ep_pool *p = arg;
    while (!atomic_load(&monitor_stop)) {
        ep_pool_stats s;
        ep_pool_stats_read(p, &s);
        if (s.retained_objects > CAP) cap_violations++;
        if (s.peak_retained_bytes > (uint64_t)CAP * sizeof(obj)) cap_violations++;
        ep_pool_trim(p);
        monitor_trims++;
        for (volatile int i = 0; i < 20000; i++) {}
    }
    return NULL;
}

static void phase_capped(void) {
    atomic_store(&inits, 0);
    atomic_store(&finis, 0);
    ep_pool_config cfg = {.name = "capped", .obj_size = sizeof(obj), .init = cb_count_init, .fini = cb_fini,
                          .clear_on_put = 1, .max_objects = CAP, .magazine_size = 16};
    ep_pool *p;
    CHECK(ep_pool_create(&cfg, &p) == 0, "create");
    pthread_t m;
    pthread_create(&m, NULL, monitor, p);
    targ a[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) a[i] = (targ){p, (uint64_t)i + 1, iters, 1, 0};
    /* clear-on-put: every object handed out is zeroed, fresh ones included */
    run_threads(pool_worker, a, NTHREADS);
    atomic_store(&monitor_stop, 1);
    pthread_join(m, NULL);
    CHECK(cap_violations == 0, "cap exceeded %ld times", cap_violations);
    check_books(p, "capped+clear+trim");
    ep_pool_stats s;
    ep_pool_stats_read(p, &s);
    CHECK(s.retained_objects <= CAP, "retained %llu > cap", (unsigned long long)s.retained_objects);
    CHECK(s.trims == (uint64_t)monitor_trims, "trims %llu != %ld", (unsigned long long)s.trims, monitor_trims);
    ep_pool_destroy(p);
    CHECK(atomic_load(&inits) == atomic_load(&finis), "destroy leaked objects");
}

/* phase 3: waves of threads that exit with objects in their magazines */
static void phase_exit_waves(void) {
    atomic_store(&inits, 0);
    atomic_store(&finis, 0);
    ep_pool_config cfg = {.name = "waves", .obj_size = sizeof(obj), .init = cb_init, .fini = cb_fini,
                          .max_bytes = 500 * sizeof(obj)};
    ep_pool *p;
    CHECK(ep_pool_create(&cfg, &p) == 0, "create");
    long waves = iters / 20000 < 10 ? 10 : iters / 20000;
    for (long w = 0; w < waves; w++) {
        targ a[NTHREADS];
        for (int i = 0; i < NTHREADS; i++) a[i] = (targ){p, (uint64_t)(w * NTHREADS + i + 1), 500, 0, 0};
        run_threads(pool_worker, a, NTHREADS);
        ep_pool_stats s;
        ep_pool_stats_read(p, &s);
        CHECK(s.retained_objects <= 500, "retained %llu > cap 500", (unsigned long long)s.retained_objects);
    }
    /* the exited threads' magazines are in the depot: this thread hits */
    ep_pool_stats before, after;
    ep_pool_stats_read(p, &before);
    CHECK(before.retained_objects > 0, "exited threads gave nothing back");
    obj *o = ep_pool_get(p);
    ep_pool_stats_read(p, &after);
    CHECK(after.hits == before.hits + 1, "get after thread exit missed");
    o->owner = FREE_STAMP;
    ep_pool_put(p, o);
    check_books(p, "thread-exit waves");
    ep_pool_trim(p);
    ep_pool_stats_read(p, &after);
    CHECK(after.retained_objects == 0, "trim left %llu", (unsigned long long)after.retained_objects);
    ep_pool_destroy(p);
    CHECK(atomic_load(&inits) == atomic_load(&finis), "objects leaked");
}

/* ---- phase 4: buffer pool ----------------------------------------------- */

#define BUF_CAP ((size_t)4 << 20)
typedef struct barg {
    ep_bufpool *bp;
    uint64_t id;
    long ops;
} barg;

static void *buf_worker(void *arg) {
    barg *a = arg;
    struct { uint64_t *p; size_t cap; } held[16];
    int n = 0;
    uint64_t s = a->id * 7919 + 3;
    for (long i = 0; i < a->ops;) {
        uint64_t r = rnd(&s);
        if (n == 0 || (n < 16 && (r & 1))) {
            size_t size = (size_t)(1 + (r >> 20) % 70000); /* 256 B … 128 KiB classes */
            void *b;
            size_t cap;
            i++;
            if (ep_bufpool_get(a->bp, size, &b, &cap) != 0) { CHECK(0, "bufpool get"); continue; }
            CHECK(cap >= size && cap >= 256 && (cap & (cap - 1)) == 0, "cap %zu for size %zu", cap, size);
            uint64_t *w = b;
            w[0] = a->id;
            w[cap / 8 - 1] = ~a->id;
            held[n].p = w;
            held[n++].cap = cap;
        } else {
            int k = (int)((r >> 40) % (uint64_t)n);
            uint64_t *w = held[k].p;
            size_t cap = held[k].cap;
            CHECK(w[0] == a->id && w[cap / 8 - 1] == ~a->id, "buffer stamp clobbered");
            ep_bufpool_put(a->bp, w, cap);
            held[k] = held[--n];
        }
    }
    while (n > 0) {
        --n;
        ep_bufpool_put(a->bp, held[n].p, held[n].cap);
    }
    return NULL;
}

static void phase_bufpool(void) {
    ep_bufpool_config cfg = {.name = "stressbuf", .max_bytes = BUF_CAP};
    ep_bufpool *bp;
    CHECK(ep_bufpool_create(&cfg, &bp) == 0, "bufpool create");
    barg a[NTHREADS];
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        a[i] = (barg){bp, (uint64_t)i + 1, iters / 10};
        pthread_create(&t[i], NULL, buf_worker, &a[i]);
    }
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    ep_pool_stats s;
    ep_bufpool_stats_read(bp, &s);
    CHECK(s.retained_bytes <= BUF_CAP, "retained %llu > cap", (unsigned long long)s.retained_bytes);
    CHECK(s.misses == s.drops + s.trimmed + s.retained_objects, "bufpool lost buffers");
    CHECK(s.gets == s.puts, "bufpool gets != puts");
    printf("  %-28s gets %9llu  hit %5.1f%%  drops %8llu  retained %llu B\n", "bufpool (shared 4 MiB cap)",
           (unsigned long long)s.gets, s.gets ? 100.0 * (double)s.hits / (double)s.gets : 0.0,
           (unsigned long long)s.drops, (unsigned long long)s.retained_bytes);
    ep_bufpool_destroy(bp);
}

/* ---- phase 5: string builders ------------------------------------------- */

static void *sb_worker(void *arg) {
    ep_strbuf_pool *sp = ((void **)arg)[0];
    long ops = (long)(intptr_t)((void **)arg)[1];
    char word[32];
    for (long i = 0; i < ops; i++) {
        ep_strbuf *sb = ep_strbuf_pool_get(sp);
        CHECK(sb && sb->len == 0, "builder not empty");
        int parts = (int)(i % 40);
        size_t want = 0;
        for (int k = 0; k < parts; k++) {
            int m = snprintf(word, sizeof word, "%ld:%d,", i, k);
            CHECK(ep_strbuf_append(sb, word, (size_t)m) == 0, "append");
            want += (size_t)m;
        }
        CHECK(sb->len == want && strlen(sb->data) == want, "built %zu bytes, expected %zu", sb->len, want);
        ep_strbuf_pool_put(sp, sb);
    }
    return NULL;
}

static void phase_strbuf(void) {
    ep_strbuf_pool *sp;
    CHECK(ep_strbuf_pool_create(32, 256, &sp) == 0, "strbuf pool create");
    void *args[2] = {sp, (void *)(intptr_t)(iters / 20)};
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, sb_worker, args);
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    ep_pool_stats s;
    ep_strbuf_pool_stats_read(sp, &s);
    CHECK(s.gets == s.puts && s.misses == s.drops + s.trimmed + s.retained_objects, "strbuf books");
    ep_strbuf_pool_destroy(sp);
}

/* ---- phase 6: worker pool ----------------------------------------------- */

#define NJOBS 20000
static atomic_int ran[NJOBS];
static void job(void *arg) { atomic_fetch_add(&ran[(intptr_t)arg], 1); }

static void phase_workerpool(void) {
    ep_workerpool *wp;
    CHECK(ep_workerpool_create(4, 64, &wp) == 0, "workerpool create");
    long njobs = iters / 50 < NJOBS ? iters / 50 : NJOBS;
    if (njobs < 100) njobs = 100;
    for (long i = 0; i < njobs; i++) CHECK(ep_workerpool_submit(wp, job, (void *)(intptr_t)i) == 0, "submit");
    CHECK(ep_workerpool_wait(wp) == 0, "wait");
    for (long i = 0; i < njobs; i++) CHECK(atomic_load(&ran[i]) == 1, "job %ld ran %d times", i, atomic_load(&ran[i]));
    ep_workerpool_stats ws;
    ep_workerpool_stats_read(wp, &ws);
    CHECK(ws.submitted == (uint64_t)njobs && ws.completed == (uint64_t)njobs, "workerpool counters");
    CHECK(ws.queue_peak <= 64, "queue peak %llu > cap", (unsigned long long)ws.queue_peak);
    CHECK(ep_workerpool_shutdown(wp, 1) == 0, "shutdown");
    CHECK(ep_workerpool_submit(wp, job, 0) == ESHUTDOWN, "submit after shutdown");
    ep_workerpool_destroy(wp);
}

/* Phase 0 (one thread): the checked puts refuse what is not theirs.  NULL
 * and a buffer capacity that is no class are refused in every build; a
 * foreign pointer, one from another pool and a double put only in EP_DEBUG
 * builds (object headers), which the sanitizer targets are. */
static void phase_checked_puts(void) {
    ep_pool_config cfg = {.name = "checked", .obj_size = 64};
    ep_pool *a, *b;
    CHECK(ep_pool_create(&cfg, &a) == 0 && ep_pool_create(&cfg, &b) == 0, "create");
    CHECK(ep_pool_put_checked(a, NULL) == EINVAL, "NULL put accepted");
    void *o = ep_pool_get(a);
    CHECK(o != NULL, "get");
#ifdef EP_DEBUG
    void *foreign = malloc(64);
    CHECK(ep_pool_put_checked(a, foreign) == EINVAL, "foreign pointer accepted");
    free(foreign);
    CHECK(ep_pool_put_checked(b, o) == EINVAL, "object of another pool accepted");
#endif
    CHECK(ep_pool_put_checked(a, o) == 0, "own object refused");
#ifdef EP_DEBUG
    CHECK(ep_pool_put_checked(a, o) == EINVAL, "double put accepted");
#endif
    ep_bufpool *bp;
    CHECK(ep_bufpool_preset("tar", &bp) == 0, "preset");
    void *buf;
    size_t cap;
    CHECK(ep_bufpool_get(bp, 0, &buf, &cap) == EINVAL, "size 0 accepted");
    CHECK(ep_bufpool_get(bp, EP_BUFPOOL_MAX_CLASS + 1, &buf, &cap) == EINVAL, "size over 1 MiB accepted");
    CHECK(ep_bufpool_get(bp, 1000, &buf, &cap) == 0 && cap == 1024, "get 1000");
    CHECK(ep_bufpool_put_checked(bp, buf, 1000) == EINVAL, "capacity that is no class accepted");
#ifdef EP_DEBUG
    CHECK(ep_bufpool_put_checked(bp, buf, 2048) == EINVAL, "buffer put into the wrong class accepted");
#endif
    CHECK(ep_bufpool_put_checked(bp, buf, cap) == 0, "own buffer refused");
    ep_bufpool_destroy(bp);
    ep_pool_destroy(a);
    ep_pool_destroy(b);
#ifdef EP_DEBUG
    printf("  checked puts: NULL, foreign, other pool, double put, bad capacity, wrong class refused\n");
#else
    printf("  checked puts: NULL, bad capacity refused (foreign/double need EP_DEBUG)\n");
#endif
}

/* Everything runs on a thread of its own, so its thread-local caches are
 * freed at its exit and the allocation books can balance exactly. */
static void *all_phases(void *unused) {
    (void)unused;
    printf("stress_pool: %d threads, %ld gets per thread per phase\n", NTHREADS, iters);
    phase_checked_puts();
    phase_uncapped();
    phase_capped();
    phase_exit_waves();
    phase_bufpool();
    phase_strbuf();
    phase_workerpool();
    return NULL;
}

int main(int argc, char **argv) {
    const char *env = getenv("STRESS_ITERS");
    if (env) iters = atol(env);
    if (argc > 1) iters = atol(argv[1]);
    if (iters < 1000) iters = 1000;
    /* Pools' slot table is global and kept: grow it first, then take the baseline. */
    ep_bufpool *warm;
    ep_bufpool_preset("tar", &warm);
    ep_pool *extra[8];
    ep_pool_config c = {.obj_size = 8};
    for (int i = 0; i < 8; i++) ep_pool_create(&c, &extra[i]);
    for (int i = 0; i < 8; i++) ep_pool_destroy(extra[i]);
    ep_bufpool_destroy(warm);
    ep_alloc_counters base, end;
    ep_alloc_counters_read(&base);

    pthread_t t;
    pthread_create(&t, NULL, all_phases, NULL);
    pthread_join(t, NULL);

    ep_alloc_counters_read(&end);
    uint64_t in_use0 = base.alloc_bytes - base.free_bytes, in_use1 = end.alloc_bytes - end.free_bytes;
    CHECK(in_use1 == in_use0 && end.alloc_objects - end.free_objects == base.alloc_objects - base.free_objects,
          "ep_alloc books do not balance: %llu bytes / %lld objects still allocated",
          (unsigned long long)(in_use1 - in_use0),
          (long long)((end.alloc_objects - end.free_objects) - (base.alloc_objects - base.free_objects)));
    int f = atomic_load(&failures);
    printf("stress_pool: %s (%d failures)\n", f ? "FAIL" : "ok", f);
    return f ? 1 : 0;
}
