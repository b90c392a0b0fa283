using System.Runtime.InteropServices;
using FtpsMount.Core.Caching;
using FtpsMount.Core.Pool;
using FtpsMount.Core.Reading;
using FtpsMount.Core.Tests.Pool;

namespace FtpsMount.Core.Tests.Reading;

/// <summary>Test data and assertions shared by the read-path tests.</summary>
internal static class ReadData
{
    /// <summary>Pseudo-random bytes from a seed, fast enough for hundreds of megabytes (xorshift64*).</summary>
    public static byte[] Create(long length, ulong seed)
    {
        var data = GC.AllocateUninitializedArray<byte>(checked((int)length));
        var words = MemoryMarshal.Cast<byte, ulong>(data.AsSpan(0, data.Length / 8 * 8));
        var x = seed | 1;
        for (var i = 0; i < words.Length; i++)
        {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            words[i] = x * 0x2545F4914F6CDD1DUL;
        }

        for (var i = words.Length * 8; i < data.Length; i++)
        {
            data[i] = (byte)(i * 7 + (int)seed);
        }

        return data;
    }

    /// <summary>Fails with the first differing offset (xunit's array diff of megabytes is unreadable).</summary>
    public static void AssertSameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        if (expected.Length != actual.Length)
        {
            Assert.Fail($"{what}: expected {expected.Length} bytes, got {actual.Length}");
        }

        var at = expected.CommonPrefixLength(actual);
        if (at != expected.Length)
        {
            Assert.Fail($"{what}: first difference at byte {at} of {expected.Length}");
        }
    }

    /// <summary>Reads [offset, offset+length) and checks it against <paramref name="source"/> (clipped at its end).</summary>
    public static async Task ReadAndCheckAsync(FileReader reader, byte[] source, long offset, int length, CancellationToken ct)
    {
        var buffer = new byte[length];
        var n = await reader.ReadAsync(offset, buffer, ct);
        var expected = offset >= source.Length ? 0 : (int)Math.Min(length, source.Length - offset);
        Assert.True(expected == n, $"read of {length} at {offset}: expected {expected} bytes, got {n}");
        AssertSameBytes(source.AsSpan((int)Math.Min(offset, source.Length), expected), buffer.AsSpan(0, n), $"read of {length} at {offset}");
    }

    /// <summary>Reads a whole file front to back in <paramref name="chunk"/>-sized requests, checking every byte.</summary>
    public static async Task ReadSequentiallyAsync(FileReader reader, byte[] source, int chunk, CancellationToken ct)
    {
        var buffer = new byte[chunk];
        long offset = 0;
        while (true)
        {
            var n = await reader.ReadAsync(offset, buffer, ct);
            if (n == 0)
            {
                break;
            }

            var expected = (int)Math.Min(chunk, source.Length - offset);
            Assert.True(expected == n, $"sequential read at {offset}: expected {expected} bytes, got {n}");
            AssertSameBytes(source.AsSpan((int)offset, n), buffer.AsSpan(0, n), $"sequential read at {offset}");
            offset += n;
        }

        Assert.Equal(source.Length, offset);
    }
}

/// <summary>
/// A scripted FTPS server (certificate pinned), a pool over it, a block cache and a fetcher, all disposed with the test.
/// Block size 64 KiB unless a test builds its own.
/// </summary>
public abstract class ReadingTestBase : ScriptedPoolTestBase
{
    protected const int Block = 64 * 1024;
    protected static readonly DateTimeOffset T0 = new(2024, 6, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<BlockCache> _caches = [];

    public override async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        foreach (var cache in _caches)
        {
            cache.Dispose();
        }

        await base.DisposeAsync();
    }

    protected static CacheOptions CacheOptions(int blockSize = Block) => new() { BlockSize = blockSize };

    /// <summary>A pool (N connections, fast retries), a memory cache and a fetcher over them.</summary>
    protected (SessionPool Pool, BlockCache Cache, BlockFetcher Fetcher) CreateFetcher(
        CacheOptions? options = null, int connections = 4, TimeProvider? time = null, PoolSettings? settings = null)
    {
        options ??= CacheOptions();
        var pool = CreatePool(settings ?? Settings(connections));
        var cache = new BlockCache(options.BlockSize, options.CacheSizeBytes);
        _caches.Add(cache);
        var fetcher = new BlockFetcher(pool, cache, options, Log, time);
        _owned.Add(fetcher);
        return (pool, cache, fetcher);
    }

    /// <summary>A reader disposed with the test (before its fetcher).</summary>
    protected FileReader Open(BlockFetcher fetcher, FileKey key)
    {
        var reader = fetcher.OpenReader(key);
        _owned.Add(reader);
        return reader;
    }

    /// <summary>Seeds the scripted server and returns the key the metadata layer would report.</summary>
    protected FileKey AddFile(string path, byte[] content, DateTimeOffset? modified = null)
    {
        Server.FileSystem.AddFile(path, content, modified ?? T0);
        return new FileKey(path, content.Length, modified ?? T0);
    }

    protected IReadOnlyList<string> Retrs(string path) =>
        Server.CommandsWithVerb("RETR").Where(c => c.Argument == path).Select(c => c.Line).ToList();

    /// <summary>The REST offsets sent right before each RETR of <paramref name="path"/> (0 when none).</summary>
    protected IReadOnlyList<long> RetrOffsets(string path)
    {
        var commands = Server.ReceivedCommands;
        var offsets = new List<long>();
        for (var i = 0; i < commands.Count; i++)
        {
            if (commands[i].Verb == "RETR" && commands[i].Argument == path)
            {
                var rest = commands.Take(i).LastOrDefault(c => c.ConnectionId == commands[i].ConnectionId && c.Verb is "REST" or "RETR" or "ABOR" or "NOOP");
                offsets.Add(rest is { Verb: "REST" } ? long.Parse(rest.Argument, System.Globalization.CultureInfo.InvariantCulture) : 0);
            }
        }

        return offsets;
    }

    protected string Diagnostics(SessionPool pool, BlockFetcher fetcher) =>
        $"read stats: {fetcher.Statistics}{Environment.NewLine}{Diagnostics(pool)}";
}
