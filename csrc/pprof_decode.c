/* pprof_decode.c — profile.proto reader.
 *
 * One forward pass over the message appends every field to growable arrays
 * (struct of arrays, see ep_pprof.h); a second pass over those arrays checks
 * the references that can only be checked once everything is read (protobuf
 * allows any field order): string indices, id uniqueness, sample→location and
 * line→function references, one value per sample type.  The rules are go
 * tool pprof's (profile/encode.go postDecode + CheckValid): varints of at most
 * 10 bytes, wire types 0/1/2/5, repeated ints packed or not, unknown fields
 * skipped, a location naming a missing mapping is allowed (no mapping).
 *
 * Speed: a first scan of the top-level keys and lengths sizes the arrays (so
 * the big ones are never copied as they grow), packed varints and labels take
 * a short path, and csrc/py/pprof.c hands the arrays to numpy without copying them.
 * Most of the remaining cost is faulting in fresh output pages, so big arrays
 * ask for transparent huge pages (one fault per 2 MiB instead of 512) and the
 * decoder keeps no per-sample or per-label side arrays: sample value counts,
 * the range of sample location ids and the largest label string index are
 * gathered while parsing, which lets check() skip the per-id and per-label
 * passes in the common case (location ids exactly 1..n, labels in range).
 * The byte offset of a bad sample or label is found, on the error path only,
 * by walking the message again.
 *
 * Invariants: every read is bounded by the end of the enclosing message (never
 * the buffer end alone), so a length that lies is caught where it lies; on
 * failure every array built so far is freed and `out` is left zeroed.  Error
 * offsets are relative to the start of the message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ep_common.h"
#include "ep_pprof.h"

/* ---- growable arrays -------------------------------------------------------- */

typedef struct {
    uint64_t *p;
    size_t n, cap;
} vec;

/* Ask for transparent huge pages on the 2 MiB-aligned interior of a big
 * array: the decoder writes every byte of its output once, so the cost is the
 * page faults, and a 2 MiB page takes one fault instead of 512.  Advice only:
 * failure (no THP, not Linux) changes nothing. */
