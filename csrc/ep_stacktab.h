/* ep_stacktab.h — private: a table interning (stack, tag) keys to dense ids,
 * each with a few counters.  Shared by the heap and CPU profilers.
 *
 * Not thread-safe: the owner serialises access (the profilers' own locks).
 * Memory comes from plain malloc, never ep_alloc (the heap profiler runs
 * inside ep_alloc).  Ids are stable until ep_stacktab_clear.
 */
#ifndef EP_STACKTAB_H
#define EP_STACKTAB_H

#include "ep_common.h"

#define EP_STACKTAB_NTAG 3
#define EP_STACKTAB_NVAL 7 /* the heap profiler's 4 counters and 3 for its peak */
/* A bound on memory when stacks are garbage-varied: new keys past this many
 * entries are refused (ENOSPC; the profilers count them as dropped). */
#define EP_STACKTAB_MAX_ENTRIES (1u << 20)

typedef struct ep_stackent {
    uint64_t hash;
    uint32_t pc_off, npcs;
    uint64_t tag[EP_STACKTAB_NTAG];
    uint64_t val[EP_STACKTAB_NVAL];
} ep_stackent;

typedef struct ep_stacktab {
    ep_stackent *e;
    uint32_t n, cap;
    uint32_t *index;   /* open addressing: entry id + 1, 0 = empty */
    uint32_t index_cap; /* power of two */
    uintptr_t *pcs;
    size_t npcs, pcs_cap;
} ep_stacktab;

/* Id of (pcs, tag), added with zero counters when new.  0, ENOMEM or ENOSPC. */
int ep_stacktab_find(ep_stacktab *t, const uintptr_t *pcs, uint32_t npcs,
                     const uint64_t tag[EP_STACKTAB_NTAG], uint32_t *id);
void ep_stacktab_clear(ep_stacktab *t); /* frees everything; t is reusable */

#endif
