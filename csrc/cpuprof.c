/* cpuprof.c — SIGPROF CPU profiler.
 *
 * Design: setitimer(ITIMER_PROF) makes the kernel send SIGPROF every 1/hz
 * seconds of CPU time the process uses; the handler captures the interrupted
 * stack (ep_stack_capture_uc) straight into a slot of a lock-free ring.  A
 * drainer thread empties the ring every 20 ms into a stack table of counts
 * (under a mutex, in normal context).  Order does not matter in a profile, so
 * the drainer scans every slot rather than chasing a tail.
 *
 * Ring protocol (many producers, one consumer): a producer takes an index
 * with fetch_add, claims its slot by CAS state FREE->WRITING (a slot still
 * holding an unread sample means the ring is full: the sample is counted as
 * dropped), fills it and publishes with a release store of READY.  The
 * consumer reads READY slots (acquire) and stores FREE.  The handler touches
 * only this ring, atomics and errno: it is async-signal-safe.
 *
 * Invariants: the handler is installed only while the timer runs; stop
 * disarms the timer, waits until no handler is running, then restores the
 * previous disposition and drains the ring one last time.  Several users
 * share one profiler (refcount); counts are cumulative from the first start.
 */
#include "ep_arrays.h"
#include "enginepools.h"
#include "ep_stacktab.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define RING_SLOTS 1024
#define DRAIN_NS 20000000L

enum { SLOT_FREE, SLOT_WRITING, SLOT_READY };

typedef struct slot {
    _Atomic uint32_t state;
    uint32_t n;
    uintptr_t pcs[EP_STACK_MAX];
} slot;

static slot ring[RING_SLOTS];
static _Atomic uint64_t ring_head;
static _Atomic uint64_t ring_dropped;
static _Atomic int sampling;
static _Atomic int in_handler;

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER; /* start/stop */
static int users;
static uint32_t cur_hz;
static uint64_t started_ns;
static struct sigaction old_action;
static pthread_t drainer;
static int drainer_stop;
static pthread_cond_t drainer_cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t drainer_mx = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t agg_lock = PTHREAD_MUTEX_INITIALIZER; /* the table; the ring's consumer side */
static ep_stacktab agg;
static uint64_t agg_dropped;

static void on_sigprof(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)si;
    int saved_errno = errno;
    atomic_fetch_add(&in_handler, 1);
    if (atomic_load_explicit(&sampling, memory_order_acquire)) {
        slot *s = &ring[atomic_fetch_add_explicit(&ring_head, 1, memory_order_relaxed) % RING_SLOTS];
        uint32_t expect = SLOT_FREE;
        if (atomic_compare_exchange_strong(&s->state, &expect, SLOT_WRITING)) {
            s->n = (uint32_t)ep_stack_capture_uc(uc, s->pcs, EP_STACK_MAX);
            atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
        } else {
            atomic_fetch_add_explicit(&ring_dropped, 1, memory_order_relaxed);
        }
    }
    atomic_fetch_sub(&in_handler, 1);
    errno = saved_errno;
}

static void drain_locked(void) {
    static const uint64_t notag[EP_STACKTAB_NTAG];
    for (size_t i = 0; i < RING_SLOTS; i++) {
        slot *s = &ring[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY) continue;
        uint32_t id;
        if (ep_stacktab_find(&agg, s->pcs, s->n, notag, &id) == 0) agg.e[id].val[0] += 1;
        else agg_dropped++;
        atomic_store_explicit(&s->state, SLOT_FREE, memory_order_release);
    }
}

static void *drainer_main(void *unused) {
    (void)unused;
    /* the drainer's own CPU is not what anyone profiles */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_mutex_lock(&drainer_mx);
    while (!drainer_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += DRAIN_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&drainer_cv, &drainer_mx, &ts);
        pthread_mutex_lock(&agg_lock);
        drain_locked();
        pthread_mutex_unlock(&agg_lock);
    }
    pthread_mutex_unlock(&drainer_mx);
    return NULL;
}

static int set_timer(uint32_t hz) {
    struct itimerval it;
    memset(&it, 0, sizeof it);
    if (hz) {
        long us = 1000000L / (long)hz;
        it.it_interval.tv_sec = us / 1000000L;
        it.it_interval.tv_usec = us % 1000000L;
        it.it_value = it.it_interval;
    }
    return setitimer(ITIMER_PROF, &it, NULL) == 0 ? 0 : errno;
}

/* fork(): the child has no timer (POSIX) and no drainer thread, so it starts
 * with the profiler stopped; the locks are held across fork so the child's
 * copies are consistent and free. */
