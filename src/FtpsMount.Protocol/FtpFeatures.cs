namespace FtpsMount.Protocol;

/// <summary>What the server advertised in its FEAT reply (RFC 2389), parsed once per session.</summary>
public sealed class FtpFeatures
{
    private readonly Dictionary<string, string> _features;

    private FtpFeatures(Dictionary<string, string> features, IReadOnlyList<string> lines)
    {
        _features = features;
        Lines = lines;
        HashAlgorithms = ParseHash(Get("HASH"), out var current);
        CurrentHashAlgorithm = current;
        MlstFacts = (Get("MLST") ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(f => f.TrimEnd('*'))
            .ToArray();
    }

    /// <summary>A server that does not implement FEAT (500/502): no extensions assumed.</summary>
    public static FtpFeatures None { get; } = new(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase), []);

    /// <summary>The feature lines as sent (without the leading space).</summary>
    public IReadOnlyList<string> Lines { get; }

    public bool Mlst => Has("MLST") || Has("MLSD");
    public IReadOnlyList<string> MlstFacts { get; }
    public bool RestStream => string.Equals(Get("REST"), "STREAM", StringComparison.OrdinalIgnoreCase);
    public bool Size => Has("SIZE");
    public bool Mdtm => Has("MDTM");
    public bool Mfmt => Has("MFMT");
    public bool Utf8 => Has("UTF8");
    public bool Epsv => Has("EPSV");
    public bool Avbl => Has("AVBL");
    public bool Ccc => Has("CCC");
    public bool Xcrc => Has("XCRC");
    public bool Xmd5 => Has("XMD5");
    public bool Xsha1 => Has("XSHA1");
    public bool Xsha256 => Has("XSHA256");

    /// <summary>Algorithms from <c>HASH SHA-256*;SHA-1;MD5</c> (draft-bryan-ftpext-hash), upper case.</summary>
    public IReadOnlyList<string> HashAlgorithms { get; }

    /// <summary>The one marked with '*' (the server's current choice), if any.</summary>
    public string? CurrentHashAlgorithm { get; }

    public bool Has(string feature) => _features.ContainsKey(feature);

    /// <summary>The parameter text after the feature name, or null when absent.</summary>
    public string? Get(string feature) => _features.TryGetValue(feature, out var v) ? v : null;

    public static FtpFeatures Parse(FtpReply reply)
    {
        if (reply.Code != 211)
        {
            return None;
        }

        var features = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var lines = new List<string>();

        // Feature lines sit between the first and last line of the 211 reply and start with one space.
        for (var i = 1; i < reply.Lines.Count - 1; i++)
        {
            var line = reply.Lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            lines.Add(line);
            var space = line.IndexOf(' ');
            var name = space < 0 ? line : line[..space];
            var value = space < 0 ? string.Empty : line[(space + 1)..].Trim();
            features.TryAdd(name, value);
        }

        return new FtpFeatures(features, lines);
    }

    private static string[] ParseHash(string? value, out string? current)
    {
        current = null;
        if (string.IsNullOrEmpty(value))
        {
            return [];
        }

        var result = new List<string>();
        foreach (var raw in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = raw.TrimEnd('*').ToUpperInvariant();
            if (raw.EndsWith('*'))
            {
                current = name;
            }

            result.Add(name);
        }

        return result.ToArray();
    }
}
