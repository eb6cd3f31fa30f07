/* profilers.c — the heap and CPU profilers (csrc/heapprof.c, cpuprof.c) and
 * their test kernels (csrc/proftest.c) seen from Python.
 *
 * The profilers keep their samples in C; a snapshot copies them out whole,
 * so Python never walks live profiler state.  Stacks cross as tuples of ints
 * (return addresses, leaf first); the Python side (enginepools.profiling)
 * symbolizes them and builds the pprof profile.  Blocks a test kernel keeps
 * travel as a capsule that frees them when collected, unless released first.
 */
#include "seam.h"


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
    static char *names[] = {"rate", "seed", NULL};
    if (_ep_int_args_fit(args, NULL, names) < 0 || !PyArg_ParseTuple(args, "K|K:heapprof_start", &rate, &seed))
        return NULL;
    int err = ep_heapprof_start(rate, seed);
    if (err == EALREADY) return _ep_py_raise(err, "heap profiler already running (rate %llu)",
                                            (unsigned long long)ep_heapprof_rate());
    if (err) return _ep_py_raise(err, "heapprof_start(rate=%llu): rate must be >= 1", rate);
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
    if (err) return _ep_py_raise(err, "heap profile snapshot");
    PyObject *recs = PyList_New((Py_ssize_t)s.n), *peak = PyList_New((Py_ssize_t)s.n), *out = NULL;
    if (!recs || !peak) goto done;
    for (size_t i = 0; i < s.n; i++) {
        const ep_heapprof_entry *e = &s.e[i];
        PyObject *pk = Py_BuildValue("(KK)", (unsigned long long)e->peak_objects, (unsigned long long)e->peak_bytes);
        if (!pk) goto done;
        PyList_SET_ITEM(peak, (Py_ssize_t)i, pk);
        PyObject *st = pcs_tuple(s.pcs + e->pc_off, e->npcs);
        if (!st) goto done;
        PyObject *r = Py_BuildValue("(NKzIKKKK)", st, (unsigned long long)e->size, e->pool,
                                    (unsigned)e->size_class,
                                    (unsigned long long)e->alloc_objects, (unsigned long long)e->alloc_bytes,
                                    (unsigned long long)e->free_objects, (unsigned long long)e->free_bytes);
        if (!r) goto done;
        PyList_SET_ITEM(recs, (Py_ssize_t)i, r);
    }
    out = Py_BuildValue("{s:K,s:K,s:O,s:K,s:K,s:K,s:K,s:K,s:O}", "rate", (unsigned long long)s.rate,
                        "dropped", (unsigned long long)s.dropped, "records", recs,
                        "events", (unsigned long long)s.events, "inuse_bytes", (unsigned long long)s.inuse_bytes,
                        "peak_bytes", (unsigned long long)s.peak_bytes,
                        "peak_objects", (unsigned long long)s.peak_objects,
                        "peak_event", (unsigned long long)s.peak_event, "peak", peak);
done:
    Py_XDECREF(recs);
    Py_XDECREF(peak);
    ep_heapprof_snap_free(&s);
    return out;
}

#define INUSE_MAX 256

static PyObject *py_heapprof_inuse(PyObject *m, PyObject *unused) {
    (void)m; (void)unused;
    ep_heapprof_inuse_point pt;
    const char *names[INUSE_MAX];
    uint64_t bytes[INUSE_MAX];
    size_t n = ep_heapprof_inuse(&pt, names, bytes, INUSE_MAX);
    PyObject *pools = PyDict_New();
    if (!pools) return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *k = names[i] ? PyUnicode_FromString(names[i]) : Py_NewRef(Py_None);
        PyObject *v = k ? PyLong_FromUnsignedLongLong((unsigned long long)bytes[i]) : NULL;
        int bad = !v || PyDict_SetItem(pools, k, v) < 0;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (bad) { Py_DECREF(pools); return NULL; }
    }
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:N}", "events", (unsigned long long)pt.events,
                         "inuse_bytes", (unsigned long long)pt.inuse_bytes,
                         "peak_bytes", (unsigned long long)pt.peak_bytes,
                         "peak_event", (unsigned long long)pt.peak_event, "pools", pools);
}

