/* bench.c — the benchmark kernels and SHA-256 (csrc/bench.c, kernels_*.c,
 * sha256.c) seen from Python.
 *
 * A benchmark run is a capsule around an ep_bench_run (kernel state, thread
 * team), opened once per (kernel, -cpu) and reused for every sample, so
 * setup never lands inside a measurement.  bench_run() steps the kernel in
 * chunks of ~chunk_ns with the GIL released and checks for signals between
 * chunks: Ctrl-C ends the sample early, flagged incomplete, never lost.  A
 * handle is busy while a run is in progress: a second thread gets an error
 * instead of sharing the team.
 */
#include "seam.h"

#include <errno.h>
#include <math.h>
#include <string.h>


static PyObject *py_sha256(PyObject *m, PyObject *args, PyObject *kw) {
    (void)m;
    static char *kwlist[] = {"data", "impl", "chunk", NULL};
    Py_buffer view;
    const char *impl = NULL;
    Py_ssize_t chunk = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|zn:sha256", kwlist, &view, &impl, &chunk)) return NULL;
    if (chunk < 0) {
        PyBuffer_Release(&view);
        return _ep_py_raise(EINVAL, "sha256: chunk must be >= 0, got %zd", chunk);
    }
    ep_sha256_ctx c;
    int err = ep_sha256_init_impl(&c, impl);
    if (err) {
        PyBuffer_Release(&view);
        if (err == ENOTSUP)
            return _ep_py_raise(EINVAL, "sha256: implementation %s is not available on this CPU", impl);
        return _ep_py_raise(err, "sha256: unknown implementation %s (expected 'sha-ni' or 'portable')", impl);
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
        int rc = s ? PyList_Append(l, s) : -1;
        Py_XDECREF(s);
        if (rc < 0) {
            Py_DECREF(l);
            return NULL;
        }
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
    if (!k) return _ep_py_raise(EINVAL, "no benchmark kernel named %s", name);
    if (threads < 1 || threads > EP_BENCH_MAX_THREADS)
        return _ep_py_raise(EINVAL, "threads must be 1..%d, got %d", EP_BENCH_MAX_THREADS, threads);
    bench_handle *h = PyMem_Calloc(1, sizeof *h);
    if (!h) return PyErr_NoMemory();
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = ep_bench_open(k, (unsigned)threads, &h->r);
    Py_END_ALLOW_THREADS
    if (err) {
        PyMem_Free(h);
        return _ep_py_raise(err, "%s: setup failed", name);
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
    if (n < 1) return _ep_py_raise(EINVAL, "bench_run: n must be >= 1, got %lld", n);
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
        return _ep_py_raise(err, "%s: kernel failed after %llu iterations", full, (unsigned long long)s.n);
    }
    PyObject *units = PyDict_New();
    if (!units) return NULL;
    for (unsigned i = 0; i < s.nunits; i++) {
        if (_ep_dict_put(units, s.units[i].name, PyFloat_FromDouble(s.units[i].value)) < 0) {
            Py_DECREF(units);
            return NULL;
        }
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
        return _ep_py_raise(err, "bench_tar_archive: writing the archive failed");
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

int _ep_bench_exec(PyObject *m) {
    if (PyModule_AddStringConstant(m, "COMPILER", EP_COMPILER) < 0) return -1;
    return PyModule_AddStringConstant(m, "SHA256_IMPL", ep_sha256_impl());
}

/* Strings [off, off+len) of buf as a list of str (ASCII: the scanner only
 * takes ASCII lines). */
static PyObject *bt_strings(const uint8_t *buf, const int64_t *off, const int64_t *len, size_t n) {
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++) {
        PyObject *s = PyUnicode_DecodeASCII((const char *)buf + off[i], (Py_ssize_t)len[i], "strict");
        if (!s) Py_CLEAR(l);
        else PyList_SET_ITEM(l, (Py_ssize_t)i, s);
    }
    return l;
}

/* bench_text_scan(buffer) -> dict of arrays (see ep_benchtext.h), or None
 * when the text has a line break outside ASCII (the caller reads it all). */
static PyObject *py_bench_text_scan(PyObject *m, PyObject *arg) {
    PyTypeObject *arr_type = ep_state_of_module(m)->PprofArray_Type;
    Py_buffer in;
    if (PyObject_GetBuffer(arg, &in, PyBUF_SIMPLE) < 0) return NULL;
    ep_benchtext t;
    int e;
    Py_BEGIN_ALLOW_THREADS
    e = ep_benchtext_scan(in.buf, (size_t)in.len, &t);
    Py_END_ALLOW_THREADS
    PyObject *d = NULL;
    if (e == EILSEQ) {
        d = Py_NewRef(Py_None);
        goto done;
    }
    if (e) {
        _ep_py_raise(e, "bench_text_scan: out of memory");
        goto done;
    }
    d = PyDict_New();
    if (!d || _ep_dict_put(d, "names", bt_strings(in.buf, t.name_off, t.name_len, t.n_names)) < 0 ||
        _ep_dict_put(d, "units", bt_strings(in.buf, t.unit_off, t.unit_len, t.n_units)) < 0 ||
        _ep_dict_put(d, "non_ascii", PyBool_FromLong(t.non_ascii)) < 0)
        goto fail;
#define BT_ARR(key, ptr, n) if (_ep_put_array(arr_type, d, key, &(ptr), n, sizeof *(ptr)) < 0) goto fail
    BT_ARR("line", t.line, t.n);
    BT_ARR("name", t.name, t.n);
    BT_ARR("iters", t.iters, t.n);
    BT_ARR("vend", t.vend, t.n);
    BT_ARR("value", t.val, t.nv);
    BT_ARR("unit", t.unit, t.nv);
    BT_ARR("other_line", t.other_line, t.n_other);
    BT_ARR("other_off", t.other_off, t.n_other);
    BT_ARR("other_len", t.other_len, t.n_other);
#undef BT_ARR
    goto done;
fail:
    Py_CLEAR(d);
done:
    ep_benchtext_free(&t);
    PyBuffer_Release(&in);
    return d;
}

PyMethodDef _ep_bench_methods[] = {
    {"sha256", (PyCFunction)(void (*)(void))py_sha256, METH_VARARGS | METH_KEYWORDS,
     "sha256(data, impl=None, chunk=0) -> bytes: SHA-256 digest; impl 'sha-ni'/'portable' (None = the default); chunk > 0 feeds data in pieces of that size."},
    {"sha256_impls", py_sha256_impls, METH_NOARGS,
     "sha256_impls() -> list[str]: SHA-256 implementations usable on this CPU, fastest first."},
    {"bench_list", py_bench_list, METH_NOARGS,
     "bench_list() -> list[dict]: the registered benchmark kernels."},
    {"bench_open", py_bench_open, METH_VARARGS,
     "bench_open(fullname, threads) -> handle: set up a kernel (and its thread team) for runs."},
    {"bench_run", py_bench_run, METH_VARARGS,
     "bench_run(handle, n, chunk_ns=20e6) -> dict: one sample of n iterations (GIL released)."},
    {"bench_tar_archive", py_bench_tar_archive, METH_VARARGS,
     "bench_tar_archive(pooled) -> (archive, [(name, type, data)]): one TarArchive archive and its files."},
    {"bench_text_scan", py_bench_text_scan, METH_O,
     "bench_text_scan(buffer) -> dict of arrays of the Go benchmark text's plain result lines, or None"},
    {"bench_close", py_bench_close, METH_O,
     "bench_close(handle): tear the kernel down now (else when the handle is collected)."},
    {NULL, NULL, 0, NULL},
};
