using System.Diagnostics;
using System.Globalization;

namespace FtpsMount.Testing.ReferenceServers;

/// <summary>Stops a forking daemon and everything it forked, by process id. The daemons start a new session
/// per connection (vsftpd) or rename themselves (proftpd, pure-ftpd), so neither a process-group kill nor
/// a name match would do: the tree is frozen from the top (SIGSTOP, so nothing new is forked while we look),
/// walked through /proc, then killed.</summary>
internal static class ProcessTree
{
    public readonly record struct ProcStat(int Pid, char State, int ParentPid, ulong StartTime);

    /// <summary>State, parent and start time of a process, or null when it does not exist.</summary>
    public static ProcStat? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
        //  priority nice threads itrealvalue starttime ..."; comm may hold spaces and parentheses.
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 20)
        {
            return null;
        }

        return new ProcStat(
            pid,
            fields[0][0],
            int.Parse(fields[1], CultureInfo.InvariantCulture),
            ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid) => Read(pid) is { } s && s.State is not ('Z' or 'X');

    /// <summary>True when <paramref name="pid"/> is alive and is the process that started at <paramref name="startTime"/>.</summary>
    public static bool IsSameProcess(int pid, ulong startTime) => Read(pid) is { } s && s.StartTime == startTime && s.State is not ('Z' or 'X');

    /// <summary>Freezes <paramref name="rootPid"/> and all its descendants, then kills them with SIGKILL.
    /// Returns the ids that were signalled (the root first).</summary>
    public static IReadOnlyList<int> KillTree(int rootPid, TimeSpan freezeWait)
    {
        var tree = new List<int>();
        var known = new HashSet<int>();
        if (!IsAlive(rootPid))
        {
            return tree;
        }

        Freeze(rootPid, freezeWait);
        tree.Add(rootPid);
        known.Add(rootPid);

        // Walk until no frozen process has an unfrozen child.
        for (var pass = 0; pass < 50; pass++)
        {
            var added = false;
            foreach (var stat in All())
            {
                if (known.Contains(stat.Pid) || !known.Contains(stat.ParentPid))
                {
                    continue;
                }

                Freeze(stat.Pid, freezeWait);
                tree.Add(stat.Pid);
                known.Add(stat.Pid);
                added = true;
            }

            if (!added)
            {
                break;
            }
        }

        foreach (var pid in tree)
        {
            _ = LibC.Kill(pid, LibC.SIGKILL);
        }

        return tree;
    }

    /// <summary>Waits until none of <paramref name="pids"/> is alive (zombies count as dead).</summary>
    public static async Task<bool> WaitAllDeadAsync(IEnumerable<int> pids, TimeSpan deadline, CancellationToken ct)
    {
        var list = pids.ToList();
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (list.TrueForAll(p => !IsAlive(p)))
            {
                return true;
            }

            if (sw.Elapsed > deadline)
            {
                return false;
            }

            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    private static void Freeze(int pid, TimeSpan wait)
    {
        if (LibC.Kill(pid, LibC.SIGSTOP) != 0)
        {
            return;
        }

        // SIGSTOP is delivered asynchronously; only a process that is really stopped can no longer fork.
        var sw = Stopwatch.StartNew();
        while (Read(pid) is { } s && s.State is not ('T' or 't' or 'Z' or 'X') && sw.Elapsed < wait)
        {
            Thread.Sleep(1);
        }
    }

    private static IEnumerable<ProcStat> All()
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Read(pid) is { } stat)
            {
                yield return stat;
            }
        }
    }
}
