using System.Collections.Concurrent;
using FtpsMount.Core.Caching;
using FtpsMount.Core.Errors;
using FtpsMount.Core.Pool;
using FtpsMount.Core.Reading;
using FtpsMount.Core.Writing;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Listing;

namespace FtpsMount.Core.FileSystem;

/// <summary>
/// The filesystem core: POSIX-like operations over a pool of FTPS sessions, with a metadata cache, a block-range
/// read cache and write staging. Everything that escapes is an <see cref="FsException"/>.
/// Consistency rule: everything done through this instance is visible to its next call at once (read-your-writes);
/// changes made by other clients of the server become visible within the TTLs.
/// </summary>
public sealed class RemoteFileSystem : IRemoteFileSystem
{
    public const int MaxNameLength = 255;

    private readonly SessionPool _pool;
    private readonly BlockCache _blocks;
    private readonly BlockFetcher _fetcher;
    private readonly WriteManager _writes;
    private readonly MetadataCache _meta;
    private readonly SmallFilePrefetcher _prefetch;
    private readonly CoreOptions _options;
    private readonly IFtpLogger _log;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<long, FsFileHandle> _handles = new();
    private long _nextHandle;
    private int _disposed;

    public RemoteFileSystem(FtpsOptions ftps, FtpCredentials credentials, CoreOptions options, IFtpLogger? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _log = log ?? NullFtpLogger.Instance;
        _time = time ?? TimeProvider.System;
        _pool = new SessionPool(ftps, credentials, new PoolSettings
        {
            Connections = options.Pool.Connections,
            IdleTimeout = options.Pool.IdleTimeout,
            KeepAliveInterval = options.Pool.KeepAliveInterval,
            ReserveMetadataSession = options.Pool.ReserveMetadataSession,
            Retry = options.Retry,
        }, _log, _time);
        _blocks = BlockCache.Create(options.Cache, _time);
        _fetcher = new BlockFetcher(_pool, _blocks, options.Cache, _log, _time);
        _writes = new WriteManager(_pool, options.Write, _log, _time);
        _writes.Uploaded += OnUploaded;
        _meta = new MetadataCache(options.Cache, _time, FetchEntryAsync, FetchListingAsync);
        _prefetch = new SmallFilePrefetcher(_fetcher, _pool, options.Cache.PrefetchFiles, _log);
    }

    /// <summary>Small-file prefetches started so far (tests).</summary>
    internal long PrefetchesStarted => _prefetch.Started;

    /// <summary>The session pool (for status displays).</summary>
    public SessionPoolStats PoolStatistics => _pool.Stats;

    /// <summary>Drops every cached listing, attribute and "not found" answer (SIGHUP on a mount), so changes made on the
    /// server by others show at the next lookup instead of after the TTLs. Cached file blocks stay: they are validated
    /// against size and modification time when a file is opened. Pending uploads are not touched.</summary>
    public void RefreshMetadata() => _meta.Clear();

    public FsStatistics Statistics => new(
        _meta.Hits,
        _meta.Misses,
        _blocks.Statistics.Hits,
        _blocks.Statistics.Misses,
        _fetcher.Statistics.BytesDownloaded,
        _writes.Statistics.BytesUploaded,
        _writes.PendingUploads,
        _handles.Count);

    // ---------------------------------------------------------------- metadata

    public Task<FsAttributes> GetAttributesAsync(string path, CancellationToken cancellationToken) =>
        Guard(FsOperation.Lookup, path, async () =>
        {
            path = NormalizePath(path);
            var attributes = await _meta.LookupAsync(path, cancellationToken).ConfigureAwait(false)
                ?? throw new FsException(FsError.NotFound, $"{path}: no such file or directory");
            return Overlay(path, attributes);
        });