#define EP_HUGE (2u << 20)
static void advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    if (bytes < 2 * EP_HUGE) return;
    uintptr_t a = ((uintptr_t)p + EP_HUGE - 1) & ~(uintptr_t)(EP_HUGE - 1);
    uintptr_t b = ((uintptr_t)p + bytes) & ~(uintptr_t)(EP_HUGE - 1);
    if (b > a) (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

static int vec_resize(vec *v, size_t cap) {
    if (cap > SIZE_MAX / sizeof *v->p) return ENOMEM;
    uint64_t *np = realloc(v->p, cap * sizeof *np);
    if (!np) return ENOMEM;
    v->p = np;
    v->cap = cap;
    advise_huge(np, cap * sizeof *np);
    return 0;
}

static int vec_grow(vec *v) { return vec_resize(v, v->cap ? v->cap * 2 : 64); }

static int vec_reserve(vec *v, size_t n) { return v->cap >= n ? 0 : vec_resize(v, n); }

static inline int push(vec *v, uint64_t x) {
    if (EP_UNLIKELY(v->n == v->cap) && vec_grow(v)) return ENOMEM;
    v->p[v->n++] = x;
    return 0;
}

/* ---- decoder state ---------------------------------------------------------- */

enum {
    V_STR_OFF, V_STR_LEN, V_TYPE_T, V_TYPE_U, V_TYPE_POS,
    V_VALUES, V_SLOC_OFF, V_SLOC, V_LAB_OFF, V_LK, V_LS, V_LN, V_LU,
    V_LOC_ID, V_LOC_MAP, V_LOC_ADDR, V_LOC_FOLD, V_LOC_LINE_OFF, V_LINE_FN, V_LINE_LN, V_LOC_POS,
    V_FN_ID, V_FN_NAME, V_FN_SYS, V_FN_FILE, V_FN_START, V_FN_POS,
    V_MAP_ID, V_MAP_START, V_MAP_LIMIT, V_MAP_OFF, V_MAP_FILE, V_MAP_BUILD, V_MAP_FLAGS, V_MAP_POS,
    V_COMMENT, V_COMMENT_POS,
    V_COUNT
};

typedef struct {
    const uint8_t *base, *end;
    ep_pprof_error *err;
    vec v[V_COUNT];
    /* per-sample facts gathered while parsing, so check() needs no per-sample
     * or per-label side arrays (offsets for errors are found by re-walking the
     * message, see sample_pos / label_pos) */
    size_t n_samples;
    uint64_t nval0;        /* number of values of sample 0 */
    size_t val_odd;        /* 1 + first sample whose value count differs from sample 0's, or 0 */
    uint64_t val_odd_cnt;  /* its value count */
    uint64_t sloc_min, sloc_max; /* over all sample location ids */
    uint64_t lab_max;      /* max over label key, str and unit */
    int64_t scal[15];        /* top-level scalar fields by number (7..14) */
    uint64_t scal_pos[15];
    int has_period_type;
    int64_t pt_type, pt_unit;
    uint64_t pt_pos;
    ep_pprof_stream *stream; /* the message still arriving (pprof_stream.c), or NULL */
    size_t have;             /* bytes of it known to be there */
} dec;

static int fail(dec *d, const uint8_t *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(dec *d, const uint8_t *at, const char *fmt, ...) {
    if (d->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err->message, sizeof d->err->message, fmt, ap);
        va_end(ap);
        d->err->offset = (uint64_t)(at - d->base);
    }
    return EINVAL;
}

static int fail_at(dec *d, uint64_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(dec *d, uint64_t off, const char *fmt, ...) {
    if (d->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err->message, sizeof d->err->message, fmt, ap);
        va_end(ap);
        d->err->offset = off;
    }
    return EINVAL;
}

#define PUSH(d, k, x)                                   \
    do {                                                \
        if (push(&(d)->v[k], (uint64_t)(x))) return ENOMEM; \
    } while (0)

/* ---- wire format -------------------------------------------------------------- */

/* go's decodeVarint: at most 10 bytes, high bits of the 10th silently dropped */
static inline int rd_varint(dec *d, const uint8_t **pp, const uint8_t *end, uint64_t *v) {
    const uint8_t *p = *pp;
    if (EP_LIKELY(p < end && *p < 0x80)) {
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (p + i >= end) return fail(d, *pp, "truncated varint");
        uint8_t c = p[i];
        r |= (uint64_t)(c & 0x7f) << (7 * i);
        if (c < 0x80) {
            *v = r;
            *pp = p + i + 1;
            return 0;
        }
    }
    return fail(d, *pp, "bad varint (longer than 10 bytes)");
}

/* One field header and its payload.  For wire type 2, [data, data_end) is the
 * payload; for 0/1/5, val is the value. */
typedef struct {
    const uint8_t *start; /* the field key */
    uint32_t field;
    uint32_t wt;
    uint64_t val;
    const uint8_t *data, *data_end;
} fld;

static inline int rd_field(dec *d, const uint8_t **pp, const uint8_t *end, fld *f) {
    f->start = *pp;
    uint64_t key = 0;
    int e = rd_varint(d, pp, end, &key);
    if (e) return e;
    f->wt = (uint32_t)(key & 7);
    f->field = key >> 3 > 0xffffffffu ? 0xffffffffu : (uint32_t)(key >> 3);
    switch (f->wt) {
    case 0:
        return rd_varint(d, pp, end, &f->val);
    case 1:
        if (end - *pp < 8) return fail(d, *pp, "truncated fixed64 field");
        memcpy(&f->val, *pp, 8);
        *pp += 8;
        return 0;
    case 5: {
        if (end - *pp < 4) return fail(d, *pp, "truncated fixed32 field");
        uint32_t x;
        memcpy(&x, *pp, 4);
        f->val = x;
        *pp += 4;
        return 0;
    }
    case 2: {
        const uint8_t *lp = *pp;
        uint64_t n = 0;
        e = rd_varint(d, pp, end, &n);
        if (e) return e;
        if (n > (uint64_t)(end - *pp))
            return fail(d, lp, "length-delimited field runs past its end (%llu bytes, %llu left)",
                        (unsigned long long)n, (unsigned long long)(end - *pp));
        f->data = *pp;
        f->data_end = *pp + n;
        *pp += n;
        return 0;
    }
    default:
        return fail(d, f->start, "unknown wire type %u (field %u)", f->wt, f->field);
    }
}

static inline int want_varint(dec *d, const fld *f) {
    return f->wt == 0 ? 0 : fail(d, f->start, "type mismatch: field %u is not a varint", f->field);
}

static inline int want_bytes(dec *d, const fld *f) {
    return f->wt == 2 ? 0 : fail(d, f->start, "type mismatch: field %u is not length-delimited", f->field);
}

/* Packed varints in [p, end) appended to `out`.  A payload of L bytes holds
 * at most L varints, so room is made once and the loop does no bounds work
 * beyond the payload's; one- and two-byte varints (most ids and counts) take
 * the short path. */
static int rd_packed(dec *d, const uint8_t *p, const uint8_t *end, vec *out) {
    if (p == end) return 0; /* an empty payload: nothing to add (and out->p may still be NULL) */
    size_t room = (size_t)(end - p);
    if (out->cap - out->n < room) {
        /* the byte count overestimates; count the varints before growing, so
         * an exactly pre-sized array (values) is never copied to a bigger one */
        size_t cnt = 0;
        for (const uint8_t *q = p; q < end; q++) cnt += *q < 0x80;
        /* every value written ends in a byte < 0x80, so cnt bounds the writes */
        if (out->cap - out->n < cnt) {
            size_t want = out->n + room;
            if (want < 2 * out->cap) want = 2 * out->cap;
            if (vec_reserve(out, want)) return ENOMEM;
        } else {
            room = cnt;
        }
    }
    if (!out->p && vec_reserve(out, 64)) return ENOMEM; /* no complete varint (cnt 0): still no NULL + 0 */
    uint64_t *w = out->p + out->n;
    while (p < end) {
        uint64_t x = p[0];
        if (EP_LIKELY(x < 0x80)) {
            *w++ = x;
            p++;
        } else if (end - p >= 2 && p[1] < 0x80) {
            *w++ = (x & 0x7f) | (uint64_t)p[1] << 7;
            p += 2;
        } else {
            int e = rd_varint(d, &p, end, &x);
            if (e) {
                out->n = (size_t)(w - out->p);
                return e;
            }
            *w++ = x;
        }
    }
    out->n = (size_t)(w - out->p);
    return 0;
}

/* repeated int64/uint64: packed (wt 2) or one value (wt 0) */
static int rd_ints(dec *d, const fld *f, vec *out) {
    if (f->wt == 0) return push(out, f->val);
    if (f->wt != 2) return fail(d, f->start, "type mismatch: field %u is not a repeated integer", f->field);
    return rd_packed(d, f->data, f->data_end, out);
}

/* ---- messages ----------------------------------------------------------------- */

static int rd_line(dec *d, const fld *lf);

/* The loop the small messages share: varint field k in 1..n-1 lands in r[k]
 * (zeroed first; a repeated field's last value wins, as in protobuf), field
 * `line` (0: none) is a nested Line read as it comes, others are skipped.
 * Inline, so each caller's constants fold into a copy of its own. */
static inline int rd_varints(dec *d, const fld *mf, uint64_t *r, unsigned n, unsigned line) {
    const uint8_t *p = mf->data, *end = mf->data_end;
    fld f;
    f.val = 0; /* set by rd_field whenever want_varint passes; gcc -O1 cannot see that */
    memset(r, 0, n * sizeof *r);
    while (p < end) {
        int e = rd_field(d, &p, end, &f);
        if (e) return e;
        if (line && f.field == line) {
            if ((e = want_bytes(d, &f)) || (e = rd_line(d, &f))) return e;
        } else if (f.field >= 1 && f.field < n) {
            if ((e = want_varint(d, &f))) return e;
            r[f.field] = f.val;
        }
    }
    return 0;
}

static int rd_value_type(dec *d, const fld *vf, int64_t *t, int64_t *u) {
    uint64_t r[3];
    int e = rd_varints(d, vf, r, 3, 0);
    *t = (int64_t)r[1];
    *u = (int64_t)r[2];
    return e;
}

static int rd_label(dec *d, const uint8_t *p, const uint8_t *end) {
    uint64_t r[5] = {0, 0, 0, 0, 0};
    fld f;
    int e;
    while (p < end) {
        /* fast path: one-byte key of a varint field 1..4 */
        uint8_t k = *p;
        if (EP_LIKELY((k & 7) == 0 && k >= 0x08 && k <= 0x20)) {
            p++;
            if ((e = rd_varint(d, &p, end, &r[k >> 3]))) return e;
            continue;
        }
        if ((e = rd_field(d, &p, end, &f))) return e;
        if (f.field >= 1 && f.field <= 4) {
            if ((e = want_varint(d, &f))) return e;
            r[f.field] = f.val;
        }
    }
    uint64_t m = r[1] > r[2] ? r[1] : r[2];
    if (r[4] > m) m = r[4];
    if (m > d->lab_max) d->lab_max = m;
    PUSH(d, V_LK, r[1]);
    PUSH(d, V_LS, r[2]);
    PUSH(d, V_LN, r[3]);
    PUSH(d, V_LU, r[4]);
    return 0;
}

static int rd_sample(dec *d, const fld *sf) {
    const uint8_t *p = sf->data, *end = sf->data_end;
    size_t loc0 = d->v[V_SLOC].n, val0 = d->v[V_VALUES].n;
    fld f;
    while (p < end) {
        /* fast path: packed location ids (key 0x0a) or values (0x12) with a
         * one-byte length, the shape every writer produces */
        if ((p[0] == 0x0a || p[0] == 0x12) && end - p >= 2 && p[1] < 0x80 && p[1] <= end - p - 2) {
            const uint8_t *q = p + 2;
            int e = rd_packed(d, q, q + p[1], &d->v[p[0] == 0x0a ? V_SLOC : V_VALUES]);
            if (e) return e;
            p = q + p[1];
            continue;
        }
        int e = rd_field(d, &p, end, &f);
        if (e) return e;
        switch (f.field) {
        case 1: e = rd_ints(d, &f, &d->v[V_SLOC]); break;
        case 2: e = rd_ints(d, &f, &d->v[V_VALUES]); break;
        case 3:
            if (!(e = want_bytes(d, &f))) e = rd_label(d, f.data, f.data_end);
            break;
        default: break;
        }
        if (e) return e;
    }
    /* the ids just written are in cache: their range lets check() skip the
     * per-id lookup when location ids are exactly 1..n */
    const uint64_t *ids = d->v[V_SLOC].p;
    uint64_t lo = d->sloc_min, hi = d->sloc_max;
    for (size_t i = loc0; i < d->v[V_SLOC].n; i++) {
        lo = ids[i] < lo ? ids[i] : lo;
        hi = ids[i] > hi ? ids[i] : hi;
    }
    d->sloc_min = lo;
    d->sloc_max = hi;
    uint64_t nv = d->v[V_VALUES].n - val0;
    if (d->n_samples == 0) d->nval0 = nv;
    else if (EP_UNLIKELY(nv != d->nval0) && !d->val_odd) {
        d->val_odd = d->n_samples + 1;
        d->val_odd_cnt = nv;
    }
    d->n_samples++;
    PUSH(d, V_SLOC_OFF, d->v[V_SLOC].n);
    PUSH(d, V_LAB_OFF, d->v[V_LK].n);
    return 0;
}

static int rd_line(dec *d, const fld *lf) {
    uint64_t r[3];
    int e = rd_varints(d, lf, r, 3, 0);
    if (e) return e;
    PUSH(d, V_LINE_FN, r[1]);
    PUSH(d, V_LINE_LN, r[2]);
    return 0;
}

static int rd_location(dec *d, const fld *lf) {
    uint64_t r[6];
    int e = rd_varints(d, lf, r, 6, 4);
    if (e) return e;
    PUSH(d, V_LOC_ID, r[1]);
    PUSH(d, V_LOC_MAP, r[2]);
    PUSH(d, V_LOC_ADDR, r[3]);
    PUSH(d, V_LOC_FOLD, r[5] != 0);
    PUSH(d, V_LOC_LINE_OFF, d->v[V_LINE_FN].n);
    PUSH(d, V_LOC_POS, lf->start - d->base);
    return 0;
}

static int rd_function(dec *d, const fld *ff) {
    uint64_t r[6];
    int e = rd_varints(d, ff, r, 6, 0);
    if (e) return e;
    for (int k = 1; k <= 5; k++) PUSH(d, V_FN_ID + k - 1, r[k]);
    PUSH(d, V_FN_POS, ff->start - d->base);
    return 0;
}

static int rd_mapping(dec *d, const fld *mf) {
    uint64_t r[11];
    int e = rd_varints(d, mf, r, 11, 0);
    if (e) return e;
    for (int k = 1; k <= 6; k++) PUSH(d, V_MAP_ID + k - 1, r[k]);
    PUSH(d, V_MAP_FLAGS, (r[7] ? EP_PPROF_HAS_FUNCTIONS : 0) | (r[8] ? EP_PPROF_HAS_FILENAMES : 0) |
                             (r[9] ? EP_PPROF_HAS_LINE_NUMBERS : 0) | (r[10] ? EP_PPROF_HAS_INLINE_FRAMES : 0));
    PUSH(d, V_MAP_POS, mf->start - d->base);
    return 0;
}

static int rd_profile(dec *d, const uint8_t *p, const uint8_t *end) {
    fld f;
    while (p < end) {
        int e = d->stream ? ep_pprof_stream_ready(d->stream, p, end, &d->have) : 0;
        if (e || (e = rd_field(d, &p, end, &f))) return e;
        switch (f.field) {
        case 2: e = want_bytes(d, &f) ? EINVAL : rd_sample(d, &f); break;
        case 4: e = want_bytes(d, &f) ? EINVAL : rd_location(d, &f); break;
        case 6:
            if (!(e = want_bytes(d, &f))) {
                PUSH(d, V_STR_OFF, f.data - d->base);
                PUSH(d, V_STR_LEN, f.data_end - f.data);
            }
            break;
        case 5: e = want_bytes(d, &f) ? EINVAL : rd_function(d, &f); break;
        case 3: e = want_bytes(d, &f) ? EINVAL : rd_mapping(d, &f); break;
        case 1: {
            int64_t t, u;
            if ((e = want_bytes(d, &f)) || (e = rd_value_type(d, &f, &t, &u))) break;
            PUSH(d, V_TYPE_T, t);
            PUSH(d, V_TYPE_U, u);
            PUSH(d, V_TYPE_POS, f.start - d->base);
            break;
        }
        case 11:
            if ((e = want_bytes(d, &f)) || (e = rd_value_type(d, &f, &d->pt_type, &d->pt_unit))) break;
            d->has_period_type = 1;
            d->pt_pos = (uint64_t)(f.start - d->base);
            break;
        case 13: {
            size_t before = d->v[V_COMMENT].n;
            if ((e = rd_ints(d, &f, &d->v[V_COMMENT]))) break;
            for (size_t i = before; i < d->v[V_COMMENT].n; i++) PUSH(d, V_COMMENT_POS, f.start - d->base);
            break;
        }
        case 7: case 8: case 9: case 10: case 12: case 14:
            if (!(e = want_varint(d, &f))) {
                d->scal[f.field] = (int64_t)f.val;
                d->scal_pos[f.field] = (uint64_t)(f.start - d->base);
            }
            break;
        default: break; /* unknown field: skipped */
        }
        if (e) return e;
    }
    return 0;
}

/* ---- id indexes (for the reference checks) ------------------------------------ */

typedef struct {
    uint64_t id;
    uint64_t row;
} id_row;

typedef struct {
    uint64_t max;    /* dense: ids 1..max looked up in dense[] */
    uint32_t *dense; /* row + 1, 0 = absent */
    id_row *sorted;  /* sparse: (id, row) sorted by id */
    size_t n;
} id_index;

static void idx_free(id_index *x) {
    free(x->dense);
    free(x->sorted);
    memset(x, 0, sizeof *x);
}

static int cmp_id_row(const void *a, const void *b) {
    uint64_t x = ((const id_row *)a)->id, y = ((const id_row *)b)->id;
    return x < y ? -1 : x > y;
}

/* Build an id → row index; fails on id 0 or a duplicate id. */
static int idx_build(dec *d, id_index *x, const vec *ids, const vec *pos, const char *what) {
    memset(x, 0, sizeof *x);
    size_t n = ids->n;
    if (n > UINT32_MAX - 1) return fail_at(d, 0, "too many %ss", what);
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids->p[i] == 0) return fail_at(d, pos->p[i], "found %s with reserved id 0", what);
        if (ids->p[i] > max) max = ids->p[i];
    }
    x->n = n;
    if (max <= 4 * (uint64_t)n + 1024) {
        x->max = max;
        x->dense = calloc(max + 1, sizeof *x->dense);
        if (!x->dense) return ENOMEM;
        for (size_t i = 0; i < n; i++) {
            uint64_t id = ids->p[i];
            if (x->dense[id]) return fail_at(d, pos->p[i], "multiple %ss with id %llu", what, (unsigned long long)id);
            x->dense[id] = (uint32_t)(i + 1);
        }
        return 0;
    }
    x->sorted = malloc(n * sizeof *x->sorted);
    if (!x->sorted) return ENOMEM;
    for (size_t i = 0; i < n; i++) x->sorted[i] = (id_row){ids->p[i], i};
    qsort(x->sorted, n, sizeof *x->sorted, cmp_id_row);
    for (size_t i = 1; i < n; i++)
        if (x->sorted[i].id == x->sorted[i - 1].id)
            return fail_at(d, pos->p[x->sorted[i].row], "multiple %ss with id %llu", what,
                           (unsigned long long)x->sorted[i].id);
    return 0;
}

