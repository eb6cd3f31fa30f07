/* workerpool.c — WorkerPool: fixed pthreads running built-in C jobs (GIL
 * free) or Python callables (the worker takes the GIL), over
 * csrc/workerpool.c.  Job records come from an ep_pool, so the worker pool's
 * own memory is counted and its record reuse shows as hits.
 *
 * Waits run with the GIL released, in 50 ms slices with PyErr_CheckSignals()
 * between them.  What workers touch (queue, job-record pool, counters) is a
 * C struct apart from the Python object; a queued Python job holds a
 * reference to the object, so the object dies with only C jobs left, and is
 * shut down and joined then — or, when it dies on one of its own workers, by
 * a detached thread.  pools.py shuts down live pools at interpreter exit,
 * before workers could be stopped inside a Python job.  The object is not
 * GC-tracked: the only objects it holds are a job's exception, and queued
 * jobs (which hold it) live in C, where the collector cannot see them anyway.
 */
#include "seam.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

enum { JOB_PY = 1, JOB_NOOP, JOB_SLEEP, JOB_SPIN, JOB_MEMSET, JOB_SHA };

/* Input of "sha" jobs: hashing zeros is as much work as hashing anything. */
static const uint8_t sha_zeros[16384];

typedef struct WorkersObject WorkersObject;
typedef struct jobrec jobrec;

/* What the workers touch lives apart from the Python object: C jobs may
 * still be queued when the object dies, and if it dies on one of its own
 * workers (the last reference dropped by a job) a detached thread finishes
 * the shutdown and frees this. */
typedef struct wstate {
    ep_workerpool *wp;
    ep_pool *recs;                   /* pool of job records */
    _Atomic(jobrec *) discarded;     /* records dropped by shutdown, freed under the GIL */
    _Atomic int64_t in_flight;       /* records handed out, not yet back */
    _Atomic uint64_t spin_sink;
} wstate;

struct jobrec {
    wstate *st;
    WorkersObject *owner;         /* JOB_PY: strong, so the pool object outlives its queued Python jobs */
    int kind;
    uint64_t n;
    PyObject *fn, *args, *kwargs; /* JOB_PY */
    struct jobrec *next;          /* discarded list */
};

struct WorkersObject {
    PyObject_HEAD
    wstate *st;                      /* NULL before init */
    ep_workerpool *wp;               /* = st->wp */
    ep_pool *recs;                   /* = st->recs */
    uint64_t errors;                 /* under the GIL */
    PyObject *err_type, *err_value, *err_tb; /* first job exception not yet reported (GIL) */
    int shut;                        /* shutdown finished */
    int forked;                      /* we are a fork() child: the threads are the parent's */
    unsigned nthreads;
    ep_workerpool_stats final;
};

static void rec_put(wstate *st, jobrec *r) {
    ep_pool_put(st->recs, r);
    atomic_fetch_sub_explicit(&st->in_flight, 1, memory_order_relaxed);
}

static jobrec *rec_get(wstate *st) {
    jobrec *r = ep_pool_get(st->recs);
    if (r) {
        memset(r, 0, sizeof *r);
        r->st = st;
        atomic_fetch_add_explicit(&st->in_flight, 1, memory_order_relaxed);
    }
    return r;
}

/* Drop what a Python job record holds (GIL held) and give the record back. */
static void rec_drop_py(wstate *st, jobrec *r) {
    WorkersObject *owner = r->owner;
    r->owner = NULL;
    Py_CLEAR(r->fn);
    Py_CLEAR(r->args);
    Py_CLEAR(r->kwargs);
    rec_put(st, r);
    Py_XDECREF(owner); /* may free the pool object (see workers_dealloc) */
}

