/* ep_grow.h — a growable array's one growth rule, for the C files that keep
 * plain malloc'd arrays (not through the counted ep_alloc: the bench-text
 * scanner and the Python allocation hook's tables).
 *
 * *p holds *cap elements of `elem` bytes; make room for `need`, doubling
 * from `first` (or from *cap), so n appends cost O(n) copies in all.
 * Returns 0, or ENOMEM with *p and *cap unchanged. */
#ifndef EP_GROW_H
#define EP_GROW_H

#include <errno.h>
#include <stdlib.h>

static inline int ep_grow_array(void **p, size_t *cap, size_t need, size_t elem, size_t first) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : first;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

#endif
