using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Tests.Resilience;

public class TransientFailureTests
{
    private static FtpReplyException Reply(int code, string text) => new("CMD /x", new FtpReply(code, [text]));

    [Theory]
    // Server texts: vsftpd 3.0.3, proftpd 1.3.8 and pure-ftpd 1.0.50, observed on loopback.
    [InlineData(421, "Timeout.", true, true)]                                                // vsftpd 3.0.3 idle timeout
    [InlineData(421, "Idle timeout (2 seconds): closing control connection", true, true)]    // proftpd 1.3.8
    [InlineData(421, "Timeout - try typing a little faster next time", true, true)]          // pure-ftpd 1.0.50
    [InlineData(425, "Failed to establish connection.", true, true)]                         // vsftpd 3.0.3 (source)
    [InlineData(425, "No data connection", true, true)]                                      // pure-ftpd 1.0.50 (source)
    [InlineData(426, "Failure writing network stream.", true, true)]                         // vsftpd 3.0.3 (source)
    [InlineData(426, "Transfer aborted", true, true)]                                        // pure-ftpd 1.0.50 (source)
    [InlineData(450, "File busy", true, true)]
    [InlineData(451, "Failure writing to local file.", true, true)]                          // vsftpd 3.0.3
    [InlineData(451, "Transfer aborted. Input/output error", true, true)]                    // proftpd 1.3.8, disk full
    [InlineData(451, "Rename/move failure: Permission denied", true, false)]                 // pure-ftpd 1.0.50: a permanent cause
    [InlineData(421, "Timeout.", false, false)]                                              // non-idempotent: a reply is final
    [InlineData(451, "Failure writing to local file.", false, false)]
    [InlineData(452, "Insufficient storage space", true, false)]
    [InlineData(550, "Failed to open file.", true, false)]                                   // vsftpd 3.0.3
    [InlineData(530, "Login incorrect.", true, false)]                                       // vsftpd 3.0.3 / proftpd 1.3.8
    [InlineData(500, "Unknown command.", true, false)]
    public void Reply_codes(int code, string text, bool idempotent, bool expected) =>
        Assert.Equal(expected, TransientFailure.IsTransient(Reply(code, text), idempotent));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Dropped_connections_and_timeouts_are_transient(bool idempotent)
    {
        Assert.True(TransientFailure.IsTransient(new FtpConnectionException("reset"), idempotent));
        Assert.True(TransientFailure.IsTransient(new FtpTimeoutException("no reply"), idempotent));
        Assert.True(TransientFailure.IsTransient(new FtpConnectionException("data connection failed", Reply(425, "Can't open data connection.")), idempotent));
    }

    [Fact]
    public void A_connection_failure_with_a_permanent_verdict_is_permanent() =>
        Assert.False(TransientFailure.IsTransient(new FtpConnectionException("RETR: data connection failed", Reply(550, "Failed to open file.")), idempotent: true));

    [Fact]
    public void Everything_else_is_permanent()
    {
        Assert.False(TransientFailure.IsTransient(new FtpProtocolException("garbage"), true));
        Assert.False(TransientFailure.IsTransient(new FtpSecurityException("PROT P refused"), true));
        Assert.False(TransientFailure.IsTransient(new FtpAuthenticationException("Login refused"), true));
        Assert.False(TransientFailure.IsTransient(new FtpInvalidPathException("CR in name"), true));
        Assert.False(TransientFailure.IsTransient(new OperationCanceledException(), true));
        Assert.False(TransientFailure.IsTransient(new IOException("local disk"), true));
    }
}
