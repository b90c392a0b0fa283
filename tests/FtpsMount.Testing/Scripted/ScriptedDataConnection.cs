using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace FtpsMount.Testing.Scripted;

/// <summary>
/// One data connection: what happened on it (live properties, listed in <see cref="ScriptedFtpServer.DataConnections"/>)
/// and, for overrides, the means to use it.
/// </summary>
public sealed class ScriptedDataConnection
{
    private readonly ScriptedFtpServer _server;
    private readonly CancellationTokenSource _cts = new();
    private Socket? _socket;
    private NetworkStream? _network;
    private TlsRecordStream? _record;
    private SslStream? _ssl;
    private Task? _peerWatch;
    private long _bytesSent;
    private long _bytesReceived;
    private int _closed;

    internal ScriptedDataConnection(ScriptedFtpServer server, int id, int controlConnectionId, string command, bool passive)
    {
        _server = server;
        Id = id;
        ControlConnectionId = controlConnectionId;
        Command = command;
        Passive = passive;
    }

    public int Id { get; }
    public int ControlConnectionId { get; }

    /// <summary>The command line that opened it (e.g. "RETR /a.bin"; passwords never appear here).</summary>
    public string Command { get; }

    public bool Passive { get; }
    public IPEndPoint? RemoteEndPoint { get; private set; }

    /// <summary>The TCP connection was established.</summary>
    public bool Connected { get; private set; }

    public bool IsTls => _ssl is not null;
    public SslProtocols? TlsProtocol { get; private set; }
    public ScriptedTlsHandshake? Handshake { get; private set; }

    /// <summary>The data TLS handshake resumed a session (null: not TLS or not determinable).</summary>
    public bool? TlsSessionResumed => Handshake?.Resumed;

    public long BytesSent => Interlocked.Read(ref _bytesSent);
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>The client ended its side (EOF, close_notify or reset).</summary>
    public bool ClientClosed { get; private set; }

    /// <summary>Under TLS: whether the client's side ended with close_notify (true) or a bare TCP close/reset (false).
    /// Null while the client has not closed, or without TLS.</summary>
    public bool? ClientSentCloseNotify { get; private set; }

    public ScriptedTransferOutcome Outcome { get; internal set; } = ScriptedTransferOutcome.Open;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>The stream to read or write (TLS when PROT P). Null before the connection is up.</summary>
    public Stream? Stream => (Stream?)_ssl ?? _network;

    internal Task PeerClosed => _peerWatch ?? Task.CompletedTask;

    internal void Attach(Socket socket)
    {
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: true);
        RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        Connected = true;
        _server.Pulse();
    }

    internal async Task StartTlsAsync(SslServerAuthenticationOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _record = new TlsRecordStream(_network!);
        var ssl = new SslStream(_record, leaveInnerStreamOpen: false);
        _ssl = ssl;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cts.Token);
        cts.CancelAfter(timeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(options, cts.Token).ConfigureAwait(false);
        }
        finally
        {
            Handshake = _record.ParseHandshake();
        }

        TlsProtocol = ssl.SslProtocol;
        _server.Pulse();
    }

    /// <summary>Writes (counting bytes).</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var stream = Stream ?? throw new InvalidOperationException("The data connection is not open.");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cts.Token);
        await stream.WriteAsync(data, cts.Token).ConfigureAwait(false);
        Interlocked.Add(ref _bytesSent, data.Length);
        Pulse();
    }

    private long _lastPulse;

    private void Pulse()
    {
        // Byte counters change often; wake waiters at most every 64 KiB.
        var total = BytesSent + BytesReceived;
        if (total - Interlocked.Read(ref _lastPulse) >= 64 * 1024 || total < 64 * 1024)
        {
            Interlocked.Exchange(ref _lastPulse, total);
            _server.Pulse();
        }
    }

    /// <summary>Reads everything the client sends until it closes its side.</summary>
    public async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken = default)
    {
        using var sink = new MemoryStream();
        var outcome = await ReceiveIntoAsync(sink, cancellationToken).ConfigureAwait(false);
        if (outcome != ScriptedTransferOutcome.Completed)
        {
            throw new IOException($"The data connection failed after {sink.Length} bytes.");
        }

        return sink.ToArray();
    }

    /// <summary>Copies what the client sends into <paramref name="sink"/> until it closes its side: Completed on a clean
    /// end (EOF or close_notify), ClientClosed on a reset/TLS failure. Cancellation throws.</summary>
    internal async Task<ScriptedTransferOutcome> ReceiveIntoAsync(Stream sink, CancellationToken cancellationToken)
    {
        var stream = Stream ?? throw new InvalidOperationException("The data connection is not open.");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cts.Token);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    MarkPeerEnded(clean: true);
                    return ScriptedTransferOutcome.Completed;
                }

                sink.Write(buffer, 0, n);
                Interlocked.Add(ref _bytesReceived, n);
                Pulse();
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException or ObjectDisposedException
            && !cts.IsCancellationRequested)
        {
            MarkPeerEnded(clean: false);
            return ScriptedTransferOutcome.ClientClosed;
        }
    }

    /// <summary>Starts noticing the client closing its side while we only write (downloads).</summary>
    internal Task WatchPeer() => _peerWatch ??= WatchPeerCoreAsync();

    private async Task WatchPeerCoreAsync()
    {
        var stream = Stream;
        if (stream is null)
        {
            return;
        }

        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, _cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    MarkPeerEnded(clean: true);
                    return;
                }

                Interlocked.Add(ref _bytesReceived, n);
            }
        }
