/* pipeline.c — ep_pipeline_run: walk, hash on the worker pool, tar (see ep_pipeline.h).
 *
 * Design: three phases on one entry table.  The walk (calling thread)
 * appends one entry per path, in archive order; the hash phase submits one
 * job per regular file (the job's argument is the entry itself, so
 * submitting allocates nothing) and each worker writes only its own entry;
 * the tar phase (calling thread again) reads the table in order.  The table
 * does not move after the walk, and ep_workerpool_wait orders the workers'
 * writes before the tar phase's reads.
 *
 * Where the pools come in: every transient object of the run — the string
 * builders of the walk (names of a directory, each relative path) and of the
 * image tags, the hash read buffer of each file, the tar copy buffer of each
 * entry — comes from its pool when that pool is on and from ep_alloc (freed
 * right after) when it is off.  Nothing else differs between configurations,
 * which is what makes the A/B measure the pools alone.
 *
 * Files are opened relative to the root's descriptor (openat, O_NOFOLLOW,
 * O_NONBLOCK) and fstat'ed, so a path swapped for a symlink or a fifo after
 * the walk is skipped rather than followed or blocked on.
 */
#include "ep_pipeline.h"

#include "ep_bufpool.h"
#include "ep_sha256.h"
#include "ep_strbuf.h"
#include "ep_tar.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_BUF ((size_t)64 << 10)
#define MAX_DEPTH 512
#define CHECK_EVERY_NS 20000000u /* check callback at most every 20 ms */

enum { ST_OK = 0, ST_UNREADABLE, ST_VANISHED, ST_SPECIAL };

typedef struct pl_ctx pl_ctx;

typedef struct pl_entry {
    char *rel;           /* ep_alloc'd, rel_len + 1 bytes */
    size_t rel_len;
    char *link;          /* symlinks: target, ep_alloc'd */
    size_t link_len;
    char type;           /* EP_TAR_REG / DIR / SYMLINK */
    unsigned char status;
    uint32_t mode;
    uint64_t size;       /* from lstat at walk time */
    int64_t mtime;
    uint64_t uid, gid;
    uint8_t sha[32];
    pl_ctx *ctx;
} pl_entry;

struct pl_ctx {
    const ep_pipeline_config *cfg;
    int rootfd;
    pl_entry *ent;
    size_t n, cap;
    ep_strbuf_pool *sp;  /* NULL = string pool off */
    ep_bufpool *hp, *tp; /* NULL = hash / tar pool off */
    size_t hash_bufsize, tar_bufsize;
    uint64_t last_check;
    int stop;            /* check callback asked to stop */
    ep_pipeline_result *res;
};

/* ---- transient objects: pooled or not ---------------------------------- */

static ep_strbuf *sb_get(pl_ctx *c) {
    if (c->sp) return ep_strbuf_pool_get(c->sp);
    ep_strbuf *sb = ep_alloc(sizeof *sb);
    if (!sb) return NULL;
    if (ep_strbuf_init(sb, 256)) {
        ep_free(sb, sizeof *sb);
        return NULL;
    }
    return sb;
}

static void sb_put(pl_ctx *c, ep_strbuf *sb) {
    if (!sb) return;
    if (c->sp) {
        ep_strbuf_pool_put(c->sp, sb);
        return;
    }
    ep_strbuf_free(sb);
    ep_free(sb, sizeof *sb);
}

static void *buf_get(ep_bufpool *bp, size_t size, size_t *cap) {
    void *b = NULL;
    if (bp) return ep_bufpool_get(bp, size, &b, cap) ? NULL : b;
    *cap = size;
    return ep_alloc(size);
}

static void buf_put(ep_bufpool *bp, void *b, size_t cap) {
    if (!b) return;
    if (bp) ep_bufpool_put(bp, b, cap);
    else ep_free(b, cap);
}

/* ---- check callback, throttled ----------------------------------------- */

static int check(pl_ctx *c, int phase, int force) {
    if (c->stop) return 1;
    if (!c->cfg->check) return 0;
    uint64_t now = ep_now_ns();
    if (!force && !c->cfg->check_every_entry && now - c->last_check < CHECK_EVERY_NS) return 0;
    c->last_check = now;
    if (c->cfg->check(c->cfg->check_ctx, phase)) c->stop = 1;
    return c->stop;
}

/* ---- walk --------------------------------------------------------------- */