/* Runs on a worker thread, without the GIL unless the job is Python. */
static void run_job(void *arg) {
    jobrec *r = arg;
    wstate *st = r->st;
    switch (r->kind) {
    case JOB_NOOP: break;
    case JOB_SLEEP: {
        struct timespec ts = {(time_t)(r->n / 1000000u), (long)(r->n % 1000000u) * 1000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
        break;
    }
    case JOB_SPIN: {
        uint64_t x = r->n | 1;
        for (uint64_t i = 0; i < r->n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        atomic_fetch_add_explicit(&st->spin_sink, x, memory_order_relaxed);
        break;
    }
    case JOB_MEMSET: {
        void *b = ep_alloc((size_t)r->n);
        if (b) {
            memset(b, 0xA5, (size_t)r->n);
            __asm__ volatile("" : : "r"(b) : "memory");
            ep_free(b, (size_t)r->n);
        }
        break;
    }
    case JOB_SHA: {
        ep_sha256_ctx ctx;
        uint8_t d[EP_SHA256_DIGEST];
        ep_sha256_init(&ctx);
        for (uint64_t left = r->n; left;) {
            size_t k = left < sizeof sha_zeros ? (size_t)left : sizeof sha_zeros;
            ep_sha256_update(&ctx, sha_zeros, k);
            left -= k;
        }
        ep_sha256_final(&ctx, d);
        uint64_t x;
        memcpy(&x, d, sizeof x);
        atomic_fetch_add_explicit(&st->spin_sink, x, memory_order_relaxed);
        break;
    }
    case JOB_PY: {
        PyGILState_STATE g = PyGILState_Ensure();
        WorkersObject *w = r->owner;
        PyObject *res = PyObject_Call(r->fn, r->args, r->kwargs);
        if (res) {
            Py_DECREF(res);
        } else {
            w->errors++;
            if (!w->err_type) {
                PyErr_Fetch(&w->err_type, &w->err_value, &w->err_tb);
                PyErr_NormalizeException(&w->err_type, &w->err_value, &w->err_tb);
                if (w->err_value && w->err_tb) PyException_SetTraceback(w->err_value, w->err_tb);
            } else {
                PyErr_Clear();
            }
        }
        rec_drop_py(st, r); /* the record and maybe the pool object are gone now */
        PyGILState_Release(g);
        return;
    }
    default: break;
    }
    rec_put(st, r);
}

/* Called by the C pool on the shutdown caller's thread (GIL released) for
 * each queued job it drops: park the record until the GIL is back. */
static void discard_hook(ep_job_fn fn, void *arg) {
    (void)fn;
    jobrec *r = arg;
    wstate *st = r->st;
    jobrec *head = atomic_load_explicit(&st->discarded, memory_order_relaxed);
    do {
        r->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&st->discarded, &head, r, memory_order_release,
                                                    memory_order_relaxed));
}

/* With the GIL: release what discarded jobs hold. */
static void workers_reap_discarded(wstate *st) {
    jobrec *r = atomic_exchange_explicit(&st->discarded, NULL, memory_order_acquire);
    while (r) {
        jobrec *next = r->next;
        if (r->kind == JOB_PY) rec_drop_py(st, r); else rec_put(st, r);
        r = next;
    }
}

/* Shut down (running what is queued), join and free.  No Python. */
static void wstate_free(wstate *st) {
    ep_workerpool_destroy(st->wp);
    ep_pool_destroy(st->recs);
    ep_free(st, sizeof *st);
}

static void *wstate_reaper(void *arg) {
    wstate_free(arg);
    return NULL;
}

static int workers_init(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"threads", "queue_size", "max_objects", "max_bytes", NULL};
    WorkersObject *w = (WorkersObject *)self;
    Py_ssize_t threads = 2, queue = 64, max_objects = -1, max_bytes = 0;
    if (w->st) {
        PyErr_SetString(PyExc_RuntimeError, "WorkerPool is already initialised");
        return -1;
    }
    if (_ep_int_args_fit(args, kw, kwlist) < 0) return -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|n$nnn:WorkerPool", kwlist, &threads, &queue, &max_objects, &max_bytes))
        return -1;
    if (threads < 1 || threads > 1024) {
        PyErr_Format(PyExc_ValueError, "threads must be between 1 and 1024, got %zd", threads);
        return -1;
    }
    if (queue < 1 || queue > ((Py_ssize_t)1 << 30)) {
        PyErr_Format(PyExc_ValueError, "queue_size must be between 1 and %zd, got %zd", (Py_ssize_t)1 << 30, queue);
        return -1;
    }
    if (max_objects < -1) {
        PyErr_Format(PyExc_ValueError, "max_objects must be >= 0, got %zd", max_objects);
        return -1;
    }
    if (_ep_size_arg(max_bytes, "max_bytes") < 0) return -1;
    if (max_bytes > 0 && (size_t)max_bytes < sizeof(jobrec)) {
        PyErr_Format(PyExc_ValueError, "max_bytes=%zd is smaller than one job record (%zu bytes)", max_bytes,
                     sizeof(jobrec));
        return -1;
    }
    /* Records are got by submitters and put by workers: small magazines let
     * full ones reach the depot (and the submitter) soon.  By default retain
     * what can be in flight at once plus two magazines per thread. */
    enum { REC_MAG = 8 };
    ep_pool_config cfg = {
        .name = "workerpool.jobs",
        .obj_size = sizeof(jobrec),
        .magazine_size = REC_MAG,
        .max_objects = max_objects < 0 ? (size_t)(queue + threads + 2 * REC_MAG * (threads + 1)) : (size_t)max_objects,
        .max_bytes = (size_t)max_bytes,
    };
    wstate *st = ep_calloc(sizeof *st);
    if (!st) {
        PyErr_NoMemory();
        return -1;
    }
    int err = ep_pool_create(&cfg, &st->recs);
    if (err) {
        ep_free(st, sizeof *st);
        _ep_py_raise(err, "cannot create the job-record pool");
        return -1;
    }
    ep_workerpool *wp = NULL;
    Py_BEGIN_ALLOW_THREADS
    err = ep_workerpool_create((unsigned)threads, (size_t)queue, &wp);
    Py_END_ALLOW_THREADS
    if (err) {
        ep_pool_destroy(st->recs);
        ep_free(st, sizeof *st);
        _ep_py_raise(err, "cannot start a worker pool of %zd threads", threads);
        return -1;
    }
    ep_workerpool_set_discard_hook(wp, discard_hook);
    st->wp = wp;
    w->st = st;
    w->wp = wp;
    w->recs = st->recs;
    w->nthreads = (unsigned)threads;
    return 0;
}

