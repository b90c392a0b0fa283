using FtpsMount.Core.Pool;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Tests.Pool;

/// <summary>The failure table the pool's retry and drop decisions rest on.</summary>
public sealed class PoolFailuresTests
{
    private static FtpReplyException Reply(int code, string text = "x") => new("CMD", new FtpReply(code, [text]));

    public static TheoryData<Exception, bool> DropCases => new()
    {
        // exception on a still usable session, whether the pool closes the session anyway
        { new FtpConnectionException("reset"), true },
        { new FtpTimeoutException("slow"), true },
        { Reply(421), true },
        { Reply(425), true }, // a fresh control connection brings a fresh TLS session (proftpd TLS 1.3 reuse refusals)
        { Reply(426), false },
        { Reply(450), false },
        { Reply(451), false },
        { Reply(550), false },
        { new FtpProtocolException("garbage"), false }, // the protocol layer marks the session unusable when it is
        { new InvalidOperationException(), false },
    };

    [Theory]
    [MemberData(nameof(DropCases))]
    public void Decides_when_a_failed_session_is_closed(Exception ex, bool drop)
    {
        Assert.Equal(drop, PoolFailures.ShouldDropSession(ex, sessionUsable: true));
        Assert.True(PoolFailures.ShouldDropSession(ex, sessionUsable: false));
    }

    [Theory]
    [InlineData("The server refused the connection: 421 There are too many connected users, please try later.", true)] // vsftpd max_clients
    [InlineData("The server closed the session during login: 421 Too many connections (8) from this IP", true)] // pure-ftpd
    [InlineData("The server refused the connection: 421-Service not available", true)]
    [InlineData("Cannot connect to 127.0.0.1:21: Connection refused (ConnectionRefused).", false)]
    [InlineData("The control connection failed: port 4210 closed", false)]
    public void Recognises_too_many_connections_in_connection_failures(string message, bool expected) =>
        Assert.Equal(expected, PoolFailures.IsTooManyConnections(new FtpConnectionException(message)));

    [Fact]
    public void Recognises_proftpd_max_clients_530_but_not_a_wrong_password()
    {
        var proftpd = new FtpAuthenticationException("Login refused",
            new FtpReply(530, ["Sorry, the maximum number of clients (2) from your host are already connected."]));
        var wrongPassword = new FtpAuthenticationException("Login refused", new FtpReply(530, ["Login incorrect."]));
        Assert.True(PoolFailures.IsTooManyConnections(proftpd));
        Assert.False(PoolFailures.IsTooManyConnections(wrongPassword));
        Assert.True(PoolFailures.IsTooManyConnections(Reply(421)));
        Assert.True(PoolFailures.IsTooManyConnections(new FtpSecurityException("Unexpected answer to AUTH TLS: 421 Too many users")));
        Assert.False(PoolFailures.IsTooManyConnections(new FtpProtocolException("Unexpected greeting: 421 x")));
    }

    [Fact]
    public void A_421_carried_by_a_connection_failure_means_too_many_connections() =>
        Assert.True(PoolFailures.IsTooManyConnections(new FtpConnectionException("refused") { Reply = new FtpReply(421, ["Too many"]) }));
}
