using System.Globalization;
using FtpsMount.Protocol;
using FtpsMount.Testing.Conformance;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Fuse.Tests.Conformance;

/// <summary>The conformance and model classes over real mounts run one at a time and alongside nothing else: each starts
/// a reference server that forks per connection plus one or more FUSE hosts, on 2-core machines.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MountConformanceCollection
{
    public const string Name = "conformance through real FUSE mounts";
}

/// <summary>
/// One reference server (explicit FTPS) and one FUSE host mounting it (a child process, TLS 1.3), started once for a
/// whole test class. Every test of the class works through that mount (<see cref="SharedTarget"/>); where a test asks
/// for "a second client" it gets a second host with a fresh mount (<see cref="StartSecondClientAsync"/>), cold caches
/// in the kernel and in Core. A server or FUSE that is missing fails every test of the class with the reason (the
/// fixture throws); nothing is skipped.
/// </summary>
/// <remarks>Clean-up, whatever happened: SIGTERM with a deadline (the host must exit 0 and unmount: a host that does not
/// is reported as a failure of the class clean-up), then in any case kill by pid, <c>fusermount3 -uz</c> and removal of
/// the mount point (<see cref="FuseHostProcess.DisposeAsync"/>), then the server.</remarks>
public abstract class MountedServerFixture : IAsyncLifetime
{
    private static readonly TimeSpan ServerStartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan MountTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    private ReferenceServer? _server;
    private FuseHostProcess? _host;

    /// <param name="kind">Which reference server.</param>
    /// <param name="cacheTtl">The host's --cache-ttl (Core's attribute and listing TTLs, "not found" half of it; the
    /// kernel's timeouts follow), or null for Core's defaults (30 s, 30 s, 5 s).</param>
    protected MountedServerFixture(ReferenceServerKind kind, TimeSpan? cacheTtl)
    {
        Kind = kind;
        CacheTtl = cacheTtl;
        Capabilities = MountCapabilities.For(kind, cacheTtl);
    }

    public ReferenceServerKind Kind { get; }

    public TimeSpan? CacheTtl { get; }

    public FsTargetCapabilities Capabilities { get; }

    public ReferenceServer Server => _server ?? throw new InvalidOperationException($"the {Kind} reference server did not start");

    internal FuseHostProcess Host => _host ?? throw new InvalidOperationException($"the FUSE host over {Kind} did not mount");

    public string MountPoint => Host.MountPoint;

