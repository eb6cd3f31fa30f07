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

#define EP_POOLS_METHODS
#define EP_POOLS_EXEC(m) 0

/* ==== section: bench ===================================================== */

#define EP_BENCH_METHODS
#define EP_BENCH_EXEC(m) 0

/* ==== section: profile (pprof codec) ===================================== */

#define EP_PROFILE_METHODS
#define EP_PROFILE_EXEC(m) 0

/* ==== section: profiler (heap sampling, CPU sampling, stack capture) ===== */

#define EP_PROFILER_METHODS
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

#define EP_PIPELINE_METHODS \
    {"tar_write", (PyCFunction)(void (*)(void))py_tar_write, METH_VARARGS | METH_KEYWORDS, \
     "tar_write(entries, deterministic=True, mtime=0, bufsize=65536, record_size=10240, header_only=False) -> bytes\n" \
     "Archive of entries (name, type '0'|'2'|'5', mode, mtime, size, data|None, linkname|None, fd|-1)\n" \
     "written by the C ustar writer (fd: content copied from that descriptor)."},
#define EP_PIPELINE_EXEC(m) 0

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
