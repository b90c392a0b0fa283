using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using static FtpsMount.Protocol.Tls.OpenSsl.NativeMethods;

namespace FtpsMount.Protocol.Tls.OpenSsl;

/// <summary>
/// TLS through OpenSSL 3 (libssl.so.3) via P/Invoke, with explicit session hand-off: every control connection
/// keeps the sessions its server issued, and each data connection resumes its own control connection's session,
/// on TLS 1.2 and TLS 1.3, with any number of control connections open at once.
/// </summary>
/// <remarks>
/// <para>OpenSSL does no certificate verification (SSL_VERIFY_NONE); after each handshake the peer's certificates
/// are handed to the <see cref="ICertificateVerifier"/>. A data connection that resumed its control connection's
/// session must present the control connection's certificate; one that did not resume is verified in full.</para>
/// <para>Sessions are captured with the client new-session callback (SSL_SESS_CACHE_CLIENT |
/// SSL_SESS_CACHE_NO_INTERNAL_STORE): in TLS 1.3 the tickets arrive after the handshake, while the control
/// connection reads its first replies, so they are already there when the first PASV is answered.</para>
/// <para><b>Which session a data connection gets</b>: the newest session not handed out yet — issued on the control
/// connection itself or on one of its own data connections that resumed — otherwise the newest one; never a
/// session from another control connection. Measured (2026-11, this engine, OpenSSL 3.0.19, 127.0.0.1):</para>
/// <list type="bullet">
/// <item>proftpd 1.3.8 (mod_tls 2.9.2), TLS 1.3, default TLSOptions: each control connection gets two stateless
/// tickets stamped with 32 random bytes of "ticket appdata" unique to that control connection. A data connection is
/// accepted only if it resumed and its ticket carries the same appdata. A ticket from another control connection
/// resumes fine at the TLS level (SessionReused is true) and is then refused with 425 ("mismatched control/data
/// ticket appdata"): that is what happens to SslStream, whose per-host cache mixes the tickets of a pool
/// (4 control connections × 3 LISTs: 7 of 12 refused; on TLS 1.2, 4 × 4: 12 of 16). Tickets are not single-use on
/// proftpd: always the first, always the newest, or alternating control tickets all passed 4 × 3 in parallel.</item>
/// <item>Tickets expire with the server's session timeout (proftpd <c>TLSSessionCache internal: N</c>; OpenSSL's
/// default is 7200 s). With N = 15 and a LIST every 10 s, handing over the control connection's tickets failed from
/// the third LIST on (425); handing over the ticket issued on the previous data connection (same appdata, fresh
/// lifetime) kept working (2 × 5 LISTs over 40 s). Hence the newest ticket, taken from data connections too. That
/// needs the data connection's tickets to be read, which a clean <see cref="TlsStream.ShutdownAsync"/> waiting for
/// the peer's close_notify does. proftpd issues no ticket on upload data connections, so a control connection that
/// only uploads still ages out: retire pooled control connections before the server's session timeout.</item>
/// <item>Preferring a ticket not handed out yet keeps servers with single-use TLS 1.3 tickets working (OpenSSL
/// servers with early data enabled, i.e. replay protection): against <c>openssl s_server -early_data</c> always
/// handing over the same ticket fails on the second data connection; this rule resumed 5 of 5.</item>
/// <item>vsftpd 3.0.3 (require_ssl_reuse=YES) only checks that the data connection resumed some session; 4 × 6 passed
/// on TLS 1.2 and 1.3 (SslStream, 4 × 4 on TLS 1.3: 2 refused with "522 SSL connection failed: session reuse
/// required"). pure-ftpd 1.0.50 issues no TLS 1.3 tickets and does not require reuse (full handshakes; all passed);
/// on TLS 1.2 its sessions resumed. proftpd on TLS 1.2: one multi-use session per control connection, 4 × 6 passed.</item>
/// </list>
/// </remarks>
public sealed class OpenSslTlsEngine : ITlsEngine
{
    private static readonly Lazy<string?> s_unsupportedReason = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_exDataIndex = -1;
    private static string s_version = "OpenSSL";

    private readonly TlsOptions _options;
    private readonly ICertificateVerifier _verifier;
    private readonly SafeSslContextHandle _context;

    /// <summary>True where libssl.so.3 / libcrypto.so.3 (OpenSSL 3.x) load; false on Windows.</summary>
    public static bool IsSupported => s_unsupportedReason.Value is null;

