using Xunit;

namespace FtpsMount.Testing.Conformance;

// read, write, pread/pwrite, append, truncate, overwrite, zero-length, open errors, durability.
public abstract partial class ConformanceTests
{
    [Fact]
    public Task Write_then_read_back_whole_file() => RunAsync(async s =>
    {
        var data = TestData.Bytes(300_000, 1);
        await s.WriteAsync(s.P("f.bin"), data);
        await s.AssertContentAsync(s.P("f.bin"), data, "after write+close");
        await s.AssertStoredAsync(s.P("f.bin"), data, "right after close");
    });

    [Fact]
    public Task Pread_returns_exact_ranges_and_short_or_empty_reads_only_at_end_of_file() => RunAsync(async s =>
    {
        var data = TestData.Bytes(200_000, 2);
        await s.WriteAsync(s.P("f.bin"), data);
        var file = await s.Target.OpenAsync(s.P("f.bin"), FsOpenRequest.ReadOnly, s.Ct);
        await using (file)
        {
            foreach (var (offset, length) in new (int, int)[] { (0, 10), (65_536, 4096), (1, 131_071), (150_000, 50_000), (199_999, 1), (12_345, 100_000) })
            {
                var buffer = new byte[length];
                var n = await file.ReadAtAsync(offset, buffer, s.Ct);
                Assert.True(n == length, $"pread({offset}, {length}) inside the file returned {n} bytes, expected all {length}");
                AssertBytes(data.AsSpan(offset, length).ToArray(), buffer, $"pread({offset}, {length})");
            }

            var tail = new byte[1000];
            var got = await file.ReadAtAsync(199_500, tail, s.Ct);
            Assert.True(got == 500, $"pread straddling end of file (offset 199500, 1000 bytes of a 200000-byte file) returned {got}, expected 500");
            AssertBytes(data.AsSpan(199_500, 500).ToArray(), tail.AsSpan(0, 500).ToArray(), "pread straddling end of file");
            Assert.Equal(0, await file.ReadAtAsync(200_000, new byte[10], s.Ct));
            Assert.Equal(0, await file.ReadAtAsync(5_000_000, new byte[10], s.Ct));
            await file.CloseAsync(s.Ct);
        }
    });

    [Fact]
    public Task Pwrite_patches_in_place_and_a_gap_past_end_of_file_reads_as_zeros() => RunAsync(async s =>
    {
        var data = TestData.Bytes(100_000, 3);
        await s.WriteAsync(s.P("f.bin"), data);
        var expected = data.ToList();
        var file = await s.Target.OpenAsync(s.P("f.bin"), FsOpenRequest.ReadWrite, s.Ct);
        await using (file)
        {
            var patch = TestData.Bytes(5000, 4);
            await file.WriteAtAsync(40_000, patch, s.Ct);
            Patch(expected, 40_000, patch);
            var far = TestData.Bytes(777, 5);
            await file.WriteAtAsync(150_000, far, s.Ct); // 50 000-byte hole
            Patch(expected, 150_000, far);
            await file.WriteAtAsync(0, TestData.Text("head"), s.Ct);
            Patch(expected, 0, TestData.Text("head"));
            Assert.Equal(150_777, await file.GetLengthAsync(s.Ct));
            await file.CloseAsync(s.Ct);
        }

        await s.AssertContentAsync(s.P("f.bin"), [.. expected], "after pwrites (patch, gap, head)");
        await s.AssertStoredAsync(s.P("f.bin"), [.. expected], "after pwrites");
    });

    [Fact]
    public Task A_handle_reads_its_own_writes_before_close() => RunAsync(async s =>
    {
        var file = await s.Target.OpenAsync(s.P("f.bin"), FsOpenRequest.CreateNew, s.Ct);
        await using (file)
        {
            var a = TestData.Bytes(70_000, 6);
            await file.WriteAtAsync(0, a, s.Ct);
            var back = new byte[a.Length];
            Assert.Equal(a.Length, await ReadFullyAsync(file, 0, back, s));
            AssertBytes(a, back, "read through the writing handle before close");
            await file.WriteAtAsync(1000, TestData.Text("XYZ"), s.Ct);
            var small = new byte[5];
            Assert.Equal(5, await file.ReadAtAsync(999, small, s.Ct));
            AssertBytes([a[999], (byte)'X', (byte)'Y', (byte)'Z', a[1003]], small, "read after an overlapping write on the same handle");
            Assert.Equal(a.Length, await file.GetLengthAsync(s.Ct));
            await file.CloseAsync(s.Ct);
        }
    });

