using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Testing.ReferenceServers;

/// <summary>
/// A real FTPS server (vsftpd, proftpd or pure-ftpd) started for one test on 127.0.0.1, with its own port
/// block, root directory and logs. TLS is required on control and data connections, TLS 1.2 and 1.3 are
/// both enabled, and vsftpd and proftpd require data connections to resume the control connection's TLS
/// session. <see cref="DisposeAsync"/> kills the server and its per-connection children by process id,
/// checks the port is free again and removes the instance directory.
/// </summary>
/// <remarks>Needs root and tests/scripts/install-test-deps.sh; otherwise <see cref="StartAsync"/> throws
/// <see cref="ReferenceServerUnavailableException"/>. Set FTPSMOUNT_KEEP_SERVER_DIRS=1 to keep the instance
/// directories (configuration, logs, root) after disposal for debugging.</remarks>
public sealed partial class ReferenceServer : IAsyncDisposable
{
    private static readonly TimeSpan s_startDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan s_stopDeadline = TimeSpan.FromSeconds(10);
    private const int StartAttempts = 3;
    private const string InstancePrefix = "ftpsmount-ref-";

    private readonly TestCertificate _certificate;
    private readonly PortBlock _ports;
    private Process? _process;
    private int _disposed;

    /// <summary>Every kind × mode the harness can start (pure-ftpd's Debian build has no implicit FTPS).</summary>
    public static IReadOnlyList<(ReferenceServerKind Kind, FtpsMode Mode)> SupportedConfigurations { get; } =
    [
        (ReferenceServerKind.Vsftpd, FtpsMode.Explicit),
        (ReferenceServerKind.Vsftpd, FtpsMode.Implicit),
        (ReferenceServerKind.Proftpd, FtpsMode.Explicit),
        (ReferenceServerKind.Proftpd, FtpsMode.Implicit),
        (ReferenceServerKind.PureFtpd, FtpsMode.Explicit),
    ];

    public static bool IsSupported(ReferenceServerKind kind, FtpsMode mode) => SupportedConfigurations.Contains((kind, mode));

    private ReferenceServer(ReferenceServerKind kind, FtpsMode mode, TestCertificate certificate, PortBlock ports, string instanceDirectory)
    {
        Kind = kind;
        Mode = mode;
        _certificate = certificate;
        _ports = ports;
        InstanceDirectory = instanceDirectory;
        RootDirectory = Path.Combine(instanceDirectory, "root");
        LogPath = Path.Combine(instanceDirectory, "server.log");
        ConsoleLogPath = Path.Combine(instanceDirectory, "console.log");
    }

    public ReferenceServerKind Kind { get; }
    public FtpsMode Mode { get; }
    public string Host => "127.0.0.1";
    public int Port => _ports.ControlPort;

    /// <summary>The passive data ports this instance may announce (inclusive).</summary>
    public int PassivePortFirst => _ports.PassiveFirst;
    public int PassivePortLast => _ports.PassiveLast;
    public int PassivePortCount => _ports.PassiveCount;

    public string User => ReferenceServerInstallation.TestUser;
    public string Password => ReferenceServerInstallation.Password;
    public FtpCredentials Credentials => new(User, Password);

    /// <summary>Local directory the FTP user sees as "/", owned by the test user. Files placed here by the
    /// test (as root) should be handed to the user with <see cref="SeedFile"/>/<see cref="SeedDirectory"/>.</summary>
    public string RootDirectory { get; }

    /// <summary>Per-instance directory holding configuration, logs and <see cref="RootDirectory"/>.</summary>
    public string InstanceDirectory { get; }

    /// <summary>PEM of the self-signed server certificate, which is its own CA.</summary>
    public string CaCertificatePath => _certificate.CertificatePath;

    /// <summary>"sha256:" + lowercase hex of the server certificate.</summary>
    public string CertificateFingerprint => _certificate.Fingerprint;

    /// <summary>The server's main log: vsftpd protocol/transfer/TLS log, proftpd SystemLog, pure-ftpd
    /// transfer log (pure-ftpd logs sessions only to syslog). <see cref="ReadLogs"/> gathers all logs.</summary>
    public string LogPath { get; }

    /// <summary>Whatever the daemon wrote to stdout/stderr (vsftpd's "500 OOPS" start-up errors land here).</summary>
    public string ConsoleLogPath { get; }

    /// <summary>Process id of the listening daemon (our direct child).</summary>
    public int ProcessId { get; private set; }

