/* pools.c — ObjectPool, BufferPool and StringBuilderPool over the C pools
 * (csrc/pool.c, bufpool.c, strbuf.c), and the Lease and Builder objects they
 * lend.  enginepools/pools.py wraps them with context managers and argument
 * checks; these types are the whole of the seam.
 *
 *   ObjectPool, BufferPool  hand out Lease objects: one pooled block each,
 *       exported through the buffer protocol.  A Lease counts its exports and
 *       refuses to go back to the pool (BufferError) while one is live; a
 *       lease that dies (which needs every view gone, as views hold a
 *       reference to it) goes back by itself.  So memory is never returned,
 *       reused or freed under a live view.
 *   StringBuilderPool       hands out Builder objects (append/str/bytes/len).
 *
 * Invariants.  Every pool call from Python is made with the GIL held and
 * none releases it, so no two Python threads are ever inside one C pool at
 * once through this seam.  A pool object owns its C pool; `outstanding`
 * counts leases/builders handed out and not returned; close() forbids new
 * gets and destroys the C pool once outstanding is 0 (the last return does
 * it), keeping a final copy of the stats.  Leases hold a strong reference to
 * their pool object, so the C pool outlives every lease.
 *
 * The three pool types share one object layout and one body per operation
 * (init, get, put, give back), parametrised by the pool's kind as
 * Modules/_heapqmodule.c parametrises its heap functions: what differs
 * between the kinds is an argument parser or a switch, not a second copy.
 */
#include "seam.h"

#include <string.h>

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

/* ---- shared pool plumbing ---- */

PyObject *_ep_pool_stats_dict(const ep_pool_stats *s) {
    PyObject *d = PyDict_New();
    int rc = d ? 0 : -1;
#define EP_PUT_(f) if (rc == 0) rc = _ep_dict_put(d, #f, PyLong_FromUnsignedLongLong(s->f));
    EP_POOL_STATS_COUNTERS(EP_PUT_)
#undef EP_PUT_
    double hr = s->gets ? (double)s->hits / (double)s->gets : 0.0;
    if (rc == 0) rc = _ep_dict_put(d, "hit_rate", PyFloat_FromDouble(hr));
    if (rc != 0) Py_CLEAR(d);
    return d;
}

int _ep_size_arg(Py_ssize_t v, const char *what) {
    if (v < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0, got %zd", what, v);
        return -1;
    }
    return 0;
}

/* address: int, or None once given back (lease.address, builder.address) */
static PyObject *ep_address(void *p) { return p ? PyLong_FromVoidPtr(p) : Py_NewRef(Py_None); }

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

/* Give a block (builders: an ep_strbuf) back to the C pool, checked: 0 or EINVAL. */
static int pool_take_back(PoolObject *p, void *ptr, size_t cap) {
    switch (p->kind) {
    case EPK_OBJECT: return ep_pool_put_checked(p->u.op, ptr);
    case EPK_BUFFER: return ep_bufpool_put_checked(p->u.bp, ptr, cap);
    default: return ep_strbuf_pool_put_checked(p->u.sp, ptr);
    }
}

