/* kernels_contention.c — PoolContention: the study's parallel mix.
 *
 * Every -cpu thread runs, per op: build the image tag in a string builder,
 * then SHA-256 it through a hash buffer.  impl=pool takes both from shared
 * pools (an ep_strbuf pool and the "hash" buffer preset, cleared on put, as
 * the study's), impl=std allocates a fresh builder (growing by doubling) and a
 * fresh 32-byte digest.  The pools' per-thread magazines are what is on
 * trial: with more threads they should scale, a locked pool would not.
 */
#include "ep_kernels.h"
#include "ep_pool_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const parts[] = {"container-image", ":", "latest", "-sha256:", "abcdef123456"};
#define NPARTS (sizeof parts / sizeof *parts)

typedef struct pc_state {
    ep_strbuf_pool *sp;
    ep_bufpool *bp;
} pc_state;

static void pc_teardown(void *state) {
    pc_state *s = state;
    ep_strbuf_pool_destroy(s->sp);
    ep_bufpool_destroy(s->bp);
    free(s);
}

static int pc_setup(void **state, unsigned threads, uintptr_t arg) {
    (void)threads, (void)arg;
    pc_state *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    int err = ep_strbuf_pool_create(64, 4096, &s->sp);
    if (!err) err = ep_bufpool_preset("hash", &s->bp);
    return _ep_setup_done(state, s, err, pc_teardown);
}

static inline int build(ep_strbuf *sb) {
    for (size_t i = 0; i < NPARTS; i++) {
        int err = ep_strbuf_append_cstr(sb, parts[i]);
        if (EP_UNLIKELY(err)) return err;
    }
    return 0;
}

static int pool_body(void *state, ep_bench_pb *pb) {
    pc_state *s = state;
    while (ep_bench_pb_next(pb)) {
        ep_strbuf *sb = ep_strbuf_pool_get(s->sp);
        if (EP_UNLIKELY(!sb)) return ENOMEM;
        int err = build(sb);
        if (EP_UNLIKELY(err)) {
            ep_strbuf_pool_put(s->sp, sb);
            return err;
        }
        void *buf;
        size_t cap;
        err = ep_bufpool_get(s->bp, (size_t)64 << 10, &buf, &cap);
        if (EP_UNLIKELY(err)) {
            ep_strbuf_pool_put(s->sp, sb);
            return err;
        }
        uint8_t *b = buf;
        memcpy(b, sb->data, sb->len);
        ep_sha256(b, sb->len, b + sb->len);
        ep_bench_consume(b[sb->len]);
        ep_bufpool_put(s->bp, buf, cap);
        ep_strbuf_pool_put(s->sp, sb);
    }
    return 0;
}

static int std_body(void *state, ep_bench_pb *pb) {
    (void)state;
    while (ep_bench_pb_next(pb)) {
        ep_strbuf sb;
        int err = ep_strbuf_init(&sb, 16);
        if (EP_UNLIKELY(err)) return err;
        if (EP_UNLIKELY((err = build(&sb)) != 0)) {
            ep_strbuf_free(&sb);
            return err;
        }
        uint8_t *d = ep_alloc(EP_SHA256_DIGEST);
        if (EP_UNLIKELY(!d)) {
            ep_strbuf_free(&sb);
            return ENOMEM;
        }
        ep_sha256(sb.data, sb.len, d);
        ep_bench_consume(d[0]);
        ep_free(d, EP_SHA256_DIGEST);
        ep_strbuf_free(&sb);
    }
    return 0;
}

static void pc_pool_stats(void *state, ep_pool_stats *out) {
    pc_state *s = state;
    ep_pool_stats a;
    ep_strbuf_pool_stats_read(s->sp, out);
    ep_bufpool_stats_read(s->bp, &a);
    _ep_pool_stats_add(out, &a);
}

static const ep_bench_kernel kernels[] = {
    {.name = "PoolContention", .variant = "impl=pool",
     .doc = "parallel: image-tag string from a builder pool + SHA-256 through the 'hash' buffer pool",
     .setup = pc_setup, .teardown = pc_teardown, .run_parallel = pool_body, .pool_stats = pc_pool_stats},
    {.name = "PoolContention", .variant = "impl=std",
     .doc = "parallel: image-tag string in a fresh builder + SHA-256 into a fresh digest",
     .run_parallel = std_body},
};
EP_BENCH_FAMILY(_ep_kernels_contention, kernels);