static int add_entry(pl_ctx *c, const char *rel, size_t len, pl_entry **out) {
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 256;
        pl_entry *ne = ep_realloc(c->ent, c->cap * sizeof *ne, ncap * sizeof *ne);
        if (!ne) return ENOMEM;
        c->ent = ne;
        c->cap = ncap;
    }
    char *p = ep_alloc(len + 1);
    if (!p) return ENOMEM;
    memcpy(p, rel, len);
    p[len] = 0;
    pl_entry *e = &c->ent[c->n++];
    memset(e, 0, sizeof *e);
    e->rel = p;
    e->rel_len = len;
    e->ctx = c;
    *out = e;
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int walk_dir(pl_ctx *c, int dfd, const char *rel, size_t rel_len, int depth);

/* A symlink's target, copied to an exact ep_alloc'd string.  Kept out of
 * walk_name so its PATH_MAX buffer is not on the stack once per level of a
 * deep tree. */
__attribute__((noinline)) static int read_link(int dfd, const char *name, char **out, size_t *len) {
    char buf[PATH_MAX];
    ssize_t n = readlinkat(dfd, name, buf, sizeof buf - 1);
    if (n < 0) return errno ? errno : EIO;
    char *p = ep_alloc((size_t)n + 1);
    if (!p) return ENOMEM;
    memcpy(p, buf, (size_t)n);
    p[n] = 0;
    *out = p;
    *len = (size_t)n;
    return 0;
}

/* One name of a directory: lstat, record, recurse into directories. */
static int walk_name(pl_ctx *c, int dfd, const char *name, const char *prefix, size_t prefix_len, int depth) {
    ep_pipeline_result *r = c->res;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) r->skipped_vanished++;
        else r->skipped_unreadable++;
        return 0;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
        r->skipped_special++;
        return 0;
    }
    ep_strbuf *sb = sb_get(c);
    if (!sb) return ENOMEM;
    int err = 0;
    if (prefix_len) {
        err = ep_strbuf_append(sb, prefix, prefix_len);
        if (!err) err = ep_strbuf_append(sb, "/", 1);
    }
    if (!err) err = ep_strbuf_append_cstr(sb, name);
    if (!err && sb->len >= PATH_MAX) { /* cannot be opened by path, nor archived: skip the subtree */
        r->skipped_unreadable++;
        sb_put(c, sb);
        return 0;
    }
    char *link = NULL;
    size_t ln = 0;
    if (!err && S_ISLNK(st.st_mode)) {
        int rerr = read_link(dfd, name, &link, &ln);
        if (rerr == ENOMEM) {
            err = ENOMEM;
        } else if (rerr) {
            if (rerr == ENOENT) r->skipped_vanished++;
            else r->skipped_unreadable++;
            sb_put(c, sb);
            return 0;
        } else {
            struct stat tst;
            if (fstatat(dfd, name, &tst, 0) != 0) r->dangling_symlinks++;
        }
    }
    pl_entry *e = NULL;
    if (!err) err = add_entry(c, sb->data, sb->len, &e);
    if (!err) {
        e->type = S_ISREG(st.st_mode) ? EP_TAR_REG : S_ISDIR(st.st_mode) ? EP_TAR_DIR : EP_TAR_SYMLINK;
        e->mode = (uint32_t)st.st_mode & 07777;
        e->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
        e->mtime = (int64_t)st.st_mtime;
        e->uid = st.st_uid;
        e->gid = st.st_gid;
        e->link = link; /* the entry owns it now */
        e->link_len = ln;
        link = NULL;
    }
    if (link) ep_free(link, ln + 1);
    if (!err && S_ISDIR(st.st_mode)) {
        if (depth >= MAX_DEPTH) {
            r->unreadable_dirs++;
        } else {
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
                    /* gone or replaced since the lstat: drop the entry */
                    c->n--;
                    ep_free(e->rel, e->rel_len + 1);
                    r->skipped_vanished++;
                } else {
                    r->unreadable_dirs++;
                }
            } else {
                /* the entry table may move while the subtree is walked: keep the path in sb */
                err = walk_dir(c, sub, sb->data, sb->len, depth + 1); /* closes sub */
            }
        }
    }
    sb_put(c, sb);
    return err;
}

