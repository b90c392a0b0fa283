using System.Diagnostics;
using System.Globalization;
using System.Text;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Drills.Tests.Mount;

/// <summary>
/// A foreground `ftpsmount mount` (the built ftpsmount.dll, run by dotnet) of a reference server on a fresh temp mount
/// point, as a user starts it: password from FTPSMOUNT_PASSWORD, never on the command line. stderr is collected.
/// Disposal: SIGTERM with a deadline, then kill by pid, `fusermount3 -uz`, rmdir.
/// </summary>
internal sealed class CliMount : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task _reader;

    private CliMount(Process process, string mountPoint, string tempDirectory)
    {
        _process = process;
        MountPoint = mountPoint;
        TempDirectory = tempDirectory;
        _reader = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(line);
                }
            }
        });
    }

    public string MountPoint { get; }

    /// <summary>The child's TMPDIR (its private staging directory lives here); removed on disposal.</summary>
    public string TempDirectory { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll");

    public static async Task<CliMount> StartAsync(ReferenceServer server, string password, params string[] extra)
    {
        var mountPoint = Directory.CreateTempSubdirectory("ftpsmount-drill-mnt-").FullName;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = false, UseShellExecute = false };
        foreach (var a in new[] { Dll, "mount", $"ftpes://{server.User}@localhost:{server.Port}/", mountPoint, "--ca-file", server.CaCertificatePath }.Concat(extra))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["FTPSMOUNT_PASSWORD"] = password;
        var temp = Directory.CreateTempSubdirectory("ftpsmount-drill-tmp-").FullName;
        start.Environment["TMPDIR"] = temp; // staged data a drill leaves behind on purpose is removed with it
        var mount = new CliMount(Process.Start(start)!, mountPoint, temp);
        var deadline = Stopwatch.StartNew();
        while (!IsMounted(mountPoint))
        {
            if (mount.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                var stderr = mount.Stderr;
                await mount.DisposeAsync();
                throw new InvalidOperationException($"ftpsmount mount did not mount within 60 s:\n{stderr}");
            }

            await Task.Delay(50);
        }

        return mount;
    }

    public static bool IsMounted(string mountPoint) =>
        File.ReadAllText("/proc/self/mountinfo").Contains(" " + mountPoint + " ", StringComparison.Ordinal);

    public void Signal(string signal) => Run("kill", "-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture));

    /// <summary>Waits (bounded) for the process to exit; returns its exit code or null on timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await _reader.WaitAsync(TimeSpan.FromSeconds(5));
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public static int Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        p.WaitForExit(30_000);
        return p.HasExited ? p.ExitCode : -1;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal("TERM");
            if (await WaitForExitAsync(TimeSpan.FromSeconds(20)) is null)
            {
                _process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }

        Run("fusermount3", "-uz", MountPoint);
        _process.Dispose();
        try
        {
            Directory.Delete(MountPoint);
            Directory.Delete(TempDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
