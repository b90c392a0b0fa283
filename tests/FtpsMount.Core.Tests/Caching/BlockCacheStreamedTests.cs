using System.Buffers;
using FtpsMount.Core.Caching;

namespace FtpsMount.Core.Tests.Caching;

/// <summary>Blocks the read path hands over without a copy (<see cref="BlockCache.Adopt"/>), and the cap on blocks that
/// sequential read-ahead delivered (<see cref="BlockCache.StreamedBudgetBytes"/>).</summary>
public class BlockCacheStreamedTests
{
    private const int Block = 64 * 1024;
    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private static byte[] Rented(FileKey key, long index)
    {
        var data = BlockCacheTests.BlockData(key, index, Block);
        var array = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(array, 0);
        return array;
    }

    [Theory]
    [InlineData(160L * 1024 * 1024, 40L * 1024 * 1024)] // a quarter of the budget
    [InlineData(64L * 1024 * 1024, 32L * 1024 * 1024)]  // at least 32 MiB
    [InlineData(8L * 1024 * 1024, 8L * 1024 * 1024)]    // never more than the budget
    public void Streamed_budget_is_a_quarter_of_memory_at_least_32_MiB(long budget, long expected)
    {
        using var cache = new BlockCache(Block, budget);
        Assert.Equal(expected, cache.StreamedBudgetBytes);
    }

    [Fact]
    public void A_long_sequential_stream_recycles_its_own_blocks_and_keeps_the_rest_of_the_cache()
    {
        using var cache = new BlockCache(Block, 160L * 1024 * 1024);
        var random = new FileKey("/random.bin", 10L * Block, T0);
        for (var i = 0; i < 10; i++)
        {
            cache.Put(random, i, BlockCacheTests.BlockData(random, i, Block));
        }

        var stream = new FileKey("/stream.bin", 2000L * Block, T0);
        for (var i = 0; i < 2000; i++)
        {
            var array = Rented(stream, i);
            var pin = cache.Adopt(stream, i, array, streamed: true);
            Assert.NotNull(pin);
            pin.Dispose();
        }

        Assert.Equal((10 * Block) + cache.StreamedBudgetBytes, cache.MemoryBytes);
        Assert.All(Enumerable.Range(0, 10), i => Assert.True(cache.Contains(random, i)));
        Assert.False(cache.Contains(stream, 0));
        Assert.True(cache.Contains(stream, 1999));
        var buffer = new byte[Block];
        Assert.Equal(Block, cache.Read(stream, 1999L * Block, buffer));
        Assert.Equal(BlockCacheTests.BlockData(stream, 1999, Block), buffer);
    }

    [Fact]
    public void Adopting_a_block_already_cached_leaves_the_array_with_the_caller()
    {
        using var cache = new BlockCache(Block, 16L * 1024 * 1024);
        var key = new FileKey("/a.bin", 4L * Block, T0);
        cache.Put(key, 1, BlockCacheTests.BlockData(key, 1, Block));
        var array = Rented(key, 1);
        Assert.Null(cache.Adopt(key, 1, array));
        ArrayPool<byte>.Shared.Return(array);

        var adopted = Rented(key, 2);
        using (cache.Adopt(key, 2, adopted))
        {
            cache.Invalidate("/a.bin");
            // Evicted while pinned: the array is not back in the pool yet, so its bytes are intact.
            Assert.Equal(BlockCacheTests.BlockData(key, 2, Block), adopted.AsSpan(0, Block).ToArray());
        }

        Assert.False(cache.Contains(key, 2));
    }
}
