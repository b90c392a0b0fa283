namespace FtpsMount.Core.Errors;

/// <summary>The filesystem operation a protocol failure happened in: the same reply means different things in
/// different operations (550 to RETR is "not found", to MKD usually "exists" or "permission denied").</summary>
public enum FsOperation
{
    Lookup,
    List,
    Read,
    Write,
    Create,
    Delete,
    MakeDirectory,
    RemoveDirectory,
    Rename,
    SetAttributes,
    StatFs,
}