    public Task<IReadOnlyList<FsAttributes>> ReadDirectoryAsync(string path, CancellationToken cancellationToken) =>
        Guard(FsOperation.List, path, async () =>
        {
            path = NormalizePath(path);
            IReadOnlyCollection<FsAttributes> entries;
            try
            {
                entries = await _meta.ListAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Servers refuse listing a file with the same 550 as a missing path (vsftpd "Failed to change
                // directory", pure-ftpd "Can't check for file existence"): tell the two apart by looking the path up.
                var attributes = await _meta.LookupAsync(path, cancellationToken).ConfigureAwait(false);
                if (attributes is null)
                {
                    throw new FsException(FsError.NotFound, $"{path}: no such directory", ex);
                }

                if (!attributes.IsDirectory)
                {
                    throw new FsException(FsError.NotADirectory, $"{path}: not a directory", ex);
                }

                throw;
            }

            var result = new List<FsAttributes>(entries.Count);
            foreach (var entry in entries)
            {
                result.Add(Overlay(FtpPath.Combine(path, entry.Name), entry));
            }

            return (IReadOnlyList<FsAttributes>)result;
        });

    /// <summary>Files being written through this mount report their local length and a current mtime.</summary>
    private FsAttributes Overlay(string path, FsAttributes attributes)
    {
        if (attributes.Kind != FsEntryKind.File)
        {
            return attributes;
        }

        foreach (var handle in _handles.Values)
        {
            if (handle.Writer is { IsDirty: true } writer && handle.Path == path)
            {
                return attributes with { Size = writer.Length, Modified = handle.LastWrite ?? attributes.Modified };
            }
        }

        // Closed, but the upload has not landed yet (write-back, or a failed close being retried).
        return _writes.TryGetLength(path, out var pending) ? attributes with { Size = pending } : attributes;
    }

    private async Task<FsAttributes?> FetchEntryAsync(string path, CancellationToken ct)
    {
        if (path == "/")
        {
            return new FsAttributes { Name = "/", Kind = FsEntryKind.Directory, Mode = 0x1ED };
        }

        var entry = await _pool.ExecuteAsync(SessionUse.Metadata, (s, c) => s.GetEntryAsync(path, c), idempotent: true, ct).ConfigureAwait(false);
        if (entry is { Type: FtpEntryType.Directory, Modified: null })
        {
            // Without MLST a directory is only known to exist (CWD worked; vsftpd has no MDTM for directories).
            // Its parent's listing has its date and mode, and is worth caching for the siblings anyway.
            var siblings = await _meta.ListAsync(FtpPath.GetParent(path), ct).ConfigureAwait(false);
            var listed = siblings.FirstOrDefault(e => e.Name == FtpPath.GetName(path));
            if (listed is not null)
            {
                return listed;
            }
        }

        if (entry is null)
        {
            return null;
        }

        var attributes = ToAttributes(entry, FtpPath.GetName(path));
        return entry.UnixMode is null && _knownModes.TryGetValue(path, out var known) ? attributes with { Mode = known } : attributes;
    }

    private async Task<IReadOnlyList<FsAttributes>> FetchListingAsync(string path, CancellationToken ct)
    {
        var listing = await _pool.ExecuteAsync(SessionUse.Metadata, (s, c) => s.ListAsync(path, c), idempotent: true, ct).ConfigureAwait(false);
        if (listing.RejectedCount > 0)
        {
            _log.Log(FtpLogLevel.Warning, $"{path}: {listing.RejectedCount} listing line(s) were unparseable or named unsafe entries and are not shown (e.g. \"{listing.Rejected.FirstOrDefault()}\").");
        }

        // A name longer than a path component may be (255 bytes) could never be opened through this filesystem, and a
        // FUSE readdir reply carrying one makes the kernel fail the whole listing with EIO (fs/fuse/readdir.c:
        // namelen > FUSE_NAME_MAX): leave such entries out, as the parsers do with other unusable names.
        var tooLong = listing.Entries.Where(e => System.Text.Encoding.UTF8.GetByteCount(e.Name) > MaxNameLength).ToArray();
        if (tooLong.Length > 0)
        {
            _log.Log(FtpLogLevel.Warning, $"{path}: {tooLong.Length} entr{(tooLong.Length == 1 ? "y has a name" : "ies have names")} longer than {MaxNameLength} bytes and cannot be shown (e.g. \"{tooLong[0].Name[..40]}...\").");
        }

        return listing.Entries.Where(e => System.Text.Encoding.UTF8.GetByteCount(e.Name) <= MaxNameLength).Select(e => ToAttributes(e, e.Name)).ToArray();
    }

    internal static FsAttributes ToAttributes(FtpEntry entry, string name)
    {
        var kind = entry.Type switch
        {
            FtpEntryType.Directory => FsEntryKind.Directory,
            FtpEntryType.Link => FsEntryKind.Symlink,
            _ => FsEntryKind.File,
        };
        var defaultMode = kind switch { FsEntryKind.Directory => 0x1ED, FsEntryKind.Symlink => 0x1FF, _ => 0x1A4 };
        return new FsAttributes
        {
            Name = name,
            Kind = kind,
            Size = kind == FsEntryKind.Directory ? 0 : Math.Max(0, entry.Size ?? 0),
            Modified = entry.Modified ?? DateTimeOffset.UnixEpoch,
            Mode = (entry.UnixMode ?? defaultMode) & 0xFFF,
            LinkTarget = entry.LinkTarget,
        };
    }

    // ---------------------------------------------------------------- files

    public Task<FsFileHandle> OpenAsync(string path, FsOpenMode mode, bool truncate, CancellationToken cancellationToken) =>
        Guard(FsOperation.Read, path, async () =>
        {
            path = NormalizePath(path);
            var attributes = Overlay(path, await _meta.LookupAsync(path, cancellationToken).ConfigureAwait(false)
                ?? throw new FsException(FsError.NotFound, $"{path}: no such file or directory"));
            if (attributes.IsDirectory)
            {
                throw new FsException(FsError.IsADirectory, $"{path}: is a directory");
            }

            var handle = NewHandle(path, mode);
            if (mode != FsOpenMode.Read)
            {
                handle.Writer = _writes.OpenWriter(path, attributes.Size, truncate, isNew: false);
                if (truncate)
                {
                    handle.LastWrite = _time.GetUtcNow();
                }
            }

            return handle;
        });

    public Task<FsFileHandle> CreateAsync(string path, int mode, bool exclusive, CancellationToken cancellationToken) =>
        Guard(FsOperation.Create, path, async () =>
        {
            path = NormalizePath(path);
            var existing = await _meta.LookupAsync(path, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                if (exclusive)
                {
                    throw new FsException(FsError.AlreadyExists, $"{path}: already exists");
                }

                if (existing.IsDirectory)
                {
                    throw new FsException(FsError.IsADirectory, $"{path}: is a directory");
                }
            }
            else
            {
                await RequireDirectoryAsync(FtpPath.GetParent(path), cancellationToken).ConfigureAwait(false);
            }

            var now = _time.GetUtcNow();
            var attributes = new FsAttributes { Name = FtpPath.GetName(path), Kind = FsEntryKind.File, Size = 0, Modified = now, Mode = mode & 0xFFF };
            var handle = NewHandle(path, FsOpenMode.ReadWrite);
            handle.Writer = _writes.OpenWriter(path, existing?.Size ?? 0, truncate: true, isNew: existing is null);
            handle.LastWrite = now;
            if (existing is null && (mode & 0xFFF) != DefaultFileMode)
            {
                handle.CreateMode = mode & 0xFFF;
            }

            _meta.Put(path, attributes);
            _blocks.Invalidate(path);
            return handle;
        });

    private FsFileHandle NewHandle(string path, FsOpenMode mode)
    {
        var handle = new FsFileHandle(Interlocked.Increment(ref _nextHandle), path, mode);
        _handles[handle.Id] = handle;
        return handle;
    }

    public Task<int> ReadAsync(FsFileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        Guard(FsOperation.Read, handle.Path, async () =>
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            // Read-your-writes across handles: if any handle has unflushed data for this path, read through it.
            var writer = handle.Writer ?? DirtyWriterFor(handle.Path);
            if (writer is not null)
            {
                return await writer.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
            }

            var reader = handle.Reader;
            if (reader is null || reader.Key.Path != handle.Path)
            {
                var attributes = await GetAttributesAsync(handle.Path, cancellationToken).ConfigureAwait(false);
                var fresh = _fetcher.OpenReader(new FileKey(handle.Path, attributes.Size, attributes.Modified));
                if (offset == 0 && _prefetch.Enabled && handle.Path != "/")
                {
                    // A whole-file read starting: if this directory is being read in listing order, fetch the next
                    // small files ahead (only from a cached listing, only on idle sessions).
                    _prefetch.OnFileOpened(handle.Path, _meta.TryGetListing(FtpPath.GetParent(handle.Path)),
                        p => _writes.TryGetLength(p, out _) || DirtyWriterFor(p) is not null);
                }

                var previous = Interlocked.Exchange(ref handle.ReaderField, fresh);
                if (previous is not null)
                {
                    await previous.DisposeAsync().ConfigureAwait(false);
                }

                reader = fresh;
            }

            return await reader.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
        });

    private FileWriter? DirtyWriterFor(string path)
    {
        foreach (var other in _handles.Values)
        {
            if (other.Writer is { IsDirty: true } w && other.Path == path)
            {
                return w;
            }
        }

        return null;
    }

    public Task WriteAsync(FsFileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        Guard(FsOperation.Write, handle.Path, async () =>
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            var writer = handle.Writer ?? throw new FsException(FsError.AccessDenied, $"{handle.Path}: not open for writing");
            await writer.WriteAsync(offset, data, cancellationToken).ConfigureAwait(false);
            handle.LastWrite = _time.GetUtcNow();
            _blocks.Invalidate(handle.Path);
            return true;
        });

    public Task TruncateAsync(FsFileHandle handle, long length, CancellationToken cancellationToken) =>
        Guard(FsOperation.Write, handle.Path, async () =>
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            var writer = handle.Writer ?? throw new FsException(FsError.AccessDenied, $"{handle.Path}: not open for writing");
            await writer.SetLengthAsync(length, cancellationToken).ConfigureAwait(false);
            handle.LastWrite = _time.GetUtcNow();
            _blocks.Invalidate(handle.Path);
            return true;
        });

