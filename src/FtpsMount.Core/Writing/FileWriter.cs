using FtpsMount.Core.Errors;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Writing;

/// <summary>
/// One open handle with write access (from <see cref="WriteManager.OpenWriter"/>). Writers open on the same path share
/// one write state, so each sees the others' writes. Failures are <see cref="FsException"/>s carrying the cause.
/// <para>Threading: one caller at a time writes, truncates, flushes or closes a writer; <see cref="ReadAsync"/> may run
/// concurrently with any of them.</para>
/// </summary>
public sealed class FileWriter : IAsyncDisposable
{
    private readonly WriteManager _manager;
    private readonly StagedFile _file;
    private readonly Task _ready;
    private int _closed;

    internal FileWriter(WriteManager manager, StagedFile file, Task ready)
    {
        _manager = manager;
        _file = file;
        _ready = ready;
    }

    /// <summary>The file's current path. Setting it (after a rename on the server through this mount) moves the write
    /// state of every writer of the file and of its pending upload to the new path.</summary>
    public string Path
    {
        get => _file.Path;
        set => _manager.Rename(_file, value);
    }

    /// <summary>Logical length, unflushed writes included.</summary>
    public long Length => _file.Length;

    /// <summary>Something was written (or truncated, or the file is new) that the server does not have yet.</summary>
    public bool IsDirty => _file.IsDirty;

    public async Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset > long.MaxValue - data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), "offset + length overflows");
        }

        ThrowIfClosed();
        if (data.IsEmpty)
        {
            return;
        }

        try
        {
            await _ready.ConfigureAwait(false);
            await _file.WriteAsync(offset, data, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw FtpErrorMapper.ToFsException(ex, FsOperation.Write, Path);
        }
    }

    /// <summary>Reads the file as this writer sees it: staged bytes from the staging, bytes never written and not
    /// staged from the server. Returns fewer than buffer.Length bytes only at the end of the file.</summary>
    public async Task<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ThrowIfClosed();
        try
        {
            await _ready.ConfigureAwait(false);
            return await _file.ReadAsync(offset, buffer, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw FtpErrorMapper.ToFsException(ex, FsOperation.Read, Path);
        }
    }

    /// <summary>Truncates or extends (with zeros) to <paramref name="length"/>. A truncation below what is staged of an
    /// existing file fetches the kept part from the server.</summary>
    public async Task SetLengthAsync(long length, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ThrowIfClosed();
        try
        {
            await _ready.ConfigureAwait(false);
            await _file.SetLengthAsync(length, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw FtpErrorMapper.ToFsException(ex, FsOperation.Write, Path);
        }
    }

    /// <summary>
    /// fsync: uploads what is not on the server yet and returns once the server has the whole file, verified (also in
    /// write-back mode). On failure throws <see cref="FsException"/> (e.g. <see cref="FsError.NoSpace"/> for 552, or
    /// <see cref="FsError.Io"/> when verification failed); the data stays staged and a later flush tries again. May be
    /// called after <see cref="CloseAsync"/> failed, to retry.
    /// </summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        try
        {
            await _ready.ConfigureAwait(false);
            await _manager.FlushAsync(_file, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw FtpErrorMapper.ToFsException(ex, FsOperation.Write, Path);
        }
    }

    /// <summary>
    /// Closes this handle. Without write-back: uploads like <see cref="FlushAsync"/> and returns once the server has
    /// the file, verified; on failure throws, and the data stays staged, retried in the background and reported by
    /// <see cref="WriteManager.DrainAsync"/>. With write-back: returns at once; the last close schedules the upload after
    /// the delay. Local resources are freed after the last close once the upload is verified. Closing twice is a no-op.
    /// </summary>
    public async Task CloseAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            try
            {
                await _ready.ConfigureAwait(false);
            }
            finally
            {
                // Detach even when the open-time truncation failed, so the state is not kept open forever.
                await _manager.CloseAsync(_file, ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            throw FtpErrorMapper.ToFsException(ex, FsOperation.Write, Path);
        }
    }

    /// <summary>Closes (see <see cref="CloseAsync"/>); a failure is logged, not thrown: the data stays staged and is
    /// retried in the background.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (FsException ex)
        {
            _manager.Log.Log(FtpLogLevel.Warning, $"write {Path}: {ex.Message}");
        }
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
}
