/* threadreg.c — the registry of per-thread blocks (see ep_threadreg.h).
 *
 * Joining is the slow path of a thread's first counted allocation: calloc,
 * link under the lock, and the thread-exit destructor set through the key.
 * The destructor gets only the block, so the link carries its registry.
 */
#include "ep_threadreg.h"

#include <stdlib.h>

static void treg_exit(void *arg) {
    _ep_treg_link *b = arg;
    _ep_treg *r = b->reg;
    pthread_mutex_lock(&r->lock);
    r->retire(b);
    if (b->prev) b->prev->next = b->next; else r->head = b->next;
    if (b->next) b->next->prev = b->prev;
    pthread_mutex_unlock(&r->lock);
    free(b);
}

_ep_treg_link *_ep_treg_join(_ep_treg *r) {
    _ep_treg_link *b = calloc(1, r->block_size);
    if (!b) return NULL;
    b->reg = r;
    pthread_mutex_lock(&r->lock);
    if (!r->key_made) r->key_made = pthread_key_create(&r->key, treg_exit) == 0;
    if (!r->key_made) {
        pthread_mutex_unlock(&r->lock);
        free(b);
        return NULL;
    }
    b->next = r->head;
    if (r->head) r->head->prev = b;
    r->head = b;
    pthread_mutex_unlock(&r->lock);
    pthread_setspecific(r->key, b);
    return b;
}
