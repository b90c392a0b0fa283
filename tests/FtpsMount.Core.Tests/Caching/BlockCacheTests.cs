using FtpsMount.Core.Caching;

namespace FtpsMount.Core.Tests.Caching;

public class BlockCacheTests
{
    private const int Block = 1024;
    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Deterministic content: every byte depends on the path, the version's size and its offset.</summary>
    internal static byte ByteAt(FileKey key, long offset) => (byte)((offset * 31) ^ (offset >> 8) ^ key.Size ^ key.Path.Length);

    internal static byte[] BlockData(FileKey key, long index, int blockSize)
    {
        var start = index * blockSize;
        var data = new byte[(int)Math.Min(blockSize, key.Size - start)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = ByteAt(key, start + i);
        }

        return data;
    }

    private static void PutBlock(BlockCache cache, FileKey key, long index) => cache.Put(key, index, BlockData(key, index, cache.BlockSize));

    private static void AssertBytes(FileKey key, long offset, ReadOnlySpan<byte> actual)
    {
        for (var i = 0; i < actual.Length; i++)
        {
            if (actual[i] != ByteAt(key, offset + i))
            {
                Assert.Fail($"byte {offset + i} of {key}: expected {ByteAt(key, offset + i)}, got {actual[i]}");
            }
        }
    }

    [Fact]
    public void Put_then_read_a_block_and_a_slice_of_it()
    {
        using var cache = new BlockCache(Block, 16 * Block);
        var key = new FileKey("/a", 10 * Block, T0);
        PutBlock(cache, key, 3);

        var whole = new byte[Block];
        Assert.True(cache.TryReadBlock(key, 3, 0, whole, out var n));
        Assert.Equal(Block, n);
        AssertBytes(key, 3 * Block, whole);

        var slice = new byte[100];
        Assert.True(cache.TryReadBlock(key, 3, 1000, slice, out n));
        Assert.Equal(24, n); // only the rest of the block
        AssertBytes(key, 3 * Block + 1000, slice.AsSpan(0, n));

        Assert.False(cache.TryReadBlock(key, 4, 0, whole, out n));
        Assert.Equal(0, n);
    }

    [Fact]
    public void Read_spans_blocks_and_stops_at_the_first_missing_one()
    {
        using var cache = new BlockCache(Block, 16 * Block);
        var key = new FileKey("/a", 10 * Block, T0);
        PutBlock(cache, key, 0);
        PutBlock(cache, key, 1);
        PutBlock(cache, key, 3);

        var buffer = new byte[4 * Block];
        var n = cache.Read(key, 500, buffer);
        Assert.Equal(2 * Block - 500, n);
        AssertBytes(key, 500, buffer.AsSpan(0, n));
        Assert.Equal(0, cache.Read(key, 2 * Block + 7, buffer));
    }

    [Fact]
    public void The_tail_block_is_stored_with_its_valid_length()
    {
        using var cache = new BlockCache(Block, 16 * Block);
        var key = new FileKey("/tail", 2 * Block + 100, T0);
        Assert.Equal(100, cache.BlockLength(key, 2));
        Assert.Equal(0, cache.BlockLength(key, 3));
        Assert.Throws<ArgumentException>(() => cache.Put(key, 2, new byte[Block]));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Put(key, 3, new byte[1]));
        PutBlock(cache, key, 1);
        PutBlock(cache, key, 2);

        var buffer = new byte[4 * Block];
        var n = cache.Read(key, Block + 10, buffer);
        Assert.Equal(Block - 10 + 100, n); // up to the end of the file, no further
        AssertBytes(key, Block + 10, buffer.AsSpan(0, n));
        Assert.Equal(0, cache.Read(key, key.Size, buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.TryReadBlock(key, 2, 100, buffer, out _));
    }

    [Fact]
    public void An_empty_file_has_no_blocks()
    {
        using var cache = new BlockCache(Block, 16 * Block);
        var key = new FileKey("/empty", 0, T0);
        Assert.Equal(0, cache.Read(key, 0, new byte[10]));
        Assert.Empty(cache.MissingRanges(key, new ByteRange(0, 100)));
    }

