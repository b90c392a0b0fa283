using FtpsMount.Core.Pool;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Core.Tests.Pool;

/// <summary>Keep-alive NOOPs and idle draining, driven by a manual clock (nothing waits for real minutes).</summary>
public sealed class SessionPoolMaintenanceTests : ScriptedPoolTestBase
{
    private readonly FakeTimeProvider _time = new();

    private static PoolSettings MaintenanceSettings(int connections) => Settings(connections) with
    {
        KeepAliveInterval = TimeSpan.FromSeconds(60),
        IdleTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>Opens <paramref name="count"/> sessions at once and returns them all.</summary>
    private async Task OpenIdleSessionsAsync(SessionPool pool, int count)
    {
        var leases = new List<SessionLease>();
        for (var i = 0; i < count; i++)
        {
            leases.Add(await pool.LeaseAsync(SessionUse.Metadata, Ct));
        }

        foreach (var lease in leases)
        {
            await lease.DisposeAsync();
        }

        Assert.Equal(count, pool.Stats.Idle);
    }

    private int Noops => Server.CommandsWithVerb("NOOP").Count;

    [Fact]
    public async Task Idle_sessions_get_a_noop_after_the_keepalive_interval()
    {
        var pool = CreatePool(MaintenanceSettings(2), _time);
        await OpenIdleSessionsAsync(pool, 2);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, Noops); // nothing is due yet (the round that ran found nothing to do)

        _time.Advance(TimeSpan.FromSeconds(35));
        await Eventually.HoldsAsync(() => Noops == 2 && pool.Stats.Idle == 2, "one NOOP per idle session", diagnostics: () => Diagnostics(pool));
        Assert.Equal(2, Server.CommandsWithVerb("NOOP").Select(c => c.ConnectionId).Distinct().Count());
        Assert.Equal(new { Open = 2, Dropped = 0L, Drained = 0L }, new { pool.Stats.Open, pool.Stats.Dropped, pool.Stats.Drained });

        // Sessions just used are not pinged.
        await using (await pool.LeaseAsync(SessionUse.Metadata, Ct))
        {
        }

        Assert.Equal(2, Noops);
    }

    [Fact]
    public async Task A_failed_keepalive_drops_the_session()
    {
        var pool = CreatePool(MaintenanceSettings(2), _time);
        await OpenIdleSessionsAsync(pool, 1);
        Server.Override("NOOP", async ctx =>
        {
            await ctx.CloseConnectionAsync();
            return true;
        });

        _time.Advance(TimeSpan.FromSeconds(61));
        await Eventually.HoldsAsync(() => pool.Stats.Open == 0 && pool.Stats.Dropped == 1, "session dropped", diagnostics: () => Diagnostics(pool));

        Server.RemoveOverride("NOOP");
        await using var lease = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        await lease.Session.NoopAsync(Ct);
        Assert.Equal(2, pool.Stats.Created);
    }

    [Fact]
    public async Task Sessions_idle_too_long_are_drained_down_to_one()
    {
        var pool = CreatePool(MaintenanceSettings(3), _time);
        await OpenIdleSessionsAsync(pool, 3);

        _time.Advance(TimeSpan.FromMinutes(4));
        await Eventually.HoldsAsync(
            () => Server.CommandsWithVerb("NOOP").Select(c => c.ConnectionId).Distinct().Count() == 3 && pool.Stats.Idle == 3,
            "each session kept alive meanwhile", diagnostics: () => Diagnostics(pool));
        Assert.Equal(0, pool.Stats.Drained);

        // Keep-alive NOOPs do not count as use: the sessions drain at 5 minutes after their return.
        _time.Advance(TimeSpan.FromMinutes(1.5));
        await Eventually.HoldsAsync(() => pool.Stats.Drained == 2 && OpenServerConnections == 1, "two of three drained", diagnostics: () => Diagnostics(pool));
        Assert.Equal(2, Server.CommandsWithVerb("QUIT").Count);
        Assert.Equal(new { Open = 1, Dropped = 0L }, new { pool.Stats.Open, pool.Stats.Dropped });

        // The last one stays and is still kept alive.
        var before = Noops;
        _time.Advance(TimeSpan.FromMinutes(10));
        await Eventually.HoldsAsync(() => Noops > before && pool.Stats.Idle == 1, "the remaining session is kept alive", diagnostics: () => Diagnostics(pool));
        Assert.Equal(1, pool.Stats.Open);
    }

    [Fact]
    public async Task A_stale_session_is_checked_before_it_is_leased()
    {
        // When maintenance falls behind (a late timer), a session quiet for longer than the keep-alive interval is
        // NOOP-checked at lease time, and a dead one is replaced without the caller noticing.
        var late = new LateTimers(_time);
        var pool = CreatePool(MaintenanceSettings(2), late);
        await OpenIdleSessionsAsync(pool, 1);
        var closes = 0;
        Server.Override("NOOP", async ctx =>
        {
            if (Interlocked.Increment(ref closes) > 1)
            {
                return false;
            }

            await ctx.CloseConnectionAsync(); // the server had silently dropped it
            return true;
        });

        _time.Advance(TimeSpan.FromSeconds(90)); // the clock moves, the maintenance timer does not run
        await using var lease = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        Assert.NotNull(await lease.Session.GetEntryAsync("/", Ct));
        Assert.Equal(new { Created = 2L, Dropped = 1L, Noops = 1 }, new { pool.Stats.Created, pool.Stats.Dropped, Noops });
    }

    /// <summary>The fake clock's time, but timers that never fire: a maintenance round that is late.</summary>
    private sealed class LateTimers(FakeTimeProvider clock) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => clock.GetUtcNow();
        public override long GetTimestamp() => clock.GetTimestamp();
        public override long TimestampFrequency => clock.TimestampFrequency;
        public override TimeZoneInfo LocalTimeZone => clock.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            clock.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }
}
