using System.Diagnostics;
using System.Globalization;
using FtpsMount.Core.Caching;
using FtpsMount.Core.Pool;
using FtpsMount.Core.Reading;
using FtpsMount.Core.Tests.Pool;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Reading;

/// <summary>Reference-server tests run one class at a time (each server forks per connection on small machines).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReadingReferenceServerCollection
{
    public const string Name = "reading reference servers";
}

/// <summary>
/// The read path over real servers: byte-exact random and sequential reads, early stops that keep the session, one RETR
/// for a sequential read; and, for the notes, figures of a 256 MB sequential read and of cold random 4 KiB reads over
/// loopback vsftpd (printed, not asserted). A missing server fails the test (tests/scripts/install-test-deps.sh).
/// </summary>
[Collection(ReadingReferenceServerCollection.Name)]
public sealed class FileReaderReferenceServerTests(ITestOutputHelper output)
{
    private const int Block = 64 * 1024;

    [Theory]
    [InlineData(ReferenceServerKind.Vsftpd)]
    [InlineData(ReferenceServerKind.Proftpd)]
    [InlineData(ReferenceServerKind.PureFtpd)]
    public async Task Random_and_sequential_reads_are_exact_and_stop_early_without_losing_the_session(ReferenceServerKind kind)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var server = await ReferenceServer.StartAsync(kind, FtpsMode.Explicit, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        var source = ReadData.Create(3 * 1024 * 1024 + 4321, seed: 40);
        server.SeedFile("/read/file.bin", source);
        var key = new FileKey("/read/file.bin", source.Length, DateTimeOffset.UnixEpoch);
        var log = new ListLogger();
        var pool = new SessionPool(server.CreateOptions(TlsVersion.Tls13, pinFingerprint: true), server.Credentials, new PoolSettings { Connections = 4 }, log);
        using var cache = new BlockCache(Block, 64L * 1024 * 1024);
        var fetcher = new BlockFetcher(pool, cache, new CacheOptions { BlockSize = Block }, log);
        try
        {
            // One random 4 KiB read: one RETR of one block, stopped early; the session survives for the next one.
            var reader = fetcher.OpenReader(key);
            await ReadData.ReadAndCheckAsync(reader, source, 1_000_000, 4096, ct);
            await Eventually.HoldsAsync(() => fetcher.Statistics.EarlyStops == 1 && pool.Stats.InUse == 0, "the early stop");
            await ReadData.ReadAndCheckAsync(reader, source, 2_500_000, 4096, ct);
            await Eventually.HoldsAsync(() => pool.Stats.InUse == 0, "the second early stop");
            var stats = fetcher.Statistics;
            Assert.Equal(2, stats.TransfersStarted);
            Assert.Equal(2 * Block, stats.BytesDownloaded);
            Assert.Equal(0, stats.SessionsLost);
            Assert.Equal(1, pool.Stats.Created);
            Assert.Equal(0, pool.Stats.Dropped);

            // Many random reads, some concurrent, across block boundaries, the tail and past the end.
            var rng = new Random(41);
            foreach (var (offset, length) in new (long, int)[] { (Block - 3, 10), (source.Length - 100, 1000), (source.Length, 5), (0, 1), (47 * Block + 1, 2 * Block) })
            {
                await ReadData.ReadAndCheckAsync(reader, source, offset, length, ct);
            }

            await Task.WhenAll(Enumerable.Range(0, 3).Select(worker => Task.Run(async () =>
            {
                var own = fetcher.OpenReader(key);
                await using (own)
                {
                    var random = new Random(worker);
                    for (var i = 0; i < 25; i++)
                    {
                        await ReadData.ReadAndCheckAsync(own, source, random.NextInt64(source.Length + 100), random.Next(1, 200_000), ct);
                    }
                }
            }, ct)));
            await reader.DisposeAsync();

            // A sequential read of the whole file with a cold cache: one RETR.
            cache.InvalidateAll();
            var before = fetcher.Statistics.TransfersStarted;
            await using (var sequential = fetcher.OpenReader(key))
            {
                await ReadData.ReadSequentiallyAsync(sequential, source, 128 * 1024, ct);
            }

            Assert.Equal(before + 1, fetcher.Statistics.TransfersStarted);
            Assert.Equal(0, fetcher.Statistics.FetchesFailed);
            Assert.Equal(0, pool.Stats.Dropped);
            output.WriteLine($"{server}: {fetcher.Statistics}");
        }
        catch
        {
            output.WriteLine(log.ToString());
            output.WriteLine(server.ReadLogs());
            throw;
        }
        finally
        {
            await fetcher.DisposeAsync();
            await pool.DisposeAsync();
        }
    }

    /// <summary>Figures for the notes (not asserted beyond byte-exactness): a 256 MB file read front to back with 128 KiB
    /// requests (parallel ranges, as a mount does by default, and a single stream), curl fetching it in the same run, and
    /// cold random 4 KiB reads per second at two block sizes.</summary>
    [Fact]
    public async Task Figures_256_MB_sequential_and_cold_random_4_KiB_reads_over_vsftpd()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        const int size = 256 * 1024 * 1024;
        var source = ReadData.Create(size, seed: 42);
        server.SeedFile("/big.bin", source);
        var key = new FileKey("/big.bin", size, DateTimeOffset.UnixEpoch);
        var options = server.CreateOptions(TlsVersion.Tls13, pinFingerprint: true);

