using System.Collections.Concurrent;
using System.Diagnostics;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Load;

/// <summary>
/// 32 concurrent workers (half readers, half writers) over many files through one Core (the filesystem a mount runs) on
/// proftpd for a bounded time (30 s; FTPSMOUNT_SOAK=1: 5 min): no deadlock (every worker ends before its deadline), the
/// server never sees more logged-in sessions than the pool's limit (sampled from the server's process table: one
/// proftpd child per session), managed memory stays within the cache budget plus a fixed allowance, and every file
/// written is verified byte for byte on the server's disk.
/// </summary>
[Collection(DrillCollection.Name)]
public sealed class ConcurrentLoadDrill(ITestOutputHelper output)
{
    [Fact]
    public async Task Thirty_two_workers_for_a_bounded_time_no_deadlock_pool_within_limit_memory_bounded_all_verified()
    {
        const int workers = 32;
        const int connections = 6;
        var duration = Drill.Soak ? TimeSpan.FromMinutes(5) : TimeSpan.FromSeconds(30);
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Proftpd, FtpsMode.Explicit);
        var seeded = Enumerable.Range(0, 40).Select(i => Drill.RandomBytes(64 * 1024 + (i * 37_000), 1000 + i)).ToArray();
        for (var i = 0; i < seeded.Length; i++)
        {
            server.SeedFile($"/in/r{i:D2}.bin", seeded[i]);
        }

        server.SeedDirectory("/out");
        var cacheBytes = 32L * 1024 * 1024;
        var options = Drill.Options(connections) with { Cache = new CacheOptions { CacheSizeBytes = cacheBytes } };
        await using var fs = Drill.Core(server, options);
        var written = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        long bytesRead = 0, bytesWritten = 0, operations = 0;
        var peakSessions = 0;
        long peakMemory = 0;
        using var stop = new CancellationTokenSource(duration);
        using var hardStop = new CancellationTokenSource(duration + TimeSpan.FromMinutes(2));

        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peakSessions = Math.Max(peakSessions, CountSessions(server.ProcessId));
                // Live memory: a full collection first, so garbage not yet collected is not counted.
                if (Environment.TickCount64 % 1000 < 100)
                {
                    peakMemory = Math.Max(peakMemory, GC.GetTotalMemory(forceFullCollection: true));
                }

                await Task.Delay(100);
            }
        });

        async Task Reader(int id)
        {
            var random = new Random(id);
            var buffer = new byte[256 * 1024];
            while (!stop.IsCancellationRequested)
            {
                var i = random.Next(seeded.Length);
                var handle = await fs.OpenAsync($"/in/r{i:D2}.bin", FsOpenMode.Read, truncate: false, hardStop.Token);
                try
                {
                    var length = random.Next(1, Math.Min(buffer.Length, seeded[i].Length));
                    var offset = random.Next(seeded[i].Length - length);
                    var n = 0;
                    while (n < length)
                    {
                        var got = await fs.ReadAsync(handle, offset + n, buffer.AsMemory(n, length - n), hardStop.Token);
                        Assert.True(got > 0, "early EOF");
                        n += got;
                    }

                    Assert.True(seeded[i].AsSpan(offset, length).SequenceEqual(buffer.AsSpan(0, length)), $"r{i} differs at {offset}+{length}");
                    Interlocked.Add(ref bytesRead, length);
                    Interlocked.Increment(ref operations);
                }
                finally
                {
                    await fs.ReleaseAsync(handle, CancellationToken.None);
                }
            }
        }

        async Task Writer(int id)
        {
            var random = new Random(id);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var path = $"/out/w{id:D2}-{n % 6}.bin";
                var data = Drill.RandomBytes(random.Next(1, 3 * 1024 * 1024), (id * 10_000) + n);
                await Drill.WriteAllAsync(fs, path, data, 64 * 1024, hardStop.Token);
                written[path] = Drill.Hash(data);
                Interlocked.Add(ref bytesWritten, data.Length);
                Interlocked.Increment(ref operations);
                if (random.Next(4) == 0)
                {
                    var back = await Drill.ReadAllAsync(fs, path, 128 * 1024, hardStop.Token);
                    Assert.Equal(written[path], Drill.Hash(back));
                    Interlocked.Add(ref bytesRead, back.Length);
                }
            }
        }

        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, workers).Select(i => Task.Run(() => i % 2 == 0 ? Reader(i) : Writer(i))).ToArray();
        var all = Task.WhenAll(tasks);
        var finished = await Task.WhenAny(all, Task.Delay(duration + TimeSpan.FromMinutes(2)));
        Assert.True(finished == all, $"deadlock: {tasks.Count(t => !t.IsCompleted)} of {workers} workers still running 2 min after the end; pool {fs.PoolStatistics}");
        await all;
        var elapsed = sw.Elapsed;
        await sampler;

        // Every file written, as the server's disk has it.
        long verified = 0;
        foreach (var (path, hash) in written)
        {
            var disk = await File.ReadAllBytesAsync(server.GetLocalPath(path));
            Assert.True(hash == Drill.Hash(disk), $"{path} on the server's disk differs from the last data written to it");
            verified += disk.Length;
        }

        // Budget of live managed memory: the block cache, memory staging (4 MiB per writer at most), what the drill itself
        // holds (the seeded files, and per writer its data plus a read-back copy, 3 MiB each at most) and 64 MiB for the rest.
        var drillOwn = seeded.Sum(s => (long)s.Length) + (workers / 2 * 2 * 3L * 1024 * 1024);
        var memoryBudget = cacheBytes + (workers / 2 * 4L * 1024 * 1024) + drillOwn + (64L * 1024 * 1024);
        output.WriteLine($"pool: {fs.PoolStatistics}; peak sessions seen on the server {peakSessions}; peak managed memory {peakMemory / 1048576} MiB (budget {memoryBudget / 1048576} MiB)");
        Assert.True(peakSessions <= connections, $"{peakSessions} sessions at once with --connections {connections}");
        Assert.True(peakMemory <= memoryBudget, $"managed memory peaked at {peakMemory / 1048576} MiB, over the {memoryBudget / 1048576} MiB budget");
        Assert.True(written.Count > 0 && Interlocked.Read(ref bytesRead) > 0, "the drill did no work");
        output.WriteLine($"FIGURE load: {workers} workers for {elapsed.TotalSeconds:F0}s, {operations} operations, {bytesRead} bytes read and checked, {bytesWritten} bytes written, {written.Count} files ({verified} bytes) verified on the server's disk, peak {peakSessions}/{connections} sessions, peak managed memory {peakMemory / 1048576} MiB");
    }

    /// <summary>proftpd forks one child per session; the daemon itself is not one.</summary>
    private static int CountSessions(int daemonPid)
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 1 && fields[1] == daemonPid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    count++;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }
}
