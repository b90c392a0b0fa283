using FtpsMount.Testing.Conformance;
using Xunit.Abstractions;

namespace FtpsMount.Fuse.Tests.Conformance;

/// <summary>
/// The POSIX conformance suite (tests/FtpsMount.Testing/Conformance) re-run through a real FUSE mount: every operation
/// is a syscall on the mount point, so it passes the kernel (its attribute, entry and page caches), libfuse, the
/// binding and Core before it reaches the server, and every errno is checked as the kernel delivers it. One server and
/// one mount per class (<see cref="MountedServerFixture"/>); each test works in its own directory on that mount; "a
/// second client" is a second host with its own mount.
/// </summary>
/// <remarks>The host runs with --cache-ttl 2 (see the fixtures): the suite's "changed behind the back" tests must see
/// the server's changes within the declared bound (<see cref="MountCapabilities"/>: kernel timeout + Core TTL + 3 s).</remarks>
public abstract class MountConformanceTests(MountedServerFixture fixture, ITestOutputHelper output) : ConformanceTests(output)
{
    private int _targets;

    /// <summary>Starting a second host (dotnet start-up, TLS login, mount) takes a few seconds more than Core alone.</summary>
    protected override TimeSpan TestTimeout => TimeSpan.FromSeconds(180);

    protected override async Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        Interlocked.Increment(ref _targets) == 1
            ? fixture.SharedTarget()
            : await fixture.StartSecondClientAsync(cancellationToken);
}

[Collection(MountConformanceCollection.Name)]
public sealed class VsftpdMountConformanceTests(VsftpdShortTtlMountFixture fixture, ITestOutputHelper output)
    : MountConformanceTests(fixture, output), IClassFixture<VsftpdShortTtlMountFixture>;

[Collection(MountConformanceCollection.Name)]
public sealed class ProftpdMountConformanceTests(ProftpdShortTtlMountFixture fixture, ITestOutputHelper output)
    : MountConformanceTests(fixture, output), IClassFixture<ProftpdShortTtlMountFixture>;

[Collection(MountConformanceCollection.Name)]
public sealed class PureFtpdMountConformanceTests(PureFtpdShortTtlMountFixture fixture, ITestOutputHelper output)
    : MountConformanceTests(fixture, output), IClassFixture<PureFtpdShortTtlMountFixture>;
