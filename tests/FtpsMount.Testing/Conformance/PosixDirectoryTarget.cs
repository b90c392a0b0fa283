namespace FtpsMount.Testing.Conformance;

/// <summary>
/// A target over a directory of the local machine through the kernel's own calls (open, pread, pwrite,
/// ftruncate, renameat2, unlink, mkdir, rmdir, statx, chmod, utimensat), each failure classified from its
/// errno. Three uses: the model of the model-based test (a temp directory on a local disk), the suite's
/// self-check (a POSIX filesystem must pass the suite), and a FUSE mount point (then every errno the
/// binding returns is checked as the kernel delivers it). Linux only.
/// </summary>
/// <remarks>Every call runs on the thread pool: a call into a FUSE mount blocks until the daemon answers.</remarks>
public class PosixDirectoryTarget : IFsTarget
{
    private const int FileMode = 0x1A4; // 0644
    private const int DirectoryMode = 0x1ED; // 0755

    /// <param name="rootDirectory">Absolute path of an existing directory; the target's "".</param>
    /// <param name="description">For messages.</param>
    /// <param name="capabilities">Defaults to a local POSIX filesystem: nanosecond times, everything supported.</param>
    /// <param name="backdoor">Defaults to the directory itself (changes are visible at once).</param>
    public PosixDirectoryTarget(string rootDirectory, string? description = null, FsTargetCapabilities? capabilities = null, IFsTargetBackdoor? backdoor = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("PosixDirectoryTarget uses Linux syscalls.");
        }

        if (!Path.IsPathFullyQualified(rootDirectory) || !Directory.Exists(rootDirectory))
        {
            throw new ArgumentException($"not an existing absolute directory: {rootDirectory}", nameof(rootDirectory));
        }

