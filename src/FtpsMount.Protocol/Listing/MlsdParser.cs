namespace FtpsMount.Protocol.Listing;

/// <summary>The single entry of an MLST reply: the pathname as the server wrote it, and its facts.</summary>
/// <param name="Path">The pathname from the fact line (often absolute, e.g. "/pub/a.txt"); never holds NUL, CR or LF.</param>
/// <param name="Entry">The facts; <see cref="FtpEntry.Name"/> is the final component of <paramref name="Path"/>.</param>
public sealed record MlstEntry(string Path, FtpEntry Entry);

/// <summary>
/// RFC 3659 machine listings: MLSD data lines and the MLST control-channel reply.
/// A line is <c>fact=value;fact=value; name</c>: facts end at the first "; " (fact values hold neither ';' nor
/// spaces per the RFC), then exactly one space, then the name, which may hold ';' and leading spaces.
/// Fact names are case-insensitive. Unknown facts are ignored; a bad "size"/"sizd" rejects the line; a bad
/// "modify" only leaves <see cref="FtpEntry.Modified"/> null. Nothing here throws.
/// </summary>
public static class MlsdParser
{
    /// <summary>Parses one MLSD line. cdir/pdir entries (and "."/".." directories) are <see cref="LineParseOutcome.Skipped"/>.</summary>
    public static LineParseOutcome ParseLine(string? line, out FtpEntry? entry) =>
        Parse(line.AsSpan(), out entry);

    /// <summary>
    /// Parses an MLST reply (RFC 3659 §7.2). Accepts either raw lines ("250-Listing x", " facts; /x", "250 End")
    /// or <see cref="FtpReply.Lines"/>. The fact line is the first line that starts with a space; if none does,
    /// the first non-code line that parses as facts is used (tolerance for servers that drop the space).
    /// Returns null when no usable fact line exists, or when the pathname has no safe final component
    /// (e.g. "/", "..", or a path with NUL/CR/LF): the root is not described by MLST here.
    /// cdir/pdir types are reported as directories.
    /// </summary>
    public static MlstEntry? ParseMlstReply(IReadOnlyList<string>? replyLines)
    {
        if (replyLines is null)
        {
            return null;
        }

        for (int i = 0; i < replyLines.Count; i++)
        {
            string? line = replyLines[i];
            if (line is { Length: > 1 } && line[0] == ' ')
            {
                var result = ParseMlstFactLine(line.AsSpan(1));
                if (result is not null)
                {
                    return result;
                }
            }
        }

        for (int i = 0; i < replyLines.Count; i++)
        {
            string? line = replyLines[i];
            if (line is null || line.Length == 0 || line[0] == ' ' || HasReplyCode(line))
            {
                continue;
            }

            var result = ParseMlstFactLine(line.AsSpan());
            if (result is not null)
            {
                return result;
            }
        }

        return null;
    }

    private static bool HasReplyCode(string line) =>
        line.Length >= 4 && char.IsAsciiDigit(line[0]) && char.IsAsciiDigit(line[1]) && char.IsAsciiDigit(line[2])
        && line[3] is '-' or ' ';

    private static MlstEntry? ParseMlstFactLine(ReadOnlySpan<char> line)
    {
        line = ListingText.TrimLineEnd(line);
        if (!TrySplit(line, out var facts, out var path) || !ListingText.IsSafeTarget(path) || path.IsEmpty)
        {
            return null;
        }

        // The final component: "/a/b/" → "b". "/" or "/a/.." have no safe component.
        var trimmed = path.TrimEnd('/');
        var name = trimmed[(trimmed.LastIndexOf('/') + 1)..];
        if (!ListingText.IsSafeName(name, rejectBackslash: false))
        {
            return null;
        }

        if (!TryReadFacts(facts, forMlst: true, out var f) || f.Skip)
        {
            return null;
        }

        return new MlstEntry(path.ToString(), f.ToEntry(name.ToString()));
    }

