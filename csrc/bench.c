/* bench.c — the benchmark harness: kernel registry, timed steps, thread team.
 *
 * Design: a run owns the kernel's state and, for parallel kernels, a team of
 * threads-1 persistent pthreads (the caller is member 0), so a step costs one
 * condition-variable round trip and no thread creation.  A step is timed with
 * CLOCK_MONOTONIC from before the team is released until the last member
 * finished — Go's RunParallel timing.  Each member reads its own ep_alloc
 * counters before and after its share (no lock, no shared cache line), and
 * the caller sums them; EP_BENCH_ALLOC_GLOBAL kernels use the all-thread
 * totals read outside the timed region instead.  Members also read their
 * thread CPU clock, so a sample says how much of its wall time the measuring
 * threads actually ran (on a shared machine, the rest is preemption).
 *
 * After each step, outside its timing, the caller's thread runs the machine
 * probe (ep_bench.h): fixed store-bound and latency-bound loops whose times,
 * kept per tick and averaged per sample by ep_bench_end, let a noisy sample
 * be told from a noisy kernel.  Its buffers are the run's, from malloc:
 * harness memory, never counted.
 *
 * Invariants: at most one step of a run is in flight (the caller holds the
 * GIL-free section); team members only touch their own slot of `slots`
 * between "go" and "done"; teardown runs after the team has been joined.
 */
#include "ep_kernels.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- registry ------------------------------------------------------------ */

static int empty_run(void *state, uint64_t n) {
    (void)state;
    for (uint64_t i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
    return 0;
}

static int empty_parallel(void *state, ep_bench_pb *pb) {
    (void)state;
    while (ep_bench_pb_next(pb)) __asm__ volatile("" ::: "memory");
    return 0;
}

/* The harness's own cost: what an iteration of nothing measures. */
static const ep_bench_kernel harness_kernels[] = {
    {.name = "Empty", .variant = "", .doc = "an iteration doing nothing: the harness overhead per op",
     .run = empty_run},
    {.name = "EmptyParallel", .variant = "", .doc = "an empty parallel body: pb.Next overhead per op",
     .run_parallel = empty_parallel},
};
static EP_BENCH_FAMILY(harness_family, harness_kernels);

static const _ep_bench_family *const families[] = {
    &harness_family,
    &_ep_kernels_strings,
    &_ep_kernels_hash,
    &_ep_kernels_tar,
    &_ep_kernels_alloc,
    &_ep_kernels_contention,
    &_ep_kernels_workerpool,
};

size_t ep_bench_count(void) {
    size_t n = 0;
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) n += families[f]->count;
    return n;
}

const ep_bench_kernel *ep_bench_at(size_t i) {
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        if (i < families[f]->count) return &families[f]->kernels[i];
        i -= families[f]->count;
    }
    return NULL;
}

void ep_bench_fullname(const ep_bench_kernel *k, char *buf, size_t size) {
    if (k->variant && k->variant[0])
        snprintf(buf, size, "%s/%s", k->name, k->variant);
    else
        snprintf(buf, size, "%s", k->name);
}

const ep_bench_kernel *ep_bench_find(const char *fullname) {
    char buf[256];
    for (size_t i = 0, n = ep_bench_count(); i < n; i++) {
        const ep_bench_kernel *k = ep_bench_at(i);
        ep_bench_fullname(k, buf, sizeof buf);
        if (strcmp(buf, fullname) == 0) return k;
    }
    return NULL;
}

const char *ep_bench_group(const ep_bench_kernel *k) { return k->group ? k->group : k->name; }

void ep_bench_add_unit(ep_bench_sample *s, const char *name, double value) {
    if (s->nunits >= EP_BENCH_MAX_UNITS) return;
    ep_bench_unit *u = &s->units[s->nunits++];
    snprintf(u->name, sizeof u->name, "%s", name);
    u->value = value;
}

/* ---- runs and the thread team ------------------------------------------- */

