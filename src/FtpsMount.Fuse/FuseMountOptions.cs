using FtpsMount.Core;

namespace FtpsMount.Fuse;

/// <summary>
/// How a filesystem is mounted through FUSE. Defaults are what `ftpsmount mount` uses without flags; the kernel cache
/// timeouts default to Core's <see cref="CacheOptions"/> defaults and <see cref="WithCacheTimeouts"/> ties them to the
/// options a mount actually uses.
/// </summary>
public sealed record FuseMountOptions
{
    private static readonly CacheOptions s_coreDefaults = new();

    /// <summary><c>-o allow_other</c>: other users may access the mount (non-root mounts need user_allow_other in
    /// /etc/fuse.conf).</summary>
    public bool AllowOther { get; init; }

    /// <summary><c>-o default_permissions</c>: the kernel checks the reported mode bits and owner before each
    /// operation. On by default: without it every user who can reach the mount may do anything the FTP account can.</summary>
    public bool DefaultPermissions { get; init; } = true;

    /// <summary><c>-o ro</c>, and every write operation answers EROFS in the adapter as well.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>fuse_config.attr_timeout: how long the kernel reuses attributes without asking (then Core answers from
    /// its own cache while that is fresh). Worst-case staleness for changes made by other clients is this plus Core's TTL.</summary>
    public TimeSpan AttrTimeout { get; init; } = s_coreDefaults.AttrTtl;

    /// <summary>fuse_config.entry_timeout: how long a name → file lookup is reused (names come from listings).</summary>
    public TimeSpan EntryTimeout { get; init; } = s_coreDefaults.DirCacheTtl;

    /// <summary>fuse_config.negative_timeout: how long "no such name" is reused by the kernel.</summary>
    public TimeSpan NegativeTimeout { get; init; } = s_coreDefaults.NegativeTtl;

    /// <summary>Largest read request (<c>-o max_read</c> and fuse_conn_info.max_read).</summary>
    public int MaxRead { get; init; } = 1024 * 1024;

    /// <summary>Largest write request (fuse_conn_info.max_write; libfuse 3.14 caps it at 1 MiB, its buffer size).</summary>
    public int MaxWrite { get; init; } = 1024 * 1024;

    /// <summary>Kernel read-ahead. Up to the kernel's offer (128 KiB) it is negotiated in INIT (fuse_conn_info.max_readahead);
    /// above, it is set through /sys/class/bdi/MAJOR:MINOR/read_ahead_kb after mounting (root only, else the offer stays).
    /// Read-ahead requests are split into max_read-sized reads that Core serves concurrently.</summary>
    public int MaxReadahead { get; init; } = 1024 * 1024;

    /// <summary>fuse_config.kernel_cache: keep the kernel page cache across opens unconditionally. Only for servers
    /// nobody else changes. Off (default) = auto_cache: cached pages are kept while the file's mtime and size are
    /// unchanged and dropped when either changed.</summary>
    public bool KernelCache { get; init; }

    /// <summary><c>-d</c>: libfuse logs every request (to the log, at debug level).</summary>
    public bool Debug { get; init; }

    /// <summary>Mount over a non-empty directory (its files are hidden while mounted). Off: refused with a clear error.</summary>
    public bool AllowNonEmpty { get; init; }

    /// <summary><c>-o auto_unmount</c>: fusermount3 unmounts if this process dies without unmounting (needs fusermount3
    /// even as root). On by default so a crash never leaves a dead "Transport endpoint is not connected" mount.</summary>
    public bool AutoUnmount { get; init; } = true;

    /// <summary>First column of /proc/mounts (<c>-o fsname</c>), e.g. "ftps://user@host/".</summary>
    public string FsName { get; init; } = "ftpsmount";

    /// <summary><c>-o subtype</c>: the type shows as fuse.SUBTYPE.</summary>
    public string Subtype { get; init; } = "ftpsmount";

    /// <summary>Owner reported for every file (st_uid/st_gid); default the mounting process's uid/gid.</summary>
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }

    /// <summary>Most libfuse worker threads (= most kernel requests served at once; each blocks while Core works).</summary>
    public int MaxThreads { get; init; } = 16;

    /// <summary>Limit of one operation that does not upload (lookup, listing, read, write to staging, mkdir, ...). Core has
    /// its own connect/command/data-idle timeouts; this is the backstop that guarantees no kernel request waits forever.
    /// Past it the request answers ETIMEDOUT.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Limit of operations that may upload a whole file (flush, fsync, release, truncate by path, rename, chmod,
    /// utimens of a file with pending writes). Stalled transfers are failed sooner by Core's data-idle timeout.</summary>
    public TimeSpan TransferTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Kernel cache timeouts equal to Core's cache TTLs (attributes, listings → entries, negative lookups).</summary>
    public FuseMountOptions WithCacheTimeouts(CacheOptions cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return this with { AttrTimeout = cache.AttrTtl, EntryTimeout = cache.DirCacheTtl, NegativeTimeout = cache.NegativeTtl };
    }

    public void Validate()
    {
        Require(AttrTimeout >= TimeSpan.Zero, nameof(AttrTimeout), "must not be negative.");
        Require(EntryTimeout >= TimeSpan.Zero, nameof(EntryTimeout), "must not be negative.");
        Require(NegativeTimeout >= TimeSpan.Zero, nameof(NegativeTimeout), "must not be negative.");
        Require(MaxRead is >= 4096 and <= 64 * 1024 * 1024, nameof(MaxRead), "must be between 4 KiB and 64 MiB.");
        Require(MaxWrite is >= 4096 and <= 64 * 1024 * 1024, nameof(MaxWrite), "must be between 4 KiB and 64 MiB.");
        Require(MaxReadahead is >= 0 and <= 64 * 1024 * 1024, nameof(MaxReadahead), "must be between 0 and 64 MiB.");
        Require(MaxThreads is >= 1 and <= 1024, nameof(MaxThreads), "must be between 1 and 1024.");
        Require(OperationTimeout > TimeSpan.Zero, nameof(OperationTimeout), "must be positive.");
        Require(TransferTimeout > TimeSpan.Zero, nameof(TransferTimeout), "must be positive.");
        Require(!string.IsNullOrWhiteSpace(FsName) && FsName.IndexOfAny(['\0', '\n']) < 0, nameof(FsName), "must be a non-empty single line.");
        Require(!string.IsNullOrWhiteSpace(Subtype) && Subtype.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'),
            nameof(Subtype), "may hold letters, digits, '.', '_' and '-' only.");
    }

    private static void Require(bool condition, string option, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"{option}: {rule}", option);
        }
    }
}