static void fork_prepare(void) {
    pthread_mutex_lock(&ctl_lock);
    pthread_mutex_lock(&drainer_mx);
    pthread_mutex_lock(&agg_lock);
}
static void fork_parent(void) {
    pthread_mutex_unlock(&agg_lock);
    pthread_mutex_unlock(&drainer_mx);
    pthread_mutex_unlock(&ctl_lock);
}
static void fork_child(void) {
    users = 0;
    atomic_store(&sampling, 0);
    drainer_stop = 0;
    fork_parent();
}
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }

int ep_cpuprof_start(uint32_t hz) {
    if (hz == 0 || hz > 1000) return EINVAL;
    int err = ep_stack_probe_init();
    if (err) return err;
    pthread_once(&atfork_once, register_atfork);
    ep_stack_thread_init();
    pthread_mutex_lock(&ctl_lock);
    if (users > 0) {
        err = hz == cur_hz ? 0 : EBUSY;
        if (!err) users++;
        pthread_mutex_unlock(&ctl_lock);
        return err;
    }
    pthread_mutex_lock(&agg_lock);
    ep_stacktab_clear(&agg);
    agg_dropped = 0;
    for (size_t i = 0; i < RING_SLOTS; i++) atomic_store(&ring[i].state, SLOT_FREE);
    atomic_store(&ring_dropped, 0);
    pthread_mutex_unlock(&agg_lock);

    drainer_stop = 0;
    if ((err = pthread_create(&drainer, NULL, drainer_main, NULL)) != 0) goto out;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, &old_action) != 0) {
        err = errno;
        goto stop_drainer;
    }
    atomic_store_explicit(&sampling, 1, memory_order_release);
    started_ns = ep_now_ns();
    if ((err = set_timer(hz)) != 0) {
        atomic_store(&sampling, 0);
        sigaction(SIGPROF, &old_action, NULL);
        goto stop_drainer;
    }
    cur_hz = hz;
    users = 1;
    goto out;
stop_drainer:
    pthread_mutex_lock(&drainer_mx);
    drainer_stop = 1;
    pthread_cond_signal(&drainer_cv);
    pthread_mutex_unlock(&drainer_mx);
    pthread_join(drainer, NULL);
out:
    pthread_mutex_unlock(&ctl_lock);
    return err;
}

void ep_cpuprof_stop(void) {
    pthread_mutex_lock(&ctl_lock);
    if (users == 0 || --users > 0) {
        pthread_mutex_unlock(&ctl_lock);
        return;
    }
    set_timer(0);
    atomic_store(&sampling, 0);
    /* a SIGPROF already delivered may still run; let it finish first */
    while (atomic_load(&in_handler) > 0) sched_yield();
    /* a signal still pending would find the old disposition: ignore it
     * rather than let the default action (terminate) run */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPROF, old_action.sa_handler == SIG_DFL ? &ign : &old_action, NULL);
    pthread_mutex_lock(&drainer_mx);
    drainer_stop = 1;
    pthread_cond_signal(&drainer_cv);
    pthread_mutex_unlock(&drainer_mx);
    pthread_join(drainer, NULL);
    pthread_mutex_lock(&agg_lock);
    drain_locked();
    pthread_mutex_unlock(&agg_lock);
    pthread_mutex_unlock(&ctl_lock);
}

int ep_cpuprof_snapshot(ep_cpuprof_snap *out) {
    pthread_mutex_lock(&ctl_lock);
    pthread_mutex_lock(&agg_lock);
    if (users > 0) drain_locked();
    size_t n = agg.n, np = agg.npcs;
    ep_cpuprof_snap s = {.hz = cur_hz, .n = n, .start_ns = started_ns};
    s.dropped = agg_dropped + atomic_load(&ring_dropped);
    s.pc_off = malloc((n ? n : 1) * sizeof *s.pc_off);
    s.npcs = malloc((n ? n : 1) * sizeof *s.npcs);
    s.count = malloc((n ? n : 1) * sizeof *s.count);
    s.pcs = malloc((np ? np : 1) * sizeof *s.pcs);
    int err = 0;
    if (!s.pc_off || !s.npcs || !s.count || !s.pcs) {
        ep_cpuprof_snap_free(&s);
        err = ENOMEM;
    } else {
        for (size_t i = 0; i < n; i++) {
            s.pc_off[i] = agg.e[i].pc_off;
            s.npcs[i] = agg.e[i].npcs;
            s.count[i] = agg.e[i].val[0];
        }
        if (np) memcpy(s.pcs, agg.pcs, np * sizeof *s.pcs);
        *out = s;
    }
    pthread_mutex_unlock(&agg_lock);
    pthread_mutex_unlock(&ctl_lock);
    return err;
}

void ep_cpuprof_snap_free(ep_cpuprof_snap *s) {
    EP_FREE_ALL(s->pc_off, s->npcs, s->count, s->pcs);
    memset(s, 0, sizeof *s);
}