    [Fact]
    public Task A_read_write_handle_reads_the_existing_content_before_and_after_writing() => RunAsync(async s =>
    {
        var data = TestData.Bytes(90_000, 14);
        await s.WriteAsync(s.P("f.bin"), data);
        var file = await s.Target.OpenAsync(s.P("f.bin"), FsOpenRequest.ReadWrite, s.Ct);
        await using (file)
        {
            var before = new byte[5000];
            Assert.Equal(before.Length, await ReadFullyAsync(file, 2884, before, s));
            AssertBytes(data.AsSpan(2884, 5000).ToArray(), before, "pread(2884, 5000) on an O_RDWR handle before any write");
            await file.WriteAtAsync(50_000, TestData.Text("patch"), s.Ct);
            var around = new byte[20];
            Assert.Equal(around.Length, await ReadFullyAsync(file, 49_990, around, s));
            TestData.Text("patch").CopyTo(data, 50_000);
            AssertBytes(data.AsSpan(49_990, 20).ToArray(), around, "pread around a write on the same O_RDWR handle (old bytes on both sides)");
            var far = new byte[1000];
            Assert.Equal(far.Length, await ReadFullyAsync(file, 80_000, far, s));
            AssertBytes(data.AsSpan(80_000, 1000).ToArray(), far, "pread of untouched bytes after a write on the same handle");
            await file.CloseAsync(s.Ct);
        }

        await s.AssertContentAsync(s.P("f.bin"), data, "after the O_RDWR session");
    });

    [Fact]
    public Task Append_adds_to_the_end_and_creates_a_missing_file() => RunAsync(async s =>
    {
        var path = s.P("log.txt");
        await s.Target.AppendAsync(path, TestData.Text("one\n"), s.Ct);
        await s.AssertContentAsync(path, TestData.Text("one\n"), "append to a missing file creates it");
        await s.Target.AppendAsync(path, TestData.Text("two\n"), s.Ct);
        var big = TestData.Bytes(150_000, 7);
        await s.Target.AppendAsync(path, big, s.Ct);
        byte[] expected = [.. TestData.Text("one\ntwo\n"), .. big];
        await s.AssertContentAsync(path, expected, "after three appends");
        await s.AssertStoredAsync(path, expected, "after three appends");
    });

    [Fact]
    public Task Append_through_an_open_handle_at_its_length() => RunAsync(async s =>
    {
        var path = s.P("f.txt");
        await s.WriteAsync(path, TestData.Text("abc"));
        var file = await s.Target.OpenAsync(path, FsOpenRequest.ReadWrite, s.Ct);
        await using (file)
        {
            for (var i = 0; i < 3; i++)
            {
                var end = await file.GetLengthAsync(s.Ct);
                await file.WriteAtAsync(end, TestData.Text($"+{i}"), s.Ct);
            }

            await file.CloseAsync(s.Ct);
        }

        await s.AssertContentAsync(path, TestData.Text("abc+0+1+2"), "appends at the handle's length");
    });

    [Fact]
    public Task Truncate_shrinks_by_path_and_by_handle() => RunAsync(async s =>
    {
        var data = TestData.Bytes(120_000, 8);
        await s.WriteAsync(s.P("a"), data);
        await s.Target.TruncateAsync(s.P("a"), 50_000, s.Ct);
        await s.AssertContentAsync(s.P("a"), data[..50_000], "truncate(path) to 50000");

        await s.WriteAsync(s.P("b"), data);
        var file = await s.Target.OpenAsync(s.P("b"), FsOpenRequest.ReadWrite, s.Ct);
        await using (file)
        {
            await file.SetLengthAsync(1234, s.Ct);
            Assert.Equal(1234, await file.GetLengthAsync(s.Ct));
            await file.CloseAsync(s.Ct);
        }

        await s.AssertContentAsync(s.P("b"), data[..1234], "ftruncate to 1234");
        await s.Target.TruncateAsync(s.P("b"), 0, s.Ct);
        await s.AssertContentAsync(s.P("b"), [], "truncate(path) to 0");
        await s.AssertStoredAsync(s.P("a"), data[..50_000], "after truncate(path)");
    });

