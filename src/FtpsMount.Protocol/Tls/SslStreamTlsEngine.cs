using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Protocol.Tls;

/// <summary>
/// TLS through <see cref="SslStream"/> (SChannel on Windows, OpenSSL through .NET elsewhere): the fallback where
/// <see cref="OpenSsl.OpenSslTlsEngine"/> is unavailable.
/// </summary>
/// <remarks>
/// <para><b>Limitation: data connections cannot be told which session to resume.</b> SslStream has no API to hand
/// a specific TLS session to a new connection; the platform picks one. On Linux .NET keeps a single client
/// session per TargetHost for the whole process, and TLS 1.3 tickets are single-use, so with several control
/// connections (a pool) a data connection often resumes another connection's session or none at all. Servers
/// that require the data connection to resume its own control connection's session (proftpd's default,
/// vsftpd require_ssl_reuse=YES, FileZilla Server) then refuse it — measured with proftpd 1.3.8 on TLS 1.3:
/// 7 of 8 data connections refused with "425 Unable to build data connection". With one control connection, or
/// on TLS 1.2, it works. <see cref="TlsSessionInfo.SessionReused"/> is always false here: SslStream does not
/// report resumption.</para>
/// <para>Certificates are judged by the <see cref="ICertificateVerifier"/> inside the validation callback
/// (the platform's verdict is ignored). A data connection presenting the control connection's certificate is
/// accepted without asking the verifier again.</para>
/// <para><see cref="TlsStream.ReceivedCloseNotify"/> is inferred: SslStream returns 0 both for close_notify
/// and for a bare TCP EOF, so a 0 that came without the transport reporting EOF counts as close_notify.</para>
/// </remarks>
public sealed class SslStreamTlsEngine : ITlsEngine
{
    private readonly TlsOptions _options;
    private readonly ICertificateVerifier _verifier;
    private readonly SslStreamCertificateContext? _clientCertificate;
    private readonly X509Certificate2? _clientLeaf;

    /// <exception cref="FtpSecurityException">The client certificate or key could not be loaded.</exception>
    public SslStreamTlsEngine(TlsOptions options, ICertificateVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(verifier);
        if (options.MinVersion > options.MaxVersion)
            throw new ArgumentException($"TLS MinVersion {options.MinVersion} is above MaxVersion {options.MaxVersion}.", nameof(options));
        _options = options;
        _verifier = verifier;
        (_clientCertificate, _clientLeaf) = LoadClientCertificate(options);
    }

    public string Name => "SslStream";