typedef struct slot {
    uint64_t alloc_bytes, alloc_objects, cpu_ns;
    int err;
    char pad[EP_CACHELINE - 3 * sizeof(uint64_t) - sizeof(int)];
} slot;

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct ep_bench_run {
    const ep_bench_kernel *k;
    void *state;
    unsigned threads;
    /* speed seen so far, for chunk sizing and the parallel grain */
    uint64_t last_n, last_ns;
    /* team (parallel kernels only) */
    pthread_t *tids;
    struct worker_arg *wargs; /* owned by the run: a worker must not free() memory the caller malloc'd */
    unsigned nworkers;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t gen;
    unsigned running;
    int quit;
    _Atomic uint64_t next;
    uint64_t step_n, grain;
    slot *slots;
    unsigned char *probe_buf; /* EP_BENCH_PROBE_BYTES */
    uint32_t *probe_zero, *probe_chain; /* this sample's ticks, EP_BENCH_PROBE_KEEP each */
};

/* One team member's share of a step. */
static void member(ep_bench_run *r, unsigned tid) {
    ep_alloc_counters a0, a1;
    ep_alloc_counters_read_self(&a0);
    uint64_t c0 = thread_cpu_ns();
    ep_bench_pb pb = {.next = &r->next, .n = r->step_n, .grain = r->grain, .tid = tid,
                      .nthreads = r->threads};
    int err = r->k->run_parallel(r->state, &pb);
    r->slots[tid].cpu_ns = thread_cpu_ns() - c0;
    ep_alloc_counters_read_self(&a1);
    r->slots[tid].alloc_bytes = a1.alloc_bytes - a0.alloc_bytes;
    r->slots[tid].alloc_objects = a1.alloc_objects - a0.alloc_objects;
    r->slots[tid].err = err;
}

typedef struct worker_arg {
    ep_bench_run *r;
    unsigned tid;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    ep_bench_run *r = wa.r;
    uint64_t seen = 0;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->gen == seen && !r->quit) pthread_cond_wait(&r->go, &r->mu);
        if (r->quit) break;
        seen = r->gen;
        pthread_mutex_unlock(&r->mu);
        member(r, wa.tid);
        pthread_mutex_lock(&r->mu);
        if (--r->running == 0) pthread_cond_signal(&r->done);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void team_stop(ep_bench_run *r) {
    if (r->nworkers) {
        pthread_mutex_lock(&r->mu);
        r->quit = 1;
        pthread_cond_broadcast(&r->go);
        pthread_mutex_unlock(&r->mu);
        for (unsigned i = 0; i < r->nworkers; i++) pthread_join(r->tids[i], NULL);
    }
    free(r->tids);
    free(r->wargs);
    r->tids = NULL;
    r->wargs = NULL;
    r->nworkers = 0;
}

static int team_start(ep_bench_run *r) {
    unsigned want = r->threads - 1;
    if (want == 0) return 0;
    r->tids = calloc(want, sizeof *r->tids);
    r->wargs = calloc(want, sizeof *r->wargs);
    if (!r->tids || !r->wargs) return ENOMEM;
    for (unsigned i = 0; i < want; i++) {
        worker_arg *wa = &r->wargs[i];
        wa->r = r;
        wa->tid = i + 1;
        int err = pthread_create(&r->tids[i], NULL, worker_main, wa);
        if (err) return err;
        r->nworkers++;
    }
    return 0;
}

int ep_bench_open(const ep_bench_kernel *k, unsigned threads, ep_bench_run **out) {
    if (!k || !out || threads == 0 || threads > EP_BENCH_MAX_THREADS) return EINVAL;
    if (!k->run && !k->run_parallel) return EINVAL;
    /* harness memory comes from malloc, not ep_alloc: it is not the kernel's */
    ep_bench_run *r = calloc(1, sizeof *r);
    if (!r) return ENOMEM;
    r->k = k;
    r->threads = threads;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->go, NULL);
    pthread_cond_init(&r->done, NULL);
    unsigned team = k->run_parallel ? threads : 1;
    if (posix_memalign((void **)&r->slots, EP_CACHELINE, team * sizeof(slot)) != 0) {
        r->slots = NULL;
        ep_bench_close(r);
        return ENOMEM;
    }
    memset(r->slots, 0, team * sizeof(slot));
    if (posix_memalign((void **)&r->probe_buf, EP_CACHELINE, EP_BENCH_PROBE_BYTES) != 0) {
        r->probe_buf = NULL;
        ep_bench_close(r);
        return ENOMEM;
    }
    memset(r->probe_buf, 0, EP_BENCH_PROBE_BYTES);
    r->probe_zero = malloc(EP_BENCH_PROBE_KEEP * sizeof *r->probe_zero);
    r->probe_chain = malloc(EP_BENCH_PROBE_KEEP * sizeof *r->probe_chain);
    if (!r->probe_zero || !r->probe_chain) {
        ep_bench_close(r);
        return ENOMEM;
    }
    int err = k->setup ? k->setup(&r->state, threads, k->arg) : 0;
    if (err) {
        r->state = NULL;
        ep_bench_close(r);
        return err;
    }
    if (k->run_parallel && (err = team_start(r)) != 0) {
        ep_bench_close(r);
        return err;
    }
    *out = r;
    return 0;
}

