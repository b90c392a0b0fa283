using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using FtpsMount.Protocol;
using FtpsMount.Service.Api;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Service.Tests;

/// <summary>
/// The dashboard in a real browser: Debian's headless Chromium driven by playwright-core (installed by
/// tests/scripts/install-test-deps.sh under /opt/ftpsmount-test/node). It signs in with a one-time link, sees the
/// profile mounted with its TLS version, clicks Unmount, and sees the mount go — which the test then checks in the
/// kernel's mount table. Screenshots and page HTML are kept in tests/FtpsMount.Service.Tests/TestResults/dashboard/.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));
    private readonly string _mountPoint = Directory.CreateTempSubdirectory("ftpsmount-dash-mnt").FullName;
    private ReferenceServer _server = null!;

    private static string PlaywrightCore =>
        Path.Combine(Environment.GetEnvironmentVariable("FTPSMOUNT_TEST_PREFIX") is { Length: > 0 } p ? p : "/opt/ftpsmount-test", "node", "node_modules", "playwright-core");

    /// <summary>Where the screenshots go: TestResults/dashboard under this test project (git-ignored).</summary>
    public static string ArtifactDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FtpsMount.Service.Tests.csproj")))
        {
            dir = dir.Parent;
        }

        var path = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "dashboard");
        Directory.CreateDirectory(path);
        return path;
    }

    public async Task InitializeAsync() =>
        _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, _timeout.Token);

    public async Task DisposeAsync()
    {
        if (ServiceHarness.IsMounted(_mountPoint))
        {
            using var p = Process.Start("fusermount3", ["-uz", _mountPoint]);
            await p.WaitForExitAsync();
        }

        await _server.DisposeAsync();
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
    public async Task Clicking_unmount_in_headless_chromium_unmounts_the_profile()
    {
        Assert.True(File.Exists(Chromium) && Directory.Exists(PlaywrightCore),
            $"needs {Chromium} and {PlaywrightCore}: run tests/scripts/install-test-deps.sh");
        var ct = _timeout.Token;
        _server.SeedFile("/hello.txt", "hello\n"u8);
        _server.SeedFile("/big.bin", new byte[16 << 20]);
        await using var service = await ServiceHarness.StartAsync([new("office", _server, _mountPoint)], ct);
        await service.WaitForStateAsync("office", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct, m => m.Stats is not null);
        Assert.Equal("hello\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "hello.txt"), ct));
        Assert.Equal(16 << 20, (await File.ReadAllBytesAsync(Path.Combine(_mountPoint, "big.bin"), ct)).Length);

        // The transfer shows in the live stats (and so in the screenshot's graph).
        await service.WaitForStateAsync("office", MountRunState.Mounted, TimeSpan.FromSeconds(15), ct,
            m => m.Stats is { BytesDownloaded: >= 16 << 20 } && m.Throughput.Any(t => t.DownloadBytesPerSecond > 0));

        var artifacts = ArtifactDirectory();
        foreach (var old in Directory.GetFiles(artifacts))
        {
            File.Delete(old);
        }

        LoginLink link;
        using (var client = service.Client())
        {
            link = await client.CreateLoginLinkAsync(ct);
        }

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Dashboard", "dashboard-test.mjs"));
        start.Environment["PLAYWRIGHT_CORE"] = PlaywrightCore;
        start.Environment["LOGIN_URL"] = link.Url;
        start.Environment["PROFILE"] = "office";
        start.Environment["ARTIFACTS"] = artifacts;
        start.Environment["CHROMIUM"] = Chromium;
        start.Environment["HOME"] = service.Root; // Chromium's profile and crash dumps stay in the test's directory
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync(ct);
        var stderr = node.StandardError.ReadToEndAsync(ct);
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(TimeSpan.FromMinutes(2));
            await node.WaitForExitAsync(limit.Token);
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }
        }

        var seen = await stdout;
        output.WriteLine(seen);
        output.WriteLine(await stderr);
        output.WriteLine("screenshots: " + artifacts);
        Assert.True(node.ExitCode == 0, $"the browser script failed ({node.ExitCode}):\n{await stderr}\nservice log:\n{service.Log}");

        using var result = JsonDocument.Parse(seen.Trim().Split('\n')[^1]);
        var mountedText = result.RootElement.GetProperty("mountedText").GetString()!;
        Assert.Contains("Mounted", mountedText, StringComparison.Ordinal);
        Assert.Contains("TLSv1.", mountedText, StringComparison.Ordinal);
        Assert.Contains(_mountPoint, mountedText, StringComparison.Ordinal);
        Assert.Contains("Stopped", result.RootElement.GetProperty("stoppedText").GetString()!, StringComparison.Ordinal);
        Assert.Equal(0, result.RootElement.GetProperty("external").GetArrayLength()); // no CDN, nothing from outside

        // The click really unmounted: the kernel no longer lists the mount and the service says Stopped.
        await ServiceHarness.WaitUntilAsync(() => !ServiceHarness.IsMounted(_mountPoint), TimeSpan.FromSeconds(10), "the mount to go", ct);
        await service.WaitForStateAsync("office", MountRunState.Stopped, TimeSpan.FromSeconds(5), ct);

        foreach (var png in new[] { "dashboard-mounted.png", "dashboard-unmounted.png" })
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(artifacts, png), ct);
            Assert.True(bytes.Length > 1000 && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), png + " is not a PNG");
        }

        var html = await File.ReadAllTextAsync(Path.Combine(artifacts, "dashboard-mounted.html"), ct);
        Assert.DoesNotContain(_server.Password, html, StringComparison.Ordinal);
        Assert.DoesNotContain(service.Token, html, StringComparison.Ordinal);
    }
}
