using System.Diagnostics;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;

namespace FtpsMount.Service.Supervision;

/// <summary>
/// What stood on a profile's mount point before a mount attempt (see <see cref="StaleMount.Prepare"/>).
/// </summary>
internal enum MountPointKind
{
    /// <summary>Nothing mounted there.</summary>
    Free,
    /// <summary>A dead FUSE mount (its process gone) was there and has been detached.</summary>
    Cleared,
    /// <summary>A live ftpsmount mount process for this profile serves it (<see cref="MountPointState.OwnerPid"/>).</summary>
    Owned,
    /// <summary>Something else, alive, is mounted there (or a dead mount that could not be detached).</summary>
    Busy,
}

internal readonly record struct MountPointState(MountPointKind Kind, int? OwnerPid = null, string? Detail = null);

/// <summary>
/// Makes a profile's mount point ready for a mount attempt. A mount process killed outright leaves its FUSE mount
/// behind until its fusermount3 auto-unmount helper (a separate process, woken by the death) detaches it; a new attempt
/// made before that finds the mount point busy — or, worse, the helper detaches the new mount a moment later. So when no
/// live ftpsmount process owns the mount on the mount point and the mount does not answer, we wait (bounded) for any
/// such helper to finish, and lazily detach what is still there (<c>fusermount3 -uz</c>). A live mount is never touched:
/// if it is an ftpsmount process for the same profile (found through its status file) it is reported for adoption,
/// anything else as busy.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class StaleMount
{
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_helperWait = TimeSpan.FromSeconds(10);

    public static MountPointState Prepare(string mountPoint, Profile profile, ILogger log)
    {
        var full = Normalize(mountPoint);
        if (!IsFuseMountPoint(full))
        {
            return new(MountPointKind.Free);
        }

        if (LiveOwner(full, profile) is { } owner)
        {
            return owner.Pid is { } pid
                ? new(MountPointKind.Owned, pid, $"already mounted by ftpsmount process {pid}")
                : new(MountPointKind.Busy, null, owner.Detail);
        }

        if (Answers(full))
        {
            return new(MountPointKind.Busy, null, $"{full} is already a mount point (a live FUSE mount not started for profile \"{profile.Name}\"); unmount it first");
        }

        // Dead: its process is gone. Let its auto-unmount helper finish first, so it cannot detach our next mount.
        var helpers = AutoUnmountHelpers(full);
        if (helpers.Count > 0)
        {
            log.LogInformation("{MountPoint}: waiting for the auto-unmount of the previous mount (fusermount3 pid {Pids})", full, string.Join(", ", helpers));
            WaitForExit(helpers, s_helperWait);
        }

        if (!IsFuseMountPoint(full))
        {
            return new(MountPointKind.Cleared, null, "the previous mount was detached by its auto-unmount helper");
        }

        log.LogWarning("{MountPoint}: a dead FUSE mount is in the way; detaching it (fusermount3 -uz)", full);
        var error = Run("fusermount3", "-uz", full);
        if (IsFuseMountPoint(full))
        {
            return new(MountPointKind.Busy, null, $"{full} holds a dead FUSE mount that could not be detached ({error ?? "fusermount3 -uz failed"}); run `fusermount3 -uz {full}`");
        }

        return new(MountPointKind.Cleared, null, "a dead FUSE mount was detached (fusermount3 -uz)");
    }

    internal static string Normalize(string mountPoint)
    {
        var full = Path.GetFullPath(mountPoint);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    /// <summary>A live ftpsmount process whose status file names this mount point: its pid when it mounts this
    /// profile (the same URL, or started as <c>mount PROFILE</c>), else why it is in the way.</summary>
    private static (int? Pid, string Detail)? LiveOwner(string full, Profile profile)
    {
        IReadOnlyList<MountStatus> all;
        try
        {
            all = StatusFile.ReadAll();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (var status in all)
        {
            if (Normalize(status.MountPoint) != full || status.Pid == Environment.ProcessId || CommandLine(status.Pid) is not { } args
                || !args.Any(a => a.Contains("ftpsmount", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var mountIndex = args.IndexOf("mount");
            var byName = mountIndex >= 0 && mountIndex + 1 < args.Count && args[mountIndex + 1] == profile.Name;
            var byUrl = string.Equals(status.Url.TrimEnd('/'), profile.Url.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);
            return byName || byUrl
                ? (status.Pid, "")
                : (null, $"{full} is mounted by another ftpsmount process (pid {status.Pid}, {UrlText.Redact(status.Url)}); unmount it first");
        }

        return null;
    }

    private static List<string>? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether the mount answers a directory listing — which, unlike stat(2) of its root (served from the
    /// kernel's attribute cache for a while), always reaches the FUSE process, and fails at once (ENOTCONN) when that
    /// process is dead. A mount that does not answer within a few seconds counts as alive (hung, not ours to detach).</summary>
    internal static bool Answers(string full)
    {
        var probe = Task.Factory.StartNew(() =>
        {
            try
            {
                using var entries = Directory.EnumerateFileSystemEntries(full).GetEnumerator();
                _ = entries.MoveNext();
                return true;
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return true; // it answered, with EACCES
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return !probe.Wait(s_probeTimeout) || probe.Result;
    }

    /// <summary>The fusermount3 processes (libfuse's auto_unmount helpers) whose last argument is this mount point.</summary>
    internal static List<int> AutoUnmountHelpers(string full)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || CommandLine(pid) is not { Count: > 1 } args)
            {
                continue;
            }

            if (Path.GetFileName(args[0]) == "fusermount3" && args.Contains("--") && Normalize(args[^1]) == full)
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    private static void WaitForExit(List<int> pids, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (pids.Any(p => Directory.Exists($"/proc/{p}")) && clock.Elapsed < timeout)
        {
            Thread.Sleep(50);
        }
    }

    /// <summary>Runs a helper; null when it succeeded, else its error.</summary>
    private static string? Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(start);
            if (p is null)
            {
                return $"{program} did not start";
            }

            var stderr = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(10_000))
            {
                p.Kill();
                return $"{program} did not finish within 10 s";
            }

            return p.ExitCode == 0 ? null : stderr.Result.Trim();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"{program}: {ex.Message}";
        }
    }

    internal static bool IsFuseMountPoint(string full)
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
