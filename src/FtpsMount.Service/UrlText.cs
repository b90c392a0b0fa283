namespace FtpsMount.Service;

/// <summary>URLs as the service shows them: a password in the user-info part (which `ftpsmount mount` refuses anyway)
/// is never echoed back.</summary>
public static class UrlText
{
    public static string Redact(string url)
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return url;
        }

        var authorityStart = scheme + 3;
        var slash = url.IndexOf('/', authorityStart);
        var authorityEnd = slash < 0 ? url.Length : slash;
        var at = url.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
        if (at < 0)
        {
            return url;
        }

        var colon = url.IndexOf(':', authorityStart, at - authorityStart);
        return colon < 0 ? url : string.Concat(url.AsSpan(0, colon), ":****", url.AsSpan(at));
    }
}
