using System.Diagnostics;
using System.Security.Cryptography;
using Xunit;

namespace FtpsMount.Testing.Conformance;

// unicode names, large files, concurrency, changes made behind the target's back.
public abstract partial class ConformanceTests
{
    [Theory]
    [InlineData("café é.txt")]
    [InlineData("日本語のファイル.txt")]
    [InlineData("emoji 😀🎉.bin")]
    [InlineData("two  spaces and more.txt")]
    [InlineData(".hidden")]
    [InlineData("..double-leading-dot")]
    [InlineData("semi;colon,comma=equals+plus#hash%percent&amp'quote")]
    public Task Unicode_and_unusual_file_names(string name) => RunAsync(async s =>
    {
        var data = TestData.Text("content of " + name);
        await s.WriteAsync(s.P(name), data);
        await s.AssertNamesAsync(s.Dir, [name], "the listing shows the name exactly (same code points)");
        await s.AssertContentAsync(s.P(name), data, "read back by the same name");
        var st = await s.StatAsync(s.P(name));
        Assert.Equal(name, st.Name);
        await s.AssertStoredAsync(s.P(name), data, "stored under the same name");
        await s.Target.RenameAsync(s.P(name), s.P("renamed " + name), noReplace: false, s.Ct);
        await s.AssertNamesAsync(s.Dir, ["renamed " + name], "after rename");
        await s.Target.DeleteFileAsync(s.P("renamed " + name), s.Ct);
        await s.AssertNamesAsync(s.Dir, [], "after unlink");
    });

    [Fact]
    public Task Unicode_directory_names() => RunAsync(async s =>
    {
        string[] dirs = ["répertoire é", "目录", "📁 folder", ".config"];
        foreach (var d in dirs)
        {
            await s.Target.CreateDirectoryAsync(s.P(d), s.Ct);
            await s.WriteAsync(s.P(d + "/ü.txt"), TestData.Text(d));
        }

        await s.AssertNamesAsync(s.Dir, dirs, "unicode directories");
        foreach (var d in dirs)
        {
            await s.AssertNamesAsync(s.P(d), ["ü.txt"], $"inside \"{d}\"");
            await s.AssertContentAsync(s.P(d + "/ü.txt"), TestData.Text(d), $"file inside \"{d}\"");
        }

        await s.Target.RenameAsync(s.P("目录"), s.P("目录 2"), noReplace: false, s.Ct);
        await s.AssertContentAsync(s.P("目录 2/ü.txt"), TestData.Text("目录"), "file inside a renamed unicode directory");
    });

    [Fact]
    public Task Large_file_is_byte_exact() => RunAsync(async s =>
    {
        var size = LargeFileSize;
        var data = TestData.Bytes(size, 40);
        var expectedHash = Convert.ToHexStringLower(SHA256.HashData(data));
        var path = s.P("large.bin");
        var sw = Stopwatch.StartNew();
        var file = await s.Target.OpenAsync(path, FsOpenRequest.CreateNew, s.Ct);
        await using (file)
        {
            const int Chunk = 1024 * 1024;
            for (var offset = 0; offset < size; offset += Chunk)
            {
                await file.WriteAtAsync(offset, data.AsMemory(offset, Math.Min(Chunk, size - offset)), s.Ct);
            }

            await file.CloseAsync(s.Ct);
        }

        s.Log($"wrote {size} bytes in {sw.ElapsedMilliseconds} ms (close included)");
        var st = await s.StatAsync(path);
        Assert.True(st.Size == size, $"stat size of the large file: {st.Size}, expected {size}");
        if (s.Target.Backdoor is { } backdoor)
        {
            var stored = await backdoor.ReadFileAsync(path, s.Ct) ?? [];
            Assert.True(Convert.ToHexStringLower(SHA256.HashData(stored)) == expectedHash,
                $"stored large file: {stored.Length} bytes, sha256 differs from what was written ({size} bytes)");
        }

        sw.Restart();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var reader = await s.Target.OpenAsync(path, FsOpenRequest.ReadOnly, s.Ct);
        await using (reader)
        {
            var buffer = new byte[1024 * 1024];
            long total = 0;
            while (true)
            {
                var n = await reader.ReadAtAsync(total, buffer, s.Ct);
                if (n == 0)
                {
                    break;
                }

                hash.AppendData(buffer, 0, n);
                total += n;
            }

            Assert.True(total == size, $"sequential read of the large file gave {total} bytes, expected {size}");
            s.Log($"read {total} bytes sequentially in {sw.ElapsedMilliseconds} ms");
            Assert.True(Convert.ToHexStringLower(hash.GetHashAndReset()) == expectedHash, "sha256 of the large file read back differs from what was written");

            var rng = new Random(41);
            var small = new byte[4096];
            for (var i = 0; i < 16; i++)
            {
                var offset = rng.Next(0, size - small.Length);
                Assert.Equal(small.Length, await reader.ReadAtAsync(offset, small, s.Ct));
                AssertBytes(data.AsSpan(offset, small.Length).ToArray(), small, $"random 4 KiB read at {offset} of the large file");
            }

            await reader.CloseAsync(s.Ct);
        }

        // A fresh client has nothing cached: its copy comes from the store.
        sw.Restart();
        var other = await s.CreateSecondTargetAsync();
        var cold = await other.ReadAllAsync(path, s.Ct);
        Assert.True(cold.Length == size && Convert.ToHexStringLower(SHA256.HashData(cold)) == expectedHash,
            $"a second client read {cold.Length} bytes of the large file (expected {size}) and its sha256 differs from what was written");
        s.Log($"a second client read it in {sw.ElapsedMilliseconds} ms");
        await s.Target.DeleteFileAsync(path, s.Ct);
    }, LongTestTimeout);

