using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FtpsMount.Protocol;

namespace FtpsMount.Cli.Commands;

/// <summary><c>ftpsmount cat URL [--offset N] [--length N]</c>: a (ranged) download to stdout.
/// A ranged read stops the transfer early and says on stderr (with -v) whether the session survived.</summary>
internal static class CatCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var url = new Argument<string>("url") { Description = "ftpes://user@host[:port]/path/to/file" };
        var offset = new Option<long>("--offset") { Description = "Start at this byte (REST)." };
        var length = new Option<long?>("--length") { Description = "Stop after this many bytes." };
        var command = new Command("cat", "Write a remote file (or a byte range of it) to stdout.") { url, offset, length };
        connection.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            var log = new StderrLogger(connection.LogLevel(result));
            try
            {
                var start = result.GetValue(offset);
                var limit = result.GetValue(length);
                if (start < 0 || limit < 0)
                {
                    throw new CliException(ExitCodes.Usage, "--offset and --length must not be negative.");
                }

                await using var server = await SessionFactory.ConnectAsync(result, connection, result.GetValue(url)!, log, ct).ConfigureAwait(false);
                await using var stdout = Console.OpenStandardOutput();
                var copied = await CopyAsync(server.Session, server.RemotePath, start, limit, stdout, !Console.IsErrorRedirected, log, ct).ConfigureAwait(false);
                log.Log(FtpLogLevel.Debug, $"{copied} bytes written; early stops kept the session {server.Session.Aborts.Kept} time(s), lost it {server.Session.Aborts.Lost} time(s) (replies {server.Session.Aborts.LastReplies ?? "-"}).");
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return ErrorReporter.Report(ex, Console.Error);
            }
        });
        return command;
    }

    /// <summary>Copies [offset, offset+length) of a remote file to <paramref name="output"/>.</summary>
    internal static async Task<long> CopyAsync(FtpSession session, string path, long offset, long? length, Stream output, bool progress, IFtpLogger log, CancellationToken ct)
    {
        if (length == 0)
        {
            return 0;
        }

        var transfer = await session.OpenReadAsync(path, offset, ct).ConfigureAwait(false);
        await using (transfer.ConfigureAwait(false))
        {
            var buffer = new byte[256 * 1024];
            long total = 0;
            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            while (length is null || total < length)
            {
                var want = length is null ? buffer.Length : (int)Math.Min(buffer.Length, length.Value - total);
                var read = await transfer.ReadAsync(buffer.AsMemory(0, want), ct).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                total += read;
                if (progress && clock.Elapsed - lastReport > TimeSpan.FromMilliseconds(500))
                {
                    lastReport = clock.Elapsed;
                    Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r{total / 1048576.0:0.0} MiB  {total / 1048576.0 / Math.Max(clock.Elapsed.TotalSeconds, 0.001):0.0} MiB/s   "));
                }
            }

            if (length is not null && total >= length)
            {
                await transfer.AbortAsync(ct).ConfigureAwait(false);
                log.Log(FtpLogLevel.Debug, session.IsUsable ? "stopped the transfer early; the session is still usable" : "stopped the transfer early; the server dropped the session: " + session.UnusableReason);
            }
            else
            {
                await transfer.CompleteAsync(ct).ConfigureAwait(false);
            }

            if (progress)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\r{total / 1048576.0:0.0} MiB in {clock.Elapsed.TotalSeconds:0.0} s          "));
            }

            await output.FlushAsync(ct).ConfigureAwait(false);
            return total;
        }
    }
}