/* Walk the directory open on dfd (closed here). */
static int walk_dir(pl_ctx *c, int dfd, const char *rel, size_t rel_len, int depth) {
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        c->res->unreadable_dirs++;
        return 0;
    }
    /* names into one builder (NUL-separated), offsets into an array */
    ep_strbuf *names = sb_get(c);
    size_t ncap = 64, n = 0;
    size_t *off = ep_alloc(ncap * sizeof *off);
    int err = (!names || !off) ? ENOMEM : 0;
    struct dirent *de;
    while (!err && (errno = 0, de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        if (n == ncap) {
            size_t *no = ep_realloc(off, ncap * sizeof *off, 2 * ncap * sizeof *off);
            if (!no) {
                err = ENOMEM;
                break;
            }
            off = no;
            ncap *= 2;
        }
        off[n++] = names->len;
        err = ep_strbuf_append(names, de->d_name, strlen(de->d_name) + 1);
    }
    if (!err && errno) c->res->unreadable_dirs++; /* readdir failed part way: keep what we have */
    const char **sorted = NULL;
    if (!err && n) {
        sorted = ep_alloc(n * sizeof *sorted);
        if (!sorted) err = ENOMEM;
        for (size_t i = 0; !err && i < n; i++) sorted[i] = names->data + off[i];
        if (!err) qsort(sorted, n, sizeof *sorted, cmp_names);
    }
    for (size_t i = 0; !err && i < n; i++) {
        if (check(c, EP_PIPELINE_PHASE_WALK, 0)) {
            err = EINTR;
            break;
        }
        err = walk_name(c, dirfd(d), sorted[i], rel, rel_len, depth);
    }
    if (sorted) ep_free(sorted, n * sizeof *sorted);
    if (off) ep_free(off, ncap * sizeof *off);
    sb_put(c, names);
    closedir(d);
    return err;
}

/* ---- hash ---------------------------------------------------------------- */

static int open_entry(pl_ctx *c, pl_entry *e, struct stat *st) {
    int fd = openat(c->rootfd, e->rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        e->status = (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ? ST_VANISHED : ST_UNREADABLE;
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        e->status = S_ISREG(st->st_mode) ? ST_UNREADABLE : ST_SPECIAL;
        close(fd);
        return -1;
    }
    return fd;
}

static void hash_job(void *arg) {
    pl_entry *e = arg;
    pl_ctx *c = e->ctx;
    struct stat st;
    int fd = open_entry(c, e, &st);
    if (fd < 0) return;
    size_t cap = 0;
    unsigned char *buf = buf_get(c->hp, c->hash_bufsize, &cap);
    if (!buf) {
        e->status = ST_UNREADABLE;
        close(fd);
        return;
    }
    ep_sha256_ctx h;
    ep_sha256_init(&h);
    for (;;) {
        ssize_t r = read(fd, buf, c->hash_bufsize);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            e->status = ST_UNREADABLE;
            break;
        }
        if (r == 0) break;
        ep_sha256_update(&h, buf, (size_t)r);
    }
    buf_put(c->hp, buf, cap);
    close(fd);
    if (e->status == ST_OK) {
        ep_sha256_final(&h, e->sha);
        e->size = (uint64_t)h.total; /* what was hashed */
    }
}

static int hash_all(pl_ctx *c, ep_workerpool *wp) {
    for (size_t i = 0; i < c->n; i++) {
        pl_entry *e = &c->ent[i];
        if (e->type != EP_TAR_REG) continue;
        for (;;) {
            int err = ep_workerpool_submit_timed(wp, hash_job, e, CHECK_EVERY_NS);
            if (err == 0) break;
            if (err != ETIMEDOUT) return err;
            if (check(c, EP_PIPELINE_PHASE_HASH, 1)) return EINTR;
        }
    }
    for (;;) {
        int err = ep_workerpool_wait_timed(wp, CHECK_EVERY_NS);
        if (err == 0) return 0;
        if (err != ETIMEDOUT) return err;
        if (check(c, EP_PIPELINE_PHASE_HASH, 1)) return EINTR;
    }
}

/* ---- tar and tags ------------------------------------------------------- */

static const char HEX[] = "0123456789abcdef";

static void hex32(const uint8_t *d, char *out) {
    for (int i = 0; i < 32; i++) {
        out[2 * i] = HEX[d[i] >> 4];
        out[2 * i + 1] = HEX[d[i] & 15];
    }
    out[64] = 0;
}

