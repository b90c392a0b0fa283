namespace FtpsMount.Dokan;

/// <summary>How a filesystem is mounted through Dokan 2 (Windows). Defaults are what `ftpsmount mount URL X:` uses.</summary>
public sealed record DokanMountOptions
{
    /// <summary>DOKAN_OPTION_WRITE_PROTECT, and every write answers STATUS_MEDIA_WRITE_PROTECTED in the adapter too.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>DOKAN_OPTION_NETWORK: show the volume as a network drive (needs the Dokan network provider, installed
    /// with the driver) named <see cref="UncName"/>.</summary>
    public bool NetworkDrive { get; init; }

    /// <summary>UNC name of a network drive, e.g. "\ftps\example.org". Default: derived from the volume label.</summary>
    public string? UncName { get; init; }

    /// <summary>DOKAN_OPTION_REMOVABLE.</summary>
    public bool Removable { get; init; }

    /// <summary>DOKAN_OPTION_MOUNT_MANAGER: register with the mount manager (Explorer sees the drive like a disk).</summary>
    public bool MountManager { get; init; }

    /// <summary>DOKAN_OPTION_CURRENT_SESSION: the drive letter exists in this logon session only.</summary>
    public bool CurrentSession { get; init; }

    /// <summary>The label Explorer shows (GetVolumeInformation).</summary>
    public string VolumeLabel { get; init; } = "FTPS";

    /// <summary>File system name reported by GetVolumeInformation.</summary>
    public string FileSystemName { get; init; } = "FTPS";

    /// <summary>Volume serial number; default: a hash of the label.</summary>
    public uint? VolumeSerialNumber { get; init; }

    /// <summary>DOKAN_OPTIONS.Timeout: how long the driver waits for one request before it declares the filesystem hung and
    /// unmounts the volume. Slow requests are kept alive with DokanResetTimeout every <see cref="KeepAliveInterval"/>.</summary>
    public TimeSpan DriverTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a request still waiting for the server extends the driver's timeout (by <see cref="DriverTimeout"/>).</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Limit of one operation that does not upload; past it the request answers STATUS_IO_TIMEOUT.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Limit of operations that may upload a whole file (cleanup, flush, rename, set-end-of-file by path).</summary>
    public TimeSpan TransferTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>DOKAN_OPTION_DEBUG | DOKAN_OPTION_STDERR: the library's own trace on stderr.</summary>
    public bool Debug { get; init; }

    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(VolumeLabel) && VolumeLabel.Length <= 32, nameof(VolumeLabel), "must be 1 to 32 characters.");
        Require(!string.IsNullOrWhiteSpace(FileSystemName) && FileSystemName.Length <= 32, nameof(FileSystemName), "must be 1 to 32 characters.");
        Require(DriverTimeout >= TimeSpan.FromSeconds(1) && DriverTimeout.TotalMilliseconds <= uint.MaxValue, nameof(DriverTimeout), "must be at least 1 s.");
        Require(KeepAliveInterval > TimeSpan.Zero && KeepAliveInterval < DriverTimeout, nameof(KeepAliveInterval), "must be positive and shorter than DriverTimeout.");
        Require(OperationTimeout > TimeSpan.Zero, nameof(OperationTimeout), "must be positive.");
        Require(TransferTimeout > TimeSpan.Zero, nameof(TransferTimeout), "must be positive.");
        Require(UncName is null || (UncName.StartsWith('\\') && UncName.IndexOf('\0') < 0), nameof(UncName), "must look like \\server\\share.");
    }

    internal string EffectiveUncName => UncName ?? @"\ftpsmount\" + new string(VolumeLabel.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant();

    internal uint EffectiveSerialNumber => VolumeSerialNumber ?? (uint)StableHash(VolumeLabel);

    internal static int StableHash(string text)
    {
        // FNV-1a: stable across processes (string.GetHashCode is randomised).
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return unchecked((int)hash);
    }

    private static void Require(bool condition, string option, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"{option}: {rule}", option);
        }
    }
}
