using System.Security.Cryptography;
using FtpsMount.Core.Pool;
using FtpsMount.Protocol;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Core.Tests.Pool;

/// <summary>Leasing, limits, fairness, dropping and disposal against the in-process scripted FTPS server.</summary>
public sealed class SessionPoolTests : ScriptedPoolTestBase
{
    private const string BigFile = "/big.bin";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Server.FileSystem.AddFile("/a.txt", "hello");
        Server.FileSystem.AddFile(BigFile, RandomNumberGenerator.GetBytes(512 * 1024));
    }

    [Fact]
    public async Task Nothing_connects_before_the_first_lease_and_a_returned_session_is_reused()
    {
        var pool = CreatePool(Settings(4));
        Assert.Empty(Server.Connections);
        Assert.Equal(0, pool.Stats.Open);

        FtpSession first;
        await using (var lease = await pool.LeaseAsync(SessionUse.Metadata, Ct))
        {
            first = lease.Session;
            Assert.NotNull(await lease.Session.GetEntryAsync("/a.txt", Ct));
            Assert.Equal(1, pool.Stats.InUse);
        }

        Assert.Equal(new { Open = 1, InUse = 0, Idle = 1 }, new { pool.Stats.Open, pool.Stats.InUse, pool.Stats.Idle });
        await using (var lease = await pool.LeaseAsync(SessionUse.Transfer, Ct))
        {
            Assert.Same(first, lease.Session);
        }

        Assert.Equal(1, pool.Stats.Created);
        Assert.Single(Server.Connections);
    }

    [Fact]
    public async Task A_returned_lease_no_longer_hands_out_its_session()
    {
        var pool = CreatePool(Settings(2));
        var lease = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        await lease.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => lease.Session);
        await lease.DisposeAsync(); // twice is harmless
        Assert.Equal(0, pool.Stats.InUse);
        Assert.Equal(1, pool.Stats.Idle);
    }

    [Fact]
    public async Task Never_more_than_N_control_connections_under_load()
    {
        const int n = 3;
        var maxOpen = 0;
        Server.Override(ScriptedFtpServer.AnyVerb, async ctx =>
        {
            var open = OpenServerConnections;
            InterlockedMax(ref maxOpen, open);
            await ctx.DelayAsync(TimeSpan.FromMilliseconds(2)); // widen the overlap between operations
            return false;
        });
        var pool = CreatePool(Settings(n));
        var maxInUse = 0;

        var work = Enumerable.Range(0, 40).Select(i => pool.ExecuteAsync(i % 3 == 0 ? SessionUse.Transfer : SessionUse.Metadata, async (s, ct) =>
        {
            InterlockedMax(ref maxInUse, pool.Stats.InUse);
            return i % 2 == 0 ? (await s.GetEntryAsync("/a.txt", ct))!.Size : (await s.ListAsync("/", ct)).Entries.Count;
        }, idempotent: true, Ct)).ToList();
        await Task.WhenAll(work);

        Assert.True(maxOpen <= n, $"server saw {maxOpen} control connections at once");
        Assert.True(maxInUse <= n, $"{maxInUse} leases at once");
        Assert.Equal(n, pool.Stats.Created); // the first N callers each opened one; all others reused them
        Assert.Equal(n, Server.Connections.Count);
        Assert.Empty(Server.UnexpectedErrors);
    }

    [Fact]
    public async Task Metadata_is_not_starved_by_long_transfers()
    {
        const int n = 3;
        Server.Options.StallDataAfterBytes = 64 * 1024; // RETRs stay open until the client stops them
        var pool = CreatePool(Settings(n));

        // N transfer requests: N-1 get sessions and start long RETRs, the last one must wait.
        var transfers = new List<(SessionLease Lease, FtpTransfer Transfer)>();
        for (var i = 0; i < n - 1; i++)
        {
            var lease = await pool.LeaseAsync(SessionUse.Transfer, Ct);
            var transfer = await lease.Session.OpenReadAsync(BigFile, 0, Ct);
            Assert.True(await transfer.ReadAsync(new byte[4096], Ct) > 0);
            transfers.Add((lease, transfer));
        }

        var lastTransfer = pool.LeaseAsync(SessionUse.Transfer, Ct);
        await Eventually.HoldsAsync(() => pool.Stats.Waiting == 1, "the N-th transfer queues", diagnostics: () => Diagnostics(pool));

        await using (var metadata = await pool.LeaseAsync(SessionUse.Metadata, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct))
        {
            Assert.Equal(512 * 1024, (await metadata.Session.GetEntryAsync(BigFile, Ct))!.Size);
        }

        Assert.False(lastTransfer.IsCompleted, "the reserved session went to a transfer");
        Assert.Equal(1, pool.Stats.Waiting);

        // A transfer that ends frees its session for the waiting transfer.
        await transfers[0].Transfer.AbortAsync(Ct);
        await transfers[0].Lease.DisposeAsync();
        await using (var third = await lastTransfer.WaitAsync(TimeSpan.FromSeconds(20), Ct))
        {
            Assert.Equal(SessionUse.Transfer, third.Use);
        }

        await transfers[1].Transfer.AbortAsync(Ct);
        await transfers[1].Lease.DisposeAsync();
        Assert.Equal(n, pool.Stats.Created);
        Assert.Equal(0, pool.Stats.Dropped);
    }

    [Fact]
    public async Task Without_the_reservation_transfers_may_take_every_session()
    {
        var pool = CreatePool(Settings(2) with { ReserveMetadataSession = false });
        await using var a = await pool.LeaseAsync(SessionUse.Transfer, Ct);
        await using var b = await pool.LeaseAsync(SessionUse.Transfer, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.Equal(2, pool.Stats.InUse);
    }

    [Fact]
    public async Task With_one_connection_transfers_are_not_locked_out()
    {
        var pool = CreatePool(Settings(1));
        await using var lease = await pool.LeaseAsync(SessionUse.Transfer, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.Equal(1, pool.Stats.InUse);
    }

    [Fact]
    public async Task Waiters_are_served_in_arrival_order()
    {
        var pool = CreatePool(Settings(1));
        var holder = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        var order = new List<int>();
        var waiters = new List<Task>();
        for (var i = 0; i < 6; i++)
        {
            var index = i;
            waiters.Add(Task.Run(async () =>
            {
                await using var lease = await pool.LeaseAsync(index % 2 == 0 ? SessionUse.Metadata : SessionUse.Transfer, Ct);
                lock (order)
                {
                    order.Add(index);
                }
            }, Ct));
            await Eventually.HoldsAsync(() => pool.Stats.Waiting == index + 1, $"waiter {index} queued");
        }

        await holder.DisposeAsync();
        await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.Equal([0, 1, 2, 3, 4, 5], order);
        Assert.Equal(1, pool.Stats.Created);
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_and_leaks_nothing()
    {
        var pool = CreatePool(Settings(1));
        var holder = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        using var cts = new CancellationTokenSource();
        var cancelled = pool.LeaseAsync(SessionUse.Metadata, cts.Token);
        var patient = pool.LeaseAsync(SessionUse.Metadata, Ct);
        await Eventually.HoldsAsync(() => pool.Stats.Waiting == 2, "two waiters queued");

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, pool.Stats.Waiting);

        await holder.DisposeAsync();
        await using (var lease = await patient.WaitAsync(TimeSpan.FromSeconds(20), Ct))
        {
            Assert.NotNull(await lease.Session.GetEntryAsync("/a.txt", Ct));
        }

        Assert.Equal(new { Open = 1, InUse = 0, Waiting = 0, Idle = 1, Created = 1L },
            new { pool.Stats.Open, pool.Stats.InUse, pool.Stats.Waiting, pool.Stats.Idle, pool.Stats.Created });
    }

    [Fact]
    public async Task Cancellations_racing_grants_never_lose_a_session()
    {
        const int n = 2;
        var pool = CreatePool(Settings(n));
        var tasks = Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(TimeSpan.FromMilliseconds(i % 7 * 3));
            try
            {
                await using var lease = await pool.LeaseAsync(i % 3 == 0 ? SessionUse.Transfer : SessionUse.Metadata, cts.Token);
                await lease.Session.NoopAsync(Ct);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
            }
        }, Ct)).ToList();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60), Ct);

        var stats = pool.Stats;
        Assert.Equal(0, stats.InUse);
        Assert.Equal(0, stats.Waiting);
        Assert.Equal(0, stats.Connecting);
        Assert.Equal(stats.Open, stats.Idle);
        Assert.InRange(stats.Open, 0, n);

        // Every slot is still usable: N leases at once succeed.
        var leases = new List<SessionLease>();
        for (var i = 0; i < n; i++)
        {
            leases.Add(await pool.LeaseAsync(SessionUse.Metadata, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));
        }

        foreach (var lease in leases)
        {
            await lease.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_broken_session_is_dropped_and_replaced()
    {
        var pool = CreatePool(Settings(2));
        Server.Override("NOOP", async ctx =>
        {
            await ctx.CloseConnectionAsync();
            return true;
        });

        FtpSession broken;
        await using (var lease = await pool.LeaseAsync(SessionUse.Metadata, Ct))
        {
            broken = lease.Session;
            await Assert.ThrowsAnyAsync<FtpException>(() => lease.Session.NoopAsync(Ct));
            Assert.False(lease.Session.IsUsable);
        }

        Assert.Equal(new { Open = 0, Dropped = 1L }, new { pool.Stats.Open, pool.Stats.Dropped });
        Server.RemoveOverride("NOOP");

        await using (var lease = await pool.LeaseAsync(SessionUse.Metadata, Ct))
        {
            Assert.NotSame(broken, lease.Session);
            await lease.Session.NoopAsync(Ct);
        }

        Assert.Equal(2, pool.Stats.Created);
    }

    [Fact]
    public async Task A_lease_marked_failed_is_closed_with_quit()
    {
        var pool = CreatePool(Settings(2));
        await using (var lease = await pool.LeaseAsync(SessionUse.Metadata, Ct))
        {
            lease.Fail(new InvalidDataException("checksum mismatch"));
        }

        Assert.Equal(new { Open = 0, Dropped = 1L }, new { pool.Stats.Open, pool.Stats.Dropped });
        Assert.Single(Server.CommandsWithVerb("QUIT"));
        await Eventually.HoldsAsync(() => OpenServerConnections == 0, "server sees the connection closed");
    }

    [Fact]
    public async Task A_session_returned_with_an_open_transfer_is_dropped_not_reused()
    {
        Server.Options.StallDataAfterBytes = 64 * 1024;
        var pool = CreatePool(Settings(2));
        var lease = await pool.LeaseAsync(SessionUse.Transfer, Ct);
        var busy = lease.Session;
        var transfer = await busy.OpenReadAsync(BigFile, 0, Ct);
        Assert.True(await transfer.ReadAsync(new byte[1024], Ct) > 0);

        await lease.DisposeAsync(); // caller bug: the transfer is still open
        Assert.Equal(new { Open = 0, Dropped = 1L }, new { pool.Stats.Open, pool.Stats.Dropped });
        try
        {
            await transfer.DisposeAsync();
        }
        catch (Exception ex) when (ex is FtpException or ObjectDisposedException or IOException)
        {
            // its session was closed under it; that is the point
        }

        await using var next = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        Assert.NotSame(busy, next.Session);
        Assert.NotNull(await next.Session.GetEntryAsync("/a.txt", Ct));
    }

    [Fact]
    public async Task Dispose_fails_waiters_waits_for_leases_and_quits_every_session()
    {
        var pool = CreatePool(Settings(2));
        var a = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        var b = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        var waiter = pool.LeaseAsync(SessionUse.Metadata, Ct);
        await Eventually.HoldsAsync(() => pool.Stats.Waiting == 1, "waiter queued");

        var disposing = pool.DisposeAsync().AsTask();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiter);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pool.LeaseAsync(SessionUse.Metadata, Ct));
        Assert.False(disposing.IsCompleted, "dispose waits for outstanding leases");

        await a.Session.NoopAsync(Ct); // still usable by its holder until returned
        await a.DisposeAsync();
        await b.DisposeAsync();
        await disposing.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        Assert.Equal(2, Server.CommandsWithVerb("QUIT").Count);
        await Eventually.HoldsAsync(() => OpenServerConnections == 0, "all control connections closed");
        Assert.Equal(0, pool.Stats.Open);
        await pool.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task Dispose_is_bounded_when_a_lease_never_comes_back()
    {
        var pool = CreatePool(Settings(2) with { DisposeWait = TimeSpan.FromMilliseconds(200) });
        await using (await pool.LeaseAsync(SessionUse.Metadata, Ct))
        {
        }

        var forgotten = await pool.LeaseAsync(SessionUse.Metadata, Ct);
        Assert.Equal(1, pool.Stats.Created);
        await pool.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), Ct);
        await Eventually.HoldsAsync(() => OpenServerConnections == 0, "the stuck session was closed too");
        Assert.True(Log.Contains(FtpLogLevel.Warning, "still leased"), Log.ToString());

        await forgotten.DisposeAsync(); // late return: no error, no double bookkeeping
        Assert.Equal(0, pool.Stats.InUse);
    }

    [Fact]
    public async Task Dispose_of_an_unused_pool_connects_nothing()
    {
        var pool = CreatePool(Settings(4));
        await pool.DisposeAsync();
        Assert.Empty(Server.Connections);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
