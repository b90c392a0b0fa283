namespace FtpsMount.Protocol.Listing;

/// <summary>
/// <c>ls -l</c> style LIST lines as vsftpd, proftpd, pure-ftpd, wu-ftpd, FileZilla Server and Serv-U send them:
/// <code>
/// drwxr-xr-x    2 1000     1000         4096 Mar 15  2023 pub
/// -rw-r--r--+   1 alice    staff        1234 Jan  2 09:05 notes.txt
/// lrwxrwxrwx    1 root     root            7 Jan  2 09:05 latest -> v1.2.3
/// crw-rw-rw-    1 root     root        1,   3 Jan  2 09:05 null
/// -rw-r--r--    1 bob      users         512 2024-02-29 13:45 iso.txt
/// d [RWCEAFMS] admin                     512 Apr 07 14:32 netware-dir
/// </code>
/// The date is located by shape (month name, day, time-or-year; or ISO yyyy-mm-dd HH:mm), preceded by the
/// size; what lies between the permissions and the size is link count, owner and group, any of which may be
/// missing (owners with spaces are kept whole). The name is everything after the single separator that follows
/// the date, so leading and trailing spaces survive. Symlinks split at the first " -> ".
/// Yearless dates ("Mmm dd HH:mm") take the most recent year that puts them no more than one day after "now" in
/// the server's zone: the current year, or the year before for dates still ahead. Nothing here throws.
/// </summary>
public static class UnixListParser
{
    private const int MaxTokens = 48;

    /// <summary>Parses one LIST line. <paramref name="serverZone"/> null means UTC.</summary>
    public static LineParseOutcome ParseLine(string? line, DateTimeOffset now, TimeZoneInfo? serverZone, out FtpEntry? entry)
    {
        var clock = ListingClock.Create(now, serverZone);
        return Parse(line.AsSpan(), in clock, out entry);
    }

    private readonly record struct Token(int Start, int End);

    internal static LineParseOutcome Parse(ReadOnlySpan<char> line, in ListingClock clock, out FtpEntry? entry)
    {
        entry = null;
        line = ListingText.TrimLineEnd(line);
        int pos = ListingText.SkipWs(line, 0);
        if (pos >= line.Length)
        {
            return LineParseOutcome.Skipped;
        }

        if (IsTotalLine(line[pos..]))
        {
            return LineParseOutcome.Skipped;
        }

        if (!TryParseTypeAndMode(line, ref pos, out var type, out int? mode, out char typeChar))
        {
            return LineParseOutcome.Rejected;
        }

        Span<Token> tokens = stackalloc Token[MaxTokens];
        int count = 0;
        int p = pos;
        while (count < MaxTokens)
        {
            p = ListingText.SkipWs(line, p);
            if (p >= line.Length)
            {
                break;
            }

            int end = ListingText.TokenEnd(line, p);
            tokens[count++] = new Token(p, end);
            p = end;
        }

        bool device = typeChar is 'c' or 'b';
        for (int i = 1; i < count; i++)
        {
            var sizeText = Text(line, tokens[i - 1]);
            bool sizeIsDigits = ListingText.AllDigits(sizeText);
            if (!sizeIsDigits && !(device && IsMajorMinor(sizeText)))
            {
                continue;
            }

            if (!TryMatchDate(line, tokens, i, count, clock, out int lastDateToken, out var modified))
            {
                continue;
            }

            int nameStart = tokens[lastDateToken].End + 1;
            if (nameStart >= line.Length)
            {
                continue;
            }

            long? size = null;
            if (!device)
            {
                if (!ListingText.TryParseSize(sizeText, out long s))
                {
                    return LineParseOutcome.Rejected; // digits, but beyond long
                }

                size = s;
            }

            // Tokens before the size: [link count] [owner...] [group]. A device's "major," is not among them.
            int metaCount = i - 1;
            if (device && metaCount > 0 && Text(line, tokens[metaCount - 1]) is [.., ','])
            {
                metaCount--;
            }

            ReadOwnerGroup(line, tokens[..metaCount], out string? owner, out string? group);
            return Finish(line[nameStart..], type, mode, size, modified, owner, group, out entry);
        }

        return LineParseOutcome.Rejected;
    }

