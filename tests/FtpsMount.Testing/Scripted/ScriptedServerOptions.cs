using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FtpsMount.Testing.Scripted;

/// <summary>How the control connection starts.</summary>
public enum ScriptedSecurity
{
    /// <summary>Clear text greeting, then <c>AUTH TLS</c>/<c>AUTH SSL</c> (RFC 4217).</summary>
    Explicit,
    /// <summary>TLS handshake first, greeting after it (port-990 style).</summary>
    Implicit,
}

[Flags]
public enum ScriptedAuthMechanisms
{
    None = 0,
    Tls = 1,
    Ssl = 2,
    All = Tls | Ssl,
}

public enum ScriptedListingStyle
{
    /// <summary><c>ls -l</c> lines as vsftpd writes them.</summary>
    Unix,
    /// <summary>IIS "MS-DOS" lines: <c>MM-dd-yy  hh:mmAM  &lt;DIR&gt;  name</c>.</summary>
    Dos,
    /// <summary>Lines from <see cref="ScriptedServerOptions.CustomListing"/>.</summary>
    Custom,
}

/// <summary>When the 150 reply of a transfer command is sent.</summary>
public enum ScriptedPreliminaryReply
{
    /// <summary>150 before the data connection is accepted or opened (most servers).</summary>
    BeforeDataConnect,
    /// <summary>150 only after the data connection is up and its TLS handshake completed (pure-ftpd style).</summary>
    AfterDataTlsHandshake,
    /// <summary>No 150 at all: only the final reply.</summary>
    None,
}

/// <summary>When the final (226) reply of a successful transfer is sent.</summary>
public enum ScriptedFinalReplyTiming
{
    /// <summary>After the data connection was shut down and closed (the common order).</summary>
    AfterDataClose,
    /// <summary>Before the data connection is closed (some servers race it).</summary>
    BeforeDataClose,
}

/// <summary>What the server answers when a download is stopped early, either by <c>ABOR</c> or because the
/// client closed the data connection. Each behaviour is a pair (reply for the transfer command, reply for ABOR);
/// the wire order is the same whichever of "data closed" and "ABOR received" the server notices first.</summary>
public enum ScriptedAbortBehavior
{
    /// <summary>RFC 959: <c>426</c> for the transfer, then <c>226</c> for ABOR.</summary>
    Reply426Then226,
    /// <summary><c>226</c> for the transfer, then <c>426</c> for ABOR.</summary>
    Reply226Then426,
    /// <summary>No reply for the transfer; a single <c>225</c> for ABOR.</summary>
    Reply225,
    /// <summary><c>426</c> for the transfer and nothing for ABOR.</summary>
    Only426,
    /// <summary><c>451</c> for the transfer and nothing for ABOR.</summary>
    Reply451,
    /// <summary>The server closes the control connection (it cannot recover).</summary>
    CloseControlConnection,
    /// <summary><see cref="ScriptedServerOptions.CustomAbortTransferReply"/> and
    /// <see cref="ScriptedServerOptions.CustomAbortAborReply"/> (each full reply line, or null for none).</summary>
    Custom,
}

/// <summary>How <see cref="ScriptedServerOptions.DropDataAfterBytes"/> cuts the data connection.</summary>
public enum ScriptedDataDrop
{
    /// <summary>TCP reset (SO_LINGER 0).</summary>
    Reset,
    /// <summary>Plain TCP close (FIN) without a TLS close_notify.</summary>
    CloseWithoutCloseNotify,
}

/// <summary>What <see cref="ScriptedServerOptions.CustomListing"/> is asked to list.</summary>
public sealed record ScriptedListingRequest(
    string Verb,
    string Path,
    IReadOnlyList<ScriptedFileSystemEntry> Entries,
    int ConnectionId);

/// <summary>
/// Settings of a <see cref="ScriptedFtpServer"/>. The server reads them live: a test may change a knob
/// after start and it applies to the commands that follow.
/// </summary>
public sealed class ScriptedServerOptions
{
    public static IReadOnlyList<string> DefaultFeatures { get; } =
    [
        "AUTH TLS",
        "AUTH SSL",
        "PBSZ",
        "PROT",
        "CCC",
        "EPRT",
        "EPSV",
        "PASV",
        "MDTM",
        "MFMT",
        "MLST type*;size*;modify*;perm*;UNIX.mode*;",
        "REST STREAM",
        "SIZE",
        "TVFS",
        "UTF8",
    ];

