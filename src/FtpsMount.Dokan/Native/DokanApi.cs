using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace FtpsMount.Dokan.Native;

/// <summary>
/// dokan2.dll entry points (Dokan 2.x, __stdcall = the x64 convention). Windows only: the library ships with the Dokan 2
/// driver installer (C:\Windows\System32\dokan2.dll). Signatures as dokan.h declares them.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class DokanApi
{
    public const string Library = "dokan2.dll";

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial void DokanInit();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial void DokanShutdown();

    /// <summary>int DokanCreateFileSystem(PDOKAN_OPTIONS, PDOKAN_OPERATIONS, DOKAN_HANDLE*): DOKAN_SUCCESS or a DOKAN_*_ERROR.</summary>
    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial int DokanCreateFileSystem(DokanOptions* options, DokanOperations* operations, nint* instance);

    /// <summary>DWORD DokanWaitForFileSystemClosed(DOKAN_HANDLE, DWORD ms): WAIT_OBJECT_0 once unmounted, WAIT_TIMEOUT.</summary>
    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial uint DokanWaitForFileSystemClosed(nint instance, uint milliseconds);

    /// <summary>void DokanCloseHandle(DOKAN_HANDLE): unmounts and waits until the instance's resources are released.</summary>
    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial void DokanCloseHandle(nint instance);

    /// <summary>BOOL DokanResetTimeout(ULONG Timeout, PDOKAN_FILE_INFO).</summary>
    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial int DokanResetTimeout(uint timeout, DokanFileInfo* info);

    /// <summary>ULONG DokanDriverVersion(): 0 when the driver is not installed or not running.</summary>
    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial uint DokanDriverVersion();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial uint DokanVersion();

    // BOOL DokanNotify*(DOKAN_HANDLE, LPCWSTR FilePath, ...): FilePath includes the mount point ("M:\dir\file").
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf16)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial int DokanNotifyCreate(nint instance, string filePath, int isDirectory);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf16)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial int DokanNotifyDelete(nint instance, string filePath, int isDirectory);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf16)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial int DokanNotifyUpdate(nint instance, string filePath);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf16)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial int DokanNotifyRename(nint instance, string oldPath, string newPath, int isDirectory, int isInSameDirectory);

    /// <summary>BOOL DokanRemoveMountPoint(LPCWSTR MountPoint): unmounts a Dokan volume, from any process of the user.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf16)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvStdcall)])]
    public static partial int DokanRemoveMountPoint(string mountPoint);
}
