namespace FtpsMount.Dokan.Tests;

internal static class RepositoryPaths
{
    /// <summary>The checkout root (the directory holding FtpsMount.sln), found upwards from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FtpsMount.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"FtpsMount.sln not found above {AppContext.BaseDirectory}");
    }
}
