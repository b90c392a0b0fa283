using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Protocol.Tests.Scripted;

public sealed class ScriptedServerFaultTests
{
    [Fact]
    public async Task Override_CanSendMalformedReplies_ThenClose()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        var oneMegabyte = new string('x', 1024 * 1024);
        server.Override("PWD", async ctx =>
        {
            await ctx.SendLineAsync("257-start of a multi-line reply that never ends properly");
            await ctx.SendLineAsync("999 invalid code");
            await ctx.SendLineAsync("abc not a code");
            await ctx.SendLineAsync("2");
            await ctx.SendLineAsync("500 " + oneMegabyte);
            await ctx.SendRawAsync(new byte[] { 0, 1, 2, 0xFF, 0xFE, (byte)'\n' });
            await ctx.SendRawAsync("226 Transf");
            await ctx.CloseConnectionAsync();
            return true;
        });
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync(protP: false);

        await client.SendAsync("PWD");
        var raw = await client.ReadToEndAsync();
        var text = Encoding.Latin1.GetString(raw);
        Assert.StartsWith("257-start of a multi-line reply", text, StringComparison.Ordinal);
        Assert.Contains("\r\n999 invalid code\r\nabc not a code\r\n2\r\n500 xxx", text, StringComparison.Ordinal);
        Assert.Contains(oneMegabyte + "\r\n\0\u0001\u0002\u00FF\u00FE\n226 Transf", text, StringComparison.Ordinal);
        Assert.EndsWith("226 Transf", text, StringComparison.Ordinal);
        await server.WaitUntilAsync(() => server.Connections.Single().IsClosed);
        Assert.Empty(server.UnexpectedErrors);
    }

    [Fact]
    public async Task Override_CanFallThroughToTheDefault_AndReplaceTheGreeting()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        server.Override(ScriptedFtpServer.GreetingVerb, async ctx =>
        {
            await ctx.SendLineAsync("220-first line");
            await ctx.SendLineAsync("220 second line");
            return true;
        });
        var seen = 0;
        server.Override(ScriptedFtpServer.AnyVerb, ctx =>
        {
            Interlocked.Increment(ref seen);
            return Task.FromResult(false);
        });
        server.Override("NOOP", async ctx =>
        {
            await ctx.SendRawAsync("200-junk first\r\n");
            await ctx.RunDefaultAsync();
            return true;
        });

        await using var client = await RawFtpClient.ConnectAsync(server);
        var greeting = await client.ReadReplyAsync();
        Assert.Equal(["220-first line", "220 second line"], greeting.Lines);
        await client.ExpectAsync("AUTH TLS", 234);
        await client.StartTlsAsync();
        var noop = await client.ExpectAsync("NOOP", 200);
        Assert.Equal(["200-junk first", "200 NOOP ok."], noop.Lines);
        Assert.Equal(2, Volatile.Read(ref seen));

        server.RemoveOverride("NOOP");
        Assert.Single((await client.ExpectAsync("NOOP", 200)).Lines);
    }

    [Fact]
    public async Task Override_CanUseTheDataConnection()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        server.Override("LIST", async ctx =>
        {
            await ctx.ReplyAsync(150, "Here it comes.");
            var data = await ctx.OpenDataConnectionAsync();
            Assert.NotNull(data);
            await data.WriteAsync(Encoding.Latin1.GetBytes("-rw-r--r-- 1 a b 3 Jan 01 2020 caf\u00e9\n"));
            await data.CloseAsync(sendCloseNotify: false);
            await ctx.ReplyAsync(226, "Done.");
            return true;
        });
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        using var tcp = await client.PassiveAsync();
        await client.SendAsync("LIST");
        Assert.Equal(150, (await client.ReadReplyAsync()).Code);
        await using var stream = await client.SecureDataAsync(tcp);
        var bytes = await RawFtpClient.ReadAllAsync(stream);
        Assert.Equal(0xE9, bytes[^2]);
        Assert.Equal(226, (await client.ReadReplyAsync()).Code);
    }

    public static TheoryData<ScriptedAbortBehavior, bool, string[]> AbortCases()
    {
        var data = new TheoryData<ScriptedAbortBehavior, bool, string[]>();
        foreach (var closeDataFirst in new[] { false, true })
        {
            data.Add(ScriptedAbortBehavior.Reply426Then226, closeDataFirst, ["426", "226"]);
            data.Add(ScriptedAbortBehavior.Reply226Then426, closeDataFirst, ["226", "426"]);
            data.Add(ScriptedAbortBehavior.Reply225, closeDataFirst, ["225"]);
            data.Add(ScriptedAbortBehavior.Only426, closeDataFirst, ["426"]);
            data.Add(ScriptedAbortBehavior.Reply451, closeDataFirst, ["451"]);
            data.Add(ScriptedAbortBehavior.CloseControlConnection, closeDataFirst, []);
        }

        return data;
    }

    /// <summary>The client reads the first 1000 bytes of a stalled download, then sends ABOR (with or without closing
    /// the data connection first); the replies follow the configured behaviour, whichever the server noticed first.</summary>
    [Theory]
    [MemberData(nameof(AbortCases))]
    public async Task Abort_RepliesFollowTheConfiguredBehaviour(ScriptedAbortBehavior behavior, bool closeDataFirst, string[] expectedCodes)
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions
        {
            AbortBehavior = behavior,
            StallDataAfterBytes = 1000,
        });
        server.FileSystem.AddFile("/big.bin", new byte[200_000]);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        using var tcp = await client.PassiveAsync();
        await client.SendAsync("RETR big.bin");
        Assert.Equal(150, (await client.ReadReplyAsync()).Code);
        var data = await client.SecureDataAsync(tcp);
        Assert.Equal(1000, (await RawFtpClient.ReadExactlyAsync(data, 1000)).Length);

        if (closeDataFirst)
        {
            await data.DisposeAsync();
        }

        // Telnet IP + Synch before ABOR, as RFC 959 clients send it (in-band under TLS).
        // One write: when the server closes the control connection on its own, a second write could hit its reset.
        await client.SendRawAsync([0xFF, 0xF4, 0xFF, 0xF2, .. "ABOR\r\n"u8]);

        var replies = new List<string>();
        foreach (var _ in expectedCodes)
        {
            var reply = await client.ReadReplyAsync();
            replies.Add(reply.Code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(expectedCodes, replies);
        if (behavior == ScriptedAbortBehavior.CloseControlConnection)
        {
            Assert.Null(await client.ReadLineAsync());
        }
        else
        {
            // Nothing extra is pending: the next command gets its own reply.
            await client.ExpectAsync("NOOP", 200);
            var abor = Assert.Single(server.CommandsWithVerb("ABOR"));
            Assert.Equal("ABOR", abor.Line);
        }

        var d = Assert.Single(server.DataConnections);
        Assert.Contains(d.Outcome, new[] { ScriptedTransferOutcome.Aborted, ScriptedTransferOutcome.ClientClosed });
        Assert.Equal(1000, d.BytesSent);
        await data.DisposeAsync();
        Assert.Empty(server.UnexpectedErrors);
    }

    [Fact]
    public async Task ClientClosingTheDataConnection_IsNoticedWithoutAbor()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { StallDataAfterBytes = 10 });
        server.FileSystem.AddFile("/f", new byte[100]);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        using var tcp = await client.PassiveAsync();
        await client.SendAsync("RETR f");
        Assert.Equal(150, (await client.ReadReplyAsync()).Code);
        var data = await client.SecureDataAsync(tcp);
        await RawFtpClient.ReadExactlyAsync(data, 10);
        await data.DisposeAsync();

        Assert.Equal(426, (await client.ReadReplyAsync()).Code);
        await client.ExpectAsync("NOOP", 200);
        Assert.Equal(ScriptedTransferOutcome.ClientClosed, Assert.Single(server.DataConnections).Outcome);
    }

    [Theory]
    [InlineData(ScriptedDataDrop.Reset)]
    [InlineData(ScriptedDataDrop.CloseWithoutCloseNotify)]
    public async Task DropDataAfterBytes_CutsTheFirstDownloadOnly(ScriptedDataDrop mode)
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions
        {
            DropDataAfterBytes = 5000,
            DropDataMode = mode,
        });
        var content = Enumerable.Range(0, 50_000).Select(i => (byte)i).ToArray();
        server.FileSystem.AddFile("/f", content);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        using (var tcp = await client.PassiveAsync())
        {
            await client.SendAsync("RETR f");
            Assert.Equal(150, (await client.ReadReplyAsync()).Code);
            await using var data = await client.SecureDataAsync(tcp);
            var received = new MemoryStream();
            var buffer = new byte[8192];
            using var cts = new CancellationTokenSource(RawFtpClient.Timeout);
            try
            {
                int n;
                while ((n = await data.ReadAsync(buffer, cts.Token)) > 0)
                {
                    received.Write(buffer, 0, n);
                }
            }
            catch (IOException)
            {
                // reset
            }

            Assert.True(received.Length <= 5000);
            Assert.Equal(content.AsSpan(0, (int)received.Length).ToArray(), received.ToArray());
            if (mode == ScriptedDataDrop.CloseWithoutCloseNotify)
            {
                Assert.Equal(5000, received.Length);
            }

            Assert.Equal(426, (await client.ReadReplyAsync()).Code);
        }

        var d = Assert.Single(server.DataConnections);
        Assert.Equal(ScriptedTransferOutcome.Dropped, d.Outcome);
        Assert.Equal(5000, d.BytesSent);

        // The next download is whole (DropDataCount = 1), and a resume with REST works.
        await client.ExpectAsync("REST 5000", 350);
        Assert.Equal(content[5000..], await client.DownloadAsync("RETR f"));
    }

    [Fact]
    public async Task DropControlAfterCommand_ClosesOnce()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { DropControlAfterCommand = "PWD" });
        await using (var first = await RawFtpClient.ConnectAsync(server))
        {
            await first.LoginAsync(protP: false);
            await first.SendAsync("PWD");
            Assert.Null(await first.ReadLineAsync());
        }

        await using var second = await RawFtpClient.ConnectAsync(server);
        await second.LoginAsync(protP: false);
        await second.ExpectAsync("PWD", 257);
        Assert.Equal(2, server.CommandsWithVerb("PWD").Count);
    }

    /// <summary>SslStream (Linux/OpenSSL) caches TLS sessions per target host: a data connection to the same host name
    /// resumes the control connection's session, one to another name does not.</summary>
    [Fact]
    public async Task RequireTlsSessionReuse_RefusesDataConnectionsThatDoNotResume()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { RequireTlsSessionReuse = true });
        server.FileSystem.AddFile("/f", "reused");
        await using var client = await RawFtpClient.ConnectAsync(server);
        client.TargetHost = $"reuse-{Guid.NewGuid():N}.localhost";
        await client.LoginAsync();

        Assert.Equal("reused", await client.DownloadTextAsync("RETR f"));
        var good = Assert.Single(server.DataConnections);
        Assert.True(good.TlsSessionResumed);
        Assert.True(good.Handshake!.ClientOfferedResumption);

        using var tcp = await client.PassiveAsync();
        await client.SendAsync("RETR f");
        Assert.Equal(150, (await client.ReadReplyAsync()).Code);
        try
        {
            await using var data = await client.SecureDataAsync(tcp, targetHost: $"other-{Guid.NewGuid():N}.localhost");
            await RawFtpClient.ReadAllAsync(data);
        }
        catch (IOException)
        {
            // the server may close before or after the handshake finishes on our side
        }
        catch (System.Security.Authentication.AuthenticationException)
        {
        }

        Assert.Equal(425, (await client.ReadReplyAsync()).Code);
        var refused = server.DataConnections[^1];
        Assert.Equal(ScriptedTransferOutcome.Refused, refused.Outcome);
        Assert.False(refused.TlsSessionResumed);
    }

    [Fact]
    public async Task BrokenClients_DoNotBreakTheServer()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { MaxCommandLineLength = 1024 });

        // Binary garbage and an over-long line in clear text.
        await using (var garbage = await RawFtpClient.ConnectAsync(server))
        {
            Assert.Equal(220, (await garbage.ReadReplyAsync()).Code);
            await garbage.SendRawAsync([0x00, 0x80, 0xC3, 0x28, 0x0D, 0x0A]);
            Assert.Equal(500, (await garbage.ReadReplyAsync()).Code);
            await garbage.SendAsync(new string('A', 100_000));
            Assert.Equal(500, (await garbage.ReadReplyAsync()).Code);
            await garbage.ExpectAsync("NOOP", 200);
        }

        // Garbage instead of a ClientHello after AUTH TLS; then a disconnect mid-handshake.
        await using (var badTls = await RawFtpClient.ConnectAsync(server))
        {
            Assert.Equal(220, (await badTls.ReadReplyAsync()).Code);
            await badTls.ExpectAsync("AUTH TLS", 234);
            await badTls.SendRawAsync(Encoding.ASCII.GetBytes("USER smuggled\r\n"));
            Assert.Null(await badTls.ReadLineAsync());
        }

        using (var abrupt = new TcpClient())
        {
            await abrupt.ConnectAsync(IPAddress.Loopback, server.Port);
            await server.WaitUntilAsync(() => server.Connections.Count == 3);
            await abrupt.GetStream().WriteAsync(Encoding.ASCII.GetBytes("AUTH TLS\r\n\x16\x03\x01"));
            abrupt.Client.LingerState = new LingerOption(true, 0);
        }

        // A PASV the client never connects to, then a disconnect.
        await using (var idle = await RawFtpClient.ConnectAsync(server))
        {
            await idle.LoginAsync();
            await idle.ExpectAsync("PASV", 227);
        }

        await server.WaitUntilAsync(() => server.Connections.Count == 4 && server.Connections.All(c => c.IsClosed));
        Assert.DoesNotContain(server.ReceivedCommands, c => c.Verb == "USER" && c.Argument == "smuggled");

        await using var healthy = await RawFtpClient.ConnectAsync(server);
        await healthy.LoginAsync();
        await healthy.ExpectAsync("PWD", 257);
        Assert.Empty(server.UnexpectedErrors);
    }

    [Fact]
    public async Task ReceivedBytes_ShowLineEndingsAndSmuggledCommands()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync(protP: false);

        // A path with an embedded CR LF splits into two commands; a lone CR stays inside the line.
        await client.SendRawAsync(Encoding.ASCII.GetBytes("CWD a\r\nDELE b\r\nCWD c\rd\r\n"));
        Assert.Equal(550, (await client.ReadReplyAsync()).Code);
        Assert.Equal(550, (await client.ReadReplyAsync()).Code);
        Assert.Equal(550, (await client.ReadReplyAsync()).Code);

        var commands = server.ReceivedCommands.Select(c => c.Line).ToList();
        Assert.Equal(["CWD a", "DELE b", "CWD c\rd"], commands.TakeLast(3));
        var raw = Encoding.ASCII.GetString(server.GetRawControlBytes(server.Connections.Single().Id));
        Assert.EndsWith("CWD a\r\nDELE b\r\nCWD c\rd\r\n", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FinalReplyBeforeDataClose_AndNoCloseNotify()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions
        {
            FinalReplyTiming = ScriptedFinalReplyTiming.BeforeDataClose,
            SendDataCloseNotify = false,
        });
        server.FileSystem.AddFile("/f", "abc");
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        using var tcp = await client.PassiveAsync();
        await client.SendAsync("RETR f");
        Assert.Equal(150, (await client.ReadReplyAsync()).Code);
        await using var data = await client.SecureDataAsync(tcp);
        Assert.Equal(226, (await client.ReadReplyAsync()).Code);
        Assert.Equal("abc", Encoding.UTF8.GetString(await RawFtpClient.ReadAllAsync(data)));
    }
}
