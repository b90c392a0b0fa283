using System.Globalization;
using FtpsMount.Core.Caching;
using FtpsMount.Core.Errors;
using FtpsMount.Core.Pool;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Reading;

/// <summary>
/// The read path of one mount: serves reads from the <see cref="BlockCache"/> and fetches missing blocks with REST+RETR
/// over the <see cref="SessionPool"/>. One per mount; one <see cref="FileReader"/> per open file handle.
/// <list type="bullet">
/// <item><b>Random reads</b> fetch only the blocks they need: one RETR per contiguous run of missing blocks, stopped with
/// ABOR after the run's last byte (or completed normally when the run ends at the end of the file).</item>
/// <item><b>Sequential reads</b> (<see cref="ReadPattern"/>; also a handle's first read at offset 0, the usual start of
/// a whole-file read) are streamed by a <i>pump</i>: one long RETR that fills blocks ahead of the reader up to its
/// read-ahead window, which grows from <see cref="CacheOptions.ReadAheadInitial"/> to <see cref="CacheOptions.ReadAheadMax"/>.
/// The pump stops when the reader seeks elsewhere, is closed, or stays idle (<see cref="PumpIdleTimeout"/>), and gives its
/// session back early when the pool has waiters while it has nothing to do.</item>
/// <item><b>Parallel ranges</b>: a file of at least <see cref="CacheOptions.ParallelRangeThreshold"/> bytes read sequentially
/// is fetched by up to three pumps at once (never more than the pool's transfer sessions), each streaming one segment of
/// <see cref="CacheOptions.ReadAheadMax"/> bytes; the window is multiplied by the number of lanes. Each segment returns its
/// session to the pool when done, so other files get their turn.</item>
/// <item>Every block being fetched has one <see cref="BlockFlight"/> in a map keyed by (<see cref="FileKey"/>, block):
/// concurrent requests for it share that download, and its failure reaches all of them as the same
/// <see cref="FsException"/> (<see cref="FtpErrorMapper"/>, <see cref="FsOperation.Read"/>, the path).</item>
/// </list>
/// Memory stays bounded: a pump never claims beyond its reader's window (capped at half the cache's memory budget without
/// a disk tier), only blocks being filled hold a buffer outside the cache, and the cache keeps its own budget.
/// <para>Lock order: a reader's lock, then <see cref="Gate"/>, then the cache's lock. No lock is held across an await.</para>
/// </summary>
public sealed class BlockFetcher : IAsyncDisposable
{
    /// <summary>Most pumps one reader runs at once in parallel-range mode.</summary>
    internal const int MaxParallelRanges = 3;

    private readonly Dictionary<(FileKey Key, long Block), BlockFlight> _flights = new();
    private readonly HashSet<FetchJob> _jobs = new();
    private readonly CancellationTokenSource _lifetime = new();
    private TaskCompletionSource _leaseWanted = NewSignal();
    private bool _disposed;

    public BlockFetcher(SessionPool pool, BlockCache cache, CacheOptions options, IFtpLogger? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Pool = pool;
        Cache = cache;
        Options = options;
        Log = log ?? NullFtpLogger.Instance;
        Time = time ?? TimeProvider.System;
        BlockSize = cache.BlockSize;

        var settings = pool.Settings;
        var transferSessions = settings.ReserveMetadataSession && settings.Connections >= 2 ? settings.Connections - 1 : settings.Connections;
        ParallelLanes = Math.Clamp(transferSessions, 1, MaxParallelRanges);
        SegmentBlocks = Math.Max(1, (options.ReadAheadMax + BlockSize - 1) / BlockSize);
        // Without a disk tier, read-ahead beyond half the memory budget would be evicted before it is read.
        WindowCap = cache.DiskDirectory is null ? Math.Max(BlockSize, cache.MemoryBudgetBytes / 2) : long.MaxValue;
    }

    /// <summary>What the read path has done so far.</summary>
    public ReadStatistics Statistics => Counters.Snapshot();

    /// <summary>A pump whose reader asked for nothing new for this long gives its session back (its RETR is aborted;
    /// the next sequential read starts a new one). Settable for tests.</summary>
    internal TimeSpan PumpIdleTimeout { get; set; } = TimeSpan.FromSeconds(5);

    internal SessionPool Pool { get; }
    internal BlockCache Cache { get; }
    internal CacheOptions Options { get; }
    internal IFtpLogger Log { get; }
    internal TimeProvider Time { get; }
    internal int BlockSize { get; }
    internal ReadCounters Counters { get; } = new();

