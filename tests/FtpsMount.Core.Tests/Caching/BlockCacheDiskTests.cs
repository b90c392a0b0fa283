using FtpsMount.Core.Caching;

namespace FtpsMount.Core.Tests.Caching;

public sealed class BlockCacheDiskTests : IDisposable
{
    private const int Block = 1024;
    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ftpsmount-blockcache-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new();

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private BlockCache Open(long memory = 64 * Block, long disk = 64 * Block) => new(Block, memory, _time, _root, disk);

    private static void PutBlock(BlockCache cache, FileKey key, long index) =>
        cache.Put(key, index, BlockCacheTests.BlockData(key, index, cache.BlockSize));

    private static void AssertBlock(BlockCache cache, FileKey key, long index)
    {
        var buffer = new byte[cache.BlockLength(key, index)];
        Assert.True(cache.TryReadBlock(key, index, 0, buffer, out var n), $"block {index} of {key} should be cached");
        Assert.Equal(buffer.Length, n);
        Assert.Equal(BlockCacheTests.BlockData(key, index, cache.BlockSize), buffer);
    }

    private IEnumerable<string> BlockFiles() =>
        Directory.Exists(_root) ? Directory.EnumerateFiles(_root, "*.blk", SearchOption.AllDirectories) : [];

    [Fact]
    public void Blocks_survive_a_remount()
    {
        var key = new FileKey("/data/movie.mkv", 3 * Block + 10, T0);
        using (var cache = Open())
        {
            PutBlock(cache, key, 0);
            PutBlock(cache, key, 3); // the 10-byte tail
        }

        using var again = Open();
        Assert.Equal(2, again.DiskBlockCount);
        Assert.Equal(Block + 10, again.DiskBytes);
        AssertBlock(again, key, 0);
        AssertBlock(again, key, 3);
        Assert.Equal(2, again.Statistics.DiskHits);
        Assert.Equal(2, again.MemoryBlockCount); // promoted to memory on the way
        Assert.Empty(again.MissingRanges(key, new ByteRange(0, Block)));
    }

    [Fact]
    public void A_remote_file_changed_while_unmounted_is_discarded_at_first_use()
    {
        var old = new FileKey("/f", 2 * Block, T0);
        using (var cache = Open())
        {
            PutBlock(cache, old, 0);
            PutBlock(cache, old, 1);
        }

        using var again = Open();
        var changed = new FileKey("/f", 2 * Block, T0.AddSeconds(1));
        Assert.False(again.TryReadBlock(changed, 0, 0, new byte[Block], out _));
        Assert.Empty(BlockFiles());
        Assert.Equal(0, again.DiskBytes);

        // The new version is cached under a new epoch and survives the next remount.
        PutBlock(again, changed, 1);
        again.Dispose();
        using var third = Open();
        AssertBlock(third, changed, 1);
        Assert.False(third.Contains(old, 0));
    }

    [Fact]
    public void A_truncated_block_file_is_a_miss_not_an_exception()
    {
        var key = new FileKey("/t", 2 * Block, T0);
        using (var cache = Open())
        {
            PutBlock(cache, key, 0);
            PutBlock(cache, key, 1);
        }

        var file = BlockFiles().Single(f => Path.GetFileName(f).StartsWith("1.", StringComparison.Ordinal));

        // Truncated while mounted: detected on read.
        using (var cache = Open(memory: 0))
        {
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
            {
                stream.SetLength(100);
            }

            Assert.False(cache.TryReadBlock(key, 1, 0, new byte[Block], out _));
            Assert.Equal(1, cache.Statistics.DiskErrors);
            Assert.False(File.Exists(file));
            AssertBlock(cache, key, 0);
        }

        // Truncated while unmounted: dropped by the scan.
        var other = BlockFiles().Single();
        File.WriteAllBytes(other, new byte[7]);
        using var again = Open();
        Assert.Equal(0, again.DiskBlockCount);
        Assert.False(again.TryReadBlock(key, 0, 0, new byte[Block], out _));
    }

    [Fact]
    public void A_block_file_deleted_behind_our_back_is_a_miss()
    {
        var key = new FileKey("/gone", Block, T0);
        using var cache = Open(memory: 0);
        PutBlock(cache, key, 0);
        File.Delete(BlockFiles().Single());
        Assert.False(cache.TryReadBlock(key, 0, 0, new byte[Block], out _));
        Assert.Equal(0, cache.DiskBlockCount);
        Assert.Equal(0, cache.Statistics.DiskErrors);
    }

    [Fact]
    public void A_garbled_index_discards_the_file_s_blocks()
    {
        var key = new FileKey("/idx", Block, T0);
        using (var cache = Open())
        {
            PutBlock(cache, key, 0);
        }

        var index = Directory.EnumerateFiles(_root, "index", SearchOption.AllDirectories).Single();
        File.WriteAllBytes(index, [1, 2, 3]);
        using var again = Open();
        Assert.Equal(0, again.DiskBlockCount);
        Assert.False(again.Contains(key, 0));
        Assert.Empty(BlockFiles());
    }

    [Fact]
    public void Another_block_size_invalidates_the_directory()
    {
        var key = new FileKey("/bs", 4 * Block, T0);
        using (var cache = Open())
        {
            PutBlock(cache, key, 0);
        }

        using var other = new BlockCache(2 * Block, 64 * Block, _time, _root, 64 * Block);
        Assert.Equal(0, other.DiskBlockCount);
        Assert.False(other.Contains(key, 0));
    }

