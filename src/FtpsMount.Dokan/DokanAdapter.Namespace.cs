using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan.Native;
using static FtpsMount.Dokan.Native.WinConst;

namespace FtpsMount.Dokan;

internal sealed partial class DokanAdapter
{
    /// <summary>The server path an open refers to now (follows renames), or the resolved path for calls without an open.</summary>
    private int PathOf(string operation, string path, nint info, out string serverPath, out OpenEntry? entry)
    {
        if (Fi(info).Context != 0 && _opens.TryGetValue(Fi(info).Context, out entry))
        {
            serverPath = entry.Handle?.Path ?? entry.ServerPath;
            return NtStatus.STATUS_SUCCESS;
        }

        entry = null;
        serverPath = "";
        var rc = Await(operation, path, _options.OperationTimeout, info, ct => ResolveAsync(path, ct), out var resolved);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        if (resolved.Existing is null)
        {
            return resolved.ParentExists ? NtStatus.STATUS_OBJECT_NAME_NOT_FOUND : NtStatus.STATUS_OBJECT_PATH_NOT_FOUND;
        }

        serverPath = resolved.ServerPath;
        return NtStatus.STATUS_SUCCESS;
    }

    /// <summary>GetFileInformation. Kernel contract: attributes, times, size and a file index of the open file.</summary>
    public int GetFileInformation(string path, out ByHandleFileInformation result, nint info)
    {
        result = default;
        var rc = PathOf("getinfo", path, info, out var serverPath, out _);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        rc = Await("getinfo", path, _options.OperationTimeout, info, ct => _fs.GetAttributesAsync(serverPath, ct), out var attributes);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        var time = FileTime.From(attributes.Modified);
        var size = attributes.IsDirectory ? 0 : Math.Max(0, attributes.Size);
        var index = (ulong)(uint)DokanMountOptions.StableHash(serverPath) | ((ulong)(uint)serverPath.Length << 32);
        result = new ByHandleFileInformation
        {
            dwFileAttributes = AttributesOf(attributes),
            ftCreationTime = time,
            ftLastAccessTime = time,
            ftLastWriteTime = time,
            dwVolumeSerialNumber = _options.EffectiveSerialNumber,
            nFileSizeHigh = (uint)((ulong)size >> 32),
            nFileSizeLow = (uint)size,
            nNumberOfLinks = 1,
            nFileIndexHigh = (uint)(index >> 32),
            nFileIndexLow = (uint)index,
        };
        return NtStatus.STATUS_SUCCESS;
    }

    /// <summary>FILE_ATTRIBUTE_* of an entry: DIRECTORY or ARCHIVE (NORMAL must stand alone, so plain files say
    /// ARCHIVE as on NTFS), READONLY when the owner has no write bit or the mount is read-only, HIDDEN for dot-files.</summary>
    internal uint AttributesOf(FsAttributes attributes)
    {
        var value = attributes.IsDirectory ? FILE_ATTRIBUTE_DIRECTORY : FILE_ATTRIBUTE_ARCHIVE;
        if (!attributes.IsDirectory && (_options.ReadOnly || (attributes.Mode & 0x80) == 0))
        {
            value |= FILE_ATTRIBUTE_READONLY;
        }

        if (attributes.Name.StartsWith('.') && attributes.Name is not "." and not "..")
        {
            value |= FILE_ATTRIBUTE_HIDDEN;
        }

        return value;
    }

