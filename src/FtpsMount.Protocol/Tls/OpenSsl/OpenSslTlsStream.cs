using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using static FtpsMount.Protocol.Tls.OpenSsl.NativeMethods;

namespace FtpsMount.Protocol.Tls.OpenSsl;

/// <summary>
/// One TLS client connection driven by OpenSSL over memory BIOs. OpenSSL never touches the socket: ciphertext
/// read from <see cref="InnerStream"/> is written into the read BIO, and whatever OpenSSL puts into the write
/// BIO is copied to <see cref="InnerStream"/> asynchronously.
/// </summary>
/// <remarks>
/// <para>Concurrency: one reader and one writer may run at the same time. Every SSL_*/BIO_* call happens inside
/// <see cref="_sslLock"/>, which is never held across an await. Ciphertext leaves in the order OpenSSL produced
/// it because only the holder of <see cref="_flushGate"/> takes bytes out of the write BIO, and it writes them
/// to the transport before taking more.</para>
/// <para>The transport is read one TLS record at a time (5-byte header, then exactly the body), so nothing
/// after the record carrying the peer's close_notify is consumed: after CCC the control channel continues in
/// clear on <see cref="InnerStream"/> without losing bytes.</para>
/// </remarks>
internal sealed class OpenSslTlsStream : TlsStream
{
    private const int RecordHeaderLength = 5;
    private const int MaxWriteChunk = 64 * 1024;
    private const int MaxSessionsKept = 8;
    private const int ReadAheadBufferLength = 64 * 1024;

    private readonly Lock _sslLock = new();
    private readonly SafeSslHandle _ssl;
    private readonly nint _readBio;  // owned by _ssl
    private readonly nint _writeBio; // owned by _ssl
    private readonly Stream _transport;
    private GCHandle _self;

    private readonly SemaphoreSlim _readGate = new(1, 1);
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SemaphoreSlim _flushGate = new(1, 1);

    // Read side (only touched by the holder of _readGate, or by the handshake before the stream is published).
    private readonly byte[] _header = new byte[RecordHeaderLength];
    private readonly byte[] _inBuffer;
    private int _headerFill;
    private int _bodyRemaining;
    private bool _transportEof;
    private bool _readEnded;
    private volatile bool _receivedCloseNotify;

    // Write side (only touched by the holder of _flushGate).
    private readonly byte[] _outBuffer = new byte[MaxWriteChunk + 4096];

    private volatile bool _disposed;
    private TlsSessionInfo? _info;

    // Sessions the server issued on this connection (TLS 1.2: one at the end of the handshake; TLS 1.3: one per
    // NewSessionTicket, which arrive after the handshake). Oldest first. Guarded by _sessionLock, which may be
    // taken while _sslLock is held (the new-session callback runs inside SSL_read), never the other way round.
    private readonly Lock _sessionLock = new();
    private readonly List<StoredSession> _sessions = [];

