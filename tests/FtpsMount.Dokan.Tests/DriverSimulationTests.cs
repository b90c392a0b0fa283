using System.Text;
using FtpsMount.Dokan.Native;
using static FtpsMount.Dokan.Native.NtStatus;
using static FtpsMount.Dokan.Native.WinConst;
using static FtpsMount.Dokan.Tests.DokanDriverSimulator;

namespace FtpsMount.Dokan.Tests;

/// <summary>
/// The Dokan callbacks, called through their native function pointers with native memory laid out as the driver passes
/// it (<see cref="DokanDriverSimulator"/>), over the real Core connected to a real vsftpd; results are checked on the
/// server's disk. What only a Windows machine can show (the driver's own behaviour) is listed in the README.
/// </summary>
[Collection(DokanSimulationCollection.Name)]
public sealed unsafe class DriverSimulationTests(VsftpdCoreFixture fixture) : IClassFixture<VsftpdCoreFixture>
{
    private (DokanDriverSimulator Driver, RecordingHost Host, DokanAdapter Adapter) Start(DokanMountOptions? options = null, Core.FileSystem.IRemoteFileSystem? fs = null)
    {
        var host = new RecordingHost();
        var adapter = new DokanAdapter(fs ?? fixture.FileSystem, options ?? new DokanMountOptions(), host);
        return (new DokanDriverSimulator(adapter), host, adapter);
    }

    private string Local(string windowsPath) => fixture.Server.GetLocalPath(windowsPath.Replace('\\', '/'));

