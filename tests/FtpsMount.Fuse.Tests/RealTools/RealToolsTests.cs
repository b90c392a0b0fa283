using System.Diagnostics;
using FtpsMount.Fuse.Tests.Conformance;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Fuse.Tests.RealTools;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealToolsCollection
{
    public const string Name = "real tools on a FUSE mount";
}

/// <summary>vsftpd (explicit FTPS, TLS 1.3) mounted by the FUSE host with Core's default cache TTLs: what a user gets.</summary>
public sealed class VsftpdToolsMountFixture() : MountedServerFixture(ReferenceServerKind.Vsftpd, null);

/// <summary>
/// Real programs on a real mount of vsftpd (one server and one mount for the class, each test in its own directory):
/// cp -r, tar, rsync, git, fio and sqlite3 do what they do on a local disk, and the result is checked on the server's
/// own disk and by reading back through the mount. Every command has a deadline and a failure shows its stderr and
/// what the mount host logged meanwhile.
/// </summary>
[Collection(RealToolsCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class RealToolsTests(VsftpdToolsMountFixture mount, ITestOutputHelper output)
    : IClassFixture<VsftpdToolsMountFixture>, IDisposable
{
    /// <summary>Bound of in-process file work on the mount (hashing a tree, ...).</summary>
    private static readonly TimeSpan MountIoDeadline = TimeSpan.FromMinutes(2);

    private readonly List<string> _localDirectories = [];
    private int _hostOutputStart;

    public void Dispose()
    {
        foreach (var dir in _localDirectories)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Runs one test body with a deadline; on failure, prints what the host logged during the test.</summary>
    private async Task RunAsync(TimeSpan limit, Func<Task> body)
    {
        if (mount.Host.HasExited)
        {
            throw new InvalidOperationException($"the FUSE host is no longer running:\n{MountTarget.Tail(mount.Host.Output, 200)}");
        }

        _hostOutputStart = mount.Host.Output.Length;
        output.WriteLine($"mount: {mount.MountPoint} (host pid {mount.Host.ProcessId}) of {mount.Server.Kind} {mount.Server.ServerVersion}, port {mount.Server.Port}");
        var stopwatch = Stopwatch.StartNew();
        try
        {
            await body().WaitAsync(limit);
            output.WriteLine($"passed in {stopwatch.Elapsed.TotalSeconds:F1} s");
        }
        catch (Exception e)
        {
            output.WriteLine($"FAILED after {stopwatch.Elapsed.TotalSeconds:F1} s: {e.GetType().Name}: {e.Message}");
            output.WriteLine(HostDiagnostics());
            if (e is TimeoutException)
            {
                throw new TimeoutException($"the test did not finish within {limit.TotalSeconds} s", e);
            }

            throw;
        }
    }

    /// <summary>What the host logged since the test started: warnings and errors, then the last lines.</summary>
    private string HostDiagnostics()
    {
        var all = mount.Host.Output;
        var during = all.Length > _hostOutputStart ? all[_hostOutputStart..] : "";
        var problems = during.Split('\n')
            .Where(l => l.Contains(" Warning", StringComparison.Ordinal) || l.Contains(" Error", StringComparison.Ordinal)
                        || l.Contains("Exception", StringComparison.Ordinal))
            .TakeLast(80);
        return $"---- FUSE host (pid {mount.Host.ProcessId}, {(mount.Host.HasExited ? "EXITED" : "running")}): warnings and errors during the test ----\n" +
               string.Join('\n', problems) +
               $"\n---- FUSE host output during the test (last 200 lines) ----\n{MountTarget.Tail(during, 200)}" +
               $"\n---- server logs (last 60 lines) ----\n{MountTarget.Tail(mount.Server.ReadLogs(), 60)}";
    }

    /// <summary>A new local temp directory, removed after the test.</summary>
    private string LocalDirectory(string purpose)
    {
        var dir = Directory.CreateTempSubdirectory($"ftpsmount-tools-{purpose}-").FullName;
        _localDirectories.Add(dir);
        return dir;
    }

    /// <summary>A fresh directory for this test on the mount: its path on the mount and in the server's root.</summary>
    private async Task<(string OnMount, string OnServer)> MountDirectoryAsync(string purpose)
    {
        var name = $"{purpose}-{Guid.NewGuid().ToString("N")[..8]}";
        var onMount = Path.Combine(mount.MountPoint, name);
        await OnMountAsync(() => Directory.CreateDirectory(onMount));
        return (onMount, mount.Server.GetLocalPath("/" + name));
    }

    /// <summary>In-process file work on the mount, on its own thread with a deadline (a request the daemon never answers
    /// blocks its caller in the kernel).</summary>
    private Task OnMountAsync(Action body) => mount.Host.OnMountAsync(MountIoDeadline, body);

    private async Task<T> OnMountAsync<T>(Func<T> body)
    {
        T result = default!;
        await mount.Host.OnMountAsync(MountIoDeadline, () => result = body());
        return result;
    }

    private Task<ToolResult> Tool(string tool, TimeSpan timeout, params string[] arguments) =>
        ExternalTool.CheckedAsync(output, tool, arguments, timeout, diagnostics: HostDiagnostics);

    private Task<ToolResult> ToolIn(string workingDirectory, string tool, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        ExternalTool.CheckedAsync(output, tool, arguments, timeout, workingDirectory, environment, diagnostics: HostDiagnostics);

    /// <summary>Copies a local tree into the server's root as the server's user would have it (behind the mount).</summary>
    private void SeedOnServer(string localRoot, string ftpDirectory)
    {
        mount.Server.SeedDirectory(ftpDirectory);
        foreach (var dir in Directory.EnumerateDirectories(localRoot, "*", SearchOption.AllDirectories))
        {
            mount.Server.SeedDirectory(ftpDirectory + "/" + Path.GetRelativePath(localRoot, dir));
        }

        foreach (var file in Directory.EnumerateFiles(localRoot, "*", SearchOption.AllDirectories))
        {
            var ftpPath = ftpDirectory + "/" + Path.GetRelativePath(localRoot, file);
            var local = mount.Server.SeedFile(ftpPath, File.ReadAllBytes(file));
            File.SetLastWriteTimeUtc(local, File.GetLastWriteTimeUtc(file));
        }
    }
}