    internal unsafe OpenSslTlsStream(SafeSslContextHandle context, Stream transport, string host, bool collectSessions)
    {
        _transport = transport;
        Host = host;
        CollectSessions = collectSessions;
        // Data connections carry nothing but TLS until they close, so they read whatever the socket has (many records
        // per read; measured: one 256 MiB download made ~33,000 socket reads record by record). The control connection
        // keeps reading one record at a time: after a CCC or a shutdown, the bytes that follow are clear text.
        ReadAhead = !collectSessions;
        _inBuffer = new byte[ReadAhead ? ReadAheadBufferLength : 18 * 1024];
        _ssl = SSL_new(context);
        if (_ssl.IsInvalid)
        {
            var errors = TakeErrors();
            _ssl.Dispose();
            throw new FtpSecurityException("OpenSSL could not create a TLS connection: " + (errors ?? "SSL_new failed"));
        }

        var ssl = _ssl.DangerousGetHandle();
        _readBio = BIO_new(BIO_s_mem());
        _writeBio = BIO_new(BIO_s_mem());
        if (_readBio == 0 || _writeBio == 0)
        {
            if (_readBio != 0) BIO_free(_readBio);
            if (_writeBio != 0) BIO_free(_writeBio);
            _ssl.Dispose();
            throw new OutOfMemoryException("OpenSSL could not allocate memory BIOs.");
        }
        // An empty memory BIO reports "retry" (-1) rather than EOF, so OpenSSL answers WANT_READ and we go and
        // fetch more from the transport. Transport EOF is tracked by us, never shown to OpenSSL.
        BIO_ctrl(_readBio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, 0);
        BIO_ctrl(_writeBio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, 0);
        SSL_set_bio(ssl, _readBio, _writeBio);
        SSL_set_connect_state(ssl);

        // Weak: the SSL must not keep this object alive; the callback only fires during our own SSL_* calls.
        _self = GCHandle.Alloc(this, GCHandleType.Weak);
        SSL_set_ex_data(ssl, OpenSslTlsEngine.ExDataIndex, GCHandle.ToIntPtr(_self));

        var sni = SniName(host);
        if (sni is not null)
        {
            var name = System.Text.Encoding.ASCII.GetBytes(sni + "\0");
            fixed (byte* p = name)
            {
                if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (nint)p) != 1)
                {
                    var errors = TakeErrors();
                    ReleaseConnection(disposeTransport: false);
                    throw new FtpSecurityException($"OpenSSL refused the server name '{host}': {errors}");
                }
            }
        }
    }

    /// <summary>The name to send in SNI: ASCII (IDNA for international names), no trailing dot; null for IP
    /// literals, which RFC 6066 §3 excludes.</summary>
    private static string? SniName(string host)
    {
        var name = host.TrimEnd('.');
        if (name.Length == 0 || System.Net.IPAddress.TryParse(name, out _))
            return null;
        if (System.Text.Ascii.IsValid(name))
            return name;
        try
        {
            return new System.Globalization.IdnMapping().GetAscii(name);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    internal string Host { get; }

    /// <summary>Whether reads take everything the transport has rather than one TLS record (data connections).</summary>
    internal bool ReadAhead { get; }

    /// <summary>Control connections keep the sessions the server issues so data connections can resume them.</summary>
    internal bool CollectSessions { get; }

    public override TlsSessionInfo Info => _info ?? throw new InvalidOperationException("The TLS handshake has not completed.");

    public override Stream InnerStream => _transport;

    public override bool ReceivedCloseNotify => _receivedCloseNotify;

    // ------------------------------------------------------------------ sessions

    /// <summary>Makes this connection offer <paramref name="session"/> for resumption. Takes a private copy so a
    /// failure on this connection (OpenSSL marks the session of a connection that dies with a fatal alert as not
    /// resumable) cannot spoil the control connection's session for the next data connection.</summary>
    internal void SetSession(SafeSslSessionHandle session)
    {
        var added = false;
        session.DangerousAddRef(ref added);
        try
        {
            lock (_sslLock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                ERR_clear_error();
                var copy = SSL_SESSION_dup(session.DangerousGetHandle());
                if (copy == 0)
                    throw new FtpSecurityException("OpenSSL could not copy the TLS session: " + TakeErrors());
                var ok = SSL_set_session(_ssl.DangerousGetHandle(), copy);
                SSL_SESSION_free(copy); // SSL_set_session took its own reference
                if (ok != 1)
                    throw new FtpSecurityException("OpenSSL refused the TLS session: " + TakeErrors());
            }
        }
        finally
        {
            if (added) session.DangerousRelease();
        }
    }

    /// <summary>Data connections: the control connection whose session this one resumes. Tickets the server issues
    /// on this connection after a successful resumption are handed back to it.</summary>
    internal OpenSslTlsStream? HarvestInto { get; set; }

    /// <summary>Called from the new-session callback (inside an SSL_* call, _sslLock held). Returns true when the
    /// reference was kept.</summary>
    internal bool OnNewSession(nint session)
    {
        if (_disposed)
            return false;
        if (CollectSessions)
            return Store(session);
        // A ticket issued on a data connection that resumed the control connection's session continues that
        // session (proftpd stamps it with the control connection's ticket appdata), with a fresh lifetime.
        if (HarvestInto is { } control && _info is { SessionReused: true })
            return control.Store(session);
        return false;
    }

    private bool Store(nint session)
    {
        lock (_sessionLock)
        {
            if (_disposed)
                return false;
            _sessions.Add(new StoredSession(new SafeSslSessionHandle(session)));
            if (_sessions.Count > MaxSessionsKept)
            {
                _sessions[0].Handle.Dispose();
                _sessions.RemoveAt(0);
            }
        }
        return true;
    }

    /// <summary>
    /// A new reference to the session the next data connection of this control connection should resume: the
    /// newest one not handed out yet, otherwise the newest one (see <see cref="OpenSslTlsEngine"/> for why).
    /// Null when the server issued nothing resumable (the data connection then does a full handshake).
    /// </summary>
    internal SafeSslSessionHandle? SessionForDataConnection()
    {
        lock (_sessionLock)
        {
            var pick = _sessions.LastOrDefault(e => !e.HandedOut) ?? _sessions.LastOrDefault();
            if (pick is not null)
            {
                pick.HandedOut = true;
                return Share(pick.Handle);
            }
        }

        // No callback-delivered session (a server that sends no ticket): whatever the connection holds now.
        lock (_sslLock)
        {
            if (_disposed)
                return null;
            var current = SSL_get1_session(_ssl.DangerousGetHandle());
            if (current == 0)
                return null;
            if (SSL_SESSION_is_resumable(current) != 1)
            {
                SSL_SESSION_free(current);
                return null;
            }
            return new SafeSslSessionHandle(current);
        }
    }

    private sealed class StoredSession(SafeSslSessionHandle handle)
    {
        public SafeSslSessionHandle Handle { get; } = handle;
        public bool HandedOut { get; set; }
    }

    // A second managed owner of the same native reference would double-free; take a new native reference.
    private static SafeSslSessionHandle Share(SafeSslSessionHandle session)
    {
        var p = session.DangerousGetHandle();
        SSL_SESSION_up_ref(p);
        return new SafeSslSessionHandle(p);
    }

    /// <summary>Hex session IDs of the sessions collected so far (diagnostics and tests).</summary>
    internal IReadOnlyList<string> CollectedSessionIds()
    {
        lock (_sessionLock)
        {
            return _sessions.Select(s => SessionId(s.Handle.DangerousGetHandle())).ToList();
        }
    }

    internal string CurrentSessionId()
    {
        lock (_sslLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var s = SSL_get1_session(_ssl.DangerousGetHandle());
            try { return s == 0 ? "" : SessionId(s); }
            finally { if (s != 0) SSL_SESSION_free(s); }
        }
    }

    private static unsafe string SessionId(nint session)
    {
        uint length;
        var id = SSL_SESSION_get_id(session, &length);
        return id == null ? "" : Convert.ToHexStringLower(new ReadOnlySpan<byte>(id, (int)length));
    }

    // ------------------------------------------------------------------ handshake

    /// <summary>Runs the client handshake. Throws <see cref="FtpSecurityException"/> when TLS fails,
    /// <see cref="FtpConnectionException"/> when the transport fails.</summary>
    internal async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int rc, error;
            string? errors;
            lock (_sslLock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var ssl = _ssl.DangerousGetHandle();
                ERR_clear_error();
                rc = SSL_do_handshake(ssl);
                error = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
                errors = rc == 1 ? null : TakeErrors();
            }

            if (rc == 1 || error == SSL_ERROR_WANT_READ)
            {
                await FlushTransportAsync(cancellationToken).ConfigureAwait(false);
                if (rc == 1)
                {
                    _info = CaptureInfo();
                    return;
                }
                if (!await FeedAsync(cancellationToken).ConfigureAwait(false))
                    throw new FtpSecurityException($"TLS handshake with {Host} failed: the server closed the connection.");
                continue;
            }

            // Fatal: OpenSSL may have queued an alert; try to deliver it, but the handshake error is what matters.
            try
            {
                await FlushTransportAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or FtpConnectionException or ObjectDisposedException)
            {
            }
            throw new FtpSecurityException($"TLS handshake with {Host} failed: {errors ?? DescribeError(error)}");
        }
    }

    private TlsSessionInfo CaptureInfo()
    {
        lock (_sslLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var ssl = _ssl.DangerousGetHandle();
            var protocol = PtrToString(SSL_get_version(ssl)) ?? "unknown";
            var cipher = SSL_get_current_cipher(ssl);
            var cipherName = cipher == 0 ? "unknown" : PtrToString(SSL_CIPHER_get_name(cipher)) ?? "unknown";
            var reused = SSL_session_reused(ssl) == 1;

            X509Certificate2? leaf = null;
            var leafHandle = SSL_get1_peer_certificate(ssl);
            if (leafHandle != 0)
            {
                try { leaf = ToCertificate(leafHandle); }
                finally { X509_free(leafHandle); }
            }

            // On the client the stack starts with the server's own certificate, as sent (not owned by us).
            var chain = new List<X509Certificate2>();
            var stack = SSL_get_peer_cert_chain(ssl);
            if (stack != 0)
            {
                var count = OPENSSL_sk_num(stack);
                for (var i = 0; i < count; i++)
                {
                    var x = OPENSSL_sk_value(stack, i);
                    if (x != 0)
                        chain.Add(ToCertificate(x));
                }
            }
            if (chain.Count == 0 && leaf is not null)
                chain.Add(leaf);
            ERR_clear_error();
            return new TlsSessionInfo(protocol, cipherName, reused, leaf, chain);
        }
    }

    private static unsafe X509Certificate2 ToCertificate(nint x509)
    {
        var length = i2d_X509(x509, null);
        if (length <= 0)
            throw new FtpSecurityException("OpenSSL could not encode the server certificate: " + TakeErrors());
        var der = new byte[length];
        fixed (byte* start = der)
        {
            var cursor = start; // i2d advances the pointer it is given
            if (i2d_X509(x509, &cursor) != length)
                throw new FtpSecurityException("OpenSSL could not encode the server certificate: " + TakeErrors());
        }
        return X509CertificateLoader.LoadCertificate(der);
    }

    // ------------------------------------------------------------------ transport plumbing

    /// <summary>Reads the next piece of one TLS record from the transport into the read BIO: the 5-byte header
    /// (fed alone, so OpenSSL can reject garbage before we wait for a body), or up to the rest of the body; with
    /// <see cref="ReadAhead"/>, whatever the transport has (up to 64 KiB).
    /// Returns false at transport EOF. Partial progress survives cancellation.</summary>
    private async ValueTask<bool> FeedAsync(CancellationToken cancellationToken)
    {
        if (_transportEof)
            return false;

        if (ReadAhead)
        {
            var got = await _transport.ReadAsync(_inBuffer, cancellationToken).ConfigureAwait(false);
            if (got == 0)
            {
                _transportEof = true;
                return false;
            }
            PutCiphertext(_inBuffer.AsSpan(0, got));
            return true;
        }

        if (_bodyRemaining == 0)
        {
            while (_headerFill < RecordHeaderLength)
            {
                var n = await _transport.ReadAsync(_header.AsMemory(_headerFill), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    _transportEof = true;
                    return false;
                }
                _headerFill += n;
            }
            _headerFill = 0;
            _bodyRemaining = (_header[3] << 8) | _header[4];
            PutCiphertext(_header);
            return true;
        }

        var read = await _transport.ReadAsync(_inBuffer.AsMemory(0, Math.Min(_bodyRemaining, _inBuffer.Length)), cancellationToken)
            .ConfigureAwait(false);
        if (read == 0)
        {
            _transportEof = true;
            return false;
        }
        _bodyRemaining -= read;
        PutCiphertext(_inBuffer.AsSpan(0, read));
        return true;
    }

    private unsafe void PutCiphertext(ReadOnlySpan<byte> data)
    {
        lock (_sslLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            fixed (byte* p = data)
            {
                if (BIO_write(_readBio, p, data.Length) != data.Length)
                    throw new FtpConnectionException("OpenSSL could not buffer received data: " + TakeErrors());
            }
        }
    }

    private unsafe int TakeCiphertext(Span<byte> destination)
    {
        lock (_sslLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            fixed (byte* p = destination)
            {
                return BIO_read(_writeBio, p, destination.Length);
            }
        }
    }

    private bool HasPendingCiphertext()
    {
        lock (_sslLock)
        {
            return !_disposed && BIO_ctrl(_writeBio, BIO_CTRL_PENDING, 0, 0) > 0;
        }
    }

    /// <summary>Sends everything OpenSSL has produced so far; returns once it is written to the transport.</summary>
    private ValueTask FlushTransportAsync(CancellationToken cancellationToken) => FlushAsync(wait: true, cancellationToken);

    /// <summary>Moves ciphertext from the write BIO to the transport. With <paramref name="wait"/> false the call
    /// gives up when another flush is running: that flush re-checks the BIO after releasing the gate, so the bytes
    /// still go out (used by readers, whose output — alerts, KeyUpdate replies — is never urgent).</summary>
    private async ValueTask FlushAsync(bool wait, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (wait)
                await _flushGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            else if (!_flushGate.Wait(0, CancellationToken.None))
                return;

            try
            {
                var wrote = false;
                while (true)
                {
                    var n = TakeCiphertext(_outBuffer);
                    if (n <= 0)
                        break;
                    await _transport.WriteAsync(_outBuffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    wrote = true;
                }
                if (wrote)
                    await _transport.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _flushGate.Release();
            }

            if (!HasPendingCiphertext())
                return;
            wait = false; // output appeared while we held the gate; drain it unless someone else is already on it
        }
    }

    // ------------------------------------------------------------------ reading

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
            return 0;
        await _readGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await ReadCoreAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _readGate.Release();
        }
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

    public override int Read(Span<byte> buffer)
    {
        var rented = new byte[buffer.Length];
        var n = ReadAsync(rented.AsMemory(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        rented.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_readEnded)
                return 0;

            var (rc, read, error, errors, pendingOutput) = ReadStep(buffer.Span);
            if (pendingOutput)
                await FlushAsync(wait: false, cancellationToken).ConfigureAwait(false);

            if (rc == 1)
                return read;

            switch (error)
            {
                case SSL_ERROR_WANT_READ:
                    if (!await FeedAsync(cancellationToken).ConfigureAwait(false))
                    {
                        // TCP EOF without close_notify: report end of data, leave ReceivedCloseNotify false so the
                        // caller can tell a truncation from a clean end (FTP then trusts the 226 reply).
                        _readEnded = true;
                        return 0;
                    }
                    continue;
                case SSL_ERROR_ZERO_RETURN:
                    _receivedCloseNotify = true;
                    _readEnded = true;
                    return 0;
                default:
                    _readEnded = true;
                    throw new FtpConnectionException($"TLS error while reading from {Host}: {errors ?? DescribeError(error)}");
            }
        }
    }

    private unsafe (int Rc, int Read, int Error, string? Errors, bool PendingOutput) ReadStep(Span<byte> destination)
    {
        lock (_sslLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var ssl = _ssl.DangerousGetHandle();
            ERR_clear_error();
            nuint read;
            int rc;
            fixed (byte* p = destination)
            {
                rc = SSL_read_ex(ssl, p, (nuint)destination.Length, &read);
            }
            var error = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
            var errors = rc == 1 ? null : TakeErrors();
            var pending = BIO_ctrl(_writeBio, BIO_CTRL_PENDING, 0, 0) > 0;
            if (error == SSL_ERROR_ZERO_RETURN || (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0)
                _receivedCloseNotify = true;
            return (rc, (int)read, error, errors, pending);
        }
    }

    // ------------------------------------------------------------------ writing

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!buffer.IsEmpty)
            {
                var written = WriteStep(buffer.Span[..Math.Min(buffer.Length, MaxWriteChunk)]);
                buffer = buffer[written..];
                await FlushTransportAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeGate.Release();
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

    public override void Write(ReadOnlySpan<byte> buffer) =>
        WriteAsync(buffer.ToArray(), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    private unsafe int WriteStep(ReadOnlySpan<byte> source)
    {
        lock (_sslLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var ssl = _ssl.DangerousGetHandle();
            ERR_clear_error();
            nuint written;
            int rc;
            fixed (byte* p = source)
            {
                rc = SSL_write_ex(ssl, p, (nuint)source.Length, &written);
            }
            if (rc == 1)
                return (int)written;
            var error = SSL_get_error(ssl, rc);
            var errors = TakeErrors();
            // Memory BIOs never push back (no WANT_WRITE) and renegotiation is disabled, so anything here is fatal.
            throw new FtpConnectionException($"TLS error while writing to {Host}: {errors ?? DescribeError(error)}");
        }
    }

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    // ------------------------------------------------------------------ shutdown

    public override async Task ShutdownAsync(TimeSpan peerWait, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_sslLock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var ssl = _ssl.DangerousGetHandle();
                if ((SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0)
                {
                    ERR_clear_error();
                    SSL_shutdown(ssl); // queues close_notify in the write BIO; the result only says whether the peer's came too
                    ERR_clear_error();
                }
            }
            try
            {
                await FlushTransportAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException
                                           || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return; // the peer is gone; nothing more to wait for
            }
        }
        finally
        {
            _writeGate.Release();
        }

        if (_receivedCloseNotify || _readEnded || peerWait == TimeSpan.Zero)
            return;

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (peerWait != Timeout.InfiniteTimeSpan)
            deadline.CancelAfter(peerWait);
        try
        {
            await _readGate.WaitAsync(deadline.Token).ConfigureAwait(false);
            try
            {
                // Application data still in flight is discarded; what matters is how the stream ends.
                var scratch = new byte[4096];
                while (!_readEnded)
                    await ReadCoreAsync(scratch, deadline.Token).ConfigureAwait(false);
            }
            finally
            {
                _readGate.Release();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // peerWait elapsed
        }
        catch (Exception e) when (e is IOException or FtpConnectionException or ObjectDisposedException or NotSupportedException)
        {
            // the peer reset or sent garbage instead of close_notify: the shutdown is as done as it will get
        }
    }

    // ------------------------------------------------------------------ Stream boilerplate

    public override bool CanRead => !_disposed;
    public override bool CanWrite => !_disposed;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            ReleaseConnection(disposeTransport: true);
        base.Dispose(disposing);
    }

    /// <summary>Frees the native connection; the transport is closed too unless <paramref name="disposeTransport"/>
    /// is false (a failed connect leaves the transport to its owner).</summary>
    internal void ReleaseConnection(bool disposeTransport)
    {
        lock (_sslLock)
        {
            if (_disposed)
                return;
            _disposed = true;
            _ssl.Dispose();
        }
        if (_self.IsAllocated)
            _self.Free();
        lock (_sessionLock)
        {
            foreach (var s in _sessions)
                s.Handle.Dispose();
            _sessions.Clear();
        }
        if (disposeTransport)
            _transport.Dispose();
    }

    private static string DescribeError(int error) => error switch
    {
        SSL_ERROR_SYSCALL => "I/O error reported by OpenSSL (SSL_ERROR_SYSCALL)",
        SSL_ERROR_SSL => "protocol error (SSL_ERROR_SSL)",
        SSL_ERROR_WANT_WRITE => "unexpected SSL_ERROR_WANT_WRITE",
        _ => $"SSL_get_error {error}",
    };
}
