using System.Text;
using FtpsMount.Protocol.Control;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Protocol;

/// <summary>Login was refused (530 and friends) or the server wants an account we don't have.</summary>
public sealed class FtpAuthenticationException : FtpException
{
    public FtpAuthenticationException(string message, FtpReply? reply = null) : base(message) => Reply = reply;
    public FtpReply? Reply { get; }
}

/// <summary>How the session ended up secured; shown by <c>ftpsmount probe</c>.</summary>
public sealed record FtpSecurityInfo
{
    /// <summary>"AUTH TLS", "AUTH SSL", "implicit TLS" or "none (plaintext)".</summary>
    public required string Method { get; init; }
    public TlsSessionInfo? Tls { get; init; }
    /// <summary>True when data connections are encrypted (PROT P).</summary>
    public bool DataProtected { get; init; }
    /// <summary>True after CCC: commands now travel in clear.</summary>
    public bool ControlCleared { get; init; }
    public string? TlsEngine { get; init; }
}

/// <summary>
/// One authenticated FTP(S) control connection and the transfers made over it. Not thread-safe: one
/// operation at a time (a pool gives concurrency). All paths are absolute; the session tracks no working
/// directory for callers (it may CWD internally for LIST, which is harmless because nothing else is relative).
/// Every method is async, takes a CancellationToken, and is bounded by the configured timeouts. After a
/// failure that leaves the connection out of step, <see cref="IsUsable"/> turns false and the session
/// should be disposed and replaced.
/// </summary>
public sealed partial class FtpSession : IAsyncDisposable
{
    private readonly ControlChannel _control;
    private readonly FtpsOptions _options;
    private readonly ITlsEngine? _tls;
    private readonly bool _ownsTlsEngine;
    private readonly IFtpLogger _log;
    private readonly TimeProvider _time;
    private int _busy;
    private bool _epsvFailed;
    private bool _eprtFailed;
    private bool _mlsdFailed;
    private bool _disposed;
    private string? _currentType;

    private FtpSession(ControlChannel control, FtpsOptions options, ITlsEngine? tls, bool ownsTlsEngine, IFtpLogger log, TimeProvider time)
    {
        _control = control;
        _options = options;
        _tls = tls;
        _ownsTlsEngine = ownsTlsEngine;
        _log = log;
        _time = time;
    }

    public FtpsOptions Options => _options;
    public FtpFeatures Features { get; private set; } = FtpFeatures.None;
    public FtpSecurityInfo Security { get; private set; } = new() { Method = "none" };
    public string Greeting { get; private set; } = string.Empty;

    /// <summary>The directory the server put us in at login (PWD), for resolving relative URL paths.</summary>
    public string HomeDirectory { get; private set; } = "/";

    /// <summary>UTF-8 in effect for names (server advertises UTF8, or no legacy encoding was configured).</summary>
    public bool Utf8 { get; private set; }

    public bool IsUsable => !_disposed && !_control.IsBroken;

    /// <summary>True while an operation or an open transfer holds the session.</summary>
    public bool IsBusy => Volatile.Read(ref _busy) != 0;
    public string? UnusableReason => _disposed ? "disposed" : _control.BrokenReason;

    /// <summary>How early-stopped transfers ended: how many left the session usable, how many did not.</summary>
    public AbortStatistics Aborts { get; } = new();

    /// <summary>When the session last completed a command; a pool uses it for idle NOOPs and draining.</summary>
    public DateTimeOffset LastUsed { get; private set; }

