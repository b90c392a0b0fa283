namespace FtpsMount.Testing.Conformance;

/// <summary>
/// The small error vocabulary the conformance suite asserts on. Each target maps its own errors onto it:
/// Core's <c>FsError</c>, errno from a real mount (<see cref="FsTargetErrors.FromErrno"/>), ...
/// </summary>
public enum FsTargetError
{
    /// <summary>ENOENT.</summary>
    NotFound,
    /// <summary>EEXIST.</summary>
    Exists,
    /// <summary>ENOTEMPTY.</summary>
    NotEmpty,
    /// <summary>EISDIR.</summary>
    IsDirectory,
    /// <summary>ENOTDIR.</summary>
    NotDirectory,
    /// <summary>EACCES, EPERM, EROFS.</summary>
    AccessDenied,
    /// <summary>ENOSPC, EDQUOT.</summary>
    NoSpace,
    /// <summary>EINVAL, ENAMETOOLONG, EILSEQ.</summary>
    InvalidName,
    /// <summary>ENOTSUP/EOPNOTSUPP, ENOSYS: the target cannot do this at all.</summary>
    NotSupported,
    /// <summary>Anything else (EIO, timeouts, lost connections, ...). Never expected by an assertion.</summary>
    Other,
}

/// <summary>An operation of an <see cref="IFsTarget"/> failed with a classified error.</summary>
/// <remarks>Targets throw only this for filesystem errors; any other exception escaping a target is a bug
/// of the target (or of what it wraps) and fails the test as such.</remarks>
public sealed class FsTargetException : Exception
{
    public FsTargetException(FsTargetError error, string operation, string path, string? detail = null, Exception? inner = null)
        : base($"{operation} {Quote(path)}: {error}{(detail is null ? "" : " (" + detail + ")")}", inner)
    {
        Error = error;
        Operation = operation;
        Path = path;
    }

    public FsTargetError Error { get; }
    public string Operation { get; }
    public string Path { get; }

    private static string Quote(string path) => "\"" + path + "\"";
}

/// <summary>Mapping helpers for targets built on the OS (a local directory, a FUSE mount point).</summary>
public static class FsTargetErrors
{
    // Linux errno values (identical on x86-64 and arm64).
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int EILSEQ = 84;
    public const int EOPNOTSUPP = 95;
    public const int EDQUOT = 122;

    /// <summary>Classifies a Linux errno value.</summary>
    public static FsTargetError FromErrno(int errno) => errno switch
    {
        ENOENT => FsTargetError.NotFound,
        EEXIST => FsTargetError.Exists,
        ENOTEMPTY => FsTargetError.NotEmpty,
        EISDIR => FsTargetError.IsDirectory,
        ENOTDIR => FsTargetError.NotDirectory,
        EACCES or EPERM or EROFS => FsTargetError.AccessDenied,
        ENOSPC or EDQUOT => FsTargetError.NoSpace,
        EINVAL or ENAMETOOLONG or EILSEQ => FsTargetError.InvalidName,
        EOPNOTSUPP or ENOSYS => FsTargetError.NotSupported,
        _ => FsTargetError.Other,
    };
}
