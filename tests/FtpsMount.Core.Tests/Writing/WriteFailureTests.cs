using FtpsMount.Core.Writing;
using FtpsMount.Testing.Scripted;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Writing;

/// <summary>Failed verification, server errors, cut connections and a full local disk: errors reach the caller, the
/// data stays staged, a later flush or drain succeeds.</summary>
public sealed class WriteFailureTests(ITestOutputHelper output) : ScriptedWriteTestBase(output)
{
    [Fact]
    public Task A_size_mismatch_fails_the_flush_keeps_the_data_and_a_later_flush_succeeds() => RunAsync(async () =>
    {
        Server.Override("SIZE", async ctx =>
        {
            await ctx.ReplyAsync(213, "12345");
            return true;
        });
        var data = RandomBytes(20_000);
        var writer = Writes.OpenWriter("/d/v.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);

        var error = await Assert.ThrowsAsync<FsException>(() => writer.FlushAsync(Ct));
        Assert.Equal(FsError.Io, error.Error);
        Assert.Contains("12345", error.Message, StringComparison.Ordinal);
        Assert.True(writer.IsDirty);
        Assert.Equal(data, await ReadAllAsync(writer));
        Assert.Equal(1, Writes.Statistics.Failures);

        Server.RemoveOverride("SIZE");
        await writer.FlushAsync(Ct);
        Assert.False(writer.IsDirty);
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/v.bin"));
        await writer.CloseAsync(Ct);
        Assert.Equal(["STOR", "STOR"], TransferCommands("/d/v.bin"));
    });

    [Fact]
    public Task A_checksum_mismatch_fails_the_close_and_the_data_is_uploaded_by_a_drain_later() => RunAsync(async () =>
    {
        Server.Options.EnableHashCommands = true;
        Server.Options.Features.Add("HASH SHA-256*;SHA-1;MD5");
        Server.Override("HASH", async ctx =>
        {
            await ctx.ReplyAsync(213, $"SHA-256 0-1 {new string('0', 64)} {ctx.Argument}");
            return true;
        });
        var data = RandomBytes(30_000);
        var writer = Writes.OpenWriter("/d/x.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);

        var error = await Assert.ThrowsAsync<FsException>(() => writer.CloseAsync(Ct));
        Assert.Equal(FsError.Io, error.Error);
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Writes.PendingUploads);
        Assert.True(Writes.TryGetLength("/d/x.bin", out var staged));
        Assert.Equal(data.Length, staged);

        Server.RemoveOverride("HASH");
        Assert.Empty(await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Equal(0, Writes.PendingUploads);
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/x.bin"));
        Assert.Equal(1, Writes.Statistics.ChecksumVerifications);
        Assert.Empty(StagedFiles());
    });

    [Fact]
    public Task Reply_552_is_reported_as_no_space_and_the_data_kept() => RunAsync(async () =>
    {
        Server.Override("STOR", async ctx =>
        {
            await ctx.ReplyAsync(552, "Disk full - please upload later");
            return true;
        });
        var data = RandomBytes(5000);
        var writer = Writes.OpenWriter("/d/full.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);

        var error = await Assert.ThrowsAsync<FsException>(() => writer.CloseAsync(Ct));
        Assert.Equal(FsError.NoSpace, error.Error);
        Assert.Contains("552", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Writes.PendingUploads);
        Assert.Single(TransferCommands("/d/full.bin")); // permanent: not retried

        // A flush on the closed writer retries.
        Server.RemoveOverride("STOR");
        await writer.FlushAsync(Ct);
        Assert.Equal(0, Writes.PendingUploads);
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/full.bin"));
    });

    [Fact]
    public Task Reply_552_after_the_data_is_reported_as_no_space() => RunAsync(async () =>
    {
        // pure-ftpd 1.0.50 style: the data is received, then the quota verdict.
        Server.Override("STOR", async ctx =>
        {
            await ctx.ReplyAsync(150, "Ok to send data.");
            var connection = await ctx.OpenDataConnectionAsync();
            await connection!.ReadToEndAsync();
            await connection.CloseAsync();
            await ctx.ReplyAsync(552, "Quota exceeded: [x] won't be saved");
            return true;
        });
        var writer = Writes.OpenWriter("/d/q.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, RandomBytes(100_000), Ct);
        var error = await Assert.ThrowsAsync<FsException>(() => writer.FlushAsync(Ct));
        Assert.Equal(FsError.NoSpace, error.Error);
        Assert.True(writer.IsDirty);
        await writer.DisposeAsync(); // close fails too; kept for a background retry
        Assert.Equal(1, Writes.PendingUploads);
    });

    [Fact]
    public Task A_connection_cut_mid_upload_resumes_with_REST_STOR_from_the_server_size() => RunAsync(async () =>
    {
        CutFirstUpload("STOR", keepBytes: 100_000);
        var data = RandomBytes(3_000_000);
        var writer = Writes.OpenWriter("/d/cut.bin", 0, truncate: true, isNew: true);
        await WriteChunkedAsync(writer, 0, data, chunk: 256 * 1024);
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/cut.bin"));
        Assert.Equal(["STOR", "REST 100000", "STOR"], TransferCommands("/d/cut.bin"));
        Assert.Equal(data.Length - 100_000, BytesReceivedBy("STOR", "/d/cut.bin")); // the resumed STOR sent only the rest
        Assert.Equal(1, Writes.Statistics.Resumes);
        Assert.Equal(1, Writes.Statistics.Uploads);
    });

    [Fact]
    public Task Without_REST_STREAM_a_cut_upload_starts_over() => RunAsync(async () =>
    {
        Server.Options.Features.Remove("REST STREAM");
        CutFirstUpload("STOR", keepBytes: 50_000);
        var data = RandomBytes(2_000_000);
        var writer = Writes.OpenWriter("/d/cut2.bin", 0, truncate: true, isNew: true);
        await WriteChunkedAsync(writer, 0, data, chunk: 256 * 1024);
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/cut2.bin"));
        Assert.Equal(["STOR", "STOR"], TransferCommands("/d/cut2.bin"));
        Assert.Equal(0, Writes.Statistics.Resumes);
    });

    [Fact]
    public Task A_cut_append_continues_with_APPE_without_duplicating_bytes() => RunAsync(async () =>
    {
        var original = RandomBytes(10_000);
        Server.FileSystem.AddFile("/d/app.log", original);
        CutFirstUpload("APPE", keepBytes: 60_000);
        var tail = RandomBytes(2_500_000);
        var writer = Writes.OpenWriter("/d/app.log", original.Length, truncate: false, isNew: false);
        await WriteChunkedAsync(writer, original.Length, tail, chunk: 256 * 1024);
        await writer.CloseAsync(Ct);

        Assert.Equal([.. original, .. tail], Server.FileSystem.ReadFile("/d/app.log"));
        Assert.Equal(["APPE", "APPE"], TransferCommands("/d/app.log"));
        Assert.Equal(1, Writes.Statistics.Resumes);
    });

    [Fact]
    public Task A_control_connection_lost_before_the_upload_started_is_retried_from_the_start() => RunAsync(async () =>
    {
        Server.Options.DropControlAfterCommand = "STOR";
        var data = RandomBytes(40_000);
        var writer = Writes.OpenWriter("/d/drop.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/drop.bin"));
        Assert.Equal(["STOR", "STOR"], TransferCommands("/d/drop.bin"));
    });

    [Fact]
    public Task Without_REST_STREAM_reads_of_the_unstaged_start_skip_from_the_beginning() => RunAsync(async () =>
    {
        Server.Options.Features.Remove("REST STREAM");
        var original = RandomBytes(50_000);
        Server.FileSystem.AddFile("/d/norest.bin", original);
        var writer = Writes.OpenWriter("/d/norest.bin", original.Length, truncate: false, isNew: false);
        await writer.WriteAsync(original.Length, "tail"u8.ToArray(), Ct);
        var buffer = new byte[1000];
        Assert.Equal(1000, await writer.ReadAsync(30_000, buffer, Ct));
        Assert.Equal(original.AsSpan(30_000, 1000).ToArray(), buffer);
        Assert.Empty(Server.CommandsWithVerb("REST"));
        await writer.CloseAsync(Ct);
        byte[] expected = [.. original, .. "tail"u8];
        Assert.Equal(expected, Server.FileSystem.ReadFile("/d/norest.bin"));
    });

    [Fact]
    public Task A_full_local_staging_disk_is_reported_as_no_space_with_a_clear_message() => RunAsync(async () =>
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // needs /dev/full
        }

        // Every staging file is /dev/full: writes fail with ENOSPC like on a full disk.
        Writes.Staging.FileOpener = _ => new FileStream("/dev/full", FileMode.Open, FileAccess.ReadWrite);
        var first = RandomBytes(1000);
        var writer = Writes.OpenWriter("/d/local.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, first, Ct); // in memory
        var error = await Assert.ThrowsAsync<FsException>(() => writer.WriteAsync(1000, RandomBytes(100_000), Ct)); // must spill
        Assert.Equal(FsError.NoSpace, error.Error);
        Assert.Contains("LOCAL disk", error.Message, StringComparison.Ordinal);
        Assert.Equal(1000, writer.Length); // the failed write changed nothing

        await writer.CloseAsync(Ct);
        Assert.Equal(first, Server.FileSystem.ReadFile("/d/local.bin"));
    });
}
