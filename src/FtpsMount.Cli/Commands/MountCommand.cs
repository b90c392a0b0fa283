using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan;
using FtpsMount.Fuse;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Listing;
using FtpsMount.Service.Supervision;

namespace FtpsMount.Cli.Commands;

/// <summary>
/// <c>ftpsmount mount URL|PROFILE MOUNTPOINT [options]</c>: foreground by default — Ctrl-C or SIGTERM unmounts cleanly
/// after pending uploads finished — or <c>--daemon</c> to detach once the mount is live. Before mounting it logs in
/// once, so a wrong password, an untrusted certificate or a missing directory is reported here, not as EIO later.
/// </summary>
internal static class MountCommand
{
    public const string DaemonChildVariable = "FTPSMOUNT_DAEMON_CHILD";

    /// <summary>The arguments after -o expansion and profile substitution (what a daemon child is started with).</summary>
    internal static string[] EffectiveArguments { get; set; } = [];

    public static Command Create(out ISet<string> knownFlags)
    {
        var connection = new ConnectionOptions();
        var mount = new MountOptions();
        var url = new Argument<string>("url") { Description = "ftpes://user@host[:port]/dir, ftps://... (implicit), or a profile name from ~/.config/ftpsmount/config.json" };
        var point = new Argument<string>("mountpoint") { Description = "An existing empty directory." };
        var command = new Command("mount", "Mount an FTPS server (or one of its directories) on a local directory.") { url, point };
        connection.AddTo(command);
        mount.AddTo(command);
        WindowsMount.AddTo(command);
        knownFlags = new HashSet<string>(command.Options.SelectMany(o => o.Aliases.Append(o.Name)), StringComparer.Ordinal);
        command.SetAction(async (result, ct) =>
        {
            var log = new RecentErrorLog(new StderrLogger(connection.LogLevel(result)));
            try
            {
                return await RunAsync(result, connection, mount, result.GetValue(url)!, result.GetValue(point)!, log, ct).ConfigureAwait(false);
            }
            catch (DokanMountException ex)
            {
                Console.Error.WriteLine("error: " + ex.Message);
                return ex.Failure is DokanMountFailure.BadMountPoint or DokanMountFailure.MountPointInUse ? ExitCodes.Usage : ExitCodes.Failure;
            }
            catch (FuseMountException ex)
            {
                Console.Error.WriteLine("error: " + ex.Message);
                return ex.Failure is FuseMountFailure.MountPointMissing or FuseMountFailure.MountPointNotADirectory or FuseMountFailure.MountPointNotEmpty or FuseMountFailure.MountPointBusy
                    ? ExitCodes.Usage
                    : ExitCodes.Failure;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return ErrorReporter.Report(ex, Console.Error);
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, ConnectionOptions connection, MountOptions mount, string urlText, string mountPoint, RecentErrorLog log, CancellationToken ct)
    {
        var url = FtpsUrl.Parse(urlText);
        var ftps = connection.Build(result, url);
        var credentials = connection.Credentials(result, url);
        var core = mount.BuildCore(result);
        // Windows: Dokan 2 on a drive letter or an empty NTFS folder (the FUSE options are validated there instead).
        var dokan = OperatingSystem.IsWindows() ? WindowsMount.BuildOptions(result, mount) : WindowsMount.RefuseOnLinux(result);
        var fuse = mount.BuildFuse(result, core);
        var fullMountPoint = dokan is null ? Path.GetFullPath(mountPoint) : mountPoint;
        if (ftps.Tls.Trust.Insecure)
        {
            Console.Error.WriteLine("WARNING: --insecure: the server's certificate is NOT checked. Anyone on the network path can read and change this mount's traffic, including your password.");
        }

        if (dokan is null && result.GetValue(mount.Daemon) && Environment.GetEnvironmentVariable(DaemonChildVariable) != "1")
        {
            return await DaemonizeAsync(result, mount, fullMountPoint, credentials, ct).ConfigureAwait(false);
        }

        // Log in once before mounting: errors a person can act on come out here, with the right exit code.
        string root;
        string? tlsProtocol;
        await using (var probe = await FtpSession.ConnectAsync(ftps, credentials, log: log, cancellationToken: ct).ConfigureAwait(false))
        {
            root = url.ResolvePath(probe.HomeDirectory);
            tlsProtocol = probe.Security.Tls?.Protocol;
            var entry = root == "/" ? null : await probe.GetEntryAsync(root, ct).ConfigureAwait(false);
            if (root != "/" && entry is null)
            {
                throw new CliException(ExitCodes.NotFound, $"{root}: no such directory on the server.");
            }

            if (entry is { Type: not FtpEntryType.Directory })
            {
                throw new CliException(ExitCodes.Usage, $"{root} is a file on the server; mount a directory.");
            }

            // One listing proves the data channel works (a firewall blocking passive ports is the classic failure);
            // the error then carries the firewall hint instead of every later ls failing with EIO.
            await probe.ListAsync(root, ct).ConfigureAwait(false);
        }

        var remote = new RemoteFileSystem(ftps, credentials, core, log);
        var fs = new SubtreeFileSystem(remote, root);
        using var stop = SupervisorLink.Create(ct);
        using var status = new StatusFile(url.ToString(), OperatingSystem.IsWindows() ? mountPoint : fullMountPoint, fs) { TlsProtocol = tlsProtocol, Pool = () => remote.PoolStatistics, Errors = log };
        var allUploaded = false;
        try
        {
            if (OperatingSystem.IsWindows())
            {
                status.Start(); // live stats for `ftpsmount status` and the service; "mounted ..." on stderr still marks the mount live
                await WindowsMount.RunAsync(fs, url.ToString(), mountPoint, dokan!, log, stop.Token).ConfigureAwait(false);
            }
            else
            {
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
                // `kill -HUP PID` (as with rclone): forget cached listings and attributes, to see others' changes now.
                using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
                {
                    c.Cancel = true;
                    remote.RefreshMetadata();
                    log.Log(FtpLogLevel.Information, "SIGHUP: cached listings and attributes dropped");
                });
                await Task.Factory.StartNew(
                    () => FuseMount.Run(fs, fullMountPoint, fuse, stop.Token, log, () =>
                    {
                        status.Start();
                        Console.Error.WriteLine($"mounted {url} on {fullMountPoint} (Ctrl-C or `ftpsmount unmount {fullMountPoint}` to unmount)");
                    }),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        finally
        {
            allUploaded = await FinishUploadsAsync(fs, remote, result.GetValue(mount.UnmountTimeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        }

        // Data that did not reach the server is a failure of the mount's job, even though nothing was lost locally.
        return allUploaded ? ExitCodes.Ok : ExitCodes.Failure;
    }

    /// <summary>After the unmount: uploads what is pending — files still open when the mount went away, then closed files
    /// waiting for write-back or a retry — for at most <paramref name="timeout"/> in all (<c>--unmount-timeout</c>), and
    /// names every file whose data did not reach the server (kept in the staging directory). Never waits much longer
    /// than the timeout for a server that is gone or silent. False when anything was left.</summary>
    private static async Task<bool> FinishUploadsAsync(IRemoteFileSystem fs, RemoteFileSystem remote, TimeSpan timeout)
    {
        Console.Error.WriteLine($"unmounted; finishing pending uploads (at most {timeout.TotalSeconds:0} s)...");
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(timeout);
        var left = new SortedSet<string>(StringComparer.Ordinal);
        left.UnionWith(await remote.ReleaseOpenFilesAsync(deadline.Token).ConfigureAwait(false));
        var remaining = timeout - clock.Elapsed;
        left.UnionWith(await fs.DrainAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false));
        if (clock.Elapsed >= timeout)
        {
            Console.Error.WriteLine($"error: gave up waiting for the server after {clock.Elapsed.TotalSeconds:0} s (--unmount-timeout {timeout.TotalSeconds:0}).");
        }

        foreach (var path in left)
        {
            Console.Error.WriteLine($"error: the upload of {path} did not complete; its data is kept in the staging directory.");
        }

        // Nothing is open or in flight any more, so disposal is quick unless uploads are still pending (it drains them
        // once more): wait a few seconds at most.
        var dispose = fs.DisposeAsync().AsTask();
        if (await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != dispose)
        {
            Console.Error.WriteLine("warning: exiting while the last pending uploads are still being retried; their data is kept in the staging directory.");
        }

        return left.Count == 0;
    }

    /// <summary>Starts this same command again in its own session (setsid), logging to a file, and returns once the
    /// mount is live. The password travels in the child's environment (readable only by this user), never argv.</summary>
    private static async Task<int> DaemonizeAsync(ParseResult result, MountOptions mount, string mountPoint, FtpCredentials credentials, CancellationToken ct)
    {
        var logFile = result.GetValue(mount.LogFile) ?? DefaultLogFile(mountPoint);
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec setsid \"$0\" \"$@\" </dev/null >>\"$FTPSMOUNT_LOG\" 2>&1");
        var self = Environment.ProcessPath ?? "ftpsmount";
        start.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(MountCommand).Assembly.Location);
        }

        foreach (var arg in EffectiveArguments.Where(a => a != "--daemon"))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[DaemonChildVariable] = "1";
        start.Environment.Remove(MountLauncher.SupervisedVariable); // its stdin is /dev/null: it must not read EOF as "stop"
        start.Environment["FTPSMOUNT_LOG"] = logFile;
        start.Environment[PasswordSource.EnvironmentVariable] = credentials.Password;
        using var child = Process.Start(start) ?? throw new CliException(ExitCodes.Failure, "could not start the background process");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (MountState.IsMounted(mountPoint))
            {
                Console.Error.WriteLine($"mounted on {mountPoint} (background pid {child.Id}, log {logFile})");
                return ExitCodes.Ok;
            }

            if (child.HasExited)
            {
                Console.Error.WriteLine($"the background mount process exited with {child.ExitCode}; last lines of {logFile}:");
                foreach (var line in File.Exists(logFile) ? File.ReadLines(logFile).TakeLast(15) : [])
                {
                    Console.Error.WriteLine("  " + line);
                }

                return child.ExitCode == 0 ? ExitCodes.Failure : child.ExitCode;
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }

        Console.Error.WriteLine($"error: the mount did not appear within 60 s; see {logFile}. The background process (pid {child.Id}) was stopped.");
        child.Kill();
        return ExitCodes.Failure;
    }

    private static string DefaultLogFile(string mountPoint)
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cache))
        {
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        }

        return Path.Combine(cache, "ftpsmount", mountPoint.Trim('/').Replace('/', '_') + ".log");
    }

