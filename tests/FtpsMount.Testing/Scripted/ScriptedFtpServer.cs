using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Testing.Scripted;

/// <summary>
/// An in-process FTP/FTPS server on 127.0.0.1 for tests: a reasonable default server over a
/// <see cref="ScriptedFileSystem"/>, plus knobs (<see cref="ScriptedServerOptions"/>) and per-verb overrides
/// (<see cref="Override"/>) for the faults and quirks real servers cannot be made to show.
/// <code>
/// await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Features = ["UTF8"] });
/// server.FileSystem.AddFile("/pub/a.txt", "hello");
/// server.Override("PWD", async ctx => { await ctx.SendLineAsync("999 what"); return true; });
/// // connect to 127.0.0.1:server.Port, pin server.CertificateFingerprint, log in as test/secret ...
/// Assert.DoesNotContain(server.ReceivedCommands, c => c.Verb == "PASS" &amp;&amp; !c.OverTls);
/// </code>
/// </summary>
public sealed class ScriptedFtpServer : IAsyncDisposable
{
    /// <summary>Override key for the greeting (sent before any command is read).</summary>
    public const string GreetingVerb = "<greeting>";

    /// <summary>Override key that sees every command before its own verb's override.</summary>
    public const string AnyVerb = "*";

    private const int LogLimit = 20_000;

    private readonly ConcurrentDictionary<string, Func<ScriptedCommandContext, Task<bool>>> _overrides =
        new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<int, ScriptedSession> _sessions = new();
    private readonly ConcurrentDictionary<int, Task> _sessionTasks = new();
    private readonly List<ScriptedConnection> _connections = [];
    private readonly List<ScriptedDataConnection> _dataConnections = [];
    private readonly List<ScriptedReceivedCommand> _commands = [];
    private readonly List<string> _log = [];
    private readonly List<Exception> _errors = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly bool _ownsCertificate;
    private readonly Socket _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private TaskCompletionSource _changed = NewSignal();
    private int _nextConnectionId;
    private int _nextDataId;
    private long _nextSequence;
    private int _dropDataUsed;
    private int _dropControlSeen;
    private int _disposed;

    private ScriptedFtpServer(ScriptedServerOptions options)
    {
        Options = options;
        FileSystem = options.FileSystem ?? new ScriptedFileSystem();
        FileSystem.Changed += Pulse;
        _ownsCertificate = options.Certificate is null;
        Certificate = options.Certificate ?? ScriptedCertificate.CreateSelfSigned();
        CertificateContext = SslStreamCertificateContext.Create(Certificate, additionalCertificates: null, offline: true);
        CertificateFingerprint = ScriptedCertificate.Fingerprint(Certificate);
        CaFilePath = Path.Combine(Path.GetTempPath(), $"scripted-ftp-ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(CaFilePath, Certificate.ExportCertificatePem() + "\n");
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    }

    /// <summary>Starts a server on 127.0.0.1 with an ephemeral port.</summary>
    public static Task<ScriptedFtpServer> StartAsync(ScriptedServerOptions? options = null)
    {
        var server = new ScriptedFtpServer(options ?? new ScriptedServerOptions());
        try
        {
            server._listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            server._listener.Listen(64);
            server.Port = ((IPEndPoint)server._listener.LocalEndPoint!).Port;
            server._acceptLoop = server.AcceptLoopAsync();
            server.Write($"listening on 127.0.0.1:{server.Port}");
            return Task.FromResult(server);
        }
        catch
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    public ScriptedServerOptions Options { get; }
    public ScriptedFileSystem FileSystem { get; }
    public string Host => "127.0.0.1";
    public int Port { get; private set; }
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>The served certificate (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>"sha256:" + lowercase hex of the SHA-256 of the DER certificate (the form --fingerprint takes).</summary>
    public string CertificateFingerprint { get; }

    /// <summary>PEM file holding the certificate, usable as a CA file; deleted on dispose.</summary>
    public string CaFilePath { get; }

    internal SslStreamCertificateContext CertificateContext { get; }

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Every command line received, in order of arrival, all connections.</summary>
    public IReadOnlyList<ScriptedReceivedCommand> ReceivedCommands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public IReadOnlyList<ScriptedConnection> Connections
    {
        get
        {
            lock (_connections)
            {
                return [.. _connections];
            }
        }
    }

    public IReadOnlyList<ScriptedDataConnection> DataConnections
    {
        get
        {
            lock (_dataConnections)
            {
                return [.. _dataConnections];
            }
        }
    }

    /// <summary>Trace of what happened (commands, replies, connections), for diagnosing a failed test.</summary>
    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_log)
            {
                return [.. _log];
            }
        }
    }

