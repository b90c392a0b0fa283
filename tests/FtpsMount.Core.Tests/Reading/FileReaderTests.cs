using FtpsMount.Core.Caching;
using FtpsMount.Core.Tests.Pool;

namespace FtpsMount.Core.Tests.Reading;

/// <summary>Random reads, sequential streaming, sharing and caching against the in-process scripted FTPS server.</summary>
public sealed class FileReaderTests : ReadingTestBase
{
    [Fact]
    public async Task Random_reads_at_many_offsets_and_lengths_are_byte_exact()
    {
        var source = ReadData.Create(1_000_003, seed: 1); // 15 whole blocks and a short tail block
        var key = AddFile("/data/random.bin", source);
        var (_, _, fetcher) = CreateFetcher();
        var reader = Open(fetcher, key);

        var cases = new (long Offset, int Length)[]
        {
            (5, 1), (Block - 1, 2), (Block, Block), (Block - 100, Block + 200), (3 * Block + 17, 3 * Block),
            (source.Length - 1, 1), (source.Length - 10, 100), (15 * Block, 20_000), (15 * Block - 1, 300_000),
            (source.Length, 10), (source.Length + 12_345, 4096), (0, 1), (7 * Block + 1, 1),
        };
        foreach (var (offset, length) in cases)
        {
            await ReadData.ReadAndCheckAsync(reader, source, offset, length, Ct);
        }

        // Concurrent readers (and concurrent reads on one handle) at random places, some cached, some not.
        var shared = Open(fetcher, key);
        var work = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
        {
            var rng = new Random(100 + worker);
            var own = worker % 2 == 0 ? Open(fetcher, key) : shared;
            for (var i = 0; i < 60; i++)
            {
                var offset = rng.NextInt64(0, source.Length + 1000);
                var length = rng.Next(4) switch { 0 => rng.Next(1, 100), 1 => rng.Next(1, 8192), 2 => rng.Next(Block - 10, 2 * Block + 10), _ => rng.Next(1, 400_000) };
                await ReadData.ReadAndCheckAsync(own, source, offset, length, Ct);
            }
        }, Ct));
        await Task.WhenAll(work);

        Assert.Empty(Server.UnexpectedErrors);
        Assert.Equal(0, fetcher.Statistics.FetchesFailed);
    }

    [Fact]
    public async Task A_random_4_KiB_read_fetches_its_block_with_REST_and_stops_early_keeping_the_session()
    {
        var source = ReadData.Create(4 * 1024 * 1024, seed: 2);
        var key = AddFile("/big.bin", source);
        var (pool, _, fetcher) = CreateFetcher();
        var reader = Open(fetcher, key);

        await ReadData.ReadAndCheckAsync(reader, source, 1_000_000, 4096, Ct);

        Assert.Single(Retrs("/big.bin"));
        Assert.Equal([1_000_000 / Block * Block], RetrOffsets("/big.bin"));
        // The read returns once its block arrived; the fetch then stops the transfer (ABOR, resync with NOOP).
        await Eventually.HoldsAsync(() => fetcher.Statistics.EarlyStops == 1 && pool.Stats.InUse == 0, "the early stop",
            diagnostics: () => Diagnostics(pool, fetcher));
        Assert.Single(Server.CommandsWithVerb("ABOR"));
        var stats = fetcher.Statistics;
        Assert.Equal(1, stats.TransfersStarted);
        Assert.Equal(1, stats.EarlyStops);
        Assert.Equal(1, stats.BlocksFetched);
        Assert.Equal(Block, stats.BytesDownloaded);
        Assert.Equal(0, stats.SessionsLost);

        // The session survived the early stop: the next random read (another block) runs on it.
        await ReadData.ReadAndCheckAsync(reader, source, 3_000_000, 4096, Ct);
        Assert.Equal(2, Retrs("/big.bin").Count);
        Assert.Equal(1, pool.Stats.Created);
        Assert.Equal(0, pool.Stats.Dropped);
        Assert.Single(Server.Connections);
        Assert.Empty(Server.UnexpectedErrors);
    }

    [Fact]
    public async Task A_read_across_missing_blocks_uses_one_RETR_and_a_cached_block_needs_none()
    {
        var source = ReadData.Create(2 * 1024 * 1024, seed: 3);
        var key = AddFile("/span.bin", source);
        var (_, _, fetcher) = CreateFetcher();
        var reader = Open(fetcher, key);

        await ReadData.ReadAndCheckAsync(reader, source, 100_000, 200_000, Ct); // blocks 1..4
        Assert.Equal([Block], RetrOffsets("/span.bin"));
        Assert.Equal(4, fetcher.Statistics.BlocksFetched);

        // A second handle reading inside those blocks is served from the cache.
        var other = Open(fetcher, key);
        await ReadData.ReadAndCheckAsync(other, source, 2 * Block + 5, Block, Ct);
        Assert.Single(Retrs("/span.bin"));
        Assert.Equal(4, fetcher.Statistics.BlocksFetched);
    }

    [Fact]
    public async Task A_sequential_read_streams_on_one_RETR_and_a_second_read_comes_from_the_cache()
    {
        var source = ReadData.Create(8 * 1024 * 1024 + 123, seed: 4);
        var key = AddFile("/seq.bin", source);
        var (pool, _, fetcher) = CreateFetcher();

        await using (var reader = fetcher.OpenReader(key))
        {
            await ReadData.ReadSequentiallyAsync(reader, source, 128 * 1024, Ct);
        }

        Assert.Single(Retrs("/seq.bin")); // one long RETR, not one per block (129 blocks)
        await Eventually.HoldsAsync(() => fetcher.Statistics.TransfersCompleted == 1 && pool.Stats.InUse == 0,
            "the stream read to the end and completed (226), no ABOR needed", diagnostics: () => Diagnostics(pool, fetcher));
        var stats = fetcher.Statistics;
        Assert.Equal(1, stats.PumpsStarted);
        Assert.Empty(Server.CommandsWithVerb("ABOR"));
        Assert.Equal(source.Length, stats.BytesDownloaded);

        await using (var again = fetcher.OpenReader(key))
        {
            await ReadData.ReadSequentiallyAsync(again, source, 100_000, Ct);
        }

        Assert.Single(Retrs("/seq.bin"));
        Assert.Equal(source.Length, fetcher.Statistics.BytesDownloaded);
    }

    [Fact]
    public async Task A_large_file_read_sequentially_is_fetched_as_parallel_ranges()
    {
        var source = ReadData.Create(6 * 1024 * 1024 + 777, seed: 5);
        var key = AddFile("/large.bin", source);
        var options = new CacheOptions { BlockSize = Block, ParallelRangeThreshold = 1024 * 1024, ReadAheadMax = 512 * 1024 };
        var (pool, _, fetcher) = CreateFetcher(options, connections: 4);

        await using (var reader = fetcher.OpenReader(key))
        {
            await ReadData.ReadSequentiallyAsync(reader, source, 128 * 1024, Ct);
        }

        var stats = fetcher.Statistics;
        var offsets = RetrOffsets("/large.bin");
        Assert.True(stats.ParallelRanges > 0, $"no parallel ranges: {stats}");
        Assert.InRange(offsets.Count, 2, source.Length / (512 * 1024) + 2); // segments of 512 KiB, not blocks of 64 KiB
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
        Assert.All(offsets, o => Assert.Equal(0, o % Block));
        Assert.Equal(source.Length, stats.BlocksFetched * (long)Block - (Block - source.Length % Block));
        Assert.True(pool.Stats.Created <= 3, $"more sessions than the transfer share: {pool.Stats}");
        Assert.Empty(Server.UnexpectedErrors);
    }

    [Fact]
    public async Task Concurrent_reads_of_one_block_share_one_fetch()
    {
        var source = ReadData.Create(1024 * 1024, seed: 6);
        var key = AddFile("/shared.bin", source);
        var (_, _, fetcher) = CreateFetcher();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.Override("RETR", async _ =>
        {
            await gate.Task;
            return false; // then the default RETR
        });

        var readers = Enumerable.Range(0, 6).Select(_ => Open(fetcher, key)).ToList();
        var reads = new List<Task>();
        for (var i = 0; i < 8; i++)
        {
            var reader = readers[i % readers.Count];
            var offset = 3 * Block + 1000 + i * 5000;
            reads.Add(ReadData.ReadAndCheckAsync(reader, source, offset, 3000, Ct));
        }

        await Server.WaitUntilAsync(() => Server.CommandsWithVerb("RETR").Count == 1, what: "the first RETR");
        await Eventually.HoldsAsync(() => fetcher.Statistics.JoinedFetches >= 7, "the other reads join the fetch",
            diagnostics: () => fetcher.Statistics.ToString());
        gate.SetResult();
        await Task.WhenAll(reads);

        Assert.Single(Retrs("/shared.bin"));
        Assert.Equal(1, fetcher.Statistics.BlocksFetched);
    }

    [Fact]
    public async Task A_failed_fetch_reaches_every_read_waiting_for_it_as_one_mapped_error()
    {
        var source = ReadData.Create(1024 * 1024, seed: 12);
        var key = AddFile("/denied.bin", source);
        var (pool, _, fetcher) = CreateFetcher();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.Override("RETR", async ctx =>
        {
            await gate.Task;
            await ctx.ReplyAsync(550, "Permission denied.");
            return true;
        });

        var reads = Enumerable.Range(0, 5).Select(i => Open(fetcher, key).ReadAsync(5 * Block + i * 100, new byte[50], Ct)).ToList();
        await Eventually.HoldsAsync(() => fetcher.Statistics.JoinedFetches >= 4, "the reads share the fetch");
        gate.SetResult();
        foreach (var read in reads)
        {
            var error = await Assert.ThrowsAsync<FsException>(() => read);
            Assert.Equal(FsError.AccessDenied, error.Error);
            Assert.Contains("/denied.bin", error.Message, StringComparison.Ordinal);
        }

        Assert.Single(Retrs("/denied.bin")); // permanent: not retried
        Assert.Equal(1, fetcher.Statistics.FetchesFailed);
        Assert.Equal(0, pool.Stats.Dropped);
    }

    [Fact]
    public async Task A_file_changed_on_the_server_never_returns_old_bytes()
    {
        var v1 = ReadData.Create(300_000, seed: 7);
        var key1 = AddFile("/changing.bin", v1, T0);
        var (_, cache, fetcher) = CreateFetcher();
        await using (var reader = fetcher.OpenReader(key1))
        {
            await ReadData.ReadAndCheckAsync(reader, v1, 0, v1.Length, Ct);
        }

        Assert.True(cache.Contains(key1, 0));

        // Same size, new mtime: a new version; the cached blocks of the old one must not be served.
        var v2 = ReadData.Create(300_000, seed: 8);
        var key2 = AddFile("/changing.bin", v2, T0.AddMinutes(1));
        await using (var reader = fetcher.OpenReader(key2))
        {
            await ReadData.ReadAndCheckAsync(reader, v2, 0, v2.Length, Ct);
            await ReadData.ReadAndCheckAsync(reader, v2, 70_000, 100, Ct);
        }

        // New size.
        var v3 = ReadData.Create(200_001, seed: 9);
        var key3 = AddFile("/changing.bin", v3, T0.AddMinutes(2));
        await using (var reader = fetcher.OpenReader(key3))
        {
            await ReadData.ReadAndCheckAsync(reader, v3, 150_000, 60_000, Ct);
            await ReadData.ReadAndCheckAsync(reader, v3, 5, 10, Ct);
        }

        Assert.True(Retrs("/changing.bin").Count >= 3, "every version was downloaded");
        Assert.False(cache.Contains(key1, 0));
        Assert.False(cache.Contains(key2, 0));
    }

    [Fact]
    public async Task A_data_connection_dropped_mid_fetch_is_retried_and_the_bytes_stay_exact()
    {
        var source = ReadData.Create(1024 * 1024 + 99, seed: 10);
        var key = AddFile("/drop.bin", source);
        var (pool, _, fetcher) = CreateFetcher();

        // Cut after 1.5 blocks, twice: the stream resumes at the first block not yet delivered.
        Server.Options.DropDataAfterBytes = Block + Block / 2;
        Server.Options.DropDataCount = 2;
        await using (var reader = fetcher.OpenReader(key))
        {
            await ReadData.ReadSequentiallyAsync(reader, source, 128 * 1024, Ct);
        }

        // Each cut costs one more RETR, restarted at a block boundary never before the data already delivered.
        var offsets = RetrOffsets("/drop.bin");
        Assert.Equal(3, offsets.Count);
        Assert.All(offsets, o => Assert.Equal(0, o % Block));
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(2, fetcher.Statistics.Retries);
        Assert.Equal(0, fetcher.Statistics.FetchesFailed);

        // Cut before a whole block arrived: the pool's retry (with back-off) sends the RETR again.
        var (pool2, _, fetcher2) = CreateFetcher();
        Server.Options.DropDataAfterBytes = 1000;
        Server.Options.DropDataCount = 3; // the server counts cuts from its start: one more
        var reader2 = Open(fetcher2, key);
        await ReadData.ReadAndCheckAsync(reader2, source, 500_000, 4096, Ct);
        Assert.Equal([500_000 / Block * Block, 500_000 / Block * Block], RetrOffsets("/drop.bin").Skip(3));
        Assert.Equal(1, pool2.Stats.Retries);
        Assert.Equal(0, fetcher2.Statistics.FetchesFailed);
        Assert.Empty(Server.UnexpectedErrors);
        Assert.Equal(0, pool.Stats.InUse);
    }

    [Fact]
    public async Task A_file_shorter_than_its_known_size_is_an_Io_error_naming_the_path_and_drops_its_cache()
    {
        var source = ReadData.Create(100_000, seed: 11);
        Server.FileSystem.AddFile("/shrunk.bin", source, T0);
        var key = new FileKey("/shrunk.bin", 150_000, T0); // what the metadata layer saw before the file shrank
        var (pool, cache, fetcher) = CreateFetcher();
        var reader = Open(fetcher, key);

        await ReadData.ReadAndCheckAsync(reader, source, 10, 100, Ct); // block 0 is whole on the server
        Assert.True(cache.Contains(key, 0));

        var error = await Assert.ThrowsAsync<FsException>(() => reader.ReadAsync(120_000, new byte[1000], Ct));
        Assert.Equal(FsError.Io, error.Error);
        Assert.Contains("/shrunk.bin", error.Message, StringComparison.Ordinal);
        Assert.False(cache.Contains(key, 0));
        Assert.Equal(1, fetcher.Statistics.FilesChanged);

        // The session is fine (the transfer ended with 226) and a missing file maps to NotFound.
        var missing = Open(fetcher, new FileKey("/nope.bin", 10_000, T0));
        var notFound = await Assert.ThrowsAsync<FsException>(() => missing.ReadAsync(100, new byte[10], Ct));
        Assert.Equal(FsError.NotFound, notFound.Error);
        Assert.Contains("/nope.bin", notFound.Message, StringComparison.Ordinal);
        Assert.Equal(0, pool.Stats.Dropped);
    }
}
