/* benchtext.c — Go benchmark text scanner (see ep_benchtext.h).
 *
 * One pass over the buffer, line by line.  A line is classified by its first
 * bytes, as enginepools/bench/benchfmt.py classifies it: "Benchmark" not
 * followed by a lower-case letter is a result line, a lower-case first
 * letter may be a configuration line, anything else is ignored.  A result
 * line is split on ASCII whitespace (space, \t, \x1f — the others end the
 * line); names and units are interned in two open-addressing hash tables
 * keyed by their bytes, so the caller makes one Python string per distinct
 * name or unit, not one per line.  Numbers are read only when their syntax
 * is plain decimal (what strtod and Python's float() agree on, rounding
 * included); every doubt sends the line to the caller, whose rules are the
 * reference — so this file never decides an error message.
 *
 * Memory: the arrays grow by doubling; nothing is kept per line beyond the
 * arrays, and nothing points into the buffer but offsets.
 */
#include "ep_benchtext.h"
#include "ep_arrays.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t *slot; /* -1 empty, else an index into the string table */
    size_t cap;    /* power of two */
} ep_intern;

static int bt_grow(void **p, size_t *cap, size_t need, size_t elem) { return ep_grow_array(p, cap, need, elem, 1024); }

/* Grow several parallel arrays sharing one capacity counter. */
static int bt_grow3(void **a, void **b, void **c, size_t *cap, size_t need, size_t ea, size_t eb, size_t ec) {
    if (need <= *cap) return 0;
    size_t ca = *cap, cb = *cap, cc = *cap;
    if (bt_grow(a, &ca, need, ea) || bt_grow(b, &cb, need, eb) || (c && bt_grow(c, &cc, need, ec)))
        return ENOMEM;
    *cap = ca;
    return 0;
}

static uint64_t bt_hash(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static int bt_rehash(ep_intern *t, const uint8_t *buf, const int64_t *off, const int64_t *len, size_t count) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    int32_t *slot = malloc(cap * sizeof *slot);
    if (!slot) return ENOMEM;
    memset(slot, 0xff, cap * sizeof *slot);
    for (size_t i = 0; i < count; i++) {
        size_t k = (size_t)bt_hash(buf + off[i], (size_t)len[i]) & (cap - 1);
        while (slot[k] >= 0) k = (k + 1) & (cap - 1);
        slot[k] = (int32_t)i;
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return 0;
}

/* The id of buf[o, o+n) in the table (off/len/count), added if new. */
static int bt_intern(ep_intern *t, const uint8_t *buf, size_t o, size_t n, int64_t **off, int64_t **len,
                     size_t *count, size_t *cap, int32_t *id) {
    if ((*count + 1) * 2 > t->cap && bt_rehash(t, buf, *off, *len, *count)) return ENOMEM;
    size_t k = (size_t)bt_hash(buf + o, n) & (t->cap - 1);
    for (; t->slot[k] >= 0; k = (k + 1) & (t->cap - 1)) {
        int32_t s = t->slot[k];
        if ((size_t)(*len)[s] == n && memcmp(buf + (*off)[s], buf + o, n) == 0) {
            *id = s;
            return 0;
        }
    }
    if (bt_grow3((void **)off, (void **)len, NULL, cap, *count + 1, sizeof **off, sizeof **len, 0)) return ENOMEM;
    (*off)[*count] = (int64_t)o;
    (*len)[*count] = (int64_t)n;
    t->slot[k] = (int32_t)*count;
    *id = (int32_t)(*count)++;
    return 0;
}

static int bt_is_break(uint8_t c) {
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e;
}

static int bt_is_space(uint8_t c) { return c == ' ' || c == '\t' || c == 0x1f; }

/* A plain decimal — [+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)? — read to the
 * correctly rounded double, as Python's float() reads it.  Clinger's fast
 * path when the digits fit 2^53 and the power of ten is exact (|e| <= 22):
 * one correctly rounded multiply or divide of two exact doubles; strtod
 * otherwise.  0 if the text is not a plain decimal or |value| > 1e300. */
static const double bt_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int bt_number(const uint8_t *s, size_t n, double *out) {
    size_t i = 0, digits = 0, sig = 0;
    int neg = 0, frac = 0;
    uint64_t m = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    for (int part = 0; part < 2; part++) {
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (m || s[i] != '0') sig++;
            if (sig <= 19) m = m * 10 + (uint64_t)(s[i] - '0');
            frac += part;
        }
        if (part == 0) {
            if (i < n && s[i] == '.') i++;
            else break;
        }
    }
    if (!digits) return 0;
    long e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t ed = 0;
        int eneg = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++)
            if (e < 100000) e = e * 10 + (s[i] - '0');
        if (!ed) return 0;
        if (eneg) e = -e;
    }
    if (i != n) return 0;
    double v;
    long p = e - frac;
    if (sig <= 15 && m < ((uint64_t)1 << 53) && p >= -22 && p <= 22) {
        v = p >= 0 ? (double)m * bt_pow10[p] : (double)m / bt_pow10[-p];
        if (neg) v = -v;
    } else {
        char tmp[80];
        if (n >= sizeof tmp) return 0;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        char *end;
        v = strtod(tmp, &end);
        if (end != tmp + n) return 0;
    }
    if (!(fabs(v) <= 1e300)) return 0;
    *out = v;
    return 1;
}

