using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Writing;

/// <summary>Large sequential writes stream their upload while the file is written.</summary>
public sealed class WriteStreamingTests(ITestOutputHelper output) : ScriptedWriteTestBase(output)
{
    protected override long StreamThreshold => 128 * 1024;

    [Fact]
    public Task A_large_sequential_write_streams_its_STOR_before_close() => RunAsync(async () =>
    {
        var data = RandomBytes(3 * 1024 * 1024);
        var writer = Writes.OpenWriter("/d/s.bin", 0, truncate: true, isNew: true);
        await WriteChunkedAsync(writer, 0, data.AsSpan(0, 2 * 1024 * 1024).ToArray());

        // The transfer runs before close: the server is receiving data already.
        await Server.WaitUntilAsync(() => BytesReceivedBy("STOR", "/d/s.bin") > 0 || Server.DataConnections.Any(d => d.Command == "STOR /d/s.bin" && d.BytesReceived > 0),
            TimeSpan.FromSeconds(30), "streamed STOR receiving data");
        Assert.Equal(["STOR"], TransferCommands("/d/s.bin"));

        await WriteChunkedAsync(writer, 2 * 1024 * 1024, data.AsSpan(2 * 1024 * 1024).ToArray());
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/s.bin"));
        Assert.Equal(["STOR"], TransferCommands("/d/s.bin"));
        Assert.Equal(1, Writes.Statistics.StreamedUploads);
        Assert.Equal(data.Length, Writes.Statistics.BytesUploaded);
        Assert.Empty(StagedFiles());
    });

    [Fact]
    public Task A_large_append_streams_with_APPE() => RunAsync(async () =>
    {
        var original = RandomBytes(5000);
        Server.FileSystem.AddFile("/d/a.log", original);
        var tail = RandomBytes(1024 * 1024);
        var writer = Writes.OpenWriter("/d/a.log", original.Length, truncate: false, isNew: false);
        await WriteChunkedAsync(writer, original.Length, tail);
        await writer.CloseAsync(Ct);

        Assert.Equal([.. original, .. tail], Server.FileSystem.ReadFile("/d/a.log"));
        Assert.Equal(["APPE"], TransferCommands("/d/a.log"));
        Assert.Equal(1, Writes.Statistics.StreamedUploads);
        Assert.Equal(tail.Length, BytesReceivedBy("APPE", "/d/a.log"));
    });

    [Fact]
    public Task A_write_out_of_sequence_stops_the_stream_and_the_staged_file_is_uploaded_whole() => RunAsync(async () =>
    {
        var data = RandomBytes(1024 * 1024);
        var writer = Writes.OpenWriter("/d/r.bin", 0, truncate: true, isNew: true);
        await WriteChunkedAsync(writer, 0, data);
        await Server.WaitUntilAsync(() => Server.DataConnections.Any(d => d.Command == "STOR /d/r.bin"), TimeSpan.FromSeconds(30), "stream started");

        var patch = RandomBytes(100);
        await writer.WriteAsync(4096, patch, Ct); // e.g. a header written last
        patch.CopyTo(data, 4096);
        var more = RandomBytes(300_000);
        await WriteChunkedAsync(writer, data.Length, more);
        await writer.CloseAsync(Ct);

        Assert.Equal([.. data, .. more], Server.FileSystem.ReadFile("/d/r.bin"));
        Assert.Equal(0, Writes.Statistics.StreamedUploads);
        Assert.Equal(1, Writes.Statistics.Uploads);
    });

    [Fact]
    public Task A_stream_cut_by_the_server_is_finished_from_the_staged_copy_where_it_stopped() => RunAsync(async () =>
    {
        CutFirstUpload("STOR", keepBytes: 200_000);
        var data = RandomBytes(2 * 1024 * 1024);
        var writer = Writes.OpenWriter("/d/c.bin", 0, truncate: true, isNew: true);
        await WriteChunkedAsync(writer, 0, data);
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/c.bin"));
        Assert.Equal(["STOR", "REST 200000", "STOR"], TransferCommands("/d/c.bin"));
        Assert.Equal(1, Writes.Statistics.Resumes);
    });

    [Fact]
    public Task Truncate_to_zero_then_rewrite_streams_again() => RunAsync(async () =>
    {
        Server.FileSystem.AddFile("/d/t.bin", RandomBytes(10_000));
        var data = RandomBytes(1024 * 1024);
        var writer = Writes.OpenWriter("/d/t.bin", 10_000, truncate: false, isNew: false);
        await writer.SetLengthAsync(0, Ct);
        await WriteChunkedAsync(writer, 0, data);
        await writer.CloseAsync(Ct);

        Assert.Equal(data, Server.FileSystem.ReadFile("/d/t.bin"));
        Assert.Equal(1, Writes.Statistics.StreamedUploads);
        Assert.Equal(["STOR"], TransferCommands("/d/t.bin"));
    });
}
