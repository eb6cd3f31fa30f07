/* kernels_tar.c — TarBuffer: move 32 KiB from a source to a destination
 * through a 64 KiB copy buffer (io.CopyBuffer's shape: read into the buffer,
 * write out of it).
 *
 * impl=pool takes the buffer from the "tar" preset (not cleared), impl=std
 * allocates and frees it per op (1 alloc, 64 KiB per op), impl=memcpy does
 * the same two copies through a buffer it holds for the whole run: no buffer
 * management at all, the floor the other two are measured against.
 *
 * TarArchive writes a real ustar archive (ep_tar, deterministic mode) of a
 * fixed set of in-memory files — empty, sub-block, block-sized, 100 KiB, a
 * directory, a name longer than 100 bytes — into an in-memory sink.  Each
 * file gets its own 64 KiB copy buffer: from the "tar" pool (impl=pool) or
 * ep_alloc'd and freed (impl=std, one alloc per file).  The archive bytes do
 * not depend on the buffers, so both variants produce identical output,
 * which ep_bench_tar_archive() hands to the tests (tarfile, GNU tar).
 */
#include "ep_kernels.h"

#include <stdio.h>
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

/* arg: TB_POOLED (buffers from the 'tar' pool), TB_FIXED (one buffer held
 * for the run), or 0 (malloc'd per op). */
enum { TB_POOLED = 1, TB_FIXED = 2 };

