/* tar.c — ep_tar_writer: a streaming ustar writer (see ep_tar.h for format).
 *
 * Design: everything the archive contains passes through the caller's copy
 * buffer; the writer never allocates.  Headers are built in place in the
 * buffer, file contents are read() straight into it, and the buffer is handed
 * to the output callback whenever it is full.  So the only memory the archive
 * costs is that one buffer, whoever supplied it.
 *
 * Invariants: cap is a multiple of 512; between entries out_bytes (and len)
 * are multiples of 512, so a header always fits in the free part of the
 * buffer after at most one flush; `pending` counts the content bytes the
 * current entry still owes, and no header is accepted while it is nonzero;
 * after an output error (err != 0) nothing more is written.
 */
#include "ep_tar.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_LEN 100
#define PREFIX_LEN 155
#define LONGLINK_NAME "././@LongLink"
#define MAX_PATH_BYTES 4096

/* header field offsets / widths (POSIX ustar) */
enum {
    F_NAME = 0, F_MODE = 100, F_UID = 108, F_GID = 116, F_SIZE = 124, F_MTIME = 136,
    F_CHKSUM = 148, F_TYPE = 156, F_LINK = 157, F_MAGIC = 257, F_VERSION = 263,
    F_UNAME = 265, F_GNAME = 297, F_DEVMAJ = 329, F_DEVMIN = 337, F_PREFIX = 345,
};

int ep_tar_writer_init(ep_tar_writer *w, ep_tar_write_fn write, void *ctx, void *buf, size_t cap,
                       const ep_tar_options *opt) {
    if (!w || !write || !buf || cap < EP_TAR_BLOCK) return EINVAL;
    ep_tar_options o = {0};
    if (opt) o = *opt;
    if (o.record_size == 0) o.record_size = EP_TAR_RECORD_DEFAULT;
    if (o.record_size % EP_TAR_BLOCK) return EINVAL;
    memset(w, 0, sizeof *w);
    w->write = write;
    w->ctx = ctx;
    w->buf = buf;
    w->cap = cap - cap % EP_TAR_BLOCK;
    w->opt = o;
    return 0;
}

int ep_tar_error(const ep_tar_writer *w) { return w->err; }

static int flush(ep_tar_writer *w);

int ep_tar_set_buffer(ep_tar_writer *w, void *buf, size_t cap) {
    if (!w || (buf && cap < EP_TAR_BLOCK)) return EINVAL;
    if (w->buf) {
        int err = flush(w);
        if (err) return err;
    }
    w->buf = buf;
    w->cap = buf ? cap - cap % EP_TAR_BLOCK : 0;
    w->len = 0;
    return 0;
}

static int flush(ep_tar_writer *w) {
    if (w->err) return w->err;
    if (w->len) {
        int err = w->write(w->ctx, w->buf, w->len);
        w->flushes++;
        if (err) {
            w->err = err;
            return err;
        }
        w->len = 0;
    }
    return 0;
}

/* Append n bytes (data, or zeros when data is NULL) through the buffer. */
static int emit(ep_tar_writer *w, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n) {
        if (w->len == w->cap) {
            int err = flush(w);
            if (err) return err;
        }
        size_t k = w->cap - w->len;
        if (k > n) k = n;
        if (p) {
            memcpy(w->buf + w->len, p, k);
            p += k;
        } else {
            memset(w->buf + w->len, 0, k);
        }
        w->len += k;
        w->out_bytes += k;
        n -= k;
    }
    return 0;
}

static int pad_block(ep_tar_writer *w) {
    size_t r = (size_t)(w->out_bytes % EP_TAR_BLOCK);
    return r ? emit(w, NULL, EP_TAR_BLOCK - r) : 0;
}

/* A zeroed 512-byte block at the end of the buffer, counted as written. */
static unsigned char *new_block(ep_tar_writer *w) {
    if (w->cap - w->len < EP_TAR_BLOCK && flush(w)) return NULL;
    unsigned char *b = w->buf + w->len;
    memset(b, 0, EP_TAR_BLOCK);
    w->len += EP_TAR_BLOCK;
    w->out_bytes += EP_TAR_BLOCK;
    return b;
}

/* Numeric field: octal with a NUL when it fits in width-1 digits, else
 * base-256 (first byte 0x80 for positive, two's complement 0xff… for negative). */
static void put_num(unsigned char *f, size_t width, int64_t sv, uint64_t uv, int is_signed) {
    int neg = is_signed && sv < 0;
    uint64_t v = is_signed ? (uint64_t)sv : uv;
    int fits = !neg && v < ((uint64_t)1 << ((width - 1) * 3)); /* width ≤ 12: at most 33 bits */
    if (fits) {
        for (size_t i = width - 1; i-- > 0;) {
            f[i] = (unsigned char)('0' + (v & 7));
            v >>= 3;
        }
        f[width - 1] = 0;
        return;
    }
    /* base-256, big endian over the whole field */
    for (size_t i = width; i-- > 0;) {
        f[i] = (unsigned char)(v & 0xff);
        v = neg ? (v >> 8) | ((uint64_t)0xff << 56) : v >> 8;
    }
    f[0] = neg ? 0xff : 0x80;
}

