using System.Text.Json;
using FtpsMount.Core.FileSystem;
using FtpsMount.Core.Pool;

namespace FtpsMount.Service;

/// <summary>One warning or error a mount logged recently (for the dashboard and `ftpsmount status`).</summary>
public sealed record StatusError(DateTimeOffset At, string Message);

/// <summary>What one running mount reports about itself; <c>ftpsmount status</c> and the service read these.</summary>
/// <remarks>The members after <see cref="OpenHandles"/> were added for the service dashboard; they default so that
/// files written by an older mount still read.</remarks>
public sealed record MountStatus(
    int Pid,
    string Url,
    string MountPoint,
    DateTimeOffset Started,
    DateTimeOffset Updated,
    long MetadataHits,
    long MetadataMisses,
    long BlockCacheHits,
    long BlockCacheMisses,
    long BytesDownloaded,
    long BytesUploaded,
    int PendingUploads,
    int OpenHandles,
    string? TlsProtocol = null,
    int SessionsInUse = 0,
    int SessionsOpen = 0,
    IReadOnlyList<StatusError>? Errors = null);

/// <summary>
/// A mount process writes its status every 2 s to <c>$XDG_RUNTIME_DIR/ftpsmount/PID.json</c> (0600, in a 0700
/// directory; /tmp/ftpsmount-USER without XDG_RUNTIME_DIR) and removes it when it ends. No URL ever carries a password.
/// </summary>
public sealed class StatusFile : IDisposable
{
    private readonly string _url;
    private readonly string _mountPoint;
    private readonly IRemoteFileSystem _fs;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly string _path = Path.Combine(Directory(), Environment.ProcessId + ".json");
    private Timer? _timer;

    public StatusFile(string url, string mountPoint, IRemoteFileSystem fs)
    {
        _url = url;
        _mountPoint = mountPoint;
        _fs = fs;
    }

    /// <summary>The negotiated TLS version of the mount's first session (e.g. "Tls13"), when known.</summary>
    public string? TlsProtocol { get; set; }

    /// <summary>Where sessions-in-use come from (the mount's pool), when known.</summary>
    public Func<SessionPoolStats>? Pool { get; set; }

    /// <summary>The mount's recent warnings and errors, when collected.</summary>
    public RecentErrorLog? Errors { get; set; }

    public static string Directory()
    {
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        var dir = string.IsNullOrEmpty(runtime)
            ? Path.Combine(Path.GetTempPath(), "ftpsmount-" + Environment.UserName)
            : Path.Combine(runtime, "ftpsmount");
        PrivateFile.CreatePrivateDirectory(dir); // 0700 and ours: the endpoint file clients trust lives here too
        return dir;
    }

    public void Start() => _timer ??= new Timer(_ => Write(), null, TimeSpan.Zero, TimeSpan.FromSeconds(2));

    private void Write()
    {
        try
        {
            var s = _fs.Statistics;
            var pool = Pool?.Invoke();
            var status = new MountStatus(Environment.ProcessId, _url, _mountPoint, _started, DateTimeOffset.UtcNow,
                s.MetadataHits, s.MetadataMisses, s.BlockCacheHits, s.BlockCacheMisses, s.BytesDownloaded, s.BytesUploaded, s.PendingUploads, s.OpenHandles,
                TlsProtocol, pool?.InUse ?? 0, pool?.Open ?? 0, Errors?.Snapshot());
            PrivateFile.WriteAllText(_path, JsonSerializer.Serialize(status));
        }
        catch (IOException)
        {
            // Status is best effort; the mount goes on.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static IReadOnlyList<MountStatus> ReadAll()
    {
        var result = new List<MountStatus>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory(), "*.json"))
        {
            if (!int.TryParse(Path.GetFileNameWithoutExtension(file), out _))
            {
                continue; // service.json and other files that are not a mount's
            }

            if (TryReadFile(file) is { } status && IsAlive(status.Pid))
            {
                result.Add(status);
            }
        }

        return result;
    }

    /// <summary>The status of the mount process <paramref name="pid"/>, or null while it has written none.</summary>
    public static MountStatus? TryRead(int pid) => TryReadFile(Path.Combine(Directory(), pid + ".json"));

    private static MountStatus? TryReadFile(string file)
    {
        try
        {
            return JsonSerializer.Deserialize<MountStatus>(File.ReadAllText(file));
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            // A file being replaced, missing, or left by a crashed mount: skip it.
            return null;
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }
}
