namespace FtpsMount.Core.FileSystem;

/// <summary>An open file. Bindings keep it (FUSE fh, Dokan context) and pass it back; its state lives in Core.</summary>
public sealed partial class FsFileHandle
{
    internal FsFileHandle(long id, string path, FsOpenMode mode)
    {
        Id = id;
        Path = path;
        Mode = mode;
    }

    /// <summary>A number unique within the mount, usable as a FUSE file handle.</summary>
    public long Id { get; }

    /// <summary>Current path (follows renames made through this mount while open).</summary>
    public string Path { get; internal set; }

    public FsOpenMode Mode { get; }

    public bool CanWrite => Mode != FsOpenMode.Read;
}
