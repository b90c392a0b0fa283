using Xunit;

namespace FtpsMount.Testing.Conformance;

// rename, unlink, mkdir, rmdir, readdir.
public abstract partial class ConformanceTests
{
    [Fact]
    public Task Rename_a_file() => RunAsync(async s =>
    {
        var data = TestData.Bytes(80_000, 20);
        await s.WriteAsync(s.P("a"), data);
        _ = await s.ReadAsync(s.P("a"));
        await s.Target.RenameAsync(s.P("a"), s.P("b"), noReplace: false, s.Ct);
        await s.AssertMissingAsync(s.P("a"), "old name after rename");
        await Fails(FsTargetError.NotFound, () => s.ReadAsync(s.P("a")), "read of the old name after rename");
        await s.AssertContentAsync(s.P("b"), data, "new name after rename");
        await s.AssertNamesAsync(s.Dir, ["b"], "after rename a → b");
        await s.AssertStoredAsync(s.P("b"), data, "after rename");
    });

    [Fact]
    public Task Rename_replaces_an_existing_file() => RunAsync(async s =>
    {
        var a = TestData.Bytes(10_000, 21);
        await s.WriteAsync(s.P("a"), a);
        await s.WriteAsync(s.P("b"), TestData.Bytes(90_000, 22));
        _ = await s.ReadAsync(s.P("b")); // the target's cached copy of b must not survive
        await s.Target.RenameAsync(s.P("a"), s.P("b"), noReplace: false, s.Ct);
        await s.AssertMissingAsync(s.P("a"), "source after replacing rename");
        await s.AssertContentAsync(s.P("b"), a, "target after replacing rename holds the source's bytes");
        await s.AssertNamesAsync(s.Dir, ["b"], "after rename a → existing b");
        await s.AssertStoredAsync(s.P("b"), a, "after replacing rename");
    });

