using FtpsMount.Protocol;

namespace FtpsMount.Core.Pool;

public sealed partial class SessionPool
{
    private readonly CancellationTokenSource _disposing = new();
    private readonly ITimer? _maintenanceTimer;
    private int _maintaining;
    private int _maintenancePending;
    private Task _maintenance = Task.CompletedTask;
    private TaskCompletionSource? _disposeDone;

    private ITimer? StartMaintenanceTimer()
    {
        var intervals = new[] { _settings.KeepAliveInterval, _settings.IdleTimeout }.Where(PoolSettings.IsEnabled).ToList();
        if (intervals.Count == 0)
        {
            return null;
        }

        // A quarter of the shortest interval: a NOOP goes out at most 25 % late, and the timer stays cheap.
        var tick = TimeSpan.FromTicks(Math.Clamp(intervals.Min().Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(15).Ticks));
        return _time.CreateTimer(static state => ((SessionPool)state!).OnMaintenanceTick(), this, tick, tick);
    }

    private void OnMaintenanceTick()
    {
        // A tick during a running round is not lost: the round runs once more when it ends.
        Volatile.Write(ref _maintenancePending, 1);
        StartMaintenanceIfIdle();
    }

    private void StartMaintenanceIfIdle()
    {
        if (Interlocked.CompareExchange(ref _maintaining, 1, 0) != 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                Volatile.Write(ref _maintaining, 0);
                return;
            }

            _maintenance = Task.Run(MaintenanceLoopAsync);
        }
    }

    private async Task MaintenanceLoopAsync()
    {
        try
        {
            while (Interlocked.Exchange(ref _maintenancePending, 0) == 1)
            {
                await MaintainAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _maintaining, 0);
        }

        if (Volatile.Read(ref _maintenancePending) == 1)
        {
            StartMaintenanceIfIdle(); // a tick arrived between the last check and the release
        }
    }

    /// <summary>
    /// One maintenance round: close sessions idle longer than <see cref="PoolSettings.IdleTimeout"/> (oldest first,
    /// keeping one open), then NOOP the idle ones quiet for <see cref="PoolSettings.KeepAliveInterval"/>. A session being
    /// pinged is out of the idle list, so no lease can get it meanwhile.
    /// </summary>
    private async Task MaintainAsync()
    {
        try
        {
            var drain = new List<PooledSession>();
            var ping = new List<PooledSession>();
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                PumpLocked(); // also ends a lowered limit whose time is up
                var now = _time.GetUtcNow();
                if (PoolSettings.IsEnabled(_settings.IdleTimeout))
                {
                    for (var i = 0; i < _idle.Count;)
                    {
                        var entry = _idle[i];
                        if (now - entry.IdleSince >= _settings.IdleTimeout && _all.Count > MinimumOpenSessions)
                        {
                            _idle.RemoveAt(i);
                            _all.Remove(entry);
                            _drained++;
                            drain.Add(entry);
                        }
                        else
                        {
                            i++;
                        }
                    }
                }

                if (PoolSettings.IsEnabled(_settings.KeepAliveInterval))
                {
                    for (var i = 0; i < _idle.Count;)
                    {
                        var entry = _idle[i];
                        if (now - entry.Session.LastUsed >= _settings.KeepAliveInterval)
                        {
                            _idle.RemoveAt(i);
                            ping.Add(entry);
                        }
                        else
                        {
                            i++;
                        }
                    }
                }

                if (drain.Count + ping.Count > 0)
                {
                    PulseLocked();
                }
            }

            var work = new List<Task>(drain.Count + ping.Count);
            foreach (var entry in drain)
            {
                _log.Log(FtpLogLevel.Debug, $"pool {_name}: closing session #{entry.Id}, idle for {_settings.IdleTimeout.TotalSeconds:0} s.");
                work.Add(CloseAsync(entry));
            }

            work.AddRange(ping.Select(KeepAliveAsync));
            await Task.WhenAll(work).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a timer callback must not throw; every step logs its own failures
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.Log(FtpLogLevel.Warning, $"pool {_name}: maintenance failed: {ex}");
        }
    }

    private async Task KeepAliveAsync(PooledSession entry)
    {
        try
        {
            await entry.Session.NoopAsync(_disposing.Token).ConfigureAwait(false);
            lock (_lock)
            {
                if (!_disposed)
                {
                    // Back in IdleSince order: the NOOP does not make it "recently used" for draining.
                    var index = _idle.FindLastIndex(e => e.IdleSince <= entry.IdleSince) + 1;
                    _idle.Insert(index, entry);
                    PumpLocked();
                    PulseLocked();
                    return;
                }

                _all.Remove(entry);
            }
        }
        catch (Exception ex) when (ex is FtpException or IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            lock (_lock)
            {
                if (_all.Remove(entry) && !_disposed)
                {
                    _dropped++;
                }

                PulseLocked();
            }

            if (!_disposing.IsCancellationRequested)
            {
                _log.Log(FtpLogLevel.Debug, $"pool {_name}: keep-alive NOOP failed on session #{entry.Id}, dropping it: {ex.Message}");
            }
        }

        await CloseAsync(entry).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops maintenance, fails queued waiters with <see cref="ObjectDisposedException"/>, closes idle sessions (QUIT),
    /// waits up to <see cref="PoolSettings.DisposeWait"/> for leases to come back (each is closed as it returns), then
    /// closes what is still out under its holder, and releases the TLS engine. Safe to call more than once.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var existing = Interlocked.CompareExchange(ref _disposeDone, done, null);
        if (existing is not null)
        {
            await existing.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            await DisposeCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            done.TrySetResult();
        }
    }

    private async Task DisposeCoreAsync()
    {
        List<Waiter> waiters;
        Task maintenance;
        lock (_lock)
        {
            _disposed = true;
            waiters = [.. _waiters];
            foreach (var waiter in waiters)
            {
                waiter.Node = null;
            }

            _waiters.Clear();
            maintenance = _maintenance;
            PulseLocked();
        }

        foreach (var waiter in waiters)
        {
            waiter.Grant.TrySetException(new ObjectDisposedException(nameof(SessionPool), "The session pool was disposed while waiting for a session."));
        }

        _maintenanceTimer?.Dispose();
        await _disposing.CancelAsync().ConfigureAwait(false);
        await maintenance.ConfigureAwait(false);

        List<PooledSession> idle;
        lock (_lock)
        {
            idle = [.. _idle];
            _idle.Clear();
            foreach (var entry in idle)
            {
                _all.Remove(entry);
            }
        }

        await Task.WhenAll(idle.Select(CloseAsync)).ConfigureAwait(false);

        var returned = await WaitForAsync(() => _leased == 0, _settings.DisposeWait).ConfigureAwait(false);
        if (!returned)
        {
            List<PooledSession> stuck;
            lock (_lock)
            {
                stuck = [.. _all];
                _all.Clear();
            }

            _log.Log(FtpLogLevel.Warning,
                $"pool {_name}: {stuck.Count} session(s) still leased after {_settings.DisposeWait.TotalSeconds:0.#} s; closing them under their holders.");
            await Task.WhenAll(stuck.Select(CloseAsync)).ConfigureAwait(false);
        }

        var closed = await WaitForAsync(() => _slots == 0, _settings.DisposeWait).ConfigureAwait(false);
        if (returned && closed)
        {
            _tls?.Dispose();
            _disposing.Dispose();
        }
        else
        {
            // A holder may still be inside a TLS call; freeing the engine under it is worse than leaving it to the finalizers.
            _log.Log(FtpLogLevel.Warning, $"pool {_name}: not every connection was closed in time; the TLS engine is left to the garbage collector.");
        }

        _log.Log(FtpLogLevel.Debug, $"pool {_name}: disposed ({Interlocked.Read(ref _created)} session(s) opened in its lifetime).");
    }

    /// <summary>Waits until <paramref name="condition"/> (evaluated under the lock) holds, or the bound passes.</summary>
    private async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan bound)
    {
        var deadline = _time.GetUtcNow() + bound;
        while (true)
        {
            Task signal;
            lock (_lock)
            {
                if (condition())
                {
                    return true;
                }

                signal = _changed.Task;
            }

            var remaining = deadline - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await signal.WaitAsync(remaining, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // re-check once more, then give up
            }
        }
    }
}
