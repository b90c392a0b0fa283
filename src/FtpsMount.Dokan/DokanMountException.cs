namespace FtpsMount.Dokan;

public enum DokanMountFailure
{
    PlatformNotSupported,
    DriverNotInstalled,
    BadMountPoint,
    MountPointInUse,
    VersionMismatch,
    StartFailed,
    Failed,
}

/// <summary>A Dokan mount could not be made; the message says why and what to do.</summary>
public sealed class DokanMountException : Exception
{
    /// <summary>Where the Dokan 2 driver comes from (named in every "driver missing" message).</summary>
    public const string DriverDownload = "https://github.com/dokan-dev/dokany/releases (install DokanSetup.exe of the latest 2.x release, then reboot if asked)";

    public DokanMountException(DokanMountFailure failure, string message, Exception? inner = null) : base(message, inner) => Failure = failure;

    public DokanMountFailure Failure { get; }
}
