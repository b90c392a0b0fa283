namespace FtpsMount.Fuse.Native;

// C constants under their C names (Linux, glibc; the same on x86_64 and aarch64). Each class is compared with the
// probe's "const" lines by the ABI test.

/// <summary>errno values (asm-generic/errno*.h). ENOTSUP is EOPNOTSUPP on Linux.</summary>
[NativeConstants]
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EFBIG = 27;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ERANGE = 34;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ENODATA = 61;
    public const int ECONNRESET = 104;
    public const int ENOTSUP = 95;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
}

/// <summary>open(2) flags (only those equal on x86_64 and aarch64: O_DIRECTORY is not), file type bits, rename(2)/utimensat(2)/umount2(2)/statvfs flags.</summary>
[NativeConstants]
internal static class PosixConst
{
    public const int O_ACCMODE = 3;
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_CLOEXEC = 0x80000;
    public const int O_PATH = 0x200000;

    public const uint S_IFMT = 0xF000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFLNK = 0xA000;

    public const uint RENAME_NOREPLACE = 1;
    public const uint RENAME_EXCHANGE = 2;

    public const long UTIME_NOW = (1L << 30) - 1;
    public const long UTIME_OMIT = (1L << 30) - 2;

    public const int MNT_DETACH = 2;

    public const ulong ST_RDONLY = 1;
    public const ulong ST_NOSUID = 2;
}

/// <summary>libfuse version the layouts were verified against, readdir flags and FUSE_CAP_* bits (fuse_common.h).</summary>
[NativeConstants]
internal static class FuseConst
{
    public const int FUSE_MAJOR_VERSION = 3;
    public const int FUSE_MINOR_VERSION = 14;

    /// <summary>enum fuse_readdir_flags: the kernel asked for READDIRPLUS (entries with attributes).</summary>
    public const int FUSE_READDIR_PLUS = 1 << 0;

    /// <summary>enum fuse_fill_dir_flags: the stat passed to the filler is complete.</summary>
    public const int FUSE_FILL_DIR_PLUS = 1 << 1;

    public const uint FUSE_CAP_ASYNC_READ = 1u << 0;
    public const uint FUSE_CAP_ATOMIC_O_TRUNC = 1u << 3;
    public const uint FUSE_CAP_SPLICE_WRITE = 1u << 7;
    public const uint FUSE_CAP_SPLICE_MOVE = 1u << 8;
    public const uint FUSE_CAP_SPLICE_READ = 1u << 9;
    public const uint FUSE_CAP_AUTO_INVAL_DATA = 1u << 12;
    public const uint FUSE_CAP_READDIRPLUS = 1u << 13;
    public const uint FUSE_CAP_READDIRPLUS_AUTO = 1u << 14;
    public const uint FUSE_CAP_ASYNC_DIO = 1u << 15;
    public const uint FUSE_CAP_WRITEBACK_CACHE = 1u << 16;
    public const uint FUSE_CAP_PARALLEL_DIROPS = 1u << 18;
}
