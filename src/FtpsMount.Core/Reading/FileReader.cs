using FtpsMount.Core.Caching;

namespace FtpsMount.Core.Reading;

/// <summary>
/// Reads of one open file handle, for the file version (<see cref="Key"/>) it was opened on. Detects sequential access
/// (<see cref="ReadPattern"/>) and drives its read-ahead pumps; serves every request from the cache, from fetches under
/// way (shared with other readers), or by starting a fetch of the blocks it is missing. See <see cref="BlockFetcher"/>.
/// Thread-safe: the FUSE loop may issue concurrent reads on one handle.
/// </summary>
public sealed class FileReader : IAsyncDisposable
{
    private readonly BlockFetcher _fetcher;
    private readonly Lock _lock = new();
    private readonly ReadPattern _pattern;
    private readonly List<FetchJob> _pumps = new();   // running read-ahead of the current sequential run
    private readonly List<FetchJob> _stopped = new(); // stopped pumps still winding down (awaited by dispose)
    private bool _disposed;

    internal FileReader(BlockFetcher fetcher, FileKey key)
    {
        _fetcher = fetcher;
        Key = key;
        _pattern = new ReadPattern(fetcher.Options.ReadAheadInitial, fetcher.Options.ReadAheadMax);
    }

    public FileKey Key { get; }

    /// <summary>
    /// Reads up to buffer.Length bytes at offset (fewer only at EOF per Key.Size; 0 at/after EOF). Thread-safe: the FUSE
    /// loop may call concurrently for one handle.
    /// </summary>
    /// <exception cref="FsException">A fetch failed (the mapped error, naming the path), or the server had fewer bytes
    /// than <see cref="FileKey.Size"/> (<see cref="FsError.Io"/>; the path's cached blocks are dropped).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled. A fetch only this read waited
    /// for is stopped (its transfer aborted, its session returned).</exception>
    /// <exception cref="ObjectDisposedException">The reader or its fetcher was disposed.</exception>
    public async Task<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ct.ThrowIfCancellationRequested();
        if (buffer.IsEmpty || offset >= Key.Size)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
            return 0;
        }

        var length = (int)Math.Min(buffer.Length, Key.Size - offset);
        Schedule(offset, length);
        await ServeAsync(offset, buffer[..length], ct).ConfigureAwait(false);
        return length;
    }

    /// <summary>Stops this reader's read-ahead (transfers aborted, sessions returned) and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        List<FetchJob> jobs;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            jobs = [.. _pumps, .. _stopped];
            _pumps.Clear();
            _stopped.Clear();
        }

        foreach (var job in jobs)
        {
            job.RequestStop();
        }

        await Task.WhenAll(jobs.Select(j => j.Completion)).ConfigureAwait(false);
    }

    /// <summary>Feeds the request to the pattern detector and adjusts the read-ahead: a sequential run extends or starts
    /// pumps; a seek stops them.</summary>
    private void Schedule(long offset, int length)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var firstRequest = _pattern.Frontier < 0;
            var advice = _pattern.Observe(offset, length);
            long window;
            if (advice.Mode == ReadMode.Sequential)
            {
                window = advice.PrefetchBytes;
            }
            else if (firstRequest && offset == 0)
            {
                // A handle's first read at offset 0 is how whole-file reads (cp, cat, players) start: stream from the
                // start rather than fetch the first block alone and open a second RETR for the rest a moment later.
                // If the next request seeks elsewhere the pump is stopped; if none comes it idles out or closes with the handle.
                window = _fetcher.Options.ReadAheadInitial;
            }
            else
            {
                StopPumpsLocked();
                return;
            }

            _stopped.RemoveAll(j => j.Completion.IsCompleted);
            _fetcher.AdvancePumps(Key, _pumps, offset, length, window);
        }
    }

    private void StopPumpsLocked()
    {
        _stopped.RemoveAll(j => j.Completion.IsCompleted);
        foreach (var pump in _pumps)
        {
            if (!pump.Completion.IsCompleted)
            {
                _fetcher.Counters.PumpStoppedBySeek();
                pump.RequestStop();
                _stopped.Add(pump);
            }
        }

        _pumps.Clear();
    }

    private async Task ServeAsync(long offset, Memory<byte> destination, CancellationToken ct)
    {
        var blockSize = _fetcher.BlockSize;
        var lastBlock = (offset + destination.Length - 1) / blockSize;
        var done = 0;
        while (done < destination.Length)
        {
            ct.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
            var position = offset + done;
            var copied = _fetcher.Cache.Read(Key, position, destination.Span[done..]);
            if (copied > 0)
            {
                done += copied;
                continue;
            }

            var flight = _fetcher.AcquireFlight(Key, position / blockSize, lastBlock);
            if (flight is not null)
            {
                done += await CopyFromFlightAsync(flight, position, destination[done..], ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for a flight (a reference to it is held) and copies from it; 0 when it was abandoned.</summary>
    private static async Task<int> CopyFromFlightAsync(BlockFlight flight, long position, Memory<byte> destination, CancellationToken ct)
    {
        var job = flight.Job;
        job.AddInterest();
        var cancelled = false;
        try
        {
            if (!await flight.Task.WaitAsync(ct).ConfigureAwait(false))
            {
                return 0;
            }

            var inBlock = (int)(position - flight.Offset);
            var count = Math.Min(flight.Length - inBlock, destination.Length);
            flight.Data.Slice(inBlock, count).CopyTo(destination.Span);
            return count;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            cancelled = true;
            throw;
        }
        finally
        {
            job.DropInterest(cancelled);
            flight.Release();
        }
    }
}