    public Task TruncateAsync(string path, long length, CancellationToken cancellationToken) =>
        Guard(FsOperation.Write, path, async () =>
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            path = NormalizePath(path);
            var handle = await OpenAsync(path, FsOpenMode.Write, truncate: length == 0, cancellationToken).ConfigureAwait(false);
            try
            {
                await TruncateAsync(handle, length, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await ReleaseAsync(handle, cancellationToken).ConfigureAwait(false);
            }

            return true;
        });

    public Task FlushAsync(FsFileHandle handle, CancellationToken cancellationToken) =>
        Guard(FsOperation.Write, handle.Path, async () =>
        {
            if (handle.Writer is { } writer)
            {
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                // FUSE's flush is part of close(); release comes later, asynchronously, and may race a chmod the
                // program makes right after close() — so the create mode is applied here, before close() returns.
                await SettleCreateModeAsync(handle, uploaded: true, cancellationToken).ConfigureAwait(false);
            }

            return true;
        });

    /// <summary>close(2)'s flush. Without write-back the same as <see cref="FlushAsync"/> (close returns once the server
    /// has the file, verified). With write-back it waits for no network at all: the upload starts after the delay once
    /// the last handle is released; fsync (<see cref="FlushAsync"/>) still uploads and verifies.</summary>
    public Task CloseFlushAsync(FsFileHandle handle, CancellationToken cancellationToken) =>
        _options.Write.WriteBack is null
            ? FlushAsync(handle, cancellationToken)
            : Guard(FsOperation.Write, handle.Path, async () =>
            {
                if (handle.Writer is not null)
                {
                    // Not uploaded yet: the create mode is applied when the upload lands (an explicit chmod before
                    // then wins, see SetModeAsync).
                    await SettleCreateModeAsync(handle, uploaded: false, cancellationToken).ConfigureAwait(false);
                }

                return true;
            });

