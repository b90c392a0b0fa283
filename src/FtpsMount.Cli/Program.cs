using System.CommandLine;
using FtpsMount.Cli;
using FtpsMount.Cli.Commands;

var root = new RootCommand("ftpsmount — mount and use FTPS servers (FTP over TLS).");
root.Add(ProbeCommand.Create());
root.Add(LsCommand.Create());
root.Add(CatCommand.Create());

try
{
    return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
}
catch (Exception ex)
{
    return ErrorReporter.Report(ex, Console.Error);
}
