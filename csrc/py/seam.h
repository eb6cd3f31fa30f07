/* seam.h — what the files of the seam (csrc/py/) share; no file outside
 * csrc/py/ includes it, or Python.h.
 *
 * The seam is split by concern as CPython's Modules/_io/ is: module.c holds
 * the module state, the slots and exec; each concern file defines its type
 * specs, its method table and an exec hook for its constants.  Nothing Python
 * lives in a C global: the types (heap types, made from the specs by
 * PyType_FromModuleAndSpec in exec) and the cached objects are members of
 * ep_state, reached from a module function through its module and from a
 * method through its type.  Our types are final (no Py_TPFLAGS_BASETYPE), so
 * Py_TYPE(self) is always the type made from our spec; that is what lets
 * ep_state_of() use PyType_GetModule on Python 3.10, where
 * PyType_GetModuleByDef does not exist yet.
 *
 * C below the seam reports failure as an errno-style code; _ep_py_raise()
 * turns that code into one Python exception.
 */
#ifndef EP_SEAM_H
#define EP_SEAM_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include "enginepools.h"

/* Module state: every Python object the module keeps between calls. */
typedef struct {
    PyTypeObject *ObjectPool_Type;
    PyTypeObject *BufferPool_Type;
    PyTypeObject *StringBuilderPool_Type;
    PyTypeObject *Lease_Type;
    PyTypeObject *Builder_Type;
    PyTypeObject *WorkerPool_Type;
    PyTypeObject *PprofArray_Type;
    PyObject *str_release; /* interned "release": lease.__exit__ calls it on every exit */
} ep_state;

extern struct PyModuleDef _ep_module_def;

static inline ep_state *ep_state_of_module(PyObject *m) { return (ep_state *)PyModule_GetState(m); }

/* The state of the module that made self's type (NULL with an exception if
 * self is not one of ours). */
static inline ep_state *ep_state_of(PyObject *self) {
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *m = PyType_GetModuleByDef(Py_TYPE(self), &_ep_module_def);
#else
    PyObject *m = PyType_GetModule(Py_TYPE(self)); /* our types are final: see above */
#endif
    return m ? ep_state_of_module(m) : NULL;
}

/* Waits and submits run with the GIL released in slices this long, with
 * PyErr_CheckSignals() between them. */
#define EP_PY_SLICE_NS ((uint64_t)50 * 1000 * 1000)

/* module.c: raise the exception matching errno-style code `err`; NULL. */
PyObject *_ep_py_raise(int err, const char *fmt, ...);
/* module.c: d[key] = v, stealing v; -1 if v is NULL (its error stands) or on failure. */
int _ep_dict_put(PyObject *d, const char *key, PyObject *v);
/* module.c: ep_alloc's counters as alloc_counters() returns them. */
PyObject *_ep_alloc_dict(const ep_alloc_counters *c);

/* pprof.c: move the malloc'd array *pp (n items of `item` bytes) into
 * d[key] as a PprofArray (numpy.frombuffer views it, no copy); *pp becomes
 * NULL.  0/-1. */
int _ep_put_array(PyTypeObject *tp, PyObject *d, const char *key, void *pp, size_t n, size_t item);

/* pools.c: helpers the worker pool shares. */
PyObject *_ep_pool_stats_dict(const ep_pool_stats *s);
int _ep_size_arg(Py_ssize_t v, const char *what); /* ValueError unless v >= 0 */

/* module.c: the one integer-argument check, called before PyArg_Parse*:
 * every int among `args` (named by `names`, NULL-terminated, in order) and
 * `kw` must fit a signed 64-bit integer, else ValueError naming the argument
 * (PyArg would raise an OverflowError naming nothing, or wrap a "K").  0/-1. */
int _ep_int_args_fit(PyObject *args, PyObject *kw, char *const *names);
/* module.c: `o` as a size in [lo, hi]; ValueError naming `name` otherwise.  0/-1. */
int ep_arg_size(PyObject *o, const char *name, size_t lo, size_t hi, size_t *out);

/* The spec of type `name` (C struct `obj`, slots `slots`).  Every type of
 * ours is final and immutable, as the static types it replaces were:
 * ep_state_of() relies on the first.  Extra flags: GC, no instantiation. */
#define EP_TYPE_SPEC(name, obj, slots, extra_flags)                                                         \
    PyType_Spec _ep_##name##_spec = {"enginepools._core." #name, sizeof(obj), 0,                            \
                                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | (extra_flags), slots}

/* The type specs (module.c makes the types from them in exec). */
extern PyType_Spec _ep_ObjectPool_spec, _ep_BufferPool_spec, _ep_StringBuilderPool_spec;
extern PyType_Spec _ep_Lease_spec, _ep_Builder_spec; /* pools.c */
extern PyType_Spec _ep_WorkerPool_spec;               /* workerpool.c */
extern PyType_Spec _ep_PprofArray_spec;               /* pprof.c */

/* Each concern's module functions and its exec hook (constants). */
extern PyMethodDef _ep_bench_methods[], _ep_pprof_methods[], _ep_profiler_methods[], _ep_pipeline_methods[];
extern PyMethodDef _ep_pyalloc_methods[]; /* pyalloc.c: Python allocation counter and heap profiler */
int _ep_pools_exec(PyObject *m);
int _ep_bench_exec(PyObject *m);
int _ep_pipeline_exec(PyObject *m);

#endif
