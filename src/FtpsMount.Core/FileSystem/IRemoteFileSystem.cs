namespace FtpsMount.Core.FileSystem;

/// <summary>
/// The OS-neutral filesystem a binding (FUSE, Dokan) calls. Paths are absolute, '/'-separated, already
/// normalised by the binding ("/dir/name"). Every failure is an <see cref="FsException"/> carrying the
/// <see cref="FsError"/> the binding maps and a loggable cause; nothing else escapes. All methods are safe
/// to call concurrently (the FUSE loop is multi-threaded); one handle is used by one caller at a time
/// for writes, but may see concurrent reads.
/// </summary>
public interface IRemoteFileSystem : IAsyncDisposable
{
    Task<FsAttributes> GetAttributesAsync(string path, CancellationToken cancellationToken);

    /// <summary>Entries of a directory, without "." and "..".</summary>
    Task<IReadOnlyList<FsAttributes>> ReadDirectoryAsync(string path, CancellationToken cancellationToken);

    Task<FsFileHandle> OpenAsync(string path, FsOpenMode mode, bool truncate, CancellationToken cancellationToken);

    /// <summary>Creates (or with <paramref name="exclusive"/> false, opens and truncates) a file for writing.</summary>
    Task<FsFileHandle> CreateAsync(string path, int mode, bool exclusive, CancellationToken cancellationToken);

    /// <summary>Reads up to buffer.Length bytes at offset; fewer only at end of file.</summary>
    Task<int> ReadAsync(FsFileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    Task WriteAsync(FsFileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    Task TruncateAsync(FsFileHandle handle, long length, CancellationToken cancellationToken);

    /// <summary>Truncate by path (no open handle), e.g. truncate(2).</summary>
    Task TruncateAsync(string path, long length, CancellationToken cancellationToken);

    /// <summary>Uploads what was written through this handle and returns once the server has it, verified.
    /// On failure the written data stays staged for a retry and the error is returned.</summary>
    Task FlushAsync(FsFileHandle handle, CancellationToken cancellationToken);

    /// <summary>The flush that close(2) makes. Like <see cref="FlushAsync"/>, except that a file system with write-back
    /// may leave the upload to its write-back schedule instead of waiting for the server (fsync must use
    /// <see cref="FlushAsync"/>).</summary>
    Task CloseFlushAsync(FsFileHandle handle, CancellationToken cancellationToken) => FlushAsync(handle, cancellationToken);

    /// <summary>Last close of a handle: flushes (unless write-back), then frees it.</summary>
    Task ReleaseAsync(FsFileHandle handle, CancellationToken cancellationToken);

    Task DeleteFileAsync(string path, CancellationToken cancellationToken);
    Task MakeDirectoryAsync(string path, int mode, CancellationToken cancellationToken);

    /// <summary>Fails with <see cref="FsError.DirectoryNotEmpty"/> for a non-empty directory.</summary>
    Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken);

    /// <summary>POSIX rename: an existing target file is replaced, unless <paramref name="noReplace"/>
    /// (then <see cref="FsError.AlreadyExists"/>).</summary>
    Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken);

    Task SetModeAsync(string path, int mode, CancellationToken cancellationToken);
    Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken);
    Task<FsStatFs> StatFsAsync(CancellationToken cancellationToken);

    /// <summary>Waits until every pending (write-back) upload finished; returns what failed.</summary>
    Task<IReadOnlyList<string>> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken);

    FsStatistics Statistics { get; }
}
