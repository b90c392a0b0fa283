using System.Globalization;
using System.Text;

namespace FtpsMount.Fuse;

/// <summary>One line of /proc/self/mountinfo (proc(5)).</summary>
internal sealed record MountEntry(int Major, int Minor, string MountPoint, string FileSystemType, string Source);

/// <summary>Reads /proc/self/mountinfo: is a path a mount point, and which FUSE connection serves it.</summary>
internal static class MountTable
{
    public const string MountInfoPath = "/proc/self/mountinfo";

    public static IReadOnlyList<MountEntry> Read(string path = MountInfoPath)
    {
        var entries = new List<MountEntry>();
        foreach (var line in File.ReadLines(path))
        {
            if (Parse(line) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>The topmost mount on <paramref name="mountPoint"/> (an absolute, normalised path), or null.</summary>
    public static MountEntry? Find(string mountPoint, string path = MountInfoPath) =>
        Read(path).LastOrDefault(e => e.MountPoint == mountPoint);

    /// <summary>"36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw" → entry; null if malformed.</summary>
    internal static MountEntry? Parse(string line)
    {
        var fields = line.Split(' ');
        if (fields.Length < 10)
        {
            return null;
        }

        var separator = Array.IndexOf(fields, "-", 6);
        if (separator < 0 || separator + 2 >= fields.Length)
        {
            return null;
        }

        var device = fields[2].Split(':');
        if (device.Length != 2
            || !int.TryParse(device[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(device[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            return null;
        }

        return new MountEntry(major, minor, Unescape(fields[4]), Unescape(fields[separator + 1]), Unescape(fields[separator + 2]));
    }

    /// <summary>The kernel writes space, tab, newline and backslash in paths as \ooo octal escapes.</summary>
    internal static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var bytes = new List<byte>(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length
                && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                bytes.Add((byte)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(field[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    /// <summary>Absolute, without a trailing slash (as mountinfo shows mount points).</summary>
    public static string Normalize(string path)
    {
        var full = Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }
}
