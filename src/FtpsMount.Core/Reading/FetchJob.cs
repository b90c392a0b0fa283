using System.Globalization;
using System.Net.Sockets;
using FtpsMount.Core.Caching;
using FtpsMount.Core.Pool;
using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Reading;

/// <summary>
/// One download stream over a contiguous run of blocks of one file version: REST+RETR at the first block, then block
/// after block into the cache, then stop — <see cref="FtpTransfer.CompleteAsync"/> when the run reached the end of the
/// file, <see cref="FtpTransfer.AbortAsync"/> (ABOR, resynchronised with NOOP, session kept where the server allows)
/// otherwise, so a big file is never read further than wanted.
/// <list type="bullet">
/// <item>A <b>random fetch</b> claims exactly the blocks one request is missing and ends after them.</item>
/// <item>A <b>pump</b> (read-ahead of a sequential reader) has claims that grow while its reader advances
/// (<see cref="BlockFetcher"/> extends them up to the reader's read-ahead target) and keeps its one RETR open meanwhile.
/// When it has delivered everything claimed it waits for more, but gives its session back when the reader stays idle
/// (<see cref="BlockFetcher.PumpIdleTimeout"/>), when others wait for a session, or when it is stopped (seek, close).</item>
/// </list>
/// Claims are <see cref="BlockFlight"/>s registered in the fetcher's in-flight map, so readers wait for them instead of
/// starting their own download. Every claim ends: delivered, abandoned (stopped or cancelled: waiters look again) or
/// failed (the error every waiter gets).
/// <para>
/// Retries go through <see cref="SessionPool.ExecuteAsync{T}"/> (a download is idempotent): a transient failure before any
/// block arrived is retried with the pool's back-off and attempt limit; after a failure that followed progress the
/// attempt returns normally and the next one resumes at the first undelivered block with a fresh budget, so a long
/// stream is never failed by the retry deadline measured from its start, and it cannot loop: each resume needs progress.
/// </para>
/// State marked "gate" is guarded by the fetcher's lock.
/// </summary>
internal sealed class FetchJob
{
    private readonly BlockFetcher _fetcher;
    private readonly Queue<BlockFlight> _pending = new(); // gate: claimed, not yet delivered, in file order
    private readonly CancellationTokenSource _stop = new();
    private CancellationTokenRegistration _lifetime;
    private CancellationToken _hard; // the fetcher's lifetime: only disposal interrupts control commands
    private TaskCompletionSource _claimsChanged = BlockFetcher.NewSignal(); // gate
    private int _interest;
    private int _attempts;
    private int _stopRequested;

    public FetchJob(BlockFetcher fetcher, FileKey key, bool isPump, long startBlock, long limitBlock)
    {
        _fetcher = fetcher;
        Key = key;
        IsPump = isPump;
        StartBlock = startBlock;
        NextBlock = startBlock;
        LimitBlock = limitBlock;
    }

    public FileKey Key { get; }
    public bool IsPump { get; }
    public long StartBlock { get; }

    /// <summary>Gate. First block not claimed yet (the end of the claims).</summary>
    public long NextBlock { get; private set; }

    /// <summary>Claims never reach this block (end of file, end of a parallel segment, end of a random request).</summary>
    public long LimitBlock { get; }

    /// <summary>Gate. No further claims: the job ends after delivering what it has.</summary>
    public bool ClaimsClosed { get; private set; }

    /// <summary>Gate. The job ended and released all its claims.</summary>
    public bool Finished { get; private set; }

    /// <summary>Set when the server had fewer bytes than the file version promises.</summary>
    public FsException? FileChanged { get; private set; }

    public Task Completion { get; private set; } = Task.CompletedTask;

    public bool StopRequested => Volatile.Read(ref _stopRequested) != 0;

    /// <summary>Gate. The first undelivered claim.</summary>
    public BlockFlight? HeadLocked => _pending.Count > 0 ? _pending.Peek() : null;

    public int PendingCountLocked => _pending.Count;

    public void EnqueueLocked(BlockFlight flight)
    {
        _pending.Enqueue(flight);
        NextBlock = flight.Index + 1;
    }

    public void CloseClaimsLocked() => ClaimsClosed = true;

    /// <summary>Wakes a pump waiting for more claims (or for a stop).</summary>
    public void PulseLocked()
    {
        var old = _claimsChanged;
        _claimsChanged = BlockFetcher.NewSignal();
        old.TrySetResult();
    }

    public void DequeueLocked(BlockFlight flight)
    {
        if (_pending.Count == 0 || !ReferenceEquals(_pending.Peek(), flight))
        {
            throw new InvalidOperationException($"Block {flight.Index} of {Key} was delivered out of order.");
        }

        _pending.Dequeue();
    }

    /// <summary>Ends the job's bookkeeping: returns the claims still pending (the caller ends them).</summary>
    public List<BlockFlight> FinishLocked()
    {
        ClaimsClosed = true;
        Finished = true;
        var rest = new List<BlockFlight>(_pending);
        _pending.Clear();
        PulseLocked();
        return rest;
    }

