using FtpsMount.Protocol.Listing;
using static FtpsMount.Protocol.Tests.Listing.ListingTestData;

namespace FtpsMount.Protocol.Tests.Listing;

public class UnixListParserTests
{
    // now = 2026-01-02T12:00Z, server zone UTC. Size -1 = null; mode is octal text or null.
    [Theory]
    // vsftpd (numeric ids, as with its default hide_ids=NO on most distributions)
    [InlineData("-rw-r--r--    1 1000     1000         1234 Dec 31 23:59 report.pdf", "report.pdf", FtpEntryType.File, 1234L, "2025-12-31T23:59:00Z", "644", "1000", "1000", null)]
    [InlineData("drwxr-xr-x    2 0        0            4096 Mar 15  2023 pub", "pub", FtpEntryType.Directory, 4096L, "2023-03-15T00:00:00Z", "755", "0", "0", null)]
    [InlineData("drwxr-xr-x    2 ftp      ftp          4096 Jan 02 11:59 today", "today", FtpEntryType.Directory, 4096L, "2026-01-02T11:59:00Z", "755", "ftp", "ftp", null)]
    // proftpd
    [InlineData("-rw-r--r--   1 alice    staff      104857600 Jan  2 09:05 big.iso", "big.iso", FtpEntryType.File, 104857600L, "2026-01-02T09:05:00Z", "644", "alice", "staff", null)]
    [InlineData("lrwxrwxrwx   1 root     root            7 Jan  1 00:00 latest -> v1.2.3", "latest", FtpEntryType.Link, 7L, "2026-01-01T00:00:00Z", "777", "root", "root", "v1.2.3")]
    [InlineData("lrwxrwxrwx   1 root     root           15 Jun  7  2024 etc-link -> /etc/some/where", "etc-link", FtpEntryType.Link, 15L, "2024-06-07T00:00:00Z", "777", "root", "root", "/etc/some/where")]
    // pure-ftpd (wider columns)
    [InlineData("-rw-r--r--    1 ftpuser    ftpgroup            0 Nov 30 17:41 empty file.txt", "empty file.txt", FtpEntryType.File, 0L, "2025-11-30T17:41:00Z", "644", "ftpuser", "ftpgroup", null)]
    [InlineData("drwx------    3 ftpuser    ftpgroup         4096 Jul  4 08:00 private", "private", FtpEntryType.Directory, 4096L, "2025-07-04T08:00:00Z", "700", "ftpuser", "ftpgroup", null)]
    // FileZilla Server and Serv-U (Windows servers emulating ls)
    [InlineData("-rw-r--r-- 1 ftp ftp          12345 Jan 01 12:00 file.txt", "file.txt", FtpEntryType.File, 12345L, "2026-01-01T12:00:00Z", "644", "ftp", "ftp", null)]
    [InlineData("drwxrwxrwx   1 user     group           0 Mar  4 10:53 folder", "folder", FtpEntryType.Directory, 0L, "2025-03-04T10:53:00Z", "777", "user", "group", null)]
    // ACL / SELinux / xattr markers
    [InlineData("-rw-r--r--+  1 alice    staff           10 Jan  1  2024 acl.txt", "acl.txt", FtpEntryType.File, 10L, "2024-01-01T00:00:00Z", "644", "alice", "staff", null)]
    [InlineData("drwxr-xr-x.  2 root     root             6 Jan  1  2024 selinux", "selinux", FtpEntryType.Directory, 6L, "2024-01-01T00:00:00Z", "755", "root", "root", null)]
    [InlineData("-rw-r--r--@  1 mac      staff          100 Jan  1  2024 xattr", "xattr", FtpEntryType.File, 100L, "2024-01-01T00:00:00Z", "644", "mac", "staff", null)]
    // special bits
    [InlineData("-rwsr-xr-x   1 root     root         1000 Jan  1  2020 su", "su", FtpEntryType.File, 1000L, "2020-01-01T00:00:00Z", "4755", "root", "root", null)]
    [InlineData("drwxrwxrwt  10 root     root         4096 Jan  1  2020 tmp", "tmp", FtpEntryType.Directory, 4096L, "2020-01-01T00:00:00Z", "1777", "root", "root", null)]
    [InlineData("-rwxr-Sr-T   1 root     root            1 Jan  1  2020 odd", "odd", FtpEntryType.File, 1L, "2020-01-01T00:00:00Z", "3744", "root", "root", null)]
    [InlineData("-rw-r-lr--   1 root     root            1 Jan  1  2020 locked", "locked", FtpEntryType.File, 1L, "2020-01-01T00:00:00Z", "2644", "root", "root", null)]
    // other types: devices have "major, minor" instead of a size
    [InlineData("crw-rw-rw-   1 root     root       1,   3 Jan  1  2024 null", "null", FtpEntryType.Other, -1L, "2024-01-01T00:00:00Z", "666", "root", "root", null)]
    [InlineData("brw-rw----   1 root     disk       8,0 Jan  1  2024 sda", "sda", FtpEntryType.Other, -1L, "2024-01-01T00:00:00Z", "660", "root", "disk", null)]
    [InlineData("prw-r--r--   1 user     grp             0 Jan  1  2024 fifo", "fifo", FtpEntryType.Other, 0L, "2024-01-01T00:00:00Z", "644", "user", "grp", null)]
    [InlineData("srwxrwxrwx   1 user     grp             0 Jan  1  2024 sock", "sock", FtpEntryType.Other, 0L, "2024-01-01T00:00:00Z", "777", "user", "grp", null)]
    // missing, numeric or spaced owner/group columns
    [InlineData("-rw-r--r--   1 owner        1234 Jan  1  2024 nogroup.txt", "nogroup.txt", FtpEntryType.File, 1234L, "2024-01-01T00:00:00Z", "644", "owner", null, null)]
    [InlineData("-rw-r--r-- owner 1234 Jan  1  2024 nolinks.txt", "nolinks.txt", FtpEntryType.File, 1234L, "2024-01-01T00:00:00Z", "644", "owner", null, null)]
    [InlineData("-rw-r--r-- owner group 1234 Jan  1  2024 nolinks2.txt", "nolinks2.txt", FtpEntryType.File, 1234L, "2024-01-01T00:00:00Z", "644", "owner", "group", null)]
    [InlineData("-rw-r--r--   1 John Doe  staff  1234 Jan  1  2024 spaced-owner.txt", "spaced-owner.txt", FtpEntryType.File, 1234L, "2024-01-01T00:00:00Z", "644", "John Doe", "staff", null)]
    [InlineData("-rw-r--r--   1      1234 Jan  1  2024 no-owner.txt", "no-owner.txt", FtpEntryType.File, 1234L, "2024-01-01T00:00:00Z", "644", null, null, null)]
    [InlineData("-rw-r--r--   1 jan      staff    2020 Jan  1 12:34 owner-named-jan", "owner-named-jan", FtpEntryType.File, 2020L, "2026-01-01T12:34:00Z", "644", "jan", "staff", null)]
    [InlineData("-rw-r--r--   1 may      dec      2020 Jan  1 12:34 month-like-ids", "month-like-ids", FtpEntryType.File, 2020L, "2026-01-01T12:34:00Z", "644", "may", "dec", null)]
    // ISO dates (ls --time-style=long-iso / full-iso)
    [InlineData("-rw-r--r--    1 bob      users         512 2024-02-29 13:45 iso.txt", "iso.txt", FtpEntryType.File, 512L, "2024-02-29T13:45:00Z", "644", "bob", "users", null)]
    [InlineData("-rw-r--r-- 1 bob users 512 2024-02-29 13:45:12.123456789 +0100 full.txt", "full.txt", FtpEntryType.File, 512L, "2024-02-29T13:45:12.1234567+01:00", "644", "bob", "users", null)]
    // seconds, case of month names
    [InlineData("-rw-r--r--   1 u        g               5 JAN 01 12:34:56 upper", "upper", FtpEntryType.File, 5L, "2026-01-01T12:34:56Z", "644", "u", "g", null)]
    // names: spaces kept exactly, date-like and arrow-like text, non-ASCII, ';'
    [InlineData("-rw-r--r--   1 u        g               5 Jan  1  2024   two leading spaces", "  two leading spaces", FtpEntryType.File, 5L, "2024-01-01T00:00:00Z", "644", "u", "g", null)]
    [InlineData("-rw-r--r--   1 u        g               5 Jan  1  2024 trailing  ", "trailing  ", FtpEntryType.File, 5L, "2024-01-01T00:00:00Z", "644", "u", "g", null)]
    [InlineData("-rw-r--r--   1 u        g             100 Feb  2  2019 Jan 1 2020 x", "Jan 1 2020 x", FtpEntryType.File, 100L, "2019-02-02T00:00:00Z", "644", "u", "g", null)]
    [InlineData("-rw-r--r--   1 u        g               1 Jan  1  2024 a -> b", "a -> b", FtpEntryType.File, 1L, "2024-01-01T00:00:00Z", "644", "u", "g", null)]
    [InlineData("-rw-r--r--   1 u        g               1 Jan  1  2024 Привет мир; 日本語.txt", "Привет мир; 日本語.txt", FtpEntryType.File, 1L, "2024-01-01T00:00:00Z", "644", "u", "g", null)]
    [InlineData("lrwxrwxrwx   1 u        g               1 Jan  1  2024 dangling -> ", "dangling", FtpEntryType.Link, 1L, "2024-01-01T00:00:00Z", "777", "u", "g", null)]
    [InlineData("lrwxrwxrwx   1 u        g               1 Jan  1  2024 up -> ../../x", "up", FtpEntryType.Link, 1L, "2024-01-01T00:00:00Z", "777", "u", "g", "../../x")]
    // tabs as column separators, CRLF left on the line by a splitter
    [InlineData("-rw-r--r--\t1\tu\tg\t5\tJan\t1\t2024\ttabbed", "tabbed", FtpEntryType.File, 5L, "2024-01-01T00:00:00Z", "644", "u", "g", null)]
    [InlineData("-rw-r--r--   1 u        g               5 Jan  1  2024 crlf.txt\r\n", "crlf.txt", FtpEntryType.File, 5L, "2024-01-01T00:00:00Z", "644", "u", "g", null)]
    // NetWare
    [InlineData("d [RWCEAFMS] admin                     512 Apr 07 14:32 netware-dir", "netware-dir", FtpEntryType.Directory, 512L, "2025-04-07T14:32:00Z", null, "admin", null, null)]
    [InlineData("- [RWCEAFMS] admin                    1024 Apr 07  2020 file.nlm", "file.nlm", FtpEntryType.File, 1024L, "2020-04-07T00:00:00Z", null, "admin", null, null)]
    // largest size that fits
    [InlineData("-rw-r--r--   1 u        g   9223372036854775807 Jan  1  2024 max", "max", FtpEntryType.File, long.MaxValue, "2024-01-01T00:00:00Z", "644", "u", "g", null)]
    public void Parses_real_world_lines(
        string line, string name, FtpEntryType type, long size, string? modified, string? modeOctal,
        string? owner, string? group, string? target)
    {
        var outcome = UnixListParser.ParseLine(line, Now, null, out var e);

        Assert.Equal(LineParseOutcome.Parsed, outcome);
        Assert.NotNull(e);
        Assert.Equal(name, e.Name);
        Assert.Equal(type, e.Type);
        Assert.Equal(size < 0 ? null : size, e.Size);
        AssertDate(modified, e.Modified);
        Assert.Equal(modeOctal is null ? null : Convert.ToInt32(modeOctal, 8), e.UnixMode);
        Assert.Equal(owner, e.Owner);
        Assert.Equal(group, e.Group);
        Assert.Equal(target, e.LinkTarget);
        AssertSafe(e);
    }

