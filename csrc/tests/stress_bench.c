/* stress_bench.c — every benchmark kernel through the harness, serial and on
 * a 3-thread team, several samples of several steps each, under ASan/UBSan
 * or TSan (tests/test_bench_sanitizers.py builds it).  Checks that every
 * iteration is done exactly once and that kernels with a known allocation
 * pattern report it exactly; the sanitizers check the rest (races in the
 * team hand-off, pool use across threads, leaks at close).
 */
#include "enginepools.h"

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(c, ...)                                   \
    do {                                                \
        if (!(c)) {                                     \
            fprintf(stderr, "FAIL %s: ", #c);           \
            fprintf(stderr, __VA_ARGS__);               \
            fputc('\n', stderr);                        \
            failures++;                                 \
        }                                               \
    } while (0)

static int cheap_kernel(const char *name) {
    return strstr(name, "WorkerPool/impl=std") || strstr(name, "1MiB") || strstr(name, "TarArchive");
}

int main(int argc, char **argv) {
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000;
    for (size_t i = 0; i < ep_bench_count(); i++) {
        const ep_bench_kernel *k = ep_bench_at(i);
        char name[256];
        ep_bench_fullname(k, name, sizeof name);
        uint64_t n = cheap_kernel(name) ? 20 : iters;
        for (unsigned threads = 1; threads <= 3; threads += 2) {
            ep_bench_run *r;
            int err = ep_bench_open(k, threads, &r);
            CHECK(err == 0, "%s: open with %u threads: %d", name, threads, err);
            if (err) continue;
            for (int sample = 0; sample < 3; sample++) {
                ep_bench_sample s;
                ep_bench_begin(r, &s);
                uint64_t left = n;
                while (left && !err) {
                    uint64_t c = ep_bench_chunk(r, left, 200000);
                    err = ep_bench_step(r, c, &s);
                    left -= c;
                }
                ep_bench_end(r, &s);
                CHECK(err == 0, "%s/%u: step failed: %d", name, threads, err);
                CHECK(s.n == n, "%s/%u: %llu iterations, want %llu", name, threads, (unsigned long long)s.n,
                      (unsigned long long)n);
                if (strcmp(name, "MallocFree/size=64") == 0 || strcmp(name, "HashBuffer/impl=std") == 0) {
                    uint64_t size = strstr(name, "Malloc") ? 64 : 32;
                    CHECK(s.alloc_objects == n && s.alloc_bytes == size * n, "%s/%u: %llu allocs %llu bytes", name,
                          threads, (unsigned long long)s.alloc_objects, (unsigned long long)s.alloc_bytes);
                }
            }
            ep_bench_close(r);
        }
        printf("%-28s ok\n", name);
    }
    if (failures) {
        fprintf(stderr, "stress_bench: %d failures\n", failures);
        return 1;
    }
    printf("stress_bench: ok (0 failures)\n");
    return 0;
}