    /// <summary>Installed package version of this server, e.g. "3.0.3-13+b2", or "unknown".</summary>
    public string ServerVersion => ReferenceServerInstallation.Versions.TryGetValue(
        Kind switch { ReferenceServerKind.Vsftpd => "vsftpd", ReferenceServerKind.Proftpd => "proftpd", _ => "pure-ftpd" },
        out var v) ? v : "unknown";

    /// <summary>Whether the server refuses data connections that do not resume the control connection's TLS
    /// session (pure-ftpd's Debian build is compiled without that check).</summary>
    public bool RequiresSessionReuse => Kind != ReferenceServerKind.PureFtpd;

    /// <summary>Starts a server and waits (with a deadline) until it accepts connections.</summary>
    /// <exception cref="ReferenceServerUnavailableException">Not root, or tests/scripts/install-test-deps.sh not run.</exception>
    /// <exception cref="NotSupportedException">The combination is not in <see cref="SupportedConfigurations"/>.</exception>
    public static async Task<ReferenceServer> StartAsync(ReferenceServerKind kind, FtpsMode mode, CancellationToken ct = default)
    {
        if (!IsSupported(kind, mode))
        {
            throw new NotSupportedException($"{kind} in {mode} mode is not a supported reference configuration.");
        }

        ReferenceServerInstallation.EnsureAvailable(kind);
        SweepOrphans();
        var certificate = await TestCertificate.GetSharedAsync(ct).ConfigureAwait(false);

        for (var attempt = 1; ; attempt++)
        {
            var ports = PortBlock.Allocate();
            string dir;
            try
            {
                dir = CreateInstanceDirectory(kind);
            }
            catch
            {
                ports.Dispose();
                throw;
            }

            var server = new ReferenceServer(kind, mode, certificate, ports, dir);
            try
            {
                await server.LaunchAsync(ct).ConfigureAwait(false);
                return server;
            }
            catch (ServerExitedException) when (attempt < StartAttempts)
            {
                // Most likely someone else took a port of the block between our check and the bind.
                await server.DisposeQuietlyAsync().ConfigureAwait(false);
            }
            catch
            {
                await server.DisposeQuietlyAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Client options for this server: its host, port and mode, TLS pinned to one version, and
    /// trust in the test certificate only (its CA file, or its fingerprint when <paramref name="pinFingerprint"/>).</summary>
    public FtpsOptions CreateOptions(TlsVersion maxAndMinVersion, bool pinFingerprint = false) => new()
    {
        Host = Host,
        Port = Port,
        Mode = Mode,
        Tls = new TlsOptions
        {
            MinVersion = maxAndMinVersion,
            MaxVersion = maxAndMinVersion,
            Trust = pinFingerprint
                ? new TrustOptions { UseSystemStore = false, PinnedFingerprints = [CertificateFingerprint] }
                : new TrustOptions { UseSystemStore = false, CaFile = CaCertificatePath },
        },
    };

    /// <summary>Local path of an FTP path ("/a/b.txt" → RootDirectory/a/b.txt).</summary>
    public string GetLocalPath(string ftpPath)
    {
        var relative = ftpPath.Replace('\\', '/').TrimStart('/');
        if (relative.Split('/').Any(part => part == ".."))
        {
            throw new ArgumentException("path must stay inside the server root", nameof(ftpPath));
        }

        return relative.Length == 0 ? RootDirectory : Path.Combine(RootDirectory, relative);
    }

    /// <summary>Creates a directory (and missing parents) in the server root, owned by the test user.</summary>
    public string SeedDirectory(string ftpPath)
    {
        var full = GetLocalPath(ftpPath);
        var missing = new Stack<string>();
        for (var p = full; !Directory.Exists(p) && p.Length > RootDirectory.Length; p = Path.GetDirectoryName(p)!)
        {
            missing.Push(p);
        }

        while (missing.Count > 0)
        {
            var p = missing.Pop();
            Directory.CreateDirectory(p);
            GiveToTestUser(p);
        }

        return full;
    }

    /// <summary>Writes a file (creating parents) in the server root, owned by the test user; returns its local path.</summary>
    public string SeedFile(string ftpPath, ReadOnlySpan<byte> content)
    {
        var full = GetLocalPath(ftpPath);
        SeedDirectory(Path.GetDirectoryName(full)![RootDirectory.Length..]);
        using (var stream = new FileStream(full, FileMode.Create, FileAccess.Write))
        {
            stream.Write(content);
        }

        GiveToTestUser(full);
        return full;
    }

    /// <summary>All of this instance's logs, each under a header, for test failure messages.</summary>
    public string ReadLogs()
    {
        var text = new StringBuilder();
        IEnumerable<string> files = Directory.Exists(InstanceDirectory)
            ? Directory.EnumerateFiles(InstanceDirectory, "*.log").Order(StringComparer.Ordinal)
            : [];
        foreach (var file in files)
        {
            text.Append("==> ").Append(Path.GetFileName(file)).AppendLine(" <==");
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                text.AppendLine(reader.ReadToEnd());
            }
            catch (IOException e)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"(unreadable: {e.Message})");
            }
        }

        return text.ToString();
    }

