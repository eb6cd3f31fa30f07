/* ep_sha256.h — SHA-256 (FIPS 180-4) with a SHA-NI path chosen at run time.
 *
 * ep_sha256_init() picks the fastest implementation the CPU supports (the
 * x86 SHA extensions when cpuid reports them, else portable C) once per
 * process; ep_sha256_init_impl() forces one by name ("sha-ni", "portable"),
 * so tests can check both against a reference.  A context is plain data:
 * copy it to fork a running hash.  No allocation anywhere.
 */
#ifndef EP_SHA256_H
#define EP_SHA256_H

#include "ep_common.h"

#define EP_SHA256_DIGEST 32
#define EP_SHA256_BLOCK 64

typedef void (*_ep_sha256_blocks_fn)(uint32_t state[8], const uint8_t *data, size_t nblocks);

typedef struct ep_sha256_ctx {
    uint32_t state[8];
    uint64_t total;                 /* bytes hashed so far */
    uint8_t buf[EP_SHA256_BLOCK];   /* partial block */
    size_t buflen;
    _ep_sha256_blocks_fn blocks;
} ep_sha256_ctx;

void ep_sha256_init(ep_sha256_ctx *c);
/* EINVAL: unknown name; ENOTSUP: "sha-ni" on a CPU (or build) without it.
 * NULL = the default (as ep_sha256_init). */
int ep_sha256_init_impl(ep_sha256_ctx *c, const char *impl);
void ep_sha256_update(ep_sha256_ctx *c, const void *data, size_t len);
void ep_sha256_final(ep_sha256_ctx *c, uint8_t out[EP_SHA256_DIGEST]);
void ep_sha256(const void *data, size_t len, uint8_t out[EP_SHA256_DIGEST]);

/* Name of the implementation ep_sha256_init() uses: "sha-ni" or "portable". */
const char *ep_sha256_impl(void);
/* Nonzero when the named implementation can run here. */
int ep_sha256_impl_available(const char *impl);

#endif
