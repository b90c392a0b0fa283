using System.Diagnostics;
using System.Security.Cryptography;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;
using FtpsMount.Testing;

namespace FtpsMount.Cli.Tests;

/// <summary>
/// `ftpsmount mount` as a user runs it, in a child process, over a real FUSE mount of a reference vsftpd.
/// Every test bounds its waits and lazily unmounts (fusermount3 -uz) and kills its children in cleanup.
/// </summary>
[Collection(CliServerCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CliMountTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ReferenceServer _server = null!;
    private readonly string _mountPoint = Directory.CreateTempSubdirectory("ftpsmount-mnt").FullName;
    private readonly List<Process> _children = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));

    public async Task InitializeAsync() =>
        _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, _timeout.Token);

    public async Task DisposeAsync()
    {
        Run("fusermount3", "-uz", _mountPoint);
        foreach (var child in _children)
        {
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
            }

            child.Dispose();
        }

        foreach (var pid in DaemonPids())
        {
            try
            {
                Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException)
            {
            }
        }

        await _server.DisposeAsync();
        try
        {
            Directory.Delete(_mountPoint, recursive: false);
        }
        catch (IOException)
        {
        }

        _timeout.Dispose();
    }

    private string Url(string path = "/") => $"ftpes://{_server.User}@localhost:{_server.Port}{path}";

    private IEnumerable<int> DaemonPids() =>
        Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : 0).Where(p => p > 0 && p != Environment.ProcessId)
            .Where(p =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{p}/cmdline").Contains(_mountPoint, StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
                catch (UnauthorizedAccessException)
                {
                    return false;
                }
            }).ToArray();

    private static int Run(string file, params string[] args)
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

    private bool Mounted() => File.ReadAllText("/proc/self/mountinfo").Contains(" " + _mountPoint + " ", StringComparison.Ordinal);

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(50, _timeout.Token);
        }
    }

    [Fact]
    public async Task Daemon_mount_serves_files_status_reports_it_and_unmount_ends_it()
    {
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
        _server.SeedFile("/docs/report.bin", content);
        _server.SeedFile("/docs/readme.txt", "hello from the server\n"u8);

        var mount = await CliRunner.RunAsync(_server.Password, _timeout.Token, "mount", Url(), _mountPoint, "-o", $"ca_file={_server.CaCertificatePath},connections=3", "--daemon");
        output.WriteLine(mount.StderrText);
        Assert.True(mount.ExitCode == 0, mount.StderrText);
        Assert.True(Mounted());

        Assert.Equal(new[] { "readme.txt", "report.bin" }, Directory.GetFiles(Path.Combine(_mountPoint, "docs")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_mountPoint, "docs", "report.bin"), _timeout.Token));
        Assert.Equal(content.Length, new FileInfo(Path.Combine(_mountPoint, "docs", "report.bin")).Length);

        // Write through the mount: on the server's disk when close() returns.
        var upload = RandomNumberGenerator.GetBytes(1024 * 1024 + 3);
        await File.WriteAllBytesAsync(Path.Combine(_mountPoint, "docs", "new.bin"), upload, _timeout.Token);
        Assert.Equal(upload, await File.ReadAllBytesAsync(_server.GetLocalPath("/docs/new.bin"), _timeout.Token));

        Directory.CreateDirectory(Path.Combine(_mountPoint, "made"));
        File.Move(Path.Combine(_mountPoint, "docs", "new.bin"), Path.Combine(_mountPoint, "made", "moved.bin"));
        Assert.True(File.Exists(_server.GetLocalPath("/made/moved.bin")));
        File.Delete(Path.Combine(_mountPoint, "made", "moved.bin"));
        Directory.Delete(Path.Combine(_mountPoint, "made"));
        Assert.False(Directory.Exists(_server.GetLocalPath("/made")));

        // Another client adds a file to a directory this mount created (and so knows as empty until --dir-cache-ttl):
        // `kill -HUP` makes the mount forget its cached metadata and the file shows at once.
        var fresh = Path.Combine(_mountPoint, "fresh");
        Directory.CreateDirectory(fresh);
        Assert.Empty(Directory.GetFiles(fresh));
        _server.SeedFile("/fresh/other.txt", "from another client\n"u8);
        Assert.Empty(Directory.GetFiles(fresh)); // readdir is not cached by the kernel: this is the mount's own cache
        foreach (var pid in DaemonPids())
        {
            using var kill = Process.Start("kill", ["-HUP", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync(_timeout.Token);
        }

        await WaitUntilAsync(() => Directory.GetFiles(fresh).Select(Path.GetFileName).Contains("other.txt"), "the file added behind the mount shows after SIGHUP");
        Assert.Equal("from another client\n", await File.ReadAllTextAsync(Path.Combine(fresh, "other.txt"), _timeout.Token));

        var status = await CliRunner.RunAsync(_server.Password, _timeout.Token, "status");
        Assert.Contains(_mountPoint, status.StdoutText, StringComparison.Ordinal);

        var unmount = await CliRunner.RunAsync(_server.Password, _timeout.Token, "unmount", _mountPoint);
        Assert.True(unmount.ExitCode == 0, unmount.StderrText);
        await WaitUntilAsync(() => !Mounted(), "the mount is gone");
        await WaitUntilAsync(() => !DaemonPids().Any(), "the background process exited");
    }

    [Fact]
    public async Task Foreground_mount_finishes_an_upload_on_sigterm_and_unmounts()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll"), "mount", Url(), _mountPoint, "--ca-file", _server.CaCertificatePath, "--write-back", "30" })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["FTPSMOUNT_PASSWORD"] = _server.Password;
        var process = Process.Start(start)!;
        _children.Add(process);
        var stderr = process.StandardError.ReadToEndAsync();
        await WaitUntilAsync(() => Mounted() || process.HasExited, "mounted");
        Assert.True(Mounted(), "not mounted: " + (process.HasExited ? await stderr : string.Empty));

        // With write-back the upload waits 30 s after close; SIGTERM must not lose it.
        var data = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        await File.WriteAllBytesAsync(Path.Combine(_mountPoint, "late.bin"), data, _timeout.Token);
        Assert.Equal(0, Run("kill", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await process.WaitForExitAsync(_timeout.Token);
        output.WriteLine(await stderr);
        Assert.Equal(0, process.ExitCode);
        Assert.False(Mounted());
        Assert.Equal(data, await File.ReadAllBytesAsync(_server.GetLocalPath("/late.bin"), _timeout.Token));
    }

    [Fact]
    public async Task Mounting_over_a_non_empty_directory_or_with_a_wrong_password_is_a_clear_error()
    {
        File.WriteAllText(Path.Combine(_mountPoint, "occupied"), "x");
        try
        {
            var busy = await CliRunner.RunAsync(_server.Password, _timeout.Token, "mount", Url(), _mountPoint, "--ca-file", _server.CaCertificatePath);
            Assert.Equal(ExitCodes.Usage, busy.ExitCode);
            Assert.Contains("not empty", busy.StderrText, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            File.Delete(Path.Combine(_mountPoint, "occupied"));
        }

        var badUrl = await CliRunner.RunAsync(_server.Password, _timeout.Token, "mount", "sftp://localhost/", _mountPoint);
        Assert.Equal(ExitCodes.Usage, badUrl.ExitCode);
        Assert.Contains("ftpes://", badUrl.StderrText, StringComparison.Ordinal);
        var wrong = await CliRunner.RunAsync("wrong-password", _timeout.Token, "mount", Url(), _mountPoint, "--ca-file", _server.CaCertificatePath);
        Assert.Equal(ExitCodes.Login, wrong.ExitCode);
        var untrusted = await CliRunner.RunAsync(_server.Password, _timeout.Token, "mount", Url(), _mountPoint);
        Assert.Equal(ExitCodes.Security, untrusted.ExitCode);
        Assert.Contains(_server.CertificateFingerprint, untrusted.StderrText, StringComparison.Ordinal);
        Assert.False(Mounted());
    }

    /// <summary>A `ftpsmount` on PATH as an installed system would have it (the test runs the built dll).</summary>
    private string WrapperDirectory()
    {
        var dir = Directory.CreateTempSubdirectory("ftpsmount-bin").FullName;
        var wrapper = Path.Combine(dir, "ftpsmount");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec dotnet \"{Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll")}\" \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return dir;
    }

    private async Task<(int Code, string Error)> RunWithPathAsync(string bin, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment["FTPSMOUNT_PASSWORD"] = _server.Password;
        start.Environment["HOME"] = Path.GetTempPath();
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEndAsync(_timeout.Token);
        var stdout = p.StandardOutput.ReadToEndAsync(_timeout.Token);
        await p.WaitForExitAsync(_timeout.Token);
        return (p.ExitCode, await error + await stdout);
    }

    [Fact]
    public async Task Mount_t_fuse_ftpsmount_and_the_packaged_helper_both_mount()
    {
        _server.SeedFile("/hello.txt", "hi\n"u8);
        var bin = WrapperDirectory();
        try
        {
            // mount(8) → fuse3's mount.fuse → `ftpsmount SOURCE MOUNTPOINT -o ...` (the helper form implies --daemon).
            // mount(8) runs helpers with the default root PATH, so the program must be where a package puts it: for the
            // test, /usr/local/bin/ftpsmount (a real one there is set aside and put back).
            const string installed = "/usr/local/bin/ftpsmount";
            var setAside = installed + ".test-backup";
            if (File.Exists(installed))
            {
                File.Move(installed, setAside, overwrite: true);
            }

            int code;
            string error;
            try
            {
                File.Copy(Path.Combine(bin, "ftpsmount"), installed);
                File.SetUnixFileMode(installed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                (code, error) = await RunWithPathAsync(bin, "mount", "-t", "fuse.ftpsmount", Url(), _mountPoint, "-o", $"ca_file={_server.CaCertificatePath},_netdev,noauto");
            }
            finally
            {
                File.Delete(installed);
                if (File.Exists(setAside))
                {
                    File.Move(setAside, installed);
                }
            }

            Assert.True(code == 0, error);
            Assert.Equal("hi\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "hello.txt"), _timeout.Token));
            Assert.Equal(0, Run("fusermount3", "-u", _mountPoint));
            await WaitUntilAsync(() => !Mounted(), "unmounted");
            await WaitUntilAsync(() => !DaemonPids().Any(), "the background process exited");

            // Our own helper script, as installed to /sbin/mount.fuse.ftpsmount (mount(8) passes -o after the positionals).
            (code, error) = await RunWithPathAsync(bin, RepositoryPaths.File("packaging", "linux", "mount.fuse.ftpsmount"), Url(), _mountPoint, "-o", $"ro,ca_file={_server.CaCertificatePath}");
            Assert.True(code == 0, error);
            Assert.Equal("hi\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "hello.txt"), _timeout.Token));
            Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(_mountPoint, "nope.txt"), "x")); // -o ro
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }

    [Fact]
    public async Task A_profile_names_the_server_options_and_mount_point()
    {
        _server.SeedFile("/p/hello.txt", "from a profile\n"u8);
        var config = Path.Combine(Directory.CreateTempSubdirectory("ftpsmount-config").FullName, "config.json");
        await File.WriteAllTextAsync(config, $$"""
            { "profiles": { "demo": { "url": "{{Url("/p")}}", "mountPoint": "{{_mountPoint}}",
                                      "options": { "ca-file": "{{_server.CaCertificatePath}}", "connections": 2 } } } }
            """, _timeout.Token);
        try
        {
            var env = new Dictionary<string, string> { ["FTPSMOUNT_CONFIG"] = config };
            var mount = await CliRunner.RunWithEnvironmentAsync(_server.Password, env, _timeout.Token, "mount", "demo", "--daemon");
            Assert.True(mount.ExitCode == 0, mount.StderrText);
            Assert.Equal("from a profile\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "hello.txt"), _timeout.Token));
            Assert.Equal(0, Run("fusermount3", "-u", _mountPoint));
            await WaitUntilAsync(() => !Mounted(), "unmounted");

            var unknown = await CliRunner.RunWithEnvironmentAsync(_server.Password, env, _timeout.Token, "mount", "nosuch", _mountPoint);
            Assert.Equal(ExitCodes.Usage, unknown.ExitCode);
            Assert.Contains("neither a URL nor a profile", unknown.StderrText, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(config)!, recursive: true);
        }
    }
}
