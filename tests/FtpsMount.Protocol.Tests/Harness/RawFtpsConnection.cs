using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Protocol.Tests.Harness;

/// <summary>A deliberately minimal FTPS conversation over TcpClient + SslStream, independent of the
/// project's client, to check the reference servers themselves.</summary>
internal sealed class RawFtpsConnection : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly ReferenceServer _server;
    private readonly SslProtocols _protocol;
    private readonly List<byte> _pending = [];
    private Stream _stream;

    private RawFtpsConnection(TcpClient client, ReferenceServer server, SslProtocols protocol)
    {
        _client = client;
        _server = server;
        _protocol = protocol;
        _stream = client.GetStream();
    }

    public SslStream? Tls => _stream as SslStream;

    public static async Task<RawFtpsConnection> ConnectAsync(ReferenceServer server, SslProtocols protocol, CancellationToken ct)
    {
        var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, server.Port, ct);
        return new RawFtpsConnection(client, server, protocol);
    }

    /// <summary>TLS client options that trust exactly the test certificate. Data connections must use the
    /// same target host and protocols as the control connection for SslStream to offer its session.</summary>
    public static SslClientAuthenticationOptions TlsOptions(ReferenceServer server, SslProtocols protocol, bool allowResume = true)
    {
        var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(server.CaCertificatePath));
        return new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocol,
            AllowTlsResume = allowResume,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(trusted.RawData),
        };
    }

    public async Task StartTlsAsync(CancellationToken ct)
    {
        Assert.Empty(_pending);
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(TlsOptions(_server, _protocol), ct);
        _stream = ssl;
    }

    public async Task SendAsync(string command, CancellationToken ct)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), ct);
        await _stream.FlushAsync(ct);
    }

    /// <summary>Reads one reply (all lines of a multi-line one); returns its code and text.</summary>
    public async Task<(int Code, string Text)> ReadReplyAsync(CancellationToken ct)
    {
        var text = new StringBuilder();
        string? first = null;
        while (true)
        {
            var line = await ReadLineAsync(ct) ?? throw new IOException("connection closed while reading a reply: " + text);
            text.AppendLine(line);
            first ??= line;
            if (line.Length >= 4 && line[3] == ' ' && line.AsSpan(0, 3).SequenceEqual(first.AsSpan(0, 3)))
            {
                return (int.Parse(line.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture), text.ToString().TrimEnd());
            }

            if (first.Length >= 4 && first[3] != '-' && first[3] != ' ')
            {
                throw new IOException("malformed reply: " + first);
            }
        }
    }

    public async Task<(int Code, string Text)> CommandAsync(string command, CancellationToken ct)
    {
        await SendAsync(command, ct);
        return await ReadReplyAsync(ct);
    }

    /// <summary>Sends EPSV and connects to the announced port (on the control connection's address).</summary>
    public async Task<(TcpClient Client, int Port)> OpenPassiveAsync(CancellationToken ct)
    {
        var (code, text) = await CommandAsync("EPSV", ct);
        Assert.True(code == 229, text);
        var open = text.IndexOf("(|||", StringComparison.Ordinal);
        var close = text.IndexOf("|)", open, StringComparison.Ordinal);
        var port = int.Parse(text.AsSpan(open + 4, close - open - 4), System.Globalization.CultureInfo.InvariantCulture);
        var data = new TcpClient(AddressFamily.InterNetwork);
        await data.ConnectAsync(IPAddress.Loopback, port, ct);
        return (data, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }

    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var buffer = new byte[512];
        while (true)
        {
            var newline = _pending.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, newline).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, newline + 1);
                return line;
            }

            var n = await _stream.ReadAsync(buffer, ct);
            if (n == 0)
            {
                return null;
            }

            _pending.AddRange(buffer.AsSpan(0, n));
        }
    }
}
