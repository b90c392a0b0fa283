using FtpsMount.Testing.Conformance;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Fuse.Tests.Conformance;

/// <summary>
/// What a FUSE mount of each reference server can do, for the conformance suite. The server-side differences are the
/// ones Core's own run declares (tests/FtpsMount.Core.Tests/Conformance/CoreTargets.cs, checked by hand against the
/// Debian 12 builds); this is a copy kept in step with it, because the FUSE tests do not reference the Core tests:
/// <list type="bullet">
/// <item>vsftpd 3.0.3 sets a modification time only with "MDTM time path" on a regular file (no MFMT; on a directory
/// it answers "550 Could not set file modification time"), so a directory's mtime cannot be set.</item>
/// <item>proftpd 1.3.8 (MFMT, SITE UTIME) and pure-ftpd 1.0.50 (MFMT) set it on directories too.</item>
/// <item>vsftpd has no MLSD/MLST: listings come from LIST, whose times have minute resolution, or day resolution for
/// files older than six months.</item>
/// <item>All three: SITE CHMOD (vsftpd with chmod_enable=YES), whole-second times.</item>
/// </list>
/// What the mount adds: the kernel's own caches. The host ties the kernel's attr/entry/negative timeouts to Core's
/// TTLs (FuseMountOptions.WithCacheTimeouts), so a change made behind the mount's back can stay hidden for the
/// kernel's timeout and then for Core's (an answer Core cached just before the kernel asked again): twice the TTL, plus
/// a margin for a lookup in flight.
/// </summary>
public static class MountCapabilities
{
    /// <summary>Core's defaults (CacheOptions): what the host uses without --cache-ttl.</summary>
    public static readonly TimeSpan DefaultAttrTtl = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan DefaultDirTtl = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan DefaultNegativeTtl = TimeSpan.FromSeconds(5);

    /// <param name="kind">The server behind the mount.</param>
    /// <param name="cacheTtl">The host's --cache-ttl (attributes and listings; "not found" half of it), or null for
    /// Core's defaults.</param>
    public static FsTargetCapabilities For(ReferenceServerKind kind, TimeSpan? cacheTtl) => new()
    {
        TimeResolution = TimeSpan.FromSeconds(1),
        ClockSkewTolerance = TimeSpan.FromSeconds(5),
        ListingTimeResolution = kind == ReferenceServerKind.Vsftpd ? TimeSpan.FromDays(1) : TimeSpan.FromSeconds(1),
        Chmod = true,
        ReportsModeBits = true,
        SetFileModifiedTime = true,
        SetDirectoryModifiedTime = kind != ReferenceServerKind.Vsftpd,
        ExternalChangesVisibleWithin = (2 * LongestTtl(cacheTtl)) + TimeSpan.FromSeconds(3),
        RenameOpenFile = true,
    };

    private static TimeSpan LongestTtl(TimeSpan? cacheTtl) =>
        cacheTtl is { } ttl
            ? ttl // attributes and listings; negative entries live half as long
            : new[] { DefaultAttrTtl, DefaultDirTtl, DefaultNegativeTtl }.Max();
}