/* A lease or builder came back. */
static int pool_returned(PoolObject *p, void *ptr, size_t cap) {
    int err = pool_take_back(p, ptr, cap);
    p->outstanding--;
    if (p->closed && p->outstanding == 0) pool_destroy_now(p);
    return err;
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
    return _ep_pool_stats_dict(&s);
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
    PyTypeObject *tp = Py_TYPE(self);
    /* no lease is left: each holds a reference to us */
    pool_destroy_now(p);
    Py_XDECREF(p->name);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pool_get_name(PyObject *self, void *c) { (void)c; return Py_NewRef(((PoolObject *)self)->name); }
static PyObject *pool_get_closed(PyObject *self, void *c) { (void)c; return PyBool_FromLong(((PoolObject *)self)->closed); }
static PyObject *pool_get_bypassed(PyObject *self, void *c) { (void)c; return PyBool_FromLong(((PoolObject *)self)->bypassed); }
static PyObject *pool_get_clear(PyObject *self, void *c) { (void)c; return PyBool_FromLong(((PoolObject *)self)->clear_on_put); }
static PyObject *pool_get_outstanding(PyObject *self, void *c) { (void)c; return PyLong_FromSsize_t(((PoolObject *)self)->outstanding); }
/* size / initial_capacity / default_size: the one size each kind has */
static PyObject *pool_get_size(PyObject *s, void *c) { (void)c; return PyLong_FromSize_t(((PoolObject *)s)->obj_size); }

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

/* ---- Lease ---- */

/* Leases are GC-tracked: a lease entered (`with`) holds its memoryview,
 * which holds the lease; if __exit__ never runs, the collector breaks that
 * cycle and the block goes back. */
static PyObject *lease_new(PoolObject *owner, void *ptr, Py_ssize_t size, size_t cap) {
    ep_state *st = ep_state_of((PyObject *)owner);
    if (!st) return NULL;
    LeaseObject *l = PyObject_GC_New(LeaseObject, st->Lease_Type);
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
    void *ptr = l->ptr;
    l->ptr = NULL;
    int err = pool_returned(l->owner, ptr, l->cap);
    if (err) {
        _ep_py_raise(err, "pool %s refused the block at %p (not handed out by it, or returned twice)",
                     PyUnicode_AsUTF8(l->owner->name), ptr);
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
    Py_VISIT(Py_TYPE(self)); /* heap-type instances own a reference to their type */
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
    PyTypeObject *tp = Py_TYPE(self);
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
    tp->tp_free(self);
    Py_DECREF(tp);
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

/* release() the lent view, so a name kept after the block can no longer
 * touch the block.  The method name is interned once, in the module state:
 * building it from a C string on every exit cost more than the rest of
 * __exit__ together.  1 if something holds a buffer of the view itself
 * (it stays pinned), 0 if released, -1 on error. */
static int lease_release_view(PyObject *self, PyObject *view) {
    ep_state *st = ep_state_of(self);
    if (!st) return -1;
    PyObject *r = st->str_release ? PyObject_CallMethodNoArgs(view, st->str_release)
                                  : PyObject_CallMethod(view, "release", NULL); /* module being torn down */
    if (r) {
        Py_DECREF(r);
        return 0;
    }
    if (!PyErr_ExceptionMatches(PyExc_BufferError)) return -1;
    PyErr_Clear();
    return 1;
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
        pinned = lease_release_view(self, view);
        Py_DECREF(view);
        if (pinned < 0) return NULL;
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

static void lease_releasebuffer(PyObject *self, Py_buffer *view) { (void)view; ((LeaseObject *)self)->exports--; }

static PyObject *lease_get_size(PyObject *s, void *c) { (void)c; return PyLong_FromSsize_t(((LeaseObject *)s)->size); }
static PyObject *lease_get_cap(PyObject *s, void *c) { (void)c; return PyLong_FromSize_t(((LeaseObject *)s)->cap); }
static PyObject *lease_get_exports(PyObject *s, void *c) { (void)c; return PyLong_FromSsize_t(((LeaseObject *)s)->exports); }
static PyObject *lease_get_returned(PyObject *s, void *c) { (void)c; return PyBool_FromLong(((LeaseObject *)s)->ptr == NULL); }
static PyObject *lease_get_address(PyObject *s, void *c) { (void)c; return ep_address(((LeaseObject *)s)->ptr); }
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

static PyType_Slot lease_slots[] = {
    {Py_tp_dealloc, lease_dealloc}, {Py_tp_traverse, lease_traverse}, {Py_tp_clear, lease_clear},
    {Py_bf_getbuffer, lease_getbuffer}, {Py_bf_releasebuffer, lease_releasebuffer},
    {Py_tp_methods, lease_methods}, {Py_tp_getset, lease_getset},
    {Py_tp_doc, "One pooled block lent to Python: a writable buffer (memoryview(lease)); release() gives it back."},
    {0, NULL},
};

EP_TYPE_SPEC(Lease, LeaseObject, lease_slots, Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION);

/* ---- Builder ---- */

static PyObject *builder_new(PoolObject *owner, ep_strbuf *sb) {
    ep_state *st = ep_state_of((PyObject *)owner);
    if (!st) return NULL;
    BuilderObject *b = PyObject_New(BuilderObject, st->Builder_Type);
    if (!b) return NULL;
    b->owner = (PoolObject *)Py_NewRef((PyObject *)owner);
    b->sb = sb;
    owner->outstanding++;
    return (PyObject *)b;
}

/* A builder always came from its pool and goes back once: the checked put
 * cannot refuse it. */
static void builder_give_back(BuilderObject *b) {
    ep_strbuf *sb = b->sb;
    b->sb = NULL;
    (void)pool_returned(b->owner, sb, 0);
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

static void builder_dealloc(PyObject *self) {
    BuilderObject *b = (BuilderObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    if (b->sb) builder_give_back(b);
    Py_XDECREF(b->owner);
    tp->tp_free(self);
    Py_DECREF(tp);
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
    if (err) return _ep_py_raise(err, "cannot append to the builder");
    Py_RETURN_NONE;
}

/* str() and bytes(): the text so far, decoded or not */
static PyObject *builder_text(PyObject *self, int decode) {
    BuilderObject *b = (BuilderObject *)self;
    if (builder_check(b) < 0) return NULL;
    const char *d = b->sb->data ? b->sb->data : "";
    return decode ? PyUnicode_DecodeUTF8(d, (Py_ssize_t)b->sb->len, "strict")
                  : PyBytes_FromStringAndSize(d, (Py_ssize_t)b->sb->len);
}
static PyObject *builder_str(PyObject *self, PyObject *unused) { (void)unused; return builder_text(self, 1); }
static PyObject *builder_bytes(PyObject *self, PyObject *unused) { (void)unused; return builder_text(self, 0); }

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
static PyObject *builder_get_address(PyObject *s, void *c) { (void)c; return ep_address(((BuilderObject *)s)->sb); }

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

static PyType_Slot builder_slots[] = {
    {Py_tp_dealloc, builder_dealloc}, {Py_sq_length, builder_len},
    {Py_tp_methods, builder_methods}, {Py_tp_getset, builder_getset},
    {Py_tp_doc, "A growable string builder lent by a StringBuilderPool."}, {0, NULL},
};

EP_TYPE_SPEC(Builder, BuilderObject, builder_slots, Py_TPFLAGS_DISALLOW_INSTANTIATION);

/* ---- the three pools: one init, one get, one put ---- */

/* Constructor arguments of every kind; what a kind does not take stays 0. */
typedef struct {
    Py_ssize_t size;        /* object size; builders: initial capacity */
    Py_ssize_t max_objects, max_bytes, magazine, max_per_class, default_size, max_cap;
    int clear;
    const char *preset;
    PyObject *name;
} pool_args;

static int objpool_args(PyObject *args, PyObject *kw, pool_args *a) {
    static char *kwlist[] = {"size", "max_objects", "max_bytes", "clear_on_put", "magazine_size", "name", NULL};
    if (_ep_int_args_fit(args, kw, kwlist) < 0) return -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "n|$nnpnO:ObjectPool", kwlist, &a->size, &a->max_objects,
                                     &a->max_bytes, &a->clear, &a->magazine, &a->name))
        return -1;
    if (a->size <= 0) {
        PyErr_Format(PyExc_ValueError, "size must be a positive number of bytes, got %zd", a->size);
        return -1;
    }
    if (_ep_size_arg(a->max_objects, "max_objects") < 0 || _ep_size_arg(a->max_bytes, "max_bytes") < 0 ||
        _ep_size_arg(a->magazine, "magazine_size") < 0)
        return -1;
    if (a->magazine > 4096) {
        PyErr_Format(PyExc_ValueError, "magazine_size must be at most 4096, got %zd", a->magazine);
        return -1;
    }
    if (a->max_bytes > 0 && a->max_bytes < a->size) {
        PyErr_Format(PyExc_ValueError, "max_bytes=%zd is smaller than one object (size=%zd): nothing could be retained",
                     a->max_bytes, a->size);
        return -1;
    }
    return 0;
}

static int bufpool_args(PyObject *args, PyObject *kw, pool_args *a) {
    static char *kwlist[] = {"preset", "max_bytes", "max_objects_per_class", "clear_on_put", "default_size", "name", NULL};
    if (_ep_int_args_fit(args, kw, kwlist) < 0) return -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z$nnpnO:BufferPool", kwlist, &a->preset, &a->max_bytes,
                                     &a->max_per_class, &a->clear, &a->default_size, &a->name))
        return -1;
    if (a->preset) {
        /* the preset is the whole configuration (pools.py merges overrides) */
        if (a->max_bytes || a->max_per_class || a->clear || a->default_size || (a->name && a->name != Py_None)) {
            PyErr_SetString(PyExc_ValueError, "BufferPool: give either a preset or a configuration, not both");
            return -1;
        }
        return 0;
    }
    if (_ep_size_arg(a->max_bytes, "max_bytes") < 0 || _ep_size_arg(a->max_per_class, "max_objects_per_class") < 0 ||
        _ep_size_arg(a->default_size, "default_size") < 0)
        return -1;
    if ((size_t)a->default_size > EP_BUFPOOL_MAX_CLASS) {
        PyErr_Format(PyExc_ValueError, "default_size must be at most %zu bytes (the largest size class), got %zd",
                     (size_t)EP_BUFPOOL_MAX_CLASS, a->default_size);
        return -1;
    }
    return 0;
}

static int strpool_args(PyObject *args, PyObject *kw, pool_args *a) {
    static char *kwlist[] = {"initial_capacity", "max_retained_capacity", "max_objects", "clear_on_put", "name", NULL};
    a->size = 64;
    if (_ep_int_args_fit(args, kw, kwlist) < 0) return -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$nnnpO:StringBuilderPool", kwlist, &a->size, &a->max_cap,
                                     &a->max_objects, &a->clear, &a->name))
        return -1;
    if (_ep_size_arg(a->size, "initial_capacity") < 0 || _ep_size_arg(a->max_cap, "max_retained_capacity") < 0 ||
        _ep_size_arg(a->max_objects, "max_objects") < 0)
        return -1;
    if (a->max_cap && a->max_cap < a->size) {
        PyErr_Format(PyExc_ValueError, "max_retained_capacity=%zd is smaller than initial_capacity=%zd", a->max_cap,
                     a->size);
        return -1;
    }
    return 0;
}

