using System.Text.Json;
using FtpsMount.Core.FileSystem;

namespace FtpsMount.Cli;

/// <summary>What one running mount reports about itself; <c>ftpsmount status</c> reads these.</summary>
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
    int OpenHandles);

/// <summary>
/// A mount process writes its status every 2 s to <c>$XDG_RUNTIME_DIR/ftpsmount/PID.json</c> (0600, in a 0700
/// directory; /tmp/ftpsmount-UID without XDG_RUNTIME_DIR) and removes it when it ends. No URL ever carries a password.
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

    public static string Directory()
    {
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        var dir = string.IsNullOrEmpty(runtime)
            ? Path.Combine(Path.GetTempPath(), "ftpsmount-" + Environment.UserName)
            : Path.Combine(runtime, "ftpsmount");
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(dir);
        }
        else
        {
            System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return dir;
    }

    public void Start() => _timer ??= new Timer(_ => Write(), null, TimeSpan.Zero, TimeSpan.FromSeconds(2));

    private void Write()
    {
        try
        {
            var s = _fs.Statistics;
            var status = new MountStatus(Environment.ProcessId, _url, _mountPoint, _started, DateTimeOffset.UtcNow,
                s.MetadataHits, s.MetadataMisses, s.BlockCacheHits, s.BlockCacheMisses, s.BytesDownloaded, s.BytesUploaded, s.PendingUploads, s.OpenHandles);
            var temp = _path + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(status));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            File.Move(temp, _path, overwrite: true);
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
            try
            {
                var status = JsonSerializer.Deserialize<MountStatus>(File.ReadAllText(file));
                if (status is not null && IsAlive(status.Pid))
                {
                    result.Add(status);
                }
            }
            catch (Exception ex) when (ex is IOException or JsonException)
            {
                // A file being replaced or left by a crashed mount: skip it.
            }
        }

        return result;
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
