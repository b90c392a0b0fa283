using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Protocol.Tests.Security;

public sealed class CertificateVerifierTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("ftpsmount-cert-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(Now.AddYears(-1), Now.AddYears(5));
    }

    private static X509Certificate2 CreateLeaf(string host, X509Certificate2? issuer, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + host, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }

        var serial = RandomNumberGenerator.GetBytes(12);
        return request.Create(issuer, notBefore, notAfter, serial);
    }

    private string WritePem(X509Certificate2 cert)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("n") + ".pem");
        File.WriteAllText(path, cert.ExportCertificatePem());
        return path;
    }

    private static CertificateVerifier Verifier(TrustOptions options) => new(options, "localhost:21", time: new FixedTime(Now));

    [Fact]
    public void Self_signed_is_refused_by_default_with_fingerprint_and_advice()
    {
        var leaf = CreateLeaf("localhost", null, Now.AddDays(-1), Now.AddDays(30));
        var ex = Assert.Throws<CertificateRejectedException>(() => Verifier(new TrustOptions()).Verify("localhost", leaf, [leaf]));
        Assert.Contains("self-signed", ex.Reason, StringComparison.Ordinal);
        Assert.Equal(CertificateRejectedException.Sha256Fingerprint(leaf), ex.Fingerprint);
        Assert.Contains("--fingerprint " + ex.Fingerprint, ex.Message, StringComparison.Ordinal);
        Assert.Contains("CN=localhost", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ca_file_makes_its_leaves_trusted()
    {
        var ca = CreateCa("Test CA");
        var leaf = CreateLeaf("localhost", ca, Now.AddDays(-1), Now.AddDays(30));
        var verifier = Verifier(new TrustOptions { CaFile = WritePem(ca) });
        verifier.Verify("localhost", leaf, [leaf]);
        Assert.Contains("chain verified", verifier.LastDecision, StringComparison.Ordinal);
    }

    [Fact]
    public void Untrusted_ca_is_refused()
    {
        var ca = CreateCa("Rogue CA");
        var leaf = CreateLeaf("localhost", ca, Now.AddDays(-1), Now.AddDays(30));
        var ex = Assert.Throws<CertificateRejectedException>(() => Verifier(new TrustOptions { CaFile = WritePem(CreateCa("Other CA")) }).Verify("localhost", leaf, [leaf, ca]));
        Assert.Contains("not trusted", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Expired_is_refused_even_from_a_trusted_ca()
    {
        var ca = CreateCa("Test CA");
        var leaf = CreateLeaf("localhost", ca, Now.AddDays(-60), Now.AddDays(-1));
        var ex = Assert.Throws<CertificateRejectedException>(() => Verifier(new TrustOptions { CaFile = WritePem(ca) }).Verify("localhost", leaf, [leaf]));
        Assert.Contains("expired", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_yet_valid_is_refused()
    {
        var ca = CreateCa("Test CA");
        var leaf = CreateLeaf("localhost", ca, Now.AddDays(1), Now.AddDays(30));
        var ex = Assert.Throws<CertificateRejectedException>(() => Verifier(new TrustOptions { CaFile = WritePem(ca) }).Verify("localhost", leaf, [leaf]));
        Assert.Contains("not valid before", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_host_is_refused()
    {
        var ca = CreateCa("Test CA");
        var leaf = CreateLeaf("other.example", ca, Now.AddDays(-1), Now.AddDays(30));
        var ex = Assert.Throws<CertificateRejectedException>(() => Verifier(new TrustOptions { CaFile = WritePem(ca) }).Verify("localhost", leaf, [leaf]));
        Assert.Contains("not issued for \"localhost\"", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Pinned_fingerprint_accepts_exactly_that_certificate()
    {
        var leaf = CreateLeaf("whatever", null, Now.AddDays(-1), Now.AddDays(30));
        var other = CreateLeaf("whatever", null, Now.AddDays(-1), Now.AddDays(30));
        var pin = CertificateRejectedException.Sha256Fingerprint(leaf).ToUpperInvariant().Replace("SHA256:", "sha256:", StringComparison.Ordinal);
        var verifier = Verifier(new TrustOptions { PinnedFingerprints = [pin] });
        verifier.Verify("localhost", leaf, [leaf]);
        Assert.Equal("pinned fingerprint matches", verifier.LastDecision);
        var ex = Assert.Throws<CertificateRejectedException>(() => verifier.Verify("localhost", other, [other]));
        Assert.Contains("does not match the pinned", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Trust_on_first_use_records_then_refuses_a_changed_certificate()
    {
        var file = Path.Combine(_dir, "sub", "known_hosts");
        var first = CreateLeaf("localhost", null, Now.AddDays(-1), Now.AddDays(30));
        var second = CreateLeaf("localhost", null, Now.AddDays(-1), Now.AddDays(30));
        var options = new TrustOptions { KnownHostsFile = file };

        Verifier(options).Verify("localhost", first, [first]);
        Assert.Contains(CertificateRejectedException.Sha256Fingerprint(first), File.ReadAllText(file), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        var again = Verifier(options);
        again.Verify("localhost", first, [first]);
        Assert.Contains("matches the fingerprint recorded", again.LastDecision, StringComparison.Ordinal);

        var ex = Assert.Throws<CertificateRejectedException>(() => Verifier(options).Verify("localhost", second, [second]));
        Assert.Contains("CHANGED", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Insecure_accepts_anything_and_says_so()
    {
        var leaf = CreateLeaf("elsewhere", null, Now.AddDays(-60), Now.AddDays(-1));
        var verifier = Verifier(new TrustOptions { Insecure = true });
        verifier.Verify("localhost", leaf, [leaf]);
        Assert.Contains("NOT VERIFIED", verifier.LastDecision, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12", true)]
    [InlineData("AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12:AB:12", true)]
    [InlineData("sha256:abc", false)]
    [InlineData("sha256:" + "zz12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12", false)]
    public void Fingerprint_syntax(string fingerprint, bool valid) =>
        Assert.Equal(valid, CertificateVerifier.IsValidFingerprint(fingerprint));
}
