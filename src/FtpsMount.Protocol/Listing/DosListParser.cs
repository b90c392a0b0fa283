namespace FtpsMount.Protocol.Listing;

/// <summary>
/// IIS / Windows style LIST lines ("MS-DOS" directory listing style):
/// <code>
/// 01-15-23  01:45PM       &lt;DIR&gt;          Folder Name
/// 01-15-23  09:05AM                12345 file.txt
/// 01-15-2023  13:45               12345 four-digit year, 24 h clock
/// 01/15/2023  01:45 PM    &lt;SYMLINKD&gt;     link [C:\target]
/// 15.01.2023  13:45       &lt;DIR&gt;          dotted dates are day.month.year
/// </code>
/// Dates with '-' or '/' are month-day-year; with '.' day-month-year; "yyyy-mm-dd" is also read.
/// Two-digit years pivot at 70: 00..69 → 2000..2069, 70..99 → 1970..1999.
/// Times are wall-clock in the server's zone. After a size the name starts after exactly one space; after
/// "&lt;DIR&gt;" (and the other &lt;…&gt; markers) IIS and cmd pad the name to 15 columns from the marker's start,
/// so a name starts there when that padding is present (keeping a name's own leading spaces), else after the
/// whitespace run. Names holding '\' are rejected as well as the common unsafe names. Nothing here throws.
/// </summary>
public static class DosListParser
{
    private const int MarkerColumnWidth = 15; // "<DIR>" + 10 spaces

    /// <summary>Parses one LIST line. <paramref name="serverZone"/> null means UTC.</summary>
    public static LineParseOutcome ParseLine(string? line, TimeZoneInfo? serverZone, out FtpEntry? entry) =>
        Parse(line.AsSpan(), serverZone ?? TimeZoneInfo.Utc, out entry);

    internal static LineParseOutcome Parse(ReadOnlySpan<char> line, TimeZoneInfo zone, out FtpEntry? entry)
    {
        entry = null;
        line = ListingText.TrimLineEnd(line);
        int pos = ListingText.SkipWs(line, 0);
        if (pos >= line.Length)
        {
            return LineParseOutcome.Skipped;
        }

        // Date.
        int end = ListingText.TokenEnd(line, pos);
        if (!TryParseDate(line[pos..end], out int year, out int month, out int day))
        {
            return LineParseOutcome.Rejected;
        }

        // Time, with AM/PM attached ("01:45PM") or as its own token ("01:45 PM").
        pos = ListingText.SkipWs(line, end);
        end = ListingText.TokenEnd(line, pos);
        var timeText = line[pos..end];
        int ampm = AmPmSuffix(timeText);
        if (ampm != 0)
        {
            timeText = timeText[..^2];
        }

        if (!ListingText.TryParseClock(timeText, out int hour, out int minute, out int second, out long frac, out _))
        {
            return LineParseOutcome.Rejected;
        }

        pos = ListingText.SkipWs(line, end);
        end = ListingText.TokenEnd(line, pos);
        if (ampm == 0 && end - pos == 2 && AmPmSuffix(line[pos..end]) is var separate && separate != 0)
        {
            ampm = separate;
            pos = ListingText.SkipWs(line, end);
            end = ListingText.TokenEnd(line, pos);
        }

        if (pos >= line.Length)
        {
            return LineParseOutcome.Rejected;
        }

        // <DIR> / <JUNCTION> / <SYMLINKD> / <SYMLINK>, or a size.
        var field = line[pos..end];
        FtpEntryType type;
        long? size = null;
        int nameStart;
        if (field is ['<', .., '>'])
        {
            if (field.Equals("<DIR>", StringComparison.OrdinalIgnoreCase))
            {
                type = FtpEntryType.Directory;
            }
            else if (field.Equals("<JUNCTION>", StringComparison.OrdinalIgnoreCase)
                || field.Equals("<SYMLINKD>", StringComparison.OrdinalIgnoreCase)
                || field.Equals("<SYMLINK>", StringComparison.OrdinalIgnoreCase))
            {
                type = FtpEntryType.Link;
            }
            else
            {
                return LineParseOutcome.Rejected;
            }

            int column = pos + MarkerColumnWidth;
            if (column < line.Length && end <= column && IsAllSpaces(line[end..column]))
            {
                nameStart = column;
            }
            else
            {
                nameStart = ListingText.SkipWs(line, end);
                if (nameStart == end)
                {
                    return LineParseOutcome.Rejected;
                }
            }
        }
        else
        {
            type = FtpEntryType.File;
            if (!TryParseGroupedSize(field, out long s))
            {
                return LineParseOutcome.Rejected;
            }

            size = s;
            nameStart = end + 1;
        }

        if (nameStart >= line.Length)
        {
            return LineParseOutcome.Rejected;
        }

        var name = line[nameStart..];
        string? target = null;
        if (type == FtpEntryType.Link && name is [.., ']'])
        {
            // cmd's "name [target]"; the target itself may be a Windows path with '\'.
            int open = name.LastIndexOf(" [", StringComparison.Ordinal);
            if (open > 0)
            {
                var t = name[(open + 2)..^1];
                if (!ListingText.IsSafeTarget(t))
                {
                    return LineParseOutcome.Rejected;
                }

                target = t.IsEmpty ? null : t.ToString();
                name = name[..open];
            }
        }

        if (ListingText.IsDotOrDotDot(name))
        {
            return type == FtpEntryType.Directory ? LineParseOutcome.Skipped : LineParseOutcome.Rejected;
        }

        if (!ListingText.IsSafeName(name, rejectBackslash: true))
        {
            return LineParseOutcome.Rejected;
        }

        entry = new FtpEntry
        {
            Name = name.ToString(),
            Type = type,
            Size = size,
            Modified = MakeDate(year, month, day, hour, minute, second, frac, ampm, zone),
            LinkTarget = target,
        };
        return LineParseOutcome.Parsed;
    }

