namespace FtpsMount.Fuse;

/// <summary>Why a mount could not be made or ended abnormally; each has a message a person can act on.</summary>
public enum FuseMountFailure
{
    PlatformNotSupported,
    /// <summary>Neither libfuse3.so.3 nor libfuse3.so.4 could be loaded (package fuse3 / libfuse3-3).</summary>
    LibraryMissing,
    /// <summary>/dev/fuse does not exist (no FUSE in the kernel, or a container without the device).</summary>
    DeviceMissing,
    /// <summary>/dev/fuse exists but cannot be opened by this user.</summary>
    DeviceAccessDenied,
    /// <summary>fusermount3 is needed (non-root mount, or auto_unmount) and was not found.</summary>
    HelperMissing,
    MountPointMissing,
    MountPointNotADirectory,
    MountPointNotEmpty,
    /// <summary>Something is already mounted on the mount point (possibly a dead FUSE mount).</summary>
    MountPointBusy,
    /// <summary>libfuse rejected the options (fuse_new failed).</summary>
    InvalidOptions,
    /// <summary>fuse_mount failed; the message carries what libfuse logged.</summary>
    MountFailed,
    /// <summary>The request loop ended with an error that was not an unmount.</summary>
    LoopFailed,
}

public sealed class FuseMountException : Exception
{
    public FuseMountException(FuseMountFailure failure, string message, Exception? inner = null)
        : base(message, inner) => Failure = failure;

    public FuseMountFailure Failure { get; }
}
