/* pipeline.c — the build-context pipeline (csrc/pipeline.c) and the ustar
 * writer (csrc/tar.c) seen from Python.
 *
 * pipeline_run releases the GIL for the whole run; the pipeline's check
 * callback takes it back between files (every ~20 ms) to run
 * PyErr_CheckSignals and, at phase ends, the optional Python hook, and a
 * failed check stops the run with the hook's exception.  tar_write builds
 * the archive in memory through a Python-free sink, so the writer never sees
 * a PyObject.
 */
#include "seam.h"

#include <string.h>


/* Output callback collecting into a Python-independent growable buffer. */

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
        return _ep_py_raise(EINVAL, "tar_write: bufsize must be 512..64Mi, not %zd", bufsize);
    }
    void *buf = PyMem_RawMalloc((size_t)bufsize);
    ep_tar_memsink sink = {0};
    ep_tar_writer w;
    ep_tar_options opt = {.deterministic = deterministic, .mtime = mtime, .record_size = (size_t)record};
    PyObject *res = NULL;
    int err = buf ? ep_tar_writer_init(&w, ep_tar_memsink_write, &sink, buf, (size_t)bufsize, &opt) : ENOMEM;
    if (err) {
        _ep_py_raise(err, "tar_write: bad buffer or record size");
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
            _ep_py_raise(err, "tar_write: entry %zd (%s)", i, e.name);
            goto out;
        }
    }
    err = header_only ? (w.len ? ep_tar_memsink_write(&sink, w.buf, w.len) : 0) : ep_tar_finish(&w);
    if (err) {
        _ep_py_raise(err, "tar_write: finishing the archive");
        goto out;
    }
    res = PyBytes_FromStringAndSize((const char *)sink.data, (Py_ssize_t)sink.len);
out:
    Py_DECREF(seq);
    PyMem_RawFree(buf);
    free(sink.data);
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

/* A pipeline pool's counters: a pool's stats() without what a one-shot run
 * does not have (trims, retained objects) or derives (hit_rate). */
static PyObject *pl_pool_stats_dict(const ep_pool_stats *s) {
    static const char *const absent[] = {"retained_objects", "trims", "trimmed", "hit_rate"};
    PyObject *d = _ep_pool_stats_dict(s);
    for (size_t i = 0; d && i < sizeof absent / sizeof absent[0]; i++) {
        if (PyDict_DelItemString(d, absent[i]) < 0) Py_CLEAR(d);
    }
    return d;
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
    if (!pd || _ep_dict_put(d, "pools", pd) < 0) goto fail;
    /* pd borrowed from d now (dict_put dropped our reference, d holds one) */
    if ((pools & EP_PIPELINE_STRING) && _ep_dict_put(pd, "string", pl_pool_stats_dict(&r->string_pool)) < 0) goto fail;
    if ((pools & EP_PIPELINE_HASH) && _ep_dict_put(pd, "hash", pl_pool_stats_dict(&r->hash_pool)) < 0) goto fail;
    if ((pools & EP_PIPELINE_TAR) && _ep_dict_put(pd, "tar", pl_pool_stats_dict(&r->tar_pool)) < 0) goto fail;
    if (_ep_dict_put(d, "alloc", _ep_alloc_dict(&r->alloc)) < 0) goto fail;
    if (_ep_dict_put(d, "workers", Py_BuildValue("{s:K,s:K,s:K,s:K,s:K}",
                                             "submitted", (unsigned long long)r->workers.submitted,
                                             "completed", (unsigned long long)r->workers.completed,
                                             "queue_peak", (unsigned long long)r->workers.queue_peak,
                                             "threads", (unsigned long long)r->workers.threads,
                                             "bytes_held", (unsigned long long)r->workers.bytes_held)) < 0)
        goto fail;
    if (keep) {
        PyObject *fl = PyList_New((Py_ssize_t)r->nfiles);
        if (!fl || _ep_dict_put(d, "file_hashes", fl) < 0) goto fail;
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
        _ep_py_raise(EINVAL, "pipeline_run: negative buffer size or too many threads");
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
        if (err == EINVAL) _ep_py_raise(err, "pipeline_run: invalid pools mask or buffer size");
        else _ep_py_raise(err, "%s", PyBytes_AS_STRING(rootobj));
        goto out;
    }
    res = pipeline_result_dict(&r, pools, keep);
    ep_pipeline_result_free(&r);
out:
    Py_DECREF(rootobj);
    return res;
}

PyMethodDef _ep_pipeline_methods[] = {
    {"pipeline_run", (PyCFunction)(void (*)(void))py_pipeline_run, METH_VARARGS | METH_KEYWORDS,
     "pipeline_run(root, pools=7, out_fd=-1, threads=0, keep_files=False, deterministic=True, mtime=0,\n"
     "             hash_bufsize=0, tar_bufsize=0, hook=None) -> dict\n"
     "Walk root, hash every file on the worker pool, write a ustar archive to out_fd (-1: count only).\n"
     "pools: bit mask string=1, hash=2, tar=4.  hook(phase) runs before each entry of the walk ('walk'),\n"
     "after it ('walked') and after hashing ('hashed'); raising stops the run."},
    {"tar_write", (PyCFunction)(void (*)(void))py_tar_write, METH_VARARGS | METH_KEYWORDS,
     "tar_write(entries, deterministic=True, mtime=0, bufsize=65536, record_size=10240, header_only=False) -> bytes\n"
     "Archive of entries (name, type '0'|'2'|'5', mode, mtime, size, data|None, linkname|None, fd|-1)\n"
     "written by the C ustar writer (fd: content copied from that descriptor)."},
    {NULL, NULL, 0, NULL},
};

int _ep_pipeline_exec(PyObject *m) {
    if (PyModule_AddIntConstant(m, "PIPELINE_STRING", EP_PIPELINE_STRING) < 0) return -1;
    if (PyModule_AddIntConstant(m, "PIPELINE_HASH", EP_PIPELINE_HASH) < 0) return -1;
    return PyModule_AddIntConstant(m, "PIPELINE_TAR", EP_PIPELINE_TAR);
}
