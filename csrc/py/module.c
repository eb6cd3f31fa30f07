/* module.c — enginepools._core: module state, slots, exec, and the error
 * seam; the bindings themselves live one concern a file beside it (seam.h).
 *
 * Multi-phase init (PEP 489) with module state, as CPython's
 * Modules/_bisectmodule.c and Modules/_io/ do: exec makes every type from its
 * spec with PyType_FromModuleAndSpec (so a method finds the state through its
 * type) and keeps it, and every cached object, in ep_state; m_traverse,
 * m_clear and m_free keep the collector and interpreter teardown in the
 * loop.  Each concern adds its functions and constants in exec.  C code
 * below the seam sees plain structs and buffers, never PyObjects, and
 * reports failure as an errno-style code; _ep_py_raise() turns that code
 * into one Python exception.
 */
#include "seam.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* ---- error seam ---- */

static int int_fits(PyObject *v, PyObject *name) {
    if (!PyLong_Check(v)) return 0;
    int overflow = 0;
    PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow == 0) return PyErr_Occurred() ? -1 : 0;
    PyErr_Format(PyExc_ValueError, "%U=%R is out of range (must fit a signed 64-bit integer)", name, v);
    return -1;
}

int _ep_int_args_fit(PyObject *args, PyObject *kw, char *const *names) {
    Py_ssize_t n = args ? PyTuple_GET_SIZE(args) : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *nm = "argument";
        for (Py_ssize_t j = 0; names; j++) {
            if (!names[j]) break;
            if (j == i) {
                nm = names[j];
                break;
            }
        }
        PyObject *name = PyUnicode_FromString(nm);
        if (!name) return -1;
        int r = int_fits(PyTuple_GET_ITEM(args, i), name);
        Py_DECREF(name);
        if (r < 0) return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *val;
    while (kw && PyDict_Next(kw, &pos, &key, &val))
        if (PyUnicode_Check(key) && int_fits(val, key) < 0) return -1;
    return 0;
}

int ep_arg_size(PyObject *o, const char *name, size_t lo, size_t hi, size_t *out) {
    PyObject *iv = PyNumber_Index(o);
    if (!iv) return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(iv, &overflow);
    Py_DECREF(iv);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow || v < 0 || (unsigned long long)v < lo || (unsigned long long)v > hi) {
        PyErr_Format(PyExc_ValueError, "%s=%R is out of range (%zu..%zu)", name, o, lo, hi);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

PyObject *_ep_py_raise(int err, const char *fmt, ...) {
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

int _ep_dict_put(PyObject *d, const char *key, PyObject *v) {
    if (!v) return -1;
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

/* ---- alloc: too small a concern for a file of its own ---- */

PyObject *_ep_alloc_dict(const ep_alloc_counters *c) {
    return Py_BuildValue("{s:K,s:K,s:K,s:K}",
                         "alloc_bytes", (unsigned long long)c->alloc_bytes,
                         "alloc_objects", (unsigned long long)c->alloc_objects,
                         "free_bytes", (unsigned long long)c->free_bytes,
                         "free_objects", (unsigned long long)c->free_objects);
}

static PyObject *py_alloc_counters(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    ep_alloc_counters c;
    ep_alloc_counters_read(&c);
    return _ep_alloc_dict(&c);
}

static PyMethodDef core_methods[] = {
    {"alloc_counters", py_alloc_counters, METH_NOARGS,
     "alloc_counters() -> dict: bytes/objects allocated and freed through ep_alloc, all threads."},
    {NULL, NULL, 0, NULL},
};

/* ---- state ---- */

/* Every type, where its spec is and where the state keeps it; `public`
 * types become module attributes (PprofArray is reached only through
 * pprof_decode's results, as before). */
static const struct {
    PyType_Spec *spec;
    size_t slot;
    int public;
} core_types[] = {
    {&_ep_ObjectPool_spec, offsetof(ep_state, ObjectPool_Type), 1},
    {&_ep_BufferPool_spec, offsetof(ep_state, BufferPool_Type), 1},
    {&_ep_StringBuilderPool_spec, offsetof(ep_state, StringBuilderPool_Type), 1},
    {&_ep_Lease_spec, offsetof(ep_state, Lease_Type), 1},
    {&_ep_Builder_spec, offsetof(ep_state, Builder_Type), 1},
    {&_ep_WorkerPool_spec, offsetof(ep_state, WorkerPool_Type), 1},
    {&_ep_PprofArray_spec, offsetof(ep_state, PprofArray_Type), 0},
};
#define N_TYPES (sizeof core_types / sizeof core_types[0])

static PyTypeObject **state_type(ep_state *st, size_t i) {
    return (PyTypeObject **)((char *)st + core_types[i].slot);
}

static int core_traverse(PyObject *m, visitproc visit, void *arg) {
    ep_state *st = ep_state_of_module(m);
    if (!st) return 0;
    for (size_t i = 0; i < N_TYPES; i++) Py_VISIT(*state_type(st, i));
    Py_VISIT(st->str_release);
    return 0;
}

static int core_clear(PyObject *m) {
    ep_state *st = ep_state_of_module(m);
    if (!st) return 0;
    for (size_t i = 0; i < N_TYPES; i++) Py_CLEAR(*state_type(st, i));
    Py_CLEAR(st->str_release);
    return 0;
}

static void core_free(void *m) { (void)core_clear((PyObject *)m); }

/* ---- exec ---- */

static PyMethodDef *const concern_methods[] = {
    _ep_bench_methods, _ep_pprof_methods, _ep_profiler_methods, _ep_pipeline_methods,
    _ep_pyalloc_methods,
};

static int (*const concern_exec[])(PyObject *) = {_ep_pools_exec, _ep_bench_exec, _ep_pipeline_exec};

static int core_exec(PyObject *m) {
    ep_state *st = ep_state_of_module(m);
    for (size_t i = 0; i < N_TYPES; i++) {
        PyObject *t = PyType_FromModuleAndSpec(m, core_types[i].spec, NULL);
        if (!t) return -1;
        *state_type(st, i) = (PyTypeObject *)t;
        if (core_types[i].public && PyModule_AddType(m, (PyTypeObject *)t) < 0) return -1;
    }
    if (!(st->str_release = PyUnicode_InternFromString("release"))) return -1;
    if (PyModule_AddStringConstant(m, "VERSION", EP_VERSION) < 0) return -1;
    for (size_t i = 0; i < sizeof concern_methods / sizeof concern_methods[0]; i++)
        if (PyModule_AddFunctions(m, concern_methods[i]) < 0) return -1;
    for (size_t i = 0; i < sizeof concern_exec / sizeof concern_exec[0]; i++)
        if (concern_exec[i](m) < 0) return -1;
    return 0;
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
    {0, NULL},
};

struct PyModuleDef _ep_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "enginepools._core",
    .m_doc = "C core of enginepools: pools, kernels, profilers, pprof codec.",
    .m_size = sizeof(ep_state),
    .m_methods = core_methods,
    .m_slots = core_slots,
    .m_traverse = core_traverse,
    .m_clear = core_clear,
    .m_free = core_free,
};

PyMODINIT_FUNC PyInit__core(void) { return PyModuleDef_Init(&_ep_module_def); }
