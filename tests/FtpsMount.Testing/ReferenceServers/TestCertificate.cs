using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FtpsMount.Testing.ReferenceServers;

/// <summary>The self-signed certificate every reference server of this test run presents: CN=localhost,
/// SAN DNS:localhost and IP:127.0.0.1, made once per process with <c>openssl req</c> and deleted at exit.</summary>
public sealed class TestCertificate
{
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static TestCertificate? s_shared;

    private TestCertificate(string directory)
    {
        Directory = directory;
        CertificatePath = Path.Combine(directory, "cert.pem");
        KeyPath = Path.Combine(directory, "key.pem");
        using var cert = X509Certificate2.CreateFromPem(File.ReadAllText(CertificatePath));
        Fingerprint = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(cert.RawData));
        NotAfter = cert.NotAfter.ToUniversalTime();
    }

    public string Directory { get; }

    /// <summary>PEM certificate; self-signed, so it is also the CA file to trust.</summary>
    public string CertificatePath { get; }

    /// <summary>PEM private key (root only).</summary>
    public string KeyPath { get; }

    /// <summary>"sha256:" and the lowercase hex SHA-256 of the DER certificate, as <c>--fingerprint</c> takes it.</summary>
    public string Fingerprint { get; }

    public DateTime NotAfter { get; }

    public static async Task<TestCertificate> GetSharedAsync(CancellationToken ct)
    {
        if (s_shared is { } done)
        {
            return done;
        }

        await s_gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return s_shared ??= await CreateAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            s_gate.Release();
        }
    }

    private static async Task<TestCertificate> CreateAsync(CancellationToken ct)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("ftpsmount-ref-cert-").FullName;
        // Removed at exit; after a crash, the next test run's orphan sweep removes it.
        ReferenceServer.WriteOwnerFileForDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        };

        var psi = new ProcessStartInfo(ReferenceServerInstallation.OpensslBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "7",
                     "-keyout", Path.Combine(dir, "key.pem"), "-out", Path.Combine(dir, "cert.pem"),
                     "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                     "-addext", "extendedKeyUsage=serverAuth",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start openssl");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }

        await stdout.ConfigureAwait(false);
        var errors = await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl req failed with exit code {process.ExitCode}: {errors}");
        }

        LibC.SetMode(Path.Combine(dir, "key.pem"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        LibC.SetMode(Path.Combine(dir, "cert.pem"),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return new TestCertificate(dir);
    }
}
