using System.Buffers;
using System.Text;

namespace FtpsMount.Protocol.Listing;

/// <summary>What a parser did with one listing line.</summary>
public enum LineParseOutcome
{
    /// <summary>The line produced an entry.</summary>
    Parsed,

    /// <summary>The line carries no entry by design: blank, "total N", MLSD cdir/pdir, a "." or ".." directory.</summary>
    Skipped,

    /// <summary>The line could not be parsed, or would have produced an unsafe name or an absurd size.</summary>
    Rejected,
}

/// <summary>
/// Span helpers shared by the listing parsers. Everything here is total: no method throws on any input.
/// </summary>
internal static class ListingText
{
    private static readonly SearchValues<char> ForbiddenInName = SearchValues.Create("/\0\r\n");
    private static readonly SearchValues<char> ForbiddenInDosName = SearchValues.Create("/\\\0\r\n");
    private static readonly SearchValues<char> ForbiddenInTarget = SearchValues.Create("\0\r\n");

    public static bool IsWs(char c) => c is ' ' or '\t';

    public static int SkipWs(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && IsWs(s[i]))
        {
            i++;
        }

        return i;
    }

    public static int TokenEnd(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && !IsWs(s[i]))
        {
            i++;
        }

        return i;
    }

    /// <summary>Drops the line terminator a splitter may have left behind (one CRLF, LF or CR).</summary>
    public static ReadOnlySpan<char> TrimLineEnd(ReadOnlySpan<char> line)
    {
        if (line.Length > 0 && line[^1] == '\n')
        {
            line = line[..^1];
        }

        if (line.Length > 0 && line[^1] == '\r')
        {
            line = line[..^1];
        }

        return line;
    }

    public static bool IsBlank(ReadOnlySpan<char> line) => SkipWs(line, 0) == line.Length;

    /// <summary>
    /// The security rule for every parser: a name is one path component. Empty, ".", "..", and anything holding
    /// '/', NUL, CR or LF (and '\' for DOS listings) is refused.
    /// </summary>
    public static bool IsSafeName(ReadOnlySpan<char> name, bool rejectBackslash)
    {
        if (name.IsEmpty || name is "." or "..")
        {
            return false;
        }

        return name.IndexOfAny(rejectBackslash ? ForbiddenInDosName : ForbiddenInName) < 0;
    }

    public static bool IsDotOrDotDot(ReadOnlySpan<char> name) => name is "." or "..";

    /// <summary>A link target may hold '/', but never NUL, CR or LF.</summary>
    public static bool IsSafeTarget(ReadOnlySpan<char> target) => target.IndexOfAny(ForbiddenInTarget) < 0;

    public static bool AllDigits(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (char c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>1..9 ASCII digits, no sign.</summary>
    public static bool TryParseSmallInt(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 9)
        {
            return false;
        }

        foreach (char c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    /// <summary>ASCII digits only (no sign, no spaces); false on overflow of <see cref="long"/>.</summary>
    public static bool TryParseSize(ReadOnlySpan<char> s, out long value)
    {
        value = 0;
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (char c in s)
        {
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
        }

        return true;
    }

    /// <summary>Octal permission digits ("644", "0755", "100644"); the result keeps the 07777 bits.</summary>
    public static int? ParseOctalMode(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s.Length > 8)
        {
            return null;
        }

        int v = 0;
        foreach (char c in s)
        {
            if (c is < '0' or > '7')
            {
                return null;
            }

            v = (v << 3) | (c - '0');
        }

        return v & 0xFFF;
    }

    /// <summary>English three-letter month abbreviation, any case: 1..12, or 0.</summary>
    public static int MonthFromName(ReadOnlySpan<char> s)
    {
        if (s.Length != 3)
        {
            return 0;
        }

        int a = s[0] | 0x20, b = s[1] | 0x20, c = s[2] | 0x20;
        return (a, b, c) switch
        {
            ('j', 'a', 'n') => 1,
            ('f', 'e', 'b') => 2,
            ('m', 'a', 'r') => 3,
            ('a', 'p', 'r') => 4,
            ('m', 'a', 'y') => 5,
            ('j', 'u', 'n') => 6,
            ('j', 'u', 'l') => 7,
            ('a', 'u', 'g') => 8,
            ('s', 'e', 'p') => 9,
            ('o', 'c', 't') => 10,
            ('n', 'o', 'v') => 11,
            ('d', 'e', 'c') => 12,
            _ => 0,
        };
    }

    /// <summary>
    /// Structural parse of "H:MM", "HH:MM", "HH:MM:SS" and "HH:MM:SS.fffffffff". Values are not range-checked
    /// here (that is <see cref="MakeLocal"/>'s job, which yields null for absurd values).
    /// </summary>
    public static bool TryParseClock(ReadOnlySpan<char> s, out int hour, out int minute, out int second, out long fractionTicks, out bool hadFraction)
    {
        hour = minute = second = 0;
        fractionTicks = 0;
        hadFraction = false;

        int colon = s.IndexOf(':');
        if (colon is < 1 or > 2 || !TryParseSmallInt(s[..colon], out hour))
        {
            return false;
        }

        s = s[(colon + 1)..];
        if (s.Length < 2 || !TryParseSmallInt(s[..2], out minute))
        {
            return false;
        }

        s = s[2..];
        if (s.IsEmpty)
        {
            return true;
        }

        if (s[0] != ':' || s.Length < 3 || !TryParseSmallInt(s.Slice(1, 2), out second))
        {
            return false;
        }

        s = s[3..];
        if (s.IsEmpty)
        {
            return true;
        }

        if (s[0] != '.' || !TryParseFraction(s[1..], out fractionTicks))
        {
            return false;
        }

        hadFraction = true;
        return true;
    }

    /// <summary>Decimal fraction digits (any count ≥ 1) to ticks, truncating past 100 ns.</summary>
    public static bool TryParseFraction(ReadOnlySpan<char> digits, out long ticks)
    {
        ticks = 0;
        if (!AllDigits(digits))
        {
            return false;
        }

        long scale = TimeSpan.TicksPerSecond / 10;
        for (int i = 0; i < digits.Length && scale > 0; i++, scale /= 10)
        {
            ticks += (digits[i] - '0') * scale;
        }

        return true;
    }

    /// <summary>True when the civil date/time is in range: year 1970..9999, a real day, 00:00:00..23:59:60.</summary>
    public static bool IsPlausible(int year, int month, int day, int hour, int minute, int second) =>
        year is >= 1970 and <= 9999
        && month is >= 1 and <= 12
        && day >= 1 && day <= DateTime.DaysInMonth(year, month)
        && hour is >= 0 and <= 23
        && minute is >= 0 and <= 59
        && second is >= 0 and <= 60;

    /// <summary>A wall-clock time in <paramref name="zone"/>; null when absurd or not representable.</summary>
    public static DateTimeOffset? MakeLocal(int year, int month, int day, int hour, int minute, int second, long fractionTicks, TimeZoneInfo zone)
    {
        if (!IsPlausible(year, month, day, hour, minute, second))
        {
            return null;
        }

        // A leap second (":60", allowed by RFC 3659) is folded onto :59.
        var local = new DateTime(year, month, day, hour, minute, Math.Min(second, 59), DateTimeKind.Unspecified)
            .AddTicks(fractionTicks);
        return FromLocal(local, zone);
    }

    /// <summary>Attaches the zone's offset for that wall-clock time (a time skipped or repeated by DST gets the
    /// zone's standard offset, as <see cref="TimeZoneInfo.GetUtcOffset(DateTime)"/> defines).</summary>
    public static DateTimeOffset? FromLocal(DateTime local, TimeZoneInfo zone)
    {
        TimeSpan offset;
        if (ReferenceEquals(zone, TimeZoneInfo.Utc))
        {
            offset = TimeSpan.Zero;
        }
        else
        {
            try
            {
                offset = zone.GetUtcOffset(local);
            }
            catch (ArgumentException)
            {
                return null;
            }
        }

        // DateTimeOffset wants whole minutes within ±14 h, and a UTC instant inside DateTime's range.
        long offsetTicks = offset.Ticks - (offset.Ticks % TimeSpan.TicksPerMinute);
        if (Math.Abs(offsetTicks) > TimeSpan.FromHours(14).Ticks)
        {
            return null;
        }

        long utcTicks = local.Ticks - offsetTicks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            return null;
        }

        return new DateTimeOffset(local, new TimeSpan(offsetTicks));
    }

    /// <summary>
    /// A rejected line made fit for a log: CR, LF, TAB, '\', other control characters and surrogate code units
    /// escaped; cut (with a trailing '…') so the result never exceeds <paramref name="maxLength"/> + 1 characters.
    /// </summary>
    public static string Sample(string line, int maxLength)
    {
        var sb = new StringBuilder(Math.Min(line.Length, maxLength) + 1);
        Span<char> hex = stackalloc char[4];
        foreach (char c in line)
        {
            string? escape = c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                '\\' => "\\\\",
                _ => null,
            };

            int needed = escape?.Length ?? (char.IsControl(c) || char.IsSurrogate(c) ? 6 : 1);
            if (sb.Length + needed > maxLength)
            {
                sb.Append('…');
                break;
            }

            if (escape is not null)
            {
                sb.Append(escape);
            }
            else if (needed == 6)
            {
                ((int)c).TryFormat(hex, out _, "X4", System.Globalization.CultureInfo.InvariantCulture);
                sb.Append("\\u").Append(hex);
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}

/// <summary>"Now" as seen in the server's zone, computed once per listing.</summary>
internal readonly struct ListingClock
{
    private ListingClock(TimeZoneInfo zone, DateTime nowLocal, DateTime futureLimit)
    {
        Zone = zone;
        NowLocal = nowLocal;
        FutureLimit = futureLimit;
    }

    public TimeZoneInfo Zone { get; }

    /// <summary>The injected "now" as wall-clock time in <see cref="Zone"/>.</summary>
    public DateTime NowLocal { get; }

    /// <summary>A yearless date later than this (now + 1 day, for clock skew) belongs to an earlier year.</summary>
    public DateTime FutureLimit { get; }

    public static ListingClock Create(DateTimeOffset now, TimeZoneInfo? serverZone)
    {
        TimeZoneInfo zone = serverZone ?? TimeZoneInfo.Utc;
        DateTime local;
        try
        {
            local = TimeZoneInfo.ConvertTime(now, zone).DateTime;
        }
        catch (ArgumentException)
        {
            local = now.UtcDateTime;
        }

        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        DateTime limit = local.Ticks <= DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay
            ? local.AddDays(1)
            : DateTime.MaxValue;
        return new ListingClock(zone, local, limit);
    }
}