    /// <summary>Why <see cref="IsSupported"/> is false (null when it is true).</summary>
    public static string? UnsupportedReason => s_unsupportedReason.Value;

    internal static int ExDataIndex => s_exDataIndex;

    /// <exception cref="PlatformNotSupportedException">OpenSSL 3 is not available.</exception>
    /// <exception cref="FtpSecurityException">The client certificate or key could not be loaded.</exception>
    public OpenSslTlsEngine(TlsOptions options, ICertificateVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(verifier);
        if (!IsSupported)
            throw new PlatformNotSupportedException("OpenSSL 3 is not available: " + UnsupportedReason);
        if (options.MinVersion > options.MaxVersion)
            throw new ArgumentException($"TLS MinVersion {options.MinVersion} is above MaxVersion {options.MaxVersion}.", nameof(options));

        _options = options;
        _verifier = verifier;
        Name = s_version;

        ERR_clear_error();
        _context = SSL_CTX_new(TLS_client_method());
        if (_context.IsInvalid)
        {
            var errors = TakeErrors();
            _context.Dispose();
            throw new FtpSecurityException("OpenSSL could not create a TLS context: " + errors);
        }

        try
        {
            Configure();
        }
        catch
        {
            _context.Dispose();
            throw;
        }
    }

    public string Name { get; }

    private unsafe void Configure()
    {
        if (SSL_CTX_ctrl(_context, SSL_CTRL_SET_MIN_PROTO_VERSION, WireVersion(_options.MinVersion), 0) != 1 ||
            SSL_CTX_ctrl(_context, SSL_CTRL_SET_MAX_PROTO_VERSION, WireVersion(_options.MaxVersion), 0) != 1)
            throw new FtpSecurityException("OpenSSL refused the TLS version range: " + TakeErrors());

        SSL_CTX_set_options(_context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
        SSL_CTX_set_verify(_context, SSL_VERIFY_NONE, 0); // the ICertificateVerifier judges, after the handshake
        SSL_CTX_ctrl(_context, SSL_CTRL_SET_SESS_CACHE_MODE, (nint)(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE), 0);
        SSL_CTX_sess_set_new_cb(_context, &OnNewSession);
        // An encrypted key must fail to load, not make OpenSSL prompt on the terminal.
        SSL_CTX_set_default_passwd_cb(_context, &NoPassword);

        LoadClientCertificate();
    }

    private void LoadClientCertificate()
    {
        var certFile = _options.ClientCertificateFile;
        var keyFile = _options.ClientKeyFile ?? certFile;
        if (certFile is null)
        {
            if (_options.ClientKeyFile is not null)
                throw new FtpSecurityException($"A client key ({_options.ClientKeyFile}) was given without a client certificate.");
            return;
        }
        if (!File.Exists(certFile))
            throw new FtpSecurityException($"The client certificate file {certFile} does not exist.");
        if (!File.Exists(keyFile))
            throw new FtpSecurityException($"The client key file {keyFile} does not exist.");

        ERR_clear_error();
        if (SSL_CTX_use_certificate_chain_file(_context, certFile) != 1)
            throw new FtpSecurityException(
                $"Could not load the client certificate from {certFile} (expected PEM): {TakeErrors() ?? "no certificate found"}");
        if (SSL_CTX_use_PrivateKey_file(_context, keyFile!, SSL_FILETYPE_PEM) != 1)
            throw new FtpSecurityException(
                $"Could not load the client private key from {keyFile} for the certificate in {certFile} (expected the matching unencrypted PEM key): {TakeErrors() ?? "no key found"}");
        if (SSL_CTX_check_private_key(_context) != 1)
            throw new FtpSecurityException(
                $"The private key in {keyFile} does not belong to the certificate in {certFile}: {TakeErrors()}");
    }

    public async Task<TlsStream> ConnectControlAsync(Stream transport, string targetHost, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(targetHost);
        var host = _options.ServerName ?? targetHost;
        var stream = new OpenSslTlsStream(_context, transport, host, collectSessions: true);
        try
        {
            await HandshakeAsync(stream, cancellationToken).ConfigureAwait(false);
            var info = stream.Info;
            if (info.PeerCertificate is null)
                throw new FtpSecurityException($"{host} presented no certificate.");
            _verifier.Verify(host, info.PeerCertificate, info.PeerChain);
            return stream;
        }
        catch
        {
            stream.ReleaseConnection(disposeTransport: false);
            throw;
        }
    }

    public async Task<TlsStream> ConnectDataAsync(Stream transport, TlsStream control, string targetHost, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(targetHost);
        if (control is not OpenSslTlsStream controlStream)
            throw new ArgumentException("The control connection was not created by an OpenSSL engine.", nameof(control));

        var host = _options.ServerName ?? targetHost;
        var stream = new OpenSslTlsStream(_context, transport, host, collectSessions: false) { HarvestInto = controlStream };
        try
        {
            using (var session = controlStream.SessionForDataConnection())
            {
                if (session is not null)
                    stream.SetSession(session);
            }

            await HandshakeAsync(stream, cancellationToken).ConfigureAwait(false);
            var info = stream.Info;
            if (info.PeerCertificate is null)
                throw new FtpSecurityException($"{host} presented no certificate on the data connection.");

            var controlLeaf = controlStream.Info.PeerCertificate;
            if (info.SessionReused && controlLeaf is not null)
            {
                // A resumed session carries the certificate verified on the control connection; a different one
                // means the session did not come from there.
                if (!info.PeerCertificate.RawDataMemory.Span.SequenceEqual(controlLeaf.RawDataMemory.Span))
                    throw new FtpSecurityException(
                        $"The data connection to {host} resumed a session with a certificate other than the control connection's.");
            }
            else
            {
                _verifier.Verify(host, info.PeerCertificate, info.PeerChain);
            }
            return stream;
        }
        catch
        {
            stream.ReleaseConnection(disposeTransport: false);
            throw;
        }
    }

    private static async Task HandshakeAsync(OpenSslTlsStream stream, CancellationToken cancellationToken)
    {
        try
        {
            await stream.HandshakeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new FtpConnectionException($"The connection to {stream.Host} failed during the TLS handshake: {e.Message}", e);
        }
    }

    public void Dispose() => _context.Dispose();

    private static nint WireVersion(TlsVersion version) => version switch
    {
        TlsVersion.Tls12 => TLS1_2_VERSION,
        TlsVersion.Tls13 => TLS1_3_VERSION,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, null),
    };

