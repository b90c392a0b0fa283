using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FtpsMount.Protocol.Tls;
using FtpsMount.Protocol.Tls.OpenSsl;

namespace FtpsMount.Protocol.Tests.Tls;

/// <summary>Self-signed certificates for the test servers and client-certificate tests.</summary>
internal static class TestCertificates
{
    private static readonly Lazy<X509Certificate2> s_localhost = new(() => Create("localhost"));
    private static readonly Lazy<X509Certificate2> s_other = new(() => Create("other.test"));

    public static X509Certificate2 Localhost => s_localhost.Value;
    public static X509Certificate2 Other => s_other.Value;

    public static X509Certificate2 Create(string commonName, bool forClient = false)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(commonName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(forClient ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], critical: false));
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        // Round-trip through PKCS#12 so the private key is usable by every TLS backend.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes the certificate and its key as PEM files (separately) into <paramref name="directory"/>.</summary>
    public static (string CertFile, string KeyFile) WritePem(X509Certificate2 certificate, string directory, string name)
    {
        var certFile = Path.Combine(directory, name + ".crt.pem");
        var keyFile = Path.Combine(directory, name + ".key.pem");
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        using var rsa = certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("no RSA key");
        File.WriteAllText(keyFile, rsa.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }
}

/// <summary>A scratch directory removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ftpsmount-tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Records every verification and optionally refuses.</summary>
internal sealed class RecordingVerifier(bool reject = false) : ICertificateVerifier
{
    private readonly ConcurrentQueue<(string Host, X509Certificate2 Leaf, IReadOnlyList<X509Certificate2> Chain)> _calls = new();

    public IReadOnlyCollection<(string Host, X509Certificate2 Leaf, IReadOnlyList<X509Certificate2> Chain)> Calls => _calls;

    public void Verify(string host, X509Certificate2 leaf, IReadOnlyList<X509Certificate2> chain)
    {
        _calls.Enqueue((host, leaf, chain));
        if (reject)
            throw new CertificateRejectedException(host, "refused by the test", leaf);
    }
}

/// <summary>One accepted TCP connection of <see cref="TlsTestServer"/>; the handler decides when to handshake.</summary>
internal sealed class ServerConnection(Socket socket, SslServerAuthenticationOptions options, CancellationToken stopping)
{
    public Socket Socket { get; } = socket;
    public NetworkStream Network { get; } = new(socket, ownsSocket: true);
    public CancellationToken Stopping { get; } = stopping;
    public string? ClientHostName { get; private set; }
    public X509Certificate? ClientCertificate { get; private set; }

    public async Task<SslStream> AuthenticateAsync()
    {
        var ssl = new SslStream(Network, leaveInnerStreamOpen: true, (_, cert, _, _) =>
        {
            ClientCertificate = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            return true;
        });
        await ssl.AuthenticateAsServerAsync(options, Stopping).ConfigureAwait(false);
        ClientHostName = ssl.TargetHostName; // the SNI name the client sent ("" when none)
        return ssl;
    }
}

/// <summary>
/// A TLS server on 127.0.0.1 inside the test process (.NET SslStream, which resumes TLS 1.2 and 1.3 sessions on
/// Linux). Each connection runs <c>handler</c>; failures are collected and rethrown by <see cref="DisposeAsync"/>
/// unless the test expects them.
/// </summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly ConcurrentQueue<Exception> _errors = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly Task _acceptLoop;

    public TlsTestServer(Func<ServerConnection, Task> handler, SslProtocols protocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        X509Certificate2? certificate = null, bool requireClientCertificate = false)
    {
        Certificate = certificate ?? TestCertificates.Localhost;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificate = Certificate,
            EnabledSslProtocols = protocols,
            ClientCertificateRequired = requireClientCertificate,
        };
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoop(handler, options);
    }

    public int Port { get; }
    public X509Certificate2 Certificate { get; }
    public bool ExpectErrors { get; set; }
    public IReadOnlyCollection<Exception> Errors => _errors;

    private async Task AcceptLoop(Func<ServerConnection, Task> handler, SslServerAuthenticationOptions options)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _sockets.Add(socket);
            var connection = new ServerConnection(socket, options, _stop.Token);
            _connections.Add(Task.Run(async () =>
            {
                try
                {
                    await handler(connection).ConfigureAwait(false);
                }
                catch (Exception e) when (!_stop.IsCancellationRequested)
                {
                    _errors.Enqueue(e);
                }
                catch (Exception)
                {
                    // stopping
                }
                finally
                {
                    connection.Network.Dispose();
                }
            }));
        }
    }

    /// <summary>An open TCP connection to the server.</summary>
    public async Task<NetworkStream> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
        return new NetworkStream(socket, ownsSocket: true);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        foreach (var s in _sockets)
            s.Dispose();
        try
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (Exception) when (ExpectErrors)
        {
        }
        _stop.Dispose();
        if (!ExpectErrors && !_errors.IsEmpty)
            throw new AggregateException("The test server failed.", _errors);
    }

    /// <summary>Handler: echo everything until the client's close_notify, then answer with close_notify.</summary>
    public static async Task Echo(ServerConnection connection)
    {
        using var ssl = await connection.AuthenticateAsync().ConfigureAwait(false);
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await ssl.ReadAsync(buffer, connection.Stopping).ConfigureAwait(false)) > 0)
            await ssl.WriteAsync(buffer.AsMemory(0, n), connection.Stopping).ConfigureAwait(false);
        await ssl.ShutdownAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// <c>openssl s_server</c> on 127.0.0.1, one connection at a time; with <c>-rev</c> among the arguments it answers