static int tb_setup(void **state, unsigned threads, uintptr_t arg) {
    (void)threads;
    const int pooled = arg == TB_POOLED, fixed = arg == TB_FIXED;
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
    return _ep_setup_done(state, s, err, tb_teardown);
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

/* ---- TarArchive ----------------------------------------------------------- */

typedef struct tar_file {
    char name[160];
    char type;
    size_t size;
    uint8_t *data;
} tar_file;

static const size_t file_sizes[] = {0, 1, 100, 511, 512, 513, 4096, 32768, 65536, 102400};
#define NFILES (sizeof file_sizes / sizeof *file_sizes + 2) /* + a directory + a long name */

typedef struct ta_state {
    ep_bufpool *bp;
    tar_file files[NFILES];
    ep_tar_memsink out;     /* stands for the output file */
} ta_state;

static void ta_teardown(void *state) {
    ta_state *s = state;
    ep_bufpool_destroy(s->bp);
    for (size_t i = 0; i < NFILES; i++) free(s->files[i].data);
    free(s->out.data);
    free(s);
}

/* arg: 1 for copy buffers from the 'tar' pool, 0 for malloc'd ones. */
static int ta_setup(void **state, unsigned threads, uintptr_t pooled) {
    (void)threads;
    ta_state *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    size_t nf = 0;
    snprintf(s->files[nf].name, sizeof s->files[nf].name, "context/");
    s->files[nf++].type = EP_TAR_DIR;
    for (size_t i = 0; i < sizeof file_sizes / sizeof *file_sizes; i++, nf++) {
        tar_file *f = &s->files[nf];
        snprintf(f->name, sizeof f->name, "context/file-%zu-%zu.bin", i, file_sizes[i]);
        f->type = EP_TAR_REG;
        f->size = file_sizes[i];
    }
    tar_file *lf = &s->files[nf++];
    snprintf(lf->name, sizeof lf->name, "context/%s/Dockerfile",
             "a-directory-name-long-enough-to-need-the-ustar-prefix-field-or-a-gnu-longlink-entry-0123456789");
    lf->type = EP_TAR_REG;
    lf->size = 300;
    int err = 0;
    for (size_t i = 0; i < NFILES && !err; i++) {
        tar_file *f = &s->files[i];
        if (f->type != EP_TAR_REG) continue;
        if (!(f->data = malloc(f->size ? f->size : 1))) err = ENOMEM;
        for (size_t j = 0; !err && j < f->size; j++) f->data[j] = (uint8_t)(j * 31u + i * 7u + (j >> 9));
    }
    if (!err && pooled) err = ep_bufpool_preset("tar", &s->bp);
    return _ep_setup_done(state, s, err, ta_teardown);
}

/* Take / give back the copy buffer of one file. */
static int buf_take(ta_state *s, void **buf, size_t *cap) {
    if (s->bp) return ep_bufpool_get(s->bp, TB_BUF, buf, cap);
    *cap = TB_BUF;
    return (*buf = ep_alloc(TB_BUF)) ? 0 : ENOMEM;
}

static void buf_give(ta_state *s, void *buf, size_t cap) {
    if (s->bp)
        ep_bufpool_put(s->bp, buf, cap);
    else
        ep_free(buf, cap);
}

/* One whole archive into s->out, with a fresh copy buffer for every file
 * (the last one also serves the end-of-archive blocks). */
static int write_archive(ta_state *s) {
    s->out.len = 0;
    ep_tar_options opt = {.deterministic = 1, .mtime = 1700000000};
    ep_tar_writer w;
    void *buf = NULL;
    size_t cap = 0;
    int err = buf_take(s, &buf, &cap);
    if (err) return err;
    err = ep_tar_writer_init(&w, ep_tar_memsink_write, &s->out, buf, cap, &opt);
    for (size_t i = 0; i < NFILES && !err; i++) {
        const tar_file *f = &s->files[i];
        if (!buf) {
            if ((err = buf_take(s, &buf, &cap)) != 0) {
                buf = NULL;
                break;
            }
            if ((err = ep_tar_set_buffer(&w, buf, cap)) != 0) break;
        }
        ep_tar_entry e = {.name = f->name, .type = f->type, .mode = f->type == EP_TAR_DIR ? 0755 : 0644,
                          .size = f->size};
        err = f->type == EP_TAR_REG ? ep_tar_add_mem(&w, &e, f->data) : ep_tar_write_header(&w, &e);
        if (!err && i + 1 < NFILES) {
            err = ep_tar_set_buffer(&w, NULL, 0);  /* flush and detach */
            buf_give(s, buf, cap);
            buf = NULL;
        }
    }
    if (!err) err = ep_tar_finish(&w);
    if (buf) buf_give(s, buf, cap);
    return err;
}

static int ta_run(void *state, uint64_t n) {
    ta_state *s = state;
    for (uint64_t i = 0; i < n; i++) {
        int err = write_archive(s);
        if (EP_UNLIKELY(err)) return err;
        ep_bench_consume(s->out.data[s->out.len - 1]);
    }
    return 0;
}

static void ta_pool_stats(void *state, ep_pool_stats *out) {
    ep_bufpool_stats_read(((ta_state *)state)->bp, out);
}

int ep_bench_tar_archive(int pooled, ep_bench_tar_archive_fn fn, void *ctx) {
    void *st;
    int err = ta_setup(&st, 1, (uintptr_t)pooled);
    if (err) return err;
    ta_state *s = st;
    err = write_archive(s);
    for (size_t i = 0; i < NFILES && !err; i++) {
        const tar_file *f = &s->files[i];
        err = fn(ctx, f->name, f->type, f->data, f->size, NULL, 0);
    }
    if (!err) err = fn(ctx, NULL, 0, NULL, 0, s->out.data, s->out.len);
    ta_teardown(s);
    return err;
}

static const ep_bench_kernel kernels[] = {
    {.name = "TarBuffer", .variant = "impl=pool", .bytes_per_op = TB_DATA,
     .doc = "copy 32 KiB through a 64 KiB buffer from the 'tar' pool",
     .setup = tb_setup, .arg = TB_POOLED, .teardown = tb_teardown, .run = tb_pool_run, .pool_stats = tb_pool_stats},
    {.name = "TarBuffer", .variant = "impl=std", .bytes_per_op = TB_DATA,
     .doc = "copy 32 KiB through a 64 KiB buffer allocated and freed per op",
     .setup = tb_setup, .arg = 0, .teardown = tb_teardown, .run = tb_std_run},
    {.name = "TarBuffer", .variant = "impl=memcpy", .bytes_per_op = TB_DATA,
     .doc = "the same copies through one buffer held for the whole run (the floor)",
     .setup = tb_setup, .arg = TB_FIXED, .teardown = tb_teardown, .run = tb_memcpy_run},
    {.name = "TarArchive", .variant = "impl=pool",
     .doc = "ustar archive of 12 in-memory entries, a 'tar' pool copy buffer per file",
     .setup = ta_setup, .arg = 1, .teardown = ta_teardown, .run = ta_run, .pool_stats = ta_pool_stats},
    {.name = "TarArchive", .variant = "impl=std",
     .doc = "ustar archive of 12 in-memory entries, a malloc'd 64 KiB copy buffer per file",
     .setup = ta_setup, .arg = 0, .teardown = ta_teardown, .run = ta_run},
};
EP_BENCH_FAMILY(_ep_kernels_tar, kernels);
