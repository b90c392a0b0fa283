using System.Diagnostics;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse.Tests;

/// <summary>The adapter's own policy, without a kernel: how Core's outcomes become errno values, timeouts, refusals.</summary>
public sealed class FuseAdapterTests
{
    private static readonly FsAttributes File1 = new() { Name = "f", Kind = FsEntryKind.File, Size = 10, Mode = 0x1A4 };

    private static (FuseAdapter Adapter, ScriptedRemoteFileSystem Fs, RecordingLogger Log) Create(FuseMountOptions? options = null)
    {
        var fs = new ScriptedRemoteFileSystem();
        var log = new RecordingLogger();
        var adapter = new FuseAdapter(fs, options ?? new FuseMountOptions { Uid = 1000, Gid = 1001 }, log);
        return (adapter, fs, log);
    }

    [Fact]
    public void A_Core_failure_maps_through_the_table()
    {
        var (adapter, fs, _) = Create();
        fs.GetAttributes = (_, _) => throw new FsException(FsError.NotFound, "gone");
        Assert.Equal(-Errno.ENOENT, adapter.GetAttributes("/x", null, out _));

        fs.GetAttributes = (_, _) => Task.FromException<FsAttributes>(new FsException(FsError.AccessDenied, "no"));
        Assert.Equal(-Errno.EACCES, adapter.GetAttributes("/x", null, out _));
    }

    [Fact]
    public void An_unexpected_exception_answers_EIO_and_is_logged_with_operation_path_and_cause()
    {
        var (adapter, fs, log) = Create();
        fs.GetAttributes = async (_, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("boom");
        };

        Assert.Equal(-Errno.EIO, adapter.GetAttributes("/some/path", null, out _));
        var line = Assert.Single(log.Lines, l => l.Level == FtpLogLevel.Error);
        Assert.Contains("getattr", line.Message, StringComparison.Ordinal);
        Assert.Contains("/some/path", line.Message, StringComparison.Ordinal);
        Assert.Contains("boom", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_call_that_honours_cancellation_times_out_with_ETIMEDOUT()
    {
        var (adapter, fs, log) = Create(new FuseMountOptions { OperationTimeout = TimeSpan.FromMilliseconds(200) });
        fs.GetAttributes = async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return File1;
        };

        var watch = Stopwatch.StartNew();
        Assert.Equal(-Errno.ETIMEDOUT, adapter.GetAttributes("/slow", null, out _));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(5));
        Assert.Contains(log.Lines, l => l.Level == FtpLogLevel.Warning && l.Message.Contains("/slow", StringComparison.Ordinal));
    }

    [Fact]
    public void A_Core_Cancelled_error_caused_by_our_timeout_is_ETIMEDOUT_too()
    {
        var (adapter, fs, _) = Create(new FuseMountOptions { OperationTimeout = TimeSpan.FromMilliseconds(100) });
        fs.GetAttributes = async (_, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException ex)
            {
                throw new FsException(FsError.Cancelled, "cancelled", ex);
            }

            return File1;
        };

