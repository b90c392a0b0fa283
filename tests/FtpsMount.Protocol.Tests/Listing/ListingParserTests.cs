using System.Diagnostics;
using System.Text;
using FtpsMount.Protocol.Listing;
using Xunit.Abstractions;
using static FtpsMount.Protocol.Tests.Listing.ListingTestData;

namespace FtpsMount.Protocol.Tests.Listing;

public class ListingParserTests(ITestOutputHelper output)
{
    private static readonly string[] VsftpdListing =
    [
        "total 24",
        "drwxr-xr-x    2 1000     1000         4096 Mar 15  2023 pub",
        "-rw-r--r--    1 1000     1000         1234 Dec 31 23:59 report.pdf",
        "lrwxrwxrwx    1 1000     1000            3 Jan  1 10:00 latest -> pub",
        "",
    ];

    private static readonly string[] IisListing =
    [
        "01-15-23  01:45PM       <DIR>          aspnet_client",
        "02-20-13  02:45PM                  689 iisstart.htm",
        "02-20-13  02:45PM               184946 welcome.png",
    ];

    [Fact]
    public void Auto_reads_a_unix_listing()
    {
        var r = ListingParser.Parse(VsftpdListing, ListingFormat.Auto, Now, null);

        Assert.Equal(["pub", "report.pdf", "latest"], r.Entries.Select(e => e.Name));
        Assert.Equal(2, r.Skipped);
        Assert.Equal(0, r.RejectedCount);
        Assert.Empty(r.Rejected);
        AssertDate("2025-12-31T23:59:00Z", r.Entries[1].Modified);
    }

    [Fact]
    public void Auto_reads_a_dos_listing()
    {
        var r = ListingParser.Parse(IisListing, ListingFormat.Auto, Now, null);

        Assert.Equal(["aspnet_client", "iisstart.htm", "welcome.png"], r.Entries.Select(e => e.Name));
        Assert.Equal([FtpEntryType.Directory, FtpEntryType.File, FtpEntryType.File], r.Entries.Select(e => e.Type));
        Assert.Equal(0, r.RejectedCount);
    }

    [Fact]
    public void Auto_decides_per_line()
    {
        var r = ListingParser.Parse([.. VsftpdListing, .. IisListing], ListingFormat.Auto, Now, null);

        Assert.Equal(6, r.Entries.Count);
        Assert.Equal(0, r.RejectedCount);
    }

    [Fact]
    public void Explicit_formats_do_not_cross_over()
    {
        var unixAsDos = ListingParser.Parse(VsftpdListing, ListingFormat.Dos, Now, null);
        var dosAsUnix = ListingParser.Parse(IisListing, ListingFormat.Unix, Now, null);

        Assert.Empty(unixAsDos.Entries);
        Assert.Empty(dosAsUnix.Entries);
        Assert.Equal(3, dosAsUnix.RejectedCount);
    }

    [Fact]
    public void Mlsd_listing_skips_cdir_and_pdir()
    {
        string[] lines =
        [
            "type=cdir;modify=20230101000000;perm=flcdmpe;UNIX.mode=0755; .",
            "type=pdir;modify=20230101000000;perm=flcdmpe;UNIX.mode=0755; ..",
            "type=dir;modify=20230101000000;perm=flcdmpe;UNIX.mode=0755; sub",
            "type=file;size=10;modify=20230101000000;perm=adfrw;UNIX.mode=0644; a.txt",
            "type=file;size=10;modify=20230101000000;perm=adfrw; ../../escape",
        ];

        var r = ListingParser.Parse(lines, ListingFormat.Mlsd, Now, null);

        Assert.Equal(["sub", "a.txt"], r.Entries.Select(e => e.Name));
        Assert.Equal(2, r.Skipped);
        Assert.Equal(1, r.RejectedCount);
        Assert.Equal(lines[4], Assert.Single(r.Rejected));
    }

    [Fact]
    public void Server_zone_is_applied_to_list_times_but_not_to_mlsd()
    {
        var zone = FixedZone(3);
        var list = ListingParser.Parse(["-rw-r--r-- 1 u g 1 Mar 15  2023 f"], ListingFormat.Unix, Now, zone);
        var mlsd = ListingParser.Parse(["type=file;modify=20230315000000; f"], ListingFormat.Mlsd, Now, zone);

        AssertDate("2023-03-15T00:00:00+03:00", list.Entries[0].Modified);
        AssertDate("2023-03-15T00:00:00Z", mlsd.Entries[0].Modified);
    }