    public async Task<TlsStream> ConnectControlAsync(Stream transport, string targetHost, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(targetHost);
        return await ConnectAsync(transport, _options.ServerName ?? targetHost, controlLeaf: null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TlsStream> ConnectDataAsync(Stream transport, TlsStream control, string targetHost, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(targetHost);
        return await ConnectAsync(transport, _options.ServerName ?? targetHost, control.Info.PeerCertificate, cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task<TlsStream> ConnectAsync(Stream transport, string host, X509Certificate2? controlLeaf, CancellationToken cancellationToken)
    {
        var watched = new EofWatchingStream(transport);
        var ssl = new SslStream(watched, leaveInnerStreamOpen: true);
        X509Certificate2? leaf = null;
        IReadOnlyList<X509Certificate2> chain = [];
        Exception? rejection = null;

        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = Protocols(_options.MinVersion, _options.MaxVersion),
            AllowRenegotiation = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificateContext = _clientCertificate,
            RemoteCertificateValidationCallback = (_, certificate, x509Chain, _) =>
            {
                if (certificate is null)
                {
                    rejection = new FtpSecurityException($"{host} presented no certificate.");
                    return false;
                }
                // Copies: SslStream disposes the chain (and its element certificates) after this callback.
                leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                var list = new List<X509Certificate2>();
                if (x509Chain is not null)
                {
                    foreach (var element in x509Chain.ChainElements)
                        list.Add(X509CertificateLoader.LoadCertificate(element.Certificate.RawData));
                }
                if (list.Count == 0)
                    list.Add(leaf);
                chain = list;

                if (controlLeaf is not null && leaf.RawDataMemory.Span.SequenceEqual(controlLeaf.RawDataMemory.Span))
                    return true; // same certificate the control connection's verification accepted
                try
                {
                    _verifier.Verify(host, leaf, chain);
                    return true;
                }
                catch (Exception e)
                {
                    rejection = e;
                    return false;
                }
            },
        };

        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (rejection is not null && e is not OperationCanceledException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            ExceptionDispatchInfo.Capture(rejection).Throw();
            throw; // unreachable
        }
        catch (AuthenticationException e)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new FtpSecurityException($"TLS handshake with {host} failed: {e.Message}", e);
        }
        catch (IOException e)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            if (e.InnerException is SocketException)
                throw new FtpConnectionException($"The connection to {host} failed during the TLS handshake: {e.Message}", e);
            throw new FtpSecurityException($"TLS handshake with {host} failed: {e.Message}", e);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var info = new TlsSessionInfo(
            ProtocolName(ssl.SslProtocol),
            ssl.NegotiatedCipherSuite.ToString(),
            SessionReused: false,
            leaf,
            chain);
        return new SslStreamTlsStream(ssl, watched, transport, info);
    }

#pragma warning disable SYSLIB0039 // TLS 1.0/1.1 are not offered; only the names are listed
    private static SslProtocols Protocols(TlsVersion min, TlsVersion max)
    {
        var result = SslProtocols.None;
        if (min <= TlsVersion.Tls12 && max >= TlsVersion.Tls12)
            result |= SslProtocols.Tls12;
        if (min <= TlsVersion.Tls13 && max >= TlsVersion.Tls13)
            result |= SslProtocols.Tls13;
        return result;
    }

    private static string ProtocolName(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        SslProtocols.Tls11 => "TLSv1.1",
        SslProtocols.Tls => "TLSv1",
        _ => protocol.ToString(),
    };
#pragma warning restore SYSLIB0039

    private static (SslStreamCertificateContext?, X509Certificate2?) LoadClientCertificate(TlsOptions options)
    {
        var certFile = options.ClientCertificateFile;
        if (certFile is null)
        {
            if (options.ClientKeyFile is not null)
                throw new FtpSecurityException($"A client key ({options.ClientKeyFile}) was given without a client certificate.");
            return (null, null);
        }
        var keyFile = options.ClientKeyFile ?? certFile;
        if (!File.Exists(certFile))
            throw new FtpSecurityException($"The client certificate file {certFile} does not exist.");
        if (!File.Exists(keyFile))
            throw new FtpSecurityException($"The client key file {keyFile} does not exist.");

        X509Certificate2 leaf;
        var extra = new X509Certificate2Collection();
        try
        {
            leaf = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            if (OperatingSystem.IsWindows())
            {
                // SChannel cannot use the ephemeral key CreateFromPemFile makes; round-trip through PKCS#12.
                var pfx = leaf.Export(X509ContentType.Pkcs12);
                leaf.Dispose();
                leaf = X509CertificateLoader.LoadPkcs12(pfx, null);
            }
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(certFile);
            foreach (var c in all)
            {
                if (!c.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
                    extra.Add(c);
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException)
        {
            throw new FtpSecurityException(
                $"Could not load the client certificate from {certFile} with the key from {keyFile} (expected PEM, unencrypted key): {e.Message}", e);
        }
        return (SslStreamCertificateContext.Create(leaf, extra, offline: true), leaf);
    }

    public void Dispose() => _clientLeaf?.Dispose();

    /// <summary>Remembers whether the transport has reported EOF, to tell close_notify from truncation.</summary>
    private sealed class EofWatchingStream(Stream inner) : Stream
    {
        public volatile bool SawEof;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0 && !buffer.IsEmpty)
                SawEof = true;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            if (n == 0 && count > 0)
                SawEof = true;
            return n;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override bool CanRead => inner.CanRead;
        public override bool CanWrite => inner.CanWrite;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class SslStreamTlsStream(SslStream ssl, EofWatchingStream watched, Stream transport, TlsSessionInfo info) : TlsStream
    {
        private volatile bool _receivedCloseNotify;
        private volatile bool _ended;

        public override TlsSessionInfo Info => info;
        public override Stream InnerStream => transport;
        public override bool ReceivedCloseNotify => _receivedCloseNotify;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_ended)
                return 0;
            int n;
            try
            {
                n = await ssl.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new FtpConnectionException($"TLS error while reading: {e.Message}", e);
            }
            if (n == 0 && !buffer.IsEmpty)
                NoteEnd();
            return n;
        }

        private void NoteEnd()
        {
            _ended = true;
            if (!watched.SawEof)
                _receivedCloseNotify = true;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ValidateBufferArguments(buffer, offset, count);
            return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            return ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                await ssl.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new FtpConnectionException($"TLS error while writing: {e.Message}", e);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ValidateBufferArguments(buffer, offset, count);
            return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            WriteAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        public override async Task ShutdownAsync(TimeSpan peerWait, CancellationToken cancellationToken)
        {
            try
            {
                await ssl.ShutdownAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
            {
                return; // the peer is gone
            }
            if (_ended || peerWait == TimeSpan.Zero)
                return;

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (peerWait != Timeout.InfiniteTimeSpan)
                deadline.CancelAfter(peerWait);
            var scratch = new byte[4096];
            try
            {
                while (!_ended)
                {
                    if (await ssl.ReadAsync(scratch, deadline.Token).ConfigureAwait(false) == 0)
                        NoteEnd();
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
            {
            }
        }

        public override void Flush() => ssl.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => ssl.FlushAsync(cancellationToken);
        public override bool CanRead => ssl.CanRead;
        public override bool CanWrite => ssl.CanWrite;

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                ssl.Dispose();
                transport.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
