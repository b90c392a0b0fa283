using System.Globalization;
using FtpsMount.Protocol;

namespace FtpsMount.Cli;

/// <summary>
/// A server address as the user writes it:
/// <c>ftpes://user@host[:port]/path</c> explicit FTPS (port 21), <c>ftps://...</c> implicit FTPS (port 990),
/// <c>ftp://...</c> explicit FTPS too — TLS is still required; only <c>--allow-plaintext</c> permits clear text.
/// A password inside the URL is refused: command lines are visible to every user through ps.
/// </summary>
public sealed record FtpsUrl(string Scheme, string? User, string Host, int Port, string Path, FtpsMode Mode)
{
    public static FtpsUrl Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            throw new FormatException($"\"{text}\" is not a URL; expected ftpes://user@host/path (explicit FTPS), ftps://user@host/path (implicit) or ftp://user@host/path.");
        }

        var scheme = text[..schemeEnd].ToLowerInvariant();
        var mode = scheme switch
        {
            "ftpes" or "ftp" => FtpsMode.Explicit,
            "ftps" => FtpsMode.Implicit,
            _ => throw new FormatException($"Unknown scheme \"{scheme}\": use ftpes:// (explicit FTPS), ftps:// (implicit FTPS) or ftp://."),
        };

        var rest = text[(schemeEnd + 3)..];
        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var rawPath = slash < 0 ? "/" : rest[slash..];

        string? user = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            if (userInfo.Contains(':', StringComparison.Ordinal))
            {
                throw new FormatException("Refusing a password inside the URL: command lines are visible to other users (ps). Use FTPSMOUNT_PASSWORD, --password-file, ~/.netrc, or type it at the prompt.");
            }

            user = Uri.UnescapeDataString(userInfo);
            if (user.Length == 0)
            {
                user = null;
            }
        }

        string host;
        var port = 0;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0)
            {
                throw new FormatException($"Unclosed '[' in host \"{authority}\".");
            }

            host = authority[1..close];
            var after = authority[(close + 1)..];
            if (after.StartsWith(':'))
            {
                port = ParsePort(after[1..]);
            }
            else if (after.Length > 0)
            {
                throw new FormatException($"Unexpected \"{after}\" after the IPv6 address.");
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            if (colon >= 0)
            {
                port = ParsePort(authority[(colon + 1)..]);
            }
        }

        if (host.Length == 0)
        {
            throw new FormatException("The URL has no host.");
        }

        var path = Uri.UnescapeDataString(rawPath);
        FtpPath.ValidateArgument(path);
        FtpPath.ValidateArgument(user ?? string.Empty);
        if (port == 0)
        {
            port = mode == FtpsMode.Implicit ? 990 : 21;
        }

        return new FtpsUrl(scheme, user, host, port, path, mode);
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"Invalid port \"{text}\".");

    /// <summary>Absolute server path: "/~" style home-relative paths resolve against the login directory.</summary>
    public string ResolvePath(string homeDirectory)
    {
        // ftp URLs name paths relative to the login directory (RFC 1738); "//abs" or a server whose home is "/"
        // makes that the same as absolute. We treat "/x" as absolute, which is what users mean in practice,
        // and "/~/x" as relative to the home directory.
        if (Path.StartsWith("/~", StringComparison.Ordinal))
        {
            return FtpPath.Normalize(FtpPath.Combine(homeDirectory, Path.Length > 2 ? Path[2..].TrimStart('/') : string.Empty));
        }

        return FtpPath.Normalize(Path);
    }

    public override string ToString() =>
        $"{Scheme}://{(User is null ? string.Empty : Uri.EscapeDataString(User) + "@")}{(Host.Contains(':', StringComparison.Ordinal) ? "[" + Host + "]" : Host)}:{Port}{Path}";
}
