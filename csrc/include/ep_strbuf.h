/* ep_strbuf.h — growable string builder and a pool of builders.
 *
 * data is always NUL-terminated (one byte beyond cap is allocated for it), so
 * a builder's contents can be handed to C string functions.  Growth doubles
 * through ep_realloc, so B/op counts every growth like a Go slice append.
 *
 * The builder pool is an ep_pool of ep_strbuf structs: init allocates the
 * initial capacity, reset empties the builder and, when it grew beyond
 * max_retained_cap, shrinks it back to initial_cap so a pool never retains
 * one huge builder (the rule Go's fmt and strings.Builder pools follow).
 * The pool's stats count builder structs: retained_bytes is
 * sizeof(ep_strbuf) per retained builder, not the text capacity behind it.
 */
#ifndef EP_STRBUF_H
#define EP_STRBUF_H

#include "ep_pool.h"

typedef struct ep_strbuf {
    char *data;
    size_t len, cap;
} ep_strbuf;

int ep_strbuf_init(ep_strbuf *sb, size_t cap);   /* ENOMEM */
void ep_strbuf_free(ep_strbuf *sb);
int ep_strbuf_append(ep_strbuf *sb, const char *s, size_t n); /* ENOMEM, EOVERFLOW; sb untouched on failure */
int ep_strbuf_append_cstr(ep_strbuf *sb, const char *s);
void ep_strbuf_reset(ep_strbuf *sb);             /* len = 0, capacity kept */

typedef struct ep_strbuf_pool ep_strbuf_pool;
/* EINVAL when max_retained_cap < initial_cap (0 = no shrink). */
int ep_strbuf_pool_create(size_t initial_cap, size_t max_retained_cap, ep_strbuf_pool **out);

/* Full configuration.  clear_on_put zeroes a builder's text (len bytes) when
 * it is put back, timed into the stats' clear_ns; the builder struct itself
 * is never cleared (it owns the text).  max_objects caps retained builders. */
typedef struct ep_strbuf_pool_config {
    const char *name;        /* NULL = "strbuf" */
    size_t initial_cap;
    size_t max_retained_cap; /* 0 = never shrink */
    size_t max_objects;      /* 0 = unlimited */
    int clear_on_put;
} ep_strbuf_pool_config;
int ep_strbuf_pool_create_cfg(const ep_strbuf_pool_config *cfg, ep_strbuf_pool **out);
int ep_strbuf_pool_bypassed(const ep_strbuf_pool *sp);
void ep_strbuf_pool_destroy(ep_strbuf_pool *sp);
ep_strbuf *ep_strbuf_pool_get(ep_strbuf_pool *sp); /* empty builder, NULL on ENOMEM */
void ep_strbuf_pool_put(ep_strbuf_pool *sp, ep_strbuf *sb);
int ep_strbuf_pool_put_checked(ep_strbuf_pool *sp, ep_strbuf *sb);
void ep_strbuf_pool_trim(ep_strbuf_pool *sp);
void ep_strbuf_pool_stats_read(const ep_strbuf_pool *sp, ep_pool_stats *out);

#endif
