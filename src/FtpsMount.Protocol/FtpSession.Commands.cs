using System.Globalization;
using FtpsMount.Protocol.Listing;

namespace FtpsMount.Protocol;

/// <summary>A checksum the server computed (HASH, XCRC, XMD5, XSHA1, XSHA256).</summary>
public sealed record FtpChecksum(string Algorithm, string Value);

public sealed partial class FtpSession
{
    /// <summary>Sends NOOP (keep-alive / liveness check).</summary>
    public async Task NoopAsync(CancellationToken cancellationToken = default)
    {
        using var lease = Enter();
        var reply = await _control.ExecuteAsync("NOOP", cancellationToken).ConfigureAwait(false);
        if (!reply.IsPositiveCompletion)
        {
            throw new FtpReplyException("NOOP", reply);
        }
    }

    /// <summary>Lists a directory: MLSD when the server has it, otherwise CWD + LIST -a parsed as Unix or DOS.</summary>
    public async Task<ListingResult> ListAsync(string directory, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(directory);
        using var lease = Enter();
        if (Features.Mlst && !_mlsdFailed)
        {
            try
            {
                var lines = await ReadListingLinesAsync("MLSD " + directory, cancellationToken).ConfigureAwait(false);
                return ListingParser.Parse(lines, ListingFormat.Mlsd, _time.GetUtcNow(), TimeZoneInfo.Utc);
            }
            catch (FtpReplyException ex) when (ex.Code is 500 or 501 or 502 or 504)
            {
                // Advertised but not implemented (seen on some embedded servers): fall back to LIST for good.
                _mlsdFailed = true;
                _log.Log(FtpLogLevel.Debug, $"MLSD refused ({ex.Reply}); falling back to LIST.");
            }
        }

        // LIST takes a pathname that many servers glob (vsftpd expands *, ?, [ ]), so names containing those would
        // list the wrong thing. CWD into the directory and LIST without a path instead; "-a" shows dot files.
        var cwd = await _control.ExecuteAsync("CWD " + directory, cancellationToken).ConfigureAwait(false);
        if (!cwd.IsPositiveCompletion)
        {
            throw new FtpReplyException("CWD " + directory, cwd);
        }

        IReadOnlyList<string> listLines;
        try
        {
            listLines = await ReadListingLinesAsync("LIST -a", cancellationToken).ConfigureAwait(false);
        }
        catch (FtpReplyException ex) when (ex.Code is 500 or 501 or 550)
        {
            listLines = await ReadListingLinesAsync("LIST", cancellationToken).ConfigureAwait(false);
        }

        return ListingParser.Parse(listLines, ListingFormat.Auto, _time.GetUtcNow(), TimeZoneInfo.Utc);
    }

