using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Testing.Scripted;

/// <summary>One command line the server received (PASS arguments included, on purpose).</summary>
/// <param name="Line">The decoded line without its final CRLF; embedded CR/NUL are kept.</param>
/// <param name="OverTls">The control connection was under TLS when the line arrived.</param>
/// <param name="DuringTransfer">The line arrived while a transfer was running (e.g. ABOR).</param>
public sealed record ScriptedReceivedCommand(
    int ConnectionId,
    long Sequence,
    string Verb,
    string Argument,
    string Line,
    bool OverTls,
    bool LoggedIn,
    bool DuringTransfer,
    DateTimeOffset ReceivedAt)
{
    public override string ToString() => $"#{ConnectionId} {Line}";
}

/// <summary>A control connection as the server saw it. Properties are live.</summary>
public sealed class ScriptedConnection
{
    private const int RawLimit = 16 * 1024 * 1024;
    private readonly MemoryStream _raw = new();
    private volatile bool _isClosed;

    internal ScriptedConnection(int id, IPEndPoint? remote)
    {
        Id = id;
        RemoteEndPoint = remote;
        ConnectedAt = DateTimeOffset.UtcNow;
    }

    public int Id { get; }
    public IPEndPoint? RemoteEndPoint { get; }
    public DateTimeOffset ConnectedAt { get; }

    /// <summary>The control channel is under TLS now (false again after CCC).</summary>
    public bool IsTls { get; internal set; }

    /// <summary>TLS was established on the control channel at some point.</summary>
    public bool TlsNegotiated { get; internal set; }

    public SslProtocols? TlsProtocol { get; internal set; }

    /// <summary>SNI host name the client sent (null: none, e.g. when connecting by IP address).</summary>
    public string? ServerName { get; internal set; }

    public ScriptedTlsHandshake? Handshake { get; internal set; }

    public X509Certificate2? ClientCertificate { get; internal set; }

    /// <summary>Bytes the client sent after its AUTH line but before the TLS handshake started (they are fed to TLS, not
    /// executed as commands). Non-zero means the client pipelined something after AUTH.</summary>
    public int BytesPipelinedAfterAuth { get; internal set; }

    /// <summary>The client completed CCC (control channel back in clear).</summary>
    public bool ClearedCommandChannel { get; internal set; }

    public string? UserName { get; internal set; }
    public bool IsLoggedIn { get; internal set; }

    public bool IsClosed
    {
        get => _isClosed;
        internal set => _isClosed = value;
    }

    /// <summary>Every control byte received, after TLS decryption, before any parsing (capped at 16 MiB).</summary>
    public byte[] GetReceivedBytes()
    {
        lock (_raw)
        {
            return _raw.ToArray();
        }
    }

    internal void RecordReceived(ReadOnlySpan<byte> data)
    {
        lock (_raw)
        {
            var room = RawLimit - (int)_raw.Length;
            if (room > 0)
            {
                _raw.Write(data[..Math.Min(room, data.Length)]);
            }
        }
    }

    public override string ToString() => $"control #{Id} {(IsClosed ? "closed" : "open")}";
}

public enum ScriptedTransferOutcome
{
    /// <summary>Still running (or opened by an override and not finished).</summary>
    Open,
    Completed,
    /// <summary>ABOR arrived while the transfer ran.</summary>
    Aborted,
    /// <summary>The client closed (or reset) the data connection before the server was done.</summary>
    ClientClosed,
    /// <summary>Cut by <see cref="ScriptedServerOptions.DropDataAfterBytes"/>.</summary>
    Dropped,
    /// <summary>Refused after connect (e.g. no TLS session reuse, PROT C not allowed).</summary>
    Refused,
    Failed,
}