        RootDirectory = rootDirectory.TrimEnd('/');
        Description = description ?? $"local directory {RootDirectory}";
        Capabilities = capabilities ?? new FsTargetCapabilities
        {
            TimeResolution = TimeSpan.FromTicks(1),
            ClockSkewTolerance = TimeSpan.FromSeconds(2),
            ExternalChangesVisibleWithin = TimeSpan.Zero,
        };
        Backdoor = backdoor ?? new LocalDirectoryBackdoor(RootDirectory);
    }

    public string RootDirectory { get; }
    public string Description { get; }
    public FsTargetCapabilities Capabilities { get; }
    public IFsTargetBackdoor? Backdoor { get; }

    /// <summary>Absolute local path of a target path.</summary>
    public string LocalPath(string path) => TargetPath.Combine(RootDirectory, path);

    public virtual string GetDiagnostics() => "";

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    public Task<IFsTargetFile> OpenAsync(string path, FsOpenRequest request, CancellationToken cancellationToken) =>
        Run(() =>
        {
            var flags = request.Access switch
            {
                FsTargetAccess.Read => PosixNative.O_RDONLY,
                FsTargetAccess.Write => PosixNative.O_WRONLY,
                _ => PosixNative.O_RDWR,
            } | PosixNative.O_CLOEXEC;
            flags |= (request.Create ? PosixNative.O_CREAT : 0) | (request.Exclusive ? PosixNative.O_EXCL : 0) | (request.Truncate ? PosixNative.O_TRUNC : 0);
            var fd = PosixNative.Open(LocalPath(path), flags, FileMode);
            if (fd < 0)
            {
                throw Error("open " + request, path);
            }

            return (IFsTargetFile)new PosixFile(path, fd);
        }, cancellationToken);

    public Task<FsTargetStat> StatAsync(string path, CancellationToken cancellationToken) =>
        Run(() => Stat(path, Name(path)), cancellationToken);

    public Task<IReadOnlyList<FsTargetStat>> ListAsync(string path, CancellationToken cancellationToken) =>
        Run(() =>
        {
            var self = Stat(path, Name(path));
            if (!self.IsDirectory)
            {
                throw new FsTargetException(FsTargetError.NotDirectory, "readdir", path);
            }

            var result = new List<FsTargetStat>();
            IEnumerable<string> names;
            try
            {
                names = Directory.EnumerateFileSystemEntries(LocalPath(path)).Select(p => Path.GetFileName(p)).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new FsTargetException(FsTargetError.Other, "readdir", path, e.Message, e);
            }

            foreach (var name in names)
            {
                var child = path.Length == 0 ? name : path + "/" + name;
                try
                {
                    result.Add(Stat(child, name));
                }
                catch (FsTargetException e) when (e.Error == FsTargetError.NotFound)
                {
                    // Removed between readdir and stat by a concurrent operation.
                }
            }

            return (IReadOnlyList<FsTargetStat>)result;
        }, cancellationToken);

    public Task TruncateAsync(string path, long length, CancellationToken cancellationToken) =>
        Run(() => Check(PosixNative.Truncate(LocalPath(path), length), "truncate", path), cancellationToken);

    public Task RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) =>
        Run(() => Check(
            PosixNative.RenameAt2(PosixNative.AT_FDCWD, LocalPath(from), PosixNative.AT_FDCWD, LocalPath(to), noReplace ? PosixNative.RENAME_NOREPLACE : 0),
            noReplace ? "rename(noreplace)" : "rename", from + " -> " + to), cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) =>
        Run(() => Check(PosixNative.Unlink(LocalPath(path)), "unlink", path), cancellationToken);

    public Task CreateDirectoryAsync(string path, CancellationToken cancellationToken) =>
        Run(() => Check(PosixNative.MkDir(LocalPath(path), DirectoryMode), "mkdir", path), cancellationToken);

    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken) =>
        Run(() => Check(PosixNative.RmDir(LocalPath(path)), "rmdir", path), cancellationToken);

    public Task SetModeAsync(string path, int mode, CancellationToken cancellationToken) =>
        Run(() => Check(PosixNative.ChMod(LocalPath(path), (uint)mode), "chmod", path), cancellationToken);

    public Task SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        Run(() =>
        {
            var errno = PosixNative.SetModifiedTime(LocalPath(path), modified);
            if (errno != 0)
            {
                throw new FsTargetException(FsTargetErrors.FromErrno(errno), "utimensat", path, PosixNative.Describe(errno));
            }
        }, cancellationToken);

    public Task AppendAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        Run(() =>
        {
            var fd = PosixNative.Open(LocalPath(path), PosixNative.O_WRONLY | PosixNative.O_CREAT | PosixNative.O_APPEND | PosixNative.O_CLOEXEC, FileMode);
            if (fd < 0)
            {
                throw Error("open O_WRONLY|O_CREAT|O_APPEND", path);
            }

            try
            {
                PosixFile.WriteFully(fd, path, data.Span, offset: null);
            }
            finally
            {
                if (PosixNative.Close(fd) != 0)
                {
                    throw Error("close", path);
                }
            }
        }, cancellationToken);

    private FsTargetStat Stat(string path, string name)
    {
        var errno = PosixNative.LStat(LocalPath(path), out var s);
        if (errno != 0)
        {
            throw new FsTargetException(FsTargetErrors.FromErrno(errno), "stat", path, PosixNative.Describe(errno));
        }

        var kind = s.Type switch
        {
            PosixNative.S_IFDIR => FsTargetKind.Directory,
            PosixNative.S_IFLNK => FsTargetKind.Symlink,
            _ => FsTargetKind.File,
        };
        return new FsTargetStat(name, kind, kind == FsTargetKind.Directory ? 0 : s.Size, s.Modified, s.Permissions & 0x1FF);
    }

    private static string Name(string path) => path.Length == 0 ? "" : path[(path.LastIndexOf('/') + 1)..];

    private static void Check(int result, string operation, string path)
    {
        if (result != 0)
        {
            throw Error(operation, path);
        }
    }

    internal static FsTargetException Error(string operation, string path)
    {
        var errno = PosixNative.LastErrno;
        return new FsTargetException(FsTargetErrors.FromErrno(errno), operation, path, PosixNative.Describe(errno));
    }

    private static Task Run(Action action, CancellationToken ct) => Task.Run(action, ct);

    private static Task<T> Run<T>(Func<T> action, CancellationToken ct) => Task.Run(action, ct);

    private sealed class PosixFile(string path, int fd) : IFsTargetFile
    {
        private int _fd = fd;

        public string Path { get; } = path;

        public Task<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
            Task.Run(() =>
            {
                unsafe
                {
                    fixed (byte* p = buffer.Span)
                    {
                        var n = PosixNative.PRead(Fd(), p, (nuint)buffer.Length, offset);
                        return n < 0 ? throw Error("pread", Path) : (int)n;
                    }
                }
            }, cancellationToken);

        public Task WriteAtAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
            Task.Run(() => WriteFully(Fd(), Path, data.Span, offset), cancellationToken);

        public Task SetLengthAsync(long length, CancellationToken cancellationToken) =>
            Task.Run(() => Check(PosixNative.FTruncate(Fd(), length), "ftruncate", Path), cancellationToken);

        public Task<long> GetLengthAsync(CancellationToken cancellationToken) =>
            Task.Run(() =>
            {
                var end = PosixNative.SeekEnd(Fd());
                return end < 0 ? throw Error("lseek", Path) : end;
            }, cancellationToken);

        public Task FlushAsync(CancellationToken cancellationToken) =>
            Task.Run(() => Check(PosixNative.FSync(Fd()), "fsync", Path), cancellationToken);

        public Task CloseAsync(CancellationToken cancellationToken) =>
            Task.Run(() =>
            {
                var fd = Interlocked.Exchange(ref _fd, -1);
                if (fd >= 0 && PosixNative.Close(fd) != 0)
                {
                    throw Error("close", Path);
                }
            }, cancellationToken);

        public ValueTask DisposeAsync()
        {
            var fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                _ = PosixNative.Close(fd);
            }

            return ValueTask.CompletedTask;
        }

        internal static unsafe void WriteFully(int fd, string path, ReadOnlySpan<byte> data, long? offset)
        {
            fixed (byte* p = data)
            {
                var done = 0;
                while (done < data.Length)
                {
                    var n = offset is { } o
                        ? PosixNative.PWrite(fd, p + done, (nuint)(data.Length - done), o + done)
                        : PosixNative.Write(fd, p + done, (nuint)(data.Length - done));
                    if (n < 0)
                    {
                        throw Error(offset is null ? "write" : "pwrite", path);
                    }

                    done += (int)n;
                }
            }
        }

        private int Fd() => _fd >= 0 ? _fd : throw new ObjectDisposedException(Path, "the handle was closed");
    }
}

/// <summary>Path helpers shared by targets: relative, '/'-separated target paths.</summary>
public static class TargetPath
{
    /// <summary>root + "/" + relative path, refusing absolute paths, "." and ".." components.</summary>
    public static string Combine(string root, string path)
    {
        Validate(path);
        return path.Length == 0 ? root : root.TrimEnd('/') + "/" + path;
    }

    public static void Validate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return;
        }

        if (path.StartsWith('/') || path.EndsWith('/') || path.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw new ArgumentException($"not a relative target path: \"{path}\"", nameof(path));
        }
    }

    public static string Join(string directory, string name) => directory.Length == 0 ? name : name.Length == 0 ? directory : directory + "/" + name;

    public static string Parent(string path) => path.LastIndexOf('/') is var i and >= 0 ? path[..i] : "";

    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];
}