    /// <summary>Connects, secures and logs in. The password is sent only over TLS unless
    /// <see cref="FtpsOptions.AllowPlaintext"/> is set.</summary>
    /// <param name="tlsEngine">A shared engine (one per mount) or null to create one for this session.</param>
    public static async Task<FtpSession> ConnectAsync(FtpsOptions options, FtpCredentials credentials, ITlsEngine? tlsEngine = null,
        IFtpLogger? log = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(credentials);
        log ??= NullFtpLogger.Instance;
        FtpPath.ValidateArgument(credentials.User);
        FtpPath.ValidateArgument(credentials.Password);

        if (options.Mode == FtpsMode.Plaintext && !options.AllowPlaintext)
        {
            throw new FtpSecurityException("Plain FTP sends the password and all data unencrypted; it is only used when --allow-plaintext is given.");
        }

        if (options.ClearCommandChannel && options.Mode == FtpsMode.Implicit)
        {
            throw new FtpSecurityException("CCC (clear the command channel) is refused under implicit FTPS: the protocol does not allow leaving TLS on an implicit connection.");
        }

        var ownsEngine = false;
        if (options.Mode != FtpsMode.Plaintext && tlsEngine is null)
        {
            var verifier = new CertificateVerifier(options.Tls.Trust, $"{options.Host}:{options.EffectivePort}", log, time);
            tlsEngine = TlsEngineFactory.Create(options.Tls, verifier);
            ownsEngine = true;
        }

        var fallback = options.LegacyEncoding ?? Encoding.Latin1;
        var control = await ControlChannel.ConnectAsync(options.Host, options.EffectivePort, options.Timeouts.Connect, log,
            options.Timeouts.Command, fallback, cancellationToken).ConfigureAwait(false);
        var session = new FtpSession(control, options, tlsEngine, ownsEngine, log, time ?? TimeProvider.System);
        try
        {
            await session.LoginAsync(credentials, cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private string ServerName => _options.Tls.ServerName ?? _options.Host;

    private async Task LoginAsync(FtpCredentials credentials, CancellationToken ct)
    {
        string method;
        if (_options.Mode == FtpsMode.Implicit)
        {
            await _control.StartTlsAsync(_tls!, ServerName, ct).ConfigureAwait(false);
            method = "implicit TLS";
            await ReadGreetingAsync(ct).ConfigureAwait(false);
        }
        else
        {
            await ReadGreetingAsync(ct).ConfigureAwait(false);
            method = _options.Mode == FtpsMode.Plaintext ? "none (plaintext)" : await NegotiateAuthAsync(ct).ConfigureAwait(false);
        }

        var secured = _control.Tls is not null;
        await SendCredentialsAsync(credentials, ct).ConfigureAwait(false);

        // FEAT after login: some servers (proftpd with mod_tls, FileZilla) list more once authenticated.
        var feat = await _control.ExecuteAsync("FEAT", ct).ConfigureAwait(false);
        Features = FtpFeatures.Parse(feat);

        var dataProtected = false;
        if (secured)
        {
            dataProtected = await NegotiateProtectionAsync(ct).ConfigureAwait(false);
        }

        if (_options.ClearCommandChannel && secured)
        {
            var ccc = await _control.ExecuteAsync("CCC", ct).ConfigureAwait(false);
            if (!ccc.IsPositiveCompletion)
            {
                throw new FtpSecurityException($"The server refused CCC (clear command channel): {ccc}");
            }

            await _control.ClearTlsAsync(ct).ConfigureAwait(false);
            _log.Log(FtpLogLevel.Warning, "CCC: the control channel is now in clear text (commands, paths and replies are visible on the network; data stays protected when PROT P).");
        }

        await NegotiateEncodingAsync(ct).ConfigureAwait(false);
        await EnsureTypeAsync("I", ct).ConfigureAwait(false);

        var pwd = await _control.ExecuteAsync("PWD", ct).ConfigureAwait(false);
        if (pwd.Code == 257 && TryParseQuotedPath(pwd.Message, out var home) && home.StartsWith('/'))
        {
            HomeDirectory = home;
        }

        Security = new FtpSecurityInfo
        {
            Method = method,
            Tls = _control.Tls?.Info,
            DataProtected = dataProtected,
            ControlCleared = _control.TlsCleared,
            TlsEngine = _tls?.Name,
        };
        LastUsed = _time.GetUtcNow();
    }

    private async Task ReadGreetingAsync(CancellationToken ct)
    {
        var greeting = await _control.ReadReplyAsync(ct).ConfigureAwait(false);
        if (greeting.Code == 120)
        {
            // 120: service ready in nnn minutes — wait (bounded) for the real 220.
            greeting = await _control.ReadReplyAsync(ct).ConfigureAwait(false);
        }

        if (greeting.Code != 220)
        {
            _control.MarkBroken("bad greeting");
            throw greeting.Code == 421
                ? new FtpConnectionException($"The server refused the connection: {greeting}") { Reply = greeting }
                : new FtpProtocolException($"Unexpected greeting from the server: {greeting}");
        }

        Greeting = string.Join("\n", greeting.Lines);
    }

    private async Task<string> NegotiateAuthAsync(CancellationToken ct)
    {
        var mechanisms = _options.Auth switch
        {
            AuthMechanism.Tls => new[] { "TLS" },
            AuthMechanism.Ssl => new[] { "SSL" },
            _ => new[] { "TLS", "SSL" },
        };

        FtpReply? last = null;
        foreach (var mechanism in mechanisms)
        {
            var reply = await _control.ExecuteAsync("AUTH " + mechanism, ct).ConfigureAwait(false);
            // 234 (RFC 4217); 334 was used by the draft for AUTH SSL and by some old servers.
            if (reply.Code is 234 or 334)
            {
                await _control.StartTlsAsync(_tls!, ServerName, ct).ConfigureAwait(false);
                return "AUTH " + mechanism;
            }

            if (reply.Code == 421 || !_control.IsBroken && reply.IsPositiveCompletion)
            {
                // A 2xx other than 234 would mean the server thinks TLS started while it did not: don't guess.
                throw new FtpSecurityException($"Unexpected answer to AUTH {mechanism}: {reply}");
            }

            last = reply;
        }

        if (_options.AllowPlaintext)
        {
            _log.Log(FtpLogLevel.Warning, $"The server refused TLS ({last}); continuing WITHOUT ENCRYPTION because --allow-plaintext was given. The password and all data are visible on the network.");
            return "none (server refused AUTH; plaintext allowed)";
        }

        throw new FtpSecurityException(
            $"The server refused to start TLS ({last}). Nothing was sent in clear. " +
            "If the server only speaks implicit FTPS, use an ftps:// URL (port 990); to connect without encryption anyway, use --allow-plaintext.");
    }

    private async Task SendCredentialsAsync(FtpCredentials credentials, CancellationToken ct)
    {
        var user = await _control.ExecuteAsync("USER " + credentials.User, ct).ConfigureAwait(false);
        if (user.Code == 230)
        {
            return;
        }

        if (user.Code != 331 && user.Code != 332)
        {
            throw LoginFailure(user, "USER");
        }

        var pass = await _control.ExecuteAsync("PASS " + credentials.Password, ct, "PASS ****").ConfigureAwait(false);
        if (pass.Code is 230 or 202)
        {
            return;
        }

        if (pass.Code == 332)
        {
            throw new FtpAuthenticationException($"The server asks for an account (ACCT), which ftpsmount does not support: {pass}", pass);
        }

        throw LoginFailure(pass, "PASS");
    }

    private FtpException LoginFailure(FtpReply reply, string step)
    {
        if (reply.Code == 421)
        {
            return new FtpConnectionException($"The server closed the session during login: {reply}") { Reply = reply };
        }

        // 530/534/550 after TLS: "TLS required" and wrong password are both 530 on some servers.
        return new FtpAuthenticationException($"Login refused at {step}: {reply}. Check the user name and password.", reply);
    }

    private async Task<bool> NegotiateProtectionAsync(CancellationToken ct)
    {
        var implicitTls = _options.Mode == FtpsMode.Implicit;
        var pbsz = await _control.ExecuteAsync("PBSZ 0", ct).ConfigureAwait(false);
        if (!pbsz.IsPositiveCompletion && !implicitTls)
        {
            throw new FtpSecurityException($"The server refused PBSZ 0 after TLS: {pbsz}");
        }

        var level = _options.ClearDataChannel ? "C" : "P";
        var prot = await _control.ExecuteAsync("PROT " + level, ct).ConfigureAwait(false);
        if (!prot.IsPositiveCompletion)
        {
            if (implicitTls && level == "P")
            {
                // MS-FTPS: under implicit FTPS, PBSZ 0 / PROT P are in effect without being asked for.
                _log.Log(FtpLogLevel.Debug, $"PROT P refused under implicit FTPS ({prot}); data channels are protected implicitly.");
                return true;
            }

            throw level == "P"
                ? new FtpSecurityException($"The server refused PROT P (encrypted data connections): {prot}. Nothing will be transferred in clear; use --prot-c only if clear data connections are acceptable.")
                : new FtpSecurityException($"The server refused PROT C: {prot}");
        }

        if (level == "C")
        {
            _log.Log(FtpLogLevel.Warning, "PROT C: data connections (file contents and listings) are NOT encrypted.");
        }

        return level == "P";
    }

    private async Task NegotiateEncodingAsync(CancellationToken ct)
    {
        if (Features.Utf8)
        {
            // RFC 2640. Some servers answer 202/501 yet use UTF-8 anyway; a negative reply is not fatal.
            var reply = await _control.ExecuteAsync("OPTS UTF8 ON", ct).ConfigureAwait(false);
            _log.Log(FtpLogLevel.Debug, "OPTS UTF8 ON: " + reply);
            Utf8 = true;
            _control.Encoding = new UTF8Encoding(false);
            return;
        }

        if (_options.LegacyEncoding is { } legacy)
        {
            Utf8 = false;
            _control.Encoding = legacy;
            _control.Reader.FallbackEncoding = legacy;
            return;
        }

        // No UTF8 in FEAT and no legacy encoding configured: UTF-8 on the wire (RFC 2640's recommendation,
        // and what vsftpd/pure-ftpd pass through on Linux), decoding invalid bytes as Latin-1.
        Utf8 = true;
    }

    private async Task EnsureTypeAsync(string type, CancellationToken ct)
    {
        if (_currentType == type)
        {
            return;
        }

        var reply = await _control.ExecuteAsync("TYPE " + type, ct).ConfigureAwait(false);
        if (!reply.IsPositiveCompletion)
        {
            throw new FtpReplyException("TYPE " + type, reply);
        }

        _currentType = type;
    }

    internal static bool TryParseQuotedPath(string text, out string path)
    {
        // 257 "/dir with ""quotes""" is current directory (RFC 959 Appendix II: quotes doubled inside).
        path = string.Empty;
        var start = text.IndexOf('"');
        if (start < 0)
        {
            return false;
        }

        var sb = new StringBuilder();
        for (var i = start + 1; i < text.Length; i++)
        {
            if (text[i] == '"')
            {
                if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    sb.Append('"');
                    i++;
                    continue;
                }

                path = sb.ToString();
                return true;
            }

            sb.Append(text[i]);
        }

        return false;
    }

    /// <summary>Guards against concurrent use; a session is one conversation.</summary>
    private Lease Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("FtpSession is in use by another operation (a session is not thread-safe and a transfer holds it until completed or aborted).");
        }

        if (_control.IsBroken)
        {
            Volatile.Write(ref _busy, 0);
            _control.ThrowIfBroken();
        }

        return new Lease(this);
    }

