using FtpsMount.Core.FileSystem;
using FtpsMount.Testing.Conformance;

namespace FtpsMount.Core.Tests.Conformance;

/// <summary>
/// The conformance target over <see cref="IRemoteFileSystem"/> (Core, no mount): calls it the way the FUSE
/// binding will (open/create, read, write, truncate, flush, release) and maps <see cref="FsException"/> to
/// <see cref="FsTargetError"/>. Nothing else is caught: any other exception escaping Core breaks its
/// contract and fails the test as it is.
/// </summary>
public sealed class CoreTarget : IFsTarget
{
    private const int FileMode = 0x1A4; // 0644
    private const int DirectoryMode = 0x1ED; // 0755

    private readonly IRemoteFileSystem _fs;
    private readonly string _root;
    private readonly Func<string> _diagnostics;
    private readonly Func<ValueTask>? _onDispose;

    /// <param name="fs">The Core instance; disposed with the target.</param>
    /// <param name="ftpRoot">FTP directory that is the target's "" ("/" for the server root).</param>
    /// <param name="diagnostics">Log tail etc. for failure messages.</param>
    /// <param name="onDispose">Runs after <paramref name="fs"/> was disposed.</param>
    public CoreTarget(IRemoteFileSystem fs, string ftpRoot, string description, FsTargetCapabilities capabilities,
        IFsTargetBackdoor? backdoor, Func<string>? diagnostics = null, Func<ValueTask>? onDispose = null)
    {
        _fs = fs;
        _root = ftpRoot.TrimEnd('/');
        Description = description;
        Capabilities = capabilities;
        Backdoor = backdoor;
        _diagnostics = diagnostics ?? (() => "");
        _onDispose = onDispose;
    }

    public string Description { get; }
    public FsTargetCapabilities Capabilities { get; }
    public IFsTargetBackdoor? Backdoor { get; }
    public IRemoteFileSystem FileSystem => _fs;

    /// <summary>The FTP path Core is called with ("/" + root + relative path).</summary>
    public string FtpPath(string path)
    {
        TargetPath.Validate(path);
        return path.Length == 0 ? (_root.Length == 0 ? "/" : _root) : _root + "/" + path;
    }

    public string GetDiagnostics() => $"Core statistics: {_fs.Statistics}{Environment.NewLine}{_diagnostics()}";

    public async ValueTask DisposeAsync()
    {
        await _fs.DisposeAsync().ConfigureAwait(false);
        if (_onDispose is not null)
        {
            await _onDispose().ConfigureAwait(false);
        }
    }

    /// <summary>open(2) as the kernel turns it into FUSE calls: O_CREAT|O_EXCL is <c>create</c> (exclusive);
    /// O_CREAT alone is <c>open</c> when the name exists and <c>create</c> when the lookup says it does not;
    /// O_TRUNC is passed to <c>open</c>.</summary>
    public Task<IFsTargetFile> OpenAsync(string path, FsOpenRequest request, CancellationToken cancellationToken) =>
        Map("open " + request, path, async () =>
        {
            var ftp = FtpPath(path);
            var mode = request.Access switch
            {
                FsTargetAccess.Read => FsOpenMode.Read,
                FsTargetAccess.Write => FsOpenMode.Write,
                _ => FsOpenMode.ReadWrite,
            };
            FsFileHandle handle;
            if (request.Create && request.Exclusive)
            {
                handle = await _fs.CreateAsync(ftp, FileMode, exclusive: true, cancellationToken).ConfigureAwait(false);
            }
            else if (request.Create)
            {
                try
                {
                    handle = await _fs.OpenAsync(ftp, mode, request.Truncate, cancellationToken).ConfigureAwait(false);
                }
                catch (FsException e) when (e.Error == FsError.NotFound)
                {
                    handle = await _fs.CreateAsync(ftp, FileMode, exclusive: false, cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                handle = await _fs.OpenAsync(ftp, mode, request.Truncate, cancellationToken).ConfigureAwait(false);
            }

            return (IFsTargetFile)new CoreFile(this, path, handle);
        });

    public Task<FsTargetStat> StatAsync(string path, CancellationToken cancellationToken) =>
        Map("stat", path, async () => ToStat(await _fs.GetAttributesAsync(FtpPath(path), cancellationToken).ConfigureAwait(false)));

    public Task<IReadOnlyList<FsTargetStat>> ListAsync(string path, CancellationToken cancellationToken) =>
        Map("readdir", path, async () =>
            (IReadOnlyList<FsTargetStat>)(await _fs.ReadDirectoryAsync(FtpPath(path), cancellationToken).ConfigureAwait(false)).Select(ToStat).ToList());

    public Task TruncateAsync(string path, long length, CancellationToken cancellationToken) =>
        Map("truncate", path, () => _fs.TruncateAsync(FtpPath(path), length, cancellationToken));

    public Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) =>
        Map(noReplace ? "rename(noreplace)" : "rename", from + " -> " + to,
            () => _fs.RenameAsync(FtpPath(from), FtpPath(to), noReplace, cancellationToken));

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) =>
        Map("unlink", path, () => _fs.DeleteFileAsync(FtpPath(path), cancellationToken));

