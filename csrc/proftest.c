/* proftest.c — test kernels for the profilers (known allocation patterns,
 * a CPU spinner, known addresses).
 *
 * Each allocation site is its own static, never-inlined function, so a heap
 * profile must attribute each site's bytes to that function by name; the
 * truth (n * size per site) is known to the test.  Kept blocks are tracked
 * in a plain-malloc array so the bookkeeping does not show in the profile.
 */
#include "enginepools.h"

#include <stdlib.h>
#include <string.h>

struct ep_proftest_keep {
    void **v;
    size_t n, cap, size;
};

/* The sites differ in their bodies so identical-code folding cannot merge
 * them; each touches its block (one write), as real code would. */
static __attribute__((noinline)) void *proftest_site_a(size_t size) {
    char *p = ep_alloc(size);
    if (p) p[0] = 'a';
    return p;
}

static __attribute__((noinline)) void *proftest_site_b(size_t size) {
    char *p = ep_alloc(size);
    if (p) p[size > 1 ? 1 : 0] = 'b';
    return p;
}

static __attribute__((noinline)) void *proftest_site_c(size_t size) {
    char *p = ep_calloc(size);
    if (p) p[size - 1] = 'c';
    return p;
}

static int keep_push(ep_proftest_keep *k, void *p) {
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        void **v = realloc(k->v, cap * sizeof *v);
        if (!v) return ENOMEM;
        k->v = v;
        k->cap = cap;
    }
    k->v[k->n++] = p;
    return 0;
}

int ep_proftest_alloc(int site, uint64_t n, size_t size, uint64_t keep_every,
                      ep_proftest_keep **keep) {
    void *(*fn)(size_t) = site == 0 ? proftest_site_a : site == 1 ? proftest_site_b
                          : site == 2 ? proftest_site_c : NULL;
    if (!fn || size == 0 || (keep_every && !keep)) return EINVAL;
    ep_proftest_keep *k = NULL;
    if (keep_every) {
        k = calloc(1, sizeof *k);
        if (!k) return ENOMEM;
        k->size = size;
    }
    for (uint64_t i = 0; i < n; i++) {
        void *p = fn(size);
        if (!p) {
            ep_proftest_release(k);
            return ENOMEM;
        }
        if (k && (i + 1) % keep_every == 0) {
            if (keep_push(k, p)) {
                ep_free(p, size);
                ep_proftest_release(k);
                return ENOMEM;
            }
        } else {
            ep_free(p, size);
        }
    }
    if (keep) *keep = k;
    return 0;
}

void ep_proftest_release(ep_proftest_keep *k) {
    if (!k) return;
    for (size_t i = 0; i < k->n; i++) ep_free(k->v[i], k->size);
    free(k->v);
    free(k);
}

int ep_proftest_pool(const char *name, uint64_t n, size_t size) {
    ep_bufpool_config cfg = {.name = name, .max_objects_per_class = 0, .max_bytes = 1};
    ep_bufpool *bp;
    int err = ep_bufpool_create(&cfg, &bp);
    if (err) return err;
    for (uint64_t i = 0; i < n && !err; i++) {
        void *b;
        size_t cap;
        err = ep_bufpool_get(bp, size, &b, &cap);
        if (!err) ep_bufpool_put(bp, b, cap);
    }
    ep_bufpool_destroy(bp);
    return err;
}

static __attribute__((noinline)) uint64_t proftest_spin_loop(uint64_t deadline_ns) {
    uint64_t x = 88172645463325252ull, i = 0;
    while (1) {
        for (int j = 0; j < 4096; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        if ((++i & 15) == 0 && ep_now_ns() >= deadline_ns) break;
    }
    return x;
}

uint64_t ep_proftest_spin(double seconds) {
    return proftest_spin_loop(ep_now_ns() + (uint64_t)(seconds * 1e9));
}

void ep_proftest_addresses(uintptr_t *static_fn, uintptr_t *libc_fn) {
    *static_fn = (uintptr_t)&proftest_spin_loop;
    *libc_fn = (uintptr_t)&qsort;
}
