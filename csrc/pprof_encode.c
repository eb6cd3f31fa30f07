/* pprof_encode.c — profile.proto writer, and gzip/gunzip over zlib.
 *
 * The writer emits fields in the order Go's profile package does (sample
 * types, samples, mappings, locations, functions, string table, then the
 * scalars), omits zero-valued optional fields as proto3 does, and packs every
 * repeated integer.  Each sub-message's size is computed before it is written,
 * so the output is produced in one pass with no scratch copies; the buffer
 * grows geometrically.
 *
 * Invariant: the caller guarantees that every string index in the input is <
 * n_strings and that CSR offset arrays are non-decreasing and end at the
 * array lengths; ep_pprof_encode re-checks the offsets (cheap) and returns
 * EINVAL rather than read out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ep_common.h"
#include "ep_pprof.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
} obuf;

static int reserve(obuf *b, size_t extra) {
    if (b->cap - b->n >= extra) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < extra) {
        if (cap > SIZE_MAX / 2) return ENOMEM;
        cap *= 2;
    }
    uint8_t *np = realloc(b->p, cap);
    if (!np) return ENOMEM;
    b->p = np;
    b->cap = cap;
    return 0;
}

static inline size_t vsize(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline void put_varint(obuf *b, uint64_t v) {
    uint8_t *p = b->p + b->n;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->n = (size_t)(p - b->p);
}

/* all field numbers are < 16, so a key is one byte */
static inline void put_key(obuf *b, unsigned field, unsigned wt) { b->p[b->n++] = (uint8_t)(field << 3 | wt); }

/* optional int field: size and write (omitted when zero) */
static inline size_t opt_size(uint64_t v) { return v ? 1 + vsize(v) : 0; }
static inline void put_opt(obuf *b, unsigned field, uint64_t v) {
    if (v) {
        put_key(b, field, 0);
        put_varint(b, v);
    }
}

static inline size_t packed_body(const uint64_t *v, size_t n) {
    size_t s = 0;
    for (size_t i = 0; i < n; i++) s += vsize(v[i]);
    return s;
}

static inline size_t packed_size(const uint64_t *v, size_t n) {
    if (!n) return 0;
    size_t body = packed_body(v, n);
    return 1 + vsize(body) + body;
}

static inline void put_packed(obuf *b, unsigned field, const uint64_t *v, size_t n) {
    if (!n) return;
    put_key(b, field, 2);
    put_varint(b, packed_body(v, n));
    for (size_t i = 0; i < n; i++) put_varint(b, v[i]);
}

/* key + length prefix + body of a sub-message whose body is `body` bytes */
static inline size_t msg_size(size_t body) { return 1 + vsize(body) + body; }

static int put_msg_head(obuf *b, unsigned field, size_t body) {
    if (reserve(b, msg_size(body))) return ENOMEM;
    put_key(b, field, 2);
    put_varint(b, body);
    return 0;
}

static int check_csr(const int64_t *off, size_t rows, size_t total) {
    if (off[0] != 0 || (uint64_t)off[rows] != total) return EINVAL;
    for (size_t i = 0; i < rows; i++)
        if (off[i + 1] < off[i]) return EINVAL;
    return 0;
}

static int put_value_type(obuf *b, unsigned field, int64_t t, int64_t u) {
    size_t body = opt_size((uint64_t)t) + opt_size((uint64_t)u);
    if (put_msg_head(b, field, body)) return ENOMEM;
    put_opt(b, 1, (uint64_t)t);
    put_opt(b, 2, (uint64_t)u);
    return 0;
}

