using FtpsMount.Core;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse;

/// <summary>
/// The one table from Core's <see cref="FsError"/> to the negative errno a FUSE callback returns. Every callback maps
/// through <see cref="ToNegativeErrno"/>; nothing else in the binding invents errno values for Core failures.
/// </summary>
/// <remarks>
/// <see cref="FsError.ConnectionLost"/> → EIO, not ENOTCONN: on a FUSE mount ENOTCONN ("Transport endpoint is not
/// connected") is what every program shows when the FUSE daemon itself has died, so a person would look in the wrong
/// place; and network filesystems conventionally report a lost server as EIO (NFS soft mounts, sshfs). The mount stays
/// usable: Core reconnects on the next operation.
/// <see cref="FsError.Cancelled"/> → EINTR (the request was given up, retrying may work).
/// <see cref="FsError.None"/> on a failure is a Core bug: it takes the default arm.
/// </remarks>
internal static class ErrnoMap
{
    /// <summary>-errno for <paramref name="error"/>; unknown values (and <see cref="FsError.None"/>) are logged and give -EIO.</summary>
    public static int ToNegativeErrno(FsError error, IFtpLogger? log = null) => error switch
    {
        FsError.NotFound => -Errno.ENOENT,
        FsError.AlreadyExists => -Errno.EEXIST,
        FsError.NotADirectory => -Errno.ENOTDIR,
        FsError.IsADirectory => -Errno.EISDIR,
        FsError.DirectoryNotEmpty => -Errno.ENOTEMPTY,
        FsError.AccessDenied => -Errno.EACCES,
        FsError.ReadOnly => -Errno.EROFS,
        FsError.NoSpace => -Errno.ENOSPC,
        FsError.InvalidName => -Errno.EINVAL,
        FsError.NameTooLong => -Errno.ENAMETOOLONG,
        FsError.NotSupported => -Errno.ENOTSUP,
        FsError.Busy => -Errno.EBUSY,
        FsError.TimedOut => -Errno.ETIMEDOUT,
        FsError.ConnectionLost => -Errno.EIO,
        FsError.TryAgain => -Errno.EAGAIN,
        FsError.Io => -Errno.EIO,
        FsError.Cancelled => -Errno.EINTR,
        _ => Unmapped(error, log),
    };

    private static int Unmapped(FsError error, IFtpLogger? log)
    {
        (log ?? NullFtpLogger.Instance).Log(FtpLogLevel.Error, $"fuse: no errno for FsError {error} ({(int)error}); answering EIO");
        return -Errno.EIO;
    }

    /// <summary>Errors that are ordinary answers (a lookup of a missing name), logged at debug level only.</summary>
    public static bool IsRoutine(FsError error) => error is FsError.NotFound or FsError.AlreadyExists
        or FsError.NotADirectory or FsError.IsADirectory or FsError.DirectoryNotEmpty or FsError.InvalidName
        or FsError.NameTooLong or FsError.ReadOnly;
}
