using FtpsMount.Core.Tests.Pool;
using FtpsMount.Core.Writing;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Writing;

/// <summary>--write-back: close returns at once, the upload follows after the delay (on a fake clock here); fsync and
/// drain wait for it.</summary>
public sealed class WriteBackTests(ITestOutputHelper output) : ScriptedWriteTestBase(output)
{
    private readonly FakeTimeProvider _clock = new();

    protected override TimeProvider? Time => _clock;

    protected override WriteOptions CreateWriteOptions() => base.CreateWriteOptions() with { WriteBack = TimeSpan.FromSeconds(5) };

    [Fact]
    public Task Close_returns_before_the_upload_and_drain_waits_for_it() => RunAsync(async () =>
    {
        var data = RandomBytes(100_000);
        var writer = Writes.OpenWriter("/d/wb.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.CloseAsync(Ct);

        Assert.Equal(1, Writes.PendingUploads);
        Assert.Empty(TransferCommands("/d/wb.bin")); // the clock has not moved: nothing was sent
        Assert.True(Writes.TryGetLength("/d/wb.bin", out var length));
        Assert.Equal(data.Length, length);

        Assert.Empty(await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Equal(0, Writes.PendingUploads);
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/wb.bin"));
        Assert.Empty(StagedFiles());
    });

    [Fact]
    public Task The_upload_starts_when_the_delay_has_passed() => RunAsync(async () =>
    {
        var data = RandomBytes(5000);
        var uploaded = new TaskCompletionSource<(string, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Writes.Uploaded += (p, s) => uploaded.TrySetResult((p, s));
        var writer = Writes.OpenWriter("/d/later.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.CloseAsync(Ct);

        await _clock.WaitForPendingTimersAsync(1);
        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, Writes.PendingUploads);
        _clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(("/d/later.bin", 5000L), await uploaded.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        await Eventually.HoldsAsync(() => Writes.PendingUploads == 0, "pending upload done");
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/later.bin"));
    });

    [Fact]
    public Task Fsync_uploads_at_once() => RunAsync(async () =>
    {
        var data = RandomBytes(5000);
        var writer = Writes.OpenWriter("/d/sync.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.FlushAsync(Ct);
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/sync.bin"));
        await writer.CloseAsync(Ct);
        Assert.Equal(0, Writes.PendingUploads);
    });

    [Fact]
    public Task A_failed_background_upload_is_reported_by_drain_and_kept_for_the_next_one() => RunAsync(async () =>
    {
        Server.Override("STOR", async ctx =>
        {
            await ctx.ReplyAsync(552, "Disk full - please upload later");
            return true;
        });
        var data = RandomBytes(5000);
        var writer = Writes.OpenWriter("/d/f.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.CloseAsync(Ct); // write-back: no error here

        Assert.Equal(["/d/f.bin"], await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Equal(1, Writes.PendingUploads);
        Assert.True(Log.Contains(Protocol.FtpLogLevel.Warning, "/d/f.bin"));

        Server.RemoveOverride("STOR");
        Assert.Empty(await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/f.bin"));
        Assert.Equal(0, Writes.PendingUploads);
    });

    [Fact]
    public Task Reopening_a_pending_file_continues_from_the_staged_data() => RunAsync(async () =>
    {
        var first = RandomBytes(3000);
        var writer = Writes.OpenWriter("/d/re.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, first, Ct);
        await writer.CloseAsync(Ct);

        var again = Writes.OpenWriter("/d/re.bin", 0, truncate: false, isNew: false); // the server has nothing yet
        Assert.Equal(0, Writes.PendingUploads);
        Assert.Equal(first.Length, again.Length);
        Assert.Equal(first, await ReadAllAsync(again));
        var second = RandomBytes(1000);
        await again.WriteAsync(first.Length, second, Ct);
        await again.CloseAsync(Ct);

        Assert.Empty(await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Equal([.. first, .. second], Server.FileSystem.ReadFile("/d/re.bin"));
        Assert.Single(TransferCommands("/d/re.bin"));
    });

    [Fact]
    public Task A_pending_upload_follows_a_directory_rename() => RunAsync(async () =>
    {
        Server.FileSystem.AddDirectory("/d/dir");
        var writer = Writes.OpenWriter("/d/dir/x", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, "x"u8.ToArray(), Ct);
        await writer.CloseAsync(Ct);

        Server.FileSystem.Remove("/d/dir");
        Server.FileSystem.AddDirectory("/d/moved"); // the rename on the server
        Writes.Renamed("/d/dir", "/d/moved");
        Assert.True(Writes.TryGetLength("/d/moved/x", out _));

        Assert.Empty(await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Equal("x"u8.ToArray(), Server.FileSystem.ReadFile("/d/moved/x"));
    });

    [Fact]
    public Task A_forgotten_pending_upload_is_dropped() => RunAsync(async () =>
    {
        var writer = Writes.OpenWriter("/d/del", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, "x"u8.ToArray(), Ct);
        await writer.CloseAsync(Ct);
        Assert.Equal(1, Writes.PendingUploads);

        await Writes.ForgetAsync("/d/del", Ct); // unlink
        Assert.Equal(0, Writes.PendingUploads);
        Assert.Empty(await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.False(Server.FileSystem.FileExists("/d/del"));
        Assert.Empty(StagedFiles());
    });

    [Fact]
    public Task Dispose_keeps_data_that_never_reached_the_server() => RunAsync(async () =>
    {
        var data = RandomBytes(3000);
        var writer = Writes.OpenWriter("/d/kept.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.CloseAsync(Ct);
        await Writes.DisposeAsync();

        var kept = Assert.Single(StagedFiles());
        Assert.Equal(data, await File.ReadAllBytesAsync(kept, Ct));
        Assert.True(Log.Contains(Protocol.FtpLogLevel.Error, kept));
    });
}