    /// <summary>The host's arguments besides the server and mount point (FuseHostProcess adds those and --verbose).</summary>
    internal string[] HostArguments => CacheTtl is { } ttl
        ? ["--cache-ttl", ttl.TotalSeconds.ToString(CultureInfo.InvariantCulture)]
        : [];

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(ServerStartTimeout + MountTimeout);
        try
        {
            _server = await ReferenceServer.StartAsync(Kind, FtpsMode.Explicit, cts.Token).WaitAsync(ServerStartTimeout);
            _host = await StartHostAsync(Server, HostArguments, cts.Token);
        }
        catch (Exception startFailure)
        {
            // Clean up what did start; the start failure is what the tests must report, not a clean-up problem.
            try
            {
                await DisposeAsync();
            }
            catch (Exception cleanupFailure) when (cleanupFailure is InvalidOperationException or TimeoutException or IOException)
            {
                throw new AggregateException($"the {Kind} mount fixture did not start, and cleaning up after it failed too", startFailure, cleanupFailure);
            }

            throw;
        }
    }

    /// <summary>The shared mount as a conformance target for one test. Disposing it leaves the mount alone, but fails
    /// if the host died meanwhile.</summary>
    internal MountTarget SharedTarget()
    {
        if (Host.HasExited)
        {
            throw new InvalidOperationException($"the shared FUSE host over {Kind} is no longer running:\n{MountTarget.Tail(Host.Output, 200)}");
        }

        return new MountTarget(Host, Server, Capabilities, ownsHost: false, "shared mount of the class");
    }

    /// <summary>Another client: a new host process and mount over the same server, stopped when the target is disposed.</summary>
    internal async Task<MountTarget> StartSecondClientAsync(CancellationToken cancellationToken)
    {
        var host = await StartHostAsync(Server, HostArguments, cancellationToken);
        return new MountTarget(host, Server, Capabilities, ownsHost: true, "second client, fresh mount");
    }

    /// <summary>Starts a host on a new temp mount point and waits (bounded) until the mount is live.</summary>
    internal static async Task<FuseHostProcess> StartHostAsync(ReferenceServer server, string[] arguments, CancellationToken cancellationToken)
    {
        var mountPoint = Directory.CreateTempSubdirectory("ftpsmount-conf-mnt-").FullName;
        var host = FuseHostProcess.Start(server, mountPoint, arguments);
        try
        {
            await host.WaitUntilMountedAsync(MountTimeout).WaitAsync(cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGTERM and wait (bounded) for a clean exit and unmount; then, in every case, kill by pid, lazy unmount and
    /// remove the mount point. Returns what went wrong, or null when the host stopped cleanly.</summary>
    internal static async Task<string?> StopHostAsync(FuseHostProcess host, TimeSpan deadline)
    {
        string? problem = null;
        try
        {
            int exitCode;
            if (host.HasExited)
            {
                exitCode = await host.WaitForExitAsync(TimeSpan.FromSeconds(5));
                problem = $"the FUSE host had already exited (code {exitCode}) before it was asked to stop";
            }
            else
            {
                exitCode = await host.TerminateAsync(deadline);
                if (exitCode != 0)
                {
                    problem = $"the FUSE host exited with code {exitCode} after SIGTERM (expected 0)";
                }
            }

            if (FuseHostProcess.IsMounted(host.MountPoint))
            {
                problem = (problem is null ? "" : problem + "; ") + $"{host.MountPoint} was still mounted after the host exited";
            }
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            problem = e.Message;
        }
        finally
        {
            await host.DisposeAsync(); // kill by pid if still running, fusermount3 -uz, rmdir
        }

        return problem is null ? null : $"{problem}\n---- FUSE host output (last lines) ----\n{MountTarget.Tail(host.Output, 150)}";
    }

    public async Task DisposeAsync()
    {
        string? problem = null;
        try
        {
            if (_host is { } host)
            {
                _host = null;
                problem = await StopHostAsync(host, StopTimeout);
            }
        }
        finally
        {
            if (_server is { } server)
            {
                _server = null;
                await server.DisposeAsync();
            }
        }

        if (problem is not null)
        {
            throw new InvalidOperationException($"the {Kind} mount did not shut down cleanly: {problem}");
        }
    }
}

// Conformance classes: short TTLs (2 s; "not found" 1 s, as in Core's conformance run), so the "changed behind the
// back" tests see external changes within seconds through both the kernel's and Core's caches.

public sealed class VsftpdShortTtlMountFixture() : MountedServerFixture(ReferenceServerKind.Vsftpd, TimeSpan.FromSeconds(2));

public sealed class ProftpdShortTtlMountFixture() : MountedServerFixture(ReferenceServerKind.Proftpd, TimeSpan.FromSeconds(2));

public sealed class PureFtpdShortTtlMountFixture() : MountedServerFixture(ReferenceServerKind.PureFtpd, TimeSpan.FromSeconds(2));

// Model classes: Core's default TTLs (30 s), so every read-your-writes answer has to come from how the kernel and Core
// apply the mount's own changes, never from an expired cache entry.

public sealed class VsftpdDefaultTtlMountFixture() : MountedServerFixture(ReferenceServerKind.Vsftpd, null);

public sealed class ProftpdDefaultTtlMountFixture() : MountedServerFixture(ReferenceServerKind.Proftpd, null);

public sealed class PureFtpdDefaultTtlMountFixture() : MountedServerFixture(ReferenceServerKind.PureFtpd, null);
