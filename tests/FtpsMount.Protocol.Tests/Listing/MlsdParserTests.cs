using FtpsMount.Protocol.Listing;
using static FtpsMount.Protocol.Tests.Listing.ListingTestData;

namespace FtpsMount.Protocol.Tests.Listing;

public class MlsdParserTests
{
    // Size -1 = null; mode is octal text or null.
    [Theory]
    // proftpd 1.3 (mod_facts): all facts, numeric UNIX.owner/group plus names
    [InlineData("modify=20230115134512;perm=adfrw;size=1234;type=file;unique=FD00U1234;UNIX.group=100;UNIX.groupname=users;UNIX.mode=0644;UNIX.owner=1000;UNIX.ownername=alice; report.pdf",
        "report.pdf", FtpEntryType.File, 1234L, "2023-01-15T13:45:12Z", "644", "alice", "users")]
    [InlineData("modify=20230115134512;perm=flcdmpe;type=dir;unique=FD00U1235;UNIX.group=100;UNIX.mode=02775;UNIX.owner=1000; shared",
        "shared", FtpEntryType.Directory, -1L, "2023-01-15T13:45:12Z", "2775", "1000", "100")]
    // pure-ftpd: UNIX.uid/gid
    [InlineData("type=file;size=42;modify=20240229120000;UNIX.mode=0644;UNIX.uid=1000;UNIX.gid=1001;unique=803g2e5d3; note.txt",
        "note.txt", FtpEntryType.File, 42L, "2024-02-29T12:00:00Z", "644", "1000", "1001")]
    // IIS: fractional seconds, no UNIX facts
    [InlineData("modify=20230115134512.123;type=dir; Folder With Spaces",
        "Folder With Spaces", FtpEntryType.Directory, -1L, "2023-01-15T13:45:12.123Z", null, null, null)]
    [InlineData("size=0;modify=20230115134512.5;type=file; empty.txt",
        "empty.txt", FtpEntryType.File, 0L, "2023-01-15T13:45:12.5Z", null, null, null)]
    // FileZilla Server
    [InlineData("type=file;size=9876543210;modify=20250704080000;perm=awrfd; video.mkv",
        "video.mkv", FtpEntryType.File, 9876543210L, "2025-07-04T08:00:00Z", null, null, null)]
    // fact names and type values in any case
    [InlineData("Type=File;Size=10;Modify=20230101000000;Unix.Mode=755; Upper.txt",
        "Upper.txt", FtpEntryType.File, 10L, "2023-01-01T00:00:00Z", "755", null, null)]
    [InlineData("TYPE=DIR; upperdir", "upperdir", FtpEntryType.Directory, -1L, null, null, null, null)]
    // sizd for directories
    [InlineData("type=dir;sizd=4096;modify=20230101000000; d", "d", FtpEntryType.Directory, 4096L, "2023-01-01T00:00:00Z", null, null, null)]
    // names: ';' and spaces after the first "; " are part of the name, leading spaces kept
    [InlineData("type=file;size=1; semi; colon ;name", "semi; colon ;name", FtpEntryType.File, 1L, null, null, null, null)]
    [InlineData("type=file;size=1;   spaced", "  spaced", FtpEntryType.File, 1L, null, null, null, null)]
    [InlineData("type=file;size=1; trailing ", "trailing ", FtpEntryType.File, 1L, null, null, null, null)]
    [InlineData("type=file;size=1; a=b;c=d", "a=b;c=d", FtpEntryType.File, 1L, null, null, null, null)]
    [InlineData("type=file;size=1; Ünïcødé 日本.txt\r\n", "Ünïcødé 日本.txt", FtpEntryType.File, 1L, null, null, null, null)]
    // other types
    [InlineData("type=OS.unix=chr-device;modify=20230101000000; null", "null", FtpEntryType.Other, -1L, "2023-01-01T00:00:00Z", null, null, null)]
    [InlineData("type=OS.unix=fifo; pipe", "pipe", FtpEntryType.Other, -1L, null, null, null, null)]
    // RFC 3659 allows no facts at all: a single leading space
    [InlineData(" no-facts.txt", "no-facts.txt", FtpEntryType.File, -1L, null, null, null, null)]
    // tolerated: last fact without ';' before the space
    [InlineData("type=file;size=3 tolerant.txt", "tolerant.txt", FtpEntryType.File, 3L, null, null, null, null)]
    // unknown facts ignored, empty owner ignored
    [InlineData("type=file;media-type=text/plain;charset=UTF-8;lang=en;create=20200101000000;UNIX.owner=; x.txt", "x.txt", FtpEntryType.File, -1L, null, null, null, null)]
    // UNIX.mode variants
    [InlineData("type=file;UNIX.mode=100644; full-mode", "full-mode", FtpEntryType.File, -1L, null, "644", null, null)]
    [InlineData("type=file;UNIX.mode=rw-r--r--; symbolic-mode", "symbolic-mode", FtpEntryType.File, -1L, null, null, null, null)]
    [InlineData("type=file;UNIX.mode=0999; bad-octal", "bad-octal", FtpEntryType.File, -1L, null, null, null, null)]
    public void Parses_real_world_lines(
        string line, string name, FtpEntryType type, long size, string? modified, string? modeOctal, string? owner, string? group)
    {
        var outcome = MlsdParser.ParseLine(line, out var e);

        Assert.Equal(LineParseOutcome.Parsed, outcome);
        Assert.NotNull(e);
        Assert.Equal(name, e.Name);
        Assert.Equal(type, e.Type);
        Assert.Equal(size < 0 ? null : size, e.Size);
        AssertDate(modified, e.Modified);
        Assert.Equal(modeOctal is null ? null : Convert.ToInt32(modeOctal, 8), e.UnixMode);
        Assert.Equal(owner, e.Owner);
        Assert.Equal(group, e.Group);
        AssertSafe(e);
    }

