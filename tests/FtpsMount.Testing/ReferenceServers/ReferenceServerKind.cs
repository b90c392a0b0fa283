namespace FtpsMount.Testing.ReferenceServers;

/// <summary>The real FTPS servers the harness can start (Debian 12 builds, see tests/scripts/install-test-deps.sh).</summary>
public enum ReferenceServerKind
{
    /// <summary>vsftpd 3.0.3, explicit and implicit FTPS, data-channel TLS session reuse required.</summary>
    Vsftpd,
    /// <summary>ProFTPD 1.3.8 with mod_tls, explicit and implicit FTPS, data-channel TLS session reuse required.</summary>
    Proftpd,
    /// <summary>Pure-FTPd 1.0.50, explicit FTPS only. Its Debian build cannot be told to require session reuse.</summary>
    PureFtpd,
}
