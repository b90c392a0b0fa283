using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Testing.Conformance;

/// <summary>A backdoor onto a local directory that holds the target's files (a reference server's root, or
/// the directory a <see cref="PosixDirectoryTarget"/> wraps).</summary>
public class LocalDirectoryBackdoor(string rootDirectory) : IFsTargetBackdoor
{
    public string RootDirectory { get; } = rootDirectory.TrimEnd('/');

    public string LocalPath(string path) => TargetPath.Combine(RootDirectory, path);

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        var local = LocalPath(path);
        return Task.FromResult(File.Exists(local) ? File.ReadAllBytes(local) : null);
    }

    public Task<FsTargetStat?> StatAsync(string path, CancellationToken cancellationToken)
    {
        var errno = PosixNative.LStat(LocalPath(path), out var s);
        if (errno != 0)
        {
            return Task.FromResult<FsTargetStat?>(null);
        }

        var kind = s.Type switch
        {
            PosixNative.S_IFDIR => FsTargetKind.Directory,
            PosixNative.S_IFLNK => FsTargetKind.Symlink,
            _ => FsTargetKind.File,
        };
        return Task.FromResult<FsTargetStat?>(new FsTargetStat(
            path.Length == 0 ? "" : TargetPath.Name(path), kind, kind == FsTargetKind.Directory ? 0 : s.Size, s.Modified, s.Permissions & 0x1FF));
    }

    public async Task ModifyBehindTheBackAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var local = LocalPath(path);
        var previous = File.Exists(local) ? File.GetLastWriteTimeUtc(local) : (DateTime?)null;
        await WriteFileAsync(path, local, content, cancellationToken).ConfigureAwait(false);
        var now = DateTime.UtcNow;
        if (previous is { } p)
        {
            var atLeast = new DateTime(p.Ticks - (p.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc).AddSeconds(2);
            File.SetLastWriteTimeUtc(local, atLeast > now ? atLeast : now);
        }
    }

    public Task DeleteBehindTheBackAsync(string path, CancellationToken cancellationToken)
    {
        File.Delete(LocalPath(path));
        return Task.CompletedTask;
    }

    /// <summary>Writes the bytes (creating parent directories); override to fix ownership.</summary>
    protected virtual async Task WriteFileAsync(string path, string localPath, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(localPath)!);
        await File.WriteAllBytesAsync(localPath, content, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The root directory of a <see cref="ReferenceServer"/> as a backdoor: files are written as the
/// server's test user (so the server may later change or delete them), mapped from target paths under
/// <paramref name="ftpRoot"/> (the FTP directory that is the target's "").</summary>
public sealed class ReferenceServerBackdoor(ReferenceServer server, string ftpRoot = "/")
    : LocalDirectoryBackdoor(server.GetLocalPath(ftpRoot))
{
    protected override Task WriteFileAsync(string path, string localPath, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        server.SeedFile(FtpPath(path), content.Span);
        return Task.CompletedTask;
    }

    private string FtpPath(string path) => ftpRoot.TrimEnd('/') + "/" + path;
}
