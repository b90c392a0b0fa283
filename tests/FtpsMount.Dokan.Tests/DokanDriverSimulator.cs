using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using FtpsMount.Dokan.Native;

namespace FtpsMount.Dokan.Tests;

/// <summary>
/// Plays the Dokan driver + library on Linux: lays out DOKAN_OPTIONS and one DOKAN_FILE_INFO per open in native memory
/// (GlobalContext = the adapter's GCHandle, as DokanMount sets it), passes UTF-16 names and native buffers, and calls the
/// trampolines through the function pointers of <see cref="DokanCallbacks.CreateOperations"/> — the very table
/// dokan2.dll would call. Sequences follow what the driver does for Win32 calls (CreateFile → ZwCreateFile, CloseHandle
/// → Cleanup + CloseFile, DeleteFile → ZwCreateFile(DELETE) + DeleteFile + Cleanup(DeleteOnClose) + CloseFile, ...).
/// </summary>
internal sealed unsafe class DokanDriverSimulator : IDisposable
{
    private readonly GCHandle _adapter;
    private readonly DokanOptions* _options;
    private readonly DokanOperations _ops;

    public DokanDriverSimulator(DokanAdapter adapter)
    {
        _adapter = GCHandle.Alloc(adapter);
        _options = (DokanOptions*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOptions));
        _options->Version = DokanConst.DOKAN_VERSION;
        _options->GlobalContext = (ulong)GCHandle.ToIntPtr(_adapter);
        _options->Timeout = 30_000;
        _ops = DokanCallbacks.CreateOperations();
    }

    public void Dispose()
    {
        NativeMemory.Free(_options);
        _adapter.Free();
    }

    /// <summary>One kernel file object: its DOKAN_FILE_INFO lives as long as the open.</summary>
    public sealed class Open(DokanFileInfo* info, string path) : IDisposable
    {
        public DokanFileInfo* Info { get; } = info;
        public string Path { get; set; } = path;
        public bool IsDirectory => Info->IsDirectory != 0;
        public ulong Context => Info->Context;

        public void Dispose() => NativeMemory.Free(Info);
    }

    private DokanFileInfo* NewInfo()
    {
        var info = (DokanFileInfo*)NativeMemory.AllocZeroed((nuint)sizeof(DokanFileInfo));
        info->DokanOptions = _options;
        info->ProcessId = (uint)Environment.ProcessId;
        info->DokanContext = 0xD0CA; // the library's own; the adapter must leave it alone
        return info;
    }

    private static T WithString<T>(string s, Func<nint, T> body)
    {
        var p = Marshal.StringToHGlobalUni(s);
        try
        {
            return body(p);
        }
        finally
        {
            Marshal.FreeHGlobal(p);
        }
    }

    public int Create(string path, uint access, uint disposition, uint options, out Open open, uint share = 7, uint attributes = WinConst.FILE_ATTRIBUTE_NORMAL)
    {
        var info = NewInfo();
        var fn = (delegate* unmanaged[Stdcall]<char*, void*, uint, uint, uint, uint, uint, DokanFileInfo*, int>)_ops.ZwCreateFile;
        var rc = WithString(path, p => fn((char*)p, null, access, attributes, share, disposition, options, info));
        Assert.Equal(0xD0CAUL, info->DokanContext);
        open = new Open(info, path);
        if (!Opened(rc, disposition))
        {
            Assert.Equal(0UL, info->Context); // a failed create leaves no context behind
        }

        return rc;
    }

    /// <summary>Whether ZwCreateFile left an open behind: success, or STATUS_OBJECT_NAME_COLLISION for the "open or create"
    /// dispositions (Dokan's "opened an existing file").</summary>
    public static bool Opened(int status, uint disposition) => status >= 0
        || (status == NtStatus.STATUS_OBJECT_NAME_COLLISION && disposition is WinConst.FILE_OPEN_IF or WinConst.FILE_OVERWRITE_IF or WinConst.FILE_SUPERSEDE);

    /// <summary>CloseHandle: Cleanup then CloseFile (no paging I/O pending).</summary>
    public void Close(Open open)
    {
        Cleanup(open);
        CloseFile(open);
    }

    public void Cleanup(Open open)
    {
        var fn = (delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)_ops.Cleanup;
        WithString(open.Path, p => { fn((char*)p, open.Info); return 0; });
    }

    public void CloseFile(Open open)
    {
        var fn = (delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)_ops.CloseFile;
        WithString(open.Path, p => { fn((char*)p, open.Info); return 0; });
        Assert.Equal(0UL, open.Info->Context);
        open.Dispose();
    }

    public int Read(Open open, long offset, int length, out byte[] data)
    {
        var buffer = (byte*)NativeMemory.Alloc((nuint)Math.Max(length, 1));
        try
        {
            var read = stackalloc uint[1];
            *read = 0xFFFFFFFF;
            var fn = (delegate* unmanaged[Stdcall]<char*, byte*, uint, uint*, long, DokanFileInfo*, int>)_ops.ReadFile;
            var rc = WithString(open.Path, p => fn((char*)p, buffer, (uint)length, read, offset, open.Info));
            Assert.True(*read <= (uint)length, $"ReadLength {*read} > buffer {length}");
            data = new ReadOnlySpan<byte>(buffer, (int)*read).ToArray();
            return rc;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    public int Write(Open open, long offset, byte[] data, out uint written, bool writeToEnd = false, bool pagingIo = false)
    {
        open.Info->WriteToEndOfFile = writeToEnd ? (byte)1 : (byte)0;
        open.Info->PagingIo = pagingIo ? (byte)1 : (byte)0;
        var n = stackalloc uint[1];
        *n = 0xFFFFFFFF;
        int rc;
        fixed (byte* d = data)
        {
            var fn = (delegate* unmanaged[Stdcall]<char*, byte*, uint, uint*, long, DokanFileInfo*, int>)_ops.WriteFile;
            var dp = d;
            rc = WithString(open.Path, p => fn((char*)p, dp, (uint)data.Length, n, offset, open.Info));
        }

        open.Info->WriteToEndOfFile = 0;
        open.Info->PagingIo = 0;
        written = *n;
        return rc;
    }

    public int Flush(Open open)
    {
        var fn = (delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)_ops.FlushFileBuffers;
        return WithString(open.Path, p => fn((char*)p, open.Info));
    }

    public int GetInfo(Open open, out ByHandleFileInformation result)
    {
        var r = stackalloc ByHandleFileInformation[1];
        var fn = (delegate* unmanaged[Stdcall]<char*, ByHandleFileInformation*, DokanFileInfo*, int>)_ops.GetFileInformation;
        var rc = WithString(open.Path, p => fn((char*)p, r, open.Info));
        result = *r;
        return rc;
    }

    public sealed record Found(string Name, uint Attributes, long Size, DateTimeOffset? Modified);

    [ThreadStatic] private static List<Found>? t_found;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int Fill(Win32FindData* data, DokanFileInfo* info)
    {
        _ = info;
        var name = new string(data->cFileName);
        var size = (long)(((ulong)data->nFileSizeHigh << 32) | data->nFileSizeLow);
        t_found!.Add(new Found(name, data->dwFileAttributes, size, data->ftLastWriteTime.ToDateTimeOffset()));
        return 0;
    }

    /// <summary>FindFirstFile on an open directory: FindFilesWithPattern (or FindFiles when <paramref name="pattern"/> is null).</summary>
    public int Find(Open directory, string? pattern, out List<Found> found)
    {
        t_found = [];
        try
        {
            var fill = (nint)(delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int>)&Fill;
            int rc;
            if (pattern is null)
            {
                var fn = (delegate* unmanaged[Stdcall]<char*, nint, DokanFileInfo*, int>)_ops.FindFiles;
                rc = WithString(directory.Path, p => fn((char*)p, fill, directory.Info));
            }
            else
            {
                var fn = (delegate* unmanaged[Stdcall]<char*, char*, nint, DokanFileInfo*, int>)_ops.FindFilesWithPattern;
                rc = WithString(directory.Path, p => WithString(pattern, q => fn((char*)p, (char*)q, fill, directory.Info)));
            }

            found = t_found;
            return rc;
        }
        finally
        {
            t_found = null;
        }
    }

    public int SetEndOfFile(Open open, long length)
    {
        var fn = (delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)_ops.SetEndOfFile;
        return WithString(open.Path, p => fn((char*)p, length, open.Info));
    }

    public int SetAllocationSize(Open open, long length)
    {
        var fn = (delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)_ops.SetAllocationSize;
        return WithString(open.Path, p => fn((char*)p, length, open.Info));
    }

    public int SetLastWriteTime(Open open, DateTimeOffset time)
    {
        var ft = stackalloc FileTime[1];
        *ft = FileTime.From(time);
        var fn = (delegate* unmanaged[Stdcall]<char*, FileTime*, FileTime*, FileTime*, DokanFileInfo*, int>)_ops.SetFileTime;
        return WithString(open.Path, p => fn((char*)p, null, null, ft, open.Info));
    }

    public int SetAttributes(Open open, uint attributes)
    {
        var fn = (delegate* unmanaged[Stdcall]<char*, uint, DokanFileInfo*, int>)_ops.SetFileAttributes;
        return WithString(open.Path, p => fn((char*)p, attributes, open.Info));
    }

    /// <summary>SetFileInformation(FileDispositionInformation): the library asks DeleteFile/DeleteDirectory with
    /// DeleteOnClose set; on success the flag stays set and Cleanup must delete.</summary>
    public int MarkForDeletion(Open open, bool delete = true)
    {
        open.Info->DeleteOnClose = delete ? (byte)1 : (byte)0;
        var fn = (delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)(open.IsDirectory ? _ops.DeleteDirectory : _ops.DeleteFile);
        var rc = WithString(open.Path, p => fn((char*)p, open.Info));
        if (rc != 0)
        {
            open.Info->DeleteOnClose = 0;
        }

        return rc;
    }

    public int Move(Open open, string newPath, bool replace)
    {
        var fn = (delegate* unmanaged[Stdcall]<char*, char*, int, DokanFileInfo*, int>)_ops.MoveFile;
        var rc = WithString(open.Path, p => WithString(newPath, q => fn((char*)p, (char*)q, replace ? 1 : 0, open.Info)));
        if (rc == 0)
        {
            open.Path = newPath;
        }

        return rc;
    }

    public int DiskFree(out ulong available, out ulong total, out ulong free)
    {
        var info = NewInfo();
        try
        {
            ulong a = 0, t = 0, f = 0;
            var fn = (delegate* unmanaged[Stdcall]<ulong*, ulong*, ulong*, DokanFileInfo*, int>)_ops.GetDiskFreeSpace;
            var rc = fn(&a, &t, &f, info);
            (available, total, free) = (a, t, f);
            return rc;
        }
        finally
        {
            NativeMemory.Free(info);
        }
    }

    public int Volume(out string label, out uint serial, out uint maxComponent, out uint flags, out string fsName, uint labelBuffer = 32)
    {
        var info = NewInfo();
        var labelBuf = (char*)NativeMemory.AllocZeroed(labelBuffer * 2);
        var fsBuf = (char*)NativeMemory.AllocZeroed(64);
        try
        {
            uint s = 0, m = 0, fl = 0;
            var fn = (delegate* unmanaged[Stdcall]<char*, uint, uint*, uint*, uint*, char*, uint, DokanFileInfo*, int>)_ops.GetVolumeInformation;
            var rc = fn(labelBuf, labelBuffer, &s, &m, &fl, fsBuf, 32, info);
            (label, serial, maxComponent, flags, fsName) = (new string(labelBuf), s, m, fl, new string(fsBuf));
            return rc;
        }
        finally
        {
            NativeMemory.Free(info);
            NativeMemory.Free(labelBuf);
            NativeMemory.Free(fsBuf);
        }
    }

    public int Mounted(string mountPoint)
    {
        var info = NewInfo();
        try
        {
            var fn = (delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)_ops.Mounted;
            return WithString(mountPoint, p => fn((char*)p, info));
        }
        finally
        {
            NativeMemory.Free(info);
        }
    }

    // ------------------------------------------------------------------ Win32-level helpers

    public const uint GenericRead = WinConst.GENERIC_READ;
    public const uint GenericReadWrite = WinConst.GENERIC_READ | WinConst.GENERIC_WRITE;

    /// <summary>Create/open a file, write <paramref name="content"/>, CloseHandle.</summary>
    public void WriteWholeFile(string path, string content)
    {
        Assert.True(Opened(Create(path, GenericReadWrite, WinConst.FILE_OVERWRITE_IF, WinConst.FILE_NON_DIRECTORY_FILE, out var open), WinConst.FILE_OVERWRITE_IF), $"create {path}");
        var bytes = Encoding.UTF8.GetBytes(content);
        Assert.Equal(0, Write(open, 0, bytes, out var n));
        Assert.Equal((uint)bytes.Length, n);
        Close(open);
    }

    public string ReadWholeFile(string path)
    {
        Assert.Equal(0, Create(path, GenericRead, WinConst.FILE_OPEN, WinConst.FILE_NON_DIRECTORY_FILE, out var open));
        Assert.Equal(0, Read(open, 0, 1 << 20, out var data));
        Close(open);
        return Encoding.UTF8.GetString(data);
    }

    public void MakeDirectory(string path)
    {
        Assert.Equal(0, Create(path, GenericRead, WinConst.FILE_CREATE, WinConst.FILE_DIRECTORY_FILE, out var open));
        Assert.True(open.IsDirectory);
        Close(open);
    }
}

/// <summary>Records what the adapter asks of the Dokan library (the real one is dokan2.dll).</summary>
internal sealed class RecordingHost : IDokanHost
{
    public ConcurrentQueue<string> Calls { get; } = new();
    public int ResetTimeouts;
    public uint LastExtension;
    public nint LastInfo;

    public bool ResetTimeout(uint milliseconds, nint info)
    {
        Interlocked.Increment(ref ResetTimeouts);
        LastExtension = milliseconds;
        LastInfo = info;
        return true;
    }

    public void NotifyCreate(string path, bool isDirectory) => Calls.Enqueue($"create {path} {(isDirectory ? "dir" : "file")}");
    public void NotifyDelete(string path, bool isDirectory) => Calls.Enqueue($"delete {path} {(isDirectory ? "dir" : "file")}");
    public void NotifyUpdate(string path) => Calls.Enqueue($"update {path}");
    public void NotifyRename(string oldPath, string newPath, bool isDirectory, bool sameDirectory) =>
        Calls.Enqueue($"rename {oldPath} -> {newPath} {(isDirectory ? "dir" : "file")}{(sameDirectory ? " same-dir" : "")}");
}
