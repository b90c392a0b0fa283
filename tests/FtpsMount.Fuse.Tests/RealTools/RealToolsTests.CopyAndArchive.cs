namespace FtpsMount.Fuse.Tests.RealTools;

// cp -r and tar.
public sealed partial class RealToolsTests
{
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public Task Cp_r_of_a_tree_onto_the_mount_and_back_keeps_every_byte() => RunAsync(TimeSpan.FromMinutes(8), async () =>
    {
        var local = LocalDirectory("cp");
        var source = Path.Combine(local, "tree");
        Directory.CreateDirectory(source);
        var files = TestTree.Create(source, seed: 1, smallFiles: 320, largeFileBytes: (6 * 1024 * 1024) + 12345);
        var expected = TreeDigest.Of(source);
        output.WriteLine($"source tree: {expected.FileCount} files ({files} created), {expected.Entries.Count - expected.FileCount} directories, {expected.TotalBytes} bytes");

        var (onMount, onServer) = await MountDirectoryAsync("cp");
        await Tool("cp", CopyTimeout, "-r", source, Path.Combine(onMount, "tree"));

        TreeDigest.Of(Path.Combine(onServer, "tree")).AssertSameAs(expected, "the server's copy after cp -r onto the mount");
        (await OnMountAsync(() => TreeDigest.Of(Path.Combine(onMount, "tree")))).AssertSameAs(expected, "the tree read back through the mount");

        var back = Path.Combine(local, "back");
        await Tool("cp", CopyTimeout, "-r", Path.Combine(onMount, "tree"), back);
        TreeDigest.Of(back).AssertSameAs(expected, "cp -r from the mount back to a local disk");

        // cp without -p creates each file with open(O_CREAT, source mode & ~umask 022), here the source's own bits (0644,
        // src/script.sh 0755): they must reach the server (and so survive the mount's caches and a remount), not only the
        // mount's view right after the create.
        TreeDigest.AssertSameModes(source, Path.Combine(onServer, "tree"), "cp -r onto the mount keeps permission bits, on the server");
    });

    [Fact]
    public Task Tar_c_of_a_directory_on_the_mount_and_tar_x_into_the_mount() => RunAsync(TimeSpan.FromMinutes(8), async () =>
    {
        var local = LocalDirectory("tar");
        var source = Path.Combine(local, "tree");
        Directory.CreateDirectory(source);
        TestTree.Create(source, seed: 2, smallFiles: 150, largeFileBytes: 3 * 1024 * 1024);
        var expected = TreeDigest.Of(source);

        // tar c: a directory that came from the server (seeded behind the mount, so every byte is read from vsftpd).
        var (onMount, onServer) = await MountDirectoryAsync("tar");
        SeedOnServer(source, "/" + Path.GetFileName(onMount) + "/seeded");
        await mount.Host.RefreshMetadataAsync(MountIoDeadline); // the mount knows the new directory as empty until its TTL
        var archive = Path.Combine(local, "from-mount.tar");
        await Tool("tar", CopyTimeout, "-c", "-f", archive, "-C", onMount, "seeded");
        var unpacked = Path.Combine(local, "unpacked");
        Directory.CreateDirectory(unpacked);
        await Tool("tar", CopyTimeout, "-x", "-f", archive, "-C", unpacked);
        TreeDigest.Of(Path.Combine(unpacked, "seeded")).AssertSameAs(expected, "tar c of the mounted directory, unpacked locally");

        // tar x: a local archive unpacked into the mount. tar restores each file's mode (fchmod) and mtime (futimens:
        // MDTM on vsftpd), and at the end each directory's mtime, which vsftpd 3.0.3 cannot set (no MFMT; MDTM sets files
        // only). The mount answers that utimensat with ENOTSUP rather than pretend (README, "Known limits of FTP
        // semantics"); tar reports each directory and exits 2. Nothing else may fail. (GNU tar has no option to skip only
        // directory times; -m would drop the files' times too.)
        var toMount = Path.Combine(local, "to-mount.tar");
        await Tool("tar", CopyTimeout, "-c", "-f", toMount, "-C", local, "tree");
        await OnMountAsync(() => Directory.CreateDirectory(Path.Combine(onMount, "x")));
        var extract = await ExternalTool.RunAsync(output, "tar", ["-x", "-f", toMount, "-C", Path.Combine(onMount, "x")], CopyTimeout);
        Assert.True(extract.ExitCode == 2, $"tar x onto vsftpd: expected exit 2 (directory times not settable), got {extract}\n{HostDiagnostics()}");
        var tarPrefix = ExternalTool.Resolve("tar") + ": "; // GNU tar names itself by argv[0]
        var refused = extract.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l != tarPrefix + "Exiting with failure status due to previous errors")
            .Select(l => l.StartsWith(tarPrefix, StringComparison.Ordinal) && l.EndsWith(": Cannot utime: " + DirectoryTimesError, StringComparison.Ordinal)
                ? l[tarPrefix.Length..^(": Cannot utime: " + DirectoryTimesError).Length]
                : throw new Xunit.Sdk.XunitException($"tar x into the mount failed with more than directory times: \"{l}\"\n{extract}\n{HostDiagnostics()}"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(DirectoriesOf(source, "tree"), refused);
        output.WriteLine($"tar x: the mtimes of all {refused.Count} directories refused with \"{DirectoryTimesError}\", nothing else failed");
        TreeDigest.Of(Path.Combine(onServer, "x", "tree")).AssertSameAs(expected, "the server's copy after tar x into the mount");
        (await OnMountAsync(() => TreeDigest.Of(Path.Combine(onMount, "x", "tree")))).AssertSameAs(expected, "tar x into the mount, read back through it");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var want = File.GetLastWriteTimeUtc(file);
            var stored = File.GetLastWriteTimeUtc(Path.Combine(onServer, "x", "tree", relative));
            Assert.True(stored == want, $"tar x restored mtime of {relative}: the server has {stored:O}, the archive {want:O}");
        }

        TreeDigest.AssertSameModes(source, Path.Combine(onServer, "x", "tree"), "tar x restores permission bits (it creates with group/other bits cleared, then fchmods), on the server");
    });

    /// <summary>How the mount answers utimensat on a directory of a server that cannot date directories (vsftpd 3.0.3):
    /// ENOTSUP, as tar and rsync print it (README, "Known limits of FTP semantics").</summary>
    private const string DirectoryTimesError = "Operation not supported";

    /// <summary>Every directory under <paramref name="root"/> (itself included), as "prefix/relative" ("prefix" for itself).</summary>
    private static List<string> DirectoriesOf(string root, string prefix) =>
        Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)
            .Select(d => prefix == "." ? Path.GetRelativePath(root, d) : prefix + "/" + Path.GetRelativePath(root, d))
            .Append(prefix)
            .Order(StringComparer.Ordinal)
            .ToList();

    private static DateTime WholeSeconds(DateTime t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
}