    // Year inference: the most recent year that is not more than a day ahead of "now" in the server's zone.
    [Theory]
    [InlineData("2026-01-02T00:00:00Z", "Dec 31 23:59", "2025-12-31T23:59:00Z")] // year boundary
    [InlineData("2026-01-02T12:00:00Z", "Jan  3 11:59", "2026-01-03T11:59:00Z")] // < 1 day ahead: skew
    [InlineData("2026-01-02T12:00:00Z", "Jan  3 12:01", "2025-01-03T12:01:00Z")] // > 1 day ahead: last year
    [InlineData("2026-07-15T12:00:00Z", "Jul 14 10:00", "2026-07-14T10:00:00Z")]
    [InlineData("2026-07-15T12:00:00Z", "Aug  1 10:00", "2025-08-01T10:00:00Z")]
    [InlineData("2025-12-31T23:00:00Z", "Jan  1 00:30", "2026-01-01T00:30:00Z")] // server clock slightly ahead
    [InlineData("2025-03-01T12:00:00Z", "Feb 29 10:00", "2024-02-29T10:00:00Z")] // non-leap current year
    [InlineData("2028-03-01T12:00:00Z", "Feb 29 10:00", "2028-02-29T10:00:00Z")]
    public void Infers_the_year_from_the_injected_now(string now, string date, string expected)
    {
        var line = $"-rw-r--r--   1 u g 1 {date} f";

        Assert.Equal(LineParseOutcome.Parsed, UnixListParser.ParseLine(line, At(now), TimeZoneInfo.Utc, out var e));
        AssertDate(expected, e!.Modified);
    }

