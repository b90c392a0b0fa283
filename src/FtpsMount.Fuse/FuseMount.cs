using FtpsMount.Core.FileSystem;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse;

/// <summary>Mounts an <see cref="IRemoteFileSystem"/> with libfuse3 (Linux).</summary>
public static class FuseMount
{
    /// <summary>
    /// Mounts <paramref name="fs"/> on <paramref name="mountPoint"/> and serves it until <paramref name="cancellationToken"/>
    /// fires (then the session is exited and the mount lazily detached) or the filesystem is unmounted from outside
    /// (`fusermount3 -u`, `umount`). Returns after the request loop ended and libfuse was torn down; the caller still owns
    /// <paramref name="fs"/> and should dispose it afterwards (which waits for pending uploads).
    /// </summary>
    /// <param name="mounted">Called once the mount is live (the kernel routes requests to us), e.g. to detach a daemon
    /// or print a message.</param>
    /// <exception cref="FuseMountException">The mount could not be made (the message says why and what to do), or the
    /// loop failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the mount was made.</exception>
    public static void Run(IRemoteFileSystem fs, string mountPoint, FuseMountOptions options, CancellationToken cancellationToken,
        IFtpLogger? log = null, Action? mounted = null)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentException.ThrowIfNullOrWhiteSpace(mountPoint);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!OperatingSystem.IsLinux())
        {
            throw new FuseMountException(FuseMountFailure.PlatformNotSupported, "FUSE mounts are supported on Linux only.");
        }

        if (!StatWriter.IsSupported)
        {
            throw new FuseMountException(FuseMountFailure.PlatformNotSupported,
                $"The FUSE binding knows struct stat for x86_64 and aarch64 only, not {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var point = MountTable.Normalize(mountPoint);
        MountPreflight.Check(point, options);
        var library = LibFuse.Load();
        var adapter = new FuseAdapter(fs, options, log);
        using var session = new FuseSession(library, adapter, point, options, log ?? NullFtpLogger.Instance);
        session.Run(cancellationToken, mounted);
    }
}
