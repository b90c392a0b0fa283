namespace FtpsMount.Core.Writing;

/// <summary>
/// The staged part of one file: bytes [<see cref="Start"/>, <see cref="Length"/>) of the file as this mount sees it.
/// Bytes [0, Start) are the server's, unchanged (an append-only writer never needs them). Starts in memory and moves
/// to a temp file once larger than the memory limit.
/// <para>Thread-safe: every call takes one short lock, so a reader sees either all or none of a write, and the range
/// bounds it reads under are consistent with the bytes it gets (the upload stream and <see cref="FileWriter.ReadAsync"/>
/// read while a writer writes). Local I/O failures are thrown as <see cref="FsException"/>
/// (<see cref="FsError.NoSpace"/> for a full disk).</para>
/// </summary>
internal sealed class StagingBuffer : IDisposable
{
    private readonly StagingArea _area;
    private readonly Lock _lock = new();
    private StagingStorage _storage = new MemoryStorage();
    private long _start;
    private long _length;
    private bool _disposed;

    public StagingBuffer(StagingArea area, string name, long start)
    {
        _area = area;
        Name = name;
        _start = start;
        _length = start;
    }

    /// <summary>The file's path when created (names the temp file; messages use it).</summary>
    public string Name { get; set; }

    public long Start
    {
        get
        {
            lock (_lock)
            {
                return _start;
            }
        }
    }

    /// <summary>The logical file length.</summary>
    public long Length
    {
        get
        {
            lock (_lock)
            {
                return _length;
            }
        }
    }

    /// <summary>Bytes held locally (memory or disk).</summary>
    public long StagedBytes
    {
        get
        {
            lock (_lock)
            {
                return _length - _start;
            }
        }
    }

    public string? FilePath
    {
        get
        {
            lock (_lock)
            {
                return _storage.FilePath;
            }
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (offset < _start)
            {
                throw new InvalidOperationException($"write at {offset} below the staged range starting at {_start}");
            }

            var end = offset + data.Length;
            try
            {
                EnsureRoomLocked(Math.Max(end, _length) - _start);
                _storage.Write(offset - _start, data);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw _area.LocalFailure(ex, $"staging a write of {data.Length} bytes at {offset} to {Name}");
            }

            _length = Math.Max(_length, end);
        }
    }

    /// <summary>
    /// Copies what the file holds at <paramref name="offset"/> into <paramref name="destination"/>, clamped to the
    /// length. Returns the byte count, and how many of the first bytes lie below <see cref="Start"/> (those are not
    /// filled: the caller fetches them from the server).
    /// </summary>
    public (int Count, int Missing) Read(long offset, Span<byte> destination)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var count = (int)Math.Clamp(_length - offset, 0, destination.Length);
            if (count == 0)
            {
                return (0, 0);
            }

            var missing = (int)Math.Clamp(_start - offset, 0, count);
            if (missing == count)
            {
                return (count, missing); // all of it below the staged range
            }

            var from = offset + missing;
            var target = destination[missing..count];
            try
            {
                var got = _storage.Read(from - _start, target);
                target[got..].Clear(); // past the storage's end but within the length: a hole
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw _area.LocalFailure(ex, $"reading the staged data of {Name}");
            }

            return (count, missing);
        }
    }

    public void SetLength(long length)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (length < _start)
            {
                throw new InvalidOperationException($"length {length} below the staged range starting at {_start}");
            }

            try
            {
                EnsureRoomLocked(length - _start);
                _storage.SetLength(length - _start);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw _area.LocalFailure(ex, $"setting the staged length of {Name} to {length}");
            }

            _length = length;
        }
    }

    /// <summary>Drops all staged bytes: the file is <paramref name="start"/> bytes of the server's, nothing staged.</summary>
    public void Reset(long start)
    {
        StagingStorage old;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            old = _storage;
            _storage = new MemoryStorage();
            _start = start;
            _length = start;
        }

        old.Dispose();
    }

    /// <summary>Storage for a materialised copy of <paramref name="expectedSize"/> bytes.</summary>
    public StagingStorage CreateStorage(long expectedSize)
    {
        try
        {
            return _area.Create(expectedSize, Name);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw _area.LocalFailure(ex, $"creating a staging file for {Name}");
        }
    }

    /// <summary>
    /// Makes the buffer whole: <paramref name="prefix"/> holds the server's bytes [0, <paramref name="prefixLength"/>).
    /// When that reaches <see cref="Start"/> the staged tail is appended to it; when it stops short (truncation below
    /// Start) the tail is dropped and the length becomes <paramref name="prefixLength"/>. Takes ownership of prefix.
    /// </summary>
    public void InstallPrefix(StagingStorage prefix, long prefixLength)
    {
        StagingStorage old;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (prefixLength >= _start)
            {
                try
                {
                    _storage.CopyTo(prefix, _start, _length - _start);
                    prefix.SetLength(_length);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    prefix.Dispose();
                    throw _area.LocalFailure(ex, $"staging {Name}");
                }
            }
            else
            {
                _length = prefixLength;
            }

            old = _storage;
            _storage = prefix;
            _start = 0;
        }

        old.Dispose();
    }

    /// <summary>For data that never reached the server at shutdown: moves memory-staged bytes to a temp file and
    /// keeps the file. Returns its path (null when nothing is staged or it could not be written).</summary>
    public string? Preserve()
    {
        lock (_lock)
        {
            if (_disposed || _length - _start == 0)
            {
                return null;
            }

            try
            {
                if (_storage is MemoryStorage)
                {
                    SpillLocked();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FsException)
            {
                return null;
            }

            _storage.Keep();
            return _storage.FilePath;
        }
    }

    private void EnsureRoomLocked(long stagedLength)
    {
        if (_storage is MemoryStorage && stagedLength > _area.MemoryLimit)
        {
            SpillLocked();
        }
    }

    private void SpillLocked()
    {
        var file = _area.CreateFile(Name);
        try
        {
            _storage.CopyTo(file, 0, _storage.Length);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        var old = _storage;
        _storage = file;
        old.Dispose();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _storage.Dispose();
        }
    }
}
