using System.CommandLine;
using System.Runtime.Versioning;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan;
using FtpsMount.Protocol;

namespace FtpsMount.Cli.Commands;

/// <summary>
/// The Windows side of <c>ftpsmount mount URL X:</c> (or an empty NTFS folder): the same connection and Core options as
/// on Linux, served through Dokan 2 instead of FUSE. Foreground only: Ctrl-C (or closing the console) unmounts after
/// pending uploads finished. FUSE-only flags (--allow-other, --no-default-permissions, --kernel-cache, --nonempty,
/// --fuse-debug, --daemon) are refused with a clear message rather than ignored.
/// </summary>
internal static class WindowsMount
{
    public static Option<string?> VolumeLabel { get; } = new("--volume-label") { Description = "Windows: the drive's label in Explorer (default FTPS)." };
    public static Option<bool> NetworkDrive { get; } = new("--network-drive") { Description = "Windows: show the mount as a network drive (needs the Dokan network provider)." };

    public static void AddTo(Command command)
    {
        command.Add(VolumeLabel);
        command.Add(NetworkDrive);
    }

    /// <summary>On Linux the Windows-only flags are refused, not silently ignored. Returns null (no Dokan options).</summary>
    public static DokanMountOptions? RefuseOnLinux(ParseResult result)
    {
        if (result.GetValue(VolumeLabel) is not null || result.GetValue(NetworkDrive))
        {
            throw new CliException(ExitCodes.Usage, "--volume-label and --network-drive are Windows (Dokan) options.");
        }

        return null;
    }

    public static DokanMountOptions BuildOptions(ParseResult result, MountOptions mount)
    {
        foreach (var (option, name) in new (Option<bool> Option, string Name)[]
                 {
                     (mount.AllowOther, "--allow-other"), (mount.NoDefaultPermissions, "--no-default-permissions"), (mount.KernelCache, "--kernel-cache"),
                     (mount.NonEmpty, "--nonempty"), (mount.FuseDebug, "--fuse-debug"), (mount.Daemon, "--daemon"),
                 })
        {
            if (result.GetValue(option))
            {
                throw new CliException(ExitCodes.Usage, $"{name} is a Linux (FUSE) option; on Windows the mount runs in the foreground and is visible to your session.");
            }
        }

        var options = new DokanMountOptions
        {
            ReadOnly = result.GetValue(mount.ReadOnly),
            NetworkDrive = result.GetValue(NetworkDrive),
            VolumeLabel = result.GetValue(VolumeLabel) ?? "FTPS",
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ExitCodes.Usage, ex.Message);
        }

        return options;
    }

    /// <summary>Mounts and serves until Ctrl-C (or the supervisor's stop); the caller then finishes pending uploads
    /// exactly as on Linux.</summary>
    [SupportedOSPlatform("windows")]
    public static async Task RunAsync(IRemoteFileSystem fs, string url, string mountPoint, DokanMountOptions options, IFtpLogger log, CancellationToken ct)
    {
        var point = DokanMount.NormalizeMountPoint(mountPoint);
        DokanMount.EnsureDriver();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            await Task.Factory.StartNew(
                () => DokanMount.Run(fs, point, options, stop.Token, log,
                    at => Console.Error.WriteLine($"mounted {url} on {at} (Ctrl-C to unmount)")),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
