using System.Security.Cryptography;
using FtpsMount.Core.Pool;
using FtpsMount.Core.Tests.Pool;
using FtpsMount.Core.Writing;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Writing;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WriteReferenceServerCollection
{
    public const string Name = "write reference servers";
}

/// <summary>
/// The write path against vsftpd, proftpd and pure-ftpd on loopback (explicit FTPS, TLS 1.3), checking the bytes in the
/// server's directory. A server that cannot be started fails the test (tests/scripts/install-test-deps.sh installs them).
/// </summary>
[Collection(WriteReferenceServerCollection.Name)]
public sealed class WriteReferenceServerTests(ITestOutputHelper output)
{
    public static TheoryData<ReferenceServerKind> Servers => [ReferenceServerKind.Vsftpd, ReferenceServerKind.Proftpd, ReferenceServerKind.PureFtpd];

    [Theory]
    [MemberData(nameof(Servers))]
    public Task Create_overwrite_append_and_zero_length(ReferenceServerKind kind) => WithServerAsync(kind, async (server, writes, ct) =>
    {
        server.SeedDirectory("/w");

        // create (memory-staged) and a larger one (disk-staged)
        var small = RandomNumberGenerator.GetBytes(10_000);
        await WriteFileAsync(writes, "/w/small.bin", small, ct);
        Assert.Equal(small, await File.ReadAllBytesAsync(server.GetLocalPath("/w/small.bin"), ct));
        var large = RandomNumberGenerator.GetBytes(700_000);
        await WriteFileAsync(writes, "/w/large.bin", large, ct);
        Assert.Equal(large, await File.ReadAllBytesAsync(server.GetLocalPath("/w/large.bin"), ct));

        // overwrite with truncate: a shorter content replaces a longer one
        var shorter = RandomNumberGenerator.GetBytes(1234);
        var writer = writes.OpenWriter("/w/large.bin", large.Length, truncate: true, isNew: false);
        await writer.WriteAsync(0, shorter, ct);
        await writer.CloseAsync(ct);
        Assert.Equal(shorter, await File.ReadAllBytesAsync(server.GetLocalPath("/w/large.bin"), ct));

        // append: only the tail travels
        var before = writes.Statistics.BytesUploaded;
        var tail = RandomNumberGenerator.GetBytes(3333);
        writer = writes.OpenWriter("/w/small.bin", small.Length, truncate: false, isNew: false);
        await writer.WriteAsync(small.Length, tail, ct);
        await writer.CloseAsync(ct);
        byte[] appended = [.. small, .. tail];
        Assert.Equal(appended, await File.ReadAllBytesAsync(server.GetLocalPath("/w/small.bin"), ct));
        Assert.Equal(tail.Length, writes.Statistics.BytesUploaded - before);
        Assert.Equal(0, writes.Statistics.BytesDownloaded);

        // zero-length file
        writer = writes.OpenWriter("/w/empty", 0, truncate: false, isNew: true);
        await writer.CloseAsync(ct);
        var empty = new FileInfo(server.GetLocalPath("/w/empty"));
        Assert.True(empty.Exists);
        Assert.Equal(0, empty.Length);
    });

