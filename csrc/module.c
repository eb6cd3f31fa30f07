/* module.c — the one seam between C and Python (the only file that includes
 * Python.h).
 *
 * C code below this file sees plain structs and buffers, never PyObjects, and
 * reports failure as an errno-style code; ep_py_raise() turns that code into
 * one Python exception.  Long C work runs with the GIL released, in chunks of
 * 10–50 ms, with PyErr_CheckSignals() between chunks so Ctrl-C works.
 *
 * Layout: one section per domain (alloc, pools, bench, profile, pipeline),
 * each with its functions and its entries in the method table / its types
 * added in module_exec.  Multi-phase init (PEP 489), as CPython's
 * Modules/_bisectmodule.c.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "enginepools.h"

/* ---- error seam --------------------------------------------------------- */

/* Raise the exception matching errno-style code `err`, with a message. */
static inline PyObject *ep_py_raise(int err, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    PyObject *type;
    switch (err) {
    case EINVAL: case ERANGE: case EDOM: case EFBIG: type = PyExc_ValueError; break;
    case ENOMEM: return PyErr_NoMemory();
    case EINTR:
        if (PyErr_CheckSignals() < 0) return NULL;
        type = PyExc_KeyboardInterrupt;
        break;
    case ESHUTDOWN: case EPIPE: case EBUSY: case EALREADY: type = PyExc_RuntimeError; break;
    default:
        errno = err;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, msg);
    }
    PyErr_SetString(type, msg);
    return NULL;
}

/* ==== section: alloc ===================================================== */

static PyObject *py_alloc_counters(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    ep_alloc_counters c;
    ep_alloc_counters_read(&c);
    return Py_BuildValue("{s:K,s:K,s:K,s:K}",
                         "alloc_bytes", (unsigned long long)c.alloc_bytes,
                         "alloc_objects", (unsigned long long)c.alloc_objects,
                         "free_bytes", (unsigned long long)c.free_bytes,
                         "free_objects", (unsigned long long)c.free_objects);
}

#define EP_ALLOC_METHODS \
    {"alloc_counters", py_alloc_counters, METH_NOARGS, \
     "alloc_counters() -> dict: bytes/objects allocated and freed through ep_alloc, all threads."},

/* ==== section: pools ===================================================== */

/* Python types over the C pools (csrc/pool.c, bufpool.c, strbuf.c,
 * workerpool.c).  enginepools/pools.py wraps them with context managers and
 * argument checks; these types are the whole of the seam.
 *
 *   ObjectPool, BufferPool  hand out Lease objects: one pooled block each,
 *       exported through the buffer protocol.  A Lease counts its exports and
 *       refuses to go back to the pool (BufferError) while one is live; a
 *       lease that dies (which needs every view gone, as views hold a
 *       reference to it) goes back by itself.  So memory is never returned,
 *       reused or freed under a live view.
 *   StringBuilderPool       hands out Builder objects (append/str/bytes/len).
 *   WorkerPool              fixed pthreads running built-in C jobs (GIL free)
 *       or Python callables (the worker takes the GIL).  Job records come
 *       from an ep_pool, so the worker pool's own memory is counted and its
 *       record reuse shows as hits.
 *
 * Invariants.  Every pool call from Python is made with the GIL held and
 * none releases it, so no two Python threads are ever inside one C pool at
 * once through this seam (C worker threads only touch the job-record pool,
 * which is thread-safe).  A pool object owns its C pool; `outstanding`
 * counts leases/builders handed out and not returned; close() forbids new
 * gets and destroys the C pool once outstanding is 0 (the last return does
 * it), keeping a final copy of the stats.  Leases hold a strong reference to
 * their pool object, so the C pool outlives every lease.
 *
 * Worker pools: waits run with the GIL released, in 50 ms slices with
 * PyErr_CheckSignals() between them.  What workers touch (queue, job-record
 * pool, counters) is a C struct apart from the Python object; a queued Python
 * job holds a reference to the object, so the object dies with only C jobs
 * left, and is shut down and joined then — or, when it dies on one of its
 * own workers, by a detached thread.  pools.py shuts down live pools at
 * interpreter exit, before workers could be stopped inside a Python job.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define EP_PY_SLICE_NS ((uint64_t)50 * 1000 * 1000)

enum { EPK_OBJECT = 1, EPK_BUFFER = 2, EPK_STRING = 3 };

typedef struct {
    PyObject_HEAD
    int kind;
    union {
        ep_pool *op;
        ep_bufpool *bp;
        ep_strbuf_pool *sp;
        void *any;
    } u;
    PyObject *name;          /* str */
    size_t obj_size;         /* object pools; builder pools: initial capacity */
    Py_ssize_t outstanding;  /* leases/builders handed out, not returned */
    int closed;
    int bypassed;
    int clear_on_put;
    ep_pool_stats final;     /* stats read just before the C pool was destroyed */
} PoolObject;

typedef struct {
    PyObject_HEAD
    PoolObject *owner;       /* strong */
    void *ptr;               /* NULL once returned */
    Py_ssize_t size;         /* length of the exported view */
    size_t cap;              /* block size (buffer pools: class size) */
    Py_ssize_t exports;      /* live Py_buffers */
    PyObject *view;          /* memoryview lent by __enter__, released by __exit__ */
} LeaseObject;

typedef struct {
    PyObject_HEAD
    PoolObject *owner;       /* strong */
    ep_strbuf *sb;           /* NULL once returned */
} BuilderObject;

static PyTypeObject ObjectPool_Type, BufferPool_Type, StringBuilderPool_Type;
static PyTypeObject Lease_Type, Builder_Type, WorkerPool_Type;

/* ---- shared pool plumbing ---- */

static PyObject *pool_stats_dict(const ep_pool_stats *s) {
    double hr = s->gets ? (double)s->hits / (double)s->gets : 0.0;
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:d}",
                         "gets", (unsigned long long)s->gets,
                         "hits", (unsigned long long)s->hits,
                         "misses", (unsigned long long)s->misses,
                         "puts", (unsigned long long)s->puts,
                         "drops", (unsigned long long)s->drops,
                         "retained_objects", (unsigned long long)s->retained_objects,
                         "retained_bytes", (unsigned long long)s->retained_bytes,
                         "peak_retained_bytes", (unsigned long long)s->peak_retained_bytes,
                         "clear_ns", (unsigned long long)s->clear_ns,
                         "trims", (unsigned long long)s->trims,
                         "trimmed", (unsigned long long)s->trimmed,
                         "init_failures", (unsigned long long)s->init_failures,
                         "hit_rate", hr);
}

static int pool_live(PoolObject *p) { return p->u.any != NULL; }

static void pool_read_stats(PoolObject *p, ep_pool_stats *s) {
    if (!pool_live(p)) {
        *s = p->final;
        return;
    }
    switch (p->kind) {
    case EPK_OBJECT: ep_pool_stats_read(p->u.op, s); break;
    case EPK_BUFFER: ep_bufpool_stats_read(p->u.bp, s); break;
    default: ep_strbuf_pool_stats_read(p->u.sp, s); break;
    }
}

static void pool_destroy_now(PoolObject *p) {
    if (!pool_live(p)) return;
    pool_read_stats(p, &p->final);
    /* destroy frees the retained objects: they are no longer retained */
    p->final.retained_objects = p->final.retained_bytes = 0;
    switch (p->kind) {
    case EPK_OBJECT: ep_pool_destroy(p->u.op); break;
    case EPK_BUFFER: ep_bufpool_destroy(p->u.bp); break;
    default: ep_strbuf_pool_destroy(p->u.sp); break;
    }
    p->u.any = NULL;
}

/* A lease or builder came back. */
static void pool_returned(PoolObject *p) {
    p->outstanding--;
    if (p->closed && p->outstanding == 0) pool_destroy_now(p);
}

static int pool_check_open(PoolObject *p) {
    if (p->closed || !pool_live(p)) {
        PyErr_Format(PyExc_RuntimeError, "pool %R is closed", p->name);
        return -1;
    }
    return 0;
}

static PyObject *pool_stats(PyObject *self, PyObject *unused) {
    (void)unused;
    ep_pool_stats s;
    pool_read_stats((PoolObject *)self, &s);
    return pool_stats_dict(&s);
}

