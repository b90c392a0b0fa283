using System.Collections.Concurrent;
using System.Security.Authentication;
using System.Text;
using FtpsMount.Protocol.Tls;
using FtpsMount.Protocol.Tls.OpenSsl;
using static FtpsMount.Protocol.Tests.Tls.TlsTestHelpers;

namespace FtpsMount.Protocol.Tests.Tls;

/// <summary>The OpenSSL engine's reason to exist: each data connection resumes its own control connection's
/// session, on TLS 1.2 and 1.3, with several control connections at once.</summary>
public sealed class OpenSslSessionReuseTests
{
    public static TheoryData<TlsVersion> Versions => [TlsVersion.Tls12, TlsVersion.Tls13];

    /// <summary>Exchanges one line so TLS 1.3 tickets (sent after the handshake) are processed.</summary>
    private static async Task PingAsync(Stream tls)
    {
        await tls.WriteAsync("ping"u8.ToArray()).Within();
        Assert.Equal("ping"u8.ToArray(), await ReadExactlyAsync(tls, 4).Within());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Data_connection_resumes_the_control_session_and_is_not_verified_again(TlsVersion version)
    {
        if (!OpenSslTlsEngine.IsSupported) return;
        await using var server = new TlsTestServer(TlsTestServer.Echo, ToSslProtocols(version));
        var verifier = new RecordingVerifier();
        using var engine = new OpenSslTlsEngine(Only(version), verifier);
        using var control = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();
        await PingAsync(control);
        Assert.False(control.Info.SessionReused);

        for (var i = 0; i < 3; i++)
        {
            using var data = await engine.ConnectDataAsync(await server.ConnectAsync(), control, "localhost", default).Within();
            Assert.True(data.Info.SessionReused, $"data connection {i} did not resume");
            Assert.Equal(control.Info.Protocol, data.Info.Protocol);
            Assert.Equal(server.Certificate.RawData, data.Info.PeerCertificate!.RawData);
            await PingAsync(data);
            await data.ShutdownAsync(TimeSpan.FromSeconds(30), default).Within(60);
            Assert.True(data.ReceivedCloseNotify);
        }

        Assert.Single(verifier.Calls); // the control connection only
        await control.ShutdownAsync(TimeSpan.FromSeconds(30), default).Within(60);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Parallel_control_connections_each_hand_their_own_session_to_their_data_connections(TlsVersion version)
    {
        if (!OpenSslTlsEngine.IsSupported) return;
        const int controls = 3;
        const int transfersEach = 4;
        await using var server = new TlsTestServer(TlsTestServer.Echo, ToSslProtocols(version));
        using var engine = new OpenSslTlsEngine(Only(version), new RecordingVerifier());

        var controlStreams = new OpenSslTlsStream[controls];
        for (var c = 0; c < controls; c++)
        {
            controlStreams[c] = (OpenSslTlsStream)await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();
            await PingAsync(controlStreams[c]);
        }

        // Which session each data connection resumed (its ID right after the handshake), per control connection.
        var resumed = new ConcurrentDictionary<int, ConcurrentBag<string>>();
        await Task.WhenAll(Enumerable.Range(0, controls).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < transfersEach; i++)
            {
                using var data = (OpenSslTlsStream)await engine.ConnectDataAsync(await server.ConnectAsync(), controlStreams[c], "localhost", default);
                Assert.True(data.Info.SessionReused, $"control {c}, data connection {i} did not resume");
                resumed.GetOrAdd(c, _ => []).Add(data.CurrentSessionId());
                await PingAsync(data);
                await data.ShutdownAsync(TimeSpan.FromSeconds(30), default);
            }
        }))).Within(300);

        for (var c = 0; c < controls; c++)
        {
            var own = controlStreams[c].CollectedSessionIds();
            Assert.Equal(transfersEach, resumed[c].Count);
            foreach (var id in resumed[c])
            {
                Assert.Contains(id, own);
                for (var other = 0; other < controls; other++)
                {
                    if (other != c)
                        Assert.DoesNotContain(id, controlStreams[other].CollectedSessionIds());
                }
            }
        }

        foreach (var control in controlStreams)
            control.Dispose();
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_session_is_only_resumed_by_the_server_that_issued_it(TlsVersion version)
    {
        // Two servers with different certificates have independent session keys: handing control A's session to a
        // data connection towards server B cannot resume, so B's certificate is verified in full.
        if (!OpenSslTlsEngine.IsSupported) return;
        await using var serverA = new TlsTestServer(TlsTestServer.Echo, ToSslProtocols(version));
        await using var serverB = new TlsTestServer(TlsTestServer.Echo, ToSslProtocols(version), TestCertificates.Other);
        var verifier = new RecordingVerifier();
        using var engine = new OpenSslTlsEngine(Only(version), verifier);
        using var controlA = await engine.ConnectControlAsync(await serverA.ConnectAsync(), "localhost", default).Within();
        await PingAsync(controlA);

        using (var same = await engine.ConnectDataAsync(await serverA.ConnectAsync(), controlA, "localhost", default).Within())
        {
            Assert.True(same.Info.SessionReused);
            await PingAsync(same);
        }
        using (var other = await engine.ConnectDataAsync(await serverB.ConnectAsync(), controlA, "localhost", default).Within())
        {
            Assert.False(other.Info.SessionReused);
            Assert.Equal(TestCertificates.Other.RawData, other.Info.PeerCertificate!.RawData);
            await PingAsync(other);
        }

        Assert.Equal(2, verifier.Calls.Count); // control A, then the non-resumed data connection
        Assert.Equal(TestCertificates.Other.RawData, verifier.Calls.Last().Leaf.RawData);
    }

    [Fact]
    public async Task Control_connection_from_another_backend_is_refused()
    {
        if (!OpenSslTlsEngine.IsSupported) return;
        await using var server = new TlsTestServer(TlsTestServer.Echo) { ExpectErrors = true };
        using var sslStreamEngine = new SslStreamTlsEngine(new TlsOptions(), new RecordingVerifier());
        using var openSsl = new OpenSslTlsEngine(new TlsOptions(), new RecordingVerifier());
        using var control = await sslStreamEngine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();
        await using var transport = await server.ConnectAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => openSsl.ConnectDataAsync(transport, control, "localhost", default));
    }

    public static TheoryData<string, string[]> OpenSslServers => new()
    {
        { "TLS 1.3, stateless tickets", ["-tls1_3", "-rev"] },
        { "TLS 1.3, one ticket per handshake", ["-tls1_3", "-num_tickets", "1", "-rev"] },
        { "TLS 1.3, stateful tickets", ["-tls1_3", "-no_ticket", "-rev"] },
        // With early data enabled OpenSSL turns on replay protection: each ticket resumes once. Handing the same
        // ticket to two data connections fails; the tickets issued on each data connection keep the chain going.
        { "TLS 1.3, single-use tickets", ["-tls1_3", "-early_data"] },
        { "TLS 1.2, session IDs", ["-tls1_2", "-no_ticket", "-rev"] },
        { "TLS 1.2, session tickets", ["-tls1_2", "-rev"] },
    };

    [Theory]
    [MemberData(nameof(OpenSslServers))]
    public async Task Sequential_data_connections_keep_resuming_against_openssl_s_server(string description, string[] serverArgs)
    {
        if (!OpenSslTlsEngine.IsSupported || !OpenSslServerProcess.Available) return;
        using var dir = new TempDirectory();
        var (certFile, keyFile) = TestCertificates.WritePem(TestCertificates.Localhost, dir.Path, "server");
        using var server = new OpenSslServerProcess(certFile, keyFile, serverArgs);
        var echoes = serverArgs.Contains("-rev");
        using var engine = new OpenSslTlsEngine(new TlsOptions(), new RecordingVerifier());

        // s_server serves one connection at a time: finish with the control connection before the data ones. The
        // clean shutdown reads what the server sent after the handshake, tickets included.
        using var control = await engine.ConnectControlAsync(await server.ConnectAsync(), "localhost", default).Within();
        if (echoes)
            Assert.Equal("olleh", await ExchangeLineAsync(control, "hello"));
        await control.ShutdownAsync(TimeSpan.FromSeconds(30), default).Within(60);

        for (var i = 0; i < 5; i++)
        {
            using var data = await engine.ConnectDataAsync(await server.ConnectAsync(), control, "localhost", default).Within();
            Assert.True(data.Info.SessionReused, $"{description}: data connection {i} did not resume.\n{server.Output}");
            if (echoes)
                Assert.Equal("atad", await ExchangeLineAsync(data, "data"));
            await data.ShutdownAsync(TimeSpan.FromSeconds(30), default).Within(60);
            Assert.True(data.ReceivedCloseNotify, server.Output);
        }
    }

    private static async Task<string> ExchangeLineAsync(Stream tls, string line)
    {
        await tls.WriteAsync(Encoding.ASCII.GetBytes(line + "\n")).Within();
        var received = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            var n = await tls.ReadAsync(one).Within();
            if (n == 0)
                throw new EndOfStreamException("no line from s_server: " + Encoding.ASCII.GetString(received.ToArray()));
            if (one[0] == (byte)'\n')
                return Encoding.ASCII.GetString(received.ToArray()).TrimEnd('\r');
            received.Add(one[0]);
        }
    }
}
