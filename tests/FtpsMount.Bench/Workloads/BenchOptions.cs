using System.Globalization;

namespace FtpsMount.Bench.Workloads;

/// <summary>Command-line options of the workload benchmark.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        usage: FtpsMount.Bench [--reps N] [--only W1,W2] [--tools T1,T2] [--out FILE] [--no-install] [--drop-caches]
          --reps N        repetitions of every measurement (default 3; median and min-max are reported)
          --only LIST     workloads: seq-read, rand4k, rand4k-4jobs, rand128k, ls, write, untar, stat, read-small, rm
          --tools LIST    ftpsmount, ftpsmount-wb, rclone-off, rclone-full, curl (default: all)
          --out FILE      markdown results (default tests/FtpsMount.Bench/results/latest.md under the repository)
          --no-install    do not apt-get install missing peers (rclone, fio, curl)
          --drop-caches   also drop the kernel page cache before every cold run (server files then come from disk)
          --serve         only start the server with the data set, print how to reach it and wait for Ctrl-C (profiling)
        FtpsMount.Bench micro [--long] [BenchmarkDotNet args, e.g. --filter *Listing*]
        """;

    public static readonly string[] AllWorkloads = ["seq-read", "rand4k", "rand4k-4jobs", "rand128k", "ls", "write", "untar", "stat", "read-small", "rm"];
    public static readonly string[] AllTools = ["ftpsmount", "ftpsmount-wb", "rclone-off", "rclone-full", "curl"];

    public int Reps { get; private set; } = 3;
    public HashSet<string> Workloads { get; } = new(AllWorkloads, StringComparer.Ordinal);
    public HashSet<string> Tools { get; } = new(AllTools, StringComparer.Ordinal);
    public string? OutputPath { get; private set; }
    public bool Install { get; private set; } = true;
    public bool DropCaches { get; private set; }
    public bool Help { get; private set; }

    /// <summary>Only start the server with the data set and wait (for profiling a mount by hand).</summary>
    public bool ServeOnly { get; private set; }

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--reps":
                    o.Reps = int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r is >= 1 and <= 50
                        ? r : throw new ArgumentException("--reps must be 1..50");
                    break;
                case "--only":
                    Replace(o.Workloads, Next(), AllWorkloads, "--only");
                    break;
                case "--tools":
                    Replace(o.Tools, Next(), AllTools, "--tools");
                    break;
                case "--out":
                    o.OutputPath = Next();
                    break;
                case "--no-install":
                    o.Install = false;
                    break;
                case "--drop-caches":
                    o.DropCaches = true;
                    break;
                case "--serve":
                    o.ServeOnly = true;
                    break;
                case "-h" or "--help":
                    o.Help = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument {args[i]}");
            }
        }

        return o;
    }

    private static void Replace(HashSet<string> set, string list, string[] allowed, string flag)
    {
        set.Clear();
        foreach (var item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!allowed.Contains(item))
            {
                throw new ArgumentException($"{flag}: unknown '{item}' (known: {string.Join(", ", allowed)})");
            }

            set.Add(item);
        }
    }
}
