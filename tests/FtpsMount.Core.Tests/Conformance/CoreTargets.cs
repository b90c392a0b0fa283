using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.Conformance;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Core.Tests.Conformance;

/// <summary>Builds <see cref="CoreTarget"/>s over a reference server: a new <see cref="RemoteFileSystem"/> (its own
/// pool and caches) each time, TLS 1.3, explicit FTPS, trust pinned to the test CA.</summary>
public static class CoreTargets
{
    /// <summary>Conformance options: defaults, except short metadata TTLs so the "changed behind the back"
    /// tests finish in seconds (everything else must hold through own-change cache updates regardless).</summary>
    public static CoreOptions ConformanceOptions { get; } = new()
    {
        Cache = new CacheOptions
        {
            DirCacheTtl = TimeSpan.FromSeconds(2),
            AttrTtl = TimeSpan.FromSeconds(2),
            NegativeTtl = TimeSpan.FromSeconds(1),
        },
    };

    /// <summary>Model-test options: default (30 s) TTLs, so every read-your-writes answer has to come from the
    /// cache updates of own changes; 64 KiB blocks and a 48 KiB memory-staging limit, so the test's small
    /// files cross block boundaries and use both staging kinds (memory and temp file).</summary>
    public static CoreOptions ModelOptions { get; } = new()
    {
        Cache = new CacheOptions
        {
            BlockSize = 64 * 1024,
            ReadAheadInitial = 64 * 1024,
        },
        Write = new WriteOptions { MemoryStagingLimit = 48 * 1024 },
    };

    /// <summary>
    /// Where the reference servers genuinely differ (checked against each server by hand, Debian 12 builds):
    /// <list type="bullet">
    /// <item>vsftpd 3.0.3 sets a modification time only with "MDTM time path" on a regular file (no MFMT; on a
    /// directory it answers "550 Could not set file modification time"), so a directory's mtime cannot be set.</item>
    /// <item>proftpd 1.3.8 (MFMT, SITE UTIME) and pure-ftpd 1.0.50 (MFMT) set it on directories too.</item>
    /// <item>vsftpd has no MLSD/MLST: directory listings come from LIST, whose times have minute resolution, or
    /// day resolution for files older than six months.</item>
    /// <item>All three: SITE CHMOD (vsftpd with chmod_enable=YES), whole-second times.</item>
    /// </list>
    /// </summary>
    public static FsTargetCapabilities CapabilitiesFor(ReferenceServerKind kind, CoreOptions options) => new()
    {
        TimeResolution = TimeSpan.FromSeconds(1),
        ClockSkewTolerance = TimeSpan.FromSeconds(5),
        ListingTimeResolution = kind == ReferenceServerKind.Vsftpd ? TimeSpan.FromDays(1) : TimeSpan.FromSeconds(1),
        Chmod = true,
        ReportsModeBits = true,
        SetFileModifiedTime = true,
        SetDirectoryModifiedTime = kind != ReferenceServerKind.Vsftpd,
        // The longest TTL of anything that can hide an external change, plus a margin for a lookup in flight.
        ExternalChangesVisibleWithin = Max(options.Cache.AttrTtl, options.Cache.DirCacheTtl, options.Cache.NegativeTtl) + TimeSpan.FromSeconds(3),
        RenameOpenFile = true,
    };

    public static Task<IFsTarget> CreateAsync(ReferenceServer server, CoreOptions options, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var log = new TailLogger();
        var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13, pinFingerprint: true), server.Credentials, options, log);
        IFsTarget target = new CoreTarget(
            fs,
            "/",
            $"Core over {server.Kind} {server.ServerVersion} (explicit FTPS, TLS 1.3, port {server.Port})",
            CapabilitiesFor(server.Kind, options),
            new ReferenceServerBackdoor(server),
            () => $"---- Core log (last lines) ----{Environment.NewLine}{log}{Environment.NewLine}---- server logs (last 150 lines) ----{Environment.NewLine}{ServerLogTail(server, 150)}");
        return Task.FromResult(target);
    }

    private static string ServerLogTail(ReferenceServer server, int lines) =>
        string.Join(Environment.NewLine, server.ReadLogs().Split('\n').TakeLast(lines));

    private static TimeSpan Max(params TimeSpan[] values) => values.Max();
}
