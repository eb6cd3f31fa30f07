/* ep_alloc.h — the one allocation path.
 *
 * Every allocation made by pools, kernels, the worker pool and the pipeline
 * goes through ep_alloc/ep_free, which count bytes and objects per thread.
 * That gives B/op and allocs/op with Go's -benchmem meaning (bytes requested
 * and allocations made, frees not subtracted), in-use bytes for the heap
 * profiler, and the one place the heap profiler samples from.
 *
 * Frees are sized: the caller passes the size it asked for.  ep_realloc
 * counts as a new allocation of the new size plus a free of the old one, as
 * a Go slice growth does.
 */
#ifndef EP_ALLOC_H
#define EP_ALLOC_H

#include "ep_common.h"

typedef struct ep_alloc_counters {
    uint64_t alloc_bytes;   /* bytes requested through ep_alloc & co. */
    uint64_t alloc_objects; /* number of allocations */
    uint64_t free_bytes;
    uint64_t free_objects;
} ep_alloc_counters;

void *ep_alloc(size_t size);
void *ep_calloc(size_t size); /* zeroed */
void *ep_alloc_aligned(size_t size, size_t align); /* align: power of two */
void *ep_realloc(void *p, size_t old_size, size_t new_size);
void ep_free(void *p, size_t size);

/* Sum over every thread that ever allocated (live ones and exited ones). */
void ep_alloc_counters_read(ep_alloc_counters *out);
/* The calling thread's own counters (cheap; no lock). */
void ep_alloc_counters_read_self(ep_alloc_counters *out);

/* Heap profiler: make every thread's sampling countdown run out on its next
 * allocation, so a session just started applies at once everywhere (the
 * sampling itself is in ep_heapprof.h). */
void _ep_alloc_sample_reset_all(void);

/* Heap-profiler labels: a thread-local (pool name, size class) tag that pools
 * set around the ep_alloc of a miss, so the observer can label the sample.
 * pool NULL = no tag.  The name must outlive the allocation's use (pools keep
 * theirs until destroyed).  Set/get/clear cost a TLS store/load. */
void _ep_alloc_tag_set(const char *pool, uint32_t size_class);
void _ep_alloc_tag_clear(void);
void _ep_alloc_tag_get(const char **pool, uint32_t *size_class);

#endif
