using System.CommandLine;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Cli.Commands;

/// <summary>Everything a command needs to talk to one server, built from its URL argument and the shared options.</summary>
internal sealed class ConnectedServer : IAsyncDisposable
{
    public required FtpsUrl Url { get; init; }
    public required FtpsOptions Options { get; init; }
    public required FtpSession Session { get; init; }
    public required CertificateVerifier? Verifier { get; init; }
    public required ITlsEngine? Engine { get; init; }

    public string RemotePath => Url.ResolvePath(Session.HomeDirectory);

    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync().ConfigureAwait(false);
        Engine?.Dispose();
    }
}

internal static class SessionFactory
{
    public static async Task<ConnectedServer> ConnectAsync(ParseResult result, ConnectionOptions connection, string urlText, IFtpLogger log, CancellationToken ct)
    {
        var url = FtpsUrl.Parse(urlText);
        var options = connection.Build(result, url);
        if (options.Tls.Trust.Insecure)
        {
            Console.Error.WriteLine("WARNING: --insecure: the server's certificate is NOT checked. Anyone on the network path can read and change this session, including your password.");
        }

        var credentials = connection.Credentials(result, url);
        CertificateVerifier? verifier = null;
        ITlsEngine? engine = null;
        if (options.Mode != FtpsMode.Plaintext)
        {
            verifier = new CertificateVerifier(options.Tls.Trust, $"{options.Host}:{options.EffectivePort}", log);
            engine = TlsEngineFactory.Create(options.Tls, verifier);
        }

        try
        {
            var session = await FtpSession.ConnectAsync(options, credentials, engine, log, cancellationToken: ct).ConfigureAwait(false);
            return new ConnectedServer { Url = url, Options = options, Session = session, Verifier = verifier, Engine = engine };
        }
        catch
        {
            engine?.Dispose();
            throw;
        }
    }
}