    [Theory]
    [MemberData(nameof(Servers))]
    public Task Random_write_extend_and_shrink(ReferenceServerKind kind) => WithServerAsync(kind, async (server, writes, ct) =>
    {
        var original = RandomNumberGenerator.GetBytes(120_000);
        server.SeedFile("/w/m.bin", original);

        var patch = RandomNumberGenerator.GetBytes(500);
        var writer = writes.OpenWriter("/w/m.bin", original.Length, truncate: false, isNew: false);
        await writer.WriteAsync(60_000, patch, ct);
        await writer.CloseAsync(ct);
        var expected = (byte[])original.Clone();
        patch.CopyTo(expected, 60_000);
        Assert.Equal(expected, await File.ReadAllBytesAsync(server.GetLocalPath("/w/m.bin"), ct));

        writer = writes.OpenWriter("/w/m.bin", expected.Length, truncate: false, isNew: false);
        await writer.SetLengthAsync(200_000, ct);
        await writer.CloseAsync(ct);
        byte[] extended = [.. expected, .. new byte[80_000]];
        Assert.Equal(extended, await File.ReadAllBytesAsync(server.GetLocalPath("/w/m.bin"), ct));

        writer = writes.OpenWriter("/w/m.bin", 200_000, truncate: false, isNew: false);
        await writer.SetLengthAsync(1000, ct);
        var buffer = new byte[1000];
        Assert.Equal(1000, await writer.ReadAsync(0, buffer, ct));
        Assert.Equal(expected.AsSpan(0, 1000).ToArray(), buffer);
        await writer.CloseAsync(ct);
        Assert.Equal(expected.AsSpan(0, 1000).ToArray(), await File.ReadAllBytesAsync(server.GetLocalPath("/w/m.bin"), ct));
    });

    [Theory]
    [MemberData(nameof(Servers))]
    public Task Streamed_upload_and_streamed_append(ReferenceServerKind kind) => WithServerAsync(kind, async (server, writes, ct) =>
    {
        writes.StreamThreshold = 256 * 1024;
        server.SeedDirectory("/w");
        var data = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        await WriteFileAsync(writes, "/w/stream.bin", data, ct);
        Assert.Equal(data, await File.ReadAllBytesAsync(server.GetLocalPath("/w/stream.bin"), ct));
        Assert.Equal(1, writes.Statistics.StreamedUploads);

        var tail = RandomNumberGenerator.GetBytes(1024 * 1024);
        var writer = writes.OpenWriter("/w/stream.bin", data.Length, truncate: false, isNew: false);
        for (var i = 0; i < tail.Length; i += 64 * 1024)
        {
            await writer.WriteAsync(data.Length + i, tail.AsMemory(i, 64 * 1024), ct);
        }

        await writer.CloseAsync(ct);
        byte[] whole = [.. data, .. tail];
        Assert.Equal(whole, await File.ReadAllBytesAsync(server.GetLocalPath("/w/stream.bin"), ct));
        Assert.Equal(2, writes.Statistics.StreamedUploads);
    });

    [Theory]
    [MemberData(nameof(Servers))]
    public Task Write_back_close_then_drain(ReferenceServerKind kind) => WithServerAsync(kind, async (server, writes, ct) =>
    {
        server.SeedDirectory("/w");
        var files = Enumerable.Range(0, 5).Select(i => ($"/w/wb{i}.bin", RandomNumberGenerator.GetBytes(20_000 + i))).ToList();
        foreach (var (path, content) in files)
        {
            var writer = writes.OpenWriter(path, 0, truncate: true, isNew: true);
            await writer.WriteAsync(0, content, ct);
            await writer.CloseAsync(ct);
        }

        Assert.Empty(await writes.DrainAsync(TimeSpan.FromSeconds(60), ct));
        Assert.Equal(0, writes.PendingUploads);
        foreach (var (path, content) in files)
        {
            Assert.Equal(content, await File.ReadAllBytesAsync(server.GetLocalPath(path), ct));
        }
    }, new WriteOptions { WriteBack = TimeSpan.FromMinutes(10), MemoryStagingLimit = 64 * 1024 });

