namespace FtpsMount.Testing.Conformance;

/// <summary>
/// A filesystem under test, seen through POSIX-style operations: the Core facade directly, a FUSE mount
/// point, a plain local directory (the model of the model-based test). The conformance suite and the
/// model-based test only talk to this interface, so one set of assertions covers every target.
/// </summary>
/// <remarks>
/// <para>Paths are relative to the target's root, '/'-separated, without a leading '/': "" is the root,
/// "t-1a2b/sub/file.txt" a file. A target maps them onto whatever it wraps (an FTP path, a directory
/// under a mount point).</para>
/// <para>Filesystem errors are thrown as <see cref="FsTargetException"/> with the classified
/// <see cref="FsTargetError"/>; every method is asynchronous and honours its cancellation token as far as
/// what it wraps allows (the suite bounds every test with a timeout regardless).</para>
/// <para>All methods may be called concurrently (the suite has concurrent readers and writers).</para>
/// </remarks>
public interface IFsTarget : IAsyncDisposable
{
    /// <summary>For messages: "Core over vsftpd 3.0.3 (explicit, TLS 1.3)", "FUSE mount at /mnt/x", ...</summary>
    string Description { get; }

    /// <summary>What this target can do where targets genuinely differ. Declared, never guessed by the suite.</summary>
    FsTargetCapabilities Capabilities { get; }

    /// <summary>The store behind the target, reached without going through it (the server's root directory),
    /// or null when the target has none. Used to check that data really arrived and to change files
    /// "behind the target's back".</summary>
    IFsTargetBackdoor? Backdoor { get; }

    /// <summary>open(2). The handle must be closed with <see cref="IFsTargetFile.CloseAsync"/>, where errors
    /// of a deferred upload surface.</summary>
    Task<IFsTargetFile> OpenAsync(string path, FsOpenRequest request, CancellationToken cancellationToken);

    /// <summary>stat(2). <see cref="FsTargetError.NotFound"/> for a missing path.</summary>
    Task<FsTargetStat> StatAsync(string path, CancellationToken cancellationToken);

    /// <summary>readdir(3): the entries of a directory, without "." and "..", in any order.</summary>
    Task<IReadOnlyList<FsTargetStat>> ListAsync(string path, CancellationToken cancellationToken);

    /// <summary>truncate(2) by path: shrink, or extend with zero bytes.</summary>
    Task TruncateAsync(string path, long length, CancellationToken cancellationToken);