    private static ReadOnlySpan<char> Text(ReadOnlySpan<char> line, Token t) => line[t.Start..t.End];

    private static LineParseOutcome Finish(
        ReadOnlySpan<char> name, FtpEntryType type, int? mode, long? size, DateTimeOffset? modified,
        string? owner, string? group, out FtpEntry? entry)
    {
        entry = null;
        string? target = null;
        if (type == FtpEntryType.Link)
        {
            int arrow = name.IndexOf(" -> ", StringComparison.Ordinal);
            if (arrow >= 0)
            {
                var t = name[(arrow + 4)..];
                name = name[..arrow];
                if (!ListingText.IsSafeTarget(t))
                {
                    return LineParseOutcome.Rejected;
                }

                target = t.IsEmpty ? null : t.ToString();
            }
        }

        if (ListingText.IsDotOrDotDot(name))
        {
            // "ls -a" style listings (pure-ftpd, proftpd with -a) list the directory and its parent.
            return type == FtpEntryType.Directory ? LineParseOutcome.Skipped : LineParseOutcome.Rejected;
        }

        if (!ListingText.IsSafeName(name, rejectBackslash: false))
        {
            return LineParseOutcome.Rejected;
        }

        entry = new FtpEntry
        {
            Name = name.ToString(),
            Type = type,
            Size = size,
            Modified = modified,
            UnixMode = mode,
            LinkTarget = target,
            Owner = owner,
            Group = group,
        };
        return LineParseOutcome.Parsed;
    }

    /// <summary>"total 123" / "TOTAL 0" headers from ls.</summary>
    private static bool IsTotalLine(ReadOnlySpan<char> s) =>
        s.Length > 6
        && s.StartsWith("total", StringComparison.OrdinalIgnoreCase)
        && ListingText.IsWs(s[5])
        && ListingText.SkipWs(s, 5) < s.Length
        && char.IsAsciiDigit(s[ListingText.SkipWs(s, 5)]);

    /// <summary>"1,3" as one token (some ls versions for devices).</summary>
    private static bool IsMajorMinor(ReadOnlySpan<char> s)
    {
        int comma = s.IndexOf(',');
        return comma > 0 && ListingText.AllDigits(s[..comma]) && ListingText.AllDigits(s[(comma + 1)..]);
    }

    /// <summary>
    /// The type letter and nine permission characters, with an optional ACL/xattr marker ('+', '.', '@');
    /// or NetWare's "d [RWCEAFMS]".
    /// </summary>
    private static bool TryParseTypeAndMode(ReadOnlySpan<char> line, ref int pos, out FtpEntryType type, out int? mode, out char typeChar)
    {
        mode = null;
        typeChar = line[pos];
        switch (typeChar)
        {
            case '-':
                type = FtpEntryType.File;
                break;
            case 'd':
                type = FtpEntryType.Directory;
                break;
            case 'l':
                type = FtpEntryType.Link;
                break;
            case 'c' or 'b' or 'p' or 's' or 'D':
                type = FtpEntryType.Other;
                break;
            default:
                type = FtpEntryType.Other;
                return false;
        }

        // NetWare: "d [RWCEAFMS] owner size date name" (no Unix mode).
        if (pos + 1 < line.Length && ListingText.IsWs(line[pos + 1]))
        {
            if (typeChar is not ('d' or '-'))
            {
                return false;
            }

            int q = ListingText.SkipWs(line, pos + 1);
            if (q >= line.Length || line[q] != '[')
            {
                return false;
            }

            int end = ListingText.TokenEnd(line, q);
            if (line[end - 1] != ']')
            {
                return false;
            }

            pos = end;
            return true;
        }

        if (line.Length - pos < 10)
        {
            return false;
        }

        var perms = line.Slice(pos + 1, 9);
        int bits = 0;
        for (int k = 0; k < 9; k++)
        {
            int triad = 2 - (k / 3); // user, group, other → shifts 6, 3, 0
            int shift = triad * 3;
            char c = perms[k];
            switch (k % 3)
            {
                case 0:
                    if (c == 'r')
                    {
                        bits |= 4 << shift;
                    }
                    else if (c is not ('-' or '?'))
                    {
                        return false;
                    }

                    break;
                case 1:
                    if (c == 'w')
                    {
                        bits |= 2 << shift;
                    }
                    else if (c is not ('-' or '?'))
                    {
                        return false;
                    }

                    break;
                default:
                    if (!ExecBits(c, triad, ref bits))
                    {
                        return false;
                    }

                    break;
            }
        }

        pos += 10;
        if (pos < line.Length && !ListingText.IsWs(line[pos]))
        {
            if (line[pos] is not ('+' or '.' or '@'))
            {
                return false;
            }

            pos++;
            if (pos < line.Length && !ListingText.IsWs(line[pos]))
            {
                return false;
            }
        }

        mode = bits;
        return true;
    }

