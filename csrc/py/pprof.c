/* pprof.c — the pprof codec (csrc/pprof_decode.c, pprof_encode.c) seen from
 * Python: profile.proto bytes in, arrays out, and back.
 *
 * Decoded arrays go to Python without a copy: a small buffer object
 * (PprofArray) takes ownership of each malloc'd array and exports it through
 * the buffer protocol, so np.frombuffer() views it and keeps it alive.  The
 * strings are decoded once into a list.  Decoding and encoding run with the
 * GIL released; a malformed profile raises ValueError(message, offset,
 * stage), which enginepools.profile turns into a ProfileFormatError naming
 * the file.  The arrays pprof_encode takes come in one fixed order, shared
 * with enginepools.profile._ENCODE_ORDER.
 */
#include "seam.h"

#include <stdlib.h>
#include <string.h>


typedef struct {
    PyObject_HEAD
    void *p;
    Py_ssize_t len;
} pp_buf;

static void pp_buf_dealloc(PyObject *o) {
    PyTypeObject *tp = Py_TYPE(o);
    free(((pp_buf *)o)->p);
    tp->tp_free(o);
    Py_DECREF(tp);
}

static int pp_buf_getbuffer(PyObject *o, Py_buffer *view, int flags) {
    pp_buf *b = (pp_buf *)o;
    return PyBuffer_FillInfo(view, o, b->p, b->len, 0, flags);
}

static PyType_Slot pp_buf_slots[] = {
    {Py_tp_dealloc, pp_buf_dealloc}, {Py_bf_getbuffer, pp_buf_getbuffer},
    {Py_tp_doc, "A decoded pprof array (owns its memory; view it with numpy.frombuffer)."}, {0, NULL},
};
EP_TYPE_SPEC(PprofArray, pp_buf, pp_buf_slots, Py_TPFLAGS_DISALLOW_INSTANTIATION);

/* Move *pp (n items of `item` bytes) into d[key]; *pp becomes NULL.  Also
 * the benchmark text scanner's way out (csrc/py/bench.c). */
int _ep_put_array(PyTypeObject *tp, PyObject *d, const char *key, void *pp, size_t n, size_t item) {
    void **slot = (void **)pp;
    pp_buf *b = PyObject_New(pp_buf, tp);
    if (!b) return -1;
    b->p = *slot;
    b->len = (Py_ssize_t)(n * item);
    *slot = NULL;
    return _ep_dict_put(d, key, (PyObject *)b);
}

static int pp_put_int(PyObject *d, const char *key, long long v) { return _ep_dict_put(d, key, PyLong_FromLongLong(v)); }

