using System.Buffers;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Dokan;

internal sealed partial class DokanAdapter
{
    /// <summary>The Core handle of an open, made on first use (opening for attributes or a rename needs none).</summary>
    private int EnsureHandle(string operation, string path, OpenEntry entry, bool forWrite, nint info, out FsFileHandle handle)
    {
        handle = null!;
        if (entry.IsDirectory)
        {
            return Refuse(operation, path, NtStatus.STATUS_INVALID_DEVICE_REQUEST, "a directory has no data");
        }

        if (forWrite && !entry.CanWrite)
        {
            return Refuse(operation, path, NtStatus.STATUS_ACCESS_DENIED, "not opened for writing");
        }

        if (entry.Handle is { } existing)
        {
            handle = existing;
            return NtStatus.STATUS_SUCCESS;
        }

        // Dokan may call ReadFile on several threads for one open: only the first makes the Core handle.
        entry.Gate.Wait();
        try
        {
            if (entry.Handle is { } raced)
            {
                handle = raced;
                return NtStatus.STATUS_SUCCESS;
            }

            var mode = entry.CanWrite ? FsOpenMode.ReadWrite : FsOpenMode.Read;
            var rc = Await(operation, path, _options.OperationTimeout, info, ct => _fs.OpenAsync(entry.ServerPath, mode, truncate: false, ct), out FsFileHandle opened);
            if (rc == NtStatus.STATUS_SUCCESS)
            {
                entry.Handle = opened;
                handle = opened;
            }

            return rc;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>ReadFile. Kernel contract: fill up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>
    /// and report the count; fewer only at end of file, 0 (with success) at or past it. Core fills a managed buffer copied
    /// out afterwards, so a call abandoned on timeout never writes into the driver's buffer.</summary>
    public int ReadFile(string path, Span<byte> destination, long offset, out int bytesRead, nint info)
    {
        bytesRead = 0;
        if (offset < 0)
        {
            return Refuse("read", path, NtStatus.STATUS_INVALID_PARAMETER, $"negative offset {offset}");
        }

        if (!TryEntry("read", path, info, out var entry, out var status))
        {
            return status;
        }

        var rc = EnsureHandle("read", path, entry, forWrite: false, info, out var handle);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        var size = destination.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        rc = Await("read", path, _options.OperationTimeout, info, ct => _fs.ReadFullyAsync(handle, offset, buffer.AsMemory(0, size), ct), out var count);
        if (rc == NtStatus.STATUS_SUCCESS)
        {
            buffer.AsSpan(0, count).CopyTo(destination);
            bytesRead = count;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        // On failure the buffer is not returned to the pool: an abandoned Core call may still write into it.
        return rc;
    }

    /// <summary>WriteFile. Kernel contract: write all bytes at <paramref name="offset"/> and report the count.
    /// WriteToEndOfFile (FILE_APPEND_DATA handles, or offset -1 = FILE_WRITE_TO_END_OF_FILE) appends at the current size.
    /// Paging I/O (memory-mapped writes, possibly after Cleanup) must not extend the file: it is cut at the current size.</summary>
    public int WriteFile(string path, ReadOnlySpan<byte> data, long offset, out int bytesWritten, nint info)
    {
        bytesWritten = 0;
        if (_options.ReadOnly)
        {
            return WriteProtected("write", path);
        }

        if (!TryEntry("write", path, info, out var entry, out var status))
        {
            return status;
        }

        var toEnd = Fi(info).WriteToEndOfFile != 0 || offset == -1;
        if (offset < 0 && !toEnd)
        {
            return Refuse("write", path, NtStatus.STATUS_INVALID_PARAMETER, $"offset {offset}");
        }

        var rc = EnsureHandle("write", path, entry, forWrite: true, info, out var handle);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        var length = data.Length;
        var paging = Fi(info).PagingIo != 0;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        data.CopyTo(buffer);
        rc = Await("write", path, _options.OperationTimeout, info, async ct =>
        {
            var at = offset;
            var count = length;
            if (toEnd || paging)
            {
                var size = (await _fs.GetAttributesAsync(handle.Path, ct).ConfigureAwait(false)).Size;
                if (toEnd)
                {
                    at = size;
                }
                else if (at >= size)
                {
                    return 0;
                }
                else
                {
                    count = (int)Math.Min(count, size - at);
                }
            }

            await _fs.WriteAsync(handle, at, buffer.AsMemory(0, count), ct).ConfigureAwait(false);
            return count;
        }, out var written);
        if (rc == NtStatus.STATUS_SUCCESS)
        {
            bytesWritten = written;
            entry.Modified = true;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return rc;
    }

    /// <summary>FlushFileBuffers. Kernel contract: buffered data reaches the file (FlushFileBuffers(2) returns after it):
    /// Core uploads and verifies what this open wrote. Nothing to do for unwritten or read-only opens.</summary>
    public int FlushFileBuffers(string path, nint info)
    {
        if (!TryEntry("flush", path, info, out var entry, out var status))
        {
            return status;
        }

        if (entry.Handle is not { CanWrite: true } handle)
        {
            return NtStatus.STATUS_SUCCESS;
        }

        return Await("flush", path, _options.TransferTimeout, info, ct => _fs.FlushAsync(handle, ct));
    }

    /// <summary>
    /// Cleanup: the last user handle of the file object was closed (CloseHandle). Kernel contract: if DeleteOnClose is
    /// set the name must go now (DeleteFile/DeleteDirectory already said it may); nothing can fail from here (void), so
    /// failures are logged. Written data is uploaded here, synchronously — CloseHandle returns once the server has it —
    /// with the request kept alive meanwhile (with write-back the upload is left to its schedule, as close(2) on Linux;
    /// FlushFileBuffers still waits for the server); the Core handle stays open because memory-mapped (paging) writes may still
    /// arrive until CloseFile.
    /// </summary>
    public void Cleanup(string path, nint info)
    {
        if (!TryEntry("cleanup", path, info, out var entry, out _))
        {
            return;
        }

        entry.CleanedUp = true;
        if (Fi(info).DeleteOnClose != 0 || entry.DeleteOnCloseAtCreate)
        {
            if (_options.ReadOnly)
            {
                WriteProtected("cleanup (delete)", path);
                return;
            }

            if (entry.Handle is { } h)
            {
                entry.Handle = null;
                var released = Await("cleanup (release before delete)", path, _options.TransferTimeout, info, ct => _fs.ReleaseAsync(h, ct));
                if (released != NtStatus.STATUS_SUCCESS)
                {
                    _log.Log(FtpLogLevel.Warning, $"dokan cleanup {path}: releasing before the delete failed (0x{released:X8}); deleting anyway");
                }
            }

            var rc = entry.IsDirectory
                ? Await("cleanup (rmdir)", path, _options.OperationTimeout, info, ct => _fs.RemoveDirectoryAsync(entry.ServerPath, ct))
                : Await("cleanup (delete)", path, _options.OperationTimeout, info, ct => _fs.DeleteFileAsync(entry.ServerPath, ct));
            if (rc == NtStatus.STATUS_SUCCESS)
            {
                Host.NotifyDelete(entry.WindowsPath, entry.IsDirectory);
            }
            else
            {
                _log.Log(FtpLogLevel.Error, $"dokan cleanup {path}: delete-on-close failed with 0x{rc:X8}; the name stays");
            }

            return;
        }

        if (entry.Handle is { CanWrite: true } handle && entry.Modified)
        {
            var rc = Await("cleanup (upload)", path, _options.TransferTimeout, info, ct => _fs.CloseFlushAsync(handle, ct));
            if (rc == NtStatus.STATUS_SUCCESS)
            {
                Host.NotifyUpdate(entry.WindowsPath);
            }
            else
            {
                _log.Log(FtpLogLevel.Error, $"dokan cleanup {path}: the upload failed with 0x{rc:X8}; the data stays staged and is retried");
            }
        }
    }

    /// <summary>CloseFile: the file object is gone (after Cleanup and any paging I/O). Kernel contract: release what
    /// Context holds; cannot fail. Core's release uploads anything written after Cleanup.</summary>
    public void CloseFile(string path, nint info)
    {
        if (Fi(info).Context == 0 || !_opens.TryRemove(Fi(info).Context, out var entry))
        {
            return;
        }

        Fi(info).Context = 0;
        if (entry.Handle is { } handle)
        {
            entry.Handle = null;
            var rc = Await("close", path, _options.TransferTimeout, info, ct => _fs.ReleaseAsync(handle, ct));
            if (rc != NtStatus.STATUS_SUCCESS)
            {
                _log.Log(FtpLogLevel.Error, $"dokan close {path}: releasing failed with 0x{rc:X8}; unsent data stays staged");
            }
        }

        entry.Gate.Dispose();
    }

    /// <summary>SetEndOfFile. Kernel contract: the file's length becomes <paramref name="length"/> (shorter: cut; longer:
    /// zeros).</summary>
    public int SetEndOfFile(string path, long length, nint info)
    {
        if (_options.ReadOnly)
        {
            return WriteProtected("set-end-of-file", path);
        }

        if (length < 0)
        {
            return Refuse("set-end-of-file", path, NtStatus.STATUS_INVALID_PARAMETER, "negative length");
        }

        if (!TryEntry("set-end-of-file", path, info, out var entry, out var status))
        {
            return status;
        }

        var rc = EnsureHandle("set-end-of-file", path, entry, forWrite: true, info, out var handle);
        if (rc != NtStatus.STATUS_SUCCESS)
        {
            return rc;
        }

        rc = Await("set-end-of-file", path, _options.OperationTimeout, info, ct => _fs.TruncateAsync(handle, length, ct));
        if (rc == NtStatus.STATUS_SUCCESS)
        {
            entry.Modified = true;
        }

        return rc;
    }

    /// <summary>SetAllocationSize. Kernel contract: reserve space; an allocation below the current size cuts the file
    /// (NTFS semantics), a larger one changes nothing visible (FTP cannot preallocate).</summary>
    public int SetAllocationSize(string path, long allocation, nint info)
    {
        if (_options.ReadOnly)
        {
            return WriteProtected("set-allocation-size", path);
        }

        if (!TryEntry("set-allocation-size", path, info, out var entry, out var status))
        {
            return status;
        }

        var rc = Await("set-allocation-size", path, _options.OperationTimeout, info, ct => _fs.GetAttributesAsync(entry.ServerPath, ct), out var attributes);
        if (rc != NtStatus.STATUS_SUCCESS || allocation >= attributes.Size)
        {
            return rc;
        }

        return SetEndOfFile(path, allocation, info);
    }
}
