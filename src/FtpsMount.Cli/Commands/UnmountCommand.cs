using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using FtpsMount.Dokan;

namespace FtpsMount.Cli.Commands;

/// <summary><c>ftpsmount unmount MOUNTPOINT [--lazy]</c>: asks the kernel to detach the mount (fusermount3 -u);
/// the mount process then finishes pending uploads and exits.</summary>
internal static class UnmountCommand
{
    public static Command Create()
    {
        var point = new Argument<string>("mountpoint");
        var lazy = new Option<bool>("--lazy") { Description = "Detach now even if files are open (fusermount3 -uz)." };
        var command = new Command("unmount", "Unmount an ftpsmount mount point.") { point, lazy };
        command.Aliases.Add("umount");
        command.SetAction(async (result, ct) =>
        {
            if (OperatingSystem.IsWindows())
            {
                return UnmountDokan(result.GetValue(point)!);
            }

            var mountPoint = Path.GetFullPath(result.GetValue(point)!);
            var start = new ProcessStartInfo("fusermount3") { RedirectStandardError = true };
            start.ArgumentList.Add(result.GetValue(lazy) ? "-uz" : "-u");
            start.ArgumentList.Add(mountPoint);
            try
            {
                using var process = Process.Start(start)!;
                var stderr = await process.StandardError.ReadToEndAsync(ct).ConfigureAwait(false);
                await process.WaitForExitAsync(ct).ConfigureAwait(false);
                if (process.ExitCode != 0)
                {
                    Console.Error.WriteLine("error: " + stderr.Trim());
                    if (stderr.Contains("busy", StringComparison.OrdinalIgnoreCase))
                    {
                        Console.Error.WriteLine("hint: files are open on the mount; close them, or use --lazy to detach now (pending uploads still finish).");
                    }

                    return ExitCodes.Failure;
                }

                var owner = StatusFile.ReadAll().FirstOrDefault(s => s.MountPoint == mountPoint);
                Console.Error.WriteLine(owner is null
                    ? $"unmounted {mountPoint}"
                    : string.Create(CultureInfo.InvariantCulture, $"unmounted {mountPoint}; process {owner.Pid} is finishing {owner.PendingUploads} pending upload(s)"));
                return ExitCodes.Ok;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                Console.Error.WriteLine("error: fusermount3 was not found; install the fuse3 package.");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    /// <summary>Windows: the Dokan driver unmounts the drive letter or folder; the mount process drains its uploads.</summary>
    [SupportedOSPlatform("windows")]
    private static int UnmountDokan(string mountPoint)
    {
        try
        {
            DokanMount.Unmount(mountPoint);
        }
        catch (DokanMountException ex)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return ExitCodes.Failure;
        }

        var owner = StatusFile.ReadAll().FirstOrDefault(s => string.Equals(s.MountPoint.TrimEnd('\\'), mountPoint.TrimEnd('\\'), StringComparison.OrdinalIgnoreCase));
        Console.Error.WriteLine(owner is null
            ? $"unmounted {mountPoint}"
            : string.Create(CultureInfo.InvariantCulture, $"unmounted {mountPoint}; process {owner.Pid} is finishing {owner.PendingUploads} pending upload(s)"));
        return ExitCodes.Ok;
    }
}
