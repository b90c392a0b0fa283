using FtpsMount.Testing.Conformance;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Conformance;

// The model-based test against Core directly, once per reference server (400 operations by default;
// FTPSMOUNT_MODEL_OPS / FTPSMOUNT_MODEL_SEED for longer runs and replays, see ModelBasedTests).

[Collection(CoreConformanceCollection.Name)]
public sealed class VsftpdCoreModelTests(VsftpdFixture server, ITestOutputHelper output)
    : ModelBasedTests(output), IClassFixture<VsftpdFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        CoreTargets.CreateAsync(server.Server, CoreTargets.ModelOptions, cancellationToken);
}

[Collection(CoreConformanceCollection.Name)]
public sealed class ProftpdCoreModelTests(ProftpdFixture server, ITestOutputHelper output)
    : ModelBasedTests(output), IClassFixture<ProftpdFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        CoreTargets.CreateAsync(server.Server, CoreTargets.ModelOptions, cancellationToken);
}

[Collection(CoreConformanceCollection.Name)]
public sealed class PureFtpdCoreModelTests(PureFtpdFixture server, ITestOutputHelper output)
    : ModelBasedTests(output), IClassFixture<PureFtpdFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        CoreTargets.CreateAsync(server.Server, CoreTargets.ModelOptions, cancellationToken);
}
