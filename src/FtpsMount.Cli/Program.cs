using System.CommandLine;
using FtpsMount.Cli;
using FtpsMount.Cli.Commands;

var mount = MountCommand.Create(out var mountFlags);
var root = new RootCommand("ftpsmount — mount and use FTPS servers (FTP over TLS).")
{
    mount,
    UnmountCommand.Create(),
    StatusCommand.Create(),
    ProbeCommand.Create(),
    LsCommand.Create(),
    CatCommand.Create(),
    ServiceCommand.Create(),
};

try
{
    var commandNames = new HashSet<string>(root.Subcommands.SelectMany(c => c.Aliases.Append(c.Name)), StringComparer.Ordinal);
    args = MountCommand.Preprocess(args, mountFlags, commandNames);
    MountCommand.EffectiveArguments = args;

    // Signals are ours: a mount must finish its uploads on SIGTERM/Ctrl-C, not be killed after a grace period.
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
}
catch (Exception ex)
{
    return ErrorReporter.Report(ex, Console.Error);
}
