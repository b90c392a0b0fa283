using System.Diagnostics;
using FtpsMount.Fuse.Native;

namespace FtpsMount.Fuse;

/// <summary>The checks made before mounting, each failing with a <see cref="FuseMountException"/> that says what to do.
/// libfuse would fail on most of these too, but only with a terse line on stderr.</summary>
internal static class MountPreflight
{
    public const string DevicePath = "/dev/fuse";

    public static void Check(string mountPoint, FuseMountOptions options)
    {
        CheckDevice();
        if (NeedsHelper(options) && FindHelper() is null)
        {
            throw new FuseMountException(FuseMountFailure.HelperMissing,
                $"fusermount3 was not found in PATH; it is needed to mount {(LibC.GetEffectiveUserId() != 0 ? "as a normal user" : "with auto_unmount")}. " +
                "Install it with `apt-get install fuse3`" + (options.AutoUnmount ? " (or mount without auto-unmount)." : "."));
        }

        CheckMountPoint(mountPoint, options);
    }

    /// <summary>Non-root mounts always go through the setuid helper; libfuse also uses it for auto_unmount.</summary>
    public static bool NeedsHelper(FuseMountOptions options) => options.AutoUnmount || LibC.GetEffectiveUserId() != 0;

    public static void CheckDevice()
    {
        if (!File.Exists(DevicePath))
        {
            throw new FuseMountException(FuseMountFailure.DeviceMissing,
                $"{DevicePath} does not exist: this kernel has no FUSE support loaded. Run `modprobe fuse` (as root); " +
                "in a container, start it with `--device /dev/fuse --cap-add SYS_ADMIN`.");
        }

        try
        {
            using var handle = File.OpenHandle(DevicePath, FileMode.Open, FileAccess.ReadWrite);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new FuseMountException(FuseMountFailure.DeviceAccessDenied,
                $"{DevicePath} cannot be opened by this user ({ex.Message}). Check its permissions (normally crw-rw-rw-) " +
                "or mount as root.", ex);
        }
        catch (IOException ex)
        {
            throw new FuseMountException(FuseMountFailure.DeviceMissing, $"{DevicePath} cannot be opened: {ex.Message}", ex);
        }
    }

    public static void CheckMountPoint(string mountPoint, FuseMountOptions options)
    {
        if (MountTable.Find(mountPoint) is { } existing)
        {
            throw new FuseMountException(FuseMountFailure.MountPointBusy,
                $"{mountPoint} is already a mount point ({existing.FileSystemType} from {existing.Source}). Unmount it first; " +
                $"if it is a dead FUSE mount (\"Transport endpoint is not connected\"), clear it with `fusermount3 -uz {mountPoint}`.");
        }

        if (Directory.Exists(mountPoint))
        {
            if (!options.AllowNonEmpty && Directory.EnumerateFileSystemEntries(mountPoint).Any())
            {
                throw new FuseMountException(FuseMountFailure.MountPointNotEmpty,
                    $"{mountPoint} is not empty; its files would be hidden while mounted. Use an empty directory, " +
                    "or allow it explicitly (-o nonempty).");
            }

            return;
        }

        if (File.Exists(mountPoint))
        {
            throw new FuseMountException(FuseMountFailure.MountPointNotADirectory, $"{mountPoint} is not a directory; a mount point must be an (empty) directory.");
        }

        throw new FuseMountException(FuseMountFailure.MountPointMissing,
            $"{mountPoint} does not exist (or is not accessible). Create it first: `mkdir -p {mountPoint}`.");
    }

    public static string? FindHelper()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/bin", "/bin", "/usr/local/bin"]))
        {
            var candidate = Path.Combine(dir, "fusermount3");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>`fusermount3 -u -z MOUNTPOINT` (lazy unmount for non-root mounts); true on success.</summary>
    public static bool RunFusermountLazyUnmount(string mountPoint, out string error)
    {
        error = "";
        var helper = FindHelper();
        if (helper is null)
        {
            error = "fusermount3 not found";
            return false;
        }

        var start = new ProcessStartInfo(helper) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add("-z");
        start.ArgumentList.Add("--");
        start.ArgumentList.Add(mountPoint);
        using var process = Process.Start(start);
        if (process is null)
        {
            error = "could not start fusermount3";
            return false;
        }

        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(15)))
        {
            process.Kill();
            error = "fusermount3 did not finish within 15 s";
            return false;
        }

        error = stderr.Result.Trim();
        return process.ExitCode == 0;
    }
}
