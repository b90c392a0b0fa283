using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Protocol.Tests.Scripted;

/// <summary>A reply as read off the wire: its code and every line (with prefixes) of it.</summary>
internal sealed record RawReply(int Code, IReadOnlyList<string> Lines)
{
    public string Text => Lines[^1].Length > 4 ? Lines[^1][4..] : "";
    public override string ToString() => string.Join(" | ", Lines);
}

/// <summary>
/// A deliberately dumb FTP client over TcpClient/SslStream for exercising <see cref="ScriptedFtpServer"/> without the
/// real client. Every read is bounded by <see cref="Timeout"/> so a broken server fails a test instead of hanging it.
/// </summary>
internal sealed class RawFtpClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly TcpClient _tcp;
    private readonly ScriptedFtpServer _server;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[2 * 1024 * 1024];
    private int _start;
    private int _end;

    private RawFtpClient(ScriptedFtpServer server, TcpClient tcp)
    {
        _server = server;
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public SslStream? Tls { get; private set; }
    public NetworkStream Network => _tcp.GetStream();
    public bool ProtP { get; set; }

    /// <summary>Host name used for TLS (SNI and session cache).</summary>
    public string TargetHost { get; set; } = "localhost";

    public static async Task<RawFtpClient> ConnectAsync(ScriptedFtpServer server, bool implicitTls = false)
    {
        var tcp = new TcpClient();
        using var cts = new CancellationTokenSource(Timeout);
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port, cts.Token);
        var client = new RawFtpClient(server, tcp);
        if (implicitTls)
        {
            await client.StartTlsAsync();
        }

        return client;
    }

    /// <summary>Validation that accepts exactly the scripted server's certificate.</summary>
    public RemoteCertificateValidationCallback Pin() =>
        (_, cert, _, _) => cert is not null
            && ScriptedCertificate.Fingerprint(X509CertificateLoader.LoadCertificate(cert.GetRawCertData())) == _server.CertificateFingerprint;

    public async Task StartTlsAsync(RemoteCertificateValidationCallback? validation = null)
    {
        Assert.Equal(_start, _end); // nothing may be buffered in clear text
        var ssl = new SslStream(_tcp.GetStream(), leaveInnerStreamOpen: true);
        using var cts = new CancellationTokenSource(Timeout);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TargetHost,
            RemoteCertificateValidationCallback = validation ?? Pin(),
        }, cts.Token);
        Tls = ssl;
        _stream = ssl;
    }

    /// <summary>After CCC's 200: exchange close_notify and continue on the bare TCP stream.</summary>
    public async Task StopTlsAsync()
    {
        var ssl = Tls!;
        Assert.Equal(_start, _end);
        using var cts = new CancellationTokenSource(Timeout);
        await ssl.ShutdownAsync();
        var tmp = new byte[256];
        var n = await ssl.ReadAsync(tmp, cts.Token);
        Assert.Equal(0, n); // the server's close_notify
        Tls = null;
        _stream = _tcp.GetStream();
    }

    public async Task SendAsync(string line)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"), cts.Token);
    }

    public async Task SendRawAsync(byte[] data)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await _stream.WriteAsync(data, cts.Token);
    }

    /// <summary>One line without CRLF; null at end of stream.</summary>
    public async Task<string?> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var len = lf - _start;
                if (len > 0 && _buffer[lf - 1] == (byte)'\r')
                {
                    len--;
                }

                var line = Encoding.UTF8.GetString(_buffer, _start, len);
                _start = lf + 1;
                return line;
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new InvalidOperationException("Line longer than the test client's buffer.");
            }

            int n;
            try
            {
                n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            }
            catch (IOException)
            {
                // A reset ends the conversation just like a close.
                n = 0;
            }

            if (n == 0)
            {
                return null;
            }

            _end += n;
        }
    }

    /// <summary>Reads bytes until the server closes the control connection (for malformed-reply tests).</summary>
    public async Task<byte[]> ReadToEndAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var ms = new MemoryStream();
        ms.Write(_buffer, _start, _end - _start);
        _start = _end = 0;
        var tmp = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await _stream.ReadAsync(tmp, cts.Token)) > 0)
            {
                ms.Write(tmp, 0, n);
            }
        }
        catch (IOException)
        {
            // a reset ends the stream too
        }

        return ms.ToArray();
    }

    public async Task<RawReply> ReadReplyAsync()
    {
        var first = await ReadLineAsync() ?? throw new EndOfStreamException("The server closed the control connection.");
        Assert.True(first.Length >= 3 && int.TryParse(first.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out _),
            $"not a reply line: '{first}'");
        var code = int.Parse(first.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture);
        var lines = new List<string> { first };
        if (first.Length > 3 && first[3] == '-')
        {
            var end = first[..3] + " ";
            while (true)
            {
                var next = await ReadLineAsync() ?? throw new EndOfStreamException("EOF inside a multi-line reply.");
                lines.Add(next);
                if (next.StartsWith(end, StringComparison.Ordinal) || next == first[..3])
                {
                    break;
                }
            }
        }

        return new RawReply(code, lines);
    }

    public async Task<RawReply> CommandAsync(string line)
    {
        await SendAsync(line);
        return await ReadReplyAsync();
    }

    public async Task<RawReply> ExpectAsync(string line, int code)
    {
        var reply = await CommandAsync(line);
        Assert.True(reply.Code == code, $"'{line}' answered {reply}, expected {code}");
        return reply;
    }

    /// <summary>Greeting, AUTH TLS, USER/PASS, and optionally PBSZ 0 + PROT P.</summary>
    public async Task LoginAsync(bool protP = true, string user = ScriptedServerOptions.DefaultUser, string password = ScriptedServerOptions.DefaultPassword)
    {
        var greeting = await ReadReplyAsync();
        Assert.Equal(220, greeting.Code);
        await ExpectAsync("AUTH TLS", 234);
        await StartTlsAsync();
        await ExpectAsync("USER " + user, 331);
        await ExpectAsync("PASS " + password, 230);
        if (protP)
        {
            await ExpectAsync("PBSZ 0", 200);
            await ExpectAsync("PROT P", 200);
            ProtP = true;
        }
    }

    /// <summary>PASV and connect the data socket (no TLS yet: the server starts TLS when a transfer command arrives).</summary>
    public async Task<TcpClient> PassiveAsync()
    {
        var reply = await ExpectAsync("PASV", 227);
        var open = reply.Text.IndexOf('(', StringComparison.Ordinal);
        var close = reply.Text.IndexOf(')', StringComparison.Ordinal);
        var n = reply.Text[(open + 1)..close].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var data = new TcpClient();
        using var cts = new CancellationTokenSource(Timeout);
        await data.ConnectAsync(IPAddress.Loopback, (n[4] << 8) | n[5], cts.Token);
        return data;
    }

    public async Task<Stream> SecureDataAsync(TcpClient data, string? targetHost = null)
    {
        if (!ProtP)
        {
            return data.GetStream();
        }

        var ssl = new SslStream(data.GetStream(), leaveInnerStreamOpen: false);
        using var cts = new CancellationTokenSource(Timeout);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = targetHost ?? TargetHost,
            RemoteCertificateValidationCallback = Pin(),
        }, cts.Token);
        return ssl;
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var ms = new MemoryStream();
        await stream.CopyToAsync(ms, cts.Token);
        return ms.ToArray();
    }

    public static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, cts.Token);
        return buffer;
    }

    /// <summary>PASV, command, 150, data until EOF, 226 — the common download shape.</summary>
    public async Task<byte[]> DownloadAsync(string command)
    {
        using var tcp = await PassiveAsync();
        await SendAsync(command);
        var prelim = await ReadReplyAsync();
        Assert.True(prelim.Code == 150, $"{command}: {prelim}");
        await using var data = await SecureDataAsync(tcp);
        var bytes = await ReadAllAsync(data);
        if (data is SslStream ssl)
        {
            await ssl.ShutdownAsync();
        }

        var final = await ReadReplyAsync();
        Assert.True(final.Code == 226, $"{command}: {final}");
        return bytes;
    }

    public async Task<string> DownloadTextAsync(string command) => Encoding.UTF8.GetString(await DownloadAsync(command));

    /// <summary>PASV, command, 150, write, close (with close_notify when <paramref name="closeNotify"/>), final reply.</summary>
    public async Task<RawReply> UploadAsync(string command, byte[] content, bool closeNotify = true)
    {
        using var tcp = await PassiveAsync();
        await SendAsync(command);
        var prelim = await ReadReplyAsync();
        Assert.True(prelim.Code == 150, $"{command}: {prelim}");
        var data = await SecureDataAsync(tcp);
        using var cts = new CancellationTokenSource(Timeout);
        await data.WriteAsync(content, cts.Token);
        if (closeNotify && data is SslStream ssl)
        {
            await ssl.ShutdownAsync();
        }

        tcp.Client.Shutdown(SocketShutdown.Send);
        var final = await ReadReplyAsync();
        await data.DisposeAsync();
        return final;
    }

    public async ValueTask DisposeAsync()
    {
        if (Tls is not null)
        {
            await Tls.DisposeAsync();
        }

        _tcp.Dispose();
    }
}