static PyObject *pool_trim(PyObject *self, PyObject *unused) {
    (void)unused;
    PoolObject *p = (PoolObject *)self;
    if (pool_live(p)) {
        switch (p->kind) {
        case EPK_OBJECT: ep_pool_trim(p->u.op); break;
        case EPK_BUFFER: ep_bufpool_trim(p->u.bp); break;
        default: ep_strbuf_pool_trim(p->u.sp); break;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *pool_close(PyObject *self, PyObject *unused) {
    (void)unused;
    PoolObject *p = (PoolObject *)self;
    p->closed = 1;
    if (p->outstanding == 0) pool_destroy_now(p);
    Py_RETURN_NONE;
}

static void pool_dealloc(PyObject *self) {
    PoolObject *p = (PoolObject *)self;
    /* no lease is left: each holds a reference to us */
    pool_destroy_now(p);
    Py_XDECREF(p->name);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *pool_get_name(PyObject *self, void *c) { (void)c; return Py_NewRef(((PoolObject *)self)->name); }
static PyObject *pool_get_closed(PyObject *self, void *c) { (void)c; return PyBool_FromLong(((PoolObject *)self)->closed); }
static PyObject *pool_get_bypassed(PyObject *self, void *c) { (void)c; return PyBool_FromLong(((PoolObject *)self)->bypassed); }
static PyObject *pool_get_clear(PyObject *self, void *c) { (void)c; return PyBool_FromLong(((PoolObject *)self)->clear_on_put); }
static PyObject *pool_get_outstanding(PyObject *self, void *c) { (void)c; return PyLong_FromSsize_t(((PoolObject *)self)->outstanding); }

#define POOL_COMMON_GETSET \
    {"name", pool_get_name, NULL, "label of the pool (stats, heap-profile labels)", NULL}, \
    {"closed", pool_get_closed, NULL, "close() was called", NULL}, \
    {"bypassed", pool_get_bypassed, NULL, "EP_POOL_BYPASS was set when the pool was made: every get allocates, every put frees", NULL}, \
    {"clear_on_put", pool_get_clear, NULL, "objects are zeroed when they come back", NULL}, \
    {"outstanding", pool_get_outstanding, NULL, "objects handed out and not yet returned", NULL},

#define POOL_COMMON_METHODS \
    {"stats", pool_stats, METH_NOARGS, "stats() -> dict of counters, summed over threads"}, \
    {"trim", pool_trim, METH_NOARGS, "trim(): free what the pool retains (the depot and this thread's magazines now; other threads' at their next slow path)"}, \
    {"close", pool_close, METH_NOARGS, "close(): no more gets; the C pool is freed once every lease is back"},

/* Name argument: str or None → new reference to a str. */
static PyObject *pool_name_arg(PyObject *name, const char *dflt) {
    if (!name || name == Py_None) return PyUnicode_FromString(dflt);
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "name must be a str, not %.100s", Py_TYPE(name)->tp_name);
        return NULL;
    }
    return Py_NewRef(name);
}

static int size_arg(Py_ssize_t v, const char *what) {
    if (v < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0, got %zd", what, v);
        return -1;
    }
    return 0;
}

/* ---- Lease ---- */

/* Leases are GC-tracked: a lease entered (`with`) holds its memoryview,
 * which holds the lease; if __exit__ never runs, the collector breaks that
 * cycle and the block goes back. */
static PyObject *lease_new(PoolObject *owner, void *ptr, Py_ssize_t size, size_t cap) {
    LeaseObject *l = PyObject_GC_New(LeaseObject, &Lease_Type);
    if (!l) return NULL;
    l->owner = (PoolObject *)Py_NewRef((PyObject *)owner);
    l->ptr = ptr;
    l->size = size;
    l->cap = cap;
    l->exports = 0;
    l->view = NULL;
    owner->outstanding++;
    PyObject_GC_Track(l);
    return (PyObject *)l;
}

/* Give the block back (exports must be 0).  0 or -1 with an exception. */
static int lease_give_back(LeaseObject *l) {
    PoolObject *p = l->owner;
    void *ptr = l->ptr;
    l->ptr = NULL;
    int err = 0;
    if (p->kind == EPK_OBJECT) err = ep_pool_put_checked(p->u.op, ptr);
    else err = ep_bufpool_put_checked(p->u.bp, ptr, l->cap);
    pool_returned(p);
    if (err) {
        ep_py_raise(err, "pool %s refused the block at %p (not handed out by it, or returned twice)",
                    PyUnicode_AsUTF8(p->name), ptr);
        return -1;
    }
    return 0;
}

static PyObject *lease_release(PyObject *self, PyObject *unused) {
    (void)unused;
    LeaseObject *l = (LeaseObject *)self;
    if (!l->ptr) {
        PyErr_SetString(PyExc_ValueError, "this buffer was already returned to its pool");
        return NULL;
    }
    if (l->exports > 0) {
        PyErr_Format(PyExc_BufferError,
                     "cannot return the buffer to pool %R: %zd view(s) of it are still exported "
                     "(release them first; the buffer stays alive, and goes back to the pool "
                     "when the last view is gone)", l->owner->name, l->exports);
        return NULL;
    }
    if (lease_give_back(l) < 0) return NULL;
    Py_RETURN_NONE;
}

static int lease_traverse(PyObject *self, visitproc visit, void *arg) {
    Py_VISIT(((LeaseObject *)self)->view);
    Py_VISIT((PyObject *)((LeaseObject *)self)->owner);
    return 0;
}

static int lease_clear(PyObject *self) {
    Py_CLEAR(((LeaseObject *)self)->view);
    return 0;
}

static void lease_dealloc(PyObject *self) {
    LeaseObject *l = (LeaseObject *)self;
    PyObject_GC_UnTrack(self);
    Py_CLEAR(l->view);
    /* exports is 0 here: every view holds a reference to us */
    if (l->ptr) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (lease_give_back(l) < 0) PyErr_WriteUnraisable(self);
        PyErr_Restore(et, ev, tb);
    }
    Py_XDECREF(l->owner);
    PyObject_GC_Del(self);
}

/* with lease as mv: lend the block as a writable memoryview. */
static PyObject *lease_enter(PyObject *self, PyObject *unused) {
    (void)unused;
    LeaseObject *l = (LeaseObject *)self;
    if (l->view) {
        PyErr_SetString(PyExc_RuntimeError, "this buffer is already lent by a with block");
        return NULL;
    }
    PyObject *mv = PyMemoryView_FromObject(self);
    if (!mv) return NULL;
    l->view = Py_NewRef(mv);
    return mv;
}

/* End of the with block: release the lent view, give the block back.  While
 * views derived from it are alive the block stays with them (it goes back
 * when the last one dies) and BufferError is raised — unless the block is
 * already raising, whose exception is not masked. */
static PyObject *lease_exit(PyObject *self, PyObject *args) {
    LeaseObject *l = (LeaseObject *)self;
    PyObject *et = Py_None, *ev = Py_None, *tb = Py_None;
    if (!PyArg_UnpackTuple(args, "__exit__", 0, 3, &et, &ev, &tb)) return NULL;
    int raising = et != Py_None;
    PyObject *view = l->view;
    l->view = NULL;
    int pinned = 0;
    if (view) {
        /* release() the view, so a name kept after the block can no longer
         * touch the block (the method name is interned once: building it
         * from a C string on every exit cost more than the rest together) */
        static PyObject *release_name;
        if (!release_name && !(release_name = PyUnicode_InternFromString("release"))) {
            Py_DECREF(view);
            return NULL;
        }
        PyObject *r = PyObject_CallMethodNoArgs(view, release_name);
        if (r) {
            Py_DECREF(r);
        } else if (PyErr_ExceptionMatches(PyExc_BufferError)) {
            PyErr_Clear(); /* something holds a buffer of the view itself */
            pinned = 1;
        } else {
            Py_DECREF(view);
            return NULL;
        }
        Py_DECREF(view);
    }
    if (!l->ptr) Py_RETURN_FALSE; /* released inside the block */
    if (pinned || l->exports > 0) {
        if (raising) Py_RETURN_FALSE;
        PyErr_Format(PyExc_BufferError,
                     "buffer from pool %R returned while views derived from it are still alive; it stays "
                     "with them and goes back to the pool when they are gone", l->owner->name);
        return NULL;
    }
    if (lease_give_back(l) < 0) return NULL;
    Py_RETURN_FALSE;
}

static int lease_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    LeaseObject *l = (LeaseObject *)self;
    if (!l->ptr) {
        PyErr_SetString(PyExc_BufferError, "this buffer was returned to its pool; it can no longer be viewed");
        view->obj = NULL;
        return -1;
    }
    if (PyBuffer_FillInfo(view, self, l->ptr, l->size, 0, flags) < 0) return -1;
    l->exports++;
    return 0;
}

static void lease_releasebuffer(PyObject *self, Py_buffer *view) {
    (void)view;
    ((LeaseObject *)self)->exports--;
}

static PyBufferProcs lease_as_buffer = {lease_getbuffer, lease_releasebuffer};

static PyObject *lease_get_size(PyObject *s, void *c) { (void)c; return PyLong_FromSsize_t(((LeaseObject *)s)->size); }
static PyObject *lease_get_cap(PyObject *s, void *c) { (void)c; return PyLong_FromSize_t(((LeaseObject *)s)->cap); }
static PyObject *lease_get_exports(PyObject *s, void *c) { (void)c; return PyLong_FromSsize_t(((LeaseObject *)s)->exports); }
static PyObject *lease_get_returned(PyObject *s, void *c) { (void)c; return PyBool_FromLong(((LeaseObject *)s)->ptr == NULL); }
static PyObject *lease_get_address(PyObject *s, void *c) {
    (void)c;
    LeaseObject *l = (LeaseObject *)s;
    if (!l->ptr) Py_RETURN_NONE;
    return PyLong_FromVoidPtr(l->ptr);
}
static PyObject *lease_get_pool(PyObject *s, void *c) { (void)c; return Py_NewRef((PyObject *)((LeaseObject *)s)->owner); }