static void put_str(unsigned char *f, size_t width, const char *s, size_t n) {
    if (n > width) n = width;
    memcpy(f, s, n);
}

static void put_cstr(unsigned char *f, size_t width, const char *s) {
    if (s) put_str(f, width, s, strnlen(s, width));
}

static void finish_header(unsigned char *h) {
    memset(h + F_CHKSUM, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < EP_TAR_BLOCK; i++) sum += h[i];
    for (int i = 5; i >= 0; i--) {
        h[F_CHKSUM + i] = (unsigned char)('0' + (sum & 7));
        sum >>= 3;
    }
    h[F_CHKSUM + 6] = 0;
    h[F_CHKSUM + 7] = ' ';
}

static void common_fields(unsigned char *h, const ep_tar_writer *w, uint32_t mode, int64_t mtime,
                          uint64_t uid, uint64_t gid, const char *uname, const char *gname) {
    if (w->opt.deterministic) {
        mtime = w->opt.mtime;
        uid = gid = 0;
        uname = gname = NULL;
    }
    put_num(h + F_MODE, 8, 0, mode & 07777, 0);
    put_num(h + F_UID, 8, 0, uid, 0);
    put_num(h + F_GID, 8, 0, gid, 0);
    put_num(h + F_MTIME, 12, mtime, 0, 1);
    memcpy(h + F_MAGIC, "ustar", 6); /* with its NUL */
    memcpy(h + F_VERSION, "00", 2);
    put_cstr(h + F_UNAME, 32, uname);
    put_cstr(h + F_GNAME, 32, gname);
    put_num(h + F_DEVMAJ, 8, 0, 0, 0);
    put_num(h + F_DEVMIN, 8, 0, 0, 0);
}

/* GNU long-name entry ('L' path, 'K' link target): header + string + NUL. */
static int long_entry(ep_tar_writer *w, char type, const char *s, size_t n) {
    unsigned char *h = new_block(w);
    if (!h) return w->err;
    put_cstr(h + F_NAME, NAME_LEN, LONGLINK_NAME);
    common_fields(h, w, 0644, 0, 0, 0, NULL, NULL);
    put_num(h + F_MTIME, 12, 0, 0, 1);
    put_num(h + F_SIZE, 12, 0, (uint64_t)n + 1, 0);
    h[F_TYPE] = (unsigned char)type;
    finish_header(h);
    int err = emit(w, s, n);
    if (!err) err = emit(w, NULL, 1);
    if (!err) err = pad_block(w);
    if (!err) w->long_names++;
    return err;
}

/* Rightmost '/' that leaves prefix ≤ 155 and name ≤ 100 (both non-empty),
 * as tarfile's _posix_split_name; -1 if none. */
static long ustar_split(const char *s, size_t n) {
    size_t lim = n < PREFIX_LEN + 1 ? n : PREFIX_LEN + 1;
    for (size_t i = lim; i-- > 1;) {
        if (s[i] == '/') {
            if (n - i - 1 > NAME_LEN || n - i - 1 == 0) return -1;
            return (long)i;
        }
    }
    return -1;
}

int ep_tar_write_header(ep_tar_writer *w, const ep_tar_entry *e) {
    if (!w || !e) return EINVAL;
    if (!w->buf) return w->err ? w->err : EINVAL;
    if (w->err) return w->err;
    if (w->finished) return EALREADY;
    if (w->pending) return EINVAL;
    if (!e->name || !e->name[0]) return EINVAL;
    if (e->type != EP_TAR_REG && e->type != EP_TAR_DIR && e->type != EP_TAR_SYMLINK) return EINVAL;
    if (e->type == EP_TAR_SYMLINK && !e->linkname) return EINVAL;

    char path[MAX_PATH_BYTES + 2];
    size_t n = strnlen(e->name, MAX_PATH_BYTES + 1);
    if (n > MAX_PATH_BYTES) return ENAMETOOLONG;
    memcpy(path, e->name, n);
    if (e->type == EP_TAR_DIR && path[n - 1] != '/') path[n++] = '/';
    path[n] = 0;

    size_t ln = 0;
    if (e->type == EP_TAR_SYMLINK) {
        ln = strnlen(e->linkname, MAX_PATH_BYTES + 1);
        if (ln > MAX_PATH_BYTES) return ENAMETOOLONG;
    }
    int err;
    if (ln > NAME_LEN && (err = long_entry(w, 'K', e->linkname, ln))) return err;
    long split = n > NAME_LEN ? ustar_split(path, n) : -1;
    if (n > NAME_LEN && split < 0 && (err = long_entry(w, 'L', path, n))) return err;

    unsigned char *h = new_block(w);
    if (!h) return w->err;
    if (n <= NAME_LEN) {
        put_str(h + F_NAME, NAME_LEN, path, n);
    } else if (split >= 0) {
        put_str(h + F_PREFIX, PREFIX_LEN, path, (size_t)split);
        put_str(h + F_NAME, NAME_LEN, path + split + 1, n - (size_t)split - 1);
    } else {
        put_str(h + F_NAME, NAME_LEN, path, NAME_LEN); /* truncated; the 'L' entry wins */
    }
    common_fields(h, w, e->mode, e->mtime, e->uid, e->gid, e->uname, e->gname);
    uint64_t size = e->type == EP_TAR_REG ? e->size : 0;
    put_num(h + F_SIZE, 12, 0, size, 0);
    h[F_TYPE] = (unsigned char)e->type;
    if (e->type == EP_TAR_SYMLINK) put_str(h + F_LINK, NAME_LEN, e->linkname, ln);
    finish_header(h);
    w->entries++;
    w->pending = size;
    return 0;
}

