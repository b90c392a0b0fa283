using System.Diagnostics;

namespace FtpsMount.Service.Supervision;

/// <summary>
/// How the service starts a mount: the <c>ftpsmount</c> program (and, when it runs as <c>dotnet ftpsmount.dll</c>, the
/// assembly) followed by <c>mount PROFILE</c>. The CLI that hosts the service supplies it, so the service needs no
/// reference to the CLI, and each mount is its own process: one crashed mount cannot take the service or the other
/// mounts down, and mounting goes through the one tested path.
/// </summary>
public sealed record MountLauncher(string FileName, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>
    /// Set to "1" in a supervised mount's environment: the mount then unmounts (finishing pending uploads, as on
    /// SIGTERM) when its standard input reaches end-of-file. The service stops a mount by closing that pipe — the same
    /// on Linux and Windows (which has no SIGTERM) — and should the service itself die, its mounts end cleanly too.
    /// </summary>
    public const string SupervisedVariable = "FTPSMOUNT_SUPERVISED";

    /// <summary>This process's own program: <c>ftpsmount</c>, or <c>dotnet</c> + <paramref name="entryAssembly"/>.</summary>
    public static MountLauncher ForCurrentProcess(string entryAssembly)
    {
        var self = Environment.ProcessPath ?? "ftpsmount";
        return Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? new MountLauncher(self, [entryAssembly])
            : new MountLauncher(self, []);
    }

    internal ProcessStartInfo StartInfo(params string[] arguments)
    {
        var start = new ProcessStartInfo(FileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true, // Windows: no console window per mount when the service runs without one
        };
        foreach (var a in PrefixArguments.Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }
}