static const struct {
    const char *type, *default_name;
    int (*parse)(PyObject *, PyObject *, pool_args *);
} pool_kinds[] = {
    [EPK_OBJECT] = {"ObjectPool", "object", objpool_args},
    [EPK_BUFFER] = {"BufferPool", "buffer", bufpool_args},
    [EPK_STRING] = {"StringBuilderPool", "strbuf", strpool_args},
};

/* Create the C pool of p's kind; 0 or an exception. */
static int pool_create(PoolObject *p, const pool_args *a, const char *cname) {
    int err;
    switch (p->kind) {
    case EPK_OBJECT: {
        ep_pool_config cfg = {.name = cname, .obj_size = (size_t)a->size, .clear_on_put = a->clear,
                              .max_objects = (size_t)a->max_objects, .max_bytes = (size_t)a->max_bytes,
                              .magazine_size = (unsigned)a->magazine};
        if ((err = ep_pool_create(&cfg, &p->u.op))) _ep_py_raise(err, "cannot create ObjectPool(size=%zd)", a->size);
        break;
    }
    case EPK_BUFFER: {
        ep_bufpool_config cfg = {.name = cname, .clear_on_put = a->clear, .max_bytes = (size_t)a->max_bytes,
                                 .max_objects_per_class = (size_t)a->max_per_class,
                                 .default_size = (size_t)a->default_size};
        if ((err = ep_bufpool_create(&cfg, &p->u.bp))) _ep_py_raise(err, "cannot create BufferPool");
        break;
    }
    default: {
        ep_strbuf_pool_config cfg = {.name = cname, .initial_cap = (size_t)a->size,
                                     .max_retained_cap = (size_t)a->max_cap, .max_objects = (size_t)a->max_objects,
                                     .clear_on_put = a->clear};
        if ((err = ep_strbuf_pool_create_cfg(&cfg, &p->u.sp)))
            _ep_py_raise(err, "cannot create StringBuilderPool(initial_capacity=%zd)", a->size);
        break;
    }
    }
    return err ? -1 : 0;
}

