using System.Text;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Control;

namespace FtpsMount.Protocol.Tests.Control;

public class ReplyReaderTests
{
    private static ReplyReader Reader(string text, int maxLine = ReplyReader.DefaultMaxLineBytes) =>
        new(new MemoryStream(Encoding.UTF8.GetBytes(text)), Encoding.Latin1, maxLine);

    private static ReplyReader Reader(byte[] bytes) => new(new MemoryStream(bytes), Encoding.Latin1);

    [Theory]
    [InlineData("220 Ready\r\n", 220, new[] { "Ready" })]
    [InlineData("220 Ready\n", 220, new[] { "Ready" })]
    [InlineData("220\r\n", 220, new[] { "" })]
    [InlineData("211-Features:\r\n MLST size*;\r\n UTF8\r\n211 End\r\n", 211, new[] { "Features:", " MLST size*;", " UTF8", "End" })]
    // Lines inside a multi-line reply may start with other codes or with "NNN-"; only "NNN " ends it (RFC 959 §4.2).
    [InlineData("230-Welcome\r\n230-second\r\n123 not the end\r\n230 done\r\n", 230, new[] { "Welcome", "second", "123 not the end", "done" })]
    [InlineData("220-a\r\n220\r\n", 220, new[] { "a", "" })]
    public async Task Parses_single_and_multi_line_replies(string wire, int code, string[] lines)
    {
        var reply = await Reader(wire).ReadReplyAsync(CancellationToken.None);
        Assert.Equal(code, reply.Code);
        Assert.Equal(lines, reply.Lines);
    }

    [Fact]
    public async Task Reads_consecutive_replies_from_one_buffer()
    {
        var reader = Reader("150 Opening\r\n226 Done\r\n200 NOOP ok\r\n");
        Assert.Equal(150, (await reader.ReadReplyAsync(CancellationToken.None)).Code);
        Assert.Equal(226, (await reader.ReadReplyAsync(CancellationToken.None)).Code);
        Assert.Equal(200, (await reader.ReadReplyAsync(CancellationToken.None)).Code);
    }

    [Theory]
    [InlineData("abc hello\r\n")]
    [InlineData("999 nine\r\n")]
    [InlineData("099 zero\r\n")]
    [InlineData("22 short\r\n")]
    [InlineData("220x junk\r\n")]
    [InlineData("\r\n")]
    public async Task Malformed_first_line_is_a_protocol_error(string wire)
    {
        await Assert.ThrowsAsync<FtpProtocolException>(() => Reader(wire).ReadReplyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Binary_garbage_is_a_protocol_error_not_a_crash()
    {
        var garbage = new byte[] { 0xff, 0xfe, 0x00, 0x13, 0x80, (byte)'\n' };
        await Assert.ThrowsAsync<FtpProtocolException>(() => Reader(garbage).ReadReplyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Over_long_line_is_refused_without_buffering_it_all()
    {
        var wire = "220 " + new string('x', 1024 * 1024) + "\r\n";
        var ex = await Assert.ThrowsAsync<FtpProtocolException>(() => Reader(wire, maxLine: 4096).ReadReplyAsync(CancellationToken.None));
        Assert.Contains("longer than", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Endless_multi_line_reply_is_bounded()
    {
        var sb = new StringBuilder("211-start\r\n");
        for (var i = 0; i < ReplyReader.DefaultMaxReplyLines + 10; i++)
        {
            sb.Append(" line\r\n");
        }

        await Assert.ThrowsAsync<FtpProtocolException>(() => Reader(sb.ToString()).ReadReplyAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("220 trunc")]
    [InlineData("211-start\r\n more\r\n")]
    public async Task Early_eof_is_a_connection_error(string wire)
    {
        await Assert.ThrowsAsync<FtpConnectionException>(() => Reader(wire).ReadReplyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Invalid_utf8_falls_back_to_the_legacy_encoding()
    {
        var bytes = Encoding.ASCII.GetBytes("257 \"/caf").Concat(new byte[] { 0xe9 }).Concat(Encoding.ASCII.GetBytes("\" created\r\n")).ToArray();
        var reply = await Reader(bytes).ReadReplyAsync(CancellationToken.None);
        Assert.Equal("\"/café\" created", reply.Message);
    }

    [Fact]
    public async Task Utf8_is_decoded_as_utf8()
    {
        var reply = await Reader("257 \"/日本\" created\r\n").ReadReplyAsync(CancellationToken.None);
        Assert.Equal("\"/日本\" created", reply.Message);
    }

    [Fact]
    public async Task Reply_arriving_byte_by_byte_is_assembled()
    {
        var bytes = Encoding.ASCII.GetBytes("211-a\r\n b\r\n211 end\r\n");
        var reader = new ReplyReader(new TrickleStream(bytes), Encoding.Latin1);
        var reply = await reader.ReadReplyAsync(CancellationToken.None);
        Assert.Equal(new[] { "a", " b", "end" }, reply.Lines);
    }

    [Fact]
    public async Task A_stalled_server_is_interrupted_by_cancellation()
    {
        var reader = new ReplyReader(new NeverStream(), Encoding.Latin1);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.ReadReplyAsync(cts.Token));
    }

    [Fact]
    public void Printable_strips_control_characters()
    {
        Assert.Equal("a?b?c", ReplyReader.Printable("a\u001bb\0c"));
    }

    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }

    private sealed class NeverStream : MemoryStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }
}
