using System.Globalization;
using System.Runtime.InteropServices;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Fuse;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Fuse.TestHost;

/// <summary>
/// ftpsmount-fuse-testhost --host H --port P --mode explicit|implicit --ca-file PEM --user U --mountpoint DIR
///     [--tls 1.2|1.3] [--read-only] [--verbose] [--fuse-debug] [--operation-timeout SECONDS] [--cache-ttl SECONDS]
/// Password: environment variable <see cref="PasswordVariable"/>. Prints "MOUNTED DIR" once the mount is live and
/// "UNMOUNTED" after a clean unmount; SIGTERM/SIGINT unmount; SIGHUP drops cached metadata and prints "REFRESHED n". Exit codes: 0 clean, 2 usage, 3 mount failed, 4 crash.
/// </summary>
internal static class Program
{
    public const string PasswordVariable = "FTPSMOUNT_TESTHOST_PASSWORD";

    private static int Main(string[] args)
    {
        Dictionary<string, string> values;
        HashSet<string> flags;
        try
        {
            (values, flags) = ParseArguments(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"testhost: {ex.Message}");
            return 2;
        }

        var log = new ConsoleLogger(flags.Contains("verbose") ? FtpLogLevel.Debug : FtpLogLevel.Information);
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Stop(stop, log, "SIGTERM"); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Stop(stop, log, "SIGINT"); });

        try
        {
            var tls = values.GetValueOrDefault("tls", "1.3") == "1.2" ? TlsVersion.Tls12 : TlsVersion.Tls13;
            var ftps = new FtpsOptions
            {
                Host = Required(values, "host"),
                Port = int.Parse(Required(values, "port"), CultureInfo.InvariantCulture),
                Mode = Enum.Parse<FtpsMode>(Required(values, "mode"), ignoreCase: true),
                Tls = new TlsOptions
                {
                    MinVersion = tls,
                    MaxVersion = tls,
                    Trust = new TrustOptions { UseSystemStore = false, CaFile = Required(values, "ca-file") },
                },
            };
            var password = Environment.GetEnvironmentVariable(PasswordVariable)
                ?? throw new ArgumentException($"the password must be given in the environment variable {PasswordVariable}");
            var core = new CoreOptions();
            if (values.TryGetValue("cache-ttl", out var ttl))
            {
                // Short TTLs for tests of changes made behind the mount's back: attributes and listings this long,
                // "not found" half as long. The kernel's timeouts follow (WithCacheTimeouts).
                var lifetime = TimeSpan.FromSeconds(double.Parse(ttl, CultureInfo.InvariantCulture));
                core = core with { Cache = core.Cache with { AttrTtl = lifetime, DirCacheTtl = lifetime, NegativeTtl = lifetime / 2 } };
            }

            var mountOptions = new FuseMountOptions
            {
                ReadOnly = flags.Contains("read-only"),
                Debug = flags.Contains("fuse-debug"),
                FsName = $"ftps://{Required(values, "user")}@{ftps.Host}:{ftps.Port}/",
            }.WithCacheTimeouts(core.Cache);
            if (values.TryGetValue("operation-timeout", out var seconds))
            {
                mountOptions = mountOptions with { OperationTimeout = TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture)) };
            }

            var mountPoint = Required(values, "mountpoint");
            var fs = new RemoteFileSystem(ftps, new FtpCredentials(Required(values, "user"), password), core, log);
            var refreshes = 0;
            using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                // As `ftpsmount mount`: forget cached metadata (tests that change the server behind the mount's back).
                c.Cancel = true;
                fs.RefreshMetadata();
                Console.Out.WriteLine("REFRESHED " + Interlocked.Increment(ref refreshes).ToString(CultureInfo.InvariantCulture));
                Console.Out.Flush();
            });
            try
            {
                FuseMount.Run(fs, mountPoint, mountOptions, stop.Token, log, () =>
                {
                    Console.Out.WriteLine("MOUNTED " + mountPoint);
                    Console.Out.Flush();
                });
            }
            finally
            {
                // Waits for pending uploads, closes the sessions.
                fs.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            Console.Out.WriteLine("UNMOUNTED");
            Console.Out.Flush();
            return 0;
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"testhost: {ex.Message}");
            return 2;
        }
        catch (FuseMountException ex)
        {
            Console.Error.WriteLine($"testhost: mount failed ({ex.Failure}): {ex.Message}");
            return 3;
        }
#pragma warning disable CA1031 // report and exit non-zero
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"testhost: crashed: {ex}");
            return 4;
        }
    }

    private static void Stop(CancellationTokenSource stop, IFtpLogger log, string signal)
    {
        log.Log(FtpLogLevel.Information, $"testhost: {signal}, unmounting");
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static string Required(Dictionary<string, string> values, string name) =>
        values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");

    private static (Dictionary<string, string> Values, HashSet<string> Flags) ParseArguments(string[] args)
    {
        string[] flagNames = ["read-only", "verbose", "fuse-debug"];
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument {args[i]}");
            }

            var name = args[i][2..];
            if (flagNames.Contains(name))
            {
                flags.Add(name);
            }
            else if (i + 1 < args.Length)
            {
                values[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"--{name} needs a value");
            }
        }

        return (values, flags);
    }
}

/// <summary>Log lines to stderr with a timestamp, thread-safe.</summary>
internal sealed class ConsoleLogger(FtpLogLevel minimum) : IFtpLogger
{
    private readonly Lock _gate = new();

    public bool IsEnabled(FtpLogLevel level) => level >= minimum;

    public void Log(FtpLogLevel level, string message)
    {
        if (!IsEnabled(level))
        {
            return;
        }

        lock (_gate)
        {
            Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {level,-11} {message}");
        }
    }
}