static int workers_check(WorkersObject *w) {
    if (!w->st) {
        PyErr_SetString(PyExc_RuntimeError, "WorkerPool is not initialised");
        return -1;
    }
    if (w->forked) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this worker pool belongs to the parent process: its threads do not survive fork()");
        return -1;
    }
    return 0;
}

/* Called in a fork() child (pools.py registers it): the workers do not exist
 * here and the pool's locks may be held by them, so the pool is never
 * touched again (its memory is the parent's copy; leaking it is harmless). */
static PyObject *workers_after_fork(PyObject *self, PyObject *unused) {
    (void)unused;
    ((WorkersObject *)self)->forked = 1;
    Py_RETURN_NONE;
}

/* Submit with the GIL released, in slices; on failure the record is freed
 * (Python refs dropped) and an exception is set. */
static int workers_submit_rec(WorkersObject *w, jobrec *r) {
    for (;;) {
        int err;
        Py_BEGIN_ALLOW_THREADS
        err = ep_workerpool_submit_timed(w->wp, run_job, r, EP_PY_SLICE_NS);
        Py_END_ALLOW_THREADS
        if (err == 0) return 0;
        if (err == ETIMEDOUT) {
            if (PyErr_CheckSignals() == 0) continue;
        } else if (err == ESHUTDOWN) {
            PyErr_SetString(PyExc_RuntimeError, "cannot submit: the worker pool was shut down");
        } else if (err == EDEADLK) {
            PyErr_SetString(PyExc_RuntimeError,
                            "cannot submit from inside a job: the queue is full and every other worker is blocked too");
        } else {
            _ep_py_raise(err, "cannot submit a job");
        }
        rec_drop_py(w->st, r);
        return -1;
    }
}

