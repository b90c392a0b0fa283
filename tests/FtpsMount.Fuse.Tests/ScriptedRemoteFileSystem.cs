using FtpsMount.Core.FileSystem;

namespace FtpsMount.Fuse.Tests;

/// <summary>
/// A fault-injection double of Core for the adapter's own logic (timeouts, exception mapping, refusals). Each method runs
/// the delegate a test set and counts the call; an unset method fails loudly, so a test never passes on a silent default.
/// Operations on open handles are covered through real mounts (Core's handles cannot be made outside Core).
/// </summary>
internal sealed class ScriptedRemoteFileSystem : IRemoteFileSystem
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public Func<string, CancellationToken, Task<FsAttributes>>? GetAttributes { get; set; }
    public Func<string, CancellationToken, Task<IReadOnlyList<FsAttributes>>>? ReadDirectory { get; set; }
    public Func<string, string, bool, CancellationToken, Task>? Rename { get; set; }
    public Func<string, CancellationToken, Task>? DeleteFile { get; set; }
    public Func<CancellationToken, Task<FsStatFs>>? StatFs { get; set; }
    public Func<string, DateTimeOffset, CancellationToken, Task>? SetModifiedTime { get; set; }

    private T Scripted<T>(T? handler, string name) where T : class
    {
        Interlocked.Increment(ref _calls);
        return handler ?? throw new InvalidOperationException($"{name} was called but not scripted");
    }

    public Task<FsAttributes> GetAttributesAsync(string path, CancellationToken cancellationToken) =>
        Scripted(GetAttributes, nameof(GetAttributes))(path, cancellationToken);

    public Task<IReadOnlyList<FsAttributes>> ReadDirectoryAsync(string path, CancellationToken cancellationToken) =>
        Scripted(ReadDirectory, nameof(ReadDirectory))(path, cancellationToken);

    public Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) =>
        Scripted(Rename, nameof(Rename))(from, to, noReplace, cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) =>
        Scripted(DeleteFile, nameof(DeleteFile))(path, cancellationToken);

    public Task<FsStatFs> StatFsAsync(CancellationToken cancellationToken) =>
        Scripted(StatFs, nameof(StatFs))(cancellationToken);

    public Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        Scripted(SetModifiedTime, nameof(SetModifiedTime))(path, modified, cancellationToken);

    private Task<T> Unscripted<T>(string name)
    {
        Interlocked.Increment(ref _calls);
        throw new InvalidOperationException($"{name} was called but is not scriptable");
    }

    private Task Unscripted(string name) => Unscripted<bool>(name);

    public Task<FsFileHandle> OpenAsync(string path, FsOpenMode mode, bool truncate, CancellationToken cancellationToken) =>
        Unscripted<FsFileHandle>(nameof(OpenAsync));

    public Task<FsFileHandle> CreateAsync(string path, int mode, bool exclusive, CancellationToken cancellationToken) =>
        Unscripted<FsFileHandle>(nameof(CreateAsync));

    public Task<int> ReadAsync(FsFileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        Unscripted<int>(nameof(ReadAsync));

    public Task WriteAsync(FsFileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => Unscripted(nameof(WriteAsync));
    public Task TruncateAsync(FsFileHandle handle, long length, CancellationToken cancellationToken) => Unscripted(nameof(TruncateAsync));
    public Task TruncateAsync(string path, long length, CancellationToken cancellationToken) => Unscripted(nameof(TruncateAsync));
    public Task FlushAsync(FsFileHandle handle, CancellationToken cancellationToken) => Unscripted(nameof(FlushAsync));
    public Task ReleaseAsync(FsFileHandle handle, CancellationToken cancellationToken) => Unscripted(nameof(ReleaseAsync));
    public Task MakeDirectoryAsync(string path, int mode, CancellationToken cancellationToken) => Unscripted(nameof(MakeDirectoryAsync));
    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken) => Unscripted(nameof(RemoveDirectoryAsync));
    public Task SetModeAsync(string path, int mode, CancellationToken cancellationToken) => Unscripted(nameof(SetModeAsync));

    public Task<IReadOnlyList<string>> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    public FsStatistics Statistics => new(0, 0, 0, 0, 0, 0, 0, 0);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
