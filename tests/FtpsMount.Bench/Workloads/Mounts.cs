using System.Diagnostics;
using System.Globalization;

namespace FtpsMount.Bench.Workloads;

/// <summary>Where the peers connect: the reference server, its CA, and files holding the password (never argv).</summary>
internal sealed record ServerInfo(string Host, int Port, string User, string PasswordFile, string CaFile, string RcloneConfig, string NetrcFile, string Password);

/// <summary>One live mount (ftpsmount or rclone) in a foreground child process. Disposal unmounts (politely, then
/// <c>fusermount3 -uz</c>), kills the process by its id if it lingers and removes the mount point.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class LiveMount : IAsyncDisposable
{
    private static readonly TimeSpan MountDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly string _logPath;
    private readonly bool _politeBySignal;
    private int _disposed;

    private LiveMount(string tool, string mountPoint, Process process, string logPath, bool politeBySignal)
    {
        Tool = tool;
        MountPoint = mountPoint;
        _process = process;
        _logPath = logPath;
        _politeBySignal = politeBySignal;
    }

    public string Tool { get; }
    public string MountPoint { get; }
    public int ProcessId => _process.Id;

    /// <summary>Peak resident set (VmHWM) of the mount process so far, in bytes.</summary>
    public long? PeakRssBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    public static async Task<LiveMount> StartAsync(string tool, ServerInfo server, string workDir, string ftpsmountDll, CancellationToken ct)
    {
        var id = tool + "-" + Guid.NewGuid().ToString("N")[..8];
        var mountPoint = Path.Combine(workDir, "mnt", id);
        Directory.CreateDirectory(mountPoint);
        var logPath = Path.Combine(workDir, "logs", id + ".log");
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var url = $"ftpes://{server.User}@{server.Host}:{server.Port.ToString(CultureInfo.InvariantCulture)}/";
        string[] command = tool switch
        {
            "ftpsmount" => ["dotnet", ftpsmountDll, "mount", url, mountPoint, "--ca-file", server.CaFile, "--password-file", server.PasswordFile],
            "ftpsmount-wb" => ["dotnet", ftpsmountDll, "mount", url, mountPoint, "--ca-file", server.CaFile, "--password-file", server.PasswordFile, "--write-back", "5"],
            "rclone-off" => ["rclone", "mount", "bench:", mountPoint, "--config", server.RcloneConfig, "--vfs-cache-mode", "off"],
            "rclone-full" => ["rclone", "mount", "bench:", mountPoint, "--config", server.RcloneConfig, "--vfs-cache-mode", "full",
                "--cache-dir", Path.Combine(workDir, "rclone-cache", id)],
            _ => throw new ArgumentException($"{tool} is not a mount", nameof(tool)),
        };

        // The child's output goes to a log file through sh, so no pipe can fill up and stall it.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("log=\"$1\"; shift; exec \"$@\" >>\"$log\" 2>&1");
        psi.ArgumentList.Add("bench-mount");
        psi.ArgumentList.Add(logPath);
        foreach (var c in command)
        {
            psi.ArgumentList.Add(c);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}");
        var mount = new LiveMount(tool, mountPoint, process, logPath, politeBySignal: tool.StartsWith("ftpsmount", StringComparison.Ordinal));
        var watch = Stopwatch.StartNew();
        try
        {
            while (!IsMounted(mountPoint))
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{tool} exited ({process.ExitCode}) before mounting: {Shell.Tail(File.ReadAllText(logPath))}");
                }

                if (watch.Elapsed > MountDeadline)
                {
                    throw new TimeoutException($"{tool} did not mount within {MountDeadline.TotalSeconds} s: {Shell.Tail(File.ReadAllText(logPath))}");
                }

                await Task.Delay(25, ct).ConfigureAwait(false);
            }
        }
        catch
        {
            await mount.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return mount;
    }

    public static bool IsMounted(string mountPoint)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && fields[4] == mountPoint)
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                if (_politeBySignal)
                {
                    // ftpsmount's foreground mode unmounts on SIGTERM after its pending uploads.
                    _ = await Shell.RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    _ = await Shell.RunAsync("fusermount3", ["-u", MountPoint], TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
                }

                using var wait = new CancellationTokenSource(ExitDeadline);
                try
                {
                    await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Console.Error.WriteLine($"  {Tool} (pid {_process.Id}) did not exit in {ExitDeadline.TotalSeconds} s; killing it");
                    _process.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            if (IsMounted(MountPoint))
            {
                _ = await Shell.RunAsync("fusermount3", ["-uz", MountPoint], TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
            }

            _process.Dispose();
            try
            {
                Directory.Delete(MountPoint);
            }
            catch (IOException)
            {
            }
        }
    }
}