static PyObject *pp_result(PyTypeObject *arr_type, ep_pprof *p, const uint8_t *raw, size_t raw_len) {
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
#define PP_ARR(key, ptr, n) if (_ep_put_array(arr_type, d, key, &(ptr), n, sizeof *(ptr)) < 0) goto fail
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

static PyObject *py_pprof_decode(PyObject *m, PyObject *args) {
    PyTypeObject *arr_type = ep_state_of_module(m)->PprofArray_Type;
    PyObject *arg, *cap_o = NULL;
    if (!PyArg_ParseTuple(args, "O|O:pprof_decode", &arg, &cap_o)) return NULL;
    size_t max_out = SIZE_MAX;
    if (cap_o && cap_o != Py_None && ep_arg_size(cap_o, "max_inflated", 1, SIZE_MAX, &max_out) < 0) return NULL;
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
        e = ep_gunzip(raw, raw_len, max_out, &unz, &raw_len, &err);
        raw = unz;
        if (!e) stage = "proto";
    }
    if (!e) e = ep_pprof_decode(raw, raw_len, &p, &err);
    Py_END_ALLOW_THREADS
    PyObject *res = NULL;
    if (e == EINVAL) pp_format_error(&err, stage);
    else if (e) _ep_py_raise(e, "pprof decode: %s", err.message);
    else res = pp_result(arr_type, &p, raw, raw_len);
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
    if (PyTuple_GET_SIZE(arrays) != PE_COUNT) return _ep_py_raise(EINVAL, "pprof_encode: need %d arrays", PE_COUNT);
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
            _ep_py_raise(EINVAL, "pprof_encode: array %d has a bad item size", got - 1);
            goto done;
        }
        lens[got] = (size_t)bufs[got].len / item;
    }
    ep_pprof p;
    memset(&p, 0, sizeof p);
    p.n_types = lens[PE_TYPE_T];
    if (lens[PE_SLOC_OFF] < 1 || lens[PE_LAB_OFF] != lens[PE_SLOC_OFF] || lens[PE_LOC_LINE_OFF] < 1 ||
        lens[PE_TYPE_U] != p.n_types) {
        _ep_py_raise(EINVAL, "pprof_encode: inconsistent offsets");
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
        _ep_py_raise(EINVAL, "pprof_encode: array lengths disagree");
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
        _ep_py_raise(e, "pprof_encode: %s", e == EINVAL ? "offsets out of order" : "failed");
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

/* ---- the call graph's group-bys (csrc/pprof_graph.c) ---- */

/* A C-contiguous buffer of items of `item` bytes; *n its length in items. */
static int pg_buf(PyObject *o, Py_buffer *b, size_t item, size_t *n, const char *what) {
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if ((size_t)b->len % item) {
        PyBuffer_Release(b);
        _ep_py_raise(EINVAL, "%s: want items of %zu bytes", what, item);
        return -1;
    }
    *n = (size_t)b->len / item;
    return 0;
}

static PyObject *pg_array(PyTypeObject *tp, void *p, size_t n, size_t item) {
    pp_buf *b = PyObject_New(pp_buf, tp);
    if (!b) {
        free(p);
        return NULL;
    }
    b->p = p;
    b->len = (Py_ssize_t)(n * item);
    return (PyObject *)b;
}

/* every index below `limit` (and at least 0) */
static int pg_in_range(const int32_t *x, size_t n, size_t limit) {
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= x[i] >= 0 && (size_t)x[i] < limit;
    return ok;
}

static PyObject *py_group_stacks(PyObject *m, PyObject *args) {
    PyTypeObject *tp = ep_state_of_module(m)->PprofArray_Type;
    PyObject *off_o, *rows_o;
    if (!PyArg_ParseTuple(args, "OO:group_stacks", &off_o, &rows_o)) return NULL;
    Py_buffer ob, rb;
    size_t n_off, n_rows;
    if (pg_buf(off_o, &ob, 8, &n_off, "group_stacks offsets") < 0) return NULL;
    if (pg_buf(rows_o, &rb, 4, &n_rows, "group_stacks rows") < 0) {
        PyBuffer_Release(&ob);
        return NULL;
    }
    const int64_t *off = ob.buf;
    size_t n = n_off ? n_off - 1 : 0;
    int ok = n_off >= 1 && off[0] == 0 && (size_t)off[n] == n_rows;
    for (size_t i = 0; ok && i < n; i++) ok = off[i] <= off[i + 1];
    PyObject *res = NULL;
    int64_t *gid = NULL, *first = NULL;
    size_t ng = 0;
    int e = ok ? 0 : EINVAL;
    if (!e) {
        gid = malloc((n ? n : 1) * sizeof *gid);
        if (!gid) e = ENOMEM;
    }
    if (!e) {
        Py_BEGIN_ALLOW_THREADS
        e = ep_group_stacks(off, rb.buf, n, gid, &first, &ng);
        Py_END_ALLOW_THREADS
    }
    if (e) {
        free(gid);
        _ep_py_raise(e, "group_stacks: %s", e == EINVAL ? "bad offsets" : "out of memory");
    } else {
        PyObject *g = pg_array(tp, gid, n, sizeof *gid), *f = g ? pg_array(tp, first, ng, sizeof *first) : NULL;
        if (!g) free(first);
        if (g && f) res = PyTuple_Pack(2, g, f);
        Py_XDECREF(g);
        Py_XDECREF(f);
    }
    PyBuffer_Release(&ob);
    PyBuffer_Release(&rb);
    return res;
}

static PyObject *py_graph_tally(PyObject *m, PyObject *args) {
    PyTypeObject *tp = ep_state_of_module(m)->PprofArray_Type;
    PyObject *node_o, *stack_o, *inl_o, *keep_o, *w_o, *dw_o;
    Py_ssize_t n_nodes_s;
    int edges;
    if (!PyArg_ParseTuple(args, "OOOOOOnp:graph_tally", &node_o, &stack_o, &inl_o, &keep_o, &w_o, &dw_o, &n_nodes_s,
                          &edges))
        return NULL;
    if (n_nodes_s < 1 || n_nodes_s > INT32_MAX) return _ep_py_raise(EINVAL, "graph_tally: bad node count");
    size_t n_nodes = (size_t)n_nodes_s;
    Py_buffer b[6];
    size_t len[6];
    PyObject *objs[6] = {node_o, stack_o, inl_o, keep_o, w_o, dw_o};
    const size_t item[6] = {4, 4, 1, 1, 8, 8};
    int got = 0;
    PyObject *res = NULL;
    for (; got < 6; got++) {
        if (objs[got] == Py_None && got == 3) {
            b[got].obj = NULL;
            b[got].buf = NULL;
            len[got] = n_nodes;
            continue;
        }
        if (pg_buf(objs[got], &b[got], item[got], &len[got], "graph_tally") < 0) goto done;
    }
    if (len[1] != len[0] || len[2] != len[0] || len[3] != n_nodes || len[5] != len[4]) {
        _ep_py_raise(EINVAL, "graph_tally: array lengths disagree");
        goto done;
    }
    int e = 0;
    size_t n_slots = len[0];
    ep_graph_edge_list el;
    memset(&el, 0, sizeof el);
    int64_t *cum = NULL, *cum_div = NULL;
    int32_t *seen = NULL;
    Py_BEGIN_ALLOW_THREADS
    if (!pg_in_range(b[0].buf, n_slots, n_nodes) || !pg_in_range(b[1].buf, n_slots, len[4])) {
        e = EINVAL;
    } else if (edges) {
        e = ep_graph_edges(b[0].buf, b[1].buf, b[2].buf, n_slots, b[3].buf, b[4].buf, b[5].buf, n_nodes, &el);
    } else {
        cum = malloc(n_nodes * sizeof *cum);
        cum_div = malloc(n_nodes * sizeof *cum_div);
        seen = malloc(n_nodes * sizeof *seen);
        if (cum && cum_div && seen)
            ep_graph_cum(b[0].buf, b[1].buf, n_slots, b[4].buf, b[5].buf, n_nodes, cum, cum_div, seen);
        else
            e = ENOMEM;
    }
    Py_END_ALLOW_THREADS
    free(seen);
    if (e) {
        free(cum);
        free(cum_div);
        _ep_py_raise(e, "graph_tally: %s", e == EINVAL ? "index out of range" : "out of memory");
        goto done;
    }
    if (edges) {
        size_t n = el.n;
        PyObject *a[6] = {pg_array(tp, el.caller, n, 8), pg_array(tp, el.callee, n, 8), pg_array(tp, el.w, n, 8),
                          pg_array(tp, el.dw, n, 8), pg_array(tp, el.residual, n, 1), pg_array(tp, el.inline_, n, 1)};
        if (a[0] && a[1] && a[2] && a[3] && a[4] && a[5]) res = PyTuple_Pack(6, a[0], a[1], a[2], a[3], a[4], a[5]);
        for (int k = 0; k < 6; k++) Py_XDECREF(a[k]);
    } else {
        PyObject *c = pg_array(tp, cum, n_nodes, 8), *cd = pg_array(tp, cum_div, n_nodes, 8);
        if (c && cd) res = PyTuple_Pack(2, c, cd);
        Py_XDECREF(c);
        Py_XDECREF(cd);
    }
done:
    for (int k = 0; k < got; k++)
        if (b[k].obj) PyBuffer_Release(&b[k]);
    return res;
}

/* ---- decoding while inflating (csrc/pprof_stream.c) ---- */

#define PS_NAME "enginepools.pprof_stream"

static void ps_destroy(PyObject *cap) { ep_pprof_stream_free(PyCapsule_GetPointer(cap, PS_NAME)); }

static ep_pprof_stream *ps_of(PyObject *cap) { return PyCapsule_GetPointer(cap, PS_NAME); }

static PyObject *py_stream_new(PyObject *m, PyObject *args) {
    (void)m;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "n:pprof_stream_new", &size)) return NULL;
    if (size < 0) return _ep_py_raise(EINVAL, "pprof_stream_new: negative size");
    ep_pprof_stream *s = ep_pprof_stream_new((size_t)size);
    if (!s) return PyErr_NoMemory();
    PyObject *cap = PyCapsule_New(s, PS_NAME, ps_destroy);
    if (!cap) ep_pprof_stream_free(s);
    return cap;
}

