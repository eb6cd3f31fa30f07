/* stacktab.c — interning of (stack, tag) keys for the profilers.
 *
 * Design: entries live in one growing array (ids are indices), their frames
 * in one growing pc arena, and a power-of-two open-addressing index of entry
 * ids (linear probing, load <= 1/2) finds a key by its hash.  Nothing is ever
 * removed before ep_stacktab_clear, so no tombstones are needed.
 */
#include "ep_stacktab.h"

#include <stdlib.h>
#include <string.h>

/* Two independent multiply-add lanes (half the dependency chain of one),
 * then a final avalanche; keys are compared in full, so this only has to
 * spread. */
static uint64_t key_hash(const uintptr_t *pcs, uint32_t n, const uint64_t *tag) {
    uint64_t a = 0x243f6a8885a308d3ull ^ n, b = 0x13198a2e03707344ull;
    uint32_t i = 0;
    for (; i + 1 < n; i += 2) {
        a = (a + pcs[i]) * 0x9e3779b97f4a7c15ull;
        b = (b + pcs[i + 1]) * 0xc2b2ae3d27d4eb4full;
    }
    if (i < n) a = (a + pcs[i]) * 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < EP_STACKTAB_NTAG; t++) b = (b + tag[t]) * 0xc2b2ae3d27d4eb4full;
    uint64_t h = a ^ ((b << 31) | (b >> 33));
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static int grow_index(ep_stacktab *t) {
    uint32_t cap = t->index_cap ? t->index_cap * 2 : 256;
    uint32_t *ix = calloc(cap, sizeof *ix);
    if (!ix) return ENOMEM;
    for (uint32_t id = 0; id < t->n; id++) {
        uint32_t s = (uint32_t)t->e[id].hash & (cap - 1);
        while (ix[s]) s = (s + 1) & (cap - 1);
        ix[s] = id + 1;
    }
    free(t->index);
    t->index = ix;
    t->index_cap = cap;
    return 0;
}

int ep_stacktab_find(ep_stacktab *t, const uintptr_t *pcs, uint32_t npcs,
                     const uint64_t tag[EP_STACKTAB_NTAG], uint32_t *id) {
    uint64_t h = key_hash(pcs, npcs, tag);
    if (t->index_cap) {
        uint32_t s = (uint32_t)h & (t->index_cap - 1);
        for (uint32_t v; (v = t->index[s]) != 0; s = (s + 1) & (t->index_cap - 1)) {
            const ep_stackent *e = &t->e[v - 1];
            if (e->hash == h && e->npcs == npcs &&
                memcmp(e->tag, tag, sizeof e->tag) == 0 &&
                memcmp(t->pcs + e->pc_off, pcs, npcs * sizeof *pcs) == 0) {
                *id = v - 1;
                return 0;
            }
        }
    }
    /* new entry: make room everywhere first, so failure changes nothing */
    if (t->n >= EP_STACKTAB_MAX_ENTRIES) return ENOSPC;
    if ((uint64_t)(t->n + 1) * 2 > t->index_cap && grow_index(t)) return ENOMEM;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 128;
        ep_stackent *e = realloc(t->e, cap * sizeof *e);
        if (!e) return ENOMEM;
        t->e = e;
        t->cap = cap;
    }
    if (t->npcs + npcs > t->pcs_cap) {
        size_t cap = t->pcs_cap ? t->pcs_cap * 2 : 4096;
        while (cap < t->npcs + npcs) cap *= 2;
        uintptr_t *p = realloc(t->pcs, cap * sizeof *p);
        if (!p) return ENOMEM;
        t->pcs = p;
        t->pcs_cap = cap;
    }
    ep_stackent *e = &t->e[t->n];
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->pc_off = (uint32_t)t->npcs;
    e->npcs = npcs;
    memcpy(e->tag, tag, sizeof e->tag);
    memcpy(t->pcs + t->npcs, pcs, npcs * sizeof *pcs);
    t->npcs += npcs;
    uint32_t s = (uint32_t)h & (t->index_cap - 1);
    while (t->index[s]) s = (s + 1) & (t->index_cap - 1);
    t->index[s] = ++t->n;
    *id = t->n - 1;
    return 0;
}

void ep_stacktab_clear(ep_stacktab *t) {
    free(t->e);
    free(t->index);
    free(t->pcs);
    memset(t, 0, sizeof *t);
}
