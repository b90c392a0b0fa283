using FtpsMount.Core.Caching;
using FtpsMount.Core.Tests.Pool;

namespace FtpsMount.Core.Tests.Reading;

/// <summary>Cancellation, seeks, idleness and disposal: no read path ever keeps a session it does not use.</summary>
public sealed class FileReaderLifecycleTests : ReadingTestBase
{
    private const int Chunk = 128 * 1024;

    /// <summary>Small read-ahead so a sequential pump soon waits for its reader, holding its RETR open.</summary>
    private static CacheOptions SmallWindow => new() { BlockSize = Block, ReadAheadInitial = Block, ReadAheadMax = 4 * Block };

    [Fact]
    public async Task Cancelling_a_read_aborts_its_fetch_and_keeps_the_session()
    {
        var source = ReadData.Create(2 * 1024 * 1024, seed: 20);
        var key = AddFile("/stall.bin", source);
        var (pool, _, fetcher) = CreateFetcher();
        var reader = Open(fetcher, key);
        Server.Options.StallDataAfterBytes = 10_000; // the RETR sends a little, then nothing until stopped

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var read = reader.ReadAsync(300_000, new byte[4096], cts.Token);
        await Server.WaitUntilAsync(() => Server.DataConnections.Any(d => d.BytesSent >= 10_000), what: "the stalled RETR");
        Assert.False(read.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);

        await Eventually.HoldsAsync(() => pool.Stats.InUse == 0 && fetcher.Statistics.FetchesCancelled == 1,
            "the cancelled fetch returned its session", diagnostics: () => Diagnostics(pool, fetcher));
        Assert.Single(Server.CommandsWithVerb("ABOR"));
        Assert.Equal(0, pool.Stats.Dropped);
        Assert.Equal(0, fetcher.Statistics.FetchesFailed);

        // The same session serves the next read.
        Server.Options.StallDataAfterBytes = null;
        await ReadData.ReadAndCheckAsync(reader, source, 300_000, 4096, Ct);
        Assert.Equal(1, pool.Stats.Created);
        Assert.Single(Server.Connections);
    }

    [Fact]
    public async Task A_cancelled_read_does_not_stop_a_fetch_another_read_still_waits_for()
    {
        var source = ReadData.Create(1024 * 1024, seed: 21);
        var key = AddFile("/two.bin", source);
        var (_, _, fetcher) = CreateFetcher();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.Override("RETR", async _ =>
        {
            await gate.Task;
            return false;
        });

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var first = Open(fetcher, key).ReadAsync(200_000, new byte[100], cts.Token);
        var second = ReadData.ReadAndCheckAsync(Open(fetcher, key), source, 200_500, 100, Ct);
        await Eventually.HoldsAsync(() => fetcher.Statistics.JoinedFetches == 1, "the second read joins the fetch");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        gate.SetResult();
        await second;

        Assert.Equal(0, fetcher.Statistics.FetchesCancelled);
        Assert.Single(Retrs("/two.bin"));
    }