static PyObject *py_cpuprof_start(PyObject *m, PyObject *args) {
    (void)m;
    unsigned int hz;
    if (!PyArg_ParseTuple(args, "I:cpuprof_start", &hz)) return NULL;
    int err = ep_cpuprof_start(hz);
    if (err == EINVAL) return _ep_py_raise(err, "cpuprof_start(hz=%u): hz must be in 1..1000", hz);
    if (err == EBUSY) return _ep_py_raise(err, "CPU profiler already running at another rate");
    if (err) return _ep_py_raise(err, "cpuprof_start");
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
    if (err) return _ep_py_raise(err, "CPU profile snapshot");
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
    if (size <= 0) return _ep_py_raise(EINVAL, "size must be > 0");
    ep_proftest_keep *k = NULL;
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = ep_proftest_alloc(site, n, (size_t)size, keep_every, keep_every ? &k : NULL);
    Py_END_ALLOW_THREADS
    if (err) return _ep_py_raise(err, "proftest_alloc(site=%d): site must be 0..2", site);
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
    if (size <= 0) return _ep_py_raise(EINVAL, "size must be > 0");
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = ep_proftest_pool(name, n, (size_t)size);
    Py_END_ALLOW_THREADS
    if (err) return _ep_py_raise(err, "proftest_pool(%s)", name);
    Py_RETURN_NONE;
}

static PyObject *py_proftest_spin(PyObject *m, PyObject *args) {
    (void)m;
    double seconds;
    if (!PyArg_ParseTuple(args, "d:proftest_spin", &seconds)) return NULL;
    if (!(seconds >= 0 && seconds <= 60)) return _ep_py_raise(EINVAL, "seconds must be in 0..60");
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

PyMethodDef _ep_profiler_methods[] = {
    {"heapprof_start", py_heapprof_start, METH_VARARGS,
     "heapprof_start(rate, seed=0): start heap sampling, mean gap `rate` bytes (1 = every allocation)."},
    {"heapprof_stop", py_heapprof_stop, METH_NOARGS, "heapprof_stop(): stop sampling (samples stay)."},
    {"heapprof_rate", py_heapprof_rate, METH_NOARGS, "heapprof_rate() -> int: current rate, 0 = off."},
    {"heapprof_snapshot", py_heapprof_snapshot, METH_NOARGS,
     "heapprof_snapshot() -> {rate, dropped, records: [(pcs, size, pool, size_class, "
     "alloc_objects, alloc_bytes, free_objects, free_bytes)], events, inuse_bytes, peak_bytes, "
     "peak_objects, peak_event, peak: [(inuse_objects, inuse_bytes) at the peak, one per record]} "
     "(raw sampled counts)."},
    {"heapprof_inuse", py_heapprof_inuse, METH_NOARGS,
     "heapprof_inuse() -> {events, inuse_bytes, peak_bytes, peak_event, pools: {tag or None: in-use bytes}} "
     "(raw sampled bytes, now; for a timeline)."},
    {"cpuprof_start", py_cpuprof_start, METH_VARARGS, "cpuprof_start(hz): start or join the SIGPROF profiler."},
    {"cpuprof_stop", py_cpuprof_stop, METH_NOARGS, "cpuprof_stop(): leave; the last user stops the timer."},
    {"cpuprof_snapshot", py_cpuprof_snapshot, METH_NOARGS,
     "cpuprof_snapshot() -> {hz, dropped, start_ns, records: [(pcs, count)]} (cumulative)."},
    {"proftest_alloc", py_proftest_alloc, METH_VARARGS,
     "proftest_alloc(site, n, size, keep_every=0) -> capsule|None: test allocation pattern."},
    {"proftest_release", py_proftest_release, METH_O, "proftest_release(capsule): free kept blocks."},
    {"proftest_pool", py_proftest_pool, METH_VARARGS, "proftest_pool(name, n, size): allocations under a pool tag."},
    {"proftest_spin", py_proftest_spin, METH_VARARGS, "proftest_spin(seconds): burn CPU in a static C function."},
    {"proftest_addresses", py_proftest_addresses, METH_NOARGS,
     "proftest_addresses() -> {name: address} of a static function of the library and of libc's qsort."},
    {NULL, NULL, 0, NULL},
};