    /// <summary>
    /// Applies -o expansion and profile substitution so every form reaches the same parser:
    /// <c>ftpsmount mount URL|PROFILE MOUNTPOINT -o a,b=c</c>, and the mount(8) helper form
    /// <c>ftpsmount URL|PROFILE MOUNTPOINT -o ...</c> (which also implies --daemon, as mount(8) expects).
    /// </summary>
    public static string[] Preprocess(string[] args, ISet<string> knownFlags, ISet<string> commandNames)
    {
        if (args.Length == 0)
        {
            return args;
        }

        var list = args.ToList();
        var profiles = new Lazy<IReadOnlyDictionary<string, Profile>>(() => Profiles.Load(Profiles.DefaultPath()));
        if (!commandNames.Contains(list[0]) && !list[0].StartsWith('-') && (list[0].Contains("://", StringComparison.Ordinal) || profiles.Value.ContainsKey(list[0])))
        {
            list.Insert(0, "mount");
            if (!list.Contains("--daemon"))
            {
                list.Add("--daemon");
            }
        }

        if (list[0] != "mount")
        {
            return args;
        }

        var expanded = MountArguments.Expand(list, knownFlags).ToList();
        if (expanded.Count > 1 && !expanded[1].Contains("://", StringComparison.Ordinal) && !expanded[1].StartsWith('-'))
        {
            if (!profiles.Value.TryGetValue(expanded[1], out var profile))
            {
                throw new CliException(ExitCodes.Usage, $"\"{expanded[1]}\" is neither a URL nor a profile in {Profiles.DefaultPath()}.");
            }

            expanded[1] = profile.Url;
            var positional = expanded.Skip(2).TakeWhile(a => !a.StartsWith('-')).Count();
            if (positional == 0)
            {
                expanded.Insert(2, profile.MountPoint ?? throw new CliException(ExitCodes.Usage, $"profile \"{profile.Name}\" has no mountPoint; give one on the command line."));
            }

            expanded.AddRange(Profiles.ToArguments(profile, expanded));
        }

        return expanded.ToArray();
    }
}