    /// <summary>Default login: user "test", password "secret".</summary>
    public const string DefaultUser = "test";
    public const string DefaultPassword = "secret";

    // ---- security -------------------------------------------------------------------------------

    public ScriptedSecurity Security { get; set; } = ScriptedSecurity.Explicit;

    /// <summary>Which AUTH arguments are accepted (others get 504). AUTH SSL keeps its historic meaning and also turns
    /// data protection on (as if PROT P had been sent); AUTH TLS leaves data in clear until PROT P.</summary>
    public ScriptedAuthMechanisms AcceptedAuth { get; set; } = ScriptedAuthMechanisms.All;

    /// <summary>Allow USER/PASS and everything else without TLS. Off: USER before AUTH gets 530.</summary>
    public bool AllowPlaintext { get; set; }

    /// <summary>Refuse transfers under PROT C (521).</summary>
    public bool RequireProtectedData { get; set; }

    /// <summary>PROT before PBSZ gets 503 (RFC 4217 order).</summary>
    public bool RequirePbszBeforeProt { get; set; } = true;

    /// <summary>Accept CCC (return the control channel to clear text after login).</summary>
    public bool AllowCcc { get; set; } = true;

    public SslProtocols TlsProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Certificate (with private key) to serve; null: a fresh self-signed one for localhost.
    /// A certificate given here is not disposed by the server.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Ask TLS clients for a certificate (recorded in <see cref="ScriptedConnection.ClientCertificate"/>; never required).</summary>
    public bool RequestClientCertificate { get; set; }

    /// <summary>Refuse (425) PROT P data connections whose TLS handshake did not resume a session.</summary>
    public bool RequireTlsSessionReuse { get; set; }

    /// <summary>Fail an upload with 426 when its TLS data connection ended without close_notify (vsftpd strict_ssl_read_eof).</summary>
    public bool RequireCloseNotifyOnUpload { get; set; }

    /// <summary>Send TLS close_notify before closing a data connection at the end of a transfer.</summary>
    public bool SendDataCloseNotify { get; set; } = true;

    // ---- login ----------------------------------------------------------------------------------