    /// <summary>Exceptions that are bugs (in the server or in an override), not a client's misbehaviour.
    /// Tests can assert it is empty.</summary>
    public IReadOnlyList<Exception> UnexpectedErrors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Commands with this verb, all connections.</summary>
    public IReadOnlyList<ScriptedReceivedCommand> CommandsWithVerb(string verb) =>
        ReceivedCommands.Where(c => string.Equals(c.Verb, verb, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>All control bytes received on a connection (decrypted).</summary>
    public byte[] GetRawControlBytes(int connectionId) =>
        Connections.FirstOrDefault(c => c.Id == connectionId)?.GetReceivedBytes() ?? [];

    /// <summary>Replaces the handling of <paramref name="verb"/> (case-insensitive; <see cref="AnyVerb"/> for every
    /// command, <see cref="GreetingVerb"/> for the greeting). The handler returns true when it handled the command,
    /// false to fall through to the default. Applies to commands received from now on.</summary>
    public void Override(string verb, Func<ScriptedCommandContext, Task<bool>> handler)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(verb);
        ArgumentNullException.ThrowIfNull(handler);
        _overrides[verb.Trim()] = handler;
    }

    public void RemoveOverride(string verb) => _overrides.TryRemove(verb.Trim(), out _);

    internal Func<ScriptedCommandContext, Task<bool>>? FindOverride(string verb) =>
        _overrides.TryGetValue(verb, out var h) ? h : null;

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking whenever the server's state changes
    /// (command received, connection opened/closed, data moved, file system changed). Throws
    /// <see cref="TimeoutException"/> after <paramref name="timeout"/> (default 10 s).</summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var signal = Volatile.Read(ref _changed).Task;
            if (condition())
            {
                return;
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Scripted FTP server: condition not met in time{(what is null ? "" : ": " + what)}.");
            }

            // Re-check at least every 250 ms in case the condition depends on something that does not pulse.
            await Task.WhenAny(signal, Task.Delay(remaining < TimeSpan.FromMilliseconds(250) ? remaining : TimeSpan.FromMilliseconds(250)))
                .ConfigureAwait(false);
        }
    }

    // ---- internals used by sessions -------------------------------------------------------------

    internal void Pulse()
    {
        var old = Interlocked.Exchange(ref _changed, NewSignal());
        old.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void Write(string message)
    {
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {message}";
        lock (_log)
        {
            if (_log.Count < LogLimit)
            {
                _log.Add(line);
            }
        }

        try
        {
            Options.LogSink?.Invoke(line);
        }
#pragma warning disable CA1031 // e.g. ITestOutputHelper used after its test ended
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    internal void RecordError(Exception ex, string where)
    {
        lock (_errors)
        {
            _errors.Add(ex);
        }

        Write($"UNEXPECTED ERROR in {where}: {ex}");
        Pulse();
    }

    internal ScriptedReceivedCommand RecordCommand(int connectionId, string verb, string argument, string line, bool overTls, bool loggedIn, bool duringTransfer)
    {
        var cmd = new ScriptedReceivedCommand(connectionId, Interlocked.Increment(ref _nextSequence), verb, argument, line,
            overTls, loggedIn, duringTransfer, DateTimeOffset.UtcNow);
        lock (_commands)
        {
            _commands.Add(cmd);
        }

        Write($"#{connectionId} <- {Shorten(line)}");
        Pulse();
        return cmd;
    }

    internal ScriptedDataConnection NewDataConnection(int controlId, string command, bool passive)
    {
        var d = new ScriptedDataConnection(this, Interlocked.Increment(ref _nextDataId), controlId, command, passive);
        lock (_dataConnections)
        {
            _dataConnections.Add(d);
        }

        Pulse();
        return d;
    }

    internal bool TakeDataDrop()
    {
        while (true)
        {
            var used = Volatile.Read(ref _dropDataUsed);
            if (used >= Options.DropDataCount)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _dropDataUsed, used + 1, used) == used)
            {
                return true;
            }
        }
    }

    internal bool ShouldDropControl(string verb)
    {
        var target = Options.DropControlAfterCommand;
        if (target is null || !string.Equals(target, verb, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return Interlocked.Increment(ref _dropControlSeen) == Math.Max(1, Options.DropControlOnOccurrence);
    }

    internal static string Shorten(string s) =>
        s.Length <= 300 ? s : string.Create(CultureInfo.InvariantCulture, $"{s[..300]}... ({s.Length} chars)");

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (SocketException ex) when (!_stopping.IsCancellationRequested)
                {
                    Write($"accept failed: {ex.SocketErrorCode}");
                    continue;
                }

                socket.NoDelay = true;
                var id = Interlocked.Increment(ref _nextConnectionId);
                var info = new ScriptedConnection(id, socket.RemoteEndPoint as IPEndPoint);
                lock (_connections)
                {
                    _connections.Add(info);
                }

                var session = new ScriptedSession(this, info, socket);
                _sessions[id] = session;
                Write($"#{id} connected from {info.RemoteEndPoint}");
                Pulse();
                _sessionTasks[id] = RunSessionAsync(id, session);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (SocketException) when (_stopping.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // recorded: a test asserting UnexpectedErrors sees it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RecordError(ex, "accept loop");
        }
    }

    private async Task RunSessionAsync(int id, ScriptedSession session)
    {
        await Task.Yield();
        try
        {
            await session.RunAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // RunAsync handles client failures itself; anything left is a bug to report
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RecordError(ex, $"session #{id}");
        }
        finally
        {
            _sessions.TryRemove(id, out _);
            Pulse();
        }
    }

    /// <summary>Closes the listener and every connection, and waits (bounded) for their loops to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Write("stopping");
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            // After this no new session can appear.
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Write("the accept loop did not end within 5 s");
        }

        foreach (var session in _sessions.Values)
        {
            session.Abort();
        }

        try
        {
            await Task.WhenAll(_sessionTasks.Values).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Write("some connection loops did not end within 10 s");
        }
#pragma warning disable CA1031 // the tasks record their own errors
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        foreach (var d in DataConnections)
        {
            await d.DrainAsync().ConfigureAwait(false);
        }

        FileSystem.Changed -= Pulse;
        try
        {
            File.Delete(CaFilePath);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        if (_ownsCertificate)
        {
            Certificate.Dispose();
        }

        _stopping.Dispose();
        Pulse();
    }
}
