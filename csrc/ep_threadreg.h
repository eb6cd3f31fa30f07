/* ep_threadreg.h — private: a registry of per-thread blocks.
 *
 * The allocation accounting (alloc.c) and the Python allocation counter
 * (py/pyalloc.c) keep counters in a block per thread, written by that thread
 * only and summed by readers.  A thread's block is made on its first use,
 * linked into the registry's list (readers walk it under `lock`), and when
 * the thread exits the owner's `retire` callback folds its counts into the
 * owner's retired totals under the lock before the block is unlinked and
 * freed.  The owner keeps its own initial-exec __thread pointer to the block
 * (the hot path reads only that) and clears it in `retire`, which runs on
 * the exiting thread.  The block's first member is its _ep_treg_link.
 */
#ifndef EP_THREADREG_H
#define EP_THREADREG_H

#include <pthread.h>
#include <stddef.h>

typedef struct _ep_treg _ep_treg;

typedef struct _ep_treg_link {
    struct _ep_treg_link *prev, *next;
    _ep_treg *reg;
} _ep_treg_link;

struct _ep_treg {
    pthread_mutex_t lock;          /* guards the list and the owner's retired totals */
    _ep_treg_link *head;
    size_t block_size;             /* the owner's block, link first */
    void (*retire)(_ep_treg_link *); /* under the lock, on the exiting thread */
    pthread_key_t key;             /* made on the first join, under the lock */
    int key_made;
};

#define _EP_TREG_INIT(block_type, retire_fn) \
    {PTHREAD_MUTEX_INITIALIZER, NULL, sizeof(block_type), (retire_fn), 0, 0}

/* The calling thread's new block, zeroed and linked; NULL when memory (or a
 * thread key) cannot be had: the caller then goes uncounted, not failing. */
_ep_treg_link *_ep_treg_join(_ep_treg *r);

#endif
