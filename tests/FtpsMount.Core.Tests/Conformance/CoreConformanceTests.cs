using FtpsMount.Testing.Conformance;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Conformance;

// The conformance suite against Core directly (no mount), once per reference server, explicit FTPS, TLS 1.3.
// Each class starts its server once (class fixture); every test gets a fresh RemoteFileSystem and directory.

[Collection(CoreConformanceCollection.Name)]
public sealed class VsftpdCoreConformanceTests(VsftpdFixture server, ITestOutputHelper output)
    : ConformanceTests(output), IClassFixture<VsftpdFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        CoreTargets.CreateAsync(server.Server, CoreTargets.ConformanceOptions, cancellationToken);
}

[Collection(CoreConformanceCollection.Name)]
public sealed class ProftpdCoreConformanceTests(ProftpdFixture server, ITestOutputHelper output)
    : ConformanceTests(output), IClassFixture<ProftpdFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        CoreTargets.CreateAsync(server.Server, CoreTargets.ConformanceOptions, cancellationToken);
}

[Collection(CoreConformanceCollection.Name)]
public sealed class PureFtpdCoreConformanceTests(PureFtpdFixture server, ITestOutputHelper output)
    : ConformanceTests(output), IClassFixture<PureFtpdFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) =>
        CoreTargets.CreateAsync(server.Server, CoreTargets.ConformanceOptions, cancellationToken);
}