    [Fact]
    public Task Rename_with_noReplace_onto_an_existing_file_is_Exists() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("a"), TestData.Text("A"));
        await s.WriteAsync(s.P("b"), TestData.Text("B"));
        await Fails(FsTargetError.Exists, () => s.Target.RenameAsync(s.P("a"), s.P("b"), noReplace: true, s.Ct), "rename(RENAME_NOREPLACE) onto an existing file");
        await s.AssertContentAsync(s.P("a"), TestData.Text("A"), "source untouched by a refused rename");
        await s.AssertContentAsync(s.P("b"), TestData.Text("B"), "target untouched by a refused rename");
        await s.Target.RenameAsync(s.P("a"), s.P("c"), noReplace: true, s.Ct);
        await s.AssertNamesAsync(s.Dir, ["b", "c"], "rename(RENAME_NOREPLACE) to a free name works");
    });

    [Fact]
    public Task Rename_into_another_directory() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("src"), s.Ct);
        await s.Target.CreateDirectoryAsync(s.P("dst"), s.Ct);
        var data = TestData.Bytes(5000, 23);
        await s.WriteAsync(s.P("src/f"), data);
        await s.AssertNamesAsync(s.P("dst"), [], "dst starts empty"); // warm the listing
        await s.Target.RenameAsync(s.P("src/f"), s.P("dst/g"), noReplace: false, s.Ct);
        await s.AssertNamesAsync(s.P("src"), [], "source directory after moving its file out");
        await s.AssertNamesAsync(s.P("dst"), ["g"], "destination directory after moving a file in");
        await s.AssertContentAsync(s.P("dst/g"), data, "moved file");
    });

    [Fact]
    public Task Rename_a_directory_with_its_contents() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.Target.CreateDirectoryAsync(s.P("d/sub"), s.Ct);
        var a = TestData.Bytes(3000, 24);
        var b = TestData.Bytes(4000, 25);
        await s.WriteAsync(s.P("d/a"), a);
        await s.WriteAsync(s.P("d/sub/b"), b);
        _ = await s.ReadAsync(s.P("d/sub/b"));
        await s.AssertNamesAsync(s.P("d/sub"), ["b"], "before");
        await s.Target.RenameAsync(s.P("d"), s.P("e"), noReplace: false, s.Ct);
        await s.AssertMissingAsync(s.P("d"), "old directory name");
        await s.AssertMissingAsync(s.P("d/a"), "a file under the old directory name");
        await s.AssertMissingAsync(s.P("d/sub/b"), "a nested file under the old directory name");
        Assert.True((await s.StatAsync(s.P("e"))).IsDirectory, "the renamed directory is a directory");
        await s.AssertNamesAsync(s.Dir, ["e"], "parent after renaming d → e");
        await s.AssertNamesAsync(s.P("e"), ["a", "sub"], "renamed directory");
        await s.AssertContentAsync(s.P("e/a"), a, "file under the renamed directory");
        await s.AssertContentAsync(s.P("e/sub/b"), b, "nested file under the renamed directory");
    });

    [Fact]
    public Task Rename_an_open_file_then_write_through_the_handle() => RunAsync(async s =>
    {
        if (!s.Target.Capabilities.RenameOpenFile)
        {
            s.Log("capability: this target declares that a handle does not follow a rename; checking only that the rename itself works.");
        }

        var file = await s.Target.OpenAsync(s.P("old"), FsOpenRequest.CreateNew, s.Ct);
        await using (file)
        {
            await file.WriteAtAsync(0, TestData.Text("abc"), s.Ct);
            await s.Target.RenameAsync(s.P("old"), s.P("new"), noReplace: false, s.Ct);
            if (!s.Target.Capabilities.RenameOpenFile)
            {
                await file.CloseAsync(s.Ct);
                return;
            }

            await file.WriteAtAsync(3, TestData.Text("def"), s.Ct);
            var back = new byte[6];
            Assert.Equal(6, await file.ReadAtAsync(0, back, s.Ct));
            AssertBytes(TestData.Text("abcdef"), back, "read through the handle after the rename");
            await file.CloseAsync(s.Ct);
        }

        await s.AssertMissingAsync(s.P("old"), "old name after renaming the open file and closing it");
        await s.AssertContentAsync(s.P("new"), TestData.Text("abcdef"), "new name holds what was written before and after the rename");
        await s.AssertNamesAsync(s.Dir, ["new"], "listing after close");
        await s.AssertStoredAsync(s.P("new"), TestData.Text("abcdef"), "stored under the new name");
    });

    [Fact]
    public Task Rename_of_a_missing_path_is_NotFound() => RunAsync(async s =>
    {
        await Fails(FsTargetError.NotFound, () => s.Target.RenameAsync(s.P("missing"), s.P("x"), noReplace: false, s.Ct), "rename of a missing file");
        await s.AssertNamesAsync(s.Dir, [], "nothing appeared");
    });

    [Fact]
    public Task Rename_of_a_file_onto_a_directory_is_IsDirectory() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("f"), TestData.Text("f"));
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await Fails(FsTargetError.IsDirectory, () => s.Target.RenameAsync(s.P("f"), s.P("d"), noReplace: false, s.Ct), "rename of a file onto a directory");
        await s.AssertContentAsync(s.P("f"), TestData.Text("f"), "the file is untouched");
        Assert.True((await s.StatAsync(s.P("d"))).IsDirectory, "the directory is untouched");
    });

    [Fact]
    public Task Rename_of_a_directory_onto_an_empty_directory_replaces_it() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.WriteAsync(s.P("d/f"), TestData.Text("f"));
        await s.Target.CreateDirectoryAsync(s.P("empty"), s.Ct);
        await s.Target.RenameAsync(s.P("d"), s.P("empty"), noReplace: false, s.Ct);
        await s.AssertNamesAsync(s.Dir, ["empty"], "after rename d → existing empty directory");
        await s.AssertContentAsync(s.P("empty/f"), TestData.Text("f"), "content moved with the directory");
    });

    [Fact]
    public Task Rename_of_a_directory_onto_a_non_empty_directory_is_NotEmpty() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.Target.CreateDirectoryAsync(s.P("full"), s.Ct);
        await s.WriteAsync(s.P("full/x"), TestData.Text("x"));
        // Linux says ENOTEMPTY; POSIX also allows EEXIST.
        await Fails(FsTargetError.NotEmpty, () => s.Target.RenameAsync(s.P("d"), s.P("full"), noReplace: false, s.Ct),
            "rename of a directory onto a non-empty directory", FsTargetError.Exists);
        await s.AssertContentAsync(s.P("full/x"), TestData.Text("x"), "the non-empty directory keeps its file");
        await s.AssertNamesAsync(s.Dir, ["d", "full"], "both directories remain");
    });

    [Fact]
    public Task Unlink_removes_the_file() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("f"), TestData.Bytes(20_000, 26));
        await s.WriteAsync(s.P("g"), TestData.Text("g"));
        _ = await s.ReadAsync(s.P("f"));
        await s.AssertNamesAsync(s.Dir, ["f", "g"], "before unlink");
        await s.Target.DeleteFileAsync(s.P("f"), s.Ct);
        await s.AssertMissingAsync(s.P("f"), "after unlink");
        await Fails(FsTargetError.NotFound, () => s.ReadAsync(s.P("f")), "read after unlink");
        await s.AssertNamesAsync(s.Dir, ["g"], "after unlink");
        if (s.Target.Backdoor is { } backdoor)
        {
            Assert.Null(await backdoor.StatAsync(s.P("f"), s.Ct));
        }

        await s.WriteAsync(s.P("f"), TestData.Text("again"));
        await s.AssertContentAsync(s.P("f"), TestData.Text("again"), "a file re-created under an unlinked name");
    });

    [Fact]
    public Task Unlink_of_a_missing_file_is_NotFound() => RunAsync(async s =>
    {
        await Fails(FsTargetError.NotFound, () => s.Target.DeleteFileAsync(s.P("missing"), s.Ct), "unlink of a missing file");
        await Fails(FsTargetError.NotFound, () => s.Target.DeleteFileAsync(s.P("nodir/missing"), s.Ct), "unlink under a missing directory");
    });

    [Fact]
    public Task Unlink_of_a_directory_is_IsDirectory() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await Fails(FsTargetError.IsDirectory, () => s.Target.DeleteFileAsync(s.P("d"), s.Ct), "unlink of a directory (Linux: EISDIR)");
        Assert.True((await s.StatAsync(s.P("d"))).IsDirectory, "the directory survives");
    });

    [Fact]
    public Task Mkdir_creates_a_directory() => RunAsync(async s =>
    {
        await s.AssertNamesAsync(s.Dir, [], "empty at first");
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        var st = await s.StatAsync(s.P("d"));
        Assert.True(st.IsDirectory, $"stat after mkdir: {st}");
        await s.AssertNamesAsync(s.Dir, ["d"], "after mkdir");
        await s.AssertNamesAsync(s.P("d"), [], "a new directory is empty");
        await s.Target.CreateDirectoryAsync(s.P("d/e"), s.Ct);
        await s.WriteAsync(s.P("d/e/f"), TestData.Text("deep"));
        await s.AssertContentAsync(s.P("d/e/f"), TestData.Text("deep"), "a file in a nested new directory");
    });

    [Fact]
    public Task Mkdir_of_an_existing_name_is_Exists() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.WriteAsync(s.P("f"), TestData.Text("f"));
        await Fails(FsTargetError.Exists, () => s.Target.CreateDirectoryAsync(s.P("d"), s.Ct), "mkdir of an existing directory");
        await Fails(FsTargetError.Exists, () => s.Target.CreateDirectoryAsync(s.P("f"), s.Ct), "mkdir of an existing file's name");
        await s.AssertContentAsync(s.P("f"), TestData.Text("f"), "the file is untouched");
    });

    [Fact]
    public Task Mkdir_under_a_missing_directory_is_NotFound() => RunAsync(async s =>
    {
        await Fails(FsTargetError.NotFound, () => s.Target.CreateDirectoryAsync(s.P("nodir/d"), s.Ct), "mkdir under a missing directory");
        await s.AssertNamesAsync(s.Dir, [], "no parent was created implicitly");
    });

    [Fact]
    public Task Rmdir_removes_an_empty_directory() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.AssertNamesAsync(s.P("d"), [], "warm listing");
        await s.Target.RemoveDirectoryAsync(s.P("d"), s.Ct);
        await s.AssertMissingAsync(s.P("d"), "after rmdir");
        await s.AssertNamesAsync(s.Dir, [], "after rmdir");
        await Fails(FsTargetError.NotFound, () => s.Target.ListAsync(s.P("d"), s.Ct), "readdir of a removed directory");
    });

    [Fact]
    public Task Rmdir_of_a_non_empty_directory_is_NotEmpty() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.WriteAsync(s.P("d/f"), TestData.Text("f"));
        await Fails(FsTargetError.NotEmpty, () => s.Target.RemoveDirectoryAsync(s.P("d"), s.Ct), "rmdir of a directory holding a file");
        await s.AssertContentAsync(s.P("d/f"), TestData.Text("f"), "the file survives a refused rmdir");
        await s.Target.DeleteFileAsync(s.P("d/f"), s.Ct);
        await s.Target.CreateDirectoryAsync(s.P("d/sub"), s.Ct);
        await Fails(FsTargetError.NotEmpty, () => s.Target.RemoveDirectoryAsync(s.P("d"), s.Ct), "rmdir of a directory holding a directory");
        await s.Target.RemoveDirectoryAsync(s.P("d/sub"), s.Ct);
        await s.Target.RemoveDirectoryAsync(s.P("d"), s.Ct);
        await s.AssertNamesAsync(s.Dir, [], "after emptying and removing");
    });

    [Fact]
    public Task Rmdir_of_a_missing_directory_is_NotFound() => RunAsync(async s =>
    {
        await Fails(FsTargetError.NotFound, () => s.Target.RemoveDirectoryAsync(s.P("missing"), s.Ct), "rmdir of a missing directory");
    });

    [Fact]
    public Task Rmdir_of_a_file_is_NotDirectory() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("f"), TestData.Text("f"));
        await Fails(FsTargetError.NotDirectory, () => s.Target.RemoveDirectoryAsync(s.P("f"), s.Ct), "rmdir of a regular file");
        await s.AssertContentAsync(s.P("f"), TestData.Text("f"), "the file survives");
    });

    [Fact]
    public Task Readdir_lists_exact_names_kinds_and_sizes() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("a.txt"), TestData.Bytes(123, 27));
        await s.WriteAsync(s.P("B.TXT"), TestData.Bytes(4567, 28));
        await s.WriteAsync(s.P("b.txt"), []);
        await s.Target.CreateDirectoryAsync(s.P("sub"), s.Ct);
        var entries = await s.Target.ListAsync(s.Dir, s.Ct);
        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        await s.AssertNamesAsync(s.Dir, ["a.txt", "B.TXT", "b.txt", "sub"], "names are exact and case-sensitive");
        Assert.True(byName["a.txt"] is { IsFile: true, Size: 123 }, $"a.txt: {byName["a.txt"]}");
        Assert.True(byName["B.TXT"] is { IsFile: true, Size: 4567 }, $"B.TXT: {byName["B.TXT"]}");
        Assert.True(byName["b.txt"] is { IsFile: true, Size: 0 }, $"b.txt: {byName["b.txt"]}");
        Assert.True(byName["sub"].IsDirectory, $"sub: {byName["sub"]}");
        Assert.DoesNotContain(entries, e => e.Name is "." or ".." or "");
    });

    [Fact]
    public Task Readdir_reflects_own_changes_at_once() => RunAsync(async s =>
    {
        await s.AssertNamesAsync(s.Dir, [], "empty (and now cached, if the target caches)");
        await s.WriteAsync(s.P("a"), TestData.Text("a"));
        await s.AssertNamesAsync(s.Dir, ["a"], "after create");
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        await s.AssertNamesAsync(s.Dir, ["a", "d"], "after mkdir");
        await s.Target.RenameAsync(s.P("a"), s.P("b"), noReplace: false, s.Ct);
        await s.AssertNamesAsync(s.Dir, ["b", "d"], "after rename");
        await s.Target.RenameAsync(s.P("b"), s.P("d/b"), noReplace: false, s.Ct);
        await s.AssertNamesAsync(s.Dir, ["d"], "after moving b into d");
        await s.AssertNamesAsync(s.P("d"), ["b"], "d after moving b in");
        await s.Target.DeleteFileAsync(s.P("d/b"), s.Ct);
        await s.AssertNamesAsync(s.P("d"), [], "d after unlink");
        await s.Target.RemoveDirectoryAsync(s.P("d"), s.Ct);
        await s.AssertNamesAsync(s.Dir, [], "after rmdir");
        var big = TestData.Bytes(70_000, 29);
        await s.WriteAsync(s.P("size"), TestData.Text("1"));
        _ = await s.Target.ListAsync(s.Dir, s.Ct);
        await s.WriteAsync(s.P("size"), big);
        var entry = (await s.Target.ListAsync(s.Dir, s.Ct)).Single(e => e.Name == "size");
        Assert.True(entry.Size == big.Length, $"readdir size after rewriting a listed file: {entry.Size}, expected {big.Length}");
    });

    [Fact]
    public Task Readdir_of_a_missing_path_is_NotFound_and_of_a_file_NotDirectory() => RunAsync(async s =>
    {
        await Fails(FsTargetError.NotFound, () => s.Target.ListAsync(s.P("missing"), s.Ct), "readdir of a missing directory");
        await s.WriteAsync(s.P("f"), TestData.Text("f"));
        await Fails(FsTargetError.NotDirectory, () => s.Target.ListAsync(s.P("f"), s.Ct), "readdir of a regular file");
    });
}
