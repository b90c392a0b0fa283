using FtpsMount.Protocol.Tls.OpenSsl;

namespace FtpsMount.Protocol.Tls;

/// <summary>Picks the TLS backend named by <see cref="TlsOptions.Backend"/>.</summary>
public static class TlsEngineFactory
{
    /// <summary>
    /// <see cref="TlsBackend.Auto"/>: OpenSSL where libssl.so.3 loads (it hands each control connection's own
    /// session to that connection's data connections), otherwise SslStream.
    /// </summary>
    /// <exception cref="FtpSecurityException">OpenSSL was asked for explicitly but is not available, or the client
    /// certificate could not be loaded.</exception>
    public static ITlsEngine Create(TlsOptions options, ICertificateVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(verifier);
        switch (options.Backend)
        {
            case TlsBackend.Auto:
                return OpenSslTlsEngine.IsSupported ? new OpenSslTlsEngine(options, verifier) : new SslStreamTlsEngine(options, verifier);
            case TlsBackend.OpenSsl:
                if (!OpenSslTlsEngine.IsSupported)
                    throw new FtpSecurityException(
                        $"The OpenSSL TLS backend was requested but cannot be used ({OpenSslTlsEngine.UnsupportedReason}); " +
                        "install OpenSSL 3 (libssl.so.3) or choose the SslStream backend.");
                return new OpenSslTlsEngine(options, verifier);
            case TlsBackend.SslStream:
                return new SslStreamTlsEngine(options, verifier);
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Backend, "Unknown TLS backend.");
        }
    }
}
