using BenchmarkDotNet.Attributes;
using FtpsMount.Core.Caching;

namespace FtpsMount.Bench.Micro;

/// <summary>The range set under a fragmented cache (1000 disjoint ranges): adds that merge, membership and gap
/// queries as a random reader makes them.</summary>
[MemoryDiagnoser]
public class RangeSetBenchmarks
{
    private RangeSet _fragmented = new();
    private long[] _probes = [];

    [GlobalSetup]
    public void Setup()
    {
        _fragmented = new RangeSet();
        for (long i = 0; i < 1000; i++)
        {
            _fragmented.Add(i * 1_048_576, (i * 1_048_576) + 262_144);
        }

        var random = new Random(5);
        _probes = Enumerable.Range(0, 1000).Select(_ => random.NextInt64(0, 1000L * 1_048_576)).ToArray();
    }

    [Benchmark]
    public int ContainsAndMissing()
    {
        var n = 0;
        foreach (var p in _probes)
        {
            if (_fragmented.Contains(p, p + 4096))
            {
                n++;
            }
            else
            {
                n += _fragmented.Missing(p, p + 131_072).Count;
            }
        }

        return n;
    }

    [Benchmark]
    public long AddSequentialBlocks()
    {
        var set = new RangeSet();
        for (long i = 0; i < 1024; i++)
        {
            set.Add(i * 262_144, (i + 1) * 262_144);
        }

        return set.TotalLength;
    }
}

/// <summary>Block cache lookups: a hit on a 4 KiB read and a 128 KiB read from a 64 MiB cached file, a miss, and a
/// Put of a fresh 256 KiB block (memory tier).</summary>
[MemoryDiagnoser]
public class BlockCacheBenchmarks
{
    private const int BlockSize = 256 * 1024;
    private BlockCache _cache = null!;
    private FileKey _file;
    private FileKey _other;
    private readonly byte[] _small = new byte[4096];
    private readonly byte[] _large = new byte[128 * 1024];
    private readonly byte[] _block = new byte[BlockSize];
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _cache = new BlockCache(BlockSize, 512L * 1024 * 1024);
        _file = new FileKey("/bench/cached.bin", 64L * 1024 * 1024, DateTimeOffset.UnixEpoch);
        _other = new FileKey("/bench/put.bin", 1L << 40, DateTimeOffset.UnixEpoch);
        Random.Shared.NextBytes(_block);
        for (var b = 0; b < 256; b++)
        {
            _cache.Put(_file, b, _block);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _cache.Dispose();

    [Benchmark]
    public int Hit4K() => _cache.Read(_file, 10_000_000, _small);

    [Benchmark]
    public int Hit128K() => _cache.Read(_file, 33_000_000, _large);

    [Benchmark]
    public bool Miss() => _cache.TryReadBlock(_other, 7, 0, _small, out _);

    /// <summary>Puts cycle through 1024 blocks (256 MiB) so the budget is never exceeded by the benchmark itself.</summary>
    [Benchmark]
    public void Put256K() => _cache.Put(_other, 1_000_000 + (_next++ % 1024), _block);
}