    public override string ToString() =>
        $"{Kind} {Mode} on {Host}:{I(Port)} (passive {I(PassivePortFirst)}-{I(PassivePortLast)}, pid {I(ProcessId)})";

    /// <summary>Kills the daemon and its children by process id, waits until they are gone and the port is
    /// free again, then removes the instance directory. Throws if the server could not be stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var problems = new List<string>();
        try
        {
            if (_process is { } process)
            {
                var pids = ProcessTree.KillTree(process.Id, TimeSpan.FromSeconds(1));
                using var timeout = new CancellationTokenSource(s_stopDeadline);
                try
                {
                    await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    problems.Add($"daemon pid {I(process.Id)} did not exit within {s_stopDeadline.TotalSeconds}s");
                }

                if (!await ProcessTree.WaitAllDeadAsync(pids, s_stopDeadline, CancellationToken.None).ConfigureAwait(false))
                {
                    problems.Add("still alive after SIGKILL: " + string.Join(", ", pids.Where(ProcessTree.IsAlive)));
                }

                process.Dispose();
                _process = null;

                var sw = Stopwatch.StartNew();
                while (!PortBlock.IsFreeForListening(Port))
                {
                    if (sw.Elapsed > s_stopDeadline)
                    {
                        problems.Add($"port {I(Port)} still has a listener {s_stopDeadline.TotalSeconds}s after the kill");
                        break;
                    }

                    await Task.Delay(20).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            RemoveInstanceDirectory();
            _ports.Dispose();
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"Stopping {this} failed: " + string.Join("; ", problems));
        }
    }