    /// <summary>rename(2), or renameat2(RENAME_NOREPLACE) when <paramref name="noReplace"/>: an existing
    /// target is replaced, unless noReplace (then <see cref="FsTargetError.Exists"/>).</summary>
    Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken);

    /// <summary>unlink(2).</summary>
    Task DeleteFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>mkdir(2) with mode 0755.</summary>
    Task CreateDirectoryAsync(string path, CancellationToken cancellationToken);

    /// <summary>rmdir(2).</summary>
    Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken);

    /// <summary>chmod(2) with permission bits (e.g. 0x1A4 = 0644).</summary>
    Task SetModeAsync(string path, int mode, CancellationToken cancellationToken);

    /// <summary>utimensat(2) for the modification time (the access time is left alone).</summary>
    Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken);

    /// <summary>Anything that helps a person understand a failure: a log tail, the server's log, ... ("" if none).</summary>
    string GetDiagnostics();

    /// <summary>Whole-file read: open read-only, read to end of file, close.</summary>
    async Task<byte[]> ReadAllAsync(string path, CancellationToken cancellationToken)
    {
        var file = await OpenAsync(path, FsOpenRequest.ReadOnly, cancellationToken).ConfigureAwait(false);
        await using (file.ConfigureAwait(false))
        {
            using var content = new MemoryStream();
            var buffer = new byte[256 * 1024];
            long offset = 0;
            while (true)
            {
                var n = await file.ReadAtAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                content.Write(buffer, 0, n);
                offset += n;
            }

            await file.CloseAsync(cancellationToken).ConfigureAwait(false);
            return content.ToArray();
        }
    }

    /// <summary>Whole-file write: open with O_CREAT|O_TRUNC, write, close.</summary>
    async Task WriteAllAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var file = await OpenAsync(path, FsOpenRequest.CreateOrTruncate, cancellationToken).ConfigureAwait(false);
        await using (file.ConfigureAwait(false))
        {
            const int Chunk = 1024 * 1024;
            for (var offset = 0; offset < content.Length; offset += Chunk)
            {
                await file.WriteAtAsync(offset, content.Slice(offset, Math.Min(Chunk, content.Length - offset)), cancellationToken)
                    .ConfigureAwait(false);
            }

            await file.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>open(O_WRONLY|O_CREAT|O_APPEND), write, close: the data lands at the end of the file. The
    /// default does what the kernel does for O_APPEND on a FUSE file: open, take the length, write there.</summary>
    async Task AppendAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var file = await OpenAsync(path, new FsOpenRequest(FsTargetAccess.Write, Create: true), cancellationToken).ConfigureAwait(false);
        await using (file.ConfigureAwait(false))
        {
            var end = await file.GetLengthAsync(cancellationToken).ConfigureAwait(false);
            await file.WriteAtAsync(end, data, cancellationToken).ConfigureAwait(false);
            await file.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>An open file. Offsets are explicit (pread/pwrite); there is no file position.</summary>
public interface IFsTargetFile : IAsyncDisposable
{
    /// <summary>The path it was opened with.</summary>
    string Path { get; }

    /// <summary>pread(2): up to buffer.Length bytes at <paramref name="offset"/>; 0 at or past end of file.</summary>
    Task<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>pwrite(2): all of <paramref name="data"/> at <paramref name="offset"/>; a gap past the end
    /// of file reads back as zero bytes.</summary>
    Task WriteAtAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>ftruncate(2).</summary>
    Task SetLengthAsync(long length, CancellationToken cancellationToken);

    /// <summary>fstat(2) size: the current length as this handle sees it.</summary>
    Task<long> GetLengthAsync(CancellationToken cancellationToken);

    /// <summary>fsync(2): returns once the data is durable in the target's store.</summary>
    Task FlushAsync(CancellationToken cancellationToken);

    /// <summary>close(2): errors of a deferred upload are thrown here. Closing twice is a no-op.</summary>
    Task CloseAsync(CancellationToken cancellationToken);

    // DisposeAsync: closes if CloseAsync was not called, without throwing (clean-up on a failure path only;
    // the suite always calls CloseAsync when it checks the outcome).
}

public enum FsTargetAccess
{
    Read,
    Write,
    ReadWrite,
}

/// <summary>The flags of open(2) the suite uses.</summary>
/// <param name="Access">O_RDONLY, O_WRONLY or O_RDWR.</param>
/// <param name="Create">O_CREAT (mode 0644).</param>
/// <param name="Exclusive">O_EXCL (with <paramref name="Create"/>): <see cref="FsTargetError.Exists"/> if the path exists.</param>
/// <param name="Truncate">O_TRUNC.</param>
public sealed record FsOpenRequest(FsTargetAccess Access, bool Create = false, bool Exclusive = false, bool Truncate = false)
{
    public static FsOpenRequest ReadOnly { get; } = new(FsTargetAccess.Read);
    public static FsOpenRequest ReadWrite { get; } = new(FsTargetAccess.ReadWrite);
    public static FsOpenRequest WriteOnly { get; } = new(FsTargetAccess.Write);

    /// <summary>O_RDWR|O_CREAT: open an existing file unchanged or create an empty one.</summary>
    public static FsOpenRequest OpenOrCreate { get; } = new(FsTargetAccess.ReadWrite, Create: true);

    /// <summary>O_WRONLY|O_CREAT|O_TRUNC (what a shell's "&gt;" does).</summary>
    public static FsOpenRequest CreateOrTruncate { get; } = new(FsTargetAccess.Write, Create: true, Truncate: true);

    /// <summary>O_RDWR|O_CREAT|O_EXCL.</summary>
    public static FsOpenRequest CreateNew { get; } = new(FsTargetAccess.ReadWrite, Create: true, Exclusive: true);

    public override string ToString() =>
        Access switch { FsTargetAccess.Read => "O_RDONLY", FsTargetAccess.Write => "O_WRONLY", _ => "O_RDWR" }
        + (Create ? "|O_CREAT" : "") + (Exclusive ? "|O_EXCL" : "") + (Truncate ? "|O_TRUNC" : "");
}

public enum FsTargetKind
{
    File,
    Directory,
    Symlink,
}

/// <summary>stat(2) as far as the suite compares it.</summary>
/// <param name="Name">Last path component ("" for the root).</param>
/// <param name="Mode">Permission bits (0..0x1FF = 0777), or null when the target does not know them.</param>
public sealed record FsTargetStat(string Name, FsTargetKind Kind, long Size, DateTimeOffset Modified, int? Mode)
{
    public bool IsDirectory => Kind == FsTargetKind.Directory;
    public bool IsFile => Kind == FsTargetKind.File;

    public override string ToString() =>
        $"{Name} {Kind} size={Size} mtime={Modified.UtcDateTime:O}{(Mode is { } m ? " mode=" + Convert.ToString(m, 8) : "")}";
}

/// <summary>
/// Where targets genuinely differ, declared by whoever builds the target (with the server and version that
/// causes it). The suite asserts the declared behaviour and says in its output when it checks the
/// "unsupported" side, so a difference is never a silent skip.
/// </summary>
public sealed record FsTargetCapabilities
{
    /// <summary>Resolution of modification times (FTP: MDTM/MFMT/MLSD carry whole seconds).</summary>
    public TimeSpan TimeResolution { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Resolution of modification times in readdir results. FTP servers without MLSD only have LIST,
    /// whose Unix format shows minutes for recent files and only the day for files older than six months.</summary>
    public TimeSpan ListingTimeResolution { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How far the target's clock (the server's) may be from the test's, when checking "mtime is
    /// about now" after a write.</summary>
    public TimeSpan ClockSkewTolerance { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>chmod changes the permission bits (SITE CHMOD on FTP). When false the suite expects
    /// <see cref="FsTargetError.NotSupported"/> and reports that it did.</summary>
    public bool Chmod { get; init; } = true;

    /// <summary>Permission bits read back after chmod are the ones set (stat right after chmod).</summary>
    public bool ReportsModeBits { get; init; } = true;

    /// <summary>utimens on a regular file sets its modification time.</summary>
    public bool SetFileModifiedTime { get; init; } = true;

    /// <summary>utimens on a directory sets its modification time. When false, the suite accepts an error
    /// and only fails a call that claims success but changed nothing.</summary>
    public bool SetDirectoryModifiedTime { get; init; } = true;

    /// <summary>How long after a change made through <see cref="IFsTarget.Backdoor"/> the target must show it
    /// (its cache TTLs plus a margin), or null when it makes no such promise (then the test says so).</summary>
    public TimeSpan? ExternalChangesVisibleWithin { get; init; }

    /// <summary>A handle keeps working after its file was renamed (through this target), writing to the new name.</summary>
    public bool RenameOpenFile { get; init; } = true;

    public override string ToString() =>
        $"resolution {TimeResolution.TotalSeconds}s (readdir {ListingTimeResolution.TotalSeconds}s), chmod {Chmod}, file mtime {SetFileModifiedTime}, dir mtime {SetDirectoryModifiedTime}, " +
        $"external changes within {(ExternalChangesVisibleWithin is { } t ? t.TotalSeconds + "s" : "n/a")}, rename open file {RenameOpenFile}";
}

/// <summary>Direct access to the store behind a target (e.g. the reference server's root directory on the
/// local disk), bypassing every cache of the target. Paths are the target's relative paths.</summary>
public interface IFsTargetBackdoor
{
    /// <summary>The file's bytes as stored, or null when there is no such file.</summary>
    Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>Stat as stored, or null when the path does not exist.</summary>
    Task<FsTargetStat?> StatAsync(string path, CancellationToken cancellationToken);

    /// <summary>Replaces (or creates) a file behind the target's back, as another client of the server
    /// would, and moves its modification time to at least one second after its previous one, so even a
    /// target that validates by size+mtime at one-second resolution can tell.</summary>
    Task ModifyBehindTheBackAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Removes a file behind the target's back.</summary>
    Task DeleteBehindTheBackAsync(string path, CancellationToken cancellationToken);
}