static inline int idx_has(const id_index *x, uint64_t id) {
    if (x->dense) return id <= x->max && x->dense[id] != 0;
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->sorted[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < x->n && x->sorted[lo].id == id;
}

/* ---- checks ------------------------------------------------------------------------- */

/* Error path only: the byte offset of sample i, and of the i-th label over all
 * samples, found by walking the message again.  It parsed already, so the
 * walk cannot fail. */
static uint64_t sample_pos(dec *d, size_t i) {
    const uint8_t *p = d->base;
    fld f;
    while (p < d->end && !rd_field(d, &p, d->end, &f))
        if (f.field == 2 && i-- == 0) return (uint64_t)(f.start - d->base);
    return 0;
}

static uint64_t label_pos(dec *d, size_t i) {
    const uint8_t *p = d->base;
    fld f, g;
    while (p < d->end && !rd_field(d, &p, d->end, &f)) {
        if (f.field != 2) continue;
        const uint8_t *q = f.data;
        while (q < f.data_end && !rd_field(d, &q, f.data_end, &g))
            if (g.field == 3 && i-- == 0) return (uint64_t)(g.start - d->base);
    }
    return 0;
}

static int check_str(dec *d, const vec *v, const vec *pos, size_t n_strings, const char *what) {
    for (size_t i = 0; i < v->n; i++)
        if (EP_UNLIKELY(v->p[i] >= n_strings))
            return fail_at(d, pos->p[i], "%s: string index %lld out of range (string table has %zu)", what,
                           (long long)v->p[i], n_strings);
    return 0;
}

static int check_scalar_str(dec *d, int field, size_t n_strings, const char *what) {
    uint64_t s = (uint64_t)d->scal[field];
    if (s >= n_strings)
        return fail_at(d, d->scal_pos[field], "%s: string index %lld out of range (string table has %zu)", what,
                       (long long)s, n_strings);
    return 0;
}

static int check(dec *d) {
    vec *v = d->v;
    size_t ns = v[V_STR_OFF].n;
    if (ns == 0) return fail_at(d, 0, "no string table");
    if (v[V_STR_LEN].p[0] != 0) return fail_at(d, v[V_STR_OFF].p[0], "string_table[0] must be ''");
    int e;
    if ((e = check_str(d, &v[V_TYPE_T], &v[V_TYPE_POS], ns, "sample type")) ||
        (e = check_str(d, &v[V_TYPE_U], &v[V_TYPE_POS], ns, "sample type unit")) ||
        (e = check_str(d, &v[V_FN_NAME], &v[V_FN_POS], ns, "function name")) ||
        (e = check_str(d, &v[V_FN_SYS], &v[V_FN_POS], ns, "function system name")) ||
        (e = check_str(d, &v[V_FN_FILE], &v[V_FN_POS], ns, "function filename")) ||
        (e = check_str(d, &v[V_MAP_FILE], &v[V_MAP_POS], ns, "mapping filename")) ||
        (e = check_str(d, &v[V_MAP_BUILD], &v[V_MAP_POS], ns, "mapping build id")) ||
        (e = check_str(d, &v[V_COMMENT], &v[V_COMMENT_POS], ns, "comment")) ||
        (e = check_scalar_str(d, 7, ns, "drop_frames")) || (e = check_scalar_str(d, 8, ns, "keep_frames")) ||
        (e = check_scalar_str(d, 14, ns, "default_sample_type")))
        return e;
    if (d->has_period_type &&
        ((uint64_t)d->pt_type >= ns || (uint64_t)d->pt_unit >= ns))
        return fail_at(d, d->pt_pos, "period type: string index out of range (string table has %zu)", ns);
    /* labels: key always; str/unit only when go would read them */
    for (size_t i = 0; d->lab_max >= ns && i < v[V_LK].n; i++) {
        uint64_t k = v[V_LK].p[i], s = v[V_LS].p[i], n = v[V_LN].p[i], u = v[V_LU].p[i];
        int bad = k >= ns || (s != 0 && s >= ns) || (s == 0 && (n != 0 || u != 0) && u >= ns);
        if (EP_UNLIKELY(bad)) {
            return fail_at(d, label_pos(d, i), "label: string index out of range (string table has %zu)", ns);
        }
    }
    /* one value per sample type */
    size_t nt = v[V_TYPE_T].n, nsmp = d->n_samples;
    if (nt == 0 && nsmp) return fail_at(d, sample_pos(d, 0), "missing sample type information");
    /* the first sample whose count differs from nt: sample 0, or else the
     * first that differs from sample 0 */
    if (nsmp && (d->nval0 != nt || d->val_odd)) {
        size_t i = d->nval0 != nt ? 0 : d->val_odd - 1;
        uint64_t cnt = d->nval0 != nt ? d->nval0 : d->val_odd_cnt;
        return fail_at(d, sample_pos(d, i), "sample %zu has %llu values, profile has %zu sample types", i,
                       (unsigned long long)cnt, nt);
    }
    /* ids */
    id_index fi, li;
    id_index mi;
    if ((e = idx_build(d, &mi, &v[V_MAP_ID], &v[V_MAP_POS], "mapping"))) {
        idx_free(&mi);
        return e;
    }
    idx_free(&mi); /* missing mappings are allowed; only uniqueness is checked */
    if ((e = idx_build(d, &fi, &v[V_FN_ID], &v[V_FN_POS], "function"))) {
        idx_free(&fi);
        return e;
    }
    size_t line = 0;
    for (size_t l = 0; l < v[V_LOC_ID].n && !e; l++) {
        for (; line < v[V_LOC_LINE_OFF].p[l + 1]; line++) {
            uint64_t fn = v[V_LINE_FN].p[line];
            if (EP_UNLIKELY(fn == 0 || !idx_has(&fi, fn))) {
                e = fail_at(d, v[V_LOC_POS].p[l], "location %llu has a line naming missing function %llu",
                            (unsigned long long)v[V_LOC_ID].p[l], (unsigned long long)fn);
                break;
            }
        }
    }
    idx_free(&fi);
    if (e) return e;
    if ((e = idx_build(d, &li, &v[V_LOC_ID], &v[V_LOC_POS], "location"))) {
        idx_free(&li);
        return e;
    }
    /* ids exactly 1..n (idx_build ruled out 0 and duplicates) and every
     * sample id within [1, n]: nothing to look up */
    int all_in = li.dense && li.max == li.n && d->sloc_min >= 1 && d->sloc_max <= li.max;
    size_t k = 0;
    for (size_t s = 0; s < nsmp && !e && !all_in; s++) {
        for (; k < v[V_SLOC_OFF].p[s + 1]; k++) {
            uint64_t id = v[V_SLOC].p[k];
            if (EP_UNLIKELY(!idx_has(&li, id))) {
                e = fail_at(d, sample_pos(d, s), "sample %zu names missing location %llu", s,
                            (unsigned long long)id);
                break;
            }
        }
    }
    idx_free(&li);
    return e;
}

/* ---- pre-sizing ------------------------------------------------------------------------ */

/* A quick scan of the top-level fields (keys and lengths only, no errors:
 * rd_profile reports them) sizes the arrays up front, so the big ones are not
 * copied over and over as they grow, and the CSR offset arrays get their
 * leading 0. */
static int presize(dec *d, const uint8_t *p, const uint8_t *end, size_t stream_len) {
    size_t n[16] = {0};
    size_t bytes[16] = {0};
    n[2] = stream_len / 2; /* a message still arriving: bounds (a sample takes 2 bytes or more) */
    bytes[2] = stream_len;
    while (p < end) {
        uint64_t key = 0, x = 0;
        unsigned shift = 0;
        while (p < end && shift < 64) {
            uint8_t c = *p++;
            key |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
            if (c < 0x80) break;
        }
        unsigned wt = (unsigned)(key & 7);
        uint64_t f = key >> 3;
        if (wt == 0) {
            while (p < end && *p++ >= 0x80) {}
        } else if (wt == 1) {
            p += (end - p) < 8 ? (end - p) : 8;
        } else if (wt == 5) {
            p += (end - p) < 4 ? (end - p) : 4;
        } else if (wt == 2) {
            shift = 0;
            while (p < end && shift < 64) {
                uint8_t c = *p++;
                x |= (uint64_t)(c & 0x7f) << shift;
                shift += 7;
                if (c < 0x80) break;
            }
            if (x > (uint64_t)(end - p)) break;
            p += x;
            if (f < 16) bytes[f] += x;
        } else {
            break;
        }
        if (f < 16) n[f]++;
    }
    size_t ns = n[2], nt = n[1];
    vec *v = d->v;
    int e = 0;
    e = vec_reserve(&v[V_SLOC_OFF], ns + 1);
    if (!e) e = vec_reserve(&v[V_LAB_OFF], ns + 1);
    if (!e && nt && ns <= bytes[2]) e = vec_reserve(&v[V_VALUES], ns * nt);
    /* upper bounds where cheap (untouched reserved pages cost nothing), else guesses */
    if (!e) e = vec_reserve(&v[V_SLOC], bytes[2] / 2);
    for (int k = V_LK; k <= V_LU && !e; k++) e = vec_reserve(&v[k], bytes[2] / 24);
    if (!e) e = vec_reserve(&v[V_LINE_FN], 2 * n[4]);
    if (!e) e = vec_reserve(&v[V_LINE_LN], 2 * n[4]);
    for (int k = V_LOC_ID; k <= V_LOC_POS && !e; k++) e = vec_reserve(&v[k], n[4] + 1);
    for (int k = V_FN_ID; k <= V_FN_POS && !e; k++) e = vec_reserve(&v[k], n[5]);
    if (!e) e = vec_reserve(&v[V_STR_OFF], n[6]);
    if (!e) e = vec_reserve(&v[V_STR_LEN], n[6]);
    if (e) return e;
    /* CSR offsets start at 0 */
    PUSH(d, V_SLOC_OFF, 0);
    PUSH(d, V_LAB_OFF, 0);
    PUSH(d, V_LOC_LINE_OFF, 0);
    return 0;
}

/* ---- public -------------------------------------------------------------------------- */

static int take_u8(dec *d, int k, uint8_t **out) {
    vec *v = &d->v[k];
    uint8_t *p = malloc(v->n ? v->n : 1);
    if (!p) return ENOMEM;
    for (size_t i = 0; i < v->n; i++) p[i] = (uint8_t)v->p[i];
    *out = p;
    return 0;
}

/* Move a vec without copying (it is not used afterwards). */
static void *steal(dec *d, int k) {
    vec *v = &d->v[k];
    void *p = v->p;
    if (!p) p = malloc(8);
    v->p = NULL;
    v->n = v->cap = 0;
    return p;
}

void ep_pprof_free(ep_pprof *p) {
    void *arrs[] = {p->str_off, p->str_len, p->type_type, p->type_unit, p->values, p->sample_loc_off,
                    p->sample_loc_ids, p->sample_label_off, p->label_key, p->label_str, p->label_num,
                    p->label_unit, p->loc_id, p->loc_mapping, p->loc_address, p->loc_folded, p->loc_line_off,
                    p->line_function, p->line_line, p->fn_id, p->fn_name, p->fn_system_name, p->fn_filename,
                    p->fn_start_line, p->map_id, p->map_start, p->map_limit, p->map_offset, p->map_filename,
                    p->map_build_id, p->map_flags, p->comments};
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) free(arrs[i]);
    memset(p, 0, sizeof *p);
}

