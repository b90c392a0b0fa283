using System.CommandLine;
using System.Globalization;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Cli.Commands;

/// <summary>
/// <c>ftpsmount probe URL</c>: connects and reports everything that matters for mounting — TLS version and
/// cipher, the certificate and how it was trusted, the AUTH method, FEAT, whether data connections resume the
/// control session, passive (and with <c>--test-active</c> active) data connections, and a listing.
/// Exit status 0 only when every step worked.
/// </summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var url = new Argument<string>("url") { Description = "ftpes://user@host[:port]/path (explicit), ftps://... (implicit)" };
        var testActive = new Option<bool>("--test-active") { Description = "Also try an active-mode (EPRT/PORT) data connection." };
        var command = new Command("probe", "Check that a server works with ftpsmount and show what it negotiates.") { url, testActive };
        connection.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            var log = new StderrLogger(connection.LogLevel(result));
            return await RunAsync(result, connection, result.GetValue(url)!, result.GetValue(testActive), Console.Out, log, ct).ConfigureAwait(false);
        });
        return command;
    }

    internal static async Task<int> RunAsync(ParseResult result, ConnectionOptions connection, string urlText, bool testActive, TextWriter output, IFtpLogger log, CancellationToken ct)
    {
        var step = "connect and log in";
        var failures = 0;
        try
        {
            await using var server = await SessionFactory.ConnectAsync(result, connection, urlText, log, ct).ConfigureAwait(false);
            var session = server.Session;
            var options = server.Options;
            output.WriteLine($"server:       {options.Host}:{options.EffectivePort} ({(options.Mode == FtpsMode.Implicit ? "implicit FTPS" : "explicit FTPS")})");
            output.WriteLine($"greeting:     {LsCommand.Printable(session.Greeting.Split('\n')[0])}");
            output.WriteLine($"security:     {session.Security.Method}; data connections {(session.Security.DataProtected ? "encrypted (PROT P)" : "NOT encrypted (PROT C)")}{(session.Security.ControlCleared ? "; control channel cleared (CCC)" : string.Empty)}");
            if (session.Security.Tls is { } tls)
            {
                output.WriteLine($"tls:          {tls.Protocol}, {tls.CipherSuite} ({session.Security.TlsEngine})");
                if (tls.PeerCertificate is { } cert)
                {
                    output.WriteLine($"certificate:  subject {cert.Subject}");
                    output.WriteLine($"              issuer  {cert.Issuer}");
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"              valid   {cert.NotBefore.ToUniversalTime():yyyy-MM-dd} to {cert.NotAfter.ToUniversalTime():yyyy-MM-dd}"));
                    output.WriteLine($"              sha256  {CertificateRejectedException.Sha256Fingerprint(cert)}");
                    output.WriteLine($"              trust   {server.Verifier?.LastDecision ?? "?"}");
                }
            }

            output.WriteLine($"features:     {(session.Features.Lines.Count == 0 ? "(none: FEAT not supported)" : string.Join(", ", session.Features.Lines.Select(LsCommand.Printable)))}");
            output.WriteLine($"names:        {(session.Utf8 ? "UTF-8" : "legacy encoding")}; home directory {LsCommand.Printable(session.HomeDirectory)}");

            step = "list over a passive data connection";
            var path = server.RemotePath;
            var listing = await session.ListAsync(path, ct).ConfigureAwait(false);
            ReportData(output, "passive data", session.LastDataConnection, options);
            output.WriteLine($"listing:      {LsCommand.Printable(path)}: {listing.Entries.Count} entries{(listing.Rejected.Count > 0 ? $", {listing.Rejected.Count} unparseable line(s) skipped" : string.Empty)}");
            foreach (var entry in listing.Entries.OrderBy(e => e.Name, StringComparer.Ordinal).Take(20))
            {
                output.WriteLine("  " + LsCommand.Format(entry));
            }

            if (listing.Entries.Count > 20)
            {
                output.WriteLine($"  ... and {listing.Entries.Count - 20} more");
            }

            if (testActive)
            {
                step = "list over an active data connection";
                var activeOptions = options with { Data = options.Data with { Type = DataConnectionType.Active } };
                await using var active = await FtpSession.ConnectAsync(activeOptions, connection.Credentials(result, server.Url), server.Engine, log, cancellationToken: ct).ConfigureAwait(false);
                await active.ListAsync(path, ct).ConfigureAwait(false);
                ReportData(output, "active data", active.LastDataConnection, options);
            }

            if (session.Security.DataProtected && session.LastDataConnection?.Tls is { SessionReused: false })
            {
                output.WriteLine("warning:      the data connection did not resume the control connection's TLS session; servers that require reuse will refuse data connections.");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            failures++;
            output.Flush();
            Console.Error.WriteLine($"FAILED at: {step}");
            var code = ErrorReporter.Report(ex, Console.Error);
            return code;
        }

        output.WriteLine(failures == 0 ? "result:       OK — this server works with ftpsmount." : "result:       FAILED");
        return failures == 0 ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static void ReportData(TextWriter output, string label, DataConnectionInfo? info, FtpsOptions options)
    {
        if (info is null)
        {
            return;
        }

        var tls = info.Tls is null
            ? "clear"
            : $"{info.Tls.Protocol}, TLS session {(info.Tls.SessionReused ? "resumed from the control connection" : "NOT resumed")}";
        output.WriteLine($"{(label + ":").PadRight(14)}{info.Mode} to {info.Remote} ({tls})");
    }
}