static int encode_body(const ep_pprof *p, const char *const *strs, const uint64_t *str_lens, obuf *b) {
    for (size_t i = 0; i < p->n_types; i++)
        if (put_value_type(b, 1, p->type_type[i], p->type_unit[i])) return ENOMEM;

    for (size_t s = 0; s < p->n_samples; s++) {
        const uint64_t *locs = p->sample_loc_ids + p->sample_loc_off[s];
        size_t nl = (size_t)(p->sample_loc_off[s + 1] - p->sample_loc_off[s]);
        const uint64_t *vals = (const uint64_t *)p->values + s * p->n_types;
        size_t body = packed_size(locs, nl) + packed_size(vals, p->n_types);
        for (int64_t j = p->sample_label_off[s]; j < p->sample_label_off[s + 1]; j++)
            body += msg_size(opt_size((uint64_t)p->label_key[j]) + opt_size((uint64_t)p->label_str[j]) +
                             opt_size((uint64_t)p->label_num[j]) + opt_size((uint64_t)p->label_unit[j]));
        if (put_msg_head(b, 2, body)) return ENOMEM;
        put_packed(b, 1, locs, nl);
        put_packed(b, 2, vals, p->n_types);
        for (int64_t j = p->sample_label_off[s]; j < p->sample_label_off[s + 1]; j++) {
            put_key(b, 3, 2);
            put_varint(b, opt_size((uint64_t)p->label_key[j]) + opt_size((uint64_t)p->label_str[j]) +
                              opt_size((uint64_t)p->label_num[j]) + opt_size((uint64_t)p->label_unit[j]));
            put_opt(b, 1, (uint64_t)p->label_key[j]);
            put_opt(b, 2, (uint64_t)p->label_str[j]);
            put_opt(b, 3, (uint64_t)p->label_num[j]);
            put_opt(b, 4, (uint64_t)p->label_unit[j]);
        }
    }

    for (size_t m = 0; m < p->n_mappings; m++) {
        uint8_t fl = p->map_flags[m];
        size_t body = opt_size(p->map_id[m]) + opt_size(p->map_start[m]) + opt_size(p->map_limit[m]) +
                      opt_size(p->map_offset[m]) + opt_size((uint64_t)p->map_filename[m]) +
                      opt_size((uint64_t)p->map_build_id[m]);
        for (unsigned bit = 0; bit < 4; bit++) body += (fl >> bit & 1) ? 2 : 0;
        if (put_msg_head(b, 3, body)) return ENOMEM;
        put_opt(b, 1, p->map_id[m]);
        put_opt(b, 2, p->map_start[m]);
        put_opt(b, 3, p->map_limit[m]);
        put_opt(b, 4, p->map_offset[m]);
        put_opt(b, 5, (uint64_t)p->map_filename[m]);
        put_opt(b, 6, (uint64_t)p->map_build_id[m]);
        for (unsigned bit = 0; bit < 4; bit++) put_opt(b, 7 + bit, fl >> bit & 1);
    }

    for (size_t l = 0; l < p->n_locations; l++) {
        size_t body = opt_size(p->loc_id[l]) + opt_size(p->loc_mapping[l]) + opt_size(p->loc_address[l]) +
                      opt_size(p->loc_folded[l] ? 1 : 0);
        for (int64_t j = p->loc_line_off[l]; j < p->loc_line_off[l + 1]; j++)
            body += msg_size(opt_size(p->line_function[j]) + opt_size((uint64_t)p->line_line[j]));
        if (put_msg_head(b, 4, body)) return ENOMEM;
        put_opt(b, 1, p->loc_id[l]);
        put_opt(b, 2, p->loc_mapping[l]);
        put_opt(b, 3, p->loc_address[l]);
        for (int64_t j = p->loc_line_off[l]; j < p->loc_line_off[l + 1]; j++) {
            put_key(b, 4, 2);
            put_varint(b, opt_size(p->line_function[j]) + opt_size((uint64_t)p->line_line[j]));
            put_opt(b, 1, p->line_function[j]);
            put_opt(b, 2, (uint64_t)p->line_line[j]);
        }
        put_opt(b, 5, p->loc_folded[l] ? 1 : 0);
    }

    for (size_t f = 0; f < p->n_functions; f++) {
        size_t body = opt_size(p->fn_id[f]) + opt_size((uint64_t)p->fn_name[f]) +
                      opt_size((uint64_t)p->fn_system_name[f]) + opt_size((uint64_t)p->fn_filename[f]) +
                      opt_size((uint64_t)p->fn_start_line[f]);
        if (put_msg_head(b, 5, body)) return ENOMEM;
        put_opt(b, 1, p->fn_id[f]);
        put_opt(b, 2, (uint64_t)p->fn_name[f]);
        put_opt(b, 3, (uint64_t)p->fn_system_name[f]);
        put_opt(b, 4, (uint64_t)p->fn_filename[f]);
        put_opt(b, 5, (uint64_t)p->fn_start_line[f]);
    }

    for (size_t i = 0; i < p->n_strings; i++) {
        if (put_msg_head(b, 6, str_lens[i])) return ENOMEM;
        if (str_lens[i]) memcpy(b->p + b->n, strs[i], str_lens[i]);
        b->n += str_lens[i];
    }

    if (reserve(b, 6 * 11)) return ENOMEM;
    put_opt(b, 7, (uint64_t)p->drop_frames);
    put_opt(b, 8, (uint64_t)p->keep_frames);
    put_opt(b, 9, (uint64_t)p->time_nanos);
    put_opt(b, 10, (uint64_t)p->duration_nanos);
    if (p->has_period_type && put_value_type(b, 11, p->period_type_type, p->period_type_unit)) return ENOMEM;
    if (reserve(b, 11 + packed_size((const uint64_t *)p->comments, p->n_comments) + 11)) return ENOMEM;
    put_opt(b, 12, (uint64_t)p->period);
    put_packed(b, 13, (const uint64_t *)p->comments, p->n_comments);
    put_opt(b, 14, (uint64_t)p->default_sample_type);
    return 0;
}

int ep_pprof_encode(const ep_pprof *p, const char *const *strs, const uint64_t *str_lens, uint8_t **out,
                    size_t *out_len) {
    if (check_csr(p->sample_loc_off, p->n_samples, p->n_sample_locs) ||
        check_csr(p->sample_label_off, p->n_samples, p->n_labels) ||
        check_csr(p->loc_line_off, p->n_locations, p->n_lines))
        return EINVAL;
    obuf b = {NULL, 0, 0};
    int e = reserve(&b, 4096);
    if (!e) e = encode_body(p, strs, str_lens, &b);
    if (e) {
        free(b.p);
        return e;
    }
    *out = b.p;
    *out_len = b.n;
    return 0;
}

