using System.CommandLine;
using FtpsMount.Service.Api;
using FtpsMount.Service.Supervision;

namespace FtpsMount.Cli.Commands;

/// <summary>
/// <c>ftpsmount service</c>: runs in the foreground (systemd user unit on Linux, a logon process on Windows) and keeps
/// the profiles marked <c>autoMount</c> mounted, with the control API and the dashboard on 127.0.0.1 and a Unix socket.
/// SIGTERM or Ctrl-C unmounts every profile, waiting for pending uploads.
/// </summary>
internal static class ServiceCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "TCP port on 127.0.0.1 for the dashboard and API (default: a free one, see `ftpsmount status --dashboard`)." };
        var config = new Option<string?>("--config") { Description = "Profiles file (default ~/.config/ftpsmount/config.json or $FTPSMOUNT_CONFIG)." };
        var noSocket = new Option<bool>("--no-socket") { Description = "Do not listen on the Unix domain socket." };
        var drain = new Option<int>("--drain-timeout") { Description = "Seconds an unmount waits for pending uploads (default 300).", DefaultValueFactory = _ => 300 };
        var command = new Command("service", "Run the background service: auto-mount profiles, remount after failures, control API and dashboard.")
        {
            port, config, noSocket, drain,
        };
        command.SetAction(async (result, ct) =>
        {
            if (result.GetValue(port) is < 0 or > 65535)
            {
                Console.Error.WriteLine("error: --port must be 0..65535");
                return ExitCodes.Usage;
            }

            var options = new ServiceOptions
            {
                ProfilesPath = Path.GetFullPath(result.GetValue(config) ?? Profiles.DefaultPath()),
                Launcher = MountLauncher.ForCurrentProcess(typeof(ServiceCommand).Assembly.Location),
                Port = result.GetValue(port),
                UnixSocket = !result.GetValue(noSocket),
                DrainTimeout = TimeSpan.FromSeconds(Math.Max(1, result.GetValue(drain))),
            };
            try
            {
                return await ControlServer.RunAsync(options, ct).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                Console.Error.WriteLine("error: " + ex.Message);
                return ExitCodes.Failure;
            }
        });
        return command;
    }
}
