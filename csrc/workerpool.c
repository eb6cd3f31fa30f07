/* workerpool.c — ep_workerpool: fixed pthreads over a bounded job ring.
 *
 * Design: one mutex guards the ring (`q`, head, count), the counters and the
 * state; three condition variables (on CLOCK_MONOTONIC, so timed waits are
 * immune to clock changes) signal "a job is queued" (workers), "a slot is
 * free" (submitters) and "all submitted jobs finished / a worker exited"
 * (wait and shutdown).  A job runs outside the lock.
 *
 * Invariants (under lock): completed + discarded + running + count ==
 * submitted; once `closing` is set no job is accepted, and it is never
 * cleared.  Threads are joined exactly once (join_lock), after every worker
 * has left its loop, so a timed shutdown can give up waiting and be retried.
 *
 * Deadlock guard: a worker that would block on its own pool — wait(),
 * shutdown(), or a submit to a full queue while every other worker is itself
 * blocked submitting — gets EDEADLK.
 */
#include "enginepools.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    ep_job_fn fn;
    void *arg;
} job;

struct ep_workerpool {
    pthread_mutex_t lock, join_lock;
    pthread_cond_t not_empty, not_full, done;
    job *q;
    size_t cap, head, count;
    pthread_t *threads;
    unsigned nthreads;         /* started */
    unsigned threads_cap;      /* entries allocated in `threads` */
    unsigned alive;            /* workers inside their loop */
    unsigned running;          /* jobs executing now */
    unsigned blocked_workers;  /* workers blocked in submit on a full queue */
    int closing, joined;
    uint64_t submitted, completed, discarded, queue_peak;
    size_t bytes_held;
    void (*discard_hook)(ep_job_fn, void *);
};

static __thread ep_workerpool *tl_worker; /* the pool whose worker this thread is */

int ep_workerpool_is_worker(const ep_workerpool *wp) { return wp && tl_worker == wp; }

