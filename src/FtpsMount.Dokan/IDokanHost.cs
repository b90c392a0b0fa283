using FtpsMount.Dokan.Native;

namespace FtpsMount.Dokan;

/// <summary>
/// What the adapter asks of the Dokan library besides answering callbacks: keep a slow request alive
/// (DokanResetTimeout) and tell Windows about changes the filesystem made itself (DokanNotify*). The mount uses
/// <see cref="DokanNativeHost"/> (dokan2.dll); the driver simulation in the tests records the calls. Paths are volume
/// paths as Dokan gives them ("\dir\name"); the native host prefixes the mount point.
/// </summary>
internal interface IDokanHost
{
    /// <summary>Extends the driver's timeout of the request behind <paramref name="info"/> by <paramref name="milliseconds"/>.</summary>
    bool ResetTimeout(uint milliseconds, nint info);

    void NotifyCreate(string path, bool isDirectory);
    void NotifyDelete(string path, bool isDirectory);
    void NotifyUpdate(string path);
    void NotifyRename(string oldPath, string newPath, bool isDirectory, bool sameDirectory);
}
