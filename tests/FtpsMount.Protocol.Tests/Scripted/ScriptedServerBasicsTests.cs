using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Protocol.Tests.Scripted;

public sealed class ScriptedServerBasicsTests
{
    private static readonly DateTimeOffset Stamp = new(2024, 1, 2, 15, 4, 5, TimeSpan.Zero);

    [Fact]
    public async Task Greeting_AuthTls_Login_AreRecorded()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        await using var client = await RawFtpClient.ConnectAsync(server);

        var greeting = await client.ReadReplyAsync();
        Assert.Equal(220, greeting.Code);
        await client.ExpectAsync("AUTH TLS", 234);
        await client.StartTlsAsync();
        await client.ExpectAsync("USER test", 331);
        await client.ExpectAsync("PASS secret", 230);
        await client.ExpectAsync("QUIT", 221);

        var commands = server.ReceivedCommands;
        Assert.Equal(["AUTH", "USER", "PASS", "QUIT"], commands.Select(c => c.Verb));
        var pass = Assert.Single(server.CommandsWithVerb("PASS"));
        Assert.Equal("secret", pass.Argument);
        Assert.True(pass.OverTls);
        Assert.False(commands[0].OverTls);

        var connection = Assert.Single(server.Connections);
        Assert.True(connection.TlsNegotiated);
        Assert.NotNull(connection.TlsProtocol);
        Assert.Equal("localhost", connection.ServerName);
        Assert.Equal("test", connection.UserName);
        Assert.Equal(0, connection.BytesPipelinedAfterAuth);
        Assert.StartsWith("AUTH TLS\r\n", Encoding.ASCII.GetString(connection.GetReceivedBytes()), StringComparison.Ordinal);
        Assert.EndsWith("QUIT\r\n", Encoding.ASCII.GetString(connection.GetReceivedBytes()), StringComparison.Ordinal);
        await server.WaitUntilAsync(() => connection.IsClosed);
        Assert.Empty(server.UnexpectedErrors);
    }

    [Fact]
    public async Task Certificate_IsSelfSignedForLocalhost_AndTheCaFileValidatesIt()
    {
        string caFile;
        await using (var server = await ScriptedFtpServer.StartAsync())
        {
            var cert = server.Certificate;
            Assert.Equal("CN=localhost", cert.Subject);
            Assert.True(cert.HasPrivateKey);
            Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(cert.RawData)), server.CertificateFingerprint);
            Assert.Matches("^sha256:[0-9a-f]{64}$", server.CertificateFingerprint);

            var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            Assert.Contains("localhost", san.EnumerateDnsNames());
            Assert.Contains(IPAddress.Loopback, san.EnumerateIPAddresses());

            caFile = server.CaFilePath;
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);

            // A TLS handshake judged only by the CA file (no pinning): chain and name must both be right.
            foreach (var host in new[] { "localhost", "127.0.0.1" })
            {
                await using var client = await RawFtpClient.ConnectAsync(server);
                client.TargetHost = host;
                Assert.Equal(220, (await client.ReadReplyAsync()).Code);
                await client.ExpectAsync("AUTH TLS", 234);
                await client.StartTlsAsync((_, presented, _, errors) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    var leaf = X509CertificateLoader.LoadCertificate(presented!.GetRawCertData());
                    return (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None && chain.Build(leaf);
                });
                await client.ExpectAsync("NOOP", 200);
            }

            Assert.True(File.Exists(caFile));
        }

        Assert.False(File.Exists(caFile));
    }

    [Fact]
    public async Task Login_BeforeAuth_IsRefused_AndNothingRunsInClear()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        await using var client = await RawFtpClient.ConnectAsync(server);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);

        await client.ExpectAsync("USER test", 530);
        await client.ExpectAsync("PWD", 530);
        await client.ExpectAsync("PBSZ 0", 503);
        await client.ExpectAsync("FEAT", 211);

        Assert.DoesNotContain(server.Connections, c => c.IsLoggedIn);
        Assert.All(server.ReceivedCommands, c => Assert.False(c.OverTls));
    }

    [Fact]
    public async Task AuthMechanisms_AreConfigurable()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { AcceptedAuth = ScriptedAuthMechanisms.Ssl });
        await using var client = await RawFtpClient.ConnectAsync(server);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);

        await client.ExpectAsync("AUTH TLS", 504);
        await client.ExpectAsync("AUTH SSL", 234);
        await client.StartTlsAsync();
        await client.ExpectAsync("USER test", 331);
        await client.ExpectAsync("PASS wrong", 530);
        await client.ExpectAsync("USER test", 331);
        await client.ExpectAsync("PASS secret", 230);
    }

    [Fact]
    public async Task Plaintext_WhenAllowed_LogsInWithoutTls()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { AllowPlaintext = true });
        server.FileSystem.AddFile("/a.txt", "clear");
        await using var client = await RawFtpClient.ConnectAsync(server);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        await client.ExpectAsync("USER test", 331);
        await client.ExpectAsync("PASS secret", 230);

        Assert.Equal("clear", await client.DownloadTextAsync("RETR a.txt"));
        Assert.False(Assert.Single(server.DataConnections).IsTls);
        Assert.False(Assert.Single(server.CommandsWithVerb("PASS")).OverTls);
    }

    [Fact]
    public async Task ImplicitTls_GreetsAfterTheHandshake()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Security = ScriptedSecurity.Implicit });
        await using var client = await RawFtpClient.ConnectAsync(server, implicitTls: true);

        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        await client.ExpectAsync("AUTH TLS", 503);
        await client.ExpectAsync("USER test", 331);
        await client.ExpectAsync("PASS secret", 230);
        await client.ExpectAsync("PBSZ 0", 200);
        await client.ExpectAsync("PROT P", 200);
        await client.ExpectAsync("CCC", 534);
        Assert.True(Assert.Single(server.Connections).IsTls);
    }

    [Fact]
    public async Task Feat_DefaultLines_AndConfiguredLines()
    {
        await using (var server = await ScriptedFtpServer.StartAsync())
        {
            await using var client = await RawFtpClient.ConnectAsync(server);
            await client.LoginAsync(protP: false);
            var feat = await client.ExpectAsync("FEAT", 211);
            Assert.Equal("211-Features:", feat.Lines[0]);
            Assert.Contains(" MLST type*;size*;modify*;perm*;UNIX.mode*;", feat.Lines);
            Assert.Contains(" UTF8", feat.Lines);
            Assert.Equal("211 End", feat.Lines[^1]);
        }

        var options = new ScriptedServerOptions { Features = ["UTF8", "SIZE"] };
        options.DisabledCommands.Add("MLSD");
        await using (var server = await ScriptedFtpServer.StartAsync(options))
        {
            await using var client = await RawFtpClient.ConnectAsync(server);
            await client.LoginAsync(protP: false);
            var feat = await client.ExpectAsync("FEAT", 211);
            Assert.Equal(["211-Features:", " UTF8", " SIZE", "211 End"], feat.Lines);
            await client.ExpectAsync("MLSD", 502);
            await client.ExpectAsync("OPTS UTF8 ON", 200);
            Assert.Equal("215 UNIX Type: L8", (await client.ExpectAsync("SYST", 215)).Lines[0]);
        }
    }

    [Fact]
    public async Task Pasv_List_And_Mlsd_OverProtectedData()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        server.FileSystem.Clock = () => Stamp.AddDays(10);
        server.FileSystem
            .AddFile("/pub/hello.txt", "hello", Stamp)
            .AddDirectory("/pub/sub", Stamp);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        await client.ExpectAsync("CWD /pub", 250);
        var list = await client.DownloadTextAsync("LIST");
        Assert.Equal(
            "-rw-r--r--    1 ftp      ftp                 5 Jan 02 15:04 hello.txt\r\n" +
            "drwxr-xr-x    2 ftp      ftp              4096 Jan 02 15:04 sub\r\n",
            list);

        var mlsd = await client.DownloadTextAsync("MLSD");
        Assert.Contains("type=file;size=5;modify=20240102150405;perm=adfrw;UNIX.mode=0644; hello.txt\r\n", mlsd, StringComparison.Ordinal);
        Assert.Contains("type=dir;modify=20240102150405;perm=flcdmpe;UNIX.mode=0755; sub\r\n", mlsd, StringComparison.Ordinal);
        Assert.Contains("type=cdir;", mlsd, StringComparison.Ordinal);

        Assert.Equal("hello.txt\r\nsub\r\n", await client.DownloadTextAsync("NLST"));

        var mlst = await client.ExpectAsync("MLST hello.txt", 250);
        Assert.Equal(" type=file;size=5;modify=20240102150405;perm=adfrw;UNIX.mode=0644; /pub/hello.txt", mlst.Lines[1]);

        Assert.All(server.DataConnections, d =>
        {
            Assert.True(d.IsTls);
            Assert.Equal(ScriptedTransferOutcome.Completed, d.Outcome);
        });
        Assert.Equal(3, server.DataConnections.Count);
    }

    [Fact]
    public async Task DosListing_LooksLikeIis()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { ListingStyle = ScriptedListingStyle.Dos });
        server.FileSystem.AddDirectory("/aspnet_client", Stamp).AddFile("/iisstart.htm", new byte[689], Stamp);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        Assert.Equal(
            "01-02-24  03:04PM       <DIR>          aspnet_client\r\n" +
            "01-02-24  03:04PM                  689 iisstart.htm\r\n",
            await client.DownloadTextAsync("LIST"));
        Assert.Equal("215 Windows_NT", (await client.ExpectAsync("SYST", 215)).Lines[0]);
    }

    [Fact]
    public async Task CustomListing_SuppliesTheLines()
    {
        var options = new ScriptedServerOptions
        {
            ListingStyle = ScriptedListingStyle.Custom,
            CustomListing = r => r.Verb == "LIST" ? ["total 0", $"weird line for {r.Path} with {r.Entries.Count} entries"] : null,
        };
        await using var server = await ScriptedFtpServer.StartAsync(options);
        server.FileSystem.AddFile("/x", "1");
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        Assert.Equal("total 0\r\nweird line for / with 1 entries\r\n", await client.DownloadTextAsync("LIST -la"));
        Assert.Equal("x\r\n", await client.DownloadTextAsync("NLST"));
    }

    [Fact]
    public async Task Retr_WithRest_SendsTheTail()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        var content = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        server.FileSystem.AddFile("/data.bin", content);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        await client.ExpectAsync("TYPE I", 200);
        Assert.Equal("213 100000", (await client.ExpectAsync("SIZE /data.bin", 213)).Lines[0]);
        Assert.Equal(content, await client.DownloadAsync("RETR /data.bin"));
        await client.ExpectAsync("REST 99000", 350);
        Assert.Equal(content[99000..], await client.DownloadAsync("RETR /data.bin"));
        await client.ExpectAsync("REST 100001", 350);
        await client.ExpectAsync("RETR /data.bin", 554);
        await client.ExpectAsync("RETR /missing", 550);
    }

    [Fact]
    public async Task Stor_Appe_AndRestStor_ChangeTheFileSystem_AndCloseNotifyIsRecorded()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        Assert.Equal(226, (await client.UploadAsync("STOR up.txt", "hello world"u8.ToArray())).Code);
        Assert.Equal("hello world", server.FileSystem.ReadText("/up.txt"));
        Assert.True(server.DataConnections[^1].ClientSentCloseNotify);

        Assert.Equal(226, (await client.UploadAsync("APPE up.txt", "!"u8.ToArray())).Code);
        Assert.Equal("hello world!", server.FileSystem.ReadText("/up.txt"));

        await client.ExpectAsync("REST 6", 350);
        Assert.Equal(226, (await client.UploadAsync("STOR up.txt", "there"u8.ToArray())).Code);
        Assert.Equal("hello there", server.FileSystem.ReadText("/up.txt"));

        // Without close_notify: accepted by default, but recorded.
        Assert.Equal(226, (await client.UploadAsync("STOR cut.txt", "abc"u8.ToArray(), closeNotify: false)).Code);
        Assert.False(server.DataConnections[^1].ClientSentCloseNotify);

        server.Options.RequireCloseNotifyOnUpload = true;
        Assert.Equal(426, (await client.UploadAsync("STOR cut.txt", "abcd"u8.ToArray(), closeNotify: false)).Code);
        Assert.Equal(226, (await client.UploadAsync("STOR ok.txt", "abcd"u8.ToArray())).Code);

        await client.ExpectAsync("STOR /no/such/dir/x", 553);
        Assert.Empty(server.UnexpectedErrors);
    }

    [Fact]
    public async Task FileSystemCommands_Work()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        server.FileSystem.AddFile("/a.txt", "abc", Stamp);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync(protP: false);

        Assert.Equal("257 \"/\" is the current directory", (await client.ExpectAsync("PWD", 257)).Lines[0]);
        await client.ExpectAsync("MKD dir one", 257);
        Assert.True(server.FileSystem.DirectoryExists("/dir one"));
        await client.ExpectAsync("MKD dir one", 550);
        await client.ExpectAsync("CWD dir one", 250);
        Assert.Equal("257 \"/dir one\" is the current directory", (await client.ExpectAsync("PWD", 257)).Lines[0]);
        await client.ExpectAsync("CDUP", 250);
        await client.ExpectAsync("CWD nowhere", 550);

        Assert.Equal("213 20240102150405", (await client.ExpectAsync("MDTM a.txt", 213)).Lines[0]);
        await client.ExpectAsync("MDTM 20200304050607 a.txt", 213);
        Assert.Equal(new DateTimeOffset(2020, 3, 4, 5, 6, 7, TimeSpan.Zero), server.FileSystem.GetEntry("/a.txt")!.Modified);
        Assert.Equal("213 Modify=20210101000000; a.txt", (await client.ExpectAsync("MFMT 20210101000000 a.txt", 213)).Lines[0]);
        await client.ExpectAsync("MDTM nothing", 550);

        await client.ExpectAsync("SITE CHMOD 600 a.txt", 200);
        Assert.Equal(0x180, server.FileSystem.GetEntry("/a.txt")!.Mode);
        await client.ExpectAsync("SITE CHMOD xyz a.txt", 501);

        await client.ExpectAsync("RNFR a.txt", 350);
        await client.ExpectAsync("RNTO dir one/b.txt", 250);
        Assert.Equal("abc", server.FileSystem.ReadText("/dir one/b.txt"));
        await client.ExpectAsync("RNTO x", 503);
        await client.ExpectAsync("RNFR a.txt", 550);

        await client.ExpectAsync("RMD dir one", 550);
        await client.ExpectAsync("DELE dir one", 550);
        await client.ExpectAsync("DELE dir one/b.txt", 250);
        await client.ExpectAsync("RMD dir one", 250);
        Assert.Empty(server.FileSystem.AllPaths());

        await client.ExpectAsync("TYPE A", 200);
        await client.ExpectAsync("MODE S", 200);
        await client.ExpectAsync("MODE B", 504);
        await client.ExpectAsync("STRU F", 200);
        await client.ExpectAsync("NOOP", 200);
        await client.ExpectAsync("XCRC a", 502);
        await client.ExpectAsync("AVBL", 502);
        await client.ExpectAsync("BOGUS", 500);
    }

    [Fact]
    public async Task HashAndAvbl_WhenEnabled()
    {
        var options = new ScriptedServerOptions { EnableHashCommands = true, AvailableBytes = 123456 };
        await using var server = await ScriptedFtpServer.StartAsync(options);
        server.FileSystem.AddFile("/h.txt", "The quick brown fox jumps over the lazy dog");
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync(protP: false);

        Assert.Equal("250 414FA339", (await client.ExpectAsync("XCRC h.txt", 250)).Lines[0]);
        Assert.Equal("250 9E107D9D372BB6826BD81D3542A419D6", (await client.ExpectAsync("XMD5 h.txt", 250)).Lines[0]);
        Assert.Equal(
            "213 SHA-256 0-42 d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592 h.txt",
            (await client.ExpectAsync("HASH h.txt", 213)).Lines[0]);
        Assert.Equal("213 123456", (await client.ExpectAsync("AVBL", 213)).Lines[0]);
    }

    [Fact]
    public async Task ActiveMode_Eprt_ServerConnectsToTheClient()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        server.FileSystem.AddFile("/f", "active!");
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await client.ExpectAsync($"EPRT |1|127.0.0.1|{port}|", 200);
        await client.ExpectAsync("EPRT |1|10.9.9.9|1234|", 500);
        await client.ExpectAsync($"EPRT |1|127.0.0.1|{port}|", 200);
        await client.SendAsync("RETR f");
        Assert.Equal(150, (await client.ReadReplyAsync()).Code);
        using var cts = new CancellationTokenSource(RawFtpClient.Timeout);
        using var tcp = await listener.AcceptTcpClientAsync(cts.Token);
        await using var data = await client.SecureDataAsync(tcp);
        Assert.Equal("active!", Encoding.UTF8.GetString(await RawFtpClient.ReadAllAsync(data)));
        Assert.Equal(226, (await client.ReadReplyAsync()).Code);
        Assert.False(Assert.Single(server.DataConnections).Passive);
    }

    [Fact]
    public async Task Ccc_ReturnsTheControlChannelToClearText()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        await client.ExpectAsync("CCC", 200);
        await client.StopTlsAsync();
        await client.ExpectAsync("PWD", 257);

        var connection = Assert.Single(server.Connections);
        Assert.True(connection.ClearedCommandChannel);
        Assert.False(connection.IsTls);
        var pwd = Assert.Single(server.CommandsWithVerb("PWD"));
        Assert.False(pwd.OverTls);
        await client.ExpectAsync("AUTH TLS", 534);
    }

    [Fact]
    public async Task MultipleControlConnections_AreServedConcurrently()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        server.FileSystem.AddFile("/shared.txt", "same");
        var clients = new List<RawFtpClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var c = await RawFtpClient.ConnectAsync(server);
                clients.Add(c);
                await c.LoginAsync();
            }

            var downloads = await Task.WhenAll(clients.Select(c => c.DownloadTextAsync("RETR shared.txt")));
            Assert.All(downloads, d => Assert.Equal("same", d));
            Assert.Equal(4, server.Connections.Count(c => c.IsLoggedIn && !c.IsClosed));
            Assert.Equal(4, server.DataConnections.Select(d => d.ControlConnectionId).Distinct().Count());
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }

        await server.WaitUntilAsync(() => server.Connections.All(c => c.IsClosed));
    }

    [Fact]
    public async Task PreliminaryReply_AfterDataTlsHandshake_AndNone()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions
        {
            PreliminaryReplyTiming = ScriptedPreliminaryReply.AfterDataTlsHandshake,
        });
        server.FileSystem.AddFile("/f", "data");
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        // pure-ftpd style: no 150 until the data TLS handshake is done, so the client must handshake first.
        using (var tcp = await client.PassiveAsync())
        {
            await client.SendAsync("RETR f");
            await using var data = await client.SecureDataAsync(tcp);
            Assert.Equal(150, (await client.ReadReplyAsync()).Code);
            Assert.Equal("data", Encoding.UTF8.GetString(await RawFtpClient.ReadAllAsync(data)));
            Assert.Equal(226, (await client.ReadReplyAsync()).Code);
        }

        server.Options.PreliminaryReplyTiming = ScriptedPreliminaryReply.None;
        using (var tcp = await client.PassiveAsync())
        {
            await client.SendAsync("RETR f");
            await using var data = await client.SecureDataAsync(tcp);
            Assert.Equal("data", Encoding.UTF8.GetString(await RawFtpClient.ReadAllAsync(data)));
            Assert.Equal(226, (await client.ReadReplyAsync()).Code);
        }
    }

    [Fact]
    public async Task Pasv_AddressOverride_AndDisabledEpsv()
    {
        var options = new ScriptedServerOptions
        {
            PasvAddressOverride = new IPEndPoint(IPAddress.Parse("10.1.2.3"), 0),
            DisableEpsv = true,
        };
        await using var server = await ScriptedFtpServer.StartAsync(options);
        await using var client = await RawFtpClient.ConnectAsync(server);
        await client.LoginAsync();

        await client.ExpectAsync("EPSV", 500);
        var pasv = await client.ExpectAsync("PASV", 227);
        Assert.Contains("(10,1,2,3,", pasv.Text, StringComparison.Ordinal);

        server.Options.PasvAddressOverride = new IPEndPoint(IPAddress.Loopback, 21);
        Assert.Contains("(127,0,0,1,0,21)", (await client.ExpectAsync("PASV", 227)).Text, StringComparison.Ordinal);

        server.Options.DisableEpsv = false;
        Assert.Contains("(|||21|)", (await client.ExpectAsync("EPSV", 229)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_ClosesIdleAndHalfOpenConnections()
    {
        var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Security = ScriptedSecurity.Implicit });
        using var silent = new TcpClient();
        await silent.ConnectAsync(IPAddress.Loopback, server.Port);
        await server.WaitUntilAsync(() => server.Connections.Count == 1);

        await server.DisposeAsync();

        Assert.True(server.Connections.Single().IsClosed);
        using var cts = new CancellationTokenSource(RawFtpClient.Timeout);
        var buffer = new byte[16];
        int n;
        try
        {
            n = await silent.GetStream().ReadAsync(buffer, cts.Token);
        }
        catch (IOException)
        {
            n = 0;
        }

        Assert.Equal(0, n);
        Assert.Empty(server.UnexpectedErrors);
    }
}
