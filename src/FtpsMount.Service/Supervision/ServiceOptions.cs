namespace FtpsMount.Service.Supervision;

/// <summary>How the service runs (from <c>ftpsmount service</c>'s flags).</summary>
public sealed class ServiceOptions
{
    /// <summary>The profiles file (the same one <c>ftpsmount mount PROFILE</c> reads; passed to every mount process).</summary>
    public required string ProfilesPath { get; init; }

    public required MountLauncher Launcher { get; init; }

    /// <summary>TCP port on 127.0.0.1 for the dashboard and API; 0 picks a free one (written to the endpoint file).</summary>
    public int Port { get; init; }

    /// <summary>Also listen on a Unix domain socket in the runtime directory (0600).</summary>
    public bool UnixSocket { get; init; } = true;

    /// <summary>How long an unmount waits for pending uploads before the mount process is killed.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First and longest wait before remounting after a mount process ended unexpectedly (doubling between).</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A mount that stayed up this long starts again from <see cref="MinBackoff"/> when it fails.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(60);
}
