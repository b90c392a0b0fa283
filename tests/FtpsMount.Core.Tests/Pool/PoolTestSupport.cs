using System.Collections.Concurrent;
using FtpsMount.Core.Pool;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Core.Tests.Pool;

/// <summary>Collects log lines (the pool's and its sessions') for assertions and failure messages.</summary>
public sealed class ListLogger : IFtpLogger
{
    private readonly ConcurrentQueue<(FtpLogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(FtpLogLevel Level, string Message)> Lines => [.. _lines];

    public bool IsEnabled(FtpLogLevel level) => level >= FtpLogLevel.Debug;

    public void Log(FtpLogLevel level, string message) => _lines.Enqueue((level, message));

    public bool Contains(FtpLogLevel level, string text) =>
        _lines.Any(l => l.Level == level && l.Message.Contains(text, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => string.Join(Environment.NewLine, _lines.Select(l => $"{l.Level}: {l.Message}"));
}

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="timeout"/> (default 15 s).</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? diagnostics = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met in time: {what}{(diagnostics is null ? "" : Environment.NewLine + diagnostics())}");
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>A scripted server per test plus the options and pool factory the pool tests share.</summary>
public abstract class ScriptedPoolTestBase : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));
    private readonly List<SessionPool> _pools = [];

    protected ScriptedFtpServer Server { get; private set; } = null!;
    protected ListLogger Log { get; } = new();
    protected CancellationToken Ct => _timeout.Token;

    protected static FtpCredentials Credentials => new(ScriptedServerOptions.DefaultUser, ScriptedServerOptions.DefaultPassword);

    public virtual async Task InitializeAsync() => Server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions());

    public virtual async Task DisposeAsync()
    {
        foreach (var pool in _pools)
        {
            await pool.DisposeAsync();
        }

        await Server.DisposeAsync();
        _timeout.Dispose();
    }

    protected FtpsOptions Options() => new()
    {
        Host = Server.Host,
        Port = Server.Port,
        Tls = new TlsOptions { Trust = new TrustOptions { UseSystemStore = false, PinnedFingerprints = [Server.CertificateFingerprint] } },
        Timeouts = new TimeoutOptions
        {
            Connect = TimeSpan.FromSeconds(5),
            Command = TimeSpan.FromSeconds(5),
            DataIdle = TimeSpan.FromSeconds(5),
            Abort = TimeSpan.FromSeconds(3),
            TransferClose = TimeSpan.FromSeconds(5),
        },
    };

    /// <summary>Small retry delays so retry tests stay quick; maintenance off unless asked for.</summary>
    protected static PoolSettings Settings(int connections) => new()
    {
        Connections = connections,
        KeepAliveInterval = Timeout.InfiniteTimeSpan,
        IdleTimeout = Timeout.InfiniteTimeSpan,
        Retry = new RetryOptions { BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(100) },
        ConnectTimeout = TimeSpan.FromSeconds(15),
    };

    /// <summary>A pool that is disposed with the test.</summary>
    protected SessionPool CreatePool(PoolSettings settings, TimeProvider? time = null)
    {
        var pool = new SessionPool(Options(), Credentials, settings, Log, time);
        _pools.Add(pool);
        return pool;
    }

    protected int OpenServerConnections => Server.Connections.Count(c => !c.IsClosed);

    protected string Diagnostics(SessionPool pool) =>
        $"stats: {pool.Stats}{Environment.NewLine}client log:{Environment.NewLine}{Log}{Environment.NewLine}server log:{Environment.NewLine}{string.Join(Environment.NewLine, Server.Log.TakeLast(80))}";
}
