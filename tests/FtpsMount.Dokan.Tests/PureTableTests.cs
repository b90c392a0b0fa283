using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan.Native;

namespace FtpsMount.Dokan.Tests;

public sealed class PureTableTests
{
    [Theory]
    [InlineData(FsError.NotFound, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND)]
    [InlineData(FsError.AlreadyExists, NtStatus.STATUS_OBJECT_NAME_COLLISION)]
    [InlineData(FsError.NotADirectory, NtStatus.STATUS_NOT_A_DIRECTORY)]
    [InlineData(FsError.IsADirectory, NtStatus.STATUS_FILE_IS_A_DIRECTORY)]
    [InlineData(FsError.DirectoryNotEmpty, NtStatus.STATUS_DIRECTORY_NOT_EMPTY)]
    [InlineData(FsError.AccessDenied, NtStatus.STATUS_ACCESS_DENIED)]
    [InlineData(FsError.ReadOnly, NtStatus.STATUS_MEDIA_WRITE_PROTECTED)]
    [InlineData(FsError.NoSpace, NtStatus.STATUS_DISK_FULL)]
    [InlineData(FsError.InvalidName, NtStatus.STATUS_OBJECT_NAME_INVALID)]
    [InlineData(FsError.NameTooLong, NtStatus.STATUS_NAME_TOO_LONG)]
    [InlineData(FsError.NotSupported, NtStatus.STATUS_NOT_SUPPORTED)]
    [InlineData(FsError.Busy, NtStatus.STATUS_SHARING_VIOLATION)]
    [InlineData(FsError.TimedOut, NtStatus.STATUS_IO_TIMEOUT)]
    [InlineData(FsError.ConnectionLost, NtStatus.STATUS_UNEXPECTED_NETWORK_ERROR)]
    [InlineData(FsError.TryAgain, NtStatus.STATUS_NETWORK_BUSY)]
    [InlineData(FsError.Io, NtStatus.STATUS_UNEXPECTED_IO_ERROR)]
    [InlineData(FsError.Cancelled, NtStatus.STATUS_CANCELLED)]
    [InlineData(FsError.None, NtStatus.STATUS_UNEXPECTED_IO_ERROR)]
    [InlineData((FsError)999, NtStatus.STATUS_UNEXPECTED_IO_ERROR)]
    public void FsError_maps_to_one_NTSTATUS(FsError error, int status) => Assert.Equal(status, NtStatusMap.ToNtStatus(error));

    [Fact]
    public void Every_FsError_has_an_error_severity_status()
    {
        foreach (var error in Enum.GetValues<FsError>())
        {
            var status = (uint)NtStatusMap.ToNtStatus(error);
            Assert.True(status >> 30 == 3, $"{error} → 0x{status:X8} is not an error-severity NTSTATUS");
        }
    }

