using System.Diagnostics;
using System.Globalization;
using FtpsMount.Protocol;
using FtpsMount.Testing.Conformance;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Mount;

/// <summary>
/// Drills through a real FUSE mount made by `ftpsmount mount` (child process) over proftpd: the model-based random
/// operations drill (≥ 2000 operations, the shared ModelGenerator/ModelChecker), a server SIGKILLed mid-read and
/// mid-write, SIGKILL of the mount process with files open, and the password kept out of argv, ps, logs and status.
/// </summary>
[Collection(DrillCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MountDrills(ITestOutputHelper output) : IAsyncLifetime
{
    private ReferenceServer _server = null!;

    public async Task InitializeAsync() => _server = await ReferenceServer.StartAsync(ReferenceServerKind.Proftpd, FtpsMode.Explicit);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Model_drill_random_operations_through_the_mount_agree_with_a_local_directory()
    {
        var operations = Environment.GetEnvironmentVariable("FTPSMOUNT_DRILL_MODEL_OPS") is { Length: > 0 } v
            ? int.Parse(v, CultureInfo.InvariantCulture)
            : Drill.Soak ? 20_000 : 2000;
        var seed = Environment.GetEnvironmentVariable(ModelBasedTests.SeedVariable) is { Length: > 0 } s
            ? int.Parse(s, CultureInfo.InvariantCulture)
            : 8_2026;
        await using var mount = await CliMount.StartAsync(_server, _server.Password);
        var modelDir = Directory.CreateTempSubdirectory("ftpsmount-drill-model-");
        try
        {
            // proftpd 1.3.8: MLSD, MFMT (directory times too), SITE CHMOD; the mount uses Core's default TTLs (30 s), so
            // every answer after the mount's own change comes from how it updated its caches.
            var capabilities = new FsTargetCapabilities
            {
                TimeResolution = TimeSpan.FromSeconds(1),
                ClockSkewTolerance = TimeSpan.FromSeconds(5),
                ListingTimeResolution = TimeSpan.FromSeconds(1),
                Chmod = true,
                ReportsModeBits = true,
                SetFileModifiedTime = true,
                SetDirectoryModifiedTime = true,
                ExternalChangesVisibleWithin = TimeSpan.FromSeconds(63),
                RenameOpenFile = true,
            };
            await using var target = new PosixDirectoryTarget(mount.MountPoint, $"ftpsmount mount of proftpd at {mount.MountPoint}", capabilities, new ReferenceServerBackdoor(_server));
            await using var model = new PosixDirectoryTarget(modelDir.FullName, "local model directory");
            var checker = new ModelChecker(target, model, output);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60 + (operations * 0.25)));
            var sw = Stopwatch.StartNew();
            try
            {
                await checker.RunAsync(seed, operations, cts.Token);
            }
            catch
            {
                output.WriteLine("---- ftpsmount stderr ----\n" + mount.Stderr);
                throw;
            }

            output.WriteLine($"FIGURE model drill through the mount: {operations} operations (seed {seed}) compared with a local directory, 0 divergences, {sw.Elapsed.TotalSeconds:F0}s");
        }
        finally
        {
            modelDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Server_killed_mid_read_and_mid_write_through_the_mount_loses_no_byte()
    {
        var size = 48 * 1024 * 1024;
        var data = Drill.RandomBytes(size, 31);
        _server.SeedFile("/big.bin", data);
        await using var mount = await CliMount.StartAsync(_server, _server.Password);

        // Read: kill at a third, restart 1 s later; the read goes on with identical bytes.
        var read = new byte[size];
        Task? restart = null;
        await using (var stream = new FileStream(Path.Combine(mount.MountPoint, "big.bin"), FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            var done = 0;
            while (done < size)
            {
                var n = await stream.ReadAsync(read.AsMemory(done, Math.Min(1024 * 1024, size - done)));
                Assert.True(n > 0, $"EOF at {done}");
                done += n;
                if (restart is null && done >= size / 3)
                {
                    await _server.KillAsync();
                    restart = Task.Run(async () => { await Task.Delay(1000); await _server.RestartAsync(); });
                }
            }
        }

        await restart!;
        Assert.True(data.AsSpan().SequenceEqual(read), "bytes read through the mount differ after the server restart\n" + mount.Stderr);

        // Write: kill at half, restart 1 s later; fsync(2)/close(2) succeed with the whole file on the server, or report
        // an error (the data stays staged and the unmount uploads it) — never a success with a short file. POSIX calls,
        // because .NET's FileStream ignores the result of close(2).
        var upload = Drill.RandomBytes(24 * 1024 * 1024, 32);
        restart = null;
        var (fsyncErrno, closeErrno) = PosixWrite.WriteFsyncClose(Path.Combine(mount.MountPoint, "up.bin"), upload, 1024 * 1024, written =>
        {
            if (restart is null && written >= upload.Length / 2)
            {
                _server.KillAsync().GetAwaiter().GetResult();
                restart = Task.Run(async () => { await Task.Delay(1000); await _server.RestartAsync(); });
            }
        });
        await restart!;
        var reported = fsyncErrno != 0 || closeErrno != 0;
        output.WriteLine($"fsync errno {fsyncErrno}, close errno {closeErrno}");
        if (!reported)
        {
            Assert.True(upload.AsSpan().SequenceEqual(File.ReadAllBytes(_server.GetLocalPath("/up.bin"))), "fsync and close succeeded but the server's file differs\n" + mount.Stderr);
        }
        else
        {
            Assert.Equal(0, await StopAsync(mount));
            Assert.True(upload.AsSpan().SequenceEqual(File.ReadAllBytes(_server.GetLocalPath("/up.bin"))), "the upload reported by fsync/close was not completed by the unmount\n" + mount.Stderr);
        }

        output.WriteLine($"FIGURE server killed through the mount: {size} bytes read and checked across a kill, {upload.Length} bytes written across a kill and checked on the server's disk ({(reported ? $"fsync/close reported errno {fsyncErrno}/{closeErrno}, the unmount completed it" : "fsync and close succeeded")}), {_server.KillCount} kills");
    }

    [Fact]
    public async Task With_the_server_gone_reads_and_writes_fail_with_EIO_within_the_configured_time()
    {
        var data = Drill.RandomBytes(8 * 1024 * 1024, 33);
        _server.SeedFile("/cold.bin", data);
        const int timeout = 3, retryDeadline = 5;
        await using var mount = await CliMount.StartAsync(_server, _server.Password, "--timeout", $"{timeout}", "--retry-deadline", $"{retryDeadline}");
        Assert.Single(Directory.GetFiles(mount.MountPoint)); // the mount has its sessions and has seen the file
        await _server.KillAsync();

        var sw = Stopwatch.StartNew();
        output.WriteLine($"server running after kill: {_server.IsRunning}; {_server}");
        var read = Record.Exception(() => File.ReadAllBytes(Path.Combine(mount.MountPoint, "cold.bin")));
        output.WriteLine(mount.Stderr);
        Assert.True(read is IOException, $"read through the mount with the server gone: {read?.GetType().Name ?? "no error"}");
        var readTime = sw.Elapsed;
        sw.Restart();
        // .NET ignores the result of close(2), so the error is observed where POSIX also reports it: fsync.
        // POSIX calls, as an application makes them (.NET's FileStream ignores the result of close(2), and here also
        // reported no fsync error): the write is staged, fsync(2) and close(2) must both report the lost upload.
        var (fsyncErrno, closeErrno) = PosixWrite.WriteFsyncClose(Path.Combine(mount.MountPoint, "new.bin"), data);
        output.WriteLine($"fsync errno {fsyncErrno}, close errno {closeErrno}");
        Assert.Equal(5, fsyncErrno); // EIO
        Assert.Equal(5, closeErrno);
        var writeTime = sw.Elapsed;
        output.WriteLine($"read: {read!.Message} after {readTime.TotalSeconds:F1}s; write: fsync/close EIO after {writeTime.TotalSeconds:F1}s");
        // Bound: the retry deadline, plus one attempt's connect/reply timeout, plus slack for a loaded 2-core machine.
        var bound = TimeSpan.FromSeconds(retryDeadline + timeout + 12);
        Assert.True(readTime < bound, $"read took {readTime.TotalSeconds:F1}s (bound {bound.TotalSeconds}s)");
        Assert.True(writeTime < bound, $"write took {writeTime.TotalSeconds:F1}s (bound {bound.TotalSeconds}s)");
        await _server.RestartAsync();
        var again = await File.ReadAllBytesAsync(Path.Combine(mount.MountPoint, "cold.bin"));
        Assert.True(data.AsSpan().SequenceEqual(again), "the mount did not recover after the server came back");
        // The write whose fsync and close failed was kept staged; the unmount (server back) must upload it.
        var code = await StopAsync(mount);
        output.WriteLine(mount.Stderr);
        Assert.Equal(0, code);
        Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(_server.GetLocalPath("/new.bin"))), "the write that failed while the server was gone never reached it");
        output.WriteLine($"FIGURE server gone through the mount: read EIO after {readTime.TotalSeconds:F1}s, write error after {writeTime.TotalSeconds:F1}s (--timeout {timeout} --retry-deadline {retryDeadline}); {data.Length} bytes read identical after the restart");
    }

    [Fact]
    public async Task SIGKILL_of_the_mount_process_with_files_open_leaves_no_dead_mount()
    {
        _server.SeedFile("/held.txt", "held open\n"u8);
        var faults = 0;
        for (var round = 0; round < (Drill.Soak ? 20 : 3); round++)
        {
            await using var mount = await CliMount.StartAsync(_server, _server.Password);
            // Files held open by this process and by a child (a reader in the middle of its read, a writer with data).
            var reader = new FileStream(Path.Combine(mount.MountPoint, "held.txt"), FileMode.Open, FileAccess.Read);
            var writer = new FileStream(Path.Combine(mount.MountPoint, $"w{round}.txt"), FileMode.Create, FileAccess.Write);
            writer.Write("pending"u8);
            writer.Flush(flushToDisk: false);
            var sleeper = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "exec sleep 60 < \"$0\"", Path.Combine(mount.MountPoint, "held.txt")]))!;
            try
            {
                mount.Signal("KILL");
                faults++;
                Assert.NotNull(await mount.WaitForExitAsync(TimeSpan.FromSeconds(20)));
                var sw = Stopwatch.StartNew();
                while (CliMount.IsMounted(mount.MountPoint) && sw.Elapsed < TimeSpan.FromSeconds(20))
                {
                    await Task.Delay(50);
                }

                Assert.False(CliMount.IsMounted(mount.MountPoint), $"round {round}: {mount.MountPoint} is still mounted 20 s after SIGKILL with files open (a dead mount)");
                output.WriteLine($"round {round}: mount gone {sw.ElapsedMilliseconds} ms after SIGKILL");
            }
            finally
            {
                sleeper.Kill();
                sleeper.Dispose();
                try
                {
                    writer.Dispose();
                }
                catch (IOException)
                {
                    // The daemon is gone: close() on the dead mount fails, as it should.
                }

                reader.Dispose();
            }
        }

        output.WriteLine($"FIGURE SIGKILL with open files: {faults} mount processes killed with 3 files open each, 0 dead mounts left");
    }

    [Fact]
    public async Task The_password_never_appears_in_argv_ps_logs_or_status_files()
    {
        _server.SeedFile("/p/a.txt", "a"u8);
        var password = _server.Password;
        var logFile = Path.Combine(Directory.CreateTempSubdirectory("ftpsmount-drill-log-").FullName, "mount.log");
        await using var mount = await CliMount.StartAsync(_server, password, "--trace", "-v", "--log-file", logFile);
        // Make the mount talk: listings, a read, a write, a failed operation.
        Assert.Single(Directory.GetFiles(Path.Combine(mount.MountPoint, "p")));
        Assert.Equal("a", await File.ReadAllTextAsync(Path.Combine(mount.MountPoint, "p", "a.txt")));
        await File.WriteAllTextAsync(Path.Combine(mount.MountPoint, "p", "b.txt"), "b");
        Assert.False(File.Exists(Path.Combine(mount.MountPoint, "nope")));

        var places = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ps -eo args"] = Capture("ps", "-eo", "pid,args"),
            ["/proc/*/cmdline"] = string.Join('\n', Directory.EnumerateDirectories("/proc").Select(d => TryRead(Path.Combine(d, "cmdline")).Replace('\0', ' '))),
            ["/proc/*/comm"] = string.Join('\n', Directory.EnumerateDirectories("/proc").Select(d => TryRead(Path.Combine(d, "comm")))),
            ["status files"] = string.Join('\n', StatusFiles().Select(TryRead)),
        };
        Assert.Equal(0, await StopAsync(mount));
        places["mount stderr (--trace -v)"] = mount.Stderr;
        places["--log-file"] = TryRead(logFile);
        Assert.Contains("PASS ****", mount.Stderr + places["--log-file"], StringComparison.Ordinal);
        foreach (var (where, text) in places)
        {
            Assert.True(!text.Contains(password, StringComparison.Ordinal), $"the password appears in {where}");
        }

        Directory.Delete(Path.GetDirectoryName(logFile)!, recursive: true);
        output.WriteLine($"FIGURE password grep: {places.Count} places searched ({places.Sum(p => p.Value.Length)} characters: {string.Join(", ", places.Keys)}), 0 hits; protocol trace shows PASS ****");
    }

    [Fact]
    public async Task Insecure_warns_on_every_mount()
    {
        for (var i = 0; i < 2; i++)
        {
            await using var mount = await CliMount.StartAsync(_server, _server.Password, "--insecure");
            Assert.Contains("WARNING: --insecure", mount.Stderr, StringComparison.Ordinal);
        }
    }

    private static async Task<int> StopAsync(CliMount mount)
    {
        mount.Signal("TERM");
        var code = await mount.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.True(code is not null, "the mount did not exit within 120 s of SIGTERM:\n" + mount.Stderr);
        return code.Value;
    }

    private static IEnumerable<string> StatusFiles()
    {
        foreach (var dir in new[] { "/run/user/0/ftpsmount", Path.Combine(Path.GetTempPath(), "ftpsmount-root"), Path.Combine(Path.GetTempPath(), "ftpsmount-" + Environment.UserName) })
        {
            if (Directory.Exists(dir))
            {
                foreach (var f in Directory.EnumerateFiles(dir))
                {
                    yield return f;
                }
            }
        }
    }

    private static string TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static string Capture(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit(10_000);
        return text;
    }
}

/// <summary>open/write/fsync/close through libc, returning the errno of fsync and close (0 = success).</summary>
internal static partial class PosixWrite
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "open", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags, int mode);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    public static (int FsyncErrno, int CloseErrno) WriteFsyncClose(string path, byte[] data) => WriteFsyncClose(path, data, data.Length, null);

    /// <summary>Writes in <paramref name="chunk"/>-byte write(2) calls, calling <paramref name="progress"/> after each.</summary>
    public static unsafe (int FsyncErrno, int CloseErrno) WriteFsyncClose(string path, byte[] data, int chunk, Action<long>? progress)
    {
        const int O_WRONLY = 1, O_CREAT = 0x40, O_TRUNC = 0x200;
        var fd = Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0x1a4);
        if (fd < 0)
        {
            throw new IOException($"open {path}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }

        fixed (byte* p = data)
        {
            for (nint done = 0; done < data.Length;)
            {
                var n = Write(fd, p + done, Math.Min(chunk, data.Length - done));
                if (n <= 0)
                {
                    throw new IOException($"write {path}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                }

                done += n;
                progress?.Invoke(done);
            }
        }

        var fsync = Fsync(fd) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        var close = Close(fd) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return (fsync, close);
    }
}
