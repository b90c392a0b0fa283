using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Protocol.Tls;

/// <summary>
/// The one place a server certificate is judged, for every TLS backend. Order of the rules:
/// <list type="number">
/// <item><c>Insecure</c>: anything is accepted, with a warning on every connection.</item>
/// <item>Pinned fingerprints: when any are given, the leaf must match one of them (then name, dates and
/// issuer are not checked — the user vouched for exactly this certificate); no other rule can accept.</item>
/// <item>Chain to a trusted root (system store and/or <c>--ca-file</c>), within its validity dates,
/// and naming the host (DNS or IP SAN).</item>
/// <item>Trust on first use (known-hosts file): when the chain rule fails, a host seen before must present
/// the same certificate (a changed one is refused); a new host's certificate is recorded and accepted
/// with a warning. A certificate the CA rules accept is not checked against the file, so normal
/// renewals of CA-issued certificates don't break mounts.</item>
/// </list>
/// </summary>
public sealed class CertificateVerifier : ICertificateVerifier
{
    private readonly TrustOptions _options;
    private readonly string _knownHostsKey;
    private readonly IFtpLogger _log;
    private readonly TimeProvider _time;
    private readonly Lazy<X509Certificate2Collection> _customRoots;

    /// <param name="knownHostsKey">How this server is named in the known-hosts file, e.g. "ftp.example.org:21".</param>
    public CertificateVerifier(TrustOptions options, string knownHostsKey, IFtpLogger? log = null, TimeProvider? time = null)
    {
        _options = options;
        _knownHostsKey = knownHostsKey;
        _log = log ?? NullFtpLogger.Instance;
        _time = time ?? TimeProvider.System;
        _customRoots = new Lazy<X509Certificate2Collection>(LoadCustomRoots);
    }

    /// <summary>How the last accepted certificate was trusted (for diagnostics such as <c>ftpsmount probe</c>).</summary>
    public string? LastDecision { get; private set; }

    public void Verify(string host, X509Certificate2 leaf, IReadOnlyList<X509Certificate2> chain)
    {
        LastDecision = null;
        if (_options.Insecure)
        {
            LastDecision = "NOT VERIFIED (--insecure)";
            _log.Log(FtpLogLevel.Warning, $"INSECURE: certificate checks are off (--insecure); accepting {CertificateRejectedException.Sha256Fingerprint(leaf)} for {host} unchecked. Anyone on the network path can read and change this connection.");
            return;
        }

        var fingerprint = CertificateRejectedException.Sha256Fingerprint(leaf);
        if (_options.PinnedFingerprints.Count > 0)
        {
            if (_options.PinnedFingerprints.Any(p => FingerprintsEqual(p, fingerprint)))
            {
                LastDecision = "pinned fingerprint matches";
                return;
            }

            throw new CertificateRejectedException(host, "its fingerprint does not match the pinned fingerprint(s) " + string.Join(", ", _options.PinnedFingerprints) + ".", leaf);
        }

        var chainProblem = CheckChain(host, leaf, chain);
        if (chainProblem is null)
        {
            LastDecision = _customRoots.IsValueCreated && _customRoots.Value.Count > 0 ? "chain verified (system store or --ca-file), host name matches" : "chain verified by the system trust store, host name matches";
            return;
        }

        if (_options.KnownHostsFile is { } knownHostsFile)
        {
            var hosts = new KnownHostsFile(knownHostsFile);
            var known = hosts.Find(_knownHostsKey);
            if (known is null)
            {
                hosts.Add(_knownHostsKey, fingerprint);
                LastDecision = $"trusted on first use, recorded in {knownHostsFile}";
                _log.Log(FtpLogLevel.Warning, $"Trust on first use: {_knownHostsKey} presented a certificate that is not otherwise trusted ({chainProblem}); recorded {fingerprint} in {knownHostsFile}. A different certificate from this server will be refused.");
                return;
            }

            if (FingerprintsEqual(known, fingerprint))
            {
                LastDecision = $"matches the fingerprint recorded in {knownHostsFile}";
                return;
            }

            throw new CertificateRejectedException(host,
                $"it CHANGED since it was first trusted: {knownHostsFile} records {known} for {_knownHostsKey}. This may be an attack. If the server's certificate was legitimately replaced, remove that line from {knownHostsFile}.",
                leaf);
        }

        throw new CertificateRejectedException(host, chainProblem, leaf);
    }

    /// <summary>Returns null when the chain is trusted, dated and names the host; otherwise why not.</summary>
    private string? CheckChain(string host, X509Certificate2 leaf, IReadOnlyList<X509Certificate2> chain)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (now < leaf.NotBefore.ToUniversalTime())
        {
            return $"it is not valid before {leaf.NotBefore.ToUniversalTime():u}.";
        }

