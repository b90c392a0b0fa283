namespace FtpsMount.Core.FileSystem;

public enum FsEntryKind
{
    File,
    Directory,
    Symlink,
}

/// <summary>What Core knows about one path. Bindings turn it into struct stat / BY_HANDLE_FILE_INFORMATION.</summary>
public sealed record FsAttributes
{
    /// <summary>The last path component ("/" for the root).</summary>
    public required string Name { get; init; }
    public required FsEntryKind Kind { get; init; }
    public long Size { get; init; }

    /// <summary>Last modification time, UTC. Unknown (server gave none) is reported as the Unix epoch.</summary>
    public DateTimeOffset Modified { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Permission bits (e.g. 0644). Servers that don't list them get 0644 for files, 0755 for directories.</summary>
    public int Mode { get; init; }

    public string? LinkTarget { get; init; }

    public bool IsDirectory => Kind == FsEntryKind.Directory;
}

public enum FsOpenMode
{
    Read,
    Write,
    ReadWrite,
}

/// <summary>statfs: what the server tells (AVBL) or "unknown" (null).</summary>
public sealed record FsStatFs(long? TotalBytes, long? FreeBytes, int BlockSize, int MaxNameLength);

/// <summary>Live counters for `ftpsmount status` and the dashboard.</summary>
public sealed record FsStatistics(
    long MetadataHits,
    long MetadataMisses,
    long BlockCacheHits,
    long BlockCacheMisses,
    long BytesDownloaded,
    long BytesUploaded,
    int PendingUploads,
    int OpenHandles);