/* Name argument: str or None → new reference to a str. */
static PyObject *pool_name_arg(PyObject *name, const char *dflt) {
    if (!name || name == Py_None) return PyUnicode_FromString(dflt);
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "name must be a str, not %.100s", Py_TYPE(name)->tp_name);
        return NULL;
    }
    return Py_NewRef(name);
}

/* The one __init__ of the three kinds. */
static int pool_init(PyObject *self, PyObject *args, PyObject *kw, int kind) {
    PoolObject *p = (PoolObject *)self;
    if (p->u.any || p->name) {
        PyErr_Format(PyExc_RuntimeError, "%s is already initialised", pool_kinds[kind].type);
        return -1;
    }
    pool_args a;
    memset(&a, 0, sizeof a);
    if (pool_kinds[kind].parse(args, kw, &a) < 0) return -1;
    p->kind = kind;
    PyObject *n;
    if (a.preset) {
        if (ep_bufpool_preset(a.preset, &p->u.bp) != 0) {
            PyErr_Format(PyExc_ValueError, "unknown buffer-pool preset %R (known: 'hash', 'tar')",
                         PyTuple_Size(args) ? PyTuple_GET_ITEM(args, 0) : Py_None);
            return -1;
        }
        if (!(n = PyUnicode_FromString(a.preset))) {
            pool_destroy_now(p);
            return -1;
        }
    } else {
        if (!(n = pool_name_arg(a.name, pool_kinds[kind].default_name))) return -1;
        const char *cname = PyUnicode_AsUTF8(n);
        if (!cname || pool_create(p, &a, cname) < 0) {
            Py_DECREF(n);
            return -1;
        }
    }
    p->name = n;
    /* a buffer pool's preset decides these */
    p->obj_size = kind == EPK_BUFFER ? ep_bufpool_default_size(p->u.bp) : (size_t)a.size;
    p->clear_on_put = kind == EPK_BUFFER ? ep_bufpool_clears(p->u.bp) : a.clear;
    p->bypassed = kind == EPK_OBJECT   ? ep_pool_bypassed(p->u.op)
                  : kind == EPK_BUFFER ? ep_bufpool_bypassed(p->u.bp)
                                       : ep_strbuf_pool_bypassed(p->u.sp);
    return 0;
}

