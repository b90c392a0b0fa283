using System.Runtime.Versioning;
using FtpsMount.Protocol;
using FtpsMount.Service.Api;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;
using TestProfile = FtpsMount.Service.Tests.ServiceHarness.TestProfile;

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

            // The mount process crashes (SIGKILL): the service mounts again after its back-off. The killed mount stays
            // on the mount point until its fusermount3 auto-unmount helper detaches it; that helper is held (SIGSTOP) so
            // the service meets exactly the situation a loaded machine makes likely: it must wait for the helper
            // rather than mount into a busy mount point (or have the helper detach its new mount afterwards).
            var helpers = ServiceHarness.AutoUnmountHelpers(_mountPoint);
            Assert.NotEmpty(helpers);
            foreach (var helper in helpers)
            {
                Assert.Equal(0, ServiceHarness.Kill(helper, 19)); // SIGSTOP
            }

            Assert.Equal(0, ServiceHarness.Kill(firstPid, 9));
            try
            {
                await ServiceHarness.WaitUntilAsync(() => service.Log.Contains("waiting for the auto-unmount of the previous mount", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30), "the service to wait for the auto-unmount helper", ct);
                Assert.True(ServiceHarness.IsMounted(_mountPoint)); // the dead mount is still there
            }
            finally
            {
                foreach (var helper in helpers)
                {
                    _ = ServiceHarness.Kill(helper, 18); // SIGCONT: it detaches the dead mount and exits
                }
            }

            var again = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct, m => m.Pid != firstPid);
            output.WriteLine($"restarts after the kill: {again.Restarts}; mount log: {string.Join(" | ", again.RecentLog)}");
            Assert.Equal(1, again.Restarts); // the first attempt after the crash succeeded
            Assert.False(File.Exists(Path.Combine(service.RuntimeDirectory, firstPid + ".json"))); // the killed mount's status file is cleaned up
            Assert.Equal("before the restart\n", await RetryReadAsync(Path.Combine(_mountPoint, "before.txt"), TimeSpan.FromSeconds(20), ct));

            // Live stats come from the mount's status file (0600), TLS version included.
            var withStats = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(10), ct, m => m.Stats is not null);
            Assert.Equal(again.Pid, withStats.Pid); // the new mount stayed: the old helper did not detach it
            Assert.Equal(1, withStats.Restarts);
            Assert.False(withStats.Adopted);
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

    [Fact]
    public async Task Adopts_a_live_mount_of_the_profile_found_on_its_mount_point_and_stops_it_on_request()
    {
        var ct = _timeout.Token;
        _server.SeedFile("/adopted.txt", "adopted\n"u8);
        TestProfile[] profiles = [new("work", _server, _mountPoint)];
        var root = ServiceHarness.CreateRoot(profiles);
        var manualLog = new System.Text.StringBuilder();
        using var manual = ServiceHarness.StartManualMount(root, "work", manualLog);
        try
        {
            await ServiceHarness.WaitUntilAsync(() => manual.HasExited || System.IO.File.Exists(Path.Combine(root, "run", "ftpsmount", manual.Id + ".json")),
                TimeSpan.FromSeconds(60), "the hand-made mount's status file", ct);
            Assert.False(manual.HasExited, manualLog.ToString());
            Assert.True(ServiceHarness.IsMounted(_mountPoint));

            await using var service = await ServiceHarness.StartAsync(profiles, ct, root);
            try
            {
                var adopted = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct);
                Assert.True(adopted.Adopted);
                Assert.Equal(manual.Id, adopted.Pid);
                Assert.Equal(0, adopted.Restarts);
                Assert.Null(adopted.LastError);
                Assert.Equal("adopted\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "adopted.txt"), ct));
                await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(10), ct, m => m.Stats is not null);

                using (var client = service.Client())
                {
                    await client.UnmountAsync("work", ct);
                }

                var stopped = await service.WaitForStateAsync("work", MountRunState.Stopped, TimeSpan.FromSeconds(40), ct);
                Assert.False(stopped.Adopted);
                using var exitWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                exitWait.CancelAfter(TimeSpan.FromSeconds(30));
                await manual.WaitForExitAsync(exitWait.Token);
                Assert.Equal(0, manual.ExitCode);
                Assert.False(ServiceHarness.IsMounted(_mountPoint));
            }
            finally
            {
                output.WriteLine(service.Log);
            }
        }
        finally
        {
            output.WriteLine(manualLog.ToString());
            if (!manual.HasExited)
            {
                manual.Kill();
            }
        }
    }

    [Fact]
    public async Task Detaches_a_dead_mount_left_on_the_mount_point_and_mounts_at_the_first_attempt()
    {
        var ct = _timeout.Token;
        _server.SeedFile("/fresh.txt", "fresh\n"u8);
        TestProfile[] profiles = [new("work", _server, _mountPoint)];
        var root = ServiceHarness.CreateRoot(profiles);
        var manualLog = new System.Text.StringBuilder();
        using (var manual = ServiceHarness.StartManualMount(root, "work", manualLog))
        {
            await ServiceHarness.WaitUntilAsync(() => manual.HasExited || ServiceHarness.AutoUnmountHelpers(_mountPoint).Count > 0 && ServiceHarness.IsMounted(_mountPoint),
                TimeSpan.FromSeconds(60), "the hand-made mount", ct);
            Assert.False(manual.HasExited, manualLog.ToString());
            // Read once, so the kernel holds cached attributes of the mount's root (stat of a dead mount can succeed).
            Assert.Equal("fresh\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "fresh.txt"), ct));

            // Both the mount process and its auto-unmount helper die: a dead mount stays behind, as after a crash of
            // the whole session.
            foreach (var helper in ServiceHarness.AutoUnmountHelpers(_mountPoint))
            {
                Assert.Equal(0, ServiceHarness.Kill(helper, 9));
            }

            manual.Kill();
            await manual.WaitForExitAsync(ct);
        }

        Assert.True(ServiceHarness.IsMounted(_mountPoint));
        await using var service = await ServiceHarness.StartAsync(profiles, ct, root);
        try
        {
            var mounted = await service.WaitForStateAsync("work", MountRunState.Mounted, TimeSpan.FromSeconds(60), ct);
            Assert.Equal(0, mounted.Restarts);
            Assert.False(mounted.Adopted);
            Assert.Contains("dead FUSE mount", service.Log, StringComparison.Ordinal);
            Assert.Equal("fresh\n", await File.ReadAllTextAsync(Path.Combine(_mountPoint, "fresh.txt"), ct));
        }
        finally
        {
            output.WriteLine(service.Log);
        }
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
