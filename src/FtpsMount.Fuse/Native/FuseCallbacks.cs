using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FtpsMount.Fuse.Native;

/// <summary>
/// The <c>fuse_operations</c> table: one <see cref="UnmanagedCallersOnly"/> trampoline per implemented operation.
/// Each decodes its C arguments, finds the <see cref="FuseAdapter"/> through fuse_get_context()->private_data (a
/// <see cref="GCHandle"/> that <see cref="FuseMount"/> keeps alive for the mount's lifetime), calls it, encodes the
/// result, and catches everything: an exception unwinding into libfuse would kill the process. The kernel contract of
/// each operation is documented on the adapter method it calls.
///
/// <para>Slots deliberately left empty (libfuse answers ENOSYS, and the kernel then stops asking and applies its own
/// behaviour — cheaper than answering each call, and the documented way to say "not implemented"):</para>
/// <list type="bullet">
/// <item>setxattr/getxattr/listxattr/removexattr: programs get EOPNOTSUPP (= ENOTSUP). Answering each call would cost
/// `ls -l` one round trip per file (it asks for ACLs).</item>
/// <item>lock, flock: the kernel keeps POSIX and BSD locks locally on this mount (what sqlite and git need);
/// implementing them with ENOTSUP would break those programs. Locks are not shared with other FTP clients.</item>
/// <item>fallocate: EOPNOTSUPP (posix_fallocate falls back to writing). copy_file_range: the kernel falls back to an
/// ordinary read/write copy. ioctl: ENOTTY. poll: always ready. bmap: block devices only. lseek: generic
/// (SEEK_DATA/SEEK_HOLE see no holes). access: the kernel decides (default_permissions) or allows.</item>
/// <item>opendir/releasedir/fsyncdir: nothing to hold per open directory; readdir fetches the listing.</item>
/// <item>read_buf/write_buf: libfuse uses read/write.</item>
/// </list>
/// </summary>
internal static unsafe class FuseCallbacks
{
    /// <summary>Builds the table. The function pointers are static and live as long as the process.</summary>
    public static FuseOperations CreateOperations() => new()
    {
        getattr = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, FuseFileInfo*, int>)&GetAttr,
        readlink = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, nuint, int>)&ReadLink,
        mknod = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, ulong, int>)&MakeNode,
        mkdir = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, int>)&MakeDirectory,
        unlink = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&Unlink,
        rmdir = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&RemoveDirectory,
        symlink = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, int>)&Symlink,
        rename = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, uint, int>)&Rename,
        link = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, int>)&Link,
        chmod = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, FuseFileInfo*, int>)&Chmod,
        chown = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, uint, FuseFileInfo*, int>)&Chown,
        truncate = (nint)(delegate* unmanaged[Cdecl]<byte*, long, FuseFileInfo*, int>)&Truncate,
        open = (nint)(delegate* unmanaged[Cdecl]<byte*, FuseFileInfo*, int>)&Open,
        read = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, nuint, long, FuseFileInfo*, int>)&Read,
        write = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, nuint, long, FuseFileInfo*, int>)&Write,
        statfs = (nint)(delegate* unmanaged[Cdecl]<byte*, Statvfs*, int>)&StatFs,
        flush = (nint)(delegate* unmanaged[Cdecl]<byte*, FuseFileInfo*, int>)&Flush,
        release = (nint)(delegate* unmanaged[Cdecl]<byte*, FuseFileInfo*, int>)&Release,
        fsync = (nint)(delegate* unmanaged[Cdecl]<byte*, int, FuseFileInfo*, int>)&Fsync,
        readdir = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, nint, long, FuseFileInfo*, int, int>)&ReadDirectory,
        init = (nint)(delegate* unmanaged[Cdecl]<FuseConnInfo*, FuseConfig*, nint>)&Init,
        destroy = (nint)(delegate* unmanaged[Cdecl]<nint, void>)&Destroy,
        create = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, FuseFileInfo*, int>)&Create,
        utimens = (nint)(delegate* unmanaged[Cdecl]<byte*, Timespec*, FuseFileInfo*, int>)&SetTimes,
    };

    // ------------------------------------------------------------------ plumbing

    private static FuseAdapter? Current()
    {
        var context = LibFuse.GetContext();
        return context == null || context->private_data == 0 ? null : FromHandle(context->private_data);
    }

    private static FuseAdapter? FromHandle(nint handle) => GCHandle.FromIntPtr(handle).Target as FuseAdapter;

    private static string PathOf(byte* path) => path == null ? "" : Marshal.PtrToStringUTF8((nint)path) ?? "";

    private static int NoAdapter(string operation)
    {
        Console.Error.WriteLine($"ftpsmount: fuse {operation}: no filesystem behind this request (private_data missing); answering EIO");
        return -Errno.EIO;
    }

    /// <summary>Last resort for an exception thrown by the binding itself (the adapter catches Core's failures).</summary>
    private static int Escaped(string operation, byte* path, Exception ex)
    {
        try
        {
            var adapter = Current();
            var p = PathOf(path);
            if (adapter is not null)
            {
                adapter.ReportEscaped(operation, p, ex);
            }
            else
            {
                Console.Error.WriteLine($"ftpsmount: fuse {operation} {p}: internal error, answering EIO: {ex}");
            }
        }
#pragma warning disable CA1031 // logging must not throw into libfuse either
        catch
#pragma warning restore CA1031
        {
        }

        return -Errno.EIO;
    }

    private static ulong? HandleOf(FuseFileInfo* fi) => fi == null ? null : fi->fh;

    // ------------------------------------------------------------------ attributes and listings

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int GetAttr(byte* path, void* stat, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("getattr");
            }

            var rc = a.GetAttributes(PathOf(path), HandleOf(fi), out var attributes);
            if (rc == 0)
            {
                StatWriter.Write(stat, a.ToStat(attributes));
            }

            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("getattr", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ReadLink(byte* path, byte* buffer, nuint size)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("readlink");
            }

            if (size == 0)
            {
                return -Errno.EINVAL;
            }

            var rc = a.ReadLink(PathOf(path), out var target);
            if (rc != 0)
            {
                return rc;
            }

            // Truncate to the buffer (on a character boundary), always NUL-terminated.
            var bytes = Encoding.UTF8.GetBytes(target);
            var length = (int)Math.Min((ulong)bytes.Length, size - 1);
            while (length > 0 && length < bytes.Length && (bytes[length] & 0xC0) == 0x80)
            {
                length--;
            }

            bytes.AsSpan(0, length).CopyTo(new Span<byte>(buffer, length));
            buffer[length] = 0;
            return 0;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("readlink", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ReadDirectory(byte* path, void* buffer, nint filler, long offset, FuseFileInfo* fi, int flags)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("readdir");
            }

            var rc = a.ReadDirectory(PathOf(path), out var entries);
            if (rc != 0)
            {
                return rc;
            }

            var fill = (delegate* unmanaged[Cdecl]<void*, byte*, void*, long, int, int>)filler;
            var plus = (flags & FuseConst.FUSE_READDIR_PLUS) != 0 ? FuseConst.FUSE_FILL_DIR_PLUS : 0;
            var stat = stackalloc byte[StatWriter.StatSize];
            Span<byte> nameBuffer = stackalloc byte[1024];

            StatWriter.Write(stat, a.DirectoryStat());
            if (Fill(fill, buffer, ".", stat, 0, nameBuffer) || Fill(fill, buffer, "..", stat, 0, nameBuffer))
            {
                return 0;
            }

            foreach (var entry in entries)
            {
                StatWriter.Write(stat, a.ToStat(entry));
                // Offset 0 for every entry: libfuse keeps the whole listing and serves offsets itself.
                if (Fill(fill, buffer, entry.Name, stat, plus, nameBuffer))
                {
                    break; // libfuse could not grow its buffer (out of memory): what was filled is returned
                }
            }

            return 0;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("readdir", path, ex);
        }
    }

    /// <summary>Calls the filler with a NUL-terminated UTF-8 name; true when it reports its buffer full.</summary>
    private static bool Fill(delegate* unmanaged[Cdecl]<void*, byte*, void*, long, int, int> fill, void* buffer, string name,
        void* stat, int flags, Span<byte> scratch)
    {
        var needed = Encoding.UTF8.GetMaxByteCount(name.Length) + 1;
        byte[]? rented = null;
        var target = needed <= scratch.Length ? scratch : (rented = ArrayPool<byte>.Shared.Rent(needed));
        try
        {
            var n = Encoding.UTF8.GetBytes(name, target);
            target[n] = 0;
            fixed (byte* z = target)
            {
                return fill(buffer, z, stat, 0, flags) != 0;
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int StatFs(byte* path, Statvfs* result)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("statfs");
            }

            var rc = a.StatFs(PathOf(path), out var value);
            if (rc == 0)
            {
                *result = value;
            }

            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("statfs", path, ex);
        }
    }

    // ------------------------------------------------------------------ files

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Open(byte* path, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("open");
            }

            var rc = a.Open(PathOf(path), fi->flags, out var fh);
            if (rc == 0)
            {
                fi->fh = fh;
            }

            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("open", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Create(byte* path, uint mode, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("create");
            }

            var rc = a.Create(PathOf(path), mode, fi->flags, out var fh);
            if (rc == 0)
            {
                fi->fh = fh;
            }

            return rc;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("create", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Read(byte* path, byte* buffer, nuint size, long offset, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("read");
            }

            var length = (int)Math.Min(size, int.MaxValue);
            return a.Read(PathOf(path), fi->fh, offset, new Span<byte>(buffer, length));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("read", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Write(byte* path, byte* data, nuint size, long offset, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("write");
            }

            var length = (int)Math.Min(size, int.MaxValue);
            return a.Write(PathOf(path), fi->fh, offset, new ReadOnlySpan<byte>(data, length));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("write", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Flush(byte* path, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("flush") : a.Flush(PathOf(path), fi->fh);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("flush", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Fsync(byte* path, int dataSync, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("fsync") : a.Fsync(PathOf(path), fi->fh);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("fsync", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Release(byte* path, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("release") : a.Release(PathOf(path), fi->fh);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("release", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Truncate(byte* path, long size, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("truncate") : a.Truncate(PathOf(path), size, HandleOf(fi));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("truncate", path, ex);
        }
    }

    // ------------------------------------------------------------------ namespace

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int MakeNode(byte* path, uint mode, ulong device)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("mknod") : a.MakeNode(PathOf(path), mode);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("mknod", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int MakeDirectory(byte* path, uint mode)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("mkdir") : a.MakeDirectory(PathOf(path), mode);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("mkdir", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unlink(byte* path)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("unlink") : a.Unlink(PathOf(path));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("unlink", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int RemoveDirectory(byte* path)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("rmdir") : a.RemoveDirectory(PathOf(path));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("rmdir", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Symlink(byte* target, byte* linkPath)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("symlink") : a.Symlink(PathOf(target), PathOf(linkPath));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("symlink", linkPath, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Rename(byte* from, byte* to, uint flags)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("rename") : a.Rename(PathOf(from), PathOf(to), flags);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("rename", from, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Link(byte* from, byte* to)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("link") : a.Link(PathOf(from), PathOf(to));
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("link", from, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Chmod(byte* path, uint mode, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("chmod") : a.Chmod(PathOf(path), mode);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("chmod", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Chown(byte* path, uint uid, uint gid, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            return a is null ? NoAdapter("chown") : a.Chown(PathOf(path), uid, gid);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("chown", path, ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SetTimes(byte* path, Timespec* times, FuseFileInfo* fi)
    {
        try
        {
            var a = Current();
            if (a is null)
            {
                return NoAdapter("utimens");
            }

            // times == NULL means "both now" (utimensat(2)); libfuse normally passes explicit UTIME_NOW.
            var modified = times == null ? DateTimeOffset.UtcNow : DecodeTime(times[1]);
            return a.SetTimes(PathOf(path), modified);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Escaped("utimens", path, ex);
        }
    }

    /// <summary>UTIME_OMIT → null, UTIME_NOW → now, otherwise the time.</summary>
    internal static DateTimeOffset? DecodeTime(Timespec t) => t.tv_nsec switch
    {
        PosixConst.UTIME_OMIT => null,
        PosixConst.UTIME_NOW => DateTimeOffset.UtcNow,
        _ => DateTimeOffset.FromUnixTimeSeconds(t.tv_sec).AddTicks(Math.Clamp(t.tv_nsec, 0, 999_999_999) / 100),
    };

    // ------------------------------------------------------------------ lifecycle

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static nint Init(FuseConnInfo* connection, FuseConfig* config)
    {
        var context = LibFuse.GetContext();
        var privateData = context == null ? 0 : context->private_data;
        try
        {
            var a = privateData == 0 ? null : FromHandle(privateData);
            if (a is null)
            {
                Console.Error.WriteLine("ftpsmount: fuse init without a filesystem (private_data missing)");
            }
            else
            {
                a.Configure(connection, config);
            }
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Escaped("init", null, ex);
        }

        // Whatever init returns becomes private_data for every later request: keep ours.
        return privateData;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Destroy(nint privateData)
    {
        try
        {
            if (privateData != 0)
            {
                FromHandle(privateData)?.OnDestroy();
            }
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Escaped("destroy", null, ex);
        }
    }
}
