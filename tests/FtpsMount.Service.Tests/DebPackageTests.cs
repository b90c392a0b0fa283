using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;
using FtpsMount.Testing;

namespace FtpsMount.Service.Tests;

/// <summary>
/// The .deb as a user gets it: packaging/linux/build-deb.sh builds it (self-contained publish), dpkg installs it, the
/// installed /usr/bin/ftpsmount mounts a reference vsftpd (directly and through mount(8) with the packaged
/// /sbin/mount.fuse.ftpsmount), the installed service starts (ASP.NET Core is in the self-contained publish), the unit
/// and man page are where systemd and man look, and dpkg -r removes it all. Refuses to run over an ftpsmount package
/// that was installed before (it would replace it).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DebPackageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] s_installedFiles =
    [
        "/usr/bin/ftpsmount", "/usr/lib/ftpsmount/ftpsmount", "/sbin/mount.fuse.ftpsmount",
        "/usr/lib/systemd/user/ftpsmount.service", "/usr/share/man/man1/ftpsmount.1.gz",
        "/usr/share/man/man8/mount.fuse.ftpsmount.8.gz", "/usr/share/doc/ftpsmount/copyright", "/usr/share/doc/ftpsmount/changelog.gz",
    ];

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(8));
    private readonly string _work = Directory.CreateTempSubdirectory("ftpsmount-deb-").FullName;
    private readonly string _mountPoint = Directory.CreateTempSubdirectory("ftpsmount-deb-mnt").FullName;
    private ReferenceServer _server = null!;
    private bool _weInstalled;

    public async Task InitializeAsync() =>
        _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, _timeout.Token);

    public async Task DisposeAsync()
    {
        if (ServiceHarness.IsMounted(_mountPoint))
        {
            await RunAsync("fusermount3", ["-uz", _mountPoint], TimeSpan.FromSeconds(20));
        }

        foreach (var pid in PidsMentioning(_mountPoint))
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

        if (_weInstalled && PackageInstalled())
        {
            await RunAsync("dpkg", ["-r", "ftpsmount"], TimeSpan.FromMinutes(1));
        }

        await _server.DisposeAsync();
        Directory.Delete(_work, recursive: true);
        try
        {
            Directory.Delete(_mountPoint);
        }
        catch (IOException)
        {
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task The_deb_installs_mounts_a_server_runs_the_service_and_uninstalls()
    {
        Assert.False(PackageInstalled(), "an ftpsmount package is already installed on this machine; the test would replace it (dpkg -r ftpsmount first)");
        var repo = RepositoryPaths.Root;
        var sw = Stopwatch.StartNew();
        var build = await RunAsync(Path.Combine(repo, "packaging", "linux", "build-deb.sh"), [Path.Combine(_work, "out")], TimeSpan.FromMinutes(6));
        Assert.True(build.Code == 0, build.Output);
        var deb = build.Output.Trim().Split('\n')[^1].Trim();
        output.WriteLine($"built {deb} ({new FileInfo(deb).Length / 1048576.0:0.0} MiB) in {sw.Elapsed.TotalSeconds:0} s");

        var info = await RunAsync("dpkg-deb", ["-f", deb, "Package", "Depends"], TimeSpan.FromSeconds(30));
        Assert.Contains("Package: ftpsmount", info.Output, StringComparison.Ordinal);
        Assert.Contains("fuse3", info.Output, StringComparison.Ordinal);

        _weInstalled = true;
        var install = await RunAsync("dpkg", ["-i", deb], TimeSpan.FromMinutes(2));
        Assert.True(install.Code == 0, install.Output);
        Assert.All(s_installedFiles, f => Assert.True(File.Exists(f), f + " was not installed"));
        var unit = await File.ReadAllTextAsync("/usr/lib/systemd/user/ftpsmount.service", _timeout.Token);
        Assert.Contains("ExecStart=/usr/bin/ftpsmount service", unit, StringComparison.Ordinal);

        // The installed program mounts a server and reads a file, then unmounts.
        _server.SeedFile("/packaged.txt", "from the package\n"u8);
        var passwordFile = Path.Combine(_work, "password");
        await File.WriteAllTextAsync(passwordFile, _server.Password + "\n", _timeout.Token);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var url = $"ftpes://{_server.User}@localhost:{_server.Port}/";
        var env = new Dictionary<string, string> { ["HOME"] = _work, ["XDG_RUNTIME_DIR"] = _work, ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin" };
        var mount = await RunAsync("/usr/bin/ftpsmount", ["mount", url, _mountPoint, "--daemon", "--ca-file", _server.CaCertificatePath, "--password-file", passwordFile], TimeSpan.FromMinutes(1), env);
        Assert.True(mount.Code == 0, mount.Output);
        Assert.Equal("from the package\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "packaged.txt"), _timeout.Token));
        var unmount = await RunAsync("/usr/bin/ftpsmount", ["unmount", _mountPoint], TimeSpan.FromMinutes(1), env);
        Assert.True(unmount.Code == 0, unmount.Output);
        await ServiceHarness.WaitUntilAsync(() => !ServiceHarness.IsMounted(_mountPoint), TimeSpan.FromSeconds(20), "the unmount", _timeout.Token);

        // mount(8) finds the packaged helper, which runs the packaged program (PATH has no /usr/local).
        var viaMount = await RunAsync("mount", ["-t", "fuse.ftpsmount", url, _mountPoint, "-o", $"ro,ca_file={_server.CaCertificatePath},password_file={passwordFile}"], TimeSpan.FromMinutes(1), env);
        Assert.True(viaMount.Code == 0, viaMount.Output);
        Assert.Equal("from the package\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "packaged.txt"), _timeout.Token));
        Assert.Contains("/usr/lib/ftpsmount/ftpsmount", string.Join("\n", PidsMentioning(_mountPoint).Select(p => File.ReadAllText($"/proc/{p}/cmdline").Replace('\0', ' '))), StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("fusermount3", ["-u", _mountPoint], TimeSpan.FromSeconds(30))).Code);
        await ServiceHarness.WaitUntilAsync(() => !ServiceHarness.IsMounted(_mountPoint), TimeSpan.FromSeconds(20), "the unmount", _timeout.Token);

        // The installed service starts (its API needs ASP.NET Core from the self-contained publish) and stops on SIGTERM.
        var serviceEnv = new Dictionary<string, string>(env)
        {
            ["XDG_CONFIG_HOME"] = Path.Combine(_work, "config"),
            ["XDG_RUNTIME_DIR"] = Path.Combine(_work, "run"),
            ["FTPSMOUNT_CONFIG"] = Path.Combine(_work, "none.json"),
        };
        Directory.CreateDirectory(Path.Combine(_work, "run"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var start = new ProcessStartInfo("/usr/bin/ftpsmount") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("service");
        foreach (var (k, v) in serviceEnv)
        {
            start.Environment[k] = v;
        }

        using (var service = Process.Start(start)!)
        {
            var log = new StringBuilder();
            service.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            service.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            service.BeginOutputReadLine();
            service.BeginErrorReadLine();
            try
            {
                var endpoint = Path.Combine(_work, "run", "ftpsmount", "service.json");
                await ServiceHarness.WaitUntilAsync(() => File.Exists(endpoint) || service.HasExited, TimeSpan.FromSeconds(30), "the installed service's endpoint", _timeout.Token);
                Assert.True(File.Exists(endpoint), "service did not start:\n" + log);
                Assert.Equal(0, ServiceHarness.Kill(service.Id, 15));
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token);
                stop.CancelAfter(TimeSpan.FromSeconds(30));
                await service.WaitForExitAsync(stop.Token);
                Assert.Equal(0, service.ExitCode);
            }
            finally
            {
                if (!service.HasExited)
                {
                    service.Kill(entireProcessTree: true);
                }
            }
        }

        var remove = await RunAsync("dpkg", ["-r", "ftpsmount"], TimeSpan.FromMinutes(1));
        Assert.True(remove.Code == 0, remove.Output);
        Assert.False(PackageInstalled());
        Assert.All(s_installedFiles, f => Assert.False(File.Exists(f), f + " was left behind"));
        Assert.False(Directory.Exists("/usr/lib/ftpsmount"));
    }

    private static bool PackageInstalled()
    {
        var start = new ProcessStartInfo("dpkg-query", ["-W", "-f=${db:Status-Abbrev}", "ftpsmount"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 && text.StartsWith("ii", StringComparison.Ordinal);
    }

    private static IEnumerable<int> PidsMentioning(string text) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && pid != Environment.ProcessId)
            .Where(pid =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{pid}/cmdline").Contains(text, StringComparison.Ordinal);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return false;
                }
            })
            .ToList();

    private async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using var p = Process.Start(start)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token);
        limit.CancelAfter(timeout);
        try
        {
            await p.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}:\n{await stderr}");
        }

        // The daemonised mount keeps our pipes open through its children: wait for the streams only briefly.
        var output = await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(5))) is Task<string[]> both
            ? string.Concat((await both)[1], (await both)[0]) // stderr first: the last line is stdout's
            : "";
        return (p.ExitCode, output);
    }
}
