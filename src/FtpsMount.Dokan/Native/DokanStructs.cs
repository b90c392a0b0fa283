using System.Runtime.InteropServices;

namespace FtpsMount.Dokan.Native;

// C mirrors of the dokan.h (Dokan 2.x) and Windows structs the binding reads or writes, laid out explicitly for x64
// (LLP64: ULONG/DWORD are 4 bytes, pointers 8). Every size and offset is checked against the C compiler's answer by
// tests/FtpsMount.Dokan.Tests/AbiProbeTests.cs (native/dokan_abi_probe.c, compiled with x86_64-w64-mingw32-gcc).
// Field names are the C names on purpose. Only x64 is bound: DokanMount refuses other process architectures.

/// <summary><c>DOKAN_OPTIONS</c>: how a volume is mounted. Passed to DokanCreateFileSystem and kept alive (native memory)
/// until the volume is closed; DOKAN_FILE_INFO.DokanOptions points at it in every callback.</summary>
[NativeStruct("DOKAN_OPTIONS")]
[StructLayout(LayoutKind.Explicit, Size = 16432)]
internal unsafe struct DokanOptions
{
    /// <summary>USHORT: the Dokan API version asked for without dots (200 = 2.0.0).</summary>
    [FieldOffset(0)] public ushort Version;
    /// <summary>BOOLEAN: serve every request on one thread (never set here: a slow server would stall the volume).</summary>
    [FieldOffset(2)] public byte SingleThread;
    /// <summary>ULONG: DOKAN_OPTION_* flags.</summary>
    [FieldOffset(4)] public uint Options;
    /// <summary>ULONG64: ours. Holds the GCHandle of the <see cref="DokanAdapter"/>; the trampolines find it here.</summary>
    [FieldOffset(8)] public ulong GlobalContext;
    /// <summary>LPCWSTR: "M:\" or an empty NTFS folder.</summary>
    [FieldOffset(16)] public char* MountPoint;
    /// <summary>LPCWSTR: UNC name for network drives ("\server\share"), else NULL.</summary>
    [FieldOffset(24)] public char* UNCName;
    /// <summary>ULONG: milliseconds the driver waits for one request before it gives up and unmounts the volume.</summary>
    [FieldOffset(32)] public uint Timeout;
    [FieldOffset(36)] public uint AllocationUnitSize;
    [FieldOffset(40)] public uint SectorSize;
    [FieldOffset(44)] public uint VolumeSecurityDescriptorLength;
    /// <summary>CHAR[VOLUME_SECURITY_DESCRIPTOR_MAX_SIZE] (16 KiB), unused (length 0).</summary>
    [FieldOffset(48)] public fixed byte VolumeSecurityDescriptor[16384];
}

/// <summary><c>DOKAN_FILE_INFO</c>: the per-request view of one open (one per kernel file object; the same memory comes
/// back with every call for that open, so <see cref="Context"/> is where our open state is found).</summary>
[NativeStruct("DOKAN_FILE_INFO")]
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal unsafe struct DokanFileInfo
{
    /// <summary>ULONG64: ours. The id of the <see cref="OpenEntry"/> created in ZwCreateFile, 0 = none.</summary>
    [FieldOffset(0)] public ulong Context;
    /// <summary>ULONG64: Dokan's own; DokanResetTimeout finds the request through it. Never touched.</summary>
    [FieldOffset(8)] public ulong DokanContext;
    [FieldOffset(16)] public DokanOptions* DokanOptions;
    /// <summary>PVOID: reserved for the library.</summary>
    [FieldOffset(24)] public void* ProcessingContext;
    [FieldOffset(32)] public uint ProcessId;
    /// <summary>UCHAR: set by ZwCreateFile when the name is a directory; tells the driver which kind it opened.</summary>
    [FieldOffset(36)] public byte IsDirectory;
    /// <summary>UCHAR: in Cleanup, the file must be deleted now (DeleteFile/DeleteDirectory allowed it earlier).</summary>
    [FieldOffset(37)] public byte DeleteOnClose;
    [FieldOffset(38)] public byte PagingIo;
    [FieldOffset(39)] public byte SynchronousIo;
    [FieldOffset(40)] public byte Nocache;
    /// <summary>UCHAR: WriteFile must append at the current end of file and ignore its offset.</summary>
    [FieldOffset(41)] public byte WriteToEndOfFile;
}