static void deadline_after(struct timespec *ts, uint64_t timeout_ns) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + timeout_ns % 1000000000u;
    ts->tv_sec += (time_t)(timeout_ns / 1000000000u + ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

/* Wait on cv until woken or the deadline passes (deadline NULL = forever). */
static int cv_wait(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *deadline) {
    if (!deadline) return pthread_cond_wait(cv, m);
    return pthread_cond_timedwait(cv, m, deadline);
}

static void *worker_main(void *arg) {
    ep_workerpool *wp = arg;
    tl_worker = wp;
    pthread_mutex_lock(&wp->lock);
    for (;;) {
        while (wp->count == 0 && !wp->closing) pthread_cond_wait(&wp->not_empty, &wp->lock);
        if (wp->count == 0) break; /* closing and drained */
        job j = wp->q[wp->head];
        wp->head = (wp->head + 1) % wp->cap;
        wp->count--;
        wp->running++;
        pthread_cond_signal(&wp->not_full);
        pthread_mutex_unlock(&wp->lock);
        j.fn(j.arg);
        pthread_mutex_lock(&wp->lock);
        wp->running--;
        wp->completed++;
        if (wp->completed + wp->discarded == wp->submitted) pthread_cond_broadcast(&wp->done);
    }
    wp->alive--;
    pthread_cond_broadcast(&wp->done);
    pthread_mutex_unlock(&wp->lock);
    return NULL;
}

int ep_workerpool_create(unsigned nthreads, size_t queue_cap, ep_workerpool **out) {
    if (!out || nthreads == 0 || nthreads > 1024 || queue_cap == 0 || queue_cap > ((size_t)1 << 30))
        return EINVAL;
    ep_workerpool *wp = ep_calloc(sizeof *wp);
    if (!wp) return ENOMEM;
    wp->q = ep_alloc(queue_cap * sizeof(job));
    wp->threads = ep_alloc(nthreads * sizeof(pthread_t));
    if (!wp->q || !wp->threads) {
        ep_free(wp->q, queue_cap * sizeof(job));
        ep_free(wp->threads, nthreads * sizeof(pthread_t));
        ep_free(wp, sizeof *wp);
        return ENOMEM;
    }
    wp->cap = queue_cap;
    wp->threads_cap = nthreads;
    wp->bytes_held = sizeof *wp + queue_cap * sizeof(job) + nthreads * sizeof(pthread_t);
    pthread_mutex_init(&wp->lock, NULL);
    pthread_mutex_init(&wp->join_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wp->not_empty, &ca);
    pthread_cond_init(&wp->not_full, &ca);
    pthread_cond_init(&wp->done, &ca);
    pthread_condattr_destroy(&ca);
    int err = 0;
    pthread_mutex_lock(&wp->lock);
    for (unsigned i = 0; i < nthreads; i++) {
        err = pthread_create(&wp->threads[i], NULL, worker_main, wp);
        if (err) break;
        wp->nthreads++;
        wp->alive++;
    }
    pthread_mutex_unlock(&wp->lock);
    if (err) {
        /* keep outputs untouched: stop the threads we did start */
        ep_workerpool_destroy(wp);
        return err == EAGAIN ? EAGAIN : ENOMEM;
    }
    *out = wp;
    return 0;
}

int ep_workerpool_submit_timed(ep_workerpool *wp, ep_job_fn fn, void *arg, uint64_t timeout_ns) {
    if (!wp || !fn) return EINVAL;
    struct timespec dl;
    int timed = timeout_ns != UINT64_MAX;
    if (timed) deadline_after(&dl, timeout_ns);
    int self = tl_worker == wp;
    pthread_mutex_lock(&wp->lock);
    while (!wp->closing && wp->count == wp->cap) {
        if (self && wp->blocked_workers + 1 >= wp->nthreads) {
            pthread_mutex_unlock(&wp->lock);
            return EDEADLK;
        }
        if (self) wp->blocked_workers++;
        int rc = cv_wait(&wp->not_full, &wp->lock, timed ? &dl : NULL);
        if (self) wp->blocked_workers--;
        if (rc == ETIMEDOUT && wp->count == wp->cap && !wp->closing) {
            pthread_mutex_unlock(&wp->lock);
            return ETIMEDOUT;
        }
    }
    if (wp->closing) {
        pthread_mutex_unlock(&wp->lock);
        return ESHUTDOWN;
    }
    wp->q[(wp->head + wp->count) % wp->cap] = (job){fn, arg};
    wp->count++;
    wp->submitted++;
    if (wp->count > wp->queue_peak) wp->queue_peak = wp->count;
    pthread_cond_signal(&wp->not_empty);
    pthread_mutex_unlock(&wp->lock);
    return 0;
}

int ep_workerpool_submit(ep_workerpool *wp, ep_job_fn fn, void *arg) {
    return ep_workerpool_submit_timed(wp, fn, arg, UINT64_MAX);
}

int ep_workerpool_wait_timed(ep_workerpool *wp, uint64_t timeout_ns) {
    if (!wp) return EINVAL;
    if (tl_worker == wp) return EDEADLK;
    struct timespec dl;
    int timed = timeout_ns != UINT64_MAX;
    if (timed) deadline_after(&dl, timeout_ns);
    int rc = 0;
    pthread_mutex_lock(&wp->lock);
    while (wp->completed + wp->discarded < wp->submitted) {
        /* no worker left to run what is queued: waiting would never end */
        if (wp->alive == 0) break;
        if (cv_wait(&wp->done, &wp->lock, timed ? &dl : NULL) == ETIMEDOUT &&
            wp->completed + wp->discarded < wp->submitted) {
            rc = ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&wp->lock);
    return rc;
}

int ep_workerpool_wait(ep_workerpool *wp) { return ep_workerpool_wait_timed(wp, UINT64_MAX); }

void ep_workerpool_set_discard_hook(ep_workerpool *wp, void (*hook)(ep_job_fn, void *)) {
    pthread_mutex_lock(&wp->lock);
    wp->discard_hook = hook;
    pthread_mutex_unlock(&wp->lock);
}

int ep_workerpool_shutdown_timed(ep_workerpool *wp, int drain, uint64_t timeout_ns) {
    if (!wp) return EINVAL;
    if (tl_worker == wp) return EDEADLK;
    struct timespec dl;
    int timed = timeout_ns != UINT64_MAX;
    if (timed) deadline_after(&dl, timeout_ns);
    job *dropped = NULL;
    size_t ndropped = 0;
    pthread_mutex_lock(&wp->lock);
    wp->closing = 1;
    if (!drain && wp->count) {
        ndropped = wp->count;
        if (wp->discard_hook) {
            /* hand the discarded jobs to the hook outside the lock */
            dropped = ep_alloc(ndropped * sizeof(job));
            if (dropped)
                for (size_t i = 0; i < ndropped; i++) dropped[i] = wp->q[(wp->head + i) % wp->cap];
        }
        wp->discarded += ndropped;
        wp->count = 0;
        wp->head = 0;
    }
    pthread_cond_broadcast(&wp->not_empty);
    pthread_cond_broadcast(&wp->not_full);
    pthread_cond_broadcast(&wp->done);
    void (*hook)(ep_job_fn, void *) = wp->discard_hook;
    pthread_mutex_unlock(&wp->lock);
    if (dropped) {
        for (size_t i = 0; i < ndropped; i++) hook(dropped[i].fn, dropped[i].arg);
        ep_free(dropped, ndropped * sizeof(job));
    }

    int rc = 0;
    pthread_mutex_lock(&wp->lock);
    while (wp->alive > 0) {
        if (cv_wait(&wp->done, &wp->lock, timed ? &dl : NULL) == ETIMEDOUT && wp->alive > 0) {
            rc = ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&wp->lock);
    if (rc) return rc;
    pthread_mutex_lock(&wp->join_lock);
    if (!wp->joined) {
        for (unsigned i = 0; i < wp->nthreads; i++) pthread_join(wp->threads[i], NULL);
        wp->joined = 1;
    }
    pthread_mutex_unlock(&wp->join_lock);
    return 0;
}

int ep_workerpool_shutdown(ep_workerpool *wp, int drain) {
    return ep_workerpool_shutdown_timed(wp, drain, UINT64_MAX);
}

void ep_workerpool_destroy(ep_workerpool *wp) {
    if (!wp) return;
    ep_workerpool_shutdown(wp, 1);
    pthread_cond_destroy(&wp->not_empty);
    pthread_cond_destroy(&wp->not_full);
    pthread_cond_destroy(&wp->done);
    pthread_mutex_destroy(&wp->lock);
    pthread_mutex_destroy(&wp->join_lock);
    ep_free(wp->q, wp->cap * sizeof(job));
    ep_free(wp->threads, (size_t)wp->threads_cap * sizeof(pthread_t));
    ep_free(wp, sizeof *wp);
}

void ep_workerpool_stats_read(const ep_workerpool *cwp, ep_workerpool_stats *out) {
    ep_workerpool *wp = (ep_workerpool *)cwp; /* the lock is mutable */
    ep_workerpool_stats s;
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&wp->lock);
    s.submitted = wp->submitted;
    s.completed = wp->completed;
    s.discarded = wp->discarded;
    s.queue_peak = wp->queue_peak;
    s.queued = wp->count;
    s.queue_cap = wp->cap;
    s.threads = wp->alive;
    s.bytes_held = wp->bytes_held;
    pthread_mutex_unlock(&wp->lock);
    *out = s;
}
