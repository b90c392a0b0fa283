using FtpsMount.Core;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse.Tests;

public sealed class ErrnoMapTests
{
    public static TheoryData<FsError, int> Table() => new()
    {
        { FsError.NotFound, Errno.ENOENT },
        { FsError.AlreadyExists, Errno.EEXIST },
        { FsError.NotADirectory, Errno.ENOTDIR },
        { FsError.IsADirectory, Errno.EISDIR },
        { FsError.DirectoryNotEmpty, Errno.ENOTEMPTY },
        { FsError.AccessDenied, Errno.EACCES },
        { FsError.ReadOnly, Errno.EROFS },
        { FsError.NoSpace, Errno.ENOSPC },
        { FsError.InvalidName, Errno.EINVAL },
        { FsError.NameTooLong, Errno.ENAMETOOLONG },
        { FsError.NotSupported, Errno.ENOTSUP },
        { FsError.Busy, Errno.EBUSY },
        { FsError.TimedOut, Errno.ETIMEDOUT },
        { FsError.ConnectionLost, Errno.EIO },
        { FsError.TryAgain, Errno.EAGAIN },
        { FsError.Io, Errno.EIO },
        { FsError.Cancelled, Errno.EINTR },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Maps_each_error_to_its_errno(FsError error, int errno)
    {
        var log = new RecordingLogger();
        Assert.Equal(-errno, ErrnoMap.ToNegativeErrno(error, log));
        Assert.Empty(log.Lines);
    }

    [Fact]
    public void Every_FsError_value_except_None_is_in_the_table()
    {
        var mapped = Table().Select(row => (FsError)row[0]).ToHashSet();
        var all = Enum.GetValues<FsError>().Where(e => e != FsError.None);
        Assert.Empty(all.Except(mapped));
    }

    [Theory]
    [InlineData(FsError.None)]
    [InlineData((FsError)999)]
    public void The_default_arm_logs_and_answers_EIO(FsError error)
    {
        var log = new RecordingLogger();
        Assert.Equal(-Errno.EIO, ErrnoMap.ToNegativeErrno(error, log));
        var line = Assert.Single(log.Lines);
        Assert.Equal(FtpLogLevel.Error, line.Level);
        Assert.Contains(((int)error).ToString(System.Globalization.CultureInfo.InvariantCulture), line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Errno_values_are_negative_and_nonzero()
    {
        foreach (var error in Enum.GetValues<FsError>())
        {
            Assert.True(ErrnoMap.ToNegativeErrno(error) < 0, error.ToString());
        }
    }
}

internal sealed class RecordingLogger : IFtpLogger
{
    private readonly Lock _gate = new();
    private readonly List<(FtpLogLevel Level, string Message)> _lines = [];

    public IReadOnlyList<(FtpLogLevel Level, string Message)> Lines
    {
        get
        {
            lock (_gate)
            {
                return _lines.ToArray();
            }
        }
    }

    public bool IsEnabled(FtpLogLevel level) => true;

    public void Log(FtpLogLevel level, string message)
    {
        lock (_gate)
        {
            _lines.Add((level, message));
        }
    }
}
