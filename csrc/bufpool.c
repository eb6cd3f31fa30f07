/* bufpool.c — ep_bufpool: byte buffers in power-of-two size classes.
 *
 * Design: 13 ep_pools, one per class 256 B … 1 MiB, created with the buffer
 * pool (creation is cheap: no object is allocated until the first get).  A
 * request is served by the smallest class that fits, so the internal
 * fragmentation is below 2×, and a buffer's class is recovered from the
 * capacity the caller hands back.  The total retained cap is a byte budget
 * shared by the classes (see ep_pool_internal.h), so the study's "retain at
 * most 1 MiB" holds across sizes.  Classes reserve budget one buffer at a
 * time, so one class cannot starve another: single-threaded, a put drops
 * only when what is retained plus what its reservations cover for buffers
 * handed out would pass the cap.
 *
 * Invariant: a buffer put back with capacity c came from class c of this
 * buffer pool (checked in EP_DEBUG builds by the class pool's header).
 */
#include "ep_pool_internal.h"

#include <stdio.h>
#include <string.h>

struct ep_bufpool {
    ep_pool *cls[EP_BUFPOOL_NCLASSES];
    _ep_pool_budget budget;
    int has_budget;
    int clear_on_put;
    size_t default_size;
    char name[64];
};

static int class_index(size_t size) {
    if (size == 0 || size > EP_BUFPOOL_MAX_CLASS) return -1;
    int i = 0;
    size_t c = EP_BUFPOOL_MIN_CLASS;
    while (c < size) {
        c <<= 1;
        i++;
    }
    return i;
}

/* Index of class_size when it is exactly a class, else -1. */
static int exact_class(size_t class_size) {
    int i = class_index(class_size);
    if (i < 0 || (EP_BUFPOOL_MIN_CLASS << i) != class_size) return -1;
    return i;
}

size_t ep_bufpool_class_for(size_t size) {
    int i = class_index(size);
    return i < 0 ? 0 : EP_BUFPOOL_MIN_CLASS << i;
}

int ep_bufpool_create(const ep_bufpool_config *cfg, ep_bufpool **out) {
    if (!cfg || !out) return EINVAL;
    if (cfg->default_size > EP_BUFPOOL_MAX_CLASS) return EINVAL;
    ep_bufpool *bp = ep_alloc_aligned(sizeof *bp, EP_CACHELINE);
    if (!bp) return ENOMEM;
    memset(bp, 0, sizeof *bp);
    snprintf(bp->name, sizeof bp->name, "%s", cfg->name ? cfg->name : "buffer");
    bp->default_size = cfg->default_size;
    bp->clear_on_put = cfg->clear_on_put != 0;
    if (cfg->max_bytes) {
        bp->budget.max = cfg->max_bytes;
        atomic_init(&bp->budget.used, 0);
        bp->has_budget = 1;
    }
    for (int i = 0; i < EP_BUFPOOL_NCLASSES; i++) {
        ep_pool_config pc = {
            .name = bp->name,
            .obj_size = EP_BUFPOOL_MIN_CLASS << i,
            .clear_on_put = cfg->clear_on_put,
            .max_objects = cfg->max_objects_per_class,
            .size_class = (uint32_t)(EP_BUFPOOL_MIN_CLASS << i),
        };
        int err = _ep_pool_create_budgeted(&pc, bp->has_budget ? &bp->budget : NULL, &bp->cls[i]);
        if (err) {
            for (int j = 0; j < i; j++) ep_pool_destroy(bp->cls[j]);
            ep_free(bp, sizeof *bp);
            return err;
        }
    }
    *out = bp;
    return 0;
}

int ep_bufpool_preset(const char *preset, ep_bufpool **out) {
    if (!preset || !out) return EINVAL;
    ep_bufpool_config cfg = {
        .name = preset,
        .max_bytes = (size_t)1 << 20,
        .default_size = (size_t)64 << 10,
    };
    if (strcmp(preset, "hash") == 0) cfg.clear_on_put = 1;
    else if (strcmp(preset, "tar") != 0) return EINVAL;
    return ep_bufpool_create(&cfg, out);
}

void ep_bufpool_destroy(ep_bufpool *bp) {
    if (!bp) return;
    for (int i = 0; i < EP_BUFPOOL_NCLASSES; i++) ep_pool_destroy(bp->cls[i]);
    ep_free(bp, sizeof *bp);
}

int ep_bufpool_get(ep_bufpool *bp, size_t size, void **buf, size_t *cap) {
    int i = class_index(size);
    if (!bp || !buf || !cap || i < 0) return EINVAL;
    void *b = ep_pool_get(bp->cls[i]);
    if (!b) return ENOMEM;
    *buf = b;
    *cap = EP_BUFPOOL_MIN_CLASS << i;
    return 0;
}

void ep_bufpool_put(ep_bufpool *bp, void *buf, size_t cap) {
    if (!buf) return;
    int i = exact_class(cap);
    ep_assert(i >= 0);
    if (EP_UNLIKELY(i < 0)) return; /* not ours to free: leaking beats corrupting */
    ep_pool_put(bp->cls[i], buf);
}

int ep_bufpool_put_checked(ep_bufpool *bp, void *buf, size_t cap) {
    int i = exact_class(cap);
    if (!bp || !buf || i < 0) return EINVAL;
    return ep_pool_put_checked(bp->cls[i], buf);
}

void ep_bufpool_trim(ep_bufpool *bp) {
    for (int i = 0; i < EP_BUFPOOL_NCLASSES; i++) ep_pool_trim(bp->cls[i]);
}

void ep_bufpool_stats_read(const ep_bufpool *bp, ep_pool_stats *total) {
    ep_pool_stats t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < EP_BUFPOOL_NCLASSES; i++) {
        ep_pool_stats s;
        ep_pool_stats_read(bp->cls[i], &s);
        /* classes peak at different times: the sum of their peaks bounds the
         * true peak from above, and with a shared budget the budget bounds it too */
        _ep_pool_stats_add(&t, &s);
    }
    if (bp->has_budget && t.peak_retained_bytes > bp->budget.max) t.peak_retained_bytes = bp->budget.max;
    /* one trim() of the buffer pool trims every class */
    t.trims /= EP_BUFPOOL_NCLASSES;
    *total = t;
}

int ep_bufpool_class_stats(const ep_bufpool *bp, size_t class_size, ep_pool_stats *out) {
    int i = exact_class(class_size);
    if (!bp || !out || i < 0) return EINVAL;
    ep_pool_stats_read(bp->cls[i], out);
    return 0;
}

size_t ep_bufpool_default_size(const ep_bufpool *bp) { return bp->default_size; }
const char *ep_bufpool_name(const ep_bufpool *bp) { return bp->name; }
int ep_bufpool_bypassed(const ep_bufpool *bp) { return ep_pool_bypassed(bp->cls[0]); }
int ep_bufpool_clears(const ep_bufpool *bp) { return bp->clear_on_put; }
size_t ep_bufpool_max_bytes(const ep_bufpool *bp) { return bp->has_budget ? bp->budget.max : 0; }