    /// <summary>User name → password.</summary>
    public IDictionary<string, string> Users { get; set; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { [DefaultUser] = DefaultPassword };

    /// <summary>Accept "anonymous"/"ftp" with any password.</summary>
    public bool AllowAnonymous { get; set; }

    // ---- replies and features -------------------------------------------------------------------

    /// <summary>Greeting lines (several: a multi-line 220).</summary>
    public IList<string> Greeting { get; set; } = ["ScriptedFtpServer ready."];

    /// <summary>Lines of the FEAT reply (without the leading space). Empty list: "211 No features".</summary>
    public IList<string> Features { get; set; } = [.. DefaultFeatures];

    /// <summary>Verbs answered with 502 as if not implemented (e.g. MLSD, MLST, EPSV, SIZE, FEAT).</summary>
    public ISet<string> DisabledCommands { get; set; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>SYST reply text; null: "UNIX Type: L8", or "Windows_NT" with the DOS listing style.</summary>
    public string? SystemType { get; set; }

    /// <summary>Answer HASH, XCRC, XMD5 (else 502).</summary>
    public bool EnableHashCommands { get; set; }

    /// <summary>Bytes reported by AVBL; null: AVBL gets 502.</summary>
    public long? AvailableBytes { get; set; }

    /// <summary>RNTO onto an existing file replaces it (Unix); false: 553 (Windows servers).</summary>
    public bool RenameOverwrites { get; set; } = true;

    /// <summary>Accept PORT/EPRT (the server only ever connects to loopback addresses).</summary>
    public bool AllowActiveMode { get; set; } = true;

    /// <summary>Encoding of command and reply text (paths). Default UTF-8.</summary>
    public Encoding ControlEncoding { get; set; } = new UTF8Encoding(false);

    public int MaxCommandLineLength { get; set; } = 8192;

    // ---- listings -------------------------------------------------------------------------------

    public ScriptedListingStyle ListingStyle { get; set; } = ScriptedListingStyle.Unix;

    /// <summary>With <see cref="ScriptedListingStyle.Custom"/>: the lines (each gets CRLF) for LIST, NLST and MLSD
    /// (see <see cref="ScriptedListingRequest.Verb"/>); return null to use the default format for that verb.</summary>
    public Func<ScriptedListingRequest, IEnumerable<string>?>? CustomListing { get; set; }

    /// <summary>MLSD includes "type=cdir" (.) and "type=pdir" (..) entries.</summary>
    public bool MlsdIncludesCurrentAndParent { get; set; } = true;

    /// <summary>Zone of LIST times (MLSD/MDTM are always UTC).</summary>
    public TimeZoneInfo ListingTimeZone { get; set; } = TimeZoneInfo.Utc;

    // ---- data channel ---------------------------------------------------------------------------

    public ScriptedPreliminaryReply PreliminaryReplyTiming { get; set; } = ScriptedPreliminaryReply.BeforeDataConnect;

    public ScriptedFinalReplyTiming FinalReplyTiming { get; set; } = ScriptedFinalReplyTiming.AfterDataClose;

    public ScriptedAbortBehavior AbortBehavior { get; set; } = ScriptedAbortBehavior.Reply426Then226;

    /// <summary>With <see cref="ScriptedAbortBehavior.Custom"/>: full reply line for the transfer, or null for none.</summary>
    public string? CustomAbortTransferReply { get; set; }

    /// <summary>With <see cref="ScriptedAbortBehavior.Custom"/>: full reply line for ABOR, or null for none.</summary>
    public string? CustomAbortAborReply { get; set; }

    /// <summary>Cut RETR data connections after this many bytes (may equal the file size: complete data, bad end).</summary>
    public long? DropDataAfterBytes { get; set; }

    public ScriptedDataDrop DropDataMode { get; set; } = ScriptedDataDrop.Reset;

    /// <summary>How many RETRs are cut (server-wide); then transfers are whole again. int.MaxValue: all.</summary>
    public int DropDataCount { get; set; } = 1;

    /// <summary>Reply after a cut transfer; null: none.</summary>
    public string? DropDataFinalReply { get; set; } = "426 Connection closed; transfer aborted.";

    /// <summary>RETR sends this many bytes and then nothing more until the client aborts or closes.</summary>
    public long? StallDataAfterBytes { get; set; }

    /// <summary>When this verb is received the control connection is closed instead of answered (once,
    /// server-wide, at occurrence <see cref="DropControlOnOccurrence"/>).</summary>
    public string? DropControlAfterCommand { get; set; }

    public int DropControlOnOccurrence { get; set; } = 1;

    /// <summary>Drop the control connection with a TCP reset instead of a close.</summary>
    public bool DropControlWithReset { get; set; }

    /// <summary>Endpoint announced by PASV instead of 127.0.0.1:port (port 0 keeps the real port; the port, when set,
    /// is also used by EPSV). The listener itself stays on 127.0.0.1.</summary>
    public IPEndPoint? PasvAddressOverride { get; set; }

    /// <summary>Answer 500 to EPSV.</summary>
    public bool DisableEpsv { get; set; }

    /// <summary>Bound on the client connecting (passive) / the server connecting (active) and on the data TLS handshake.
    /// (A transfer command refused before the data connection, e.g. RETR of a missing file, leaves the PASV listener
    /// open like vsftpd: a client already connected to it is neither accepted nor reset.)</summary>
    public TimeSpan DataConnectionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bound on waiting for the client's side of a closing data connection or CCC close_notify.</summary>
    public TimeSpan DataCloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bound on the control connection's TLS handshake.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    // ---- misc -----------------------------------------------------------------------------------

    /// <summary>The file system to serve; null: a new empty one (see <see cref="ScriptedFtpServer.FileSystem"/>).</summary>
    public ScriptedFileSystem? FileSystem { get; set; }

    /// <summary>Receives every log line (e.g. an xunit ITestOutputHelper). Exceptions it throws are ignored.</summary>
    public Action<string>? LogSink { get; set; }

    internal (string? TransferReply, string? AborReply) AbortReplies() => AbortBehavior switch
    {
        ScriptedAbortBehavior.Reply426Then226 => ("426 Connection closed; transfer aborted.", "226 ABOR command successful."),
        ScriptedAbortBehavior.Reply226Then426 => ("226 Transfer complete.", "426 Transfer aborted."),
        ScriptedAbortBehavior.Reply225 => (null, "225 ABOR command successful."),
        ScriptedAbortBehavior.Only426 => ("426 Connection closed; transfer aborted.", null),
        ScriptedAbortBehavior.Reply451 => ("451 Local error in processing; transfer aborted.", null),
        ScriptedAbortBehavior.Custom => (CustomAbortTransferReply, CustomAbortAborReply),
        _ => (null, null),
    };
}
