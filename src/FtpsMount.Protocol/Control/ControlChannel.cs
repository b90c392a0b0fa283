using System.Net;
using System.Net.Sockets;
using System.Text;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Protocol.Control;

/// <summary>
/// The control connection: one TCP socket, optionally under TLS, carrying commands and replies.
/// Any failure that can leave the command/reply stream out of step (timeout, cancellation in the middle
/// of a reply, malformed reply, I/O error) marks the channel broken; a broken channel refuses further
/// use so a pool can drop and replace it instead of reading the wrong reply for the next command.
/// </summary>
internal sealed class ControlChannel : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly IFtpLogger _log;
    private readonly TimeSpan _commandTimeout;
    private Stream _stream;
    private Encoding _encoding = new UTF8Encoding(false);

    private ControlChannel(Socket socket, IFtpLogger log, TimeSpan commandTimeout, Encoding fallback)
    {
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: true);
        _stream = _network;
        _log = log;
        _commandTimeout = commandTimeout;
        Reader = new ReplyReader(_network, fallback);
    }

    public ReplyReader Reader { get; }
    public bool IsBroken { get; private set; }
    public string? BrokenReason { get; private set; }
    public TlsStream? Tls { get; private set; }
    /// <summary>True after CCC: commands travel in clear, <see cref="Tls"/> still holds the session for data channels.</summary>
    public bool TlsCleared { get; private set; }
    /// <summary>The server's address, IPv4-mapped IPv6 addresses unmapped (the socket is dual-mode).</summary>
    public IPEndPoint RemoteEndPoint => Unmap((IPEndPoint)_socket.RemoteEndPoint!);
    public IPEndPoint LocalEndPoint => Unmap((IPEndPoint)_socket.LocalEndPoint!);

    private static IPEndPoint Unmap(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
    public NetworkStream Network => _network;
    public TimeSpan CommandTimeout => _commandTimeout;

    /// <summary>Encoding of outgoing commands (UTF-8 after OPTS UTF8 ON or by default; legacy otherwise).</summary>
    public Encoding Encoding
    {
        get => _encoding;
        set => _encoding = value;
    }

    public static async Task<ControlChannel> ConnectAsync(string host, int port, TimeSpan timeout, IFtpLogger log, TimeSpan commandTimeout, Encoding fallback, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new FtpTimeoutException($"Connecting to {host}:{port} timed out after {timeout.TotalSeconds:0.#} s. Check the host name, port and any firewall between you and the server.");
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new FtpConnectionException($"Cannot connect to {host}:{port}: {ex.Message} ({ex.SocketErrorCode}).", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ControlChannel(socket, log, commandTimeout, fallback);
    }

    /// <summary>Puts TLS under the channel (after 234 to AUTH, or at once for implicit FTPS).</summary>
    public async Task StartTlsAsync(ITlsEngine engine, string serverName, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_commandTimeout);
        try
        {
            var tls = await engine.ConnectControlAsync(_network, serverName, cts.Token).ConfigureAwait(false);
            Reader.ReplaceStream(tls);
            Tls = tls;
            _stream = tls;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            MarkBroken("TLS handshake timed out");
            throw new FtpTimeoutException($"The TLS handshake did not finish within {_commandTimeout.TotalSeconds:0.#} s.");
        }
        catch (Exception ex)
        {
            MarkBroken("TLS handshake failed: " + ex.Message);
            throw;
        }
    }

    /// <summary>After 200 to CCC: end TLS on the control connection (close_notify both ways) and go on in clear.</summary>
    public async Task ClearTlsAsync(CancellationToken cancellationToken)
    {
        if (Tls is null)
        {
            return;
        }

        await Tls.ShutdownAsync(_commandTimeout, cancellationToken).ConfigureAwait(false);
        Reader.ReplaceStream(_network);
        _stream = _network;
        TlsCleared = true;
    }

    public void MarkBroken(string reason)
    {
        if (!IsBroken)
        {
            IsBroken = true;
            BrokenReason = reason;
            _log.Log(FtpLogLevel.Debug, "control connection unusable: " + reason);
        }
    }

    public void ThrowIfBroken()
    {
        if (IsBroken)
        {
            throw new FtpConnectionException("The control connection is no longer usable (" + BrokenReason + ").");
        }
    }

    /// <summary>Sends one command line. <paramref name="redacted"/> is what gets logged (PASS ****).</summary>
    public async Task SendAsync(string command, CancellationToken cancellationToken, string? redacted = null)
    {
        ThrowIfBroken();
        FtpPath.ValidateArgument(command);
        var bytes = _encoding.GetBytes(command + "\r\n");
        if (_log.IsEnabled(FtpLogLevel.Trace))
        {
            _log.Log(FtpLogLevel.Trace, "> " + (redacted ?? command));
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_commandTimeout);
        try
        {
            await _stream.WriteAsync(bytes, cts.Token).ConfigureAwait(false);
            await _stream.FlushAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            MarkBroken("sending timed out");
            throw new FtpTimeoutException($"Sending {Verb(redacted ?? command)} timed out after {_commandTimeout.TotalSeconds:0.#} s.");
        }
        catch (OperationCanceledException)
        {
            MarkBroken("cancelled while sending");
            throw;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or FtpConnectionException)
        {
            MarkBroken("send failed: " + ex.Message);
            throw new FtpConnectionException($"The control connection failed while sending {Verb(redacted ?? command)}: {ex.Message}", ex);
        }
    }

    /// <summary>Reads one reply, bounded by <paramref name="timeout"/> (default: the command timeout).</summary>
    public async Task<FtpReply> ReadReplyAsync(CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        ThrowIfBroken();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var limit = timeout ?? _commandTimeout;
        if (limit != Timeout.InfiniteTimeSpan)
        {
            cts.CancelAfter(limit);
        }

        try
        {
            var reply = await Reader.ReadReplyAsync(cts.Token).ConfigureAwait(false);
            if (_log.IsEnabled(FtpLogLevel.Trace))
            {
                foreach (var line in reply.Lines)
                {
                    _log.Log(FtpLogLevel.Trace, $"< {reply.Code} {ReplyReader.Printable(line, 300)}");
                }
            }

            if (reply.Code == 421)
            {
                // 421: the server is closing the control connection (RFC 959); nothing more will work on it.
                MarkBroken("server sent 421: " + reply.Message);
            }

            return reply;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            MarkBroken("no reply within the timeout");
            throw new FtpTimeoutException($"The server did not reply within {limit.TotalSeconds:0.#} s.");
        }
        catch (OperationCanceledException)
        {
            MarkBroken("cancelled while waiting for a reply");
            throw;
        }
        catch (FtpProtocolException ex)
        {
            MarkBroken(ex.Message);
            throw;
        }
        catch (FtpConnectionException ex)
        {
            MarkBroken(ex.Message);
            throw;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            MarkBroken("read failed: " + ex.Message);
            throw new FtpConnectionException("The control connection failed: " + ex.Message, ex);
        }
    }

    /// <summary>Sends a command and reads its reply.</summary>
    public async Task<FtpReply> ExecuteAsync(string command, CancellationToken cancellationToken, string? redacted = null)
    {
        await SendAsync(command, cancellationToken, redacted).ConfigureAwait(false);
        return await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static string Verb(string command)
    {
        var space = command.IndexOf(' ');
        return space < 0 ? command : command[..space];
    }

    public async ValueTask DisposeAsync()
    {
        IsBroken = true;
        BrokenReason ??= "closed";
        if (Tls is not null)
        {
            await Tls.DisposeAsync().ConfigureAwait(false);
        }

        await _network.DisposeAsync().ConfigureAwait(false);
    }
}
