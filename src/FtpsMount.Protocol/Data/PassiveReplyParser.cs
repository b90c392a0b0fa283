using System.Globalization;
using System.Net;

namespace FtpsMount.Protocol.Data;

/// <summary>Parses 227 (PASV) and 229 (EPSV) replies.</summary>
internal static class PassiveReplyParser
{
    /// <summary>229 "Entering Extended Passive Mode (|||6446|)" — the delimiter is the first char inside the parens (RFC 2428).</summary>
    public static int ParseEpsv(FtpReply reply)
    {
        var text = reply.Message;
        var open = text.IndexOf('(');
        var close = open < 0 ? -1 : text.IndexOf(')', open + 1);
        if (open < 0 || close < open + 5)
        {
            throw new FtpProtocolException($"Malformed EPSV reply: {reply}");
        }

        var inner = text.AsSpan(open + 1, close - open - 1);
        var delimiter = inner[0];
        if (delimiter is < '!' or > '~' || inner.Length < 5 || inner[1] != delimiter || inner[2] != delimiter || inner[^1] != delimiter)
        {
            throw new FtpProtocolException($"Malformed EPSV reply: {reply}");
        }

        var portText = inner[3..^1];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new FtpProtocolException($"EPSV reply names an invalid port: {reply}");
        }

        return port;
    }

    /// <summary>227 "Entering Passive Mode (h1,h2,h3,h4,p1,p2)"; the numbers may appear with or without parens.</summary>
    public static IPEndPoint ParsePasv(FtpReply reply)
    {
        var text = reply.Message;
        Span<int> values = stackalloc int[6];
        for (var start = 0; start < text.Length; start++)
        {
            if (!char.IsAsciiDigit(text[start]) || (start > 0 && char.IsAsciiDigit(text[start - 1])))
            {
                continue;
            }

            if (TryParseSix(text.AsSpan(start), values))
            {
                for (var i = 0; i < 6; i++)
                {
                    if (values[i] > 255)
                    {
                        throw new FtpProtocolException($"PASV reply has a number over 255: {reply}");
                    }
                }

                var address = new IPAddress([(byte)values[0], (byte)values[1], (byte)values[2], (byte)values[3]]);
                var port = (values[4] << 8) | values[5];
                if (port == 0)
                {
                    throw new FtpProtocolException($"PASV reply names port 0: {reply}");
                }

                return new IPEndPoint(address, port);
            }
        }

        throw new FtpProtocolException($"Malformed PASV reply: {reply}");
    }

    private static bool TryParseSix(ReadOnlySpan<char> s, Span<int> values)
    {
        var pos = 0;
        for (var i = 0; i < 6; i++)
        {
            var digits = 0;
            var value = 0;
            while (pos < s.Length && char.IsAsciiDigit(s[pos]) && digits < 4)
            {
                value = (value * 10) + (s[pos] - '0');
                pos++;
                digits++;
            }

            if (digits == 0 || digits > 3)
            {
                return false;
            }

            values[i] = value;
            if (i < 5)
            {
                if (pos >= s.Length || s[pos] != ',')
                {
                    return false;
                }

                pos++;
            }
        }

        return true;
    }
}
