/* stress_prof.c — the heap and CPU profilers under threads (no Python).
 *
 * THREADS workers allocate, reallocate and free random sizes through
 * ep_alloc & co. (keeping up to 64 blocks live each) while the CPU profiler
 * samples at 1000 Hz and the main thread takes heap and CPU snapshots in a
 * loop.  Checks at rate 1: every allocation and free made during the session
 * is in the heap profile exactly (against ep_alloc's own counters), and
 * nothing is in use at the end; at rate 4096 the same runs for races and
 * in-use must again be 0.  Built plain and under ASan/TSan (Makefile).
 *
 *   stress_prof [iterations per thread]
 */
#include "enginepools.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define KEEP 64

static uint64_t iters = 200000;
static volatile int workers_done;
static int failures;

#define CHECK(c, ...)                                          \
    do {                                                       \
        if (!(c)) {                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                      \
            fputc('\n', stderr);                               \
            failures++;                                        \
        }                                                      \
    } while (0)

static uint64_t xs(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void *worker(void *arg) {
    uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    void *live[KEEP] = {0};
    size_t sz[KEEP] = {0};
    for (uint64_t i = 0; i < iters; i++) {
        unsigned k = (unsigned)(xs(&seed) % KEEP);
        size_t size = 1 + xs(&seed) % 8192;
        if (live[k] && (xs(&seed) & 3) == 0) {
            void *q = ep_realloc(live[k], sz[k], size);
            if (q) {
                live[k] = q;
                sz[k] = size;
            }
            continue;
        }
        if (live[k]) ep_free(live[k], sz[k]);
        live[k] = (xs(&seed) & 1) ? ep_alloc(size) : ep_calloc(size);
        sz[k] = size;
        if (live[k]) memset(live[k], (int)i, size < 64 ? size : 64);
    }
    for (unsigned k = 0; k < KEEP; k++) ep_free(live[k], sz[k]);
    return NULL;
}

static void totals(ep_heapprof_snap *s, uint64_t t[4]) {
    memset(t, 0, 4 * sizeof *t);
    for (size_t i = 0; i < s->n; i++) {
        t[0] += s->e[i].alloc_objects;
        t[1] += s->e[i].alloc_bytes;
        t[2] += s->e[i].free_objects;
        t[3] += s->e[i].free_bytes;
    }
}

/* A snapshot is one consistent moment: its entries' in-use adds up to its
 * in-use total, their values at the peak add up to the peak. */
static void check_peak(const ep_heapprof_snap *s) {
    uint64_t inuse = 0, peak = 0, peak_objs = 0;
    for (size_t i = 0; i < s->n; i++) {
        inuse += s->e[i].alloc_bytes - s->e[i].free_bytes;
        peak += s->e[i].peak_bytes;
        peak_objs += s->e[i].peak_objects;
        CHECK(s->e[i].peak_bytes <= s->e[i].alloc_bytes, "entry %zu: more in use at the peak than allocated", i);
    }
    CHECK(inuse == s->inuse_bytes, "in use %llu, entries say %llu", (unsigned long long)s->inuse_bytes,
          (unsigned long long)inuse);
    CHECK(peak == s->peak_bytes && peak_objs == s->peak_objects, "peak %llu, entries say %llu",
          (unsigned long long)s->peak_bytes, (unsigned long long)peak);
    CHECK(s->peak_bytes >= s->inuse_bytes && s->peak_event <= s->events, "peak below in use");
}

static void run(uint64_t rate) {
    ep_alloc_counters before, after;
    CHECK(ep_heapprof_start(rate, 42) == 0, "heapprof_start(%llu)", (unsigned long long)rate);
    ep_alloc_counters_read(&before);
    pthread_t th[THREADS];
    workers_done = 0;
    for (uintptr_t i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(i + 1));
    unsigned snaps = 0;
    for (int i = 0; i < 20; i++) { /* snapshots race with the workers */
        ep_heapprof_snap s;
        ep_cpuprof_snap c;
        if (ep_heapprof_snapshot(&s) == 0) {
            snaps++;
            check_peak(&s);
            ep_heapprof_snap_free(&s);
        }
        ep_heapprof_inuse_point pt;
        const char *names[8];
        uint64_t bytes[8], sum = 0;
        size_t np = ep_heapprof_inuse(&pt, names, bytes, 8);
        for (size_t k = 0; k < np; k++) sum += bytes[k];
        CHECK(np >= 1 && sum == pt.inuse_bytes, "in use by tag %llu, total %llu", (unsigned long long)sum,
              (unsigned long long)pt.inuse_bytes);
        if (ep_cpuprof_snapshot(&c) == 0) ep_cpuprof_snap_free(&c);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    ep_alloc_counters_read(&after);
    ep_heapprof_stop();
    ep_heapprof_snap s;
    CHECK(ep_heapprof_snapshot(&s) == 0, "snapshot");
    uint64_t t[4];
    totals(&s, t);
    CHECK(s.dropped == 0, "dropped %llu", (unsigned long long)s.dropped);
    check_peak(&s);
    CHECK(s.inuse_bytes == 0 && s.peak_bytes > 0, "in use %llu at the end, peak %llu",
          (unsigned long long)s.inuse_bytes, (unsigned long long)s.peak_bytes);
    CHECK(t[0] == t[2] && t[1] == t[3], "in use at the end: %llu objects, %llu bytes",
          (unsigned long long)(t[0] - t[2]), (unsigned long long)(t[1] - t[3]));
    if (rate == 1) {
        CHECK(t[0] == after.alloc_objects - before.alloc_objects, "alloc objects %llu, counted %llu",
              (unsigned long long)t[0], (unsigned long long)(after.alloc_objects - before.alloc_objects));
        CHECK(t[1] == after.alloc_bytes - before.alloc_bytes, "alloc bytes %llu, counted %llu",
              (unsigned long long)t[1], (unsigned long long)(after.alloc_bytes - before.alloc_bytes));
        CHECK(t[2] == after.free_objects - before.free_objects, "free objects %llu, counted %llu",
              (unsigned long long)t[2], (unsigned long long)(after.free_objects - before.free_objects));
    } else {
        CHECK(t[0] > 0 && t[0] < after.alloc_objects - before.alloc_objects, "sampled %llu of %llu",
              (unsigned long long)t[0], (unsigned long long)(after.alloc_objects - before.alloc_objects));
    }
    printf("rate %-6llu  %zu stacks, %llu sampled allocations, %u concurrent snapshots\n",
           (unsigned long long)rate, s.n, (unsigned long long)t[0], snaps);
    ep_heapprof_snap_free(&s);
}

int main(int argc, char **argv) {
    if (argc > 1) iters = strtoull(argv[1], NULL, 10);
    CHECK(ep_cpuprof_start(1000) == 0, "cpuprof_start");
    run(1);
    run(4096);
    ep_cpuprof_snap c;
    CHECK(ep_cpuprof_snapshot(&c) == 0, "cpu snapshot");
    uint64_t samples = 0;
    for (size_t i = 0; i < c.n; i++) samples += c.count[i];
    printf("cpu: %llu samples in %zu stacks, %llu dropped\n", (unsigned long long)samples, c.n,
           (unsigned long long)c.dropped);
    ep_cpuprof_snap_free(&c);
    ep_cpuprof_stop();
    printf("stress_prof: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