    [Fact]
    public void Keeps_perm_and_unique_facts()
    {
        MlsdParser.ParseLine("type=file;perm=adfrw;unique=803U1FEF97;size=1; f", out var e);

        Assert.Equal("adfrw", e!.Permissions);
        Assert.Equal("803U1FEF97", e.UniqueId);
    }

    [Theory]
    [InlineData("type=OS.unix=slink:/usr/share/doc;size=4096;modify=20230101000000; doc", "doc", "/usr/share/doc")]
    [InlineData("type=OS.unix=slink:../x;modify=20230101000000; rel", "rel", "../x")]
    [InlineData("type=OS.unix=slink:;size=1; empty-target", "empty-target", null)]
    [InlineData("type=OS.unix=slink; no-target", "no-target", null)]
    [InlineData("type=OS.unix=symlink;size=10; erratum-style", "erratum-style", null)]
    [InlineData("Type=os.UNIX=SYMLINK; any-case", "any-case", null)]
    public void Reads_symbolic_links(string line, string name, string? target)
    {
        Assert.Equal(LineParseOutcome.Parsed, MlsdParser.ParseLine(line, out var e));
        Assert.Equal(name, e!.Name);
        Assert.Equal(FtpEntryType.Link, e.Type);
        Assert.Equal(target, e.LinkTarget);
    }

    [Theory]
    [InlineData("modify=20231345000000;type=file; month-13")]
    [InlineData("modify=20230230000000;type=file; feb-30")]
    [InlineData("modify=19691231235959;type=file; before-epoch")]
    [InlineData("modify=abc;type=file; letters")]
    [InlineData("modify=2023011513451;type=file; too-short")]
    [InlineData("modify=20230115134512.;type=file; dot-without-digits")]
    [InlineData("modify=20230115134512Z;type=file; suffix")]
    [InlineData("modify=20230115254512;type=file; hour-25")]
    public void Absurd_modify_gives_a_null_date(string line)
    {
        Assert.Equal(LineParseOutcome.Parsed, MlsdParser.ParseLine(line, out var e));
        Assert.Null(e!.Modified);
    }

    [Fact]
    public void Leap_second_is_folded_onto_59()
    {
        MlsdParser.ParseLine("modify=20161231235960;type=file; leap", out var e);
        AssertDate("2016-12-31T23:59:59Z", e!.Modified);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("type=cdir;modify=20230101000000;perm=flcdmpe; .")]
    [InlineData("type=pdir;modify=20230101000000;perm=flcdmpe; ..")]
    [InlineData("type=cdir;perm=el; /home/user")] // some servers name cdir by its full path
    [InlineData("Type=CDir; .")]
    [InlineData("type=dir; .")]
    [InlineData("type=dir; ..")]
    public void Skips_current_and_parent_directory(string line)
    {
        Assert.Equal(LineParseOutcome.Skipped, MlsdParser.ParseLine(line, out var e));
        Assert.Null(e);
    }

