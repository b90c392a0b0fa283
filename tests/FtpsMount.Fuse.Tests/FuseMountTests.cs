using System.Security.Cryptography;
using System.Text;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Fuse.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuseMountCollection
{
    public const string Name = "real FUSE mounts";
}

/// <summary>
/// A real FUSE mount of a reference vsftpd, served by the test host in a child process, exercised with ordinary
/// System.IO calls (ls, stat, cat, cp, write, mkdir, mv, truncate, chmod, touch, rm) and checked on the server's disk.
/// A missing server or FUSE fails the test. Every wait has a deadline; cleanup kills the host by pid and runs
/// `fusermount3 -uz`.
/// </summary>
[Collection(FuseMountCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FuseMountTests(ITestOutputHelper output)
{
    private static readonly TimeSpan MountDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan OperationsDeadline = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(90);

    private static string NewMountPoint() => Directory.CreateTempSubdirectory("ftpsmount-fuse-mnt-").FullName;

    [Fact]
    public async Task Everyday_file_operations_through_the_mount_reach_the_server()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var hello = Encoding.UTF8.GetBytes("hello through fuse\n");
        var big = RandomNumberGenerator.GetBytes((3 * 1024 * 1024) + 4321);
        server.SeedFile("/hello.txt", hello);
        server.SeedFile("/dir/big.bin", big);
        server.SeedFile("/dir/sub/deep.txt", "deep"u8);
        File.CreateSymbolicLink(server.GetLocalPath("/link"), "hello.txt");

        var mountPoint = NewMountPoint();
        await using var host = FuseHostProcess.Start(server, mountPoint);
        try
        {
            await host.WaitUntilMountedAsync(MountDeadline);
            string M(string path) => mountPoint + path;

            // Read-ahead above the kernel's 128 KiB offer is applied through the mount's backing device (root).
            var entry = MountTable.Find(mountPoint)!;
            var readahead = File.ReadAllText($"/sys/class/bdi/{entry.Major}:{entry.Minor}/read_ahead_kb").Trim();
            Assert.Equal("1024", readahead);
            string S(string path) => server.GetLocalPath(path);

            await host.OnMountAsync(OperationsDeadline, () =>
            {
                // ls
                var names = Directory.EnumerateFileSystemEntries(mountPoint).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();
                Assert.Equal(new[] { "dir", "hello.txt", "link" }, names);
                Assert.Equal(new[] { "big.bin", "sub" }, Directory.EnumerateFileSystemEntries(M("/dir")).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray());

                // stat
                Assert.Equal(hello.Length, new FileInfo(M("/hello.txt")).Length);
                Assert.Equal(big.Length, new FileInfo(M("/dir/big.bin")).Length);
                Assert.True(Directory.Exists(M("/dir/sub")));
                Assert.False(File.Exists(M("/missing")));
                var serverTime = File.GetLastWriteTimeUtc(S("/dir/big.bin"));
                var mountTime = File.GetLastWriteTimeUtc(M("/dir/big.bin"));
                // vsftpd 3.0.3 has no MLSD: its LIST shows recent files to the minute.
                Assert.True((serverTime - mountTime).Duration() < TimeSpan.FromSeconds(61), $"mtime {mountTime:o} on the mount, {serverTime:o} on the server");

                // readlink, and following the link
                Assert.Equal("hello.txt", new FileInfo(M("/link")).LinkTarget);
                Assert.Equal(hello, File.ReadAllBytes(M("/link")));

                // cat
                Assert.Equal(hello, File.ReadAllBytes(M("/hello.txt")));
                Assert.Equal(big, File.ReadAllBytes(M("/dir/big.bin")));
                Assert.Equal("deep", File.ReadAllText(M("/dir/sub/deep.txt")));

                // cp within the mount, then write a new file
                File.Copy(M("/dir/big.bin"), M("/copy.bin"));
                Assert.Equal(big, File.ReadAllBytes(S("/copy.bin")));
                var fresh = RandomNumberGenerator.GetBytes(200_000);
                File.WriteAllBytes(M("/new.bin"), fresh);
                Assert.Equal(fresh, File.ReadAllBytes(S("/new.bin")));
                Assert.Equal(fresh.Length, new FileInfo(M("/new.bin")).Length);

                // overwrite (O_TRUNC) and append
                File.WriteAllText(M("/hello.txt"), "short");
                Assert.Equal("short", File.ReadAllText(S("/hello.txt")));
                File.AppendAllText(M("/hello.txt"), "+tail");
                Assert.Equal("short+tail", File.ReadAllText(S("/hello.txt")));
                Assert.Equal("short+tail", File.ReadAllText(M("/hello.txt")));

                // mkdir, mv into it
                Directory.CreateDirectory(M("/newdir"));
                Assert.True(Directory.Exists(S("/newdir")));
                File.Move(M("/new.bin"), M("/newdir/moved.bin"));
                Assert.False(File.Exists(S("/new.bin")));
                Assert.Equal(fresh, File.ReadAllBytes(S("/newdir/moved.bin")));
                Assert.False(File.Exists(M("/new.bin")));
                Assert.Equal(fresh, File.ReadAllBytes(M("/newdir/moved.bin")));

                // mv of a directory
                Directory.Move(M("/newdir"), M("/renamed"));
                Assert.True(Directory.Exists(S("/renamed")));
                Assert.False(Directory.Exists(S("/newdir")));

                // truncate (ftruncate on an open handle, and by path)
                using (var stream = new FileStream(M("/copy.bin"), FileMode.Open, FileAccess.ReadWrite))
                {
                    stream.SetLength(1000);
                }

                Assert.Equal(big.AsSpan(0, 1000).ToArray(), File.ReadAllBytes(S("/copy.bin")));

                // chmod and touch (utimens)
                File.SetUnixFileMode(M("/copy.bin"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(S("/copy.bin")));
                var stamp = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);
                File.SetLastWriteTimeUtc(M("/copy.bin"), stamp);
                Assert.Equal(stamp, File.GetLastWriteTimeUtc(S("/copy.bin")));
                Assert.Equal(stamp, File.GetLastWriteTimeUtc(M("/copy.bin")));

                // rm, rmdir
                File.Delete(M("/copy.bin"));
                Assert.False(File.Exists(S("/copy.bin")));
                Assert.False(File.Exists(M("/copy.bin")));
                Directory.Delete(M("/renamed"), recursive: true);
                Assert.False(Directory.Exists(S("/renamed")));

                // errors the kernel passes on unchanged
                Assert.Throws<FileNotFoundException>(() => File.ReadAllBytes(M("/missing")));
                var notEmpty = Assert.ThrowsAny<IOException>(() => Directory.Delete(M("/dir")));
                Assert.Equal(Errno.ENOTEMPTY, notEmpty.HResult & 0xFFFF);
                Assert.Equal(Errno.EEXIST, PosixCalls.ErrnoOf(PosixCalls.RenameAt2(PosixCalls.AT_FDCWD, M("/hello.txt"), PosixCalls.AT_FDCWD, M("/link"), PosixConst.RENAME_NOREPLACE)));
                Assert.Equal(Errno.EINVAL, PosixCalls.ErrnoOf(PosixCalls.RenameAt2(PosixCalls.AT_FDCWD, M("/hello.txt"), PosixCalls.AT_FDCWD, M("/link"), PosixConst.RENAME_EXCHANGE)));
                Assert.Equal(Errno.EPERM, PosixCalls.ErrnoOf(PosixCalls.Link(M("/hello.txt"), M("/hard"))));
                Assert.Equal(Errno.EPERM, PosixCalls.ErrnoOf(PosixCalls.Symlink("hello.txt", M("/soft"))));
                Assert.Equal(Errno.EPERM, PosixCalls.ErrnoOf(PosixCalls.MkFifo(M("/fifo"), 0x1A4)));
                Assert.Equal(Errno.ENOTSUP, PosixCalls.ErrnoOf(PosixCalls.SetXattr(M("/hello.txt"), "user.test", [1], 1, 0)));
                Assert.True(File.Exists(S("/hello.txt")));
                Assert.False(File.Exists(S("/hard")) || File.Exists(S("/soft")) || File.Exists(S("/fifo")));

                // Slots left to libfuse's ENOSYS: fallocate → EOPNOTSUPP; byte-range locks are kept by the kernel.
                var fd = PosixCalls.Open(M("/hello.txt"), PosixConst.O_RDWR);
                Assert.True(fd >= 0, $"open: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                try
                {
                    Assert.Equal(Errno.ENOTSUP, PosixCalls.ErrnoOf(PosixCalls.Fallocate(fd, 0, 0, 4096)));
                }
                finally
                {
                    PosixCalls.Close(fd);
                }

                using (var locked = new FileStream(M("/hello.txt"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
                {
                    locked.Lock(0, 5);
                    locked.Unlock(0, 5);
                }

                // statfs
                Assert.True(new DriveInfo(mountPoint).TotalSize > 0);
            });

            var exit = await host.TerminateAsync(ExitDeadline);
            Assert.True(exit == 0, $"the FUSE host exited with {exit}:\n{host.Output}");
            Assert.False(FuseHostProcess.IsMounted(mountPoint), $"{mountPoint} is still mounted after SIGTERM");
            Assert.Contains("UNMOUNTED", host.Output, StringComparison.Ordinal);
        }
        finally
        {
            output.WriteLine(host.Output);
        }
    }

    [Fact]
    public async Task Read_only_mount_refuses_writes_with_EROFS_and_still_reads()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        server.SeedFile("/keep.txt", "unchanged"u8);
        var mountPoint = NewMountPoint();
        await using var host = FuseHostProcess.Start(server, mountPoint, "--read-only", "--fuse-debug");
        try
        {
            await host.WaitUntilMountedAsync(MountDeadline);
            await host.OnMountAsync(OperationsDeadline, () =>
            {
                Assert.Equal("unchanged", File.ReadAllText(mountPoint + "/keep.txt"));
                var write = Assert.ThrowsAny<IOException>(() => File.WriteAllText(mountPoint + "/keep.txt", "changed"));
                Assert.Equal(Errno.EROFS, write.HResult & 0xFFFF);
                var mkdir = Assert.ThrowsAny<IOException>(() => Directory.CreateDirectory(mountPoint + "/d"));
                Assert.Equal(Errno.EROFS, mkdir.HResult & 0xFFFF);
                Assert.ThrowsAny<IOException>(() => File.Delete(mountPoint + "/keep.txt"));
            });
            Assert.Equal("unchanged", File.ReadAllText(server.GetLocalPath("/keep.txt")));
            // -d: libfuse's own trace reaches our log through fuse_set_log_func (formatted with vsnprintf).
            Assert.Contains("libfuse: FUSE library version", host.Output, StringComparison.Ordinal);
            Assert.Contains("max_readahead=0x00100000", host.Output, StringComparison.Ordinal);
            Assert.Equal(0, await host.TerminateAsync(ExitDeadline));
            Assert.False(FuseHostProcess.IsMounted(mountPoint));
        }
        finally
        {
            output.WriteLine(host.Output);
        }
    }

    [Fact]
    public async Task Terminating_while_a_file_is_open_still_unmounts_and_exits()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        server.SeedFile("/open.txt", "held open"u8);
        var mountPoint = NewMountPoint();
        await using var host = FuseHostProcess.Start(server, mountPoint);
        FileStream? held = null;
        try
        {
            await host.WaitUntilMountedAsync(MountDeadline);
            await host.OnMountAsync(OperationsDeadline, () => held = new FileStream(mountPoint + "/open.txt", FileMode.Open, FileAccess.Read));
            var exit = await host.TerminateAsync(ExitDeadline);
            Assert.True(exit == 0, $"the FUSE host exited with {exit}:\n{host.Output}");
            Assert.False(FuseHostProcess.IsMounted(mountPoint));

            // The descriptor outlived its daemon: it must fail at once (ENOTCONN), not hang.
            await host.OnMountAsync(OperationsDeadline, () =>
            {
                var error = Assert.ThrowsAny<IOException>(() => held!.ReadByte());
                Assert.Equal(Errno.ENOTCONN, error.HResult & 0xFFFF);
            });
        }
        finally
        {
            held?.Dispose();
            output.WriteLine(host.Output);
        }
    }

    [Fact]
    public async Task Unmounting_from_outside_ends_the_host_cleanly()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var mountPoint = NewMountPoint();
        await using var host = FuseHostProcess.Start(server, mountPoint);
        try
        {
            await host.WaitUntilMountedAsync(MountDeadline);
            FuseHostProcess.Unmount(mountPoint, lazy: false);
            Assert.Equal(0, await host.WaitForExitAsync(ExitDeadline));
            Assert.Contains("UNMOUNTED", host.Output, StringComparison.Ordinal);
            Assert.False(FuseHostProcess.IsMounted(mountPoint));
        }
        finally
        {
            output.WriteLine(host.Output);
        }
    }

    [Fact]
    public async Task A_killed_host_leaves_no_dead_mount_behind()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var mountPoint = NewMountPoint();
        await using var host = FuseHostProcess.Start(server, mountPoint);
        try
        {
            await host.WaitUntilMountedAsync(MountDeadline);
            host.KillHard();
            // auto_unmount: fusermount3 notices the daemon's /dev/fuse descriptor close and unmounts.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (FuseHostProcess.IsMounted(mountPoint) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, timeout.Token);
            }

            Assert.False(FuseHostProcess.IsMounted(mountPoint), "the mount outlived its killed daemon (auto_unmount did not act)");
        }
        finally
        {
            output.WriteLine(host.Output);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(10)]
    public async Task A_host_killed_while_unmounting_dies_and_leaves_no_mount(int delayMs)
    {
        // SIGKILL right after SIGTERM hits the shutdown sequence (lazy unmount, wake-up request). A daemon thread waiting
        // on its own mount at that moment would make the process unkillable (D state); the wake-up comes from a child.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        server.SeedFile("/f.txt", "x"u8);
        var mountPoint = NewMountPoint();
        await using var host = FuseHostProcess.Start(server, mountPoint);
        FileStream? held = null;
        try
        {
            await host.WaitUntilMountedAsync(MountDeadline);
            await host.OnMountAsync(OperationsDeadline, () => held = new FileStream(mountPoint + "/f.txt", FileMode.Open, FileAccess.Read));
            host.SignalTerminate();
            // "While unmounting": wait until the host has begun its shutdown, then kill it 0/2/10 ms into it. (A SIGKILL
            // that lands before the host even saw SIGTERM is the plain crash case, where only fusermount3's
            // auto_unmount can act — and with a file held open its unmount may be refused; seen once in ~30 runs.)
            var begun = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!host.Output.Contains("SIGTERM, unmounting", StringComparison.Ordinal) && DateTime.UtcNow < begun)
            {
                await Task.Delay(1, timeout.Token);
            }

            Assert.Contains("SIGTERM, unmounting", host.Output, StringComparison.Ordinal);
            await Task.Delay(delayMs, timeout.Token);
            host.KillHard();
            Assert.True(host.HasExited, $"the host did not die after SIGKILL (stuck in the kernel?):\n{host.Output}");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (FuseHostProcess.IsMounted(mountPoint) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, timeout.Token);
            }

            Assert.False(FuseHostProcess.IsMounted(mountPoint));
        }
        finally
        {
            held?.Dispose();
            output.WriteLine(host.Output);
        }
    }

    [Fact]
    public async Task A_dead_server_gives_errors_not_hangs_and_the_host_still_unmounts()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var mountPoint = NewMountPoint();
        FuseHostProcess? host = null;
        try
        {
            server.SeedFile("/cached.txt", "cached"u8);
            server.SeedFile("/later/file.txt", "never listed"u8);
            host = FuseHostProcess.Start(server, mountPoint);
            await host.WaitUntilMountedAsync(MountDeadline);
            await host.OnMountAsync(OperationsDeadline, () => Assert.Equal("cached", File.ReadAllText(mountPoint + "/cached.txt")));

            await server.DisposeAsync();

            var watch = System.Diagnostics.Stopwatch.StartNew();
            await host.OnMountAsync(OperationsDeadline, () =>
            {
                var error = Assert.ThrowsAny<IOException>(() => Directory.GetFiles(mountPoint + "/later"));
                var errno = error.HResult & 0xFFFF;
                Assert.True(errno is Errno.EIO or Errno.ETIMEDOUT or Errno.EAGAIN, $"errno {errno}: {error.Message}");
            });
            output.WriteLine($"listing on a dead server failed after {watch.Elapsed.TotalSeconds:0.0} s");

            Assert.Equal(0, await host.TerminateAsync(ExitDeadline));
            Assert.False(FuseHostProcess.IsMounted(mountPoint));
        }
        finally
        {
            if (host is not null)
            {
                output.WriteLine(host.Output);
                await host.DisposeAsync();
            }

            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_non_empty_mount_point_is_refused_with_a_clear_message()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var mountPoint = NewMountPoint();
        File.WriteAllText(Path.Combine(mountPoint, "occupied"), "x");
        await using var host = FuseHostProcess.Start(server, mountPoint);
        try
        {
            Assert.Equal(3, await host.WaitForExitAsync(ExitDeadline));
            Assert.Contains("MountPointNotEmpty", host.Output, StringComparison.Ordinal);
            Assert.False(FuseHostProcess.IsMounted(mountPoint));
        }
        finally
        {
            File.Delete(Path.Combine(mountPoint, "occupied"));
            output.WriteLine(host.Output);
        }
    }
}
