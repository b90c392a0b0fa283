using FtpsMount.Protocol.Listing;
using static FtpsMount.Protocol.Tests.Listing.ListingTestData;

namespace FtpsMount.Protocol.Tests.Listing;

public class DosListParserTests
{
    // Server zone UTC. Size -1 = null.
    [Theory]
    // IIS, default "MS-DOS" style, two-digit years, 12 h clock
    [InlineData("01-15-23  01:45PM       <DIR>          Folder Name", "Folder Name", FtpEntryType.Directory, -1L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01-15-23  09:05AM                12345 file.txt", "file.txt", FtpEntryType.File, 12345L, "2023-01-15T09:05:00Z", null)]
    [InlineData("02-20-13  02:45PM                  689 iisstart.htm", "iisstart.htm", FtpEntryType.File, 689L, "2013-02-20T14:45:00Z", null)]
    [InlineData("12-31-99  12:00AM                    0 y2k.txt", "y2k.txt", FtpEntryType.File, 0L, "1999-12-31T00:00:00Z", null)]
    [InlineData("01-01-00  12:00PM                    1 noon.txt", "noon.txt", FtpEntryType.File, 1L, "2000-01-01T12:00:00Z", null)]
    [InlineData("06-30-69  11:59PM                    1 pivot-69.txt", "pivot-69.txt", FtpEntryType.File, 1L, "2069-06-30T23:59:00Z", null)]
    [InlineData("01-01-70  12:01AM                    1 pivot-70.txt", "pivot-70.txt", FtpEntryType.File, 1L, "1970-01-01T00:01:00Z", null)]
    // IIS with four-digit years; 24 h clock
    [InlineData("01-15-2023  01:45PM       <DIR>          four", "four", FtpEntryType.Directory, -1L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01-15-2023  13:45               12345 twentyfour.txt", "twentyfour.txt", FtpEntryType.File, 12345L, "2023-01-15T13:45:00Z", null)]
    [InlineData("2023-01-15  07:05  <DIR>  iso dir", "iso dir", FtpEntryType.Directory, -1L, "2023-01-15T07:05:00Z", null)]
    // Windows cmd "dir" style (FTP servers that pass it through), separate AM/PM, grouped sizes
    [InlineData("01/15/2023  01:45 PM    <DIR>          cmd style", "cmd style", FtpEntryType.Directory, -1L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01/15/2023  01:45 pm         1,234,567 big.bin", "big.bin", FtpEntryType.File, 1234567L, "2023-01-15T13:45:00Z", null)]
    [InlineData("15.01.2023  13:45       <DIR>          dotted", "dotted", FtpEntryType.Directory, -1L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01/15/2023  01:45 PM    <SYMLINKD>     link [C:\\target]", "link", FtpEntryType.Link, -1L, "2023-01-15T13:45:00Z", "C:\\target")]
    [InlineData("01/15/2023  01:45 PM    <JUNCTION>     Documents and Settings [C:\\Users]", "Documents and Settings", FtpEntryType.Link, -1L, "2023-01-15T13:45:00Z", "C:\\Users")]
    [InlineData("01/15/2023  01:45 PM    <SYMLINK>      file-link", "file-link", FtpEntryType.Link, -1L, "2023-01-15T13:45:00Z", null)]
    // names: exact spacing after the column, ';', brackets, non-ASCII
    [InlineData("01-15-23  01:45PM       <DIR>           lead", " lead", FtpEntryType.Directory, -1L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01-15-23  01:45PM                12345  lead", " lead", FtpEntryType.File, 12345L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01-15-23  01:45PM                12345 trail  ", "trail  ", FtpEntryType.File, 12345L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01-15-23  01:45PM       <DIR>          a; b [c]", "a; b [c]", FtpEntryType.Directory, -1L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01-15-23  01:45PM                    3 Überweisung 日本.pdf", "Überweisung 日本.pdf", FtpEntryType.File, 3L, "2023-01-15T13:45:00Z", null)]
    [InlineData("01-15-23  01:45PM                    3 crlf.txt\r\n", "crlf.txt", FtpEntryType.File, 3L, "2023-01-15T13:45:00Z", null)]
    [InlineData("  01-15-23  01:45PM                  3 indented", "indented", FtpEntryType.File, 3L, "2023-01-15T13:45:00Z", null)]
    public void Parses_real_world_lines(string line, string name, FtpEntryType type, long size, string? modified, string? target)
    {
        var outcome = DosListParser.ParseLine(line, null, out var e);

        Assert.Equal(LineParseOutcome.Parsed, outcome);
        Assert.NotNull(e);
        Assert.Equal(name, e.Name);
        Assert.Equal(type, e.Type);
        Assert.Equal(size < 0 ? null : size, e.Size);
        AssertDate(modified, e.Modified);
        Assert.Equal(target, e.LinkTarget);
        Assert.Null(e.UnixMode);
        AssertSafe(e, dos: true);
    }

    [Fact]
    public void Times_are_wall_clock_in_the_server_zone()
    {
        DosListParser.ParseLine("01-15-23  01:45PM                12345 f", FixedZone(-8), out var e);

        AssertDate("2023-01-15T13:45:00-08:00", e!.Modified);
        Assert.Equal(At("2023-01-15T21:45:00Z"), e.Modified!.Value);
    }

    [Theory]
    [InlineData(0, 2000)]
    [InlineData(23, 2023)]
    [InlineData(69, 2069)]
    [InlineData(70, 1970)]
    [InlineData(99, 1999)]
    public void Two_digit_years_pivot_at_70(int yy, int year) => Assert.Equal(year, DosListParser.ExpandYear(yy));

    [Theory]
    [InlineData("13-45-23  01:45PM                  123 month-13")]
    [InlineData("02-30-23  01:45PM                  123 feb-30")]
    [InlineData("01-15-23  13:45PM                  123 pm-hour-13")]
    [InlineData("01-15-23  00:45AM                  123 am-hour-0")]
    [InlineData("01-15-23  24:00                    123 hour-24")]
    [InlineData("01-15-1969  10:00                  123 before-epoch")]
    [InlineData("01-15-0000  10:00                  123 year-zero")]
    public void Absurd_dates_give_a_null_date(string line)
    {
        Assert.Equal(LineParseOutcome.Parsed, DosListParser.ParseLine(line, null, out var e));
        Assert.Null(e!.Modified);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("01-15-23  01:45PM       <DIR>          .")]
    [InlineData("01-15-23  01:45PM       <DIR>          ..")]
    public void Skips_blank_and_self_parent(string line)
    {
        Assert.Equal(LineParseOutcome.Skipped, DosListParser.ParseLine(line, null, out var e));
        Assert.Null(e);
    }

    [Theory]
    // unsafe names: DOS listings also refuse '\'
    [InlineData("01-15-23  01:45PM                  123 ..\\..\\windows\\win.ini")]
    [InlineData("01-15-23  01:45PM                  123 a\\b")]
    [InlineData("01-15-23  01:45PM                  123 a/b")]
    [InlineData("01-15-23  01:45PM                  123 ..")]
    [InlineData("01-15-23  01:45PM       <SYMLINKD>     .. [C:\\]")]
    [InlineData("01-15-23  01:45PM                  123 nul\0")]
    [InlineData("01-15-23  01:45PM                  123 line\nbreak")]
    [InlineData("01-15-23  01:45PM       <DIR>          ")]
    [InlineData("01-15-23  01:45PM       <DIR>")]
    [InlineData("01-15-23  01:45PM                  123")]
    [InlineData("01-15-23  01:45PM                  123 ")]
    // sizes
    [InlineData("01-15-23  01:45PM                  -12 negative")]
    [InlineData("01-15-23  01:45PM  9223372036854775808 beyond-long")]
    [InlineData("01-15-23  01:45PM                1,23,4 bad-grouping")]
    [InlineData("01-15-23  01:45PM                 ,123 leading-comma")]
    // not DOS
    [InlineData("<DIR> name")]
    [InlineData("01-15-23")]
    [InlineData("01-15-23  01:45PM")]
    [InlineData("01-15-23  noon       123 bad-time")]
    [InlineData("0115-23  01:45PM       123 one-separator")]
    [InlineData("01-15-123  01:45PM     123 three-digit-year")]
    [InlineData("01-15-23  01:45PM       <FILE>         unknown-marker")]
    [InlineData("-rw-r--r-- 1 u g 5 Jan  1  2024 unix-line")]
    public void Rejects_unsafe_or_unparseable_lines(string line)
    {
        Assert.Equal(LineParseOutcome.Rejected, DosListParser.ParseLine(line, null, out var e));
        Assert.Null(e);
    }
}