        // Two rounds, alternating, because a shared 2-core VM is noisy; every round also reads with a cold cache.
        for (var round = 1; round <= 2; round++)
        {
            foreach (var (label, cacheOptions) in new[]
            {
                ("default options (1 MiB blocks, 8 MiB window, parallel ranges above 64 MiB)", new CacheOptions()),
                ("single stream (1 MiB blocks, 8 MiB window)", new CacheOptions { ParallelRangeThreshold = long.MaxValue }),
            })
            {
                var (elapsed, stats) = await WithFetcherAsync(options, server.Credentials, cacheOptions, async fetcher =>
                {
                    var clock = Stopwatch.StartNew();
                    await using (var reader = fetcher.OpenReader(key))
                    {
                        await ReadData.ReadSequentiallyAsync(reader, source, 128 * 1024, ct);
                    }

                    return clock.Elapsed;
                });
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round}: sequential 256 MiB in 128 KiB reads, {label}: {elapsed.TotalSeconds:0.00} s ({size / elapsed.TotalSeconds / (1024 * 1024):0} MiB/s), {stats.TransfersStarted} RETR(s), {stats.ParallelRanges} parallel range(s)"));
            }

            var curl = await TimeCurlAsync(server, ct);
            output.WriteLine(curl is { } c
                ? string.Create(CultureInfo.InvariantCulture, $"round {round}: curl 256 MiB to /dev/null: {c.TotalSeconds:0.00} s ({size / c.TotalSeconds / (1024 * 1024):0} MiB/s)")
                : "curl not found: no comparison");
        }

        const int reads = 300;
        foreach (var (blockSize, readers) in new[] { (1024 * 1024, 1), (64 * 1024, 1), (1024 * 1024, 4), (64 * 1024, 4) })
        {
            var (elapsed, stats) = await WithFetcherAsync(options, server.Credentials, new CacheOptions { BlockSize = blockSize }, async fetcher =>
            {
                // Distinct blocks, never at offset 0: every read is cold and random. Several readers = concurrent requests,
                // as the kernel issues them from several threads.
                var rng = new Random(43);
                var blocks = Enumerable.Range(1, size / blockSize - 1).OrderBy(_ => rng.Next()).Take(reads).ToList();
                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, readers).Select(r => Task.Run(async () =>
                {
                    var random = new Random(r);
                    await using var reader = fetcher.OpenReader(key);
                    for (var i = r; i < blocks.Count; i += readers)
                    {
                        await ReadData.ReadAndCheckAsync(reader, source, (long)blocks[i] * blockSize + random.Next(blockSize - 4096), 4096, ct);
                    }
                }, ct)));
                return clock.Elapsed;
            });
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cold random 4 KiB reads, {blockSize / 1024} KiB blocks, {readers} concurrent reader(s), 4 connections: {reads / elapsed.TotalSeconds:0} reads/s ({elapsed.TotalMilliseconds / reads:0.0} ms per read), {stats.SessionsLost} sessions lost"));
        }
    }

    private static async Task<(TimeSpan Elapsed, ReadStatistics Stats)> WithFetcherAsync(
        FtpsOptions options, FtpCredentials credentials, CacheOptions cacheOptions, Func<BlockFetcher, Task<TimeSpan>> run)
    {
        var pool = new SessionPool(options, credentials, new PoolSettings { Connections = 4 });
        using var cache = BlockCache.Create(cacheOptions, TimeProvider.System);
        var fetcher = new BlockFetcher(pool, cache, cacheOptions);
        try
        {
            var elapsed = await run(fetcher);
            return (elapsed, fetcher.Statistics);
        }
        finally
        {
            await fetcher.DisposeAsync();
            await pool.DisposeAsync();
        }
    }

    private static async Task<TimeSpan?> TimeCurlAsync(ReferenceServer server, CancellationToken ct)
    {
        var curl = new[] { "/usr/bin/curl", "/usr/local/bin/curl" }.FirstOrDefault(File.Exists);
        if (curl is null)
        {
            return null;
        }

        var netrc = Path.Combine(server.InstanceDirectory, "curl-netrc-reading");
        await File.WriteAllTextAsync(netrc, $"machine localhost login {server.User} password {server.Password}\n", ct);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(netrc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var start = new ProcessStartInfo(curl)
        {
            ArgumentList = { "-sS", "--ssl-reqd", "--cacert", server.CaCertificatePath, "--netrc-file", netrc, "-o", "/dev/null", $"ftp://localhost:{server.Port}/big.bin" },
            RedirectStandardError = true,
        };
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        Assert.True(process.ExitCode == 0, $"curl failed ({process.ExitCode}): {stderr}");
        return clock.Elapsed;
    }
}
