using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using FtpsMount.Service.Api;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Service.Tests;

/// <summary>
/// `ftpsmount service` as a child process (`dotnet ftpsmount.dll service`) with its own config, runtime and home
/// directories, so it never meets the machine user's profiles, token or mounts. Its stdout+stderr is the service log.
/// Dispose stops it with SIGTERM (it unmounts), then kills what is left by PID and lazily unmounts every mount point.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class ServiceHarness : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly List<string> _mountPoints;

    private ServiceHarness(string root, Process process, List<string> mountPoints)
    {
        Root = root;
        _process = process;
        _mountPoints = mountPoints;
    }

    public string Root { get; }
    public string ConfigHome => Path.Combine(Root, "config");
    public string RuntimeDirectory => Path.Combine(Root, "run", "ftpsmount");
    public string TokenFile => Path.Combine(ConfigHome, "ftpsmount", "service-token");
    public string EndpointFile => Path.Combine(RuntimeDirectory, "service.json");
    public int Pid => _process.Id;
    public ServiceEndpoint Endpoint { get; private set; } = null!;
    public string Token => File.ReadAllText(TokenFile).Trim();

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>A profile for <paramref name="server"/> (password from a 0600 file, CA from the harness).</summary>
    public sealed record TestProfile(string Name, ReferenceServer Server, string MountPoint, bool AutoMount = true);

    public static async Task<ServiceHarness> StartAsync(IReadOnlyList<TestProfile> profiles, CancellationToken ct, string? root = null)
    {
        root ??= CreateRoot(profiles);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll"));
        start.ArgumentList.Add("service");
        start.ArgumentList.Add("--drain-timeout");
        start.ArgumentList.Add("30");
        SetEnvironment(start, root);
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        var harness = new ServiceHarness(root, process, profiles.Select(p => p.MountPoint).ToList());
        process.OutputDataReceived += (_, e) => harness.Append(e.Data);
        process.ErrorDataReceived += (_, e) => harness.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await WaitUntilAsync(() => process.HasExited || File.Exists(harness.EndpointFile), TimeSpan.FromSeconds(60), "the service endpoint file", ct);
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the service exited with {process.ExitCode}:\n{harness.Log}");
            }

            harness.Endpoint = JsonSerializer.Deserialize<ServiceEndpoint>(File.ReadAllText(harness.EndpointFile))!;
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>`ftpsmount mount PROFILE` run by hand (not by a service) in the environment of a service rooted at
    /// <paramref name="root"/>: stdin is a pipe kept open, output goes to <paramref name="log"/>.</summary>
    public static Process StartManualMount(string root, string profile, StringBuilder log)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll"));
        start.ArgumentList.Add("mount");
        start.ArgumentList.Add(profile);
        SetEnvironment(start, root);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The fusermount3 auto-unmount helpers serving <paramref name="mountPoint"/>.</summary>
    public static IReadOnlyList<int> AutoUnmountHelpers(string mountPoint) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && CommandLine(pid) is { Length: > 1 } args && Path.GetFileName(args[0]) == "fusermount3" && args[^1] == mountPoint)
            .ToList();

    private static string[]? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void SetEnvironment(ProcessStartInfo start, string root)
    {
        start.Environment["FTPSMOUNT_CONFIG"] = Path.Combine(root, "profiles.json");
        start.Environment["XDG_CONFIG_HOME"] = Path.Combine(root, "config");
        start.Environment["XDG_RUNTIME_DIR"] = Path.Combine(root, "run");
        start.Environment["XDG_CACHE_HOME"] = Path.Combine(root, "cache");
        start.Environment["HOME"] = Path.Combine(root, "home");
        start.Environment.Remove("FTPSMOUNT_PASSWORD");
        start.Environment.Remove("FTPSMOUNT_SUPERVISED");
    }

    /// <summary>A fresh root (config, runtime, cache and home directories) with a profiles file for <paramref name="profiles"/>.</summary>
    public static string CreateRoot(IReadOnlyList<TestProfile> profiles)
    {
        var root = Directory.CreateTempSubdirectory("ftpsmount-svc-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "run"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(Path.Combine(root, "home"));
        var config = Path.Combine(root, "profiles.json");
        var entries = new Dictionary<string, object>();
        foreach (var p in profiles)
        {
            var passwordFile = Path.Combine(root, p.Name + ".password");
            File.WriteAllText(passwordFile, p.Server.Password + "\n");
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            entries[p.Name] = new
            {
                url = $"ftpes://{p.Server.User}@localhost:{p.Server.Port}/",
                mountPoint = p.MountPoint,
                autoMount = p.AutoMount,
                options = new Dictionary<string, object> { ["ca-file"] = p.Server.CaCertificatePath, ["password-file"] = passwordFile, ["connections"] = 2 },
            };
        }

        File.WriteAllText(config, JsonSerializer.Serialize(new { profiles = entries }));
        return root;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    public ServiceClient Client(bool socket = true) => new(Endpoint, Token, socket);

    /// <summary>Polls the API until the profile is in <paramref name="state"/>.</summary>
    public async Task<MountView> WaitForStateAsync(string profile, MountRunState state, TimeSpan timeout, CancellationToken ct, Func<MountView, bool>? also = null)
    {
        using var client = Client();
        MountView? last = null;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            last = (await client.GetMountsAsync(ct)).Single(m => m.Name == profile);
            if (last.State == state && (also is null || also(last)))
            {
                return last;
            }

            await Task.Delay(200, ct);
        }

        throw new TimeoutException($"{profile} did not reach {state} within {timeout.TotalSeconds} s; last {JsonSerializer.Serialize(last)}\nservice log:\n{Log}");
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            }

            await Task.Delay(100, ct);
        }
    }

    public static bool IsMounted(string mountPoint) =>
        File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ') is { Length: > 4 } f && f[4] == mountPoint);

    /// <summary>The mount processes this service started (their command line names our profiles file).</summary>
    public IReadOnlyList<int> ChildPids() =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && pid != _process.Id && Environ(pid).Contains(Root, StringComparison.Ordinal))
            .ToList();

    private static string Environ(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>SIGTERM and wait: the service unmounts everything and exits.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
        }

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await StopAsync(TimeSpan.FromSeconds(40));
            }
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        foreach (var pid in ChildPids())
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                p.Kill();
            }
            catch (ArgumentException)
            {
            }
        }

        foreach (var mp in _mountPoints.Where(IsMounted))
        {
            using var p = Process.Start("fusermount3", ["-uz", mp]);
            await p.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    internal static partial int Kill(int pid, int signal);
}
