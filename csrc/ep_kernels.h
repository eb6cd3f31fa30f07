/* ep_kernels.h — private: the kernel families bench.c registers.
 * Each kernels_*.c file defines one table; add a family here and in
 * bench.c's list. */
#ifndef EP_KERNELS_H
#define EP_KERNELS_H

#include "enginepools.h"

typedef struct _ep_bench_family {
    const ep_bench_kernel *kernels;
    size_t count;
} _ep_bench_family;

#define EP_BENCH_FAMILY(ident, table) \
    const _ep_bench_family ident = {table, sizeof table / sizeof table[0]}

/* The end of every setup: on error tear the half-built state down,
 * otherwise hand it to the harness. */
static inline int _ep_setup_done(void **state, void *s, int err, void (*teardown)(void *)) {
    if (err) {
        teardown(s);
        return err;
    }
    *state = s;
    return 0;
}

extern const _ep_bench_family _ep_kernels_strings;
extern const _ep_bench_family _ep_kernels_hash;
extern const _ep_bench_family _ep_kernels_tar;
extern const _ep_bench_family _ep_kernels_alloc;
extern const _ep_bench_family _ep_kernels_contention;
extern const _ep_bench_family _ep_kernels_workerpool;

#endif