    [Theory]
    [MemberData(nameof(Servers))]
    public Task Cut_uploads_continue_where_the_server_stopped(ReferenceServerKind kind) => WithServerAsync(kind, async (server, writes, ct) =>
    {
        // What cut transfers leave behind is seeded; the uploader is told a transfer opened before (as after a cut).
        var data = RandomNumberGenerator.GetBytes(500_000);
        var original = RandomNumberGenerator.GetBytes(10_000);

        // A STOR cut after 123 456 bytes: REST 123456 + STOR sends the rest.
        server.SeedFile("/w/cut.bin", data.AsSpan(0, 123_456));
        using (var staged = new StagingBuffer(writes.Staging, "/w/cut.bin", 0))
        {
            staged.Write(0, data);
            await writes.Uploader.RunAsync(new UploadJob("/w/cut.bin", staged, data.Length, 0) { PartialOnServer = true }, ct);
        }

        Assert.Equal(data, await File.ReadAllBytesAsync(server.GetLocalPath("/w/cut.bin"), ct));
        Assert.Equal(1, writes.Statistics.Resumes);
        Assert.Equal(data.Length - 123_456, writes.Statistics.BytesUploaded);

        // An APPE cut after 50 000 bytes of its tail: APPE sends the rest.
        server.SeedFile("/w/app.bin", [.. original, .. data.AsSpan(0, 50_000)]);
        using (var tail = new StagingBuffer(writes.Staging, "/w/app.bin", original.Length))
        {
            tail.Write(original.Length, data);
            await writes.Uploader.RunAsync(new UploadJob("/w/app.bin", tail, original.Length + data.Length, original.Length) { PartialOnServer = true }, ct);
        }

        byte[] appended = [.. original, .. data];
        Assert.Equal(appended, await File.ReadAllBytesAsync(server.GetLocalPath("/w/app.bin"), ct));
        Assert.Equal(2, writes.Statistics.Resumes);

        // A cut append whose tail changed since: REST at the append's start + STOR rewrites the tail.
        server.SeedFile("/w/re.bin", [.. original, .. RandomNumberGenerator.GetBytes(70_000)]);
        using (var changed = new StagingBuffer(writes.Staging, "/w/re.bin", original.Length))
        {
            changed.Write(original.Length, data);
            var job = new UploadJob("/w/re.bin", changed, original.Length + data.Length, original.Length) { PartialOnServer = true, PartialValidTo = original.Length };
            await writes.Uploader.RunAsync(job, ct);
        }

        Assert.Equal(appended, await File.ReadAllBytesAsync(server.GetLocalPath("/w/re.bin"), ct));
    });

    private static async Task WriteFileAsync(WriteManager writes, string path, byte[] data, CancellationToken ct)
    {
        var writer = writes.OpenWriter(path, 0, truncate: true, isNew: true);
        for (var i = 0; i < data.Length; i += 128 * 1024)
        {
            await writer.WriteAsync(i, data.AsMemory(i, Math.Min(128 * 1024, data.Length - i)), ct);
        }

        await writer.CloseAsync(ct);
    }

    private async Task WithServerAsync(ReferenceServerKind kind, Func<ReferenceServer, WriteManager, CancellationToken, Task> test, WriteOptions? options = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var ct = timeout.Token;
        // A missing server is a failure, not a skip.
        var server = await ReferenceServer.StartAsync(kind, FtpsMode.Explicit, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        await using (server)
        {
            var log = new ListLogger();
            var staging = Path.Combine(Path.GetTempPath(), "ftpsmount-write-ref-" + Guid.NewGuid().ToString("N"));
            var pool = new SessionPool(server.CreateOptions(TlsVersion.Tls13, pinFingerprint: true), server.Credentials, new PoolSettings { Connections = 4 }, log);
            var writes = new WriteManager(pool, (options ?? new WriteOptions { MemoryStagingLimit = 64 * 1024 }) with { StagingDirectory = staging }, log);
            try
            {
                await test(server, writes, ct);
                Assert.Empty(Directory.Exists(staging) ? Directory.GetFiles(staging) : []);
                output.WriteLine($"{server}: {writes.Statistics}; pool {pool.Stats}");
            }
            catch
            {
                output.WriteLine(log.ToString());
                output.WriteLine(server.ReadLogs());
                throw;
            }
            finally
            {
                await writes.DisposeAsync();
                await pool.DisposeAsync();
                if (Directory.Exists(staging))
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
        }
    }
}