static int bt_iters(const uint8_t *s, size_t n, int64_t *out) {
    if (n == 0 || n > 18) return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

typedef struct {
    ep_benchtext *t;
    const uint8_t *buf;
    ep_intern names, units;
} bt_state;

static int bt_other(ep_benchtext *t, int64_t line, size_t off, size_t len) {
    if (bt_grow3((void **)&t->other_line, (void **)&t->other_off, (void **)&t->other_len, &t->other_cap,
                 t->n_other + 1, sizeof(int64_t), sizeof(int64_t), sizeof(int64_t)))
        return ENOMEM;
    t->other_line[t->n_other] = line;
    t->other_off[t->n_other] = (int64_t)off;
    t->other_len[t->n_other] = (int64_t)len;
    t->n_other++;
    return 0;
}

/* A result line [s, e): taken into the arrays, or left to the caller. */
static int bt_result(bt_state *st, int64_t line, size_t s, size_t e, int ascii) {
    ep_benchtext *t = st->t;
    const uint8_t *b = st->buf;
    if (!ascii) return bt_other(t, line, s, e - s);
    size_t fs[2], fl[2];
    size_t i = s, nf = 0;
    /* the name and the iteration count */
    while (nf < 2) {
        while (i < e && bt_is_space(b[i])) i++;
        if (i == e) break;
        size_t f = i;
        while (i < e && !bt_is_space(b[i])) i++;
        fs[nf] = f;
        fl[nf++] = i - f;
    }
    if (nf == 1) return 0; /* "BenchmarkX" alone: go test -v announcing it */
    int64_t iters;
    if (nf < 2 || !bt_iters(b + fs[1], fl[1], &iters)) return bt_other(t, line, s, e - s);
    size_t v0 = t->nv;
    for (;;) {
        while (i < e && bt_is_space(b[i])) i++;
        if (i == e) break;
        size_t vs = i;
        while (i < e && !bt_is_space(b[i])) i++;
        size_t vl = i - vs;
        while (i < e && bt_is_space(b[i])) i++;
        size_t us = i;
        while (i < e && !bt_is_space(b[i])) i++;
        double v;
        if (us == i || !bt_number(b + vs, vl, &v)) {
            t->nv = v0;
            return bt_other(t, line, s, e - s);
        }
        int32_t uid;
        if (bt_grow3((void **)&t->val, (void **)&t->unit, NULL, &t->nv_cap, t->nv + 1, sizeof(double),
                     sizeof(int32_t), 0) ||
            bt_intern(&st->units, b, us, i - us, &t->unit_off, &t->unit_len, &t->n_units, &t->units_cap, &uid))
            return ENOMEM;
        t->val[t->nv] = v;
        t->unit[t->nv++] = uid;
    }
    if (t->nv == v0) return bt_other(t, line, s, e - s); /* no measurements: the caller's error */
    int32_t nid;
    if (bt_intern(&st->names, b, fs[0], fl[0], &t->name_off, &t->name_len, &t->n_names, &t->names_cap, &nid))
        return ENOMEM;
    if (t->n + 1 > t->n_cap) {
        size_t c1 = t->n_cap, c2 = t->n_cap, c3 = t->n_cap, c4 = t->n_cap;
        if (bt_grow((void **)&t->line, &c1, t->n + 1, sizeof(int64_t)) ||
            bt_grow((void **)&t->name, &c2, t->n + 1, sizeof(int32_t)) ||
            bt_grow((void **)&t->iters, &c3, t->n + 1, sizeof(int64_t)) ||
            bt_grow((void **)&t->vend, &c4, t->n + 1, sizeof(int64_t)))
            return ENOMEM;
        t->n_cap = c1;
    }
    t->line[t->n] = line;
    t->name[t->n] = nid;
    t->iters[t->n] = iters;
    t->vend[t->n++] = (int64_t)t->nv;
    return 0;
}

static int bt_line(bt_state *st, int64_t line, size_t s, size_t e, int ascii) {
    const uint8_t *b = st->buf;
    size_t n = e - s;
    if (n >= 9 && memcmp(b + s, "Benchmark", 9) == 0 && (n == 9 || b[s + 9] < 'a' || b[s + 9] > 'z'))
        return bt_result(st, line, s, e, ascii);
    if (n && b[s] >= 'a' && b[s] <= 'z') return bt_other(st->t, line, s, n);
    return 0;
}

int ep_benchtext_scan(const uint8_t *buf, size_t len, ep_benchtext *out) {
    memset(out, 0, sizeof *out);
    bt_state st = {out, buf, {NULL, 0}, {NULL, 0}};
    int err = 0;
    int64_t line = 0;
    size_t i = 0;
    while (i < len && !err) {
        size_t s = i;
        int ascii = 1;
        while (i < len && !bt_is_break(buf[i])) {
            if (buf[i] >= 0x80) {
                ascii = 0;
                /* U+0085 (C2 85), U+2028/9 (E2 80 A8/A9) end a line for str.splitlines() */
                if ((buf[i] == 0xC2 && i + 1 < len && buf[i + 1] == 0x85) ||
                    (buf[i] == 0xE2 && i + 2 < len && buf[i + 1] == 0x80 && (buf[i + 2] == 0xA8 || buf[i + 2] == 0xA9)))
                    err = EILSEQ;
            }
            i++;
        }
        if (!ascii) out->non_ascii = 1;
        if (err) break;
        err = bt_line(&st, ++line, s, i, ascii);
        if (i < len) i += (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') ? 2 : 1;
    }
    free(st.names.slot);
    free(st.units.slot);
    if (err) ep_benchtext_free(out);
    return err;
}

void ep_benchtext_free(ep_benchtext *t) {
    EP_FREE_ALL(t->line, t->name, t->iters, t->vend, t->val, t->unit, t->name_off, t->name_len, t->unit_off,
                t->unit_len, t->other_line, t->other_off, t->other_len);
    memset(t, 0, sizeof *t);
}