    [Fact]
    public void Year_and_wall_clock_follow_the_server_zone()
    {
        // 02:00 UTC on 2 Jan 2026 is still 1 Jan 21:00 for a UTC-5 server: "Jan 2 23:00" is 26 h ahead there
        // (so last year), but only 21 h ahead for a UTC server (within the skew day, so this year).
        var now = At("2026-01-02T02:00:00Z");
        const string line = "-rw-r--r--   1 u g 1 Jan  2 23:00 f";

        UnixListParser.ParseLine(line, now, FixedZone(-5), out var west);
        UnixListParser.ParseLine(line, now, TimeZoneInfo.Utc, out var utc);

        AssertDate("2025-01-02T23:00:00-05:00", west!.Modified);
        AssertDate("2026-01-02T23:00:00Z", utc!.Modified);
    }

    [Fact]
    public void Zone_ahead_of_utc_already_in_the_new_year()
    {
        // 00:30 UTC on 1 Jan 2026 is 09:30 in UTC+9, so "Dec 31 23:59" is ten hours ago, in 2025.
        UnixListParser.ParseLine("-rw-r--r--   1 u g 1 Dec 31 23:59 f", At("2026-01-01T00:30:00Z"), FixedZone(9), out var e);

        AssertDate("2025-12-31T23:59:00+09:00", e!.Modified);
        Assert.Equal(At("2025-12-31T14:59:00Z"), e.Modified!.Value);
    }

