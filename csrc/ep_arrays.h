/* ep_arrays.h — plain malloc'd arrays (not through the counted ep_alloc:
 * the bench-text scanner, the graph group-bys, the profilers' snapshots and
 * the Python allocation hook's tables): one growth rule, one way to free a
 * struct's arrays together.
 *
 * *p holds *cap elements of `elem` bytes; make room for `need`, doubling
 * from `first` (or from *cap), so n appends cost O(n) copies in all.
 * Returns 0, or ENOMEM with *p and *cap unchanged. */
#ifndef EP_ARRAYS_H
#define EP_ARRAYS_H

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

/* free() each of the arrays named (NULL ones too) */
#define EP_FREE_ALL(...)                                                        \
    do {                                                                        \
        void *ep_free_all_[] = {__VA_ARGS__};                                   \
        for (size_t i_ = 0; i_ < sizeof ep_free_all_ / sizeof *ep_free_all_; i_++) \
            free(ep_free_all_[i_]);                                             \
    } while (0)

#endif
