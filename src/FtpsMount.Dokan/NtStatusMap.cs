using FtpsMount.Core;
using FtpsMount.Dokan.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Dokan;

/// <summary>
/// The one table from Core's <see cref="FsError"/> to the NTSTATUS a Dokan callback returns. Every Core failure maps
/// through <see cref="ToNtStatus"/>; the binding's own answers (name collisions in CreateFile, write protection) use the
/// same codes this table gives for the same meaning.
/// </summary>
/// <remarks>
/// What Win32 programs then see (RtlNtStatusToDosError): NotFound → ERROR_FILE_NOT_FOUND, AlreadyExists →
/// ERROR_ALREADY_EXISTS, ReadOnly → ERROR_WRITE_PROTECT, ConnectionLost → ERROR_UNEXP_NET_ERR (a network drive's "the
/// server went away"; the mount stays, Core reconnects on the next call), TryAgain → ERROR_NETWORK_BUSY, Busy →
/// ERROR_SHARING_VIOLATION (programs retry those), TimedOut → ERROR_SEM_TIMEOUT, Cancelled → ERROR_OPERATION_ABORTED.
/// <see cref="FsError.None"/> on a failure is a Core bug and takes the default arm (logged, STATUS_UNEXPECTED_IO_ERROR).
/// </remarks>
internal static class NtStatusMap
{
    public static int ToNtStatus(FsError error, IFtpLogger? log = null) => error switch
    {
        FsError.NotFound => NtStatus.STATUS_OBJECT_NAME_NOT_FOUND,
        FsError.AlreadyExists => NtStatus.STATUS_OBJECT_NAME_COLLISION,
        FsError.NotADirectory => NtStatus.STATUS_NOT_A_DIRECTORY,
        FsError.IsADirectory => NtStatus.STATUS_FILE_IS_A_DIRECTORY,
        FsError.DirectoryNotEmpty => NtStatus.STATUS_DIRECTORY_NOT_EMPTY,
        FsError.AccessDenied => NtStatus.STATUS_ACCESS_DENIED,
        FsError.ReadOnly => NtStatus.STATUS_MEDIA_WRITE_PROTECTED,
        FsError.NoSpace => NtStatus.STATUS_DISK_FULL,
        FsError.InvalidName => NtStatus.STATUS_OBJECT_NAME_INVALID,
        FsError.NameTooLong => NtStatus.STATUS_NAME_TOO_LONG,
        FsError.NotSupported => NtStatus.STATUS_NOT_SUPPORTED,
        FsError.Busy => NtStatus.STATUS_SHARING_VIOLATION,
        FsError.TimedOut => NtStatus.STATUS_IO_TIMEOUT,
        FsError.ConnectionLost => NtStatus.STATUS_UNEXPECTED_NETWORK_ERROR,
        FsError.TryAgain => NtStatus.STATUS_NETWORK_BUSY,
        FsError.Io => NtStatus.STATUS_UNEXPECTED_IO_ERROR,
        FsError.Cancelled => NtStatus.STATUS_CANCELLED,
        _ => Unmapped(error, log),
    };

    private static int Unmapped(FsError error, IFtpLogger? log)
    {
        (log ?? NullFtpLogger.Instance).Log(FtpLogLevel.Error, $"dokan: no NTSTATUS for FsError {error} ({(int)error}); answering STATUS_UNEXPECTED_IO_ERROR");
        return NtStatus.STATUS_UNEXPECTED_IO_ERROR;
    }

    /// <summary>Ordinary answers (Windows probes many missing names), logged at trace level only.</summary>
    public static bool IsRoutine(FsError error) => error is FsError.NotFound or FsError.AlreadyExists
        or FsError.NotADirectory or FsError.IsADirectory or FsError.DirectoryNotEmpty or FsError.InvalidName
        or FsError.NameTooLong or FsError.ReadOnly;
}
