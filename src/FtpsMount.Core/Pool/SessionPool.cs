using System.Net.Sockets;
using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Core.Pool;

/// <summary>
/// A bounded pool of authenticated <see cref="FtpSession"/>s to one server, for one mount.
/// <list type="bullet">
/// <item>Lazy: nothing connects until the first lease. At most <see cref="PoolSettings.Connections"/> sessions exist,
/// counting those being opened; opening happens outside the lock, by the caller that needs the session.</item>
/// <item>One <see cref="ITlsEngine"/> for all sessions; each session keeps its own TLS session, which its data
/// connections resume.</item>
/// <item>Waiters are served in arrival order, skipping transfer waiters while transfers hold their share (N-1 with
/// <see cref="PoolSettings.ReserveMetadataSession"/>), so metadata is never stuck behind long transfers. A cancelled
/// waiter leaves the queue.</item>
/// <item>A session returned unusable, failed (<see cref="SessionLease.Fail"/>) or still busy with a transfer is closed
/// and its slot freed; the next waiter opens a fresh one.</item>
/// <item>421 at login lowers the limit (never below 1) for <see cref="PoolSettings.TooManyConnectionsHold"/> and
/// delays the next connect; a caller that hit it waits for an existing session when there is one.</item>
/// <item>A timer (from the <see cref="TimeProvider"/>) sends keep-alive NOOPs and closes sessions idle too long.</item>
/// </list>
/// One lock guards all bookkeeping and is never held across an await.
/// </summary>
public sealed partial class SessionPool : IAsyncDisposable
{
    /// <summary>Idle draining never closes the last open session.</summary>
    private const int MinimumOpenSessions = 1;

    private readonly FtpsOptions _options;
    private readonly FtpCredentials _credentials;
    private readonly PoolSettings _settings;
    private readonly IFtpLogger _log;
    private readonly TimeProvider _time;
    private readonly ITlsEngine? _tls;
    private readonly string _name;
    private readonly RetryPolicy _retry;
    private readonly Lock _lock = new();

    // ---- guarded by _lock ----
    /// <summary>Idle sessions ordered by <see cref="PooledSession.IdleSince"/>; leases take the newest (last).</summary>
    private readonly List<PooledSession> _idle = [];
    /// <summary>Every established session the pool is responsible for (idle, leased, being pinged).</summary>
    private readonly HashSet<PooledSession> _all = [];
    /// <summary>Queued callers in arrival order.</summary>
    private readonly LinkedList<Waiter> _waiters = new();
    /// <summary>Slots taken: established + connecting + closing (a slot is freed once its connection is closed).</summary>
    private int _slots;
    private int _connecting;
    /// <summary>Granted leases not yet returned (including those whose session is still being opened).</summary>
    private int _leased;
    private int _leasedForTransfer;
    private int _reducedLimit;
    private DateTimeOffset _reducedUntil;
    private DateTimeOffset _connectNotBefore;
    private int _tooManyStreak;
    private long _arrivals;
    private long _nextSessionId;
    private long _created;
    private long _dropped;
    private long _drained;
    private bool _disposed;
    private TaskCompletionSource _changed = NewSignal();

    private long _retries; // interlocked (the retry policy reports from any thread)

    public SessionPool(FtpsOptions options, FtpCredentials credentials, PoolSettings? settings = null, IFtpLogger? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(credentials);
        settings ??= new PoolSettings();
        settings.Validate();
        _options = options;
        _credentials = credentials;
        _settings = settings;
        _log = log ?? NullFtpLogger.Instance;
        _time = time ?? TimeProvider.System;
        _name = $"{options.Host}:{options.EffectivePort}";
        _retry = CreateRetryPolicy();
        if (options.Mode != FtpsMode.Plaintext)
        {
            // One engine and one verifier (keyed host:port, as the known-hosts file names the server) for every session.
            var verifier = new CertificateVerifier(options.Tls.Trust, _name, _log, _time);
            _tls = TlsEngineFactory.Create(options.Tls, verifier);
        }

        _maintenanceTimer = StartMaintenanceTimer();
    }

    public PoolSettings Settings => _settings;

    /// <summary>The TLS backend shared by the sessions (e.g. "OpenSSL 3.0.x"), or null for plain FTP.</summary>
    public string? TlsEngineName => _tls?.Name;