static int objpool_init(PyObject *s, PyObject *a, PyObject *k) { return pool_init(s, a, k, EPK_OBJECT); }
static int bufpool_init(PyObject *s, PyObject *a, PyObject *k) { return pool_init(s, a, k, EPK_BUFFER); }
static int strpool_init(PyObject *s, PyObject *a, PyObject *k) { return pool_init(s, a, k, EPK_STRING); }

/* The one get of the three kinds: take `size` bytes (builders: a builder)
 * from an open pool and wrap them in a Lease or a Builder. */
static PyObject *pool_hand_out(PoolObject *p, Py_ssize_t size) {
    void *o = NULL;
    size_t cap = p->obj_size;
    int err;
    switch (p->kind) {
    case EPK_OBJECT: err = (o = ep_pool_get(p->u.op)) ? 0 : ENOMEM; break;
    case EPK_BUFFER: err = ep_bufpool_get(p->u.bp, (size_t)size, &o, &cap); break;
    default: err = (o = ep_strbuf_pool_get(p->u.sp)) ? 0 : ENOMEM; break;
    }
    if (err) return _ep_py_raise(err, "cannot get a %zd-byte buffer", size);
    PyObject *w = p->kind == EPK_STRING ? builder_new(p, o) : lease_new(p, o, size, cap);
    if (!w) (void)pool_take_back(p, o, cap);
    return w;
}

static PyObject *pool_get(PyObject *self, PyObject *unused) {
    (void)unused;
    PoolObject *p = (PoolObject *)self;
    if (pool_check_open(p) < 0) return NULL;
    return pool_hand_out(p, (Py_ssize_t)p->obj_size);
}

static PyObject *bufpool_get(PyObject *self, PyObject *args) {
    PoolObject *p = (PoolObject *)self;
    PyObject *osize = Py_None;
    if (!PyArg_ParseTuple(args, "|O:get", &osize)) return NULL;
    if (pool_check_open(p) < 0) return NULL;
    if (osize == Py_None) {
        if (p->obj_size == 0) {
            PyErr_Format(PyExc_ValueError, "buffer pool %R has no default size: pass size=", p->name);
            return NULL;
        }
        return pool_hand_out(p, (Py_ssize_t)p->obj_size);
    }
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
    return pool_hand_out(p, (Py_ssize_t)v);
}

/* The one put of the three kinds: the explicit form of x.release(),
 * checking that x came from this pool. */
