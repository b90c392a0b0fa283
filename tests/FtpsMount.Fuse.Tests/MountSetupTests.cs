using FtpsMount.Core;

namespace FtpsMount.Fuse.Tests;

public sealed class MountSetupTests
{
    [Fact]
    public void Option_string_carries_the_chosen_options_and_escapes_commas()
    {
        var text = FuseSession.BuildOptionString(new FuseMountOptions
        {
            FsName = @"ftps://u@h/a,b\c",
            AllowOther = true,
            ReadOnly = true,
            AutoUnmount = false,
            DefaultPermissions = false,
            MaxRead = 65536,
        });
        Assert.Equal(@"fsname=ftps://u@h/a\,b\\c,subtype=ftpsmount,max_read=65536,allow_other,ro", text);

        var defaults = FuseSession.BuildOptionString(new FuseMountOptions());
        Assert.Equal("fsname=ftpsmount,subtype=ftpsmount,max_read=1048576,default_permissions,auto_unmount", defaults);
    }

    [Fact]
    public void Kernel_cache_timeouts_follow_Cores_TTLs()
    {
        var cache = new CacheOptions { AttrTtl = TimeSpan.FromSeconds(7), DirCacheTtl = TimeSpan.FromSeconds(11), NegativeTtl = TimeSpan.FromSeconds(2) };
        var options = new FuseMountOptions().WithCacheTimeouts(cache);
        Assert.Equal((7, 11, 2), ((int)options.AttrTimeout.TotalSeconds, (int)options.EntryTimeout.TotalSeconds, (int)options.NegativeTimeout.TotalSeconds));

        var defaults = new FuseMountOptions();
        var core = new CacheOptions();
        Assert.Equal((core.AttrTtl, core.DirCacheTtl, core.NegativeTtl), (defaults.AttrTimeout, defaults.EntryTimeout, defaults.NegativeTimeout));
    }

    [Theory]
    [InlineData("MaxRead", 100)]
    [InlineData("MaxThreads", 0)]
    public void Invalid_options_are_rejected_by_name(string property, int value)
    {
        var options = property switch
        {
            "MaxRead" => new FuseMountOptions { MaxRead = value },
            _ => new FuseMountOptions { MaxThreads = value },
        };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(property, error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(new FuseMountOptions { Subtype = "a,b" }.Validate);
        Assert.Throws<ArgumentException>(new FuseMountOptions { OperationTimeout = TimeSpan.Zero }.Validate);
    }

    [Fact]
    public void Mountinfo_lines_parse_with_escapes()
    {
        var entry = MountTable.Parse(@"812 30 0:39 / /tmp/a\040b\134c rw,nosuid,nodev,relatime shared:431 - fuse.ftpsmount ftps://u@h:21/ rw,user_id=0,group_id=0");
        Assert.NotNull(entry);
        Assert.Equal((0, 39), (entry.Major, entry.Minor));
        Assert.Equal(@"/tmp/a b\c", entry.MountPoint);
        Assert.Equal("fuse.ftpsmount", entry.FileSystemType);
        Assert.Equal("ftps://u@h:21/", entry.Source);

        // Optional fields may be absent or several.
        Assert.Equal("/", MountTable.Parse("1 0 8:1 / / rw - ext4 /dev/sda1 rw")?.MountPoint);
        Assert.Equal("/x", MountTable.Parse("1 0 8:1 / /x rw shared:1 master:2 - ext4 /dev/sda1 rw")?.MountPoint);
        Assert.Null(MountTable.Parse("garbage"));
        Assert.Contains(MountTable.Read(), e => e.MountPoint == "/proc");
    }

    [Fact]
    public void Preflight_names_each_mount_point_problem()
    {
        var options = new FuseMountOptions();
        var missing = Path.Combine(Path.GetTempPath(), "ftpsmount-missing-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(FuseMountFailure.MountPointMissing,
            Assert.Throws<FuseMountException>(() => MountPreflight.CheckMountPoint(missing, options)).Failure);

        var file = Path.GetTempFileName();
        try
        {
            Assert.Equal(FuseMountFailure.MountPointNotADirectory,
                Assert.Throws<FuseMountException>(() => MountPreflight.CheckMountPoint(file, options)).Failure);
        }
        finally
        {
            File.Delete(file);
        }

        var dir = Directory.CreateTempSubdirectory("ftpsmount-preflight-").FullName;
        try
        {
            MountPreflight.CheckMountPoint(dir, options);
            File.WriteAllText(Path.Combine(dir, "x"), "x");
            var notEmpty = Assert.Throws<FuseMountException>(() => MountPreflight.CheckMountPoint(dir, options));
            Assert.Equal(FuseMountFailure.MountPointNotEmpty, notEmpty.Failure);
            Assert.Contains(dir, notEmpty.Message, StringComparison.Ordinal);
            MountPreflight.CheckMountPoint(dir, options with { AllowNonEmpty = true });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        var busy = Assert.Throws<FuseMountException>(() => MountPreflight.CheckMountPoint("/proc", options));
        Assert.Equal(FuseMountFailure.MountPointBusy, busy.Failure);
        Assert.Contains("fusermount3 -uz", busy.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Device_and_helper_are_present_on_this_machine()
    {
        // The mount tests need both; a machine without them must fail here with the actionable message.
        MountPreflight.CheckDevice();
        Assert.NotNull(MountPreflight.FindHelper());
    }

    [Fact]
    public void Run_rejects_a_bad_mount_point_before_touching_libfuse()
    {
        var error = Assert.Throws<FuseMountException>(() =>
            FuseMount.Run(new ScriptedRemoteFileSystem(), "/nonexistent/ftpsmount-" + Guid.NewGuid().ToString("N"), new FuseMountOptions(), CancellationToken.None));
        Assert.Equal(FuseMountFailure.MountPointMissing, error.Failure);
        Assert.Contains("mkdir -p", error.Message, StringComparison.Ordinal);
    }
}
