/* pprof_stream.c — a message buffer that fills while the decoder reads it, so
 * a gzip'd profile is inflated (by one thread) and parsed (by another) at the
 * same time.
 *
 * The buffer has the size the gzip trailer announces.  The inflating side
 * appends bytes (ep_pprof_stream_write) and finally says whether the stream
 * came out whole and exactly that long (ep_pprof_stream_end).  The decoder
 * asks, before each top-level field, for the bytes up to the field's end
 * (ep_pprof_stream_ready): it peeks the field's key and length in what has
 * arrived, then waits under the mutex until enough has.  It caches how much
 * is there, so the lock is taken once per written chunk, not per field.  A
 * length that lies makes it wait for the whole message, where the decoder
 * then reports the lie as usual.  If the stream fails (bad gzip, another
 * size), waiting returns ECANCELED and the caller decodes the plain way, so
 * errors are exactly those of inflate-then-parse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ep_pprof.h"

struct ep_pprof_stream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *buf;
    size_t size, avail;
    size_t want; /* what the waiting decoder waits for (0: it is not waiting) */
    int state;   /* 0 filling, 1 complete, 2 failed */
};

/* When the decoder must wait, it waits for this much more than it needs: it
 * then sleeps a few times per message, not once per written chunk (each
 * wake-up costs a trip through the scheduler, and on a busy machine those add
 * up to more than the overlap saves).  At the end it has at most this much
 * left to parse after the inflating side is done. */
#define EP_STREAM_SLACK ((size_t)8 << 20)

ep_pprof_stream *ep_pprof_stream_new(size_t size) {
    ep_pprof_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->buf = malloc(size ? size : 1);
    if (!s->buf) {
        free(s);
        return NULL;
    }
    s->size = size;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
}

void ep_pprof_stream_free(ep_pprof_stream *s) {
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->buf);
    free(s);
}

const uint8_t *ep_pprof_stream_buf(const ep_pprof_stream *s, size_t *size) {
    *size = s->size;
    return s->buf;
}

static void set_state(ep_pprof_stream *s, int state) {
    pthread_mutex_lock(&s->mu);
    if (s->state == 0) s->state = state;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int ep_pprof_stream_write(ep_pprof_stream *s, const void *p, size_t n) {
    /* only the writer changes avail: reading it unlocked here is safe */
    if (s->state != 0 || n > s->size - s->avail) {
        set_state(s, 2);
        return EINVAL;
    }
    memcpy(s->buf + s->avail, p, n);
    pthread_mutex_lock(&s->mu);
    s->avail += n;
    if (s->want && s->avail >= s->want) pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void ep_pprof_stream_end(ep_pprof_stream *s, int ok) { set_state(s, ok && s->avail == s->size ? 1 : 2); }

size_t ep_pprof_stream_wait(ep_pprof_stream *s, size_t need) {
    pthread_mutex_lock(&s->mu);
    if (s->avail < need && s->state == 0) {
        size_t target = need + (s->size - need < EP_STREAM_SLACK ? s->size - need : EP_STREAM_SLACK);
        s->want = target;
        while (s->avail < target && s->state == 0) pthread_cond_wait(&s->cv, &s->mu);
        s->want = 0;
    }
    size_t got = s->state == 2 ? 0 : s->avail;
    pthread_mutex_unlock(&s->mu);
    return got >= need ? got : 0;
}

int ep_pprof_stream_ready(ep_pprof_stream *s, const uint8_t *p, const uint8_t *end, size_t *have) {
    size_t at = (size_t)(p - s->buf), total = (size_t)(end - s->buf);
    size_t head = total - at < 21 ? total - at : 21; /* a key and a varint, or a fixed64 */
    if (at + head > *have && !(*have = ep_pprof_stream_wait(s, at + head))) return ECANCELED;
    const uint8_t *q = p, *lim = p + head;
    uint64_t key = 0, len = 0;
    unsigned shift = 0;
    uint8_t c = 0x80;
    while (q < lim && shift < 64 && c >= 0x80) {
        c = *q++;
        key |= (uint64_t)(c & 0x7f) << shift;
        shift += 7;
    }
    size_t need = at + head;
    if ((key & 7) == 2) {
        need = total; /* unless the length is read whole and fits */
        shift = 0;
        c = 0x80;
        while (q < lim && shift < 64 && c >= 0x80) {
            c = *q++;
            len |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
        }
        if (c < 0x80 && len <= (uint64_t)(end - q)) need = (size_t)(q - s->buf) + (size_t)len;
    }
    if (need > *have && !(*have = ep_pprof_stream_wait(s, need))) return ECANCELED;
    return 0;
}

int ep_pprof_stream_decode(ep_pprof_stream *s, ep_pprof *out, ep_pprof_error *err) {
    int e = ep_pprof_decode_from(s->buf, s->size, s, out, err);
    /* the stream's verdict comes first: a bad gzip stream is reported as such */
    pthread_mutex_lock(&s->mu);
    while (s->state == 0) pthread_cond_wait(&s->cv, &s->mu);
    int state = s->state;
    pthread_mutex_unlock(&s->mu);
    if (state != 1) {
        if (!e) ep_pprof_free(out);
        return ECANCELED;
    }
    return e;
}