/* ---- gzip ------------------------------------------------------------------------ */

#define EP_ZCHUNK ((size_t)1 << 30) /* zlib counts in uInt */

int ep_gzip(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return ENOMEM;
    obuf b = {NULL, 0, 0};
    size_t pos = 0;
    int zr = Z_OK;
    do {
        size_t chunk = len - pos < EP_ZCHUNK ? len - pos : EP_ZCHUNK;
        z.next_in = (Bytef *)(uintptr_t)(in + pos);
        z.avail_in = (uInt)chunk;
        pos += chunk;
        int flush = pos == len ? Z_FINISH : Z_NO_FLUSH;
        do {
            size_t want = deflateBound(&z, z.avail_in) + 64;
            if (want > EP_ZCHUNK) want = EP_ZCHUNK;
            if (reserve(&b, want)) {
                deflateEnd(&z);
                free(b.p);
                return ENOMEM;
            }
            z.next_out = b.p + b.n;
            z.avail_out = (uInt)(b.cap - b.n > EP_ZCHUNK ? EP_ZCHUNK : b.cap - b.n);
            uInt before = z.avail_out;
            zr = deflate(&z, flush);
            b.n += before - z.avail_out;
            if (zr == Z_STREAM_ERROR) {
                deflateEnd(&z);
                free(b.p);
                return EINVAL;
            }
        } while (z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    } while (pos < len);
    deflateEnd(&z);
    *out = b.p;
    *out_len = b.n;
    return 0;
}

static int gz_fail(ep_pprof_error *err, uint64_t off, const char *msg) {
    if (err) {
        err->offset = off;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return EINVAL;
}

/* Grow `b` to exactly `cap` bytes (cap > b->cap). */
static int grow_to(obuf *b, size_t cap) {
    uint8_t *np = realloc(b->p, cap);
    if (!np) return ENOMEM;
    b->p = np;
    b->cap = cap;
    return 0;
}

int ep_gunzip(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
              ep_pprof_error *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return ENOMEM;
    obuf b = {NULL, 0, 0};
    size_t pos = 0; /* compressed bytes consumed, over all members */
    int e = 0;
    /* The buffer never holds more than max_out + 1 bytes: one byte past the
     * cap is how a bomb is recognised, whatever its header claims. */
    size_t hard = max_out < SIZE_MAX - 1 ? max_out + 1 : SIZE_MAX;
    size_t first = len < (SIZE_MAX - 4096) / 4 ? len * 4 + 4096 : SIZE_MAX;
    if (grow_to(&b, first < hard ? first : hard)) {
        inflateEnd(&z);
        return ENOMEM;
    }
    for (;;) {
        size_t chunk = len - pos < EP_ZCHUNK ? len - pos : EP_ZCHUNK;
        z.next_in = (Bytef *)(uintptr_t)(in + pos);
        z.avail_in = (uInt)chunk;
        if (b.cap - b.n < 65536 && b.cap < hard) {
            size_t nc = b.cap > SIZE_MAX / 2 ? SIZE_MAX : b.cap * 2;
            if (grow_to(&b, nc < hard ? nc : hard)) {
                e = ENOMEM;
                break;
            }
        }
        z.next_out = b.p + b.n;
        z.avail_out = (uInt)(b.cap - b.n > EP_ZCHUNK ? EP_ZCHUNK : b.cap - b.n);
        uInt ob = z.avail_out;
        int zr = inflate(&z, Z_NO_FLUSH);
        b.n += ob - z.avail_out;
        pos += chunk - z.avail_in;
        if (b.n > max_out) { /* refused the moment the cap is passed */
            char msg[120];
            snprintf(msg, sizeof msg, "gzip data inflates to more than %zu bytes", max_out);
            e = gz_fail(err, pos, msg);
            break;
        }
        if (zr == Z_STREAM_END) {
            if (pos == len) break;
            /* another gzip member, or trailing zero padding (which gzip tolerates) */
            if (len - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
                inflateReset(&z);
                continue;
            }
            size_t k = pos;
            while (k < len && in[k] == 0) k++;
            if (k == len) break;
            e = gz_fail(err, pos, "trailing garbage after gzip data");
            break;
        }
        if (zr == Z_OK) continue;
        if (zr == Z_BUF_ERROR && pos == len) {
            e = gz_fail(err, len, "truncated gzip data");
            break;
        }
        if (zr == Z_BUF_ERROR) continue; /* out of output space: grown above */
        if (zr == Z_MEM_ERROR) {
            e = ENOMEM;
            break;
        }
        char msg[120];
        snprintf(msg, sizeof msg, "bad gzip data (%s)", z.msg ? z.msg : "corrupt stream");
        e = gz_fail(err, pos, msg);
        break;
    }
    inflateEnd(&z);
    if (e) {
        free(b.p);
        return e;
    }
    *out = b.p;
    *out_len = b.n;
    return 0;
}
