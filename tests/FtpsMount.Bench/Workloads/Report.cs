using System.Globalization;
using System.Text;

namespace FtpsMount.Bench.Workloads;

/// <summary>One row of the results table. <see cref="Subject"/> is the ftpsmount variant measured in the
/// "ftpsmount" column; <see cref="TargetPeer"/> is a tool name, "rclone" (the better rclone mode) or null.</summary>
internal sealed record RowDef(string Key, string Title, string Unit, bool HigherIsBetter, string Subject, string? TargetPeer, double? TargetRatio, string TargetText, string? PeerRow = null)
{
    /// <summary>The row the peers' values come from (the write-back untar row compares with the plain untar's peers).</summary>
    public string PeerKey => PeerRow ?? Key;
}

/// <summary>Measurements of one run and the markdown table made from them.</summary>
internal sealed class Report
{
    public static readonly string[] PeerColumns = ["rclone-off", "rclone-full", "curl"];

    public static readonly RowDef[] Rows =
    [
        new("seq-read", "sequential read 256 MiB, cold (`cat`)", "s", false, "ftpsmount", "curl", 1.0, "≤ 1.0 × curl"),
        new("rand4k", "random 4 KiB reads, cold (fio psync, 1 job, 2 MiB)", "IOPS", true, "ftpsmount", "rclone-full", 3.0, "≥ 3 × rclone full"),
        new("rand4k-4jobs", "random 4 KiB reads, cold (fio psync, 4 jobs × 512 KiB)", "IOPS", true, "ftpsmount", "rclone-full", 3.0, "≥ 3 × rclone full"),
        new("rand128k", "random 128 KiB reads, cold (fio psync, 1 job, 16 MiB)", "IOPS", true, "ftpsmount", "rclone-full", 1.0, "≥ 1 × rclone full"),
        new("ls-cold", "`ls -l` 5000 files, cold", "s", false, "ftpsmount", "rclone", 0.5, "≤ 0.5 × rclone"),
        new("ls-warm", "`ls -l` 5000 files, warm", "s", false, "ftpsmount", "rclone", 1.0, "≤ 1 × rclone"),
        new("write", "write 64 MiB (`cp`), verified on the server at exit", "s", false, "ftpsmount", "curl", 1.1, "≤ 1.1 × curl upload"),
        new("untar", "untar 500 files (durable close)", "s", false, "ftpsmount", "rclone-off", 1.0, "≤ 1 × rclone off"),
        new("untar-wb", "untar 500 files, ftpsmount `--write-back 5`", "s", false, "ftpsmount-wb", "rclone-off", 0.5, "≤ 0.5 × rclone off", PeerRow: "untar"),
        new("stat", "stat 500 files, cold (`find -exec stat`)", "s", false, "ftpsmount", null, null, "—"),
        new("read-small", "read 500 small files, cold (`find -exec cat`)", "s", false, "ftpsmount", "rclone-off", 0.5, "≤ 0.5 × rclone off"),
        new("rm", "`rm -r` 500 files", "s", false, "ftpsmount", null, null, "—"),
    ];

    private readonly Dictionary<(string Row, string Tool), List<double>> _values = [];
    private readonly Dictionary<(string Row, string Tool), List<string>> _flags = [];

    private readonly Dictionary<(string Row, string Tool), List<double>> _serverBytes = [];

    public List<string> Failures { get; } = [];

    /// <summary>Bytes the server sent during one measurement (read amplification of the random-read rows).</summary>
    public void AddServerBytes(string row, string tool, long bytes)
    {
        if (!_serverBytes.TryGetValue((row, tool), out var list))
        {
            _serverBytes[(row, tool)] = list = [];
        }

        list.Add(bytes);
    }
    public List<long> PeakRss { get; } = [];

    public void Add(string row, string tool, double value)
    {
        if (!_values.TryGetValue((row, tool), out var list))
        {
            _values[(row, tool)] = list = [];
        }

        list.Add(value);
    }

