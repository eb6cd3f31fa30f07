/* ep_pprof.h — pprof profile.proto codec.
 *
 * ep_pprof is one decoded profile as flat parallel arrays ("struct of
 * arrays"), the same layout enginepools.Profile exposes as numpy arrays:
 * per-table rows, with variable-length parts (a sample's locations and
 * labels, a location's lines) as CSR offsets into one array.  String fields
 * hold indices into the string table, which itself is (offset, length) pairs
 * into the decoded message buffer — decoding copies no string bytes, so the
 * buffer must outlive the ep_pprof.
 *
 * Decoding validates what go tool pprof validates (string indices in range,
 * ids unique and non-zero, samples naming existing locations, lines naming
 * existing functions, one value per sample type) and skips unknown fields.
 * On failure it returns EINVAL (ENOMEM when out of memory), fills an
 * ep_pprof_error with a message and the byte offset, and leaves `out` empty.
 */
#ifndef EP_PPROF_H
#define EP_PPROF_H

#include <stddef.h>
#include <stdint.h>

/* mapping flag bits */
#define EP_PPROF_HAS_FUNCTIONS 1u
#define EP_PPROF_HAS_FILENAMES 2u
#define EP_PPROF_HAS_LINE_NUMBERS 4u
#define EP_PPROF_HAS_INLINE_FRAMES 8u

typedef struct {
    /* string table: string i is bytes [str_off[i], str_off[i] + str_len[i]) of the message */
    size_t n_strings;
    uint64_t *str_off;
    uint64_t *str_len;

    size_t n_types;
    int64_t *type_type, *type_unit; /* string indices */

    size_t n_samples;
    int64_t *values;         /* [n_samples * n_types], row-major */
    int64_t *sample_loc_off; /* [n_samples + 1] into sample_loc_ids */
    uint64_t *sample_loc_ids;
    size_t n_sample_locs;
    int64_t *sample_label_off; /* [n_samples + 1] into label_* */
    size_t n_labels;
    int64_t *label_key, *label_str, *label_num, *label_unit;

    size_t n_locations;
    uint64_t *loc_id, *loc_mapping, *loc_address;
    uint8_t *loc_folded;
    int64_t *loc_line_off; /* [n_locations + 1] into line_* */
    size_t n_lines;
    uint64_t *line_function;
    int64_t *line_line;

    size_t n_functions;
    uint64_t *fn_id;
    int64_t *fn_name, *fn_system_name, *fn_filename, *fn_start_line;

    size_t n_mappings;
    uint64_t *map_id, *map_start, *map_limit, *map_offset;
    int64_t *map_filename, *map_build_id;
    uint8_t *map_flags;

    int64_t drop_frames, keep_frames; /* string indices */
    int64_t time_nanos, duration_nanos, period;
    int has_period_type;
    int64_t period_type_type, period_type_unit; /* string indices */
    size_t n_comments;
    int64_t *comments; /* string indices */
    int64_t default_sample_type; /* string index */
} ep_pprof;

typedef struct {
    uint64_t offset; /* byte offset of the problem in the (uncompressed) message */
    char message[160];
} ep_pprof_error;

/* Decode an uncompressed profile.proto message.  0, EINVAL (err filled) or ENOMEM. */
int ep_pprof_decode(const uint8_t *buf, size_t len, ep_pprof *out, ep_pprof_error *err);

/* Free every array of `p` (not the message buffer) and zero it. */
void ep_pprof_free(ep_pprof *p);

/* Encode `p` as profile.proto.  Strings come from `strs[i]` / `str_lens[i]`
 * (n_strings of them; the message is not needed).  The caller must make sure
 * every string index in `p` is < n_strings.  On success *out is a malloc'd
 * buffer of *out_len bytes (caller frees).  0, EINVAL or ENOMEM. */
int ep_pprof_encode(const ep_pprof *p, const char *const *strs, const uint64_t *str_lens,
                    uint8_t **out, size_t *out_len);

/* gzip (level 1–9) / gunzip (gzip or zlib, several members allowed).  On
 * success *out is malloc'd (caller frees).  ep_gunzip: EINVAL with err filled
 * (offset into the compressed input) on bad or truncated data, or as soon as
 * the output passes `max_out` bytes (memory stays under max_out + 1). */
int ep_gzip(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *out_len);
int ep_gunzip(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
              ep_pprof_error *err);

#endif