static PyGetSetDef lease_getset[] = {
    {"size", lease_get_size, NULL, "bytes exported (the size asked for)", NULL},
    {"capacity", lease_get_cap, NULL, "bytes of the block (buffer pools: its size class)", NULL},
    {"exports", lease_get_exports, NULL, "live buffer views of this block", NULL},
    {"returned", lease_get_returned, NULL, "the block went back to its pool", NULL},
    {"address", lease_get_address, NULL, "address of the block (None once returned); equal addresses mean reuse", NULL},
    {"pool", lease_get_pool, NULL, "the pool the block came from", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef lease_methods[] = {
    {"release", lease_release, METH_NOARGS,
     "release(): give the block back to its pool.  BufferError while views are exported; ValueError if already returned."},
    {"__enter__", lease_enter, METH_NOARGS, "lend the block as a writable memoryview"},
    {"__exit__", lease_exit, METH_VARARGS, "release the lent view and give the block back"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Lease_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "enginepools._core.Lease",
    .tp_basicsize = sizeof(LeaseObject),
    .tp_dealloc = lease_dealloc,
    .tp_as_buffer = &lease_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = lease_traverse,
    .tp_clear = lease_clear,
    .tp_doc = "One pooled block lent to Python: a writable buffer (memoryview(lease)); release() gives it back.",
    .tp_methods = lease_methods,
    .tp_getset = lease_getset,
};

/* ---- ObjectPool ---- */

static int objpool_init(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"size", "max_objects", "max_bytes", "clear_on_put", "magazine_size", "name", NULL};
    PoolObject *p = (PoolObject *)self;
    Py_ssize_t size, max_objects = 0, max_bytes = 0, mag = 0;
    int clear = 0;
    PyObject *name = NULL;
    if (p->u.any || p->name) {
        PyErr_SetString(PyExc_RuntimeError, "ObjectPool is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "n|$nnpnO:ObjectPool", kwlist, &size, &max_objects, &max_bytes,
                                     &clear, &mag, &name))
        return -1;
    if (size <= 0) {
        PyErr_Format(PyExc_ValueError, "size must be a positive number of bytes, got %zd", size);
        return -1;
    }
    if (size_arg(max_objects, "max_objects") < 0 || size_arg(max_bytes, "max_bytes") < 0 ||
        size_arg(mag, "magazine_size") < 0)
        return -1;
    if (mag > 4096) {
        PyErr_Format(PyExc_ValueError, "magazine_size must be at most 4096, got %zd", mag);
        return -1;
    }
    if (max_bytes > 0 && max_bytes < size) {
        PyErr_Format(PyExc_ValueError, "max_bytes=%zd is smaller than one object (size=%zd): nothing could be retained",
                     max_bytes, size);
        return -1;
    }
    PyObject *n = pool_name_arg(name, "object");
    if (!n) return -1;
    const char *cname = PyUnicode_AsUTF8(n);
    if (!cname) {
        Py_DECREF(n);
        return -1;
    }
    ep_pool_config cfg = {
        .name = cname,
        .obj_size = (size_t)size,
        .clear_on_put = clear,
        .max_objects = (size_t)max_objects,
        .max_bytes = (size_t)max_bytes,
        .magazine_size = (unsigned)mag,
    };
    int err = ep_pool_create(&cfg, &p->u.op);
    if (err) {
        Py_DECREF(n);
        ep_py_raise(err, "cannot create ObjectPool(size=%zd)", size);
        return -1;
    }
    p->kind = EPK_OBJECT;
    p->name = n;
    p->obj_size = (size_t)size;
    p->clear_on_put = clear;
    p->bypassed = ep_pool_bypassed(p->u.op);
    return 0;
}

static PyObject *objpool_get(PyObject *self, PyObject *unused) {
    (void)unused;
    PoolObject *p = (PoolObject *)self;
    if (pool_check_open(p) < 0) return NULL;
    void *o = ep_pool_get(p->u.op);
    if (!o) return PyErr_NoMemory();
    PyObject *l = lease_new(p, o, (Py_ssize_t)p->obj_size, p->obj_size);
    if (!l) ep_pool_put(p->u.op, o);
    return l;
}

/* put(lease): the explicit form of lease.release(), checking the owner. */
static PyObject *pool_put_lease(PyObject *self, PyObject *arg) {
    if (!PyObject_TypeCheck(arg, &Lease_Type)) {
        PyErr_Format(PyExc_TypeError, "put() takes a Lease from this pool's get(), not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    LeaseObject *l = (LeaseObject *)arg;
    if ((PyObject *)l->owner != self) {
        PyErr_Format(PyExc_ValueError, "this block belongs to pool %R, not to pool %R", l->owner->name,
                     ((PoolObject *)self)->name);
        return NULL;
    }
    return lease_release(arg, NULL);
}

static PyObject *objpool_get_size(PyObject *s, void *c) { (void)c; return PyLong_FromSize_t(((PoolObject *)s)->obj_size); }

static PyGetSetDef objpool_getset[] = {
    POOL_COMMON_GETSET
    {"size", objpool_get_size, NULL, "bytes per object", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef objpool_methods[] = {
    POOL_COMMON_METHODS
    {"get", objpool_get, METH_NOARGS, "get() -> Lease: a cached object or a new one"},
    {"put", pool_put_lease, METH_O, "put(lease): give an object back (same as lease.release())"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ObjectPool_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "enginepools._core.ObjectPool",
    .tp_basicsize = sizeof(PoolObject),
    .tp_dealloc = pool_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "ObjectPool(size, *, max_objects=0, max_bytes=0, clear_on_put=False, magazine_size=0, name=None)\n"
              "Pool of fixed-size blocks with sync.Pool semantics (per-thread magazines, shared depot).",
    .tp_methods = objpool_methods,
    .tp_getset = objpool_getset,
    .tp_init = objpool_init,
    .tp_new = PyType_GenericNew,
};

/* ---- BufferPool ---- */

static int bufpool_init(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"preset", "max_bytes", "max_objects_per_class", "clear_on_put", "default_size", "name", NULL};
    PoolObject *p = (PoolObject *)self;
    const char *preset = NULL;
    Py_ssize_t max_bytes = 0, max_per = 0, dflt = 0;
    int clear = 0;
    PyObject *name = NULL;
    if (p->u.any || p->name) {
        PyErr_SetString(PyExc_RuntimeError, "BufferPool is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z$nnpnO:BufferPool", kwlist, &preset, &max_bytes, &max_per,
                                     &clear, &dflt, &name))
        return -1;
    int err;
    PyObject *n;
    if (preset) {
        /* the preset is the whole configuration (pools.py merges overrides) */
        if (max_bytes || max_per || clear || dflt || (name && name != Py_None)) {
            PyErr_SetString(PyExc_ValueError, "BufferPool: give either a preset or a configuration, not both");
            return -1;
        }
        err = ep_bufpool_preset(preset, &p->u.bp);
        if (err) {
            PyErr_Format(PyExc_ValueError, "unknown buffer-pool preset %R (known: 'hash', 'tar')",
                         PyTuple_Size(args) ? PyTuple_GET_ITEM(args, 0) : Py_None);
            return -1;
        }
        n = PyUnicode_FromString(preset);
    } else {
        if (size_arg(max_bytes, "max_bytes") < 0 || size_arg(max_per, "max_objects_per_class") < 0 ||
            size_arg(dflt, "default_size") < 0)
            return -1;
        if ((size_t)dflt > EP_BUFPOOL_MAX_CLASS) {
            PyErr_Format(PyExc_ValueError, "default_size must be at most %zu bytes (the largest size class), got %zd",
                         (size_t)EP_BUFPOOL_MAX_CLASS, dflt);
            return -1;
        }
        n = pool_name_arg(name, "buffer");
        if (!n) return -1;
        const char *cname = PyUnicode_AsUTF8(n);
        if (!cname) {
            Py_DECREF(n);
            return -1;
        }
        ep_bufpool_config cfg = {
            .name = cname,
            .clear_on_put = clear,
            .max_bytes = (size_t)max_bytes,
            .max_objects_per_class = (size_t)max_per,
            .default_size = (size_t)dflt,
        };
        err = ep_bufpool_create(&cfg, &p->u.bp);
        if (err) {
            Py_DECREF(n);
            ep_py_raise(err, "cannot create BufferPool");
            return -1;
        }
    }
    if (!n) {
        ep_bufpool_destroy(p->u.bp);
        p->u.bp = NULL;
        return -1;
    }
    p->kind = EPK_BUFFER;
    p->name = n;
    p->obj_size = ep_bufpool_default_size(p->u.bp);
    p->clear_on_put = ep_bufpool_clears(p->u.bp);
    p->bypassed = ep_bufpool_bypassed(p->u.bp);
    return 0;
}

static PyObject *bufpool_get(PyObject *self, PyObject *args) {
    PoolObject *p = (PoolObject *)self;
    PyObject *osize = Py_None;
    if (!PyArg_ParseTuple(args, "|O:get", &osize)) return NULL;
    if (pool_check_open(p) < 0) return NULL;
    Py_ssize_t size;
    if (osize == Py_None) {
        if (p->obj_size == 0) {
            PyErr_Format(PyExc_ValueError, "buffer pool %R has no default size: pass size=", p->name);
            return NULL;
        }
        size = (Py_ssize_t)p->obj_size;
    } else {
        PyObject *iv = PyBool_Check(osize) ? NULL : PyNumber_Index(osize);
        if (!iv) {
            PyErr_Format(PyExc_TypeError, "size must be an int, not %.100s", Py_TYPE(osize)->tp_name);
            return NULL;
        }
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(iv, &overflow);
        Py_DECREF(iv);
        if (v == -1 && PyErr_Occurred()) return NULL;
        if (overflow || v <= 0 || (unsigned long long)v > EP_BUFPOOL_MAX_CLASS) {
            PyErr_Format(PyExc_ValueError, "size must be between 1 and %zu bytes (the largest size class), got %S",
                         (size_t)EP_BUFPOOL_MAX_CLASS, osize);
            return NULL;
        }
        size = (Py_ssize_t)v;
    }
    void *buf;
    size_t cap;
    int err = ep_bufpool_get(p->u.bp, (size_t)size, &buf, &cap);
    if (err) return ep_py_raise(err, "cannot get a %zd-byte buffer", size);
    PyObject *l = lease_new(p, buf, size, cap);
    if (!l) ep_bufpool_put(p->u.bp, buf, cap);
    return l;
}

static PyObject *bufpool_class_for(PyObject *self, PyObject *arg) {
    (void)self;
    Py_ssize_t size = PyLong_AsSsize_t(arg);
    if (size == -1 && PyErr_Occurred()) return NULL;
    size_t c = size > 0 ? ep_bufpool_class_for((size_t)size) : 0;
    if (!c) {
        PyErr_Format(PyExc_ValueError, "size must be between 1 and %zu bytes, got %zd", (size_t)EP_BUFPOOL_MAX_CLASS, size);
        return NULL;
    }
    return PyLong_FromSize_t(c);
}

static PyObject *bufpool_class_stats(PyObject *self, PyObject *arg) {
    PoolObject *p = (PoolObject *)self;
    Py_ssize_t cls = PyLong_AsSsize_t(arg);
    if (cls == -1 && PyErr_Occurred()) return NULL;
    if (pool_check_open(p) < 0) return NULL;
    ep_pool_stats s;
    if (cls <= 0 || ep_bufpool_class_stats(p->u.bp, (size_t)cls, &s) != 0) {
        PyErr_Format(PyExc_ValueError, "%zd is not a size class (powers of two from %zu to %zu)", cls,
                     (size_t)EP_BUFPOOL_MIN_CLASS, (size_t)EP_BUFPOOL_MAX_CLASS);
        return NULL;
    }
    return pool_stats_dict(&s);
}

static PyObject *bufpool_get_default(PyObject *s, void *c) { (void)c; return PyLong_FromSize_t(((PoolObject *)s)->obj_size); }
static PyObject *bufpool_get_maxbytes(PyObject *s, void *c) {
    (void)c;
    PoolObject *p = (PoolObject *)s;
    return PyLong_FromSize_t(pool_live(p) ? ep_bufpool_max_bytes(p->u.bp) : 0);
}

static PyGetSetDef bufpool_getset[] = {
    POOL_COMMON_GETSET
    {"default_size", bufpool_get_default, NULL, "size get() uses when none is given (0 = none)", NULL},
    {"max_bytes", bufpool_get_maxbytes, NULL, "cap on bytes retained over all classes (0 = none)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef bufpool_methods[] = {
    POOL_COMMON_METHODS
    {"get", bufpool_get, METH_VARARGS, "get(size=default_size) -> Lease of `size` bytes from the smallest class that fits"},
    {"put", pool_put_lease, METH_O, "put(lease): give a buffer back (same as lease.release())"},
    {"class_stats", bufpool_class_stats, METH_O, "class_stats(class_size) -> dict: counters of one size class"},
    {"class_for", bufpool_class_for, METH_O | METH_STATIC, "class_for(size) -> the class size serving `size`"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BufferPool_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "enginepools._core.BufferPool",
    .tp_basicsize = sizeof(PoolObject),
    .tp_dealloc = pool_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "BufferPool(preset=None, *, max_bytes=0, max_objects_per_class=0, clear_on_put=False, default_size=0, name=None)\n"
              "Byte buffers in power-of-two size classes, 256 B to 1 MiB; presets 'hash' and 'tar'.",
    .tp_methods = bufpool_methods,
    .tp_getset = bufpool_getset,
    .tp_init = bufpool_init,
    .tp_new = PyType_GenericNew,
};

/* ---- StringBuilderPool and Builder ---- */

static int strpool_init(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"initial_capacity", "max_retained_capacity", "max_objects", "clear_on_put", "name", NULL};
    PoolObject *p = (PoolObject *)self;
    Py_ssize_t initial = 64, max_cap = 0, max_objects = 0;
    int clear = 0;
    PyObject *name = NULL;
    if (p->u.any || p->name) {
        PyErr_SetString(PyExc_RuntimeError, "StringBuilderPool is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$nnnpO:StringBuilderPool", kwlist, &initial, &max_cap, &max_objects,
                                     &clear, &name))
        return -1;
    if (size_arg(initial, "initial_capacity") < 0 || size_arg(max_cap, "max_retained_capacity") < 0 ||
        size_arg(max_objects, "max_objects") < 0)
        return -1;
    if (max_cap && max_cap < initial) {
        PyErr_Format(PyExc_ValueError, "max_retained_capacity=%zd is smaller than initial_capacity=%zd", max_cap, initial);
        return -1;
    }
    PyObject *n = pool_name_arg(name, "strbuf");
    if (!n) return -1;
    const char *cname = PyUnicode_AsUTF8(n);
    if (!cname) {
        Py_DECREF(n);
        return -1;
    }
    ep_strbuf_pool_config cfg = {
        .name = cname,
        .initial_cap = (size_t)initial,
        .max_retained_cap = (size_t)max_cap,
        .max_objects = (size_t)max_objects,
        .clear_on_put = clear,
    };
    int err = ep_strbuf_pool_create_cfg(&cfg, &p->u.sp);
    if (err) {
        Py_DECREF(n);
        ep_py_raise(err, "cannot create StringBuilderPool(initial_capacity=%zd)", initial);
        return -1;
    }
    p->kind = EPK_STRING;
    p->name = n;
    p->obj_size = (size_t)initial;
    p->clear_on_put = clear;
    p->bypassed = ep_strbuf_pool_bypassed(p->u.sp);
    return 0;
}

static PyObject *strpool_get(PyObject *self, PyObject *unused) {
    (void)unused;
    PoolObject *p = (PoolObject *)self;
    if (pool_check_open(p) < 0) return NULL;
    ep_strbuf *sb = ep_strbuf_pool_get(p->u.sp);
    if (!sb) return PyErr_NoMemory();
    BuilderObject *b = PyObject_New(BuilderObject, &Builder_Type);
    if (!b) {
        ep_strbuf_pool_put(p->u.sp, sb);
        return NULL;
    }
    b->owner = (PoolObject *)Py_NewRef(self);
    b->sb = sb;
    p->outstanding++;
    return (PyObject *)b;
}

static void builder_give_back(BuilderObject *b) {
    ep_strbuf *sb = b->sb;
    b->sb = NULL;
    ep_strbuf_pool_put(b->owner->u.sp, sb);
    pool_returned(b->owner);
}

static int builder_check(BuilderObject *b) {
    if (!b->sb) {
        PyErr_SetString(PyExc_ValueError, "this builder was returned to its pool; it can no longer be used");
        return -1;
    }
    return 0;
}

static PyObject *builder_release(PyObject *self, PyObject *unused) {
    (void)unused;
    BuilderObject *b = (BuilderObject *)self;
    if (builder_check(b) < 0) return NULL;
    builder_give_back(b);
    Py_RETURN_NONE;
}

static PyObject *builder_enter(PyObject *self, PyObject *unused) {
    (void)unused;
    if (builder_check((BuilderObject *)self) < 0) return NULL;
    return Py_NewRef(self);
}

/* End of `with pool.builder() as b`: the builder goes back (if it has not). */
static PyObject *builder_exit(PyObject *self, PyObject *args) {
    (void)args;
    BuilderObject *b = (BuilderObject *)self;
    if (b->sb) builder_give_back(b);
    Py_RETURN_FALSE;
}

static PyObject *strpool_put(PyObject *self, PyObject *arg) {
    if (!PyObject_TypeCheck(arg, &Builder_Type)) {
        PyErr_Format(PyExc_TypeError, "put() takes a Builder from this pool's get(), not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    BuilderObject *b = (BuilderObject *)arg;
    if ((PyObject *)b->owner != self) {
        PyErr_Format(PyExc_ValueError, "this builder belongs to pool %R, not to pool %R", b->owner->name,
                     ((PoolObject *)self)->name);
        return NULL;
    }
    return builder_release(arg, NULL);
}

static void builder_dealloc(PyObject *self) {
    BuilderObject *b = (BuilderObject *)self;
    if (b->sb) builder_give_back(b);
    Py_XDECREF(b->owner);
    PyObject_Free(self);
}

static PyObject *builder_append(PyObject *self, PyObject *arg) {
    BuilderObject *b = (BuilderObject *)self;
    if (builder_check(b) < 0) return NULL;
    int err;
    if (PyUnicode_Check(arg)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(arg, &n);
        if (!s) return NULL;
        err = ep_strbuf_append(b->sb, s, (size_t)n);
    } else if (PyObject_CheckBuffer(arg)) {
        Py_buffer v;
        if (PyObject_GetBuffer(arg, &v, PyBUF_SIMPLE) < 0) return NULL;
        err = ep_strbuf_append(b->sb, v.buf, (size_t)v.len);
        PyBuffer_Release(&v);
    } else {
        PyErr_Format(PyExc_TypeError, "append() takes str or bytes-like, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (err) return ep_py_raise(err, "cannot append to the builder");
    Py_RETURN_NONE;
}

static PyObject *builder_str(PyObject *self, PyObject *unused) {
    (void)unused;
    BuilderObject *b = (BuilderObject *)self;
    if (builder_check(b) < 0) return NULL;
    return PyUnicode_DecodeUTF8(b->sb->data ? b->sb->data : "", (Py_ssize_t)b->sb->len, "strict");
}

static PyObject *builder_bytes(PyObject *self, PyObject *unused) {
    (void)unused;
    BuilderObject *b = (BuilderObject *)self;
    if (builder_check(b) < 0) return NULL;
    return PyBytes_FromStringAndSize(b->sb->data ? b->sb->data : "", (Py_ssize_t)b->sb->len);
}

static PyObject *builder_reset(PyObject *self, PyObject *unused) {
    (void)unused;
    BuilderObject *b = (BuilderObject *)self;
    if (builder_check(b) < 0) return NULL;
    ep_strbuf_reset(b->sb);
    Py_RETURN_NONE;
}

static Py_ssize_t builder_len(PyObject *self) {
    BuilderObject *b = (BuilderObject *)self;
    if (builder_check(b) < 0) return -1;
    return (Py_ssize_t)b->sb->len;
}

static PyObject *builder_get_cap(PyObject *s, void *c) {
    (void)c;
    BuilderObject *b = (BuilderObject *)s;
    if (builder_check(b) < 0) return NULL;
    return PyLong_FromSize_t(b->sb->cap);
}
static PyObject *builder_get_returned(PyObject *s, void *c) { (void)c; return PyBool_FromLong(((BuilderObject *)s)->sb == NULL); }
static PyObject *builder_get_address(PyObject *s, void *c) {
    (void)c;
    BuilderObject *b = (BuilderObject *)s;
    if (!b->sb) Py_RETURN_NONE;
    return PyLong_FromVoidPtr(b->sb);
}

static PySequenceMethods builder_as_seq = {.sq_length = builder_len};

static PyGetSetDef builder_getset[] = {
    {"capacity", builder_get_cap, NULL, "bytes the builder can hold before it grows", NULL},
    {"returned", builder_get_returned, NULL, "the builder went back to its pool", NULL},
    {"address", builder_get_address, NULL, "address of the builder struct (None once returned)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef builder_methods[] = {
    {"append", builder_append, METH_O, "append(s): add a str (as UTF-8) or bytes-like"},
    {"str", builder_str, METH_NOARGS, "str() -> the text so far, decoded as UTF-8"},
    {"bytes", builder_bytes, METH_NOARGS, "bytes() -> the bytes so far"},
    {"reset", builder_reset, METH_NOARGS, "reset(): empty the builder, keeping its capacity"},
    {"release", builder_release, METH_NOARGS, "release(): give the builder back to its pool"},
    {"__enter__", builder_enter, METH_NOARGS, "lend the builder to a with block"},
    {"__exit__", builder_exit, METH_VARARGS, "give the builder back"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Builder_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "enginepools._core.Builder",
    .tp_basicsize = sizeof(BuilderObject),
    .tp_dealloc = builder_dealloc,
    .tp_as_sequence = &builder_as_seq,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A growable string builder lent by a StringBuilderPool.",
    .tp_methods = builder_methods,
    .tp_getset = builder_getset,
};

static PyObject *strpool_get_initial(PyObject *s, void *c) { (void)c; return PyLong_FromSize_t(((PoolObject *)s)->obj_size); }

static PyGetSetDef strpool_getset[] = {
    POOL_COMMON_GETSET
    {"initial_capacity", strpool_get_initial, NULL, "capacity of a new builder", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef strpool_methods[] = {
    POOL_COMMON_METHODS
    {"get", strpool_get, METH_NOARGS, "get() -> Builder: an empty builder, reused when one is cached"},
    {"put", strpool_put, METH_O, "put(builder): give a builder back (same as builder.release())"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject StringBuilderPool_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "enginepools._core.StringBuilderPool",
    .tp_basicsize = sizeof(PoolObject),
    .tp_dealloc = pool_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "StringBuilderPool(*, initial_capacity=64, max_retained_capacity=0, max_objects=0, clear_on_put=False, name=None)\n"
              "Pool of growable string builders; stats count builder structs.",
    .tp_methods = strpool_methods,
    .tp_getset = strpool_getset,
    .tp_init = strpool_init,
    .tp_new = PyType_GenericNew,
};

/* ---- WorkerPool ---- */

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
    if (size_arg(max_bytes, "max_bytes") < 0) return -1;
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
        ep_py_raise(err, "cannot create the job-record pool");
        return -1;
    }
    ep_workerpool *wp = NULL;
    Py_BEGIN_ALLOW_THREADS
    err = ep_workerpool_create((unsigned)threads, (size_t)queue, &wp);
    Py_END_ALLOW_THREADS
    if (err) {
        ep_pool_destroy(st->recs);
        ep_free(st, sizeof *st);
        ep_py_raise(err, "cannot start a worker pool of %zd threads", threads);
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
            ep_py_raise(err, "cannot submit a job");
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
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|LL:submit_c", kwlist, &kind, &n, &count)) return NULL;
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
        if (err) return ep_py_raise(err, "cannot submit a C job");
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
        deadline = ep_now_ns() + (uint64_t)(t * 1e9);
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
        if (err != ETIMEDOUT) return ep_py_raise(err, "wait_all failed");
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
        if (err != ETIMEDOUT) return ep_py_raise(err, "shutdown failed");
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
    PyObject *d = pool_stats_dict(&r);
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
    if (!extra || PyDict_Update(d, extra) < 0) {
        Py_XDECREF(extra);
        Py_DECREF(d);
        return NULL;
    }
    Py_DECREF(extra);
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
    Py_TYPE(self)->tp_free(self);
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

static PyTypeObject WorkerPool_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "enginepools._core.WorkerPool",
    .tp_basicsize = sizeof(WorkersObject),
    .tp_dealloc = workers_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "WorkerPool(threads=2, *, queue_size=64, max_objects=-1, max_bytes=0)\n"
              "Fixed pthreads serving a bounded job queue.",
    .tp_methods = workers_methods,
    .tp_getset = workers_getset,
    .tp_init = workers_init,
    .tp_new = PyType_GenericNew,
};

static int pools_exec(PyObject *m) {
    PyTypeObject *types[] = {&ObjectPool_Type, &BufferPool_Type, &StringBuilderPool_Type,
                             &Lease_Type, &Builder_Type, &WorkerPool_Type};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (PyType_Ready(types[i]) < 0) return -1;
        if (PyModule_AddType(m, types[i]) < 0) return -1;
    }
    if (PyModule_AddIntConstant(m, "BUFFER_MIN_CLASS", (long)EP_BUFPOOL_MIN_CLASS) < 0) return -1;
    if (PyModule_AddIntConstant(m, "BUFFER_MAX_CLASS", (long)EP_BUFPOOL_MAX_CLASS) < 0) return -1;
    if (PyModule_AddIntConstant(m, "BUFFER_NCLASSES", (long)EP_BUFPOOL_NCLASSES) < 0) return -1;
    return 0;
}

#define EP_POOLS_METHODS
#define EP_POOLS_EXEC(m) pools_exec(m)

/* ==== section: bench ===================================================== */

static PyObject *py_sha256(PyObject *m, PyObject *args, PyObject *kw) {
    (void)m;
    static char *kwlist[] = {"data", "impl", "chunk", NULL};
    Py_buffer view;
    const char *impl = NULL;
    Py_ssize_t chunk = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|zn:sha256", kwlist, &view, &impl, &chunk)) return NULL;
    if (chunk < 0) {
        PyBuffer_Release(&view);
        return ep_py_raise(EINVAL, "sha256: chunk must be >= 0, got %zd", chunk);
    }
    ep_sha256_ctx c;
    int err = ep_sha256_init_impl(&c, impl);
    if (err) {
        PyBuffer_Release(&view);
        if (err == ENOTSUP)
            return ep_py_raise(EINVAL, "sha256: implementation %s is not available on this CPU", impl);
        return ep_py_raise(err, "sha256: unknown implementation %s (expected 'sha-ni' or 'portable')", impl);
    }
    uint8_t out[EP_SHA256_DIGEST];
    Py_BEGIN_ALLOW_THREADS
    /* chunk > 0 feeds the data in pieces, to exercise the partial-block path */
    size_t step = chunk ? (size_t)chunk : (size_t)view.len;
    const char *p = view.buf;
    for (size_t off = 0, n = (size_t)view.len; off < n; off += step)
        ep_sha256_update(&c, p + off, n - off < step ? n - off : step);
    ep_sha256_final(&c, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, sizeof out);
}

static PyObject *py_sha256_impls(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    PyObject *l = PyList_New(0);
    if (!l) return NULL;
    static const char *names[] = {"sha-ni", "portable"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (!ep_sha256_impl_available(names[i])) continue;
        PyObject *s = PyUnicode_FromString(names[i]);
        if (!s || PyList_Append(l, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(l);
            return NULL;
        }
        Py_DECREF(s);
    }
    return l;
}

/* Benchmark runs are capsules around an ep_bench_run (kernel state, thread
 * team), opened once per (kernel, -cpu) and reused for every sample. */
typedef struct bench_handle {
    ep_bench_run *r;
    int busy;  /* a run() is in progress (the GIL is released during it) */
} bench_handle;

#define BENCH_CAPSULE "enginepools._core.bench_run"

static void bench_capsule_free(PyObject *cap) {
    bench_handle *h = PyCapsule_GetPointer(cap, BENCH_CAPSULE);
    if (!h) {
        PyErr_Clear();
        return;
    }
    ep_bench_close(h->r);
    PyMem_Free(h);
}

static bench_handle *bench_get(PyObject *cap) {
    bench_handle *h = PyCapsule_GetPointer(cap, BENCH_CAPSULE);
    if (!h) return NULL;
    if (!h->r) {
        PyErr_SetString(PyExc_ValueError, "benchmark run is closed");
        return NULL;
    }
    if (h->busy) {
        PyErr_SetString(PyExc_RuntimeError, "benchmark run is in use by another thread");
        return NULL;
    }
    return h;
}

static PyObject *py_bench_list(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    size_t n = ep_bench_count();
    PyObject *l = PyList_New((Py_ssize_t)n);
    if (!l) return NULL;
    for (size_t i = 0; i < n; i++) {
        const ep_bench_kernel *k = ep_bench_at(i);
        char full[256];
        ep_bench_fullname(k, full, sizeof full);
        PyObject *d = Py_BuildValue(
            "{s:s,s:s,s:s,s:s,s:s,s:O,s:K}", "fullname", full, "name", k->name, "variant",
            k->variant ? k->variant : "", "group", ep_bench_group(k), "doc", k->doc ? k->doc : "",
            "parallel", k->run_parallel ? Py_True : Py_False, "bytes_per_op",
            (unsigned long long)k->bytes_per_op);
        if (!d) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, d);
    }
    return l;
}

static PyObject *py_bench_open(PyObject *m, PyObject *args) {
    (void)m;
    const char *name;
    int threads;
    if (!PyArg_ParseTuple(args, "si:bench_open", &name, &threads)) return NULL;
    const ep_bench_kernel *k = ep_bench_find(name);
    if (!k) return ep_py_raise(EINVAL, "no benchmark kernel named %s", name);
    if (threads < 1 || threads > EP_BENCH_MAX_THREADS)
        return ep_py_raise(EINVAL, "threads must be 1..%d, got %d", EP_BENCH_MAX_THREADS, threads);
    bench_handle *h = PyMem_Calloc(1, sizeof *h);
    if (!h) return PyErr_NoMemory();
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = ep_bench_open(k, (unsigned)threads, &h->r);
    Py_END_ALLOW_THREADS
    if (err) {
        PyMem_Free(h);
        return ep_py_raise(err, "%s: setup failed", name);
    }
    PyObject *cap = PyCapsule_New(h, BENCH_CAPSULE, bench_capsule_free);
    if (!cap) {
        ep_bench_close(h->r);
        PyMem_Free(h);
    }
    return cap;
}

static PyObject *py_bench_close(PyObject *m, PyObject *cap) {
    (void)m;
    bench_handle *h = PyCapsule_GetPointer(cap, BENCH_CAPSULE);
    if (!h) return NULL;
    if (h->busy) {
        PyErr_SetString(PyExc_RuntimeError, "benchmark run is in use by another thread");
        return NULL;
    }
    ep_bench_run *r = h->r;
    h->r = NULL;
    Py_BEGIN_ALLOW_THREADS
    ep_bench_close(r);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* run(handle, n, chunk_ns) -> dict.  Steps of ~chunk_ns with the GIL released;
 * Ctrl-C between steps ends the sample early with "complete": False and the
 * iterations that finished (the caller decides what to do with it). */
static PyObject *py_bench_run(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *cap;
    long long n, chunk_ns = 20000000ll;
    if (!PyArg_ParseTuple(args, "OL|L:bench_run", &cap, &n, &chunk_ns)) return NULL;
    bench_handle *h = bench_get(cap);
    if (!h) return NULL;
    if (n < 1) return ep_py_raise(EINVAL, "bench_run: n must be >= 1, got %lld", n);
    if (chunk_ns < 1) chunk_ns = 1;
    ep_bench_run *r = h->r;
    ep_bench_sample s;
    int err = 0, interrupted = 0;
    h->busy = 1;
    ep_bench_begin(r, &s);
    uint64_t remaining = (uint64_t)n;
    while (remaining) {
        uint64_t c = ep_bench_chunk(r, remaining, (uint64_t)chunk_ns);
        Py_BEGIN_ALLOW_THREADS
        err = ep_bench_step(r, c, &s);
        Py_END_ALLOW_THREADS
        if (err) break;
        remaining -= c;
        if (remaining && PyErr_CheckSignals() < 0) {
            if (!PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
                h->busy = 0;
                return NULL;
            }
            PyErr_Clear();
            interrupted = 1;
            break;
        }
    }
    ep_bench_end(r, &s);
    h->busy = 0;
    if (err) {
        char full[256];
        ep_bench_fullname(ep_bench_run_kernel(r), full, sizeof full);
        return ep_py_raise(err, "%s: kernel failed after %llu iterations", full, (unsigned long long)s.n);
    }
    PyObject *units = PyDict_New();
    if (!units) return NULL;
    for (unsigned i = 0; i < s.nunits; i++) {
        PyObject *v = PyFloat_FromDouble(s.units[i].value);
        if (!v || PyDict_SetItemString(units, s.units[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(units);
            return NULL;
        }
        Py_DECREF(v);
    }
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:N,s:O,s:d,s:d}",
                         "n", (unsigned long long)s.n,
                         "ns", (unsigned long long)s.ns,
                         "cpu_ns", (unsigned long long)s.cpu_ns,
                         "alloc_bytes", (unsigned long long)s.alloc_bytes,
                         "alloc_objects", (unsigned long long)s.alloc_objects,
                         "bytes_per_op", (unsigned long long)s.bytes_per_op,
                         "units", units,
                         "complete", interrupted ? Py_False : Py_True,
                         /* the machine probe's means over this sample (NaN: no step ran) */
                         "probe_zero64k_ns", s.probe_ticks ? s.probe_zero64k_ns : NAN,
                         "probe_chain_ns", s.probe_ticks ? s.probe_chain_ns : NAN);
}

typedef struct tar_collect {
    PyObject *files;   /* list of (name, type, bytes) */
    PyObject *archive; /* bytes */
} tar_collect;

static int tar_collect_cb(void *ctx, const char *name, char type, const void *data, size_t size,
                          const void *archive, size_t archive_len) {
    tar_collect *c = ctx;
    if (name == NULL) {
        c->archive = PyBytes_FromStringAndSize(archive, (Py_ssize_t)archive_len);
        return c->archive ? 0 : ENOMEM;
    }
    PyObject *t = Py_BuildValue("(sCy#)", name, (int)type, data ? (const char *)data : "",
                                (Py_ssize_t)(data ? size : 0));
    if (!t) return ENOMEM;
    int rc = PyList_Append(c->files, t);
    Py_DECREF(t);
    return rc < 0 ? ENOMEM : 0;
}

/* The TarArchive kernel's files and one archive of them, for tests. */
static PyObject *py_bench_tar_archive(PyObject *m, PyObject *args) {
    (void)m;
    int pooled;
    if (!PyArg_ParseTuple(args, "p:bench_tar_archive", &pooled)) return NULL;
    tar_collect c = {PyList_New(0), NULL};
    if (!c.files) return NULL;
    int err = ep_bench_tar_archive(pooled, tar_collect_cb, &c);
    if (err) {
        Py_DECREF(c.files);
        Py_XDECREF(c.archive);
        if (PyErr_Occurred()) return NULL;
        return ep_py_raise(err, "bench_tar_archive: writing the archive failed");
    }
    return Py_BuildValue("(NN)", c.archive, c.files);
}

#if defined(__clang__)
#define EP_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define EP_COMPILER "gcc " __VERSION__
#else
#define EP_COMPILER "unknown"
#endif

static int bench_exec(PyObject *m) {
    if (PyModule_AddStringConstant(m, "COMPILER", EP_COMPILER) < 0) return -1;
    return PyModule_AddStringConstant(m, "SHA256_IMPL", ep_sha256_impl());
}

#define EP_BENCH_METHODS \
    {"sha256", (PyCFunction)(void (*)(void))py_sha256, METH_VARARGS | METH_KEYWORDS, \
     "sha256(data, impl=None, chunk=0) -> bytes: SHA-256 digest; impl 'sha-ni'/'portable' (None = the default); chunk > 0 feeds data in pieces of that size."}, \
    {"sha256_impls", py_sha256_impls, METH_NOARGS, \
     "sha256_impls() -> list[str]: SHA-256 implementations usable on this CPU, fastest first."}, \
    {"bench_list", py_bench_list, METH_NOARGS, \
     "bench_list() -> list[dict]: the registered benchmark kernels."}, \
    {"bench_open", py_bench_open, METH_VARARGS, \
     "bench_open(fullname, threads) -> handle: set up a kernel (and its thread team) for runs."}, \
    {"bench_run", py_bench_run, METH_VARARGS, \
     "bench_run(handle, n, chunk_ns=20e6) -> dict: one sample of n iterations (GIL released)."}, \
    {"bench_tar_archive", py_bench_tar_archive, METH_VARARGS, \
     "bench_tar_archive(pooled) -> (archive, [(name, type, data)]): one TarArchive archive and its files."}, \
    {"bench_close", py_bench_close, METH_O, \
     "bench_close(handle): tear the kernel down now (else when the handle is collected)."},
#define EP_BENCH_EXEC(m) bench_exec(m)

/* ==== section: profile (pprof codec) ===================================== */

/* Decoded arrays go to Python without a copy: a small buffer object takes
 * ownership of each malloc'd array and exports it through the buffer
 * protocol, so np.frombuffer() views it and keeps it alive. */
typedef struct {
    PyObject_HEAD
    void *p;
    Py_ssize_t len;
} pp_buf;

static void pp_buf_dealloc(PyObject *o) {
    free(((pp_buf *)o)->p);
    Py_TYPE(o)->tp_free(o);
}

static int pp_buf_getbuffer(PyObject *o, Py_buffer *view, int flags) {
    pp_buf *b = (pp_buf *)o;
    return PyBuffer_FillInfo(view, o, b->p, b->len, 0, flags);
}

static PyBufferProcs pp_buf_as_buffer = {pp_buf_getbuffer, NULL};

static PyTypeObject pp_buf_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "enginepools._core.PprofArray",
    .tp_basicsize = sizeof(pp_buf),
    .tp_dealloc = pp_buf_dealloc,
    .tp_as_buffer = &pp_buf_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A decoded pprof array (owns its memory; view it with numpy.frombuffer).",
};

/* Move *pp (n items of `item` bytes) into d[key]; *pp becomes NULL. */
static int pp_put_array(PyObject *d, const char *key, void *pp, size_t n, size_t item) {
    void **slot = (void **)pp;
    pp_buf *b = PyObject_New(pp_buf, &pp_buf_type);
    if (!b) return -1;
    b->p = *slot;
    b->len = (Py_ssize_t)(n * item);
    *slot = NULL;
    int r = PyDict_SetItemString(d, key, (PyObject *)b);
    Py_DECREF(b);
    return r;
}

static int pp_put_int(PyObject *d, const char *key, long long v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (!o) return -1;
    int r = PyDict_SetItemString(d, key, o);
    Py_DECREF(o);
    return r;
}

static PyObject *pp_result(ep_pprof *p, const uint8_t *raw, size_t raw_len) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    PyObject *strs = PyList_New((Py_ssize_t)p->n_strings);
    if (!strs) goto fail;
    for (size_t i = 0; i < p->n_strings; i++) {
        PyObject *s = PyUnicode_DecodeUTF8((const char *)raw + p->str_off[i], (Py_ssize_t)p->str_len[i], "replace");
        if (!s) {
            Py_DECREF(strs);
            goto fail;
        }
        PyList_SET_ITEM(strs, (Py_ssize_t)i, s);
    }
    if (PyDict_SetItemString(d, "strings", strs) < 0) {
        Py_DECREF(strs);
        goto fail;
    }
    Py_DECREF(strs);
#define PP_ARR(key, ptr, n) if (pp_put_array(d, key, &(ptr), n, sizeof *(ptr)) < 0) goto fail
    PP_ARR("type_type", p->type_type, p->n_types);
    PP_ARR("type_unit", p->type_unit, p->n_types);
    PP_ARR("values", p->values, p->n_samples * p->n_types);
    PP_ARR("sample_loc_offsets", p->sample_loc_off, p->n_samples + 1);
    PP_ARR("sample_loc_ids", p->sample_loc_ids, p->n_sample_locs);
    PP_ARR("sample_label_offsets", p->sample_label_off, p->n_samples + 1);
    PP_ARR("label_key", p->label_key, p->n_labels);
    PP_ARR("label_str", p->label_str, p->n_labels);
    PP_ARR("label_num", p->label_num, p->n_labels);
    PP_ARR("label_unit", p->label_unit, p->n_labels);
    PP_ARR("location_id", p->loc_id, p->n_locations);
    PP_ARR("location_mapping", p->loc_mapping, p->n_locations);
    PP_ARR("location_address", p->loc_address, p->n_locations);
    PP_ARR("location_folded", p->loc_folded, p->n_locations);
    PP_ARR("location_line_offsets", p->loc_line_off, p->n_locations + 1);
    PP_ARR("line_function", p->line_function, p->n_lines);
    PP_ARR("line_line", p->line_line, p->n_lines);
    PP_ARR("function_id", p->fn_id, p->n_functions);
    PP_ARR("function_name", p->fn_name, p->n_functions);
    PP_ARR("function_system_name", p->fn_system_name, p->n_functions);
    PP_ARR("function_filename", p->fn_filename, p->n_functions);
    PP_ARR("function_start_line", p->fn_start_line, p->n_functions);
    PP_ARR("mapping_id", p->map_id, p->n_mappings);
    PP_ARR("mapping_start", p->map_start, p->n_mappings);
    PP_ARR("mapping_limit", p->map_limit, p->n_mappings);
    PP_ARR("mapping_offset", p->map_offset, p->n_mappings);
    PP_ARR("mapping_filename", p->map_filename, p->n_mappings);
    PP_ARR("mapping_build_id", p->map_build_id, p->n_mappings);
    PP_ARR("mapping_flags", p->map_flags, p->n_mappings);
    PP_ARR("comments", p->comments, p->n_comments);
#undef PP_ARR
    if (pp_put_int(d, "drop_frames", p->drop_frames) < 0 || pp_put_int(d, "keep_frames", p->keep_frames) < 0 ||
        pp_put_int(d, "time_nanos", p->time_nanos) < 0 || pp_put_int(d, "duration_nanos", p->duration_nanos) < 0 ||
        pp_put_int(d, "period", p->period) < 0 || pp_put_int(d, "default_sample_type", p->default_sample_type) < 0 ||
        pp_put_int(d, "raw_len", (long long)raw_len) < 0)
        goto fail;
    PyObject *pt = p->has_period_type ? Py_BuildValue("(LL)", (long long)p->period_type_type,
                                                       (long long)p->period_type_unit)
                                      : Py_NewRef(Py_None);
    if (!pt || PyDict_SetItemString(d, "period_type", pt) < 0) {
        Py_XDECREF(pt);
        goto fail;
    }
    Py_DECREF(pt);
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* ValueError(message, offset, stage): enginepools.profile turns it into a
 * ProfileFormatError naming the file. */
static PyObject *pp_format_error(const ep_pprof_error *e, const char *stage) {
    PyObject *args = Py_BuildValue("(sKs)", e->message, (unsigned long long)e->offset, stage);
    if (args) {
        PyErr_SetObject(PyExc_ValueError, args);
        Py_DECREF(args);
    }
    return NULL;
}

static PyObject *py_pprof_decode(PyObject *m, PyObject *arg) {
    (void)m;
    Py_buffer in;
    if (PyObject_GetBuffer(arg, &in, PyBUF_SIMPLE) < 0) return NULL;
    const uint8_t *raw = in.buf;
    size_t raw_len = (size_t)in.len;
    uint8_t *unz = NULL;
    ep_pprof p;
    ep_pprof_error err;
    memset(&p, 0, sizeof p);
    memset(&err, 0, sizeof err);
    int e = 0;
    const char *stage = "proto";
    Py_BEGIN_ALLOW_THREADS
    if (raw_len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        stage = "gzip";
        e = ep_gunzip(raw, raw_len, &unz, &raw_len, &err);
        raw = unz;
        if (!e) stage = "proto";
    }
    if (!e) e = ep_pprof_decode(raw, raw_len, &p, &err);
    Py_END_ALLOW_THREADS
    PyObject *res = NULL;
    if (e == EINVAL) pp_format_error(&err, stage);
    else if (e) ep_py_raise(e, "pprof decode: %s", err.message);
    else res = pp_result(&p, raw, raw_len);
    ep_pprof_free(&p);
    free(unz);
    PyBuffer_Release(&in);
    return res;
}

/* Order of the arrays pprof_encode takes (enginepools.profile._ENCODE_ORDER). */
enum {
    PE_TYPE_T, PE_TYPE_U, PE_VALUES, PE_SLOC_OFF, PE_SLOC, PE_LAB_OFF, PE_LK, PE_LS, PE_LN, PE_LU,
    PE_LOC_ID, PE_LOC_MAP, PE_LOC_ADDR, PE_LOC_FOLD, PE_LOC_LINE_OFF, PE_LINE_FN, PE_LINE_LN,
    PE_FN_ID, PE_FN_NAME, PE_FN_SYS, PE_FN_FILE, PE_FN_START,
    PE_MAP_ID, PE_MAP_START, PE_MAP_LIMIT, PE_MAP_OFF, PE_MAP_FILE, PE_MAP_BUILD, PE_MAP_FLAGS, PE_COMMENTS,
    PE_COUNT
};

static PyObject *py_pprof_encode(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *arrays, *strings;
    long long sc[9];
    int level;
    if (!PyArg_ParseTuple(args, "O!O!(LLLLLLLLL)i:pprof_encode", &PyTuple_Type, &arrays, &PyList_Type, &strings,
                          &sc[0], &sc[1], &sc[2], &sc[3], &sc[4], &sc[5], &sc[6], &sc[7], &sc[8], &level))
        return NULL;
    if (PyTuple_GET_SIZE(arrays) != PE_COUNT) return ep_py_raise(EINVAL, "pprof_encode: need %d arrays", PE_COUNT);
    Py_buffer bufs[PE_COUNT];
    size_t lens[PE_COUNT];
    int got = 0;
    PyObject *res = NULL;
    const char **sp = NULL;
    uint64_t *sl = NULL;
    uint8_t *enc = NULL, *gz = NULL;
    for (; got < PE_COUNT; got++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(arrays, got), &bufs[got], PyBUF_C_CONTIGUOUS) < 0) goto done;
        size_t item = (got == PE_LOC_FOLD || got == PE_MAP_FLAGS) ? 1 : 8;
        if ((size_t)bufs[got].len % item) {
            got++;
            ep_py_raise(EINVAL, "pprof_encode: array %d has a bad item size", got - 1);
            goto done;
        }
        lens[got] = (size_t)bufs[got].len / item;
    }
    ep_pprof p;
    memset(&p, 0, sizeof p);
    p.n_types = lens[PE_TYPE_T];
    if (lens[PE_SLOC_OFF] < 1 || lens[PE_LAB_OFF] != lens[PE_SLOC_OFF] || lens[PE_LOC_LINE_OFF] < 1 ||
        lens[PE_TYPE_U] != p.n_types) {
        ep_py_raise(EINVAL, "pprof_encode: inconsistent offsets");
        goto done;
    }
    p.n_samples = lens[PE_SLOC_OFF] - 1;
    p.n_sample_locs = lens[PE_SLOC];
    p.n_labels = lens[PE_LK];
    p.n_locations = lens[PE_LOC_ID];
    p.n_lines = lens[PE_LINE_FN];
    p.n_functions = lens[PE_FN_ID];
    p.n_mappings = lens[PE_MAP_ID];
    p.n_comments = lens[PE_COMMENTS];
    int bad = lens[PE_VALUES] != p.n_samples * p.n_types || lens[PE_LS] != p.n_labels || lens[PE_LN] != p.n_labels ||
              lens[PE_LU] != p.n_labels || lens[PE_LOC_MAP] != p.n_locations || lens[PE_LOC_ADDR] != p.n_locations ||
              lens[PE_LOC_FOLD] != p.n_locations || lens[PE_LOC_LINE_OFF] != p.n_locations + 1 ||
              lens[PE_LINE_LN] != p.n_lines;
    for (int k = PE_FN_NAME; k <= PE_FN_START; k++) bad |= lens[k] != p.n_functions;
    for (int k = PE_MAP_START; k <= PE_MAP_FLAGS; k++) bad |= lens[k] != p.n_mappings;
    if (bad) {
        ep_py_raise(EINVAL, "pprof_encode: array lengths disagree");
        goto done;
    }
#define PE_PTR(k) ((void *)bufs[k].buf)
    p.type_type = PE_PTR(PE_TYPE_T); p.type_unit = PE_PTR(PE_TYPE_U); p.values = PE_PTR(PE_VALUES);
    p.sample_loc_off = PE_PTR(PE_SLOC_OFF); p.sample_loc_ids = PE_PTR(PE_SLOC);
    p.sample_label_off = PE_PTR(PE_LAB_OFF); p.label_key = PE_PTR(PE_LK); p.label_str = PE_PTR(PE_LS);
    p.label_num = PE_PTR(PE_LN); p.label_unit = PE_PTR(PE_LU);
    p.loc_id = PE_PTR(PE_LOC_ID); p.loc_mapping = PE_PTR(PE_LOC_MAP); p.loc_address = PE_PTR(PE_LOC_ADDR);
    p.loc_folded = PE_PTR(PE_LOC_FOLD); p.loc_line_off = PE_PTR(PE_LOC_LINE_OFF);
    p.line_function = PE_PTR(PE_LINE_FN); p.line_line = PE_PTR(PE_LINE_LN);
    p.fn_id = PE_PTR(PE_FN_ID); p.fn_name = PE_PTR(PE_FN_NAME); p.fn_system_name = PE_PTR(PE_FN_SYS);
    p.fn_filename = PE_PTR(PE_FN_FILE); p.fn_start_line = PE_PTR(PE_FN_START);
    p.map_id = PE_PTR(PE_MAP_ID); p.map_start = PE_PTR(PE_MAP_START); p.map_limit = PE_PTR(PE_MAP_LIMIT);
    p.map_offset = PE_PTR(PE_MAP_OFF); p.map_filename = PE_PTR(PE_MAP_FILE); p.map_build_id = PE_PTR(PE_MAP_BUILD);
    p.map_flags = PE_PTR(PE_MAP_FLAGS); p.comments = PE_PTR(PE_COMMENTS);
#undef PE_PTR
    p.drop_frames = sc[0]; p.keep_frames = sc[1]; p.time_nanos = sc[2]; p.duration_nanos = sc[3];
    p.period = sc[4]; p.default_sample_type = sc[5]; p.has_period_type = sc[6] != 0;
    p.period_type_type = sc[7]; p.period_type_unit = sc[8];
    size_t ns = (size_t)PyList_GET_SIZE(strings);
    sp = malloc((ns ? ns : 1) * sizeof *sp);
    sl = malloc((ns ? ns : 1) * sizeof *sl);
    if (!sp || !sl) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < ns; i++) {
        Py_ssize_t n;
        sp[i] = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(strings, (Py_ssize_t)i), &n);
        if (!sp[i]) goto done;
        sl[i] = (uint64_t)n;
    }
    p.n_strings = ns;
    size_t enc_len = 0, gz_len = 0;
    int e;
    Py_BEGIN_ALLOW_THREADS
    e = ep_pprof_encode(&p, sp, sl, &enc, &enc_len);
    if (!e && level > 0) e = ep_gzip(enc, enc_len, level > 9 ? 9 : level, &gz, &gz_len);
    Py_END_ALLOW_THREADS
    if (e) {
        ep_py_raise(e, "pprof_encode: %s", e == EINVAL ? "offsets out of order" : "failed");
        goto done;
    }
    res = level > 0 ? PyBytes_FromStringAndSize((const char *)gz, (Py_ssize_t)gz_len)
                    : PyBytes_FromStringAndSize((const char *)enc, (Py_ssize_t)enc_len);
done:
    for (int k = 0; k < got; k++) PyBuffer_Release(&bufs[k]);
    free(sp);
    free(sl);
    free(enc);
    free(gz);
    return res;
}

#define EP_PROFILE_METHODS \
    {"pprof_decode", py_pprof_decode, METH_O, \
     "pprof_decode(data) -> dict of arrays: decode profile.proto (gzip'd or not)."}, \
    {"pprof_encode", py_pprof_encode, METH_VARARGS, \
     "pprof_encode(arrays, strings, scalars, gzip_level) -> bytes: encode profile.proto."},
#define EP_PROFILE_EXEC(m) PyType_Ready(&pp_buf_type)

/* ==== section: profiler (heap sampling, CPU sampling, stack capture) ===== */

/* Stacks cross as tuples of ints (return addresses, leaf first); the Python
 * side (enginepools.profiling) symbolizes and builds the pprof profile. */
static PyObject *pcs_tuple(const uintptr_t *pcs, size_t n) {
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong((unsigned long long)pcs[i]);
        if (!v) { Py_DECREF(t); return NULL; }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, v);
    }
    return t;
}

static PyObject *py_heapprof_start(PyObject *m, PyObject *args) {
    (void)m;
    unsigned long long rate, seed = 0;
    if (!PyArg_ParseTuple(args, "K|K:heapprof_start", &rate, &seed)) return NULL;
    int err = ep_heapprof_start(rate, seed);
    if (err == EALREADY) return ep_py_raise(err, "heap profiler already running (rate %llu)",
                                            (unsigned long long)ep_heapprof_rate());
    if (err) return ep_py_raise(err, "heapprof_start(rate=%llu): rate must be >= 1", rate);
    Py_RETURN_NONE;
}

static PyObject *py_heapprof_stop(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    ep_heapprof_stop();
    Py_RETURN_NONE;
}

static PyObject *py_heapprof_rate(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    return PyLong_FromUnsignedLongLong(ep_heapprof_rate());
}

static PyObject *py_heapprof_snapshot(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    ep_heapprof_snap s;
    int err = ep_heapprof_snapshot(&s);
    if (err) return ep_py_raise(err, "heap profile snapshot");
    PyObject *recs = PyList_New((Py_ssize_t)s.n), *out = NULL;
    if (!recs) goto done;
    for (size_t i = 0; i < s.n; i++) {
        const ep_heapprof_entry *e = &s.e[i];
        PyObject *st = pcs_tuple(s.pcs + e->pc_off, e->npcs);
        if (!st) goto done;
        PyObject *r = Py_BuildValue("(NKzIKKKK)", st, (unsigned long long)e->size, e->pool,
                                    (unsigned)e->size_class,
                                    (unsigned long long)e->alloc_objects, (unsigned long long)e->alloc_bytes,
                                    (unsigned long long)e->free_objects, (unsigned long long)e->free_bytes);
        if (!r) goto done;
        PyList_SET_ITEM(recs, (Py_ssize_t)i, r);
    }
    out = Py_BuildValue("{s:K,s:K,s:O}", "rate", (unsigned long long)s.rate,
                        "dropped", (unsigned long long)s.dropped, "records", recs);
done:
    Py_XDECREF(recs);
    ep_heapprof_snap_free(&s);
    return out;
}

static PyObject *py_cpuprof_start(PyObject *m, PyObject *args) {
    (void)m;
    unsigned int hz;
    if (!PyArg_ParseTuple(args, "I:cpuprof_start", &hz)) return NULL;
    int err = ep_cpuprof_start(hz);
    if (err == EINVAL) return ep_py_raise(err, "cpuprof_start(hz=%u): hz must be in 1..1000", hz);
    if (err == EBUSY) return ep_py_raise(err, "CPU profiler already running at another rate");
    if (err) return ep_py_raise(err, "cpuprof_start");
    Py_RETURN_NONE;
}

static PyObject *py_cpuprof_stop(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    Py_BEGIN_ALLOW_THREADS
    ep_cpuprof_stop();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_cpuprof_snapshot(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    ep_cpuprof_snap s;
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = ep_cpuprof_snapshot(&s);
    Py_END_ALLOW_THREADS
    if (err) return ep_py_raise(err, "CPU profile snapshot");
    PyObject *recs = PyList_New((Py_ssize_t)s.n), *out = NULL;
    if (!recs) goto done;
    for (size_t i = 0; i < s.n; i++) {
        PyObject *st = pcs_tuple(s.pcs + s.pc_off[i], s.npcs[i]);
        if (!st) goto done;
        PyObject *r = Py_BuildValue("(NK)", st, (unsigned long long)s.count[i]);
        if (!r) goto done;
        PyList_SET_ITEM(recs, (Py_ssize_t)i, r);
    }
    out = Py_BuildValue("{s:I,s:K,s:K,s:O}", "hz", (unsigned)s.hz, "dropped", (unsigned long long)s.dropped,
                        "start_ns", (unsigned long long)s.start_ns, "records", recs);
done:
    Py_XDECREF(recs);
    ep_cpuprof_snap_free(&s);
    return out;
}

/* test kernels: kept blocks travel as a capsule released on collection */
#define KEEP_CAPSULE "enginepools._core.proftest_keep"

static void keep_destructor(PyObject *cap) {
    if (PyCapsule_GetContext(cap) == NULL)
        ep_proftest_release(PyCapsule_GetPointer(cap, KEEP_CAPSULE));
}

static PyObject *py_proftest_alloc(PyObject *m, PyObject *args) {
    (void)m;
    int site;
    unsigned long long n, keep_every = 0;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "iKn|K:proftest_alloc", &site, &n, &size, &keep_every)) return NULL;
    if (size <= 0) return ep_py_raise(EINVAL, "size must be > 0");
    ep_proftest_keep *k = NULL;
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = ep_proftest_alloc(site, n, (size_t)size, keep_every, keep_every ? &k : NULL);
    Py_END_ALLOW_THREADS
    if (err) return ep_py_raise(err, "proftest_alloc(site=%d): site must be 0..2", site);
    if (!k) Py_RETURN_NONE;
    PyObject *cap = PyCapsule_New(k, KEEP_CAPSULE, keep_destructor);
    if (!cap) ep_proftest_release(k);
    return cap;
}

static PyObject *py_proftest_release(PyObject *m, PyObject *cap) {
    (void)m;
    void *k = PyCapsule_GetPointer(cap, KEEP_CAPSULE);
    if (!k) return NULL;
    if (PyCapsule_GetContext(cap) == NULL) {
        ep_proftest_release(k);
        PyCapsule_SetContext(cap, cap); /* marks it released */
    }
    Py_RETURN_NONE;
}

static PyObject *py_proftest_pool(PyObject *m, PyObject *args) {
    (void)m;
    const char *name;
    unsigned long long n;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "sKn:proftest_pool", &name, &n, &size)) return NULL;
    if (size <= 0) return ep_py_raise(EINVAL, "size must be > 0");
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = ep_proftest_pool(name, n, (size_t)size);
    Py_END_ALLOW_THREADS
    if (err) return ep_py_raise(err, "proftest_pool(%s)", name);
    Py_RETURN_NONE;
}

static PyObject *py_proftest_spin(PyObject *m, PyObject *args) {
    (void)m;
    double seconds;
    if (!PyArg_ParseTuple(args, "d:proftest_spin", &seconds)) return NULL;
    if (!(seconds >= 0 && seconds <= 60)) return ep_py_raise(EINVAL, "seconds must be in 0..60");
    uint64_t r;
    Py_BEGIN_ALLOW_THREADS
    r = ep_proftest_spin(seconds);
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLongLong(r);
}

static PyObject *py_proftest_addresses(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    uintptr_t s, l;
    ep_proftest_addresses(&s, &l);
    return Py_BuildValue("{s:K,s:K}", "proftest_spin_loop", (unsigned long long)s,
                         "qsort", (unsigned long long)l);
}

#define EP_PROFILER_METHODS \
    {"heapprof_start", py_heapprof_start, METH_VARARGS, \
     "heapprof_start(rate, seed=0): start heap sampling, mean gap `rate` bytes (1 = every allocation)."}, \
    {"heapprof_stop", py_heapprof_stop, METH_NOARGS, "heapprof_stop(): stop sampling (samples stay)."}, \
    {"heapprof_rate", py_heapprof_rate, METH_NOARGS, "heapprof_rate() -> int: current rate, 0 = off."}, \
    {"heapprof_snapshot", py_heapprof_snapshot, METH_NOARGS, \
     "heapprof_snapshot() -> {rate, dropped, records: [(pcs, size, pool, size_class, " \
     "alloc_objects, alloc_bytes, free_objects, free_bytes)]} (raw sampled counts)."}, \
    {"cpuprof_start", py_cpuprof_start, METH_VARARGS, "cpuprof_start(hz): start or join the SIGPROF profiler."}, \
    {"cpuprof_stop", py_cpuprof_stop, METH_NOARGS, "cpuprof_stop(): leave; the last user stops the timer."}, \
    {"cpuprof_snapshot", py_cpuprof_snapshot, METH_NOARGS, \
     "cpuprof_snapshot() -> {hz, dropped, start_ns, records: [(pcs, count)]} (cumulative)."}, \
    {"proftest_alloc", py_proftest_alloc, METH_VARARGS, \
     "proftest_alloc(site, n, size, keep_every=0) -> capsule|None: test allocation pattern."}, \
    {"proftest_release", py_proftest_release, METH_O, "proftest_release(capsule): free kept blocks."}, \
    {"proftest_pool", py_proftest_pool, METH_VARARGS, "proftest_pool(name, n, size): allocations under a pool tag."}, \
    {"proftest_spin", py_proftest_spin, METH_VARARGS, "proftest_spin(seconds): burn CPU in a static C function."}, \
    {"proftest_addresses", py_proftest_addresses, METH_NOARGS, \
     "proftest_addresses() -> {name: address} of a static function of the library and of libc's qsort."},
#define EP_PROFILER_EXEC(m) 0

/* ==== section: pipeline ================================================== */

/* Output callback collecting into a Python-independent growable buffer. */
typedef struct { unsigned char *p; size_t len, cap; } mem_sink;

static int mem_sink_write(void *ctx, const void *data, size_t n) {
    mem_sink *s = ctx;
    if (s->len + n > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 4096;
        while (nc < s->len + n) nc *= 2;
        unsigned char *q = PyMem_RawRealloc(s->p, nc);
        if (!q) return ENOMEM;
        s->p = q;
        s->cap = nc;
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    return 0;
}

/* One entry tuple: (name, type, mode, mtime, size, data|None, linkname|None, fd). */
static int tar_entry_from_tuple(PyObject *t, ep_tar_entry *e, Py_buffer *data, int *fd) {
    const char *name, *type, *link = NULL;
    unsigned int mode;
    long long mtime;
    unsigned long long size;
    PyObject *dataobj, *linkobj;
    if (!PyArg_ParseTuple(t, "ssILKOOi;tar entry must be (name, type, mode, mtime, size, data, linkname, fd)",
                          &name, &type, &mode, &mtime, &size, &dataobj, &linkobj, fd))
        return -1;
    if (strlen(type) != 1) {
        PyErr_Format(PyExc_ValueError, "tar entry %s: type must be one character, not %R", name, PyTuple_GET_ITEM(t, 1));
        return -1;
    }
    if (linkobj != Py_None && !(link = PyUnicode_AsUTF8(linkobj))) return -1;
    data->obj = NULL;
    if (dataobj != Py_None) {
        if (PyObject_GetBuffer(dataobj, data, PyBUF_SIMPLE) < 0) return -1;
        if ((unsigned long long)data->len != size) {
            PyBuffer_Release(data);
            PyErr_Format(PyExc_ValueError, "tar entry %s: size %llu but %zd data bytes", name, size, data->len);
            return -1;
        }
    }
    memset(e, 0, sizeof *e);
    e->name = name;
    e->type = type[0];
    e->mode = mode;
    e->mtime = mtime;
    e->size = size;
    e->linkname = link;
    return 0;
}

static PyObject *py_tar_write(PyObject *m, PyObject *args, PyObject *kw) {
    (void)m;
    static char *kwlist[] = {"entries", "deterministic", "mtime", "bufsize", "record_size", "header_only", NULL};
    PyObject *entries;
    int deterministic = 1, header_only = 0;
    long long mtime = 0;
    Py_ssize_t bufsize = 64 << 10, record = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|pLnnp:tar_write", kwlist, &entries, &deterministic, &mtime,
                                     &bufsize, &record, &header_only))
        return NULL;
    PyObject *seq = PySequence_Fast(entries, "tar_write: entries must be a sequence of tuples");
    if (!seq) return NULL;
    if (bufsize < EP_TAR_BLOCK || bufsize > (1 << 26)) {
        Py_DECREF(seq);
        return ep_py_raise(EINVAL, "tar_write: bufsize must be 512..64Mi, not %zd", bufsize);
    }
    void *buf = PyMem_RawMalloc((size_t)bufsize);
    mem_sink sink = {0};
    ep_tar_writer w;
    ep_tar_options opt = {.deterministic = deterministic, .mtime = mtime, .record_size = (size_t)record};
    PyObject *res = NULL;
    int err = buf ? ep_tar_writer_init(&w, mem_sink_write, &sink, buf, (size_t)bufsize, &opt) : ENOMEM;
    if (err) {
        ep_py_raise(err, "tar_write: bad buffer or record size");
        goto out;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        ep_tar_entry e;
        Py_buffer data;
        int fd;
        if (tar_entry_from_tuple(PySequence_Fast_GET_ITEM(seq, i), &e, &data, &fd) < 0) goto out;
        if (header_only) {
            err = ep_tar_write_header(&w, &e);
            w.pending = 0; /* header bytes only (for testing huge sizes) */
        } else if (data.obj) {
            err = ep_tar_add_mem(&w, &e, data.buf);
        } else if (fd >= 0) {
            err = ep_tar_add_fd(&w, &e, fd);
        } else {
            err = ep_tar_add_mem(&w, &e, NULL);
        }
        if (data.obj) PyBuffer_Release(&data);
        if (err) {
            ep_py_raise(err, "tar_write: entry %zd (%s)", i, e.name);
            goto out;
        }
    }
    err = header_only ? (w.len ? mem_sink_write(&sink, w.buf, w.len) : 0) : ep_tar_finish(&w);
    if (err) {
        ep_py_raise(err, "tar_write: finishing the archive");
        goto out;
    }
    res = PyBytes_FromStringAndSize((const char *)sink.p, (Py_ssize_t)sink.len);
out:
    Py_DECREF(seq);
    PyMem_RawFree(buf);
    PyMem_RawFree(sink.p);
    return res;
}


/* enginepools._core.pipeline_run: the build-context pipeline (ep_pipeline.h),
 * GIL released; the check callback takes the GIL back between files (every
 * ~20 ms) to run PyErr_CheckSignals and, at phase ends, the optional hook. */
typedef struct {
    PyThreadState *ts;
    PyObject *hook;
    int failed;
} pl_check_ctx;

static int pl_check(void *ctx, int phase) {
    pl_check_ctx *k = ctx;
    PyEval_RestoreThread(k->ts);
    int stop = PyErr_CheckSignals() < 0;
    const char *name = phase == EP_PIPELINE_PHASE_WALKED ? "walked"
                       : phase == EP_PIPELINE_PHASE_HASHED ? "hashed"
                       : phase == EP_PIPELINE_PHASE_WALK ? "walk" : NULL;
    if (!stop && k->hook && name) {
        PyObject *r = PyObject_CallFunction(k->hook, "s", name);
        if (!r) stop = 1;
        Py_XDECREF(r);
    }
    k->ts = PyEval_SaveThread();
    if (stop) k->failed = 1;
    return stop;
}

static PyObject *pl_pool_stats_dict(const ep_pool_stats *s) {
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}",
                         "gets", (unsigned long long)s->gets, "hits", (unsigned long long)s->hits,
                         "misses", (unsigned long long)s->misses, "puts", (unsigned long long)s->puts,
                         "drops", (unsigned long long)s->drops,
                         "retained_bytes", (unsigned long long)s->retained_bytes,
                         "peak_retained_bytes", (unsigned long long)s->peak_retained_bytes,
                         "clear_ns", (unsigned long long)s->clear_ns,
                         "init_failures", (unsigned long long)s->init_failures);
}

static int dict_put(PyObject *d, const char *k, PyObject *v) {
    if (!v) return -1;
    int rc = PyDict_SetItemString(d, k, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *pipeline_result_dict(const ep_pipeline_result *r, unsigned pools, int keep) {
    PyObject *d = Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:s,s:K,s:K,s:K,s:K,s:I}",
        "files", (unsigned long long)r->files, "dirs", (unsigned long long)r->dirs,
        "symlinks", (unsigned long long)r->symlinks, "bytes_hashed", (unsigned long long)r->bytes_hashed,
        "bytes_archived", (unsigned long long)r->bytes_archived, "archive_bytes", (unsigned long long)r->archive_bytes,
        "skipped_unreadable", (unsigned long long)r->skipped_unreadable,
        "skipped_vanished", (unsigned long long)r->skipped_vanished,
        "skipped_special", (unsigned long long)r->skipped_special,
        "unreadable_dirs", (unsigned long long)r->unreadable_dirs,
        "dangling_symlinks", (unsigned long long)r->dangling_symlinks, "changed", (unsigned long long)r->changed,
        "tag_strings", (unsigned long long)r->tag_strings, "image_tag", r->image_tag,
        "walk_ns", (unsigned long long)r->walk_ns, "hash_ns", (unsigned long long)r->hash_ns,
        "tar_ns", (unsigned long long)r->tar_ns, "total_ns", (unsigned long long)r->total_ns,
        "threads", r->threads);
    if (!d) return NULL;
    PyObject *pd = PyDict_New();
    if (!pd || dict_put(d, "pools", pd) < 0) goto fail;
    /* pd borrowed from d now (dict_put dropped our reference, d holds one) */
    if ((pools & EP_PIPELINE_STRING) && dict_put(pd, "string", pl_pool_stats_dict(&r->string_pool)) < 0) goto fail;
    if ((pools & EP_PIPELINE_HASH) && dict_put(pd, "hash", pl_pool_stats_dict(&r->hash_pool)) < 0) goto fail;
    if ((pools & EP_PIPELINE_TAR) && dict_put(pd, "tar", pl_pool_stats_dict(&r->tar_pool)) < 0) goto fail;
    if (dict_put(d, "alloc", Py_BuildValue("{s:K,s:K,s:K,s:K}",
                                           "alloc_bytes", (unsigned long long)r->alloc.alloc_bytes,
                                           "alloc_objects", (unsigned long long)r->alloc.alloc_objects,
                                           "free_bytes", (unsigned long long)r->alloc.free_bytes,
                                           "free_objects", (unsigned long long)r->alloc.free_objects)) < 0)
        goto fail;
    if (dict_put(d, "workers", Py_BuildValue("{s:K,s:K,s:K,s:K,s:K}",
                                             "submitted", (unsigned long long)r->workers.submitted,
                                             "completed", (unsigned long long)r->workers.completed,
                                             "queue_peak", (unsigned long long)r->workers.queue_peak,
                                             "threads", (unsigned long long)r->workers.threads,
                                             "bytes_held", (unsigned long long)r->workers.bytes_held)) < 0)
        goto fail;
    if (keep) {
        PyObject *fl = PyList_New((Py_ssize_t)r->nfiles);
        if (!fl || dict_put(d, "file_hashes", fl) < 0) goto fail;
        for (size_t i = 0; i < r->nfiles; i++) {
            PyObject *t = Py_BuildValue("(sKy#)", r->file_list[i].path, (unsigned long long)r->file_list[i].size,
                                        (const char *)r->file_list[i].sha256, (Py_ssize_t)32);
            if (!t) goto fail;
            PyList_SET_ITEM(fl, (Py_ssize_t)i, t);
        }
    }
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *py_pipeline_run(PyObject *m, PyObject *args, PyObject *kw) {
    (void)m;
    static char *kwlist[] = {"root", "pools", "out_fd", "threads", "keep_files", "deterministic", "mtime",
                             "hash_bufsize", "tar_bufsize", "hook", NULL};
    PyObject *rootobj, *hook = Py_None;
    unsigned pools = EP_PIPELINE_ALL, threads = 0;
    int out_fd = -1, keep = 0, det = 1;
    long long mtime = 0;
    Py_ssize_t hb = 0, tb = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|IiIppLnnO:pipeline_run", kwlist, PyUnicode_FSConverter,
                                     &rootobj, &pools, &out_fd, &threads, &keep, &det, &mtime, &hb, &tb, &hook))
        return NULL;
    PyObject *res = NULL;
    if (hook != Py_None && !PyCallable_Check(hook)) {
        PyErr_SetString(PyExc_TypeError, "pipeline_run: hook must be callable");
        goto out;
    }
    if (hb < 0 || tb < 0 || threads > 1024) {
        ep_py_raise(EINVAL, "pipeline_run: negative buffer size or too many threads");
        goto out;
    }
    pl_check_ctx k = {.hook = hook == Py_None ? NULL : hook};
    ep_pipeline_config cfg = {
        .root = PyBytes_AS_STRING(rootobj), .pools = pools, .out_fd = out_fd, .threads = threads,
        .hash_bufsize = (size_t)hb, .tar_bufsize = (size_t)tb, .keep_files = keep, .deterministic = det,
        .mtime = mtime, .check = pl_check, .check_ctx = &k, .check_every_entry = k.hook != NULL,
    };
    ep_pipeline_result r;
    k.ts = PyEval_SaveThread();
    int err = ep_pipeline_run(&cfg, &r);
    PyEval_RestoreThread(k.ts);
    if (err) {
        if (err == EINTR && k.failed && PyErr_Occurred()) goto out;
        if (err == EINVAL) ep_py_raise(err, "pipeline_run: invalid pools mask or buffer size");
        else ep_py_raise(err, "%s", PyBytes_AS_STRING(rootobj));
        goto out;
    }
    res = pipeline_result_dict(&r, pools, keep);
    ep_pipeline_result_free(&r);
out:
    Py_DECREF(rootobj);
    return res;
}

#define EP_PIPELINE_METHODS \
    {"pipeline_run", (PyCFunction)(void (*)(void))py_pipeline_run, METH_VARARGS | METH_KEYWORDS, \
     "pipeline_run(root, pools=7, out_fd=-1, threads=0, keep_files=False, deterministic=True, mtime=0,\n" \
     "             hash_bufsize=0, tar_bufsize=0, hook=None) -> dict\n" \
     "Walk root, hash every file on the worker pool, write a ustar archive to out_fd (-1: count only).\n" \
     "pools: bit mask string=1, hash=2, tar=4.  hook(phase) runs before each entry of the walk ('walk'),\n" \
     "after it ('walked') and after hashing ('hashed'); raising stops the run."}, \
    {"tar_write", (PyCFunction)(void (*)(void))py_tar_write, METH_VARARGS | METH_KEYWORDS, \
     "tar_write(entries, deterministic=True, mtime=0, bufsize=65536, record_size=10240, header_only=False) -> bytes\n" \
     "Archive of entries (name, type '0'|'2'|'5', mode, mtime, size, data|None, linkname|None, fd|-1)\n" \
     "written by the C ustar writer (fd: content copied from that descriptor)."},
#define EP_PIPELINE_EXEC(m) \
    (PyModule_AddIntConstant((m), "PIPELINE_STRING", EP_PIPELINE_STRING) < 0 || \
     PyModule_AddIntConstant((m), "PIPELINE_HASH", EP_PIPELINE_HASH) < 0 || \
     PyModule_AddIntConstant((m), "PIPELINE_TAR", EP_PIPELINE_TAR) < 0 ? -1 : 0)

/* ==== module ============================================================= */

static PyMethodDef core_methods[] = {
    EP_ALLOC_METHODS
    EP_POOLS_METHODS
    EP_BENCH_METHODS
    EP_PROFILE_METHODS
    EP_PROFILER_METHODS
    EP_PIPELINE_METHODS
    {NULL, NULL, 0, NULL},
};

static int module_exec(PyObject *m) {
    if (PyModule_AddStringConstant(m, "VERSION", EP_VERSION) < 0) return -1;
    /* each section adds its types and constants through its EXEC macro */
    if (EP_POOLS_EXEC(m) < 0) return -1;
    if (EP_BENCH_EXEC(m) < 0) return -1;
    if (EP_PROFILE_EXEC(m) < 0) return -1;
    if (EP_PROFILER_EXEC(m) < 0) return -1;
    if (EP_PIPELINE_EXEC(m) < 0) return -1;
    return 0;
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "enginepools._core",
    .m_doc = "C core of enginepools: pools, kernels, profilers, pprof codec.",
    .m_size = 0,
    .m_methods = core_methods,
    .m_slots = core_slots,
};

PyMODINIT_FUNC PyInit__core(void) { return PyModuleDef_Init(&core_module); }