static PyObject *workers_submit(PyObject *self, PyObject *args, PyObject *kw) {
    WorkersObject *w = (WorkersObject *)self;
    if (workers_check(w) < 0) return NULL;
    Py_ssize_t na = PyTuple_GET_SIZE(args);
    if (na < 1) {
        PyErr_SetString(PyExc_TypeError, "submit() needs a callable");
        return NULL;
    }
    PyObject *fn = PyTuple_GET_ITEM(args, 0);
    if (!PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError, "submit() needs a callable, not %.100s", Py_TYPE(fn)->tp_name);
        return NULL;
    }
    PyObject *rest = PyTuple_GetSlice(args, 1, na);
    if (!rest) return NULL;
    jobrec *r = rec_get(w->st);
    if (!r) {
        Py_DECREF(rest);
        return PyErr_NoMemory();
    }
    r->kind = JOB_PY;
    r->owner = (WorkersObject *)Py_NewRef(self);
    r->fn = Py_NewRef(fn);
    r->args = rest;
    r->kwargs = kw && PyDict_GET_SIZE(kw) ? PyDict_Copy(kw) : NULL;
    if (kw && PyDict_GET_SIZE(kw) && !r->kwargs) {
        rec_drop_py(w->st, r);
        return NULL;
    }
    if (workers_submit_rec(w, r) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *workers_submit_c(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"kind", "arg", "count", NULL};
    WorkersObject *w = (WorkersObject *)self;
    const char *kind;
    long long n = 0, count = 1;
    if (_ep_int_args_fit(args, kw, kwlist) < 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "s|LL:submit_c", kwlist, &kind, &n, &count))
        return NULL;
    if (workers_check(w) < 0) return NULL;
    int k;
    if (strcmp(kind, "noop") == 0) k = JOB_NOOP;
    else if (strcmp(kind, "sleep") == 0) k = JOB_SLEEP;
    else if (strcmp(kind, "spin") == 0) k = JOB_SPIN;
    else if (strcmp(kind, "memset") == 0) k = JOB_MEMSET;
    else if (strcmp(kind, "sha") == 0) k = JOB_SHA;
    else {
        PyErr_Format(PyExc_ValueError, "unknown C job kind %R (known: 'noop', 'sleep', 'spin', 'memset', 'sha')",
                     PyTuple_Size(args) ? PyTuple_GET_ITEM(args, 0) : Py_None);
        return NULL;
    }
    if (n < 0) {
        PyErr_Format(PyExc_ValueError, "arg must be >= 0, got %lld", n);
        return NULL;
    }
    if (k == JOB_SLEEP && n > 10 * 1000 * 1000) {
        PyErr_Format(PyExc_ValueError, "sleep arg is in microseconds and at most 10 s (10000000), got %lld", n);
        return NULL;
    }
    if ((k == JOB_MEMSET || k == JOB_SHA) && n > ((long long)1 << 30)) {
        PyErr_Format(PyExc_ValueError, "%s arg is a byte count of at most 1 GiB, got %lld", kind, n);
        return NULL;
    }
    if (count < 0) {
        PyErr_Format(PyExc_ValueError, "count must be >= 0, got %lld", count);
        return NULL;
    }
    for (long long i = 0; i < count;) {
        /* one GIL-free stretch submits as many jobs as fit in a slice */
        int err = 0;
        Py_BEGIN_ALLOW_THREADS
        uint64_t t_end = ep_now_ns() + EP_PY_SLICE_NS;
        while (i < count) {
            jobrec *r = rec_get(w->st);
            if (!r) {
                err = ENOMEM;
                break;
            }
            r->kind = k;
            r->n = (uint64_t)n;
            err = ep_workerpool_submit_timed(w->wp, run_job, r, EP_PY_SLICE_NS);
            if (err) {
                rec_put(w->st, r);
                break;
            }
            i++;
            if ((i & 63) == 0 && ep_now_ns() > t_end) break;
        }
        Py_END_ALLOW_THREADS
        if (err == ETIMEDOUT || (err == 0 && i < count)) {
            if (PyErr_CheckSignals() < 0) return NULL;
            continue;
        }
        if (err == ESHUTDOWN) {
            PyErr_SetString(PyExc_RuntimeError, "cannot submit: the worker pool was shut down");
            return NULL;
        }
        if (err == EDEADLK) {
            PyErr_SetString(PyExc_RuntimeError,
                            "cannot submit from inside a job: the queue is full and every other worker is blocked too");
            return NULL;
        }
        if (err) return _ep_py_raise(err, "cannot submit a C job");
    }
    Py_RETURN_NONE;
}

/* Raise the first job exception not reported yet; 0 when there is none. */
static int workers_raise_job_error(WorkersObject *w) {
    if (!w->err_type) return 0;
    PyErr_Restore(w->err_type, w->err_value, w->err_tb);
    w->err_type = w->err_value = w->err_tb = NULL;
    return -1;
}

