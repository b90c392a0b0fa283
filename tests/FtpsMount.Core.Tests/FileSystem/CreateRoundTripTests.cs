using FtpsMount.Core.FileSystem;
using FtpsMount.Core.Tests.Conformance;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Core.Tests.FileSystem;

/// <summary>What creating files costs on the wire (the untar workload), counted from the commands the sessions send to
/// a real vsftpd: no lookup round trips for names in a directory this mount created, and with write-back close()
/// sends nothing.</summary>
[Collection(CoreConformanceCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CreateRoundTripTests
{
    private static async Task CreateFileAsync(IRemoteFileSystem fs, string path, CancellationToken ct)
    {
        // What tar does: lookup (negative), create, write, close (flush + release).
        await Assert.ThrowsAsync<FsException>(() => fs.GetAttributesAsync(path, ct));
        var handle = await fs.CreateAsync(path, 0x1A4, exclusive: true, ct);
        await fs.WriteAsync(handle, 0, "hello"u8.ToArray(), ct);
        await fs.CloseFlushAsync(handle, ct);
        await fs.ReleaseAsync(handle, ct);
    }

    [Fact]
    public async Task Files_created_in_a_new_directory_cost_no_lookups_on_the_server()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var log = new CommandLog();
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, new CoreOptions(), log);

        await fs.MakeDirectoryAsync("/new", 0x1ED, timeout.Token);
        for (var i = 0; i < 5; i++)
        {
            await CreateFileAsync(fs, $"/new/f{i}", timeout.Token);
        }

        for (var i = 0; i < 5; i++)
        {
            // One STOR and one SIZE (the verification after the upload); no SIZE/CWD/MLST lookups of a name that
            // cannot exist yet. Before: SIZE → 550 and CWD → 550 for every file as well.
            var sent = log.Naming($"/new/f{i}");
            Assert.True(sent.Length == 2 && sent.Count(c => c.StartsWith("STOR ", StringComparison.Ordinal)) == 1, $"f{i}: {string.Join(", ", sent)}\n{log}");
            Assert.Equal("hello", await File.ReadAllTextAsync(server.GetLocalPath($"/new/f{i}"), timeout.Token));
        }

        // The uploads landed; the directory still lists right (size from the server).
        var listed = await fs.ReadDirectoryAsync("/new", timeout.Token);
        Assert.Equal(5, listed.Count);
        Assert.All(listed, e => Assert.Equal(5, e.Size));
    }

    [Fact]
    public async Task With_write_back_close_sends_nothing_and_fsync_still_uploads()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var log = new CommandLog();
        var options = new CoreOptions { Write = new WriteOptions { WriteBack = TimeSpan.FromMinutes(5) } };
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, options, log);

        await fs.MakeDirectoryAsync("/wb", 0x1ED, timeout.Token);
        var handle = await fs.CreateAsync("/wb/a", 0x1A4, exclusive: true, timeout.Token);
        await fs.WriteAsync(handle, 0, "hello"u8.ToArray(), timeout.Token);
        await fs.CloseFlushAsync(handle, timeout.Token);
        Assert.Empty(log.Naming("/wb/a"));
        Assert.False(File.Exists(server.GetLocalPath("/wb/a")));

        // fsync on the same handle: durable on return.
        await fs.FlushAsync(handle, timeout.Token);
        Assert.Contains(log.Naming("/wb/a"), c => c.StartsWith("STOR ", StringComparison.Ordinal));
        Assert.Equal("hello", await File.ReadAllTextAsync(server.GetLocalPath("/wb/a"), timeout.Token));
        await fs.ReleaseAsync(handle, timeout.Token);
    }

    [Fact]
    public async Task With_write_back_a_utime_after_close_lands_the_upload_first()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var options = new CoreOptions { Write = new WriteOptions { WriteBack = TimeSpan.FromMinutes(5) } };
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, options);

        var handle = await fs.CreateAsync("/dated", 0x1A4, exclusive: true, timeout.Token);
        await fs.WriteAsync(handle, 0, "hello"u8.ToArray(), timeout.Token);
        await fs.CloseFlushAsync(handle, timeout.Token);
        await fs.ReleaseAsync(handle, timeout.Token);
        var when = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        await fs.SetModifiedTimeAsync("/dated", when, timeout.Token);

        // The pending upload went out before the MDTM, so it cannot re-date the file later.
        Assert.Equal("hello", await File.ReadAllTextAsync(server.GetLocalPath("/dated"), timeout.Token));
        Assert.Equal(when.UtcDateTime, File.GetLastWriteTimeUtc(server.GetLocalPath("/dated")));
        Assert.Empty(await fs.DrainAsync(TimeSpan.FromSeconds(30), timeout.Token));
        Assert.Equal(when.UtcDateTime, File.GetLastWriteTimeUtc(server.GetLocalPath("/dated")));
    }

    [Fact]
    public async Task With_write_back_a_file_renamed_after_close_keeps_its_size_and_content()
    {
        // The editor/rsync pattern: write a temporary, close it, rename it over the name. With write-back the close
        // leaves the upload pending, so the attributes the mount holds for the temporary are create's (size 0); the
        // rename lands the upload and must not carry those over to the new name.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var options = new CoreOptions { Write = new WriteOptions { WriteBack = TimeSpan.FromMinutes(5) } };
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, options);

        var handle = await fs.CreateAsync("/tmp.swp", 0x1A4, exclusive: true, timeout.Token);
        await fs.WriteAsync(handle, 0, "hello"u8.ToArray(), timeout.Token);
        await fs.CloseFlushAsync(handle, timeout.Token);
        await fs.ReleaseAsync(handle, timeout.Token);
        await fs.RenameAsync("/tmp.swp", "/final", noReplace: false, timeout.Token);

        Assert.Equal("hello", await File.ReadAllTextAsync(server.GetLocalPath("/final"), timeout.Token));
        Assert.Equal(5, (await fs.GetAttributesAsync("/final", timeout.Token)).Size);
        Assert.Contains(await fs.ReadDirectoryAsync("/", timeout.Token), e => e.Name == "final" && e.Size == 5);
        var reader = await fs.OpenAsync("/final", FsOpenMode.Read, truncate: false, timeout.Token);
        var buffer = new byte[16];
        var read = await fs.ReadAsync(reader, 0, buffer, timeout.Token);
        await fs.ReleaseAsync(reader, timeout.Token);
        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
    }

    /// <summary>The mount's clock a day ahead of the server's (the test certificate is valid for a week from now):
    /// what the mount assumed (create time) and what the server decided (upload time) cannot be mistaken for each
    /// other. Timers and timestamps are the system's.</summary>
    private sealed class DayAheadClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromDays(1);
    }

    [Fact]
    public async Task With_write_back_a_chmod_after_close_reports_the_uploaded_files_mtime()
    {
        // chmod lands the pending upload first; the server dates the file then, so the mount must not keep reporting
        // the create time it assumed.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var options = new CoreOptions { Write = new WriteOptions { WriteBack = TimeSpan.FromMinutes(5) } };
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, options, time: new DayAheadClock());

        var handle = await fs.CreateAsync("/moded", 0x1A4, exclusive: true, timeout.Token);
        await fs.WriteAsync(handle, 0, "hello"u8.ToArray(), timeout.Token);
        await fs.CloseFlushAsync(handle, timeout.Token);
        await fs.ReleaseAsync(handle, timeout.Token);
        await fs.SetModeAsync("/moded", 0x180, timeout.Token);

        var onServer = File.GetLastWriteTimeUtc(server.GetLocalPath("/moded"));
        var stat = await fs.GetAttributesAsync("/moded", timeout.Token);
        Assert.Equal(5, stat.Size);
        Assert.Equal(0x180, stat.Mode);
        Assert.True(Math.Abs((stat.Modified.UtcDateTime - onServer).TotalSeconds) < 2, $"mount {stat.Modified}, server {onServer:o}");
    }
}
