using System.Globalization;
using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Core.Errors;

/// <summary>How a failure maps to <see cref="FsError"/>, and whether the server actually said so.</summary>
/// <param name="Error">The error to report.</param>
/// <param name="Ambiguous">True when the reply did not say why (vsftpd 3.0.3: "550 Create directory operation failed."
/// for an existing directory, a missing parent and a permission problem alike) and <paramref name="Error"/> is the
/// operation's most likely cause. A caller that can check (e.g. look the name up after a failed MKD) should.</param>
public readonly record struct FtpErrorMapping(FsError Error, bool Ambiguous);

/// <summary>
/// The one translation from protocol failures to <see cref="FsError"/>, with the operation as context.
/// <para>
/// Order of evidence: the exception type (timeouts, dropped connections, TLS and login refusals, invalid paths);
/// then, for a negative reply, the reply text when it carries an errno string (proftpd 1.3.8 and pure-ftpd 1.0.50
/// append strerror: "550 /a: Directory not empty", "550 Can't create directory: File exists"); then the code with
/// the operation (550 on a lookup is not-found, on MKD a permission problem, ...).
/// </para>
/// Reply texts quoted in comments were observed on the servers named, on loopback.
/// </summary>
public static class FtpErrorMapper
{
    // Matched case-insensitively, first match wins; more specific phrases come before the ones they contain.
    private static readonly (string Phrase, FsError Error)[] TextHints =
    [
        ("not empty", FsError.DirectoryNotEmpty),            // "Directory not empty" (strerror ENOTEMPTY)
        ("No such file", FsError.NotFound),                  // "No such file or directory" (strerror ENOENT)
        ("No such directory", FsError.NotFound),
        ("doesn't exist", FsError.NotFound),                 // pure-ftpd 1.0.50: "Sorry, but that file doesn't exist"
        ("does not exist", FsError.NotFound),
        ("not found", FsError.NotFound),
        ("File exists", FsError.AlreadyExists),              // strerror EEXIST
        ("already exists", FsError.AlreadyExists),
        ("Directory exists", FsError.AlreadyExists),
        ("No space left", FsError.NoSpace),                  // strerror ENOSPC
        ("Disk full", FsError.NoSpace),                      // pure-ftpd 1.0.50: "552 Disk full - please upload later"
        ("Quota exceeded", FsError.NoSpace),                 // pure-ftpd 1.0.50: "552 Quota exceeded: [%s] won't be saved"
        ("Disk quota", FsError.NoSpace),                     // strerror EDQUOT
        ("Insufficient storage", FsError.NoSpace),
        ("File name too long", FsError.NameTooLong),         // strerror ENAMETOOLONG
        ("Path too long", FsError.NameTooLong),              // pure-ftpd 1.0.50
        ("Read-only file system", FsError.ReadOnly),         // strerror EROFS
        ("Prohibited", FsError.InvalidName),                 // pure-ftpd 1.0.50: "553 Prohibited file name: %s"
        ("name not allowed", FsError.InvalidName),
        ("Invalid file name", FsError.InvalidName),
        ("Illegal file name", FsError.InvalidName),
        ("Not a directory", FsError.NotADirectory),          // strerror ENOTDIR
        ("Is a directory", FsError.IsADirectory),            // strerror EISDIR
        ("Not a regular file", FsError.IsADirectory),        // proftpd 1.3.8: "550 /dir: Not a regular file" (RETR of a directory)
        ("only retrieve regular files", FsError.IsADirectory), // pure-ftpd 1.0.50: "550 I can only retrieve regular files"
        ("Permission denied", FsError.AccessDenied),         // strerror EACCES; vsftpd 3.0.3: "550 Permission denied."
        ("Operation not permitted", FsError.AccessDenied),   // strerror EPERM
        ("Access denied", FsError.AccessDenied),
        ("Anonymous users", FsError.AccessDenied),           // pure-ftpd 1.0.50: "Anonymous users are not allowed to move/rename files", "... can not delete files"
        ("users are not allowed", FsError.AccessDenied),     // pure-ftpd 1.0.50: "Sorry, anonymous users are not allowed to create directories"
        ("Input/output error", FsError.Io),                  // proftpd 1.3.8 on a full disk: "451 Transfer aborted. Input/output error"
    ];

