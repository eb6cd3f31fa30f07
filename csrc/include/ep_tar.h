/* ep_tar.h — streaming ustar writer with a caller-supplied copy buffer.
 *
 * The writer owns no memory: the caller hands it a copy buffer (pooled from
 * the "tar" buffer pool or malloc'd — the point of the A/B) and an output
 * callback.  Headers and file contents are assembled in the copy buffer and
 * handed to the callback whenever it fills, so the callback sees writes of
 * the buffer's size (rounded down to whole 512-byte blocks) except the last.
 *
 * Format: POSIX ustar ("ustar\0" "00"), with the extensions GNU tar and
 * Python's tarfile both read:
 *   - a path longer than 100 bytes is split into prefix/name when a '/' allows
 *     it, else it is carried by a GNU "././@LongLink" 'L' entry; a symlink
 *     target longer than 100 bytes by a 'K' entry (as GNU tar writes them);
 *   - a number too large for its octal field (file size ≥ 8 GiB, uid > 2097151,
 *     mtime before 1970) is written base-256 (GNU/star), as GNU tar does;
 *   - the archive ends with two zero blocks and is padded with zeros to a
 *     whole record (default 10240 bytes, GNU tar's blocking factor 20).
 * Deterministic mode fixes mtime (opt.mtime), uid/gid 0 and empty user/group
 * names, so the same tree always gives the same bytes.
 *
 * Errors: functions return 0 or an errno-style code.  An output (callback)
 * error is sticky: every later call returns it and the archive is unusable.
 * A read error or a file that shrank while being copied is NOT fatal: the
 * entry is padded with zeros to its declared size (as GNU tar does, "file
 * shrank by N bytes; padding with zeros"), the archive stays well-formed, and
 * the call returns EIO / ENODATA so the caller can count it.
 */
#ifndef EP_TAR_H
#define EP_TAR_H

#include "ep_common.h"

#include <sys/types.h>

#define EP_TAR_BLOCK 512
#define EP_TAR_RECORD_DEFAULT 10240

/* Typeflags written. */
#define EP_TAR_REG '0'
#define EP_TAR_SYMLINK '2'
#define EP_TAR_DIR '5'

/* Output callback: write all n bytes or return an errno-style code. */
typedef int (*ep_tar_write_fn)(void *ctx, const void *data, size_t n);

typedef struct ep_tar_options {
    int deterministic;  /* mtime := mtime below, uid = gid = 0, uname = gname = "" */
    int64_t mtime;      /* used when deterministic */
    size_t record_size; /* pad the archive to a multiple of this; 0 = 10240; must be a multiple of 512 */
} ep_tar_options;

typedef struct ep_tar_entry {
    const char *name;      /* path in the archive, '/'-separated, relative; a directory may omit the trailing '/' */
    char type;             /* EP_TAR_REG, EP_TAR_DIR, EP_TAR_SYMLINK */
    uint32_t mode;         /* permission bits (& 07777 is stored) */
    uint64_t size;         /* regular files: bytes of content that follow */
    int64_t mtime;
    uint64_t uid, gid;
    const char *uname, *gname; /* NULL = "" */
    const char *linkname;  /* symlinks */
} ep_tar_entry;

/* Writer state.  Public so it can live on the stack or in a pool; treat the
 * fields as private. */
typedef struct ep_tar_writer {
    ep_tar_write_fn write;
    void *ctx;
    unsigned char *buf;
    size_t cap, len;       /* cap: a multiple of 512 */
    uint64_t out_bytes;    /* bytes handed to the callback plus buffered */
    uint64_t pending;      /* content bytes still owed by the current entry */
    ep_tar_options opt;
    int err;               /* sticky output error */
    int finished;
    /* counters */
    uint64_t entries, long_names, data_bytes, flushes;
} ep_tar_writer;

/* EINVAL: NULL write/buf, cap < 512, record_size not a multiple of 512. */
int ep_tar_writer_init(ep_tar_writer *w, ep_tar_write_fn write, void *ctx, void *buf, size_t cap,
                       const ep_tar_options *opt);

/* Header (and long-name entries) for e.  For a regular file, exactly e->size
 * content bytes must follow through ep_tar_write_data before the next header
 * (EINVAL otherwise). EINVAL also for an empty name or unknown type;
 * ENAMETOOLONG for a name or link target over 4096 bytes. */
int ep_tar_write_header(ep_tar_writer *w, const ep_tar_entry *e);
/* Content of the current entry; padding to 512 is added after the last byte.
 * EINVAL when n exceeds what the entry still owes. */
int ep_tar_write_data(ep_tar_writer *w, const void *data, size_t n);
/* Copy the current entry's remaining content from fd through the copy buffer.
 * Returns 0; or, with the entry zero-padded and the archive still valid,
 * ENODATA (fd hit EOF early: file shrank) or the read's errno (EIO, …);
 * or a sticky output error.  A file that grew is cut at the declared size. */
int ep_tar_copy_fd(ep_tar_writer *w, int fd);

/* Convenience: header plus content. */
int ep_tar_add_mem(ep_tar_writer *w, const ep_tar_entry *e, const void *data);
int ep_tar_add_fd(ep_tar_writer *w, const ep_tar_entry *e, int fd);

/* Two zero blocks, record padding, final flush.  EINVAL when an entry still
 * owes content.  After finish the writer accepts nothing (EALREADY). */
int ep_tar_finish(ep_tar_writer *w);

/* Flush what the current buffer holds, then continue with buf (cap ≥ 512);
 * buf NULL detaches it, and the writer accepts nothing (EINVAL) until a
 * buffer is set again.  So a caller can take a copy buffer from a pool for
 * each entry and give it back after.  The archive bytes do not depend on the
 * buffers used. */
int ep_tar_set_buffer(ep_tar_writer *w, void *buf, size_t cap);

/* An in-memory sink for the writer: pass ep_tar_memsink_write and a zeroed
 * ep_tar_memsink as (write, ctx).  The archive grows in `data` (plain
 * malloc: it stands for the output file, outside the pools' accounting);
 * free(data) when done.  ENOMEM leaves what was written intact. */
typedef struct ep_tar_memsink {
    uint8_t *data;
    size_t len, cap;
} ep_tar_memsink;

int ep_tar_memsink_write(void *sink, const void *data, size_t n);

/* The sticky output error, 0 if none. */
int ep_tar_error(const ep_tar_writer *w);

/* Ready-made callback writing to a file descriptor passed as (intptr_t)ctx;
 * retries EINTR and short writes. */
int ep_tar_fd_write(void *ctx, const void *data, size_t n);

#endif
