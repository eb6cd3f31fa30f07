/* strbuf.c — ep_strbuf (growable string builder) and a pool of them.
 *
 * Invariants: cap bytes of content plus one byte for the terminating NUL are
 * allocated (data may be NULL only with cap 0, after an allocation failure);
 * data[len] == 0 whenever data != NULL.  Growth at least doubles, through
 * ep_realloc, so appends are amortised O(1) and B/op sees every growth.
 *
 * The pool keeps whole ep_strbuf structs in an ep_pool: init gives a new one
 * its initial capacity, reset empties it and shrinks one that grew past
 * max_retained_cap (so one huge string does not stay pinned by the pool),
 * fini frees its data.  clear_on_put zeroes the text in reset (the struct
 * must not be cleared: it owns the text), timed into the pool's clear_ns.
 */
#include "ep_pool_internal.h"

#include <string.h>

int ep_strbuf_init(ep_strbuf *sb, size_t cap) {
    if (!sb || cap >= SIZE_MAX / 2) return EINVAL;
    char *d = ep_alloc(cap + 1);
    if (!d) return ENOMEM;
    d[0] = 0;
    sb->data = d;
    sb->len = 0;
    sb->cap = cap;
    return 0;
}

void ep_strbuf_free(ep_strbuf *sb) {
    if (!sb) return;
    if (sb->data) ep_free(sb->data, sb->cap + 1);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

int ep_strbuf_append(ep_strbuf *sb, const char *s, size_t n) {
    if (!sb || (!s && n)) return EINVAL;
    if (n > SIZE_MAX / 2 - 1 - sb->len) return EOVERFLOW;
    size_t need = sb->len + n;
    if (need > sb->cap || !sb->data) {
        size_t ncap = sb->cap ? sb->cap * 2 : 16;
        if (ncap < need) ncap = need;
        char *d = ep_realloc(sb->data, sb->data ? sb->cap + 1 : 0, ncap + 1);
        if (!d) return ENOMEM;
        sb->data = d;
        sb->cap = ncap;
    }
    if (n) memcpy(sb->data + sb->len, s, n);
    sb->len = need;
    sb->data[need] = 0;
    return 0;
}

int ep_strbuf_append_cstr(ep_strbuf *sb, const char *s) {
    if (!s) return EINVAL;
    return ep_strbuf_append(sb, s, strlen(s));
}

void ep_strbuf_reset(ep_strbuf *sb) {
    sb->len = 0;
    if (sb->data) sb->data[0] = 0;
}

/* ---- pool of builders --------------------------------------------------- */

struct ep_strbuf_pool {
    ep_pool *pool;
    size_t initial_cap;
    size_t max_retained_cap; /* 0 = never shrink */
    int clear_on_put;
    /* clearing happens in reset, outside ep_pool's own clear timer; a relaxed
     * add on the (already slow) clearing path is cheap next to the memset */
    _Atomic uint64_t clear_ns;
};

static int sb_init(void *obj, void *ctx) {
    ep_strbuf_pool *sp = ctx;
    return ep_strbuf_init(obj, sp->initial_cap);
}

static void sb_reset(void *obj, void *ctx) {
    ep_strbuf_pool *sp = ctx;
    ep_strbuf *sb = obj;
    if (sp->clear_on_put && sb->data && sb->len) {
        uint64_t t0 = ep_now_ns();
        memset(sb->data, 0, sb->len);
        atomic_fetch_add_explicit(&sp->clear_ns, ep_now_ns() - t0, memory_order_relaxed);
    }
    if (sp->max_retained_cap && sb->cap > sp->max_retained_cap) {
        ep_strbuf_free(sb);
        /* on ENOMEM the builder stays empty (data NULL, cap 0): append copes */
        (void)ep_strbuf_init(sb, sp->initial_cap);
    } else {
        ep_strbuf_reset(sb);
    }
}

static void sb_fini(void *obj, void *ctx) {
    EP_UNUSED(ctx);
    ep_strbuf_free(obj);
}

int ep_strbuf_pool_create_cfg(const ep_strbuf_pool_config *c, ep_strbuf_pool **out) {
    if (!c || !out || c->initial_cap >= SIZE_MAX / 2) return EINVAL;
    if (c->max_retained_cap && c->max_retained_cap < c->initial_cap) return EINVAL;
    ep_strbuf_pool *sp = ep_alloc(sizeof *sp);
    if (!sp) return ENOMEM;
    sp->initial_cap = c->initial_cap;
    sp->max_retained_cap = c->max_retained_cap;
    sp->clear_on_put = c->clear_on_put != 0;
    atomic_init(&sp->clear_ns, 0);
    ep_pool_config cfg = {
        .name = c->name ? c->name : "strbuf",
        .obj_size = sizeof(ep_strbuf),
        .init = sb_init,
        .reset = sb_reset,
        .fini = sb_fini,
        .ctx = sp,
        .max_objects = c->max_objects,
    };
    int err = ep_pool_create(&cfg, &sp->pool);
    if (err) {
        ep_free(sp, sizeof *sp);
        return err;
    }
    *out = sp;
    return 0;
}

int ep_strbuf_pool_create(size_t initial_cap, size_t max_retained_cap, ep_strbuf_pool **out) {
    ep_strbuf_pool_config c = {.initial_cap = initial_cap, .max_retained_cap = max_retained_cap};
    return ep_strbuf_pool_create_cfg(&c, out);
}

int ep_strbuf_pool_bypassed(const ep_strbuf_pool *sp) { return ep_pool_bypassed(sp->pool); }

void ep_strbuf_pool_destroy(ep_strbuf_pool *sp) {
    if (!sp) return;
    ep_pool_destroy(sp->pool);
    ep_free(sp, sizeof *sp);
}

ep_strbuf *ep_strbuf_pool_get(ep_strbuf_pool *sp) {
    ep_strbuf *sb = ep_pool_get(sp->pool);
    return sb;
}

void ep_strbuf_pool_put(ep_strbuf_pool *sp, ep_strbuf *sb) { ep_pool_put(sp->pool, sb); }

int ep_strbuf_pool_put_checked(ep_strbuf_pool *sp, ep_strbuf *sb) {
    if (!sp) return EINVAL;
    return ep_pool_put_checked(sp->pool, sb);
}

void ep_strbuf_pool_trim(ep_strbuf_pool *sp) { ep_pool_trim(sp->pool); }

void ep_strbuf_pool_stats_read(const ep_strbuf_pool *sp, ep_pool_stats *out) {
    ep_pool_stats_read(sp->pool, out);
    out->clear_ns += atomic_load_explicit(&sp->clear_ns, memory_order_relaxed);
}
