using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using FtpsMount.Protocol;

namespace FtpsMount.Core.FileSystem;

/// <summary>
/// Directory listings, attributes and "does not exist" answers, each kept for its TTL
/// (<see cref="CacheOptions.DirCacheTtl"/>, <see cref="CacheOptions.AttrTtl"/>, <see cref="CacheOptions.NegativeTtl"/>)
/// in a size-limited <see cref="MemoryCache"/>. Expiry is judged with the injected <see cref="TimeProvider"/>, so tests
/// control it. Own changes update entries at once (read-your-writes); concurrent identical lookups share one round
/// trip. A fresh listing of the parent answers lookups of its children (and "not found" for names it lacks).
/// </summary>
internal sealed class MetadataCache : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly CacheOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<string, CancellationToken, Task<FsAttributes?>> _fetchEntry;
    private readonly Func<string, CancellationToken, Task<IReadOnlyList<FsAttributes>>> _fetchListing;
    private readonly ConcurrentDictionary<string, Task<FsAttributes?>> _entryFlights = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<Listing>> _listingFlights = new(StringComparer.Ordinal);
    private long _generation;
    // Counts own changes. A fetch that overlapped one may have read the server before it: its answer is returned
    // to its callers but not cached, so it can't overwrite what the change recorded.
    private long _mutations;
    private long _hits;
    private long _misses;

    public MetadataCache(CacheOptions options, TimeProvider time,
        Func<string, CancellationToken, Task<FsAttributes?>> fetchEntry,
        Func<string, CancellationToken, Task<IReadOnlyList<FsAttributes>>> fetchListing)
    {
        _options = options;
        _time = time;
        _fetchEntry = fetchEntry;
        _fetchListing = fetchListing;
        _cache = new MemoryCache(Options.Create(new MemoryCacheOptions { SizeLimit = options.MetadataEntryLimit }));
    }

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    private sealed record Stamped<T>(T Value, DateTimeOffset Expires, long Generation);

    /// <summary>A directory's entries by name (ordinal: servers are case-sensitive).</summary>
    internal sealed class Listing(Dictionary<string, FsAttributes> entries)
    {
        public Dictionary<string, FsAttributes> Entries { get; } = entries;

        /// <summary>Names that exist but whose attributes changed on the server in a way we can't know exactly (an
        /// upload landed: the server chose the mtime). Lookups of these ask the server; a name neither here nor in
        /// <see cref="Entries"/> still does not exist. readdir refetches while any are set.</summary>
        public HashSet<string> Unknown { get; } = new(StringComparer.Ordinal);
    }

    private static string AttrKey(string path) => "a:" + path;
    private static string NegativeKey(string path) => "n:" + path;
    private static string ListingKey(string path) => "d:" + path;

    private bool TryGet<T>(string key, out T value)
    {
        if (_cache.TryGetValue(key, out Stamped<T>? stamped) && stamped is not null
            && stamped.Expires > _time.GetUtcNow() && stamped.Generation == Interlocked.Read(ref _generation))
        {
            value = stamped.Value;
            return true;
        }

        value = default!;
        return false;
    }

    private void Set<T>(string key, T value, TimeSpan ttl, long size = 1)
    {
        if (ttl <= TimeSpan.Zero)
        {
            _cache.Remove(key);
            return;
        }

        var stamped = new Stamped<T>(value, _time.GetUtcNow() + ttl, Interlocked.Read(ref _generation));
        _cache.Set(key, stamped, new MemoryCacheEntryOptions { Size = size });
    }

    /// <summary>Attributes of <paramref name="path"/>, or null when it does not exist.</summary>
    public async Task<FsAttributes?> LookupAsync(string path, CancellationToken ct)
    {
        if (TryGet(AttrKey(path), out FsAttributes attrs))
        {
            Interlocked.Increment(ref _hits);
            return attrs;
        }

        if (TryGet(NegativeKey(path), out bool _))
        {
            Interlocked.Increment(ref _hits);
            return null;
        }

        if (path != "/" && TryGet(ListingKey(FtpPath.GetParent(path)), out Listing parent))
        {
            lock (parent)
            {
                if (!parent.Unknown.Contains(FtpPath.GetName(path)))
                {
                    Interlocked.Increment(ref _hits);
                    return parent.Entries.GetValueOrDefault(FtpPath.GetName(path));
                }
            }
        }

        Interlocked.Increment(ref _misses);
        var result = await Shared(_entryFlights, path, async () =>
        {
            var generation = Interlocked.Read(ref _generation);
            var mutations = Interlocked.Read(ref _mutations);
            var fetched = await _fetchEntry(path, CancellationToken.None).ConfigureAwait(false);
            if (generation == Interlocked.Read(ref _generation) && mutations == Interlocked.Read(ref _mutations))
            {
                if (fetched is null)
                {
                    Set(NegativeKey(path), true, _options.NegativeTtl);
                }
                else
                {
                    Set(AttrKey(path), fetched, _options.AttrTtl);
                }

                UpdateParentListing(path, fetched, onlyIfUnknown: true);
            }

            return fetched;
        }).WaitAsync(ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>The entries of a directory (fetched once per TTL, shared by concurrent callers).</summary>
    public async Task<IReadOnlyCollection<FsAttributes>> ListAsync(string path, CancellationToken ct)
    {
        if (TryGet(ListingKey(path), out Listing cached))
        {
            lock (cached)
            {
                if (cached.Unknown.Count == 0)
                {
                    Interlocked.Increment(ref _hits);
                    return cached.Entries.Values.ToArray();
                }
            }
        }

        Interlocked.Increment(ref _misses);
        var listing = await Shared(_listingFlights, path, async () =>
        {
            var generation = Interlocked.Read(ref _generation);
            var mutations = Interlocked.Read(ref _mutations);
            var entries = await _fetchListing(path, CancellationToken.None).ConfigureAwait(false);
            var map = new Dictionary<string, FsAttributes>(entries.Count, StringComparer.Ordinal);
            foreach (var e in entries)
            {
                map[e.Name] = e;
            }

            var fresh = new Listing(map);
            if (generation == Interlocked.Read(ref _generation) && mutations == Interlocked.Read(ref _mutations))
            {
                Set(ListingKey(path), fresh, _options.DirCacheTtl, 1 + (map.Count / 64));
                // The directory exists: forget any "not found" for it.
                _cache.Remove(NegativeKey(path));
            }

            return fresh;
        }).WaitAsync(ct).ConfigureAwait(false);

        lock (listing)
        {
            return listing.Entries.Values.ToArray();
        }
    }

    /// <summary>The entries of <paramref name="path"/> in listing (readdir) order when a fresh, settled listing is
    /// cached; null otherwise. Never asks the server.</summary>
    public IReadOnlyList<FsAttributes>? TryGetListing(string path)
    {
        if (TryGet(ListingKey(path), out Listing cached))
        {
            lock (cached)
            {
                return cached.Unknown.Count == 0 ? cached.Entries.Values.ToArray() : null;
            }
        }

        return null;
    }

    /// <summary>One fetch per key at a time; the fetch itself is not cancelled by one impatient caller.</summary>
    private static Task<T> Shared<T>(ConcurrentDictionary<string, Task<T>> flights, string key, Func<Task<T>> fetch)
    {
        while (true)
        {
            if (flights.TryGetValue(key, out var running))
            {
                return running;
            }

            var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!flights.TryAdd(key, tcs.Task))
            {
                continue;
            }

            _ = RunAsync();
            return tcs.Task;

            async Task RunAsync()
            {
                try
                {
                    tcs.SetResult(await fetch().ConfigureAwait(false));
                }
                catch (Exception ex)
                {
                    tcs.SetException(ex);
                }
                finally
                {
                    flights.TryRemove(new KeyValuePair<string, Task<T>>(key, tcs.Task));
                }
            }
        }
    }

    /// <summary>Own change: <paramref name="path"/> now has these attributes (created, written, chmod, utimes).</summary>
    public void Put(string path, FsAttributes attributes)
    {
        Interlocked.Increment(ref _mutations);
        _cache.Remove(NegativeKey(path));
        Set(AttrKey(path), attributes, _options.AttrTtl);
        UpdateParentListing(path, attributes);
    }

    /// <summary>Own change: this mount just created the directory <paramref name="path"/> (the server's MKD succeeded),
    /// so it is known to be empty: its listing is cached as complete and empty, and lookups of names inside it are
    /// answered without the server until the listing expires (<see cref="CacheOptions.DirCacheTtl"/>) — as for any
    /// fresh listing; own changes inside it keep it current.</summary>
    public void PutNewDirectory(string path, FsAttributes attributes)
    {
        Put(path, attributes);
        _cache.Remove(NegativeKey(path));
        Set(ListingKey(path), new Listing(new Dictionary<string, FsAttributes>(StringComparer.Ordinal)), _options.DirCacheTtl);
    }

    /// <summary>Own change whose result the server decided (an upload landed: its mtime is the server's): the next
    /// lookup of <paramref name="path"/> asks the server, while its parent's listing keeps answering for the other
    /// names (so creating many files in one directory does not cost a server lookup each).</summary>
    public void Refresh(string path)
    {
        Interlocked.Increment(ref _mutations);
        _cache.Remove(AttrKey(path));
        _cache.Remove(NegativeKey(path));
        _cache.Remove(ListingKey(path));
        if (path != "/" && _cache.TryGetValue(ListingKey(FtpPath.GetParent(path)), out Stamped<Listing>? parent) && parent is not null)
        {
            lock (parent.Value)
            {
                parent.Value.Unknown.Add(FtpPath.GetName(path));
            }
        }
    }

    /// <summary>Keeps a cached listing of the parent in step with what is now known about one of its names.</summary>
    /// <param name="onlyIfUnknown">Only settle a name marked by <see cref="Refresh"/> (a server lookup's answer; the
    /// listing's own entries may carry more, e.g. LIST's mode where SIZE/MDTM has none).</param>
    private void UpdateParentListing(string path, FsAttributes? attributes, bool onlyIfUnknown = false)
    {
        if (path != "/" && _cache.TryGetValue(ListingKey(FtpPath.GetParent(path)), out Stamped<Listing>? parent) && parent is not null)
        {
            var name = FtpPath.GetName(path);
            lock (parent.Value)
            {
                if (onlyIfUnknown && !parent.Value.Unknown.Contains(name))
                {
                    return;
                }

                if (attributes is null)
                {
                    parent.Value.Entries.Remove(name);
                }
                else
                {
                    parent.Value.Entries[name] = attributes;
                }

                parent.Value.Unknown.Remove(name);
            }
        }
    }

    /// <summary>Own change: <paramref name="path"/> no longer exists.</summary>
    public void Remove(string path, bool wasDirectory)
    {
        Interlocked.Increment(ref _mutations);
        if (wasDirectory)
        {
            // Children of a removed or moved directory may be cached under many keys; start over (rare operation).
            Clear();
        }

        _cache.Remove(AttrKey(path));
        _cache.Remove(ListingKey(path));
        Set(NegativeKey(path), true, _options.NegativeTtl);
        UpdateParentListing(path, null);
    }

    /// <summary>Forget what is known about one path (e.g. after a failed operation left its state unknown).</summary>
    public void Forget(string path)
    {
        Interlocked.Increment(ref _mutations);
        _cache.Remove(AttrKey(path));
        _cache.Remove(NegativeKey(path));
        _cache.Remove(ListingKey(path));
        if (path != "/")
        {
            _cache.Remove(ListingKey(FtpPath.GetParent(path)));
        }
    }

    /// <summary>Drops everything, including lookups in flight (their results are not stored).</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _cache.Clear();
    }

    public void Dispose() => _cache.Dispose();
}
