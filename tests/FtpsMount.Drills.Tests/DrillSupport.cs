using System.Security.Cryptography;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests;

/// <summary>Every drill class runs alone: each starts real servers (which fork per connection), kills them, and
/// pushes many connections on a 2-core machine; in parallel with each other the timing-based faults would blur.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DrillCollection
{
    public const string Name = "reliability drills";
}

internal static class Drill
{
    /// <summary>FTPSMOUNT_SOAK=1 makes every drill run longer / bigger (see README, "Reliability drills").</summary>
    public static bool Soak => Environment.GetEnvironmentVariable("FTPSMOUNT_SOAK") == "1";

    public static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data))[..16];

    /// <summary>Core options for drills: short retry back-off but enough attempts to ride out a server restart
    /// (the retry deadline is the "bounded, configurable time" after which an operation fails instead).</summary>
    public static CoreOptions Options(int connections = 4, TimeSpan? retryDeadline = null, string? staging = null) => new()
    {
        Pool = new PoolOptions { Connections = connections },
        Retry = new RetryOptions
        {
            MaxAttempts = 12,
            BaseDelay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(1),
            Deadline = retryDeadline ?? TimeSpan.FromSeconds(20),
        },
        Write = new WriteOptions { StagingDirectory = staging },
    };

    public static FtpsOptions Ftps(ReferenceServer server, TimeSpan? timeout = null) => WithTimeouts(server.CreateOptions(TlsVersion.Tls13), timeout);

    public static FtpsOptions WithTimeouts(FtpsOptions options, TimeSpan? timeout) => timeout is not { } t
        ? options
        : options with
        {
            Timeouts = new TimeoutOptions { Connect = t, Command = t, DataIdle = t, TransferClose = t, Abort = t },
        };

    public static RemoteFileSystem Core(ReferenceServer server, CoreOptions options, FtpsOptions? ftps = null, IFtpLogger? log = null) =>
        new(ftps ?? Ftps(server), server.Credentials, options, log);

    /// <summary>Reads a whole file through Core in <paramref name="chunk"/>-byte reads.</summary>
    public static async Task<byte[]> ReadAllAsync(IRemoteFileSystem fs, string path, int chunk, CancellationToken ct, Action<long>? progress = null)
    {
        var handle = await fs.OpenAsync(path, FsOpenMode.Read, truncate: false, ct);
        try
        {
            var result = new MemoryStream();
            var buffer = new byte[chunk];
            while (true)
            {
                var n = await fs.ReadAsync(handle, result.Length, buffer, ct);
                if (n == 0)
                {
                    return result.ToArray();
                }

                result.Write(buffer, 0, n);
                progress?.Invoke(result.Length);
            }
        }
        finally
        {
            await fs.ReleaseAsync(handle, CancellationToken.None);
        }
    }

    /// <summary>Writes a whole file through Core (create, sequential writes, flush, release).</summary>
    public static async Task WriteAllAsync(IRemoteFileSystem fs, string path, byte[] data, int chunk, CancellationToken ct, Action<long>? progress = null)
    {
        var handle = await fs.CreateAsync(path, 0x1a4, exclusive: false, ct);
        try
        {
            for (var offset = 0; offset < data.Length; offset += chunk)
            {
                var n = Math.Min(chunk, data.Length - offset);
                await fs.WriteAsync(handle, offset, data.AsMemory(offset, n), ct);
                progress?.Invoke(offset + n);
            }

            await fs.FlushAsync(handle, ct);
        }
        finally
        {
            await fs.ReleaseAsync(handle, ct);
        }
    }
}

/// <summary>Collects client log lines (for failure messages and password greps).</summary>
internal sealed class CollectingLog(ITestOutputHelper? output = null) : IFtpLogger
{
    private readonly List<string> _lines = [];

    public bool IsEnabled(FtpLogLevel level) => true;

    public void Log(FtpLogLevel level, string message)
    {
        lock (_lines)
        {
            _lines.Add($"{level}: {message}");
        }
    }

    public string Text()
    {
        lock (_lines)
        {
            return string.Join('\n', _lines);
        }
    }

    public void Dump(int last = 60)
    {
        lock (_lines)
        {
            foreach (var l in _lines.TakeLast(last))
            {
                output?.WriteLine(l);
            }
        }
    }
}
