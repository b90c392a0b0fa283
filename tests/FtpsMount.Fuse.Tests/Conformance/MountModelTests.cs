using FtpsMount.Testing.Conformance;
using Xunit.Abstractions;

namespace FtpsMount.Fuse.Tests.Conformance;

/// <summary>
/// The model-based test (random operations with a fixed seed, compared after every step with a local directory) through
/// a real FUSE mount, once per reference server. The host keeps Core's default TTLs, so the kernel's caches and Core's
/// hold their entries for the whole run: every answer after the mount's own change must come from how that change was
/// applied to the caches. At the end a second host with a fresh mount (cold caches) must show the same tree.
/// FTPSMOUNT_MODEL_OPS / FTPSMOUNT_MODEL_SEED replay or lengthen a run (see ModelBasedTests).
/// </summary>
public abstract class MountModelTests(MountedServerFixture fixture, ITestOutputHelper output) : ModelBasedTests(output)
{
    private int _targets;

    protected override async Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        Interlocked.Increment(ref _targets) == 1
            ? fixture.SharedTarget()
            : await fixture.StartSecondClientAsync(cancellationToken);
}

[Collection(MountConformanceCollection.Name)]
public sealed class VsftpdMountModelTests(VsftpdDefaultTtlMountFixture fixture, ITestOutputHelper output)
    : MountModelTests(fixture, output), IClassFixture<VsftpdDefaultTtlMountFixture>;

[Collection(MountConformanceCollection.Name)]
public sealed class ProftpdMountModelTests(ProftpdDefaultTtlMountFixture fixture, ITestOutputHelper output)
    : MountModelTests(fixture, output), IClassFixture<ProftpdDefaultTtlMountFixture>;

[Collection(MountConformanceCollection.Name)]
public sealed class PureFtpdMountModelTests(PureFtpdDefaultTtlMountFixture fixture, ITestOutputHelper output)
    : MountModelTests(fixture, output), IClassFixture<PureFtpdDefaultTtlMountFixture>;