/// <summary><c>DOKAN_OPERATIONS</c>: 25 callback slots (function pointers, __stdcall = the x64 convention). NULL slots
/// make the library answer for us (see <see cref="DokanCallbacks"/>).</summary>
[NativeStruct("DOKAN_OPERATIONS")]
[StructLayout(LayoutKind.Explicit, Size = 200)]
internal struct DokanOperations
{
    [FieldOffset(0)] public nint ZwCreateFile;
    [FieldOffset(8)] public nint Cleanup;
    [FieldOffset(16)] public nint CloseFile;
    [FieldOffset(24)] public nint ReadFile;
    [FieldOffset(32)] public nint WriteFile;
    [FieldOffset(40)] public nint FlushFileBuffers;
    [FieldOffset(48)] public nint GetFileInformation;
    [FieldOffset(56)] public nint FindFiles;
    [FieldOffset(64)] public nint FindFilesWithPattern;
    [FieldOffset(72)] public nint SetFileAttributes;
    [FieldOffset(80)] public nint SetFileTime;
    [FieldOffset(88)] public nint DeleteFile;
    [FieldOffset(96)] public nint DeleteDirectory;
    [FieldOffset(104)] public nint MoveFile;
    [FieldOffset(112)] public nint SetEndOfFile;
    [FieldOffset(120)] public nint SetAllocationSize;
    [FieldOffset(128)] public nint LockFile;
    [FieldOffset(136)] public nint UnlockFile;
    [FieldOffset(144)] public nint GetDiskFreeSpace;
    [FieldOffset(152)] public nint GetVolumeInformation;
    [FieldOffset(160)] public nint Mounted;
    [FieldOffset(168)] public nint Unmounted;
    [FieldOffset(176)] public nint GetFileSecurity;
    [FieldOffset(184)] public nint SetFileSecurity;
    [FieldOffset(192)] public nint FindStreams;
}

/// <summary><c>FILETIME</c>: 100 ns intervals since 1601-01-01 UTC, as two DWORDs (4-byte aligned).</summary>
[NativeStruct("FILETIME")]
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct FileTime
{
    [FieldOffset(0)] public uint dwLowDateTime;
    [FieldOffset(4)] public uint dwHighDateTime;

    public long Value => (long)(((ulong)dwHighDateTime << 32) | dwLowDateTime);

    public static FileTime From(DateTimeOffset time)
    {
        var ticks = time.UtcTicks < FileTimeEpochTicks ? 0 : time.UtcTicks - FileTimeEpochTicks;
        return new FileTime { dwLowDateTime = (uint)ticks, dwHighDateTime = (uint)((ulong)ticks >> 32) };
    }

    /// <summary>The time, or null for 0 ("leave unchanged") and -1 ("stop updating this time", SetFileTime's
    /// sentinels).</summary>
    public DateTimeOffset? ToDateTimeOffset()
    {
        var v = Value;
        if (v is 0 or -1 or -2 || v < 0 || v > DateTimeOffset.MaxValue.UtcTicks - FileTimeEpochTicks)
        {
            return null;
        }

        return new DateTimeOffset(v + FileTimeEpochTicks, TimeSpan.Zero);
    }

    private static readonly long FileTimeEpochTicks = new DateTime(1601, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
}

/// <summary><c>BY_HANDLE_FILE_INFORMATION</c>, filled by GetFileInformation.</summary>
[NativeStruct("BY_HANDLE_FILE_INFORMATION")]
[StructLayout(LayoutKind.Explicit, Size = 52)]
internal struct ByHandleFileInformation
{
    [FieldOffset(0)] public uint dwFileAttributes;
    [FieldOffset(4)] public FileTime ftCreationTime;
    [FieldOffset(12)] public FileTime ftLastAccessTime;
    [FieldOffset(20)] public FileTime ftLastWriteTime;
    [FieldOffset(28)] public uint dwVolumeSerialNumber;
    [FieldOffset(32)] public uint nFileSizeHigh;
    [FieldOffset(36)] public uint nFileSizeLow;
    [FieldOffset(40)] public uint nNumberOfLinks;
    [FieldOffset(44)] public uint nFileIndexHigh;
    [FieldOffset(48)] public uint nFileIndexLow;
}

/// <summary><c>WIN32_FIND_DATAW</c>, one per directory entry handed to FillFindData.</summary>
[NativeStruct("WIN32_FIND_DATAW")]
[StructLayout(LayoutKind.Explicit, Size = 592, CharSet = CharSet.Unicode)]
internal unsafe struct Win32FindData
{
    /// <summary>MAX_PATH: cFileName holds at most 259 characters and the NUL.</summary>
    public const int MaxPath = 260;

    [FieldOffset(0)] public uint dwFileAttributes;
    [FieldOffset(4)] public FileTime ftCreationTime;
    [FieldOffset(12)] public FileTime ftLastAccessTime;
    [FieldOffset(20)] public FileTime ftLastWriteTime;
    [FieldOffset(28)] public uint nFileSizeHigh;
    [FieldOffset(32)] public uint nFileSizeLow;
    [FieldOffset(36)] public uint dwReserved0;
    [FieldOffset(40)] public uint dwReserved1;
    [FieldOffset(44)] public fixed char cFileName[MaxPath];
    [FieldOffset(564)] public fixed char cAlternateFileName[14];
}