/* Length of the top-level component of rel (the layer it belongs to). */
static size_t layer_len(const pl_entry *e) {
    const char *s = memchr(e->rel, '/', e->rel_len);
    return s ? (size_t)(s - e->rel) : e->rel_len;
}

typedef struct tagger {
    ep_sha256_ctx layer, image;
    const char *layer_name;
    size_t layer_name_len;
    int open;
} tagger;

/* Close the current layer: its tag "layer/<name>@sha256:<hex>" goes into the image digest. */
static int tag_layer_end(pl_ctx *c, tagger *t) {
    if (!t->open) return 0;
    uint8_t d[32];
    char hx[65];
    ep_sha256_final(&t->layer, d);
    hex32(d, hx);
    ep_strbuf *sb = sb_get(c);
    if (!sb) return ENOMEM;
    int err = ep_strbuf_append(sb, "layer/", 6);
    if (!err) err = ep_strbuf_append(sb, t->layer_name, t->layer_name_len);
    if (!err) err = ep_strbuf_append(sb, "@sha256:", 8);
    if (!err) err = ep_strbuf_append(sb, hx, 64);
    if (!err) err = ep_strbuf_append(sb, "\n", 1);
    if (!err) ep_sha256_update(&t->image, sb->data, sb->len);
    sb_put(c, sb);
    c->res->tag_strings++;
    t->open = 0;
    return err;
}

/* Per archived entry: "<path> <mode> <size> sha256:<hex>\n" into its layer's digest. */
static int tag_entry(pl_ctx *c, tagger *t, const pl_entry *e) {
    size_t ll = layer_len(e);
    if (t->open && (ll != t->layer_name_len || memcmp(e->rel, t->layer_name, ll) != 0)) {
        int err = tag_layer_end(c, t);
        if (err) return err;
    }
    if (!t->open) {
        ep_sha256_init(&t->layer);
        t->layer_name = e->rel;
        t->layer_name_len = ll;
        t->open = 1;
    }
    ep_strbuf *sb = sb_get(c);
    if (!sb) return ENOMEM;
    char num[64], hx[65];
    int err = ep_strbuf_append(sb, e->rel, e->rel_len);
    snprintf(num, sizeof num, " %o %llu ", (unsigned)e->mode, (unsigned long long)e->size);
    if (!err) err = ep_strbuf_append_cstr(sb, num);
    if (!err && e->type == EP_TAR_REG) {
        hex32(e->sha, hx);
        err = ep_strbuf_append(sb, "sha256:", 7);
        if (!err) err = ep_strbuf_append(sb, hx, 64);
    } else if (!err && e->type == EP_TAR_SYMLINK) {
        err = ep_strbuf_append(sb, "-> ", 3);
        if (!err) err = ep_strbuf_append(sb, e->link, e->link_len);
    }
    if (!err) err = ep_strbuf_append(sb, "\n", 1);
    if (!err) ep_sha256_update(&t->layer, sb->data, sb->len);
    sb_put(c, sb);
    c->res->tag_strings++;
    return err;
}

typedef struct out_sink {
    int fd;
    uint64_t bytes;
} out_sink;

static int sink_write(void *ctx, const void *data, size_t n) {
    out_sink *s = ctx;
    s->bytes += n;
    return s->fd < 0 ? 0 : ep_tar_fd_write((void *)(intptr_t)s->fd, data, n);
}