/// each line reversed. Started and stopped by its PID; ready once it has printed its ACCEPT line.
/// </summary>
internal sealed class OpenSslServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public OpenSslServerProcess(string certFile, string keyFile, params string[] extraArgs)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "s_server", "-accept", "127.0.0.1:0", "-cert", certFile, "-key", keyFile, "-naccept", "1000" })
            start.ArgumentList.Add(a);
        foreach (var a in extraArgs)
            start.ArgumentList.Add(a);

        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start openssl");
        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                ready.TrySetException(new InvalidOperationException("openssl s_server exited: " + Output));
                return;
            }
            lock (_output) _output.AppendLine(e.Data);
            if (e.Data.StartsWith("ACCEPT ", StringComparison.Ordinal))
            {
                var port = e.Data[(e.Data.LastIndexOf(':') + 1)..];
                ready.TrySetResult(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (_output) _output.AppendLine(e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            Port = ready.Task.WaitAsync(TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Port { get; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static bool Available
    {
        get
        {
            if (OperatingSystem.IsWindows())
                return false;
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            {
                if (dir.Length > 0 && File.Exists(Path.Combine(dir, "openssl")))
                    return true;
            }
            return false;
        }
    }

    public async Task<NetworkStream> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
        return new NetworkStream(socket, ownsSocket: true);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(30_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}

internal static class TlsTestHelpers
{
    public const string OpenSsl = "OpenSsl";
    public const string SslStream = "SslStream";

    public static TheoryData<string> Backends => [OpenSsl, SslStream];

    public static TheoryData<string, TlsVersion> BackendsAndVersions => new()
    {
        { OpenSsl, TlsVersion.Tls12 },
        { OpenSsl, TlsVersion.Tls13 },
        { SslStream, TlsVersion.Tls12 },
        { SslStream, TlsVersion.Tls13 },
    };

    /// <summary>False when the backend cannot run here (OpenSSL on Windows): the test then has nothing to check.</summary>
    public static bool Usable(string backend) => backend != OpenSsl || OpenSslTlsEngine.IsSupported;

    public static ITlsEngine CreateEngine(string backend, ICertificateVerifier verifier, TlsOptions? options = null)
    {
        options ??= new TlsOptions();
        return backend == OpenSsl ? new OpenSslTlsEngine(options, verifier) : new SslStreamTlsEngine(options, verifier);
    }

    public static TlsOptions Only(TlsVersion version) => new() { MinVersion = version, MaxVersion = version };

    public static SslProtocols ToSslProtocols(TlsVersion version) =>
        version == TlsVersion.Tls12 ? SslProtocols.Tls12 : SslProtocols.Tls13;

    public static async Task<byte[]> ReadExactlyAsync(Stream stream, int count, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer;
    }

    /// <summary>Reads until end of stream.</summary>
    public static async Task<byte[]> ReadToEndAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        using var ms = new MemoryStream();
        await stream.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
        return ms.ToArray();
    }

    /// <summary>Guards an await that must finish: a hang fails the test instead of stalling the run.</summary>
    public static Task<T> Within<T>(this Task<T> task, int seconds = 60) => task.WaitAsync(TimeSpan.FromSeconds(seconds));

    public static Task Within(this Task task, int seconds = 60) => task.WaitAsync(TimeSpan.FromSeconds(seconds));

    public static Task Within(this ValueTask task, int seconds = 60) => task.AsTask().Within(seconds);

    public static Task<T> Within<T>(this ValueTask<T> task, int seconds = 60) => task.AsTask().Within(seconds);
}
