using FtpsMount.Core.FileSystem;

namespace FtpsMount.Core.Tests.FileSystem;

public sealed class MetadataCacheTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<string, FsAttributes> _server = new(StringComparer.Ordinal);
    private readonly CacheOptions _options = new() { AttrTtl = TimeSpan.FromSeconds(30), DirCacheTtl = TimeSpan.FromSeconds(30), NegativeTtl = TimeSpan.FromSeconds(5) };
    private int _entryFetches;
    private int _listFetches;
    private TaskCompletionSource? _gate;
    private readonly MetadataCache _cache;

    public MetadataCacheTests()
    {
        _cache = new MetadataCache(_options, _time, FetchEntry, FetchListing);
    }

    public void Dispose() => _cache.Dispose();

    private static FsAttributes File(string name, long size = 1) => new() { Name = name, Kind = FsEntryKind.File, Size = size };

    private async Task<FsAttributes?> FetchEntry(string path, CancellationToken ct)
    {
        Interlocked.Increment(ref _entryFetches);
        if (_gate is { } gate)
        {
            await gate.Task;
        }

        return _server.GetValueOrDefault(path);
    }

    private async Task<IReadOnlyList<FsAttributes>> FetchListing(string path, CancellationToken ct)
    {
        Interlocked.Increment(ref _listFetches);
        if (_gate is { } gate)
        {
            await gate.Task;
        }

        var prefix = path == "/" ? "/" : path + "/";
        return _server.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && !kv.Key[prefix.Length..].Contains('/')).Select(kv => kv.Value).ToArray();
    }

    [Fact]
    public async Task Attributes_are_reused_within_the_ttl_and_refetched_after()
    {
        _server["/a"] = File("a", 5);
        Assert.Equal(5, (await _cache.LookupAsync("/a", default))!.Size);
        _server["/a"] = File("a", 6);
        Assert.Equal(5, (await _cache.LookupAsync("/a", default))!.Size);
        Assert.Equal(1, _entryFetches);
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(6, (await _cache.LookupAsync("/a", default))!.Size);
        Assert.Equal(2, _entryFetches);
        Assert.Equal(1, _cache.Hits);
    }

    [Fact]
    public async Task Missing_names_are_remembered_for_the_negative_ttl()
    {
        Assert.Null(await _cache.LookupAsync("/missing", default));
        Assert.Null(await _cache.LookupAsync("/missing", default));
        Assert.Equal(1, _entryFetches);
        _server["/missing"] = File("missing");
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.NotNull(await _cache.LookupAsync("/missing", default));
    }

    [Fact]
    public async Task Concurrent_identical_lookups_share_one_round_trip()
    {
        _server["/a"] = File("a");
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lookups = Enumerable.Range(0, 20).Select(_ => _cache.LookupAsync("/a", default)).ToArray();
        var listings = Enumerable.Range(0, 20).Select(_ => _cache.ListAsync("/", default)).ToArray();
        _gate.SetResult();
        await Task.WhenAll(lookups);
        await Task.WhenAll(listings);
        Assert.Equal(1, _entryFetches);
        Assert.Equal(1, _listFetches);
    }

    [Fact]
    public async Task A_fresh_listing_answers_lookups_of_its_children()
    {
        _server["/d/x"] = File("x");
        await _cache.ListAsync("/d", default);
        Assert.NotNull(await _cache.LookupAsync("/d/x", default));
        Assert.Null(await _cache.LookupAsync("/d/y", default));
        Assert.Equal(0, _entryFetches);
    }

    [Fact]
    public async Task Own_changes_are_visible_at_once()
    {
        _server["/d/x"] = File("x");
        await _cache.ListAsync("/d", default);
        Assert.Null(await _cache.LookupAsync("/d/new", default));

        _cache.Put("/d/new", File("new", 42));
        Assert.Equal(42, (await _cache.LookupAsync("/d/new", default))!.Size);
        Assert.Contains(await _cache.ListAsync("/d", default), e => e.Name == "new");

        _cache.Remove("/d/x", wasDirectory: false);
        Assert.Null(await _cache.LookupAsync("/d/x", default));
        Assert.DoesNotContain(await _cache.ListAsync("/d", default), e => e.Name == "x");
        Assert.Equal(1, _listFetches);
        Assert.Equal(0, _entryFetches);
    }

    [Fact]
    public async Task A_fetch_that_overlapped_an_own_change_is_not_cached()
    {
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stale = _cache.LookupAsync("/f", default); // server: missing
        _cache.Put("/f", File("f", 7));                // we just created it
        _gate.SetResult();
        Assert.Null(await stale);                      // that caller gets what the server said then...
        Assert.Equal(7, (await _cache.LookupAsync("/f", default))!.Size); // ...but the cache keeps our change
    }

    [Fact]
    public async Task Removing_a_directory_forgets_everything_below_it()
    {
        _server["/d"] = new FsAttributes { Name = "d", Kind = FsEntryKind.Directory };
        _server["/d/x"] = File("x");
        await _cache.LookupAsync("/d/x", default);
        await _cache.ListAsync("/d", default);
        _cache.Remove("/d", wasDirectory: true);
        _server.Remove("/d/x");
        _server.Remove("/d");
        Assert.Null(await _cache.LookupAsync("/d/x", default));
        Assert.Null(await _cache.LookupAsync("/d", default));
    }

    [Fact]
    public async Task Fetch_errors_reach_every_waiter_and_are_not_cached()
    {
        var failing = new MetadataCache(_options, _time, (_, _) => Task.FromException<FsAttributes?>(new IOException("boom")), FetchListing);
        await Assert.ThrowsAsync<IOException>(() => failing.LookupAsync("/a", default));
        await Assert.ThrowsAsync<IOException>(() => failing.LookupAsync("/a", default));
        failing.Dispose();
    }
}