    /// <summary>The third character of a triad: x, -, and the setuid/setgid/sticky letters (s S t T, l/L = mandatory locking).</summary>
    private static bool ExecBits(char c, int triad, ref int bits)
    {
        int exec = 1 << (triad * 3);
        int special = triad switch
        {
            2 => 0x800, // setuid 04000
            1 => 0x400, // setgid 02000
            _ => 0x200, // sticky 01000
        };

        switch (c)
        {
            case 'x':
                bits |= exec;
                return true;
            case '-' or '?':
                return true;
            case 's' when triad != 0:
            case 't' when triad == 0:
                bits |= exec | special;
                return true;
            case 'S' when triad != 0:
            case 'T' when triad == 0:
                bits |= special;
                return true;
            case 'l' or 'L' when triad == 1:
                bits |= special;
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Date shapes starting at token <paramref name="i"/>: "Mmm dd HH:mm[:ss]", "Mmm dd yyyy",
    /// "yyyy-mm-dd HH:mm[:ss[.f]] [±hhmm]". A recognised shape with absurd values gives a null date.
    /// </summary>
    private static bool TryMatchDate(
        ReadOnlySpan<char> line, ReadOnlySpan<Token> tokens, int i, int count, in ListingClock clock,
        out int lastToken, out DateTimeOffset? modified)
    {
        lastToken = -1;
        modified = null;
        var first = Text(line, tokens[i]);

        int month = ListingText.MonthFromName(first);
        if (month != 0)
        {
            if (i + 2 >= count)
            {
                return false;
            }

            var dayText = Text(line, tokens[i + 1]);
            var third = Text(line, tokens[i + 2]);
            if (dayText.Length > 2 || !ListingText.TryParseSmallInt(dayText, out int day))
            {
                return false;
            }

            if (third.Length == 4 && ListingText.TryParseSmallInt(third, out int year))
            {
                modified = ListingText.MakeLocal(year, month, day, 0, 0, 0, 0, clock.Zone);
            }
            else if (ListingText.TryParseClock(third, out int h, out int m, out int s, out long frac, out _))
            {
                modified = InferYear(month, day, h, m, s, frac, clock);
            }
            else
            {
                return false;
            }

            lastToken = i + 2;
            return true;
        }

        if (first.Length == 10 && first[4] == '-' && first[7] == '-'
            && ListingText.TryParseSmallInt(first[..4], out int y)
            && ListingText.TryParseSmallInt(first.Slice(5, 2), out int mo)
            && ListingText.TryParseSmallInt(first.Slice(8, 2), out int d))
        {
            if (i + 1 >= count
                || !ListingText.TryParseClock(Text(line, tokens[i + 1]), out int h, out int m, out int s, out long frac, out bool hadFraction))
            {
                return false;
            }

            lastToken = i + 1;
            modified = ListingText.MakeLocal(y, mo, d, h, m, s, frac, clock.Zone);

            // GNU "--time-style=full-iso" adds the numeric zone after a fractional time.
            if (hadFraction && i + 2 < count && TryParseNumericZone(Text(line, tokens[i + 2]), out var zoneOffset))
            {
                lastToken = i + 2;
                modified = ListingText.IsPlausible(y, mo, d, h, m, s) && zoneOffset is not null
                    ? ToOffset(new DateTime(y, mo, d, h, m, Math.Min(s, 59)).AddTicks(frac), zoneOffset.Value)
                    : null;
            }

            return true;
        }

        return false;
    }

    private static bool TryParseNumericZone(ReadOnlySpan<char> s, out TimeSpan? offset)
    {
        offset = null;
        if (s.Length != 5 || s[0] is not ('+' or '-')
            || !ListingText.TryParseSmallInt(s.Slice(1, 2), out int hh)
            || !ListingText.TryParseSmallInt(s.Slice(3, 2), out int mm))
        {
            return false;
        }

        if (hh <= 14 && mm < 60)
        {
            var value = new TimeSpan(hh, mm, 0);
            offset = s[0] == '-' ? -value : value;
        }

        return true;
    }

    private static DateTimeOffset? ToOffset(DateTime local, TimeSpan offset)
    {
        long utc = local.Ticks - offset.Ticks;
        return offset.Duration() <= TimeSpan.FromHours(14) && utc >= DateTime.MinValue.Ticks && utc <= DateTime.MaxValue.Ticks
            ? new DateTimeOffset(local, offset)
            : null;
    }

    /// <summary>
    /// The year of a yearless date: the most recent year that does not put the date more than one day after
    /// "now" in the server's zone (the day absorbs clock skew). So usually the current year, the year before when
    /// the date would be in the future ("Dec 31" seen on Jan 2), the next year only when "now" is within a day of
    /// it ("Jan 1 00:30" seen on Dec 31 at 23:00), and Feb 29 walks back to a leap year.
    /// </summary>
    private static DateTimeOffset? InferYear(int month, int day, int hour, int minute, int second, long frac, in ListingClock clock)
    {
        if (month is < 1 or > 12 || day is < 1 or > 31 || hour > 23 || minute > 59 || second > 60)
        {
            return null;
        }

        int year = Math.Min(clock.NowLocal.Year + 1, 9999);
        for (int attempt = 0; attempt < 10 && year >= 1970; attempt++, year--)
        {
            if (day > DateTime.DaysInMonth(year, month))
            {
                continue;
            }

            var candidate = new DateTime(year, month, day, hour, minute, Math.Min(second, 59)).AddTicks(frac);
            if (candidate <= clock.FutureLimit)
            {
                return ListingText.FromLocal(candidate, clock.Zone);
            }
        }

        return null;
    }

    /// <summary>
    /// Splits the columns before the size. First token numeric and more than one token → it is the link count.
    /// Of the rest, the last is the group when two or more remain; everything before it is the owner (kept with
    /// its inner spacing, for servers whose owner names hold spaces).
    /// </summary>
    private static void ReadOwnerGroup(ReadOnlySpan<char> line, ReadOnlySpan<Token> meta, out string? owner, out string? group)
    {
        owner = null;
        group = null;
        if (meta.Length == 0)
        {
            return;
        }

        if (ListingText.AllDigits(Text(line, meta[0])))
        {
            // "1 user group", "1 user", or a lone "1": the leading number is the link count.
            meta = meta[1..];
        }

        if (meta.Length == 0)
        {
            return;
        }

        if (meta.Length == 1)
        {
            owner = Text(line, meta[0]).ToString();
            return;
        }

        owner = line[meta[0].Start..meta[^2].End].ToString();
        group = Text(line, meta[^1]).ToString();
    }
}
