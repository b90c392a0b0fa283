using System.Text.RegularExpressions;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Core.Pool;

/// <summary>How the pool reads failures: which cost the session, which mean "too many connections". (What may be
/// retried is <see cref="Resilience.TransientFailure"/>'s call.)</summary>
internal static partial class PoolFailures
{
    /// <summary>
    /// Whether the failed session should be closed rather than reused. Connection failures and 421 break it; 425
    /// (data connection refused) too, because a fresh control connection brings a fresh TLS session (proftpd on TLS 1.3
    /// refuses data connections that resumed the wrong one). A usable session that got 426/450/451 is kept: those are
    /// about the file or the transfer, not the conversation.
    /// </summary>
    public static bool ShouldDropSession(Exception ex, bool sessionUsable) =>
        !sessionUsable || ex is FtpConnectionException or FtpTimeoutException || ex is FtpReplyException { Code: 421 or 425 };

    /// <summary>
    /// A refusal at connect/login that means "no more connections for you now". The protocol layer reports a 421
    /// greeting or login reply as <see cref="FtpConnectionException"/> carrying the reply; a 421 answer to AUTH
    /// surfaces as a security failure quoting it, so that one is read from the text.
    /// Seen: vsftpd 3.0 max_clients/max_per_ip "421 There are too many connected users" (as the greeting);
    /// pure-ftpd 1.0 "421 Too many connections (N) from this IP"; proftpd 1.3 MaxClientsPerHost/PerUser
    /// "530 Sorry, the maximum number of clients (N) ... are already connected".
    /// </summary>
    public static bool IsTooManyConnections(Exception ex) => ex switch
    {
        FtpReplyException { Code: 421 } => true,
        FtpAuthenticationException { Reply.Code: 530 } auth => TooManyText().IsMatch(auth.Reply!.Message),
        CertificateRejectedException => false,
        FtpConnectionException { Reply.Code: 421 } => true,
        FtpConnectionException or FtpSecurityException => Reply421().IsMatch(ex.Message), // a 421 answer to AUTH is a security failure
        _ => false,
    };

    [GeneratedRegex(@"(^|[:\s])421[\s-]", RegexOptions.CultureInvariant)]
    private static partial Regex Reply421();

    [GeneratedRegex(@"too many|maximum number of (clients|users|connections)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex TooManyText();
}
