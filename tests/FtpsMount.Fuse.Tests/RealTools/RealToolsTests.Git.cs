namespace FtpsMount.Fuse.Tests.RealTools;

// git clone of a local repository onto the mount, and work in the clone there.
public sealed partial class RealToolsTests
{
    private static readonly TimeSpan GitTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public Task Git_clone_onto_the_mount_is_clean_and_has_the_history() => RunAsync(TimeSpan.FromMinutes(8), async () =>
    {
        var local = LocalDirectory("git");
        var repo = Path.Combine(local, "repo");
        Directory.CreateDirectory(repo);
        var env = GitEnvironment(local);

        await ToolIn(repo, "git", GitTimeout, env, "init", "-q", "-b", "main");
        File.WriteAllText(Path.Combine(repo, "README.md"), "# demo\n");
        Directory.CreateDirectory(Path.Combine(repo, "src", "lib"));
        File.WriteAllText(Path.Combine(repo, "src", "lib", "a.c"), "int a(void) { return 1; }\n");
        await ToolIn(repo, "git", GitTimeout, env, "add", "-A");
        await ToolIn(repo, "git", GitTimeout, env, "commit", "-q", "-m", "first: readme and a.c");

        File.WriteAllText(Path.Combine(repo, "run.sh"), "#!/bin/sh\necho run\n");
        File.SetUnixFileMode(Path.Combine(repo, "run.sh"), (UnixFileMode)0x1ED); // executable: git status compares the x bit
        File.WriteAllBytes(Path.Combine(repo, "src", "blob.bin"), new byte[300_000].Select((_, i) => (byte)(i * 31 % 251)).ToArray());
        await ToolIn(repo, "git", GitTimeout, env, "add", "-A");
        await ToolIn(repo, "git", GitTimeout, env, "commit", "-q", "-m", "second: executable script and a binary");

        await ToolIn(repo, "git", GitTimeout, env, "mv", "src/lib/a.c", "src/lib/renamed.c");
        File.AppendAllText(Path.Combine(repo, "README.md"), "more text\n");
        await ToolIn(repo, "git", GitTimeout, env, "commit", "-q", "-a", "-m", "third: rename and edit");
        var expectedLog = (await ToolIn(repo, "git", GitTimeout, env, "log", "--format=%H %s")).StandardOutput;

        var (onMount, onServer) = await MountDirectoryAsync("git");
        var clone = Path.Combine(onMount, "clone");
        await ToolIn(local, "git", GitTimeout, env, "clone", "-q", repo, clone);

        var status = await ToolIn(clone, "git", GitTimeout, env, "status", "--porcelain=v1", "--untracked-files=all");
        Assert.True(status.StandardOutput.Length == 0, $"git status in the clone on the mount is not clean:\n{status.StandardOutput}");
        var log = await ToolIn(clone, "git", GitTimeout, env, "log", "--format=%H %s");
        Assert.Equal(expectedLog, log.StandardOutput);
        Assert.Equal(3, log.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        await ToolIn(clone, "git", GitTimeout, env, "fsck", "--full", "--strict", "--no-progress");
        Assert.True(File.Exists(Path.Combine(onServer, "clone", "src", "lib", "renamed.c")), "the work tree reached the server");
        Assert.True(Directory.Exists(Path.Combine(onServer, "clone", ".git", "objects")), "the object store reached the server");

        // git checks run.sh out with open(O_CREAT, 0777 & ~umask): the executable bit must be on the server, or the
        // clone turns dirty ("old mode 100755, new mode 100644") as soon as the mount's cached attributes are refreshed.
        var script = Path.Combine(onServer, "clone", "run.sh");
        Assert.True(File.GetUnixFileMode(script) == (UnixFileMode)0x1ED,
            $"git checked out run.sh (mode 100755 in the commit) onto the mount; the server has mode {Convert.ToString((int)File.GetUnixFileMode(script), 8)}");

        // Work in the clone: edit, commit (index.lock, ref locks, renames over existing files), status clean again.
        await OnMountAsync(() => File.AppendAllText(Path.Combine(clone, "README.md"), "edited on the mount\n"));
        var dirty = await ToolIn(clone, "git", GitTimeout, env, "status", "--porcelain=v1");
        Assert.Equal(" M README.md\n", dirty.StandardOutput);
        await ToolIn(clone, "git", GitTimeout, env, "commit", "-q", "-a", "-m", "fourth: made on the mount");
        var clean = await ToolIn(clone, "git", GitTimeout, env, "status", "--porcelain=v1", "--untracked-files=all");
        Assert.True(clean.StandardOutput.Length == 0, $"git status after committing on the mount:\n{clean.StandardOutput}");
        var after = await ToolIn(clone, "git", GitTimeout, env, "log", "--format=%s");
        Assert.StartsWith("fourth: made on the mount\nthird: rename and edit\n", after.StandardOutput, StringComparison.Ordinal);

        // gc: packs the loose objects (temp files renamed into place, loose objects deleted); the repository stays sound.
        await ToolIn(clone, "git", GitTimeout, env, "gc", "-q");
        await ToolIn(clone, "git", GitTimeout, env, "fsck", "--full", "--strict", "--no-progress");

        // A second, fresh mount (cold kernel and Core caches, everything from the server) sees the same clean clone.
        var second = await mount.StartSecondClientAsync(CancellationToken.None);
        await using (second)
        {
            var cloneThere = Path.Combine(second.RootDirectory, Path.GetFileName(onMount), "clone");
            var fresh = await ToolIn(cloneThere, "git", GitTimeout, env, "status", "--porcelain=v1", "--untracked-files=all");
            Assert.True(fresh.StandardOutput.Length == 0, $"git status of the clone through a fresh mount is not clean:\n{fresh.StandardOutput}");
            var freshLog = await ToolIn(cloneThere, "git", GitTimeout, env, "log", "--format=%s");
            Assert.Equal(after.StandardOutput, freshLog.StandardOutput);
        }
    });

    /// <summary>No user or system configuration; a fixed identity; the clone on the mount counts as a safe directory
    /// whoever the mount says owns it.</summary>
    private static Dictionary<string, string> GitEnvironment(string home) => new(StringComparer.Ordinal)
    {
        ["HOME"] = home,
        ["GIT_CONFIG_NOSYSTEM"] = "1",
        ["GIT_CONFIG_GLOBAL"] = "/dev/null",
        ["GIT_CONFIG_COUNT"] = "1",
        ["GIT_CONFIG_KEY_0"] = "safe.directory",
        ["GIT_CONFIG_VALUE_0"] = "*",
        ["GIT_AUTHOR_NAME"] = "FtpsMount Test",
        ["GIT_AUTHOR_EMAIL"] = "test@ftpsmount.invalid",
        ["GIT_COMMITTER_NAME"] = "FtpsMount Test",
        ["GIT_COMMITTER_EMAIL"] = "test@ftpsmount.invalid",
        ["GIT_TERMINAL_PROMPT"] = "0",
    };
}
