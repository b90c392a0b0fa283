using System.Collections.Concurrent;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Core.Tests.Conformance;

/// <summary>The Core conformance and model classes run one at a time and not alongside other tests: each
/// starts a real server that forks per connection, on 2-core machines.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CoreConformanceCollection
{
    public const string Name = "core conformance over reference servers";
}

/// <summary>
/// One reference server (explicit FTPS) for a whole test class. A server that cannot start — not installed,
/// not root — fails every test of the class with the reason (tests/scripts/install-test-deps.sh); it is never
/// skipped.
/// </summary>
public abstract class ReferenceServerFixture(ReferenceServerKind kind) : IAsyncLifetime
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(90);
    private ReferenceServer? _server;

    public ReferenceServerKind Kind { get; } = kind;

    public ReferenceServer Server => _server ?? throw new InvalidOperationException($"the {Kind} reference server did not start");

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(s_startTimeout);
        _server = await ReferenceServer.StartAsync(Kind, FtpsMode.Explicit, cts.Token).WaitAsync(s_startTimeout);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public sealed class VsftpdFixture() : ReferenceServerFixture(ReferenceServerKind.Vsftpd);

public sealed class ProftpdFixture() : ReferenceServerFixture(ReferenceServerKind.Proftpd);

public sealed class PureFtpdFixture() : ReferenceServerFixture(ReferenceServerKind.PureFtpd);

/// <summary>Keeps the last lines Core and its sessions logged (Debug and up), for failure messages.</summary>
public sealed class TailLogger(int capacity = 400) : IFtpLogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public bool IsEnabled(FtpLogLevel level) => level >= FtpLogLevel.Debug;

    public void Log(FtpLogLevel level, string message)
    {
        _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {level}: {message}");
        while (_lines.Count > capacity && _lines.TryDequeue(out _))
        {
        }
    }

    public override string ToString() => string.Join(Environment.NewLine, _lines);
}
