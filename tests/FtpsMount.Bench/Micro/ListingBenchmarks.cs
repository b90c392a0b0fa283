using System.Globalization;
using BenchmarkDotNet.Attributes;
using FtpsMount.Protocol.Listing;

namespace FtpsMount.Bench.Micro;

/// <summary>Parsing a 5000-entry directory listing, as the mount does for a cold `ls -l` of such a directory.
/// Lines are shaped like vsftpd's LIST and proftpd's MLSD output.</summary>
[MemoryDiagnoser]
public class ListingBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private string[] _mlsd = [];
    private string[] _unix = [];

    [Params(5000)]
    public int Lines { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _mlsd = new string[Lines];
        _unix = new string[Lines];
        var c = CultureInfo.InvariantCulture;
        for (var i = 0; i < Lines; i++)
        {
            var size = 1000 + (i * 37);
            var day = 1 + (i % 28);
            _mlsd[i] = string.Create(c, $"modify=202611{day:00}093{i % 10}12;perm=adfrw;size={size};type=file;unique=803U{i:x};UNIX.group=1001;UNIX.mode=0644;UNIX.owner=1001; file-{i:00000}.txt");
            _unix[i] = string.Create(c, $"-rw-r--r--    1 1001     1001     {size,8} Nov {day,2} 09:3{i % 10} file-{i:00000}.txt");
        }
    }

    [Benchmark]
    public int Mlsd() => ListingParser.Parse(_mlsd, ListingFormat.Mlsd, Now).Entries.Count;

    [Benchmark]
    public int UnixList() => ListingParser.Parse(_unix, ListingFormat.Unix, Now).Entries.Count;

    [Benchmark]
    public int AutoList() => ListingParser.Parse(_unix, ListingFormat.Auto, Now).Entries.Count;
}
