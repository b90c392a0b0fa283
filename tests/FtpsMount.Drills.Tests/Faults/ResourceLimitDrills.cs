using System.Diagnostics;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Drills.Tests.Mount;
using FtpsMount.Testing.Scripted;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Faults;

/// <summary>
/// Limits on both ends, through the whole Core (RemoteFileSystem): a server allowing fewer connections than the pool
/// wants (421 at the greeting: the pool backs off and shrinks, every operation still completes), a full disk on the
/// server (552: ENOSPC reported from close(), data kept staged, uploaded once space is back) and a full local staging
/// directory (a 1 MiB tmpfs: ENOSPC from write(), nothing crashes, the mount goes on). The pool's own unit tests
/// (Core.Tests SessionPoolRetryTests: 421 lowers the limit, holds and lifts it) and the write manager's
/// (WriteFailureTests: 552 before and after the data) cover the parts; these run them end to end under load.
/// </summary>
[Collection(DrillCollection.Name)]
public sealed class ResourceLimitDrills(ITestOutputHelper output)
{
    private static FtpsOptions Options(ScriptedFtpServer server) => new()
    {
        Host = server.Host,
        Port = server.Port,
        Tls = new TlsOptions { Trust = new TrustOptions { UseSystemStore = false, PinnedFingerprints = [server.CertificateFingerprint] } },
        Timeouts = new TimeoutOptions
        {
            Connect = TimeSpan.FromSeconds(10), Command = TimeSpan.FromSeconds(10), DataIdle = TimeSpan.FromSeconds(10),
            Abort = TimeSpan.FromSeconds(5), TransferClose = TimeSpan.FromSeconds(10),
        },
    };

    private static FtpCredentials Credentials => new(ScriptedServerOptions.DefaultUser, ScriptedServerOptions.DefaultPassword);

