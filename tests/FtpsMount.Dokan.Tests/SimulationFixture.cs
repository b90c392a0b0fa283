using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Dokan.Tests;

/// <summary>The simulation classes run one at a time: each starts real servers that fork per connection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DokanSimulationCollection
{
    public const string Name = "dokan driver simulation over reference servers";
}

/// <summary>One vsftpd (explicit FTPS, TLS 1.3) and one Core over it for a whole class; each test works in its own
/// directory. A server that cannot start fails the tests with the reason (never skipped).</summary>
public sealed class VsftpdCoreFixture : IAsyncLifetime
{
    private ReferenceServer? _server;
    private RemoteFileSystem? _fs;
    private int _next;

    public ReferenceServer Server => _server ?? throw new InvalidOperationException("vsftpd did not start");
    public IRemoteFileSystem FileSystem => _fs ?? throw new InvalidOperationException("Core did not start");

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, cts.Token);
        // No listing or negative caching: the tests seed files straight onto the server's disk, which to Core is another client
        // (whose changes it would otherwise see only after the TTLs).
        var core = new CoreOptions();
        core = core with { Cache = core.Cache with { DirCacheTtl = TimeSpan.Zero, NegativeTtl = TimeSpan.Zero } };
        _fs = new RemoteFileSystem(_server.CreateOptions(TlsVersion.Tls13), _server.Credentials, core);
    }

    public async Task DisposeAsync()
    {
        if (_fs is not null)
        {
            await _fs.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A fresh directory on the server ("/name-N"), returned as its Windows path ("\name-N").</summary>
    public string NewDirectory(string name)
    {
        var dir = $"{name}-{Interlocked.Increment(ref _next)}";
        Server.SeedDirectory("/" + dir);
        return "\\" + dir;
    }
}

/// <summary>Passes every Core call to the real Core behind it; tests override the one call they fault or slow down.
/// Disposing it leaves the real Core alone (the fixture owns it).</summary>
internal class ForwardingFileSystem(IRemoteFileSystem inner) : IRemoteFileSystem
{
    public virtual Task<IReadOnlyList<FsAttributes>> ReadDirectoryAsync(string path, CancellationToken cancellationToken) => inner.ReadDirectoryAsync(path, cancellationToken);
    public Task<FsAttributes> GetAttributesAsync(string path, CancellationToken cancellationToken) => inner.GetAttributesAsync(path, cancellationToken);
    public Task<FsFileHandle> OpenAsync(string path, FsOpenMode mode, bool truncate, CancellationToken cancellationToken) => inner.OpenAsync(path, mode, truncate, cancellationToken);
    public Task<FsFileHandle> CreateAsync(string path, int mode, bool exclusive, CancellationToken cancellationToken) => inner.CreateAsync(path, mode, exclusive, cancellationToken);
    public Task<int> ReadAsync(FsFileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken) => inner.ReadAsync(handle, offset, buffer, cancellationToken);
    public Task WriteAsync(FsFileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.WriteAsync(handle, offset, data, cancellationToken);
    public Task TruncateAsync(FsFileHandle handle, long length, CancellationToken cancellationToken) => inner.TruncateAsync(handle, length, cancellationToken);
    public Task TruncateAsync(string path, long length, CancellationToken cancellationToken) => inner.TruncateAsync(path, length, cancellationToken);
    public Task FlushAsync(FsFileHandle handle, CancellationToken cancellationToken) => inner.FlushAsync(handle, cancellationToken);
    public Task CloseFlushAsync(FsFileHandle handle, CancellationToken cancellationToken) => inner.CloseFlushAsync(handle, cancellationToken);
    public Task ReleaseAsync(FsFileHandle handle, CancellationToken cancellationToken) => inner.ReleaseAsync(handle, cancellationToken);
    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => inner.DeleteFileAsync(path, cancellationToken);
    public Task MakeDirectoryAsync(string path, int mode, CancellationToken cancellationToken) => inner.MakeDirectoryAsync(path, mode, cancellationToken);
    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken) => inner.RemoveDirectoryAsync(path, cancellationToken);
    public Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) => inner.RenameAsync(from, to, noReplace, cancellationToken);
    public Task SetModeAsync(string path, int mode, CancellationToken cancellationToken) => inner.SetModeAsync(path, mode, cancellationToken);
    public Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) => inner.SetModifiedTimeAsync(path, modified, cancellationToken);
    public Task<FsStatFs> StatFsAsync(CancellationToken cancellationToken) => inner.StatFsAsync(cancellationToken);
    public Task<IReadOnlyList<string>> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken) => inner.DrainAsync(timeout, cancellationToken);
    public FsStatistics Statistics => inner.Statistics;
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Delays listings (a slow server) and passes everything else to the real Core behind it.</summary>
internal sealed class SlowListingFileSystem(IRemoteFileSystem inner, TimeSpan delay) : ForwardingFileSystem(inner)
{
    public override async Task<IReadOnlyList<FsAttributes>> ReadDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        return await base.ReadDirectoryAsync(path, cancellationToken).ConfigureAwait(false);
    }
}