    [Theory]
    [InlineData(2 * Block + 100, 0)]          // other size
    [InlineData(2 * Block + 200, 1)]          // other mtime
    public void A_changed_remote_file_never_serves_old_bytes(long newSize, int mtimeShiftSeconds)
    {
        using var cache = new BlockCache(Block, 16 * Block);
        var old = new FileKey("/f", 2 * Block + 200, T0);
        PutBlock(cache, old, 0);
        var changed = new FileKey("/f", newSize, T0.AddSeconds(mtimeShiftSeconds));

        Assert.False(cache.TryReadBlock(changed, 0, 0, new byte[Block], out _));
        // The old version was discarded, not kept beside the new one.
        Assert.False(cache.TryReadBlock(old, 0, 0, new byte[Block], out _));
        Assert.Equal(0, cache.MemoryBlockCount);
        Assert.Equal(0, cache.MemoryBytes);
    }

    [Fact]
    public void Same_instant_in_another_offset_is_the_same_version()
    {
        using var cache = new BlockCache(Block, 16 * Block);
        var utc = new FileKey("/f", Block, T0);
        var local = new FileKey("/f", Block, T0.ToOffset(TimeSpan.FromHours(2)));
        PutBlock(cache, utc, 0);
        Assert.True(cache.TryReadBlock(local, 0, 0, new byte[Block], out _));
    }

    [Fact]
    public void Invalidate_drops_one_path_and_InvalidateAll_everything()
    {
        using var cache = new BlockCache(Block, 16 * Block);
        var a = new FileKey("/a", 4 * Block, T0);
        var b = new FileKey("/b", 4 * Block, T0);
        PutBlock(cache, a, 0);
        PutBlock(cache, a, 1);
        PutBlock(cache, b, 0);

        cache.Invalidate("/a");
        Assert.False(cache.Contains(a, 0));
        Assert.False(cache.Contains(a, 1));
        Assert.True(cache.Contains(b, 0));
        Assert.Equal(1, cache.MemoryBlockCount);

        cache.InvalidateAll();
        Assert.False(cache.Contains(b, 0));
        Assert.Equal(0, cache.MemoryBytes);
    }

    [Fact]
    public void Memory_tier_evicts_the_least_recently_used_block()
    {
        // ArrayPool rents exactly 1024 bytes for a 1024-byte block: room for three blocks.
        using var cache = new BlockCache(Block, 3 * Block);
        var key = new FileKey("/lru", 10 * Block, T0);
        PutBlock(cache, key, 0);
        PutBlock(cache, key, 1);
        PutBlock(cache, key, 2);
        Assert.True(cache.TryReadBlock(key, 0, 0, new byte[1], out _)); // 0 is now the most recent; 1 the least

        PutBlock(cache, key, 3);
        Assert.True(cache.Contains(key, 0));
        Assert.False(cache.Contains(key, 1));
        Assert.True(cache.Contains(key, 2));
        Assert.True(cache.Contains(key, 3));
        Assert.Equal(3 * Block, cache.MemoryBytes);
        Assert.Equal(1, cache.Statistics.Evictions);
    }

    [Fact]
    public void A_block_larger_than_the_budget_is_not_kept()
    {
        using var cache = new BlockCache(Block, Block - 1);
        var key = new FileKey("/big", Block, T0);
        PutBlock(cache, key, 0);
        Assert.False(cache.Contains(key, 0));
        Assert.Equal(0, cache.MemoryBytes);
    }

    [Fact]
    public void Putting_a_block_twice_keeps_one_copy()
    {
        using var cache = new BlockCache(Block, 8 * Block);
        var key = new FileKey("/twice", 4 * Block, T0);
        PutBlock(cache, key, 1);
        PutBlock(cache, key, 1);
        Assert.Equal(1, cache.MemoryBlockCount);
        Assert.Equal(Block, cache.MemoryBytes);
    }

    [Fact]
    public void Statistics_count_hits_misses_and_bytes()
    {
        using var cache = new BlockCache(Block, 8 * Block);
        var key = new FileKey("/s", 4 * Block, T0);
        PutBlock(cache, key, 0);
        cache.TryReadBlock(key, 0, 0, new byte[300], out _);
        cache.TryReadBlock(key, 0, 1000, new byte[300], out _);
        cache.TryReadBlock(key, 1, 0, new byte[300], out _);

        var s = cache.Statistics.Snapshot();
        Assert.Equal(2, s.Hits);
        Assert.Equal(1, s.Misses);
        Assert.Equal(300 + 24, s.BytesServed);
        Assert.Equal(0, s.DiskHits);
        Assert.Equal(2.0 / 3, s.HitRatio, 6);
    }

