using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace FtpsMount.Service.Supervision;

/// <summary>Asking a mount process to unmount cleanly (it then finishes pending uploads and exits).</summary>
internal static partial class ProcessSignals
{
    private const int SIGTERM = 15;

    /// <summary>SIGTERM on Unix (the mount command's clean shutdown); on Windows, <c>ftpsmount unmount MOUNTPOINT</c>.</summary>
    public static void RequestStop(Process process, MountLauncher launcher, string? mountPoint)
    {
        if (OperatingSystem.IsWindows())
        {
            if (mountPoint is not null)
            {
                using var unmount = Process.Start(launcher.StartInfo("unmount", mountPoint));
                unmount?.StandardInput.Close();
            }

            return;
        }

        _ = Kill(process.Id, SIGTERM);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    [UnsupportedOSPlatform("windows")]
    private static partial int Kill(int pid, int signal);
}
