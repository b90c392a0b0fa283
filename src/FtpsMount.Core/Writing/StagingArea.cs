using System.Text;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Writing;

/// <summary>
/// Where a mount stages files that are too large for memory: <see cref="WriteOptions.StagingDirectory"/> (created
/// 0700 if missing) or, by default, a private 0700 directory made under the system temp directory on first use and
/// removed on disposal. Temp files are created 0600 (Unix), exclusively, with a random name.
/// </summary>
internal sealed class StagingArea : IDisposable
{
    /// <summary>Memory staging is capped here whatever the option says (one array per file).</summary>
    private const long MaxMemoryLimit = 1L << 30;

    private readonly string? _configured;
    private readonly IFtpLogger _log;
    private readonly Lock _lock = new();
    private string? _directory;
    private bool _ownsDirectory;

    public StagingArea(WriteOptions options, IFtpLogger log)
    {
        _configured = options.StagingDirectory;
        MemoryLimit = Math.Min(options.MemoryStagingLimit, MaxMemoryLimit);
        _log = log;
    }

    /// <summary>Staged files up to this many bytes stay in memory.</summary>
    public long MemoryLimit { get; }

    /// <summary>The directory in use, or null before the first temp file.</summary>
    public string? DirectoryPath
    {
        get
        {
            lock (_lock)
            {
                return _directory;
            }
        }
    }

    /// <summary>Test seam: opens the temp file at the given path instead of creating it (e.g. /dev/full to simulate
    /// a full disk). Files opened through it are not deleted.</summary>
    internal Func<string, FileStream>? FileOpener { get; set; }

    /// <summary>Memory for small sizes, a temp file above <see cref="MemoryLimit"/>.</summary>
    public StagingStorage Create(long expectedSize, string name) =>
        expectedSize > MemoryLimit ? CreateFile(name) : new MemoryStorage();

    /// <summary>A new empty temp file. Throws <see cref="IOException"/> and friends; callers map them with
    /// <see cref="LocalFailure"/>.</summary>
    public FileStorage CreateFile(string name)
    {
        var directory = EnsureDirectory();
        var path = Path.Combine(directory, $"{Guid.NewGuid():N}-{Sanitize(name)}.staged");
        if (FileOpener is { } opener)
        {
            return new FileStorage(opener(path), path, deleteOnDispose: false);
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStorage(new FileStream(path, options), path, deleteOnDispose: true);
    }

    /// <summary>
    /// The <see cref="FsException"/> for a local staging failure: <see cref="FsError.NoSpace"/> when the local disk
    /// (or quota) is full, <see cref="FsError.Io"/> otherwise; the message says it is the local staging area, not the
    /// server.
    /// </summary>
    public FsException LocalFailure(Exception exception, string what)
    {
        var where = DirectoryPath ?? _configured ?? Path.GetTempPath();
        if (exception is IOException io && IsDiskFull(io))
        {
            return new FsException(FsError.NoSpace,
                $"{what}: no space left on the LOCAL disk holding the staging area {where} ({io.Message}). " +
                "Free space there or set a staging directory on a larger disk; the data already staged is kept.", exception);
        }

        return new FsException(FsError.Io, $"{what}: the local staging area {where} failed: {exception.Message}", exception);
    }

    /// <summary>ENOSPC/EDQUOT (Unix errno as HResult) or ERROR_DISK_FULL/ERROR_HANDLE_DISK_FULL (Windows).</summary>
    public static bool IsDiskFull(IOException exception)
    {
        var code = exception.HResult;
        if (OperatingSystem.IsWindows())
        {
            return (code & 0xFFFF) is 0x70 or 0x27;
        }

        return OperatingSystem.IsLinux()
            ? code is 28 or 122 // ENOSPC, EDQUOT
            : code is 28 or 69; // ENOSPC, EDQUOT on the BSDs and macOS
    }

    private string EnsureDirectory()
    {
        lock (_lock)
        {
            if (_directory is not null)
            {
                return _directory;
            }

            if (_configured is null)
            {
                // 0700 on Unix (CreateTempSubdirectory creates it so).
                _directory = Directory.CreateTempSubdirectory("ftpsmount-staging-").FullName;
                _ownsDirectory = true;
            }
            else
            {
                if (!Directory.Exists(_configured))
                {
                    if (OperatingSystem.IsWindows())
                    {
                        Directory.CreateDirectory(_configured);
                    }
                    else
                    {
                        Directory.CreateDirectory(_configured, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    }
                }

                _directory = Path.GetFullPath(_configured);
            }

            _log.Log(FtpLogLevel.Debug, $"write staging directory: {_directory}");
            return _directory;
        }
    }

    /// <summary>The last path component, reduced to characters safe in any file name (recognisable when recovering).</summary>
    private static string Sanitize(string name)
    {
        var last = name.Length == 0 ? "file" : name[(name.LastIndexOf('/') + 1)..];
        var builder = new StringBuilder(Math.Min(last.Length, 40));
        foreach (var c in last)
        {
            if (builder.Length == 40)
            {
                break;
            }

            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        return builder.Length == 0 ? "file" : builder.ToString();
    }

    /// <summary>Removes the private directory if nothing was kept in it (kept files are unuploaded data).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_directory is null || !_ownsDirectory)
            {
                return;
            }

            try
            {
                if (!Directory.EnumerateFileSystemEntries(_directory).Any())
                {
                    Directory.Delete(_directory);
                }
                else
                {
                    _log.Log(FtpLogLevel.Warning, $"write staging directory {_directory} kept: it holds data that never reached the server.");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log.Log(FtpLogLevel.Warning, $"could not remove the write staging directory {_directory}: {ex.Message}");
            }
        }
    }
}
