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

/* The call graph's group-bys (csrc/pprof_graph.c).
 *
 * ep_group_stacks: exact group-by of the n segments rows[off[i]:off[i+1]]:
 * gid[i] (caller-allocated, n) numbered by first occurrence, *first (malloc'd,
 * *n_groups) the first segment of each group.  0 or ENOMEM.
 *
 * ep_graph_cum: per node, the weight w[stack] (dw[stack]) added once per stack
 * the node appears in; slots are (node, stack) with stacks contiguous.
 * `seen` is scratch of n_nodes.
 *
 * ep_graph_edges: the edges between consecutive kept slots of one stack
 * (keep NULL: every node kept), each counted once per stack with the flags of
 * its first occurrence there; *out holds them in no particular order (free
 * with ep_graph_edges_free).  0 or ENOMEM. */
typedef struct {
    size_t n;
    int64_t *caller, *callee, *w, *dw;
    uint8_t *residual, *inline_;
} ep_graph_edge_list;

int ep_group_stacks(const int64_t *off, const int32_t *rows, size_t n, int64_t *gid, int64_t **first,
                    size_t *n_groups);
void ep_graph_cum(const int32_t *node, const int32_t *stack, size_t n_slots, const int64_t *w, const int64_t *dw,
                  size_t n_nodes, int64_t *cum, int64_t *cum_div, int32_t *seen);
int ep_graph_edges(const int32_t *node, const int32_t *stack, const uint8_t *inline_, size_t n_slots,
                   const uint8_t *keep, const int64_t *w, const int64_t *dw, size_t n_nodes, ep_graph_edge_list *out);
void ep_graph_edges_free(ep_graph_edge_list *e);

/* ep_graph_layout: the slots of n_stacks stacks (stack i: lens[i] location
 * numbers of `rows`, root first; location r's slots are slot_off[r] ..
 * slot_off[r+1] of slot_info/slot_inline): node, inline flag and stack per
 * slot, and the slot count per stack.  Indices must be in range (the seam
 * checks).  0 or ENOMEM; free with ep_graph_slots_free. */
typedef struct {
    size_t n;
    int32_t *node, *stack;
    uint8_t *inline_;
    int64_t *per_stack;
} ep_graph_slots;

int ep_graph_layout(const int64_t *slot_off, const int32_t *slot_info, const uint8_t *slot_inline, const int64_t *lens,
                    size_t n_stacks, const int32_t *rows, ep_graph_slots *out);
void ep_graph_slots_free(ep_graph_slots *s);

/* Decoding while the message arrives (csrc/pprof_stream.c): a buffer of
 * `size` bytes that one thread fills (write, then end: ok when it came out
 * whole) while another decodes it (ep_pprof_stream_decode: as
 * ep_pprof_decode, waiting for the bytes it needs; ECANCELED when the stream
 * failed or came out another size — then inflate-then-parse tells the error).
 * ep_pprof_decode_from is ep_pprof_decode over such a buffer (stream NULL:
 * a plain one); ep_pprof_stream_ready makes the top-level field at p there. */
typedef struct ep_pprof_stream ep_pprof_stream;
ep_pprof_stream *ep_pprof_stream_new(size_t size);
void ep_pprof_stream_free(ep_pprof_stream *s);
const uint8_t *ep_pprof_stream_buf(const ep_pprof_stream *s, size_t *size);
int ep_pprof_stream_write(ep_pprof_stream *s, const void *p, size_t n);
void ep_pprof_stream_end(ep_pprof_stream *s, int ok);
size_t ep_pprof_stream_wait(ep_pprof_stream *s, size_t need);
int ep_pprof_stream_ready(ep_pprof_stream *s, const uint8_t *p, const uint8_t *end, size_t *have);
int ep_pprof_stream_decode(ep_pprof_stream *s, ep_pprof *out, ep_pprof_error *err);
int ep_pprof_decode_from(const uint8_t *buf, size_t len, ep_pprof_stream *stream, ep_pprof *out,
                         ep_pprof_error *err);

#endif
