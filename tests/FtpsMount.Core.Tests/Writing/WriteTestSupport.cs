using System.Security.Cryptography;
using FtpsMount.Core.Pool;
using FtpsMount.Core.Tests.Pool;
using FtpsMount.Core.Writing;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.Scripted;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Writing;

/// <summary>
/// A scripted server, a pool and a <see cref="WriteManager"/> per test, with a private staging directory so tests can
/// look at (and for) staged files. Small memory limit: anything above 64 KiB is staged on disk.
/// </summary>
public abstract class ScriptedWriteTestBase(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(120));
    private SessionPool? _pool;
    private WriteManager? _writes;

    protected ScriptedFtpServer Server { get; private set; } = null!;
    protected ITestOutputHelper Output { get; } = output;
    protected ListLogger Log { get; } = new();
    protected CancellationToken Ct => _timeout.Token;
    protected string StagingDirectory { get; } = Path.Combine(Path.GetTempPath(), "ftpsmount-write-tests-" + Guid.NewGuid().ToString("N"));
    protected SessionPool Pool => _pool ??= new SessionPool(FtpOptions(), new FtpCredentials(ScriptedServerOptions.DefaultUser, ScriptedServerOptions.DefaultPassword),
        new PoolSettings
        {
            Connections = 4,
            KeepAliveInterval = Timeout.InfiniteTimeSpan,
            IdleTimeout = Timeout.InfiniteTimeSpan,
            Retry = new RetryOptions { BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50) },
        }, Log);

    /// <summary>The manager under test (created on first use from <see cref="CreateWriteOptions"/> and <see cref="Time"/>).</summary>
    protected WriteManager Writes => _writes ??= CreateManager();

    protected virtual TimeProvider? Time => null;

    protected virtual ScriptedServerOptions CreateServerOptions() => new();

    protected virtual WriteOptions CreateWriteOptions() => new() { StagingDirectory = StagingDirectory, MemoryStagingLimit = 64 * 1024 };

    /// <summary>Streaming threshold for the manager (high by default so only streaming tests stream).</summary>
    protected virtual long StreamThreshold => long.MaxValue;

    public virtual async Task InitializeAsync()
    {
        var options = CreateServerOptions();
        options.LogSink = line => Log.Log(FtpLogLevel.Trace, "server: " + line);
        Server = await ScriptedFtpServer.StartAsync(options);
        Server.FileSystem.AddDirectory("/d");
    }

    public virtual async Task DisposeAsync()
    {
        if (_writes is not null)
        {
            await _writes.DisposeAsync();
        }

        if (_pool is not null)
        {
            await _pool.DisposeAsync();
        }

        await Server.DisposeAsync();
        _timeout.Dispose();
        if (Directory.Exists(StagingDirectory))
        {
            Directory.Delete(StagingDirectory, recursive: true);
        }
    }

    private WriteManager CreateManager()
    {
        var manager = new WriteManager(Pool, CreateWriteOptions(), Log, Time) { StreamThreshold = StreamThreshold };
        return manager;
    }

    protected FtpsOptions FtpOptions() => new()
    {
        Host = Server.Host,
        Port = Server.Port,
        Tls = new TlsOptions { Trust = new TrustOptions { UseSystemStore = false, PinnedFingerprints = [Server.CertificateFingerprint] } },
        Timeouts = new TimeoutOptions
        {
            Connect = TimeSpan.FromSeconds(10),
            Command = TimeSpan.FromSeconds(10),
            DataIdle = TimeSpan.FromSeconds(10),
            Abort = TimeSpan.FromSeconds(5),
            TransferClose = TimeSpan.FromSeconds(10),
        },
    };

    protected static byte[] RandomBytes(int count) => RandomNumberGenerator.GetBytes(count);

    /// <summary>The upload/download commands the server received for a path, in order ("STOR", "APPE", "RETR", "REST n").</summary>
    protected IReadOnlyList<string> TransferCommands(string path)
    {
        var result = new List<string>();
        foreach (var command in Server.ReceivedCommands)
        {
            if (command.Verb is "STOR" or "APPE" or "RETR" && command.Argument == path)
            {
                result.Add(command.Verb);
            }
            else if (command.Verb == "REST")
            {
                result.Add(command.Line);
            }
        }

        // A REST belongs to the transfer after it; drop a trailing one (none expected) and RESTs of other paths.
        return result;
    }

    protected long BytesReceivedBy(string verb, string path) =>
        Server.DataConnections.Where(d => d.Command == $"{verb} {path}").Sum(d => d.BytesReceived);

    protected string[] StagedFiles() =>
        Directory.Exists(StagingDirectory) ? Directory.GetFiles(StagingDirectory) : [];

    /// <summary>Writes <paramref name="data"/> in chunks, sequentially from <paramref name="offset"/>.</summary>
    protected async Task WriteChunkedAsync(FileWriter writer, long offset, byte[] data, int chunk = 64 * 1024)
    {
        for (var i = 0; i < data.Length; i += chunk)
        {
            await writer.WriteAsync(offset + i, data.AsMemory(i, Math.Min(chunk, data.Length - i)), Ct);
        }
    }

    protected async Task<byte[]> ReadAllAsync(FileWriter writer)
    {
        var buffer = new byte[writer.Length];
        var done = 0;
        while (done < buffer.Length)
        {
            var n = await writer.ReadAsync(done, buffer.AsMemory(done), Ct);
            Assert.True(n > 0, $"read returned 0 at {done} of {buffer.Length}");
            done += n;
        }

        return buffer;
    }

    /// <summary>Logs for a failing test.</summary>
    protected void Dump()
    {
        Output.WriteLine(Log.ToString());
    }

    protected async Task RunAsync(Func<Task> test)
    {
        try
        {
            await test();
            Assert.Empty(Server.UnexpectedErrors);
        }
        catch
        {
            Dump();
            throw;
        }
    }

    /// <summary>Serves the first <paramref name="verb"/> (STOR or APPE) by storing only the first
    /// <paramref name="keepBytes"/> bytes that arrive and then resetting the data connection (426), like a connection
    /// lost mid-upload. Later commands get the default handling.</summary>
    protected void CutFirstUpload(string verb, int keepBytes)
    {
        var used = 0;
        Server.Override(verb, async ctx =>
        {
            if (Interlocked.Exchange(ref used, 1) != 0)
            {
                return false;
            }

            var path = ctx.ResolvePath(ctx.Argument);
            var before = verb == "APPE" ? ctx.FileSystem.TryReadFile(path) ?? [] : [];
            await ctx.ReplyAsync(150, "Ok to send data.");
            var data = await ctx.OpenDataConnectionAsync();
            Assert.NotNull(data);
            var received = new byte[keepBytes];
            var got = 0;
            while (got < keepBytes)
            {
                var n = await data.Stream!.ReadAsync(received.AsMemory(got));
                if (n == 0)
                {
                    break;
                }

                got += n;
            }

            ctx.FileSystem.AddFile(path, [.. before, .. received.AsSpan(0, got)]);
            data.Reset();
            await ctx.ReplyAsync(426, "Connection closed; transfer aborted.");
            return true;
        });
    }
}