    /// <summary>FindFiles / FindFilesWithPattern. Kernel contract: one WIN32_FIND_DATAW per entry whose name matches the
    /// DOS pattern (<see cref="DosWildcard"/>, case-insensitive; null = all), handed to <paramref name="fill"/>. Non-root
    /// directories list "." and ".." as NTFS does. Server names Windows cannot represent (containing \ / : * ? " &lt; &gt; |,
    /// or 260 characters and more) are left out and logged once per listing.</summary>
    public int FindFiles(string path, string? pattern, Func<Win32FindData, bool> fill, nint info)
    {
        var rc = PathOf("find", path, info, out var serverPath, out _);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        rc = Await("find", path, _options.OperationTimeout, info, ct => _fs.ReadDirectoryAsync(serverPath, ct), out var entries);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        var all = string.IsNullOrEmpty(pattern) || pattern == "*";
        if (serverPath != "/")
        {
            var dot = new FsAttributes { Name = ".", Kind = FsEntryKind.Directory, Mode = DirectoryMode };
            foreach (var name in new[] { ".", ".." })
            {
                if ((all || DosWildcard.IsMatch(pattern!, name)) && fill(ToFindData(dot with { Name = name })))
                {
                    return NtStatus.STATUS_SUCCESS;
                }
            }
        }

        var skipped = 0;
        foreach (var entry in entries)
        {
            if (!IsRepresentable(entry.Name))
            {
                skipped++;
                continue;
            }

            if ((all || DosWildcard.IsMatch(pattern!, entry.Name)) && fill(ToFindData(entry)))
            {
                break; // the buffer is full (Dokan 2 never says so today)
            }
        }

        if (skipped > 0)
        {
            _log.Log(Protocol.FtpLogLevel.Warning, $"dokan find {path}: {skipped} name(s) on the server cannot be shown on Windows (reserved characters or too long)");
        }

        return NtStatus.STATUS_SUCCESS;
    }

    private unsafe Win32FindData ToFindData(FsAttributes attributes)
    {
        var time = FileTime.From(attributes.Modified);
        var size = attributes.IsDirectory ? 0 : Math.Max(0, attributes.Size);
        var data = new Win32FindData
        {
            dwFileAttributes = AttributesOf(attributes),
            ftCreationTime = time,
            ftLastAccessTime = time,
            ftLastWriteTime = time,
            nFileSizeHigh = (uint)((ulong)size >> 32),
            nFileSizeLow = (uint)size,
        };
        var name = attributes.Name.AsSpan(0, Math.Min(attributes.Name.Length, Win32FindData.MaxPath - 1));
        name.CopyTo(new Span<char>(data.cFileName, Win32FindData.MaxPath));
        data.cFileName[name.Length] = '\0';
        return data;
    }

    /// <summary>SetFileAttributes. FTP stores no attributes: READONLY is mapped to the owner's write bit (SITE CHMOD, only
    /// when it changes); ARCHIVE, NORMAL, HIDDEN, TEMPORARY and the rest are accepted and not kept.</summary>
    public int SetFileAttributes(string path, uint attributes, nint info)
    {
        if (_options.ReadOnly)
        {
            return WriteProtected("set-attributes", path);
        }

        var rc = PathOf("set-attributes", path, info, out var serverPath, out _);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        rc = Await("set-attributes", path, _options.OperationTimeout, info, ct => _fs.GetAttributesAsync(serverPath, ct), out var current);
        if (rc != NtStatus.STATUS_SUCCESS || current.IsDirectory)
        {
            return rc;
        }

        var wantReadOnly = (attributes & FILE_ATTRIBUTE_READONLY) != 0;
        var isReadOnly = (current.Mode & 0x80) == 0;
        if (wantReadOnly == isReadOnly)
        {
            return NtStatus.STATUS_SUCCESS;
        }

        var mode = wantReadOnly ? current.Mode & ~0x92 : current.Mode | 0x80;
        return Await("set-attributes", path, _options.TransferTimeout, info, ct => _fs.SetModeAsync(serverPath, mode, ct));
    }

    /// <summary>SetFileTime. FTP keeps one time (MFMT, whole seconds): the last-write time is set; creation and access
    /// times are accepted and not kept. A NULL, 0 or -1 FILETIME means "leave it".</summary>
    public int SetFileTime(string path, DateTimeOffset? lastWrite, nint info)
    {
        if (_options.ReadOnly)
        {
            return WriteProtected("set-time", path);
        }

        if (lastWrite is not { } time)
        {
            return NtStatus.STATUS_SUCCESS;
        }

        var rc = PathOf("set-time", path, info, out var serverPath, out var entry);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        // Pending data must land first, or the upload at Cleanup would stamp the file with "now" again.
        if (entry?.Handle is { CanWrite: true } handle && entry.Modified)
        {
            rc = Await("set-time (upload)", path, _options.TransferTimeout, info, ct => _fs.FlushAsync(handle, ct));
            if (rc != NtStatus.STATUS_SUCCESS)
            {
                return rc;
            }
        }

        return Await("set-time", path, _options.TransferTimeout, info, ct => _fs.SetModifiedTimeAsync(serverPath, time, ct));
    }

