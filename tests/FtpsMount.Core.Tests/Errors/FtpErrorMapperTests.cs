using FtpsMount.Core.Errors;
using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Tests.Errors;

/// <summary>
/// Reply texts are real: captured from vsftpd 3.0.3 (Debian 3.0.3-13), proftpd 1.3.8 and pure-ftpd 1.0.50
/// (Debian 1.0.50-2.1) on loopback (missing names, existing directories, non-empty directories, read-only
/// directories, a 64 KiB tmpfs to fill, idle timeouts), or, where marked "(source)", read from that server's source.
/// </summary>
public class FtpErrorMapperTests
{
    private static FtpReplyException Reply(string command, int code, string text) => new(command, new FtpReply(code, [text]));

    [Theory]
    // ---- Lookup (MLST / SIZE / MDTM / CWD) ----
    [InlineData(FsOperation.Lookup, "MLST /nothere", 550, "'/nothere' cannot be listed", FsError.NotFound)]                    // proftpd 1.3.8
    [InlineData(FsOperation.Lookup, "SIZE /nothere", 550, "/nothere: No such file or directory", FsError.NotFound)]            // proftpd 1.3.8
    [InlineData(FsOperation.Lookup, "SIZE /nothere", 550, "Could not get file size.", FsError.NotFound)]                       // vsftpd 3.0.3
    [InlineData(FsOperation.Lookup, "MDTM /nothere", 550, "Could not get file modification time.", FsError.NotFound)]         // vsftpd 3.0.3
    [InlineData(FsOperation.Lookup, "MLST /nothere", 550, "Can't check for file existence", FsError.NotFound)]                // pure-ftpd 1.0.50
    [InlineData(FsOperation.Lookup, "MLST /nothere", 500, "Unknown command.", FsError.NotSupported)]                          // vsftpd 3.0.3 has no MLST
    // ---- List ----
    [InlineData(FsOperation.List, "CWD /nothere", 550, "Failed to change directory.", FsError.NotFound)]                      // vsftpd 3.0.3
    [InlineData(FsOperation.List, "CWD /nothere", 550, "/nothere: No such file or directory", FsError.NotFound)]              // proftpd 1.3.8
    [InlineData(FsOperation.List, "CWD /nothere", 550, "Can't change directory to /nothere: No such file or directory", FsError.NotFound)] // pure-ftpd 1.0.50
    // ---- Read (RETR) ----
    [InlineData(FsOperation.Read, "RETR /nothere", 550, "Failed to open file.", FsError.NotFound)]                            // vsftpd 3.0.3
    [InlineData(FsOperation.Read, "RETR /nothere", 550, "/nothere: No such file or directory", FsError.NotFound)]             // proftpd 1.3.8
    [InlineData(FsOperation.Read, "RETR /nothere", 550, "Can't open /nothere: No such file or directory", FsError.NotFound)]  // pure-ftpd 1.0.50
    [InlineData(FsOperation.Read, "RETR /full", 550, "/full: Not a regular file", FsError.IsADirectory)]                     // proftpd 1.3.8
    [InlineData(FsOperation.Read, "RETR /full", 550, "I can only retrieve regular files", FsError.IsADirectory)]              // pure-ftpd 1.0.50
    [InlineData(FsOperation.Read, "RETR /secret", 550, "Can't open /secret: Permission denied", FsError.AccessDenied)]        // pure-ftpd 1.0.50 (source: "Can't open %s" + strerror)
    // ---- Create / Write (STOR, APPE) ----
    [InlineData(FsOperation.Create, "STOR /ro/new", 553, "Could not create file.", FsError.AccessDenied)]                     // vsftpd 3.0.3
    [InlineData(FsOperation.Create, "STOR /ro/new", 550, "/ro/new: Permission denied", FsError.AccessDenied)]                 // proftpd 1.3.8
    [InlineData(FsOperation.Create, "STOR /ro/new", 553, "Can't open that file: Permission denied", FsError.AccessDenied)]    // pure-ftpd 1.0.50
    [InlineData(FsOperation.Create, "STOR /missing/new", 550, "/missing/new: No such file or directory", FsError.NotFound)]    // proftpd 1.3.8
    [InlineData(FsOperation.Create, "STOR /missing/new", 553, "Can't open that file: No such file or directory", FsError.NotFound)] // pure-ftpd 1.0.50
    [InlineData(FsOperation.Create, "STOR /.hidden", 553, "Prohibited file name: /.hidden", FsError.InvalidName)]            // pure-ftpd 1.0.50 (source)
    [InlineData(FsOperation.Write, "STOR /tiny/big", 451, "Failure writing to local file.", FsError.Io)]                      // vsftpd 3.0.3, disk full
    [InlineData(FsOperation.Write, "STOR /tiny/big", 451, "Transfer aborted. Input/output error", FsError.Io)]               // proftpd 1.3.8, disk full
    [InlineData(FsOperation.Write, "STOR /tiny/big", 451, "Error during write to file", FsError.Io)]                         // pure-ftpd 1.0.50, disk full
    [InlineData(FsOperation.Write, "STOR /full/k", 552, "Disk full - please upload later", FsError.NoSpace)]                  // pure-ftpd 1.0.50 with -k
    [InlineData(FsOperation.Write, "STOR /q", 552, "Quota exceeded: [/q] won't be saved", FsError.NoSpace)]                  // pure-ftpd 1.0.50 (source)
    [InlineData(FsOperation.Write, "STOR /x", 452, "Insufficient storage space in system.", FsError.NoSpace)]                 // RFC 959 wording
    // ---- Delete (DELE) ----
    [InlineData(FsOperation.Delete, "DELE /nothere", 550, "Delete operation failed.", FsError.AccessDenied)]                 // vsftpd 3.0.3 (same text for missing and denied)
    [InlineData(FsOperation.Delete, "DELE /nothere", 550, "/nothere: No such file or directory", FsError.NotFound)]           // proftpd 1.3.8
    [InlineData(FsOperation.Delete, "DELE /ro/locked", 550, "/ro/locked: Permission denied", FsError.AccessDenied)]           // proftpd 1.3.8
    [InlineData(FsOperation.Delete, "DELE /nothere", 550, "Could not delete /nothere: No such file or directory", FsError.NotFound)] // pure-ftpd 1.0.50
    [InlineData(FsOperation.Delete, "DELE /ro/locked", 550, "Could not delete /ro/locked: Permission denied", FsError.AccessDenied)] // pure-ftpd 1.0.50
    // ---- MakeDirectory (MKD) ----
    [InlineData(FsOperation.MakeDirectory, "MKD /full", 550, "Create directory operation failed.", FsError.AccessDenied)]     // vsftpd 3.0.3 (existing dir: no hint in the text)
    [InlineData(FsOperation.MakeDirectory, "MKD /full", 550, "/full: File exists", FsError.AlreadyExists)]                    // proftpd 1.3.8
    [InlineData(FsOperation.MakeDirectory, "MKD /full", 550, "Can't create directory: File exists", FsError.AlreadyExists)]   // pure-ftpd 1.0.50
    [InlineData(FsOperation.MakeDirectory, "MKD /ro/newdir", 550, "/ro/newdir: Permission denied", FsError.AccessDenied)]     // proftpd 1.3.8
    [InlineData(FsOperation.MakeDirectory, "MKD /ro/newdir", 550, "Can't create directory: Permission denied", FsError.AccessDenied)] // pure-ftpd 1.0.50
    [InlineData(FsOperation.MakeDirectory, "MKD /missing/newdir", 550, "/missing/newdir: No such file or directory", FsError.NotFound)] // proftpd 1.3.8
    [InlineData(FsOperation.MakeDirectory, "MKD /x", 550, "Sorry, anonymous users are not allowed to create directories", FsError.AccessDenied)] // pure-ftpd 1.0.50 (source)
    // ---- RemoveDirectory (RMD) ----
    [InlineData(FsOperation.RemoveDirectory, "RMD /full", 550, "Remove directory operation failed.", FsError.AccessDenied)]   // vsftpd 3.0.3 (non-empty: no hint in the text)
    [InlineData(FsOperation.RemoveDirectory, "RMD /full", 550, "/full: Directory not empty", FsError.DirectoryNotEmpty)]      // proftpd 1.3.8
    [InlineData(FsOperation.RemoveDirectory, "RMD /full", 550, "Can't remove directory: Directory not empty", FsError.DirectoryNotEmpty)] // pure-ftpd 1.0.50
    [InlineData(FsOperation.RemoveDirectory, "RMD /nothere", 550, "/nothere: No such file or directory", FsError.NotFound)]    // proftpd 1.3.8
    [InlineData(FsOperation.RemoveDirectory, "RMD /nothere", 550, "Can't remove directory: No such file or directory", FsError.NotFound)] // pure-ftpd 1.0.50
    [InlineData(FsOperation.RemoveDirectory, "RMD /ro/emptydir", 550, "/ro/emptydir: Permission denied", FsError.AccessDenied)] // proftpd 1.3.8
    [InlineData(FsOperation.RemoveDirectory, "RMD /ro/emptydir", 550, "Can't remove directory: Permission denied", FsError.AccessDenied)] // pure-ftpd 1.0.50
    [InlineData(FsOperation.RemoveDirectory, "RMD /x", 553, "Prohibited directory name", FsError.InvalidName)]               // pure-ftpd 1.0.50 (source)
    // ---- Rename (RNFR / RNTO) ----
    [InlineData(FsOperation.Rename, "RNFR /nothere", 550, "RNFR command failed.", FsError.NotFound)]                         // vsftpd 3.0.3
    [InlineData(FsOperation.Rename, "RNFR /nothere", 550, "/nothere: No such file or directory", FsError.NotFound)]           // proftpd 1.3.8
    [InlineData(FsOperation.Rename, "RNFR /nothere", 550, "Sorry, but that file doesn't exist", FsError.NotFound)]            // pure-ftpd 1.0.50
    [InlineData(FsOperation.Rename, "RNTO /ro/g", 550, "Rename failed.", FsError.AccessDenied)]                              // vsftpd 3.0.3
    [InlineData(FsOperation.Rename, "RNTO /ro/g", 550, "/ro/g: Permission denied", FsError.AccessDenied)]                    // proftpd 1.3.8
    [InlineData(FsOperation.Rename, "RNTO /ro/g", 451, "Rename/move failure: Permission denied", FsError.AccessDenied)]       // pure-ftpd 1.0.50 (a 4xx for a permanent cause)
    // ---- SetAttributes (SITE CHMOD / MFMT) ----
    [InlineData(FsOperation.SetAttributes, "SITE CHMOD 644 /nothere", 550, "Permission denied.", FsError.AccessDenied)]       // vsftpd 3.0.3 (anonymous)
    [InlineData(FsOperation.SetAttributes, "SITE CHMOD 644 /nothere", 550, "/nothere: No such file or directory", FsError.NotFound)] // proftpd 1.3.8
    [InlineData(FsOperation.SetAttributes, "SITE CHMOD 644 /nothere", 550, "Could not change perms on /nothere: No such file or directory", FsError.NotFound)] // pure-ftpd 1.0.50
    [InlineData(FsOperation.SetAttributes, "SITE CHMOD 644 /f", 500, "Unknown SITE command.", FsError.NotSupported)]          // vsftpd 3.0.3
    [InlineData(FsOperation.SetAttributes, "MDTM 20240101000000 /f", 550, "Could not set file modification time.", FsError.AccessDenied)] // vsftpd 3.0.3
    // ---- Session-level replies, any operation ----
    [InlineData(FsOperation.Read, "RETR /f", 421, "Timeout.", FsError.ConnectionLost)]                                        // vsftpd 3.0.3 idle timeout
    [InlineData(FsOperation.Read, "RETR /f", 421, "Data timeout. Reconnect. Sorry.", FsError.ConnectionLost)]                 // vsftpd 3.0.3 (source)
    [InlineData(FsOperation.List, "NOOP", 421, "Idle timeout (2 seconds): closing control connection", FsError.ConnectionLost)] // proftpd 1.3.8
    [InlineData(FsOperation.Lookup, "NOOP", 421, "Timeout - try typing a little faster next time", FsError.ConnectionLost)]  // pure-ftpd 1.0.50
    [InlineData(FsOperation.Read, "RETR /f", 425, "Failed to establish connection.", FsError.ConnectionLost)]                 // vsftpd 3.0.3 (source)
    [InlineData(FsOperation.Read, "RETR /f", 425, "No data connection", FsError.ConnectionLost)]                              // pure-ftpd 1.0.50 (source)
    [InlineData(FsOperation.Read, "RETR /f", 426, "Failure writing network stream.", FsError.ConnectionLost)]                 // vsftpd 3.0.3 (source)
    [InlineData(FsOperation.Write, "STOR /f", 426, "Failure reading network stream.", FsError.ConnectionLost)]                // vsftpd 3.0.3 (source)
    [InlineData(FsOperation.Read, "RETR /f", 426, "Transfer aborted", FsError.ConnectionLost)]                               // pure-ftpd 1.0.50 (source)
    [InlineData(FsOperation.Read, "RETR /f", 450, "File unavailable, try later", FsError.TryAgain)]
    [InlineData(FsOperation.Lookup, "MLST /f", 530, "Please login with USER and PASS.", FsError.AccessDenied)]                // vsftpd 3.0.3
    [InlineData(FsOperation.Lookup, "MLST /f", 530, "Login incorrect.", FsError.AccessDenied)]                               // vsftpd 3.0.3 / proftpd 1.3.8
    [InlineData(FsOperation.Lookup, "MLST /f", 530, "Login authentication failed", FsError.AccessDenied)]                    // pure-ftpd 1.0.50 (source)
    [InlineData(FsOperation.Write, "STOR /f", 532, "Need account for storing files.", FsError.AccessDenied)]
    [InlineData(FsOperation.Lookup, "MLST /f", 503, "Login with USER first.", FsError.Io)]                                   // vsftpd 3.0.3: out of step
    [InlineData(FsOperation.StatFs, "AVBL /", 550, "AVBL not allowed", FsError.NotSupported)]
    [InlineData(FsOperation.StatFs, "AVBL /", 502, "Command not implemented.", FsError.NotSupported)]
    public void Server_replies_map_with_the_operation_as_context(FsOperation operation, string command, int code, string text, FsError expected)
    {
        var exception = Reply(command, code, text);
        Assert.Equal(expected, FtpErrorMapper.Classify(exception, operation));

        var fs = FtpErrorMapper.ToFsException(exception, operation, "/the/path");
        Assert.Equal(expected, fs.Error);
        Assert.Same(exception, fs.InnerException);
        Assert.Contains(operation.ToString(), fs.Message, StringComparison.Ordinal);
        Assert.Contains("/the/path", fs.Message, StringComparison.Ordinal);
        Assert.Contains($"{code} {text}", fs.Message, StringComparison.Ordinal);
        Assert.Contains(command, fs.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(FsOperation.MakeDirectory, "Create directory operation failed.", true)]   // vsftpd 3.0.3: could be exists, missing parent or permission
    [InlineData(FsOperation.MakeDirectory, "/full: File exists", false)]                  // proftpd 1.3.8 says why
    [InlineData(FsOperation.Read, "Failed to open file.", true)]                          // vsftpd 3.0.3
    public void A_mapping_says_when_it_is_only_the_likely_cause(FsOperation operation, string text, bool ambiguous) =>
        Assert.Equal(ambiguous, FtpErrorMapper.Map(Reply("X /p", 550, text), operation).Ambiguous);

    [Fact]
    public void Multi_line_replies_are_searched_on_every_line()
    {
        var reply = new FtpReply(550, ["Could not delete /a:", "Directory not empty"]);
        Assert.Equal(FsError.DirectoryNotEmpty, FtpErrorMapper.Classify(new FtpReplyException("RMD /a", reply), FsOperation.RemoveDirectory));
    }

    public static TheoryData<Exception, FsError> Exceptions => new()
    {
        { new FtpTimeoutException("RETR: no data for 30 s; the transfer stalled."), FsError.TimedOut },
        { new TimeoutException("slow"), FsError.TimedOut },
        { new FtpConnectionException("The control connection failed: Connection reset by peer"), FsError.ConnectionLost },
        { new FtpConnectionException("RETR: data connection failed. Server said: 425 Failed to establish connection.", Reply("RETR", 425, "Failed to establish connection.")), FsError.ConnectionLost },
        { new FtpConnectionException("RETR: data connection failed. Server said: 550 Can't open /f: No such file or directory.", Reply("RETR", 550, "Can't open /f: No such file or directory")), FsError.NotFound },
        { new FtpInvalidPathException("Refusing to send a name containing CR, LF or NUL: \"a\\r\\nDELE b\"."), FsError.InvalidName },
        { new FtpAuthenticationException("Login refused at PASS: 530 Login incorrect."), FsError.AccessDenied },
        { new FtpSecurityException("The server refused PROT P (encrypted data connections)."), FsError.AccessDenied },
        { new FtpProtocolException("Malformed SIZE reply: 213 lots"), FsError.Io },
        { new NotSupportedException("SITE CHMOD is not offered"), FsError.NotSupported },
        { new OperationCanceledException(), FsError.Cancelled },
        { new TaskCanceledException(), FsError.Cancelled },
        { new UnauthorizedAccessException("staging dir"), FsError.AccessDenied },
        { new IOException("staging disk"), FsError.Io },
        { new InvalidOperationException("bug"), FsError.Io },
        { new AggregateException(new FtpTimeoutException("t")), FsError.TimedOut },
        { new FsException(FsError.Busy, "already mapped"), FsError.Busy },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void Exception_types_map_whatever_the_operation(Exception exception, FsError expected)
    {
        foreach (var operation in Enum.GetValues<FsOperation>())
        {
            Assert.Equal(expected, FtpErrorMapper.Classify(exception, operation));
        }
    }

    [Fact]
    public void A_rejected_certificate_is_access_denied()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=ftp.example", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var rejected = new Protocol.Tls.CertificateRejectedException("ftp.example", "self-signed", certificate);
        var fs = FtpErrorMapper.ToFsException(rejected, FsOperation.Lookup, "/");
        Assert.Equal(FsError.AccessDenied, fs.Error);
        Assert.Contains("self-signed", fs.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_FsException_passes_through_unchanged()
    {
        var original = new FsException(FsError.ReadOnly, "mounted read-only");
        Assert.Same(original, FtpErrorMapper.ToFsException(original, FsOperation.Write, "/f"));
    }

    [Fact]
    public void The_message_tells_how_many_attempts_were_made()
    {
        var exception = Reply("RETR /f", 421, "Timeout.");
        exception.Data[RetryPolicy.AttemptsDataKey] = 4;
        var fs = FtpErrorMapper.ToFsException(exception, FsOperation.Read, "/f");
        Assert.Equal(FsError.ConnectionLost, fs.Error);
        Assert.Equal("Read /f: connection lost (after 4 attempts): RETR /f failed: 421 Timeout.", fs.Message);
    }

    [Fact]
    public void A_wrapped_cause_is_included_in_the_message()
    {
        var inner = new IOException("Connection reset by peer");
        var fs = FtpErrorMapper.ToFsException(new FtpConnectionException("The control connection failed while sending RETR", inner), FsOperation.Read, "/f");
        Assert.Contains("Connection reset by peer", fs.Message, StringComparison.Ordinal);
        Assert.Contains("Read /f", fs.Message, StringComparison.Ordinal);
    }
}
