namespace FtpsMount.Core;

/// <summary>
/// The one error vocabulary of the filesystem core. Bindings translate it with one table each
/// (FUSE: -errno, Dokan: NTSTATUS); nothing else crosses from Core to a binding.
/// </summary>
public enum FsError
{
    None = 0,
    NotFound,
    AlreadyExists,
    NotADirectory,
    IsADirectory,
    DirectoryNotEmpty,
    AccessDenied,
    ReadOnly,
    NoSpace,
    InvalidName,
    NameTooLong,
    NotSupported,
    Busy,
    TimedOut,
    ConnectionLost,
    /// <summary>A transient server condition (4xx) persisted through the retries.</summary>
    TryAgain,
    /// <summary>The server or data is broken in a way no retry fixes.</summary>
    Io,
    Cancelled,
}

/// <summary>A Core failure: the <see cref="FsError"/> a binding maps, and a cause a person can read in a log.</summary>
public sealed class FsException : Exception
{
    public FsException(FsError error, string message, Exception? inner = null) : base(message, inner) => Error = error;
    public FsError Error { get; }
}