    // ------------------------------------------------------------------ native callbacks

    /// <summary>SSL_CTX_sess_set_new_cb: a session (TLS 1.2) or ticket (TLS 1.3) arrived on <paramref name="ssl"/>.
    /// Returning 1 keeps the reference OpenSSL passed in.</summary>
    [UnmanagedCallersOnly]
    private static int OnNewSession(nint ssl, nint session)
    {
        try
        {
            var cookie = SSL_get_ex_data(ssl, s_exDataIndex);
            if (cookie == 0)
                return 0;
            return GCHandle.FromIntPtr(cookie).Target is OpenSslTlsStream stream && stream.OnNewSession(session) ? 1 : 0;
        }
        catch (Exception)
        {
            return 0; // never let an exception cross into native code
        }
    }

    /// <summary>pem_password_cb: no passphrase available.</summary>
    [UnmanagedCallersOnly]
    private static unsafe int NoPassword(byte* buffer, int size, int rwflag, nint userData) => 0;

    // ------------------------------------------------------------------ library probe

    private static string? Probe()
    {
        if (OperatingSystem.IsWindows())
            return "the OpenSSL backend is not used on Windows";
        try
        {
            EnsureResolver();
            var number = (ulong)OpenSSL_version_num();
            var text = PtrToString(OpenSSL_version(OPENSSL_VERSION)) ?? "OpenSSL";
            if (number < 0x3000_0000UL)
                return $"found {text}, need OpenSSL 3";
            if (OPENSSL_init_ssl(0, 0) != 1)
                return "OPENSSL_init_ssl failed: " + TakeErrors();
            if (TLS_client_method() == 0)
                return "TLS_client_method failed";
            var index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, 0, 0, 0, 0);
            if (index < 0)
                return "CRYPTO_get_ex_new_index failed";
            s_exDataIndex = index;
            // "OpenSSL 3.0.19 27 Jan 2026" -> "OpenSSL 3.0.19"
            var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            s_version = parts.Length >= 2 ? parts[0] + " " + parts[1] : text;
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return e.Message;
        }
    }
}