    /// <summary>Marks a measurement with a caveat shown next to its median (e.g. data not yet on the server).</summary>
    public void Flag(string row, string tool, string flag)
    {
        if (!_flags.TryGetValue((row, tool), out var list))
        {
            _flags[(row, tool)] = list = [];
        }

        list.Add(flag);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private double? MedianOf(string row, string tool) =>
        _values.TryGetValue((row, tool), out var v) && v.Count > 0 ? Median(v) : null;

    /// <summary>Median of a peer that counts for comparisons: none when its result came with a caveat (†).</summary>
    private double? ComparableMedianOf(string row, string tool) =>
        _flags.TryGetValue((row, tool), out var f) && f.Count > 0 ? null : MedianOf(row, tool);

    private string Cell(RowDef row, string tool)
    {
        var key = tool == row.Subject ? row.Key : row.PeerKey;
        if (!_values.TryGetValue((key, tool), out var v) || v.Count == 0)
        {
            return "";
        }

        var c = CultureInfo.InvariantCulture;
        string F(double x) => row.Unit == "IOPS" ? x.ToString("0", c) : x.ToString(x < 1 ? "0.000" : "0.00", c);
        var text = v.Count == 1 ? F(v[0]) : $"{F(Median(v))} ({F(v.Min())}–{F(v.Max())})";
        if (_flags.TryGetValue((key, tool), out var flags) && flags.Count > 0)
        {
            text += " " + string.Join(" ", flags.Distinct());
        }

        return text;
    }

    /// <summary>ftpsmount ÷ peer for times, ftpsmount ÷ peer for IOPS too (so "≥" targets read naturally).</summary>
    private (double? Ratio, string? Peer) TargetRatio(RowDef row)
    {
        var subject = MedianOf(row.Key, row.Subject);
        if (subject is null || row.TargetPeer is null)
        {
            return (null, null);
        }

        var peer = row.TargetPeer;
        if (peer == "rclone")
        {
            var off = ComparableMedianOf(row.PeerKey, "rclone-off");
            var full = ComparableMedianOf(row.PeerKey, "rclone-full");
            peer = (off, full) switch
            {
                (null, null) => null,
                (null, _) => "rclone-full",
                (_, null) => "rclone-off",
                _ => (row.HigherIsBetter ? off > full : off < full) ? "rclone-off" : "rclone-full",
            };
        }

        var p = peer is null ? null : ComparableMedianOf(row.PeerKey, peer);
        return p is null or 0 ? (null, peer) : (subject / p, peer);
    }

    private double? BestPeerRatio(RowDef row)
    {
        var subject = MedianOf(row.Key, row.Subject);
        var peers = PeerColumns.Select(t => ComparableMedianOf(row.PeerKey, t)).Where(m => m is > 0).Select(m => m!.Value).ToList();
        if (subject is null || peers.Count == 0)
        {
            return null;
        }

        return subject / (row.HigherIsBetter ? peers.Max() : peers.Min());
    }

    public string ToMarkdown(string header, long cacheSizeBytes)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(header);
        sb.AppendLine("| workload | unit | ftpsmount | rclone off | rclone full | curl | ftpsmount ÷ best peer | target | ftpsmount ÷ target peer | met |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in Rows)
        {
            if (!_values.Keys.Any(k => k.Row == row.Key))
            {
                continue;
            }

            var best = BestPeerRatio(row);
            var (ratio, peer) = TargetRatio(row);
            var met = ratio is null || row.TargetRatio is null ? "—"
                : (row.HigherIsBetter ? ratio >= row.TargetRatio : ratio <= row.TargetRatio) ? "yes" : "**no**";
            sb.Append(c, $"| {row.Title} | {row.Unit} | {Cell(row, row.Subject)} | {Cell(row, "rclone-off")} | {Cell(row, "rclone-full")} | {Cell(row, "curl")} | ")
              .Append(best is null ? "—" : best.Value.ToString("0.00", c)).Append(" | ")
              .Append(row.TargetText).Append(" | ")
              .Append(ratio is null ? "—" : ratio.Value.ToString("0.00", c) + (peer is null ? "" : $" ({peer})")).Append(" | ")
              .Append(met).AppendLine(" |");
        }

        if (PeakRss.Count > 0)
        {
            var peakMb = PeakRss.Max() / 1048576.0;
            var limit = (cacheSizeBytes / 1048576.0) + 80;
            sb.Append(c, $"| peak RSS of the ftpsmount process (VmHWM, max over {PeakRss.Count} mounts) | MiB | {peakMb:0} |  |  |  | — | ≤ cache {cacheSizeBytes / 1048576} MiB + 80 MiB = {limit:0} | {peakMb / limit:0.00} | {(peakMb <= limit ? "yes" : "**no**")} |")
              .AppendLine();
        }

        if (_serverBytes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Bytes the server sent per random-read run (median, from vsftpd's transfer log) — what each tool downloaded to deliver the bytes fio asked for:");
            sb.AppendLine();
            sb.AppendLine("| workload | asked | ftpsmount | rclone off | rclone full |");
            sb.AppendLine("|---|---|---|---|---|");
            foreach (var row in Rows.Where(r => _serverBytes.Keys.Any(k => k.Row == r.Key)))
            {
                var asked = row.Key == "rand128k" ? "16 MiB" : "2 MiB";
                string B(string tool) => _serverBytes.TryGetValue((row.Key, tool), out var v) && v.Count > 0
                    ? (Median(v) / 1048576.0).ToString("0.0", c) + " MiB" : "";
                sb.Append(c, $"| {row.Title} | {asked} | {B("ftpsmount")} | {B("rclone-off")} | {B("rclone-full")} |").AppendLine();
            }
        }

        sb.AppendLine();
        sb.AppendLine("Cells: median (min–max) of the repetitions. Ratios use medians; for IOPS a higher ratio is better, for seconds a lower one.");
        if (_flags.Values.SelectMany(f => f).Contains("†"))
        {
            sb.AppendLine("† the command returned before its result was on the server (write: size and SHA-256 checked right after `cp` exits; untar: 500 files present): not comparable with a durable write, so left out of the ratios.");
        }

        if (Failures.Count > 0)
        {
            sb.AppendLine().AppendLine("Failures in this run:").AppendLine();
            foreach (var f in Failures)
            {
                sb.Append("- ").AppendLine(f);
            }
        }

        return sb.ToString();
    }
}
