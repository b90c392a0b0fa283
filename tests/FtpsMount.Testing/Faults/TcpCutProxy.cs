using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace FtpsMount.Testing.Faults;

/// <summary>Which FTP connection a proxied TCP connection carries.</summary>
public enum ProxyChannel
{
    Control,
    Data,
}

/// <summary>
/// A test-owned TCP proxy on a second loopback address (127.0.0.2 by default) in front of a server on 127.0.0.1. It
/// forwards the control port and every passive data port of the server: clients connect passive data connections to
/// the control connection's peer (bounce safety), which is the proxy, on the port the server named, so both channels
/// pass through it without reading the (encrypted) replies. Faults: <see cref="Cut"/> resets the live connections of a
/// channel at once, <see cref="CutAfter"/> resets the next one to move a given number of bytes, and
/// <see cref="Stall"/> stops forwarding in both directions (a server that stops answering) until released.
/// </summary>
/// <remarks>The server must check data connections against the control connection's address (vsftpd, proftpd and
/// pure-ftpd do); the proxy connects both from 127.0.0.1, so they match. Certificates: the client sees host 127.0.0.2,
/// so pin the server's fingerprint (<c>ReferenceServer.CreateOptions(..., pinFingerprint: true)</c>).</remarks>
public sealed class TcpCutProxy : IAsyncDisposable
{
    private readonly IPAddress _target;
    private readonly List<TcpListener> _listeners = [];
    private readonly ConcurrentDictionary<Link, byte> _links = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly object _gate = new();
    private readonly Dictionary<ProxyChannel, TaskCompletionSource> _released = new()
    {
        [ProxyChannel.Control] = Completed(),
        [ProxyChannel.Data] = Completed(),
    };

    private (ProxyChannel Channel, long Bytes)? _armedCut;
    private long _controlBytes;
    private long _dataBytes;
    private int _faults;
    private int _controlConnections;
    private int _dataConnections;

    private TcpCutProxy(IPAddress listen, IPAddress target)
    {
        Address = listen;
        _target = target;
    }

    /// <summary>The address clients connect to.</summary>
    public IPAddress Address { get; }

    /// <summary>The proxy's control port (forwarded to the server's control port).</summary>
    public int ControlPort { get; private set; }

    /// <summary>Bytes forwarded (both directions) on control / data connections.</summary>
    public long ControlBytes => Interlocked.Read(ref _controlBytes);
    public long DataBytes => Interlocked.Read(ref _dataBytes);

    /// <summary>Connections accepted per channel.</summary>
    public int ControlConnections => Volatile.Read(ref _controlConnections);
    public int DataConnections => Volatile.Read(ref _dataConnections);

    /// <summary>Connections reset by <see cref="Cut"/> or <see cref="CutAfter"/>, plus stalls started.</summary>
    public int FaultsInjected => Volatile.Read(ref _faults);

    /// <summary>Live connections of a channel.</summary>
    public int Live(ProxyChannel channel) => _links.Keys.Count(l => l.Channel == channel);