    /// <summary>Starts the job on the thread pool. Called under the gate so <see cref="Completion"/> is set before anyone
    /// (dispose) can see the job.</summary>
    public void StartLocked(CancellationToken lifetime)
    {
        _hard = lifetime;
        _lifetime = lifetime.UnsafeRegister(static s => ((FetchJob)s!).RequestStop(), this);
        Completion = Task.Run(RunAsync, CancellationToken.None); // never skipped: it must end its claims
    }

    /// <summary>Stops the job as soon as possible: a wait for a session or for claims ends, a data read is cut and the
    /// transfer aborted (ABOR + NOOP), undelivered claims are abandoned. A control command under way (starting the RETR)
    /// finishes first, so the session stays usable; only disposing the fetcher interrupts commands.</summary>
    public void RequestStop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) == 0)
        {
            // CancelAsync: callbacks (socket reads, delays) run on the thread pool, never inline under a caller's lock.
            _ = _stop.CancelAsync();
        }
    }

    public void AddInterest() => Interlocked.Increment(ref _interest);

    /// <summary>A waiting read is done with this job. When the last one gave up because it was cancelled, a random fetch
    /// is stopped: nobody wants its blocks any more and its session must not stay busy. Pumps belong to their reader and
    /// only stop on a seek, idleness or close.</summary>
    public void DropInterest(bool cancelled)
    {
        if (Interlocked.Decrement(ref _interest) == 0 && cancelled && !IsPump && !StopRequested)
        {
            _fetcher.Counters.FetchCancelled();
            RequestStop();
        }
    }

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        Exception? failure = null;
        try
        {
            while (true)
            {
                var attempt = _fetcher.Pool.ExecuteAsync(SessionUse.Transfer, AttemptAsync, idempotent: true, ct);
                _fetcher.PulseLeaseWanted(); // lets throttled pumps see whether the pool now has waiters
                if (await attempt.ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested || _hard.IsCancellationRequested)
        {
            // Stopped (or the fetcher is being disposed): the claims left are abandoned, their waiters look again.
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            await _lifetime.DisposeAsync().ConfigureAwait(false);
            _fetcher.Finish(this, failure);
        }
    }

    /// <summary>One RETR on a leased session. True: the job is done; false: interrupted after progress, resume.</summary>
    private async Task<bool> AttemptAsync(FtpSession session, CancellationToken ct)
    {
        if (Interlocked.Increment(ref _attempts) > 1)
        {
            _fetcher.Counters.Retry();
        }

        BlockFlight? head;
        lock (_fetcher.Gate)
        {
            head = HeadLocked;
            if (head is null && ClaimsClosed)
            {
                return true;
            }
        }

        if (head is null)
        {
            if (!await WaitForClaimsAsync(ct).ConfigureAwait(false))
            {
                return true;
            }

            lock (_fetcher.Gate)
            {
                head = HeadLocked!;
            }
        }

        FtpTransfer transfer;
        try
        {
            // Not cancelled by a stop (seek, close, cancelled read): a command cut mid-reply costs the whole session.
            // Starting is bounded by the command timeout; the first data read then sees the stop and aborts cleanly.
            transfer = await session.OpenReadAsync(Key.Path, head.Offset, _hard).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            // FtpSession 0.x lets a raw socket error escape when the server resets the data connection while it is being
            // set up (Socket.RemoteEndPoint after the TLS handshake). The RETR's replies may still be unread on the control
            // connection, so report it as the connection failure it is: the pool drops this session and the retry uses a
            // fresh one.
            throw new FtpConnectionException($"RETR {Key.Path}: the data connection failed while starting: {ex.Message}", ex);
        }

        _fetcher.Counters.TransferStarted();
        var position = head.Offset;
        var progressed = false;
        try
        {
            while (true)
            {
                BlockFlight? next;
                lock (_fetcher.Gate)
                {
                    next = HeadLocked;
                    if (next is null && ClaimsClosed)
                    {
                        break;
                    }
                }

                if (next is null)
                {
                    if (!await WaitForClaimsAsync(ct).ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                await FillAsync(transfer, next, position, ct).ConfigureAwait(false);
                position += next.Length;
                _fetcher.Deliver(this, next);
                progressed = true;
            }

            await EndTransferAsync(transfer, position, ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            // Never hand the session back with the transfer open: stop it (ABOR + NOOP resync, bounded by the session's
            // abort timeout; not cancellable, so a cancelled read still leaves a usable session where the server allows).
            var clean = await StopAsync(transfer).ConfigureAwait(false);
            var resume = clean && progressed && ex is not OperationCanceledException && TransientFailure.IsTransient(ex, idempotent: true);
            if (!session.IsUsable || (!resume && ex is not OperationCanceledException && PoolFailures.ShouldDropSession(ex, sessionUsable: true)))
            {
                _fetcher.Counters.SessionLost();
            }

            if (resume)
            {
                _fetcher.Log.Log(FtpLogLevel.Information,
                    $"read {Key.Path}: transfer failed at byte {position.ToString(CultureInfo.InvariantCulture)}, resuming there: {ex.Message}");
                return false;
            }

            if (!clean && ex is not (FtpConnectionException or OperationCanceledException))
            {
                // The session may be out of step: make the pool drop it (and retry, when the failure allows).
                throw new FtpConnectionException($"RETR {Key.Path}: could not stop the transfer cleanly after: {ex.Message}", ex);
            }

            throw;
        }
    }

    /// <summary>Reads one whole block from the transfer into the flight's buffer.</summary>
    private async Task FillAsync(FtpTransfer transfer, BlockFlight flight, long position, CancellationToken ct)
    {
        var buffer = flight.FillBuffer;
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = await transfer.ReadAsync(buffer[filled..], ct).ConfigureAwait(false);
            if (n == 0)
            {
                // End of data before the size we know. A server that failed says so here (426 → retried as transient);
                // 226 means the file really is shorter now: it changed on the server since it was looked up.
                await transfer.CompleteAsync(_hard).ConfigureAwait(false);
                var got = position + filled;
                FileChanged = new FsException(FsError.Io, string.Create(CultureInfo.InvariantCulture,
                    $"Read {Key.Path}: the server sent only {got} bytes of a file known to be {Key.Size} bytes long; it changed on the server (cached data dropped, look it up again)."));
                throw FileChanged;
            }

            filled += n;
            _fetcher.Counters.Downloaded(n);
        }
    }

    /// <summary>Ends a transfer that delivered everything claimed: at the end of the file, read the end (a clean 226
    /// keeps the session without ABOR); before it, stop early.</summary>
    private async Task EndTransferAsync(FtpTransfer transfer, long position, CancellationToken ct)
    {
        if (position >= Key.Size)
        {
            var probe = new byte[1];
            if (await transfer.ReadAsync(probe, ct).ConfigureAwait(false) == 0)
            {
                await transfer.CompleteAsync(_hard).ConfigureAwait(false);
                _fetcher.Counters.TransferCompleted();
                return;
            }

            // The file grew since it was looked up: what we have is what was asked for; the metadata layer notices the
            // new size/mtime and gives the next reader a new file version.
            _fetcher.Log.Log(FtpLogLevel.Debug, $"read {Key.Path}: the server has more than the {Key.Size} bytes known; stopping at them.");
        }

        if (!await StopAsync(transfer).ConfigureAwait(false))
        {
            throw new FtpConnectionException($"RETR {Key.Path}: could not stop the transfer cleanly.");
        }

        _fetcher.Counters.EarlyStop();
    }

    /// <summary>
    /// Stops a transfer early (ABOR, resynchronised with NOOP; bounded by the session's abort timeout and deliberately
    /// not cancellable, so even a cancelled read leaves the session usable where the server allows). False when the
    /// stop itself failed in a way the protocol layer does not report (a raw socket error from a reset data connection):
    /// the session must then not be reused.
    /// </summary>
    private async Task<bool> StopAsync(FtpTransfer transfer)
    {
        try
        {
            await transfer.AbortAsync(CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or FtpException)
        {
            _fetcher.Log.Log(FtpLogLevel.Debug, $"read {Key.Path}: stopping the transfer failed: {ex.Message}");
            return false;
        }
    }

    /// <summary>
    /// A pump that delivered all it claimed waits for its reader to advance. False (claims closed) when the reader stayed
    /// idle for <see cref="BlockFetcher.PumpIdleTimeout"/>, or the pool has waiters while this session idles: a session
    /// is never held by a pump nobody reads from.
    /// </summary>
    private async Task<bool> WaitForClaimsAsync(CancellationToken ct)
    {
        while (true)
        {
            Task claims;
            lock (_fetcher.Gate)
            {
                if (_pending.Count > 0)
                {
                    return true;
                }

                if (ClaimsClosed)
                {
                    return false;
                }

                claims = _claimsChanged.Task;
            }

            var leaseWanted = _fetcher.LeaseWantedSignal;
            if (_fetcher.Pool.Stats.Waiting > 0)
            {
                if (CloseIfNothingPending())
                {
                    _fetcher.Counters.PumpYielded();
                    _fetcher.Log.Log(FtpLogLevel.Debug, $"read {Key.Path}: read-ahead gives its session back, others are waiting for one.");
                    return false;
                }

                continue;
            }

            using var idleCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var idle = Task.Delay(_fetcher.PumpIdleTimeout, _fetcher.Time, idleCts.Token);
            var first = await Task.WhenAny(claims, leaseWanted, idle).ConfigureAwait(false);
            await idleCts.CancelAsync().ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (first == idle && CloseIfNothingPending())
            {
                _fetcher.Counters.PumpStoppedIdle();
                _fetcher.Log.Log(FtpLogLevel.Debug, $"read {Key.Path}: read-ahead idle for {_fetcher.PumpIdleTimeout.TotalSeconds:0.#} s, giving its session back.");
                return false;
            }
        }
    }

    private bool CloseIfNothingPending()
    {
        lock (_fetcher.Gate)
        {
            if (_pending.Count > 0)
            {
                return false;
            }

            ClaimsClosed = true;
            return true;
        }
    }
}
