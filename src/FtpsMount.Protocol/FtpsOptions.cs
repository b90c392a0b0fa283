using System.Text;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Protocol;

/// <summary>How the control connection is secured.</summary>
public enum FtpsMode
{
    /// <summary>Connect in clear, then <c>AUTH TLS</c> (RFC 4217). Default port 21.</summary>
    Explicit,
    /// <summary>TLS from the first byte; greeting after the handshake (MS-FTPS). Default port 990.</summary>
    Implicit,
    /// <summary>No TLS at all. Only honoured together with <see cref="FtpsOptions.AllowPlaintext"/>.</summary>
    Plaintext,
}

/// <summary>Which AUTH mechanism explicit FTPS sends.</summary>
public enum AuthMechanism
{
    /// <summary><c>AUTH TLS</c>, and if the server refuses it, <c>AUTH SSL</c> (as the Kermit client does).</summary>
    Auto,
    Tls,
    Ssl,
}

public enum DataConnectionType
{
    /// <summary>EPSV, falling back to PASV. The default: works through client-side NAT and firewalls.</summary>
    Passive,
    /// <summary>EPRT, falling back to PORT: the server connects to us.</summary>
    Active,
}

public sealed record DataChannelOptions
{
    public DataConnectionType Type { get; init; } = DataConnectionType.Passive;

    /// <summary>Connect passive data connections to the address PASV names instead of the control
    /// connection's peer. Off by default: a hostile server could aim us at another host (bounce).</summary>
    public bool TrustPassiveAddress { get; init; }

    /// <summary>Skip EPSV and use PASV directly (some NAT devices mangle EPSV).</summary>
    public bool DisableEpsv { get; init; }

    /// <summary>Address announced in EPRT/PORT; default: the local address of the control connection.</summary>
    public System.Net.IPAddress? ActiveAddress { get; init; }
}

public sealed record TimeoutOptions
{
    public TimeSpan Connect { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Longest wait for any single reply on the control connection.</summary>
    public TimeSpan Command { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Longest time a data connection may stall (no byte moved) before it is failed.</summary>
    public TimeSpan DataIdle { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long to wait for the peer's close_notify and the final reply when a transfer ends.</summary>
    public TimeSpan TransferClose { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Bound on recovering the control connection after a transfer is stopped early.</summary>
    public TimeSpan Abort { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Everything needed to open one authenticated FTPS session. Typed groups, not one flat bag.</summary>
public sealed record FtpsOptions
{
    public required string Host { get; init; }

    /// <summary>0 means the mode's default (21 explicit/plain, 990 implicit).</summary>
    public int Port { get; init; }

    public FtpsMode Mode { get; init; } = FtpsMode.Explicit;
    public AuthMechanism Auth { get; init; } = AuthMechanism.Auto;

    /// <summary>Required for <see cref="FtpsMode.Plaintext"/>. Without it nothing is ever sent in clear after a failed AUTH.</summary>
    public bool AllowPlaintext { get; init; }

    /// <summary>Send <c>PROT C</c> instead of <c>PROT P</c>: data connections in clear (control still protected).</summary>
    public bool ClearDataChannel { get; init; }

    /// <summary>Send <c>CCC</c> after login so the control channel returns to clear text (for NAT helpers).
    /// Refused under implicit FTPS.</summary>
    public bool ClearCommandChannel { get; init; }

    /// <summary>Encoding for paths when the server does not do UTF-8 (no <c>UTF8</c> in FEAT). Default Latin-1.</summary>
    public Encoding? LegacyEncoding { get; init; }

    public DataChannelOptions Data { get; init; } = new();
    public TlsOptions Tls { get; init; } = new();
    public TimeoutOptions Timeouts { get; init; } = new();

    public int EffectivePort => Port != 0 ? Port : Mode == FtpsMode.Implicit ? 990 : 21;
}

/// <summary>Login credentials. <see cref="ToString"/> never shows the password.</summary>
public sealed class FtpCredentials
{
    public FtpCredentials(string user, string password)
    {
        User = user;
        Password = password;
    }

    public string User { get; }
    public string Password { get; }

    public static FtpCredentials Anonymous { get; } = new("anonymous", "anonymous@");

    public override string ToString() => $"{User} (password hidden)";
}