    /// <summary>DeleteFile. Kernel contract: only check whether the file may be deleted (the delete happens in Cleanup
    /// with DeleteOnClose set); also called with DeleteOnClose = 0 when a delete request is withdrawn.</summary>
    public int DeleteFile(string path, nint info)
    {
        if (Fi(info).DeleteOnClose == 0)
        {
            return NtStatus.STATUS_SUCCESS;
        }

        if (_options.ReadOnly)
        {
            return WriteProtected("delete", path);
        }

        var rc = PathOf("delete", path, info, out var serverPath, out var entry);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        if (entry is { IsDirectory: true })
        {
            return Refuse("delete", path, NtStatus.STATUS_ACCESS_DENIED, "DeleteFile on a directory");
        }

        rc = Await("delete", path, _options.OperationTimeout, info, ct => _fs.GetAttributesAsync(serverPath, ct), out var attributes);
        return rc != NtStatus.STATUS_SUCCESS ? rc
            : attributes.IsDirectory ? Refuse("delete", path, NtStatus.STATUS_ACCESS_DENIED, "DeleteFile on a directory")
            : NtStatus.STATUS_SUCCESS;
    }

    /// <summary>DeleteDirectory. Kernel contract: check only (see <see cref="DeleteFile"/>); a non-empty directory answers
    /// STATUS_DIRECTORY_NOT_EMPTY.</summary>
    public int DeleteDirectory(string path, nint info)
    {
        if (Fi(info).DeleteOnClose == 0)
        {
            return NtStatus.STATUS_SUCCESS;
        }

        if (_options.ReadOnly)
        {
            return WriteProtected("rmdir", path);
        }

        var rc = PathOf("rmdir", path, info, out var serverPath, out _);
        return rc != NtStatus.STATUS_SUCCESS ? rc : DeleteDirectoryCheck("rmdir", path, serverPath, info);
    }

    private int DeleteDirectoryCheck(string operation, string path, string serverPath, nint info)
    {
        if (_options.ReadOnly)
        {
            return WriteProtected(operation, path);
        }

        if (serverPath == "/")
        {
            return Refuse(operation, path, NtStatus.STATUS_CANNOT_DELETE, "the root of the volume");
        }

        var rc = Await(operation, path, _options.OperationTimeout, info, ct => _fs.ReadDirectoryAsync(serverPath, ct), out var entries);
        return rc != NtStatus.STATUS_SUCCESS ? rc
            : entries.Count > 0 ? Refuse(operation, path, NtStatus.STATUS_DIRECTORY_NOT_EMPTY, $"{entries.Count} entries")
            : NtStatus.STATUS_SUCCESS;
    }

