using System.Buffers;
using FtpsMount.Core.FileSystem;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse;

internal sealed partial class FuseAdapter
{
    /// <summary>open. Kernel contract: check the access mode and return a handle in fi->fh, which comes back with
    /// read/write/flush/fsync/release. O_CREAT never reaches open (the kernel calls create); O_TRUNC arrives here
    /// because init asks for FUSE_CAP_ATOMIC_O_TRUNC (otherwise the kernel sends a separate truncate first).
    /// O_APPEND needs nothing: without writeback cache the kernel turns it into writes at the current size.</summary>
    public int Open(string path, int flags, out ulong fh)
    {
        fh = 0;
        var mode = (flags & PosixConst.O_ACCMODE) switch
        {
            PosixConst.O_WRONLY => FsOpenMode.Write,
            PosixConst.O_RDWR => FsOpenMode.ReadWrite,
            _ => FsOpenMode.Read,
        };
        if (mode != FsOpenMode.Read && _options.ReadOnly)
        {
            return ReadOnlyRefusal("open", path);
        }

        var truncate = mode != FsOpenMode.Read && (flags & PosixConst.O_TRUNC) != 0;
        var rc = Await("open", path, _options.OperationTimeout, ct => _fs.OpenAsync(path, mode, truncate, ct), out var handle);
        if (rc == 0)
        {
            fh = Register(handle);
        }

        return rc;
    }

    /// <summary>create. Kernel contract: create and open in one step (open(O_CREAT) of a name the kernel does not know);
    /// -EEXIST with O_EXCL when the name exists. The handle is readable and writable whatever the flags.</summary>
    public int Create(string path, uint mode, int flags, out ulong fh)
    {
        fh = 0;
        if (_options.ReadOnly)
        {
            return ReadOnlyRefusal("create", path);
        }

        var exclusive = (flags & PosixConst.O_EXCL) != 0;
        var rc = Await("create", path, _options.OperationTimeout, ct => _fs.CreateAsync(path, (int)(mode & 0xFFF), exclusive, ct), out var handle);
        if (rc == 0)
        {
            fh = Register(handle);
        }

        return rc;
    }

    /// <summary>read. Kernel contract: return exactly the requested byte count except at end of file (a short read
    /// means EOF to the page cache), or -errno. Core fills a managed buffer that is copied out afterwards, so a call
    /// abandoned on timeout can never write into libfuse's buffer.</summary>
    public int Read(string path, ulong fh, long offset, Span<byte> destination)
    {
        if (!TryHandle("read", path, fh, out var handle, out var errno))
        {
            return errno;
        }

        var size = destination.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        var abandoned = false;
        try
        {
            var rc = Await("read", path, _options.OperationTimeout, ct => _fs.ReadFullyAsync(handle, offset, buffer.AsMemory(0, size), ct), out var count, () => abandoned = true);
            if (rc != 0)
            {
                return rc;
            }

            buffer.AsSpan(0, count).CopyTo(destination);
            return count;
        }
        finally
        {
            if (!abandoned)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>write. Kernel contract: return the full byte count (anything less is a short write the caller sees) or
    /// -errno. Data is staged by Core and uploaded at flush/fsync/release. The bytes are copied first, as for read.</summary>
    public int Write(string path, ulong fh, long offset, ReadOnlySpan<byte> data)
    {
        if (_options.ReadOnly)
        {
            return ReadOnlyRefusal("write", path);
        }

        if (!TryHandle("write", path, fh, out var handle, out var errno))
        {
            return errno;
        }

        var length = data.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        data.CopyTo(buffer);
        var abandoned = false;
        try
        {
            var rc = Await("write", path, _options.OperationTimeout,
                ct => _fs.WriteAsync(handle, offset, buffer.AsMemory(0, length), ct), () => abandoned = true);
            return rc != 0 ? rc : length;
        }
        finally
        {
            if (!abandoned)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>flush. Kernel contract: called on every close(2) of a descriptor (dup'ed descriptors flush more than
    /// once), and its result is close()'s result — so this is where an upload failure must be reported. Without
    /// write-back, Core uploads and verifies here; with write-back it returns at once (fsync still uploads); read-only
    /// handles return at once.</summary>
    public int Flush(string path, ulong fh)
    {
        if (!TryHandle("flush", path, fh, out var handle, out var errno))
        {
            return errno;
        }

        return Await("flush", path, _options.TransferTimeout, ct => _fs.CloseFlushAsync(handle, ct));
    }

    /// <summary>fsync. Kernel contract: data must be durable on return; datasync makes no difference on FTP.</summary>
    public int Fsync(string path, ulong fh)
    {
        if (!TryHandle("fsync", path, fh, out var handle, out var errno))
        {
            return errno;
        }

        return Await("fsync", path, _options.TransferTimeout, ct => _fs.FlushAsync(handle, ct));
    }

    /// <summary>release. Kernel contract: called once per open handle after its last descriptor closed; the result is
    /// ignored (close() already returned with flush's result), so failures are only logged — Core keeps the unsent
    /// data staged for a retry. The handle is forgotten either way.</summary>
    public int Release(string path, ulong fh)
    {
        if (!_handles.TryRemove(fh, out var handle))
        {
            _log.Log(FtpLogLevel.Warning, $"fuse release {path}: unknown file handle {fh}");
            return -Errno.EBADF;
        }

        var rc = Await("release", path, _options.TransferTimeout, ct => _fs.ReleaseAsync(handle, ct));
        if (rc != 0)
        {
            _log.Log(FtpLogLevel.Error, $"fuse release {path}: closing failed with errno {-rc}; unsent data stays staged");
        }

        return rc;
    }

    /// <summary>truncate (setattr with a size). Kernel contract: libfuse 3 passes fi for ftruncate(2) on an open handle
    /// and NULL for truncate(2) by path; both must set the length (extending with zeros).</summary>
    public int Truncate(string path, long length, ulong? fh)
    {
        if (_options.ReadOnly)
        {
            return ReadOnlyRefusal("truncate", path);
        }

        if (length < 0)
        {
            return Refuse("truncate", path, Errno.EINVAL, "negative length");
        }

        if (fh is { } f && _handles.TryGetValue(f, out var handle) && handle.CanWrite)
        {
            return Await("truncate", path, _options.OperationTimeout, ct => _fs.TruncateAsync(handle, length, ct));
        }

        // By path Core opens, resizes and uploads: a transfer.
        return Await("truncate", path, _options.TransferTimeout, ct => _fs.TruncateAsync(path, length, ct));
    }
}