    /// <summary>
    /// The <see cref="FsException"/> a binding receives for <paramref name="exception"/>: the mapped error, and a
    /// message with the operation, the path and the cause (the command and the server's reply for reply errors).
    /// An <see cref="FsException"/> is returned unchanged.
    /// </summary>
    public static FsException ToFsException(Exception exception, FsOperation operation, string path)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is FsException fs)
        {
            return fs;
        }

        var mapping = Map(exception, operation);
        var attempts = exception.Data[RetryPolicy.AttemptsDataKey] is int n && n > 1
            ? string.Create(CultureInfo.InvariantCulture, $" (after {n} attempts)")
            : string.Empty;
        var message = $"{operation} {path}: {Describe(mapping.Error)}{attempts}: {Cause(exception)}";
        return new FsException(mapping.Error, message, exception);
    }

    /// <summary>The error for <paramref name="exception"/> in <paramref name="operation"/>.</summary>
    public static FsError Classify(Exception exception, FsOperation operation) => Map(exception, operation).Error;

    public static FtpErrorMapping Map(Exception exception, FsOperation operation)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case FsException fs:
                return new(fs.Error, false);
            case AggregateException { InnerExceptions.Count: 1 } aggregate:
                return Map(aggregate.InnerExceptions[0], operation);
            case FtpReplyException reply:
                return MapReply(reply.Reply, operation, reply.Command);
            case FtpConnectionException { InnerException: FtpReplyException { Code: >= 500 } verdict }:
                // The data connection failed and the server's verdict was permanent: the verdict is the error.
                return MapReply(verdict.Reply, operation, verdict.Command);
            case FtpConnectionException:
                return new(FsError.ConnectionLost, false);
            case FtpTimeoutException:
            case TimeoutException:
                return new(FsError.TimedOut, false);
            case FtpInvalidPathException:
                return new(FsError.InvalidName, false);
            case FtpAuthenticationException:
            case CertificateRejectedException:
            case FtpSecurityException:
            case UnauthorizedAccessException:
                return new(FsError.AccessDenied, false);
            case FtpProtocolException:
                return new(FsError.Io, false);
            case NotSupportedException:
                return new(FsError.NotSupported, false);
            case OperationCanceledException:
                return new(FsError.Cancelled, false);
            default:
                return new(FsError.Io, false);
        }
    }

    /// <summary>Maps a negative reply. <paramref name="command"/> (as sent, e.g. "RNFR /a") refines a few cases.</summary>
    public static FtpErrorMapping MapReply(FtpReply reply, FsOperation operation, string? command = null)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var code = reply.Code;
        switch (code)
        {
            case 421: // Service closing control connection (vsftpd 3.0.3: "421 Timeout.", pure-ftpd 1.0.50: "421 Timeout - try typing a little faster next time")
            case 425: // Can't open data connection
            case 426: // Connection closed; transfer aborted (vsftpd 3.0.3: "426 Failure writing network stream.")
                return new(FsError.ConnectionLost, false);
            case 452: // Insufficient storage space
            case 552: // Exceeded storage allocation (pure-ftpd 1.0.50: "552 Disk full - please upload later")
                return new(FsError.NoSpace, false);
            case 530: // Not logged in
            case 532: // Need account for storing files
                return new(FsError.AccessDenied, false);
            case 500: // Unknown command (vsftpd 3.0.3: "500 Unknown SITE command.", "500 Unknown command." to MLST)
            case 502: // Command not implemented
            case 504: // Command not implemented for that parameter
                return new(FsError.NotSupported, false);
        }

        if (ErrorFromReplyText(reply) is { } hinted)
        {
            return new(hinted, false);
        }

        return code switch
        {
            450 => new(FsError.TryAgain, false),          // File unavailable (busy)
            451 => new(FsError.Io, false),                // Local error in processing (vsftpd 3.0.3 full disk: "451 Failure writing to local file.")
            < 400 => new(FsError.Io, false),              // A positive reply where another was required: out of step.
            < 500 => new(FsError.TryAgain, false),
            501 => new(FsError.InvalidName, true),        // Syntax error in the arguments: the server did not accept the name.
            503 => new(FsError.Io, false),                // Bad sequence of commands: we are out of step.
            550 => new(Default550(operation, command), true),
            553 => new(FsError.AccessDenied, true),       // "File name not allowed" per RFC 959, but vsftpd 3.0.3 says "553 Could not create file." for permissions too.
            _ => new(FsError.Io, false),
        };
    }

    /// <summary>The error the reply's text names (an errno string or a server's fixed phrase), or null.</summary>
    public static FsError? ErrorFromReplyText(FtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        foreach (var line in reply.Lines)
        {
            foreach (var (phrase, error) in TextHints)
            {
                if (line.Contains(phrase, StringComparison.OrdinalIgnoreCase))
                {
                    return error;
                }
            }
        }

        return null;
    }

    /// <summary>550 with a text that does not say why ("Requested action not taken; file unavailable").</summary>
    private static FsError Default550(FsOperation operation, string? command) => operation switch
    {
        FsOperation.Lookup or FsOperation.List or FsOperation.Read => FsError.NotFound,
        FsOperation.Rename when command is not null && command.StartsWith("RNFR", StringComparison.OrdinalIgnoreCase) => FsError.NotFound,
        FsOperation.StatFs => FsError.NotSupported,
        _ => FsError.AccessDenied,
    };

    private static string Describe(FsError error) => error switch
    {
        FsError.NotFound => "not found",
        FsError.AlreadyExists => "already exists",
        FsError.NotADirectory => "not a directory",
        FsError.IsADirectory => "is a directory",
        FsError.DirectoryNotEmpty => "directory not empty",
        FsError.AccessDenied => "access denied",
        FsError.ReadOnly => "read-only",
        FsError.NoSpace => "no space left on the server",
        FsError.InvalidName => "invalid name",
        FsError.NameTooLong => "name too long",
        FsError.NotSupported => "not supported by the server",
        FsError.Busy => "busy",
        FsError.TimedOut => "timed out",
        FsError.ConnectionLost => "connection lost",
        FsError.TryAgain => "temporary server failure",
        FsError.Cancelled => "cancelled",
        _ => "I/O error",
    };

    private static string Cause(Exception exception)
    {
        // FtpReplyException's message is "<command> failed: <code> <text>"; others say what happened.
        var message = exception.Message;
        return exception.InnerException is { } inner && !message.Contains(inner.Message, StringComparison.Ordinal)
            ? $"{message} ({inner.GetType().Name}: {inner.Message})"
            : message;
    }
}