    private void Leave()
    {
        LastUsed = _time.GetUtcNow();
        Volatile.Write(ref _busy, 0);
    }

    private readonly struct Lease(FtpSession session) : IDisposable
    {
        public void Dispose() => session.Leave();
    }

    /// <summary>Sends QUIT (bounded, best effort) and closes everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        if (!_control.IsBroken && Volatile.Read(ref _busy) == 0)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _control.ExecuteAsync("QUIT", cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FtpException or OperationCanceledException or IOException)
            {
                _log.Log(FtpLogLevel.Debug, "QUIT failed (closing anyway): " + ex.Message);
            }
        }

        _disposed = true;
        await _control.DisposeAsync().ConfigureAwait(false);
        if (_ownsTlsEngine)
        {
            _tls?.Dispose();
        }
    }
}

/// <summary>Counts of early-stopped transfers, by whether the control connection survived.</summary>
public sealed class AbortStatistics
{
    private int _kept;
    private int _lost;

    public int Kept => Volatile.Read(ref _kept);
    public int Lost => Volatile.Read(ref _lost);

    /// <summary>The replies seen while recovering from the last early stop, e.g. "426,200".</summary>
    public string? LastReplies { get; private set; }

    internal void Record(bool kept, string replies)
    {
        Interlocked.Increment(ref kept ? ref _kept : ref _lost);
        LastReplies = replies;
    }
}
