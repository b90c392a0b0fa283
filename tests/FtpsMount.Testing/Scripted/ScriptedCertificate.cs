using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Testing.Scripted;

/// <summary>Self-signed server certificates for tests (expired ones, other names, RSA or ECDSA).</summary>
public static class ScriptedCertificate
{
    /// <summary>
    /// A self-signed TLS server certificate with its private key, exported and re-imported as PKCS#12 so SslStream
    /// can serve it on every platform. Default: CN=localhost, SAN localhost and 127.0.0.1, valid from a day ago
    /// for a year, ECDSA P-256.
    /// </summary>
    public static X509Certificate2 CreateSelfSigned(
        string commonName = "localhost",
        IEnumerable<string>? dnsNames = null,
        IEnumerable<IPAddress>? ipAddresses = null,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null,
        bool rsa = false)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames ?? ["localhost"])
        {
            san.AddDnsName(dns);
        }

        foreach (var ip in ipAddresses ?? [IPAddress.Loopback])
        {
            san.AddIpAddress(ip);
        }

        using var rsaKey = rsa ? RSA.Create(2048) : null;
        using var ecKey = rsa ? null : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName("CN=" + commonName);
        var request = rsaKey is not null
            ? new CertificateRequest(subject, rsaKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, ecKey!, HashAlgorithmName.SHA256);

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            rsa ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.DigitalSignature,
            critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? from.AddYears(1);
        using var ephemeral = request.CreateSelfSigned(from, to);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>"sha256:" + lowercase hex of the SHA-256 of the DER certificate.</summary>
    public static string Fingerprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }
}
