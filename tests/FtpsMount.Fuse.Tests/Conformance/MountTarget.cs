using FtpsMount.Testing.Conformance;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Fuse.Tests.Conformance;

/// <summary>
/// A FUSE mount point as a conformance target: <see cref="PosixDirectoryTarget"/> does every operation with the
/// kernel's own calls and classifies the errno the kernel delivers; the reference server's root directory is the
/// backdoor. Diagnostics are what the host logged while this target was in use (its verbose log: each FUSE operation,
/// FTP command and error), its warnings and errors, and the server's log tail.
/// </summary>
internal sealed class MountTarget : PosixDirectoryTarget
{
    private readonly FuseHostProcess _host;
    private readonly ReferenceServer _server;
    private readonly bool _ownsHost;
    private readonly int _outputStart;

    public MountTarget(FuseHostProcess host, ReferenceServer server, FsTargetCapabilities capabilities, bool ownsHost, string role)
        : base(
            host.MountPoint,
            $"FUSE mount ({role}, host pid {host.ProcessId}) of {server.Kind} {server.ServerVersion} (explicit FTPS, TLS 1.3, port {server.Port}) at {host.MountPoint}",
            capabilities,
            new ReferenceServerBackdoor(server))
    {
        _host = host;
        _server = server;
        _ownsHost = ownsHost;
        _outputStart = host.Output.Length;
    }

    public override string GetDiagnostics()
    {
        var output = _host.Output;
        var during = output.Length > _outputStart ? output[_outputStart..] : "";
        var problems = during.Split('\n')
            .Where(l => l.Contains(" Warning", StringComparison.Ordinal) || l.Contains(" Error", StringComparison.Ordinal)
                        || l.Contains(" Critical", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal))
            .TakeLast(80);
        return string.Join(Environment.NewLine,
            $"---- FUSE host pid {_host.ProcessId}: {(_host.HasExited ? "EXITED" : "running")}, mount {(FuseHostProcess.IsMounted(_host.MountPoint) ? "present" : "GONE")} ----",
            "---- host warnings and errors while this target was in use ----",
            string.Join(Environment.NewLine, problems),
            "---- host output while this target was in use (last 300 lines) ----",
            Tail(during, 300),
            "---- server logs (last 100 lines) ----",
            Tail(_server.ReadLogs(), 100));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsHost)
        {
            if (await MountedServerFixture.StopHostAsync(_host, TimeSpan.FromSeconds(20)) is { } problem)
            {
                throw new InvalidOperationException($"the second client's FUSE host did not shut down cleanly: {problem}");
            }
        }
        else if (_host.HasExited)
        {
            throw new InvalidOperationException($"the shared FUSE host (pid {_host.ProcessId}) died during the test:\n{Tail(_host.Output, 200)}");
        }
    }

    public static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
