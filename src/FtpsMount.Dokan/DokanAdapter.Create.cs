using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan.Native;
using static FtpsMount.Dokan.Native.WinConst;

namespace FtpsMount.Dokan;

internal sealed partial class DokanAdapter
{
    private const uint WriteAccess = FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE | GENERIC_ALL;

    /// <summary>
    /// ZwCreateFile. Kernel contract (dokan.h, ZwCreateFile in the WDK): open or create <paramref name="path"/> per
    /// <paramref name="disposition"/>, set DOKAN_FILE_INFO.IsDirectory when the name is a directory, and keep whatever
    /// later calls need in Context. The table implemented (exists = the name resolves, case-insensitively):
    /// <code>
    ///                     exists (file)                         exists (dir)                  missing
    /// FILE_SUPERSEDE      truncate → NAME_COLLISION           FILE_IS_A_DIRECTORY           create file
    /// FILE_OPEN           open                                open                          OBJECT_NAME_NOT_FOUND
    /// FILE_CREATE         OBJECT_NAME_COLLISION               OBJECT_NAME_COLLISION         create file / mkdir
    /// FILE_OPEN_IF        open → NAME_COLLISION               open → NAME_COLLISION         create file / mkdir
    /// FILE_OVERWRITE      truncate                            FILE_IS_A_DIRECTORY           OBJECT_NAME_NOT_FOUND
    /// FILE_OVERWRITE_IF   truncate → NAME_COLLISION           FILE_IS_A_DIRECTORY           create file
    /// </code>
    /// "→ NAME_COLLISION" is Dokan's way to say "opened an existing file" for OPEN_ALWAYS/CREATE_ALWAYS (the caller
    /// then sees ERROR_ALREADY_EXISTS with a valid handle). Option rules: FILE_DIRECTORY_FILE on a file →
    /// STATUS_NOT_A_DIRECTORY; FILE_NON_DIRECTORY_FILE on a directory → STATUS_FILE_IS_A_DIRECTORY; FILE_DIRECTORY_FILE
    /// with a missing name creates a directory only for FILE_CREATE/FILE_OPEN_IF (else STATUS_INVALID_PARAMETER); a
    /// missing parent → STATUS_OBJECT_PATH_NOT_FOUND. Read-only mounts refuse anything that writes with
    /// STATUS_MEDIA_WRITE_PROTECTED. FILE_DELETE_ON_CLOSE is checked like DeleteFile/DeleteDirectory now and carried
    /// out in Cleanup.
    /// </summary>
    public int CreateFile(string path, uint access, uint attributes, uint share, uint disposition, uint options, nint info)
    {
        _ = attributes; // FTP keeps no attributes; new files are plain files.
        _ = share; // sharing is enforced by the driver/IO manager, not the server.
        if (disposition > FILE_OVERWRITE_IF)
        {
            return Refuse("create", path, NtStatus.STATUS_INVALID_PARAMETER, $"unknown CreateDisposition {disposition}");
        }

        var wantsDirectory = (options & FILE_DIRECTORY_FILE) != 0;
        var wantsFile = (options & FILE_NON_DIRECTORY_FILE) != 0;
        if (wantsDirectory && wantsFile)
        {
            return Refuse("create", path, NtStatus.STATUS_INVALID_PARAMETER, "FILE_DIRECTORY_FILE with FILE_NON_DIRECTORY_FILE");
        }

        var deleteOnClose = (options & FILE_DELETE_ON_CLOSE) != 0;
        var rc = Await("create", path, _options.OperationTimeout, info, ct => ResolveAsync(path, ct), out var resolved);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        return resolved.Existing is { } existing
            ? OpenExisting(path, resolved.ServerPath, existing, access, disposition, wantsDirectory, wantsFile, deleteOnClose, info)
            : CreateNew(path, resolved, access, disposition, wantsDirectory, deleteOnClose, info);
    }

