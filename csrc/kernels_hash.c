/* kernels_hash.c — HashBuffer and SHA256.
 *
 * HashBuffer is the study's hash-buffer pool: per op, take a 64 KiB buffer,
 * stage 1 KiB of input in it, SHA-256 it, write the digest after it, put the
 * buffer back.  impl=pool uses the "hash" preset (cleared on put, as the
 * study's pool zeroed its buffers: clear-ns/op shows that cost),
 * impl=pool-noclear the same pool without clearing, impl=std hashes the input
 * straight into a fresh 32-byte digest (exactly 1 alloc and 32 B per op).
 *
 * SHA256/size=… is the hash alone (the default implementation, see
 * ep_sha256_impl), with SetBytes so the output has MB/s.
 */
#include "ep_kernels.h"

#include <stdlib.h>
#include <string.h>

#define HB_INPUT 1024
#define HB_BUF ((size_t)64 << 10)

typedef struct hb_state {
    ep_bufpool *bp;
    uint8_t *input;
    size_t size;
} hb_state;

static uint8_t *make_input(size_t n) {
    uint8_t *p = malloc(n);
    if (!p) return NULL;
    uint32_t x = 2463534242u;  /* xorshift: fixed, non-trivial bytes */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

static int state_new(hb_state **out, size_t input) {
    hb_state *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->size = input;
    if (!(s->input = make_input(input))) {
        free(s);
        return ENOMEM;
    }
    *out = s;
    return 0;
}

static void hb_teardown(void *state) {
    hb_state *s = state;
    ep_bufpool_destroy(s->bp);
    free(s->input);
    free(s);
}

/* arg: 1 for the 'hash' preset (clears on put), 0 for a pool that does not clear. */
static int hb_pool_setup(void **state, unsigned threads, uintptr_t clear) {
    (void)threads;
    hb_state *s;
    int err = state_new(&s, HB_INPUT);
    if (err) return err;
    if (clear) {
        err = ep_bufpool_preset("hash", &s->bp);
    } else {
        ep_bufpool_config cfg = {.name = "hash-noclear", .clear_on_put = 0, .max_bytes = (size_t)1 << 20,
                                 .default_size = HB_BUF};
        err = ep_bufpool_create(&cfg, &s->bp);
    }
    return _ep_setup_done(state, s, err, hb_teardown);
}

static int hb_pool_run(void *state, uint64_t n) {
    hb_state *s = state;
    for (uint64_t i = 0; i < n; i++) {
        void *buf;
        size_t cap;
        int err = ep_bufpool_get(s->bp, HB_BUF, &buf, &cap);
        if (EP_UNLIKELY(err)) return err;
        uint8_t *b = buf;
        memcpy(b, s->input, HB_INPUT);
        ep_sha256(b, HB_INPUT, b + HB_INPUT);
        ep_bench_consume(b[HB_INPUT]);
        ep_bufpool_put(s->bp, buf, cap);
    }
    return 0;
}

static void hb_pool_stats(void *state, ep_pool_stats *out) {
    ep_bufpool_stats_read(((hb_state *)state)->bp, out);
}

/* arg: the input size (no pool). */
static int plain_setup(void **state, unsigned threads, uintptr_t size) {
    (void)threads;
    hb_state *s;
    int err = state_new(&s, size);
    if (err) return err;
    *state = s;
    return 0;
}

static int hb_std_run(void *state, uint64_t n) {
    hb_state *s = state;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *d = ep_alloc(EP_SHA256_DIGEST);
        if (EP_UNLIKELY(!d)) return ENOMEM;
        ep_sha256(s->input, HB_INPUT, d);
        ep_bench_consume(d[0]);
        ep_free(d, EP_SHA256_DIGEST);
    }
    return 0;
}

static int sha_run(void *state, uint64_t n) {
    hb_state *s = state;
    uint8_t d[EP_SHA256_DIGEST];
    for (uint64_t i = 0; i < n; i++) {
        ep_sha256(s->input, s->size, d);
        ep_bench_consume(d[0]);
    }
    return 0;
}

static const ep_bench_kernel kernels[] = {
    {.name = "HashBuffer", .variant = "impl=pool",
     .doc = "SHA-256 of 1 KiB staged in a 64 KiB buffer from the 'hash' pool (cleared on put)",
     .setup = hb_pool_setup, .arg = 1, .teardown = hb_teardown, .run = hb_pool_run, .pool_stats = hb_pool_stats},
    {.name = "HashBuffer", .variant = "impl=pool-noclear",
     .doc = "as impl=pool, with a pool that does not clear buffers on put",
     .setup = hb_pool_setup, .arg = 0, .teardown = hb_teardown, .run = hb_pool_run, .pool_stats = hb_pool_stats},
    {.name = "HashBuffer", .variant = "impl=std",
     .doc = "SHA-256 of 1 KiB into a fresh 32-byte digest (1 alloc, 32 B per op)",
     .setup = plain_setup, .arg = HB_INPUT, .teardown = hb_teardown, .run = hb_std_run},
    {.name = "SHA256/size=1KiB", .variant = "", .bytes_per_op = 1024,
     .doc = "SHA-256 of 1 KiB (MB/s)", .setup = plain_setup, .arg = 1024, .teardown = hb_teardown, .run = sha_run},
    {.name = "SHA256/size=1MiB", .variant = "", .bytes_per_op = (uint64_t)1 << 20,
     .doc = "SHA-256 of 1 MiB (MB/s)", .setup = plain_setup, .arg = (size_t)1 << 20, .teardown = hb_teardown, .run = sha_run},
};
EP_BENCH_FAMILY(_ep_kernels_hash, kernels);
