namespace FtpsMount.Testing.Scripted;

/// <summary>
/// Sits between a server <see cref="System.Net.Security.SslStream"/> and the socket:
/// <list type="bullet">
/// <item>reads never cross a TLS record boundary, so nothing after the record that ends TLS (close_notify on CCC)
/// is swallowed into SslStream's buffer, and a clean close_notify can be told from a bare TCP EOF;</item>
/// <item>the handshake records of both directions are captured (bounded) so the ClientHello and ServerHello can be
/// parsed afterwards (session resumption is not exposed by SslStream).</item>
/// </list>
/// </summary>
internal sealed class TlsRecordStream : Stream
{
    private const int CaptureLimit = 64 * 1024;
    private const byte HandshakeType = 22;

    private readonly Stream _inner;
    private readonly byte[] _header = new byte[5];
    private int _headerHave;
    private int _headerHanded;
    private int _recordRemaining;
    private byte _recordType;

    private readonly List<byte> _handshakeIn = [];
    private readonly List<byte> _handshakeOut = [];
    private readonly byte[] _writeHeader = new byte[5];
    private int _writeHeaderHave;
    private int _writeRemaining;
    private byte _writeType;

    public TlsRecordStream(Stream inner) => _inner = inner;

    public Stream Inner => _inner;

    /// <summary>The transport reported end of stream (a read returned 0).</summary>
    public bool SawEndOfStream { get; private set; }

    public long BytesRead { get; private set; }

    public long BytesWritten { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => _inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        // Hand out a header read earlier.
        if (_headerHanded < _headerHave)
        {
            var n = Math.Min(buffer.Length, _headerHave - _headerHanded);
            _header.AsMemory(_headerHanded, n).CopyTo(buffer);
            _headerHanded += n;
            return n;
        }

        if (_recordRemaining == 0)
        {
            _headerHave = 0;
            _headerHanded = 0;
            while (_headerHave < 5)
            {
                var r = await _inner.ReadAsync(_header.AsMemory(_headerHave), cancellationToken).ConfigureAwait(false);
                if (r == 0)
                {
                    SawEndOfStream = true;
                    break;
                }

                BytesRead += r;
                _headerHave += r;
            }

            if (_headerHave == 0)
            {
                return 0;
            }

            if (_headerHave == 5)
            {
                _recordType = _header[0];
                _recordRemaining = (_header[3] << 8) | _header[4];
            }

            var n = Math.Min(buffer.Length, _headerHave);
            _header.AsMemory(0, n).CopyTo(buffer);
            _headerHanded = n;
            return n;
        }

        var want = Math.Min(buffer.Length, _recordRemaining);
        var got = await _inner.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            SawEndOfStream = true;
            return 0;
        }

        BytesRead += got;
        _recordRemaining -= got;
        if (_recordType == HandshakeType)
        {
            Capture(_handshakeIn, buffer.Span[..got]);
        }

