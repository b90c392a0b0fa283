using System.Text;
using BenchmarkDotNet.Attributes;
using FtpsMount.Protocol.Control;

namespace FtpsMount.Bench.Micro;

/// <summary>Reading control-channel replies: the single-line replies of a transfer (227/229, 350, 150, 226) and
/// a multi-line FEAT, from an in-memory stream.</summary>
[MemoryDiagnoser]
public class ReplyBenchmarks
{
    private byte[] _transferReplies = [];
    private byte[] _feat = [];

    [GlobalSetup]
    public void Setup()
    {
        var one = "229 Entering Extended Passive Mode (|||40123|)\r\n350 Restart position accepted (1048576).\r\n"
            + "150 Opening BINARY mode data connection for /data/seq.bin (268435456 bytes).\r\n226 Transfer complete.\r\n";
        _transferReplies = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(one, 250)));
        _feat = Encoding.ASCII.GetBytes("211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n PBSZ\r\n PROT\r\n REST STREAM\r\n SIZE\r\n"
            + " TVFS\r\n UTF8\r\n MLST modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.mode*;UNIX.owner*;\r\n AUTH TLS\r\n211 End\r\n");
    }

    /// <summary>1000 single-line replies (250 ranged transfers' worth).</summary>
    [Benchmark]
    public async Task<int> TransferReplies()
    {
        var reader = new ReplyReader(new MemoryStream(_transferReplies, writable: false), Encoding.Latin1);
        var sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            sum += (await reader.ReadReplyAsync(CancellationToken.None).ConfigureAwait(false)).Code;
        }

        return sum;
    }

    [Benchmark]
    public async Task<int> MultiLineFeat()
    {
        var reader = new ReplyReader(new MemoryStream(_feat, writable: false), Encoding.Latin1);
        return (await reader.ReadReplyAsync(CancellationToken.None).ConfigureAwait(false)).Lines.Count;
    }
}
