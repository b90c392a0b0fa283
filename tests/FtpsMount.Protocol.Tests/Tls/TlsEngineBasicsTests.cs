using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using FtpsMount.Protocol.Tls;
using static FtpsMount.Protocol.Tests.Tls.TlsTestHelpers;

namespace FtpsMount.Protocol.Tests.Tls;

/// <summary>Behaviour both TLS backends share, against an in-process SslStream server on 127.0.0.1.</summary>
public sealed class TlsEngineBasicsTests
{
    [Theory]
    [MemberData(nameof(BackendsAndVersions), MemberType = typeof(TlsTestHelpers))]
    public async Task Handshake_negotiates_the_requested_version_and_reports_the_peer(string backend, TlsVersion version)
    {
        if (!Usable(backend)) return;
        await using var server = new TlsTestServer(TlsTestServer.Echo);
        var verifier = new RecordingVerifier();
        using var engine = CreateEngine(backend, verifier, Only(version));

        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        Assert.Equal(version == TlsVersion.Tls12 ? "TLSv1.2" : "TLSv1.3", tls.Info.Protocol);
        Assert.False(string.IsNullOrEmpty(tls.Info.CipherSuite));
        Assert.Equal(server.Certificate.RawData, tls.Info.PeerCertificate!.RawData);
        Assert.Equal(server.Certificate.RawData, tls.Info.PeerChain[0].RawData);
        var call = Assert.Single(verifier.Calls);
        Assert.Equal("localhost", call.Host);
        Assert.Equal(server.Certificate.RawData, call.Leaf.RawData);
        Assert.Equal(server.Certificate.RawData, call.Chain[0].RawData);

        await tls.WriteAsync("ping"u8.ToArray()).Within();
        Assert.Equal("ping"u8.ToArray(), await ReadExactlyAsync(tls, 4).Within());
        await tls.ShutdownAsync(TimeSpan.FromSeconds(30), default).Within();
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public async Task Version_range_the_server_does_not_speak_fails_the_handshake(string backend)
    {
        if (!Usable(backend)) return;
        await using var server = new TlsTestServer(async c => { using var s = await c.AuthenticateAsync(); }, SslProtocols.Tls12)
        {
            ExpectErrors = true,
        };
        using var engine = CreateEngine(backend, new RecordingVerifier(), Only(TlsVersion.Tls13));

        await using var transport = await server.ConnectAsync();
        await Assert.ThrowsAnyAsync<FtpException>(() => engine.ConnectControlAsync(transport, "localhost", default).Within());
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public async Task Sni_carries_the_host_name_but_not_an_ip_literal(string backend)
    {
        if (!Usable(backend)) return;
        var names = new System.Collections.Concurrent.ConcurrentQueue<string?>();
        await using var server = new TlsTestServer(async c =>
        {
            using var ssl = await c.AuthenticateAsync();
            names.Enqueue(c.ClientHostName);
            await ssl.WriteAsync("x"u8.ToArray());
            await ssl.ShutdownAsync();
        });
        using var engine = CreateEngine(backend, new RecordingVerifier());

        foreach (var host in new[] { "localhost", "127.0.0.1" })
        {
            using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), host, default).Within();
            await ReadToEndAsync(tls).Within();
        }

        Assert.Equal(["localhost", ""], names.Select(n => n ?? ""));
    }

    [Theory]
    [MemberData(nameof(BackendsAndVersions), MemberType = typeof(TlsTestHelpers))]
    public async Task Server_close_notify_ends_the_read_cleanly(string backend, TlsVersion version)
    {
        if (!Usable(backend)) return;
        var clientClosed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TlsTestServer(async c =>
        {
            using var ssl = await c.AuthenticateAsync();
            await ssl.WriteAsync("payload"u8.ToArray());
            await ssl.ShutdownAsync();
            clientClosed.SetResult(await ssl.ReadAsync(new byte[16]));
        });
        using var engine = CreateEngine(backend, new RecordingVerifier(), Only(version));
        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        Assert.Equal("payload"u8.ToArray(), await ReadToEndAsync(tls).Within());
        Assert.True(tls.ReceivedCloseNotify);
        Assert.Equal(0, await tls.ReadAsync(new byte[16]).Within());

        await tls.ShutdownAsync(TimeSpan.FromSeconds(30), default).Within();
        Assert.Equal(0, await clientClosed.Task.Within()); // the server saw our close_notify
    }