        Assert.Equal(-Errno.ETIMEDOUT, adapter.GetAttributes("/slow", null, out _));
    }

    [Fact]
    public void A_call_that_ignores_cancellation_is_abandoned_and_never_blocks_the_request_forever()
    {
        var (adapter, fs, log) = Create(new FuseMountOptions { OperationTimeout = TimeSpan.FromMilliseconds(100) });
        adapter.AbandonGrace = TimeSpan.FromMilliseconds(200);
        var never = new TaskCompletionSource<FsAttributes>();
        fs.GetAttributes = (_, _) => never.Task;

        var watch = Stopwatch.StartNew();
        Assert.Equal(-Errno.ETIMEDOUT, adapter.GetAttributes("/hung", null, out _));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.Contains(log.Lines, l => l.Level == FtpLogLevel.Error && l.Message.Contains("abandoning", StringComparison.Ordinal));

        // The late outcome is observed and logged, not left unobserved.
        never.SetException(new IOException("late"));
        SpinWait.SpinUntil(() => log.Lines.Any(l => l.Message.Contains("late", StringComparison.Ordinal)), TimeSpan.FromSeconds(5));
        Assert.Contains(log.Lines, l => l.Message.Contains("late", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_only_refuses_every_change_without_calling_Core()
    {
        var (adapter, fs, _) = Create(new FuseMountOptions { ReadOnly = true });
        Assert.Equal(-Errno.EROFS, adapter.Open("/f", PosixConst.O_WRONLY, out _));
        Assert.Equal(-Errno.EROFS, adapter.Open("/f", PosixConst.O_RDWR | PosixConst.O_TRUNC, out _));
        Assert.Equal(-Errno.EROFS, adapter.Create("/f", 0x1A4, PosixConst.O_CREAT | PosixConst.O_WRONLY, out _));
        Assert.Equal(-Errno.EROFS, adapter.Write("/f", 1, 0, [1, 2, 3]));
        Assert.Equal(-Errno.EROFS, adapter.Truncate("/f", 0, null));
        Assert.Equal(-Errno.EROFS, adapter.MakeDirectory("/d", 0x1ED));
        Assert.Equal(-Errno.EROFS, adapter.Unlink("/f"));
        Assert.Equal(-Errno.EROFS, adapter.RemoveDirectory("/d"));
        Assert.Equal(-Errno.EROFS, adapter.Rename("/a", "/b", 0));
        Assert.Equal(-Errno.EROFS, adapter.Chmod("/f", 0x1FF));
        Assert.Equal(-Errno.EROFS, adapter.Chown("/f", 0, 0));
        Assert.Equal(-Errno.EROFS, adapter.SetTimes("/f", DateTimeOffset.UnixEpoch));
        Assert.Equal(-Errno.EROFS, adapter.MakeNode("/n", PosixConst.S_IFREG | 0x1A4));
        Assert.Equal(-Errno.EROFS, adapter.Symlink("t", "/l"));
        Assert.Equal(0, fs.Calls);
    }

    [Fact]
    public void Rename_passes_NOREPLACE_and_refuses_EXCHANGE_and_unknown_flags()
    {
        var (adapter, fs, _) = Create();
        var seen = new List<bool>();
        fs.Rename = (_, _, noReplace, _) =>
        {
            seen.Add(noReplace);
            return Task.CompletedTask;
        };

        Assert.Equal(0, adapter.Rename("/a", "/b", 0));
        Assert.Equal(0, adapter.Rename("/a", "/b", PosixConst.RENAME_NOREPLACE));
        Assert.Equal(-Errno.EINVAL, adapter.Rename("/a", "/b", PosixConst.RENAME_EXCHANGE));
        Assert.Equal(-Errno.EINVAL, adapter.Rename("/a", "/b", 4 /* RENAME_WHITEOUT */));
        Assert.Equal([false, true], seen);

        fs.Rename = (_, _, _, _) => throw new FsException(FsError.AlreadyExists, "exists");
        Assert.Equal(-Errno.EEXIST, adapter.Rename("/a", "/b", PosixConst.RENAME_NOREPLACE));
    }

    [Fact]
    public void Chown_to_the_reported_owner_is_a_no_op_and_any_other_owner_is_EPERM()
    {
        var (adapter, fs, _) = Create();
        Assert.Equal(0, adapter.Chown("/f", 1000, 1001));
        Assert.Equal(0, adapter.Chown("/f", uint.MaxValue, 1001));
        Assert.Equal(0, adapter.Chown("/f", uint.MaxValue, uint.MaxValue));
        Assert.Equal(-Errno.EPERM, adapter.Chown("/f", 0, 1001));
        Assert.Equal(-Errno.EPERM, adapter.Chown("/f", 1000, 0));
        Assert.Equal(0, fs.Calls);
    }

    [Fact]
    public void Unsupported_operations_answer_their_documented_errno()
    {
        var (adapter, fs, _) = Create();
        Assert.Equal(-Errno.EPERM, adapter.Link("/a", "/b"));
        Assert.Equal(-Errno.EPERM, adapter.Symlink("target", "/l"));
        Assert.Equal(-Errno.EPERM, adapter.MakeNode("/fifo", 0x1000 | 0x1A4));
        Assert.Equal(-Errno.EPERM, adapter.MakeNode("/dev", 0x2000 | 0x1A4));
        Assert.Equal(0, fs.Calls);
    }

    [Fact]
    public void Unknown_file_handles_answer_EBADF()
    {
        var (adapter, fs, _) = Create();
        Assert.Equal(-Errno.EBADF, adapter.Read("/f", 42, 0, new byte[10]));
        Assert.Equal(-Errno.EBADF, adapter.Write("/f", 42, 0, [1]));
        Assert.Equal(-Errno.EBADF, adapter.Flush("/f", 42));
        Assert.Equal(-Errno.EBADF, adapter.Fsync("/f", 42));
        Assert.Equal(-Errno.EBADF, adapter.Release("/f", 42));
        Assert.Equal(0, fs.Calls);
    }

    [Fact]
    public void Utimens_with_mtime_omitted_does_nothing_and_otherwise_sets_mtime()
    {
        var (adapter, fs, _) = Create();
        var set = new List<DateTimeOffset>();
        fs.SetModifiedTime = (_, m, _) =>
        {
            set.Add(m);
            return Task.CompletedTask;
        };

        Assert.Equal(0, adapter.SetTimes("/f", null));
        Assert.Empty(set);
        var when = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);
        Assert.Equal(0, adapter.SetTimes("/f", when));
        Assert.Equal([when], set);
    }

    [Fact]
    public void Timespecs_decode_UTIME_OMIT_UTIME_NOW_and_times()
    {
        Assert.Null(FuseCallbacks.DecodeTime(new Timespec { tv_sec = 5, tv_nsec = PosixConst.UTIME_OMIT }));
        var now = FuseCallbacks.DecodeTime(new Timespec { tv_nsec = PosixConst.UTIME_NOW });
        Assert.NotNull(now);
        Assert.InRange((DateTimeOffset.UtcNow - now.Value).Duration(), TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_600_000_000).AddTicks(1234567),
            FuseCallbacks.DecodeTime(new Timespec { tv_sec = 1_600_000_000, tv_nsec = 123_456_789 }));
    }

    [Fact]
    public void Stat_values_carry_type_permissions_owner_size_and_time()
    {
        var (adapter, _, _) = Create();
        var modified = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).AddTicks(5_000_000);
        var file = adapter.ToStat(new FsAttributes { Name = "f", Kind = FsEntryKind.File, Size = 12345, Mode = 0x1A4 | 0x800 /* setuid */, Modified = modified });
        Assert.Equal(PosixConst.S_IFREG | 0x1A4 | 0x800, file.Mode);
        Assert.Equal(12345, file.Size);
        Assert.Equal((1000u, 1001u), (file.Uid, file.Gid));
        Assert.Equal(1_700_000_000, file.ModifiedSeconds);
        Assert.Equal(500_000_000, file.ModifiedNanoseconds);

        var dir = adapter.ToStat(new FsAttributes { Name = "d", Kind = FsEntryKind.Directory, Size = 4096, Mode = 0x1ED });
        Assert.Equal(PosixConst.S_IFDIR | 0x1ED, dir.Mode);
        Assert.Equal(0, dir.Size);

        var link = adapter.ToStat(new FsAttributes { Name = "l", Kind = FsEntryKind.Symlink, Size = 99, Mode = 0x1FF, LinkTarget = "dir/ü.txt" });
        Assert.Equal(PosixConst.S_IFLNK | 0x1FF, link.Mode);
        Assert.Equal(10, link.Size); // UTF-8 bytes of the target

        var old = adapter.ToStat(new FsAttributes { Name = "o", Kind = FsEntryKind.File, Modified = DateTimeOffset.UnixEpoch.AddSeconds(-1.5) });
        Assert.Equal(-2, old.ModifiedSeconds);
        Assert.InRange(old.ModifiedNanoseconds, 0, 999_999_999);
    }

    [Fact]
    public unsafe void Stat_writer_fills_the_native_layout()
    {
        var buffer = new byte[StatWriter.StatSize];
        Array.Fill(buffer, (byte)0xAB);
        fixed (byte* p = buffer)
        {
            StatWriter.Write(p, new StatValues(PosixConst.S_IFREG | 0x1A4, 5000, 7, 8, 1, 131072, 1_600_000_000, 42));
            if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64)
            {
                var s = (StatX64*)p;
                Assert.Equal(PosixConst.S_IFREG | 0x1A4, s->st_mode);
                Assert.Equal(5000, s->st_size);
                Assert.Equal(10, s->st_blocks);
                Assert.Equal(7u, s->st_uid);
                Assert.Equal(1_600_000_000, s->st_mtim.tv_sec);
                Assert.Equal(42, s->st_mtim.tv_nsec);
                Assert.Equal(0UL, s->st_dev);
            }
        }
    }

    [Fact]
    public void Statfs_reports_unknown_sizes_as_plenty_and_known_ones_as_given()
    {
        var (adapter, fs, _) = Create();
        fs.StatFs = _ => Task.FromResult(new FsStatFs(null, null, 4096, 255));
        Assert.Equal(0, adapter.StatFs("/", out var unknown));
        Assert.Equal((1UL << 50) / 4096, unknown.f_bavail);
        Assert.Equal(255UL, unknown.f_namemax);

        fs.StatFs = _ => Task.FromResult(new FsStatFs(null, 8192L * 10, 8192, 200));
        Assert.Equal(0, adapter.StatFs("/", out var known));
        Assert.Equal(8192UL, known.f_bsize);
        Assert.Equal(10UL, known.f_bavail);
        Assert.Equal(10UL, known.f_blocks);
        Assert.Equal(200UL, known.f_namemax);

        adapter.BeginShutdown();
        fs.StatFs = _ => throw new InvalidOperationException("must not be asked during shutdown");
        Assert.Equal(0, adapter.StatFs("/", out _));
    }

    [Fact]
    public void Readlink_answers_EINVAL_for_non_links_and_the_target_for_links()
    {
        var (adapter, fs, _) = Create();
        fs.GetAttributes = (_, _) => Task.FromResult(File1);
        Assert.Equal(-Errno.EINVAL, adapter.ReadLink("/f", out _));
        fs.GetAttributes = (_, _) => Task.FromResult(new FsAttributes { Name = "l", Kind = FsEntryKind.Symlink, LinkTarget = "../t" });
        Assert.Equal(0, adapter.ReadLink("/l", out var target));
        Assert.Equal("../t", target);
        fs.GetAttributes = (_, _) => Task.FromResult(new FsAttributes { Name = "l", Kind = FsEntryKind.Symlink });
        Assert.Equal(-Errno.EIO, adapter.ReadLink("/l", out _));
    }
}
