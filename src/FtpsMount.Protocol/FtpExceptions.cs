namespace FtpsMount.Protocol;

/// <summary>Base of every error the protocol layer throws. Messages never contain passwords.</summary>
public class FtpException : Exception
{
    public FtpException(string message) : base(message) { }
    public FtpException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The server answered a command with a negative (4xx/5xx) or unexpected reply.</summary>
public sealed class FtpReplyException : FtpException
{
    public FtpReplyException(string command, FtpReply reply)
        : base($"{command} failed: {reply}")
    {
        Command = command;
        Reply = reply;
    }

    /// <summary>The command as sent, with secrets redacted (PASS is shown as "PASS ****").</summary>
    public string Command { get; }
    public FtpReply Reply { get; }
    public int Code => Reply.Code;
    /// <summary>4xx: the same request may succeed later.</summary>
    public bool IsTransient => Reply.Code is >= 400 and < 500;
}

/// <summary>The server sent something that is not valid FTP (garbage, over-long line, bad code, truncated reply).</summary>
public sealed class FtpProtocolException : FtpException
{
    public FtpProtocolException(string message) : base(message) { }
    public FtpProtocolException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The control or data connection failed or was closed (TCP reset, EOF, TLS failure mid-stream).</summary>
public sealed class FtpConnectionException : FtpException
{
    public FtpConnectionException(string message) : base(message) { }
    public FtpConnectionException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>The server's last word when it closed the connection (e.g. 421 too many connections), if any.</summary>
    public FtpReply? Reply { get; init; }
}

/// <summary>An operation did not complete within its configured timeout.</summary>
public sealed class FtpTimeoutException : FtpException
{
    public FtpTimeoutException(string message) : base(message) { }
    public FtpTimeoutException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>TLS could not be established or the security policy forbids what the server offers
/// (AUTH refused, PROT P refused, plaintext not allowed, handshake failure).</summary>
public class FtpSecurityException : FtpException
{
    public FtpSecurityException(string message) : base(message) { }
    public FtpSecurityException(string message, Exception? inner) : base(message, inner) { }
}
