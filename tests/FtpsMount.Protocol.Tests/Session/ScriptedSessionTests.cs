using System.Net;
using System.Security.Cryptography;
using System.Text;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Listing;
using FtpsMount.Protocol.Tests.Interop;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.Scripted;

namespace FtpsMount.Protocol.Tests.Session;

/// <summary>
/// FtpSession against the in-process scriptable server, for the quirks and faults real servers won't show on
/// demand. Every test is bounded by short protocol timeouts and an overall test timeout: a hang is a failure.
/// </summary>
public sealed class ScriptedSessionTests : IAsyncLifetime
{
    private ScriptedFtpServer _server = null!;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        _server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions());
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _timeout.Dispose();
    }

    private FtpsOptions Options(FtpsMode mode = FtpsMode.Explicit, bool pin = true) => new()
    {
        Host = "127.0.0.1",
        Port = _server.Port,
        Mode = mode,
        Tls = new TlsOptions { Trust = new TrustOptions { PinnedFingerprints = pin ? [_server.CertificateFingerprint] : [] } },
        Timeouts = new TimeoutOptions
        {
            Command = TimeSpan.FromSeconds(5),
            DataIdle = TimeSpan.FromSeconds(3),
            Abort = TimeSpan.FromSeconds(3),
            TransferClose = TimeSpan.FromSeconds(5),
            Connect = TimeSpan.FromSeconds(5),
        },
    };

    private static FtpCredentials Credentials => new(ScriptedServerOptions.DefaultUser, ScriptedServerOptions.DefaultPassword);

    private Task<FtpSession> ConnectAsync(FtpsOptions? options = null) =>
        FtpSession.ConnectAsync(options ?? Options(), Credentials, cancellationToken: Ct);

    private static byte[] Bytes(int n) => RandomNumberGenerator.GetBytes(n);

    [Fact]
    public async Task Explicit_login_secures_everything_and_sends_no_credentials_in_clear()
    {
        await using var session = await ConnectAsync();
        Assert.Equal("AUTH TLS", session.Security.Method);
        Assert.True(session.Security.DataProtected);
        var user = Assert.Single(_server.CommandsWithVerb("USER"));
        Assert.True(user.OverTls);
        Assert.All(_server.CommandsWithVerb("PASS"), c => Assert.True(c.OverTls));
        Assert.Contains(_server.ReceivedCommands, c => c.Line == "PBSZ 0");
        Assert.Contains(_server.ReceivedCommands, c => c.Line == "PROT P");
    }

    [Fact]
    public async Task Implicit_mode_greets_after_the_handshake()
    {
        await using var server = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Security = ScriptedSecurity.Implicit });
        var options = Options(FtpsMode.Implicit) with { Port = server.Port, Tls = new TlsOptions { Trust = new TrustOptions { PinnedFingerprints = [server.CertificateFingerprint] } } };
        await using var session = await FtpSession.ConnectAsync(options, Credentials, cancellationToken: Ct);
        Assert.Equal("implicit TLS", session.Security.Method);
        server.FileSystem.AddFile("/a.txt", "hello");
        Assert.Single((await session.ListAsync("/", Ct)).Entries, e => e.Name == "a.txt");
    }

    [Fact]
    public async Task Auth_tls_refused_falls_back_to_auth_ssl()
    {
        _server.Options.AcceptedAuth = ScriptedAuthMechanisms.Ssl;
        await using var session = await ConnectAsync();
        Assert.Equal("AUTH SSL", session.Security.Method);
    }

    [Fact]
    public async Task Auth_refused_never_falls_back_to_plaintext_and_sends_no_credentials()
    {
        _server.Options.AcceptedAuth = ScriptedAuthMechanisms.None;
        _server.Options.AllowPlaintext = true;
        var ex = await Assert.ThrowsAsync<FtpSecurityException>(() => ConnectAsync());
        Assert.Contains("Nothing was sent in clear", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_server.CommandsWithVerb("USER"));
        Assert.Empty(_server.CommandsWithVerb("PASS"));
    }

    [Fact]
    public async Task Auth_refused_with_allow_plaintext_logs_in_in_clear()
    {
        _server.Options.AcceptedAuth = ScriptedAuthMechanisms.None;
        _server.Options.AllowPlaintext = true;
        await using var session = await ConnectAsync(Options() with { AllowPlaintext = true });
        Assert.Null(session.Security.Tls);
        Assert.False(session.Security.DataProtected);
        _server.FileSystem.AddFile("/p.txt", "plain");
        Assert.Equal("plain", Encoding.UTF8.GetString(await TransferHelpers.DownloadAsync(session, "/p.txt", Ct)));
    }

    [Fact]
    public async Task Plaintext_mode_requires_explicit_permission()
    {
        await Assert.ThrowsAsync<FtpSecurityException>(() => ConnectAsync(Options(FtpsMode.Plaintext)));
        Assert.Empty(_server.ReceivedCommands);
    }

    [Fact]
    public async Task Untrusted_certificate_is_refused_before_login()
    {
        var ex = await Assert.ThrowsAsync<CertificateRejectedException>(() => ConnectAsync(Options(pin: false)));
        Assert.Equal(_server.CertificateFingerprint, ex.Fingerprint);
        Assert.Empty(_server.CommandsWithVerb("USER"));
    }

    [Fact]
    public async Task Wrong_password_is_an_authentication_error()
    {
        var ex = await Assert.ThrowsAsync<FtpAuthenticationException>(() =>
            FtpSession.ConnectAsync(Options(), new FtpCredentials("test", "wrong"), cancellationToken: Ct));
        Assert.DoesNotContain("wrong", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ccc_clears_the_control_channel_and_data_stays_protected()
    {
        await using var session = await ConnectAsync(Options() with { ClearCommandChannel = true });
        Assert.True(session.Security.ControlCleared);
        _server.FileSystem.AddFile("/c.bin", Bytes(100_000));
        var data = await TransferHelpers.DownloadAsync(session, "/c.bin", Ct);
        Assert.Equal(_server.FileSystem.ReadFile("/c.bin"), data);
        Assert.False(_server.CommandsWithVerb("RETR").Single().OverTls);
    }

    [Fact]
    public async Task Ccc_is_refused_under_implicit_ftps() =>
        await Assert.ThrowsAsync<FtpSecurityException>(() => ConnectAsync(Options(FtpsMode.Implicit) with { ClearCommandChannel = true }));

    [Fact]
    public async Task Mlsd_listing()
    {
        _server.FileSystem.AddDirectory("/d").AddFile("/d/one.txt", "1").AddDirectory("/d/sub");
        await using var session = await ConnectAsync();
        var listing = await session.ListAsync("/d", Ct);
        Assert.Equal(new[] { "one.txt", "sub" }, listing.Entries.Select(e => e.Name).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Contains(_server.ReceivedCommands, c => c.Verb == "MLSD");
    }

    [Theory]
    [InlineData(ScriptedListingStyle.Unix)]
    [InlineData(ScriptedListingStyle.Dos)]
    public async Task Without_mlsd_list_is_parsed(ScriptedListingStyle style)
    {
        _server.Options.Features = ScriptedServerOptions.DefaultFeatures.Where(f => !f.StartsWith("MLST", StringComparison.Ordinal)).ToList();
        _server.Options.ListingStyle = style;
        _server.FileSystem.AddDirectory("/d d").AddFile("/d d/name with spaces.txt", new byte[1234]).AddDirectory("/d d/sub");
        await using var session = await ConnectAsync();
        var listing = await session.ListAsync("/d d", Ct);
        var file = Assert.Single(listing.Entries, e => e.Name == "name with spaces.txt");
        Assert.Equal(1234, file.Size);
        Assert.Equal(FtpEntryType.Directory, Assert.Single(listing.Entries, e => e.Name == "sub").Type);
        Assert.DoesNotContain(_server.ReceivedCommands, c => c.Verb == "MLSD");
    }

    [Fact]
    public async Task Stat_of_one_path_without_mlst_uses_size_and_mdtm()
    {
        _server.Options.Features = ScriptedServerOptions.DefaultFeatures.Where(f => !f.StartsWith("MLST", StringComparison.Ordinal)).ToList();
        var when = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        _server.FileSystem.AddFile("/f.bin", new byte[42], when).AddDirectory("/dir");
        await using var session = await ConnectAsync();
        var file = await session.GetEntryAsync("/f.bin", Ct);
        Assert.Equal((FtpEntryType.File, 42L, when), (file!.Type, file.Size!.Value, file.Modified!.Value));
        Assert.Equal(FtpEntryType.Directory, (await session.GetEntryAsync("/dir", Ct))!.Type);
        Assert.Null(await session.GetEntryAsync("/missing", Ct));
    }

    [Theory]
    [InlineData(ScriptedPreliminaryReply.BeforeDataConnect)]
    [InlineData(ScriptedPreliminaryReply.AfterDataTlsHandshake)]
    [InlineData(ScriptedPreliminaryReply.None)]
    public async Task Transfers_work_whenever_the_preliminary_reply_comes(ScriptedPreliminaryReply timing)
    {
        _server.Options.PreliminaryReplyTiming = timing;
        var content = Bytes(700_000);
        _server.FileSystem.AddFile("/x.bin", content);
        await using var session = await ConnectAsync();
        Assert.Equal(content, await TransferHelpers.DownloadAsync(session, "/x.bin", Ct));
        await TransferHelpers.UploadAsync(session, "/y.bin", content, FtpWriteMode.Create, Ct);
        Assert.Equal(content, _server.FileSystem.ReadFile("/y.bin"));
        await session.NoopAsync(Ct);
    }

    [Theory]
    [InlineData(ScriptedAbortBehavior.Reply426Then226)]
    [InlineData(ScriptedAbortBehavior.Reply226Then426)]
    [InlineData(ScriptedAbortBehavior.Reply225)]
    [InlineData(ScriptedAbortBehavior.Only426)]
    [InlineData(ScriptedAbortBehavior.Reply451)]
    public async Task Early_stop_keeps_the_session_whatever_the_server_answers(ScriptedAbortBehavior behavior)
    {
        _server.Options.AbortBehavior = behavior;
        var content = Bytes(8 * 1024 * 1024);
        _server.FileSystem.AddFile("/big.bin", content);
        await using var session = await ConnectAsync();
        for (var i = 0; i < 3; i++)
        {
            var range = await TransferHelpers.ReadRangeAsync(session, "/big.bin", 1000 + i, 5000, Ct);
            Assert.Equal(content.AsSpan(1000 + i, 5000).ToArray(), range);
            Assert.True(session.IsUsable, session.UnusableReason);
            await session.NoopAsync(Ct);
        }

        Assert.Equal(3, session.Aborts.Kept);
        Assert.Equal(content.Length, await session.GetSizeAsync("/big.bin", Ct));
    }

    [Fact]
    public async Task Early_stop_on_a_server_that_hangs_up_marks_the_session_unusable_without_hanging()
    {
        _server.Options.AbortBehavior = ScriptedAbortBehavior.CloseControlConnection;
        _server.FileSystem.AddFile("/big.bin", Bytes(8 * 1024 * 1024));
        await using var session = await ConnectAsync();
        await TransferHelpers.ReadRangeAsync(session, "/big.bin", 0, 1000, Ct);
        Assert.False(session.IsUsable);
        Assert.Equal(1, session.Aborts.Lost);
        await Assert.ThrowsAsync<FtpConnectionException>(() => session.NoopAsync(Ct));
    }

    [Theory]
    [InlineData(ScriptedDataDrop.Reset)]
    [InlineData(ScriptedDataDrop.CloseWithoutCloseNotify)]
    public async Task Data_connection_dropped_mid_download_is_an_error_never_a_short_success(ScriptedDataDrop mode)
    {
        _server.Options.DropDataAfterBytes = 300_000;
        _server.Options.DropDataMode = mode;
        _server.FileSystem.AddFile("/d.bin", Bytes(2_000_000));
        await using var session = await ConnectAsync();
        var failure = await Record.ExceptionAsync(() => TransferHelpers.DownloadAsync(session, "/d.bin", Ct));
        Assert.IsAssignableFrom<FtpException>(failure);
    }

    [Fact]
    public async Task Stalled_data_times_out()
    {
        _server.Options.StallDataAfterBytes = 100_000;
        _server.FileSystem.AddFile("/s.bin", Bytes(1_000_000));
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<FtpTimeoutException>(() => TransferHelpers.DownloadAsync(session, "/s.bin", Ct));
    }

    [Fact]
    public async Task Pasv_naming_a_foreign_host_is_not_followed()
    {
        _server.Options.DisableEpsv = true;
        _server.FileSystem.AddFile("/p.bin", Bytes(10_000));
        await using var session = await ConnectAsync();
        // The server names 10.1.2.3 but listens on loopback: following it would fail (or bounce elsewhere).
        _server.Options.PasvAddressOverride = new IPEndPoint(IPAddress.Parse("10.1.2.3"), 0);
        Assert.Equal(_server.FileSystem.ReadFile("/p.bin"), await TransferHelpers.DownloadAsync(session, "/p.bin", Ct));
        Assert.Equal("PASV", session.LastDataConnection!.Mode);
        Assert.Equal(IPAddress.Loopback, session.LastDataConnection.Remote.Address);
    }

    [Fact]
    public async Task Pasv_naming_a_privileged_port_is_refused()
    {
        _server.Options.DisableEpsv = true;
        _server.Options.PasvAddressOverride = new IPEndPoint(IPAddress.Loopback, 25);
        _server.FileSystem.AddFile("/p.bin", Bytes(10));
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<FtpProtocolException>(() => TransferHelpers.DownloadAsync(session, "/p.bin", Ct));
    }

    [Fact]
    public async Task Active_mode_works()
    {
        _server.FileSystem.AddFile("/a.bin", Bytes(50_000));
        await using var session = await ConnectAsync(Options() with { Data = new DataChannelOptions { Type = DataConnectionType.Active } });
        Assert.Equal(_server.FileSystem.ReadFile("/a.bin"), await TransferHelpers.DownloadAsync(session, "/a.bin", Ct));
        Assert.Equal("EPRT", session.LastDataConnection!.Mode);
    }

    [Fact]
    public async Task Missing_file_is_a_reply_error_and_the_session_survives()
    {
        await using var session = await ConnectAsync();
        var ex = await Assert.ThrowsAsync<FtpReplyException>(() => session.OpenReadAsync("/nope", 0, Ct));
        Assert.Equal(550, ex.Code);
        Assert.True(session.IsUsable);
        await session.NoopAsync(Ct);
    }

    [Theory]
    [InlineData("/a\r\nDELE /b")]
    [InlineData("/a\nb")]
    [InlineData("/a\0b")]
    public async Task Names_with_cr_lf_or_nul_never_reach_the_wire(string path)
    {
        await using var session = await ConnectAsync();
        var before = _server.ReceivedCommands.Count;
        await Assert.ThrowsAsync<FtpInvalidPathException>(() => session.DeleteFileAsync(path, Ct));
        await Assert.ThrowsAsync<FtpInvalidPathException>(() => session.OpenWriteAsync(path, FtpWriteMode.Create, 0, Ct));
        await Assert.ThrowsAsync<FtpInvalidPathException>(() => session.RenameAsync("/x", path, Ct));
        Assert.Equal(before, _server.ReceivedCommands.Count);
        Assert.True(session.IsUsable);
    }

    [Theory]
    [InlineData("999 nine hundred ninety-nine")]
    [InlineData("abc")]
    [InlineData("2")]
    public async Task Malformed_reply_is_a_protocol_error_and_the_session_is_dropped(string line)
    {
        _server.Override("NOOP", async ctx => { await ctx.SendLineAsync(line); return true; });
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<FtpProtocolException>(() => session.NoopAsync(Ct));
        Assert.False(session.IsUsable);
    }

    [Fact]
    public async Task Megabyte_reply_line_is_refused()
    {
        _server.Override("NOOP", async ctx => { await ctx.SendLineAsync("200 " + new string('x', 1024 * 1024)); return true; });
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<FtpProtocolException>(() => session.NoopAsync(Ct));
    }

    [Fact]
    public async Task Binary_garbage_reply_is_refused()
    {
        _server.Override("NOOP", async ctx => { await ctx.SendRawAsync(new byte[] { 0, 0xff, 0xfe, 0x80, 10 }); return true; });
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<FtpProtocolException>(() => session.NoopAsync(Ct));
    }

    [Fact]
    public async Task Truncated_reply_then_close_is_a_connection_error()
    {
        _server.Override("NOOP", async ctx => { await ctx.SendRawAsync("200 trunc"); await ctx.CloseConnectionAsync(); return true; });
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<FtpConnectionException>(() => session.NoopAsync(Ct));
        Assert.False(session.IsUsable);
    }

    [Fact]
    public async Task Multi_line_reply_with_embedded_codes_is_read_whole()
    {
        _server.Override("NOOP", async ctx =>
        {
            await ctx.SendRawAsync("200-first\r\n200-second\r\n150 not the end\r\n 226 nor this\r\n200 done\r\n");
            return true;
        });
        await using var session = await ConnectAsync();
        await session.NoopAsync(Ct);
        _server.RemoveOverride("NOOP");
        await session.NoopAsync(Ct); // in step: the next reply belongs to the next command
    }

    [Fact]
    public async Task A_server_that_stops_answering_times_out_and_the_session_is_dropped()
    {
        _server.Override("NOOP", async ctx => { await ctx.DelayAsync(TimeSpan.FromMinutes(5)); return true; });
        await using var session = await ConnectAsync(Options() with { Timeouts = Options().Timeouts with { Command = TimeSpan.FromSeconds(1) } });
        await Assert.ThrowsAsync<FtpTimeoutException>(() => session.NoopAsync(Ct));
        Assert.False(session.IsUsable);
    }

    [Fact]
    public async Task Service_closing_421_at_greeting_is_a_connection_error()
    {
        _server.Override(ScriptedFtpServer.GreetingVerb, async ctx => { await ctx.ReplyAsync(421, "Too many connections"); await ctx.CloseConnectionAsync(); return true; });
        var ex = await Assert.ThrowsAsync<FtpConnectionException>(() => ConnectAsync());
        Assert.Contains("421", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_modes_create_append_and_resume()
    {
        await using var session = await ConnectAsync();
        var a = Bytes(100_000);
        var b = Bytes(50_000);
        await TransferHelpers.UploadAsync(session, "/u.bin", a, FtpWriteMode.Create, Ct);
        await TransferHelpers.UploadAsync(session, "/u.bin", b, FtpWriteMode.Append, Ct);
        Assert.Equal(a.Concat(b).ToArray(), _server.FileSystem.ReadFile("/u.bin"));
        var c = Bytes(10_000);
        await TransferHelpers.UploadAsync(session, "/u.bin", c, FtpWriteMode.Resume, Ct, offset: 150_000);
        Assert.Equal(a.Concat(b).Concat(c).ToArray(), _server.FileSystem.ReadFile("/u.bin"));
    }

    [Fact]
    public async Task Checksums_and_free_space_when_advertised()
    {
        _server.Options.EnableHashCommands = true;
        _server.Options.AvailableBytes = 123_456_789;
        _server.Options.Features = [.. ScriptedServerOptions.DefaultFeatures, "HASH SHA-256*;SHA-1;MD5", "XCRC", "XMD5", "AVBL"];
        var content = Bytes(300_000);
        _server.FileSystem.AddFile("/h.bin", content);
        await using var session = await ConnectAsync();
        Assert.Contains("SHA-256", session.ChecksumAlgorithms);
        var sha = await session.GetChecksumAsync("/h.bin", "SHA-256", Ct);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), sha!.Value);
        var md5 = await session.GetChecksumAsync("/h.bin", "MD5", Ct);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), md5!.Value);
        Assert.Equal(123_456_789, await session.GetAvailableSpaceAsync("/", Ct));
    }

    [Fact]
    public async Task Modification_time_via_mfmt_and_via_vsftpd_style_mdtm()
    {
        _server.FileSystem.AddFile("/t.txt", "t");
        var stamp = new DateTimeOffset(2021, 2, 3, 4, 5, 6, TimeSpan.Zero);
        await using (var session = await ConnectAsync())
        {
            await session.SetModifiedTimeAsync("/t.txt", stamp, Ct);
            Assert.Equal(stamp, await session.GetModifiedTimeAsync("/t.txt", Ct));
            Assert.Contains(_server.ReceivedCommands, c => c.Verb == "MFMT");
        }

        _server.Options.Features = ScriptedServerOptions.DefaultFeatures.Where(f => f != "MFMT").ToList();
        await using (var session = await ConnectAsync())
        {
            var later = stamp.AddDays(1);
            await session.SetModifiedTimeAsync("/t.txt", later, Ct);
            Assert.Equal(later, await session.GetModifiedTimeAsync("/t.txt", Ct));
        }
    }

    [Fact]
    public async Task Directory_operations_and_rename()
    {
        await using var session = await ConnectAsync();
        await session.MakeDirectoryAsync("/m", Ct);
        await TransferHelpers.UploadAsync(session, "/m/f", Bytes(10), FtpWriteMode.Create, Ct);
        await session.RenameAsync("/m/f", "/m/g", Ct);
        Assert.True(_server.FileSystem.FileExists("/m/g"));
        await session.ChmodAsync("/m/g", Convert.ToInt32("600", 8), Ct);
        await session.DeleteFileAsync("/m/g", Ct);
        await session.RemoveDirectoryAsync("/m", Ct);
        Assert.False(_server.FileSystem.Exists("/m"));
        var ex = await Assert.ThrowsAsync<FtpReplyException>(() => session.RemoveDirectoryAsync("/m", Ct));
        Assert.Equal(550, ex.Code);
    }

    [Fact]
    public async Task Concurrent_use_of_one_session_is_refused_not_corrupted()
    {
        _server.FileSystem.AddFile("/big.bin", Bytes(4 * 1024 * 1024));
        await using var session = await ConnectAsync();
        var transfer = await session.OpenReadAsync("/big.bin", 0, Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => session.NoopAsync(Ct));
        await transfer.AbortAsync(Ct);
        await session.NoopAsync(Ct);
    }
}