    [Theory]
    [MemberData(nameof(BackendsAndVersions), MemberType = typeof(TlsTestHelpers))]
    public async Task Client_shutdown_sends_close_notify_and_waits_for_the_peers(string backend, TlsVersion version)
    {
        if (!Usable(backend)) return;
        var serverSawEnd = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TlsTestServer(async c =>
        {
            using var ssl = await c.AuthenticateAsync();
            var n = await ssl.ReadAsync(new byte[16]);
            serverSawEnd.SetResult(n == 0);
            await ssl.ShutdownAsync();
        });
        using var engine = CreateEngine(backend, new RecordingVerifier(), Only(version));
        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        await tls.ShutdownAsync(TimeSpan.FromSeconds(60), default).Within(90);

        Assert.True(await serverSawEnd.Task.Within());
        Assert.True(tls.ReceivedCloseNotify);
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public async Task Shutdown_without_waiting_returns_without_the_peers_close_notify(string backend)
    {
        if (!Usable(backend)) return;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TlsTestServer(async c =>
        {
            using var ssl = await c.AuthenticateAsync();
            await release.Task.WaitAsync(c.Stopping);
        });
        using var engine = CreateEngine(backend, new RecordingVerifier());
        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        await tls.ShutdownAsync(TimeSpan.Zero, default).Within();

        Assert.False(tls.ReceivedCloseNotify);
        release.SetResult();
    }

    [Theory]
    [MemberData(nameof(BackendsAndVersions), MemberType = typeof(TlsTestHelpers))]
    public async Task Tcp_eof_without_close_notify_reads_as_end_but_is_reported(string backend, TlsVersion version)
    {
        if (!Usable(backend)) return;
        await using var server = new TlsTestServer(async c =>
        {
            var ssl = await c.AuthenticateAsync();
            await ssl.WriteAsync("partial"u8.ToArray());
            await ssl.FlushAsync();
            c.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Both); // FIN, no close_notify
            c.Socket.Close();
        });
        using var engine = CreateEngine(backend, new RecordingVerifier(), Only(version));
        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        Assert.Equal("partial"u8.ToArray(), await ReadToEndAsync(tls).Within());
        Assert.False(tls.ReceivedCloseNotify);
        Assert.Equal(0, await tls.ReadAsync(new byte[4]).Within());

        // Shutting down towards a peer that is gone neither throws nor hangs.
        await tls.ShutdownAsync(TimeSpan.FromSeconds(30), default).Within(90);
        Assert.False(tls.ReceivedCloseNotify);
    }