    public SessionPoolStats Stats
    {
        get
        {
            lock (_lock)
            {
                return new SessionPoolStats(
                    Open: _all.Count,
                    InUse: _leased - _connecting,
                    Waiting: _waiters.Count,
                    Connecting: _connecting,
                    Idle: _idle.Count,
                    Limit: EffectiveLimitLocked(),
                    Created: _created,
                    Dropped: _dropped,
                    Drained: _drained,
                    Retries: Interlocked.Read(ref _retries));
            }
        }
    }

    /// <summary>
    /// Waits (fairly, cancellably) for a session suited to <paramref name="use"/>, opening one when the pool is below its
    /// limit. The caller must dispose the lease, after completing or aborting any transfer opened on it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The pool is (being) disposed.</exception>
    /// <exception cref="FtpException">Opening a session failed (connection, TLS, login...).</exception>
    public async Task<SessionLease> LeaseAsync(SessionUse use, CancellationToken cancellationToken = default)
    {
        if (use is not (SessionUse.Metadata or SessionUse.Transfer))
        {
            throw new ArgumentOutOfRangeException(nameof(use), use, "Unknown session use.");
        }

        long arrival;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            arrival = ++_arrivals;
        }

        // Loops only to go back into the queue at the original place: after a stale idle session failed its NOOP check,
        // or after 421 at login while other sessions exist that will come free.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var waiter = new Waiter(use, arrival);
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                EnqueueLocked(waiter);
                PumpLocked();
            }

            PooledSession? granted;
            using (cancellationToken.Register(static state =>
            {
                var (pool, queued) = ((SessionPool, Waiter))state!;
                pool.CancelWaiter(queued);
            }, (this, waiter)))
            {
                granted = await waiter.Grant.Task.ConfigureAwait(false);
            }

            if (granted is not null)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    await ReturnAsync(granted, use, failure: null).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (await CheckStaleAsync(granted, use, cancellationToken).ConfigureAwait(false))
                {
                    return new SessionLease(this, granted, use);
                }

                continue;
            }

            PooledSession? opened;
            try
            {
                opened = await OpenAsync(use, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (!OnOpenFailed(ex, use, cancellationToken))
                {
                    throw;
                }

                continue;
            }

            return opened is not null
                ? new SessionLease(this, opened, use)
                : throw new ObjectDisposedException(nameof(SessionPool), "The session pool was disposed while a session was being opened.");
        }
    }

    /// <summary>Opens a session into a slot granted to the caller; on success it is registered as leased. Returns null when
    /// the pool was disposed meanwhile (the new session has then been closed again). Throws with the slot still taken
    /// (the caller frees it in <see cref="OnOpenFailed"/>).</summary>
    private async Task<PooledSession?> OpenAsync(SessionUse use, CancellationToken cancellationToken)
    {
        DateTimeOffset notBefore;
        long id;
        lock (_lock)
        {
            notBefore = _connectNotBefore;
            id = ++_nextSessionId;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        var wait = notBefore - _time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            _log.Log(FtpLogLevel.Debug, $"pool {_name}: session #{id} waits {wait.TotalSeconds:0.##} s before connecting (server said too many connections).");
            await DelayAsync(wait, linked.Token, cancellationToken).ConfigureAwait(false);
        }

        using var timeout = PoolSettings.IsEnabled(_settings.ConnectTimeout) ? new CancellationTokenSource(_settings.ConnectTimeout, _time) : new CancellationTokenSource();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(linked.Token, timeout.Token);
        FtpSession session;
        try
        {
            session = await FtpSession.ConnectAsync(_options, _credentials, _tls, _log, _time, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _disposing.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(SessionPool), "The session pool was disposed while a session was being opened.");
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new FtpTimeoutException($"Opening a session to {_name} (connect, TLS, login) did not finish within {_settings.ConnectTimeout.TotalSeconds:0.#} s.", ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // A TLS handshake cut by a reset surfaces as the engine's raw I/O error: report it as the connection failure it is.
            throw new FtpConnectionException($"Opening a session to {_name} failed: {ex.Message}", ex);
        }

        var entry = new PooledSession(session, id);
        bool disposed;
        lock (_lock)
        {
            _connecting--;
            disposed = _disposed;
            if (!disposed)
            {
                _all.Add(entry);
                _created++;
                _tooManyStreak = 0;
            }

            PulseLocked();
        }

        if (disposed)
        {
            await ReturnAsync(entry, use, failure: null).ConfigureAwait(false);
            return null;
        }

        _log.Log(FtpLogLevel.Debug, $"pool {_name}: session #{id} open ({session.Security.Method}, {session.Security.Tls?.Protocol ?? "no TLS"}).");
        return entry;
    }

    /// <summary>Frees the slot of a failed open. Returns true when the caller should queue again instead of failing:
    /// the server refused with "too many connections" but other sessions exist and will come free.</summary>
    private bool OnOpenFailed(Exception ex, SessionUse use, CancellationToken cancellationToken)
    {
        var tooMany = PoolFailures.IsTooManyConnections(ex);
        bool requeue;
        lock (_lock)
        {
            _slots--;
            _connecting--;
            ReleaseLeaseLocked(use);
            requeue = false;
            if (tooMany)
            {
                var established = _all.Count;
                var now = _time.GetUtcNow();
                _tooManyStreak++;
                var backoff = _retry.GetDelay(Math.Min(_tooManyStreak, 30));
                _connectNotBefore = now + backoff;
                _reducedUntil = now + _settings.TooManyConnectionsHold;
                var lowered = Math.Max(1, established);
                if (lowered < EffectiveLimitLocked())
                {
                    _reducedLimit = lowered;
                }

                _log.Log(FtpLogLevel.Warning,
                    $"pool {_name}: the server refused a new connection ({ex.Message}); using at most {EffectiveLimitLocked()} connection(s) " +
                    $"for {_settings.TooManyConnectionsHold.TotalSeconds:0} s and waiting {backoff.TotalSeconds:0.##} s before the next connect.");
                requeue = established > 0 && !_disposed && !cancellationToken.IsCancellationRequested;
            }

            PumpLocked();
            PulseLocked();
        }

        if (!tooMany)
        {
            _log.Log(FtpLogLevel.Debug, $"pool {_name}: opening a session failed: {ex.Message}");
        }

        return requeue;
    }

    /// <summary>
    /// A session idle for longer than the keep-alive interval (the maintenance timer did not get to it) may have been
    /// dropped by the server or a NAT box: NOOP it before handing it out, so even a non-idempotent operation starts on a
    /// live connection. Returns false after dropping it (the caller queues again).
    /// </summary>
    private async Task<bool> CheckStaleAsync(PooledSession entry, SessionUse use, CancellationToken cancellationToken)
    {
        if (!PoolSettings.IsEnabled(_settings.KeepAliveInterval) || _time.GetUtcNow() - entry.Session.LastUsed < _settings.KeepAliveInterval)
        {
            return true;
        }

        try
        {
            await entry.Session.NoopAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is FtpException or IOException or InvalidOperationException or OperationCanceledException)
        {
            await ReturnAsync(entry, use, ex).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return false;
        }
    }

    /// <summary>Takes a session back from a lease: to the idle list, to the next waiter, or closed.</summary>
    internal async ValueTask ReturnAsync(PooledSession entry, SessionUse use, Exception? failure)
    {
        var session = entry.Session;
        var busy = failure is null && session.IsUsable && session.IsBusy;
        string? dropReason = failure is not null ? "marked failed: " + failure.Message
            : !session.IsUsable ? "unusable: " + session.UnusableReason
            : busy ? "returned with an operation or transfer still open (a caller bug: complete or abort transfers before returning the lease)"
            : null;
        lock (_lock)
        {
            ReleaseLeaseLocked(use);

            if (dropReason is null && !_disposed && Volatile.Read(ref entry.Closing) == 0)
            {
                entry.IdleSince = _time.GetUtcNow();
                _idle.Add(entry);
                PumpLocked();
                PulseLocked();
                return;
            }

            if (dropReason is not null && _all.Contains(entry))
            {
                _dropped++;
            }

            _all.Remove(entry);
            PulseLocked();
        }

        if (dropReason is not null)
        {
            _log.Log(busy ? FtpLogLevel.Warning : FtpLogLevel.Debug, $"pool {_name}: dropping session #{entry.Id}: {dropReason}");
        }

        await CloseAsync(entry).ConfigureAwait(false);
    }

    /// <summary>Closes a session (QUIT when it can) and then frees its slot; exactly once per session.</summary>
    private async Task CloseAsync(PooledSession entry)
    {
        if (Interlocked.Exchange(ref entry.Closing, 1) != 0)
        {
            return;
        }

        try
        {
            await entry.Session.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // closing is best effort; the slot must be freed whatever happened
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.Log(FtpLogLevel.Debug, $"pool {_name}: closing session #{entry.Id}: {ex.Message}");
        }
        finally
        {
            lock (_lock)
            {
                _slots--;
                PumpLocked();
                PulseLocked();
            }
        }
    }

    // ---- queue ----------------------------------------------------------------------------------------------------

    private sealed class Waiter(SessionUse use, long arrival)
    {
        public SessionUse Use { get; } = use;
        public long Arrival { get; } = arrival;

        /// <summary>Result: an idle session, or null for "a slot is yours: open a session".</summary>
        public TaskCompletionSource<PooledSession?> Grant { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }

    private void EnqueueLocked(Waiter waiter)
    {
        // By arrival: a caller queueing again (after a failed NOOP check or a 421) keeps its place.
        var node = _waiters.Last;
        while (node is not null && node.Value.Arrival > waiter.Arrival)
        {
            node = node.Previous;
        }

        waiter.Node = node is null ? _waiters.AddFirst(waiter) : _waiters.AddAfter(node, waiter);
    }

    private void CancelWaiter(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node is null)
            {
                return; // already granted (the caller gives it back) or failed
            }

            _waiters.Remove(waiter.Node);
            waiter.Node = null;
            waiter.Grant.TrySetCanceled();
            PumpLocked();
            PulseLocked();
        }
    }

    /// <summary>
    /// Hands free sessions and free slots to waiters, oldest first. A transfer waiter is skipped (not blocking those
    /// behind it) while transfers hold their maximum share; metadata waiters may take any session.
    /// </summary>
    private void PumpLocked()
    {
        if (_disposed)
        {
            return;
        }

        if (_reducedLimit > 0 && _time.GetUtcNow() >= _reducedUntil)
        {
            _reducedLimit = 0;
            _log.Log(FtpLogLevel.Information, $"pool {_name}: trying up to {_settings.Connections} connection(s) again.");
        }

        var limit = EffectiveLimitLocked();
        var node = _waiters.First;
        while (node is not null)
        {
            var next = node.Next;
            var waiter = node.Value;
            if (waiter.Use == SessionUse.Transfer && !TransferMayLeaseLocked(limit))
            {
                node = next;
                continue;
            }

            PooledSession? grant;
            if (_idle.Count > 0)
            {
                grant = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
            }
            else if (_slots < limit)
            {
                grant = null;
                _slots++;
                _connecting++;
            }
            else
            {
                return;
            }

            _waiters.Remove(node);
            waiter.Node = null;
            _leased++;
            if (waiter.Use == SessionUse.Transfer)
            {
                _leasedForTransfer++;
            }

            waiter.Grant.TrySetResult(grant);
            node = next;
        }
    }

    private bool TransferMayLeaseLocked(int limit) =>
        !(_settings.ReserveMetadataSession && limit >= 2) || _leasedForTransfer < limit - 1;

    private int EffectiveLimitLocked() => _reducedLimit > 0 ? Math.Min(_reducedLimit, _settings.Connections) : _settings.Connections;

    private void ReleaseLeaseLocked(SessionUse use)
    {
        _leased--;
        if (use == SessionUse.Transfer)
        {
            _leasedForTransfer--;
        }
    }

    /// <summary>Wakes <see cref="WaitForAsync"/> (used by dispose to wait for leases and closes).</summary>
    private void PulseLocked()
    {
        var old = _changed;
        _changed = NewSignal();
        old.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits on the pool's clock; cancellation by disposal (not by the caller) surfaces as ObjectDisposedException.</summary>
    private async Task DelayAsync(TimeSpan delay, CancellationToken token, CancellationToken callerToken)
    {
        try
        {
            await Task.Delay(delay, _time, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!callerToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(SessionPool), "The session pool was disposed.");
        }
    }
}