static void dec_free(dec *d) {
    for (int k = 0; k < V_COUNT; k++) free(d->v[k].p);
}

int ep_pprof_decode(const uint8_t *buf, size_t len, ep_pprof *out, ep_pprof_error *err) {
    return ep_pprof_decode_from(buf, len, NULL, out, err);
}

int ep_pprof_decode_from(const uint8_t *buf, size_t len, ep_pprof_stream *stream, ep_pprof *out,
                         ep_pprof_error *err) {
    dec d;
    memset(&d, 0, sizeof d);
    d.stream = stream;
    d.base = buf;
    d.end = buf + len;
    d.sloc_min = UINT64_MAX;
    d.err = err;
    if (err) {
        err->offset = 0;
        err->message[0] = 0;
    }
    int e = presize(&d, buf, stream ? buf : buf + len, stream ? len : 0);
    if (!e) e = rd_profile(&d, buf, buf + len);
    if (!e) e = check(&d);
    if (e) {
        if (e == ENOMEM && err) snprintf(err->message, sizeof err->message, "out of memory");
        dec_free(&d);
        return e;
    }
    ep_pprof p;
    memset(&p, 0, sizeof p);
    p.n_strings = d.v[V_STR_OFF].n;
    p.n_types = d.v[V_TYPE_T].n;
    p.n_samples = d.n_samples;
    p.n_sample_locs = d.v[V_SLOC].n;
    p.n_labels = d.v[V_LK].n;
    p.n_locations = d.v[V_LOC_ID].n;
    p.n_lines = d.v[V_LINE_FN].n;
    p.n_functions = d.v[V_FN_ID].n;
    p.n_mappings = d.v[V_MAP_ID].n;
    p.n_comments = d.v[V_COMMENT].n;
    if (take_u8(&d, V_LOC_FOLD, &p.loc_folded) || take_u8(&d, V_MAP_FLAGS, &p.map_flags)) {
        ep_pprof_free(&p);
        dec_free(&d);
        if (err) snprintf(err->message, sizeof err->message, "out of memory");
        return ENOMEM;
    }
    p.sample_loc_off = steal(&d, V_SLOC_OFF);
    p.sample_label_off = steal(&d, V_LAB_OFF);
    p.loc_line_off = steal(&d, V_LOC_LINE_OFF);
    p.str_off = steal(&d, V_STR_OFF);
    p.str_len = steal(&d, V_STR_LEN);
    p.type_type = steal(&d, V_TYPE_T);
    p.type_unit = steal(&d, V_TYPE_U);
    p.values = steal(&d, V_VALUES);
    p.sample_loc_ids = steal(&d, V_SLOC);
    p.label_key = steal(&d, V_LK);
    p.label_str = steal(&d, V_LS);
    p.label_num = steal(&d, V_LN);
    p.label_unit = steal(&d, V_LU);
    p.loc_id = steal(&d, V_LOC_ID);
    p.loc_mapping = steal(&d, V_LOC_MAP);
    p.loc_address = steal(&d, V_LOC_ADDR);
    p.line_function = steal(&d, V_LINE_FN);
    p.line_line = steal(&d, V_LINE_LN);
    p.fn_id = steal(&d, V_FN_ID);
    p.fn_name = steal(&d, V_FN_NAME);
    p.fn_system_name = steal(&d, V_FN_SYS);
    p.fn_filename = steal(&d, V_FN_FILE);
    p.fn_start_line = steal(&d, V_FN_START);
    p.map_id = steal(&d, V_MAP_ID);
    p.map_start = steal(&d, V_MAP_START);
    p.map_limit = steal(&d, V_MAP_LIMIT);
    p.map_offset = steal(&d, V_MAP_OFF);
    p.map_filename = steal(&d, V_MAP_FILE);
    p.map_build_id = steal(&d, V_MAP_BUILD);
    p.comments = steal(&d, V_COMMENT);
    void *must[] = {p.sample_loc_off, p.sample_label_off, p.loc_line_off, p.str_off, p.str_len, p.type_type, p.type_unit, p.values, p.sample_loc_ids, p.label_key,
                    p.label_str, p.label_num, p.label_unit, p.loc_id, p.loc_mapping, p.loc_address,
                    p.line_function, p.line_line, p.fn_id, p.fn_name, p.fn_system_name, p.fn_filename,
                    p.fn_start_line, p.map_id, p.map_start, p.map_limit, p.map_offset, p.map_filename,
                    p.map_build_id, p.comments};
    dec_free(&d);
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        if (!must[i]) {
            ep_pprof_free(&p);
            if (err) snprintf(err->message, sizeof err->message, "out of memory");
            return ENOMEM;
        }
    }
    p.drop_frames = d.scal[7];
    p.keep_frames = d.scal[8];
    p.time_nanos = d.scal[9];
    p.duration_nanos = d.scal[10];
    p.period = d.scal[12];
    p.default_sample_type = d.scal[14];
    p.has_period_type = d.has_period_type;
    p.period_type_type = d.pt_type;
    p.period_type_unit = d.pt_unit;
    *out = p;
    return 0;
}
