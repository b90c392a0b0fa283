namespace FtpsMount.Core.Tests;

/// <summary>
/// A manual clock for tests: time moves only when <see cref="Advance"/> (or <see cref="SetUtcNow"/>) is called.
/// Timers created through it (including those behind <c>Task.Delay(TimeSpan, TimeProvider, CancellationToken)</c>
/// and <c>CancellationTokenSource(TimeSpan, TimeProvider)</c>) fire, in due order, while the clock is advanced past
/// their due time. Callbacks run on the advancing thread, outside the internal lock.
/// </summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<FakeTimer> _timers = new();
    private readonly SemaphoreSlim _timerCreated = new(0);
    private DateTimeOffset _now;
    private long _timestamp;
    private long _sequence;

    public FakeTimeProvider()
        : this(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public FakeTimeProvider(DateTimeOffset start) => _now = start;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Timestamps are in <see cref="TimeSpan"/> ticks.</summary>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Timers created and neither fired (one-shot) nor disposed.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.Due is not null);
            }
        }
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _timestamp;
        }
    }

    /// <summary>Waits (bounded by a real-time safety timeout, not a sleep) until <paramref name="count"/> timers are pending.
    /// For code that creates its timer asynchronously, after the test started it.</summary>
    public async Task WaitForPendingTimersAsync(int count, TimeSpan? safety = null)
    {
        var limit = DateTime.UtcNow + (safety ?? TimeSpan.FromSeconds(10));
        while (PendingTimers < count)
        {
            var remaining = limit - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero || !await _timerCreated.WaitAsync(remaining).ConfigureAwait(false))
            {
                throw new TimeoutException($"Expected {count} pending timers, have {PendingTimers}.");
            }
        }
    }

    public void SetUtcNow(DateTimeOffset value)
    {
        var delta = value - GetUtcNow();
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        Advance(delta);
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way, earliest first.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_lock)
        {
            target = _timestamp + delta.Ticks;
        }

        while (true)
        {
            FakeTimer? next = null;
            lock (_lock)
            {
                foreach (var timer in _timers)
                {
                    if (timer.Due is { } candidate && candidate <= target
                        && (next is null || candidate < next.Due || (candidate == next.Due && timer.Sequence < next.Sequence)))
                    {
                        next = timer;
                    }
                }

                if (next is null)
                {
                    // A callback may itself have advanced the clock beyond the target; time never goes back.
                    if (target > _timestamp)
                    {
                        _now += TimeSpan.FromTicks(target - _timestamp);
                        _timestamp = target;
                    }

                    return;
                }

                var due = next.Due!.Value;
                if (due > _timestamp)
                {
                    _now += TimeSpan.FromTicks(due - _timestamp);
                    _timestamp = due;
                }

                next.Due = next.Period is { } period ? due + period : null;
                if (next.Due is null)
                {
                    _timers.Remove(next);
                }
            }

            next.Callback(next.State);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new FakeTimer(this, callback, state);
        lock (_lock)
        {
            timer.Sequence = _sequence++;
            _timers.Add(timer);
            ScheduleLocked(timer, dueTime, period);
        }

        _timerCreated.Release();
        return timer;
    }

    private void ScheduleLocked(FakeTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        timer.Due = dueTime == Timeout.InfiniteTimeSpan ? null : _timestamp + Math.Max(0, dueTime.Ticks);
        timer.Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period.Ticks;
    }

    private bool Change(FakeTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            if (timer.Disposed)
            {
                return false;
            }

            if (!_timers.Contains(timer))
            {
                _timers.Add(timer);
            }

            ScheduleLocked(timer, dueTime, period);
            return true;
        }
    }

    private void Remove(FakeTimer timer)
    {
        lock (_lock)
        {
            timer.Disposed = true;
            timer.Due = null;
            _timers.Remove(timer);
        }
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;
        public object? State { get; } = state;
        public long? Due { get; set; }
        public long? Period { get; set; }
        public long Sequence { get; set; }
        public bool Disposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period) => owner.Change(this, dueTime, period);

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