    /// <summary>Starts forwarding <paramref name="listen"/>:(ephemeral) → <paramref name="target"/>:<paramref name="controlPort"/>
    /// and <paramref name="listen"/>:p → <paramref name="target"/>:p for every passive port p in the range.</summary>
    public static TcpCutProxy Start(int controlPort, int passiveFirst, int passiveLast, IPAddress? listen = null, IPAddress? target = null)
    {
        var proxy = new TcpCutProxy(listen ?? IPAddress.Parse("127.0.0.2"), target ?? IPAddress.Loopback);
        try
        {
            var control = new TcpListener(proxy.Address, 0);
            control.Start(64);
            proxy.ControlPort = ((IPEndPoint)control.LocalEndpoint).Port;
            proxy.Listen(control, ProxyChannel.Control, controlPort);
            for (var port = passiveFirst; port <= passiveLast; port++)
            {
                var data = new TcpListener(proxy.Address, port);
                data.Start(16);
                proxy.Listen(data, ProxyChannel.Data, port);
            }
        }
        catch
        {
            proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        return proxy;
    }

    /// <summary>Resets (RST) every live connection of the channel now; returns how many.</summary>
    public int Cut(ProxyChannel channel)
    {
        var cut = 0;
        foreach (var link in _links.Keys.Where(l => l.Channel == channel))
        {
            if (link.Reset())
            {
                cut++;
            }
        }

        Interlocked.Add(ref _faults, cut);
        return cut;
    }

    /// <summary>Resets the first connection of the channel that moves <paramref name="bytes"/> more bytes (counted per
    /// connection from now, or from its start for later connections). One-shot.</summary>
    public void CutAfter(ProxyChannel channel, long bytes)
    {
        lock (_gate)
        {
            _armedCut = (channel, bytes);
            foreach (var link in _links.Keys.Where(l => l.Channel == channel))
            {
                link.ArmedAt = link.Bytes;
            }
        }
    }

    /// <summary>Whether a <see cref="CutAfter"/> is still waiting for its connection.</summary>
    public bool CutPending
    {
        get
        {
            lock (_gate)
            {
                return _armedCut is not null;
            }
        }
    }

    /// <summary>Stops forwarding on the channel (connections stay open, bytes are held) until the returned object is
    /// disposed: a server that stops answering.</summary>
    public IDisposable Stall(ProxyChannel channel)
    {
        lock (_gate)
        {
            if (_released[channel].Task.IsCompleted)
            {
                _released[channel] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        Interlocked.Increment(ref _faults);
        return new Release(this, channel);
    }

    private static TaskCompletionSource Completed()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }

    private sealed class Release(TcpCutProxy proxy, ProxyChannel channel) : IDisposable
    {
        public void Dispose()
        {
            lock (proxy._gate)
            {
                proxy._released[channel].TrySetResult();
            }
        }
    }

    private Task WaitReleasedAsync(ProxyChannel channel)
    {
        lock (_gate)
        {
            return _released[channel].Task;
        }
    }

    private void Listen(TcpListener listener, ProxyChannel channel, int targetPort)
    {
        _listeners.Add(listener);
        _acceptLoops.Add(Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => ServeAsync(client, channel, targetPort));
            }
        }));
    }

    private async Task ServeAsync(Socket client, ProxyChannel channel, int targetPort)
    {
        Interlocked.Increment(ref channel == ProxyChannel.Control ? ref _controlConnections : ref _dataConnections);
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(new IPEndPoint(_target, targetPort), _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            client.Close(0);
            upstream.Dispose();
            return;
        }

        var link = new Link(channel, client, upstream);
        lock (_gate)
        {
            _links[link] = 0;
        }

        try
        {
            await Task.WhenAll(PumpAsync(link, client, upstream), PumpAsync(link, upstream, client)).ConfigureAwait(false);
        }
        finally
        {
            _links.TryRemove(link, out _);
            link.Close(abort: false);
        }
    }

    private async Task PumpAsync(Link link, Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await WaitReleasedAsync(link.Channel).WaitAsync(_stop.Token).ConfigureAwait(false);
                if (link.IsReset)
                {
                    return;
                }

                var total = Interlocked.Add(ref link.Bytes, n);
                Interlocked.Add(ref link.Channel == ProxyChannel.Control ? ref _controlBytes : ref _dataBytes, n);
                if (ShouldCut(link, total))
                {
                    // Forward part of the chunk so the cut lands mid-stream, then reset both sides.
                    await to.SendAsync(buffer.AsMemory(0, n / 2), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                    if (link.Reset())
                    {
                        Interlocked.Increment(ref _faults);
                    }

                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            link.Reset();
        }
    }

    private bool ShouldCut(Link link, long total)
    {
        lock (_gate)
        {
            if (_armedCut is { } armed && armed.Channel == link.Channel && total - link.ArmedAt >= armed.Bytes)
            {
                _armedCut = null;
                return true;
            }

            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var tcs in _released.Values)
            {
                tcs.TrySetResult();
            }
        }

        foreach (var listener in _listeners)
        {
            listener.Stop();
        }

        foreach (var link in _links.Keys)
        {
            link.Reset();
        }

        try
        {
            await Task.WhenAll(_acceptLoops).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        _stop.Dispose();
    }

    private sealed class Link(ProxyChannel channel, Socket client, Socket upstream)
    {
        private int _reset;
        public long Bytes;
        public long ArmedAt;

        public ProxyChannel Channel { get; } = channel;

        public bool IsReset => Volatile.Read(ref _reset) != 0;

        /// <summary>Aborts both sockets with RST (linger 0). True the first time.</summary>
        public bool Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0)
            {
                return false;
            }

            Close(abort: true);
            return true;
        }

        public void Close(bool abort)
        {
            foreach (var s in new[] { client, upstream })
            {
                try
                {
                    if (abort)
                    {
                        s.LingerState = new LingerOption(true, 0);
                    }

                    s.Close(0);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }
}