    [Fact]
    public async Task Disposing_a_reader_stops_its_pump_and_returns_the_session()
    {
        var source = ReadData.Create(4 * 1024 * 1024, seed: 22);
        var key = AddFile("/pump.bin", source);
        var (pool, _, fetcher) = CreateFetcher(SmallWindow);
        var reader = fetcher.OpenReader(key);
        for (var i = 0; i < 4; i++)
        {
            await ReadData.ReadAndCheckAsync(reader, source, i * (long)Chunk, Chunk, Ct);
        }

        // The pump filled its window and holds its RETR open, waiting for the reader.
        Assert.Equal(1, pool.Stats.InUse);
        Assert.Single(Retrs("/pump.bin"));

        await reader.DisposeAsync();
        Assert.Equal(0, pool.Stats.InUse);
        Assert.Single(Server.CommandsWithVerb("ABOR"));
        Assert.Equal(0, pool.Stats.Dropped);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => reader.ReadAsync(0, new byte[10], Ct));
        Assert.True(fetcher.Statistics.BlocksFetched < source.Length / Block, "the pump read the whole file although the window is small");
    }

    [Fact]
    public async Task An_idle_pump_gives_its_session_back_and_a_later_read_streams_again()
    {
        var source = ReadData.Create(4 * 1024 * 1024, seed: 23);
        var key = AddFile("/idle.bin", source);
        var clock = new FakeTimeProvider();
        var (pool, _, fetcher) = CreateFetcher(SmallWindow, time: clock);
        var reader = Open(fetcher, key);
        for (var i = 0; i < 4; i++)
        {
            await ReadData.ReadAndCheckAsync(reader, source, i * (long)Chunk, Chunk, Ct);
        }

        // Only the pump uses the fake clock (its idle wait). Time passes without reads: it gives its session back.
        await clock.WaitForPendingTimersAsync(1);
        Assert.Equal(1, pool.Stats.InUse);
        await Eventually.HoldsAsync(() =>
        {
            clock.Advance(fetcher.PumpIdleTimeout);
            return pool.Stats.InUse == 0;
        }, "the idle pump returned its session", diagnostics: () => Diagnostics(pool, fetcher));
        Assert.Equal(1, fetcher.Statistics.PumpsStoppedIdle);
        Assert.Single(Server.CommandsWithVerb("ABOR"));

        // The reader comes back: a new stream from where it is, and the bytes are right.
        for (var i = 4; i < 12; i++)
        {
            await ReadData.ReadAndCheckAsync(reader, source, i * (long)Chunk, Chunk, Ct);
        }

        var offsets = RetrOffsets("/idle.bin");
        Assert.Equal(2, offsets.Count);
        Assert.Equal(0, offsets[0]);
        Assert.InRange(offsets[1], 4 * Chunk, 4 * Chunk + 4 * Block);
        Assert.Equal(0, pool.Stats.Dropped);
    }

    [Fact]
    public async Task A_seek_stops_the_pump_and_fetches_only_the_new_place()
    {
        var source = ReadData.Create(4 * 1024 * 1024, seed: 24);
        var key = AddFile("/seek.bin", source);
        var (pool, _, fetcher) = CreateFetcher(SmallWindow);
        var reader = Open(fetcher, key);
        for (var i = 0; i < 4; i++)
        {
            await ReadData.ReadAndCheckAsync(reader, source, i * (long)Chunk, Chunk, Ct);
        }

        await ReadData.ReadAndCheckAsync(reader, source, 3_000_000, 4096, Ct);
        Assert.Equal(1, fetcher.Statistics.PumpsStoppedBySeek);
        Assert.Equal([0, 3_000_000 / Block * Block], RetrOffsets("/seek.bin"));
        await Eventually.HoldsAsync(() => pool.Stats.InUse == 0, "both transfers stopped", diagnostics: () => Diagnostics(pool, fetcher));
        Assert.Equal(2, Server.CommandsWithVerb("ABOR").Count);
        Assert.Equal(0, pool.Stats.Dropped);
    }

    [Fact]
    public async Task A_waiting_pump_yields_its_session_to_a_queued_fetch()
    {
        var a = ReadData.Create(2 * 1024 * 1024, seed: 25);
        var b = ReadData.Create(1024 * 1024, seed: 26);
        var keyA = AddFile("/a.bin", a);
        var keyB = AddFile("/b.bin", b);
        var (pool, _, fetcher) = CreateFetcher(SmallWindow, connections: 1); // one session for everything
        var readerA = Open(fetcher, keyA);
        for (var i = 0; i < 4; i++)
        {
            await ReadData.ReadAndCheckAsync(readerA, a, i * (long)Chunk, Chunk, Ct);
        }

        Assert.Equal(1, pool.Stats.InUse); // the pump of A holds the only session
        await ReadData.ReadAndCheckAsync(Open(fetcher, keyB), b, 500_000, 4096, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.Equal(1, fetcher.Statistics.PumpsYielded);

        // A goes on, on a new stream.
        await ReadData.ReadAndCheckAsync(readerA, a, 4 * (long)Chunk, Chunk, Ct);
        Assert.Equal(1, pool.Stats.Created);
    }

    [Fact]
    public async Task Disposing_the_fetcher_stops_every_fetch_and_returns_all_sessions()
    {
        var source = ReadData.Create(4 * 1024 * 1024, seed: 27);
        var key = AddFile("/all.bin", source);
        var (pool, _, fetcher) = CreateFetcher(SmallWindow);
        var first = fetcher.OpenReader(key);
        var second = fetcher.OpenReader(key);
        for (var i = 0; i < 4; i++)
        {
            await ReadData.ReadAndCheckAsync(first, source, i * (long)Chunk, Chunk, Ct);
        }

        Server.Options.StallDataAfterBytes = 1000;
        var stalled = second.ReadAsync(3_000_000, new byte[4096], Ct);
        await Eventually.HoldsAsync(() => pool.Stats.InUse == 2, "a pump and a stalled random fetch", diagnostics: () => Diagnostics(pool, fetcher));

        await fetcher.DisposeAsync();
        Assert.Equal(0, pool.Stats.InUse);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stalled); // abandoned, then refused: the fetcher is gone
        await Assert.ThrowsAsync<ObjectDisposedException>(() => first.ReadAsync(3_500_000, new byte[10], Ct));
        Assert.Throws<ObjectDisposedException>(() => fetcher.OpenReader(key));
        await first.DisposeAsync();
        await second.DisposeAsync();
    }
}
