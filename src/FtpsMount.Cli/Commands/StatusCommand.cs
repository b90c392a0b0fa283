using System.CommandLine;
using System.Globalization;
using FtpsMount.Service.Api;

namespace FtpsMount.Cli.Commands;

/// <summary>
/// <c>ftpsmount status</c>: with the service running, its profiles (state, errors, restarts) from the control API;
/// then every running mount of this user from the status files, with cache hit rates and bytes moved.
/// <c>--dashboard</c> prints a one-time link that opens the dashboard signed in.
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var dashboard = new Option<bool>("--dashboard") { Description = "Print a one-time link (valid 60 s) that opens the service dashboard." };
        var command = new Command("status", "Show running mounts: server, mount point, cache hit rate, bytes in/out, pending uploads; and the service's profiles.") { dashboard };
        command.SetAction(async (result, ct) =>
        {
            using var client = ServiceClient.TryConnect();
            if (result.GetValue(dashboard))
            {
                if (client is null)
                {
                    Console.Error.WriteLine("error: the ftpsmount service is not running (start it with `systemctl --user start ftpsmount` or `ftpsmount service`).");
                    return ExitCodes.Failure;
                }

                var link = await client.CreateLoginLinkAsync(ct).ConfigureAwait(false);
                Console.Out.WriteLine(link.Url);
                return ExitCodes.Ok;
            }

            if (client is not null)
            {
                try
                {
                    var info = await client.GetServiceAsync(ct).ConfigureAwait(false);
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"service pid {info.Pid}, dashboard {client.Endpoint.Url} (ftpsmount status --dashboard), profiles {info.ProfilesFile}"));
                    foreach (var m in info.Mounts)
                    {
                        var line = $"  {m.Name,-16} {m.State.ToString().ToLowerInvariant(),-9} {m.MountPoint ?? "-"}  {m.Url}";
                        if (m.Restarts > 0)
                        {
                            line += string.Create(CultureInfo.InvariantCulture, $"  restarts {m.Restarts}");
                        }

                        Console.Out.WriteLine(line);
                        if (m.LastError is not null)
                        {
                            Console.Out.WriteLine("      last error: " + m.LastError);
                        }
                    }

                    Console.Out.WriteLine();
                }
                catch (Exception ex) when (ex is HttpRequestException or ServiceRequestException or TaskCanceledException)
                {
                    Console.Error.WriteLine($"warning: the service (pid {client.Endpoint.Pid}) does not answer: {ex.Message}");
                }
            }

            var mounts = StatusFile.ReadAll();
            if (mounts.Count == 0)
            {
                Console.Out.WriteLine("no ftpsmount mounts are running");
                return ExitCodes.Ok;
            }

            foreach (var m in mounts.OrderBy(m => m.MountPoint, StringComparer.Ordinal))
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.MountPoint}  {m.Url}  pid {m.Pid}  up {DateTimeOffset.UtcNow - m.Started:d\\.hh\\:mm\\:ss}{(m.TlsProtocol is null ? "" : "  " + m.TlsProtocol)}"));
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  metadata cache {Rate(m.MetadataHits, m.MetadataMisses)}  block cache {Rate(m.BlockCacheHits, m.BlockCacheMisses)}  in {Mib(m.BytesDownloaded)}  out {Mib(m.BytesUploaded)}  open files {m.OpenHandles}  pending uploads {m.PendingUploads}  sessions {m.SessionsInUse}/{m.SessionsOpen}"));
                foreach (var e in (m.Errors ?? []).TakeLast(3))
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {e.At.ToLocalTime():HH:mm:ss} {e.Message}"));
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Rate(long hits, long misses) =>
        hits + misses == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * hits / (hits + misses):0}% hits");

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB");
}