static PyObject *py_stream_write(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *cap;
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "Oy*:pprof_stream_write", &cap, &b)) return NULL;
    ep_pprof_stream *s = ps_of(cap);
    int e = EINVAL;
    if (s) {
        Py_BEGIN_ALLOW_THREADS
        e = ep_pprof_stream_write(s, b.buf, (size_t)b.len);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&b);
    if (!s) return NULL;
    return PyBool_FromLong(e == 0);
}

static PyObject *py_stream_end(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *cap;
    int ok;
    if (!PyArg_ParseTuple(args, "Op:pprof_stream_end", &cap, &ok)) return NULL;
    ep_pprof_stream *s = ps_of(cap);
    if (!s) return NULL;
    ep_pprof_stream_end(s, ok);
    Py_RETURN_NONE;
}

static PyObject *py_stream_decode(PyObject *m, PyObject *args) {
    PyTypeObject *arr_type = ep_state_of_module(m)->PprofArray_Type;
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O:pprof_stream_decode", &cap)) return NULL;
    ep_pprof_stream *s = ps_of(cap);
    if (!s) return NULL;
    ep_pprof p;
    ep_pprof_error err;
    memset(&p, 0, sizeof p);
    memset(&err, 0, sizeof err);
    int e;
    Py_BEGIN_ALLOW_THREADS
    e = ep_pprof_stream_decode(s, &p, &err);
    Py_END_ALLOW_THREADS
    if (e == ECANCELED) Py_RETURN_NONE;
    PyObject *res = NULL;
    size_t len;
    const uint8_t *raw = ep_pprof_stream_buf(s, &len);
    if (e == EINVAL) pp_format_error(&err, "proto");
    else if (e) _ep_py_raise(e, "pprof decode: %s", err.message);
    else res = pp_result(arr_type, &p, raw, len);
    ep_pprof_free(&p);
    return res;
}

