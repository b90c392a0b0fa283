using System.Globalization;

namespace FtpsMount.Testing.ReferenceServers;

/// <summary>Where tests/scripts/install-test-deps.sh puts things. Keep the paths here and in the script in step.</summary>
public static class ReferenceServerInstallation
{
    public const string InstallScript = "tests/scripts/install-test-deps.sh";

    /// <summary>The local account every reference server logs in (a real user with a login shell; pure-ftpd
    /// maps a virtual user of the same name onto its uid).</summary>
    public const string TestUser = "ftpsmtest";

    /// <summary>Install prefix; <c>FTPSMOUNT_TEST_PREFIX</c> overrides it for the script and the harness alike.</summary>
    public static string Prefix { get; } =
        Environment.GetEnvironmentVariable("FTPSMOUNT_TEST_PREFIX") is { Length: > 0 } p ? p : "/opt/ftpsmount-test";

    /// <summary>Root-only file holding the test account's password (written by the install script).</summary>
    public static string PasswordFile => Path.Combine(Prefix, TestUser + ".password");

    public static string VsftpdBinary => Path.Combine(Prefix, "servers/vsftpd/usr/sbin/vsftpd");
    public static string PureFtpdBinary => Path.Combine(Prefix, "servers/pure-ftpd/usr/sbin/pure-ftpd");
    public static string PurePwBinary => Path.Combine(Prefix, "servers/pure-ftpd/usr/bin/pure-pw");
    public const string ProftpdBinary = "/usr/sbin/proftpd";
    public const string ProftpdModulePath = "/usr/lib/proftpd";

    /// <summary>Empty root-owned directory vsftpd's unprivileged helper chroots into.</summary>
    public static string VsftpdSecureChrootDir => Path.Combine(Prefix, "vsftpd-empty");

    /// <summary>PAM service the test vsftpd authenticates with (/etc/pam.d/ftpsmount-vsftpd).</summary>
    public const string VsftpdPamService = "ftpsmount-vsftpd";

    public const string OpensslBinary = "/usr/bin/openssl";

    private static readonly Lazy<string> s_password = new(ReadPasswordFile);
    private static readonly Lazy<(uint Uid, uint Gid)> s_account = new(LookUpAccount);

    /// <summary>Throws <see cref="ReferenceServerUnavailableException"/> (saying to run the install script)
    /// unless everything <paramref name="kind"/> needs is here and we are root.</summary>
    public static void EnsureAvailable(ReferenceServerKind kind)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new ReferenceServerUnavailableException("Reference FTPS servers run on Linux (Debian 12) only.");
        }

        if (LibC.GetEffectiveUserId() != 0)
        {
            throw new ReferenceServerUnavailableException(
                "Reference FTPS servers must be started as root (they chroot and switch to the test user). " +
                $"Run the tests as root after `sudo {InstallScript}`.");
        }

        var needed = new List<string> { OpensslBinary, PasswordFile };
        switch (kind)
        {
            case ReferenceServerKind.Vsftpd:
                needed.Add(VsftpdBinary);
                needed.Add(VsftpdSecureChrootDir);
                needed.Add("/etc/pam.d/" + VsftpdPamService);
                break;
            case ReferenceServerKind.Proftpd:
                needed.Add(ProftpdBinary);
                needed.Add(Path.Combine(ProftpdModulePath, "mod_tls.so"));
                break;
            case ReferenceServerKind.PureFtpd:
                needed.Add(PureFtpdBinary);
                needed.Add(PurePwBinary);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        var missing = needed.Where(p => !File.Exists(p) && !Directory.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            throw new ReferenceServerUnavailableException(
                $"The {kind} reference server is not installed (missing: {string.Join(", ", missing)}). " +
                $"Run `{InstallScript}` as root once on this machine (Debian 12), then rerun the tests.");
        }

        _ = s_account.Value;
    }

    /// <summary>The test account's password (read once from <see cref="PasswordFile"/>).</summary>
    public static string Password => s_password.Value;

    public static uint TestUserId => s_account.Value.Uid;
    public static uint TestGroupId => s_account.Value.Gid;

    /// <summary>Package versions recorded by the install script, e.g. "vsftpd" → "3.0.3-13+b2".</summary>
    public static IReadOnlyDictionary<string, string> Versions
    {
        get
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            var file = Path.Combine(Prefix, "versions.txt");
            if (File.Exists(file))
            {
                foreach (var line in File.ReadAllLines(file))
                {
                    var space = line.IndexOf(' ', StringComparison.Ordinal);
                    if (space > 0)
                    {
                        result[line[..space]] = line[(space + 1)..].Trim();
                    }
                }
            }

            return result;
        }
    }

    private static string ReadPasswordFile()
    {
        string text;
        try
        {
            text = File.ReadAllText(PasswordFile).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReferenceServerUnavailableException(
                $"Cannot read the test account's password from {PasswordFile} ({e.Message}). Run `{InstallScript}` as root.", e);
        }

        if (text.Length == 0)
        {
            throw new ReferenceServerUnavailableException($"{PasswordFile} is empty. Run `{InstallScript}` as root.");
        }

        return text;
    }

    private static (uint, uint) LookUpAccount()
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length >= 7 && fields[0] == TestUser)
            {
                return (uint.Parse(fields[2], CultureInfo.InvariantCulture), uint.Parse(fields[3], CultureInfo.InvariantCulture));
            }
        }

        throw new ReferenceServerUnavailableException(
            $"The local test account '{TestUser}' does not exist. Run `{InstallScript}` as root.");
    }
}
