using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FtpsMount.Testing.Scripted;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Security;

/// <summary>
/// Security drills end to end, through the `ftpsmount` program (child process) against the in-process scripted FTPS
/// server: certificates that must be refused (self-signed, expired, wrong host, untrusted CA, a changed certificate
/// under trust-on-first-use) with the reason and exit code 4 — and before any credential is sent; a server that refuses
/// AUTH, or whose FEAT had AUTH stripped by a man in the middle: credentials never go out in clear unless
/// --allow-plaintext. The verifier's rules themselves are table-tested in Protocol.Tests/Security/CertificateVerifierTests
/// and the session's in ScriptedSessionTests; these drills prove the whole program obeys them.
/// </summary>
[Collection(DrillCollection.Name)]
public sealed class SecurityDrills(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ftpsmount-drill-sec-").FullName;
    private int _refusals;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private async Task<Run> LsAsync(ScriptedFtpServer server, params string[] extra)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll"), "ls", $"ftpes://{ScriptedServerOptions.DefaultUser}@localhost:{server.Port}/", "--timeout", "10" }.Concat(extra))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["FTPSMOUNT_PASSWORD"] = ScriptedServerOptions.DefaultPassword;
        start.Environment["HOME"] = _dir; // no known_hosts or .netrc of the machine's user
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return new Run(p.ExitCode, await stdout, await stderr);
    }

    private string Pem(X509Certificate2 certificate, string name)
    {
        var path = Path.Combine(_dir, name + ".pem");
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n");
        return path;
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-365), DateTimeOffset.UtcNow.AddYears(2));
        return X509CertificateLoader.LoadPkcs12(ca.Export(X509ContentType.Pkcs12), password: null);
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string host, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + host, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        if (host == "localhost")
        {
            san.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var leaf = request.Create(ca, notBefore, notAfter, serial);
        using var withKey = leaf.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>Asserts a refusal: exit 4, the reason in stderr, and no USER/PASS ever received by the server.</summary>
    private void AssertRefused(ScriptedFtpServer server, Run run, string what, params string[] reasonWords)
    {
        output.WriteLine($"{what}: exit {run.ExitCode}\n{run.Stderr}");
        Assert.True(run.ExitCode == 4, $"{what}: exit {run.ExitCode}, expected 4 (security)\n{run.Stderr}");
        Assert.True(reasonWords.Any(w => run.Stderr.Contains(w, StringComparison.OrdinalIgnoreCase)), $"{what}: stderr names none of [{string.Join(", ", reasonWords)}]\n{run.Stderr}");
        Assert.Empty(server.CommandsWithVerb("USER"));
        Assert.Empty(server.CommandsWithVerb("PASS"));
        _refusals++;
    }

    [Fact]
    public async Task Bad_certificates_are_refused_with_the_reason_before_any_credential_is_sent()
    {
        var ca = CreateCa("FtpsMount drill CA");
        var otherCa = CreateCa("Some other CA");
        var caFile = Pem(ca, "ca");
        var now = DateTimeOffset.UtcNow;

        // Control: a good leaf from the CA is accepted, so each refusal below is due to its one defect.
        await using (var good = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Certificate = Issue(ca, "localhost", now.AddDays(-1), now.AddDays(30)) }))
        {
            var ok = await LsAsync(good, "--ca-file", caFile);
            Assert.True(ok.ExitCode == 0, ok.Stderr);
        }

        await using (var selfSigned = await ScriptedFtpServer.StartAsync())
        {
            AssertRefused(selfSigned, await LsAsync(selfSigned), "self-signed", selfSigned.CertificateFingerprint);
        }

        await using (var expired = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Certificate = Issue(ca, "localhost", now.AddDays(-60), now.AddDays(-1)) }))
        {
            AssertRefused(expired, await LsAsync(expired, "--ca-file", caFile), "expired", "expired", "not valid", "validity");
        }

        await using (var wrongHost = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Certificate = Issue(ca, "other.example.org", now.AddDays(-1), now.AddDays(30)) }))
        {
            AssertRefused(wrongHost, await LsAsync(wrongHost, "--ca-file", caFile), "wrong host", "name", "host", "mismatch");
        }

        await using (var untrusted = await ScriptedFtpServer.StartAsync(new ScriptedServerOptions { Certificate = Issue(otherCa, "localhost", now.AddDays(-1), now.AddDays(30)) }))
        {
            AssertRefused(untrusted, await LsAsync(untrusted, "--ca-file", caFile), "untrusted CA", "untrusted", "not trusted", "chain", "issuer");
        }

        // Trust on first use: the first connection records the certificate; then the server presents another one.
        var knownHosts = Path.Combine(_dir, "known_hosts");
        await using (var tofu = await ScriptedFtpServer.StartAsync())
        {
            var first = await LsAsync(tofu, "--tofu", "--known-hosts", knownHosts);
            Assert.True(first.ExitCode == 0, first.Stderr);
            var recorded = await File.ReadAllTextAsync(knownHosts);
            var fingerprintHex = tofu.CertificateFingerprint["sha256:".Length..];
            Assert.Contains(fingerprintHex, recorded, StringComparison.OrdinalIgnoreCase);
            // The same host:port now presents a different certificate (what a man in the middle would present).
            using var other = ScriptedCertificate.CreateSelfSigned();
            var otherHex = ScriptedCertificate.Fingerprint(other)["sha256:".Length..];
            await File.WriteAllTextAsync(knownHosts, recorded.Replace(fingerprintHex, otherHex, StringComparison.OrdinalIgnoreCase));
            var countBefore = tofu.CommandsWithVerb("USER").Count;
            var changed = await LsAsync(tofu, "--tofu", "--known-hosts", knownHosts);
            output.WriteLine($"changed fingerprint: exit {changed.ExitCode}\n{changed.Stderr}");
            Assert.Equal(4, changed.ExitCode);
            Assert.Contains("changed", changed.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(countBefore, tofu.CommandsWithVerb("USER").Count);
            _refusals++;
        }

        output.WriteLine($"FIGURE certificates: {_refusals} bad certificates refused with exit 4 and the reason (self-signed, expired, wrong host, untrusted CA, changed under TOFU), 0 credentials sent; 1 good certificate accepted");
    }

    [Fact]
    public async Task Refused_or_stripped_AUTH_never_sends_credentials_in_clear_without_allow_plaintext()
    {
        // 1. A server that refuses AUTH TLS and AUTH SSL (and does not list AUTH in FEAT).
        var noTls = new ScriptedServerOptions
        {
            AcceptedAuth = ScriptedAuthMechanisms.None,
            AllowPlaintext = true,
            Features = [.. ScriptedServerOptions.DefaultFeatures.Where(f => !f.StartsWith("AUTH", StringComparison.Ordinal))],
        };
        await using (var server = await ScriptedFtpServer.StartAsync(noTls))
        {
            var refused = await LsAsync(server);
            AssertRefused(server, refused, "AUTH refused", "TLS", "plaintext", "clear");
            Assert.NotEmpty(server.CommandsWithVerb("AUTH")); // it asked for TLS, whatever FEAT said

            var allowed = await LsAsync(server, "--allow-plaintext");
            output.WriteLine($"--allow-plaintext: exit {allowed.ExitCode}\n{allowed.Stderr}");
            Assert.True(allowed.ExitCode == 0, allowed.Stderr);
            Assert.Contains("warning", allowed.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.NotEmpty(server.CommandsWithVerb("PASS"));
        }

        // 2. A man in the middle stripped AUTH from FEAT, but the server does TLS: the client still upgrades first.
        var stripped = new ScriptedServerOptions
        {
            Features = [.. ScriptedServerOptions.DefaultFeatures.Where(f => !f.StartsWith("AUTH", StringComparison.Ordinal))],
        };
        await using (var server = await ScriptedFtpServer.StartAsync(stripped))
        {
            var run = await LsAsync(server, "--fingerprint", server.CertificateFingerprint);
            Assert.True(run.ExitCode == 0, run.Stderr);
            var connection = Assert.Single(server.Connections, c => c.UserName is not null);
            Assert.True(connection.TlsNegotiated, "logged in without TLS");
            var pass = Assert.Single(server.CommandsWithVerb("PASS"));
            Assert.True(pass.OverTls, "PASS arrived in clear");
        }

        output.WriteLine("FIGURE AUTH refused / stripped from FEAT: credentials sent in clear 0 times without --allow-plaintext (exit 4); with it, a loud warning; stripped FEAT still upgraded to TLS before USER/PASS");
    }
}
