namespace FtpsMount.Testing.Scripted;

/// <summary>
/// What an <see cref="ScriptedFtpServer.Override"/> handler gets: the command, the session's state, and raw access to
/// the control connection (for malformed replies), the data connection, and the default handling.
/// </summary>
public sealed class ScriptedCommandContext
{
    private readonly ScriptedSession _session;

    internal ScriptedCommandContext(ScriptedSession session, string verb, string argument, string line)
    {
        _session = session;
        Verb = verb;
        Argument = argument;
        Line = line;
    }

    public ScriptedFtpServer Server => _session.Server;
    public ScriptedFileSystem FileSystem => _session.Server.FileSystem;
    public ScriptedServerOptions Options => _session.Server.Options;
    public ScriptedConnection Connection => _session.Info;
    public int ConnectionId => _session.Info.Id;

    /// <summary>Upper-case verb (<see cref="ScriptedFtpServer.GreetingVerb"/> for the greeting).</summary>
    public string Verb { get; }

    /// <summary>Everything after the first space (may be empty).</summary>
    public string Argument { get; }

    /// <summary>The whole command line as received (without CRLF).</summary>
    public string Line { get; }

    public string CurrentDirectory => _session.Cwd;
    public bool IsTls => _session.Info.IsTls;
    public bool IsLoggedIn => _session.Info.IsLoggedIn;

    /// <summary>PROT P is in force.</summary>
    public bool ProtectedData => _session.ProtectData;

    /// <summary>Cancelled when the connection or the server closes.</summary>
    public CancellationToken CancellationToken => _session.Cancellation;

    /// <summary>Resolves a path argument against the current directory.</summary>
    public string ResolvePath(string path) => ScriptedFileSystem.Combine(_session.Cwd, path);

    /// <summary>Sends "code text".</summary>
    public Task ReplyAsync(int code, string text) => _session.ReplyAsync(code, text);

    /// <summary>Sends a well-formed multi-line reply ("code-first", middle lines verbatim, "code last").</summary>
    public Task ReplyMultilineAsync(int code, IReadOnlyList<string> lines) => _session.ReplyLinesAsync(code, lines);

    /// <summary>Sends <paramref name="line"/> + CRLF exactly (no validation: "999 x", "abc", "2", ...).</summary>
    public Task SendLineAsync(string line) => _session.SendLineAsync(line);

    /// <summary>Sends text as is (no CRLF added), in the control encoding.</summary>
    public Task SendRawAsync(string text) => _session.SendRawAsync(_session.Encode(text));

    /// <summary>Sends bytes as is (binary garbage, bare LF, a truncated reply ...).</summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes) => _session.SendRawAsync(bytes);

    /// <summary>Reads the next command line from the client without dispatching it (it is still recorded).
    /// Null when the client closed.</summary>
    public Task<string?> ReadLineAsync() => _session.ReadCommandLineForOverrideAsync();

    /// <summary>Closes the control connection (TCP FIN; no TLS close_notify).</summary>
    public Task CloseConnectionAsync()
    {
        _session.Close(reset: false);
        return Task.CompletedTask;
    }

    /// <summary>Closes the control connection with a TCP reset.</summary>
    public Task ResetConnectionAsync()
    {
        _session.Close(reset: true);
        return Task.CompletedTask;
    }

    /// <summary>Waits (cancelled when the connection closes).</summary>
    public Task DelayAsync(TimeSpan delay) => Task.Delay(delay, _session.Cancellation);

    /// <summary>Runs the server's default handling of this command (e.g. after sending junk first).</summary>
    public Task RunDefaultAsync() => _session.DefaultAsync(Verb, Argument, Line);

    /// <summary>True when PASV/EPSV/PORT/EPRT prepared a data connection.</summary>
    public bool HasDataConnectionSetup => _session.HasDataSetup;

    /// <summary>Accepts (passive) or opens (active) the data connection, with TLS under PROT P. Sends no reply.
    /// Returns null when the client did not connect in time (or the TLS handshake failed).</summary>
    public Task<ScriptedDataConnection?> OpenDataConnectionAsync() => _session.OpenDataAsync(Line);

    /// <summary>The standard download sequence (150, data, close, 226, abort handling) with these bytes.</summary>
    public Task RunDownloadAsync(ReadOnlyMemory<byte> data) =>
        _session.RunDownloadAsync(Line, data, "Opening BINARY mode data connection.", applyFaults: false);

    /// <summary>The standard upload sequence; returns the bytes received (without storing them), or null when no data
    /// connection could be made.</summary>
    public Task<byte[]?> RunUploadAsync() => _session.RunUploadToMemoryAsync(Line);
}
