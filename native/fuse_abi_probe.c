/*
 * FtpsMount libfuse3 ABI probe.
 *
 * Prints, as "name value" lines, the size and field offsets of every C struct that the C# binding
 * (src/FtpsMount.Fuse/Native) declares, plus the numeric constants it hard-codes. The test
 * tests/FtpsMount.Fuse.Tests/AbiProbeTests.cs compiles this file against the installed headers
 * (native/build-probe.sh) and compares every line with the C# declarations, in both directions.
 *
 * Line forms:
 *   <struct> <sizeof>                     e.g. "fuse_operations 336"
 *   <struct>.<field> <offsetof>           e.g. "fuse_operations.getattr 0"
 *   <struct>.<bitfield>:bit <n>           absolute bit index from the start of the struct
 *                                         (byte * 8 + bit, little-endian), for C bitfields
 *   const <NAME> <value>                  a constant the binding hard-codes
 *
 * Build: see build-probe.sh (-D_FILE_OFFSET_BITS=64 -DFUSE_USE_VERSION=31, pkg-config fuse3).
 */
#define _GNU_SOURCE
#include <fuse.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <linux/fs.h>

#define SIZE(type, name) printf("%s %zu\n", name, sizeof(type))
#define OFF(type, name, field) printf("%s.%s %zu\n", name, #field, offsetof(type, field))
#define CONST(value) printf("const %s %lld\n", #value, (long long)(value))