    [Theory]
    [InlineData("type=file;size=-1; negative")]
    [InlineData("type=file;size=9223372036854775808; beyond-long")]
    [InlineData("type=file;size=1e6; exponent")]
    [InlineData("type=file;size=; empty-size")]
    [InlineData("type=dir;sizd=-4096; negative-sizd")]
    [InlineData("type=file; a/b")]
    [InlineData("type=file; /etc/passwd")]
    [InlineData("type=file; ../escape")]
    [InlineData("type=file; ..")]
    [InlineData("type=OS.unix=symlink; ..")]
    [InlineData("type=file; .")]
    [InlineData("type=file; ")]
    [InlineData("type=file;size=1;")]
    [InlineData("type=file; nul\0")]
    [InlineData("type=file; cr\rin-name")]
    [InlineData("type=file; lf\nin-name")]
    [InlineData("type=OS.unix=slink:/x\0y; nul-target")]
    [InlineData("no facts here")]
    [InlineData("hello; world")]
    [InlineData("=value; empty-fact-name")]
    [InlineData("-rw-r--r--   1 u g 5 Jan  1  2024 unix-line")]
    [InlineData("01-15-23  01:45PM                12345 dos-line")]
    public void Rejects_unsafe_or_unparseable_lines(string line)
    {
        Assert.Equal(LineParseOutcome.Rejected, MlsdParser.ParseLine(line, out var e));
        Assert.Null(e);
    }

    public static TheoryData<string[], string, string, FtpEntryType> MlstReplies => new()
    {
        // raw reply lines (proftpd)
        {
            ["250-Start of list for /pub/file.txt", " modify=20230101000000;perm=adfrw;size=12;type=file;unique=FD00U1;UNIX.mode=0644; /pub/file.txt", "250 End of list"],
            "/pub/file.txt", "file.txt", FtpEntryType.File
        },
        // FtpReply.Lines (code stripped), directory with trailing slash
        { ["Listing /pub/dir/", " type=dir;modify=20230101000000; /pub/dir/", "End"], "/pub/dir/", "dir", FtpEntryType.Directory },
        // cdir for the directory asked about (pure-ftpd style)
        { ["250-Begin", " type=cdir;sizd=4096;modify=20230101000000; /home/ftp/pub", "250 End."], "/home/ftp/pub", "pub", FtpEntryType.Directory },
        // relative pathname, name with spaces and ';'
        { ["250-Listing", " type=file;size=1; my; file.txt", "250 End"], "my; file.txt", "my; file.txt", FtpEntryType.File },
        // server that drops the leading space
        { ["250-Listing /x/y.txt", "type=file;size=5; /x/y.txt", "250 End"], "/x/y.txt", "y.txt", FtpEntryType.File },
        // single-line reply text is ignored, fact line found later
        { ["250-Listing /a b/c d", " type=file;size=5; /a b/c d", "250 End"], "/a b/c d", "c d", FtpEntryType.File },
    };

    [Theory]
    [MemberData(nameof(MlstReplies))]
    public void Parses_mlst_replies(string[] lines, string path, string name, FtpEntryType type)
    {
        var result = MlsdParser.ParseMlstReply(lines);

        Assert.NotNull(result);
        Assert.Equal(path, result.Path);
        Assert.Equal(name, result.Entry.Name);
        Assert.Equal(type, result.Entry.Type);
        AssertSafe(result.Entry);
    }

    [Fact]
    public void Mlst_reply_keeps_facts()
    {
        var result = MlsdParser.ParseMlstReply(
            ["250-Listing /pub/file.txt", " modify=20230101000000;size=12;type=file;UNIX.mode=0640; /pub/file.txt", "250 End"]);

        Assert.Equal(12, result!.Entry.Size);
        Assert.Equal(Convert.ToInt32("640", 8), result.Entry.UnixMode);
        AssertDate("2023-01-01T00:00:00Z", result.Entry.Modified);
    }

    public static TheoryData<string[]?> UnusableMlstReplies => new()
    {
        null,
        Array.Empty<string>(),
        new[] { "250 End" },
        new[] { "250-Listing /", " type=dir;modify=20230101000000; /", "250 End" },
        new[] { "250-Listing /", " type=cdir; //", "250 End" },
        new[] { "Listing /a/..", " type=dir; /a/..", "End" },
        new[] { " type=file; /a/.", },
        new[] { " type=file; /a/b\0c" },
        new[] { " type=file; /a/b\nc" },
        new[] { " type=file;size=-3; /a/b" },
        new[] { " type=file;size=1;" },
        new[] { "250-Listing /x", "250 End" },
        new[] { "250-Listing x", "no facts here", "250 End" },
        new[] { null!, " ", "" },
    };

    [Theory]
    [MemberData(nameof(UnusableMlstReplies))]
    public void Unusable_mlst_replies_give_null(string[]? lines) => Assert.Null(MlsdParser.ParseMlstReply(lines));
}
