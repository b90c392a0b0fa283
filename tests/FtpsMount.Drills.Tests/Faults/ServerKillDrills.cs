using System.Diagnostics;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Faults;

/// <summary>
/// The server process is SIGKILLed (daemon and every per-connection child, by pid) in the middle of a large sequential
/// read, a random-read job, an upload and a listing, then restarted on the same port. Reads must complete with
/// identical bytes after reconnecting; an interrupted upload is either completed (the server file equals what was
/// written) or reported as an error and kept staged until a later drain completes it — never a short file after a
/// success; without a restart every operation fails with an error within the configured retry deadline.
/// </summary>
[Collection(DrillCollection.Name)]
public sealed class ServerKillDrills(ITestOutputHelper output) : IAsyncLifetime
{
    private ReferenceServer _server = null!;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));

    public async Task InitializeAsync() =>
        _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, _timeout.Token);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _timeout.Dispose();
    }

    /// <summary>Kills the server now (synchronously, so the caller's transfer is mid-flight) and restarts it after
    /// <paramref name="downtime"/> in the background.</summary>
    private Task KillAndRestartLater(TimeSpan downtime)
    {
        _server.KillAsync(_timeout.Token).GetAwaiter().GetResult();
        return Task.Run(async () =>
        {
            await Task.Delay(downtime, _timeout.Token);
            await _server.RestartAsync(_timeout.Token);
        });
    }

    [Fact]
    public async Task Sequential_read_survives_a_server_kill_and_restart_with_identical_bytes()
    {
        var size = (Drill.Soak ? 256 : 48) * 1024 * 1024;
        var data = Drill.RandomBytes(size, 1);
        _server.SeedFile("/big.bin", data);
        var log = new CollectingLog(output);
        await using var fs = Drill.Core(_server, Drill.Options(), log: log);
        Task? restart = null;
        var killAt = size / 3;
        var read = await Drill.ReadAllAsync(fs, "/big.bin", 128 * 1024, _timeout.Token, progress: done =>
        {
            if (restart is null && done >= killAt)
            {
                restart = KillAndRestartLater(TimeSpan.FromMilliseconds(800));
            }
        });
        Assert.NotNull(restart);
        await restart;
        Assert.True(data.AsSpan().SequenceEqual(read), $"bytes differ after the restart (read {read.Length} of {size})\n{log.Text()}");
        output.WriteLine($"FIGURE kill during sequential read: {size} bytes checked, {_server.KillCount} server kill, pool retries {fs.PoolStatistics.Retries}, sessions created {fs.PoolStatistics.Created}");
    }

    [Fact]
    public async Task Random_read_job_survives_a_server_kill_and_restart_with_identical_bytes()
    {
        var size = 16 * 1024 * 1024;
        var data = Drill.RandomBytes(size, 2);
        _server.SeedFile("/random.bin", data);
        var log = new CollectingLog(output);
        // A small cache so reads keep going to the server after the restart.
        await using var fs = Drill.Core(_server, Drill.Options() with { Cache = new CacheOptions { CacheSizeBytes = 2 * 1024 * 1024 } }, log: log);
        var reads = Drill.Soak ? 4000 : 600;
        long bytesChecked = 0;
        var done = 0;
        Task? restart = null;
        var gate = new object();
        async Task Worker(int seed)
        {
            var random = new Random(seed);
            var handle = await fs.OpenAsync("/random.bin", FsOpenMode.Read, truncate: false, _timeout.Token);
            try
            {
                var buffer = new byte[64 * 1024];
                while (Interlocked.Increment(ref done) <= reads)
                {
                    var length = random.Next(1, buffer.Length);
                    var offset = random.NextInt64(size - length);
                    var n = 0;
                    while (n < length)
                    {
                        var got = await fs.ReadAsync(handle, offset + n, buffer.AsMemory(n, length - n), _timeout.Token);
                        Assert.True(got > 0, $"EOF at {offset + n} inside the file");
                        n += got;
                    }

                    Assert.True(data.AsSpan((int)offset, length).SequenceEqual(buffer.AsSpan(0, length)), $"bytes differ at {offset}+{length}");
                    Interlocked.Add(ref bytesChecked, length);
                    lock (gate)
                    {
                        if (restart is null && Volatile.Read(ref done) >= reads / 3)
                        {
                            restart = KillAndRestartLater(TimeSpan.FromMilliseconds(800));
                        }
                    }
                }
            }
            finally
            {
                await fs.ReleaseAsync(handle, CancellationToken.None);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(Worker));
        Assert.NotNull(restart);
        await restart;
        output.WriteLine($"FIGURE kill during random reads: {reads} reads by 4 readers, {bytesChecked} bytes checked, {_server.KillCount} server kill, pool retries {fs.PoolStatistics.Retries}");
    }

    [Fact]
    public async Task Interrupted_upload_is_completed_or_reported_and_never_silently_short()
    {
        var size = 24 * 1024 * 1024;
        var data = Drill.RandomBytes(size, 3);
        var log = new CollectingLog(output);
        await using var fs = Drill.Core(_server, Drill.Options(), log: log);
        Task? restart = null;
        Exception? reported = null;
        try
        {
            await Drill.WriteAllAsync(fs, "/upload.bin", data, 256 * 1024, _timeout.Token, progress: done =>
            {
                if (restart is null && done >= size / 2)
                {
                    restart = KillAndRestartLater(TimeSpan.FromMilliseconds(800));
                }
            });
        }
        catch (FsException e)
        {
            reported = e; // reported from flush/close: allowed, as long as the data is not lost
        }

        Assert.NotNull(restart);
        await restart;
        var local = _server.GetLocalPath("/upload.bin");
        if (reported is null)
        {
            // close() said "done": the server must hold exactly the data.
            Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(local)), $"close() succeeded but the server file differs\n{log.Text()}");
        }
        else
        {
            output.WriteLine($"close() reported: {reported.Message}");
            var failed = await fs.DrainAsync(TimeSpan.FromSeconds(60), _timeout.Token);
            Assert.Empty(failed);
            Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(local)), "the drained upload differs from what was written");
        }

        output.WriteLine($"FIGURE kill during upload: {size} bytes written and checked on the server's disk, {_server.KillCount} server kill, close() {(reported is null ? "succeeded after reconnecting" : "reported the error, drain completed it")}");
    }

    [Fact]
    public async Task Listings_during_a_kill_are_complete_or_an_error_never_partial()
    {
        var names = Enumerable.Range(0, 1500).Select(i => $"f{i:D5}.txt").ToArray();
        _server.SeedDirectory("/many");
        foreach (var n in names)
        {
            _server.SeedFile("/many/" + n, "x"u8);
        }

        await using var fs = Drill.Core(_server, Drill.Options() with { Cache = new CacheOptions { DirCacheTtl = TimeSpan.Zero, AttrTtl = TimeSpan.Zero, NegativeTtl = TimeSpan.Zero } });
        var listings = 0;
        var errors = 0;
        var killer = Task.Run(async () =>
        {
            await Task.Delay(300, _timeout.Token);
            await _server.KillAsync(_timeout.Token);
            await Task.Delay(800, _timeout.Token);
            await _server.RestartAsync(_timeout.Token);
        });
        var sw = Stopwatch.StartNew();
        while (!killer.IsCompleted || listings < 10)
        {
            try
            {
                var list = await fs.ReadDirectoryAsync("/many", _timeout.Token);
                Assert.Equal(names, list.Select(e => e.Name).Order(StringComparer.Ordinal));
                listings++;
            }
            catch (FsException)
            {
                errors++;
            }

            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(90), "listings did not settle");
        }

        await killer;
        output.WriteLine($"FIGURE kill during listings: {listings} complete listings of {names.Length} names ({listings * names.Length} names checked), {errors} reported errors, {_server.KillCount} server kill, 0 partial listings");
    }

    [Fact]
    public async Task Without_a_restart_reads_and_writes_fail_within_the_configured_time_never_hang()
    {
        var data = Drill.RandomBytes(8 * 1024 * 1024, 4);
        _server.SeedFile("/dead.bin", data);
        var deadline = TimeSpan.FromSeconds(3);
        await using var fs = Drill.Core(_server, Drill.Options(retryDeadline: deadline), Drill.Ftps(_server, TimeSpan.FromSeconds(3)));
        var handle = await fs.OpenAsync("/dead.bin", FsOpenMode.Read, truncate: false, _timeout.Token);
        var buffer = new byte[128 * 1024];
        Assert.Equal(buffer.Length, await fs.ReadAsync(handle, 0, buffer, _timeout.Token));
        // A file being written when the server dies: created and half written while it was up.
        var writer = await fs.CreateAsync("/never.bin", 0x1a4, exclusive: false, _timeout.Token);
        await fs.WriteAsync(writer, 0, data.AsMemory(0, data.Length / 2), _timeout.Token);
        await _server.KillAsync(_timeout.Token);

        var sw = Stopwatch.StartNew();
        var read = await Assert.ThrowsAsync<FsException>(async () =>
        {
            for (long offset = buffer.Length; ; offset += buffer.Length)
            {
                if (await fs.ReadAsync(handle, offset, buffer, _timeout.Token) == 0)
                {
                    break;
                }
            }
        });
        var readTime = sw.Elapsed;
        sw.Restart();
        var write = await Assert.ThrowsAsync<FsException>(async () =>
        {
            await fs.WriteAsync(writer, data.Length / 2, data.AsMemory(data.Length / 2), _timeout.Token);
            await fs.FlushAsync(writer, _timeout.Token);
        });
        var writeTime = sw.Elapsed;
        var close = await Record.ExceptionAsync(() => fs.ReleaseAsync(writer, _timeout.Token));
        await fs.ReleaseAsync(handle, CancellationToken.None);
        output.WriteLine($"read failed after {readTime.TotalSeconds:F1}s with {read.Error} ({read.Message}); flush after {writeTime.TotalSeconds:F1}s with {write.Error} ({write.Message}); close: {close?.Message ?? "ok"}");
        // Bound: retry deadline + one attempt's connect/command timeouts, with slack for a loaded machine.
        Assert.True(readTime < TimeSpan.FromSeconds(30), $"read took {readTime}");
        Assert.True(writeTime < TimeSpan.FromSeconds(30), $"flush took {writeTime}");
        await _server.RestartAsync(_timeout.Token);
        var failed = await fs.DrainAsync(TimeSpan.FromSeconds(60), _timeout.Token);
        Assert.Empty(failed);
        Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(_server.GetLocalPath("/never.bin"))), "the upload that failed while the server was down was not completed by the drain after it came back");
        output.WriteLine($"FIGURE dead server: read EIO after {readTime.TotalSeconds:F1}s, write error after {writeTime.TotalSeconds:F1}s (retry deadline {deadline.TotalSeconds}s); staged upload of {data.Length} bytes completed after restart");
    }
}
