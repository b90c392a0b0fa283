using System.Runtime.Versioning;
using FtpsMount.Protocol;
using FtpsMount.Service.Api;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Service.Tests;

/// <summary>
/// The service against a real vsftpd through real FUSE mounts: auto-mount at start, a server restart (killed by PID,
/// started again on the same port) that the mount rides out, a crashed mount process that the service replaces, an
/// unmount request, and a clean stop. Every wait is bounded; cleanup stops the service and lazily unmounts.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ServiceSupervisionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));
    private readonly string _mountPoint = Directory.CreateTempSubdirectory("ftpsmount-svc-mnt").FullName;
    private ReferenceServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, _timeout.Token);

    public async Task DisposeAsync()
    {
        if (ServiceHarness.IsMounted(_mountPoint))
        {
            using var p = System.Diagnostics.Process.Start("fusermount3", ["-uz", _mountPoint]);
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
    public async Task Keeps_a_profile_mounted_across_a_server_restart_and_remounts_a_crashed_mount()
    {
        var ct = _timeout.Token;
        _server.SeedFile("/before.txt", "before the restart\n"u8);
        await using var service = await ServiceHarness.StartAsync([new("work", _server, _mountPoint)], ct);
        try
        {
            // Auto-mounted at start.
            var mounted = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct);
            Assert.Equal("before the restart\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "before.txt"), ct));
            Assert.True(ServiceHarness.IsMounted(_mountPoint));
            var firstPid = mounted.Pid!.Value;

            // The server goes away (every session breaks) and comes back on the same port.
            await _server.KillAsync(ct);
            await _server.RestartAsync(ct);
            _server.SeedFile("/after.txt", "after the restart\n"u8);
            var text = await RetryReadAsync(Path.Combine(_mountPoint, "after.txt"), TimeSpan.FromSeconds(30), ct);
            Assert.Equal("after the restart\n", text);
            var still = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(5), ct);
            Assert.Equal(firstPid, still.Pid); // the same mount rode it out: no remount was needed
            Assert.Equal(0, still.Restarts);

            // The mount process crashes (SIGKILL): the service mounts again after its back-off.
            Assert.Equal(0, ServiceHarness.Kill(firstPid, 9));
            var again = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct, m => m.Pid != firstPid);
            // Usually one restart; on a loaded machine the first attempt may still find the killed mount being detached
            // (auto_unmount) and fail, and the back-off tries again. Either way it must come back by itself.
            output.WriteLine($"restarts after the kill: {again.Restarts}; mount log: {string.Join(" | ", again.RecentLog)}");
            Assert.InRange(again.Restarts, 1, 5);
            Assert.Equal("before the restart\n", await RetryReadAsync(Path.Combine(_mountPoint, "before.txt"), TimeSpan.FromSeconds(20), ct));

            // Live stats come from the mount's status file (0600), TLS version included.
            var withStats = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(10), ct, m => m.Stats is not null);
            Assert.StartsWith("TLSv1.", withStats.Stats!.TlsProtocol, StringComparison.Ordinal);
            var statusFile = Path.Combine(service.RuntimeDirectory, again.Pid + ".json");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(statusFile));

            // Unmount through the API: the mount goes, the profile stays listed as stopped.
            using (var client = service.Client())
            {
                await client.UnmountAsync("work", ct);
            }

            await service.WaitForStateAsync("work", MountRunState.Stopped, TimeSpan.FromSeconds(40), ct);
            await ServiceHarness.WaitUntilAsync(() => !ServiceHarness.IsMounted(_mountPoint), TimeSpan.FromSeconds(10), "the mount to go", ct);

            // Mount again through the API, then stop the service: it unmounts on the way out.
            using (var client = service.Client(socket: false))
            {
                await client.MountAsync("work", ct);
            }

            await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct);
            Assert.Equal(0, await service.StopAsync(TimeSpan.FromSeconds(60)));
            Assert.False(ServiceHarness.IsMounted(_mountPoint));
            Assert.Empty(service.ChildPids());
            Assert.False(File.Exists(service.EndpointFile));

            // The password never reached the log.
            Assert.DoesNotContain(_server.Password, service.Log, StringComparison.Ordinal);
        }
        finally
        {
            output.WriteLine(service.Log);
        }
    }

    [Fact]
    public async Task A_killed_service_leaves_no_mount_behind()
    {
        var ct = _timeout.Token;
        _server.SeedFile("/x.txt", "x\n"u8);
        await using var service = await ServiceHarness.StartAsync([new("orphan", _server, _mountPoint)], ct);
        var mounted = await service.WaitForStateAsync("orphan", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("x\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "x.txt"), ct));

        // SIGKILL: the service cannot clean up, but its end closes the mount's stdin, and the mount unmounts itself.
        Assert.Equal(0, ServiceHarness.Kill(service.Pid, 9));
        await ServiceHarness.WaitUntilAsync(() => !ServiceHarness.IsMounted(_mountPoint), TimeSpan.FromSeconds(30), "the orphaned mount to unmount", ct);
        await ServiceHarness.WaitUntilAsync(() => !File.Exists($"/proc/{mounted.Pid}/status"), TimeSpan.FromSeconds(30), "the mount process to exit", ct);
    }

    /// <summary>Right after the server restart the first request may meet a dead pooled session; Core retries, but
    /// give the kernel's negative cache and the pool a bounded moment.</summary>
    private static async Task<string> RetryReadAsync(string path, TimeSpan timeout, CancellationToken ct)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await File.ReadAllTextAsync(path, ct);
            }
            catch (IOException) when (sw.Elapsed < timeout)
            {
                await Task.Delay(500, ct);
            }
        }
    }
}