        if (now > leaf.NotAfter.ToUniversalTime())
        {
            return $"it expired on {leaf.NotAfter.ToUniversalTime():u}.";
        }

        if (!leaf.MatchesHostname(host, allowWildcards: true, allowCommonName: true))
        {
            return $"it is not issued for \"{host}\".";
        }

        string? systemProblem = null;
        if (_options.UseSystemStore)
        {
            systemProblem = BuildChain(leaf, chain, now, customRoots: null);
            if (systemProblem is null)
            {
                return null;
            }
        }

        if (_customRoots.Value.Count > 0)
        {
            var customProblem = BuildChain(leaf, chain, now, _customRoots.Value);
            return customProblem is null ? null : customProblem + $" (also not by the CA file {_options.CaFile})";
        }

        return systemProblem ?? "no trust anchor is configured (the system store is off and no --ca-file was given).";
    }

    private static string? BuildChain(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> chain, DateTime now, X509Certificate2Collection? customRoots)
    {
        using var x509Chain = new X509Chain();
        var policy = x509Chain.ChainPolicy;
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.VerificationTime = now;
        policy.VerificationTimeIgnored = false;
        policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // serverAuth
        foreach (var c in chain)
        {
            if (!c.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
            {
                policy.ExtraStore.Add(c);
            }
        }

        if (customRoots is not null)
        {
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(customRoots);
        }

        if (x509Chain.Build(leaf))
        {
            return null;
        }

        var statuses = x509Chain.ChainStatus.Select(s => s.Status).Aggregate(X509ChainStatusFlags.NoError, (a, b) => a | b);
        var selfSigned = leaf.SubjectName.RawData.AsSpan().SequenceEqual(leaf.IssuerName.RawData);
        if ((statuses & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
        {
            return selfSigned
                ? "it is self-signed and not in any trusted store."
                : "it was issued by an authority that is not trusted (unknown or incomplete chain).";
        }

        if ((statuses & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            return "a certificate in its chain is outside its validity period.";
        }

        if ((statuses & X509ChainStatusFlags.NotValidForUsage) != 0)
        {
            return "it is not valid for TLS server authentication.";
        }

        return "its chain did not verify: " + string.Join("; ", x509Chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0));
    }

    private X509Certificate2Collection LoadCustomRoots()
    {
        var collection = new X509Certificate2Collection();
        if (_options.CaFile is { } caFile)
        {
            try
            {
                collection.ImportFromPemFile(caFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new FtpSecurityException($"Cannot read the CA file {caFile}: {ex.Message}", ex);
            }

            if (collection.Count == 0)
            {
                throw new FtpSecurityException($"The CA file {caFile} contains no PEM certificates.");
            }
        }

        return collection;
    }

    internal static bool FingerprintsEqual(string a, string b) =>
        string.Equals(NormalizeFingerprint(a), NormalizeFingerprint(b), StringComparison.Ordinal);

    /// <summary>Accepts "sha256:AB:CD..", "SHA256:abcd..", or bare hex; returns lowercase hex without separators.</summary>
    public static string NormalizeFingerprint(string fingerprint)
    {
        var s = fingerprint.Trim();
        if (s.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase))
        {
            s = s[7..];
        }
        else if (s.StartsWith("sha256/", StringComparison.OrdinalIgnoreCase))
        {
            s = s[7..];
        }

        return s.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
    }

    /// <summary>True for "sha256:" + 64 hex digits (separators allowed).</summary>
    public static bool IsValidFingerprint(string fingerprint)
    {
        var hex = NormalizeFingerprint(fingerprint);
        return hex.Length == 64 && hex.All(Uri.IsHexDigit);
    }
}

/// <summary>"host:port sha256:hex" per line; '#' comments. Written with mode 0600.</summary>
internal sealed class KnownHostsFile
{
    private readonly string _path;

    public KnownHostsFile(string path) => _path = path;

    public string? Find(string key)
    {
        if (!File.Exists(_path))
        {
            return null;
        }

        foreach (var raw in File.ReadLines(_path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && string.Equals(parts[0], key, StringComparison.OrdinalIgnoreCase))
            {
                return parts[1];
            }
        }

        return null;
    }

    public void Add(string key, string fingerprint)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(_path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var exists = File.Exists(_path);
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(_path, options))
        using (var writer = new StreamWriter(stream))
        {
            if (!exists)
            {
                writer.WriteLine("# ftpsmount known hosts: server certificates trusted on first use (host:port sha256:fingerprint)");
            }

            writer.WriteLine($"{key} {fingerprint}");
        }
    }
}
