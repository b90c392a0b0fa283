using System.Security.Cryptography;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Listing;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Protocol.Tests.Interop;

/// <summary>
/// The interop matrix: every reference server × FTPS mode × TLS version, each with 4 concurrent sessions doing
/// login, FEAT, mkdir, upload, list, ranged download with early stop, full download, append, mtime set/get,
/// rename, delete and rmdir. All servers require TLS on control and data and TLS session reuse on data
/// connections, so this is also the proof that each pooled session hands its own TLS session to its data
/// connections on TLS 1.3.
/// </summary>
[Collection(ReferenceServerCollection.Name)]
public class InteropMatrixTests(ITestOutputHelper output)
{
    public const int Sessions = 4;

    public static TheoryData<ReferenceServerKind, FtpsMode, TlsVersion> Matrix()
    {
        var data = new TheoryData<ReferenceServerKind, FtpsMode, TlsVersion>();
        foreach (var (kind, mode) in new[]
        {
            (ReferenceServerKind.Vsftpd, FtpsMode.Explicit),
            (ReferenceServerKind.Vsftpd, FtpsMode.Implicit),
            (ReferenceServerKind.Proftpd, FtpsMode.Explicit),
            (ReferenceServerKind.Proftpd, FtpsMode.Implicit),
            (ReferenceServerKind.PureFtpd, FtpsMode.Explicit),
        })
        {
            data.Add(kind, mode, TlsVersion.Tls12);
            data.Add(kind, mode, TlsVersion.Tls13);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Four_concurrent_sessions_do_everything(ReferenceServerKind kind, FtpsMode mode, TlsVersion version)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var server = await ReferenceServer.StartAsync(kind, mode, ct);
        var options = server.CreateOptions(version);

        // Open all sessions first so they are truly concurrent control connections, each with its own TLS session.
        var sessions = await Task.WhenAll(Enumerable.Range(0, Sessions).Select(_ => FtpSession.ConnectAsync(options, server.Credentials, cancellationToken: ct)));
        try
        {
            var results = await Task.WhenAll(sessions.Select((s, i) => RunScenarioAsync(server, s, i, version, ct)));
            output.WriteLine($"{kind} {mode} {version}: early stops kept the session {results.Count(r => r.Kept)}/{results.Length} (replies: {string.Join(" | ", results.Select(r => r.Replies))})");
        }
        finally
        {
            foreach (var s in sessions)
            {
                await s.DisposeAsync();
            }
        }
    }

    private sealed record ScenarioResult(bool Kept, string Replies);

    private async Task<ScenarioResult> RunScenarioAsync(ReferenceServer server, FtpSession session, int index, TlsVersion version, CancellationToken ct)
    {
        var expectedProtocol = version == TlsVersion.Tls13 ? "TLSv1.3" : "TLSv1.2";
        Assert.Equal(expectedProtocol, session.Security.Tls!.Protocol);
        Assert.True(session.Security.DataProtected);
        Assert.NotEmpty(session.Features.Lines);

        var dir = $"/w{index}";
        var local = Path.Combine(server.RootDirectory, $"w{index}");
        await session.MakeDirectoryAsync(dir, ct);
        Assert.True(Directory.Exists(local));

        // Upload 3 MiB + a bit, check it byte for byte on the server's disk.
        var content = RandomNumberGenerator.GetBytes((3 * 1024 * 1024) + 777);
        await TransferHelpers.UploadAsync(session, dir + "/file.bin", content, FtpWriteMode.Create, ct);
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(local, "file.bin"), ct));
        var dataTls = session.LastDataConnection!.Tls!;
        Assert.Equal(expectedProtocol, dataTls.Protocol);

        var listing = await session.ListAsync(dir, ct);
        var listed = Assert.Single(listing.Entries, e => e.Name == "file.bin");
        Assert.Equal(FtpEntryType.File, listed.Type);
        Assert.Equal(content.Length, listed.Size);
        Assert.Equal(content.Length, await session.GetSizeAsync(dir + "/file.bin", ct));

        // Ranged read that stops early: the bytes must be exact; the session may or may not survive (server's choice).
        var offset = 1024 * 1024 + 13;
        var range = await TransferHelpers.ReadRangeAsync(session, dir + "/file.bin", offset, 65536, ct);
        Assert.Equal(content.AsSpan(offset, 65536).ToArray(), range);
        var kept = session.IsUsable;
        var replies = session.Aborts.LastReplies ?? "-";
        if (!kept)
        {
            return new ScenarioResult(false, replies);
        }

        await session.NoopAsync(ct);

        // Full download after the early stop, on the same session.
        Assert.Equal(content, await TransferHelpers.DownloadAsync(session, dir + "/file.bin", ct));

        // Append.
        var tail = RandomNumberGenerator.GetBytes(1000);
        await TransferHelpers.UploadAsync(session, dir + "/file.bin", tail, FtpWriteMode.Append, ct);
        Assert.Equal(content.Concat(tail).ToArray(), await File.ReadAllBytesAsync(Path.Combine(local, "file.bin"), ct));

        // Modification time set and read back.
        var stamp = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await session.SetModifiedTimeAsync(dir + "/file.bin", stamp, ct);
        Assert.Equal(stamp, await session.GetModifiedTimeAsync(dir + "/file.bin", ct));
        var entry = await session.GetEntryAsync(dir + "/file.bin", ct);
        Assert.NotNull(entry);
        Assert.Equal(stamp, entry.Modified);
        Assert.Equal(content.Length + tail.Length, entry.Size);

        // Rename, delete, rmdir.
        await session.RenameAsync(dir + "/file.bin", dir + "/renamed.bin", ct);
        Assert.True(File.Exists(Path.Combine(local, "renamed.bin")));
        Assert.Null(await session.GetEntryAsync(dir + "/file.bin", ct));
        await session.DeleteFileAsync(dir + "/renamed.bin", ct);
        Assert.Empty((await session.ListAsync(dir, ct)).Entries);
        await session.RemoveDirectoryAsync(dir, ct);
        Assert.False(Directory.Exists(local));
        Assert.True(session.IsUsable);
        return new ScenarioResult(true, replies);
    }
}
