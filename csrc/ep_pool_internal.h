/* ep_pool_internal.h — what pool.c shares with bufpool.c, strbuf.c and the
 * benchmark kernels.
 *
 * A budget is a byte cap shared by several pools (a buffer pool's classes):
 * each pool reserves retention slots from it, under its own mutex, with a
 * CAS on `used`, and gives them back when objects leave the pool.  used never
 * exceeds max.
 */
#ifndef EP_POOL_INTERNAL_H
#define EP_POOL_INTERNAL_H

#include <stdatomic.h>

#include "enginepools.h"

typedef struct _ep_pool_budget {
    _Atomic size_t used; /* bytes reserved by all pools sharing the budget */
    size_t max;          /* cap in bytes, > 0 */
} _ep_pool_budget;

/* ep_pool_create with a shared byte budget (NULL = none).  The budget must
 * outlive the pool. */
int _ep_pool_create_budgeted(const ep_pool_config *cfg, _ep_pool_budget *budget, ep_pool **out);

/* Sum b into a (every counter; retained/peak too, as snapshots of several pools add). */
void _ep_pool_stats_add(ep_pool_stats *a, const ep_pool_stats *b);

#endif
