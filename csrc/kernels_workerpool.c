/* kernels_workerpool.c — WorkerPool: many tiny jobs (one atomic add each).
 *
 * An op is one job.  impl=pool submits every job of a step to an ep_workerpool
 * of -cpu workers (created once per run, queue of 1024) and waits for them at
 * the end of the step, so ns/op is the submit + hand-off + run cost per job;
 * held-B/worker is the pool's own memory (queue, thread table) per worker.
 * impl=std is what code without a pool does: start a thread per job, joining
 * them -cpu at a time.  Jobs run on threads outside the harness's team, so
 * allocations are counted on every thread (EP_BENCH_ALLOC_GLOBAL).
 */
#include "ep_kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct wp_state {
    ep_workerpool *wp;
    unsigned threads;
    _Atomic uint64_t done;
} wp_state;

static void job(void *arg) {
    wp_state *s = arg;
    atomic_fetch_add_explicit(&s->done, 1, memory_order_relaxed);
}

static void wp_teardown(void *state) {
    wp_state *s = state;
    if (s->wp) ep_workerpool_destroy(s->wp);
    free(s);
}

/* arg: 1 for jobs on an ep_workerpool, 0 for a thread per job. */
static int wp_setup(void **state, unsigned threads, uintptr_t pooled) {
    wp_state *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->threads = threads;
    atomic_init(&s->done, 0);
    if (pooled) {
        int err = ep_workerpool_create(threads, 1024, &s->wp);
        if (err) {
            free(s);
            return err;
        }
    }
    *state = s;
    return 0;
}


static int wp_pool_run(void *state, uint64_t n) {
    wp_state *s = state;
    for (uint64_t i = 0; i < n; i++) {
        int err = ep_workerpool_submit(s->wp, job, s);
        if (EP_UNLIKELY(err)) return err;
    }
    return ep_workerpool_wait(s->wp);
}

static void *thread_job(void *arg) {
    job(arg);
    return NULL;
}

static int wp_std_run(void *state, uint64_t n) {
    wp_state *s = state;
    pthread_t tids[EP_BENCH_MAX_THREADS];
    uint64_t i = 0;
    while (i < n) {
        unsigned k = 0;
        int err = 0;
        for (; k < s->threads && i < n; k++, i++) {
            if ((err = pthread_create(&tids[k], NULL, thread_job, s)) != 0) break;
        }
        for (unsigned j = 0; j < k; j++) pthread_join(tids[j], NULL);
        if (err) return err;
    }
    return 0;
}

static void wp_extra(void *state, ep_bench_sample *smp) {
    wp_state *s = state;
    ep_workerpool_stats st;
    ep_workerpool_stats_read(s->wp, &st);
    ep_bench_add_unit(smp, "held-B/worker", st.threads ? (double)st.bytes_held / (double)st.threads : 0.0);
}

static const ep_bench_kernel kernels[] = {
    {.name = "WorkerPool", .variant = "impl=pool", .flags = EP_BENCH_ALLOC_GLOBAL,
     .doc = "tiny jobs submitted to an ep_workerpool of -cpu workers (ns/job)",
     .setup = wp_setup, .arg = 1, .teardown = wp_teardown, .run = wp_pool_run, .extra = wp_extra},
    {.name = "WorkerPool", .variant = "impl=std", .flags = EP_BENCH_ALLOC_GLOBAL,
     .doc = "tiny jobs, one new thread each (joined -cpu at a time)",
     .setup = wp_setup, .arg = 0, .teardown = wp_teardown, .run = wp_std_run},
};
EP_BENCH_FAMILY(_ep_kernels_workerpool, kernels);
