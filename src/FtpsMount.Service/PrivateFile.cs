namespace FtpsMount.Service;

/// <summary>Files only their owner may read (status files, the service token and endpoint): written to a new temporary
/// file created 0600 from the start (O_EXCL, so never through a file or link someone left there), then renamed over the
/// target, so no reader ever sees a partial or wider file.</summary>
public static class PrivateFile
{
    public static void WriteAllText(string path, string text)
    {
        var temp = $"{path}.{ServicePaths.Base64UrlToken(6)}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Creates a directory only its owner can use (0700), or tightens an existing one. Refuses a symbolic link
    /// and a directory of another user (chmod fails): in a shared /tmp (no XDG_RUNTIME_DIR) another user could create
    /// the directory first and then swap the endpoint file the clients trust, or read what lands there.</summary>
    public static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var info = Directory.CreateDirectory(path, Private);
        if (info.LinkTarget is not null)
        {
            throw new UnauthorizedAccessException($"{path} is a symbolic link; refusing to keep private files behind it. Remove it.");
        }

        if (File.GetUnixFileMode(path) != Private)
        {
            try
            {
                File.SetUnixFileMode(path, Private);
            }
            catch (UnauthorizedAccessException)
            {
                throw new UnauthorizedAccessException($"{path} belongs to another user; refusing to keep private files there. Remove it, or set XDG_RUNTIME_DIR.");
            }
        }
    }
}
