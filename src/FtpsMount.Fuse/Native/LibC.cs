using System.Runtime.InteropServices;

namespace FtpsMount.Fuse.Native;

/// <summary>The few libc calls the binding needs (glibc, Linux).</summary>
internal static unsafe partial class LibC
{
    private const string Library = "libc.so.6";

    [LibraryImport(Library, EntryPoint = "getuid")]
    public static partial uint GetUserId();

    [LibraryImport(Library, EntryPoint = "getgid")]
    public static partial uint GetGroupId();

    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    /// <summary>umount2(2); with <see cref="PosixConst.MNT_DETACH"/> a lazy unmount that never blocks on the filesystem.</summary>
    [LibraryImport(Library, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    /// <summary>open(2) with integer arguments only (O_PATH needs no mode).</summary>
    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>fstatvfs(3): on a FUSE mount always a STATFS request to the daemon (the kernel caches no answer).</summary>
    [LibraryImport(Library, EntryPoint = "fstatvfs", SetLastError = true)]
    public static partial int FStatVfs(int fd, Statvfs* result);

    /// <summary>vsnprintf(3), to format the messages libfuse hands its log function (a va_list is passed as a pointer
    /// on x86_64 and, being a 32-byte struct, by reference on aarch64).</summary>
    [LibraryImport(Library, EntryPoint = "vsnprintf")]
    public static partial int VsnPrintf(byte* buffer, nuint size, byte* format, nint args);
}

/// <summary>
/// dlvsym(3): looks a symbol up at a given symbol version. <see cref="NativeLibrary.GetExport"/> uses dlsym, which only
/// ever returns a symbol's default version; libfuse exports several versions of fuse_new and fuse_loop_mt, and which
/// one is the default differs between releases. glibc ≥ 2.34 has dlvsym in libc.so.6; older ones in libdl.so.2.
/// </summary>
internal static unsafe class DynamicLinker
{
    private static readonly delegate* unmanaged<nint, byte*, byte*, nint> s_dlvsym = FindDlvsym();

    private static delegate* unmanaged<nint, byte*, byte*, nint> FindDlvsym()
    {
        foreach (var name in (string[])["libc.so.6", "libdl.so.2"])
        {
            if (NativeLibrary.TryLoad(name, out var handle) && NativeLibrary.TryGetExport(handle, "dlvsym", out var address))
            {
                return (delegate* unmanaged<nint, byte*, byte*, nint>)address;
            }
        }

        return null;
    }

    /// <summary>The address of <paramref name="name"/>@<paramref name="version"/> in a library loaded with
    /// <see cref="NativeLibrary"/> (on Linux its handle is the dlopen handle), or 0.</summary>
    public static nint VersionedSymbol(nint library, string name, string version)
    {
        if (s_dlvsym == null)
        {
            return 0;
        }

        var nameZ = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        var versionZ = System.Text.Encoding.ASCII.GetBytes(version + "\0");
        fixed (byte* n = nameZ)
        fixed (byte* v = versionZ)
        {
            return s_dlvsym(library, n, v);
        }
    }

    /// <summary>The default version of <paramref name="name"/> (what a program linked today would get), or 0.</summary>
    public static nint DefaultSymbol(nint library, string name) =>
        NativeLibrary.TryGetExport(library, name, out var address) ? address : 0;
}
