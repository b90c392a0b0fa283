using FtpsMount.Testing.Conformance;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Conformance;

/// <summary>A local directory (ext4/tmpfs under /tmp) for the suite's own check.</summary>
public sealed class LocalDirectoryFixture : IDisposable
{
    public DirectoryInfo Root { get; } = Directory.CreateTempSubdirectory("ftpsmount-selfcheck-");

    public Task<IFsTarget> CreateTargetAsync(CancellationToken ct) =>
        Task.FromResult<IFsTarget>(new PosixDirectoryTarget(Root.FullName, $"local directory {Root.FullName} (suite self-check)"));

    public void Dispose() => Root.Delete(recursive: true);
}

/// <summary>
/// The conformance suite's own check: a local POSIX filesystem must pass every test, otherwise the suite
/// (not Core) is wrong. Runs in seconds and needs no server.
/// </summary>
public sealed class LocalDirectorySelfCheckConformanceTests(LocalDirectoryFixture local, ITestOutputHelper output)
    : ConformanceTests(output), IClassFixture<LocalDirectoryFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) => local.CreateTargetAsync(cancellationToken);
}

/// <summary>The model-based test with a second local directory as the target: both must always agree, and a
/// seed must replay the same run (it checks the generator, the comparison and the POSIX target).</summary>
public sealed class LocalDirectorySelfCheckModelTests(LocalDirectoryFixture local, ITestOutputHelper output)
    : ModelBasedTests(output), IClassFixture<LocalDirectoryFixture>
{
    protected override Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken) => local.CreateTargetAsync(cancellationToken);
}
