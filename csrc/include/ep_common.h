/* ep_common.h — conventions shared by every C file of enginepools.
 *
 * Error model: a function returns 0 on success or a positive errno-style code
 * (EINVAL, ENOMEM, ESHUTDOWN, EINTR, …) and leaves its outputs untouched on
 * failure; the seam (csrc/py/) turns the code into one Python exception.
 * Nothing in csrc/ outside csrc/py/ knows about Python.
 *
 * Prefixes: ep_ public, _ep_ shared-internal, EP_ macros.  ep_assert is
 * compiled in only with EP_DEBUG (set by sanitizer and debug builds).
 */
#ifndef EP_COMMON_H
#define EP_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define EP_LIKELY(x) __builtin_expect(!!(x), 1)
#define EP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EP_CACHELINE 64
#define EP_UNUSED(x) ((void)(x))

#ifdef EP_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define ep_assert(c)                                                         \
    do {                                                                     \
        if (EP_UNLIKELY(!(c))) {                                             \
            fprintf(stderr, "ep_assert failed: %s (%s:%d)\n", #c, __FILE__, \
                    __LINE__);                                               \
            abort();                                                         \
        }                                                                    \
    } while (0)
#else
#define ep_assert(c) ((void)0)
#endif

/* Sanitizer hooks: pooled memory is poisoned while it sits in a pool so ASan
 * reports a use of an object after it was put back. */
#if defined(EP_SANITIZE_ADDRESS) || defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define EP_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define EP_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define EP_POISON(p, n) ((void)(p), (void)(n))
#define EP_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Monotonic clock in nanoseconds. */
uint64_t ep_now_ns(void);

#endif
