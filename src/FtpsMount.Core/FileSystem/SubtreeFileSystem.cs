using FtpsMount.Protocol;

namespace FtpsMount.Core.FileSystem;

/// <summary>
/// Presents one directory of the server as the root: a mount of ftpes://host/some/dir sees "/" as /some/dir.
/// Paths are mapped lexically after normalisation, so ".." can never climb above the subtree.
/// </summary>
public sealed class SubtreeFileSystem(IRemoteFileSystem inner, string root) : IRemoteFileSystem
{
    private readonly string _root = FtpPath.Normalize(root);

    public string Root => _root;

    private string Map(string path)
    {
        var normalized = RemoteFileSystem.NormalizePath(path);
        return _root == "/" ? normalized : normalized == "/" ? _root : _root + normalized;
    }

    public FsStatistics Statistics => inner.Statistics;

    public async Task<FsAttributes> GetAttributesAsync(string path, CancellationToken cancellationToken)
    {
        var attributes = await inner.GetAttributesAsync(Map(path), cancellationToken).ConfigureAwait(false);
        return path == "/" ? attributes with { Name = "/" } : attributes;
    }

    public Task<IReadOnlyList<FsAttributes>> ReadDirectoryAsync(string path, CancellationToken cancellationToken) => inner.ReadDirectoryAsync(Map(path), cancellationToken);
    public Task<FsFileHandle> OpenAsync(string path, FsOpenMode mode, bool truncate, CancellationToken cancellationToken) => inner.OpenAsync(Map(path), mode, truncate, cancellationToken);
    public Task<FsFileHandle> CreateAsync(string path, int mode, bool exclusive, CancellationToken cancellationToken) => inner.CreateAsync(Map(path), mode, exclusive, cancellationToken);
    public Task<int> ReadAsync(FsFileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken) => inner.ReadAsync(handle, offset, buffer, cancellationToken);
    public Task WriteAsync(FsFileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.WriteAsync(handle, offset, data, cancellationToken);
    public Task TruncateAsync(FsFileHandle handle, long length, CancellationToken cancellationToken) => inner.TruncateAsync(handle, length, cancellationToken);
    public Task TruncateAsync(string path, long length, CancellationToken cancellationToken) => inner.TruncateAsync(Map(path), length, cancellationToken);
    public Task FlushAsync(FsFileHandle handle, CancellationToken cancellationToken) => inner.FlushAsync(handle, cancellationToken);
    public Task CloseFlushAsync(FsFileHandle handle, CancellationToken cancellationToken) => inner.CloseFlushAsync(handle, cancellationToken);
    public Task ReleaseAsync(FsFileHandle handle, CancellationToken cancellationToken) => inner.ReleaseAsync(handle, cancellationToken);
    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => inner.DeleteFileAsync(Map(path), cancellationToken);
    public Task MakeDirectoryAsync(string path, int mode, CancellationToken cancellationToken) => inner.MakeDirectoryAsync(Map(path), mode, cancellationToken);
    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken) => inner.RemoveDirectoryAsync(Map(path), cancellationToken);
    public Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) => inner.RenameAsync(Map(from), Map(to), noReplace, cancellationToken);
    public Task SetModeAsync(string path, int mode, CancellationToken cancellationToken) => inner.SetModeAsync(Map(path), mode, cancellationToken);
    public Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) => inner.SetModifiedTimeAsync(Map(path), modified, cancellationToken);
    public Task<FsStatFs> StatFsAsync(CancellationToken cancellationToken) => inner.StatFsAsync(cancellationToken);
    public Task<IReadOnlyList<string>> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken) => inner.DrainAsync(timeout, cancellationToken);
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