static int tar_all(pl_ctx *c, ep_tar_writer *w, tagger *t) {
    ep_pipeline_result *r = c->res;
    for (size_t i = 0; i < c->n; i++) {
        pl_entry *e = &c->ent[i];
        if (check(c, EP_PIPELINE_PHASE_TAR, 0)) return EINTR;
        if (e->status != ST_OK) continue;
        int fd = -1;
        struct stat st;
        ep_tar_entry te = {
            .name = e->rel, .type = e->type, .mode = e->mode, .mtime = e->mtime,
            .uid = e->uid, .gid = e->gid, .linkname = e->link,
        };
        if (e->type == EP_TAR_REG) {
            fd = open_entry(c, e, &st);
            if (fd < 0) continue;
            te.size = (uint64_t)st.st_size;
            if (te.size != e->size) r->changed++;
        }
        size_t cap = 0;
        void *buf = buf_get(c->tp, c->tar_bufsize, &cap);
        int err = buf ? ep_tar_set_buffer(w, buf, cap) : ENOMEM;
        if (!err) err = fd >= 0 ? ep_tar_add_fd(w, &te, fd) : ep_tar_add_mem(w, &te, NULL);
        if (fd >= 0) close(fd);
        if ((err == ENODATA || err == EIO) && !ep_tar_error(w)) { /* padded; archive intact */
            r->changed++;
            err = 0;
        }
        int derr = ep_tar_set_buffer(w, NULL, 0);
        buf_put(c->tp, buf, cap);
        if (err) return err;
        if (derr) return derr;
        if (e->type == EP_TAR_REG) {
            r->files++;
            r->bytes_archived += te.size;
        } else if (e->type == EP_TAR_DIR) {
            r->dirs++;
        } else {
            r->symlinks++;
        }
        err = tag_entry(c, t, e);
        if (err) return err;
    }
    int err = tag_layer_end(c, t);
    if (err) return err;
    size_t cap = 0;
    void *buf = buf_get(c->tp, c->tar_bufsize, &cap);
    err = buf ? ep_tar_set_buffer(w, buf, cap) : ENOMEM;
    if (!err) err = ep_tar_finish(w);
    if (!err) err = ep_tar_set_buffer(w, NULL, 0);
    buf_put(c->tp, buf, cap);
    return err;
}

/* ---- run ---------------------------------------------------------------- */

static void free_entries(pl_ctx *c) {
    for (size_t i = 0; i < c->n; i++) {
        ep_free(c->ent[i].rel, c->ent[i].rel_len + 1);
        if (c->ent[i].link) ep_free(c->ent[i].link, c->ent[i].link_len + 1);
    }
    if (c->ent) ep_free(c->ent, c->cap * sizeof *c->ent);
    c->ent = NULL;
    c->n = c->cap = 0;
}

static int keep_files(pl_ctx *c, ep_pipeline_result *r) {
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) n += c->ent[i].type == EP_TAR_REG && c->ent[i].status == ST_OK;
    r->file_list = NULL;
    r->nfiles = 0;
    if (!n) return 0;
    /* plain malloc: the result outlives the run and is not part of its accounting */
    ep_pipeline_file *f = calloc(n, sizeof *f);
    if (!f) return ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        pl_entry *e = &c->ent[i];
        if (e->type != EP_TAR_REG || e->status != ST_OK) continue;
        f[k].path = strdup(e->rel);
        if (!f[k].path) {
            r->file_list = f;
            r->nfiles = k;
            ep_pipeline_result_free(r);
            return ENOMEM;
        }
        f[k].size = e->size;
        memcpy(f[k].sha256, e->sha, 32);
        k++;
    }
    r->file_list = f;
    r->nfiles = k;
    return 0;
}

void ep_pipeline_result_free(ep_pipeline_result *res) {
    if (!res || !res->file_list) return;
    for (size_t i = 0; i < res->nfiles; i++) free(res->file_list[i].path);
    free(res->file_list);
    res->file_list = NULL;
    res->nfiles = 0;
}

static unsigned default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 8) n = 8;
    return (unsigned)n;
}