    private async Task DisposeQuietlyAsync()
    {
        try
        {
            await DisposeAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private async Task LaunchAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(RootDirectory);
        GiveToTestUser(RootDirectory);
        var launch = await ConfigureAsync(ct).ConfigureAwait(false);

        // sh only redirects and then execs the daemon, so the child we own *is* the daemon. No pipes: a
        // per-connection child that outlived the kill would otherwise hold them open.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("log=\"$1\"; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1");
        psi.ArgumentList.Add("ftpsmount-reference-server");
        psi.ArgumentList.Add(ConsoleLogPath);
        psi.ArgumentList.Add(launch.FileName);
        foreach (var a in launch.Arguments)
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {launch.FileName}");
        ProcessId = _process.Id;
        WriteOwnerFile();
        await WaitUntilReadyAsync(ct).ConfigureAwait(false);
    }

    private async Task WaitUntilReadyAsync(CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        string? lastProblem = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (_process!.HasExited)
            {
                var hint = Kind == ReferenceServerKind.Vsftpd && _process.ExitCode == 2
                    ? " (vsftpd exits with 2 and no message on an unknown configuration key)"
                    : "";
                throw new ServerExitedException(
                    $"{this} exited with code {I(_process.ExitCode)} before it was ready{hint}.\n{ReadLogs()}");
            }

            try
            {
                if (await ProbeAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (SocketException e)
            {
                lastProblem = e.SocketErrorCode.ToString();
            }
            catch (IOException e)
            {
                lastProblem = e.Message;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                lastProblem = "greeting timed out";
            }

            if (sw.Elapsed > s_startDeadline)
            {
                throw new TimeoutException(
                    $"{this} was not ready within {s_startDeadline.TotalSeconds}s (last: {lastProblem}).\n{ReadLogs()}");
            }

            await Task.Delay(25, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Explicit: the plaintext "220 " greeting arrives. Implicit: a TCP connection is accepted (no
    /// TLS here, so the probe leaves no session in the client's TLS session cache).</summary>
    private async Task<bool> ProbeAsync(CancellationToken ct)
    {
        using var probeTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        probeTimeout.CancelAfter(TimeSpan.FromSeconds(3));
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, Port, probeTimeout.Token).ConfigureAwait(false);
        if (Mode == FtpsMode.Implicit)
        {
            return true;
        }

        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.Latin1, false, 1024, leaveOpen: true);
        while (await reader.ReadLineAsync(probeTimeout.Token).ConfigureAwait(false) is { } line)
        {
            if (line.Length >= 4 && line[3] == ' ')
            {
                if (line.StartsWith("220", StringComparison.Ordinal))
                {
                    await stream.WriteAsync("QUIT\r\n"u8.ToArray(), probeTimeout.Token).ConfigureAwait(false);
                    return true;
                }

                throw new InvalidOperationException($"{this} greets with \"{line}\" instead of 220.\n{ReadLogs()}");
            }
        }

        return false;
    }

    private static void GiveToTestUser(string path)
    {
        if (LibC.Chown(path, ReferenceServerInstallation.TestUserId, ReferenceServerInstallation.TestGroupId) != 0)
        {
            throw new IOException($"chown {path} to {ReferenceServerInstallation.TestUser} failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
    }

    private static string CreateInstanceDirectory(ReferenceServerKind kind)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException();
        }

        var dir = Directory.CreateTempSubdirectory(InstancePrefix + kind.ToString().ToLowerInvariant() + "-").FullName;
        // The test user must be able to reach its root inside; nothing secret lives here (pure-ftpd's
        // passwd file and PureDB are 0600).
        LibC.SetMode(dir,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return dir;
    }

    private void RemoveInstanceDirectory()
    {
        var ownerFile = Path.Combine(InstanceDirectory, OwnerFileName);
        try
        {
            if (Environment.GetEnvironmentVariable("FTPSMOUNT_KEEP_SERVER_DIRS") == "1")
            {
                File.Delete(ownerFile);
                return;
            }

            Directory.Delete(InstanceDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // Orphans: a test process that crashed never disposed its servers. Each instance directory records the
    // owning test process and the daemon (pid + start time, so a reused pid is never mistaken for them);
    // the next start kills the daemons of dead owners and removes their directories.
    private const string OwnerFileName = "owner";

    private void WriteOwnerFile()
    {
        var self = ProcessTree.Read(Environment.ProcessId);
        var daemon = ProcessTree.Read(ProcessId);
        File.WriteAllText(Path.Combine(InstanceDirectory, OwnerFileName), string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessId} {self?.StartTime ?? 0}\n{ProcessId} {daemon?.StartTime ?? 0}\n"));
    }

    internal static void WriteOwnerFileForDirectory(string directory)
    {
        var self = ProcessTree.Read(Environment.ProcessId);
        File.WriteAllText(Path.Combine(directory, OwnerFileName), string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessId} {self?.StartTime ?? 0}\n"));
    }

    private static void SweepOrphans()
    {
        IEnumerable<string> dirs;
        try
        {
            dirs = Directory.EnumerateDirectories(Path.GetTempPath(), InstancePrefix + "*").ToList();
        }
        catch (IOException)
        {
            return;
        }

        foreach (var dir in dirs)
        {
            try
            {
                var ownerFile = Path.Combine(dir, OwnerFileName);
                if (!File.Exists(ownerFile))
                {
                    // Being set up right now, kept for debugging, or left empty by an interrupted clean-up.
                    if (!Directory.EnumerateFileSystemEntries(dir).Any()
                        && Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow.AddMinutes(-10))
                    {
                        Directory.Delete(dir);
                    }

                    continue;
                }

                var lines = File.ReadAllLines(ownerFile);
                var owner = ParsePidLine(lines.ElementAtOrDefault(0));
                if (owner is null || ProcessTree.IsSameProcess(owner.Value.Pid, owner.Value.Start))
                {
                    continue;
                }

                if (ParsePidLine(lines.ElementAtOrDefault(1)) is { } daemon && ProcessTree.IsSameProcess(daemon.Pid, daemon.Start))
                {
                    ProcessTree.KillTree(daemon.Pid, TimeSpan.FromSeconds(1));
                }

                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static (int Pid, ulong Start)? ParsePidLine(string? line)
    {
        var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is { Length: 2 }
               && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
               && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? (pid, start)
            : null;
    }

    private sealed class ServerExitedException(string message) : Exception(message);
}
