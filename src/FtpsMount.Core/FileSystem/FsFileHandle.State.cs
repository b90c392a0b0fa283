using FtpsMount.Core.Reading;
using FtpsMount.Core.Writing;

namespace FtpsMount.Core.FileSystem;

public sealed partial class FsFileHandle
{
    internal FileReader? ReaderField;

    internal FileReader? Reader => Volatile.Read(ref ReaderField);
    internal FileWriter? Writer { get; set; }

    /// <summary>When this handle last changed the file (reported as mtime until the upload lands).</summary>
    internal DateTimeOffset? LastWrite { get; set; }

    /// <summary>The permission bits asked for at create; FTP uploads get the server's umask, so they are applied with
    /// SITE CHMOD once the file is on the server.</summary>
    internal int? CreateMode { get; set; }
}