void ep_bench_close(ep_bench_run *r) {
    if (!r) return;
    team_stop(r);
    if (r->state && r->k->teardown) r->k->teardown(r->state);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->go);
    pthread_cond_destroy(&r->done);
    free(r->slots);
    free(r->probe_buf);
    free(r->probe_zero);
    free(r->probe_chain);
    free(r);
}

const ep_bench_kernel *ep_bench_run_kernel(const ep_bench_run *r) { return r->k; }
unsigned ep_bench_run_threads(const ep_bench_run *r) { return r->threads; }

void ep_bench_begin(ep_bench_run *r, ep_bench_sample *s) {
    memset(s, 0, sizeof *s);
    s->bytes_per_op = r->k->bytes_per_op;
    if (r->k->pool_stats) r->k->pool_stats(r->state, &s->_pool0);
}

/* One tick of the machine probe (see ep_bench.h), on the calling thread.  The
 * first zeroing is untimed: it brings the buffer back into cache after the
 * kernel's step, so the timed ones see the core, not the kernel's leftovers. */
static void probe_tick(ep_bench_run *r, ep_bench_sample *s) {
    unsigned char *b = r->probe_buf;
    memset(b, 0, EP_BENCH_PROBE_BYTES);
    __asm__ volatile("" : : "r"(b) : "memory");
    uint64_t t0 = ep_now_ns();
    for (int i = 0; i < EP_BENCH_PROBE_ZEROS; i++) {
        memset(b, 0, EP_BENCH_PROBE_BYTES);
        __asm__ volatile("" : : "r"(b) : "memory");
    }
    uint64_t t1 = ep_now_ns();
    uint64_t x = t1 | 1;
    for (int i = 0; i < EP_BENCH_PROBE_CHAIN; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x)); /* no folding: one multiply-add after another */
    }
    ep_bench_consume(x);
    uint64_t t2 = ep_now_ns();
    size_t i = s->probe_ticks++ % EP_BENCH_PROBE_KEEP;
    r->probe_zero[i] = (uint32_t)((t1 - t0) > UINT32_MAX ? UINT32_MAX : t1 - t0);
    r->probe_chain[i] = (uint32_t)((t2 - t1) > UINT32_MAX ? UINT32_MAX : t2 - t1);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The mean of the ticks at most twice their median: proportional to how long
 * the machine was slow during the sample (a median would hide a slow spell
 * shorter than half of it), without the rare tick an interrupt or preemption
 * landed in. */
static double robust_mean_u32(uint32_t *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_u32);
    double med = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && (double)v[i] <= 2 * med; i++, k++) sum += v[i];
    return sum / (double)k; /* k >= 1: v[0] <= med */
}

/* Go's RunParallel grain: about 100 µs of work per counter fetch, 1…10000. */
static uint64_t grain_for(const ep_bench_run *r) {
    uint64_t g = 1;
    if (r->last_n && r->last_ns) g = (uint64_t)(1e5 * (double)r->last_n / (double)r->last_ns);
    if (g < 1) g = 1;
    if (g > 10000) g = 10000;
    return g;
}

