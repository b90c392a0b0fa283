using FtpsMount.Core.FileSystem;

namespace FtpsMount.Core.Tests.FileSystem;

/// <summary>A directory this mount just created is known empty, and an upload landing in a listed directory does not
/// throw the listing away: names absent from such a complete, fresh listing are answered "not found" without a server
/// round trip (what makes untar cheap). Counts the fetches the cache makes.</summary>
public sealed class ListingCompletenessTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<string, FsAttributes> _server = new(StringComparer.Ordinal);
    private readonly MetadataCache _cache;
    private int _entryFetches;
    private int _listFetches;

    public ListingCompletenessTests()
    {
        var options = new CacheOptions { AttrTtl = TimeSpan.FromSeconds(30), DirCacheTtl = TimeSpan.FromSeconds(30), NegativeTtl = TimeSpan.FromSeconds(5) };
        _cache = new MetadataCache(options, _time, FetchEntry, FetchListing);
    }

    public void Dispose() => _cache.Dispose();

    private static FsAttributes File(string name, long size = 1) => new() { Name = name, Kind = FsEntryKind.File, Size = size };

    private static FsAttributes Dir(string name) => new() { Name = name, Kind = FsEntryKind.Directory };

    private Task<FsAttributes?> FetchEntry(string path, CancellationToken ct)
    {
        Interlocked.Increment(ref _entryFetches);
        return Task.FromResult(_server.GetValueOrDefault(path));
    }

    private Task<IReadOnlyList<FsAttributes>> FetchListing(string path, CancellationToken ct)
    {
        Interlocked.Increment(ref _listFetches);
        var prefix = path == "/" ? "/" : path + "/";
        return Task.FromResult<IReadOnlyList<FsAttributes>>(_server
            .Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && !kv.Key[prefix.Length..].Contains('/'))
            .Select(kv => kv.Value).ToArray());
    }

    [Fact]
    public async Task A_directory_created_here_answers_lookups_inside_it_without_the_server()
    {
        _server["/new"] = Dir("new");
        _cache.PutNewDirectory("/new", Dir("new"));

        for (var i = 0; i < 10; i++)
        {
            Assert.Null(await _cache.LookupAsync($"/new/f{i}", default));
        }

        Assert.Empty(await _cache.ListAsync("/new", default));
        Assert.Equal(0, _entryFetches);
        Assert.Equal(0, _listFetches);

        // Own changes inside keep the listing current.
        _cache.Put("/new/f1", File("f1", 7));
        _cache.PutNewDirectory("/new/sub", Dir("sub"));
        Assert.Equal(7, (await _cache.LookupAsync("/new/f1", default))!.Size);
        Assert.Null(await _cache.LookupAsync("/new/sub/x", default));
        Assert.Equal(["f1", "sub"], (await _cache.ListAsync("/new", default)).Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal(0, _entryFetches + _listFetches);
    }

    [Fact]
    public async Task A_new_directory_listing_expires_like_any_listing()
    {
        _cache.PutNewDirectory("/new", Dir("new"));
        _server["/new"] = Dir("new");
        _server["/new/other"] = File("other"); // another client wrote into it
        Assert.Null(await _cache.LookupAsync("/new/other", default));

        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.NotNull(await _cache.LookupAsync("/new/other", default));
        Assert.Equal(1, _entryFetches);
    }

    [Fact]
    public async Task Refresh_asks_the_server_for_that_name_only_and_keeps_the_listing_for_the_others()
    {
        _server["/d"] = Dir("d");
        _server["/d/a"] = File("a", 1);
        Assert.Single(await _cache.ListAsync("/d", default));
        Assert.Equal(1, _listFetches);

        // An upload of /d/a landed: the server chose its size/mtime.
        _server["/d/a"] = File("a", 99);
        _cache.Refresh("/d/a");

        Assert.Null(await _cache.LookupAsync("/d/b", default)); // still answered by the listing
        Assert.Equal(0, _entryFetches);
        Assert.Equal(99, (await _cache.LookupAsync("/d/a", default))!.Size); // asked the server
        Assert.Equal(1, _entryFetches);

        // The answer settled the name in the listing: readdir is served from it again, with the new size.
        var listed = await _cache.ListAsync("/d", default);
        Assert.Equal(99, Assert.Single(listed).Size);
        Assert.Equal(1, _listFetches);
    }

    [Fact]
    public async Task Readdir_refetches_while_a_refreshed_name_is_unsettled()
    {
        _server["/d"] = Dir("d");
        _server["/d/a"] = File("a", 1);
        await _cache.ListAsync("/d", default);
        _server["/d/a"] = File("a", 42);
        _cache.Refresh("/d/a");

        Assert.Equal(42, Assert.Single(await _cache.ListAsync("/d", default)).Size);
        Assert.Equal(2, _listFetches);
    }

    [Fact]
    public async Task A_refreshed_name_that_vanished_is_dropped_from_the_listing()
    {
        _server["/d"] = Dir("d");
        _server["/d/a"] = File("a", 1);
        _server["/d/b"] = File("b", 1);
        await _cache.ListAsync("/d", default);
        _server.Remove("/d/a");
        _cache.Refresh("/d/a");

        Assert.Null(await _cache.LookupAsync("/d/a", default));
        Assert.Equal(["b"], (await _cache.ListAsync("/d", default)).Select(e => e.Name));
        Assert.Equal(1, _listFetches);
    }
}
