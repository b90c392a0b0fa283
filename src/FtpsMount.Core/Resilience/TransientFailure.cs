using FtpsMount.Core.Errors;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Resilience;

/// <summary>
/// Decides whether a failed protocol operation may succeed if simply tried again (on a fresh session).
/// <list type="bullet">
/// <item>Dropped connections and timeouts (<see cref="FtpConnectionException"/>, <see cref="FtpTimeoutException"/>)
///   are transient for every operation. For a non-idempotent one the command may or may not have run before the
///   connection died, so such an operation must reconcile on a retry (the attempt number tells it: e.g. DELE that
///   finds the file gone on attempt 2 succeeded on attempt 1; APPE checks the remote size and resumes).
///   Exception: a connection failure whose server verdict was a permanent 5xx reply is that reply.</item>
/// <item>Replies 421, 425, 426, 450 and 451 are transient only for idempotent operations: the server answered,
///   and a partial effect (451 after half an APPE) must not be repeated blindly. A 45x whose text names a permanent
///   cause ("451 Rename/move failure: Permission denied", pure-ftpd 1.0.50) is permanent.</item>
/// <item>Everything else — 5xx, login and TLS refusals, invalid paths, protocol garbage, cancellation — is permanent.</item>
/// </list>
/// </summary>
public static class TransientFailure
{
    private static readonly int[] TransientCodes = [421, 425, 426, 450, 451];

    /// <summary>The reply codes that may be retried (for idempotent operations).</summary>
    public static IReadOnlyList<int> TransientReplyCodes => TransientCodes;

    public static bool IsTransient(Exception exception, bool idempotent)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case FtpConnectionException connection:
                return connection.InnerException is not FtpReplyException { Code: >= 500 };
            case FtpTimeoutException:
                return true;
            case FtpReplyException reply when idempotent && Array.IndexOf(TransientCodes, reply.Code) >= 0:
                var hint = FtpErrorMapper.ErrorFromReplyText(reply.Reply);
                return hint is null or FsError.TryAgain or FsError.Io or FsError.ConnectionLost;
            default:
                return false;
        }
    }
}
