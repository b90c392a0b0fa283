using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.Versioning;
using FtpsMount.Protocol;
using FtpsMount.Service.Api;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Service.Tests;

/// <summary>
/// Security drills on a running service with one mounted profile: no request gets anything without the token (TCP and
/// Unix socket, API and dashboard), a foreign Host header is refused (DNS rebinding), cookie-authenticated changes need
/// the custom header (no cross-site form posts), one-time dashboard links work once; the token, endpoint, socket and
/// status files are the user's alone (0600 in 0700 directories); the password is in no API answer, page or log line.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ControlApiSecurityTests(ControlApiSecurityTests.MountedService fixture, ITestOutputHelper output)
    : IClassFixture<ControlApiSecurityTests.MountedService>, IDisposable
{
    /// <summary>One vsftpd and one service with the profile "sec" mounted, shared by the drills (none changes them).</summary>
    public sealed class MountedService : IAsyncLifetime
    {
        private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));

        public string MountPoint { get; } = Directory.CreateTempSubdirectory("ftpsmount-sec-mnt").FullName;
        public ReferenceServer Server { get; private set; } = null!;
        internal ServiceHarness Service { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, _timeout.Token);
            Server.SeedFile("/a.txt", "a\n"u8);
            Service = await ServiceHarness.StartAsync([new("sec", Server, MountPoint)], _timeout.Token);
            await Service.WaitForStateAsync("sec", MountRunState.Mounted, TimeSpan.FromSeconds(60), _timeout.Token, m => m.Stats is not null);
        }

        public async Task DisposeAsync()
        {
            await Service.DisposeAsync();
            await Server.DisposeAsync();
            try
            {
                Directory.Delete(MountPoint);
            }
            catch (IOException)
            {
            }

            _timeout.Dispose();
        }
    }

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(1));
    private ServiceHarness _service => fixture.Service;
    private ReferenceServer _server => fixture.Server;
    private string _mountPoint => fixture.MountPoint;

    public void Dispose()
    {
        output.WriteLine(_service.Log);
        _timeout.Dispose();
    }

    private HttpClient Tcp(bool cookies = false) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies, CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri(_service.Endpoint.Url),
        };

    private HttpClient Socket() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(_service.Endpoint.Socket!), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    })
    { BaseAddress = new Uri("http://localhost") };

    [Fact]
    public async Task Every_endpoint_refuses_requests_without_the_right_token()
    {
        var ct = _timeout.Token;
        string[] gets = ["/api/service", "/api/mounts", "/api/mounts/sec"];
        string[] posts = ["/api/mounts/sec/unmount", "/api/mounts/sec/mount", "/api/login-links"];
        foreach (var client in new[] { Tcp(), Socket() })
        {
            using (client)
            {
                foreach (var path in gets)
                {
                    using var none = await client.GetAsync(path, ct);
                    Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
                    Assert.DoesNotContain("\"sec\"", await none.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

                    using var wrong = new HttpRequestMessage(HttpMethod.Get, path);
                    wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _service.Token[..^1] + (_service.Token[^1] == 'A' ? 'B' : 'A'));
                    using var wrongAnswer = await client.SendAsync(wrong, ct);
                    Assert.Equal(HttpStatusCode.Unauthorized, wrongAnswer.StatusCode);
                }

                foreach (var path in posts)
                {
                    using var none = await client.PostAsync(path, null, ct);
                    Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
                }

                // The dashboard and its script send an unauthenticated browser to the sign-in page, with no data.
                foreach (var path in new[] { "/", "/dashboard.js", "/dashboard.css" })
                {
                    using var page = await client.GetAsync(path, ct);
                    Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
                    Assert.Equal("/login", page.Headers.Location?.ToString());
                }

                // The sign-in page (where the token is pasted) may not be framed by another site, and runs no script.
                using (var login = await client.GetAsync("/login", ct))
                {
                    Assert.Equal(HttpStatusCode.OK, login.StatusCode);
                    var csp = string.Join(";", login.Headers.GetValues("Content-Security-Policy"));
                    Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
                    Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
                    Assert.Equal("DENY", string.Join(",", login.Headers.GetValues("X-Frame-Options")));
                    Assert.Equal("no-store", login.Headers.CacheControl?.ToString());
                }
            }
        }

        // Nothing was unmounted by all that.
        Assert.True(ServiceHarness.IsMounted(_mountPoint));
        using var api = _service.Client();
        Assert.Equal(MountRunState.Mounted, (await api.GetMountsAsync(ct)).Single().State);
    }

    [Fact]
    public async Task Ftpsmount_status_talks_to_the_running_service()
    {
        var ct = _timeout.Token;
        var status = await RunCliAsync(ct, "status");
        Assert.Equal(0, status.Code);
        Assert.Contains($"service pid {_service.Pid}", status.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^  sec +mounted +" + System.Text.RegularExpressions.Regex.Escape(_mountPoint), status.Stdout);
        Assert.Contains("TLSv1.", status.Stdout, StringComparison.Ordinal); // the mount's own status file
        Assert.DoesNotContain(_server.Password, status.Stdout + status.Stderr, StringComparison.Ordinal);

        var dashboard = await RunCliAsync(ct, "status", "--dashboard");
        Assert.Equal(0, dashboard.Code);
        var link = dashboard.Stdout.Trim();
        Assert.StartsWith(_service.Endpoint.Url + "/login?code=", link, StringComparison.Ordinal);
        using var browser = Tcp(cookies: true);
        using var signIn = await browser.GetAsync(new Uri(link).PathAndQuery, ct);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        using var mounts = await browser.GetAsync("/api/mounts", ct);
        Assert.Equal(HttpStatusCode.OK, mounts.StatusCode);
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunCliAsync(CancellationToken ct, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["XDG_CONFIG_HOME"] = _service.ConfigHome;
        start.Environment["XDG_RUNTIME_DIR"] = Path.GetDirectoryName(_service.RuntimeDirectory)!;
        start.Environment["HOME"] = _service.Root;
        using var p = System.Diagnostics.Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(limit.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task A_foreign_host_header_is_refused_even_with_the_token()
    {
        using var client = Tcp();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/mounts");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _service.Token);
        request.Headers.Host = "attacker.example:" + new Uri(_service.Endpoint.Url).Port;
        using var response = await client.SendAsync(request, _timeout.Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Dashboard_sign_in_by_token_or_one_time_link_and_cookie_changes_need_the_request_header()
    {
        var ct = _timeout.Token;
        using (var browser = Tcp(cookies: true))
        {
            using var bad = await browser.PostAsync("/login", new FormUrlEncodedContent([new("token", "not-the-token")]), ct);
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
            using var good = await browser.PostAsync("/login", new FormUrlEncodedContent([new("token", _service.Token)]), ct);
            Assert.Equal(HttpStatusCode.Redirect, good.StatusCode);
            var setCookie = string.Join("\n", good.Headers.GetValues("Set-Cookie"));
            Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);

            using var page = await browser.GetAsync("/", ct);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            using var mounts = await browser.GetAsync("/api/mounts", ct);
            Assert.Equal(HttpStatusCode.OK, mounts.StatusCode);

            // A cross-site form can send the cookie but not a custom header: refused.
            using var forged = await browser.PostAsync("/api/mounts/sec/unmount", null, ct);
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            Assert.True(ServiceHarness.IsMounted(_mountPoint));
        }

        using var api = _service.Client();
        var link = await api.CreateLoginLinkAsync(ct);
        Assert.StartsWith(_service.Endpoint.Url + "/login?code=", link.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(_service.Token, link.Url, StringComparison.Ordinal);
        var path = new Uri(link.Url).PathAndQuery;
        using (var browser = Tcp(cookies: true))
        {
            using var first = await browser.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
            Assert.Equal("/", first.Headers.Location?.ToString());
            using var dashboard = await browser.GetAsync("/", ct);
            Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        }

        using (var other = Tcp(cookies: true))
        {
            using var replay = await other.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.OK, replay.StatusCode); // the sign-in form again, no cookie
            Assert.False(replay.Headers.Contains("Set-Cookie"));
            Assert.Contains("expired or was already used", await replay.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Secret_files_are_the_users_alone_and_the_password_is_nowhere_in_the_output()
    {
        var ct = _timeout.Token;
        const UnixFileMode rw = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode rwx = rw | UnixFileMode.UserExecute;
        Assert.Equal(rw, File.GetUnixFileMode(_service.TokenFile));
        Assert.Equal(rwx, File.GetUnixFileMode(Path.GetDirectoryName(_service.TokenFile)!));
        Assert.Equal(rw, File.GetUnixFileMode(_service.EndpointFile));
        Assert.Equal(rw, File.GetUnixFileMode(_service.Endpoint.Socket!));
        Assert.Equal(rwx, File.GetUnixFileMode(_service.RuntimeDirectory));
        var statusFiles = Directory.GetFiles(_service.RuntimeDirectory, "*.json").Where(f => int.TryParse(Path.GetFileNameWithoutExtension(f), out _)).ToList();
        Assert.NotEmpty(statusFiles);
        Assert.All(statusFiles, f => Assert.Equal(rw, File.GetUnixFileMode(f)));
        Assert.True(_service.Token.Length >= 43); // 256 random bits

        using var client = Tcp();
        var everything = new List<string>();
        foreach (var path in new[] { "/api/service", "/api/mounts", "/api/mounts/sec", "/", "/dashboard.js" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _service.Token);
            using var response = await client.SendAsync(request, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            everything.Add(await response.Content.ReadAsStringAsync(ct));
        }

        everything.AddRange(statusFiles.Select(File.ReadAllText));
        everything.Add(_service.Log);
        foreach (var text in everything)
        {
            Assert.DoesNotContain(_server.Password, text, StringComparison.Ordinal);
        }

        Assert.Contains("\"sec\"", everything[1], StringComparison.Ordinal); // the answers were real ones
    }
}
