/* file.h - the file sink's context and the helpers its files share (options, path rendering
 * and refusal, rotated names); the sink itself is in file.c, the contract in sinks/sink.h. */
#ifndef FY_SINK_FILE_H
#define FY_SINK_FILE_H

#include "core/err.h"
#include "core/opts.h"
#include "core/record.h"
#include "sinks/sink.h"

#include <stddef.h>
#include <stdint.h>

enum fs_fsync { FS_FSYNC_INTERVAL = 0, FS_FSYNC_ALWAYS, FS_FSYNC_NEVER };

struct fs_file;   /* one output file (file.c) */

struct fy_file_sink {
    /* options (core/opts.h fills these; the host frees the strings) */
    char *dir;                  /* every file lives under it */
    char *path;                 /* template, relative to dir */
    int fsync;                  /* enum fs_fsync */
    int64_t fsync_interval_ms;
    int64_t max_bytes;          /* size rotation; 0 = off */
    int64_t rotate_interval_ms; /* time rotation, aligned to the wall clock; 0 = off */
    int64_t max_open_files;
    int64_t batch_max_bytes;    /* bytes waiting to be written before submit says FY_EAGAIN */

    /* state (file.c) */
    struct fy_sink *snk;
    char dir_abs[1024];         /* dir without trailing '/' */
    int path_needs_obj;         /* the template uses a field of the envelope's obj */
    struct fs_file **table;     /* hash of files by relative path */
    size_t table_size;
    struct fs_file *lru_head, *lru_tail; /* open files, most recently used first */
    size_t n_open;
    struct fs_file *dirty;      /* files with bytes not yet written */
    size_t pending_bytes;       /* over every dirty file */
    size_t unsynced;            /* records written, waiting for their fdatasync */
    int64_t next_sync_ms;       /* fsync: interval: when the waiting records are synced */
    int64_t next_rotate_check_ms;
    uint64_t written, synced, write_errors, rotations;
};

extern const struct fy_opt fy_file_sink_opts[];

/* Check the options beyond the table (dir absolute, path template known names); FY_OK or
 * FY_ECONFIG with the reason. Also fills dir_abs and path_needs_obj. */
int fy_file_sink_check(void *ctx, struct fy_err *err);

/* Render the path template for rec (its envelope fields, and {date} {year} {month} {day}
 * {hour} {minute} of rec->created_ms in UTC) into out (size bytes). FY_OK, or FY_EINVAL with
 * the reason (a field missing or empty, too long). */
int fy_file_sink_render(const struct fy_file_sink *fs, const struct fy_record *rec, char *out,
                        size_t size, struct fy_err *err);

/* Turn a rendered path into one relative to dir (written to rel, size bytes): a relative path
 * is taken as is, an absolute one must lie under dir. Refused with FY_EINVAL and a reason that
 * starts "bad_path: ": empty, a ".." or "." segment, an empty segment ("a//b", a trailing
 * '/'), a control character, an absolute path outside dir, longer than size. */
int fy_file_sink_relpath(const char *dir, const char *rendered, char *rel, size_t size,
                         struct fy_err *err);

/* The name a file is rotated to: "<stem>-<YYYYmmddTHHMMSSZ>[-n].<ext>" for "<stem>.<ext>"
 * (no extension: "<name>-<time>[-n]"); n > 1 tells names apart within one second. Written to
 * out (size bytes); FY_OK or FY_ETOOBIG. */
int fy_file_sink_rotated_name(const char *path, int64_t wall_ms, int n, char *out, size_t size);

#endif