    /// <summary>MoveFile. Kernel contract: rename the open file or directory to <paramref name="newPath"/>; an existing
    /// target is replaced only with <paramref name="replace"/> (MOVEFILE_REPLACE_EXISTING), else
    /// STATUS_OBJECT_NAME_COLLISION; a directory is never replaced (STATUS_ACCESS_DENIED). A rename that only changes case
    /// renames the entry itself. The open follows the new name.</summary>
    public int MoveFile(string path, string newPath, bool replace, nint info)
    {
        if (_options.ReadOnly)
        {
            return WriteProtected("move", path);
        }

        var rc = PathOf("move", path, info, out var from, out var entry);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        if (!IsValidNewName(newPath))
        {
            return Refuse("move", newPath, NtStatus.STATUS_OBJECT_NAME_INVALID, "not a valid name");
        }

        rc = Await("move", newPath, _options.OperationTimeout, info, ct => ResolveAsync(newPath, ct), out var target);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        if (!target.ParentExists)
        {
            return Refuse("move", newPath, NtStatus.STATUS_OBJECT_PATH_NOT_FOUND, "the target directory does not exist");
        }

        var to = target.ServerPath;
        var sameEntry = target.Existing is not null && string.Equals(to, from, StringComparison.Ordinal);
        if (target.Existing is not null && !sameEntry)
        {
            if (!replace)
            {
                return Refuse("move", newPath, NtStatus.STATUS_OBJECT_NAME_COLLISION, "the target exists and replacing was not asked for");
            }

            if (target.Existing.IsDirectory)
            {
                return Refuse("move", newPath, NtStatus.STATUS_ACCESS_DENIED, "a directory is never replaced");
            }
        }

        if (sameEntry || (target.Existing is not null && string.Equals(to, from, StringComparison.OrdinalIgnoreCase)))
        {
            // A case-only rename ("a.txt" → "A.txt"): the target resolved to the source itself; use the new spelling.
            var parts = SplitPath(newPath);
            to = FtpsMount.Protocol.FtpPath.GetParent(from) is var parent && parent == "/" ? "/" + parts[^1] : FtpsMount.Protocol.FtpPath.GetParent(from) + "/" + parts[^1];
            if (string.Equals(to, from, StringComparison.Ordinal))
            {
                return NtStatus.STATUS_SUCCESS;
            }
        }

        var isDirectory = entry?.IsDirectory ?? false;
        rc = Await("move", path, _options.TransferTimeout, info, ct => _fs.RenameAsync(from, to, noReplace: !replace, ct));
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        if (entry is not null)
        {
            entry.ServerPath = to;
            entry.WindowsPath = newPath;
        }

        Host.NotifyRename(path, newPath, isDirectory, string.Equals(ParentOf(path), ParentOf(newPath), StringComparison.OrdinalIgnoreCase));
        return NtStatus.STATUS_SUCCESS;
    }

    /// <summary>GetDiskFreeSpace (GetDiskFreeSpaceEx): from Core's statfs (the server's AVBL when offered). Unknown sizes
    /// report 1 PiB free, so programs that check space before copying do not refuse.</summary>
    public int GetDiskFreeSpace(out ulong freeBytesAvailable, out ulong totalBytes, out ulong totalFreeBytes, nint info)
    {
        freeBytesAvailable = totalBytes = totalFreeBytes = 0;
        var rc = Await("statfs", "\\", _options.OperationTimeout, info, ct => _fs.StatFsAsync(ct), out var stat);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        const long UnknownBytes = 1L << 50;
        var free = stat.FreeBytes ?? UnknownBytes;
        var total = Math.Max(stat.TotalBytes ?? (stat.FreeBytes is null ? UnknownBytes : free), free);
        freeBytesAvailable = (ulong)free;
        totalFreeBytes = (ulong)free;
        totalBytes = (ulong)total;
        return NtStatus.STATUS_SUCCESS;
    }

    /// <summary>GetVolumeInformation: label, serial, longest name, and the flags that describe this filesystem —
    /// case-preserving but not case-sensitive (see the name rule), Unicode names, read-only when mounted so.</summary>
    public int GetVolumeInformation(out string label, out uint serial, out uint maxComponentLength, out uint flags, out string fileSystemName, nint info)
    {
        label = _options.VolumeLabel;
        serial = _options.EffectiveSerialNumber;
        fileSystemName = _options.FileSystemName;
        flags = FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK | (_options.ReadOnly ? FILE_READ_ONLY_VOLUME : 0);
        maxComponentLength = 255;
        var rc = Await("volume", "\\", _options.OperationTimeout, info, ct => _fs.StatFsAsync(ct), out var stat);
        if (rc == NtStatus.STATUS_SUCCESS && stat.MaxNameLength > 0)
        {
            maxComponentLength = (uint)Math.Min(stat.MaxNameLength, Win32FindData.MaxPath - 1);
        }

        return NtStatus.STATUS_SUCCESS;
    }
}
