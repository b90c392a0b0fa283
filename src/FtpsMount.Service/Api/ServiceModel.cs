using System.Text.Json;
using System.Text.Json.Serialization;

namespace FtpsMount.Service.Api;

/// <summary>Where a supervised mount is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MountRunState>))]
public enum MountRunState
{
    /// <summary>Not mounted, and not wanted.</summary>
    Stopped,
    /// <summary>The mount process runs and has not reported the mount live yet.</summary>
    Starting,
    Mounted,
    /// <summary>The mount process ended unexpectedly; another attempt follows after a back-off.</summary>
    Retrying,
    /// <summary>Unmounting: pending uploads are finishing.</summary>
    Stopping,
}

/// <summary>How a mount looks at a glance (the tray icon and card colour).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MountHealth>))]
public enum MountHealth
{
    Idle,
    Healthy,
    /// <summary>Mounted, but it logged an error in the last minute.</summary>
    Degraded,
    /// <summary>Wanted but not mounted (starting or retrying).</summary>
    Down,
}

public sealed record ThroughputSample(DateTimeOffset At, double DownloadBytesPerSecond, double UploadBytesPerSecond);

public sealed record MountStats(
    string? TlsProtocol,
    int SessionsInUse,
    int SessionsOpen,
    double? BlockCacheHitRate,
    double? MetadataHitRate,
    long BytesDownloaded,
    long BytesUploaded,
    int PendingUploads,
    int OpenHandles,
    IReadOnlyList<StatusError> Errors);

/// <summary>One profile as the service sees it. <see cref="Adopted"/>: the mount process was found already running on
/// the profile's mount point when the service came to mount it (not started by this service); it is supervised all the
/// same and stopped with SIGTERM.</summary>
public sealed record MountView(
    string Name,
    string Url,
    string? MountPoint,
    bool AutoMount,
    MountRunState State,
    MountHealth Health,
    int? Pid,
    DateTimeOffset? Since,
    int Restarts,
    string? LastError,
    DateTimeOffset? NextAttempt,
    MountStats? Stats,
    IReadOnlyList<ThroughputSample> Throughput,
    IReadOnlyList<string> RecentLog,
    bool Adopted = false);

public sealed record ServiceInfo(int Pid, string Version, DateTimeOffset Started, string ProfilesFile, IReadOnlyList<MountView> Mounts);

public sealed record LoginLink(string Url, DateTimeOffset Expires);

public sealed record ApiError(string Error);

public static class ServiceJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = false };
}
