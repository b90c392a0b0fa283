using System.CommandLine;
using System.Globalization;

namespace FtpsMount.Cli.Commands;

/// <summary><c>ftpsmount status</c>: the mounts of this user, with cache hit rates and bytes moved.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Show running mounts: server, mount point, cache hit rate, bytes in/out, pending uploads.");
        command.SetAction(_ =>
        {
            var mounts = StatusFile.ReadAll();
            if (mounts.Count == 0)
            {
                Console.Out.WriteLine("no ftpsmount mounts are running");
                return ExitCodes.Ok;
            }

            foreach (var m in mounts.OrderBy(m => m.MountPoint, StringComparer.Ordinal))
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.MountPoint}  {m.Url}  pid {m.Pid}  up {DateTimeOffset.UtcNow - m.Started:d\\.hh\\:mm\\:ss}"));
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  metadata cache {Rate(m.MetadataHits, m.MetadataMisses)}  block cache {Rate(m.BlockCacheHits, m.BlockCacheMisses)}  in {Mib(m.BytesDownloaded)}  out {Mib(m.BytesUploaded)}  open files {m.OpenHandles}  pending uploads {m.PendingUploads}"));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Rate(long hits, long misses) =>
        hits + misses == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * hits / (hits + misses):0}% hits");

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB");
}
