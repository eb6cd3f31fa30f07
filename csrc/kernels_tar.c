/* kernels_tar.c — TarBuffer: move 32 KiB from a source to a destination
 * through a 64 KiB copy buffer (io.CopyBuffer's shape: read into the buffer,
 * write out of it).
 *
 * impl=pool takes the buffer from the "tar" preset (not cleared), impl=std
 * allocates and frees it per op (1 alloc, 64 KiB per op), impl=memcpy does
 * the same two copies through a buffer it holds for the whole run: no buffer
 * management at all, the floor the other two are measured against.
 */
#include "ep_kernels.h"

#include <stdlib.h>
#include <string.h>

#define TB_DATA ((size_t)32 << 10)
#define TB_BUF ((size_t)64 << 10)

typedef struct tb_state {
    ep_bufpool *bp;
    uint8_t *src, *dst, *fixed;
} tb_state;

static void tb_teardown(void *state) {
    tb_state *s = state;
    ep_bufpool_destroy(s->bp);
    free(s->src);
    free(s->dst);
    free(s->fixed);
    free(s);
}

static int tb_setup_common(void **state, int pooled, int fixed) {
    tb_state *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->src = malloc(TB_DATA);
    s->dst = malloc(TB_DATA);
    if (fixed) s->fixed = malloc(TB_BUF);
    int err = (!s->src || !s->dst || (fixed && !s->fixed)) ? ENOMEM : 0;
    if (!err) {
        for (size_t i = 0; i < TB_DATA; i++) s->src[i] = (uint8_t)(i * 131u + 7u);
        memset(s->dst, 0, TB_DATA);
        if (fixed) memset(s->fixed, 0, TB_BUF);
    }
    if (!err && pooled) err = ep_bufpool_preset("tar", &s->bp);
    if (err) {
        tb_teardown(s);
        return err;
    }
    *state = s;
    return 0;
}

static int tb_pool_setup(void **state, unsigned threads) {
    (void)threads;
    return tb_setup_common(state, 1, 0);
}

static int tb_std_setup(void **state, unsigned threads) {
    (void)threads;
    return tb_setup_common(state, 0, 0);
}

static int tb_memcpy_setup(void **state, unsigned threads) {
    (void)threads;
    return tb_setup_common(state, 0, 1);
}

static inline void copy_through(tb_state *s, uint8_t *buf) {
    memcpy(buf, s->src, TB_DATA);
    memcpy(s->dst, buf, TB_DATA);
    ep_bench_consume(s->dst[TB_DATA - 1]);
}

static int tb_pool_run(void *state, uint64_t n) {
    tb_state *s = state;
    for (uint64_t i = 0; i < n; i++) {
        void *buf;
        size_t cap;
        int err = ep_bufpool_get(s->bp, TB_BUF, &buf, &cap);
        if (EP_UNLIKELY(err)) return err;
        copy_through(s, buf);
        ep_bufpool_put(s->bp, buf, cap);
    }
    return 0;
}

static void tb_pool_stats(void *state, ep_pool_stats *out) {
    ep_bufpool_stats_read(((tb_state *)state)->bp, out);
}

static int tb_std_run(void *state, uint64_t n) {
    tb_state *s = state;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *buf = ep_alloc(TB_BUF);
        if (EP_UNLIKELY(!buf)) return ENOMEM;
        copy_through(s, buf);
        ep_free(buf, TB_BUF);
    }
    return 0;
}

static int tb_memcpy_run(void *state, uint64_t n) {
    tb_state *s = state;
    for (uint64_t i = 0; i < n; i++) copy_through(s, s->fixed);
    return 0;
}

static const ep_bench_kernel kernels[] = {
    {.name = "TarBuffer", .variant = "impl=pool", .bytes_per_op = TB_DATA,
     .doc = "copy 32 KiB through a 64 KiB buffer from the 'tar' pool",
     .setup = tb_pool_setup, .teardown = tb_teardown, .run = tb_pool_run, .pool_stats = tb_pool_stats},
    {.name = "TarBuffer", .variant = "impl=std", .bytes_per_op = TB_DATA,
     .doc = "copy 32 KiB through a 64 KiB buffer allocated and freed per op",
     .setup = tb_std_setup, .teardown = tb_teardown, .run = tb_std_run},
    {.name = "TarBuffer", .variant = "impl=memcpy", .bytes_per_op = TB_DATA,
     .doc = "the same copies through one buffer held for the whole run (the floor)",
     .setup = tb_memcpy_setup, .teardown = tb_teardown, .run = tb_memcpy_run},
};
EP_BENCH_FAMILY(_ep_kernels_tar, kernels);
