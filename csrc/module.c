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