    [Fact]
    public void Dates_with_a_year_and_iso_dates_are_read_in_the_server_zone()
    {
        var zone = FixedZone(2);
        UnixListParser.ParseLine("-rw-r--r-- 1 u g 1 Mar 15  2023 a", Now, zone, out var withYear);
        UnixListParser.ParseLine("-rw-r--r-- 1 u g 1 2023-03-15 10:30 b", Now, zone, out var iso);

        AssertDate("2023-03-15T00:00:00+02:00", withYear!.Modified);
        AssertDate("2023-03-15T10:30:00+02:00", iso!.Modified);
    }

    [Theory]
    [InlineData("Jan 15  2024", "2024-01-15T00:00:00+01:00")]
    [InlineData("Jul 15  2024", "2024-07-15T00:00:00+02:00")]
    [InlineData("Jul 15 10:00", "2025-07-15T10:00:00+02:00")]
    [InlineData("Dec 24 18:30", "2025-12-24T18:30:00+01:00")]
    public void Daylight_saving_offset_follows_the_listed_date(string date, string expected)
    {
        UnixListParser.ParseLine($"-rw-r--r-- 1 u g 1 {date} f", Now, CetLikeZone(), out var e);
        AssertDate(expected, e!.Modified);
    }

    // A recognisable date column with impossible values keeps the entry but drops the date.
    [Theory]
    [InlineData("-rw-r--r-- 1 u g 5 2023-13-45 10:00 bad-iso-month")]
    [InlineData("-rw-r--r-- 1 u g 5 2023-02-30 10:00 feb-30")]
    [InlineData("-rw-r--r-- 1 u g 5 Jan  1  1969 before-epoch")]
    [InlineData("-rw-r--r-- 1 u g 5 Jan  1  0000 year-zero")]
    [InlineData("-rw-r--r-- 1 u g 5 Jan 32 12:00 day-32")]
    [InlineData("-rw-r--r-- 1 u g 5 Jan  0 12:00 day-0")]
    [InlineData("-rw-r--r-- 1 u g 5 Jan  1 25:00 hour-25")]
    [InlineData("-rw-r--r-- 1 u g 5 Jan  1 12:61 minute-61")]
    [InlineData("-rw-r--r-- 1 u g 5 Feb 30  2024 feb-30-year")]
    [InlineData("-rw-r--r-- 1 u g 5 2024-01-01 10:00:00.5 +9999 bad-zone")]
    public void Absurd_dates_give_a_null_date_not_an_error(string line)
    {
        Assert.Equal(LineParseOutcome.Parsed, UnixListParser.ParseLine(line, Now, null, out var e));
        Assert.Null(e!.Modified);
        AssertSafe(e);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("total 0")]
    [InlineData("total 123456")]
    [InlineData("TOTAL 8")]
    [InlineData("drwxr-xr-x   2 u g 4096 Jan  1  2024 .")]
    [InlineData("drwxr-xr-x   9 u g 4096 Jan  1  2024 ..")]
    public void Skips_headers_and_self_parent_entries(string line)
    {
        Assert.Equal(LineParseOutcome.Skipped, UnixListParser.ParseLine(line, Now, null, out var e));
        Assert.Null(e);
    }

