using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Dokan;

/// <summary>Mounts an <see cref="IRemoteFileSystem"/> with Dokan 2 (Windows) on a drive letter or an empty NTFS folder.</summary>
public static class DokanMount
{
    /// <summary>
    /// "X:", "X:\" or a folder path → the form Dokan expects ("X:\" for a drive letter, the full folder path otherwise),
    /// or an error message. Pure string logic, usable on any OS.
    /// </summary>
    public static string NormalizeMountPoint(string mountPoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(mountPoint);
        var t = mountPoint.Trim();
        if (t.Length is 2 or 3 && char.IsAsciiLetter(t[0]) && t[1] == ':' && (t.Length == 2 || t[2] is '\\' or '/'))
        {
            return char.ToUpperInvariant(t[0]) + @":\";
        }

        if (t.Length >= 3 && char.IsAsciiLetter(t[0]) && t[1] == ':' && t[2] is '\\' or '/')
        {
            return t.Replace('/', '\\').TrimEnd('\\');
        }

        throw new DokanMountException(DokanMountFailure.BadMountPoint,
            $"\"{mountPoint}\" is not a mount point Dokan can use: give a free drive letter (X:) or the full path of an empty folder on an NTFS volume (C:\\mnt\\ftp).");
    }

    /// <summary>
    /// Mounts <paramref name="fs"/> and serves it until <paramref name="cancellationToken"/> fires (then the volume is
    /// closed with DokanCloseHandle) or it is unmounted from outside (dokanctl /u, Explorer's eject). Returns after
    /// the volume is gone; the caller still owns <paramref name="fs"/> and disposes it afterwards (pending uploads).
    /// </summary>
    [SupportedOSPlatform("windows")]
    public static unsafe void Run(IRemoteFileSystem fs, string mountPoint, DokanMountOptions options, CancellationToken cancellationToken,
        IFtpLogger? log = null, Action<string>? mounted = null)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        log ??= NullFtpLogger.Instance;
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            throw new DokanMountException(DokanMountFailure.PlatformNotSupported,
                $"The Dokan binding is built for x64 Windows only, not {RuntimeInformation.ProcessArchitecture}.");
        }

        var point = NormalizeMountPoint(mountPoint);
        EnsureDriver();
        cancellationToken.ThrowIfCancellationRequested();

        var host = new DokanNativeHost(log) { MountPoint = point.TrimEnd('\\') };
        var adapter = new DokanAdapter(fs, options, host, log) { OnMounted = mounted };
        var adapterHandle = GCHandle.Alloc(adapter);
        var mountPointText = Marshal.StringToHGlobalUni(point);
        var uncText = options.NetworkDrive ? Marshal.StringToHGlobalUni(options.EffectiveUncName) : 0;
        var dokanOptions = (DokanOptions*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOptions));
        var operations = (DokanOperations*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOperations));
        var initialized = false;
        try
        {
            FillOptions(dokanOptions, options, GCHandle.ToIntPtr(adapterHandle), (char*)mountPointText, (char*)uncText);
            *operations = DokanCallbacks.CreateOperations();

            DokanApi.DokanInit();
            initialized = true;
            nint instance;
            var rc = DokanApi.DokanCreateFileSystem(dokanOptions, operations, &instance);
            if (rc != DokanConst.DOKAN_SUCCESS)
            {
                throw Explain(rc, point);
            }

            host.Instance = instance;
            try
            {
                // DokanCreateFileSystem returns once the volume is up; wait for the end in slices so cancellation is seen.
                while (DokanApi.DokanWaitForFileSystemClosed(instance, 250) == WinConst.WAIT_TIMEOUT)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        log.Log(FtpLogLevel.Information, $"dokan: unmounting {point}");
                        break;
                    }
                }
            }
            finally
            {
                host.Instance = 0;
                DokanApi.DokanCloseHandle(instance); // unmounts if still mounted, waits for the library's threads
            }
        }
        finally
        {
            if (initialized)
            {
                DokanApi.DokanShutdown();
            }

            NativeMemory.Free(operations);
            NativeMemory.Free(dokanOptions);
            Marshal.FreeHGlobal(mountPointText);
            if (uncText != 0)
            {
                Marshal.FreeHGlobal(uncText);
            }

            adapterHandle.Free();
        }
    }

    /// <summary>DOKAN_OPTIONS for a mount: API version 2.0.0, multi-threaded, our flags, the adapter's GCHandle as
    /// GlobalContext (how the trampolines find it), the driver timeout, 4 KiB allocation units and sectors, no volume
    /// security descriptor (Dokan's default). The strings must stay allocated while mounted.</summary>
    internal static unsafe void FillOptions(DokanOptions* target, DokanMountOptions options, nint adapterHandle, char* mountPoint, char* uncName)
    {
        *target = default;
        target->Version = DokanConst.DOKAN_VERSION;
        target->SingleThread = 0;
        target->Options = OptionFlags(options);
        target->GlobalContext = (ulong)adapterHandle;
        target->MountPoint = mountPoint;
        target->UNCName = uncName;
        target->Timeout = (uint)options.DriverTimeout.TotalMilliseconds;
        target->AllocationUnitSize = 4096;
        target->SectorSize = 4096;
        target->VolumeSecurityDescriptorLength = 0;
    }

    internal static uint OptionFlags(DokanMountOptions options)
    {
        uint flags = 0;
        if (options.ReadOnly) flags |= DokanConst.DOKAN_OPTION_WRITE_PROTECT;
        if (options.NetworkDrive) flags |= DokanConst.DOKAN_OPTION_NETWORK | DokanConst.DOKAN_OPTION_ENABLE_UNMOUNT_NETWORK_DRIVE;
        if (options.Removable) flags |= DokanConst.DOKAN_OPTION_REMOVABLE;
        if (options.MountManager) flags |= DokanConst.DOKAN_OPTION_MOUNT_MANAGER;
        if (options.CurrentSession) flags |= DokanConst.DOKAN_OPTION_CURRENT_SESSION;
        if (options.Debug) flags |= DokanConst.DOKAN_OPTION_DEBUG | DokanConst.DOKAN_OPTION_STDERR;
        return flags;
    }

    /// <summary>The message for a DokanCreateFileSystem result (pure: testable anywhere).</summary>
    internal static DokanMountException Explain(int result, string mountPoint) => result switch
    {
        DokanConst.DOKAN_DRIVER_INSTALL_ERROR => new DokanMountException(DokanMountFailure.DriverNotInstalled,
            $"The Dokan 2 driver is not installed or not running. Get it from {DokanMountException.DriverDownload}."),
        DokanConst.DOKAN_DRIVE_LETTER_ERROR => new DokanMountException(DokanMountFailure.BadMountPoint,
            $"{mountPoint}: not a usable drive letter (use D: to Z:)."),
        DokanConst.DOKAN_MOUNT_ERROR => new DokanMountException(DokanMountFailure.MountPointInUse,
            $"{mountPoint}: the drive letter or folder is already in use; choose another one."),
        DokanConst.DOKAN_MOUNT_POINT_ERROR => new DokanMountException(DokanMountFailure.BadMountPoint,
            $"{mountPoint}: not a valid mount point (a folder must exist, be empty and be on an NTFS volume)."),
        DokanConst.DOKAN_VERSION_ERROR => new DokanMountException(DokanMountFailure.VersionMismatch,
            $"The installed Dokan library is not compatible with Dokan {DokanConst.DOKAN_VERSION / 100}.{DokanConst.DOKAN_VERSION / 10 % 10}; install the latest 2.x from {DokanMountException.DriverDownload}."),
        DokanConst.DOKAN_START_ERROR => new DokanMountException(DokanMountFailure.StartFailed,
            "The Dokan driver refused to start the volume (see the Windows event log); reinstalling Dokan 2 may help: " + DokanMountException.DriverDownload),
        _ => new DokanMountException(DokanMountFailure.Failed, $"Dokan could not mount {mountPoint} (error {result})."),
    };

    /// <summary>
    /// Asks the driver to unmount the volume on <paramref name="mountPoint"/> (<c>ftpsmount unmount X:</c>); the mount
    /// process then sees its file system closed, finishes pending uploads and exits, as after Ctrl-C.
    /// </summary>
    [SupportedOSPlatform("windows")]
    public static void Unmount(string mountPoint)
    {
        var point = NormalizeMountPoint(mountPoint);
        EnsureDriver();
        DokanApi.DokanInit();
        try
        {
            if (DokanApi.DokanRemoveMountPoint(point) == 0)
            {
                throw new DokanMountException(DokanMountFailure.Failed,
                    $"Dokan could not unmount {point}: it is not a Dokan volume, or files on it are still in use.");
            }
        }
        finally
        {
            DokanApi.DokanShutdown();
        }
    }

    /// <summary>Checks that dokan2.dll can be loaded and the driver answers, with where to get it otherwise.</summary>
    [SupportedOSPlatform("windows")]
    public static void EnsureDriver()
    {
        if (!NativeLibrary.TryLoad(DokanApi.Library, typeof(DokanMount).Assembly, DllImportSearchPath.System32 | DllImportSearchPath.SafeDirectories, out var library))
        {
            throw new DokanMountException(DokanMountFailure.DriverNotInstalled,
                $"Dokan 2 is not installed ({DokanApi.Library} not found). Get it from {DokanMountException.DriverDownload}.");
        }

        NativeLibrary.Free(library);
        uint driver;
        try
        {
            driver = DokanApi.DokanDriverVersion();
        }
        catch (EntryPointNotFoundException ex)
        {
            throw new DokanMountException(DokanMountFailure.VersionMismatch,
                $"{DokanApi.Library} is not a Dokan 2 library. Install Dokan 2 from {DokanMountException.DriverDownload}.", ex);
        }

        if (driver == 0)
        {
            throw new DokanMountException(DokanMountFailure.DriverNotInstalled,
                $"The Dokan 2 library is present but its driver is not running. Install (or repair) Dokan 2 from {DokanMountException.DriverDownload}, then reboot if asked.");
        }
    }
}