    /// <summary>
    /// Attributes of one path without listing its parent: MLST where offered, otherwise SIZE + MDTM (file)
    /// or CWD (directory). Returns null when the path does not exist.
    /// </summary>
    public async Task<FtpEntry?> GetEntryAsync(string path, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        using var lease = Enter();
        if (Features.Mlst)
        {
            var reply = await _control.ExecuteAsync("MLST " + path, cancellationToken).ConfigureAwait(false);
            if (reply.Code == 250)
            {
                var parsed = MlsdParser.ParseMlstReply(reply.Lines);
                if (parsed is not null)
                {
                    return parsed.Entry with { Name = path == "/" ? "/" : FtpPath.GetName(path) };
                }

                if (path == "/")
                {
                    return new FtpEntry { Name = "/", Type = FtpEntryType.Directory };
                }

                throw new FtpProtocolException($"Unparseable MLST reply for {path}: {reply}");
            }

            if (reply.Code is 550 or 450)
            {
                return null;
            }

            if (!(reply.Code is 500 or 501 or 502 or 504))
            {
                throw new FtpReplyException("MLST " + path, reply);
            }
        }

        var size = await _control.ExecuteAsync("SIZE " + path, cancellationToken).ConfigureAwait(false);
        if (size.Code == 213 && long.TryParse(size.Message.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            DateTimeOffset? modified = null;
            var mdtm = await _control.ExecuteAsync("MDTM " + path, cancellationToken).ConfigureAwait(false);
            if (mdtm.Code == 213 && TryParseMdtm(mdtm.Message, out var m))
            {
                modified = m;
            }

            return new FtpEntry { Name = FtpPath.GetName(path), Type = FtpEntryType.File, Size = length, Modified = modified };
        }

        if (size.Code == 421)
        {
            throw new FtpReplyException("SIZE " + path, size);
        }

        var cwd = await _control.ExecuteAsync("CWD " + path, cancellationToken).ConfigureAwait(false);
        if (cwd.IsPositiveCompletion)
        {
            return new FtpEntry { Name = path == "/" ? "/" : FtpPath.GetName(path), Type = FtpEntryType.Directory };
        }

        if (cwd.Code == 421)
        {
            throw new FtpReplyException("CWD " + path, cwd);
        }

        return null;
    }

    /// <summary>SIZE of a file in bytes (TYPE I).</summary>
    public async Task<long> GetSizeAsync(string path, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        using var lease = Enter();
        var reply = await _control.ExecuteAsync("SIZE " + path, cancellationToken).ConfigureAwait(false);
        if (reply.Code != 213)
        {
            throw new FtpReplyException("SIZE " + path, reply);
        }

        if (!long.TryParse(reply.Message.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw new FtpProtocolException($"Malformed SIZE reply: {reply}");
        }

        return size;
    }

    /// <summary>MDTM: last modification time (UTC, RFC 3659).</summary>
    public async Task<DateTimeOffset> GetModifiedTimeAsync(string path, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        using var lease = Enter();
        var reply = await _control.ExecuteAsync("MDTM " + path, cancellationToken).ConfigureAwait(false);
        if (reply.Code != 213)
        {
            throw new FtpReplyException("MDTM " + path, reply);
        }

        return TryParseMdtm(reply.Message, out var time) ? time : throw new FtpProtocolException($"Malformed MDTM reply: {reply}");
    }

    /// <summary>Sets the modification time: MFMT when advertised, else the "MDTM YYYYMMDDHHMMSS path" form
    /// (vsftpd, pure-ftpd). Throws <see cref="NotSupportedException"/> when the server has neither.</summary>
    public async Task SetModifiedTimeAsync(string path, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        using var lease = Enter();
        var stamp = time.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        if (Features.Mfmt)
        {
            var mfmt = await _control.ExecuteAsync($"MFMT {stamp} {path}", cancellationToken).ConfigureAwait(false);
            if (mfmt.IsPositiveCompletion)
            {
                return;
            }

            throw new FtpReplyException("MFMT " + path, mfmt);
        }

        var mdtm = await _control.ExecuteAsync($"MDTM {stamp} {path}", cancellationToken).ConfigureAwait(false);
        if (mdtm.IsPositiveCompletion)
        {
            return;
        }

        if (mdtm.Code is 500 or 501 or 502 or 504)
        {
            throw new NotSupportedException($"The server cannot set modification times (no MFMT, MDTM-set refused: {mdtm}).");
        }

        throw new FtpReplyException("MDTM " + stamp + " " + path, mdtm);
    }

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken = default) =>
        SimpleAsync("DELE", path, cancellationToken);

    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken = default) =>
        SimpleAsync("RMD", path, cancellationToken);

    /// <summary>MKD; returns the created path as the server reports it (or <paramref name="path"/>).</summary>
    public async Task<string> MakeDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        using var lease = Enter();
        var reply = await _control.ExecuteAsync("MKD " + path, cancellationToken).ConfigureAwait(false);
        if (!reply.IsPositiveCompletion)
        {
            throw new FtpReplyException("MKD " + path, reply);
        }

