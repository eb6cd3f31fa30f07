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

static int bench_exec(PyObject *m) {
    return PyModule_AddStringConstant(m, "SHA256_IMPL", ep_sha256_impl());
}

#define EP_BENCH_METHODS \
    {"sha256", (PyCFunction)(void (*)(void))py_sha256, METH_VARARGS | METH_KEYWORDS, \
     "sha256(data, impl=None, chunk=0) -> bytes: SHA-256 digest; impl 'sha-ni'/'portable' (None = the default); chunk > 0 feeds data in pieces of that size."}, \
    {"sha256_impls", py_sha256_impls, METH_NOARGS, \
     "sha256_impls() -> list[str]: SHA-256 implementations usable on this CPU, fastest first."},
#define EP_BENCH_EXEC(m) bench_exec(m)

/* ==== section: profile (pprof codec) ===================================== */

#define EP_PROFILE_METHODS
#define EP_PROFILE_EXEC(m) 0

/* ==== section: profiler (heap sampling, CPU sampling, stack capture) ===== */

#define EP_PROFILER_METHODS
#define EP_PROFILER_EXEC(m) 0

/* ==== section: pipeline ================================================== */

#define EP_PIPELINE_METHODS
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
