using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Cli;

/// <summary>Turns an exception into what a person can act on: the error, its likely cause, the fix, and an exit code.</summary>
public static class ErrorReporter
{
    public static int Report(Exception ex, TextWriter stderr)
    {
        var (code, hint) = Classify(ex);
        stderr.WriteLine("error: " + ex.Message);
        if (hint is not null)
        {
            stderr.WriteLine("hint: " + hint);
        }

        return code;
    }

    public static (int ExitCode, string? Hint) Classify(Exception ex) => ex switch
    {
        CliException cli => (cli.ExitCode, null),
        FormatException => (ExitCodes.Usage, null),
        CertificateRejectedException => (ExitCodes.Security, null),
        FtpAuthenticationException => (ExitCodes.Login, "The server rejected the login. Check the user in the URL and the password source (--password-file, FTPSMOUNT_PASSWORD, ~/.netrc)."),
        FtpInvalidPathException => (ExitCodes.Usage, null),
        FtpSecurityException s when s.Message.Contains("refused to start TLS", StringComparison.Ordinal) =>
            (ExitCodes.Security, "Per the Kermit FTP client FAQ, some servers only accept AUTH SSL (try --auth ssl) or only implicit FTPS on port 990 (use ftps://)."),
        FtpSecurityException => (ExitCodes.Security, null),
        FtpConnectionException c when IsDataChannel(c) => (ExitCodes.DataChannel,
            "Data connections are separate TCP connections. Behind a firewall or NAT, passive mode (the default) needs the server's passive port range open; " +
            "active mode (--active) needs the server to reach you. With TLS, NAT helpers cannot see the PORT/PASV commands (--ccc lets them, at the cost of clear-text commands)."),
        FtpConnectionException => (ExitCodes.Connection, "Check the host, port and that the server runs; for implicit FTPS use ftps:// (port 990), for explicit ftpes:// (port 21)."),
        FtpTimeoutException => (ExitCodes.Connection, "The server stopped answering. A firewall dropping packets, or a server that waits for a data connection, looks like this; try --active or --no-epsv."),
        FtpReplyException r when r.Code == 550 => (ExitCodes.NotFound, null),
        FtpReplyException => (ExitCodes.Failure, null),
        FtpProtocolException => (ExitCodes.Failure, "The server sent something that is not valid FTP. Run with --trace to see the exchange."),
        IOException => (ExitCodes.Failure, null),
        OperationCanceledException => (130, null),
        _ => (ExitCodes.Failure, null),
    };

    private static bool IsDataChannel(FtpConnectionException ex) =>
        ex.Message.Contains("data connection", StringComparison.OrdinalIgnoreCase);
}
