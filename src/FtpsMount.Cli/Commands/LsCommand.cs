using System.CommandLine;
using System.Globalization;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Listing;

namespace FtpsMount.Cli.Commands;

/// <summary><c>ftpsmount ls URL</c>: a long listing of a remote directory.</summary>
internal static class LsCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var url = new Argument<string>("url") { Description = "ftpes://user@host[:port]/directory" };
        var command = new Command("ls", "List a remote directory (long format).") { url };
        connection.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            var log = new StderrLogger(connection.LogLevel(result));
            try
            {
                await using var server = await SessionFactory.ConnectAsync(result, connection, result.GetValue(url)!, log, ct).ConfigureAwait(false);
                var path = server.RemotePath;
                var entry = path == "/" ? null : await server.Session.GetEntryAsync(path, ct).ConfigureAwait(false);
                if (entry is { Type: FtpEntryType.File or FtpEntryType.Link })
                {
                    Console.Out.WriteLine(Format(entry));
                    return ExitCodes.Ok;
                }

                var listing = await server.Session.ListAsync(path, ct).ConfigureAwait(false);
                foreach (var e in listing.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))
                {
                    Console.Out.WriteLine(Format(e));
                }

                if (listing.Rejected.Count > 0)
                {
                    Console.Error.WriteLine($"warning: {listing.Rejected.Count} listing line(s) could not be parsed or named unsafe entries and were left out, e.g. \"{Printable(listing.Rejected[0])}\".");
                }

                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return ErrorReporter.Report(ex, Console.Error);
            }
        });
        return command;
    }

    internal static string Format(FtpEntry e)
    {
        var type = e.Type switch
        {
            FtpEntryType.Directory => 'd',
            FtpEntryType.Link => 'l',
            FtpEntryType.File => '-',
            _ => '?',
        };
        var mode = e.UnixMode is { } m ? ModeString(m) : e.Type == FtpEntryType.Directory ? "rwxr-xr-x" : "rw-r--r--";
        var size = (e.Size ?? 0).ToString(CultureInfo.InvariantCulture).PadLeft(12);
        var date = e.Modified?.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "????-??-?? ??:??";
        var name = Printable(e.Name) + (e.Type == FtpEntryType.Directory ? "/" : string.Empty);
        var link = e.LinkTarget is null ? string.Empty : " -> " + Printable(e.LinkTarget);
        return $"{type}{mode} {size} {date} {name}{link}";
    }

    private static string ModeString(int mode)
    {
        Span<char> s = stackalloc char[9];
        const string letters = "rwxrwxrwx";
        for (var i = 0; i < 9; i++)
        {
            s[i] = (mode & (1 << (8 - i))) != 0 ? letters[i] : '-';
        }

        return new string(s);
    }

    /// <summary>Server-provided text never reaches the terminal with control characters in it.</summary>
    internal static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? "?" : c.ToString()));
}