    internal static LineParseOutcome Parse(ReadOnlySpan<char> line, out FtpEntry? entry)
    {
        entry = null;
        line = ListingText.TrimLineEnd(line);
        if (ListingText.IsBlank(line))
        {
            return LineParseOutcome.Skipped;
        }

        if (!TrySplit(line, out var facts, out var name) || !TryReadFacts(facts, forMlst: false, out var f))
        {
            return LineParseOutcome.Rejected;
        }

        if (f.Skip)
        {
            return LineParseOutcome.Skipped;
        }

        if (ListingText.IsDotOrDotDot(name))
        {
            return f.Type == FtpEntryType.Directory ? LineParseOutcome.Skipped : LineParseOutcome.Rejected;
        }

        if (!ListingText.IsSafeName(name, rejectBackslash: false))
        {
            return LineParseOutcome.Rejected;
        }

        entry = f.ToEntry(name.ToString());
        return LineParseOutcome.Parsed;
    }

    /// <summary>Splits "facts; name". A line starting with one space has no facts (RFC 3659 allows that).</summary>
    private static bool TrySplit(ReadOnlySpan<char> line, out ReadOnlySpan<char> facts, out ReadOnlySpan<char> name)
    {
        if (line.Length > 0 && line[0] == ' ')
        {
            facts = default;
            name = line[1..];
            return true;
        }

        int sep = line.IndexOf("; ", StringComparison.Ordinal);
        if (sep >= 0)
        {
            facts = line[..(sep + 1)];
            name = line[(sep + 2)..];
            return true;
        }

        // Tolerance: "type=file;size=3 name" (last fact without ';'). Only when everything before the first
        // space reads as facts, so free text never passes for a fact line.
        int space = line.IndexOf(' ');
        if (space > 0 && LooksLikeFacts(line[..space]))
        {
            facts = line[..space];
            name = line[(space + 1)..];
            return true;
        }

        facts = default;
        name = default;
        return false;
    }

    private static bool LooksLikeFacts(ReadOnlySpan<char> facts)
    {
        bool any = false;
        foreach (var range in facts.Split(';'))
        {
            var seg = facts[range];
            if (seg.IsEmpty)
            {
                continue;
            }

            if (seg.IndexOf('=') <= 0)
            {
                return false;
            }

            any = true;
        }

        return any;
    }

    private struct Facts
    {
        public FtpEntryType Type;
        public bool Skip;
        public long? Size;
        public long? Sizd;
        public DateTimeOffset? Modified;
        public int? Mode;
        public string? LinkTarget;
        public string? Perm;
        public string? Unique;
        public string? Owner;
        public string? OwnerName;
        public string? Uid;
        public string? Group;
        public string? GroupName;
        public string? Gid;

        public readonly FtpEntry ToEntry(string name) => new()
        {
            Name = name,
            Type = Type,
            Size = Size ?? Sizd,
            Modified = Modified,
            UnixMode = Mode,
            LinkTarget = LinkTarget,
            Owner = OwnerName ?? Owner ?? Uid,
            Group = GroupName ?? Group ?? Gid,
            Permissions = Perm,
            UniqueId = Unique,
        };
    }

    /// <summary>False when the facts are not facts at all (non-empty, no "name=value"), a size is absurd, or a
    /// link target is unsafe.</summary>
    private static bool TryReadFacts(ReadOnlySpan<char> facts, bool forMlst, out Facts f)
    {
        f = default;
        f.Type = FtpEntryType.File;
        if (facts.IsEmpty)
        {
            return true;
        }

        bool any = false;
        foreach (var range in facts.Split(';'))
        {
            var seg = facts[range];
            int eq = seg.IndexOf('=');
            if (eq <= 0)
            {
                // Empty segments (the trailing ';') are normal; a segment without '=' is ignored as noise.
                continue;
            }

            any = true;
            var key = seg[..eq];
            var value = seg[(eq + 1)..];
            if (Is(key, "type"))
            {
                if (!ReadType(value, forMlst, ref f))
                {
                    return false;
                }
            }
            else if (Is(key, "size") || Is(key, "sizd"))
            {
                if (!ListingText.TryParseSize(value, out long size))
                {
                    return false;
                }

                if (Is(key, "size"))
                {
                    f.Size = size;
                }
                else
                {
                    f.Sizd = size;
                }
            }
            else if (Is(key, "modify"))
            {
                f.Modified = ParseTimeVal(value);
            }
            else if (Is(key, "perm"))
            {
                f.Perm = value.ToString();
            }
            else if (Is(key, "unique"))
            {
                f.Unique = value.ToString();
            }
            else if (Is(key, "UNIX.mode"))
            {
                f.Mode = ListingText.ParseOctalMode(value);
            }
            else if (Is(key, "UNIX.owner"))
            {
                f.Owner = NonEmpty(value);
            }
            else if (Is(key, "UNIX.ownername"))
            {
                f.OwnerName = NonEmpty(value);
            }
            else if (Is(key, "UNIX.uid"))
            {
                f.Uid = NonEmpty(value);
            }
            else if (Is(key, "UNIX.group"))
            {
                f.Group = NonEmpty(value);
            }
            else if (Is(key, "UNIX.groupname"))
            {
                f.GroupName = NonEmpty(value);
            }
            else if (Is(key, "UNIX.gid"))
            {
                f.Gid = NonEmpty(value);
            }
        }

        return any;
    }