static PyObject *workers_wait(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"timeout", NULL};
    WorkersObject *w = (WorkersObject *)self;
    PyObject *otimeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait_all", kwlist, &otimeout)) return NULL;
    if (workers_check(w) < 0) return NULL;
    uint64_t deadline = UINT64_MAX;
    if (otimeout != Py_None) {
        double t = PyFloat_AsDouble(otimeout);
        if (t == -1.0 && PyErr_Occurred()) return NULL;
        if (!(t >= 0)) {
            PyErr_Format(PyExc_ValueError, "timeout must be >= 0 seconds or None, got %R", otimeout);
            return NULL;
        }
        /* inf or anything past ~292 years: no deadline (a cast of an
         * out-of-range double is undefined) */
        if (t < 9.0e9) deadline = ep_now_ns() + (uint64_t)(t * 1e9);
    }
    for (;;) {
        uint64_t now = ep_now_ns();
        uint64_t slice = EP_PY_SLICE_NS;
        if (deadline != UINT64_MAX) slice = deadline <= now ? 0 : (deadline - now < slice ? deadline - now : slice);
        int err;
        Py_BEGIN_ALLOW_THREADS
        err = ep_workerpool_wait_timed(w->wp, slice);
        Py_END_ALLOW_THREADS
        if (err == 0) break;
        if (err == EDEADLK) {
            PyErr_SetString(PyExc_RuntimeError, "wait_all() called from inside one of the pool's own jobs would never return");
            return NULL;
        }
        if (err != ETIMEDOUT) return _ep_py_raise(err, "wait_all failed");
        if (PyErr_CheckSignals() < 0) return NULL;
        if (deadline != UINT64_MAX && ep_now_ns() >= deadline) {
            if (workers_raise_job_error(w) < 0) return NULL;
            Py_RETURN_FALSE;
        }
    }
    if (workers_raise_job_error(w) < 0) return NULL;
    Py_RETURN_TRUE;
}

static void workers_finish(WorkersObject *w) {
    ep_workerpool_stats_read(w->wp, &w->final);
    w->shut = 1;
}

/* shutdown(cancel_pending=False): stop accepting jobs; run (or, with
 * cancel_pending, drop) the queued ones; join the workers.  Returns the
 * number of jobs dropped by this call. */
static PyObject *workers_shutdown(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"cancel_pending", NULL};
    WorkersObject *w = (WorkersObject *)self;
    int cancel = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:shutdown", kwlist, &cancel)) return NULL;
    if (workers_check(w) < 0) return NULL;
    if (w->shut) return PyLong_FromLong(0);
    ep_workerpool_stats before;
    ep_workerpool_stats_read(w->wp, &before);
    for (;;) {
        int err;
        Py_BEGIN_ALLOW_THREADS
        err = ep_workerpool_shutdown_timed(w->wp, !cancel, EP_PY_SLICE_NS);
        Py_END_ALLOW_THREADS
        workers_reap_discarded(w->st);
        if (err == 0) break;
        if (err == EDEADLK) {
            PyErr_SetString(PyExc_RuntimeError, "shutdown() called from inside one of the pool's own jobs would never return");
            return NULL;
        }
        if (err != ETIMEDOUT) return _ep_py_raise(err, "shutdown failed");
        if (PyErr_CheckSignals() < 0) return NULL; /* the pool stays closing; call again to finish */
    }
    workers_finish(w);
    if (workers_raise_job_error(w) < 0) return NULL;
    return PyLong_FromUnsignedLongLong((unsigned long long)(w->final.discarded - before.discarded));
}

static PyObject *workers_stats(PyObject *self, PyObject *unused) {
    (void)unused;
    WorkersObject *w = (WorkersObject *)self;
    if (workers_check(w) < 0) return NULL;
    ep_workerpool_stats s;
    ep_pool_stats r;
    if (w->shut) s = w->final; else ep_workerpool_stats_read(w->wp, &s);
    ep_pool_stats_read(w->recs, &r);
    int64_t inflight = atomic_load_explicit(&w->st->in_flight, memory_order_relaxed);
    uint64_t held = s.bytes_held + r.retained_bytes + (uint64_t)(inflight > 0 ? inflight : 0) * sizeof(jobrec);
    PyObject *d = _ep_pool_stats_dict(&r);
    if (!d) return NULL;
    PyObject *extra = Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:L,s:O}",
                                    "submitted", (unsigned long long)s.submitted,
                                    "completed", (unsigned long long)s.completed,
                                    "discarded", (unsigned long long)s.discarded,
                                    "queued", (unsigned long long)s.queued,
                                    "queue_size", (unsigned long long)s.queue_cap,
                                    "queue_peak", (unsigned long long)s.queue_peak,
                                    "threads", (unsigned long long)s.threads,
                                    "bytes_held", (unsigned long long)held,
                                    "errors", (unsigned long long)w->errors,
                                    "in_flight", (long long)inflight,
                                    "shut_down", w->shut ? Py_True : Py_False);
    int rc = extra ? PyDict_Update(d, extra) : -1;
    Py_XDECREF(extra);
    if (rc < 0) Py_CLEAR(d);
    return d;
}

