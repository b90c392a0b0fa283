namespace FtpsMount.Protocol;

/// <summary>A path or name was refused before anything was sent: CR, LF or NUL would let it smuggle a
/// second command onto the control connection (e.g. "a\r\nDELE b").</summary>
public sealed class FtpInvalidPathException : FtpException
{
    public FtpInvalidPathException(string message) : base(message) { }
}

/// <summary>Absolute-path rules. The protocol layer keeps no working directory: every command names
/// its target by an absolute path, so a pooled session can serve any request.</summary>
public static class FtpPath
{
    public const int MaxPathLength = 4096;

    /// <summary>Throws unless <paramref name="path"/> is absolute ("/..."), bounded, and free of CR, LF and NUL.</summary>
    public static string Validate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ValidateArgument(path);
        if (path.Length == 0 || path[0] != '/')
        {
            throw new FtpInvalidPathException($"Path must be absolute: \"{Shorten(path)}\".");
        }

        if (path.Length > MaxPathLength)
        {
            throw new FtpInvalidPathException($"Path is longer than {MaxPathLength} characters.");
        }

        return path;
    }

    /// <summary>Throws if any text bound for the control connection contains CR, LF or NUL.</summary>
    public static void ValidateArgument(string text)
    {
        if (text.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new FtpInvalidPathException($"Refusing to send a name containing CR, LF or NUL: \"{Shorten(text)}\".");
        }
    }

    /// <summary>Joins an absolute directory and a single name component.</summary>
    public static string Combine(string directory, string name) =>
        directory.EndsWith('/') ? directory + name : directory + "/" + name;

    /// <summary>The parent directory of an absolute path ("/" for "/x").</summary>
    public static string GetParent(string path)
    {
        var trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? "/" : trimmed.Substring(0, slash);
    }

    /// <summary>The last component of an absolute path ("" for "/").</summary>
    public static string GetName(string path)
    {
        var trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        var slash = trimmed.LastIndexOf('/');
        return trimmed.Substring(slash + 1);
    }

    /// <summary>Collapses "//", "." and ".." lexically; never climbs above "/".</summary>
    public static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }

    private static string Shorten(string s)
    {
        var printable = s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\0", "\\0", StringComparison.Ordinal);
        return printable.Length > 80 ? printable[..80] + "…" : printable;
    }
}