    [Fact]
    public void CreateDisposition_table_for_existing_files_directories_and_missing_names()
    {
        var (d, _, adapter) = Start();
        using var sim = d;
        var dir = fixture.NewDirectory("disp");
        // disposition → (existing file, existing directory, missing name)
        var table = new (uint Disposition, int File, int Directory, int Missing)[]
        {
            (FILE_SUPERSEDE, STATUS_OBJECT_NAME_COLLISION, STATUS_FILE_IS_A_DIRECTORY, STATUS_SUCCESS),
            (FILE_OPEN, STATUS_SUCCESS, STATUS_SUCCESS, STATUS_OBJECT_NAME_NOT_FOUND),
            (FILE_CREATE, STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_COLLISION, STATUS_SUCCESS),
            (FILE_OPEN_IF, STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_COLLISION, STATUS_SUCCESS),
            (FILE_OVERWRITE, STATUS_SUCCESS, STATUS_FILE_IS_A_DIRECTORY, STATUS_OBJECT_NAME_NOT_FOUND),
            (FILE_OVERWRITE_IF, STATUS_OBJECT_NAME_COLLISION, STATUS_FILE_IS_A_DIRECTORY, STATUS_SUCCESS),
        };
        var problems = new List<string>();
        foreach (var (disposition, onFile, onDirectory, onMissing) in table)
        {
            var file = $"{dir}\\file{disposition}.txt";
            var sub = $"{dir}\\dir{disposition}";
            fixture.Server.SeedFile(file.Replace('\\', '/'), "old content"u8);
            fixture.Server.SeedDirectory(sub.Replace('\\', '/'));
            Check(file, onFile, "existing file");
            Check(sub, onDirectory, "existing directory");
            Check($"{dir}\\new{disposition}.txt", onMissing, "missing name");

            var truncates = disposition is FILE_SUPERSEDE or FILE_OVERWRITE or FILE_OVERWRITE_IF;
            var expectedLength = truncates ? 0 : "old content".Length;
            if (new FileInfo(Local(file)).Length != expectedLength)
            {
                problems.Add($"disposition {disposition}: {file} is {new FileInfo(Local(file)).Length} bytes, expected {expectedLength}");
            }

            if (onMissing == STATUS_SUCCESS != File.Exists(Local($"{dir}\\new{disposition}.txt")))
            {
                problems.Add($"disposition {disposition}: the missing name was {(onMissing == STATUS_SUCCESS ? "not " : "")}created on the server");
            }

            void Check(string path, int expected, string what)
            {
                var rc = d.Create(path, GenericReadWrite, disposition, 0, out var open);
                if (rc != expected)
                {
                    problems.Add($"disposition {disposition} on {what}: 0x{rc:X8}, expected 0x{expected:X8}");
                }

                if (Opened(rc, disposition))
                {
                    if (open.IsDirectory != (what == "existing directory"))
                    {
                        problems.Add($"disposition {disposition} on {what}: IsDirectory = {open.IsDirectory}");
                    }

                    d.Close(open);
                }
                else
                {
                    open.Dispose();
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.Equal(0, adapter.OpenCount);
    }

    [Fact]
    public void Directory_and_file_option_rules()
    {
        var (d, host, _) = Start();
        using var sim = d;
        var dir = fixture.NewDirectory("rules");
        fixture.Server.SeedFile(dir.Replace('\\', '/') + "/f.txt", "x"u8);

        Assert.Equal(STATUS_NOT_A_DIRECTORY, d.Create($"{dir}\\f.txt", GenericRead, FILE_OPEN, FILE_DIRECTORY_FILE, out var o1));
        o1.Dispose();
        Assert.Equal(STATUS_FILE_IS_A_DIRECTORY, d.Create(dir, GenericRead, FILE_OPEN, FILE_NON_DIRECTORY_FILE, out var o2));
        o2.Dispose();
        Assert.Equal(STATUS_OBJECT_PATH_NOT_FOUND, d.Create($"{dir}\\missing\\x.txt", GenericReadWrite, FILE_CREATE, 0, out var o3));
        o3.Dispose();
        Assert.Equal(STATUS_OBJECT_PATH_NOT_FOUND, d.Create($"{dir}\\f.txt\\x.txt", GenericReadWrite, FILE_CREATE, 0, out var o4));
        o4.Dispose();
        Assert.Equal(STATUS_INVALID_PARAMETER, d.Create($"{dir}\\sub", GenericRead, FILE_OVERWRITE_IF, FILE_DIRECTORY_FILE, out var o5));
        o5.Dispose();

        d.MakeDirectory($"{dir}\\sub");
        Assert.True(Directory.Exists(Local($"{dir}\\sub")));
        Assert.Contains($"create {dir}\\sub dir", host.Calls);
        // Opening a directory without either option works and says it is one.
        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\sub", GenericRead, FILE_OPEN, 0, out var sub));
        Assert.True(sub.IsDirectory);
        Assert.Equal(STATUS_INVALID_DEVICE_REQUEST, d.Read(sub, 0, 10, out _));
        d.Close(sub);

        // A non-empty directory can't be marked for deletion; an empty one can.
        Assert.Equal(STATUS_SUCCESS, d.Create(dir, GenericRead | DELETE, FILE_OPEN, FILE_DIRECTORY_FILE, out var top));
        Assert.Equal(STATUS_DIRECTORY_NOT_EMPTY, d.MarkForDeletion(top));
        d.Close(top);
        Assert.True(Directory.Exists(Local(dir)));
        Assert.Equal(STATUS_DIRECTORY_NOT_EMPTY, d.Create(dir, DELETE, FILE_OPEN, FILE_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE, out var top2));
        top2.Dispose();
    }

    [Fact]
    public void Read_write_append_paging_and_length_changes_reach_the_server()
    {
        var (d, host, _) = Start();
        using var sim = d;
        var dir = fixture.NewDirectory("rw");
        var path = $"{dir}\\data.bin";
        Assert.Equal(STATUS_SUCCESS, d.Create(path, GenericReadWrite, FILE_CREATE, FILE_NON_DIRECTORY_FILE, out var f));
        Assert.Equal(STATUS_SUCCESS, d.Write(f, 0, "hello "u8.ToArray(), out var n1));
        Assert.Equal(6u, n1);
        Assert.Equal(STATUS_SUCCESS, d.Write(f, 999, "world"u8.ToArray(), out var n2, writeToEnd: true)); // WriteToEndOfFile ignores the offset
        Assert.Equal(5u, n2);
        Assert.Equal(STATUS_SUCCESS, d.Write(f, -1, "!"u8.ToArray(), out _)); // FILE_WRITE_TO_END_OF_FILE
        Assert.Equal(STATUS_SUCCESS, d.Write(f, 10, "XYZ"u8.ToArray(), out var n3, pagingIo: true)); // paging I/O: cut at EOF
        Assert.Equal(2u, n3);
        Assert.Equal(STATUS_SUCCESS, d.Write(f, 50, "zz"u8.ToArray(), out var n4, pagingIo: true));
        Assert.Equal(0u, n4);
        Assert.Equal(STATUS_SUCCESS, d.Read(f, 0, 100, out var all));
        Assert.Equal("hello worlXY", Encoding.ASCII.GetString(all));
        Assert.Equal(STATUS_SUCCESS, d.Read(f, 100, 10, out var past));
        Assert.Empty(past);
        Assert.Equal(STATUS_SUCCESS, d.GetInfo(f, out var info));
        Assert.Equal(12u, info.nFileSizeLow);
        Assert.Equal(STATUS_SUCCESS, d.Flush(f));
        Assert.Equal("hello worlXY", File.ReadAllText(Local(path)));

        Assert.Equal(STATUS_SUCCESS, d.SetEndOfFile(f, 5));
        Assert.Equal(STATUS_SUCCESS, d.SetAllocationSize(f, 4096)); // larger: nothing visible changes
        Assert.Equal(STATUS_SUCCESS, d.SetEndOfFile(f, 8)); // extends with zeros
        d.Close(f);
        Assert.Equal("hello\0\0\0", File.ReadAllText(Local(path)));
        Assert.Contains($"update {path}", host.Calls);

        // A read-only open can't write; a new open sees the uploaded content.
        Assert.Equal(STATUS_SUCCESS, d.Create(path, GenericRead, FILE_OPEN, 0, out var r));
        Assert.Equal(STATUS_ACCESS_DENIED, d.Write(r, 0, "no"u8.ToArray(), out _));
        Assert.Equal(STATUS_ACCESS_DENIED, d.SetAllocationSize(r, 2)); // cutting needs write access
        d.Close(r);

        var modified = new DateTimeOffset(2020, 2, 3, 4, 5, 6, TimeSpan.Zero);
        Assert.Equal(STATUS_SUCCESS, d.Create(path, FILE_WRITE_ATTRIBUTES, FILE_OPEN, 0, out var t));
        Assert.Equal(STATUS_SUCCESS, d.SetLastWriteTime(t, modified));
        d.Close(t);
        Assert.Equal(modified.UtcDateTime, File.GetLastWriteTimeUtc(Local(path)));
    }

    [Fact]
    public void Find_lists_with_dos_patterns_and_attributes()
    {
        var (d, _, _) = Start();
        using var sim = d;
        var dir = fixture.NewDirectory("find");
        var ftp = dir.Replace('\\', '/');
        fixture.Server.SeedFile(ftp + "/a.txt", "1"u8);
        fixture.Server.SeedFile(ftp + "/b.TXT", "22"u8);
        fixture.Server.SeedFile(ftp + "/c.txt.bak", "333"u8);
        fixture.Server.SeedFile(ftp + "/.hidden", ""u8);
        fixture.Server.SeedFile(ftp + "/bad:name", ""u8); // not representable on Windows
        fixture.Server.SeedDirectory(ftp + "/sub");

        Assert.Equal(STATUS_SUCCESS, d.Create(dir, GenericRead, FILE_OPEN, FILE_DIRECTORY_FILE, out var open));
        Assert.Equal(STATUS_SUCCESS, d.Find(open, null, out var all));
        Assert.Equal(new[] { ".", "..", ".hidden", "a.txt", "b.TXT", "c.txt.bak", "sub" }, all.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Equal(FILE_ATTRIBUTE_DIRECTORY, all.Single(f => f.Name == "sub").Attributes & FILE_ATTRIBUTE_DIRECTORY);
        Assert.Equal(FILE_ATTRIBUTE_HIDDEN, all.Single(f => f.Name == ".hidden").Attributes & FILE_ATTRIBUTE_HIDDEN);
        Assert.Equal(3, all.Single(f => f.Name == "c.txt.bak").Size);
        Assert.NotNull(all.Single(f => f.Name == "a.txt").Modified);

        Assert.Equal(STATUS_SUCCESS, d.Find(open, "*.txt", out var txt));
        Assert.Equal(new[] { "a.txt", "b.TXT" }, txt.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Equal(STATUS_SUCCESS, d.Find(open, "?.t>t", out var qm));
        Assert.Equal(new[] { "a.txt", "b.TXT" }, qm.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Equal(STATUS_SUCCESS, d.Find(open, "C.TXT.BAK", out var exact));
        Assert.Equal("c.txt.bak", Assert.Single(exact).Name);
        Assert.Equal(STATUS_SUCCESS, d.Find(open, "nothing*", out var none));
        Assert.Empty(none);
        d.Close(open);

        // The root lists without "." and "..".
        Assert.Equal(STATUS_SUCCESS, d.Create("\\", GenericRead, FILE_OPEN, FILE_DIRECTORY_FILE, out var root));
        Assert.Equal(STATUS_SUCCESS, d.Find(root, "find-*", out var rootEntries));
        Assert.DoesNotContain(rootEntries, e => e.Name is "." or "..");
        Assert.Contains(rootEntries, e => "\\" + e.Name == dir);
        d.Close(root);
    }

    [Fact]
    public void Rename_with_and_without_replace_and_case_only_rename()
    {
        var (d, host, _) = Start();
        using var sim = d;
        var dir = fixture.NewDirectory("mv");
        d.WriteWholeFile($"{dir}\\a.txt", "A");
        d.WriteWholeFile($"{dir}\\b.txt", "B");
        d.MakeDirectory($"{dir}\\sub");

        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\a.txt", DELETE, FILE_OPEN, 0, out var a));
        Assert.Equal(STATUS_OBJECT_NAME_COLLISION, d.Move(a, $"{dir}\\b.txt", replace: false));
        Assert.Equal("B", File.ReadAllText(Local($"{dir}\\b.txt")));
        Assert.Equal(STATUS_OBJECT_NAME_COLLISION, d.Move(a, $"{dir}\\B.TXT", replace: false)); // the collision is case-insensitive
        Assert.Equal(STATUS_ACCESS_DENIED, d.Move(a, $"{dir}\\sub", replace: true)); // a directory is never replaced
        Assert.Equal(STATUS_OBJECT_PATH_NOT_FOUND, d.Move(a, $"{dir}\\nowhere\\a.txt", replace: true));
        Assert.Equal(STATUS_SUCCESS, d.Move(a, $"{dir}\\b.txt", replace: true));
        Assert.Equal(STATUS_SUCCESS, d.GetInfo(a, out var info)); // the open follows the new name
        Assert.Equal(1u, info.nFileSizeLow);
        d.Close(a);
        Assert.False(File.Exists(Local($"{dir}\\a.txt")));
        Assert.Equal("A", File.ReadAllText(Local($"{dir}\\b.txt")));
        Assert.Contains($"rename {dir}\\a.txt -> {dir}\\b.txt file same-dir", host.Calls);

        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\b.txt", DELETE, FILE_OPEN, 0, out var b));
        Assert.Equal(STATUS_SUCCESS, d.Move(b, $"{dir}\\B.txt", replace: false)); // case-only rename
        d.Close(b);
        Assert.Equal(new[] { "B.txt", "sub" }, Directory.GetFileSystemEntries(Local(dir)).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\sub", DELETE, FILE_OPEN, FILE_DIRECTORY_FILE, out var sub));
        Assert.Equal(STATUS_SUCCESS, d.Move(sub, $"{dir}\\renamed", replace: false));
        d.Close(sub);
        Assert.True(Directory.Exists(Local($"{dir}\\renamed")));
        Assert.Contains($"rename {dir}\\sub -> {dir}\\renamed dir same-dir", host.Calls);
    }

    [Fact]
    public void Delete_on_close_removes_files_and_empty_directories_in_cleanup()
    {
        var (d, host, _) = Start();
        using var sim = d;
        var dir = fixture.NewDirectory("del");
        d.WriteWholeFile($"{dir}\\f.txt", "x");
        d.WriteWholeFile($"{dir}\\g.txt", "y");
        d.MakeDirectory($"{dir}\\empty");

        // DeleteFile(): open for DELETE, mark, Cleanup deletes.
        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\F.TXT", DELETE, FILE_OPEN, FILE_NON_DIRECTORY_FILE, out var f));
        Assert.Equal(STATUS_SUCCESS, d.MarkForDeletion(f));
        Assert.True(File.Exists(Local($"{dir}\\f.txt"))); // only checked so far
        d.Cleanup(f);
        Assert.False(File.Exists(Local($"{dir}\\f.txt")));
        d.CloseFile(f);
        Assert.Contains($"delete {dir}\\F.TXT file", host.Calls);

        // A withdrawn delete request (DeleteOnClose = 0) keeps the file.
        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\g.txt", DELETE, FILE_OPEN, 0, out var g));
        Assert.Equal(STATUS_SUCCESS, d.MarkForDeletion(g));
        Assert.Equal(STATUS_SUCCESS, d.MarkForDeletion(g, delete: false));
        d.Close(g);
        Assert.True(File.Exists(Local($"{dir}\\g.txt")));

        // FILE_DELETE_ON_CLOSE at create (temporary files).
        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\tmp.txt", GenericReadWrite, FILE_CREATE, FILE_DELETE_ON_CLOSE, out var tmp));
        Assert.Equal(STATUS_SUCCESS, d.Write(tmp, 0, "scratch"u8.ToArray(), out _));
        d.Close(tmp);
        Assert.False(File.Exists(Local($"{dir}\\tmp.txt")));

        // RemoveDirectory(): DeleteDirectory check, then Cleanup.
        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\empty", DELETE, FILE_OPEN, FILE_DIRECTORY_FILE, out var e));
        Assert.Equal(STATUS_SUCCESS, d.MarkForDeletion(e));
        d.Close(e);
        Assert.False(Directory.Exists(Local($"{dir}\\empty")));
    }

    [Fact]
    public void Names_are_found_case_insensitively_and_names_differing_only_by_case_stay_reachable()
    {
        var (d, _, _) = Start();
        using var sim = d;
        var dir = fixture.NewDirectory("Case");
        var ftp = dir.Replace('\\', '/');
        fixture.Server.SeedDirectory(ftp + "/Sub");
        fixture.Server.SeedFile(ftp + "/Sub/Readme.md", "mixed"u8);
        fixture.Server.SeedFile(ftp + "/Sub/README.md", "upper"u8);
        fixture.Server.SeedFile(ftp + "/Sub/only.TXT", "one"u8);

        Assert.Equal("one", d.ReadWholeFile($"{dir.ToUpperInvariant()}\\SUB\\ONLY.txt"));
        Assert.Equal("mixed", d.ReadWholeFile($"{dir}\\sub\\Readme.md")); // exact spelling: that entry
        Assert.Equal("upper", d.ReadWholeFile($"{dir}\\sub\\README.md"));
        Assert.Equal("upper", d.ReadWholeFile($"{dir}\\sub\\readme.MD")); // ambiguous: ordinal-first ("README.md" < "Readme.md")

        // Creating a name that exists in another case opens the existing entry (no third file).
        Assert.Equal(STATUS_OBJECT_NAME_COLLISION, d.Create($"{dir}\\sub\\ONLY.TXT", GenericReadWrite, FILE_OPEN_IF, 0, out var o));
        d.Close(o);
        Assert.Equal(3, Directory.GetFiles(Local(ftp + "/Sub")).Length);
    }

    [Fact]
    public void Slow_requests_keep_the_driver_waiting_with_DokanResetTimeout()
    {
        var slow = new SlowListingFileSystem(fixture.FileSystem, TimeSpan.FromMilliseconds(700));
        var (d, host, _) = Start(new DokanMountOptions { DriverTimeout = TimeSpan.FromSeconds(5), KeepAliveInterval = TimeSpan.FromMilliseconds(100) }, slow);
        using var sim = d;
        var dir = fixture.NewDirectory("slow");
        fixture.Server.SeedFile(dir.Replace('\\', '/') + "/x", "1"u8);
        Assert.Equal(STATUS_SUCCESS, d.Create(dir, GenericRead, FILE_OPEN, FILE_DIRECTORY_FILE, out var open));
        var before = host.ResetTimeouts;
        Assert.Equal(STATUS_SUCCESS, d.Find(open, null, out var entries));
        Assert.Contains(entries, e => e.Name == "x");
        Assert.True(host.ResetTimeouts - before >= 3, $"{host.ResetTimeouts - before} DokanResetTimeout calls during a 700 ms listing");
        Assert.Equal(5000u, host.LastExtension);
        unsafe
        {
            Assert.Equal((nint)open.Info, host.LastInfo); // the request being served, not another one
        }

        d.Close(open);

        // A fast answer asks for no extension.
        var quick = host.ResetTimeouts;
        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\x", GenericRead, FILE_OPEN, 0, out var x));
        d.Close(x);
        Assert.Equal(quick, host.ResetTimeouts);
    }

    [Fact]
    public void Read_only_mount_refuses_every_change_and_says_so_in_the_volume_flags()
    {
        var (d, _, _) = Start(new DokanMountOptions { ReadOnly = true, VolumeLabel = "Photos" });
        using var sim = d;
        var dir = fixture.NewDirectory("ro");
        fixture.Server.SeedFile(dir.Replace('\\', '/') + "/keep.txt", "keep"u8);
        Assert.Equal(STATUS_MEDIA_WRITE_PROTECTED, d.Create($"{dir}\\new.txt", GenericReadWrite, FILE_CREATE, 0, out var n));
        n.Dispose();
        Assert.Equal(STATUS_MEDIA_WRITE_PROTECTED, d.Create($"{dir}\\keep.txt", GenericReadWrite, FILE_OVERWRITE, 0, out var w));
        w.Dispose();
        Assert.Equal("keep", d.ReadWholeFile($"{dir}\\keep.txt"));
        Assert.Equal(STATUS_SUCCESS, d.Create($"{dir}\\keep.txt", GenericRead, FILE_OPEN, 0, out var r));
        Assert.Equal(STATUS_MEDIA_WRITE_PROTECTED, d.MarkForDeletion(r));
        Assert.Equal(STATUS_MEDIA_WRITE_PROTECTED, d.Move(r, $"{dir}\\moved.txt", replace: false));
        Assert.Equal(STATUS_SUCCESS, d.GetInfo(r, out var info));
        Assert.Equal(FILE_ATTRIBUTE_READONLY, info.dwFileAttributes & FILE_ATTRIBUTE_READONLY);
        d.Close(r);
        Assert.Equal("keep", File.ReadAllText(Local($"{dir}\\keep.txt")));

        Assert.Equal(STATUS_SUCCESS, d.Volume(out var label, out _, out var maxName, out var flags, out var fsName));
        Assert.Equal("Photos", label);
        Assert.Equal("FTPS", fsName);
        Assert.True(maxName is > 0 and < 260);
        Assert.Equal(FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK | FILE_READ_ONLY_VOLUME, flags);
        Assert.Equal(STATUS_SUCCESS, d.DiskFree(out var available, out var total, out var free));
        Assert.True(total >= free && free == available && total > 0);
        Assert.Equal(STATUS_SUCCESS, d.Volume(out var cut, out _, out _, out _, out _, labelBuffer: 4));
        Assert.Equal("Pho", cut); // cut to the caller's buffer, NUL-terminated
    }

    [Fact]
    public void Mounted_reports_the_mount_point_and_unknown_contexts_are_refused()
    {
        var (d, _, adapter) = Start();
        using var sim = d;
        string? seen = null;
        adapter.OnMounted = p => seen = p;
        Assert.Equal(STATUS_SUCCESS, d.Mounted(@"X:\"));
        Assert.Equal(@"X:\", seen);
        Assert.True(adapter.WaitForMounted(TimeSpan.Zero));

        Assert.Equal(STATUS_SUCCESS, d.Create("\\", GenericRead, FILE_OPEN, 0, out var root));
        unsafe
        {
            root.Info->Context = 987654; // never handed out
        }

        Assert.Equal(STATUS_INVALID_HANDLE, d.Read(root, 0, 1, out _));
        unsafe
        {
            root.Info->Context = 0;
        }

        root.Dispose();
    }
}