    [Fact]
    public Task Truncate_extends_with_zero_bytes_by_path_and_by_handle() => RunAsync(async s =>
    {
        var data = TestData.Bytes(3000, 9);
        await s.WriteAsync(s.P("a"), data);
        await s.Target.TruncateAsync(s.P("a"), 10_000, s.Ct);
        await s.AssertContentAsync(s.P("a"), [.. data, .. new byte[7000]], "truncate(path) from 3000 up to 10000");

        await s.WriteAsync(s.P("b"), data);
        var file = await s.Target.OpenAsync(s.P("b"), FsOpenRequest.ReadWrite, s.Ct);
        await using (file)
        {
            await file.SetLengthAsync(2_000_000, s.Ct);
            await file.WriteAtAsync(1_000_000, TestData.Text("mid"), s.Ct);
            await file.CloseAsync(s.Ct);
        }

        var expected = new byte[2_000_000];
        data.CopyTo(expected, 0);
        TestData.Text("mid").CopyTo(expected, 1_000_000);
        await s.AssertContentAsync(s.P("b"), expected, "ftruncate up to 2000000 and a write inside the zeros");
        await s.AssertStoredAsync(s.P("b"), expected, "after extending");
    });

    [Fact]
    public Task Truncate_of_a_missing_file_is_NotFound() => RunAsync(async s =>
    {
        await Fails(FsTargetError.NotFound, () => s.Target.TruncateAsync(s.P("missing"), 10, s.Ct), "truncate of a missing file");
        await s.AssertMissingAsync(s.P("missing"), "a failed truncate must not create the file");
    });

