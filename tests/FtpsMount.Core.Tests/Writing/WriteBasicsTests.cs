using FtpsMount.Core.Writing;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Writing;

/// <summary>Create, overwrite, append, random write, truncate/extend and read-back, over the scripted server.</summary>
public sealed class WriteBasicsTests(ITestOutputHelper output) : ScriptedWriteTestBase(output)
{
    [Fact]
    public Task Create_write_close_has_the_bytes_on_the_server_when_close_returns() => RunAsync(async () =>
    {
        var data = RandomBytes(10_000);
        var uploaded = new List<(string, long)>();
        Writes.Uploaded += (p, s) => uploaded.Add((p, s));
        var writer = Writes.OpenWriter("/d/new.bin", 0, truncate: true, isNew: true);
        Assert.True(writer.IsDirty);
        await writer.WriteAsync(0, data.AsMemory(0, 4000), Ct);
        await writer.WriteAsync(4000, data.AsMemory(4000), Ct);
        Assert.Equal(data.Length, writer.Length);
        Assert.False(Server.FileSystem.FileExists("/d/new.bin")); // staged, not uploaded yet

        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/new.bin"));
        Assert.Equal(["STOR"], TransferCommands("/d/new.bin"));
        Assert.Equal([("/d/new.bin", 10_000L)], uploaded);
        var stats = Writes.Statistics;
        Assert.Equal(1, stats.Uploads);
        Assert.Equal(1, stats.Verifications);
        Assert.Equal(0, stats.PendingUploads);
        Assert.Equal(0, stats.StagedBytes);
        Assert.False(Writes.TryGetLength("/d/new.bin", out _)); // released
    });

