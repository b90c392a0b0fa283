namespace FtpsMount.Fuse.Tests.RealTools;

// rsync -a onto the mount, whole-file (temp file + rename) and --inplace (delta writes into the existing files).
public sealed partial class RealToolsTests
{
    private static readonly TimeSpan RsyncTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public Task Rsync_a_onto_the_mount_without_and_with_inplace() => RunAsync(TimeSpan.FromMinutes(12), async () =>
    {
        var local = LocalDirectory("rsync");
        var source = Path.Combine(local, "src");
        Directory.CreateDirectory(source);
        TestTree.Create(source, seed: 3, smallFiles: 200, largeFileBytes: 5 * 1024 * 1024);
        var (onMount, onServer) = await MountDirectoryAsync("rsync");

        // Round 1: into empty destinations. Without --inplace rsync writes ".name.XXXXXX" and renames it over the name;
        // with --inplace it writes the destination file directly.
        foreach (var inplace in new[] { false, true })
        {
            await SyncAndCompareAsync(source, onMount, onServer, inplace, "first copy");
        }

        // Round 2: the source changes (bytes in the middle of the large file, appends, truncations, deletions, new
        // files and a new directory). --no-whole-file makes rsync use its delta algorithm on the destination copy it
        // reads back through the mount; with --inplace only the changed blocks are written, in place.
        MutateTree(source);
        foreach (var inplace in new[] { false, true })
        {
            await SyncAndCompareAsync(source, onMount, onServer, inplace, "update", "--delete", "--no-whole-file");
        }

        // Round 3: nothing changed, so rsync's quick check (size and mtime, which -a preserved through the mount) must
        // find nothing to transfer.
        foreach (var inplace in new[] { false, true })
        {
            var dest = Path.Combine(onMount, inplace ? "inplace" : "plain");
            var again = await Tool("rsync", RsyncTimeout, RsyncArguments(inplace, ["-i", "--delete"], source, dest));
            var transfers = again.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => !l.StartsWith(".d", StringComparison.Ordinal)) // directories: their times are not kept (-O)
                .ToList();
            Assert.True(transfers.Count == 0,
                $"a second rsync -a{(inplace ? " --inplace" : "")} of an unchanged tree still itemized {transfers.Count} files (size, mtime or permission bits not as rsync -a set them through the mount?):\n  " +
                string.Join("\n  ", transfers.Take(30)));
        }
    });

    /// <summary>
    /// rsync -a -O [--inplace] SOURCE/ DEST/ (exit 0 required), then diff -r against the source (through the mount), a
    /// digest of the server's own copy, the files' permission bits and mtimes on the server.
    /// </summary>
    /// <remarks>vsftpd 3.0.3 cannot set a directory's modification time (no MFMT; MDTM sets files only) and the mount
    /// answers utimensat on a directory with ENOTSUP; --omit-dir-times (-O) is rsync's option for such filesystems (README,
    /// "Known limits of FTP semantics"). <see cref="Rsync_a_without_omit_dir_times_fails_only_on_directory_times"/> pins
    /// what plain -a does.</remarks>
    private async Task SyncAndCompareAsync(string source, string onMount, string onServer, bool inplace, string round, params string[] extra)
    {
        var name = inplace ? "inplace" : "plain";
        var dest = Path.Combine(onMount, name);
        await Tool("rsync", RsyncTimeout, RsyncArguments(inplace, extra, source, dest));
        await Tool("diff", RsyncTimeout, "-r", source, dest);
        TreeDigest.Of(Path.Combine(onServer, name)).AssertSameAs(TreeDigest.Of(source), $"the server's copy after rsync -a{(inplace ? " --inplace" : "")} ({round})");
        TreeDigest.AssertSameModes(source, Path.Combine(onServer, name), $"rsync -a{(inplace ? " --inplace" : "")} ({round}) keeps permission bits, on the server");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var stored = File.GetLastWriteTimeUtc(Path.Combine(onServer, name, relative));
            var want = File.GetLastWriteTimeUtc(file);
            Assert.True(stored == WholeSeconds(want), /* FTP keeps whole seconds */ $"rsync -a kept the mtime of {relative}: the server has {stored:O}, the source {want:O} ({round})");
        }
    }

    private static string[] RsyncArguments(bool inplace, string[] extra, string source, string dest) =>
        ["-a", "--omit-dir-times", .. (inplace ? new[] { "--inplace" } : []), .. extra, source + "/", dest + "/"];

    [Fact]
    public Task Rsync_a_without_omit_dir_times_fails_only_on_directory_times() => RunAsync(TimeSpan.FromMinutes(5), async () =>
    {
        // Plain `rsync -a` (no -O): every file arrives byte-exact with its mode and mtime; the only failures are the
        // directories' mtimes, which vsftpd 3.0.3 cannot set: the mount answers ENOTSUP and rsync exits 23.
        var local = LocalDirectory("rsync-dirtimes");
        var source = Path.Combine(local, "src");
        Directory.CreateDirectory(source);
        TestTree.Create(source, seed: 4, smallFiles: 40, largeFileBytes: 200_000);
        var (onMount, onServer) = await MountDirectoryAsync("rsync-dirtimes");
        var dest = Path.Combine(onMount, "d");
        var result = await ExternalTool.RunAsync(output, "rsync", ["-a", "--8-bit-output", source + "/", dest + "/"], RsyncTimeout);
        Assert.True(result.ExitCode == 23, $"rsync -a onto vsftpd: expected exit 23 (directory times not settable), got {result}\n{HostDiagnostics()}");

        const string Prefix = "failed to set times on \"";
        var suffix = $"\": {DirectoryTimesError} (95)";
        var complaints = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("rsync error: some files/attrs were not transferred", StringComparison.Ordinal))
            .ToList();
        var other = complaints.Where(l => !l.Contains(Prefix, StringComparison.Ordinal) || !l.EndsWith(suffix, StringComparison.Ordinal)).ToList();
        Assert.True(other.Count == 0, $"rsync -a complained about more than directory times:\n{result}\n{HostDiagnostics()}");
        var refused = complaints
            .Select(l => Path.GetRelativePath(dest, l[(l.IndexOf(Prefix, StringComparison.Ordinal) + Prefix.Length)..^suffix.Length]))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(DirectoriesOf(source, "."), refused);
        output.WriteLine($"rsync -a without -O: exit 23, the mtimes of all {refused.Count} directories refused with ENOTSUP, every file transferred");

        TreeDigest.Of(Path.Combine(onServer, "d")).AssertSameAs(TreeDigest.Of(source), "the server's copy after plain rsync -a");
        TreeDigest.AssertSameModes(source, Path.Combine(onServer, "d"), "plain rsync -a keeps permission bits, on the server");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var stored = File.GetLastWriteTimeUtc(Path.Combine(onServer, "d", relative));
            Assert.True(stored == File.GetLastWriteTimeUtc(file), $"rsync -a set the mtime of {relative}: the server has {stored:O}, the source {File.GetLastWriteTimeUtc(file):O}");
        }
    });

    /// <summary>Deterministic changes of every kind rsync has to carry over.</summary>
    private static void MutateTree(string root)
    {
        var large = Path.Combine(root, "data", "large.bin");
        using (var stream = new FileStream(large, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            stream.Write(new byte[100].Select((_, i) => (byte)(i * 7)).ToArray());
            stream.Position = 10;
            stream.Write("patched near the start"u8);
        }

        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => f != large).Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < files.Count; i++)
        {
            switch (i % 10)
            {
                case 0:
                    File.AppendAllText(files[i], $"appended line {i}\n");
                    break;
                case 3:
                    using (var s = new FileStream(files[i], FileMode.Open))
                    {
                        s.SetLength(s.Length / 2);
                    }

                    break;
                case 7:
                    File.Delete(files[i]);
                    break;
            }
        }

        Directory.CreateDirectory(Path.Combine(root, "new-dir", "nested"));
        File.WriteAllText(Path.Combine(root, "new-dir", "nested", "new.txt"), "new file\n");
        File.WriteAllBytes(Path.Combine(root, "new-file.bin"), new byte[70_000].Select((_, i) => (byte)i).ToArray());
    }
}
