/* sha256.c — SHA-256: portable C and an x86 SHA-NI path, picked at run time.
 *
 * Design: both paths implement one primitive, "compress n whole 64-byte
 * blocks into the state"; init/update/final (buffering, padding, length) are
 * shared, so the two can only differ in the compression function, which the
 * tests compare against hashlib for every length 0…4096.  The SHA-NI function
 * is compiled with a target attribute (the rest of the library stays
 * baseline x86-64) and only ever called after cpuid said SHA, SSSE3 and
 * SSE4.1 are there.  The choice is made once (pthread_once) and cached.
 *
 * Invariants: ctx->buflen < 64 between calls; ctx->total counts every byte
 * given to update; a context never allocates.
 */
#include "enginepools.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define EP_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* ---- portable ------------------------------------------------------------ */

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static inline uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void blocks_portable(uint32_t st[8], const uint8_t *p, size_t n) {
    uint32_t w[64];
    while (n--) {
        for (int i = 0; i < 16; i++) w[i] = load_be32(p + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
        uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
        for (int i = 0; i < 64; i++) {
            uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
            uint32_t ch = (e & f) ^ (~e & g);
            uint32_t t1 = h + S1 + ch + K[i] + w[i];
            uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
            uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            uint32_t t2 = S0 + maj;
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d;
        st[4] += e; st[5] += f; st[6] += g; st[7] += h;
        p += 64;
    }
}

/* ---- SHA-NI -------------------------------------------------------------- */

#ifdef EP_HAVE_SHANI
/* The state lives in two registers as (A,B,E,F) and (C,D,G,H), the layout
 * sha256rnds2 wants; each group of four rounds adds K to four message words
 * and runs rnds2 twice.  Message words 16… are made four at a time:
 * W[i] = msg2(msg1(W[i-4], W[i-3]) + alignr(W[i-1], W[i-2]), W[i-1]). */
#define QROUND(i, w)                                                              \
    do {                                                                          \
        msg = _mm_add_epi32((w), _mm_loadu_si128((const __m128i *)&K[4 * (i)]));  \
        s1 = _mm_sha256rnds2_epu32(s1, s0, msg);                                  \
        s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));         \
    } while (0)
#define SCHED(w0, w1, w2, w3)                                                     \
    (w0) = _mm_sha256msg2_epu32(                                                  \
        _mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3))
/* four-round groups i..i+3 (of 16) after the first four: the four
 * message registers rotate, each made from the three before it */
#define SCHED_QROUND4(i)                                                          \
    do {                                                                          \
        SCHED(m0, m1, m2, m3); QROUND((i), m0);                                   \
        SCHED(m1, m2, m3, m0); QROUND((i) + 1, m1);                               \
        SCHED(m2, m3, m0, m1); QROUND((i) + 2, m2);                               \
        SCHED(m3, m0, m1, m2); QROUND((i) + 3, m3);                               \
    } while (0)

__attribute__((target("sha,ssse3,sse4.1")))
static void blocks_shani(uint32_t st[8], const uint8_t *p, size_t n) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&st[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)&st[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);        /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);          /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);  /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);       /* CDGH */
    __m128i msg;
    while (n--) {
        __m128i abef = s0, cdgh = s1;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
        QROUND(0, m0);
        QROUND(1, m1);
        QROUND(2, m2);
        QROUND(3, m3);
        SCHED_QROUND4(4);
        SCHED_QROUND4(8);
        SCHED_QROUND4(12);
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
        p += 64;
    }
    tmp = _mm_shuffle_epi32(s0, 0x1B);         /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);          /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);       /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);          /* HGFE */
    _mm_storeu_si128((__m128i *)&st[0], s0);
    _mm_storeu_si128((__m128i *)&st[4], s1);
}

static int cpu_has_shani(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & bit_SSSE3) || !(c & bit_SSE4_1)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 29)) != 0; /* CPUID.(7,0):EBX.SHA */
}
#else
static int cpu_has_shani(void) { return 0; }
#endif

/* ---- dispatch ------------------------------------------------------------ */

static pthread_once_t pick_once = PTHREAD_ONCE_INIT;
static int have_shani;

static void pick(void) { have_shani = cpu_has_shani(); }

const char *ep_sha256_impl(void) {
    pthread_once(&pick_once, pick);
    return have_shani ? "sha-ni" : "portable";
}

int ep_sha256_impl_available(const char *impl) {
    pthread_once(&pick_once, pick);
    if (!impl) return 0;
    if (strcmp(impl, "portable") == 0) return 1;
    if (strcmp(impl, "sha-ni") == 0) return have_shani;
    return 0;
}

static void init_with(ep_sha256_ctx *c, _ep_sha256_blocks_fn fn) {
    memcpy(c->state, H0, sizeof H0);
    c->total = 0;
    c->buflen = 0;
    c->blocks = fn;
}

void ep_sha256_init(ep_sha256_ctx *c) {
    pthread_once(&pick_once, pick);
#ifdef EP_HAVE_SHANI
    init_with(c, have_shani ? blocks_shani : blocks_portable);
#else
    init_with(c, blocks_portable);
#endif
}

int ep_sha256_init_impl(ep_sha256_ctx *c, const char *impl) {
    if (impl == NULL) {
        ep_sha256_init(c);
        return 0;
    }
    if (strcmp(impl, "portable") == 0) {
        init_with(c, blocks_portable);
        return 0;
    }
    if (strcmp(impl, "sha-ni") == 0) {
        if (!ep_sha256_impl_available("sha-ni")) return ENOTSUP;
#ifdef EP_HAVE_SHANI
        init_with(c, blocks_shani);
#endif
        return 0;
    }
    return EINVAL;
}

void ep_sha256_update(ep_sha256_ctx *c, const void *data, size_t len) {
    const uint8_t *p = data;
    c->total += len;
    if (c->buflen) {
        size_t take = EP_SHA256_BLOCK - c->buflen;
        if (take > len) take = len;
        memcpy(c->buf + c->buflen, p, take);
        c->buflen += take;
        p += take;
        len -= take;
        if (c->buflen < EP_SHA256_BLOCK) return;
        c->blocks(c->state, c->buf, 1);
        c->buflen = 0;
    }
    if (len >= EP_SHA256_BLOCK) {
        size_t n = len / EP_SHA256_BLOCK;
        c->blocks(c->state, p, n);
        p += n * EP_SHA256_BLOCK;
        len -= n * EP_SHA256_BLOCK;
    }
    if (len) {
        memcpy(c->buf, p, len);
        c->buflen = len;
    }
}

void ep_sha256_final(ep_sha256_ctx *c, uint8_t out[EP_SHA256_DIGEST]) {
    uint64_t bits = c->total * 8;
    size_t n = c->buflen;
    c->buf[n++] = 0x80;
    if (n > EP_SHA256_BLOCK - 8) {
        memset(c->buf + n, 0, EP_SHA256_BLOCK - n);
        c->blocks(c->state, c->buf, 1);
        n = 0;
    }
    memset(c->buf + n, 0, EP_SHA256_BLOCK - 8 - n);
    for (int i = 0; i < 8; i++) c->buf[EP_SHA256_BLOCK - 1 - i] = (uint8_t)(bits >> (8 * i));
    c->blocks(c->state, c->buf, 1);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->state[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->state[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->state[i];
    }
    c->buflen = 0;
}

void ep_sha256(const void *data, size_t len, uint8_t out[EP_SHA256_DIGEST]) {
    ep_sha256_ctx c;
    ep_sha256_init(&c);
    ep_sha256_update(&c, data, len);
    ep_sha256_final(&c, out);
}