    [Fact]
    public Task A_file_larger_than_the_memory_limit_is_staged_on_disk_and_the_temp_file_removed_after_upload() => RunAsync(async () =>
    {
        var data = RandomBytes(300_000);
        var writer = Writes.OpenWriter("/d/big.bin", 0, truncate: true, isNew: true);
        await WriteChunkedAsync(writer, 0, data);
        var staged = Assert.Single(StagedFiles());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(staged));
        }

        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/big.bin"));
        Assert.Empty(StagedFiles());
    });

    [Fact]
    public Task The_default_staging_directory_is_private_and_removed_on_dispose() => RunAsync(async () =>
    {
        var manager = new WriteManager(Pool, new WriteOptions { MemoryStagingLimit = 1024 }, Log);
        string? directory;
        await using (manager)
        {
            var writer = manager.OpenWriter("/d/t.bin", 0, truncate: true, isNew: true);
            await writer.WriteAsync(0, RandomBytes(5000), Ct);
            directory = manager.Staging.DirectoryPath;
            Assert.NotNull(directory);
            Assert.StartsWith(Path.GetTempPath(), directory, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            }

            await writer.CloseAsync(Ct);
        }

        Assert.False(Directory.Exists(directory));
    });

    [Fact]
    public Task Overwrite_with_truncate_replaces_a_longer_file() => RunAsync(async () =>
    {
        Server.FileSystem.AddFile("/d/f.txt", RandomBytes(50_000));
        var data = RandomBytes(1234);
        var writer = Writes.OpenWriter("/d/f.txt", 50_000, truncate: true, isNew: false);
        Assert.Equal(0, writer.Length);
        await writer.WriteAsync(0, data, Ct);
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/f.txt"));
        Assert.Equal(["STOR"], TransferCommands("/d/f.txt"));
    });

    [Fact]
    public Task Append_uses_APPE_and_never_uploads_the_existing_start_again() => RunAsync(async () =>
    {
        var original = RandomBytes(200_000);
        Server.FileSystem.AddFile("/d/log.txt", original);
        var tail1 = RandomBytes(3000);
        var tail2 = RandomBytes(5000);

        var writer = Writes.OpenWriter("/d/log.txt", original.Length, truncate: false, isNew: false);
        Assert.False(writer.IsDirty);
        await writer.WriteAsync(original.Length, tail1, Ct);
        await writer.FlushAsync(Ct); // fsync between appends: each sends only its own tail
        await writer.WriteAsync(original.Length + tail1.Length, tail2, Ct);
        await writer.CloseAsync(Ct);

        Assert.Equal([.. original, .. tail1, .. tail2], Server.FileSystem.ReadFile("/d/log.txt"));
        Assert.Equal(["APPE", "APPE"], TransferCommands("/d/log.txt"));
        Assert.Equal(tail1.Length + tail2.Length, BytesReceivedBy("APPE", "/d/log.txt"));
        Assert.Equal(tail1.Length + tail2.Length, Writes.Statistics.BytesUploaded);
        Assert.Equal(0, Writes.Statistics.BytesDownloaded);
    });

    [Fact]
    public Task A_write_into_the_middle_of_an_existing_file_downloads_it_once_and_uploads_the_exact_new_content() => RunAsync(async () =>
    {
        var original = RandomBytes(150_000);
        Server.FileSystem.AddFile("/d/m.bin", original);
        var patch = RandomBytes(777);
        var expected = (byte[])original.Clone();
        patch.CopyTo(expected, 70_000);

        var writer = Writes.OpenWriter("/d/m.bin", original.Length, truncate: false, isNew: false);
        await writer.WriteAsync(70_000, patch, Ct);
        await writer.WriteAsync(10, patch.AsMemory(0, 5), Ct); // already staged: no second download
        patch.AsSpan(0, 5).CopyTo(expected.AsSpan(10));
        Assert.Equal(expected, await ReadAllAsync(writer));
        await writer.CloseAsync(Ct);

        Assert.Equal(expected, Server.FileSystem.ReadFile("/d/m.bin"));
        Assert.Equal(["RETR", "STOR"], TransferCommands("/d/m.bin"));
        Assert.Equal(original.Length, Writes.Statistics.BytesDownloaded);
    });

    [Fact]
    public Task A_write_below_an_appended_tail_stages_the_start_and_uploads_the_whole_file() => RunAsync(async () =>
    {
        var original = RandomBytes(20_000);
        Server.FileSystem.AddFile("/d/a.bin", original);
        var tail = RandomBytes(4000);
        var writer = Writes.OpenWriter("/d/a.bin", original.Length, truncate: false, isNew: false);
        await writer.WriteAsync(original.Length, tail, Ct);
        await writer.WriteAsync(5, new byte[] { 1, 2, 3 }, Ct);
        await writer.CloseAsync(Ct);

        byte[] expected = [.. original, .. tail];
        expected[5] = 1;
        expected[6] = 2;
        expected[7] = 3;
        Assert.Equal(expected, Server.FileSystem.ReadFile("/d/a.bin"));
        Assert.Equal(["RETR", "STOR"], TransferCommands("/d/a.bin"));
    });

    [Fact]
    public Task SetLength_extends_with_zeros_without_downloading() => RunAsync(async () =>
    {
        var original = RandomBytes(1000);
        Server.FileSystem.AddFile("/d/e.bin", original);
        var writer = Writes.OpenWriter("/d/e.bin", original.Length, truncate: false, isNew: false);
        await writer.SetLengthAsync(5000, Ct);
        Assert.Equal(5000, writer.Length);
        await writer.WriteAsync(6000, new byte[] { 9 }, Ct); // a hole after the end: zeros too
        await writer.CloseAsync(Ct);

        var expected = new byte[6001];
        original.CopyTo(expected, 0);
        expected[6000] = 9;
        Assert.Equal(expected, Server.FileSystem.ReadFile("/d/e.bin"));
        Assert.Equal(["APPE"], TransferCommands("/d/e.bin"));
    });

    [Fact]
    public Task SetLength_shrinks_an_existing_file_fetching_only_the_kept_part() => RunAsync(async () =>
    {
        var original = RandomBytes(100_000);
        Server.FileSystem.AddFile("/d/s.bin", original);
        var writer = Writes.OpenWriter("/d/s.bin", original.Length, truncate: false, isNew: false);
        await writer.SetLengthAsync(30_000, Ct);
        Assert.Equal(30_000, writer.Length);
        await writer.CloseAsync(Ct);

        Assert.Equal(original.AsSpan(0, 30_000).ToArray(), Server.FileSystem.ReadFile("/d/s.bin"));
        Assert.Equal(30_000, Writes.Statistics.BytesDownloaded);
    });

    [Fact]
    public Task SetLength_shrinks_and_regrows_staged_data() => RunAsync(async () =>
    {
        var data = RandomBytes(100_000); // on disk (above the 64 KiB memory limit)
        var writer = Writes.OpenWriter("/d/g.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.SetLengthAsync(10, Ct);
        await writer.SetLengthAsync(20, Ct);
        await writer.CloseAsync(Ct);

        Assert.Equal([.. data.AsSpan(0, 10), .. new byte[10]], Server.FileSystem.ReadFile("/d/g.bin"));
    });

    [Fact]
    public Task A_new_file_with_nothing_written_is_created_empty() => RunAsync(async () =>
    {
        var writer = Writes.OpenWriter("/d/empty", 0, truncate: false, isNew: true);
        await writer.CloseAsync(Ct);

        Assert.True(Server.FileSystem.FileExists("/d/empty"));
        Assert.Empty(Server.FileSystem.ReadFile("/d/empty"));
        Assert.Equal(["STOR"], TransferCommands("/d/empty"));
    });

    [Fact]
    public Task Truncating_an_existing_file_without_writing_empties_it() => RunAsync(async () =>
    {
        Server.FileSystem.AddFile("/d/t.bin", RandomBytes(3000));
        var writer = Writes.OpenWriter("/d/t.bin", 3000, truncate: true, isNew: false);
        await writer.CloseAsync(Ct);

        Assert.Empty(Server.FileSystem.ReadFile("/d/t.bin"));
    });

    [Fact]
    public Task Opening_without_changes_uploads_nothing() => RunAsync(async () =>
    {
        Server.FileSystem.AddFile("/d/ro.bin", RandomBytes(3000));
        var writer = Writes.OpenWriter("/d/ro.bin", 3000, truncate: false, isNew: false);
        await writer.FlushAsync(Ct);
        await writer.CloseAsync(Ct);

        Assert.Empty(TransferCommands("/d/ro.bin"));
        Assert.Equal(0, Writes.Statistics.Uploads);
    });

    [Fact]
    public Task Unflushed_data_reads_back_with_the_unstaged_start_from_the_server() => RunAsync(async () =>
    {
        var original = RandomBytes(40_000);
        Server.FileSystem.AddFile("/d/r.bin", original);
        var tail = RandomBytes(2000);
        var writer = Writes.OpenWriter("/d/r.bin", original.Length, truncate: false, isNew: false);
        await writer.WriteAsync(original.Length, tail, Ct);

        var buffer = new byte[5000];
        var n = await writer.ReadAsync(original.Length - 3000, buffer, Ct);
        Assert.Equal(5000, n);
        Assert.Equal([.. original.AsSpan(original.Length - 3000), .. tail], buffer);
        Assert.Equal(5000, await writer.ReadAsync(100, buffer, Ct)); // entirely below the staged tail
        Assert.Equal(original.AsSpan(100, 5000).ToArray(), buffer);
        Assert.Equal(0, await writer.ReadAsync(original.Length + tail.Length, buffer, Ct));
        Assert.Equal(1000, await writer.ReadAsync(original.Length + tail.Length - 1000, buffer, Ct));
        Assert.Equal(original, Server.FileSystem.ReadFile("/d/r.bin")); // nothing uploaded by reading

        await writer.CloseAsync(Ct);
        Assert.Equal([.. original, .. tail], Server.FileSystem.ReadFile("/d/r.bin"));
    });

    [Fact]
    public Task Reads_may_run_while_writes_do() => RunAsync(async () =>
    {
        var data = RandomBytes(400_000);
        var writer = Writes.OpenWriter("/d/c.bin", 0, truncate: true, isNew: true);
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[8192];
            while (!stop.IsCancellationRequested)
            {
                var length = writer.Length;
                var offset = length > buffer.Length ? Random.Shared.NextInt64(length - buffer.Length) : 0;
                var n = await writer.ReadAsync(offset, buffer, Ct);
                Assert.Equal(data.AsSpan((int)offset, n).ToArray(), buffer.AsSpan(0, n).ToArray());
            }
        });
        await WriteChunkedAsync(writer, 0, data, chunk: 4096);
        await stop.CancelAsync();
        await reader;
        await writer.CloseAsync(Ct);
        Assert.Equal(data, Server.FileSystem.ReadFile("/d/c.bin"));
    });

    [Fact]
    public Task Two_writers_on_one_file_share_their_writes_and_the_last_close_releases() => RunAsync(async () =>
    {
        var a = Writes.OpenWriter("/d/shared", 0, truncate: true, isNew: true);
        await a.WriteAsync(0, "hello "u8.ToArray(), Ct);
        var b = Writes.OpenWriter("/d/shared", 0, truncate: false, isNew: false);
        Assert.Equal(6, b.Length);
        await b.WriteAsync(6, "world"u8.ToArray(), Ct);
        Assert.Equal("hello world"u8.ToArray(), await ReadAllAsync(a));

        await b.CloseAsync(Ct);
        Assert.Equal("hello world"u8.ToArray(), Server.FileSystem.ReadFile("/d/shared"));
        Assert.True(Writes.TryGetLength("/d/shared", out _)); // a is still open
        await a.CloseAsync(Ct);
        Assert.False(Writes.TryGetLength("/d/shared", out _));
        Assert.Single(TransferCommands("/d/shared")); // the second close had nothing new
    });

    [Fact]
    public Task Opening_with_truncate_empties_the_shared_state_at_once() => RunAsync(async () =>
    {
        var a = Writes.OpenWriter("/d/tr", 0, truncate: true, isNew: true);
        await a.WriteAsync(0, RandomBytes(5000), Ct);
        var b = Writes.OpenWriter("/d/tr", 0, truncate: true, isNew: false);
        Assert.Equal(0, b.Length);
        Assert.Equal(0, a.Length);
        await b.WriteAsync(0, "new"u8.ToArray(), Ct);
        await a.CloseAsync(Ct);
        await b.CloseAsync(Ct);
        Assert.Equal("new"u8.ToArray(), Server.FileSystem.ReadFile("/d/tr"));
    });

    [Fact]
    public Task Renaming_onto_a_file_being_written_drops_the_replaced_file() => RunAsync(async () =>
    {
        var replaced = Writes.OpenWriter("/d/target", 0, truncate: true, isNew: true);
        await replaced.WriteAsync(0, "old"u8.ToArray(), Ct);
        var moved = Writes.OpenWriter("/d/source", 0, truncate: true, isNew: true);
        await moved.WriteAsync(0, "moved"u8.ToArray(), Ct);
        moved.Path = "/d/target";

        await replaced.CloseAsync(Ct); // its file was replaced: nothing to upload
        Assert.False(Server.FileSystem.FileExists("/d/target"));
        await moved.CloseAsync(Ct);
        Assert.Equal("moved"u8.ToArray(), Server.FileSystem.ReadFile("/d/target"));
        Assert.Equal(["STOR"], TransferCommands("/d/target"));
    });

    [Fact]
    public Task Renaming_an_open_file_uploads_to_the_new_path() => RunAsync(async () =>
    {
        var writer = Writes.OpenWriter("/d/old", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, "abc"u8.ToArray(), Ct);
        writer.Path = "/d/new";
        Assert.True(Writes.TryGetLength("/d/new", out var length));
        Assert.Equal(3, length);
        Assert.False(Writes.TryGetLength("/d/old", out _));
        await writer.CloseAsync(Ct);

        Assert.Equal("abc"u8.ToArray(), Server.FileSystem.ReadFile("/d/new"));
        Assert.False(Server.FileSystem.FileExists("/d/old"));
    });

    [Fact]
    public Task A_forgotten_file_is_never_uploaded() => RunAsync(async () =>
    {
        var writer = Writes.OpenWriter("/d/gone", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, "abc"u8.ToArray(), Ct);
        await Writes.ForgetAsync("/d/gone", Ct);
        await writer.WriteAsync(3, "def"u8.ToArray(), Ct);
        Assert.Equal("abcdef"u8.ToArray(), await ReadAllAsync(writer)); // like an unlinked open file
        await writer.CloseAsync(Ct);

        Assert.False(Server.FileSystem.FileExists("/d/gone"));
        Assert.Empty(StagedFiles());
    });

    [Fact]
    public Task A_server_checksum_verifies_the_upload_when_offered() => RunAsync(async () =>
    {
        Server.Options.EnableHashCommands = true;
        Server.Options.Features.Add("HASH SHA-256*;SHA-1;MD5");
        var data = RandomBytes(90_000);
        var writer = Writes.OpenWriter("/d/h.bin", 0, truncate: true, isNew: true);
        await writer.WriteAsync(0, data, Ct);
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/h.bin"));
        Assert.Single(Server.CommandsWithVerb("HASH"));
        Assert.Equal(1, Writes.Statistics.ChecksumVerifications);
    });

    [Theory]
    [InlineData("SHA-256")]
    [InlineData("SHA-1")]
    [InlineData("MD5")]
    [InlineData("CRC32")]
    [InlineData("SHA-512")]
    public void Local_checksums_match_known_values(string algorithm)
    {
        var expected = algorithm switch
        {
            "SHA-256" => "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-1" => "a9993e364706816aba3e25717850c26c9cd0d89d",
            "MD5" => "900150983cd24fb0d6963f7d28e17f72",
            "CRC32" => "352441c2",
            _ => "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        };
        Assert.Equal(expected, Checksums.Compute("abc"u8, algorithm));
    }
}
