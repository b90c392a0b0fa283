using System.Security.Cryptography;
using Xunit.Sdk;

namespace FtpsMount.Fuse.Tests.RealTools;

/// <summary>Every directory and file under a root, by relative path: "dir", or "file SIZE SHA256". Two trees are equal when
/// their digests are.</summary>
internal sealed class TreeDigest
{
    private TreeDigest(string root, SortedDictionary<string, string> entries)
    {
        Root = root;
        Entries = entries;
    }

    public string Root { get; }

    public SortedDictionary<string, string> Entries { get; }

    public int FileCount => Entries.Values.Count(v => v.StartsWith("file", StringComparison.Ordinal));

    public long TotalBytes => Entries.Values.Where(v => v.StartsWith("file", StringComparison.Ordinal)).Sum(v => long.Parse(v.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Reads the whole tree (file contents included). On a mount, call it on a thread with a deadline.</summary>
    public static TreeDigest Of(string root)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        foreach (var dir in Directory.EnumerateDirectories(root, "*", options))
        {
            entries[Path.GetRelativePath(root, dir)] = "dir";
        }

        foreach (var file in Directory.EnumerateFiles(root, "*", options))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
            var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            entries[Path.GetRelativePath(root, file)] = $"file {stream.Length} {hash}";
        }

        return new TreeDigest(root, entries);
    }

    /// <summary>Fails with the differing paths (first 30) unless both trees hold the same directories and bytes.</summary>
    public void AssertSameAs(TreeDigest expected, string what)
    {
        var differences = new List<string>();
        foreach (var (path, value) in expected.Entries)
        {
            if (!Entries.TryGetValue(path, out var actual))
            {
                differences.Add($"missing: {path} ({value})");
            }
            else if (actual != value)
            {
                differences.Add($"differs: {path}: expected {value}, actual {actual}");
            }
        }

        differences.AddRange(Entries.Keys.Where(p => !expected.Entries.ContainsKey(p)).Select(p => $"unexpected: {p} ({Entries[p]})"));
        if (differences.Count > 0)
        {
            throw new XunitException(
                $"{what}: {Root} differs from {expected.Root} in {differences.Count} entries " +
                $"({expected.Entries.Count} expected, {Entries.Count} found):\n  " + string.Join("\n  ", differences.Take(30)));
        }
    }

    /// <summary>Fails unless every file under <paramref name="expectedRoot"/> has the same permission bits under
    /// <paramref name="actualRoot"/> (lists the first 30 that differ).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void AssertSameModes(string expectedRoot, string actualRoot, string what)
    {
        var differences = new List<string>();
        var files = Directory.EnumerateFiles(expectedRoot, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(expectedRoot, file);
            var want = (int)File.GetUnixFileMode(file) & 0x1FF;
            var actual = (int)File.GetUnixFileMode(Path.Combine(actualRoot, relative)) & 0x1FF;
            if (want != actual)
            {
                differences.Add($"{relative}: {Convert.ToString(actual, 8)}, expected {Convert.ToString(want, 8)}");
            }
        }

        if (differences.Count > 0)
        {
            throw new XunitException($"{what}: {differences.Count} of {files.Count} files have other permission bits in {actualRoot} than in {expectedRoot}:\n  " +
                                     string.Join("\n  ", differences.Take(30)));
        }
    }
}
