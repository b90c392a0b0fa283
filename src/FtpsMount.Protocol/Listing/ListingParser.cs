namespace FtpsMount.Protocol.Listing;

/// <summary>Which grammar the lines of a listing follow.</summary>
public enum ListingFormat
{
    /// <summary>LIST output of unknown style: each line is tried as Unix or DOS (by its first character).</summary>
    Auto,

    /// <summary>MLSD data lines (RFC 3659).</summary>
    Mlsd,

    /// <summary><c>ls -l</c> style LIST output.</summary>
    Unix,

    /// <summary>IIS / Windows style LIST output.</summary>
    Dos,
}

/// <summary>The outcome of parsing a whole listing.</summary>
public sealed class ListingResult
{
    public required IReadOnlyList<FtpEntry> Entries { get; init; }

    /// <summary>Lines that carry no entry by design: blank, "total N", cdir/pdir, "."/".." directories.</summary>
    public int Skipped { get; init; }

    /// <summary>How many lines were rejected (unparseable, unsafe name, absurd size).</summary>
    public int RejectedCount { get; init; }

    /// <summary>
    /// The first few rejected lines (at most <see cref="ListingParser.MaxRejectedSamples"/>), made safe for logs:
    /// control characters and '\' escaped, cut after <see cref="ListingParser.MaxSampleLength"/> characters.
    /// </summary>
    public required IReadOnlyList<string> Rejected { get; init; }
}

/// <summary>
/// Parses a whole directory listing. Never throws on line content: lines that do not parse, or would yield an
/// unsafe name, are counted and sampled in <see cref="ListingResult.Rejected"/>.
/// </summary>
public static class ListingParser
{
    public const int MaxRejectedSamples = 10;
    public const int MaxSampleLength = 200;

    /// <param name="lines">The listing, one line per element (a trailing CR/LF on an element is ignored).</param>
    /// <param name="format">The grammar; <see cref="ListingFormat.Auto"/> decides per line between Unix and DOS.</param>
    /// <param name="now">The current instant, for the year of "Mmm dd HH:mm" dates (inject it; tests fix it).</param>
    /// <param name="serverZone">The zone the server writes LIST times in; null means UTC. MLSD times are always UTC.</param>
    /// <exception cref="ArgumentNullException"><paramref name="lines"/> is null (a caller bug, not input).</exception>
    public static ListingResult Parse(IEnumerable<string> lines, ListingFormat format, DateTimeOffset now, TimeZoneInfo? serverZone = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var clock = ListingClock.Create(now, serverZone);
        var entries = new List<FtpEntry>();
        List<string>? samples = null;
        int skipped = 0;
        int rejected = 0;

        foreach (string? line in lines)
        {
            if (line is null)
            {
                skipped++;
                continue;
            }

            var outcome = ParseOne(line.AsSpan(), format, in clock, out var entry);
            switch (outcome)
            {
                case LineParseOutcome.Parsed when entry is not null:
                    entries.Add(entry);
                    break;
                case LineParseOutcome.Skipped:
                    skipped++;
                    break;
                default:
                    rejected++;
                    if ((samples ??= []).Count < MaxRejectedSamples)
                    {
                        samples.Add(ListingText.Sample(line, MaxSampleLength));
                    }

                    break;
            }
        }

        return new ListingResult
        {
            Entries = entries,
            Skipped = skipped,
            RejectedCount = rejected,
            Rejected = (IReadOnlyList<string>?)samples ?? [],
        };
    }

    /// <summary>Parses one line in the given format (Auto: Unix or DOS by its first non-blank character).</summary>
    public static LineParseOutcome ParseLine(string? line, ListingFormat format, DateTimeOffset now, TimeZoneInfo? serverZone, out FtpEntry? entry)
    {
        var clock = ListingClock.Create(now, serverZone);
        return ParseOne(line.AsSpan(), format, in clock, out entry);
    }

    private static LineParseOutcome ParseOne(ReadOnlySpan<char> line, ListingFormat format, in ListingClock clock, out FtpEntry? entry) =>
        format switch
        {
            ListingFormat.Mlsd => MlsdParser.Parse(line, out entry),
            ListingFormat.Unix => UnixListParser.Parse(line, in clock, out entry),
            ListingFormat.Dos => DosListParser.Parse(line, clock.Zone, out entry),
            _ => ParseAuto(line, in clock, out entry),
        };

    /// <summary>
    /// DOS lines start with a digit (the date); Unix lines with a type letter or '-'. The two grammars never
    /// accept the same first character, so the first non-blank character decides.
    /// </summary>
    private static LineParseOutcome ParseAuto(ReadOnlySpan<char> line, in ListingClock clock, out FtpEntry? entry)
    {
        int first = ListingText.SkipWs(line, 0);
        return first < line.Length && char.IsAsciiDigit(line[first])
            ? DosListParser.Parse(line, clock.Zone, out entry)
            : UnixListParser.Parse(line, in clock, out entry);
    }
}
