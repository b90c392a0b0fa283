using System.CommandLine;
using System.Globalization;
using System.Text;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Cli;

/// <summary>The connection options shared by every command that talks to a server, and how they become
/// <see cref="FtpsOptions"/>. One definition, so probe, ls, cat and mount accept the same flags.</summary>
public sealed class ConnectionOptions
{
    public Option<string> Auth { get; } = new("--auth") { Description = "Explicit FTPS AUTH mechanism: auto (TLS, then SSL), tls or ssl.", DefaultValueFactory = _ => "auto" };
    public Option<bool> AllowPlaintext { get; } = new("--allow-plaintext") { Description = "Permit an unencrypted session (password and data visible on the network) when the server refuses TLS." };
    public Option<bool> ProtC { get; } = new("--prot-c") { Description = "Clear (unencrypted) data connections: PROT C instead of PROT P." };
    public Option<bool> Ccc { get; } = new("--ccc") { Description = "Send CCC after login so the control channel continues in clear (for NAT helpers). Not with implicit FTPS." };
    public Option<bool> Active { get; } = new("--active") { Description = "Active mode data connections (EPRT/PORT): the server connects to us." };
    public Option<bool> TrustPasv { get; } = new("--trust-pasv") { Description = "Connect to the address PASV names instead of the control connection's peer." };
    public Option<bool> NoEpsv { get; } = new("--no-epsv") { Description = "Use PASV directly instead of EPSV." };
    public Option<string?> TlsMin { get; } = new("--tls-min") { Description = "Lowest TLS version: 1.2 or 1.3 (default 1.2)." };
    public Option<string?> TlsMax { get; } = new("--tls-max") { Description = "Highest TLS version: 1.2 or 1.3 (default 1.3)." };
    public Option<string> TlsBackendOption { get; } = new("--tls-backend") { Description = "auto, openssl or sslstream.", DefaultValueFactory = _ => "auto" };
    public Option<string?> CaFile { get; } = new("--ca-file") { Description = "PEM file of extra trusted CA certificates." };
    public Option<string[]> Fingerprint { get; } = new("--fingerprint") { Description = "Trust exactly the certificate with this SHA-256 fingerprint (sha256:HEX). Repeatable." };
    public Option<string?> KnownHosts { get; } = new("--known-hosts") { Description = "Trust on first use: record unknown certificates in this file and refuse changed ones." };
    public Option<bool> Tofu { get; } = new("--tofu") { Description = "Trust on first use with the default file (~/.config/ftpsmount/known_hosts)." };
    public Option<bool> Insecure { get; } = new("--insecure") { Description = "Accept ANY certificate. Insecure: anyone on the path can read and change the traffic." };
    public Option<string?> ClientCert { get; } = new("--client-cert") { Description = "PEM client certificate for certificate authentication." };
    public Option<string?> ClientKey { get; } = new("--client-key") { Description = "PEM private key of --client-cert (if not in the same file)." };
    public Option<string?> ServerName { get; } = new("--server-name") { Description = "Name for SNI and certificate matching (default: the URL's host)." };
    public Option<string?> PasswordFile { get; } = new("--password-file") { Description = "Read the password from the first line of this file (keep it chmod 600)." };
    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds to wait for a reply or a stalled transfer.", DefaultValueFactory = _ => 30 };
    public Option<string?> EncodingOption { get; } = new("--encoding") { Description = "Encoding of names for servers without UTF-8 support (e.g. latin1, windows-1252)." };
    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Debug messages on stderr." };
    public Option<bool> Trace { get; } = new("--trace") { Description = "Protocol trace on stderr: every command and reply (passwords are shown as ****)." };

    public void AddTo(Command command)
    {
        Auth.AcceptOnlyFromAmong("auto", "tls", "ssl");
        TlsBackendOption.AcceptOnlyFromAmong("auto", "openssl", "sslstream");
        foreach (var option in new Option[] { Auth, AllowPlaintext, ProtC, Ccc, Active, TrustPasv, NoEpsv, TlsMin, TlsMax, TlsBackendOption, CaFile, Fingerprint, KnownHosts, Tofu, Insecure, ClientCert, ClientKey, ServerName, PasswordFile, Timeout, EncodingOption, Verbose, Trace })
        {
            command.Add(option);
        }
    }

