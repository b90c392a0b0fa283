using System.Text;

namespace FtpsMount.Protocol.Control;

/// <summary>Reads FTP replies (RFC 959 §4.2) from a byte stream, defensively: every line is bounded,
/// every reply is bounded in lines and bytes, non-UTF-8 bytes decode through the fallback encoding,
/// and anything that is not a reply is a typed <see cref="FtpProtocolException"/> — never a hang on
/// garbage (the caller bounds waiting with a timeout) and never an unbounded buffer.</summary>
internal sealed class ReplyReader
{
    public const int DefaultMaxLineBytes = 16 * 1024;
    public const int DefaultMaxReplyLines = 4096;
    public const int DefaultMaxReplyBytes = 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;
    private readonly int _maxLineBytes;
    private readonly int _maxReplyLines;
    private readonly int _maxReplyBytes;
    private byte[] _line = new byte[256];

    public ReplyReader(Stream stream, Encoding fallbackEncoding,
        int maxLineBytes = DefaultMaxLineBytes, int maxReplyLines = DefaultMaxReplyLines, int maxReplyBytes = DefaultMaxReplyBytes)
    {
        Stream = stream;
        FallbackEncoding = fallbackEncoding;
        _maxLineBytes = maxLineBytes;
        _maxReplyLines = maxReplyLines;
        _maxReplyBytes = maxReplyBytes;
    }

    /// <summary>Replaced after AUTH (TLS stream) or CCC (back to the clear stream).
    /// Only legal when no bytes are buffered: a server that pipelines data after 234 is broken.</summary>
    public Stream Stream { get; private set; }

    /// <summary>Used for bytes that are not valid UTF-8 (legacy servers, Latin-1 names).</summary>
    public Encoding FallbackEncoding { get; set; }

    public bool HasBufferedData => _end > _start;

    public void ReplaceStream(Stream stream)
    {
        if (HasBufferedData)
        {
            throw new FtpProtocolException("The server sent data after the reply that switches the control channel's security; refusing to continue.");
        }

        Stream = stream;
    }

    /// <summary>Reads one complete reply. Throws <see cref="FtpConnectionException"/> on EOF,
    /// <see cref="FtpProtocolException"/> on malformed input.</summary>
    public async Task<FtpReply> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var first = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        var (code, separator, text) = ParseFirstLine(first);
        var lines = new List<string> { text };
        if (separator != '-')
        {
            return new FtpReply(code, lines);
        }

        var total = first.Length;
        var codePrefix = first.Substring(0, 3);
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            total += line.Length;
            if (lines.Count >= _maxReplyLines || total > _maxReplyBytes)
            {
                throw new FtpProtocolException($"Reply {code} is too long (over {_maxReplyLines} lines or {_maxReplyBytes} bytes); the server is misbehaving.");
            }

            // The last line repeats the code followed by a space (or nothing). Lines in between are free text;
            // a line that merely starts with another code or "NNN-" does not end the reply (RFC 959 §4.2).
            if (line.Length >= 3 && string.CompareOrdinal(line, 0, codePrefix, 0, 3) == 0 && (line.Length == 3 || line[3] == ' '))
            {
                lines.Add(line.Length > 4 ? line.Substring(4) : string.Empty);
                return new FtpReply(code, lines);
            }

            // Continuation lines conventionally start with a space (FEAT), or repeat "NNN-" (some servers).
            lines.Add(line.Length >= 4 && string.CompareOrdinal(line, 0, codePrefix, 0, 3) == 0 && line[3] == '-'
                ? line.Substring(4)
                : line);
        }
    }

    internal static (int Code, char Separator, string Text) ParseFirstLine(string line)
    {
        if (line.Length < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2]) || line[0] is < '1' or > '5')
        {
            throw new FtpProtocolException($"Malformed reply from server (no valid reply code): \"{Printable(line)}\"");
        }

        var code = ((line[0] - '0') * 100) + ((line[1] - '0') * 10) + (line[2] - '0');
        if (line.Length == 3)
        {
            return (code, ' ', string.Empty);
        }

        var separator = line[3];
        if (separator is not (' ' or '-'))
        {
            throw new FtpProtocolException($"Malformed reply from server (code not followed by space or '-'): \"{Printable(line)}\"");
        }

        return (code, separator, line.Substring(4));
    }

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    /// <summary>Shortens and escapes server text for error messages (no control characters reach a terminal or log).</summary>
    internal static string Printable(string text, int max = 120)
    {
        var sb = new StringBuilder(Math.Min(text.Length, max) + 8);
        foreach (var c in text)
        {
            if (sb.Length >= max)
            {
                sb.Append('…');
                break;
            }

            sb.Append(char.IsControl(c) ? '?' : c);
        }

        return sb.ToString();
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var lf = span.IndexOf((byte)'\n');
            var take = lf >= 0 ? lf : span.Length;
            if (length + take > _maxLineBytes)
            {
                throw new FtpProtocolException($"Reply line longer than {_maxLineBytes} bytes; the server is misbehaving.");
            }

            if (length + take > _line.Length)
            {
                Array.Resize(ref _line, Math.Max(_line.Length * 2, length + take));
            }

            span[..take].CopyTo(_line.AsSpan(length));
            length += take;
            if (lf >= 0)
            {
                _start += lf + 1;
                return Decode(_line.AsSpan(0, length));
            }

            _start = _end = 0;
            int read;
            try
            {
                read = await Stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new FtpConnectionException("The control connection failed while reading a reply: " + ex.Message, ex);
            }

            if (read == 0)
            {
                throw new FtpConnectionException(length == 0
                    ? "The server closed the control connection."
                    : "The server closed the control connection in the middle of a reply.");
            }

            _end = read;
        }
    }

    private string Decode(ReadOnlySpan<byte> line)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        try
        {
            return StrictUtf8.GetString(line);
        }
        catch (DecoderFallbackException)
        {
            return FallbackEncoding.GetString(line);
        }
    }
}