    [Theory]
    [MemberData(nameof(BackendsAndVersions), MemberType = typeof(TlsTestHelpers))]
    public async Task Rejected_certificate_throws_and_nothing_is_sent(string backend, TlsVersion version)
    {
        if (!Usable(backend)) return;
        var received = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TlsTestServer(async c =>
        {
            try
            {
                using var ssl = await c.AuthenticateAsync();
                var total = 0;
                var buffer = new byte[1024];
                int n;
                while ((n = await ssl.ReadAsync(buffer)) > 0)
                    total += n;
                received.TrySetResult(total);
            }
            catch (Exception e) when (e is IOException or AuthenticationException)
            {
                received.TrySetResult(0); // the client aborted: no application data arrived
            }
        });
        var verifier = new RecordingVerifier(reject: true);
        using var engine = CreateEngine(backend, verifier, Only(version));
        var transport = await server.ConnectAsync();

        var e = await Assert.ThrowsAsync<CertificateRejectedException>(
            () => engine.ConnectControlAsync(transport, "localhost", default).Within());
        Assert.Equal("localhost", e.Host);
        Assert.Single(verifier.Calls);

        await transport.DisposeAsync(); // a failed connect leaves the transport to its owner
        Assert.Equal(0, await received.Task.Within());
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public async Task Cancelling_a_read_that_waits_forever_returns_promptly(string backend)
    {
        if (!Usable(backend)) return;
        var sendLater = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TlsTestServer(async c =>
        {
            using var ssl = await c.AuthenticateAsync();
            await sendLater.Task.WaitAsync(c.Stopping);
            await ssl.WriteAsync("late"u8.ToArray());
            await ssl.ShutdownAsync();
        });
        using var engine = CreateEngine(backend, new RecordingVerifier());
        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        using var cts = new CancellationTokenSource();
        var read = tls.ReadAsync(new byte[16], cts.Token).AsTask();
        Assert.False(read.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.Within());

        if (backend == OpenSsl)
        {
            // Cancellation leaves the OpenSSL stream usable: the next read gets the data.
            sendLater.SetResult();
            Assert.Equal("late"u8.ToArray(), await ReadToEndAsync(tls).Within());
            Assert.True(tls.ReceivedCloseNotify);
        }
        // SslStream: a cancelled read leaves the stream unusable, so nothing more is sent; the server's handler ends with
        // the server's stop. (Releasing it to write here raced the client's close: a broken pipe failed the server.)
    }

    [Theory]
    [MemberData(nameof(BackendsAndVersions), MemberType = typeof(TlsTestHelpers))]
    public async Task Large_transfer_with_concurrent_reader_and_writer_is_byte_identical(string backend, TlsVersion version)
    {
        if (!Usable(backend)) return;
        const int total = 64 * 1024 * 1024;
        await using var server = new TlsTestServer(TlsTestServer.Echo);
        using var engine = CreateEngine(backend, new RecordingVerifier(), Only(version));
        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        var writer = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var random = new Random(4217);
            // Odd sizes so writes straddle TLS records.
            var chunk = new byte[777_777];
            var sent = 0;
            while (sent < total)
            {
                var n = Math.Min(chunk.Length, total - sent);
                random.NextBytes(chunk.AsSpan(0, n));
                hash.AppendData(chunk, 0, n);
                await tls.WriteAsync(chunk.AsMemory(0, n));
                sent += n;
            }
            return hash.GetHashAndReset();
        });
        var reader = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[50_000];
            var got = 0;
            while (got < total)
            {
                var n = await tls.ReadAsync(buffer);
                Assert.NotEqual(0, n);
                hash.AppendData(buffer, 0, n);
                got += n;
            }
            return hash.GetHashAndReset();
        });

        var sentHash = await writer.Within(300);
        var receivedHash = await reader.Within(300);
        Assert.Equal(sentHash, receivedHash);

        await tls.ShutdownAsync(TimeSpan.FromSeconds(60), default).Within(90);
        Assert.True(tls.ReceivedCloseNotify);
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public async Task Client_certificate_from_pem_files_is_presented(string backend)
    {
        if (!Usable(backend)) return;
        using var dir = new TempDirectory();
        var clientCert = TestCertificates.Create("ftps-client", forClient: true);
        var (certFile, keyFile) = TestCertificates.WritePem(clientCert, dir.Path, "client");
        var seen = new TaskCompletionSource<byte[]?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TlsTestServer(async c =>
        {
            using var ssl = await c.AuthenticateAsync();
            seen.SetResult(c.ClientCertificate?.GetRawCertData());
            await ssl.WriteAsync("ok"u8.ToArray());
            await ssl.ShutdownAsync();
        }, SslProtocols.Tls12 | SslProtocols.Tls13, requireClientCertificate: true);

        using var engine = CreateEngine(backend, new RecordingVerifier(),
            new TlsOptions { ClientCertificateFile = certFile, ClientKeyFile = keyFile });
        using var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        Assert.Equal("ok"u8.ToArray(), await ReadToEndAsync(tls).Within());
        Assert.Equal(clientCert.RawData, await seen.Task.Within());
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public void Client_certificate_that_does_not_load_is_a_clear_error(string backend)
    {
        if (!Usable(backend)) return;
        using var dir = new TempDirectory();
        var (certFile, keyFile) = TestCertificates.WritePem(TestCertificates.Create("a", forClient: true), dir.Path, "a");
        var (_, otherKey) = TestCertificates.WritePem(TestCertificates.Create("b", forClient: true), dir.Path, "b");
        var garbage = Path.Combine(dir.Path, "garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");

        var missing = Assert.ThrowsAny<FtpSecurityException>(() => CreateEngine(backend, new RecordingVerifier(),
            new TlsOptions { ClientCertificateFile = Path.Combine(dir.Path, "nope.pem"), ClientKeyFile = keyFile }));
        Assert.Contains("nope.pem", missing.Message, StringComparison.Ordinal);

        var wrongKey = Assert.ThrowsAny<FtpSecurityException>(() => CreateEngine(backend, new RecordingVerifier(),
            new TlsOptions { ClientCertificateFile = certFile, ClientKeyFile = otherKey }));
        Assert.Contains(certFile, wrongKey.Message, StringComparison.Ordinal);

        var bad = Assert.ThrowsAny<FtpSecurityException>(() => CreateEngine(backend, new RecordingVerifier(),
            new TlsOptions { ClientCertificateFile = garbage, ClientKeyFile = keyFile }));
        Assert.Contains("garbage.pem", bad.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public async Task After_shutdown_the_inner_stream_continues_in_clear_without_losing_bytes(string backend)
    {
        // CCC: the server ends TLS and immediately continues in plain text on the same TCP connection.
        if (!Usable(backend)) return;
        await using var server = new TlsTestServer(async c =>
        {
            using var ssl = await c.AuthenticateAsync();
            var n = await ssl.ReadAsync(new byte[16]);
            Assert.Equal(0, n); // client's close_notify
            await ssl.ShutdownAsync();
            await c.Network.WriteAsync("200 Clear again\r\n"u8.ToArray());
        });
        using var engine = CreateEngine(backend, new RecordingVerifier(), Only(TlsVersion.Tls12));
        var tls = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();

        await tls.ShutdownAsync(TimeSpan.FromSeconds(60), default).Within(90);
        Assert.True(tls.ReceivedCloseNotify);

        if (backend == OpenSsl) // SslStream may buffer past the close_notify; the OpenSSL engine reads record by record
        {
            var clear = Encoding.ASCII.GetString(await ReadToEndAsync(tls.InnerStream).Within());
            Assert.Equal("200 Clear again\r\n", clear);
        }
        tls.Dispose();
    }

    [Theory]
    [MemberData(nameof(Backends), MemberType = typeof(TlsTestHelpers))]
    public async Task Dispose_closes_the_transport_and_later_use_throws(string backend)
    {
        if (!Usable(backend)) return;
        await using var server = new TlsTestServer(TlsTestServer.Echo) { ExpectErrors = true };
        using var engine = CreateEngine(backend, new RecordingVerifier());
        var transport = await server.ConnectAsync();
        var tls = await engine.ConnectControlAsync(transport, "localhost", default).Within();

        tls.Dispose();

        Assert.False(transport.CanRead);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => tls.ReadAsync(new byte[4]).Within());
    }
}