int ep_pipeline_run(const ep_pipeline_config *cfg, ep_pipeline_result *res) {
    if (!cfg || !res || !cfg->root || (cfg->pools & ~EP_PIPELINE_ALL)) return EINVAL;
    size_t hb = cfg->hash_bufsize ? cfg->hash_bufsize : DEFAULT_BUF;
    size_t tb = cfg->tar_bufsize ? cfg->tar_bufsize : DEFAULT_BUF;
    if (hb > EP_BUFPOOL_MAX_CLASS || tb > EP_BUFPOOL_MAX_CLASS || tb < EP_TAR_BLOCK) return EINVAL;
    uint64_t t0 = ep_now_ns();
    ep_alloc_counters a0;
    ep_alloc_counters_read(&a0);

    ep_pipeline_result r;
    memset(&r, 0, sizeof r);
    r.threads = cfg->threads ? cfg->threads : default_threads();
    pl_ctx c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.res = &r;
    c.hash_bufsize = hb;
    c.tar_bufsize = tb;
    c.last_check = t0;

    c.rootfd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.rootfd < 0) return errno;
    int err = 0;
    if (cfg->pools & EP_PIPELINE_STRING) err = ep_strbuf_pool_create(256, 4096, &c.sp);
    if (!err && (cfg->pools & EP_PIPELINE_HASH)) err = ep_bufpool_preset("hash", &c.hp);
    if (!err && (cfg->pools & EP_PIPELINE_TAR)) err = ep_bufpool_preset("tar", &c.tp);
    ep_workerpool *wp = NULL;
    if (!err) err = ep_workerpool_create(r.threads, 64, &wp);

    /* walk */
    if (!err) {
        int dfd = dup(c.rootfd);
        err = dfd < 0 ? errno : walk_dir(&c, dfd, "", 0, 0);
        if (!err && check(&c, EP_PIPELINE_PHASE_WALKED, 1)) err = EINTR;
    }
    uint64_t t1 = ep_now_ns();
    r.walk_ns = t1 - t0;

    /* hash */
    if (!err) err = hash_all(&c, wp);
    if (wp) {
        ep_workerpool_shutdown(wp, err == 0);
        ep_workerpool_stats_read(wp, &r.workers);
        ep_workerpool_destroy(wp);
    }
    for (size_t i = 0; !err && i < c.n; i++) {
        pl_entry *e = &c.ent[i];
        if (e->type != EP_TAR_REG) continue;
        if (e->status == ST_OK) r.bytes_hashed += e->size;
        else if (e->status == ST_VANISHED) r.skipped_vanished++;
        else if (e->status == ST_SPECIAL) r.skipped_special++;
        else r.skipped_unreadable++;
    }
    if (!err && check(&c, EP_PIPELINE_PHASE_HASHED, 1)) err = EINTR;
    uint64_t t2 = ep_now_ns();
    r.hash_ns = t2 - t1;

    /* tar + tags: entries skipped here (vanished since hashing) are counted by status */
    if (!err) {
        out_sink sink = {.fd = cfg->out_fd, .bytes = 0};
        ep_tar_writer w;
        ep_tar_options opt = {.deterministic = cfg->deterministic, .mtime = cfg->mtime};
        char dummy[EP_TAR_BLOCK];
        tagger t;
        memset(&t, 0, sizeof t);
        ep_sha256_init(&t.image);
        for (size_t i = 0; i < c.n; i++) c.ent[i].status = c.ent[i].status ? c.ent[i].status | 0x80 : 0;
        err = ep_tar_writer_init(&w, sink_write, &sink, dummy, sizeof dummy, &opt);
        if (!err) err = ep_tar_set_buffer(&w, NULL, 0);
        if (!err) err = tar_all(&c, &w, &t);
        for (size_t i = 0; !err && i < c.n; i++) { /* newly failed at archive time */
            unsigned char s = c.ent[i].status;
            if (s == ST_VANISHED) r.skipped_vanished++;
            else if (s == ST_SPECIAL) r.skipped_special++;
            else if (s == ST_UNREADABLE) r.skipped_unreadable++;
        }
        r.archive_bytes = sink.bytes;
        if (!err) {
            uint8_t d[32];
            ep_sha256_final(&t.image, d);
            memcpy(r.image_tag, "sha256:", 7);
            hex32(d, r.image_tag + 7);
        }
    }
    uint64_t t3 = ep_now_ns();
    r.tar_ns = t3 - t2;
    if (!err && cfg->keep_files) err = keep_files(&c, &r);

    if (c.sp) ep_strbuf_pool_stats_read(c.sp, &r.string_pool);
    if (c.hp) ep_bufpool_stats_read(c.hp, &r.hash_pool);
    if (c.tp) ep_bufpool_stats_read(c.tp, &r.tar_pool);
    free_entries(&c);
    ep_strbuf_pool_destroy(c.sp);
    ep_bufpool_destroy(c.hp);
    ep_bufpool_destroy(c.tp);
    close(c.rootfd);
    ep_alloc_counters a1;
    ep_alloc_counters_read(&a1);
    r.alloc.alloc_bytes = a1.alloc_bytes - a0.alloc_bytes;
    r.alloc.alloc_objects = a1.alloc_objects - a0.alloc_objects;
    r.alloc.free_bytes = a1.free_bytes - a0.free_bytes;
    r.alloc.free_objects = a1.free_objects - a0.free_objects;
    r.total_ns = ep_now_ns() - t0;
    if (err) {
        ep_pipeline_result_free(&r);
        memset(res, 0, sizeof *res);
        return err;
    }
    *res = r;
    return 0;
}
