namespace FtpsMount.Testing;

/// <summary>Where the checkout is, for tests that run its scripts (ABI probes, packaging, mount helpers).</summary>
public static class RepositoryPaths
{
    /// <summary>The checkout root (the directory holding FtpsMount.sln), found upwards from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A path inside the checkout, e.g. <c>File("packaging", "linux", "mount.fuse.ftpsmount")</c>.</summary>
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "FtpsMount.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"FtpsMount.sln not found above {AppContext.BaseDirectory}");
    }
}