    [Fact]
    public Task Concurrent_readers_of_one_file() => RunAsync(async s =>
    {
        var data = TestData.Bytes(3 * 1024 * 1024 + 17, 42);
        await s.WriteAsync(s.P("shared.bin"), data);
        var shared = await s.Target.OpenAsync(s.P("shared.bin"), FsOpenRequest.ReadOnly, s.Ct);
        await using (shared)
        {
            var readers = Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
            {
                // Each whole-file reader has its own handle and starts at a different place.
                var f = await s.Target.OpenAsync(s.P("shared.bin"), FsOpenRequest.ReadOnly, s.Ct);
                await using (f)
                {
                    var content = new byte[data.Length];
                    var start = (data.Length / 6) * i;
                    await ReadRangeAsync(f, start, content.AsMemory(start), s.Ct);
                    await ReadRangeAsync(f, 0, content.AsMemory(0, start), s.Ct);
                    AssertBytes(data, content, $"concurrent reader {i} (own handle)");
                    await f.CloseAsync(s.Ct);
                }
            }, s.Ct));
            var random = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
            {
                // Random preads on one handle shared by several callers.
                var rng = new Random(100 + i);
                var buffer = new byte[8192];
                for (var k = 0; k < 25; k++)
                {
                    var offset = rng.Next(0, data.Length - buffer.Length);
                    var n = await shared.ReadAtAsync(offset, buffer, s.Ct);
                    Assert.True(n == buffer.Length, $"shared-handle reader {i}: pread at {offset} returned {n}");
                    AssertBytes(data.AsSpan(offset, buffer.Length).ToArray(), buffer, $"shared-handle reader {i}, pread at {offset}");
                }
            }, s.Ct));
            await Task.WhenAll(readers.Concat(random));
            await shared.CloseAsync(s.Ct);
        }
    }, LongTestTimeout);

    [Fact]
    public Task Concurrent_writers_of_different_files() => RunAsync(async s =>
    {
        var contents = Enumerable.Range(0, 6).ToDictionary(i => s.P($"w{i}.bin"), i => TestData.Bytes(1_000_000 + i * 100_003, 50 + i));
        await Task.WhenAll(contents.Select(kv => Task.Run(async () =>
        {
            var f = await s.Target.OpenAsync(kv.Key, FsOpenRequest.CreateNew, s.Ct);
            await using (f)
            {
                for (var offset = 0; offset < kv.Value.Length; offset += 256 * 1024)
                {
                    await f.WriteAtAsync(offset, kv.Value.AsMemory(offset, Math.Min(256 * 1024, kv.Value.Length - offset)), s.Ct);
                }

                await f.CloseAsync(s.Ct);
            }
        }, s.Ct)));
        await s.AssertNamesAsync(s.Dir, contents.Keys.Select(TargetPath.Name), "all concurrently written files are listed");
        foreach (var (path, expected) in contents)
        {
            await s.AssertContentAsync(path, expected, "a concurrently written file");
            await s.AssertStoredAsync(path, expected, "a concurrently written file");
        }

        // And concurrent small whole-file writes plus listings and stats of the same directory.
        var small = Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
        {
            await s.WriteAsync(s.P($"s{i}"), TestData.Bytes(i * 10, i));
            _ = await s.Target.ListAsync(s.Dir, s.Ct);
            var st = await s.StatAsync(s.P($"s{i}"));
            Assert.True(st.Size == i * 10, $"stat of s{i} right after writing it concurrently with others: {st}");
        }, s.Ct));
        await Task.WhenAll(small);
        await s.AssertNamesAsync(s.Dir, [.. contents.Keys.Select(TargetPath.Name), .. Enumerable.Range(0, 12).Select(i => $"s{i}")], "after the small concurrent writes");
    }, LongTestTimeout);

    [Fact]
    public Task A_file_changed_behind_the_back_is_seen_after_the_declared_delay() => RunAsync(async s =>
    {
        if (BehindTheBack(s) is not { } within)
        {
            return;
        }

        var v1 = TestData.Text("version one");
        var v2 = TestData.Text("version two is longer");
        await s.WriteAsync(s.P("f"), v1);
        await s.AssertContentAsync(s.P("f"), v1, "before the external change");
        await s.AssertNamesAsync(s.Dir, ["f"], "before the external change");
        await s.Target.Backdoor!.ModifyBehindTheBackAsync(s.P("f"), v2, s.Ct);
        var took = await s.EventuallyAsync(within, "an external rewrite becomes visible", () => s.AssertContentAsync(s.P("f"), v2, "after the external change"));
        s.Log($"external rewrite seen after {took.TotalSeconds:F1}s (allowed {within.TotalSeconds:F1}s)");
        var entry = (await s.Target.ListAsync(s.Dir, s.Ct)).Single(e => e.Name == "f");
        await s.EventuallyAsync(within, "readdir shows the external size", async () =>
        {
            entry = (await s.Target.ListAsync(s.Dir, s.Ct)).Single(e => e.Name == "f");
            Assert.True(entry.Size == v2.Length, $"readdir size {entry.Size}, expected {v2.Length}");
        });
    });

    [Fact]
    public Task A_file_created_behind_the_back_is_seen_after_the_declared_delay() => RunAsync(async s =>
    {
        if (BehindTheBack(s) is not { } within)
        {
            return;
        }

        await s.AssertMissingAsync(s.P("late"), "before it exists (and now negatively cached, if the target caches)");
        await s.AssertNamesAsync(s.Dir, [], "before it exists");
        await s.Target.Backdoor!.ModifyBehindTheBackAsync(s.P("late"), TestData.Text("late"), s.Ct);
        var took = await s.EventuallyAsync(within, "an externally created file becomes visible",
            () => s.AssertContentAsync(s.P("late"), TestData.Text("late"), "after it was created externally"));
        await s.EventuallyAsync(within, "an externally created file is listed", () => s.AssertNamesAsync(s.Dir, ["late"], "after external creation"));
        s.Log($"external creation seen after {took.TotalSeconds:F1}s (allowed {within.TotalSeconds:F1}s)");
    });

    [Fact]
    public Task A_file_deleted_behind_the_back_disappears_after_the_declared_delay() => RunAsync(async s =>
    {
        if (BehindTheBack(s) is not { } within)
        {
            return;
        }

        await s.WriteAsync(s.P("gone"), TestData.Text("soon gone"));
        await s.AssertContentAsync(s.P("gone"), TestData.Text("soon gone"), "before the external deletion");
        await s.AssertNamesAsync(s.Dir, ["gone"], "before the external deletion");
        await s.Target.Backdoor!.DeleteBehindTheBackAsync(s.P("gone"), s.Ct);
        var took = await s.EventuallyAsync(within, "an externally deleted file disappears", () => s.AssertMissingAsync(s.P("gone"), "after the external deletion"));
        await s.EventuallyAsync(within, "an externally deleted file is no longer listed", () => s.AssertNamesAsync(s.Dir, [], "after external deletion"));
        s.Log($"external deletion seen after {took.TotalSeconds:F1}s (allowed {within.TotalSeconds:F1}s)");
    });

    /// <summary>The visibility bound (plus 2 s of polling slack), or null with a note when the target declares none.</summary>
    private static TimeSpan? BehindTheBack(ConformanceScope s)
    {
        if (s.Target.Backdoor is null || s.Target.Capabilities.ExternalChangesVisibleWithin is not { } within)
        {
            s.Log($"not applicable: {s.Target.Description} has no backdoor or declares no bound on when external changes become visible.");
            return null;
        }

        return within + TimeSpan.FromSeconds(2);
    }

    private static async Task ReadRangeAsync(IFsTargetFile file, long offset, Memory<byte> into, CancellationToken ct)
    {
        var done = 0;
        while (done < into.Length)
        {
            var n = await file.ReadAtAsync(offset + done, into[done..], ct);
            if (n == 0)
            {
                throw new Xunit.Sdk.XunitException($"unexpected end of file at {offset + done} of \"{file.Path}\"");
            }

            done += n;
        }
    }
}
