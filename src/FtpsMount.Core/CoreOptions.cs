namespace FtpsMount.Core;

/// <summary>
/// Everything the filesystem core can be tuned with, as typed groups (one per concern) instead of one flat bag.
/// The CLI maps its flags onto these; where issue 3 names a flag, the property's comment names it. Defaults are
/// what a mount uses without flags. <see cref="Validate"/> rejects values that cannot work, naming the flag or property.
/// </summary>
public sealed record CoreOptions
{
    public PoolOptions Pool { get; init; } = new();
    public CacheOptions Cache { get; init; } = new();
    public WriteOptions Write { get; init; } = new();
    public RetryOptions Retry { get; init; } = new();

    public void Validate()
    {
        Pool.Validate();
        Cache.Validate();
        Write.Validate();
        Retry.Validate();
    }

    internal static void Require(bool condition, string option, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"{option}: {rule}", option);
        }
    }
}

/// <summary>The bounded pool of authenticated sessions of one mount.</summary>
public sealed record PoolOptions
{
    /// <summary><c>--connections</c>: most sessions open at once (transfers and metadata together).</summary>
    public int Connections { get; init; } = 4;

    /// <summary>An unused session is closed after this long (the pool drains back to zero when the mount is idle).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>NOOP on a session idle this long, to stay under server idle timeouts (vsftpd 3.0.3 defaults to
    /// 300 s, pure-ftpd 1.0.50 to 15 min) and NAT/firewall connection timeouts.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Keep one of the <see cref="Connections"/> for short metadata commands, so long transfers on all other
    /// sessions never make a stat or listing wait. Has no effect with a single connection.</summary>
    public bool ReserveMetadataSession { get; init; } = true;

    public void Validate()
    {
        CoreOptions.Require(Connections is >= 1 and <= 64, "--connections", "must be between 1 and 64.");
        CoreOptions.Require(IdleTimeout > TimeSpan.Zero, "Pool.IdleTimeout", "must be positive.");
        CoreOptions.Require(KeepAliveInterval > TimeSpan.Zero, "Pool.KeepAliveInterval", "must be positive.");
    }
}

/// <summary>Metadata cache and block-range read cache.</summary>
public sealed record CacheOptions
{
    /// <summary><c>--dir-cache-ttl</c>: how long a directory listing is reused. Own changes update the cache at once;
    /// the TTL only bounds how late changes made by other clients of the server become visible.</summary>
    public TimeSpan DirCacheTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>--attr-ttl</c>: how long a file's attributes (size, mtime, mode) are reused.</summary>
    public TimeSpan AttrTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long "this name does not exist" is remembered (shells and editors probe many missing names).</summary>
    public TimeSpan NegativeTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Size limit of the metadata cache, in entries (one per listed directory, attribute or negative name).</summary>
    public long MetadataEntryLimit { get; init; } = 200_000;

    /// <summary><c>--block-size</c>: unit of the read cache and of range requests. Measured over loopback vsftpd
    /// (TLS 1.3): a cold random read costs ~4 ms of fixed setup (EPSV, REST, RETR, data TLS handshake) plus transfer
    /// time proportional to the block (~3.9 ms per MiB), while sequential reads stream on one RETR whatever the block
    /// size. 256 KiB keeps random reads near the fixed cost without multiplying cache entries.</summary>
    public int BlockSize { get; init; } = 256 * 1024;

    /// <summary><c>--cache-size</c>: memory budget of the read cache, in bytes.</summary>
    public long CacheSizeBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary><c>--cache-dir</c>: directory of the persistent block cache, or null for memory only.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Disk budget of the persistent block cache, in bytes (used with <see cref="CacheDirectory"/>).</summary>
    public long DiskCacheSizeBytes { get; init; } = 10L * 1024 * 1024 * 1024;

    /// <summary>Read-ahead when a file is first detected as read sequentially.</summary>
    public long ReadAheadInitial { get; init; } = 128 * 1024;

    /// <summary>Largest read-ahead window of a sequential reader.</summary>
    public long ReadAheadMax { get; init; } = 8L * 1024 * 1024;

    /// <summary><c>--prefetch-files N</c>: when the files of one directory are read one after another in listing order
    /// (e.g. <c>find -exec cat</c>, <c>grep -r</c>), fetch up to this many of the next small files (at most one block
    /// each) of that listing into the block cache ahead of time, on transfer sessions that are idle (never the reserved
    /// metadata session). 0 turns it off.</summary>
    public int PrefetchFiles { get; init; } = 4;

