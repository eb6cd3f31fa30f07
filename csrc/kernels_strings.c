/* kernels_strings.c — StringBuilder: build the image tag
 * "container-image:latest-sha256:abcdef123456" from its five parts.
 *
 * impl=pool takes an empty builder from an ep_strbuf pool (capacity kept from
 * earlier uses, so the steady state allocates nothing); impl=std starts a
 * fresh 16-byte builder and grows it by doubling (16 → 32 → 64: three
 * allocations per op), as a plain strings.Builder would.  Both read the
 * result the same way, so the only difference is where the builder comes
 * from.
 */
#include "ep_kernels.h"

#include <string.h>

static const struct {
    const char *s;
    size_t n;
} parts[] = {
    {"container-image", 15}, {":", 1}, {"latest", 6}, {"-sha256:", 8}, {"abcdef123456", 12},
};
#define NPARTS (sizeof parts / sizeof *parts)

static inline int build(ep_strbuf *sb) {
    for (size_t i = 0; i < NPARTS; i++) {
        int err = ep_strbuf_append(sb, parts[i].s, parts[i].n);
        if (EP_UNLIKELY(err)) return err;
    }
    ep_bench_consume(sb->len + (unsigned char)sb->data[sb->len - 1]);
    return 0;
}

static int pool_setup(void **state, unsigned threads, uintptr_t arg) {
    (void)threads, (void)arg;
    ep_strbuf_pool *sp;
    int err = ep_strbuf_pool_create(64, 4096, &sp);
    if (err) return err;
    *state = sp;
    return 0;
}

static void pool_teardown(void *state) { ep_strbuf_pool_destroy(state); }

static int pool_run(void *state, uint64_t n) {
    ep_strbuf_pool *sp = state;
    for (uint64_t i = 0; i < n; i++) {
        ep_strbuf *sb = ep_strbuf_pool_get(sp);
        if (EP_UNLIKELY(!sb)) return ENOMEM;
        int err = build(sb);
        ep_strbuf_pool_put(sp, sb);
        if (EP_UNLIKELY(err)) return err;
    }
    return 0;
}

static void pool_stats(void *state, ep_pool_stats *out) { ep_strbuf_pool_stats_read(state, out); }

static int std_run(void *state, uint64_t n) {
    (void)state;
    for (uint64_t i = 0; i < n; i++) {
        ep_strbuf sb;
        int err = ep_strbuf_init(&sb, 16);
        if (EP_UNLIKELY(err)) return err;
        err = build(&sb);
        ep_strbuf_free(&sb);
        if (EP_UNLIKELY(err)) return err;
    }
    return 0;
}

static const ep_bench_kernel kernels[] = {
    {.name = "StringBuilder", .variant = "impl=pool",
     .doc = "build an image tag in a builder from an ep_strbuf pool",
     .setup = pool_setup, .teardown = pool_teardown, .run = pool_run, .pool_stats = pool_stats},
    {.name = "StringBuilder", .variant = "impl=std",
     .doc = "build an image tag in a fresh 16-byte builder grown by doubling",
     .run = std_run},
};
EP_BENCH_FAMILY(_ep_kernels_strings, kernels);
