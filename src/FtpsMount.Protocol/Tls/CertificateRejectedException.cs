using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Protocol.Tls;

/// <summary>The server's certificate was refused. The message says why, what the certificate is,
/// and how to trust it deliberately (pin its fingerprint).</summary>
public sealed class CertificateRejectedException : FtpSecurityException
{
    public CertificateRejectedException(string host, string reason, X509Certificate2 certificate)
        : base(Describe(host, reason, certificate))
    {
        Host = host;
        Reason = reason;
        Subject = certificate.Subject;
        Issuer = certificate.Issuer;
        NotBefore = certificate.NotBefore.ToUniversalTime();
        NotAfter = certificate.NotAfter.ToUniversalTime();
        Fingerprint = Sha256Fingerprint(certificate);
    }

    public string Host { get; }
    public string Reason { get; }
    public string Subject { get; }
    public string Issuer { get; }
    public DateTime NotBefore { get; }
    public DateTime NotAfter { get; }

    /// <summary>"sha256:" followed by lowercase hex, the form <c>--fingerprint</c> accepts.</summary>
    public string Fingerprint { get; }

    public static string Sha256Fingerprint(X509Certificate2 certificate) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    private static string Describe(string host, string reason, X509Certificate2 c)
    {
        var fp = Sha256Fingerprint(c);
        return string.Create(CultureInfo.InvariantCulture, $"""
            The certificate of {host} was not trusted: {reason}
              subject:     {c.Subject}
              issuer:      {c.Issuer}
              valid:       {c.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z to {c.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z
              fingerprint: {fp}
            If you have checked this fingerprint with the server's administrator, trust exactly this certificate with
              --fingerprint {fp}
            or add its issuing CA with --ca-file FILE.
            """);
    }
}