    private int OpenExisting(string path, string serverPath, FsAttributes existing, uint access, uint disposition,
        bool wantsDirectory, bool wantsFile, bool deleteOnClose, nint info)
    {
        var opened = disposition is FILE_OPEN_IF or FILE_OVERWRITE_IF or FILE_SUPERSEDE
            ? NtStatus.STATUS_OBJECT_NAME_COLLISION
            : NtStatus.STATUS_SUCCESS;
        if (disposition == FILE_CREATE)
        {
            return Refuse("create", path, NtStatus.STATUS_OBJECT_NAME_COLLISION, "FILE_CREATE of an existing name");
        }

        if (existing.IsDirectory)
        {
            if (wantsFile)
            {
                return Refuse("create", path, NtStatus.STATUS_FILE_IS_A_DIRECTORY, "FILE_NON_DIRECTORY_FILE on a directory");
            }

            if (disposition is FILE_OVERWRITE or FILE_OVERWRITE_IF or FILE_SUPERSEDE)
            {
                return Refuse("create", path, NtStatus.STATUS_FILE_IS_A_DIRECTORY, "a directory cannot be overwritten");
            }

            if (deleteOnClose)
            {
                var check = DeleteDirectoryCheck("create", path, serverPath, info);
                if (check != NtStatus.STATUS_SUCCESS)
                {
                    return check;
                }
            }

            var dir = Register(path, serverPath, isDirectory: true, canWrite: false, info);
            dir.DeleteOnCloseAtCreate = deleteOnClose;
            return opened;
        }

        if (wantsDirectory)
        {
            return Refuse("create", path, NtStatus.STATUS_NOT_A_DIRECTORY, "FILE_DIRECTORY_FILE on a file");
        }

        var truncate = disposition is FILE_OVERWRITE or FILE_OVERWRITE_IF or FILE_SUPERSEDE;
        var canWrite = truncate || (access & WriteAccess) != 0 || ((access & MAXIMUM_ALLOWED) != 0 && !_options.ReadOnly);
        if (_options.ReadOnly && (canWrite || deleteOnClose))
        {
            return WriteProtected("create", path);
        }

        FsFileHandle? handle = null;
        if (truncate)
        {
            // CREATE_ALWAYS / TRUNCATE_EXISTING: the file is empty from now on (uploaded at Cleanup).
            var trc = Await("create", path, _options.OperationTimeout, info,
                ct => _fs.OpenAsync(serverPath, FsOpenMode.ReadWrite, truncate: true, ct), out handle);
            if (trc != NtStatus.STATUS_SUCCESS)
            {
                return trc;
            }
        }

        var entry = Register(path, serverPath, isDirectory: false, canWrite, info);
        entry.Handle = handle;
        entry.Modified = truncate;
        entry.DeleteOnCloseAtCreate = deleteOnClose;
        return opened;
    }

    private int CreateNew(string path, Resolution resolved, uint access, uint disposition, bool wantsDirectory, bool deleteOnClose, nint info)
    {
        if (!resolved.ParentExists)
        {
            return Refuse("create", path, NtStatus.STATUS_OBJECT_PATH_NOT_FOUND, "a directory on the way does not exist");
        }

        if (disposition is FILE_OPEN or FILE_OVERWRITE)
        {
            return Refuse("create", path, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, "no such file");
        }

        if (!IsValidNewName(path))
        {
            return Refuse("create", path, NtStatus.STATUS_OBJECT_NAME_INVALID, "not a valid name");
        }

        if (_options.ReadOnly)
        {
            return WriteProtected("create", path);
        }

        if (wantsDirectory)
        {
            if (disposition is not (FILE_CREATE or FILE_OPEN_IF))
            {
                return Refuse("create", path, NtStatus.STATUS_INVALID_PARAMETER, "a directory can only be created with FILE_CREATE or FILE_OPEN_IF");
            }

            var mrc = Await("mkdir", path, _options.OperationTimeout, info, ct => _fs.MakeDirectoryAsync(resolved.ServerPath, DirectoryMode, ct));
            if (mrc != NtStatus.STATUS_SUCCESS)
            {
                return mrc;
            }

            Register(path, resolved.ServerPath, isDirectory: true, canWrite: false, info).DeleteOnCloseAtCreate = deleteOnClose;
            Host.NotifyCreate(path, isDirectory: true);
            return NtStatus.STATUS_SUCCESS;
        }

        var rc = Await("create", path, _options.OperationTimeout, info,
            ct => _fs.CreateAsync(resolved.ServerPath, FileMode, exclusive: true, ct), out var handle);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        _ = access; // a new file's handle is readable and writable whatever was asked; the IO manager enforces access.
        var entry = Register(path, resolved.ServerPath, isDirectory: false, canWrite: true, info);
        entry.Handle = handle;
        entry.Modified = true;
        entry.DeleteOnCloseAtCreate = deleteOnClose;
        Host.NotifyCreate(path, isDirectory: false);
        return NtStatus.STATUS_SUCCESS;
    }
}