    public static string DefaultKnownHostsPath()
    {
        var config = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData);
        if (string.IsNullOrEmpty(config))
        {
            config = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        }

        return Path.Combine(config, "ftpsmount", "known_hosts");
    }

    public FtpsOptions Build(ParseResult result, FtpsUrl url)
    {
        var fingerprints = result.GetValue(Fingerprint) ?? [];
        foreach (var fp in fingerprints)
        {
            if (!CertificateVerifier.IsValidFingerprint(fp))
            {
                throw new CliException(ExitCodes.Usage, $"--fingerprint \"{fp}\" is not a SHA-256 fingerprint (expected sha256: followed by 64 hex digits).");
            }
        }

        var knownHosts = result.GetValue(KnownHosts) ?? (result.GetValue(Tofu) ? DefaultKnownHostsPath() : null);
        var timeout = TimeSpan.FromSeconds(Math.Max(1, result.GetValue(Timeout)));
        var allowPlain = result.GetValue(AllowPlaintext);

        Encoding? legacy = null;
        if (result.GetValue(EncodingOption) is { } encodingName)
        {
            try
            {
                legacy = encodingName.ToLowerInvariant() is "latin1" or "latin-1" or "iso-8859-1" ? Encoding.Latin1 : Encoding.GetEncoding(encodingName);
            }
            catch (ArgumentException)
            {
                throw new CliException(ExitCodes.Usage, $"Unknown encoding \"{encodingName}\" (try utf-8 or latin1).");
            }
        }

        return new FtpsOptions
        {
            Host = url.Host,
            Port = url.Port,
            Mode = url.Mode,
            Auth = result.GetValue(Auth) switch { "tls" => AuthMechanism.Tls, "ssl" => AuthMechanism.Ssl, _ => AuthMechanism.Auto },
            AllowPlaintext = allowPlain,
            ClearDataChannel = result.GetValue(ProtC),
            ClearCommandChannel = result.GetValue(Ccc),
            LegacyEncoding = legacy,
            Data = new DataChannelOptions
            {
                Type = result.GetValue(Active) ? DataConnectionType.Active : DataConnectionType.Passive,
                TrustPassiveAddress = result.GetValue(TrustPasv),
                DisableEpsv = result.GetValue(NoEpsv),
            },
            Tls = new TlsOptions
            {
                MinVersion = ParseVersion(result.GetValue(TlsMin), TlsVersion.Tls12, "--tls-min"),
                MaxVersion = ParseVersion(result.GetValue(TlsMax), TlsVersion.Tls13, "--tls-max"),
                Backend = result.GetValue(TlsBackendOption) switch { "openssl" => TlsBackend.OpenSsl, "sslstream" => TlsBackend.SslStream, _ => TlsBackend.Auto },
                ClientCertificateFile = result.GetValue(ClientCert),
                ClientKeyFile = result.GetValue(ClientKey),
                ServerName = result.GetValue(ServerName),
                Trust = new TrustOptions
                {
                    CaFile = result.GetValue(CaFile),
                    PinnedFingerprints = fingerprints,
                    KnownHostsFile = knownHosts,
                    Insecure = result.GetValue(Insecure),
                },
            },
            Timeouts = new TimeoutOptions { Command = timeout, DataIdle = timeout },
        };
    }

    public FtpCredentials Credentials(ParseResult result, FtpsUrl url, PasswordSource? source = null)
    {
        var (user, password) = (source ?? new PasswordSource()).Resolve(url.Host, url.User, result.GetValue(PasswordFile));
        return new FtpCredentials(user, password);
    }

    public FtpLogLevel LogLevel(ParseResult result) =>
        result.GetValue(Trace) ? FtpLogLevel.Trace : result.GetValue(Verbose) ? FtpLogLevel.Debug : FtpLogLevel.Information;

    private static TlsVersion ParseVersion(string? text, TlsVersion fallback, string option) => text switch
    {
        null => fallback,
        "1.2" or "tls1.2" or "TLSv1.2" => TlsVersion.Tls12,
        "1.3" or "tls1.3" or "TLSv1.3" => TlsVersion.Tls13,
        _ => throw new CliException(ExitCodes.Usage, string.Create(CultureInfo.InvariantCulture, $"{option} must be 1.2 or 1.3, not \"{text}\".")),
    };
}
