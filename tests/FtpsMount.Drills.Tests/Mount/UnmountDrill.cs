using System.Diagnostics;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Mount;

/// <summary>
/// Unmount (SIGTERM) while files are open and uploads are pending, with the server gone: the mount process waits at most
/// its --unmount-timeout, then exits naming every file whose data did not reach the server (kept in the staging
/// directory, never dropped silently). With the server back, the same sequence uploads everything before exiting.
/// </summary>
[Collection(DrillCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UnmountDrill(ITestOutputHelper output) : IAsyncLifetime
{
    private ReferenceServer _server = null!;

    public async Task InitializeAsync() => _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Unmount_with_open_files_and_pending_uploads_is_bounded_and_says_what_is_left()
    {
        try
        {
            const int unmountTimeout = 15;
            await using var mount = await CliMount.StartAsync(_server, _server.Password, "--write-back", "60", "--unmount-timeout", unmountTimeout.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var pending = Drill.RandomBytes(3 * 1024 * 1024, 41);
            // Written back to front, so it is staged rather than streamed; closed, so its upload waits for write-back (60 s).
            await using (var p = new FileStream(Path.Combine(mount.MountPoint, "pending.bin"), FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                p.Position = pending.Length / 2;
                p.Write(pending, pending.Length / 2, pending.Length - (pending.Length / 2));
                p.Position = 0;
                p.Write(pending, 0, pending.Length / 2);
            }

            var open = new FileStream(Path.Combine(mount.MountPoint, "open.bin"), FileMode.Create, FileAccess.Write);
            open.Write(Drill.RandomBytes(1024 * 1024, 42));
            open.Flush();
            await _server.KillAsync();

            var sw = Stopwatch.StartNew();
            mount.Signal("TERM");
            var code = await mount.WaitForExitAsync(TimeSpan.FromSeconds(unmountTimeout + 60));
            var elapsed = sw.Elapsed;
            try
            {
                open.Dispose();
            }
            catch (IOException)
            {
            }

            output.WriteLine(mount.Stderr);
            Assert.True(code is not null, $"the mount did not exit within {unmountTimeout + 60}s of SIGTERM with the server gone");
            Assert.NotEqual(0, code); // data left behind is a failure
            Assert.False(CliMount.IsMounted(mount.MountPoint));
            // pending.bin was closed before the kill: with write-back its upload may already have streamed while it was
            // written. Either the server has it whole, or the unmount names it.
            var onServer = File.Exists(_server.GetLocalPath("/pending.bin")) && pending.AsSpan().SequenceEqual(File.ReadAllBytes(_server.GetLocalPath("/pending.bin")));
            Assert.True(onServer || mount.Stderr.Contains("pending.bin", StringComparison.Ordinal), "pending.bin is neither on the server nor named as left");
            Assert.Contains("open.bin", mount.Stderr, StringComparison.Ordinal);
            Assert.True(elapsed < TimeSpan.FromSeconds(unmountTimeout + 30), $"unmount took {elapsed.TotalSeconds:F0}s with --unmount-timeout {unmountTimeout}");
            output.WriteLine($"FIGURE unmount with pending uploads, server gone: exited after {elapsed.TotalSeconds:F1}s (--unmount-timeout {unmountTimeout}), exit code {code}, pending.bin {(onServer ? "already on the server" : "named as left")}, open.bin named as left");
        }
        finally
        {
            if (!_server.IsRunning)
            {
                await _server.RestartAsync();
            }
        }
    }

    [Fact]
    public async Task Unmount_against_a_server_that_stops_answering_gives_up_after_the_unmount_timeout()
    {
        await using var proxy = FtpsMount.Testing.Faults.TcpCutProxy.Start(_server.Port, _server.PassivePortFirst, _server.PassivePortLast);
        const int unmountTimeout = 10;
        var mountPoint = Directory.CreateTempSubdirectory("ftpsmount-drill-mnt-").FullName;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { CliMount.Dll, "mount", $"ftpes://{_server.User}@{proxy.Address}:{proxy.ControlPort}/", mountPoint,
                     "--fingerprint", _server.CertificateFingerprint, "--timeout", "5", "--retry-deadline", "5", "--unmount-timeout", unmountTimeout.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["FTPSMOUNT_PASSWORD"] = _server.Password;
        var temp = Directory.CreateTempSubdirectory("ftpsmount-drill-tmp-").FullName;
        start.Environment["TMPDIR"] = temp; // the staged data left on purpose goes with it
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var wait = Stopwatch.StartNew();
            while (!CliMount.IsMounted(mountPoint) && !process.HasExited && wait.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
            }

            Assert.True(CliMount.IsMounted(mountPoint), "not mounted: " + (process.HasExited ? await stderr : ""));
            var open = new FileStream(Path.Combine(mountPoint, "open.bin"), FileMode.Create, FileAccess.Write);
            open.Write(Drill.RandomBytes(2 * 1024 * 1024, 43));
            open.Flush();
            using var stall = proxy.Stall(FtpsMount.Testing.Faults.ProxyChannel.Control);
            var sw = Stopwatch.StartNew();
            CliMount.Run("kill", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var exitWait = new CancellationTokenSource(TimeSpan.FromSeconds(unmountTimeout + 60));
            await process.WaitForExitAsync(exitWait.Token);
            var elapsed = sw.Elapsed;
            try
            {
                open.Dispose();
            }
            catch (IOException)
            {
            }

            var text = await stderr;
            output.WriteLine(text);
            Assert.NotEqual(0, process.ExitCode);
            Assert.Contains("open.bin", text, StringComparison.Ordinal);
            // Bound: an operation already in flight at SIGTERM (here the FUSE flush sent when a forked child closed its
            // inherited descriptor) first ends within its own limit — --retry-deadline 5 plus one --timeout 5 attempt —
            // then the unmount waits at most --unmount-timeout, then 5 s for disposal; plus slack for a loaded machine.
            Assert.True(elapsed < TimeSpan.FromSeconds(5 + 5 + unmountTimeout + 5 + 15), $"unmount took {elapsed.TotalSeconds:F0}s with --unmount-timeout {unmountTimeout}");
            Assert.Contains("gave up waiting for the server", text, StringComparison.Ordinal);
            output.WriteLine($"FIGURE unmount against a silent server: exited after {elapsed.TotalSeconds:F1}s (--unmount-timeout {unmountTimeout}), exit code {process.ExitCode}, named the open file left");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            CliMount.Run("fusermount3", "-uz", mountPoint);
            Directory.Delete(mountPoint);
            Directory.Delete(temp, recursive: true);
        }
    }
}