int ep_tar_write_data(ep_tar_writer *w, const void *data, size_t n) {
    if (!w || (!data && n)) return EINVAL;
    if (!w->buf) return w->err ? w->err : EINVAL;
    if (w->err) return w->err;
    if (w->finished) return EALREADY;
    if (n > w->pending) return EINVAL;
    int err = emit(w, data, n);
    if (err) return err;
    w->pending -= n;
    w->data_bytes += n;
    return w->pending ? 0 : pad_block(w);
}

int ep_tar_copy_fd(ep_tar_writer *w, int fd) {
    if (!w) return EINVAL;
    if (!w->buf) return w->err ? w->err : EINVAL;
    if (w->err) return w->err;
    if (w->finished) return EALREADY;
    int rerr = 0;
    while (w->pending) {
        if (w->len == w->cap) {
            int err = flush(w);
            if (err) return err;
        }
        size_t k = w->cap - w->len;
        if (k > w->pending) k = (size_t)w->pending;
        ssize_t r = read(fd, w->buf + w->len, k);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rerr = r < 0 ? errno : ENODATA;
            if (!rerr) rerr = EIO;
            break;
        }
        w->len += (size_t)r;
        w->out_bytes += (uint64_t)r;
        w->pending -= (uint64_t)r;
        w->data_bytes += (uint64_t)r;
    }
    if (w->pending) { /* keep the archive well-formed: zeros for what is missing */
        uint64_t miss = w->pending;
        while (miss) {
            size_t k = miss > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)miss;
            int err = emit(w, NULL, k);
            if (err) return err;
            miss -= k;
        }
        w->pending = 0;
    }
    int err = pad_block(w);
    return err ? err : rerr;
}

int ep_tar_add_mem(ep_tar_writer *w, const ep_tar_entry *e, const void *data) {
    int err = ep_tar_write_header(w, e);
    if (err) return err;
    if (e->type != EP_TAR_REG || e->size == 0) return 0;
    return ep_tar_write_data(w, data, (size_t)e->size);
}

int ep_tar_add_fd(ep_tar_writer *w, const ep_tar_entry *e, int fd) {
    int err = ep_tar_write_header(w, e);
    if (err) return err;
    if (e->type != EP_TAR_REG || e->size == 0) return 0;
    return ep_tar_copy_fd(w, fd);
}

int ep_tar_finish(ep_tar_writer *w) {
    if (!w) return EINVAL;
    if (!w->buf) return w->err ? w->err : EINVAL;
    if (w->err) return w->err;
    if (w->finished) return EALREADY;
    if (w->pending) return EINVAL;
    int err = emit(w, NULL, 2 * EP_TAR_BLOCK);
    if (!err) {
        uint64_t r = w->out_bytes % w->opt.record_size;
        if (r) err = emit(w, NULL, (size_t)(w->opt.record_size - r));
    }
    if (!err) err = flush(w);
    if (!err) w->finished = 1;
    return err;
}

int ep_tar_fd_write(void *ctx, const void *data, size_t n) {
    int fd = (int)(intptr_t)ctx;
    const char *p = data;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) return EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int ep_tar_memsink_write(void *sink, const void *data, size_t n) {
    ep_tar_memsink *s = sink;
    if (n > SIZE_MAX / 2 - s->len) return ENOMEM;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : (size_t)1 << 16;
        while (cap < s->len + n) cap *= 2;
        uint8_t *p = realloc(s->data, cap);
        if (!p) return ENOMEM;
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, n);
    s->len += n;
    return 0;
}