        return TryParseQuotedPath(reply.Message, out var created) && created.StartsWith('/') ? created : path;
    }

    /// <summary>RNFR + RNTO. Whether an existing target is replaced is up to the server (most do).</summary>
    public async Task RenameAsync(string from, string to, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(from);
        FtpPath.Validate(to);
        using var lease = Enter();
        var rnfr = await _control.ExecuteAsync("RNFR " + from, cancellationToken).ConfigureAwait(false);
        if (rnfr.Code != 350)
        {
            throw new FtpReplyException("RNFR " + from, rnfr);
        }

        var rnto = await _control.ExecuteAsync("RNTO " + to, cancellationToken).ConfigureAwait(false);
        if (!rnto.IsPositiveCompletion)
        {
            throw new FtpReplyException("RNTO " + to, rnto);
        }
    }

    /// <summary>SITE CHMOD with an octal mode (e.g. 0644).</summary>
    public async Task ChmodAsync(string path, int mode, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        ArgumentOutOfRangeException.ThrowIfNegative(mode);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mode, 0xFFF);
        using var lease = Enter();
        var octal = Convert.ToString(mode, 8).PadLeft(3, '0');
        var reply = await _control.ExecuteAsync($"SITE CHMOD {octal} {path}", cancellationToken).ConfigureAwait(false);
        if (!reply.IsPositiveCompletion)
        {
            if (reply.Code is 500 or 502 or 504)
            {
                throw new NotSupportedException($"The server does not support SITE CHMOD: {reply}");
            }

            throw new FtpReplyException("SITE CHMOD " + octal + " " + path, reply);
        }
    }

    /// <summary>Free space in bytes via AVBL (draft-peterson-streamlined-ftp-command-extensions), or null when unsupported.</summary>
    public async Task<long?> GetAvailableSpaceAsync(string path, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        if (!Features.Avbl)
        {
            return null;
        }

        using var lease = Enter();
        var reply = await _control.ExecuteAsync("AVBL " + path, cancellationToken).ConfigureAwait(false);
        if (reply.Code == 213 && long.TryParse(reply.Message.Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
        {
            return bytes;
        }

        return null;
    }

    /// <summary>The algorithms this server can checksum with, best first ("SHA-256", "SHA-1", "MD5", "CRC32").</summary>
    public IReadOnlyList<string> ChecksumAlgorithms
    {
        get
        {
            var result = new List<string>();
            foreach (var preferred in new[] { "SHA-512", "SHA-256", "SHA-1", "MD5", "CRC32" })
            {
                if (Features.HashAlgorithms.Contains(preferred))
                {
                    result.Add(preferred);
                }
            }

            if (Features.Xsha256 && !result.Contains("SHA-256")) result.Add("SHA-256");
            if (Features.Xsha1 && !result.Contains("SHA-1")) result.Add("SHA-1");
            if (Features.Xmd5 && !result.Contains("MD5")) result.Add("MD5");
            if (Features.Xcrc && !result.Contains("CRC32")) result.Add("CRC32");
            return result;
        }
    }

    /// <summary>Asks the server for a checksum of a whole file (HASH when advertised, otherwise X* commands).
    /// Returns null when the server offers no command for that algorithm. Value is lowercase hex.</summary>
    public async Task<FtpChecksum?> GetChecksumAsync(string path, string algorithm, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        algorithm = algorithm.ToUpperInvariant();
        using var lease = Enter();
        if (Features.HashAlgorithms.Contains(algorithm))
        {
            if (!string.Equals(Features.CurrentHashAlgorithm, algorithm, StringComparison.Ordinal))
            {
                var opts = await _control.ExecuteAsync("OPTS HASH " + algorithm, cancellationToken).ConfigureAwait(false);
                if (!opts.IsPositiveCompletion)
                {
                    throw new FtpReplyException("OPTS HASH " + algorithm, opts);
                }
            }

            var hash = await _control.ExecuteAsync("HASH " + path, cancellationToken).ConfigureAwait(false);
            if (hash.Code != 213)
            {
                throw new FtpReplyException("HASH " + path, hash);
            }

            // 213 SHA-256 0-1234 <hex> <name>
            return new FtpChecksum(algorithm, ExtractHex(hash.Message, algorithm) ?? throw new FtpProtocolException($"Malformed HASH reply: {hash}"));
        }

        var verb = algorithm switch
        {
            "SHA-256" when Features.Xsha256 => "XSHA256",
            "SHA-1" when Features.Xsha1 => "XSHA1",
            "MD5" when Features.Xmd5 => "XMD5",
            "CRC32" when Features.Xcrc => "XCRC",
            _ => null,
        };
        if (verb is null)
        {
            return null;
        }

        var reply = await _control.ExecuteAsync(verb + " " + path, cancellationToken).ConfigureAwait(false);
        if (!reply.IsPositiveCompletion)
        {
            throw new FtpReplyException(verb + " " + path, reply);
        }

        return new FtpChecksum(algorithm, ExtractHex(reply.Message, algorithm) ?? throw new FtpProtocolException($"Malformed {verb} reply: {reply}"));
    }

    private static string? ExtractHex(string text, string algorithm)
    {
        var length = algorithm switch
        {
            "SHA-512" => 128,
            "SHA-256" => 64,
            "SHA-1" => 40,
            "MD5" => 32,
            "CRC32" => 8,
            _ => -1,
        };
        foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.Length == length && token.All(Uri.IsHexDigit))
            {
                return token.ToLowerInvariant();
            }
        }

        // CRC32 is sometimes sent without leading zeros.
        if (algorithm == "CRC32")
        {
            foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (token.Length is > 0 and < 8 && token.All(Uri.IsHexDigit))
                {
                    return token.PadLeft(8, '0').ToLowerInvariant();
                }
            }
        }

        return null;
    }

    /// <summary>Sends an arbitrary command (diagnostics only) and returns its reply. CR/LF are refused.</summary>
    public async Task<FtpReply> ExecuteRawAsync(string command, CancellationToken cancellationToken = default)
    {
        using var lease = Enter();
        return await _control.ExecuteAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private async Task SimpleAsync(string verb, string path, CancellationToken ct)
    {
        FtpPath.Validate(path);
        using var lease = Enter();
        var reply = await _control.ExecuteAsync(verb + " " + path, ct).ConfigureAwait(false);
        if (!reply.IsPositiveCompletion)
        {
            throw new FtpReplyException(verb + " " + path, reply);
        }
    }

    /// <summary>"YYYYMMDDHHMMSS[.sss]" in UTC (RFC 3659 §2.3).</summary>
    internal static bool TryParseMdtm(string text, out DateTimeOffset time)
    {
        var token = text.Trim().Split(' ')[0];
        var formats = new[] { "yyyyMMddHHmmss", "yyyyMMddHHmmss.f", "yyyyMMddHHmmss.ff", "yyyyMMddHHmmss.fff", "yyyyMMddHHmmss.ffffff" };
        if (DateTime.TryParseExact(token, formats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var dt))
        {
            time = new DateTimeOffset(dt, TimeSpan.Zero);
            return true;
        }

        time = default;
        return false;
    }
}