    [Fact]
    public void Disk_budget_evicts_by_last_access_across_remounts()
    {
        var key = new FileKey("/lru", 10 * Block, T0);
        using (var cache = Open(memory: 0, disk: 3 * Block))
        {
            PutBlock(cache, key, 0);
            _time.Advance(TimeSpan.FromMinutes(1));
            PutBlock(cache, key, 1);
            _time.Advance(TimeSpan.FromMinutes(1));
            PutBlock(cache, key, 2);
            _time.Advance(TimeSpan.FromMinutes(1));
            AssertBlock(cache, key, 0); // disk hit: 0 is now the most recent, its mtime says so
            Assert.Equal(0, cache.MemoryBlockCount);
        }

        File.SetLastWriteTimeUtc(BlockFiles().Single(f => Path.GetFileName(f).StartsWith("1.", StringComparison.Ordinal)), T0.UtcDateTime);
        File.SetLastWriteTimeUtc(BlockFiles().Single(f => Path.GetFileName(f).StartsWith("2.", StringComparison.Ordinal)), T0.UtcDateTime.AddMinutes(1));

        using var again = Open(memory: 0, disk: 3 * Block);
        PutBlock(again, key, 3); // over budget: the least recently used (1) goes
        Assert.True(again.Contains(key, 0));
        Assert.False(again.Contains(key, 1));
        Assert.True(again.Contains(key, 2));
        Assert.True(again.Contains(key, 3));
        Assert.Equal(3, BlockFiles().Count());
        Assert.Equal(1, again.Statistics.DiskEvictions);
    }

    [Fact]
    public void A_smaller_budget_at_remount_trims_the_oldest()
    {
        var key = new FileKey("/trim", 10 * Block, T0);
        using (var cache = Open(memory: 0))
        {
            for (var i = 0; i < 5; i++)
            {
                PutBlock(cache, key, i);
                _time.Advance(TimeSpan.FromMinutes(1));
            }
        }

        for (var i = 0; i < 5; i++)
        {
            var file = BlockFiles().Single(f => Path.GetFileName(f).StartsWith($"{i}.", StringComparison.Ordinal));
            File.SetLastWriteTimeUtc(file, T0.UtcDateTime.AddMinutes(i));
        }

        using var again = Open(memory: 0, disk: 2 * Block);
        Assert.Equal(2, again.DiskBlockCount);
        Assert.True(again.Contains(key, 3));
        Assert.True(again.Contains(key, 4));
        Assert.Equal(2, BlockFiles().Count());
    }

    [Fact]
    public void Invalidate_deletes_the_files()
    {
        var a = new FileKey("/a", 2 * Block, T0);
        var b = new FileKey("/b", 2 * Block, T0);
        using var cache = Open();
        PutBlock(cache, a, 0);
        PutBlock(cache, b, 0);
        cache.Invalidate("/a");
        Assert.Single(BlockFiles());
        Assert.False(cache.Contains(a, 0));

        cache.InvalidateAll();
        Assert.Empty(BlockFiles());
        cache.Dispose();
        using var again = Open();
        Assert.Equal(0, again.DiskBlockCount);
    }

    [Fact]
    public void Invalidated_blocks_do_not_come_back_after_a_remount_even_for_the_same_version()
    {
        // Own write of the same size within the same second: the FileKey is unchanged, Invalidate is what protects.
        var key = new FileKey("/same", Block, T0);
        using (var cache = Open())
        {
            PutBlock(cache, key, 0);
            cache.Invalidate("/same");
        }

        using var again = Open();
        Assert.False(again.Contains(key, 0));
    }

    [Fact]
    public void Foreign_entries_in_the_cache_directory_are_left_alone()
    {
        Directory.CreateDirectory(Path.Combine(_root, "my-notes"));
        File.WriteAllText(Path.Combine(_root, "my-notes", "keep.txt"), "hello");
        File.WriteAllText(Path.Combine(_root, "readme.txt"), "hello");
        using (var cache = Open())
        {
            PutBlock(cache, new FileKey("/x", Block, T0), 0);
            cache.InvalidateAll();
        }

        using var again = Open();
        Assert.True(File.Exists(Path.Combine(_root, "my-notes", "keep.txt")));
        Assert.True(File.Exists(Path.Combine(_root, "readme.txt")));
        Assert.True(File.Exists(Path.Combine(_root, "CACHEDIR.TAG")));
    }

    [Fact]
    public void Cache_files_are_private()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Directory.CreateDirectory(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        using var cache = Open();
        PutBlock(cache, new FileKey("/secret", Block, T0), 0);

        const UnixFileMode dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        const UnixFileMode file = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(dir, File.GetUnixFileMode(_root));
        foreach (var d in Directory.EnumerateDirectories(_root))
        {
            Assert.Equal(dir, File.GetUnixFileMode(d));
        }

        var files = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "CACHEDIR.TAG").ToList();
        Assert.Equal(2, files.Count); // index + one block
        foreach (var f in files)
        {
            Assert.Equal(file, File.GetUnixFileMode(f));
        }
    }

    [Fact]
    public void Memory_only_budget_zero_still_serves_from_disk()
    {
        var key = new FileKey("/z", 2 * Block, T0);
        using var cache = Open(memory: 0);
        PutBlock(cache, key, 1);
        AssertBlock(cache, key, 1);
        Assert.Equal(0, cache.MemoryBlockCount);
        Assert.Equal(1, cache.Statistics.DiskHits);
    }

    [Fact]
    public void Leftover_temporary_files_are_cleaned_at_scan()
    {
        var key = new FileKey("/tmpfile", Block, T0);
        using (var cache = Open())
        {
            PutBlock(cache, key, 0);
        }

        var dir = Path.GetDirectoryName(BlockFiles().Single())!;
        var leftover = Path.Combine(dir, "0.abcdef.blk.1234.tmp");
        File.WriteAllBytes(leftover, new byte[10]);
        using var again = Open();
        Assert.False(File.Exists(leftover));
        AssertBlock(again, key, 0);
    }
}
