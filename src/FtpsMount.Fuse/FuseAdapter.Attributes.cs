using System.Text;
using FtpsMount.Core.FileSystem;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse;

internal sealed partial class FuseAdapter
{
    /// <summary>st_blksize: the I/O size programs (cp, cat, stdio) use as their buffer. 128 KiB keeps FUSE round
    /// trips few without inflating stdio buffers; the kernel still splits and merges requests up to max_read/max_write.</summary>
    internal const int PreferredIoSize = 128 * 1024;

    /// <summary>getattr. Kernel contract: fill the stat of an existing path or answer -ENOENT (which the kernel caches
    /// as a negative entry for negative_timeout). <paramref name="fh"/> is set when called for fstat on an open file.
    /// st_ino is ignored (use_ino = 0: libfuse numbers the nodes).</summary>
    public int GetAttributes(string path, ulong? fh, out FsAttributes attributes)
    {
        _ = fh; // Core overlays pending writes by path, so the handle adds nothing.
        return Await("getattr", path, _options.OperationTimeout, ct => _fs.GetAttributesAsync(path, ct), out attributes);
    }

    /// <summary>readlink. Kernel contract: the target, truncated to the buffer, NUL-terminated by the trampoline;
    /// -EINVAL when the path is not a symlink. Symlinks appear only as the server lists them; targets are shown as the
    /// server gives them (an absolute target resolves on this machine, as on any network filesystem).</summary>
    public int ReadLink(string path, out string target)
    {
        target = "";
        var rc = Await("readlink", path, _options.OperationTimeout, ct => _fs.GetAttributesAsync(path, ct), out var attributes);
        if (rc != 0)
        {
            return rc;
        }

        if (attributes.Kind != FsEntryKind.Symlink)
        {
            return Refuse("readlink", path, Errno.EINVAL, "not a symbolic link");
        }

        if (string.IsNullOrEmpty(attributes.LinkTarget))
        {
            _log.Log(FtpLogLevel.Warning, $"fuse readlink {path}: the server lists a symbolic link without its target; answering EIO");
            return -Errno.EIO;
        }

        target = attributes.LinkTarget;
        return 0;
    }

    /// <summary>readdir (whole listing at once). Kernel contract as libfuse's high-level API implements it: with
    /// offset 0 passed to the filler for every entry, libfuse buffers the listing itself and serves the kernel's
    /// successive reads and seeks (telldir/seekdir) from that buffer, so one call per opendir suffices. "." and ".."
    /// are added by the trampoline. Attributes go with every entry (READDIRPLUS), which spares the kernel one lookup
    /// per name for `ls -l`.</summary>
    public int ReadDirectory(string path, out IReadOnlyList<FsAttributes> entries) =>
        Await("readdir", path, _options.OperationTimeout, ct => _fs.ReadDirectoryAsync(path, ct), out entries);

    /// <summary>statfs. Servers rarely tell sizes (only AVBL); unknown sizes are reported as 1 PiB free so programs
    /// that check free space before copying don't refuse. f_namemax is Core's name limit.</summary>
    public int StatFs(string path, out Statvfs result)
    {
        result = default;
        FsStatFs stat;
        if (ShuttingDown)
        {
            // The unmount sequence sends one statfs to wake the loop (libfuse 3.14 drops it unanswered once the session
            // exited, but a worker may still be serving when it arrives); a slow or dead server must not delay it.
            stat = new FsStatFs(null, null, 4096, 255);
        }
        else
        {
            var rc = Await("statfs", path, _options.OperationTimeout, ct => _fs.StatFsAsync(ct), out stat);
            if (rc != 0)
            {
                return rc;
            }
        }

        const long UnknownBytes = 1L << 50;
        var blockSize = stat.BlockSize > 0 ? stat.BlockSize : 4096;
        var free = stat.FreeBytes ?? UnknownBytes;
        var total = Math.Max(stat.TotalBytes ?? (stat.FreeBytes is null ? UnknownBytes : free), free);
        result.f_bsize = (ulong)blockSize;
        result.f_frsize = (ulong)blockSize;
        result.f_blocks = (ulong)(total / blockSize);
        result.f_bfree = (ulong)(free / blockSize);
        result.f_bavail = (ulong)(free / blockSize);
        result.f_files = 1UL << 32;
        result.f_ffree = 1UL << 31;
        result.f_favail = 1UL << 31;
        result.f_namemax = (ulong)(stat.MaxNameLength > 0 ? stat.MaxNameLength : 255);
        result.f_flag = _options.ReadOnly ? PosixConst.ST_RDONLY : 0;
        return 0;
    }

    /// <summary>struct stat values for Core's attributes: type bits from the kind, permission bits as listed, owner =
    /// the mounting user (or the configured uid/gid), one link, mtime for all three times.</summary>
    public StatValues ToStat(FsAttributes attributes)
    {
        var type = attributes.Kind switch
        {
            FsEntryKind.Directory => PosixConst.S_IFDIR,
            FsEntryKind.Symlink => PosixConst.S_IFLNK,
            _ => PosixConst.S_IFREG,
        };
        var size = attributes.Kind switch
        {
            FsEntryKind.Directory => 0,
            // POSIX: a symlink's size is the length of its target.
            FsEntryKind.Symlink when attributes.LinkTarget is { } target => Encoding.UTF8.GetByteCount(target),
            _ => Math.Max(0, attributes.Size),
        };
        var modified = attributes.Modified;
        var seconds = modified.ToUnixTimeSeconds();
        var nanoseconds = (modified.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks - (seconds * TimeSpan.TicksPerSecond)) * 100;
        if (nanoseconds is < 0 or >= 1_000_000_000)
        {
            nanoseconds = 0;
        }

        return new StatValues(
            Mode: type | ((uint)attributes.Mode & 0xFFF),
            Size: size,
            Uid: OwnerUid,
            Gid: OwnerGid,
            // 1 = "link count unknown" for directories too (find's leaf optimisation stays off).
            Links: 1,
            BlockSize: PreferredIoSize,
            ModifiedSeconds: seconds,
            ModifiedNanoseconds: nanoseconds);
    }

    /// <summary>Stat of "." and ".." in a listing (only the type matters: d_type = DT_DIR).</summary>
    public StatValues DirectoryStat() => new(PosixConst.S_IFDIR | 0x1ED, 0, OwnerUid, OwnerGid, 1, PreferredIoSize, 0, 0);
}
