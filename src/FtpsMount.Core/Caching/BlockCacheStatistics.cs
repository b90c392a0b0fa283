namespace FtpsMount.Core.Caching;

/// <summary>Counters of a <see cref="BlockCache"/>; updated with Interlocked, readable from any thread.</summary>
public sealed class BlockCacheStatistics
{
    private long _hits;
    private long _diskHits;
    private long _misses;
    private long _bytesServed;
    private long _evictions;
    private long _diskEvictions;
    private long _diskErrors;

    /// <summary>Block lookups answered from memory or disk.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>The part of <see cref="Hits"/> that had to read the disk tier.</summary>
    public long DiskHits => Interlocked.Read(ref _diskHits);

    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Bytes copied to callers from the cache.</summary>
    public long BytesServed => Interlocked.Read(ref _bytesServed);

    /// <summary>Blocks dropped from memory to stay under the memory budget.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Block files deleted to stay under the disk budget.</summary>
    public long DiskEvictions => Interlocked.Read(ref _diskEvictions);

    /// <summary>Disk-tier problems (unreadable, truncated or unwritable block files) that were turned into misses.</summary>
    public long DiskErrors => Interlocked.Read(ref _diskErrors);

    public BlockCacheStatisticsSnapshot Snapshot() =>
        new(Hits, DiskHits, Misses, BytesServed, Evictions, DiskEvictions, DiskErrors);

    internal void Hit(int bytes, bool fromDisk)
    {
        Interlocked.Increment(ref _hits);
        Interlocked.Add(ref _bytesServed, bytes);
        if (fromDisk)
        {
            Interlocked.Increment(ref _diskHits);
        }
    }

    internal void Miss() => Interlocked.Increment(ref _misses);
    internal void Evicted(int count) => Interlocked.Add(ref _evictions, count);
    internal void DiskEvicted(int count) => Interlocked.Add(ref _diskEvictions, count);
    internal void DiskError() => Interlocked.Increment(ref _diskErrors);
}

/// <summary>A consistent-enough copy of the counters for logs and the dashboard.</summary>
public readonly record struct BlockCacheStatisticsSnapshot(
    long Hits, long DiskHits, long Misses, long BytesServed, long Evictions, long DiskEvictions, long DiskErrors)
{
    public double HitRatio => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}
