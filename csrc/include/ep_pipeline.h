/* ep_pipeline.h — a container build-context step, with each pool switchable.
 *
 * ep_pipeline_run(cfg, res) does what `docker build` does with its context
 * directory before sending it:
 *   1. walk: the tree under cfg->root, depth first, each directory's names in
 *      byte order (so the result is deterministic); lstat, symlinks stored,
 *      never followed; paths built with string builders;
 *   2. hash: every regular file's SHA-256 on a worker pool, streamed through a
 *      read buffer;
 *   3. tar: a ustar archive of the tree (ep_tar.h) through a copy buffer,
 *      written to cfg->out_fd (or only counted when it is -1), and per file
 *      and per layer (top-level entry) an image-tag string, folded into an
 *      image digest.
 * Three switches choose where the transient memory comes from: the string
 * builders (pool "strbuf" or ep_strbuf_init/free each time), the hash read
 * buffers (preset "hash" or ep_alloc/ep_free per file), the tar copy buffers
 * (preset "tar" or ep_alloc/ep_free per entry).  Everything else is the same
 * in every configuration, and so is the archive, byte for byte.
 *
 * Bad input never fails the run: unreadable files and directories, paths
 * that vanish between the walk and their use, special files (fifo, socket,
 * device) are skipped and counted per reason; dangling symlinks are stored
 * (as tar does) and counted; a file whose size changed after the walk is
 * archived at its new size (zero-padded if it shrank while being copied) and
 * counted.  Only a root that cannot be walked, an output error, ENOMEM or an
 * interrupt (cfg->check returning nonzero → EINTR) fail the run.
 */
#ifndef EP_PIPELINE_H
#define EP_PIPELINE_H

#include "ep_alloc.h"
#include "ep_pool.h"
#include "ep_workerpool.h"

#define EP_PIPELINE_STRING 1u
#define EP_PIPELINE_HASH 2u
#define EP_PIPELINE_TAR 4u
#define EP_PIPELINE_ALL 7u

/* Phases reported to the check callback. */
#define EP_PIPELINE_PHASE_WALK 1   /* between entries of the walk */
#define EP_PIPELINE_PHASE_WALKED 2 /* once, walk done, before hashing */
#define EP_PIPELINE_PHASE_HASH 3   /* while waiting for the workers (every ~20 ms) */
#define EP_PIPELINE_PHASE_HASHED 4 /* once, hashing done, before the archive */
#define EP_PIPELINE_PHASE_TAR 5    /* between entries of the archive */

typedef struct ep_pipeline_config {
    const char *root;
    unsigned pools;           /* EP_PIPELINE_* bits: which pools are on */
    int out_fd;               /* archive destination; -1 = count bytes only */
    unsigned threads;         /* hash workers; 0 = online CPUs (at most 8) */
    size_t hash_bufsize;      /* read buffer; 0 = 64 KiB */
    size_t tar_bufsize;       /* copy buffer; 0 = 64 KiB */
    int keep_files;           /* fill res->files (path, size, sha256) */
    int deterministic;        /* tar metadata fixed (mtime = cfg->mtime, owner 0) */
    int64_t mtime;
    /* Called on the calling thread between units of work; nonzero stops the
     * run with EINTR.  May be NULL. */
    int (*check)(void *ctx, int phase);
    void *check_ctx;
    int check_every_entry;    /* call check between every two entries, not every ~20 ms (tests) */
} ep_pipeline_config;

typedef struct ep_pipeline_file {
    char *path;               /* relative, '/'-separated */
    uint64_t size;
    uint8_t sha256[32];
} ep_pipeline_file;

typedef struct ep_pipeline_result {
    uint64_t files, dirs, symlinks;       /* archived entries by type */
    uint64_t bytes_hashed, bytes_archived, archive_bytes;
    /* skipped, by reason */
    uint64_t skipped_unreadable, skipped_vanished, skipped_special;
    uint64_t unreadable_dirs;             /* archived, but their contents could not be listed */
    uint64_t dangling_symlinks;           /* archived */
    uint64_t changed;                     /* size differed at archive time */
    uint64_t tag_strings;                 /* image-tag strings built */
    char image_tag[80];                   /* "sha256:<hex>" over the layer tags */
    uint64_t walk_ns, hash_ns, tar_ns, total_ns;
    ep_pool_stats string_pool, hash_pool, tar_pool; /* zero when that pool is off */
    ep_alloc_counters alloc;              /* through ep_alloc during the run, all threads */
    ep_workerpool_stats workers;
    unsigned threads;
    ep_pipeline_file *file_list;          /* keep_files: archived regular files, archive order */
    size_t nfiles;
} ep_pipeline_result;

/* 0, or EINVAL (cfg), ENOTDIR/ENOENT/EACCES (root), an output errno, ENOMEM,
 * EINTR.  On failure *res is left zeroed (nothing to free). */
int ep_pipeline_run(const ep_pipeline_config *cfg, ep_pipeline_result *res);
void ep_pipeline_result_free(ep_pipeline_result *res);

#endif
