using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Fuse.Tests;

/// <summary>
/// The FUSE host (tests/FtpsMount.Fuse.TestHost) running in a child process with a mount of a reference server.
/// Disposal always cleans up, whatever state the test left: kills the host by pid if it still runs, lazily unmounts
/// with `fusermount3 -uz`, and removes the (empty) mount point directory. Nothing here waits without a deadline.
/// </summary>
internal sealed partial class FuseHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();
    private int _disposed;

    private FuseHostProcess(Process process, string mountPoint)
    {
        _process = process;
        MountPoint = mountPoint;
    }

    public string MountPoint { get; }
    public int ProcessId => _process.Id;

    /// <summary>Everything the host wrote so far (stdout and stderr interleaved), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    public static FuseHostProcess Start(ReferenceServer server, string mountPoint, params string[] extraArguments)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "FtpsMount.Fuse.TestHost.dll");
        if (!File.Exists(host))
        {
            throw new FileNotFoundException("the FUSE test host was not built next to the tests", host);
        }

        var start = new ProcessStartInfo(DotnetMuxer())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(host);
        string[] args =
        [
            "--host", server.Host,
            "--port", server.Port.ToString(CultureInfo.InvariantCulture),
            "--mode", server.Mode.ToString(),
            "--ca-file", server.CaCertificatePath,
            "--user", server.User,
            "--tls", "1.3",
            "--mountpoint", mountPoint,
            "--verbose",
        ];
        foreach (var a in args.Concat(extraArguments))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["FTPSMOUNT_TESTHOST_PASSWORD"] = server.Password;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var result = new FuseHostProcess(process, mountPoint);
        process.OutputDataReceived += (_, e) => result.Append("out", e.Data);
        process.ErrorDataReceived += (_, e) => result.Append("err", e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    private static string DotnetMuxer()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private void Append(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _output.Append(stream).Append(": ").AppendLine(line);
        }
    }

    public bool HasExited => _process.HasExited;

    public static bool IsMounted(string mountPoint) =>
        MountTable.Find(mountPoint) is { FileSystemType: "fuse.ftpsmount" };

    /// <summary>Polls /proc/self/mountinfo until the mount shows up and the host reported it live ("MOUNTED", printed
    /// once libfuse's init ran); fails if the host exits first or the deadline passes.</summary>
    public async Task WaitUntilMountedAsync(TimeSpan deadline)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!IsMounted(MountPoint) || !Output.Contains("out: MOUNTED ", StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the FUSE host exited with code {_process.ExitCode} before mounting:\n{Output}");
            }

            if (stopwatch.Elapsed > deadline)
            {
                throw new TimeoutException($"{MountPoint} was not mounted within {deadline.TotalSeconds} s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends SIGTERM and waits (with a deadline) for the host to exit; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan deadline)
    {
        if (Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        using var cts = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the FUSE host did not exit within {deadline.TotalSeconds} s of SIGTERM:\n{Output}");
        }

        // WaitForExitAsync returns once the process ended and its redirected streams reached EOF.
        return _process.ExitCode;
    }

    /// <summary>Waits for the host to exit on its own (e.g. after a mount failure).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan deadline)
    {
        using var cts = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the FUSE host did not exit within {deadline.TotalSeconds} s:\n{Output}");
        }

        return _process.ExitCode;
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
                // By pid: the host is our direct child.
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        finally
        {
            ForceUnmount(MountPoint);
            try
            {
                Directory.Delete(MountPoint); // never recursive: this must not walk into a live mount
            }
            catch (IOException)
            {
            }

            _process.Dispose();
        }
    }

    /// <summary>SIGTERM without waiting.</summary>
    public void SignalTerminate()
    {
        if (Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>SIGHUP: the host drops its cached listings and attributes (what `kill -HUP` does to `ftpsmount mount`),
    /// for tests that changed the server behind the mount's back; returns once the host confirmed it.</summary>
    public async Task RefreshMetadataAsync(TimeSpan deadline)
    {
        var before = CountLines("out: REFRESHED ");
        if (Kill(_process.Id, SigHup) != 0)
        {
            throw new InvalidOperationException($"kill(SIGHUP) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        using var cts = new CancellationTokenSource(deadline);
        while (CountLines("out: REFRESHED ") == before)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("the FUSE host exited instead of refreshing:\n" + Output);
            }

            await Task.Delay(20, cts.Token);
        }
    }

    private int CountLines(string prefix)
    {
        var text = Output;
        var count = 0;
        for (var i = text.IndexOf(prefix, StringComparison.Ordinal); i >= 0; i = text.IndexOf(prefix, i + prefix.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>SIGKILL, by pid: the host gets no chance to unmount.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit(TimeSpan.FromSeconds(20));
    }

    /// <summary>`fusermount3 -uz MOUNTPOINT`, bounded; errors ignored (usually: not mounted).</summary>
    public static void ForceUnmount(string mountPoint) => Unmount(mountPoint, lazy: true);

    /// <summary>`fusermount3 -u [-z] MOUNTPOINT` as a user would run it, bounded; errors ignored.</summary>
    public static void Unmount(string mountPoint, bool lazy)
    {
        var start = new ProcessStartInfo("fusermount3") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(lazy ? "-uz" : "-u");
        start.ArgumentList.Add(mountPoint);
        try
        {
            using var p = Process.Start(start);
            if (p is not null && !p.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                p.Kill();
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // fusermount3 missing: the test itself already failed on that.
        }
    }

    /// <summary>Runs file operations on the mount on a dedicated thread with a deadline: a FUSE request that never
    /// answers blocks its caller in the kernel, so the test must not wait inline. On timeout the caller's disposal kills
    /// the host, which aborts the connection and releases the blocked thread.</summary>
    public async Task OnMountAsync(TimeSpan deadline, Action body)
    {
        var task = Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await task.WaitAsync(deadline);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"file operations on {MountPoint} did not finish within {deadline.TotalSeconds} s:\n{Output}");
        }
    }

    private const int SigHup = 1;
    private const int SigTerm = 15;

    [LibraryImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
