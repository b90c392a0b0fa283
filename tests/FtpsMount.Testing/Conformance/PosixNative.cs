using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FtpsMount.Testing.Conformance;

/// <summary>
/// The libc calls behind <see cref="PosixDirectoryTarget"/> (Linux, 64-bit). Raw syscalls rather than
/// System.IO so every failure keeps its exact errno (System.IO folds EISDIR, EACCES and others into
/// UnauthorizedAccessException and ENOTEMPTY into a generic IOException).
/// </summary>
internal static unsafe partial class PosixNative
{
    private const string Library = "libc.so.6";

    // asm-generic open flags: the same on x86-64 and arm64.
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_CLOEXEC = 0x80000;

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint RENAME_NOREPLACE = 1;
    private const uint STATX_BASIC_STATS = 0x7ff;
    private const long UTIME_OMIT = (1L << 30) - 2;
    private const int SEEK_END = 2;

    public const int S_IFMT = 0xF000;
    public const int S_IFDIR = 0x4000;
    public const int S_IFREG = 0x8000;
    public const int S_IFLNK = 0xA000;

    // open(2) is variadic; with integer arguments only, the x86-64 SysV and AAPCS64 conventions pass the
    // optional mode exactly like a fixed third argument.
    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, uint mode);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint PWrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "lseek", SetLastError = true)]
    public static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport(Library, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int FTruncate(int fd, long length);

    [LibraryImport(Library, EntryPoint = "truncate", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Truncate(string path, long length);

    [LibraryImport(Library, EntryPoint = "fsync", SetLastError = true)]
    public static partial int FSync(int fd);

    [LibraryImport(Library, EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    [LibraryImport(Library, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport(Library, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkDir(string path, uint mode);

    [LibraryImport(Library, EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RmDir(string path);

    [LibraryImport(Library, EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ChMod(string path, uint mode);

    [LibraryImport(Library, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UTimensAt(int dirFd, string path, long* times, int flags);

    // struct statx has one layout on every architecture (256 bytes), unlike struct stat.
    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int dirFd, string path, int flags, uint mask, byte* buffer);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}";

    /// <summary>Result of lstat: file type bits, permission bits, size and mtime.</summary>
    public readonly record struct StatResult(int Type, int Permissions, long Size, DateTimeOffset Modified);

    /// <summary>lstat via statx; returns the errno (0 on success).</summary>
    public static int LStat(string path, out StatResult result)
    {
        var buffer = stackalloc byte[256];
        if (StatX(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buffer) != 0)
        {
            result = default;
            return LastErrno;
        }

        var span = new ReadOnlySpan<byte>(buffer, 256);
        int mode = BinaryPrimitives.ReadUInt16LittleEndian(span[28..]);
        var size = BinaryPrimitives.ReadInt64LittleEndian(span[40..]);
        var seconds = BinaryPrimitives.ReadInt64LittleEndian(span[112..]);
        var nanos = BinaryPrimitives.ReadUInt32LittleEndian(span[120..]);
        var modified = DateTimeOffset.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanos / 100);
        result = new StatResult(mode & S_IFMT, mode & 0xFFF, size, modified);
        return 0;
    }

    /// <summary>Sets the modification time only (UTIME_OMIT for the access time).</summary>
    public static int SetModifiedTime(string path, DateTimeOffset modified)
    {
        var ticks = (modified.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks);
        var times = stackalloc long[4];
        times[0] = 0;
        times[1] = UTIME_OMIT;
        times[2] = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest);
        times[3] = rest * 100;
        if (times[3] < 0)
        {
            times[2] -= 1;
            times[3] += 1_000_000_000;
        }

        return UTimensAt(AT_FDCWD, path, times, 0) == 0 ? 0 : LastErrno;
    }

    public static long SeekEnd(int fd) => LSeek(fd, 0, SEEK_END);
}
