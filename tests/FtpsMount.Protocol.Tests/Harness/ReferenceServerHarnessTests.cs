using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using FtpsMount.Protocol.Tests.Interop;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Protocol.Tests.Harness;

/// <summary>Self-tests of the reference-server harness: each server starts, speaks FTPS the way the harness
/// promises (TLS required, login, jail, passive range, data-channel session reuse) and is gone after disposal.</summary>
[Collection(ReferenceServerCollection.Name)]
public sealed class ReferenceServerHarnessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<ReferenceServerKind, FtpsMode, TlsVersion> Configurations()
    {
        var data = new TheoryData<ReferenceServerKind, FtpsMode, TlsVersion>();
        foreach (var (kind, mode) in ReferenceServer.SupportedConfigurations)
        {
            data.Add(kind, mode, TlsVersion.Tls12);
            data.Add(kind, mode, TlsVersion.Tls13);
        }

        return data;
    }

    public static TheoryData<ReferenceServerKind> Kinds() =>
        new(ReferenceServerKind.Vsftpd, ReferenceServerKind.Proftpd, ReferenceServerKind.PureFtpd);

    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task Server_speaks_ftps_and_is_gone_after_dispose(ReferenceServerKind kind, FtpsMode mode, TlsVersion version)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        var ct = cts.Token;
        var protocol = version == TlsVersion.Tls13 ? SslProtocols.Tls13 : SslProtocols.Tls12;
        var server = await ReferenceServer.StartAsync(kind, mode, ct);
        int pid = server.ProcessId, port = server.Port;
        var instance = server.InstanceDirectory;
        try
        {
            output.WriteLine($"{server} version {server.ServerVersion}, root {server.RootDirectory}");
            Assert.Equal("127.0.0.1", server.Host);
            Assert.True(IsAlive(pid));
            Assert.StartsWith("sha256:", server.CertificateFingerprint, StringComparison.Ordinal);
            Assert.True(File.Exists(server.CaCertificatePath));

            var options = server.CreateOptions(version);
            Assert.Equal(port, options.Port);
            Assert.Equal(mode, options.Mode);
            Assert.Equal(version, options.Tls.MinVersion);
            Assert.Equal(version, options.Tls.MaxVersion);
            Assert.Equal(server.CaCertificatePath, options.Tls.Trust.CaFile);
            Assert.Equal([server.CertificateFingerprint], server.CreateOptions(version, pinFingerprint: true).Tls.Trust.PinnedFingerprints);

            if (mode == FtpsMode.Explicit)
            {
                await AssertPlaintextLoginRefusedAsync(server, ct);
            }

            server.SeedFile("/seed/hello.txt", "hello from the harness\n"u8);
            await using (var ftp = await LogInAsync(server, protocol, ct))
            {
                Assert.Equal(protocol, ftp.Tls!.SslProtocol);
                var (code, text) = await ftp.CommandAsync("PWD", ct);
                Assert.True(code == 257 && text.Contains("\"/\"", StringComparison.Ordinal), text);

                // Data connections: passive port from this instance's range, TLS resumed from the control connection.
                var listing = Encoding.UTF8.GetString(await DownloadAsync(ftp, server, protocol, "LIST /seed", ct));
                Assert.Contains("hello.txt", listing, StringComparison.Ordinal);
                var content = await DownloadAsync(ftp, server, protocol, "RETR /seed/hello.txt", ct);
                Assert.Equal("hello from the harness\n", Encoding.UTF8.GetString(content));

                await UploadAsync(ftp, server, protocol, "STOR /uploaded.bin", [1, 2, 3, 4, 5], ct);
                var uploaded = server.GetLocalPath("/uploaded.bin");
                Assert.Equal([1, 2, 3, 4, 5], await File.ReadAllBytesAsync(uploaded, ct));
                Assert.Equal(ReferenceServerInstallation.TestUser, FileOwner(uploaded));

                // The jail: "/" is the instance root, and nothing above it is reachable.
                (code, text) = await ftp.CommandAsync("CWD /../../..", ct);
                (code, text) = await ftp.CommandAsync("PWD", ct);
                Assert.True(code == 257 && text.Contains("\"/\"", StringComparison.Ordinal), text);

                // A data connection that starts a fresh TLS session is refused where reuse is required.
                var reused = await TryListWithoutResumptionAsync(ftp, server, protocol, ct);
                Assert.Equal(!server.RequiresSessionReuse, reused);
                output.WriteLine($"data connection without session resumption: {(reused ? "accepted" : "refused")}");
            }
        }
        catch
        {
            output.WriteLine(server.ReadLogs());
            throw;
        }
        finally
        {
            await server.DisposeAsync();
        }

        Assert.False(IsAlive(pid), $"daemon {pid} still alive");
        Assert.True(CanListen(port), $"port {port} still in use");
        Assert.False(Directory.Exists(instance));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Dispose_kills_the_per_connection_processes(ReferenceServerKind kind)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        var ct = cts.Token;
        var server = await ReferenceServer.StartAsync(kind, FtpsMode.Explicit, ct);
        try
        {
            await using var ftp = await LogInAsync(server, SslProtocols.Tls12, ct);
            var children = Descendants(server.ProcessId);
            Assert.NotEmpty(children);
            output.WriteLine($"{server}: session processes {string.Join(", ", children)}");
            await server.DisposeAsync();

            Assert.False(IsAlive(server.ProcessId));
            Assert.All(children, p => Assert.False(IsAlive(p), $"session process {p} still alive"));
            // The logged-in control connection was cut.
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await ftp.SendAsync("NOOP", ct);
                await ftp.ReadReplyAsync(ct);
            });
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Concurrent_servers_get_separate_ports_and_roots()
    {
        using var cts = new CancellationTokenSource(s_timeout);
        var ct = cts.Token;
        var starts = new[]
        {
            ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, ct),
            ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, ct),
            ReferenceServer.StartAsync(ReferenceServerKind.Proftpd, FtpsMode.Implicit, ct),
        };
        var servers = new List<ReferenceServer>();
        try
        {
            await Task.WhenAll(starts);
        }
        finally
        {
            foreach (var started in starts.Where(t => t.IsCompletedSuccessfully))
            {
                var server = await started;
                servers.Add(server);
                await server.DisposeAsync();
            }
        }

        var used = new HashSet<int>();
        foreach (var s in servers)
        {
            Assert.True(s.PassivePortFirst <= s.PassivePortLast);
            foreach (var p in Enumerable.Range(s.PassivePortFirst, s.PassivePortCount).Append(s.Port))
            {
                Assert.True(used.Add(p), $"port {p} handed out twice");
            }
        }

        Assert.Equal(3, servers.Select(s => s.RootDirectory).Distinct().Count());
    }

    private static async Task<RawFtpsConnection> LogInAsync(ReferenceServer server, SslProtocols protocol, CancellationToken ct)
    {
        var ftp = await RawFtpsConnection.ConnectAsync(server, protocol, ct);
        try
        {
            (int Code, string Text) reply;
            if (server.Mode == FtpsMode.Implicit)
            {
                await ftp.StartTlsAsync(ct);
                reply = await ftp.ReadReplyAsync(ct);
                Assert.True(reply.Code == 220, reply.Text);
            }
            else
            {
                reply = await ftp.ReadReplyAsync(ct);
                Assert.True(reply.Code == 220, reply.Text);
                reply = await ftp.CommandAsync("AUTH TLS", ct);
                Assert.True(reply.Code == 234, reply.Text);
                await ftp.StartTlsAsync(ct);
            }

            reply = await ftp.CommandAsync("USER " + server.User, ct);
            Assert.True(reply.Code == 331, reply.Text);
            reply = await ftp.CommandAsync("PASS " + server.Password, ct);
            Assert.True(reply.Code == 230, reply.Text);
            reply = await ftp.CommandAsync("PBSZ 0", ct);
            Assert.True(reply.Code == 200, reply.Text);
            reply = await ftp.CommandAsync("PROT P", ct);
            Assert.True(reply.Code == 200, reply.Text);
            reply = await ftp.CommandAsync("TYPE I", ct);
            Assert.True(reply.Code == 200, reply.Text);
            return ftp;
        }
        catch
        {
            await ftp.DisposeAsync();
            throw;
        }
    }

    private static async Task AssertPlaintextLoginRefusedAsync(ReferenceServer server, CancellationToken ct)
    {
        await using var ftp = await RawFtpsConnection.ConnectAsync(server, SslProtocols.None, ct);
        var reply = await ftp.ReadReplyAsync(ct);
        Assert.True(reply.Code == 220, reply.Text);
        reply = await ftp.CommandAsync("USER " + server.User, ct);
        Assert.True(reply.Code >= 400, "USER in clear text was accepted: " + reply.Text);
    }

    private static async Task<byte[]> DownloadAsync(RawFtpsConnection ftp, ReferenceServer server, SslProtocols protocol, string command, CancellationToken ct)
    {
        var (data, port) = await ftp.OpenPassiveAsync(ct);
        using (data)
        {
            Assert.InRange(port, server.PassivePortFirst, server.PassivePortLast);
            var reply = await ftp.CommandAsync(command, ct);
            Assert.True(reply.Code is 125 or 150, reply.Text);
            await using var tls = new SslStream(data.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(RawFtpsConnection.TlsOptions(server, protocol), ct);
            using var buffer = new MemoryStream();
            await tls.CopyToAsync(buffer, ct);
            await tls.ShutdownAsync();
            reply = await ftp.ReadReplyAsync(ct);
            Assert.True(reply.Code == 226, reply.Text);
            return buffer.ToArray();
        }
    }

    private static async Task UploadAsync(RawFtpsConnection ftp, ReferenceServer server, SslProtocols protocol, string command, byte[] content, CancellationToken ct)
    {
        var (data, _) = await ftp.OpenPassiveAsync(ct);
        using (data)
        {
            var reply = await ftp.CommandAsync(command, ct);
            Assert.True(reply.Code is 125 or 150, reply.Text);
            await using (var tls = new SslStream(data.GetStream(), leaveInnerStreamOpen: false))
            {
                await tls.AuthenticateAsClientAsync(RawFtpsConnection.TlsOptions(server, protocol), ct);
                await tls.WriteAsync(content, ct);
                await tls.ShutdownAsync();
            }

            reply = await ftp.ReadReplyAsync(ct);
            Assert.True(reply.Code == 226, reply.Text);
        }
    }

    /// <summary>LIST over a data connection whose TLS handshake must not resume any session. True if the
    /// listing succeeded.</summary>
    private static async Task<bool> TryListWithoutResumptionAsync(RawFtpsConnection ftp, ReferenceServer server, SslProtocols protocol, CancellationToken ct)
    {
        var (data, _) = await ftp.OpenPassiveAsync(ct);
        using (data)
        {
            var reply = await ftp.CommandAsync("LIST /", ct);
            Assert.True(reply.Code is 125 or 150, reply.Text);
            try
            {
                await using var tls = new SslStream(data.GetStream(), leaveInnerStreamOpen: false);
                await tls.AuthenticateAsClientAsync(RawFtpsConnection.TlsOptions(server, protocol, allowResume: false), ct);
                await tls.CopyToAsync(Stream.Null, ct);
                await tls.ShutdownAsync();
            }
            catch (Exception e) when (e is IOException or AuthenticationException)
            {
                // The server may cut the data connection during or right after the handshake.
            }

            reply = await ftp.ReadReplyAsync(ct);
            return reply.Code == 226;
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.Count > 0)
        {
            var p = frontier.Dequeue();
            foreach (var (child, parent) in parents)
            {
                if (parent == p)
                {
                    result.Add(child);
                    frontier.Enqueue(child);
                }
            }
        }

        return result;
    }

    private static bool CanListen(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(1);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string FileOwner(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%U", path])
        {
            RedirectStandardOutput = true,
        })!;
        var owner = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return owner;
    }
}
