using System.Globalization;
using System.Text;

namespace FtpsMount.Testing.Scripted;

/// <summary>Formats directory entries the way real servers do (public so tests can build expected lines).</summary>
public static class ScriptedListing
{
    /// <summary>vsftpd-style <c>ls -l</c> line: "-rw-r--r--    1 ftp      ftp            13 Jan 02 03:04 name"
    /// (year instead of time when older than about six months).</summary>
    public static string UnixLine(ScriptedFileSystemEntry entry, DateTimeOffset now, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(zone);
        var local = TimeZoneInfo.ConvertTime(entry.Modified, zone);
        var recent = (now - entry.Modified).Duration() < TimeSpan.FromDays(180);
        var date = local.ToString(recent ? "MMM dd HH:mm" : "MMM dd  yyyy", CultureInfo.InvariantCulture);
        var size = entry.IsDirectory ? 4096 : entry.Size;
        return string.Create(CultureInfo.InvariantCulture,
            $"{PermissionString(entry.IsDirectory, entry.Mode)} {(entry.IsDirectory ? 2 : 1),4} {"ftp",-8} {"ftp",-8} {size,12} {date} {entry.Name}");
    }

    /// <summary>IIS "MS-DOS" line: "01-02-24  03:04PM       &lt;DIR&gt;          name" or
    /// "01-02-24  03:04PM                   13 name".</summary>
    public static string DosLine(ScriptedFileSystemEntry entry, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(zone);
        var local = TimeZoneInfo.ConvertTime(entry.Modified, zone);
        var stamp = local.ToString("MM-dd-yy  hh:mmtt", CultureInfo.InvariantCulture);
        var middle = entry.IsDirectory
            ? "       <DIR>          "
            : entry.Size.ToString(CultureInfo.InvariantCulture).PadLeft(21) + " ";
        return stamp + middle + entry.Name;
    }

    /// <summary>RFC 3659 facts + " " + name, e.g. "type=file;size=13;modify=20240102030405;perm=adfrw;UNIX.mode=0644; a.txt".
    /// <paramref name="type"/> is "file", "dir", "cdir" or "pdir"; <paramref name="selectedFacts"/> null means all.</summary>
    public static string MlsxLine(ScriptedFileSystemEntry entry, string type, string name, ISet<string>? selectedFacts = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var sb = new StringBuilder();
        void Fact(string key, string value)
        {
            if (selectedFacts is null || selectedFacts.Contains(key))
            {
                sb.Append(key).Append('=').Append(value).Append(';');
            }
        }

        Fact("type", type);
        if (!entry.IsDirectory)
        {
            Fact("size", entry.Size.ToString(CultureInfo.InvariantCulture));
        }

        Fact("modify", entry.Modified.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture));
        Fact("perm", type switch
        {
            "file" => "adfrw",
            "pdir" => "el",
            _ => "flcdmpe",
        });
        Fact("UNIX.mode", "0" + Convert.ToString(entry.Mode & 0xFFF, 8).PadLeft(3, '0'));
        return sb.Append(' ').Append(name).ToString();
    }

    /// <summary>"drwxr-xr-x" / "-rw-r--r--".</summary>
    public static string PermissionString(bool directory, int mode)
    {
        var chars = new char[10];
        chars[0] = directory ? 'd' : '-';
        const string rwx = "rwx";
        for (var i = 0; i < 9; i++)
        {
            chars[i + 1] = (mode & (1 << (8 - i))) != 0 ? rwx[i % 3] : '-';
        }

        return new string(chars);
    }
}