    [Theory]
    [InlineData(0, 10 * Block, "", "[0,9300)")]          // clipped to the file's end
    [InlineData(100, 200, "0", "")]
    [InlineData(100, 3000, "0 1", "[2048,3072)")]
    [InlineData(500, 4 * Block + 10, "1 3", "[0,1024) [2048,3072) [4096,5120)")]
    [InlineData(9 * Block + 10, 20 * Block, "", "[9216,9300)")] // clipped to the file's end (9300)
    public void MissingRanges_are_whole_blocks_to_fetch(long start, long end, string cached, string expected)
    {
        using var cache = new BlockCache(Block, 64 * Block);
        var key = new FileKey("/m", 9300, T0);
        foreach (var index in cached.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            PutBlock(cache, key, long.Parse(index, System.Globalization.CultureInfo.InvariantCulture));
        }

        var missing = cache.MissingRanges(key, new ByteRange(start, end));
        Assert.Equal(expected, string.Join(" ", missing.Select(r => $"[{r.Start},{r.End})")));
    }

    [Fact]
    public void Concurrent_readers_and_writers_never_see_foreign_bytes()
    {
        // A tiny budget forces constant eviction while readers copy: a buffer handed back to the pool and reused
        // for another block would show up as wrong bytes.
        using var cache = new BlockCache(Block, 4 * Block);
        var keys = Enumerable.Range(0, 4).Select(i => new FileKey("/c" + i, 32 * Block - i * 7, T0)).ToArray();
        var failures = 0;
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            var buffer = new byte[Block];
            for (var i = 0; i < 4000; i++)
            {
                var key = keys[random.Next(keys.Length)];
                var index = random.Next(32);
                if (cache.BlockLength(key, index) == 0)
                {
                    continue;
                }

                if (random.Next(3) == 0)
                {
                    PutBlock(cache, key, index);
                }
                else if (cache.TryReadBlock(key, index, 0, buffer, out var n))
                {
                    for (var j = 0; j < n; j++)
                    {
                        if (buffer[j] != ByteAt(key, (index * (long)Block) + j))
                        {
                            Interlocked.Increment(ref failures);
                            break;
                        }
                    }
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal(0, failures);
        Assert.True(cache.MemoryBytes <= 4 * Block);
        Assert.True(cache.Statistics.Evictions > 0);
    }

    [Fact]
    public void A_block_evicted_while_a_reader_copies_it_keeps_its_buffer_until_the_copy_is_done()
    {
        using var cache = new BlockCache(Block, Block); // room for one block
        var a = new FileKey("/a", Block, T0);
        var b = new FileKey("/bb", Block, T0);   // other path lengths: other bytes
        var c = new FileKey("/ccc", Block, T0);
        PutBlock(cache, a, 0);
        cache.PinnedForTest = () =>
        {
            cache.PinnedForTest = null;
            // Evict /a's block while it is pinned (Put /b), then rent again (Put /c): with the pool's thread-local
            // slot, a buffer returned too early would be handed straight to /c and overwritten before the copy.
            PutBlock(cache, b, 0);
            Assert.False(cache.Contains(a, 0));
            PutBlock(cache, c, 0);
        };

        var buffer = new byte[Block];
        Assert.True(cache.TryReadBlock(a, 0, 0, buffer, out var n));
        Assert.Equal(Block, n);
        AssertBytes(a, 0, buffer);
    }

    [Fact]
    public void Use_after_dispose_throws_but_invalidate_is_harmless()
    {
        var cache = new BlockCache(Block, 4 * Block);
        var key = new FileKey("/d", Block, T0);
        PutBlock(cache, key, 0);
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cache.TryReadBlock(key, 0, 0, new byte[1], out _));
        cache.Invalidate("/d");
        cache.InvalidateAll();
        cache.Dispose();
    }

    [Fact]
    public void Create_uses_the_cache_options()
    {
        using var cache = BlockCache.Create(new CacheOptions { BlockSize = 8192, CacheSizeBytes = 1 << 20 }, new FakeTimeProvider());
        Assert.Equal(8192, cache.BlockSize);
        Assert.Equal(1 << 20, cache.MemoryBudgetBytes);
        Assert.Null(cache.DiskDirectory);
    }
}