    /// <summary>Two-digit years: 00..69 → 20xx, 70..99 → 19xx.</summary>
    internal static int ExpandYear(int twoDigitYear) => twoDigitYear < 70 ? 2000 + twoDigitYear : 1900 + twoDigitYear;

    private static DateTimeOffset? MakeDate(int year, int month, int day, int hour, int minute, int second, long frac, int ampm, TimeZoneInfo zone)
    {
        if (ampm != 0)
        {
            if (hour is < 1 or > 12)
            {
                return null;
            }

            hour %= 12;
            if (ampm == 2)
            {
                hour += 12;
            }
        }

        return ListingText.MakeLocal(year, month, day, hour, minute, second, frac, zone);
    }

    /// <summary>1 for a trailing "AM", 2 for "PM" (any case), else 0.</summary>
    private static int AmPmSuffix(ReadOnlySpan<char> s)
    {
        if (s.Length < 2 || (s[^1] | 0x20) != 'm')
        {
            return 0;
        }

        return (s[^2] | 0x20) switch
        {
            'a' => 1,
            'p' => 2,
            _ => 0,
        };
    }

    private static bool TryParseDate(ReadOnlySpan<char> s, out int year, out int month, out int day)
    {
        year = month = day = 0;
        int a = IndexOfSeparator(s);
        if (a <= 0)
        {
            return false;
        }

        char sep = s[a];
        var first = s[..a];
        var rest = s[(a + 1)..];
        int b = rest.IndexOf(sep);
        if (b <= 0)
        {
            return false;
        }

        var second = rest[..b];
        var third = rest[(b + 1)..];
        if (!ListingText.TryParseSmallInt(first, out int p1)
            || !ListingText.TryParseSmallInt(second, out int p2)
            || !ListingText.TryParseSmallInt(third, out int p3)
            || second.Length > 2)
        {
            return false;
        }

        if (first.Length == 4 && third.Length <= 2)
        {
            (year, month, day) = (p1, p2, p3); // yyyy-mm-dd (or yyyy/mm/dd)
            return true;
        }

        if (first.Length > 2 || third.Length is not (2 or 4))
        {
            return false;
        }

        year = third.Length == 2 ? ExpandYear(p3) : p3;
        (month, day) = sep == '.' ? (p2, p1) : (p1, p2);
        return true;
    }

    private static int IndexOfSeparator(ReadOnlySpan<char> s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] is '-' or '/' or '.')
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsAllSpaces(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (c != ' ')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Digits, optionally grouped by ',' in threes ("1,234,567" as cmd prints it).</summary>
    private static bool TryParseGroupedSize(ReadOnlySpan<char> s, out long value)
    {
        value = 0;
        if (s.IndexOf(',') < 0)
        {
            return ListingText.TryParseSize(s, out value);
        }

        int group = 0;
        bool firstGroup = true;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == ',')
            {
                if ((firstGroup && group is < 1 or > 3) || (!firstGroup && group != 3))
                {
                    return false;
                }

                firstGroup = false;
                group = 0;
                continue;
            }

            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            int d = c - '0';
            if (value > (long.MaxValue - d) / 10)
            {
                return false;
            }

            value = (value * 10) + d;
            group++;
        }

        return group == 3;
    }
}