    public Task CreateDirectoryAsync(string path, CancellationToken cancellationToken) =>
        Map("mkdir", path, () => _fs.MakeDirectoryAsync(FtpPath(path), DirectoryMode, cancellationToken));

    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken) =>
        Map("rmdir", path, () => _fs.RemoveDirectoryAsync(FtpPath(path), cancellationToken));

    public Task SetModeAsync(string path, int mode, CancellationToken cancellationToken) =>
        Map("chmod", path, () => _fs.SetModeAsync(FtpPath(path), mode, cancellationToken));

    public Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        Map("utimens", path, () => _fs.SetModifiedTimeAsync(FtpPath(path), modified, cancellationToken));

    private static FsTargetStat ToStat(FsAttributes a) => new(
        a.Name == "/" ? "" : a.Name,
        a.Kind switch
        {
            FsEntryKind.Directory => FsTargetKind.Directory,
            FsEntryKind.Symlink => FsTargetKind.Symlink,
            _ => FsTargetKind.File,
        },
        a.IsDirectory ? 0 : a.Size,
        a.Modified,
        a.Mode & 0x1FF);

    /// <summary>The one translation table, FsError → FsTargetError (the FUSE binding's errno table has the same shape).</summary>
    public static FsTargetError Translate(FsError error) => error switch
    {
        FsError.NotFound => FsTargetError.NotFound,
        FsError.AlreadyExists => FsTargetError.Exists,
        FsError.DirectoryNotEmpty => FsTargetError.NotEmpty,
        FsError.IsADirectory => FsTargetError.IsDirectory,
        FsError.NotADirectory => FsTargetError.NotDirectory,
        FsError.AccessDenied or FsError.ReadOnly => FsTargetError.AccessDenied,
        FsError.NoSpace => FsTargetError.NoSpace,
        FsError.InvalidName or FsError.NameTooLong => FsTargetError.InvalidName,
        FsError.NotSupported => FsTargetError.NotSupported,
        _ => FsTargetError.Other, // Busy, TimedOut, ConnectionLost, TryAgain, Io, Cancelled, None
    };

    private static async Task Map(string operation, string path, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (FsException e)
        {
            throw new FsTargetException(Translate(e.Error), operation, path, $"FsError.{e.Error}: {e.Message}", e);
        }
    }

    private static async Task<T> Map<T>(string operation, string path, Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (FsException e)
        {
            throw new FsTargetException(Translate(e.Error), operation, path, $"FsError.{e.Error}: {e.Message}", e);
        }
    }

    private sealed class CoreFile(CoreTarget target, string path, FsFileHandle handle) : IFsTargetFile
    {
        private int _closed;

        public string Path { get; } = path;

        public Task<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
            Map("read", Path, () => target._fs.ReadAsync(handle, offset, buffer, cancellationToken));

        public Task WriteAtAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
            Map("write", Path, () => target._fs.WriteAsync(handle, offset, data, cancellationToken));

        public Task SetLengthAsync(long length, CancellationToken cancellationToken) =>
            Map("ftruncate", Path, () => target._fs.TruncateAsync(handle, length, cancellationToken));

        /// <summary>fstat: Core has no per-handle getattr; the FUSE binding answers fgetattr with the handle's
        /// current path, as done here.</summary>
        public Task<long> GetLengthAsync(CancellationToken cancellationToken) =>
            Map("fstat", Path, async () => (await target._fs.GetAttributesAsync(handle.Path, cancellationToken).ConfigureAwait(false)).Size);

        public Task FlushAsync(CancellationToken cancellationToken) =>
            Map("fsync", Path, () => target._fs.FlushAsync(handle, cancellationToken));

        public async Task CloseAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                await Map("release", Path, () => target._fs.ReleaseAsync(handle, cancellationToken)).ConfigureAwait(false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                try
                {
                    await target._fs.ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
                }
                catch (FsException)
                {
                    // Clean-up after a failed test only; the test's own failure is what gets reported.
                }
            }
        }
    }
}
