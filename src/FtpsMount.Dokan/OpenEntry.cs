using FtpsMount.Core.FileSystem;

namespace FtpsMount.Dokan;

/// <summary>Our state for one Dokan open (one kernel file object), found through DOKAN_FILE_INFO.Context.</summary>
internal sealed class OpenEntry(ulong id, string windowsPath, string serverPath, bool isDirectory, bool canWrite)
{
    public ulong Id { get; } = id;

    /// <summary>The name as Windows asked for it ("\Dir\File.txt"); used for notifications.</summary>
    public string WindowsPath { get; set; } = windowsPath;

    /// <summary>The server path with the server's own case ("/dir/File.txt").</summary>
    public string ServerPath { get; set; } = serverPath;

    public bool IsDirectory { get; } = isDirectory;

    /// <summary>Opened with write access (data, append or a truncating disposition).</summary>
    public bool CanWrite { get; } = canWrite;

    /// <summary>The Core handle: made at create for new or truncated files, else on the first read or write.</summary>
    public FsFileHandle? Handle { get => Volatile.Read(ref _handle); set => Volatile.Write(ref _handle, value); }

    private FsFileHandle? _handle;

    /// <summary>FILE_DELETE_ON_CLOSE was given at create (the driver's DeleteOnClose flag is honoured as well).</summary>
    public bool DeleteOnCloseAtCreate { get; set; }

    /// <summary>Data or length changed through this open (a change notification is due after the upload).</summary>
    public bool Modified { get; set; }

    public bool CleanedUp { get; set; }

    /// <summary>Serialises the lazy opening of <see cref="Handle"/>.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);
}