    // Lines a hostile or broken server might send: whatever the format, no entry comes out, nothing throws.
    public static TheoryData<string, ListingFormat> HostileLines()
    {
        string[] unixNames = ["..", "../x", "a/b", "/", "/etc/passwd", "x\0y", "x\ry", "x\ny", ""];
        var data = new TheoryData<string, ListingFormat>();
        foreach (var n in unixNames)
        {
            data.Add($"-rw-r--r-- 1 u g 1 Jan  1  2024 {n}", ListingFormat.Auto);
            data.Add($"-rw-r--r-- 1 u g 1 Jan  1  2024 {n}", ListingFormat.Unix);
            data.Add($"lrwxrwxrwx 1 u g 1 Jan  1  2024 {n} -> /etc", ListingFormat.Unix);
            data.Add($"01-15-23  01:45PM                 1 {n}", ListingFormat.Auto);
            data.Add($"01-15-23  01:45PM                 1 {n}", ListingFormat.Dos);
            data.Add($"type=file;size=1; {n}", ListingFormat.Mlsd);
        }

        foreach (var n in new[] { "a\\b", "..\\..\\boot.ini", "\\" })
        {
            data.Add($"01-15-23  01:45PM                 1 {n}", ListingFormat.Dos);
            data.Add($"01-15-23  01:45PM       <DIR>          {n}", ListingFormat.Auto);
        }

        data.Add("-rw-r--r-- 1 u g 18446744073709551616 Jan  1  2024 huge", ListingFormat.Unix);
        data.Add("01-15-23  01:45PM  18446744073709551616 huge", ListingFormat.Dos);
        data.Add("type=file;size=18446744073709551616; huge", ListingFormat.Mlsd);
        data.Add("-rw-r--r-- 1 u g " + new string('9', 5000) + " Jan  1  2024 long-size", ListingFormat.Unix);
        data.Add(new string('-', 100_000), ListingFormat.Auto);
        data.Add(new string(';', 100_000), ListingFormat.Mlsd);
        data.Add("type=" + new string('x', 100_000) + ";", ListingFormat.Mlsd);
        data.Add("\uFFFF\uD800\uDC00\u0001", ListingFormat.Auto);
        data.Add("\uD800", ListingFormat.Mlsd);
        return data;
    }

    [Theory]
    [MemberData(nameof(HostileLines))]
    public void Hostile_lines_are_rejected_not_sanitised(string line, ListingFormat format)
    {
        var r = ListingParser.Parse([line], format, Now, null);

        Assert.Empty(r.Entries);
        Assert.Equal(1, r.RejectedCount);
        var sample = Assert.Single(r.Rejected);
        Assert.True(sample.Length <= ListingParser.MaxSampleLength + 1);
        Assert.DoesNotContain(sample, c => char.IsControl(c));
    }

    [Fact]
    public void Rejected_samples_are_capped_and_escaped()
    {
        var lines = Enumerable.Range(0, 50).Select(i => $"garbage {i}\r\n\0\u001b[31m").ToList();

        var r = ListingParser.Parse(lines, ListingFormat.Auto, Now, null);

        Assert.Equal(50, r.RejectedCount);
        Assert.Equal(ListingParser.MaxRejectedSamples, r.Rejected.Count);
        Assert.Equal("garbage 0\\r\\n\\u0000\\u001B[31m", r.Rejected[0]);
    }

    [Fact]
    public void Null_and_blank_lines_are_skipped()
    {
        var r = ListingParser.Parse([null!, "", "   ", "\r\n", "\t"], ListingFormat.Auto, Now, null);

        Assert.Empty(r.Entries);
        Assert.Equal(5, r.Skipped);
        Assert.Equal(0, r.RejectedCount);
    }

    [Fact]
    public void Unknown_format_value_behaves_as_auto()
    {
        var r = ListingParser.Parse(VsftpdListing, (ListingFormat)42, Now, null);
        Assert.Equal(3, r.Entries.Count);
    }

    [Fact]
    public void Extreme_now_values_do_not_throw()
    {
        foreach (var now in new[] { DateTimeOffset.MinValue, DateTimeOffset.MaxValue, default })
        {
            foreach (var zone in new[] { TimeZoneInfo.Utc, FixedZone(14), FixedZone(-12) })
            {
                var r = ListingParser.Parse([.. VsftpdListing, .. IisListing], ListingFormat.Auto, now, zone);
                Assert.Equal(6, r.Entries.Count);
            }
        }
    }

    [Fact]
    public void Extreme_dates_near_the_end_of_time_do_not_throw()
    {
        string[] lines =
        [
            "-rw-r--r-- 1 u g 1 Dec 31  9999 end",
            "-rw-r--r-- 1 u g 1 9999-12-31 23:59:59.9999999 -1400 end-iso",
            "12-31-9999  11:59PM                 1 end-dos",
            "type=file;modify=99991231235959.99999999999; end-mlsd",
        ];

        foreach (var zone in new[] { FixedZone(-14), FixedZone(14) })
        {
            var r = ListingParser.Parse(lines[..3], ListingFormat.Auto, DateTimeOffset.MaxValue, zone);
            Assert.Equal(3, r.Entries.Count);
        }

        Assert.Single(ListingParser.Parse(lines[3..], ListingFormat.Mlsd, Now, null).Entries);
    }