static PyObject *py_graph_layout(PyObject *m, PyObject *args) {
    PyTypeObject *tp = ep_state_of_module(m)->PprofArray_Type;
    PyObject *objs[5];
    if (!PyArg_ParseTuple(args, "OOOOO:graph_layout", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4])) return NULL;
    const size_t item[5] = {8, 4, 1, 8, 4}; /* slot_off, slot_info, slot_inline, lens, rows */
    Py_buffer b[5];
    size_t len[5];
    int got = 0;
    PyObject *res = NULL;
    for (; got < 5; got++)
        if (pg_buf(objs[got], &b[got], item[got], &len[got], "graph_layout") < 0) goto done;
    int e = 0;
    ep_graph_slots sl;
    memset(&sl, 0, sizeof sl);
    Py_BEGIN_ALLOW_THREADS
    const int64_t *off = b[0].buf, *lens = b[3].buf;
    const int32_t *rows = b[4].buf;
    size_t n_locs = len[0] ? len[0] - 1 : 0, n_rows = 0;
    int ok = len[0] >= 1 && off[0] == 0 && (size_t)off[n_locs] == len[1] && len[2] == len[1];
    for (size_t i = 0; ok && i < n_locs; i++) ok = off[i] <= off[i + 1];
    for (size_t i = 0; ok && i < len[3]; i++) {
        ok = lens[i] >= 0;
        n_rows += (size_t)lens[i];
    }
    ok = ok && n_rows == len[4] && pg_in_range(rows, len[4], n_locs) && len[3] <= INT32_MAX;
    e = ok ? ep_graph_layout(off, b[1].buf, b[2].buf, lens, len[3], rows, &sl) : EINVAL;
    Py_END_ALLOW_THREADS
    if (e) {
        _ep_py_raise(e, "graph_layout: %s", e == EINVAL ? "bad offsets or index" : "out of memory");
        goto done;
    }
    PyObject *a[4] = {pg_array(tp, sl.node, sl.n, 4), pg_array(tp, sl.inline_, sl.n, 1), pg_array(tp, sl.stack, sl.n, 4),
                      pg_array(tp, sl.per_stack, len[3], 8)};
    if (a[0] && a[1] && a[2] && a[3]) res = PyTuple_Pack(4, a[0], a[1], a[2], a[3]);
    for (int k = 0; k < 4; k++) Py_XDECREF(a[k]);
