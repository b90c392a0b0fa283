namespace FtpsMount.Protocol.Tls;

public enum TlsVersion
{
    Tls12,
    Tls13,
}

public enum TlsBackend
{
    /// <summary>OpenSSL (libssl.so.3) where it loads, otherwise SslStream.</summary>
    Auto,
    /// <summary>OpenSSL via P/Invoke: hands each control connection's own session to its data connections,
    /// which servers that require TLS session reuse need on TLS 1.3 with several connections.</summary>
    OpenSsl,
    /// <summary>.NET SslStream (SChannel on Windows). On Linux it caches one session per host process-wide,
    /// so data-channel reuse is only reliable with one control connection or on TLS 1.2.</summary>
    SslStream,
}

/// <summary>How the server's certificate is judged.</summary>
public sealed record TrustOptions
{
    /// <summary>Trust chains that end at a root in the system store (default on).</summary>
    public bool UseSystemStore { get; init; } = true;

    /// <summary>PEM file of extra trusted roots (<c>--ca-file</c>).</summary>
    public string? CaFile { get; init; }

    /// <summary>Accepted SHA-256 fingerprints of the leaf certificate (<c>--fingerprint sha256:HEX</c>).
    /// A pinned certificate is accepted even when self-signed or for another name.</summary>
    public IReadOnlyList<string> PinnedFingerprints { get; init; } = [];

    /// <summary>Known-hosts style file for trust-on-first-use. When set, an unknown host's certificate is
    /// recorded on first use and a changed one is refused.</summary>
    public string? KnownHostsFile { get; init; }

    /// <summary>Accept any certificate. Insecure: anyone on the path can read and change the traffic.</summary>
    public bool Insecure { get; init; }
}

public sealed record TlsOptions
{
    public TlsVersion MinVersion { get; init; } = TlsVersion.Tls12;
    public TlsVersion MaxVersion { get; init; } = TlsVersion.Tls13;
    public TlsBackend Backend { get; init; } = TlsBackend.Auto;
    public TrustOptions Trust { get; init; } = new();

    /// <summary>PEM client certificate (chain) for client-certificate authentication.</summary>
    public string? ClientCertificateFile { get; init; }

    /// <summary>PEM private key for <see cref="ClientCertificateFile"/>; may be the same file.</summary>
    public string? ClientKeyFile { get; init; }

    /// <summary>Name sent in SNI and matched against the certificate; default: the host being connected to.</summary>
    public string? ServerName { get; init; }
}
