namespace FtpsMount.Protocol.Listing;

public enum FtpEntryType
{
    File,
    Directory,
    Link,
    Other,
}

/// <summary>One directory entry from MLSD/MLST or a parsed LIST line.</summary>
public sealed record FtpEntry
{
    /// <summary>A single path component: never empty, ".", "..", and never contains '/', NUL, CR or LF
    /// (parsers drop such entries rather than let a name escape its directory).</summary>
    public required string Name { get; init; }

    public FtpEntryType Type { get; init; } = FtpEntryType.File;

    public long? Size { get; init; }

    /// <summary>Last modification, UTC where the source says so (MLSD), else interpreted in the server's zone.</summary>
    public DateTimeOffset? Modified { get; init; }

    /// <summary>Unix permission bits (e.g. 0755) when the listing gives them (UNIX.mode fact or ls -l string).</summary>
    public int? UnixMode { get; init; }

    /// <summary>Target of a symbolic link as listed ("name -> target").</summary>
    public string? LinkTarget { get; init; }

    public string? Owner { get; init; }
    public string? Group { get; init; }

    /// <summary>The MLSD/MLST "perm" fact as sent (RFC 3659 §7.5.5, e.g. "adfrw"); null for LIST entries.</summary>
    public string? Permissions { get; init; }

    /// <summary>The MLSD/MLST "unique" fact (RFC 3659 §7.5.2): equal values name the same object; null when absent.</summary>
    public string? UniqueId { get; init; }
}
