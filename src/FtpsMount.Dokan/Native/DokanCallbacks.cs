using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FtpsMount.Dokan.Native;

/// <summary>
/// The <c>DOKAN_OPERATIONS</c> table: one <see cref="UnmanagedCallersOnly"/> trampoline per implemented callback
/// (__stdcall, which on x64 is the one Windows convention). Each decodes its C arguments, finds the
/// <see cref="DokanAdapter"/> through DOKAN_FILE_INFO.DokanOptions->GlobalContext (a <see cref="GCHandle"/> that
/// <see cref="DokanMount"/> keeps alive for the mount's lifetime), calls it, writes the results back, and catches
/// everything: an exception unwinding into dokan2.dll would kill the process. The kernel contract of each callback is
/// documented on the adapter method it calls.
///
/// <para>Slots left NULL on purpose (the library then answers for us):</para>
/// <list type="bullet">
/// <item>LockFile/UnlockFile: without DOKAN_OPTION_FILELOCK_USER_MODE the driver keeps byte-range locks itself
/// (local to this machine, like FUSE's kernel locks).</item>
/// <item>GetFileSecurity/SetFileSecurity: Dokan builds a default descriptor (the mounting user, full control); FTP has no
/// ACLs.</item>
/// <item>FindStreams: no alternate data streams (DOKAN_OPTION_ALT_STREAM is not set, so the driver refuses "name:stream").</item>
/// </list>
/// These trampolines carry no platform attribute: the driver simulation in the tests calls them on Linux through the
/// same function pointers dokan2.dll would use.
/// </summary>
internal static unsafe class DokanCallbacks
{
    public static DokanOperations CreateOperations() => new()
    {
        ZwCreateFile = (nint)(delegate* unmanaged[Stdcall]<char*, void*, uint, uint, uint, uint, uint, DokanFileInfo*, int>)&ZwCreateFile,
        Cleanup = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)&Cleanup,
        CloseFile = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)&CloseFile,
        ReadFile = (nint)(delegate* unmanaged[Stdcall]<char*, byte*, uint, uint*, long, DokanFileInfo*, int>)&ReadFile,
        WriteFile = (nint)(delegate* unmanaged[Stdcall]<char*, byte*, uint, uint*, long, DokanFileInfo*, int>)&WriteFile,
        FlushFileBuffers = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&FlushFileBuffers,
        GetFileInformation = (nint)(delegate* unmanaged[Stdcall]<char*, ByHandleFileInformation*, DokanFileInfo*, int>)&GetFileInformation,
        FindFiles = (nint)(delegate* unmanaged[Stdcall]<char*, nint, DokanFileInfo*, int>)&FindFiles,
        FindFilesWithPattern = (nint)(delegate* unmanaged[Stdcall]<char*, char*, nint, DokanFileInfo*, int>)&FindFilesWithPattern,
        SetFileAttributes = (nint)(delegate* unmanaged[Stdcall]<char*, uint, DokanFileInfo*, int>)&SetFileAttributes,
        SetFileTime = (nint)(delegate* unmanaged[Stdcall]<char*, FileTime*, FileTime*, FileTime*, DokanFileInfo*, int>)&SetFileTime,
        DeleteFile = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&DeleteFile,
        DeleteDirectory = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&DeleteDirectory,
        MoveFile = (nint)(delegate* unmanaged[Stdcall]<char*, char*, int, DokanFileInfo*, int>)&MoveFile,
        SetEndOfFile = (nint)(delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)&SetEndOfFile,
        SetAllocationSize = (nint)(delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)&SetAllocationSize,
        GetDiskFreeSpace = (nint)(delegate* unmanaged[Stdcall]<ulong*, ulong*, ulong*, DokanFileInfo*, int>)&GetDiskFreeSpace,
        GetVolumeInformation = (nint)(delegate* unmanaged[Stdcall]<char*, uint, uint*, uint*, uint*, char*, uint, DokanFileInfo*, int>)&GetVolumeInformation,
        Mounted = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&Mounted,
        Unmounted = (nint)(delegate* unmanaged[Stdcall]<DokanFileInfo*, int>)&Unmounted,
    };

    // ------------------------------------------------------------------ plumbing

    private static DokanAdapter? AdapterOf(DokanFileInfo* info)
    {
        if (info == null || info->DokanOptions == null || info->DokanOptions->GlobalContext == 0)
        {
            return null;
        }

        return GCHandle.FromIntPtr((nint)info->DokanOptions->GlobalContext).Target as DokanAdapter;
    }

    private static string Str(char* s) => s == null ? "" : new string(s);

    private static int NoAdapter(string operation)
    {
        Console.Error.WriteLine($"ftpsmount: dokan {operation}: no filesystem behind this request (GlobalContext missing); answering STATUS_INVALID_PARAMETER");
        return NtStatus.STATUS_INVALID_PARAMETER;
    }

    private static int Escaped(string operation, char* path, DokanFileInfo* info, Exception ex)
    {
        try
        {
            var adapter = AdapterOf(info);
            if (adapter is not null)
            {
                adapter.ReportEscaped(operation, Str(path), ex);
            }
            else
            {
                Console.Error.WriteLine($"ftpsmount: dokan {operation} {Str(path)}: internal error: {ex}");
            }
        }
#pragma warning disable CA1031 // logging must not throw into dokan2.dll either
        catch
#pragma warning restore CA1031
        {
        }

        return NtStatus.STATUS_UNEXPECTED_IO_ERROR;
    }

    // ------------------------------------------------------------------ callbacks

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int ZwCreateFile(char* fileName, void* securityContext, uint desiredAccess, uint fileAttributes, uint shareAccess,
        uint createDisposition, uint createOptions, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("create")
                : a.CreateFile(Str(fileName), desiredAccess, fileAttributes, shareAccess, createDisposition, createOptions, (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("create", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static void Cleanup(char* fileName, DokanFileInfo* info)
    {
        try
        {
            AdapterOf(info)?.Cleanup(Str(fileName), (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Escaped("cleanup", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static void CloseFile(char* fileName, DokanFileInfo* info)
    {
        try
        {
            AdapterOf(info)?.CloseFile(Str(fileName), (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Escaped("close", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int ReadFile(char* fileName, byte* buffer, uint bufferLength, uint* readLength, long offset, DokanFileInfo* info)
    {
        try
        {
            if (readLength != null)
            {
                *readLength = 0;
            }

            var a = AdapterOf(info);
            if (a is null)
            {
                return NoAdapter("read");
            }

            if (bufferLength > int.MaxValue || readLength == null || (buffer == null && bufferLength > 0))
            {
                return NtStatus.STATUS_INVALID_PARAMETER;
            }

            var rc = a.ReadFile(Str(fileName), new Span<byte>(buffer, (int)bufferLength), offset, out var n, (nint)info);
            *readLength = (uint)n;
            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("read", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int WriteFile(char* fileName, byte* buffer, uint numberOfBytesToWrite, uint* numberOfBytesWritten, long offset, DokanFileInfo* info)
    {
        try
        {
            if (numberOfBytesWritten != null)
            {
                *numberOfBytesWritten = 0;
            }

            var a = AdapterOf(info);
            if (a is null)
            {
                return NoAdapter("write");
            }

            if (numberOfBytesToWrite > int.MaxValue || numberOfBytesWritten == null || (buffer == null && numberOfBytesToWrite > 0))
            {
                return NtStatus.STATUS_INVALID_PARAMETER;
            }

            var rc = a.WriteFile(Str(fileName), new ReadOnlySpan<byte>(buffer, (int)numberOfBytesToWrite), offset, out var n, (nint)info);
            *numberOfBytesWritten = (uint)n;
            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("write", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FlushFileBuffers(char* fileName, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("flush") : a.FlushFileBuffers(Str(fileName), (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("flush", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int GetFileInformation(char* fileName, ByHandleFileInformation* buffer, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            if (a is null)
            {
                return NoAdapter("getinfo");
            }

            if (buffer == null)
            {
                return NtStatus.STATUS_INVALID_PARAMETER;
            }

            var rc = a.GetFileInformation(Str(fileName), out var result, (nint)info);
            if (rc == NtStatus.STATUS_SUCCESS)
            {
                *buffer = result;
            }

            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("getinfo", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FindFiles(char* fileName, nint fillFindData, DokanFileInfo* info) => Find(fileName, null, fillFindData, info);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FindFilesWithPattern(char* pathName, char* searchPattern, nint fillFindData, DokanFileInfo* info) =>
        Find(pathName, searchPattern, fillFindData, info);

    private static int Find(char* pathName, char* searchPattern, nint fillFindData, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            if (a is null)
            {
                return NoAdapter("find");
            }

            if (fillFindData == 0)
            {
                return NtStatus.STATUS_INVALID_PARAMETER;
            }

            // PFillFindData: int WINAPI (PWIN32_FIND_DATAW, PDOKAN_FILE_INFO); 1 = buffer full.
            var fill = (delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int>)fillFindData;
            return a.FindFiles(Str(pathName), searchPattern == null ? null : new string(searchPattern), data => fill(&data, info) == 1, (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("find", pathName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetFileAttributes(char* fileName, uint fileAttributes, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("set-attributes") : a.SetFileAttributes(Str(fileName), fileAttributes, (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("set-attributes", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetFileTime(char* fileName, FileTime* creationTime, FileTime* lastAccessTime, FileTime* lastWriteTime, DokanFileInfo* info)
    {
        try
        {
            _ = creationTime;
            _ = lastAccessTime;
            var a = AdapterOf(info);
            return a is null ? NoAdapter("set-time")
                : a.SetFileTime(Str(fileName), lastWriteTime == null ? null : lastWriteTime->ToDateTimeOffset(), (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("set-time", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int DeleteFile(char* fileName, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("delete") : a.DeleteFile(Str(fileName), (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("delete", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int DeleteDirectory(char* fileName, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("rmdir") : a.DeleteDirectory(Str(fileName), (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("rmdir", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int MoveFile(char* fileName, char* newFileName, int replaceIfExisting, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("move") : a.MoveFile(Str(fileName), Str(newFileName), replaceIfExisting != 0, (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("move", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetEndOfFile(char* fileName, long byteOffset, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("set-end-of-file") : a.SetEndOfFile(Str(fileName), byteOffset, (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("set-end-of-file", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetAllocationSize(char* fileName, long allocSize, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("set-allocation-size") : a.SetAllocationSize(Str(fileName), allocSize, (nint)info);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("set-allocation-size", fileName, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int GetDiskFreeSpace(ulong* freeBytesAvailable, ulong* totalNumberOfBytes, ulong* totalNumberOfFreeBytes, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            if (a is null)
            {
                return NoAdapter("statfs");
            }

            var rc = a.GetDiskFreeSpace(out var available, out var total, out var free, (nint)info);
            if (rc == NtStatus.STATUS_SUCCESS)
            {
                if (freeBytesAvailable != null) *freeBytesAvailable = available;
                if (totalNumberOfBytes != null) *totalNumberOfBytes = total;
                if (totalNumberOfFreeBytes != null) *totalNumberOfFreeBytes = free;
            }

            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("statfs", null, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int GetVolumeInformation(char* volumeNameBuffer, uint volumeNameSize, uint* volumeSerialNumber, uint* maximumComponentLength,
        uint* fileSystemFlags, char* fileSystemNameBuffer, uint fileSystemNameSize, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            if (a is null)
            {
                return NoAdapter("volume");
            }

            var rc = a.GetVolumeInformation(out var label, out var serial, out var maxLength, out var flags, out var fsName, (nint)info);
            if (rc != NtStatus.STATUS_SUCCESS)
            {
                return rc;
            }

            CopyString(label, volumeNameBuffer, volumeNameSize);
            CopyString(fsName, fileSystemNameBuffer, fileSystemNameSize);
            if (volumeSerialNumber != null) *volumeSerialNumber = serial;
            if (maximumComponentLength != null) *maximumComponentLength = maxLength;
            if (fileSystemFlags != null) *fileSystemFlags = flags;
            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("volume", null, info, ex);
        }
    }

    /// <summary>Copies <paramref name="value"/> NUL-terminated into a WCHAR buffer of <paramref name="size"/> characters, cut if needed.</summary>
    private static void CopyString(string value, char* buffer, uint size)
    {
        if (buffer == null || size == 0)
        {
            return;
        }

        var n = (int)Math.Min((uint)value.Length, size - 1);
        value.AsSpan(0, n).CopyTo(new Span<char>(buffer, n));
        buffer[n] = '\0';
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int Mounted(char* mountPoint, DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("mounted") : a.Mounted(Str(mountPoint));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("mounted", mountPoint, info, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int Unmounted(DokanFileInfo* info)
    {
        try
        {
            var a = AdapterOf(info);
            return a is null ? NoAdapter("unmounted") : a.Unmounted();
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("unmounted", null, info, ex);
        }
    }
}
