using FtpsMount.Core.FileSystem;
using FtpsMount.Core.Tests.Conformance;
using FtpsMount.Core.Tests.Pool;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Core.Tests.Reading;

/// <summary>Small-file prefetch (<see cref="CacheOptions.PrefetchFiles"/>) against a real vsftpd: reading a directory's
/// files in listing order fetches the next ones ahead, each file still crosses the wire once, the bytes are right,
/// and the option turns it off. Counted from the RETR commands the sessions send.</summary>
[Collection(CoreConformanceCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SmallFilePrefetchTests
{
    private static async Task<byte[]> ReadWholeAsync(IRemoteFileSystem fs, string path, CancellationToken ct)
    {
        var handle = await fs.OpenAsync(path, FsOpenMode.Read, truncate: false, ct);
        try
        {
            var buffer = new byte[64 * 1024];
            var n = await fs.ReadAsync(handle, 0, buffer, ct);
            return buffer[..n];
        }
        finally
        {
            await fs.ReleaseAsync(handle, ct);
        }
    }

    private static async Task<(ReferenceServer Server, Dictionary<string, byte[]> Files)> StartAsync(CancellationToken ct)
    {
        var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, ct);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < 8; i++)
        {
            var content = System.Text.Encoding.ASCII.GetBytes($"file {i} " + new string((char)('a' + i), 1000 + i));
            files[$"/src/f{i}.txt"] = content;
            server.SeedFile($"/src/f{i}.txt", content);
        }

        return (server, files);
    }

    [Fact]
    public async Task Reading_in_listing_order_fetches_the_next_small_files_ahead_once_each()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var (server, files) = await StartAsync(timeout.Token);
        await using var _ = server;
        var log = new CommandLog();
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials,
            new CoreOptions { Cache = new CacheOptions { PrefetchFiles = 3 } }, log);

        var order = (await fs.ReadDirectoryAsync("/src", timeout.Token)).Select(e => "/src/" + e.Name).ToArray();
        Assert.Equal(8, order.Length);

        // Two files in listing order make a sequential reader: the next files are fetched without being read.
        Assert.Equal(files[order[0]], await ReadWholeAsync(fs, order[0], timeout.Token));
        Assert.Equal(files[order[1]], await ReadWholeAsync(fs, order[1], timeout.Token));
        await Eventually.HoldsAsync(() => log.Retrievals(order[2]) == 1, "the next file was prefetched", diagnostics: log.ToString);
        Assert.True(fs.PrefetchesStarted >= 1);

        // Reading on: every file crosses the wire exactly once (the prefetched ones come from the cache), bytes intact.
        for (var i = 2; i < order.Length; i++)
        {
            Assert.Equal(files[order[i]], await ReadWholeAsync(fs, order[i], timeout.Token));
        }

        foreach (var path in order)
        {
            Assert.True(log.Retrievals(path) == 1, $"{path}: {log.Retrievals(path)} RETR\n{log}");
        }
    }

    [Fact]
    public async Task A_prefetched_file_rewritten_through_the_mount_is_read_fresh()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var (server, files) = await StartAsync(timeout.Token);
        await using var _ = server;
        var log = new CommandLog();
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials,
            new CoreOptions { Cache = new CacheOptions { PrefetchFiles = 3 } }, log);

        var order = (await fs.ReadDirectoryAsync("/src", timeout.Token)).Select(e => "/src/" + e.Name).ToArray();
        await ReadWholeAsync(fs, order[0], timeout.Token);
        await ReadWholeAsync(fs, order[1], timeout.Token);
        await Eventually.HoldsAsync(() => log.Retrievals(order[2]) == 1, "the next file was prefetched", diagnostics: log.ToString);

        var handle = await fs.OpenAsync(order[2], FsOpenMode.Write, truncate: true, timeout.Token);
        await fs.WriteAsync(handle, 0, "new"u8.ToArray(), timeout.Token);
        await fs.ReleaseAsync(handle, timeout.Token);
        Assert.Equal("new"u8.ToArray(), await ReadWholeAsync(fs, order[2], timeout.Token));
    }

    [Fact]
    public async Task Zero_turns_prefetch_off()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var (server, files) = await StartAsync(timeout.Token);
        await using var _ = server;
        var log = new CommandLog();
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials,
            new CoreOptions { Cache = new CacheOptions { PrefetchFiles = 0 } }, log);

        var order = (await fs.ReadDirectoryAsync("/src", timeout.Token)).Select(e => "/src/" + e.Name).ToArray();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(files[order[i]], await ReadWholeAsync(fs, order[i], timeout.Token));
        }

        Assert.Equal(0, fs.PrefetchesStarted);
        Assert.All(order[4..], p => Assert.Equal(0, log.Retrievals(p)));
    }
}