    /// <summary>Files at least this large, read sequentially, are fetched as parallel ranges over several sessions.
    /// Off by default (<see cref="long.MaxValue"/>): over loopback one stream was always faster (each range costs a RETR
    /// and an abort); parallel ranges pay off on high-latency links, where this should be set (e.g. 64 MiB).</summary>
    public long ParallelRangeThreshold { get; init; } = long.MaxValue;

    public void Validate()
    {
        CoreOptions.Require(DirCacheTtl >= TimeSpan.Zero, "--dir-cache-ttl", "must not be negative.");
        CoreOptions.Require(AttrTtl >= TimeSpan.Zero, "--attr-ttl", "must not be negative.");
        CoreOptions.Require(NegativeTtl >= TimeSpan.Zero, "Cache.NegativeTtl", "must not be negative.");
        CoreOptions.Require(MetadataEntryLimit >= 1, "Cache.MetadataEntryLimit", "must be at least 1.");
        CoreOptions.Require(BlockSize is >= 4096 and <= 64 * 1024 * 1024, "--block-size", "must be between 4 KiB and 64 MiB.");
        CoreOptions.Require(CacheSizeBytes >= 0, "--cache-size", "must not be negative.");
        CoreOptions.Require(CacheDirectory is null || CacheDirectory.Length > 0, "--cache-dir", "must not be empty.");
        CoreOptions.Require(DiskCacheSizeBytes >= 0, "Cache.DiskCacheSizeBytes", "must not be negative.");
        CoreOptions.Require(ReadAheadInitial >= 1, "Cache.ReadAheadInitial", "must be positive.");
        CoreOptions.Require(ReadAheadMax >= ReadAheadInitial, "Cache.ReadAheadMax", "must be at least Cache.ReadAheadInitial (128 KiB by default).");
        CoreOptions.Require(PrefetchFiles is >= 0 and <= 64, "--prefetch-files", "must be between 0 and 64.");
        CoreOptions.Require(ParallelRangeThreshold >= 0, "Cache.ParallelRangeThreshold", "must not be negative.");
    }
}

/// <summary>Write staging and upload.</summary>
public sealed record WriteOptions
{
    /// <summary>Where files being written are staged before upload; null = a private directory
    /// under the system temp directory.</summary>
    public string? StagingDirectory { get; init; }

    /// <summary>Files written up to this size are staged in memory instead of a temp file.</summary>
    public long MemoryStagingLimit { get; init; } = 4L * 1024 * 1024;

    /// <summary><c>--write-back DELAY</c>: null (default) = close() returns only after the upload was verified;
    /// a delay = close() returns at once and the upload starts after the delay (fsync and unmount still wait).</summary>
    public TimeSpan? WriteBack { get; init; }

    /// <summary>After an upload, compare a server-side checksum (HASH/XCRC/XMD5) when the server offers one, besides SIZE.</summary>
    public bool VerifyChecksums { get; init; } = true;

    public void Validate()
    {
        CoreOptions.Require(StagingDirectory is null || StagingDirectory.Length > 0, "Write.StagingDirectory", "must not be empty.");
        CoreOptions.Require(MemoryStagingLimit >= 0, "Write.MemoryStagingLimit", "must not be negative.");
        CoreOptions.Require(WriteBack is null || WriteBack >= TimeSpan.Zero, "--write-back", "must not be negative.");
    }
}

/// <summary>Retry of transient failures (see <see cref="Resilience.RetryPolicy"/>).</summary>
public sealed record RetryOptions
{
    /// <summary>Attempts in total, the first included (1 = never retry).</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>Delay before the first retry; doubles for each further retry (with jitter).</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of a single delay.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>No retry starts later than this after the first attempt started.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        CoreOptions.Require(MaxAttempts is >= 1 and <= 100, "Retry.MaxAttempts", "attempts must be between 1 and 100.");
        CoreOptions.Require(BaseDelay >= TimeSpan.Zero, "Retry.BaseDelay", "must not be negative.");
        CoreOptions.Require(MaxDelay >= BaseDelay, "Retry.MaxDelay", "must be at least the base delay.");
        CoreOptions.Require(Deadline >= TimeSpan.Zero, "Retry.Deadline", "must not be negative.");
    }
}
