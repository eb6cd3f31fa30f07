/* ep_workerpool.h — fixed set of pthreads serving a bounded job queue.
 *
 * submit() blocks while the queue is full (back-pressure, like a buffered Go
 * channel); wait() blocks until every job submitted so far has completed;
 * shutdown(drain) stops accepting jobs, runs (drain=1) or discards (drain=0,
 * counted in `discarded`) the queued ones, and joins the threads.  The
 * queue, the thread table and the pool itself are allocated through ep_alloc
 * (bytes_held says how much); thread stacks are the C library's.
 *
 * Calls that would wait for the calling worker itself — submit to a full
 * queue, wait() or shutdown() from inside one of the pool's own jobs — return
 * EDEADLK instead of hanging.
 */
#ifndef EP_WORKERPOOL_H
#define EP_WORKERPOOL_H

#include "ep_common.h"

typedef struct ep_workerpool ep_workerpool;
typedef void (*ep_job_fn)(void *arg);

typedef struct ep_workerpool_stats {
    uint64_t submitted, completed, queue_peak, threads, bytes_held;
    /* fields added after the first API freeze */
    uint64_t discarded;  /* queued jobs dropped by shutdown(drain=0) */
    uint64_t queued;     /* jobs waiting now */
    uint64_t queue_cap;
} ep_workerpool_stats;

/* EINVAL: nthreads 0 or > 1024, queue_cap 0; EAGAIN/ENOMEM from thread creation. */
int ep_workerpool_create(unsigned nthreads, size_t queue_cap, ep_workerpool **out);
/* Blocks while the queue is full; ESHUTDOWN after shutdown; EDEADLK (see above). */
int ep_workerpool_submit(ep_workerpool *wp, ep_job_fn fn, void *arg);
int ep_workerpool_wait(ep_workerpool *wp);
int ep_workerpool_shutdown(ep_workerpool *wp, int drain);
void ep_workerpool_destroy(ep_workerpool *wp); /* shuts down (drain=1) if still running */
void ep_workerpool_stats_read(const ep_workerpool *wp, ep_workerpool_stats *out);

/* Bounded waits for callers that must stay interruptible (csrc/py/workerpool.c
 * releases the GIL and checks signals between them): ETIMEDOUT when timeout_ns passed. */
int ep_workerpool_submit_timed(ep_workerpool *wp, ep_job_fn fn, void *arg, uint64_t timeout_ns);
int ep_workerpool_wait_timed(ep_workerpool *wp, uint64_t timeout_ns);
/* shutdown() that gives up after timeout_ns (ETIMEDOUT, the pool stays
 * closing; call again to finish joining). */
int ep_workerpool_shutdown_timed(ep_workerpool *wp, int drain, uint64_t timeout_ns);
/* Called, outside the pool's lock, on the thread calling shutdown(drain=0),
 * for each queued job it discards, so the job's argument can be released. */
void ep_workerpool_set_discard_hook(ep_workerpool *wp, void (*hook)(ep_job_fn fn, void *arg));
/* Nonzero when the calling thread is one of wp's workers. */
int ep_workerpool_is_worker(const ep_workerpool *wp);

#endif