    [Fact]
    public async Task Too_many_connections_421_shrinks_the_pool_and_every_operation_completes()
    {
        const int serverLimit = 2;
        await using var server = await ScriptedFtpServer.StartAsync();
        var refused = 0;
        server.Override(ScriptedFtpServer.GreetingVerb, async ctx =>
        {
            var open = ctx.Server.Connections.Count(c => !c.IsClosed);
            if (open > serverLimit)
            {
                Interlocked.Increment(ref refused);
                await ctx.ReplyAsync(421, $"Too many connections ({serverLimit}) from this IP");
                await ctx.CloseConnectionAsync();
                return true;
            }

            return false;
        });
        var files = 24;
        var data = Enumerable.Range(0, files).Select(i => Drill.RandomBytes(200_000 + i, 100 + i)).ToArray();
        for (var i = 0; i < files; i++)
        {
            server.FileSystem.AddFile($"/f{i}.bin", data[i]);
        }

        await using var fs = new RemoteFileSystem(Options(server), Credentials, Drill.Options(connections: 8));
        var peak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, server.Connections.Count(c => !c.IsClosed && c.IsLoggedIn));
                await Task.Delay(5);
            }
        });
        long bytesChecked = 0;
        await Task.WhenAll(Enumerable.Range(0, files).Select(async i =>
        {
            var read = await Drill.ReadAllAsync(fs, $"/f{i}.bin", 64 * 1024, CancellationToken.None);
            Assert.True(data[i].AsSpan().SequenceEqual(read), $"f{i} differs");
            Interlocked.Add(ref bytesChecked, read.Length);
        }));
        await stop.CancelAsync();
        await sampler;
        var stats = fs.PoolStatistics;
        output.WriteLine($"pool after: limit {stats.Limit}, created {stats.Created}, dropped {stats.Dropped}, retries {stats.Retries}; server refused {refused}; peak logged-in {peak}");
        Assert.True(refused > 0, "the server never had to refuse: the drill did not exercise 421");
        Assert.True(stats.Limit <= serverLimit, $"the pool limit stayed at {stats.Limit} after 421s (server allows {serverLimit})");
        Assert.True(peak <= serverLimit, $"{peak} sessions logged in at once");
        output.WriteLine($"FIGURE 421 too many connections: {files} parallel reads, {bytesChecked} bytes checked, {refused} connections refused with 421, pool limit 8 → {stats.Limit}");
    }

    [Fact]
    public async Task Server_disk_full_552_is_ENOSPC_from_close_and_the_data_is_uploaded_once_space_is_back()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        var full = true;
        server.Override("STOR", async ctx =>
        {
            if (!Volatile.Read(ref full))
            {
                return false;
            }

            await ctx.ReplyAsync(552, "Disk full - please upload later");
            return true;
        });
        server.Override("APPE", async ctx =>
        {
            if (!Volatile.Read(ref full))
            {
                return false;
            }

            await ctx.ReplyAsync(552, "Disk full - please upload later");
            return true;
        });
        var staging = Directory.CreateTempSubdirectory("ftpsmount-drill-staging-").FullName;
        try
        {
            await using var fs = new RemoteFileSystem(Options(server), Credentials, Drill.Options(staging: staging));
            var data = Drill.RandomBytes(6 * 1024 * 1024, 5);
            var error = await Assert.ThrowsAsync<FsException>(() => Drill.WriteAllAsync(fs, "/full.bin", data, 128 * 1024, CancellationToken.None));
            Assert.Equal(FsError.NoSpace, error.Error);
            output.WriteLine($"552 → {error.Error}: {error.Message}");
            Volatile.Write(ref full, false);
            Assert.Empty(await fs.DrainAsync(TimeSpan.FromSeconds(60), CancellationToken.None));
            Assert.True(data.AsSpan().SequenceEqual(server.FileSystem.ReadFile("/full.bin")), "the upload after the disk was freed differs");
            output.WriteLine($"FIGURE server disk full (552): ENOSPC from close(), {data.Length} bytes kept staged and verified on the server after space came back");
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Local_staging_directory_full_is_ENOSPC_from_write_and_the_mount_goes_on()
    {
        Assert.True(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root", "this drill mounts a tmpfs and needs root (tests/run-tests.sh runs as root)");
        await using var server = await ScriptedFtpServer.StartAsync();
        var staging = Directory.CreateTempSubdirectory("ftpsmount-drill-tmpfs-").FullName;
        Assert.Equal(0, CliMount.Run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "ftpsmount-drill", staging));
        try
        {
            // Memory staging off: every byte goes to the (full) staging directory.
            var options = Drill.Options(staging: staging) with { Write = new WriteOptions { StagingDirectory = staging, MemoryStagingLimit = 0 } };
            await using var fs = new RemoteFileSystem(Options(server), Credentials, options);
            var big = Drill.RandomBytes(4 * 1024 * 1024, 6);
            var sw = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<FsException>(() => Drill.WriteAllAsync(fs, "/big.bin", big, 128 * 1024, CancellationToken.None));
            output.WriteLine($"staging full → {error.Error} after {sw.Elapsed.TotalSeconds:F1}s: {error.Message}");
            Assert.Equal(FsError.NoSpace, error.Error);

            // A small file still fits once the big one's staging is gone; the mount is usable.
            var small = Drill.RandomBytes(64 * 1024, 7);
            await Drill.WriteAllAsync(fs, "/small.bin", small, 16 * 1024, CancellationToken.None);
            Assert.True(small.AsSpan().SequenceEqual(server.FileSystem.ReadFile("/small.bin")));
            Assert.False(server.FileSystem.Exists("/big.bin") && server.FileSystem.ReadFile("/big.bin").Length == big.Length, "a file whose writes failed must not appear complete");
            output.WriteLine("FIGURE local staging full: ENOSPC from write() with a 1 MiB staging tmpfs, a later 64 KiB file uploaded and verified");
        }
        finally
        {
            CliMount.Run("umount", "-l", staging);
            Directory.Delete(staging, recursive: true);
        }
    }
}
