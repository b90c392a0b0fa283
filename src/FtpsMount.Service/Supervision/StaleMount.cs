using System.Diagnostics;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;

namespace FtpsMount.Service.Supervision;

/// <summary>
/// A mount process killed outright normally leaves nothing behind (the mount uses auto_unmount), but if its mount
/// point still shows a dead FUSE mount ("Transport endpoint is not connected"), the next attempt would fail on a busy
/// mount point. Such a mount is detached lazily before mounting again; a live mount is never touched.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class StaleMount
{
    public static void Clear(string mountPoint, ILogger log)
    {
        var full = Path.GetFullPath(mountPoint).TrimEnd('/');
        if (!IsFuseMountPoint(full))
        {
            return;
        }

        try
        {
            _ = File.GetAttributes(full);
            return; // it answers: a live mount (perhaps started by hand); the mount attempt will report it busy
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }

        log.LogWarning("{MountPoint}: a dead FUSE mount is in the way; detaching it (fusermount3 -uz)", full);
        var start = new ProcessStartInfo("fusermount3") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add("-uz");
        start.ArgumentList.Add(full);
        try
        {
            using var p = Process.Start(start);
            if (p is not null && !p.WaitForExit(10_000))
            {
                p.Kill();
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            log.LogWarning("fusermount3: {Error}", ex.Message);
        }
    }

    private static bool IsFuseMountPoint(string full)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                // id parent major:minor root MOUNTPOINT options ... - fstype source superopts
                var fields = line.Split(' ');
                var dash = Array.IndexOf(fields, "-");
                if (fields.Length > 4 && dash > 0 && dash + 1 < fields.Length
                    && Unescape(fields[4]) == full && fields[dash + 1].StartsWith("fuse", StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
        }

        return false;
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as \ooo octal escapes.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var sb = new System.Text.StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                sb.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(field[i]);
            }
        }

        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s.AsSpan(at, 3).IndexOfAnyExcept("01234567") < 0;
}
