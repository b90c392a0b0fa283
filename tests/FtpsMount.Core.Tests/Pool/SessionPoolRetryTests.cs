using FtpsMount.Core.Pool;
using FtpsMount.Protocol;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Core.Tests.Pool;

/// <summary>ExecuteAsync's retry rules and the pool's reaction to 421 at login, against the scripted server.</summary>
public sealed class SessionPoolRetryTests : ScriptedPoolTestBase
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Server.FileSystem.AddFile("/a.txt", "hello");
    }

    [Fact]
    public async Task An_idempotent_operation_is_retried_on_a_fresh_session_after_the_control_connection_drops()
    {
        var pool = CreatePool(Settings(2));
        await using (await pool.LeaseAsync(SessionUse.Metadata, Ct))
        {
        }

        Server.Options.DropControlAfterCommand = "MLST";
        var entry = await pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.GetEntryAsync("/a.txt", ct), idempotent: true, Ct);

        Assert.Equal(5, entry!.Size);
        var stats = pool.Stats;
        Assert.Equal(new { Retries = 1L, Dropped = 1L, Created = 2L, Open = 1 }, new { stats.Retries, stats.Dropped, stats.Created, stats.Open });
        Assert.Equal(2, Server.CommandsWithVerb("MLST").Count);
        Assert.True(Log.Contains(FtpLogLevel.Information, "retrying"), Log.ToString());
    }

    [Fact]
    public async Task A_non_idempotent_operation_is_not_retried_once_its_command_may_have_been_sent()
    {
        var pool = CreatePool(Settings(2));
        Server.Options.DropControlAfterCommand = "MKD";

        await Assert.ThrowsAsync<FtpConnectionException>(() =>
            pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.MakeDirectoryAsync("/d", ct), idempotent: false, Ct));

        Assert.Single(Server.CommandsWithVerb("MKD"));
        Assert.Equal(new { Retries = 0L, Dropped = 1L, Open = 0 }, new { pool.Stats.Retries, pool.Stats.Dropped, pool.Stats.Open });
    }

    [Fact]
    public async Task A_non_idempotent_operation_is_retried_when_connecting_failed()
    {
        var greetings = 0;
        Server.Override(ScriptedFtpServer.GreetingVerb, async ctx =>
        {
            if (Interlocked.Increment(ref greetings) > 1)
            {
                return false;
            }

            await ctx.ResetConnectionAsync(); // the first connection dies before the greeting
            return true;
        });
        var pool = CreatePool(Settings(2));

        var created = await pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.MakeDirectoryAsync("/d", ct), idempotent: false, Ct);

        Assert.Equal("/d", created);
        Assert.True(Server.FileSystem.DirectoryExists("/d"));
        Assert.Single(Server.CommandsWithVerb("MKD"));
        Assert.Equal(1, pool.Stats.Retries);
    }

    [Fact]
    public async Task Permanent_failures_are_not_retried_and_keep_the_session()
    {
        var pool = CreatePool(Settings(2));
        await Assert.ThrowsAsync<FtpReplyException>(() =>
            pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.GetSizeAsync("/missing", ct), idempotent: true, Ct));

        Assert.Equal(new { Retries = 0L, Dropped = 0L, Idle = 1 }, new { pool.Stats.Retries, pool.Stats.Dropped, pool.Stats.Idle });
    }

    [Fact]
    public async Task A_transient_reply_on_a_usable_session_is_retried_without_dropping_it()
    {
        var sizes = 0;
        Server.Override("SIZE", async ctx =>
        {
            if (Interlocked.Increment(ref sizes) > 1)
            {
                return false;
            }

            await ctx.ReplyAsync(450, "File busy, try later.");
            return true;
        });
        var pool = CreatePool(Settings(2));

        Assert.Equal(5, await pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.GetSizeAsync("/a.txt", ct), idempotent: true, Ct));
        Assert.Equal(new { Retries = 1L, Dropped = 0L, Created = 1L }, new { pool.Stats.Retries, pool.Stats.Dropped, pool.Stats.Created });
    }

    [Fact]
    public async Task Retries_stop_after_the_maximum_attempts()
    {
        var pool = CreatePool(Settings(2) with { Retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(10) } });
        Server.Override("SIZE", async ctx =>
        {
            await ctx.ReplyAsync(421, "Service not available, closing control connection.");
            await ctx.CloseConnectionAsync();
            return true;
        });

        await Assert.ThrowsAnyAsync<FtpException>(() =>
            pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.GetSizeAsync("/a.txt", ct), idempotent: true, Ct));

        Assert.Equal(3, Server.CommandsWithVerb("SIZE").Count);
        Assert.Equal(new { Retries = 2L, Dropped = 3L }, new { pool.Stats.Retries, pool.Stats.Dropped });
    }

    [Fact]
    public async Task Login_refusals_and_certificate_rejections_are_not_retried()
    {
        var pool = new SessionPool(Options(), new FtpCredentials("test", "wrong"), Settings(2), Log);
        await using (pool)
        {
            await Assert.ThrowsAsync<FtpAuthenticationException>(() =>
                pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.GetSizeAsync("/a.txt", ct), idempotent: true, Ct));
            Assert.Equal(0, pool.Stats.Retries);
            Assert.Equal(0, pool.Stats.Connecting);
            Assert.Equal(0, pool.Stats.InUse);
        }
    }

    [Fact]
    public async Task Too_many_connections_at_login_lowers_the_limit_and_waiters_use_the_sessions_that_exist()
    {
        const int serverMax = 2;
        Server.Override(ScriptedFtpServer.GreetingVerb, async ctx =>
        {
            if (OpenServerConnections <= serverMax)
            {
                return false;
            }

            // vsftpd max_per_ip answers the greeting like this and closes.
            await ctx.SendLineAsync("421 There are too many connections from your internet address.");
            await ctx.CloseConnectionAsync();
            return true;
        });
        var pool = CreatePool(Settings(4));
        var a = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        var b = await pool.LeaseAsync(SessionUse.Metadata, Ct);

        var c = pool.LeaseAsync(SessionUse.Metadata, Ct);
        await Eventually.HoldsAsync(() => pool.Stats.Limit == serverMax, "limit lowered to the sessions that exist", diagnostics: () => Diagnostics(pool));
        await Eventually.HoldsAsync(() => pool.Stats.Waiting == 1, "the refused caller waits for an existing session", diagnostics: () => Diagnostics(pool));
        Assert.True(Log.Contains(FtpLogLevel.Warning, "refused a new connection"), Log.ToString());

        var reused = a.Session;
        await a.DisposeAsync();
        await using (var lease = await c.WaitAsync(TimeSpan.FromSeconds(20), Ct))
        {
            Assert.Same(reused, lease.Session);
        }

        // More demand does not hammer the server: within the lowered limit, callers queue.
        var d = pool.LeaseAsync(SessionUse.Metadata, Ct);
        var e = pool.LeaseAsync(SessionUse.Metadata, Ct);
        await using (await d.WaitAsync(TimeSpan.FromSeconds(20), Ct))
        {
            Assert.Equal(1, pool.Stats.Waiting);
        }

        await (await e.WaitAsync(TimeSpan.FromSeconds(20), Ct)).DisposeAsync();
        await b.DisposeAsync();
        Assert.Equal(2, pool.Stats.Created);
        Assert.Equal(serverMax, pool.Stats.Limit);
    }

    [Fact]
    public async Task Too_many_connections_with_no_session_open_backs_off_and_retries()
    {
        var greetings = 0;
        Server.Override(ScriptedFtpServer.GreetingVerb, async ctx =>
        {
            if (Interlocked.Increment(ref greetings) > 1)
            {
                return false;
            }

            // pure-ftpd's wording.
            await ctx.SendLineAsync("421 Too many connections (8) from this IP");
            await ctx.CloseConnectionAsync();
            return true;
        });
        var pool = CreatePool(Settings(4));

        Assert.Equal(5, await pool.ExecuteAsync(SessionUse.Metadata, (s, ct) => s.GetSizeAsync("/a.txt", ct), idempotent: true, Ct));

        Assert.Equal(1, pool.Stats.Limit); // never below one
        Assert.Equal(1, pool.Stats.Retries);
        Assert.True(Log.Contains(FtpLogLevel.Warning, "using at most 1 connection"), Log.ToString());
    }

    [Fact]
    public async Task The_lowered_limit_is_lifted_after_the_hold_time()
    {
        var time = new FakeTimeProvider();
        var greetings = 0;
        Server.Override(ScriptedFtpServer.GreetingVerb, async ctx =>
        {
            if (Interlocked.Increment(ref greetings) != 2)
            {
                return false;
            }

            await ctx.SendLineAsync("421 There are too many connected users, please try later.");
            await ctx.CloseConnectionAsync();
            return true;
        });
        var settings = Settings(3) with { TooManyConnectionsHold = TimeSpan.FromMinutes(2), Retry = new RetryOptions { BaseDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero } };
        var pool = CreatePool(settings, time);
        var a = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        var b = pool.LeaseAsync(SessionUse.Metadata, Ct); // refused at login, waits for a
        await Eventually.HoldsAsync(() => pool.Stats.Limit == 1 && pool.Stats.Waiting == 1, "limit lowered to 1", diagnostics: () => Diagnostics(pool));

        time.Advance(TimeSpan.FromMinutes(3));
        await a.DisposeAsync(); // any pool activity re-checks the hold
        await (await b.WaitAsync(TimeSpan.FromSeconds(20), Ct)).DisposeAsync();
        Assert.Equal(3, pool.Stats.Limit);
        Assert.True(Log.Contains(FtpLogLevel.Information, "up to 3 connection(s) again"), Log.ToString());
    }
}
