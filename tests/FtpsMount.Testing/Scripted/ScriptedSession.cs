using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Testing.Scripted;

/// <summary>One control connection: line reading, replies, TLS upgrade/downgrade, and the command loop.
/// Commands are in ScriptedSession.Commands.cs, data transfers in ScriptedSession.Transfers.cs.</summary>
internal sealed partial class ScriptedSession
{
    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly CancellationTokenSource _cts;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private Stream _transport;
    private SslStream? _tls;
    private TlsRecordStream? _tlsRecord;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;
    private Task<ControlLine?>? _pendingRead;
    private volatile bool _closed;
    private bool _inTransfer;

    public ScriptedSession(ScriptedFtpServer server, ScriptedConnection info, Socket socket)
    {
        Server = server;
        Info = info;
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: true);
        _transport = _network;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
    }

    public ScriptedFtpServer Server { get; }
    public ScriptedConnection Info { get; }
    private ScriptedServerOptions Options => Server.Options;
    public CancellationToken Cancellation => _cts.Token;

    /// <summary>A received line: its bytes without the line ending (for an over-long line only the first 256 bytes).</summary>
    private sealed record ControlLine(byte[] Bytes, bool TooLong, long Length);

    // ---- lifecycle ------------------------------------------------------------------------------

    public async Task RunAsync()
    {
        try
        {
            if (Options.Security == ScriptedSecurity.Implicit && !await StartTlsAsync().ConfigureAwait(false))
            {
                return;
            }

            var handled = false;
            if (Server.FindOverride(ScriptedFtpServer.GreetingVerb) is { } greeting)
            {
                handled = await greeting(new ScriptedCommandContext(this, ScriptedFtpServer.GreetingVerb, "", "")).ConfigureAwait(false);
            }

            if (!handled && !_closed)
            {
                await SendGreetingAsync().ConfigureAwait(false);
            }

            while (!_closed)
            {
                var line = await NextLineAsync().ConfigureAwait(false);
                if (line is null)
                {
                    Server.Write($"#{Info.Id} client closed the control connection");
                    break;
                }

                await HandleLineAsync(line).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            Server.Write($"#{Info.Id} connection ended: {ex.GetType().Name}: {ex.Message}");
        }
#pragma warning disable CA1031 // recorded for the test to see
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Server.RecordError(ex, $"control connection #{Info.Id}");
        }
        finally
        {
            await CleanupAsync().ConfigureAwait(false);
        }
    }

    private bool IsConnectionError(Exception ex) => ex switch
    {
        OperationCanceledException => true,
        IOException or SocketException or ObjectDisposedException or AuthenticationException => true,
        InvalidOperationException when _closed => true,
        _ => false,
    };

    /// <summary>Closes the control connection (idempotent). The command loop ends.</summary>
    public void Close(bool reset)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        Server.Write($"#{Info.Id} server closes the control connection{(reset ? " (reset)" : "")}");
        try
        {
            if (reset)
            {
                _socket.LingerState = new LingerOption(true, 0);
            }
            else
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Called by the server on dispose.</summary>
    public void Abort() => Close(reset: false);

    private async Task CleanupAsync()
    {
        Close(reset: false);
        ResetDataSetup();
        if (_pendingRead is { } pending)
        {
            try
            {
                await pending.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // only observing it
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        try
        {
            _tls?.Dispose();
            _transport.Dispose();
            _network.Dispose();
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }

        Info.IsClosed = true;
        Info.IsTls = false;
        Server.Write($"#{Info.Id} closed");
        Server.Pulse();
        _cts.Dispose();
    }

    // ---- reading --------------------------------------------------------------------------------

    /// <summary>The read in flight, or a new one. Only one read is ever outstanding.</summary>
    private Task<ControlLine?> NextLineTask() => _pendingRead ??= ReadLineCoreAsync();

    private async Task<ControlLine?> NextLineAsync()
    {
        var task = NextLineTask();
        try
        {
            return await task.ConfigureAwait(false);
        }
        finally
        {
            if (ReferenceEquals(_pendingRead, task))
            {
                _pendingRead = null;
            }
        }
    }

    private async Task<ControlLine?> ReadLineCoreAsync()
    {
        var max = Math.Max(16, Options.MaxCommandLineLength);
        if (_buffer.Length < max + 4096)
        {
            Array.Resize(ref _buffer, max + 4096);
        }

        byte[]? head = null;
        long discarded = 0;
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var lf = span.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var lineBytes = span[..lf];
                _start += lf + 1;
                if (head is not null)
                {
                    return new ControlLine(head, TooLong: true, discarded + lf);
                }

                if (lineBytes.Length > 0 && lineBytes[^1] == (byte)'\r')
                {
                    lineBytes = lineBytes[..^1];
                }

                return lineBytes.Length > max
                    ? new ControlLine(lineBytes[..256].ToArray(), TooLong: true, lineBytes.Length)
                    : new ControlLine(lineBytes.ToArray(), TooLong: false, lineBytes.Length);
            }

            if (span.Length > max)
            {
                head ??= span[..256].ToArray();
                discarded += span.Length;
                _start = _end = 0;
            }
            else if (_start > 0)
            {
                span.CopyTo(_buffer);
                _end = span.Length;
                _start = 0;
            }

            var n = await _transport.ReadAsync(_buffer.AsMemory(_end), _cts.Token).ConfigureAwait(false);
            if (n == 0)
            {
                if (_end > _start || head is not null)
                {
                    Server.Write($"#{Info.Id} connection ended in the middle of a line");
                }

                return null;
            }

            Info.RecordReceived(_buffer.AsSpan(_end, n));
            _end += n;
        }
    }

    /// <summary>Decodes a line: Telnet IAC sequences (IP, DM, WILL/DO ...) are removed, IAC IAC is 0xFF.</summary>
    private string Decode(byte[] raw)
    {
        var clean = new List<byte>(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var b = raw[i];
            if (b != 0xFF)
            {
                clean.Add(b);
                continue;
            }

            if (i + 1 >= raw.Length)
            {
                break;
            }

            var next = raw[i + 1];
            if (next == 0xFF)
            {
                clean.Add(0xFF);
                i++;
            }
            else if (next is >= 0xFB and <= 0xFE)
            {
                i += 2;
            }
            else
            {
                i++;
            }
        }

        // The Data Mark of a Telnet Synch may arrive in-band without its IAC (urgent data); drop it at the start.
        var start = 0;
        while (start < clean.Count && clean[start] == 0xF2)
        {
            start++;
        }

        return Options.ControlEncoding.GetString(clean.ToArray(), start, clean.Count - start);
    }

    internal byte[] Encode(string text) => Options.ControlEncoding.GetBytes(text);

    private static (string Verb, string Argument) Split(string text)
    {
        var trimmed = text.TrimStart(' ');
        var sp = trimmed.IndexOf(' ', StringComparison.Ordinal);
        return sp < 0
            ? (trimmed.ToUpperInvariant(), "")
            : (trimmed[..sp].ToUpperInvariant(), trimmed[(sp + 1)..]);
    }

    internal async Task<string?> ReadCommandLineForOverrideAsync()
    {
        var line = await NextLineAsync().ConfigureAwait(false);
        if (line is null)
        {
            return null;
        }

        var text = Decode(line.Bytes);
        var (verb, arg) = Split(text);
        Server.RecordCommand(Info.Id, verb, arg, text, Info.IsTls, Info.IsLoggedIn, _inTransfer);
        return text;
    }

    // ---- writing --------------------------------------------------------------------------------

    internal async Task SendRawAsync(ReadOnlyMemory<byte> data)
    {
        if (_closed)
        {
            return;
        }

        await _writeLock.WaitAsync(_cts.Token).ConfigureAwait(false);
        try
        {
            await _transport.WriteAsync(data, _cts.Token).ConfigureAwait(false);
            await _transport.FlushAsync(_cts.Token).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal Task SendLineAsync(string line)
    {
        Server.Write($"#{Info.Id} -> {ScriptedFtpServer.Shorten(line)}");
        return SendRawAsync(Encode(line + "\r\n"));
    }

    internal Task ReplyAsync(int code, string text) =>
        SendLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{code} {text}"));

    /// <summary>"code-first", middle lines as given, "code last" (a single line: "code text").</summary>
    internal async Task ReplyLinesAsync(int code, IReadOnlyList<string> lines)
    {
        if (lines.Count <= 1)
        {
            await ReplyAsync(code, lines.Count == 0 ? "" : lines[0]).ConfigureAwait(false);
            return;
        }

        var sb = new System.Text.StringBuilder();
        var c = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        sb.Append(c).Append('-').Append(lines[0]).Append("\r\n");
        for (var i = 1; i < lines.Count - 1; i++)
        {
            sb.Append(lines[i]).Append("\r\n");
        }

        sb.Append(c).Append(' ').Append(lines[^1]).Append("\r\n");
        Server.Write($"#{Info.Id} -> {ScriptedFtpServer.Shorten(sb.ToString().TrimEnd().Replace("\r\n", " | ", StringComparison.Ordinal))}");
        await SendRawAsync(Encode(sb.ToString())).ConfigureAwait(false);
    }

    internal Task SendGreetingAsync()
    {
        var g = Options.Greeting;
        return g.Count <= 1
            ? ReplyAsync(220, g.Count == 0 ? "" : g[0])
            : ReplyLinesAsync(220, g.Select((l, i) => i == 0 || i == g.Count - 1 ? l : " " + l).ToList());
    }

    // ---- TLS ------------------------------------------------------------------------------------

    internal SslServerAuthenticationOptions ServerTlsOptions()
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = Server.CertificateContext,
            EnabledSslProtocols = Options.TlsProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificateRequired = Options.RequestClientCertificate,
        };
        if (Options.RequestClientCertificate)
        {
            // The client certificate is only recorded, never judged.
            options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        return options;
    }

    /// <summary>Server handshake on the control connection (implicit start or after AUTH's 234).</summary>
    private async Task<bool> StartTlsAsync()
    {
        var leftover = _buffer.AsSpan(_start, _end - _start).ToArray();
        _start = _end = 0;
        if (leftover.Length > 0)
        {
            Info.BytesPipelinedAfterAuth += leftover.Length;
            Server.Write($"#{Info.Id} {leftover.Length} bytes arrived before the TLS handshake; they are fed to TLS");
        }

        Stream inner = leftover.Length > 0 ? new PrefixedStream(leftover, _network) : _network;
        var record = new TlsRecordStream(inner);
        var ssl = new SslStream(record, leaveInnerStreamOpen: true);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        timeout.CancelAfter(Options.HandshakeTimeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(ServerTlsOptions(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException or SocketException)
        {
            Info.Handshake = record.ParseHandshake();
            Server.Write($"#{Info.Id} control TLS handshake failed: {ex.GetType().Name}: {ex.Message}");
            await ssl.DisposeAsync().ConfigureAwait(false);
            Close(reset: false);
            return false;
        }

        _tls = ssl;
        _tlsRecord = record;
        _transport = ssl;
        Info.Handshake = record.ParseHandshake();
        Info.TlsProtocol = ssl.SslProtocol;
        Info.ServerName = string.IsNullOrEmpty(ssl.TargetHostName) ? Info.Handshake.ServerName : ssl.TargetHostName;
        if (ssl.RemoteCertificate is { } remote)
        {
            Info.ClientCertificate = remote as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        }

        Info.IsTls = true;
        Info.TlsNegotiated = true;
        Server.Write($"#{Info.Id} control TLS up: {ssl.SslProtocol}, SNI={Info.ServerName ?? "(none)"}");
        Server.Pulse();
        return true;
    }

    /// <summary>CCC: send close_notify, read the client's, continue in clear on the same TCP connection.</summary>
    private async Task<bool> StopTlsAsync()
    {
        var ssl = _tls!;
        var record = _tlsRecord!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        timeout.CancelAfter(Options.DataCloseTimeout);
        try
        {
            await _writeLock.WaitAsync(timeout.Token).ConfigureAwait(false);
            try
            {
                await ScriptedDataConnection.Bounded(ssl.ShutdownAsync(), Options.DataCloseTimeout).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }

            while (true)
            {
                if (_end == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                var n = await ssl.ReadAsync(_buffer.AsMemory(_end), timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                Info.RecordReceived(_buffer.AsSpan(_end, n));
                _end += n;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or AuthenticationException or TimeoutException)
        {
            Server.Write($"#{Info.Id} CCC: the client did not end TLS cleanly: {ex.GetType().Name}");
            Close(reset: false);
            return false;
        }

        if (record.SawEndOfStream)
        {
            Server.Write($"#{Info.Id} CCC: the client closed the connection instead of sending close_notify");
            Close(reset: false);
            return false;
        }

        _transport = record.Inner;
        _tls = null;
        _tlsRecord = null;
        await ssl.DisposeAsync().ConfigureAwait(false);
        Info.IsTls = false;
        Info.ClearedCommandChannel = true;
        Server.Write($"#{Info.Id} control channel back in clear text (CCC)");
        Server.Pulse();
        return true;
    }
}