        return got;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        TrackWrite(buffer.Span);
        await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        BytesWritten += buffer.Length;
    }

    private void TrackWrite(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && _handshakeOut.Count < CaptureLimit)
        {
            if (_writeRemaining == 0)
            {
                var take = Math.Min(5 - _writeHeaderHave, data.Length);
                data[..take].CopyTo(_writeHeader.AsSpan(_writeHeaderHave));
                _writeHeaderHave += take;
                data = data[take..];
                if (_writeHeaderHave == 5)
                {
                    _writeType = _writeHeader[0];
                    _writeRemaining = (_writeHeader[3] << 8) | _writeHeader[4];
                    _writeHeaderHave = 0;
                }

                continue;
            }

            var body = Math.Min(_writeRemaining, data.Length);
            if (_writeType == HandshakeType)
            {
                Capture(_handshakeOut, data[..body]);
            }

            _writeRemaining -= body;
            data = data[body..];
        }
    }

    private static void Capture(List<byte> target, ReadOnlySpan<byte> data)
    {
        lock (target)
        {
            var room = CaptureLimit - target.Count;
            if (room > 0)
            {
                target.AddRange(data[..Math.Min(room, data.Length)]);
            }
        }
    }

    /// <summary>Parses what was captured of the handshake (call after it completed).</summary>
    public ScriptedTlsHandshake ParseHandshake()
    {
        byte[] clientBytes;
        byte[] serverBytes;
        lock (_handshakeIn)
        {
            clientBytes = [.. _handshakeIn];
        }

        lock (_handshakeOut)
        {
            serverBytes = [.. _handshakeOut];
        }

        return TlsHelloParser.Parse(clientBytes, serverBytes);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>What the hello messages of one TLS handshake said (best effort; null where unknown).</summary>
public sealed record ScriptedTlsHandshake(
    bool IsTls13,
    string? ServerName,
    byte[] ClientSessionId,
    byte[] ServerSessionId,
    bool ClientOfferedResumption,
    bool? Resumed);

internal static class TlsHelloParser
{
    private const ushort ExtServerName = 0;
    private const ushort ExtSessionTicket = 35;
    private const ushort ExtPreSharedKey = 41;
    private const ushort ExtSupportedVersions = 43;

    private static readonly byte[] HelloRetryRandom = Convert.FromHexString(
        "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C");

    private sealed record Hello(byte[] Random, byte[] SessionId, Dictionary<ushort, byte[]> Extensions);

    public static ScriptedTlsHandshake Parse(byte[] clientBytes, byte[] serverBytes)
    {
        var clientHello = Messages(clientBytes).Where(m => m.Type == 1).Select(m => ParseHello(m.Body, isClient: true)).LastOrDefault(h => h is not null);
        var serverHello = Messages(serverBytes).Where(m => m.Type == 2).Select(m => ParseHello(m.Body, isClient: false))
            .LastOrDefault(h => h is not null && !h.Random.AsSpan().SequenceEqual(HelloRetryRandom));

        var tls13 = serverHello is not null
            && serverHello.Extensions.TryGetValue(ExtSupportedVersions, out var sv)
            && sv.Length >= 2 && sv[0] == 3 && sv[1] == 4;

        string? sni = null;
        if (clientHello is not null && clientHello.Extensions.TryGetValue(ExtServerName, out var sniBytes))
        {
            sni = ParseServerName(sniBytes);
        }

        var offered = clientHello is not null && (clientHello.Extensions.ContainsKey(ExtPreSharedKey)
            || (!tls13 && (clientHello.SessionId.Length > 0
                || (clientHello.Extensions.TryGetValue(ExtSessionTicket, out var ticket) && ticket.Length > 0))));

        bool? resumed = null;
        if (serverHello is not null && clientHello is not null)
        {
            resumed = tls13
                ? serverHello.Extensions.ContainsKey(ExtPreSharedKey)
                : clientHello.SessionId.Length > 0 && clientHello.SessionId.AsSpan().SequenceEqual(serverHello.SessionId);
        }

        return new ScriptedTlsHandshake(
            tls13,
            sni,
            clientHello?.SessionId ?? [],
            serverHello?.SessionId ?? [],
            offered,
            resumed);
    }

    private static IEnumerable<(byte Type, byte[] Body)> Messages(byte[] data)
    {
        var i = 0;
        while (i + 4 <= data.Length)
        {
            var type = data[i];
            var len = (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3];
            if (i + 4 + len > data.Length)
            {
                yield break;
            }

            yield return (type, data.AsSpan(i + 4, len).ToArray());
            i += 4 + len;

            // Only the first messages are readable (TLS 1.2 Finished and everything in TLS 1.3 after
            // ServerHello is encrypted); stop once a hello has been seen and the rest may be ciphertext.
            if (type is 1 or 2 && i < data.Length && data[i] is not (1 or 2 or 11 or 12 or 13 or 14 or 16))
            {
                yield break;
            }
        }
    }

    private static Hello? ParseHello(byte[] body, bool isClient)
    {
        try
        {
            var p = 2; // legacy_version
            var random = body.AsSpan(p, 32).ToArray();
            p += 32;
            var sidLen = body[p++];
            var sid = body.AsSpan(p, sidLen).ToArray();
            p += sidLen;
            if (isClient)
            {
                var suites = (body[p] << 8) | body[p + 1];
                p += 2 + suites;
                var comp = body[p];
                p += 1 + comp;
            }
            else
            {
                p += 2 + 1; // cipher suite, compression
            }

            var exts = new Dictionary<ushort, byte[]>();
            if (p + 2 <= body.Length)
            {
                var extLen = (body[p] << 8) | body[p + 1];
                p += 2;
                var end = Math.Min(body.Length, p + extLen);
                while (p + 4 <= end)
                {
                    var type = (ushort)((body[p] << 8) | body[p + 1]);
                    var len = (body[p + 2] << 8) | body[p + 3];
                    p += 4;
                    if (p + len > end)
                    {
                        break;
                    }

                    exts[type] = body.AsSpan(p, len).ToArray();
                    p += len;
                }
            }

            return new Hello(random, sid, exts);
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
        catch (IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static string? ParseServerName(byte[] ext)
    {
        // server_name_list: length(2) then entries type(1) length(2) name
        if (ext.Length < 5 || ext[2] != 0)
        {
            return null;
        }

        var len = (ext[3] << 8) | ext[4];
        return 5 + len <= ext.Length ? System.Text.Encoding.ASCII.GetString(ext, 5, len) : null;
    }
}

/// <summary>Replays bytes already read from a transport before reading the transport itself (used when the
/// line reader had buffered the start of a ClientHello after AUTH).</summary>
internal sealed class PrefixedStream : Stream
{
    private readonly Stream _inner;
    private readonly byte[] _prefix;
    private int _used;

    public PrefixedStream(byte[] prefix, Stream inner)
    {
        _prefix = prefix;
        _inner = inner;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => _inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_used < _prefix.Length)
        {
            var n = Math.Min(buffer.Length, _prefix.Length - _used);
            _prefix.AsMemory(_used, n).CopyTo(buffer);
            _used += n;
            return ValueTask.FromResult(n);
        }

        return _inner.ReadAsync(buffer, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(buffer, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