    [Theory]
    [InlineData("*", "anything.txt", true)]
    [InlineData("*", "", true)]
    [InlineData("*.txt", "a.txt", true)]
    [InlineData("*.txt", "A.TXT", true)]
    [InlineData("*.txt", "a.txt.bak", false)]
    [InlineData("*.txt", "txt", false)]
    [InlineData("*.*", "noext", false)]
    [InlineData("*.*", "a.b", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    [InlineData("a?c", "abbc", false)]
    [InlineData("README", "readme", true)]
    [InlineData("README", "readme.md", false)]
    [InlineData("<.txt", "a.b.txt", true)]
    [InlineData("<.txt", "a.txt", true)]
    [InlineData("<", "noext", true)]
    [InlineData("<", "a.b", false)]          // DOS_STAR never swallows the last dot
    [InlineData("<.b", "a.c.b", true)]
    [InlineData("a>>", "a", true)]           // DOS_QM at the end of the name matches nothing
    [InlineData("a>>", "ab", true)]
    [InlineData("a>>", "abc", true)]
    [InlineData("a>>", "abcd", false)]
    [InlineData("a>>.txt", "ab.txt", true)]  // ...and at a dot it matches nothing either
    [InlineData("a>>.txt", "abcd.txt", false)]
    [InlineData("foo\"", "foo", true)]      // DOS_DOT: a dot, or nothing at the end
    [InlineData("foo\"", "foo.", true)]
    [InlineData("foo\"txt", "foo.txt", true)]
    [InlineData("foo\"txt", "fooxtxt", false)]
    [InlineData("<\"*", "name", true)]      // what Win32 makes of "*.*": every name
    [InlineData("<\"*", "name.ext", true)]
    [InlineData("*a*b*c*", "xxaxxbxxcxx", true)]
    [InlineData("*a*b*c*", "xxaxxcxxbxx", false)]
    [InlineData("Ä*", "äpfel", true)]
    public void Dos_wildcards_follow_FsRtlIsNameInExpression(string pattern, string name, bool expected) =>
        Assert.Equal(expected, DosWildcard.IsMatch(pattern, name));

    [Fact]
    public void Case_sensitive_matching_when_asked() => Assert.False(DosWildcard.IsMatch("*.TXT", "a.txt", ignoreCase: false));

    private static FsAttributes F(string name) => new() { Name = name, Kind = FsEntryKind.File };

    [Theory]
    [InlineData(new[] { "readme" }, "README", "readme")]                          // the only case-insensitive match
    [InlineData(new[] { "README", "ReadMe", "readme" }, "ReadMe", "ReadMe")]        // an exact match wins
    [InlineData(new[] { "readme", "ReadMe", "README" }, "rEaDmE", "README")]        // else the ordinal-first
    [InlineData(new[] { "b", "a" }, "c", null)]
    public void Names_resolve_case_insensitively_with_the_documented_rule(string[] names, string asked, string? expected) =>
        Assert.Equal(expected, DokanAdapter.Pick(names.Select(F).ToList(), asked)?.Name);

    [Theory]
    [InlineData("x:", @"X:\")]
    [InlineData(@"m:\", @"M:\")]
    [InlineData("Z:/", @"Z:\")]
    [InlineData(@"C:\mnt\ftp\", @"C:\mnt\ftp")]
    [InlineData("C:/mnt/ftp", @"C:\mnt\ftp")]
    public void Mount_points_are_drive_letters_or_folders(string given, string expected) =>
        Assert.Equal(expected, DokanMount.NormalizeMountPoint(given));

    [Theory]
    [InlineData("/mnt/ftp")]
    [InlineData("X")]
    [InlineData("mnt")]
    [InlineData("1:")]
    public void Other_mount_points_are_refused_clearly(string given)
    {
        var e = Assert.Throws<DokanMountException>(() => DokanMount.NormalizeMountPoint(given));
        Assert.Equal(DokanMountFailure.BadMountPoint, e.Failure);
        Assert.Contains("drive letter", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_driver_says_where_to_get_it()
    {
        var e = DokanMount.Explain(DokanConst.DOKAN_DRIVER_INSTALL_ERROR, @"X:\");
        Assert.Equal(DokanMountFailure.DriverNotInstalled, e.Failure);
        Assert.Contains("github.com/dokan-dev/dokany/releases", e.Message, StringComparison.Ordinal);
        Assert.Equal(DokanMountFailure.MountPointInUse, DokanMount.Explain(DokanConst.DOKAN_MOUNT_ERROR, @"X:\").Failure);
    }

    [Fact]
    public void Options_become_dokan_flags()
    {
        Assert.Equal(0u, DokanMount.OptionFlags(new DokanMountOptions()));
        Assert.Equal((uint)(DokanConst.DOKAN_OPTION_WRITE_PROTECT | DokanConst.DOKAN_OPTION_NETWORK | DokanConst.DOKAN_OPTION_ENABLE_UNMOUNT_NETWORK_DRIVE),
            DokanMount.OptionFlags(new DokanMountOptions { ReadOnly = true, NetworkDrive = true }));
    }

    [Fact]
    public void File_times_round_trip_and_sentinels_mean_unchanged()
    {
        var t = new DateTimeOffset(2026, 11, 21, 10, 30, 0, TimeSpan.Zero);
        Assert.Equal(t, FileTime.From(t).ToDateTimeOffset());
        Assert.Null(default(FileTime).ToDateTimeOffset());
        Assert.Null(new FileTime { dwLowDateTime = uint.MaxValue, dwHighDateTime = uint.MaxValue }.ToDateTimeOffset());
    }
}
