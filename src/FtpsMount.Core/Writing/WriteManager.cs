using FtpsMount.Core.Pool;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Writing;

/// <summary>
/// The write path of one mount: staging, uploads, verification, write-back.
/// <list type="bullet">
/// <item>One shared write state per path (<see cref="StagedFile"/>): several <see cref="FileWriter"/>s on one file see
/// each other's writes; the state outlives the last close until its data is on the server, and a reopen picks it up.</item>
/// <item>Staging in memory up to <see cref="WriteOptions.MemoryStagingLimit"/>, else in a 0600 temp file in
/// <see cref="WriteOptions.StagingDirectory"/> or a private 0700 directory; a file's staging is freed after its last
/// close once the upload was verified.</item>
/// <item>Uploads: the whole file (STOR), or only the appended tail (APPE) when the server already has the start;
/// sequential writes stream over one transfer while the file is written; cut uploads resume (see
/// <see cref="Uploader"/>); SIZE and, where offered, a checksum verify every upload.</item>
/// <item>Without <see cref="WriteOptions.WriteBack"/>, close returns once the server has the file, verified, or throws
/// (the data then stays staged and is retried in the background, and <see cref="DrainAsync"/> reports it). With it,
/// close returns at once and the upload runs after the delay; fsync (<see cref="FileWriter.FlushAsync"/>) and
/// <see cref="DrainAsync"/> wait.</item>
/// </list>
/// Thread-safe. One lock guards the path map, the pending set and each state's handle count; it is never held
/// across an await.
/// </summary>
public sealed partial class WriteManager : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, StagedFile> _files = new(StringComparer.Ordinal);
    private readonly HashSet<StagedFile> _pending = [];
    /// <summary>Every state not yet disposed, including orphaned ones still open (their staging must be freed too).</summary>
    private readonly HashSet<StagedFile> _live = [];
    private readonly CancellationTokenSource _disposing = new();
    private readonly int _maxStreams;
    private int _streams;
    private bool _disposed;

    public WriteManager(SessionPool pool, WriteOptions options, IFtpLogger? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Log = log ?? NullFtpLogger.Instance;
        Time = time ?? TimeProvider.System;
        Staging = new StagingArea(options, Log);
        Counters = new WriteCounters();
        Uploader = new Uploader(pool, options, Log, Time, Counters);

        // A stream holds a transfer session for as long as its file is being written. Leave at least one transfer
        // session to everything else (reads, other uploads), or a writer of two files could wait on itself.
        var settings = pool.Settings;
        var transferSessions = settings.ReserveMetadataSession && settings.Connections >= 2 ? settings.Connections - 1 : settings.Connections;
        _maxStreams = Math.Max(0, transferSessions - 1);
    }

    /// <summary>Raised after an upload was verified: the path and the file's size on the server now. Handlers run on
    /// the uploading thread and must not block; exceptions they throw are logged.</summary>
    public event Action<string, long>? Uploaded;

    /// <summary>Closed files whose data is not on the server yet (waiting for write-back, uploading, or failed and
    /// waiting for a retry).</summary>
    public int PendingUploads
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    public WriteStatistics Statistics
    {
        get
        {
            lock (_lock)
            {
                return Counters.Snapshot(_pending.Count, _live.Count(f => f.Handles > 0), _live.Sum(f => f.Data.StagedBytes));
            }
        }
    }

    internal WriteOptions Options { get; }
    internal IFtpLogger Log { get; }
    internal TimeProvider Time { get; }
    internal StagingArea Staging { get; }
    internal WriteCounters Counters { get; }
    internal Uploader Uploader { get; }

    /// <summary>A sequential writer starts streaming its upload once this many bytes are staged past the plan's start.
    /// Smaller files are uploaded in one go on flush/close.</summary>
    internal long StreamThreshold { get; set; } = 1024 * 1024;

    /// <summary>First delay before retrying a failed upload of a closed file in the background; doubles up to
    /// <see cref="BackgroundRetryMax"/>.</summary>
    internal TimeSpan BackgroundRetryBase { get; set; } = TimeSpan.FromSeconds(5);
    internal TimeSpan BackgroundRetryMax { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Opens a writer on <paramref name="path"/>. When the path already has write state (another open writer, or a
    /// closed file still uploading), the writer joins it and <paramref name="remoteSize"/> is ignored: the staged state
    /// is newer than the server.
    /// </summary>
    /// <param name="path">Absolute path.</param>
    /// <param name="remoteSize">Size on the server (0 for a new file).</param>
    /// <param name="truncate">O_TRUNC / creat: the file starts empty.</param>
    /// <param name="isNew">The file does not exist on the server yet: it is created even if nothing is written.</param>
    public FileWriter OpenWriter(string path, long remoteSize, bool truncate, bool isNew)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(remoteSize);
        StagedFile file;
        bool joined;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            joined = _files.TryGetValue(path, out var existing);
            if (existing is not null)
            {
                file = existing;
                if (_pending.Remove(file))
                {
                    StopBackgroundLocked(file); // its upload (if running) finishes; the new writer's close takes over
                }
            }
            else
            {
                file = new StagedFile(this, path, remoteSize, truncate, isNew);
                _files[path] = file;
                _live.Add(file);
            }

            file.Handles++;
        }

        var ready = joined && (truncate || isNew) ? file.TruncateForOpenAsync(_disposing.Token) : Task.CompletedTask;
        return new FileWriter(this, file, ready);
    }

    /// <summary>The length of <paramref name="path"/> as written through this mount (open or not yet uploaded), so
    /// attributes stay read-your-writes consistent before the upload lands.</summary>
    public bool TryGetLength(string path, out long length)
    {
        lock (_lock)
        {
            if (_files.TryGetValue(path, out var file) && !file.Orphaned)
            {
                length = file.Length;
                return true;
            }
        }

        length = 0;
        return false;
    }

    /// <summary>Uploads whatever is staged for <paramref name="path"/> now (open or pending) and waits, e.g. before a
    /// rename on the server. Throws <see cref="FsException"/> when the upload fails (the data stays staged).</summary>
    public async Task FlushPathAsync(string path, CancellationToken cancellationToken)
    {
        StagedFile? file;
        lock (_lock)
        {
            _files.TryGetValue(path, out file);
        }

        if (file is not null)
        {
            await FlushAsync(file, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A file or directory was renamed on the server through this mount: the write state of <paramref name="from"/> and
    /// of every path under it (open writers and pending uploads) follows to <paramref name="to"/>, so later uploads land
    /// under the new name. Write state that a destination path had is dropped, as the rename replaced that file.
    /// <see cref="FileWriter.Path"/> does the same for one file. Call it after the server's rename succeeded, and
    /// <see cref="FlushPathAsync"/> on <paramref name="from"/> before it (a new file may not be on the server yet).
    /// </summary>
    public void Renamed(string from, string to)
    {
        ArgumentException.ThrowIfNullOrEmpty(from);
        ArgumentException.ThrowIfNullOrEmpty(to);
        lock (_lock)
        {
            var prefix = from.EndsWith('/') ? from : from + "/";
            var moving = _files.Values
                .Where(f => f.Path == from || f.Path.StartsWith(prefix, StringComparison.Ordinal))
                .ToList();
            foreach (var file in moving)
            {
                RenameLocked(file, to + file.Path[from.Length..]);
            }
        }
    }

    /// <summary>
    /// The file was deleted (or is about to be replaced) through this mount: drop its staged data and never upload it.
    /// Writers still open keep writing into the staging (like an unlinked open file) but nothing reaches the server.
    /// Waits until an upload of it already running has ended, so the caller's DELE comes after it.
    /// </summary>
    public async Task ForgetAsync(string path, CancellationToken cancellationToken)
    {
        StagedFile? file;
        lock (_lock)
        {
            file = _files.TryGetValue(path, out var existing) ? existing : null;
            if (file is null)
            {
                return;
            }

            OrphanLocked(file);
        }

        await file.QuiesceAsync(cancellationToken).ConfigureAwait(false);
        await ReleaseIfIdleAsync(file).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for every pending upload: starts those still waiting for their write-back delay (or their next retry)
    /// now, and returns the paths whose upload failed or did not finish within <paramref name="timeout"/>. Their data
    /// stays staged (and is retried later).
    /// </summary>
    public async Task<IReadOnlyList<string>> DrainAsync(TimeSpan timeout, CancellationToken ct)
    {
        List<StagedFile> files;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            files = [.. _pending];
        }

        using var deadline = timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(timeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var results = await Task.WhenAll(files.Select(f => DrainOneAsync(f, linked.Token))).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        var failed = new List<string>();
        for (var i = 0; i < files.Count; i++)
        {
            if (!results[i])
            {
                failed.Add(files[i].Path);
            }
        }

        failed.Sort(StringComparer.Ordinal);
        return failed;
    }

    // ---- used by FileWriter ----------------------------------------------------------------------------------------

    internal void Rename(StagedFile file, string to)
    {
        ArgumentException.ThrowIfNullOrEmpty(to);
        lock (_lock)
        {
            RenameLocked(file, to);
        }
    }

    /// <summary>Flush of one writer (open or already closed): uploads now; afterwards a closed file is released.</summary>
    internal async Task FlushAsync(StagedFile file, CancellationToken ct)
    {
        await file.UploadAsync(ct).ConfigureAwait(false);
        await ReleaseIfIdleAsync(file).ConfigureAwait(false);
    }

    /// <summary>Close of one writer (see <see cref="FileWriter.CloseAsync"/>).</summary>
    internal async Task CloseAsync(StagedFile file, CancellationToken ct)
    {
        lock (_lock)
        {
            var last = --file.Handles == 0;
            if (last && Options.WriteBack is { } delay && file.IsDirty && !file.Orphaned)
            {
                // A stream already sent the data: finish it now instead of holding its session through the delay.
                SchedulePendingLocked(file, file.IsStreaming ? TimeSpan.Zero : delay);
                return;
            }
        }

        if (Options.WriteBack is null && file.IsDirty && !file.Orphaned)
        {
            try
            {
                await file.UploadAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FsException or OperationCanceledException)
            {
                lock (_lock)
                {
                    SchedulePendingLocked(file, BackgroundRetryBase); // no-op while other writers have it open
                }

                throw;
            }
        }

        await ReleaseIfIdleAsync(file).ConfigureAwait(false);
    }

    internal bool TryAcquireStreamSlot()
    {
        lock (_lock)
        {
            if (_disposed || _streams >= _maxStreams)
            {
                return false;
            }

            _streams++;
            return true;
        }
    }

    internal void ReleaseStreamSlot()
    {
        lock (_lock)
        {
            _streams--;
        }
    }

    internal void RaiseUploaded(string path, long size)
    {
        try
        {
            Uploaded?.Invoke(path, size);
        }
#pragma warning disable CA1031 // a subscriber's failure must not turn a verified upload into an error
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.Log(FtpLogLevel.Warning, $"write {path}: an Uploaded handler failed: {ex.Message}");
        }
    }

    // ---- internals -------------------------------------------------------------------------------------------------

    private void RenameLocked(StagedFile file, string to)
    {
        var from = file.Path;
        if (string.Equals(from, to, StringComparison.Ordinal))
        {
            return;
        }

        if (_files.TryGetValue(to, out var replaced) && replaced != file)
        {
            OrphanLocked(replaced);
            _ = Task.Run(async () =>
            {
                await replaced.QuiesceAsync(CancellationToken.None).ConfigureAwait(false);
                await ReleaseIfIdleAsync(replaced).ConfigureAwait(false);
            });
        }

        if (_files.TryGetValue(from, out var mapped) && mapped == file)
        {
            _files.Remove(from);
        }

        if (!file.Orphaned)
        {
            file.Path = to;
            _files[to] = file;
        }
    }

    private void OrphanLocked(StagedFile file)
    {
        file.Orphan();
        if (_files.TryGetValue(file.Path, out var mapped) && mapped == file)
        {
            _files.Remove(file.Path);
        }

        if (_pending.Remove(file))
        {
            StopBackgroundLocked(file);
        }
    }

    /// <summary>Frees a file's staging once nobody has it open and nothing of it waits for the server.</summary>
    private async Task ReleaseIfIdleAsync(StagedFile file)
    {
        lock (_lock)
        {
            if (file.Handles > 0 || (file.IsDirty && !file.Orphaned))
            {
                return;
            }

            if (_pending.Remove(file))
            {
                StopBackgroundLocked(file);
            }

            if (_files.TryGetValue(file.Path, out var mapped) && mapped == file)
            {
                _files.Remove(file.Path);
            }

            if (file.Background is not null || !_live.Remove(file))
            {
                return; // its background loop releases it when it ends; or already released
            }
        }

        await file.DisposeAsync(preserve: false).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        List<StagedFile> files;
        List<Task> loops;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            files = [.. _live];
            loops = files.Select(f => f.Background?.Completion).OfType<Task>().ToList();
            _live.Clear();
            _files.Clear();
            _pending.Clear();
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.Log(FtpLogLevel.Warning, "write manager: background uploads did not stop within 10 s");
        }

        foreach (var file in files)
        {
            await file.DisposeAsync(preserve: true).ConfigureAwait(false);
        }

        Staging.Dispose();
    }
}