/* Absolute bit index of a one-bit bitfield: set it in a zeroed struct and find the bit. */
#define BIT(type, name, field)                                                        \
    do {                                                                              \
        type probe_;                                                                  \
        memset(&probe_, 0, sizeof probe_);                                            \
        probe_.field = 1;                                                             \
        const unsigned char *bytes_ = (const unsigned char *)&probe_;                 \
        for (size_t i_ = 0; i_ < sizeof probe_; i_++)                                 \
            for (int b_ = 0; b_ < 8; b_++)                                            \
                if (bytes_[i_] & (1u << b_))                                          \
                    printf("%s.%s:bit %zu\n", name, #field, i_ * 8 + (size_t)b_);     \
    } while (0)

static void operations(void)
{
    const char *n = "fuse_operations";
    SIZE(struct fuse_operations, n);
    OFF(struct fuse_operations, n, getattr);
    OFF(struct fuse_operations, n, readlink);
    OFF(struct fuse_operations, n, mknod);
    OFF(struct fuse_operations, n, mkdir);
    OFF(struct fuse_operations, n, unlink);
    OFF(struct fuse_operations, n, rmdir);
    OFF(struct fuse_operations, n, symlink);
    OFF(struct fuse_operations, n, rename);
    OFF(struct fuse_operations, n, link);
    OFF(struct fuse_operations, n, chmod);
    OFF(struct fuse_operations, n, chown);
    OFF(struct fuse_operations, n, truncate);
    OFF(struct fuse_operations, n, open);
    OFF(struct fuse_operations, n, read);
    OFF(struct fuse_operations, n, write);
    OFF(struct fuse_operations, n, statfs);
    OFF(struct fuse_operations, n, flush);
    OFF(struct fuse_operations, n, release);
    OFF(struct fuse_operations, n, fsync);
    OFF(struct fuse_operations, n, setxattr);
    OFF(struct fuse_operations, n, getxattr);
    OFF(struct fuse_operations, n, listxattr);
    OFF(struct fuse_operations, n, removexattr);
    OFF(struct fuse_operations, n, opendir);
    OFF(struct fuse_operations, n, readdir);
    OFF(struct fuse_operations, n, releasedir);
    OFF(struct fuse_operations, n, fsyncdir);
    OFF(struct fuse_operations, n, init);
    OFF(struct fuse_operations, n, destroy);
    OFF(struct fuse_operations, n, access);
    OFF(struct fuse_operations, n, create);
    OFF(struct fuse_operations, n, lock);
    OFF(struct fuse_operations, n, utimens);
    OFF(struct fuse_operations, n, bmap);
    OFF(struct fuse_operations, n, ioctl);
    OFF(struct fuse_operations, n, poll);
    OFF(struct fuse_operations, n, write_buf);
    OFF(struct fuse_operations, n, read_buf);
    OFF(struct fuse_operations, n, flock);
    OFF(struct fuse_operations, n, fallocate);
    OFF(struct fuse_operations, n, copy_file_range);
    OFF(struct fuse_operations, n, lseek);
}

static void file_info(void)
{
    const char *n = "fuse_file_info";
    SIZE(struct fuse_file_info, n);
    OFF(struct fuse_file_info, n, flags);
    OFF(struct fuse_file_info, n, fh);
    OFF(struct fuse_file_info, n, lock_owner);
    OFF(struct fuse_file_info, n, poll_events);
    BIT(struct fuse_file_info, n, writepage);
    BIT(struct fuse_file_info, n, direct_io);
    BIT(struct fuse_file_info, n, keep_cache);
    BIT(struct fuse_file_info, n, flush);
    BIT(struct fuse_file_info, n, nonseekable);
    BIT(struct fuse_file_info, n, flock_release);
    BIT(struct fuse_file_info, n, cache_readdir);
    BIT(struct fuse_file_info, n, noflush);
}

static void config(void)
{
    const char *n = "fuse_config";
    SIZE(struct fuse_config, n);
    OFF(struct fuse_config, n, set_gid);
    OFF(struct fuse_config, n, gid);
    OFF(struct fuse_config, n, set_uid);
    OFF(struct fuse_config, n, uid);
    OFF(struct fuse_config, n, set_mode);
    OFF(struct fuse_config, n, umask);
    OFF(struct fuse_config, n, entry_timeout);
    OFF(struct fuse_config, n, negative_timeout);
    OFF(struct fuse_config, n, attr_timeout);
    OFF(struct fuse_config, n, intr);
    OFF(struct fuse_config, n, intr_signal);
    OFF(struct fuse_config, n, remember);
    OFF(struct fuse_config, n, hard_remove);
    OFF(struct fuse_config, n, use_ino);
    OFF(struct fuse_config, n, readdir_ino);
    OFF(struct fuse_config, n, direct_io);
    OFF(struct fuse_config, n, kernel_cache);
    OFF(struct fuse_config, n, auto_cache);
    OFF(struct fuse_config, n, no_rofd_flush);
    OFF(struct fuse_config, n, ac_attr_timeout_set);
    OFF(struct fuse_config, n, ac_attr_timeout);
    OFF(struct fuse_config, n, nullpath_ok);
    OFF(struct fuse_config, n, show_help);
    OFF(struct fuse_config, n, modules);
    OFF(struct fuse_config, n, debug);
}

static void conn_info(void)
{
    const char *n = "fuse_conn_info";
    SIZE(struct fuse_conn_info, n);
    OFF(struct fuse_conn_info, n, proto_major);
    OFF(struct fuse_conn_info, n, proto_minor);
    OFF(struct fuse_conn_info, n, max_write);
    OFF(struct fuse_conn_info, n, max_read);
    OFF(struct fuse_conn_info, n, max_readahead);
    OFF(struct fuse_conn_info, n, capable);
    OFF(struct fuse_conn_info, n, want);
    OFF(struct fuse_conn_info, n, max_background);
    OFF(struct fuse_conn_info, n, congestion_threshold);
    OFF(struct fuse_conn_info, n, time_gran);
    OFF(struct fuse_conn_info, n, reserved);
}

static void args_and_context(void)
{
    SIZE(struct fuse_args, "fuse_args");
    OFF(struct fuse_args, "fuse_args", argc);
    OFF(struct fuse_args, "fuse_args", argv);
    OFF(struct fuse_args, "fuse_args", allocated);

    SIZE(struct fuse_context, "fuse_context");
    OFF(struct fuse_context, "fuse_context", fuse);
    OFF(struct fuse_context, "fuse_context", uid);
    OFF(struct fuse_context, "fuse_context", gid);
    OFF(struct fuse_context, "fuse_context", pid);
    OFF(struct fuse_context, "fuse_context", private_data);
    OFF(struct fuse_context, "fuse_context", umask);
}

static void posix(void)
{
    SIZE(struct timespec, "timespec");
    OFF(struct timespec, "timespec", tv_sec);
    OFF(struct timespec, "timespec", tv_nsec);

    /* glibc's own padding members (__pad0, __glibc_reserved, ...) are covered by the size. */
    SIZE(struct stat, "stat");
    OFF(struct stat, "stat", st_dev);
    OFF(struct stat, "stat", st_ino);
    OFF(struct stat, "stat", st_mode);
    OFF(struct stat, "stat", st_nlink);
    OFF(struct stat, "stat", st_uid);
    OFF(struct stat, "stat", st_gid);
    OFF(struct stat, "stat", st_rdev);
    OFF(struct stat, "stat", st_size);
    OFF(struct stat, "stat", st_blksize);
    OFF(struct stat, "stat", st_blocks);
    OFF(struct stat, "stat", st_atim);
    OFF(struct stat, "stat", st_mtim);
    OFF(struct stat, "stat", st_ctim);
    printf("stat.st_nlink:size %zu\n", sizeof(((struct stat *)0)->st_nlink));
    printf("stat.st_blksize:size %zu\n", sizeof(((struct stat *)0)->st_blksize));

    SIZE(struct statvfs, "statvfs");
    OFF(struct statvfs, "statvfs", f_bsize);
    OFF(struct statvfs, "statvfs", f_frsize);
    OFF(struct statvfs, "statvfs", f_blocks);
    OFF(struct statvfs, "statvfs", f_bfree);
    OFF(struct statvfs, "statvfs", f_bavail);
    OFF(struct statvfs, "statvfs", f_files);
    OFF(struct statvfs, "statvfs", f_ffree);
    OFF(struct statvfs, "statvfs", f_favail);
    OFF(struct statvfs, "statvfs", f_fsid);
    OFF(struct statvfs, "statvfs", f_flag);
    OFF(struct statvfs, "statvfs", f_namemax);
}

static void constants(void)
{
    CONST(FUSE_MAJOR_VERSION);
    CONST(FUSE_MINOR_VERSION);
    CONST(FUSE_READDIR_PLUS);
    CONST(FUSE_FILL_DIR_PLUS);
    CONST(FUSE_CAP_ASYNC_READ);
    CONST(FUSE_CAP_ATOMIC_O_TRUNC);
    CONST(FUSE_CAP_AUTO_INVAL_DATA);
    CONST(FUSE_CAP_READDIRPLUS);
    CONST(FUSE_CAP_READDIRPLUS_AUTO);
    CONST(FUSE_CAP_ASYNC_DIO);
    CONST(FUSE_CAP_WRITEBACK_CACHE);
    CONST(FUSE_CAP_PARALLEL_DIROPS);
    CONST(FUSE_CAP_SPLICE_READ);
    CONST(FUSE_CAP_SPLICE_WRITE);
    CONST(FUSE_CAP_SPLICE_MOVE);

    CONST(O_ACCMODE);
    CONST(O_RDONLY);
    CONST(O_WRONLY);
    CONST(O_RDWR);
    CONST(O_CREAT);
    CONST(O_EXCL);
    CONST(O_TRUNC);
    CONST(O_APPEND);
    CONST(O_CLOEXEC);
    CONST(O_PATH);

    CONST(S_IFMT);
    CONST(S_IFREG);
    CONST(S_IFDIR);
    CONST(S_IFLNK);

    CONST(RENAME_NOREPLACE);
    CONST(RENAME_EXCHANGE);
    CONST(UTIME_NOW);
    CONST(UTIME_OMIT);
    CONST(MNT_DETACH);
    CONST(ST_RDONLY);
    CONST(ST_NOSUID);

    CONST(EPERM);
    CONST(ENOENT);
    CONST(EINTR);
    CONST(EIO);
    CONST(EBADF);
    CONST(EAGAIN);
    CONST(ENOMEM);
    CONST(EACCES);
    CONST(EBUSY);
    CONST(EEXIST);
    CONST(EXDEV);
    CONST(ENOTDIR);
    CONST(EISDIR);
    CONST(EINVAL);
    CONST(EFBIG);
    CONST(ENOSPC);
    CONST(EROFS);
    CONST(ERANGE);
    CONST(ENAMETOOLONG);
    CONST(ENOSYS);
    CONST(ENOTEMPTY);
    CONST(ENODATA);
    CONST(ENOTSUP);
    CONST(ENOTCONN);
    CONST(ETIMEDOUT);
    CONST(ECONNRESET);
}

int main(void)
{
    operations();
    file_info();
    config();
    conn_info();
    args_and_context();
    posix();
    constants();
    return 0;
}