static PyObject *pool_put(PyObject *self, PyObject *arg) {
    ep_state *st = ep_state_of(self);
    if (!st) return NULL;
    int builders = Py_TYPE(self) == st->StringBuilderPool_Type;
    if (!PyObject_TypeCheck(arg, builders ? st->Builder_Type : st->Lease_Type)) {
        PyErr_Format(PyExc_TypeError, "put() takes a %s from this pool's get(), not %.100s",
                     builders ? "Builder" : "Lease", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    PoolObject *owner = builders ? ((BuilderObject *)arg)->owner : ((LeaseObject *)arg)->owner;
    if ((PyObject *)owner != self) {
        PyErr_Format(PyExc_ValueError, "this %s belongs to pool %R, not to pool %R", builders ? "builder" : "block",
                     owner->name, ((PoolObject *)self)->name);
        return NULL;
    }
    return builders ? builder_release(arg, NULL) : lease_release(arg, NULL);
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
    return _ep_pool_stats_dict(&s);
}

static PyObject *bufpool_get_maxbytes(PyObject *s, void *c) {
    (void)c;
    PoolObject *p = (PoolObject *)s;
    return PyLong_FromSize_t(pool_live(p) ? ep_bufpool_max_bytes(p->u.bp) : 0);
}

/* One pool type: the getters and methods every kind has, then its own. */
#define POOL_TYPE(ident, init, OWN_GETSET, OWN_METHODS, doc)                                                  \
    static PyGetSetDef ident##_getset[] = {POOL_COMMON_GETSET OWN_GETSET {NULL, NULL, NULL, NULL, NULL}};    \
    static PyMethodDef ident##_methods[] = {POOL_COMMON_METHODS OWN_METHODS {NULL, NULL, 0, NULL}};          \
    static PyType_Slot ident##_slots[] = {                                                                    \
        {Py_tp_dealloc, pool_dealloc}, {Py_tp_doc, doc},    {Py_tp_methods, ident##_methods},                 \
        {Py_tp_getset, ident##_getset}, {Py_tp_init, init}, {Py_tp_new, PyType_GenericNew},                   \
        {0, NULL},                                                                                            \
    };                                                                                                        \
    EP_TYPE_SPEC(ident, PoolObject, ident##_slots, 0)

#define OBJPOOL_GETSET {"size", pool_get_size, NULL, "bytes per object", NULL},
#define OBJPOOL_METHODS \
    {"get", pool_get, METH_NOARGS, "get() -> Lease: a cached object or a new one"}, \
    {"put", pool_put, METH_O, "put(lease): give an object back (same as lease.release())"},
POOL_TYPE(ObjectPool, objpool_init, OBJPOOL_GETSET, OBJPOOL_METHODS,
          "ObjectPool(size, *, max_objects=0, max_bytes=0, clear_on_put=False, magazine_size=0, name=None)\n"
          "Pool of fixed-size blocks with sync.Pool semantics (per-thread magazines, shared depot).");

#define BUFPOOL_GETSET \
    {"default_size", pool_get_size, NULL, "size get() uses when none is given (0 = none)", NULL}, \
    {"max_bytes", bufpool_get_maxbytes, NULL, "cap on bytes retained over all classes (0 = none)", NULL},
#define BUFPOOL_METHODS \
    {"get", bufpool_get, METH_VARARGS, "get(size=default_size) -> Lease of `size` bytes from the smallest class that fits"}, \
    {"put", pool_put, METH_O, "put(lease): give a buffer back (same as lease.release())"}, \
    {"class_stats", bufpool_class_stats, METH_O, "class_stats(class_size) -> dict: counters of one size class"}, \
    {"class_for", bufpool_class_for, METH_O | METH_STATIC, "class_for(size) -> the class size serving `size`"},
POOL_TYPE(BufferPool, bufpool_init, BUFPOOL_GETSET, BUFPOOL_METHODS,
          "BufferPool(preset=None, *, max_bytes=0, max_objects_per_class=0, clear_on_put=False, default_size=0, name=None)\n"
          "Byte buffers in power-of-two size classes, 256 B to 1 MiB; presets 'hash' and 'tar'.");

#define STRPOOL_GETSET {"initial_capacity", pool_get_size, NULL, "capacity of a new builder", NULL},
#define STRPOOL_METHODS \
    {"get", pool_get, METH_NOARGS, "get() -> Builder: an empty builder, reused when one is cached"}, \
    {"put", pool_put, METH_O, "put(builder): give a builder back (same as builder.release())"},
POOL_TYPE(StringBuilderPool, strpool_init, STRPOOL_GETSET, STRPOOL_METHODS,
          "StringBuilderPool(*, initial_capacity=64, max_retained_capacity=0, max_objects=0, clear_on_put=False, name=None)\n"
          "Pool of growable string builders; stats count builder structs.");

int _ep_pools_exec(PyObject *m) {
    if (PyModule_AddIntConstant(m, "BUFFER_MIN_CLASS", (long)EP_BUFPOOL_MIN_CLASS) < 0) return -1;
    if (PyModule_AddIntConstant(m, "BUFFER_MAX_CLASS", (long)EP_BUFPOOL_MAX_CLASS) < 0) return -1;
    return PyModule_AddIntConstant(m, "BUFFER_NCLASSES", (long)EP_BUFPOOL_NCLASSES);
}
