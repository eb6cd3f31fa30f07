/* ep_bufpool.h — byte-buffer pool: power-of-two size classes over object pools.
 *
 * Classes are 256 B, 512 B, … 1 MiB (13 ep_pools, created with the buffer
 * pool).  get(size) serves from the smallest class ≥ size and reports the
 * class size as the capacity; put takes the buffer back with that capacity.
 * max_bytes caps what all classes together retain (a byte budget shared by
 * the classes, reserved the same way as ep_pool's own caps); each class may
 * also be capped in objects.  The heap-profiler label of a class's
 * allocations is (name, class size).
 *
 * Presets follow the study: "hash" and "tar" hand out 64 KiB buffers and
 * retain at most 1 MiB; "hash" clears buffers on put (the study's hash
 * buffer pool zeroed them), "tar" does not.
 */
#ifndef EP_BUFPOOL_H
#define EP_BUFPOOL_H

#include "ep_pool.h"

#define EP_BUFPOOL_MIN_CLASS ((size_t)256)
#define EP_BUFPOOL_MAX_CLASS ((size_t)1 << 20)
#define EP_BUFPOOL_NCLASSES 13

typedef struct ep_bufpool ep_bufpool;

typedef struct ep_bufpool_config {
    const char *name;
    int clear_on_put;
    size_t max_bytes;             /* total retained cap over all classes, 0 = unlimited */
    size_t max_objects_per_class; /* 0 = unlimited */
    /* fields added after the first API freeze */
    size_t default_size;          /* size a caller should ask for when it has no opinion (presets: 64 KiB); 0 = none */
} ep_bufpool_config;

int ep_bufpool_create(const ep_bufpool_config *cfg, ep_bufpool **out);
/* "hash", "tar": 64 KiB buffers, 1 MiB retained cap, clear-on-put for "hash". EINVAL otherwise. */
int ep_bufpool_preset(const char *preset, ep_bufpool **out);
void ep_bufpool_destroy(ep_bufpool *bp);
/* EINVAL: size 0 or > 1 MiB; ENOMEM.  *cap = class size (≥ size). */
int ep_bufpool_get(ep_bufpool *bp, size_t size, void **buf, size_t *cap);
void ep_bufpool_put(ep_bufpool *bp, void *buf, size_t cap);
/* EINVAL for a NULL buffer, a cap that is not a class size, and in EP_DEBUG
 * builds a buffer that class did not hand out. */
int ep_bufpool_put_checked(ep_bufpool *bp, void *buf, size_t cap);
void ep_bufpool_trim(ep_bufpool *bp);
void ep_bufpool_stats_read(const ep_bufpool *bp, ep_pool_stats *total); /* summed over classes */
/* EINVAL when class_size is not one of the classes. */
int ep_bufpool_class_stats(const ep_bufpool *bp, size_t class_size, ep_pool_stats *out);

size_t ep_bufpool_default_size(const ep_bufpool *bp);
size_t ep_bufpool_class_for(size_t size); /* class serving `size`, 0 if none */
const char *ep_bufpool_name(const ep_bufpool *bp);
int ep_bufpool_bypassed(const ep_bufpool *bp); /* EP_POOL_BYPASS was set at creation */
int ep_bufpool_clears(const ep_bufpool *bp);   /* clear_on_put */
size_t ep_bufpool_max_bytes(const ep_bufpool *bp); /* retained cap, 0 = unlimited */

#endif
