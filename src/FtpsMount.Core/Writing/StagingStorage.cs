using System.Buffers;

namespace FtpsMount.Core.Writing;

/// <summary>
/// Bytes at positions 0..Length of one staged file, in memory or in a temp file. Not thread-safe: the owning
/// <see cref="StagingBuffer"/> serialises access. Writing past the end fills the gap with zeros. I/O errors surface as
/// <see cref="IOException"/>; the owner turns them into <see cref="FsException"/>.
/// </summary>
internal abstract class StagingStorage : IDisposable
{
    public abstract long Length { get; }

    /// <summary>The temp file, or null for memory.</summary>
    public abstract string? FilePath { get; }

    public abstract void Write(long position, ReadOnlySpan<byte> data);

    /// <summary>Copies up to destination.Length bytes from <paramref name="position"/>; fewer only at the end.</summary>
    public abstract int Read(long position, Span<byte> destination);

    public abstract void SetLength(long length);

    /// <summary>Keep the temp file when disposed (its data never reached the server).</summary>
    public virtual void Keep()
    {
    }

    public abstract void Dispose();

    /// <summary>Copies <paramref name="count"/> bytes from position 0 of this storage to <paramref name="target"/> at
    /// <paramref name="targetPosition"/>.</summary>
    public void CopyTo(StagingStorage target, long targetPosition, long count)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            for (long done = 0; done < count;)
            {
                var n = Read(done, buffer.AsSpan(0, (int)Math.Min(buffer.Length, count - done)));
                if (n == 0)
                {
                    break;
                }

                target.Write(targetPosition + done, buffer.AsSpan(0, n));
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Staging in one growable array (files up to <see cref="WriteOptions.MemoryStagingLimit"/>).</summary>
internal sealed class MemoryStorage : StagingStorage
{
    private byte[] _buffer = [];
    private long _length;

    public override long Length => _length;
    public override string? FilePath => null;

    public override void Write(long position, ReadOnlySpan<byte> data)
    {
        var end = position + data.Length;
        EnsureCapacity(end);
        if (position > _length)
        {
            _buffer.AsSpan((int)_length, (int)(position - _length)).Clear();
        }

        data.CopyTo(_buffer.AsSpan((int)position));
        _length = Math.Max(_length, end);
    }

    public override int Read(long position, Span<byte> destination)
    {
        if (position >= _length)
        {
            return 0;
        }

        var n = (int)Math.Min(destination.Length, _length - position);
        _buffer.AsSpan((int)position, n).CopyTo(destination);
        return n;
    }

    public override void SetLength(long length)
    {
        if (length > _length)
        {
            EnsureCapacity(length);
            _buffer.AsSpan((int)_length, (int)(length - _length)).Clear();
        }
        else if (length < _buffer.Length / 4 && _buffer.Length > 64 * 1024)
        {
            Array.Resize(ref _buffer, (int)Math.Max(length, 4096));
        }

        _length = length;
    }

    public override void Dispose()
    {
        _buffer = [];
        _length = 0;
    }

    private void EnsureCapacity(long needed)
    {
        if (needed <= _buffer.Length)
        {
            return;
        }

        if (needed > Array.MaxLength)
        {
            throw new IOException($"{needed} bytes do not fit in a memory staging buffer.");
        }

        var grown = Math.Min(Array.MaxLength, Math.Max(4096L, _buffer.Length * 2L));
        Array.Resize(ref _buffer, (int)Math.Max(needed, grown));
    }
}

/// <summary>Staging in a temp file (mode 0600 on Unix), deleted on disposal unless <see cref="Keep"/> was called.</summary>
internal sealed class FileStorage(FileStream stream, string path, bool deleteOnDispose) : StagingStorage
{
    private long _length;
    private bool _keep;
    private bool _disposed;

    public override long Length => _length;
    public override string? FilePath => path;

    public override void Write(long position, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            if (position > _length)
            {
                SetLength(position);
            }

            return;
        }

        try
        {
            RandomAccess.Write(stream.SafeFileHandle, data, position);
        }
        catch (IOException)
        {
            // A write cut short (disk full) may have left bytes past the length; cut them so a later gap reads as zeros.
            try
            {
                RandomAccess.SetLength(stream.SafeFileHandle, _length);
            }
            catch (IOException)
            {
                // best effort
            }

            throw;
        }

        _length = Math.Max(_length, position + data.Length);
    }

    public override int Read(long position, Span<byte> destination)
    {
        if (position >= _length)
        {
            return 0;
        }

        var want = (int)Math.Min(destination.Length, _length - position);
        var done = 0;
        while (done < want)
        {
            var n = RandomAccess.Read(stream.SafeFileHandle, destination[done..want], position + done);
            if (n == 0)
            {
                // A sparse tail the file system reports short: it reads as zeros.
                destination[done..want].Clear();
                return want;
            }

            done += n;
        }

        return want;
    }

    public override void SetLength(long length)
    {
        RandomAccess.SetLength(stream.SafeFileHandle, length);
        _length = length;
    }

    public override void Keep() => _keep = true;

    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        stream.Dispose();
        if (!_keep && deleteOnDispose)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: the staging directory sweep on dispose tries again.
            }
        }
    }
}
