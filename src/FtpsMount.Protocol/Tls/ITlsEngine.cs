using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Protocol.Tls;

/// <summary>Creates TLS client streams. One engine serves many control connections; each control
/// <see cref="TlsStream"/> carries its own TLS session, which its data connections resume.</summary>
public interface ITlsEngine : IDisposable
{
    /// <summary>e.g. "OpenSSL 3.0.19" or "SslStream".</summary>
    string Name { get; }

    /// <summary>Full handshake on a control connection; the peer certificate is checked by the engine's
    /// <see cref="ICertificateVerifier"/> before this returns.</summary>
    Task<TlsStream> ConnectControlAsync(Stream transport, string targetHost, CancellationToken cancellationToken);

    /// <summary>Handshake on a data connection that resumes <paramref name="control"/>'s session
    /// (RFC 4217 §10.2; required by vsftpd require_ssl_reuse, proftpd, FileZilla Server).</summary>
    Task<TlsStream> ConnectDataAsync(Stream transport, TlsStream control, string targetHost, CancellationToken cancellationToken);
}

/// <summary>What was negotiated on one TLS connection.</summary>
public sealed record TlsSessionInfo(
    string Protocol,
    string CipherSuite,
    bool SessionReused,
    X509Certificate2? PeerCertificate,
    IReadOnlyList<X509Certificate2> PeerChain);

/// <summary>A TLS connection as a Stream. Disposal closes the transport without close_notify; call
/// <see cref="ShutdownAsync"/> first for a clean end.</summary>
public abstract class TlsStream : Stream
{
    public abstract TlsSessionInfo Info { get; }

    /// <summary>The stream under TLS (used after CCC to continue the control channel in clear).</summary>
    public abstract Stream InnerStream { get; }

    /// <summary>True once the peer's close_notify has been read: the data really ended, nothing was cut off.</summary>
    public abstract bool ReceivedCloseNotify { get; }

    /// <summary>Sends close_notify, then waits at most <paramref name="peerWait"/> for the peer's close_notify
    /// (TimeSpan.Zero: do not wait). Never throws for a peer that just closes; throws only on cancellation.</summary>
    public abstract Task ShutdownAsync(TimeSpan peerWait, CancellationToken cancellationToken);

    // A TLS connection is a non-seekable byte stream, whichever engine runs it.
    public sealed override bool CanSeek => false;
    public sealed override long Length => throw new NotSupportedException();

    public sealed override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public sealed override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>Judges a server certificate. Throws <see cref="CertificateRejectedException"/> to refuse it.</summary>
public interface ICertificateVerifier
{
    void Verify(string host, X509Certificate2 leaf, IReadOnlyList<X509Certificate2> chain);
}