    private static bool Is(ReadOnlySpan<char> key, string name) => key.Equals(name, StringComparison.OrdinalIgnoreCase);

    private static string? NonEmpty(ReadOnlySpan<char> value) => value.IsEmpty ? null : value.ToString();

    /// <summary>False only for a link target holding NUL, CR or LF.</summary>
    private static bool ReadType(ReadOnlySpan<char> value, bool forMlst, ref Facts f)
    {
        if (Is(value, "file"))
        {
            f.Type = FtpEntryType.File;
        }
        else if (Is(value, "dir"))
        {
            f.Type = FtpEntryType.Directory;
        }
        else if (Is(value, "cdir") || Is(value, "pdir"))
        {
            // In MLSD these describe the listed directory and its parent, not children. In MLST a server may
            // describe the requested directory itself as cdir.
            f.Type = FtpEntryType.Directory;
            f.Skip = !forMlst;
        }
        else if (value.StartsWith("OS.unix=slink", StringComparison.OrdinalIgnoreCase))
        {
            // RFC 3659's example form: "OS.unix=slink:/target" (proftpd with FactsOptions UseSlink).
            f.Type = FtpEntryType.Link;
            var rest = value["OS.unix=slink".Length..];
            if (rest.Length > 1 && rest[0] == ':')
            {
                if (!ListingText.IsSafeTarget(rest[1..]))
                {
                    return false;
                }

                f.LinkTarget = rest[1..].ToString();
            }
        }
        else if (Is(value, "OS.unix=symlink") || Is(value, "OS.unix=link") || Is(value, "link") || Is(value, "symlink"))
        {
            // RFC 3659 erratum 1500 form (proftpd default): a link without a target.
            f.Type = FtpEntryType.Link;
        }
        else
        {
            // OS.unix=chr-device, blk-device, fifo, socket and vendor types.
            f.Type = FtpEntryType.Other;
        }

        return true;
    }

    /// <summary>RFC 3659 time-val: YYYYMMDDHHMMSS[.sss], always UTC. Null when malformed or absurd.</summary>
    internal static DateTimeOffset? ParseTimeVal(ReadOnlySpan<char> v)
    {
        if (v.Length < 14
            || !ListingText.TryParseSmallInt(v[..4], out int year)
            || !ListingText.TryParseSmallInt(v.Slice(4, 2), out int month)
            || !ListingText.TryParseSmallInt(v.Slice(6, 2), out int day)
            || !ListingText.TryParseSmallInt(v.Slice(8, 2), out int hour)
            || !ListingText.TryParseSmallInt(v.Slice(10, 2), out int minute)
            || !ListingText.TryParseSmallInt(v.Slice(12, 2), out int second))
        {
            return null;
        }

        long fraction = 0;
        if (v.Length > 14 && (v[14] != '.' || !ListingText.TryParseFraction(v[15..], out fraction)))
        {
            return null;
        }

        return ListingText.MakeLocal(year, month, day, hour, minute, second, fraction, TimeZoneInfo.Utc);
    }
}
