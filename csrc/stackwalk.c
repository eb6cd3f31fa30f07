/* stackwalk.c — frame-pointer stack capture, safe in a signal handler.
 *
 * Design: the library is built with -fno-omit-frame-pointer, so each frame
 * starts with (saved frame pointer, return address).  The walk follows that
 * chain upward.  Code built without frame pointers (libc, the interpreter)
 * breaks the chain; the walk must then stop rather than fault, so every read
 * is checked: frames must lie above the current stack pointer, strictly
 * increase, be 8-aligned and stay below the thread's stack top.  The top is
 * cached per thread (initial-exec TLS, readable from a signal handler); a
 * signal landing on a thread whose top is unknown probes each new page with
 * write() to a pipe (EFAULT instead of SIGSEGV) before reading it.
 *
 * Unwinding with DWARF (_Unwind_Backtrace) would see through frame-pointer-
 * less code but takes loader locks, so it is not safe in SIGPROF.
 */
#include "enginepools.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <ucontext.h>
#include <unistd.h>

static __thread uintptr_t tl_stack_lo, tl_stack_hi __attribute__((tls_model("initial-exec")));
static _Atomic int probe_rd = -1, probe_wr = -1;
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

#define PAGE_MASK (~(uintptr_t)4095)
#define PROBE_SPAN ((uintptr_t)64 << 20) /* no stack walk goes further */

int ep_stack_thread_init(void) {
    if (tl_stack_hi) return 0;
    pthread_attr_t a;
    void *addr;
    size_t size;
    int err = pthread_getattr_np(pthread_self(), &a);
    if (err) return err;
    err = pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    if (err) return err;
    tl_stack_lo = (uintptr_t)addr;
    tl_stack_hi = (uintptr_t)addr + size;
    return 0;
}

int ep_stack_probe_init(void) {
    int err = 0;
    pthread_mutex_lock(&probe_lock);
    if (atomic_load(&probe_wr) < 0) {
        int fd[2];
        if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) != 0) {
            err = errno;
        } else {
            atomic_store(&probe_rd, fd[0]);
            atomic_store(&probe_wr, fd[1]);
        }
    }
    pthread_mutex_unlock(&probe_lock);
    return err;
}

/* Is [addr, addr+16) readable?  write() reports EFAULT for unmapped memory
 * instead of raising SIGSEGV; the bytes are drained at once. */
static int probe(uintptr_t addr) {
    int wr = atomic_load_explicit(&probe_wr, memory_order_relaxed);
    int rd = atomic_load_explicit(&probe_rd, memory_order_relaxed);
    if (wr < 0) return 0;
    if (write(wr, (const void *)addr, 16) != 16) return 0;
    char sink[64];
    while (read(rd, sink, sizeof sink) > 0) {}
    return 1;
}

/* Follow the frame-pointer chain from `fp`; frames must lie in [sp, hi).
 * hi == 0: unknown top, probe each new page. */
static size_t walk(uintptr_t fp, uintptr_t sp, uintptr_t hi, uintptr_t *pcs, size_t n,
                   size_t max, size_t skip) {
    uintptr_t ok_lo = 1, ok_hi = 0; /* page range already probed */
    uintptr_t limit = hi ? hi : sp + PROBE_SPAN;
    while (n < max) {
        if (fp < sp || (fp & 7) || fp > limit - 16) break;
        if (!hi && !(fp >= ok_lo && fp + 16 <= ok_hi)) {
            if (!probe(fp)) break;
            ok_lo = fp & PAGE_MASK;
            ok_hi = ((fp + 16 + 4095) & PAGE_MASK);
        }
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0], ret = frame[1];
        /* a "return address" that is small or points into the stack is
         * data: the chain has left frame-pointer code */
        if (ret < 65536 || (ret >= sp && ret < limit)) break; /* 64 KiB: mmap_min_addr */
        if (skip) skip--;
        else pcs[n++] = ret;
        if (next <= fp) break;
        sp = fp + 16;
        fp = next;
    }
    return n;
}

/* The cached stack top when `sp` is on the thread's own stack, else 0 (on a
 * coroutine or alternate stack: probe instead). */
static inline uintptr_t top_of(uintptr_t sp) {
    uintptr_t lo = tl_stack_lo, hi = tl_stack_hi;
    return (hi && sp >= lo && sp < hi) ? hi : 0;
}

__attribute__((noinline)) size_t ep_stack_capture(uintptr_t *pcs, size_t max, size_t skip) {
    if (!tl_stack_hi) ep_stack_thread_init();
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    return walk(fp, fp, top_of(fp), pcs, 0, max, skip);
}

size_t ep_stack_capture_uc(const void *ucontext, uintptr_t *pcs, size_t max) {
    const ucontext_t *uc = ucontext;
    uintptr_t pc, fp, sp;
#if defined(__x86_64__)
    pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    pc = (uintptr_t)uc->uc_mcontext.pc;
    fp = (uintptr_t)uc->uc_mcontext.regs[29];
    sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0;
#endif
    if (max == 0) return 0;
    pcs[0] = pc;
    return walk(fp, sp, top_of(sp), pcs, 1, max, 0);
}