#pragma warning disable CA1031 // any failure means the peer (or we) ended the connection
        catch (Exception)
#pragma warning restore CA1031
        {
            MarkPeerEnded(clean: false);
        }
    }

    private void MarkPeerEnded(bool clean)
    {
        if (!ClientClosed)
        {
            ClientSentCloseNotify = _ssl is null ? null : clean && _record is { SawEndOfStream: false };
            ClientClosed = true;
            _server.Pulse();
        }
    }

    /// <summary>Ends the connection in order: TLS close_notify (when asked and under TLS), then TCP FIN. The socket is
    /// kept until the client closes its side (bounded by <see cref="ScriptedServerOptions.DataCloseTimeout"/>) so a late
    /// close_notify from the client is read, not answered with a reset; that wait happens in the background unless
    /// <paramref name="waitForClient"/>.</summary>
    public async Task CloseAsync(bool sendCloseNotify = true, bool waitForClient = false)
    {
        if (IsClosed || _linger is not null)
        {
            if (waitForClient && _linger is { } pending)
            {
                await pending.ConfigureAwait(false);
            }

            return;
        }

        try
        {
            if (sendCloseNotify && _ssl is not null)
            {
                await Bounded(_ssl.ShutdownAsync(), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }

            _socket?.Shutdown(SocketShutdown.Send);
        }
#pragma warning disable CA1031 // the peer may already be gone
        catch (Exception)
#pragma warning restore CA1031
        {
            Dispose();
            return;
        }

        _linger = LingerAsync(WatchPeer(), _server.Options.DataCloseTimeout);
        if (waitForClient)
        {
            await _linger.ConfigureAwait(false);
        }
    }

    private Task? _linger;

    /// <summary>Waits at most <paramref name="bound"/>; if it gives up, the task's eventual failure is still observed.</summary>
    internal static async Task Bounded(Task task, TimeSpan bound)
    {
        try
        {
            await task.WaitAsync(bound).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    private async Task LingerAsync(Task peerClosed, TimeSpan bound)
    {
        try
        {
            await peerClosed.WaitAsync(bound).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // timeout or failure: close anyway
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        Dispose();
    }

    /// <summary>Closes without close_notify (plain TCP FIN).</summary>
    public void CloseWithoutCloseNotify()
    {
        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        Dispose();
    }

    /// <summary>Closes with a TCP reset.</summary>
    public void Reset()
    {
        try
        {
            if (_socket is not null)
            {
                _socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        Dispose();
    }

    internal void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        try
        {
            _ssl?.Dispose();
            _network?.Dispose();
            _socket?.Dispose();
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }

        _server.Pulse();
    }

    /// <summary>Observes the watcher so no task is left unobserved.</summary>
    internal async Task DrainAsync()
    {
        Dispose();
        foreach (var w in new[] { _peerWatch, _linger })
        {
            if (w is null)
            {
                continue;
            }

            try
            {
                await w.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
#pragma warning disable CA1031
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        _cts.Dispose();
    }

    public override string ToString() =>
        $"data #{Id} ({Command}) {(IsTls ? "TLS" : "clear")} sent={BytesSent} received={BytesReceived} {Outcome}";
}