done:
    for (int k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    return res;
}

PyMethodDef _ep_pprof_methods[] = {
    {"pprof_decode", py_pprof_decode, METH_VARARGS,
     "pprof_decode(data, max_inflated=None) -> dict of arrays: decode profile.proto (gzip'd or not; gzip'd "
     "input refused once it inflates past max_inflated bytes)."},
    {"pprof_encode", py_pprof_encode, METH_VARARGS,
     "pprof_encode(arrays, strings, scalars, gzip_level) -> bytes: encode profile.proto."},
    {"group_stacks", py_group_stacks, METH_VARARGS,
     "group_stacks(offsets int64, rows int32) -> (group id per segment, first segment per group): exact "
     "group-by of CSR segments, numbered by first occurrence."},
    {"graph_tally", py_graph_tally, METH_VARARGS,
     "graph_tally(node, stack, inline, keep, w, dw, n_nodes, edges) -> (cum, cum_div) or the edges "
     "(caller, callee, w, dw, residual, inline) of the call graph's slots."},
    {"graph_layout", py_graph_layout, METH_VARARGS,
     "graph_layout(slot_off, slot_info, slot_inline, lens, rows) -> (node, inline, stack, slots per stack): the "
     "stacks laid out as slots of node infos."},
    {"pprof_stream_new", py_stream_new, METH_VARARGS,
     "pprof_stream_new(size) -> stream: a message buffer of size bytes, filled by pprof_stream_write while "
     "pprof_stream_decode reads it."},
    {"pprof_stream_write", py_stream_write, METH_VARARGS,
     "pprof_stream_write(stream, data) -> bool: append data (False: it overflows; the stream failed)."},
    {"pprof_stream_end", py_stream_end, METH_VARARGS,
     "pprof_stream_end(stream, ok): no more data; the stream is whole when ok and full."},
    {"pprof_stream_decode", py_stream_decode, METH_VARARGS,
     "pprof_stream_decode(stream) -> dict, as pprof_decode, decoding as the data arrives (GIL released); "
     "None when the stream failed."},
    {NULL, NULL, 0, NULL},
};
