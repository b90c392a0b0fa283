using FtpsMount.Cli;
using FtpsMount.Protocol;

namespace FtpsMount.Cli.Tests;

public class FtpsUrlTests
{
    [Theory]
    [InlineData("ftpes://alice@example.org/dir", "alice", "example.org", 21, "/dir", FtpsMode.Explicit)]
    [InlineData("ftps://alice@example.org/", "alice", "example.org", 990, "/", FtpsMode.Implicit)]
    [InlineData("ftp://example.org", null, "example.org", 21, "/", FtpsMode.Explicit)]
    [InlineData("ftpes://bob%40corp@host:2121/a%20b", "bob@corp", "host", 2121, "/a b", FtpsMode.Explicit)]
    [InlineData("ftps://[::1]:9990/x", null, "::1", 9990, "/x", FtpsMode.Implicit)]
    [InlineData("FTPES://u@h/", "u", "h", 21, "/", FtpsMode.Explicit)]
    public void Parses(string text, string? user, string host, int port, string path, FtpsMode mode)
    {
        var url = FtpsUrl.Parse(text);
        Assert.Equal(user, url.User);
        Assert.Equal(host, url.Host);
        Assert.Equal(port, url.Port);
        Assert.Equal(path, url.Path);
        Assert.Equal(mode, url.Mode);
    }

    [Fact]
    public void Password_in_url_is_refused_with_advice()
    {
        var ex = Assert.Throws<FormatException>(() => FtpsUrl.Parse("ftpes://alice:secret@host/"));
        Assert.Contains("FTPSMOUNT_PASSWORD", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sftp://host/")]
    [InlineData("host/path")]
    [InlineData("ftpes:///path")]
    [InlineData("ftpes://host:99999/")]
    [InlineData("ftpes://host:abc/")]
    public void Rejects_bad_urls(string text) => Assert.Throws<FormatException>(() => FtpsUrl.Parse(text));

    [Fact]
    public void Encoded_crlf_in_path_is_refused_before_anything_is_sent() =>
        Assert.Throws<FtpInvalidPathException>(() => FtpsUrl.Parse("ftpes://host/a%0d%0aDELE%20b"));

    [Theory]
    [InlineData("/x/../y", "/home/u", "/y")]
    [InlineData("/~/docs", "/home/u", "/home/u/docs")]
    [InlineData("/~", "/home/u", "/home/u")]
    public void Resolves_paths(string path, string home, string expected) =>
        Assert.Equal(expected, (FtpsUrl.Parse("ftpes://h" + path)).ResolvePath(home));
}

public class PasswordSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ftpsmount-pw").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Password_file_first_line_wins()
    {
        var file = Path.Combine(_dir, "pw");
        File.WriteAllText(file, "s3cret\nignored\n");
        var source = new PasswordSource(_ => "from-env", netrcPath: null, stderr: TextWriter.Null);
        Assert.Equal(("alice", "s3cret"), source.Resolve("h", "alice", file, allowPrompt: false));
    }

    [Fact]
    public void Environment_then_netrc()
    {
        var netrc = Path.Combine(_dir, "netrc");
        File.WriteAllText(netrc, "machine other login x password y\nmachine h login alice password \"p w\"\ndefault login anon password d\n");
        var withEnv = new PasswordSource(name => name == PasswordSource.EnvironmentVariable ? "envpw" : null, netrc, TextWriter.Null);
        Assert.Equal(("alice", "envpw"), withEnv.Resolve("h", "alice", null, allowPrompt: false));

        var withoutEnv = new PasswordSource(_ => null, netrc, TextWriter.Null);
        Assert.Equal(("alice", "p w"), withoutEnv.Resolve("h", "alice", null, allowPrompt: false));
        Assert.Equal(("alice", "p w"), withoutEnv.Resolve("H", null, null, allowPrompt: false));
        Assert.Equal(("anon", "d"), withoutEnv.Resolve("unknown", null, null, allowPrompt: false));
    }

    [Fact]
    public void No_source_and_no_terminal_is_a_clear_error()
    {
        var source = new PasswordSource(_ => null, Path.Combine(_dir, "none"), TextWriter.Null);
        var ex = Assert.Throws<CliException>(() => source.Resolve("h", "alice", null, allowPrompt: false));
        Assert.Contains("--password-file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Anonymous_needs_no_password()
    {
        var source = new PasswordSource(_ => null, Path.Combine(_dir, "none"), TextWriter.Null);
        Assert.Equal(("anonymous", "anonymous@"), source.Resolve("h", null, null, allowPrompt: false));
    }
}
