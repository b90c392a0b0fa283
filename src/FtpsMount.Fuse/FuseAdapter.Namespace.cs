using FtpsMount.Fuse.Native;

namespace FtpsMount.Fuse;

internal sealed partial class FuseAdapter
{
    /// <summary>mkdir. Kernel contract: -EEXIST if the name exists, -ENOENT/-ENOTDIR for a bad parent. The mode is
    /// passed on (servers apply their own umask; SITE CHMOD is not sent for it).</summary>
    public int MakeDirectory(string path, uint mode) => _options.ReadOnly
        ? ReadOnlyRefusal("mkdir", path)
        : Await("mkdir", path, _options.OperationTimeout, ct => _fs.MakeDirectoryAsync(path, (int)(mode & 0xFFF), ct));

    /// <summary>unlink. Kernel contract: remove a non-directory (-EISDIR for a directory). An unlink of a file that is
    /// still open never reaches here as such: libfuse (hard_remove off) renames it to .fuse_hiddenNNN and unlinks that
    /// on release, so open descriptors keep working as POSIX requires.</summary>
    public int Unlink(string path) => _options.ReadOnly
        ? ReadOnlyRefusal("unlink", path)
        : Await("unlink", path, _options.OperationTimeout, ct => _fs.DeleteFileAsync(path, ct));

    /// <summary>rmdir. Kernel contract: -ENOTEMPTY for a non-empty directory, -ENOTDIR for a file.</summary>
    public int RemoveDirectory(string path) => _options.ReadOnly
        ? ReadOnlyRefusal("rmdir", path)
        : Await("rmdir", path, _options.OperationTimeout, ct => _fs.RemoveDirectoryAsync(path, ct));

    /// <summary>rename (renameat2). Kernel contract: replace an existing target atomically unless RENAME_NOREPLACE
    /// (then -EEXIST); RENAME_EXCHANGE (swap two names) cannot be done over FTP and answers -EINVAL, which is what
    /// renameat2(2) documents for a flag the filesystem does not support (mv then falls back). May upload pending
    /// writes of the source first, hence the transfer timeout.</summary>
    public int Rename(string from, string to, uint flags)
    {
        if ((flags & PosixConst.RENAME_EXCHANGE) != 0)
        {
            return Refuse("rename", from, Errno.EINVAL, "RENAME_EXCHANGE is not supported over FTP");
        }

        if ((flags & ~PosixConst.RENAME_NOREPLACE) != 0)
        {
            return Refuse("rename", from, Errno.EINVAL, $"unsupported rename flags 0x{flags:x}");
        }

        if (_options.ReadOnly)
        {
            return ReadOnlyRefusal("rename", from);
        }

        var noReplace = (flags & PosixConst.RENAME_NOREPLACE) != 0;
        return Await("rename", from, _options.TransferTimeout, ct => _fs.RenameAsync(from, to, noReplace, ct));
    }

    /// <summary>chmod (setattr with a mode). Sent as SITE CHMOD; servers without it answer -ENOTSUP through Core.</summary>
    public int Chmod(string path, uint mode) => _options.ReadOnly
        ? ReadOnlyRefusal("chmod", path)
        : Await("chmod", path, _options.TransferTimeout, ct => _fs.SetModeAsync(path, (int)(mode & 0xFFF), ct));

    /// <summary>chown. FTP cannot change owners and every file is reported as owned by the mount's uid/gid, so a chown
    /// to that owner (or -1, "unchanged") succeeds as the no-op it is, and any other owner answers -EPERM — what a
    /// filesystem answers a caller not allowed to give files away. (Archivers running as root restore owners; use
    /// `tar --no-same-owner`, `rsync --no-owner --no-group`.)</summary>
    public int Chown(string path, uint uid, uint gid)
    {
        if (_options.ReadOnly)
        {
            return ReadOnlyRefusal("chown", path);
        }

        var uidOk = uid == uint.MaxValue || uid == OwnerUid;
        var gidOk = gid == uint.MaxValue || gid == OwnerGid;
        return uidOk && gidOk ? 0 : Refuse("chown", path, Errno.EPERM, $"FTP cannot change owners (asked {uid}:{gid}, files belong to {OwnerUid}:{OwnerGid})");
    }

    /// <summary>utimens. Kernel contract: tv[0] atime, tv[1] mtime, each possibly UTIME_NOW or UTIME_OMIT. FTP keeps one
    /// time (MFMT, whole seconds); atime is ignored. <paramref name="modified"/> null = mtime omitted (nothing to do).</summary>
    public int SetTimes(string path, DateTimeOffset? modified)
    {
        if (_options.ReadOnly)
        {
            return ReadOnlyRefusal("utimens", path);
        }

        if (modified is not { } m)
        {
            return 0;
        }

        return Await("utimens", path, _options.TransferTimeout, ct => _fs.SetModifiedTimeAsync(path, m, ct));
    }

    /// <summary>mknod. Only regular files exist on FTP: S_IFREG creates an empty file (mknod(2), or open(O_CREAT) on a
    /// kernel without create support); devices, FIFOs and sockets answer -EPERM as mknod(2) documents for a
    /// filesystem that does not support the node type.</summary>
    public int MakeNode(string path, uint mode)
    {
        var type = mode & PosixConst.S_IFMT;
        if (type != 0 && type != PosixConst.S_IFREG)
        {
            return Refuse("mknod", path, Errno.EPERM, $"node type 0{Convert.ToString(type, 8)} cannot exist on an FTP server");
        }

        if (_options.ReadOnly)
        {
            return ReadOnlyRefusal("mknod", path);
        }

        var rc = Create(path, mode, PosixConst.O_CREAT | PosixConst.O_EXCL | PosixConst.O_WRONLY, out var fh);
        return rc != 0 ? rc : Release(path, fh);
    }

    /// <summary>link: FTP has no hard links; -EPERM is link(2)'s "filesystem does not support hard links".</summary>
    public int Link(string from, string to) => Refuse("link", $"{from} -> {to}", Errno.EPERM, "FTP has no hard links");

    /// <summary>symlink: FTP cannot create symbolic links (existing ones are shown); -EPERM is symlink(2)'s
    /// "filesystem does not support the creation of symbolic links".</summary>
    public int Symlink(string target, string linkPath) => _options.ReadOnly
        ? ReadOnlyRefusal("symlink", linkPath)
        : Refuse("symlink", $"{linkPath} -> {target}", Errno.EPERM, "FTP cannot create symbolic links");
}