    [Fact]
    public Task Overwrite_with_O_TRUNC_replaces_the_whole_content() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("f"), TestData.Bytes(500_000, 10));
        _ = await s.ReadAsync(s.P("f")); // warm any read cache
        var second = TestData.Text("short");
        await s.WriteAsync(s.P("f"), second);
        await s.AssertContentAsync(s.P("f"), second, "after overwriting 500000 bytes with 5");
        await s.AssertStoredAsync(s.P("f"), second, "after overwrite");
    });

    [Fact]
    public Task Overwrite_in_the_middle_keeps_the_rest() => RunAsync(async s =>
    {
        var data = TestData.Bytes(400_000, 11);
        await s.WriteAsync(s.P("f"), data);
        _ = await s.ReadAsync(s.P("f"));
        var file = await s.Target.OpenAsync(s.P("f"), FsOpenRequest.WriteOnly, s.Ct);
        await using (file)
        {
            await file.WriteAtAsync(200_000, TestData.Text("MIDDLE"), s.Ct);
            await file.CloseAsync(s.Ct);
        }

        TestData.Text("MIDDLE").CopyTo(data, 200_000);
        await s.AssertContentAsync(s.P("f"), data, "after a 6-byte write at 200000 (no O_TRUNC)");
        await s.AssertStoredAsync(s.P("f"), data, "after a write in the middle");
    });

    [Fact]
    public Task Zero_length_files() => RunAsync(async s =>
    {
        var created = await s.Target.OpenAsync(s.P("empty"), FsOpenRequest.CreateNew, s.Ct);
        await using (created)
        {
            await created.CloseAsync(s.Ct);
        }

        await s.AssertContentAsync(s.P("empty"), [], "created and closed without a write");
        await s.AssertStoredAsync(s.P("empty"), [], "an empty file exists in the store");
        await s.WriteAsync(s.P("empty2"), []);
        await s.AssertContentAsync(s.P("empty2"), [], "WriteAll of nothing");
        await s.AssertNamesAsync(s.Dir, ["empty", "empty2"], "both empty files are listed");
    });

    [Fact]
    public Task Exclusive_create_of_an_existing_file_is_Exists() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("f"), TestData.Text("keep"));
        await Fails(FsTargetError.Exists, () => s.Target.OpenAsync(s.P("f"), FsOpenRequest.CreateNew, s.Ct), "O_CREAT|O_EXCL on an existing file");
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await Fails(FsTargetError.Exists, () => s.Target.OpenAsync(s.P("d"), FsOpenRequest.CreateNew, s.Ct), "O_CREAT|O_EXCL on an existing directory");
        await s.AssertContentAsync(s.P("f"), TestData.Text("keep"), "the existing file is untouched");
    });

    [Fact]
    public Task Opening_a_missing_file_or_under_a_missing_directory_is_NotFound() => RunAsync(async s =>
    {
        await Fails(FsTargetError.NotFound, () => s.Target.OpenAsync(s.P("missing"), FsOpenRequest.ReadOnly, s.Ct), "open O_RDONLY of a missing file");
        await Fails(FsTargetError.NotFound, () => s.Target.OpenAsync(s.P("missing"), FsOpenRequest.ReadWrite, s.Ct), "open O_RDWR (no O_CREAT) of a missing file");
        await Fails(FsTargetError.NotFound, () => s.Target.OpenAsync(s.P("nodir/f"), FsOpenRequest.CreateOrTruncate, s.Ct), "create under a missing directory");
        await Fails(FsTargetError.NotFound, () => s.ReadAsync(s.P("missing")), "read of a missing file");
        await s.AssertNamesAsync(s.Dir, [], "nothing was created");
    });

    [Fact]
    public Task Opening_a_directory_for_writing_is_IsDirectory() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await Fails(FsTargetError.IsDirectory, () => s.Target.OpenAsync(s.P("d"), FsOpenRequest.WriteOnly, s.Ct), "open O_WRONLY of a directory");
        await Fails(FsTargetError.IsDirectory, () => s.Target.OpenAsync(s.P("d"), FsOpenRequest.CreateOrTruncate, s.Ct), "open O_CREAT|O_TRUNC of a directory");
        Assert.True((await s.StatAsync(s.P("d"))).IsDirectory, "the directory is still a directory");
    });

    [Fact]
    public Task Flush_puts_the_data_in_the_store_before_close() => RunAsync(async s =>
    {
        var data = TestData.Bytes(250_000, 12);
        var file = await s.Target.OpenAsync(s.P("f"), FsOpenRequest.CreateNew, s.Ct);
        await using (file)
        {
            await file.WriteAtAsync(0, data, s.Ct);
            await file.FlushAsync(s.Ct);
            await s.AssertStoredAsync(s.P("f"), data, "after fsync, before close");
            await file.WriteAtAsync(data.Length, TestData.Text("more"), s.Ct);
            await file.CloseAsync(s.Ct);
        }

        await s.AssertStoredAsync(s.P("f"), [.. data, .. TestData.Text("more")], "after a write following fsync, then close");
    });

    [Fact]
    public Task A_second_client_sees_what_the_first_wrote() => RunAsync(async s =>
    {
        var data = TestData.Bytes(1_500_000, 13);
        await s.WriteAsync(s.P("f"), data);
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.WriteAsync(s.P("d/g"), TestData.Text("g"));
        var other = await s.CreateSecondTargetAsync();
        await s.AssertContentAsync(s.P("f"), data, "read by a second client", other);
        var names = (await other.ListAsync(s.Dir, s.Ct)).Select(e => e.Name).Order(StringComparer.Ordinal).ToList();
        Assert.True(names.SequenceEqual(["d", "f"]), $"second client lists [{string.Join(", ", names)}], expected [d, f]");
        await s.AssertContentAsync(s.P("d/g"), TestData.Text("g"), "read by a second client", other);
    });

    private static void Patch(List<byte> content, int offset, byte[] data)
    {
        while (content.Count < offset + data.Length)
        {
            content.Add(0);
        }

        for (var i = 0; i < data.Length; i++)
        {
            content[offset + i] = data[i];
        }
    }

    private static async Task<int> ReadFullyAsync(IFsTargetFile file, long offset, byte[] buffer, ConformanceScope s)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await file.ReadAtAsync(offset + total, buffer.AsMemory(total), s.Ct);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