int ep_bench_step(ep_bench_run *r, uint64_t n, ep_bench_sample *s) {
    if (n == 0) return 0;
    const ep_bench_kernel *k = r->k;
    int global = (k->flags & EP_BENCH_ALLOC_GLOBAL) != 0;
    ep_alloc_counters g0, g1;
    if (global) ep_alloc_counters_read(&g0);
    int err = 0;
    uint64_t t0, t1;
    if (k->run_parallel) {
        atomic_store_explicit(&r->next, 0, memory_order_relaxed);
        r->step_n = n;
        r->grain = grain_for(r);
        t0 = ep_now_ns();
        if (r->nworkers) {
            pthread_mutex_lock(&r->mu);
            r->running = r->nworkers;
            r->gen++;
            pthread_cond_broadcast(&r->go);
            pthread_mutex_unlock(&r->mu);
        }
        member(r, 0);
        if (r->nworkers) {
            pthread_mutex_lock(&r->mu);
            while (r->running) pthread_cond_wait(&r->done, &r->mu);
            pthread_mutex_unlock(&r->mu);
        }
        t1 = ep_now_ns();
        for (unsigned i = 0; i <= r->nworkers; i++) {
            s->cpu_ns += r->slots[i].cpu_ns;
            if (!global) {
                s->alloc_bytes += r->slots[i].alloc_bytes;
                s->alloc_objects += r->slots[i].alloc_objects;
            }
            if (r->slots[i].err && !err) err = r->slots[i].err;
        }
    } else {
        ep_alloc_counters a0, a1;
        ep_alloc_counters_read_self(&a0);
        uint64_t c0 = thread_cpu_ns();
        t0 = ep_now_ns();
        err = k->run(r->state, n);
        t1 = ep_now_ns();
        s->cpu_ns += thread_cpu_ns() - c0;
        ep_alloc_counters_read_self(&a1);
        if (!global) {
            s->alloc_bytes += a1.alloc_bytes - a0.alloc_bytes;
            s->alloc_objects += a1.alloc_objects - a0.alloc_objects;
        }
    }
    if (global) {
        ep_alloc_counters_read(&g1);
        s->alloc_bytes += g1.alloc_bytes - g0.alloc_bytes;
        s->alloc_objects += g1.alloc_objects - g0.alloc_objects;
    }
    if (err) return err;
    s->n += n;
    s->ns += t1 - t0;
    r->last_n = n;
    r->last_ns = t1 - t0;
    probe_tick(r, s);
    return 0;
}

void ep_bench_end(ep_bench_run *r, ep_bench_sample *s) {
    const ep_bench_kernel *k = r->k;
    if (k->pool_stats && s->n) {
        ep_pool_stats p1;
        k->pool_stats(r->state, &p1);
        const ep_pool_stats *p0 = &s->_pool0;
        double n = (double)s->n;
        ep_bench_add_unit(s, "hits/op", (double)(p1.hits - p0->hits) / n);
        ep_bench_add_unit(s, "misses/op", (double)(p1.misses - p0->misses) / n);
        ep_bench_add_unit(s, "clear-ns/op", (double)(p1.clear_ns - p0->clear_ns) / n);
        ep_bench_add_unit(s, "retained-B", (double)p1.retained_bytes);
    }
    if (k->extra && s->n) k->extra(r->state, s);
    if (s->probe_ticks) {
        size_t n = s->probe_ticks < EP_BENCH_PROBE_KEEP ? (size_t)s->probe_ticks : EP_BENCH_PROBE_KEEP;
        s->probe_zero64k_ns = robust_mean_u32(r->probe_zero, n) / EP_BENCH_PROBE_ZEROS;
        s->probe_chain_ns = robust_mean_u32(r->probe_chain, n);
    }
}

uint64_t ep_bench_chunk(const ep_bench_run *r, uint64_t remaining, uint64_t target_ns) {
    uint64_t c = 1;
    if (r->last_n && r->last_ns) {
        double per = (double)r->last_ns / (double)r->last_n;
        double want = per > 0 ? (double)target_ns / per : (double)remaining;
        double cap = (double)r->last_n * 100.0;
        if (want > cap) want = cap;
        c = want < 1 ? 1 : (uint64_t)want;
    } else if (r->last_n) {
        c = r->last_n * 100;  /* too fast to time: grow */
    }
    return c < remaining ? c : remaining;
}
