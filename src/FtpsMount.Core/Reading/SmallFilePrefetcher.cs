using System.Buffers;
using FtpsMount.Core.Caching;
using FtpsMount.Core.FileSystem;
using FtpsMount.Core.Pool;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Reading;

/// <summary>
/// Small-file prefetch (<see cref="CacheOptions.PrefetchFiles"/>): when the files of one directory are opened for reading
/// one after another in the order of its listing (<c>find -exec cat</c>, <c>grep -r</c>, a build reading sources), the
/// next few small files of that listing (non-empty, at most one block) are fetched into the block cache through an
/// ordinary <see cref="FileReader"/>, so the reader's own open finds them there instead of paying a transfer each.
/// <list type="bullet">
/// <item>Only on idle transfer sessions: nothing starts while anyone waits for a session or when all transfer sessions
/// are busy; the reserved metadata session is never used (readers lease transfer sessions). A reader that reaches a
/// file being prefetched joins that download (one flight per block).</item>
/// <item>Bounded: at most <see cref="CacheOptions.PrefetchFiles"/> files ahead of the reader, and no more transfers at
/// once than the pool has transfer sessions (none with a single one); each at most one block.</item>
/// <item>Safe to lose: a failed or cancelled prefetch is only logged (debug); the blocks it brought belong to the
/// file version (<see cref="FileKey"/>: path, size, mtime) the listing named, so a changed or rewritten file never
/// serves them, and they are invalidated like any cached block.</item>
/// </list>
/// </summary>
internal sealed class SmallFilePrefetcher : IAsyncDisposable
{
    private const int MaxDirectoriesTracked = 64;

    private readonly BlockFetcher _fetcher;
    private readonly SessionPool _pool;
    private readonly int _depth;
    private readonly int _maxConcurrent;
    private readonly IFtpLogger _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DirectoryState> _directories = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _running = [];
    private readonly CancellationTokenSource _lifetime = new();
    private int _active;
    private long _started;
    private bool _disposed;

    private sealed class DirectoryState
    {
        public int LastIndex = -2;
        public int PrefetchedUpTo = -1;
    }

    public SmallFilePrefetcher(BlockFetcher fetcher, SessionPool pool, int depth, IFtpLogger log)
    {
        _fetcher = fetcher;
        _pool = pool;
        _depth = depth;
        _log = log;
        var settings = pool.Settings;
        var transferSessions = settings.ReserveMetadataSession && settings.Connections >= 2 ? settings.Connections - 1 : settings.Connections;
        // A reader that catches up with a prefetch joins its download (one flight per block), so all transfer
        // sessions may prefetch; a single-session pool never does (the reader would queue behind its own guesses).
        _maxConcurrent = transferSessions >= 2 ? Math.Min(depth, transferSessions - 1) : 0;
    }

    public bool Enabled => _maxConcurrent > 0;

    /// <summary>Prefetches started so far (diagnostics, tests).</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>A handle began reading <paramref name="path"/> at offset 0. <paramref name="siblings"/>: its directory's
    /// listing in readdir order when the metadata cache holds it fresh (null otherwise: nothing is fetched to decide).
    /// <paramref name="skip"/> names files that must not be prefetched (being written through this mount).</summary>
    public void OnFileOpened(string path, IReadOnlyList<FsAttributes>? siblings, Func<string, bool> skip)
    {
        if (!Enabled || siblings is null || path == "/")
        {
            return;
        }

        var directory = FtpPath.GetParent(path);
        var name = FtpPath.GetName(path);
        var index = -1;
        for (var i = 0; i < siblings.Count; i++)
        {
            if (siblings[i].Name == name)
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            return;
        }

        var candidates = new List<(int Index, FileKey Key)>();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            if (!_directories.TryGetValue(directory, out var state))
            {
                if (_directories.Count >= MaxDirectoriesTracked)
                {
                    _directories.Clear();
                }

                state = new DirectoryState();
                _directories[directory] = state;
            }

            var sequential = state.LastIndex == index - 1;
            state.LastIndex = index;
            if (!sequential)
            {
                state.PrefetchedUpTo = index;
                return;
            }

            for (var j = Math.Max(index + 1, state.PrefetchedUpTo + 1); j <= index + _depth && j < siblings.Count; j++)
            {
                var e = siblings[j];
                if (e.Kind != FsEntryKind.File || e.Size <= 0 || e.Size > _fetcher.BlockSize)
                {
                    state.PrefetchedUpTo = j;
                    continue;
                }

                var childPath = FtpPath.Combine(directory, e.Name);
                if (skip(childPath))
                {
                    state.PrefetchedUpTo = j;
                    continue;
                }

                candidates.Add((j, new FileKey(childPath, e.Size, e.Modified)));
            }

            foreach (var (j, key) in candidates)
            {
                if (_active >= _maxConcurrent || !PoolHasRoom())
                {
                    break; // the next open in this directory tries again from here
                }

                state.PrefetchedUpTo = j;
                _active++;
                Interlocked.Increment(ref _started);
                var task = Task.Run(() => FetchAsync(key));
                _running.Add(task);
                _ = task.ContinueWith(t =>
                {
                    lock (_lock)
                    {
                        _running.Remove(t);
                    }
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private bool PoolHasRoom()
    {
        var stats = _pool.Stats;
        var settings = _pool.Settings;
        var transferLimit = settings.ReserveMetadataSession && stats.Limit >= 2 ? stats.Limit - 1 : stats.Limit;
        // Only sessions nobody else uses; never queue behind (or in front of) anyone.
        return stats.Waiting == 0 && stats.InUse + 1 < transferLimit;
    }

    private async Task FetchAsync(FileKey key)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)key.Size);
        try
        {
            var reader = _fetcher.OpenReader(key);
            await using (reader.ConfigureAwait(false))
            {
                await reader.ReadAsync(0, buffer.AsMemory(0, (int)key.Size), _lifetime.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Only a guess ahead: the reader's own read fetches the file (and reports any error) when it gets there.
            if (_log.IsEnabled(FtpLogLevel.Debug) && ex is not OperationCanceledException and not ObjectDisposedException)
            {
                _log.Log(FtpLogLevel.Debug, $"prefetch {key.Path}: {ex.Message}");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            lock (_lock)
            {
                _active--;
            }
        }
    }

    /// <summary>Stops the prefetches in flight and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            running = [.. _running];
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(running).ConfigureAwait(false);
        _lifetime.Dispose();
    }
}