    [Theory]
    // unsafe names
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 ..")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 .")]
    [InlineData("lrwxrwxrwx   1 u g 5 Jan  1  2024 .. -> /etc")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 ../../etc/passwd")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 a/b")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 /abs")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 nul\0byte")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 cr\rinside")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 lf\ninside")]
    [InlineData("lrwxrwxrwx   1 u g 5 Jan  1  2024 x -> bad\0target")]
    [InlineData("lrwxrwxrwx   1 u g 5 Jan  1  2024  -> target-without-name")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 ")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024")]
    // sizes
    [InlineData("-rw-r--r--   1 u g -5 Jan  1  2024 negative")]
    [InlineData("-rw-r--r--   1 u g 9223372036854775808 Jan  1  2024 beyond-long")]
    [InlineData("-rw-r--r--   1 u g 99999999999999999999999999 Jan  1  2024 way-beyond")]
    [InlineData("-rw-r--r--   1 u g 12k Jan  1  2024 suffixed")]
    // not ls -l at all
    [InlineData("hello world")]
    [InlineData("-")]
    [InlineData("drwxr-xr-x")]
    [InlineData("-rw-r--r--")]
    [InlineData("xrw-r--r--   1 u g 5 Jan  1  2024 bad-type")]
    [InlineData("-rw-r--r-Q   1 u g 5 Jan  1  2024 bad-perm")]
    [InlineData("-rw-r--r--++ 1 u g 5 Jan  1  2024 two-markers")]
    [InlineData("-rw-r--r--   1 u g 5 Foo  1  2024 bad-month")]
    [InlineData("-rw-r--r--   1 u g 5 Jan 123 2024 long-day")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1 12.00 bad-time")]
    [InlineData("01-15-23  01:45PM       <DIR>          dos-line")]
    [InlineData("type=file;size=1; mlsd-line")]
    [InlineData("d [RWCEAFMS admin 512 Apr 07 14:32 unclosed")]
    public void Rejects_unsafe_or_unparseable_lines(string line)
    {
        Assert.Equal(LineParseOutcome.Rejected, UnixListParser.ParseLine(line, Now, null, out var e));
        Assert.Null(e);
    }
}
