/* Safe unpacking of tar, tar.gz and zip (anything libarchive reads) into a
 * fresh staging directory next to the destination, renamed into place only
 * when every entry was accepted. Archives are untrusted (downloads, and
 * student submissions in batch grading), so each entry is checked before a
 * byte is written:
 *   - no absolute paths, no ".." components, no empty or duplicate paths;
 *   - only regular files and directories, plus symlinks whose target stays
 *     inside the destination when `allow_symlinks` is set; hardlinks,
 *     devices, fifos and sockets are refused;
 *   - limits on the number of entries, each file's size, the total size and
 *     the compression ratio (total written / archive bytes).
 * A refusal names the entry and the rule; the staging directory is removed,
 * so nothing is left behind and the destination is untouched. */
#ifndef DS_UNPACK_H
#define DS_UNPACK_H

#include <stddef.h>
#include <stdint.h>

struct ds_unpack_limits {
    uint64_t max_total_bytes; /* sum of file sizes */
    uint64_t max_file_bytes;  /* one file */
    uint64_t max_entries;     /* files + directories + links */
    uint32_t max_ratio;       /* total written / compressed input; 0 = no check */
    size_t max_path_len;
    int allow_symlinks;
    int keep_mtime; /* give files the archive's modification times (batch grading dates LMS uploads by them) */
};

/* Limits for datasets (VOC is 2 GB with 17k files) and for submissions. */
struct ds_unpack_limits ds_unpack_limits_dataset(void);
struct ds_unpack_limits ds_unpack_limits_submission(void);

struct ds_unpack_report {
    uint64_t entries, files, bytes;
    char refused_entry[1024]; /* the entry that was refused, "" when none */
};

/* Unpacks the archive file into `dest` (which must not exist yet). */
int ds_unpack_file(const char *archive, const char *dest, const struct ds_unpack_limits *lim,
                   struct ds_unpack_report *rep);
/* The same from memory (fuzzing, archives already read). */
int ds_unpack_memory(const void *data, size_t len, const char *dest, const struct ds_unpack_limits *lim,
                     struct ds_unpack_report *rep);

#endif
