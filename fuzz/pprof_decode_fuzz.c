/* pprof_decode_fuzz.c — libFuzzer target for the C pprof decoder.
 *
 * Built by fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined over
 * csrc/pprof_decode.c and csrc/pprof_encode.c (zlib for gzip), so coverage
 * is the decoder's own edges, not the Python layer's.  Each input takes the
 * path enginepools._core.pprof_decode takes: gzip'd input (1f 8b) is inflated
 * under a cap (64 MiB here, as ENGINEPOOLS_MAX_INFLATED would set), then
 * decoded.  Properties: no sanitizer report, the result is 0, EINVAL (with a
 * NUL-terminated message and an offset inside the input) or ENOMEM; a decoded
 * profile's arrays agree with its counts (checked by reading every element,
 * which ASan bounds-checks); a successful decode of the same bytes is
 * repeatable (decode twice, same counts); decoding the same bytes through
 * the stream of csrc/pprof_stream.c (fed before it is read) gives the same
 * verdict, error and tables.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ep_pprof.h"

#define CAP ((size_t)64 << 20)

static void die(const char *why) {
    (void)why;
    __builtin_trap();
}

static uint64_t touch(const ep_pprof *p) {
    uint64_t h = 0;
    for (size_t i = 0; i < p->n_strings; i++) h += p->str_off[i] + p->str_len[i];
    for (size_t i = 0; i < p->n_samples * p->n_types; i++) h += (uint64_t)p->values[i];
    if (p->n_samples) {
        if (p->sample_loc_off[p->n_samples] != (int64_t)p->n_sample_locs) die("sample_loc_off");
        if (p->sample_label_off[p->n_samples] != (int64_t)p->n_labels) die("sample_label_off");
    }
    for (size_t i = 0; i < p->n_sample_locs; i++) h += p->sample_loc_ids[i];
    for (size_t i = 0; i < p->n_labels; i++) h += (uint64_t)(p->label_key[i] + p->label_str[i] + p->label_num[i]);
    for (size_t i = 0; i < p->n_locations; i++) h += p->loc_id[i] + p->loc_address[i] + p->loc_folded[i];
    if (p->n_locations && p->loc_line_off[p->n_locations] != (int64_t)p->n_lines) die("loc_line_off");
    for (size_t i = 0; i < p->n_lines; i++) h += p->line_function[i] + (uint64_t)p->line_line[i];
    for (size_t i = 0; i < p->n_functions; i++) h += p->fn_id[i] + (uint64_t)p->fn_name[i];
    for (size_t i = 0; i < p->n_mappings; i++) h += p->map_id[i] + p->map_start[i] + p->map_flags[i];
    for (size_t i = 0; i < p->n_comments; i++) h += (uint64_t)p->comments[i];
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *raw = data;
    size_t len = size;
    uint8_t *unz = NULL;
    ep_pprof_error err;
    memset(&err, 0, sizeof err);
    if (len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        int e = ep_gunzip(raw, len, CAP, &unz, &len, &err);
        if (e == EINVAL) {
            if (!memchr(err.message, 0, sizeof err.message) || err.offset > size) die("gzip error");
            return 0;
        }
        if (e) return 0; /* ENOMEM */
        if (len > CAP) die("cap passed");
        raw = unz;
    }
    ep_pprof a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    int e1 = ep_pprof_decode(raw, len, &a, &err);
    if (e1 == EINVAL && (!memchr(err.message, 0, sizeof err.message) || err.offset > len)) die("decode error");
    if (e1 != 0 && e1 != EINVAL && e1 != ENOMEM) die("unexpected error code");
    if (e1 == 0) {
        uint64_t h1 = touch(&a);
        int e2 = ep_pprof_decode(raw, len, &b, &err);
        if (e2 != 0 || touch(&b) != h1 || a.n_samples != b.n_samples || a.n_strings != b.n_strings)
            die("decode not repeatable");
        ep_pprof_free(&b);
    }
    /* the same bytes through the stream (csrc/pprof_stream.c), fed in three
     * pieces before decoding: the same verdict, error and tables */
    ep_pprof_stream *s = ep_pprof_stream_new(len);
    if (s) {
        ep_pprof_error err3;
        memset(&err3, 0, sizeof err3);
        size_t third = len / 3;
        if (ep_pprof_stream_write(s, raw, third) || ep_pprof_stream_write(s, raw + third, third) ||
            ep_pprof_stream_write(s, raw + 2 * third, len - 2 * third))
            die("stream write");
        ep_pprof_stream_end(s, 1);
        memset(&b, 0, sizeof b);
        int e3 = ep_pprof_stream_decode(s, &b, &err3);
        if (e3 != ENOMEM && e1 != ENOMEM) {
            if (e3 != e1) die("stream verdict differs");
            if (e1 == EINVAL && (err3.offset != err.offset || strcmp(err3.message, err.message))) die("stream error");
            if (e1 == 0 && (touch(&b) != touch(&a) || a.n_samples != b.n_samples)) die("stream tables differ");
        }
        if (e3 == 0) ep_pprof_free(&b);
        ep_pprof_stream_free(s);
    }
    ep_pprof_free(&a);
    free(unz);
    return 0;
}