    /// <summary>Guards the in-flight map and every job's claims.</summary>
    internal Lock Gate { get; } = new();

    /// <summary>Pumps per sequential reader of a large file (1 when the pool has a single transfer session).</summary>
    internal int ParallelLanes { get; }

    /// <summary>Length of one parallel-range segment, in blocks.</summary>
    internal long SegmentBlocks { get; }

    internal long WindowCap { get; }

    /// <summary>Completes (and is replaced) whenever a fetch asks the pool for a session.</summary>
    internal Task LeaseWantedSignal
    {
        get
        {
            lock (Gate)
            {
                return _leaseWanted.Task;
            }
        }
    }

    /// <summary>A reader for one open handle of <paramref name="key"/> (the file version the handle was opened on).</summary>
    public FileReader OpenReader(FileKey key)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }

        return new FileReader(this, key);
    }

    /// <summary>Stops every fetch (transfers aborted, sessions returned to the pool) and waits for them. The pool and
    /// the cache are not owned and stay as they are.</summary>
    public async ValueTask DisposeAsync()
    {
        FetchJob[] jobs;
        lock (Gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            jobs = [.. _jobs];
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(jobs.Select(j => j.Completion)).ConfigureAwait(false);
        _lifetime.Dispose();
    }

    internal static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void PulseLeaseWanted()
    {
        TaskCompletionSource old;
        lock (Gate)
        {
            old = _leaseWanted;
            _leaseWanted = NewSignal();
        }

        old.TrySetResult();
    }

    /// <summary>
    /// The flight to wait on for <paramref name="block"/>, with a reference taken for the caller: an existing one (joined),
    /// or the first of a new random fetch claiming the missing run <paramref name="block"/>..<paramref name="lastBlock"/>
    /// (stopping at the first block cached or already in flight). Null when the block is cached now: read the cache again.
    /// </summary>
    internal BlockFlight? AcquireFlight(FileKey key, long block, long lastBlock)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_flights.TryGetValue((key, block), out var existing))
            {
                existing.AddRef();
                Counters.Joined();
                return existing;
            }

            if (Cache.Contains(key, block))
            {
                return null;
            }

            var job = new FetchJob(this, key, isPump: false, block, lastBlock + 1);
            ClaimLocked(job, lastBlock + 1);
            job.CloseClaimsLocked();
            var flight = job.HeadLocked!;
            flight.AddRef();
            _jobs.Add(job);
            Counters.RandomFetch();
            job.StartLocked(_lifetime.Token);
            return flight;
        }
    }

    /// <summary>
    /// Read-ahead for a sequential request [<paramref name="offset"/>, +<paramref name="length"/>) of a reader whose
    /// running pumps are <paramref name="pumps"/> (pruned here): extends their claims to the new target, then starts pumps
    /// at the first blocks neither cached nor in flight until the reader has its lanes. Called under the reader's lock.
    /// </summary>
    internal void AdvancePumps(FileKey key, List<FetchJob> pumps, long offset, int length, long window)
    {
        var parallel = ParallelLanes > 1 && key.Size >= Options.ParallelRangeThreshold;
        var lanes = parallel ? ParallelLanes : 1;
        var ahead = Math.Min(window * lanes, WindowCap);
        var target = Math.Min(key.Size, offset + length + ahead);
        var targetBlock = (target + BlockSize - 1) / BlockSize;
        var totalBlocks = (key.Size + BlockSize - 1) / BlockSize;
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            pumps.RemoveAll(p => p.Finished);
            foreach (var pump in pumps)
            {
                ClaimLocked(pump, targetBlock);
            }

            var from = offset / BlockSize;
            while (pumps.Count < lanes)
            {
                var start = FirstUnclaimedLocked(key, from, targetBlock);
                if (start < 0)
                {
                    break;
                }

                var limit = parallel ? Math.Min(totalBlocks, start + SegmentBlocks) : totalBlocks;
                var job = new FetchJob(this, key, isPump: true, start, limit);
                ClaimLocked(job, targetBlock);
                if (job.PendingCountLocked == 0)
                {
                    break;
                }

                Counters.PumpStarted(parallel: pumps.Count > 0);
                if (Log.IsEnabled(FtpLogLevel.Debug))
                {
                    Log.Log(FtpLogLevel.Debug, string.Create(CultureInfo.InvariantCulture,
                        $"read {key.Path}: read-ahead from byte {start * BlockSize} ({(parallel ? $"segment of {(limit - start) * BlockSize} bytes, lane {pumps.Count + 1} of {lanes}" : "to the end")})."));
                }

                pumps.Add(job);
                _jobs.Add(job);
                job.StartLocked(_lifetime.Token);
                from = job.NextBlock;
            }
        }
    }

    /// <summary>Called by a job that delivered a whole block: into the cache first, then out of the in-flight map, so a
    /// reader always finds the block in one of the two.</summary>
    internal void Deliver(FetchJob job, BlockFlight flight)
    {
        // The cache takes the downloaded array itself (no 256 KiB copy per block, no second array per block in memory).
        // When it does not keep it (already cached, or no memory tier) the flight keeps and later returns it.
        if (Cache.Adopt(job.Key, flight.Index, flight.FilledArray!, streamed: job.IsPump) is { } pin)
        {
            flight.Adopted(pin);
        }

        lock (Gate)
        {
            job.DequeueLocked(flight);
            RemoveFlightLocked(job.Key, flight);
        }

        Counters.BlockFetched();
        flight.Succeed();
        flight.Release();
    }

    /// <summary>Called once by every job when it ends: its remaining claims are abandoned (stopped) or failed (with the
    /// mapped error). A file found shorter than its known size, missing, or refusing the restart offset has its cached
    /// blocks dropped.</summary>
    internal void Finish(FetchJob job, Exception? failure)
    {
        List<BlockFlight> rest;
        lock (Gate)
        {
            rest = job.FinishLocked();
            foreach (var flight in rest)
            {
                RemoveFlightLocked(job.Key, flight);
            }

            _jobs.Remove(job);
        }

        FsException? error = null;
        if (failure is not null)
        {
            error = job.FileChanged ?? FtpErrorMapper.ToFsException(failure, FsOperation.Read, job.Key.Path);
            if (job.FileChanged is not null || error.Error == FsError.NotFound || failure is FtpReplyException { Code: 554 })
            {
                Counters.FileChanged();
                Cache.Invalidate(job.Key.Path);
            }

            Counters.FetchFailed();
            Log.Log(FtpLogLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                $"read {job.Key.Path}: fetch from byte {job.StartBlock * BlockSize} failed ({rest.Count} block(s) not delivered): {error.Message}"));
        }

        foreach (var flight in rest)
        {
            if (error is null)
            {
                flight.Abandon();
            }
            else
            {
                flight.Fail(error);
            }

            flight.Release();
        }
    }

    /// <summary>Claims blocks for <paramref name="job"/> from its end up to <paramref name="toBlock"/> (and its limit).
    /// A block already cached or in flight closes the job's claims: it ends there rather than download it twice.</summary>
    private void ClaimLocked(FetchJob job, long toBlock)
    {
        var end = Math.Min(toBlock, job.LimitBlock);
        var added = false;
        while (!job.ClaimsClosed && job.NextBlock < end)
        {
            var block = job.NextBlock;
            if (_flights.ContainsKey((job.Key, block)) || Cache.Contains(job.Key, block))
            {
                job.CloseClaimsLocked();
                break;
            }

            var flight = new BlockFlight(job, block, block * BlockSize, Cache.BlockLength(job.Key, block));
            _flights.Add((job.Key, block), flight);
            job.EnqueueLocked(flight);
            added = true;
        }

        if (job.NextBlock >= job.LimitBlock)
        {
            job.CloseClaimsLocked();
        }

        if (added)
        {
            job.PulseLocked();
        }
    }

    /// <summary>First block in [from, to) neither cached nor in flight, or -1.</summary>
    private long FirstUnclaimedLocked(FileKey key, long from, long to)
    {
        var end = Math.Min(key.Size, to * BlockSize);
        if (from >= to || from * BlockSize >= end)
        {
            return -1;
        }

        foreach (var gap in Cache.MissingRanges(key, new ByteRange(from * BlockSize, end)))
        {
            for (var block = gap.Start / BlockSize; block * BlockSize < gap.End; block++)
            {
                if (!_flights.ContainsKey((key, block)))
                {
                    return block;
                }
            }
        }

        return -1;
    }

    private void RemoveFlightLocked(FileKey key, BlockFlight flight)
    {
        if (_flights.TryGetValue((key, flight.Index), out var current) && ReferenceEquals(current, flight))
        {
            _flights.Remove((key, flight.Index));
        }
    }
}