static PyObject *workers_trim(PyObject *self, PyObject *unused) {
    (void)unused;
    WorkersObject *w = (WorkersObject *)self;
    if (workers_check(w) < 0) return NULL;
    ep_pool_trim(w->recs);
    Py_RETURN_NONE;
}

static PyObject *workers_get_threads(PyObject *s, void *c) { (void)c; return PyLong_FromUnsignedLong(((WorkersObject *)s)->nthreads); }
static PyObject *workers_get_shut(PyObject *s, void *c) { (void)c; return PyBool_FromLong(((WorkersObject *)s)->shut); }
static PyObject *workers_get_in_worker(PyObject *s, void *c) {
    (void)c;
    WorkersObject *w = (WorkersObject *)s;
    return PyBool_FromLong(w->st && ep_workerpool_is_worker(w->wp));
}

static void workers_dealloc(PyObject *self) {
    WorkersObject *w = (WorkersObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    /* Queued Python jobs hold a reference to us, so only C jobs can be left. */
    wstate *st = w->st;
    w->st = NULL;
    if (w->forked) st = NULL; /* see workers_after_fork */
    if (st && ep_workerpool_is_worker(st->wp)) {
        /* The last reference went in one of our own jobs: a worker cannot
         * join itself, so a detached thread shuts down and frees the C state
         * (the job's epilogue touches only that state, never this object). */
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, wstate_reaper, st) != 0) {
            /* cannot: leak the C state rather than deadlock */
        }
        pthread_attr_destroy(&at);
    } else if (st) {
        if (!w->shut) {
            /* run the queued C jobs, not interruptible: the object is going away */
            Py_BEGIN_ALLOW_THREADS
            ep_workerpool_shutdown(st->wp, 1);
            Py_END_ALLOW_THREADS
            workers_reap_discarded(st);
        }
        wstate_free(st);
    }
    Py_XDECREF(w->err_type);
    Py_XDECREF(w->err_value);
    Py_XDECREF(w->err_tb);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyGetSetDef workers_getset[] = {
    {"threads", workers_get_threads, NULL, "number of worker threads", NULL},
    {"shut_down", workers_get_shut, NULL, "shutdown() has finished", NULL},
    {"in_worker", workers_get_in_worker, NULL, "the calling thread is one of this pool's workers", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef workers_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))workers_submit, METH_VARARGS | METH_KEYWORDS,
     "submit(fn, /, *args, **kwargs): run fn(*args, **kwargs) on a worker (blocks while the queue is full)"},
    {"submit_c", (PyCFunction)(void (*)(void))workers_submit_c, METH_VARARGS | METH_KEYWORDS,
     "submit_c(kind, arg=0, count=1): queue `count` built-in C jobs that run without the GIL:\n"
     "'noop'; 'sleep' (arg microseconds); 'spin' (arg xorshift rounds); 'memset' (ep_alloc arg bytes, fill, free);\n"
     "'sha' (SHA-256 of arg bytes)"},
    {"wait_all", (PyCFunction)(void (*)(void))workers_wait, METH_VARARGS | METH_KEYWORDS,
     "wait_all(timeout=None) -> bool: wait until every job submitted so far has finished (False on timeout);\n"
     "raises the first exception a Python job raised since the last report"},
    {"shutdown", (PyCFunction)(void (*)(void))workers_shutdown, METH_VARARGS | METH_KEYWORDS,
     "shutdown(cancel_pending=False) -> int: stop accepting jobs, run (or drop) the queued ones, join the workers;\n"
     "returns the number of jobs dropped"},
    {"stats", workers_stats, METH_NOARGS, "stats() -> dict: job counters, memory held, and the job-record pool's counters"},
    {"trim", workers_trim, METH_NOARGS, "trim(): free the retained job records"},
    {"_after_fork_in_child", workers_after_fork, METH_NOARGS, "mark the pool as the parent's (pools.py calls it in fork children)"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot workers_slots[] = {
    {Py_tp_dealloc, workers_dealloc}, {Py_tp_init, workers_init}, {Py_tp_new, PyType_GenericNew},
    {Py_tp_methods, workers_methods}, {Py_tp_getset, workers_getset},
    {Py_tp_doc, "WorkerPool(threads=2, *, queue_size=64, max_objects=-1, max_bytes=0)\n"
                "Fixed pthreads serving a bounded job queue."},
    {0, NULL},
};
EP_TYPE_SPEC(WorkerPool, WorkersObject, workers_slots, 0);
