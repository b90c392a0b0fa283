using System.Globalization;

namespace FtpsMount.Core.Caching;

/// <summary>
/// One version of a remote file: its absolute path plus the size and modification time the server reported.
/// Cached blocks belong to a key; when the server reports a different size or mtime for the path, the key
/// changes and every block of the old version is dropped, so a changed remote file never serves old bytes.
/// </summary>
public readonly record struct FileKey
{
    public FileKey(string path, long size, DateTimeOffset modified)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Path = path;
        Size = size;
        Modified = modified.ToUniversalTime();
    }

    public string Path { get; }
    public long Size { get; }

    /// <summary>The remote modification time, normalised to UTC.</summary>
    public DateTimeOffset Modified { get; }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Path} ({Size} bytes, {Modified:yyyy-MM-ddTHH:mm:ss.fffZ})");
}
