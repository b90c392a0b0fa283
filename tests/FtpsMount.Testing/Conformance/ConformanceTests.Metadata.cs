using Xunit;

namespace FtpsMount.Testing.Conformance;

// stat, modification times, permission bits.
public abstract partial class ConformanceTests
{
    private static readonly DateTimeOffset s_fixedTime = new(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
    private static readonly DateTimeOffset s_otherTime = new(2024, 7, 8, 9, 10, 11, TimeSpan.Zero);

    [Fact]
    public Task Stat_of_the_root_and_of_the_test_directory_is_a_directory() => RunAsync(async s =>
    {
        Assert.True((await s.StatAsync("")).IsDirectory, "the target's root is a directory");
        var st = await s.StatAsync(s.Dir);
        Assert.True(st.IsDirectory, $"stat of the test directory: {st}");
        Assert.Equal(s.Dir, st.Name);
    });

    [Fact]
    public Task Stat_after_a_write_reports_kind_size_and_a_current_mtime() => RunAsync(async s =>
    {
        var caps = s.Target.Capabilities;
        var before = DateTimeOffset.UtcNow;
        await s.WriteAsync(s.P("f"), TestData.Bytes(54_321, 30));
        var after = DateTimeOffset.UtcNow;
        var st = await s.StatAsync(s.P("f"));
        Assert.True(st.IsFile, $"kind: {st}");
        Assert.True(st.Size == 54_321, $"size after write: {st}");
        Assert.Equal("f", st.Name);
        var low = before - caps.ClockSkewTolerance - caps.TimeResolution;
        var high = after + caps.ClockSkewTolerance;
        Assert.True(st.Modified >= low && st.Modified <= high,
            $"mtime after a write is {st.Modified:O}, expected between {low:O} and {high:O}");

        await s.WriteAsync(s.P("f"), TestData.Bytes(10, 31));
        st = await s.StatAsync(s.P("f"));
        Assert.True(st.Size == 10, $"size right after overwriting with 10 bytes: {st}");
        await s.Target.TruncateAsync(s.P("f"), 3, s.Ct);
        st = await s.StatAsync(s.P("f"));
        Assert.True(st.Size == 3, $"size right after truncate to 3: {st}");
        await s.Target.AppendAsync(s.P("f"), TestData.Text("xy"), s.Ct);
        st = await s.StatAsync(s.P("f"));
        Assert.True(st.Size == 5, $"size right after appending 2 bytes: {st}");
    });

    [Fact]
    public Task Set_mtime_of_a_file() => RunAsync(async s =>
    {
        var caps = s.Target.Capabilities;
        var data = TestData.Bytes(1000, 32);
        await s.WriteAsync(s.P("f"), data);
        if (!caps.SetFileModifiedTime)
        {
            await CheckUnsupportedMtimeAsync(s, s.P("f"), "file");
            return;
        }

        await s.Target.SetModifiedTimeAsync(s.P("f"), s_fixedTime, s.Ct);
        await AssertMtimeAsync(s, s.P("f"), s_fixedTime, "right after setting a file's mtime");
        await s.Target.SetModifiedTimeAsync(s.P("f"), s_otherTime, s.Ct);
        await AssertMtimeAsync(s, s.P("f"), s_otherTime, "after setting it again");
        var listed = (await s.Target.ListAsync(s.Dir, s.Ct)).Single(e => e.Name == "f");
        Assert.True(Near(listed.Modified, s_otherTime, Max(caps.TimeResolution, caps.ListingTimeResolution)),
            $"readdir mtime {listed.Modified:O}, expected {s_otherTime:O} (readdir resolution declared as {caps.ListingTimeResolution})");
        await s.AssertContentAsync(s.P("f"), data, "setting mtime leaves the content alone");
        var other = await s.CreateSecondTargetAsync();
        var cold = await other.StatAsync(s.P("f"), s.Ct);
        Assert.True(Near(cold.Modified, s_otherTime, caps.TimeResolution), $"a second client sees mtime {cold.Modified:O}, expected {s_otherTime:O}");
    });

    [Fact]
    public Task Set_mtime_of_a_directory() => RunAsync(async s =>
    {
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        if (!s.Target.Capabilities.SetDirectoryModifiedTime)
        {
            await CheckUnsupportedMtimeAsync(s, s.P("d"), "directory");
            return;
        }

        await s.Target.SetModifiedTimeAsync(s.P("d"), s_fixedTime, s.Ct);
        await AssertMtimeAsync(s, s.P("d"), s_fixedTime, "right after setting a directory's mtime");
    });

    [Fact]
    public Task Chmod_changes_the_permission_bits() => RunAsync(async s =>
    {
        await s.WriteAsync(s.P("f"), TestData.Text("f"));
        await s.Target.CreateDirectoryAsync(s.P("d"), s.Ct);
        if (!s.Target.Capabilities.Chmod)
        {
            var e = await Fails(FsTargetError.NotSupported, () => s.Target.SetModeAsync(s.P("f"), 0x180, s.Ct), "chmod on a target that declares it unsupported");
            s.Log($"capability: chmod is declared unsupported by {s.Target.Description}; it answered {e.Error} as it should. No permission bits checked.");
            return;
        }

        foreach (var (path, mode) in new[] { (s.P("f"), 0x180 /* 0600 */), (s.P("f"), 0x1ED /* 0755 */), (s.P("d"), 0x1C0 /* 0700 */) })
        {
            try
            {
                await s.Target.SetModeAsync(path, mode, s.Ct);
            }
            catch (FsTargetException e) when (e.Error == FsTargetError.NotSupported)
            {
                Assert.Fail($"{s.Target.Description} declares chmod supported, but chmod {Convert.ToString(mode, 8)} \"{path}\" answered NotSupported: {e.Message}");
            }

            if (s.Target.Capabilities.ReportsModeBits)
            {
                var st = await s.StatAsync(path);
                Assert.True(st.Mode == mode, $"stat right after chmod {Convert.ToString(mode, 8)} \"{path}\": {st}");
            }
            else
            {
                s.Log("capability: the target does not report permission bits; checking the store only.");
            }

            if (s.Target.Backdoor is { } backdoor)
            {
                var stored = await backdoor.StatAsync(path, s.Ct);
                Assert.True(stored?.Mode == mode, $"store after chmod {Convert.ToString(mode, 8)} \"{path}\": {stored}");
            }
        }

        await s.AssertContentAsync(s.P("f"), TestData.Text("f"), "chmod leaves the content alone");
    });

    private static async Task AssertMtimeAsync(ConformanceScope s, string path, DateTimeOffset expected, string what)
    {
        var resolution = s.Target.Capabilities.TimeResolution;
        var st = await s.StatAsync(path);
        Assert.True(Near(st.Modified, expected, resolution), $"{what}: stat mtime of \"{path}\" is {st.Modified:O}, expected {expected:O}");
        if (s.Target.Backdoor is { } backdoor)
        {
            var stored = await backdoor.StatAsync(path, s.Ct);
            Assert.True(stored is not null && Near(stored.Modified, expected, resolution),
                $"{what}: the store says \"{path}\" has mtime {stored?.Modified:O}, expected {expected:O}");
        }
    }

    /// <summary>A target that declares it cannot set this mtime may fail the call (any classified error), but a
    /// call that claims success must have worked.</summary>
    private static async Task CheckUnsupportedMtimeAsync(ConformanceScope s, string path, string kind)
    {
        try
        {
            await s.Target.SetModifiedTimeAsync(path, s_fixedTime, s.Ct);
        }
        catch (FsTargetException e)
        {
            s.Log($"capability: setting a {kind}'s mtime is declared unsupported by {s.Target.Description}; it answered {e.Error} ({e.Message}).");
            return;
        }

        s.Log($"capability: setting a {kind}'s mtime is declared unsupported, but the call succeeded; checking it really took effect.");
        await AssertMtimeAsync(s, path, s_fixedTime, $"a {kind} mtime call that claimed success");
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static bool Near(DateTimeOffset actual, DateTimeOffset expected, TimeSpan resolution) =>
        (actual - expected).Duration() < (resolution > TimeSpan.Zero ? resolution : TimeSpan.FromTicks(1));
}