    /// <summary>A small in-test fuzz: seeded random text and mutations of real lines. No throw, safe names only.</summary>
    [Theory]
    [InlineData(ListingFormat.Auto)]
    [InlineData(ListingFormat.Unix)]
    [InlineData(ListingFormat.Dos)]
    [InlineData(ListingFormat.Mlsd)]
    public void Random_input_never_throws_and_never_yields_unsafe_names(ListingFormat format)
    {
        var rng = new Random(20260102 + (int)format);
        string[] seeds =
        [
            .. VsftpdListing, .. IisListing,
            "type=file;size=10;modify=20230101000000;UNIX.mode=0644; a.txt",
            "type=OS.unix=slink:/x;size=1; l",
            "crw-rw-rw-   1 root     root       1,   3 Jan  1  2024 null",
            "-rw-r--r-- 1 bob users 512 2024-02-29 13:45:12.123456789 +0100 full.txt",
            "01/15/2023  01:45 PM    <SYMLINKD>     link [C:\\target]",
        ];
        const string alphabet = " \t-dlrwxsStT+.@0123456789:;=/\\<>[]DIRPMAJanFebDec\r\n\0ä日\uD800";

        var lines = new List<string>();
        for (int i = 0; i < 20_000; i++)
        {
            lines.Add((i % 3) switch
            {
                0 => RandomText(rng, alphabet, rng.Next(0, 120)),
                1 => Mutate(rng, seeds[rng.Next(seeds.Length)], alphabet),
                _ => RandomUtf16(rng, rng.Next(0, 80)),
            });
        }

        var r = ListingParser.Parse(lines, format, Now, FixedZone(-7));

        Assert.Equal(lines.Count, r.Entries.Count + r.Skipped + r.RejectedCount);
        foreach (var e in r.Entries)
        {
            AssertSafe(e, dos: format == ListingFormat.Dos);
        }

        foreach (var line in lines)
        {
            _ = MlsdParser.ParseMlstReply([line, " " + line]);
        }
    }

    [Fact]
    public void Parses_5000_lines_quickly()
    {
        var lines = new List<string>();
        for (int i = 0; i < 5000; i++)
        {
            lines.Add(i % 2 == 0
                ? $"-rw-r--r--    1 user     group    {i * 1000,10} Jan {1 + (i % 28),2} 12:{i % 60:00} file number {i}.dat"
                : $"drwxr-xr-x    2 user     group          4096 Mar {1 + (i % 28),2}  2023 directory {i}");
        }

        var mlsd = lines.Select((_, i) => $"type=file;size={i};modify=20230101000000;perm=adfrw;UNIX.mode=0644;UNIX.owner=1000; file {i}").ToList();

        // Warm up, then measure the best of a few runs to keep the test stable on busy machines.
        ListingParser.Parse(lines, ListingFormat.Auto, Now, null);
        ListingParser.Parse(mlsd, ListingFormat.Mlsd, Now, null);
        var best = TimeSpan.MaxValue;
        var bestMlsd = TimeSpan.MaxValue;
        for (int run = 0; run < 5; run++)
        {
            var sw = Stopwatch.StartNew();
            var r = ListingParser.Parse(lines, ListingFormat.Auto, Now, null);
            sw.Stop();
            Assert.Equal(5000, r.Entries.Count);
            best = sw.Elapsed < best ? sw.Elapsed : best;

            sw.Restart();
            var m = ListingParser.Parse(mlsd, ListingFormat.Mlsd, Now, null);
            sw.Stop();
            Assert.Equal(5000, m.Entries.Count);
            bestMlsd = sw.Elapsed < bestMlsd ? sw.Elapsed : bestMlsd;
        }

        output.WriteLine($"5000 LIST lines: {best.TotalMilliseconds:F2} ms; 5000 MLSD lines: {bestMlsd.TotalMilliseconds:F2} ms");
        Assert.True(best < TimeSpan.FromMilliseconds(250), $"LIST took {best.TotalMilliseconds} ms");
        Assert.True(bestMlsd < TimeSpan.FromMilliseconds(250), $"MLSD took {bestMlsd.TotalMilliseconds} ms");
    }

    private static string RandomText(Random rng, string alphabet, int length)
    {
        var sb = new StringBuilder(length);
        for (int i = 0; i < length; i++)
        {
            sb.Append(alphabet[rng.Next(alphabet.Length)]);
        }

        return sb.ToString();
    }

    private static string RandomUtf16(Random rng, int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = (char)rng.Next(0, 0x10000);
        }

        return new string(chars);
    }

    private static string Mutate(Random rng, string seed, string alphabet)
    {
        var sb = new StringBuilder(seed);
        int edits = rng.Next(1, 4);
        for (int k = 0; k < edits; k++)
        {
            int at = sb.Length == 0 ? 0 : rng.Next(sb.Length);
            switch (rng.Next(3))
            {
                case 0 when sb.Length > 0:
                    sb.Remove(at, 1);
                    break;
                case 1 when sb.Length > 0:
                    sb[at] = alphabet[rng.Next(alphabet.Length)];
                    break;
                default:
                    sb.Insert(at, alphabet[rng.Next(alphabet.Length)]);
                    break;
            }
        }

        return sb.ToString();
    }
}
