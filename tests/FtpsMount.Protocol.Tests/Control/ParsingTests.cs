using System.Net;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Data;

namespace FtpsMount.Protocol.Tests.Control;

public class ParsingTests
{
    private static FtpReply R(int code, string text) => new(code, [text]);

    [Theory]
    [InlineData("Entering Extended Passive Mode (|||6446|)", 6446)]
    [InlineData("EPSV ok (!!!40000!)", 40000)]
    [InlineData("(|||1|)", 1)]
    public void Epsv_port(string text, int port) => Assert.Equal(port, PassiveReplyParser.ParseEpsv(R(229, text)));

    [Theory]
    [InlineData("Entering Extended Passive Mode (|||0|)")]
    [InlineData("Entering Extended Passive Mode (|||70000|)")]
    [InlineData("Entering Extended Passive Mode (||6446|)")]
    [InlineData("Entering Extended Passive Mode (|1|127.0.0.1|6446|)")]
    [InlineData("Entering Extended Passive Mode |||6446|")]
    [InlineData("(|||-5|)")]
    [InlineData("(|||abc|)")]
    public void Epsv_malformed(string text) => Assert.Throws<FtpProtocolException>(() => PassiveReplyParser.ParseEpsv(R(229, text)));

    [Theory]
    [InlineData("Entering Passive Mode (127,0,0,1,156,64)", "127.0.0.1", 40000)]
    [InlineData("Entering Passive Mode 10,1,2,3,4,1", "10.1.2.3", 1025)]
    [InlineData("=192,168,1,10,200,10", "192.168.1.10", 51210)]
    public void Pasv_endpoint(string text, string address, int port)
    {
        var ep = PassiveReplyParser.ParsePasv(R(227, text));
        Assert.Equal(IPAddress.Parse(address), ep.Address);
        Assert.Equal(port, ep.Port);
    }

    [Theory]
    [InlineData("Entering Passive Mode (300,0,0,1,4,1)")]
    [InlineData("Entering Passive Mode (127,0,0,1,0,0)")]
    [InlineData("Entering Passive Mode (127,0,0,1)")]
    [InlineData("Entering Passive Mode")]
    [InlineData("Entering Passive Mode (1111,0,0,1,4,1)")]
    public void Pasv_malformed(string text) => Assert.Throws<FtpProtocolException>(() => PassiveReplyParser.ParsePasv(R(227, text)));

    [Theory]
    [InlineData("/a/b", true)]
    [InlineData("/", true)]
    [InlineData("relative", false)]
    [InlineData("", false)]
    [InlineData("/a\r\nDELE /b", false)]
    [InlineData("/a\nb", false)]
    [InlineData("/a\0b", false)]
    public void Path_validation(string path, bool ok)
    {
        if (ok)
        {
            Assert.Equal(path, FtpPath.Validate(path));
        }
        else
        {
            Assert.Throws<FtpInvalidPathException>(() => FtpPath.Validate(path));
        }
    }

    [Fact]
    public void Over_long_path_is_refused() =>
        Assert.Throws<FtpInvalidPathException>(() => FtpPath.Validate("/" + new string('a', FtpPath.MaxPathLength)));

    [Theory]
    [InlineData("/a/b/../c", "/a/c")]
    [InlineData("/../../etc", "/etc")]
    [InlineData("//a///b/./", "/a/b")]
    [InlineData("/", "/")]
    public void Normalize(string input, string expected) => Assert.Equal(expected, FtpPath.Normalize(input));

    [Theory]
    [InlineData("/a/b", "/a", "b")]
    [InlineData("/a", "/", "a")]
    [InlineData("/a/b/", "/a", "b")]
    public void Parent_and_name(string path, string parent, string name)
    {
        Assert.Equal(parent, FtpPath.GetParent(path));
        Assert.Equal(name, FtpPath.GetName(path));
    }

    [Theory]
    [InlineData("\"/home/user\" is current directory", "/home/user")]
    [InlineData("\"/dir with \"\"quotes\"\"\" created", "/dir with \"quotes\"")]
    [InlineData("MKD command successful \"/x\"", "/x")]
    public void Quoted_path(string text, string expected)
    {
        Assert.True(FtpSession.TryParseQuotedPath(text, out var path));
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("20261121073000", 2026, 11, 21, 7, 30, 0, 0)]
    [InlineData("20261121073000.123", 2026, 11, 21, 7, 30, 0, 123)]
    public void Mdtm(string text, int y, int mo, int d, int h, int mi, int s, int ms)
    {
        Assert.True(FtpSession.TryParseMdtm(text, out var t));
        Assert.Equal(new DateTimeOffset(y, mo, d, h, mi, s, ms, TimeSpan.Zero), t);
    }

    [Theory]
    [InlineData("2026112107300")]
    [InlineData("garbage")]
    [InlineData("20261321073000")]
    public void Mdtm_malformed(string text) => Assert.False(FtpSession.TryParseMdtm(text, out _));

    [Fact]
    public void Feat_is_parsed()
    {
        var reply = new FtpReply(211, ["Features:", " MLST type*;size*;modify*;", " REST STREAM", " UTF8", " HASH SHA-256*;SHA-1;MD5", " EPSV", " MFMT", "End"]);
        var f = FtpFeatures.Parse(reply);
        Assert.True(f.Mlst);
        Assert.True(f.RestStream);
        Assert.True(f.Utf8);
        Assert.True(f.Epsv);
        Assert.True(f.Mfmt);
        Assert.False(f.Avbl);
        Assert.Equal(new[] { "SHA-256", "SHA-1", "MD5" }, f.HashAlgorithms);
        Assert.Equal("SHA-256", f.CurrentHashAlgorithm);
        Assert.Equal(new[] { "type", "size", "modify" }, f.MlstFacts);
    }

    [Fact]
    public void Feat_refused_means_no_features()
    {
        var f = FtpFeatures.Parse(new FtpReply(500, ["Unknown command"]));
        Assert.False(f.Mlst);
        Assert.Empty(f.Lines);
    }
}
