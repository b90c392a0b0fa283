using FtpsMount.Protocol.Tls;
using FtpsMount.Protocol.Tls.OpenSsl;

namespace FtpsMount.Protocol.Tests.Tls;

public sealed class TlsEngineFactoryTests
{
    [Fact]
    public void Auto_prefers_openssl_where_it_loads()
    {
        using var engine = TlsEngineFactory.Create(new TlsOptions(), new RecordingVerifier());
        if (OpenSslTlsEngine.IsSupported)
        {
            Assert.IsType<OpenSslTlsEngine>(engine);
            Assert.StartsWith("OpenSSL 3", engine.Name, StringComparison.Ordinal);
        }
        else
        {
            Assert.IsType<SslStreamTlsEngine>(engine);
        }
    }

    [Fact]
    public void Explicit_backends_are_honoured()
    {
        using var sslStream = TlsEngineFactory.Create(new TlsOptions { Backend = TlsBackend.SslStream }, new RecordingVerifier());
        Assert.IsType<SslStreamTlsEngine>(sslStream);
        Assert.Equal("SslStream", sslStream.Name);

        if (OpenSslTlsEngine.IsSupported)
        {
            using var openSsl = TlsEngineFactory.Create(new TlsOptions { Backend = TlsBackend.OpenSsl }, new RecordingVerifier());
            Assert.IsType<OpenSslTlsEngine>(openSsl);
        }
        else
        {
            Assert.Throws<FtpSecurityException>(() =>
                TlsEngineFactory.Create(new TlsOptions { Backend = TlsBackend.OpenSsl }, new RecordingVerifier()));
        }
    }

    [Fact]
    public void Openssl_support_is_explained_when_missing()
    {
        Assert.Equal(OpenSslTlsEngine.IsSupported, OpenSslTlsEngine.UnsupportedReason is null);
        if (OperatingSystem.IsLinux())
            Assert.True(OpenSslTlsEngine.IsSupported, OpenSslTlsEngine.UnsupportedReason);
    }

    [Fact]
    public void Inverted_version_range_is_refused()
    {
        var options = new TlsOptions { MinVersion = TlsVersion.Tls13, MaxVersion = TlsVersion.Tls12 };
        Assert.Throws<ArgumentException>(() => new SslStreamTlsEngine(options, new RecordingVerifier()));
        if (OpenSslTlsEngine.IsSupported)
            Assert.Throws<ArgumentException>(() => new OpenSslTlsEngine(options, new RecordingVerifier()));
    }
}
