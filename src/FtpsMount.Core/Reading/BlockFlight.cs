using System.Buffers;

namespace FtpsMount.Core.Reading;

/// <summary>
/// One block being fetched: the single place every reader of that (file version, block) waits, so concurrent requests
/// share one download. It ends in one of three ways: the bytes arrived (<see cref="Task"/> yields true and
/// <see cref="Data"/> holds them), the fetch was given up without an error (false: stopped pump, cancelled fetch; the
/// waiter simply looks again), or it failed (the <see cref="FsException"/> every waiter receives).
/// <para>
/// The data buffer is rented from <see cref="ArrayPool{T}"/> when the owning job starts filling it and returned when the
/// last reference is released. The owning job holds one reference until it has ended the flight; a waiter takes its own
/// (<see cref="AddRef"/>, under the fetcher's lock, while the flight is still registered, so never after the owner's last
/// release) and releases it after copying. Waiters read <see cref="Data"/> only after <see cref="Task"/> yielded true.
/// </para>
/// </summary>
internal sealed class BlockFlight
{
    private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _buffer;
    private IDisposable? _cachePin; // set when the cache adopted _buffer: released instead of returning the array
    private int _references = 1;

    public BlockFlight(FetchJob job, long index, long offset, int length)
    {
        Job = job;
        Index = index;
        Offset = offset;
        Length = length;
    }

    /// <summary>The job (one RETR stream, possibly resumed) that fetches this block.</summary>
    public FetchJob Job { get; }

    public long Index { get; }

    /// <summary>File offset of the block's first byte.</summary>
    public long Offset { get; }

    /// <summary>Bytes in the block (the file's tail block may be shorter than the block size).</summary>
    public int Length { get; }

    /// <summary>True: data available; false: given up, look again; faulted: the fetch failed.</summary>
    public Task<bool> Task => _done.Task;

    /// <summary>The block's bytes; valid once <see cref="Task"/> yielded true, while a reference is held.</summary>
    public ReadOnlySpan<byte> Data => _buffer.AsSpan(0, Length);

    /// <summary>The owner's buffer to fill (rented on first use; kept across a resumed attempt).</summary>
    public Memory<byte> FillBuffer => (_buffer ??= ArrayPool<byte>.Shared.Rent(Length)).AsMemory(0, Length);

    /// <summary>The filled buffer, for the cache to adopt (see <see cref="Adopted"/>); null if never filled.</summary>
    public byte[]? FilledArray => _buffer;

    public void AddRef() => Interlocked.Increment(ref _references);

    /// <summary>The cache now owns the buffer (no copy was made); <paramref name="pin"/> keeps it from going back to the
    /// pool while this flight's readers still copy from it. Called by the owner before <see cref="Succeed"/>.</summary>
    public void Adopted(IDisposable pin) => _cachePin = pin;

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0 && Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            if (Interlocked.Exchange(ref _cachePin, null) is { } pin)
            {
                pin.Dispose();
            }
            else
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    public void Succeed() => _done.TrySetResult(true);

    public void Abandon() => _done.TrySetResult(false);

    public void Fail(FsException error)
    {
        if (_done.TrySetException(error))
        {
            // Nobody may be waiting: mark the failure observed so it is not reported as an unobserved task exception.
            _ = _done.Task.Exception;
        }
    }
}