    public Task ReleaseAsync(FsFileHandle handle, CancellationToken cancellationToken) =>
        Guard(FsOperation.Write, handle.Path, async () =>
        {
            try
            {
                if (handle.Writer is { } writer)
                {
                    // Without write-back this returns once the server has the verified file; a failure is the
                    // caller's close() error and the data stays staged in the write manager.
                    await writer.CloseAsync(cancellationToken).ConfigureAwait(false);
                    await SettleCreateModeAsync(handle, uploaded: !_writes.TryGetLength(handle.Path, out _), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _handles.TryRemove(handle.Id, out _);
                if (Interlocked.Exchange(ref handle.ReaderField, null) is { } reader)
                {
                    await reader.DisposeAsync().ConfigureAwait(false);
                }
            }

            return true;
        });

    private void OnUploaded(string path, long size)
    {
        if (_pendingModes.TryRemove(path, out var mode))
        {
            _ = ApplyCreateModeAsync(path, mode, CancellationToken.None);
        }

        _blocks.Invalidate(path);
        // The server set the mtime at upload; we don't know it exactly without asking, so forget the attributes and
        // let the next lookup fetch them (size is already right through the writer overlay until then). The parent's
        // listing stays: it still answers for its other names (a negative lookup of the next new file is free).
        _meta.Refresh(path);
    }

    /// <summary>0644: what a server's usual umask 022 gives an uploaded file, so no SITE CHMOD is needed for it.</summary>
    private const int DefaultFileMode = 0x1A4;

    private readonly ConcurrentDictionary<string, int> _pendingModes = new(StringComparer.Ordinal);

    // Permission bits this mount set on files. Servers without MLST report none for a single file (SIZE+MDTM), and a
    // re-fetch after an upload must not turn a file someone just chmod'ed back into the default (rsync checks).
    private readonly ConcurrentDictionary<string, int> _knownModes = new(StringComparer.Ordinal);

    /// <summary>Applies (or, while the upload is still pending, schedules) the mode given at create, once.</summary>
    /// <param name="uploaded">The file is on the server now (a flush returned); otherwise the upload is pending.</param>
    private async Task SettleCreateModeAsync(FsFileHandle handle, bool uploaded, CancellationToken ct)
    {
        if (handle.CreateMode is not { } mode)
        {
            return;
        }

        handle.CreateMode = null;
        if (!uploaded)
        {
            _pendingModes[handle.Path] = mode; // upload still pending (write-back): apply when it lands
        }
        else
        {
            await ApplyCreateModeAsync(handle.Path, mode, ct).ConfigureAwait(false);
        }
    }

    private async Task ApplyCreateModeAsync(string path, int mode, CancellationToken ct)
    {
        try
        {
            await _pool.ExecuteAsync(SessionUse.Metadata, (s, c) => s.ChmodAsync(path, mode, c), idempotent: true, ct).ConfigureAwait(false);
            _knownModes[path] = mode;
            _meta.Refresh(path);
            if (await FetchEntryAsync(path, ct).ConfigureAwait(false) is { } fresh)
            {
                _meta.Put(path, fresh with { Mode = mode });
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The file itself is safe on the server; only its permission bits are the server's default.
            _log.Log(FtpLogLevel.Debug, $"{path}: could not apply mode {Convert.ToString(mode, 8)} after upload: {ex.Message}");
        }
    }

    // ---------------------------------------------------------------- namespace

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) =>
        Guard(FsOperation.Delete, path, async () =>
        {
            path = NormalizePath(path);
            var attributes = await _meta.LookupAsync(path, cancellationToken).ConfigureAwait(false)
                ?? throw new FsException(FsError.NotFound, $"{path}: no such file or directory");
            if (attributes.IsDirectory)
            {
                throw new FsException(FsError.IsADirectory, $"{path}: is a directory (use rmdir)");
            }

            // A pending upload of this file must not recreate it after the delete.
            await _writes.ForgetAsync(path, cancellationToken).ConfigureAwait(false);
            await RunAsync(FsOperation.Delete, path, (s, c) => s.DeleteFileAsync(path, c), idempotent: false, cancellationToken).ConfigureAwait(false);
            _meta.Remove(path, wasDirectory: false);
            _knownModes.TryRemove(path, out _);
            _pendingModes.TryRemove(path, out _);
            _blocks.Invalidate(path);
            return true;
        });

    public Task MakeDirectoryAsync(string path, int mode, CancellationToken cancellationToken) =>
        Guard(FsOperation.MakeDirectory, path, async () =>
        {
            path = NormalizePath(path);
            if (await _meta.LookupAsync(path, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw new FsException(FsError.AlreadyExists, $"{path}: already exists");
            }

            await RequireDirectoryAsync(FtpPath.GetParent(path), cancellationToken).ConfigureAwait(false);
            await RunAsync(FsOperation.MakeDirectory, path, (s, c) => s.MakeDirectoryAsync(path, c), idempotent: false, cancellationToken).ConfigureAwait(false);
            // Our MKD succeeded, so the directory is empty: lookups inside it (e.g. every file tar creates) need no server.
            _meta.PutNewDirectory(path, new FsAttributes { Name = FtpPath.GetName(path), Kind = FsEntryKind.Directory, Modified = _time.GetUtcNow(), Mode = 0x1ED });
            return true;
        });

    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken) =>
        Guard(FsOperation.RemoveDirectory, path, async () =>
        {
            path = NormalizePath(path);
            if (path == "/")
            {
                throw new FsException(FsError.Busy, "/: cannot remove the root of the mount");
            }

            var attributes = await _meta.LookupAsync(path, cancellationToken).ConfigureAwait(false)
                ?? throw new FsException(FsError.NotFound, $"{path}: no such file or directory");
            if (!attributes.IsDirectory)
            {
                throw new FsException(FsError.NotADirectory, $"{path}: not a directory");
            }

            try
            {
                await RunAsync(FsOperation.RemoveDirectory, path, (s, c) => s.RemoveDirectoryAsync(path, c), idempotent: false, cancellationToken).ConfigureAwait(false);
            }
            catch (FsException ex) when (ex.Error is FsError.AccessDenied or FsError.Io)
            {
                // vsftpd says only "550 Remove directory operation failed." — find out whether it was not empty.
                _meta.Forget(path);
                var children = await _meta.ListAsync(path, cancellationToken).ConfigureAwait(false);
                if (children.Count > 0)
                {
                    throw new FsException(FsError.DirectoryNotEmpty, $"{path}: directory not empty", ex);
                }

                throw;
            }

            _meta.Remove(path, wasDirectory: true);
            _blocks.InvalidateAll();
            return true;
        });

    public Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) =>
        Guard(FsOperation.Rename, from, async () =>
        {
            from = NormalizePath(from);
            to = NormalizePath(to);
            if (from == to)
            {
                return true;
            }

            var source = await _meta.LookupAsync(from, cancellationToken).ConfigureAwait(false)
                ?? throw new FsException(FsError.NotFound, $"{from}: no such file or directory");
            if (source.IsDirectory && (to + "/").StartsWith(from + "/", StringComparison.Ordinal))
            {
                throw new FsException(FsError.InvalidName, $"cannot move {from} into itself ({to})");
            }

            await RequireDirectoryAsync(FtpPath.GetParent(to), cancellationToken).ConfigureAwait(false);
            var target = await _meta.LookupAsync(to, cancellationToken).ConfigureAwait(false);
            if (target is not null)
            {
                if (noReplace)
                {
                    throw new FsException(FsError.AlreadyExists, $"{to}: already exists");
                }

                if (target.IsDirectory && !source.IsDirectory)
                {
                    throw new FsException(FsError.IsADirectory, $"{to}: is a directory");
                }

                if (!target.IsDirectory && source.IsDirectory)
                {
                    throw new FsException(FsError.NotADirectory, $"{to}: not a directory");
                }

                if (target.IsDirectory && (await _meta.ListAsync(to, cancellationToken).ConfigureAwait(false)).Count > 0)
                {
                    // rename(2) replaces only an empty directory.
                    throw new FsException(FsError.DirectoryNotEmpty, $"{to}: directory not empty");
                }
            }

            // Pending writes land under the old name first, so the rename moves complete content (a new file waiting
            // for write-back is not on the server yet and RNFR would not find it). Then the source's cached attributes
            // are not its content's (a write-back file closed but not uploaded still has create's size 0).
            var hadWrites = _writes.TryGetLength(from, out _) || HandlesUnder(from).Any(h => h.Writer is { IsDirty: true });
            await _writes.FlushPathAsync(from, cancellationToken).ConfigureAwait(false);
            foreach (var handle in HandlesUnder(from))
            {
                if (handle.Writer is { IsDirty: true } w)
                {
                    await w.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            if (target is { IsDirectory: false })
            {
                await _writes.ForgetAsync(to, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await RunAsync(FsOperation.Rename, from, (s, c) => s.RenameAsync(from, to, c), idempotent: false, cancellationToken).ConfigureAwait(false);
            }
            catch (FsException) when (target is not null)
            {
                // Some servers refuse to rename onto an existing name; POSIX rename replaces it. Remove the target
                // (an empty directory or a file), then try again. Not atomic, which FTP can't offer.
                if (target.IsDirectory)
                {
                    await RunAsync(FsOperation.RemoveDirectory, to, (s, c) => s.RemoveDirectoryAsync(to, c), idempotent: false, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await RunAsync(FsOperation.Delete, to, (s, c) => s.DeleteFileAsync(to, c), idempotent: false, cancellationToken).ConfigureAwait(false);
                }

                await RunAsync(FsOperation.Rename, from, (s, c) => s.RenameAsync(from, to, c), idempotent: false, cancellationToken).ConfigureAwait(false);
            }

            _writes.Renamed(from, to);
            _knownModes.TryRemove(to, out _);
            foreach (var dictionary in new[] { _knownModes, _pendingModes })
            {
                foreach (var key in dictionary.Keys.Where(k => k == from || k.StartsWith(from + "/", StringComparison.Ordinal)).ToArray())
                {
                    if (dictionary.TryRemove(key, out var value))
                    {
                        dictionary[to + key[from.Length..]] = value;
                    }
                }
            }

            foreach (var handle in HandlesUnder(from))
            {
                handle.Path = to + handle.Path[from.Length..];
            }

            _blocks.Invalidate(from);
            _blocks.Invalidate(to);
            if (source.IsDirectory || target is { IsDirectory: true })
            {
                _meta.Remove(from, wasDirectory: true);
                _blocks.InvalidateAll();
            }
            else
            {
                _meta.Remove(from, wasDirectory: false);
                if (hadWrites)
                {
                    _meta.Refresh(to); // the upload just landed: the server has its size and mtime
                }
                else
                {
                    _meta.Put(to, source with { Name = FtpPath.GetName(to) });
                }
            }

            return true;
        });

    private IEnumerable<FsFileHandle> HandlesUnder(string path) =>
        _handles.Values.Where(h => h.Path == path || h.Path.StartsWith(path + "/", StringComparison.Ordinal)).ToArray();

    public Task SetModeAsync(string path, int mode, CancellationToken cancellationToken) =>
        Guard(FsOperation.SetAttributes, path, async () =>
        {
            path = NormalizePath(path);
            var attributes = await GetAttributesAsync(path, cancellationToken).ConfigureAwait(false);
            // Data still to upload (write-back): the upload below dates the file on the server, so what is cached now
            // (the create time) is not its mtime afterwards.
            var hadWrites = _writes.TryGetLength(path, out _) || HandlesUnder(path).Any(h => h.Path == path && h.Writer is { IsDirty: true });
            await FlushPendingAsync(path, cancellationToken).ConfigureAwait(false);
            // An explicit chmod wins over the mode given at create: release (which FUSE sends after close() returned)
            // must not put the create mode back.
            _pendingModes.TryRemove(path, out _);
            foreach (var handle in HandlesUnder(path))
            {
                if (handle.Path == path)
                {
                    handle.CreateMode = null;
                }
            }

            await RunAsync(FsOperation.SetAttributes, path, (s, c) => s.ChmodAsync(path, mode & 0xFFF, c), idempotent: true, cancellationToken).ConfigureAwait(false);
            _knownModes[path] = mode & 0xFFF;
            if (hadWrites)
            {
                _meta.Refresh(path); // the next lookup gets the server's mtime (and the mode, or _knownModes' without MLST)
            }
            else
            {
                _meta.Put(path, attributes with { Mode = mode & 0xFFF });
            }
            return true;
        });

    public Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        Guard(FsOperation.SetAttributes, path, async () =>
        {
            path = NormalizePath(path);
            var attributes = await GetAttributesAsync(path, cancellationToken).ConfigureAwait(false);
            // An upload after this would set the server's mtime to "now": land pending data first.
            await FlushPendingAsync(path, cancellationToken).ConfigureAwait(false);
            try
            {
                await RunAsync(FsOperation.SetAttributes, path, (s, c) => s.SetModifiedTimeAsync(path, modified, c), idempotent: true, cancellationToken).ConfigureAwait(false);
            }
            catch (FsException ex) when (attributes.IsDirectory && ex.Error is FsError.AccessDenied)
            {
                // Some servers cannot date a directory at all (vsftpd 3.0.3: MDTM-set on a directory is 550, and it has
                // no MFMT). Say so precisely instead of "permission denied"; nothing pretends it worked.
                throw new FsException(FsError.NotSupported, $"{path}: this server cannot set a directory's modification time", ex);
            }

            var seconds = DateTimeOffset.FromUnixTimeSeconds(modified.ToUnixTimeSeconds()); // FTP keeps whole seconds
            _meta.Put(path, attributes with { Modified = seconds });
            foreach (var handle in HandlesUnder(path))
            {
                handle.LastWrite = null;
            }

            _blocks.Invalidate(path);
            return true;
        });

    private async Task FlushPendingAsync(string path, CancellationToken ct)
    {
        foreach (var handle in HandlesUnder(path))
        {
            if (handle.Path == path && handle.Writer is { IsDirty: true } w)
            {
                await w.FlushAsync(ct).ConfigureAwait(false);
            }
        }

        // Closed but not uploaded yet (write-back): an upload after a chmod/utime would undo it (the server dates the
        // file at upload), so land it first.
        if (_writes.TryGetLength(path, out _))
        {
            try
            {
                await _writes.FlushPathAsync(path, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not FsException and not OperationCanceledException)
            {
                throw FtpErrorMapper.ToFsException(ex, FsOperation.Write, path);
            }
        }
    }

    public Task<FsStatFs> StatFsAsync(CancellationToken cancellationToken) =>
        Guard(FsOperation.StatFs, "/", async () =>
        {
            var free = await _pool.ExecuteAsync(SessionUse.Metadata, (s, c) => s.GetAvailableSpaceAsync("/", c), idempotent: true, cancellationToken).ConfigureAwait(false);
            return new FsStatFs(TotalBytes: null, FreeBytes: free, BlockSize: 4096, MaxNameLength: MaxNameLength);
        });

    public Task<IReadOnlyList<string>> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _writes.DrainAsync(timeout, cancellationToken);

    /// <summary>At unmount: releases every handle still open (the kernel sends no release for files open when a mount is
    /// detached), which uploads what was written to them, and returns the server paths whose upload failed or was cut
    /// short by <paramref name="cancellationToken"/> (their data stays staged, see <see cref="DrainAsync"/>).</summary>
    public async Task<IReadOnlyList<string>> ReleaseOpenFilesAsync(CancellationToken cancellationToken)
    {
        var failed = new List<string>();
        foreach (var handle in _handles.Values.ToArray())
        {
            var path = handle.Path;
            try
            {
                await ReleaseAsync(handle, cancellationToken).ConfigureAwait(false);
            }
            catch (FsException ex)
            {
                _log.Log(FtpLogLevel.Error, $"unmount: {path} was open and could not be uploaded; it stays staged: {ex.Message}");
                failed.Add(path);
            }
            catch (OperationCanceledException)
            {
                failed.Add(path);
            }
        }

        return failed;
    }

    // ---------------------------------------------------------------- plumbing

    private async Task RequireDirectoryAsync(string directory, CancellationToken ct)
    {
        var parent = await _meta.LookupAsync(directory, ct).ConfigureAwait(false)
            ?? throw new FsException(FsError.NotFound, $"{directory}: no such directory");
        if (!parent.IsDirectory)
        {
            throw new FsException(FsError.NotADirectory, $"{directory}: not a directory");
        }
    }

    private async Task RunAsync(FsOperation operation, string path, Func<FtpSession, CancellationToken, Task> command, bool idempotent, CancellationToken ct)
    {
        try
        {
            await _pool.ExecuteAsync(SessionUse.Metadata, command, idempotent, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not FsException)
        {
            var mapped = FtpErrorMapper.Map(ex, operation);
            var error = FtpErrorMapper.ToFsException(ex, operation, path);
            if (mapped.Ambiguous)
            {
                // The reply didn't say why (vsftpd: "550 Create directory operation failed."): look at the server.
                _meta.Forget(path);
                var now = await _meta.LookupAsync(path, ct).ConfigureAwait(false);
                if (operation == FsOperation.MakeDirectory && now is not null)
                {
                    throw new FsException(FsError.AlreadyExists, $"{path}: already exists", ex);
                }

                if (operation is FsOperation.Delete or FsOperation.Rename or FsOperation.RemoveDirectory && now is null)
                {
                    throw new FsException(FsError.NotFound, $"{path}: no such file or directory", ex);
                }
            }

            throw error;
        }
    }

    /// <summary>Absolute, normalised, CR/LF/NUL-free, components within <see cref="MaxNameLength"/>.</summary>
    internal static string NormalizePath(string path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            throw new FsException(FsError.InvalidName, $"\"{path}\": paths must be absolute");
        }

        if (path.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new FsException(FsError.InvalidName, "a name containing CR, LF or NUL cannot be sent to an FTP server");
        }

        var normalized = FtpPath.Normalize(path);
        foreach (var part in normalized.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(part) > MaxNameLength)
            {
                throw new FsException(FsError.NameTooLong, $"{normalized}: a name is longer than {MaxNameLength} bytes");
            }
        }

        return normalized;
    }

    private async Task<T> Guard<T>(FsOperation operation, string path, Func<Task<T>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (FsException ex)
        {
            if (_log.IsEnabled(FtpLogLevel.Debug))
            {
                _log.Log(FtpLogLevel.Debug, $"{operation} {path}: {ex.Error}: {ex.Message}");
            }

            throw;
        }
        catch (Exception ex)
        {
            var mapped = FtpErrorMapper.ToFsException(ex, operation, path);
            _log.Log(mapped.Error == FsError.Io ? FtpLogLevel.Warning : FtpLogLevel.Debug, $"{operation} {path}: {mapped.Error}: {mapped.Message}");
            throw mapped;
        }
    }

    private Task Guard(FsOperation operation, string path, Func<Task<bool>> body) => Guard<bool>(operation, path, body);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var handle in _handles.Values.ToArray())
        {
            try
            {
                await ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
            }
            catch (FsException ex)
            {
                _log.Log(FtpLogLevel.Error, $"unmount: {handle.Path} could not be uploaded and stays staged: {ex.Message}");
            }
        }

        var failed = await _writes.DrainAsync(TimeSpan.FromMinutes(1), CancellationToken.None).ConfigureAwait(false);
        foreach (var path in failed)
        {
            _log.Log(FtpLogLevel.Error, $"unmount: the upload of {path} did not complete; its data stays in the staging directory.");
        }

        await _writes.DisposeAsync().ConfigureAwait(false);
        await _prefetch.DisposeAsync().ConfigureAwait(false);
        await _fetcher.DisposeAsync().ConfigureAwait(false);
        await _pool.DisposeAsync().ConfigureAwait(false);
        _blocks.Dispose();
        _meta.Dispose();
    }
}
