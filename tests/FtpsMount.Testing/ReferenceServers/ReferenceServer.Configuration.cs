using System.Diagnostics;
using System.Globalization;
using System.Text;
using FtpsMount.Protocol;

namespace FtpsMount.Testing.ReferenceServers;

// How each server is configured. Common to all: 127.0.0.1 only, passive ports from this instance's block,
// TLS required on control and data connections, TLS 1.2 and 1.3 both on (the client chooses), the user
// jailed in RootDirectory with write access, moderate data timeouts, logs in the instance directory.
public sealed partial class ReferenceServer
{
    private sealed record Launch(string FileName, IReadOnlyList<string> Arguments);

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    private async Task<Launch> ConfigureAsync(CancellationToken ct) => Kind switch
    {
        ReferenceServerKind.Vsftpd => ConfigureVsftpd(),
        ReferenceServerKind.Proftpd => ConfigureProftpd(),
        ReferenceServerKind.PureFtpd => await ConfigurePureFtpdAsync(ct).ConfigureAwait(false),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind)),
    };

    private Launch ConfigureVsftpd()
    {
        // vsftpd 3.0.3 exits with status 2 and prints nothing (in listen mode) on an unknown key, so only keys
        // its binary knows are used. It has no ssl_tlsv1_2/ssl_tlsv1_3: with ssl_tlsv1=YES it negotiates
        // TLS 1.0 to 1.3, and OpenSSL 3's default security level already refuses TLS 1.0/1.1.
        var conf = new StringBuilder()
            .AppendLine("# FtpsMount reference vsftpd (generated per test server instance)")
            .AppendLine("listen=YES")
            .AppendLine("listen_ipv6=NO")
            .AppendLine("listen_address=127.0.0.1")
            .AppendLine(CultureInfo.InvariantCulture, $"listen_port={I(Port)}")
            .AppendLine("background=NO")
            .AppendLine("seccomp_sandbox=NO")
            .AppendLine("isolate=NO")
            .AppendLine("isolate_network=NO")
            .AppendLine(CultureInfo.InvariantCulture, $"secure_chroot_dir={ReferenceServerInstallation.VsftpdSecureChrootDir}")
            .AppendLine(CultureInfo.InvariantCulture, $"pam_service_name={ReferenceServerInstallation.VsftpdPamService}")
            .AppendLine("session_support=NO")
            .AppendLine("tcp_wrappers=NO")
            .AppendLine("anonymous_enable=NO")
            .AppendLine("local_enable=YES")
            .AppendLine("userlist_enable=NO")
            .AppendLine("write_enable=YES")
            .AppendLine("local_umask=022")
            .AppendLine("file_open_mode=0666")
            .AppendLine("chmod_enable=YES")
            .AppendLine("mdtm_write=YES")
            .AppendLine("utf8_filesystem=YES")
            .AppendLine("force_dot_files=YES")
            .AppendLine("hide_ids=NO")
            .AppendLine("delay_failed_login=0")
            .AppendLine("max_clients=0")
            .AppendLine("max_per_ip=0")
            // Jail in the instance root, which the user owns and may write: vsftpd refuses a writable chroot
            // root unless allow_writeable_chroot=YES.
            .AppendLine("chroot_local_user=YES")
            .AppendLine("allow_writeable_chroot=YES")
            .AppendLine(CultureInfo.InvariantCulture, $"local_root={RootDirectory}")
            .AppendLine("pasv_enable=YES")
            .AppendLine(CultureInfo.InvariantCulture, $"pasv_min_port={I(PassivePortFirst)}")
            .AppendLine(CultureInfo.InvariantCulture, $"pasv_max_port={I(PassivePortLast)}")
            .AppendLine("port_enable=YES")
            .AppendLine("connect_from_port_20=NO")
            .AppendLine("ssl_enable=YES")
            .AppendLine(Mode == FtpsMode.Implicit ? "implicit_ssl=YES" : "implicit_ssl=NO")
            .AppendLine(CultureInfo.InvariantCulture, $"rsa_cert_file={CaCertificatePath}")
            .AppendLine(CultureInfo.InvariantCulture, $"rsa_private_key_file={_certificate.KeyPath}")
            .AppendLine("ssl_sslv2=NO")
            .AppendLine("ssl_sslv3=NO")
            .AppendLine("ssl_tlsv1=YES")
            .AppendLine("ssl_ciphers=HIGH")
            .AppendLine("ssl_request_cert=NO")
            .AppendLine("allow_anon_ssl=NO")
            .AppendLine("force_local_logins_ssl=YES")
            .AppendLine("force_local_data_ssl=YES")
            .AppendLine("require_ssl_reuse=YES")
            .AppendLine("debug_ssl=YES")
            .AppendLine("syslog_enable=NO")
            .AppendLine("xferlog_enable=YES")
            .AppendLine("xferlog_std_format=NO")
            .AppendLine("log_ftp_protocol=YES")
            .AppendLine(CultureInfo.InvariantCulture, $"vsftpd_log_file={LogPath}")
            .AppendLine("data_connection_timeout=60")
            .AppendLine("idle_session_timeout=300")
            .AppendLine("accept_timeout=30")
            .AppendLine("connect_timeout=30");
        var path = Path.Combine(InstanceDirectory, "vsftpd.conf");
        File.WriteAllText(path, conf.ToString());
        return new Launch(ReferenceServerInstallation.VsftpdBinary, [path]);
    }

    private Launch ConfigureProftpd()
    {
        var d = InstanceDirectory;
        // No NoSessionReuseRequired: proftpd then refuses data connections that do not resume the control
        // connection's TLS session. TLSRequired on = control and data. mod_ctrls (compiled in) would create
        // one shared socket under /run/proftpd, hence ControlsEngine off; pid, scoreboard and delay table
        // are per instance for the same reason.
        var conf = new StringBuilder()
            .AppendLine("# FtpsMount reference proftpd (generated per test server instance)")
            .AppendLine("ServerName \"FtpsMount test proftpd\"")
            .AppendLine("ServerType standalone")
            .AppendLine("DefaultAddress 127.0.0.1")
            .AppendLine("SocketBindTight on")
            .AppendLine("UseIPv6 off")
            .AppendLine(CultureInfo.InvariantCulture, $"Port {I(Port)}")
            .AppendLine(CultureInfo.InvariantCulture, $"PassivePorts {I(PassivePortFirst)} {I(PassivePortLast)}")
            .AppendLine("User nobody")
            .AppendLine("Group nogroup")
            .AppendLine("Umask 022")
            .AppendLine("MaxInstances 100")
            .AppendLine(CultureInfo.InvariantCulture, $"PidFile {d}/proftpd.pid")
            .AppendLine(CultureInfo.InvariantCulture, $"ScoreboardFile {d}/proftpd.scoreboard")
            .AppendLine("DelayEngine off")
            .AppendLine("DelayTable none")
            .AppendLine("ControlsEngine off")
            .AppendLine("WtmpLog off")
            .AppendLine("UseReverseDNS off")
            .AppendLine(CultureInfo.InvariantCulture, $"SystemLog {LogPath}")
            .AppendLine(CultureInfo.InvariantCulture, $"TransferLog {d}/xfer.log")
            .AppendLine(CultureInfo.InvariantCulture, $"ExtendedLog {d}/commands.log ALL")
            // Log in against /etc/shadow directly (no PAM file needed); the account's shell is valid anyway.
            .AppendLine("AuthOrder mod_auth_unix.c")
            .AppendLine("RequireValidShell off")
            .AppendLine("UseFtpUsers off")
            .AppendLine(CultureInfo.InvariantCulture, $"DefaultRoot {RootDirectory}")
            .AppendLine("AllowOverwrite on")
            .AppendLine("AllowStoreRestart on")
            .AppendLine("AllowRetrieveRestart on")
            .AppendLine("ListOptions \"-A\"") // show dot files (without . and ..), like the other two
            .AppendLine("TimeoutLogin 60")
            .AppendLine("TimeoutIdle 300")
            .AppendLine("TimeoutNoTransfer 300")
            .AppendLine("TimeoutStalled 60")
            .AppendLine(CultureInfo.InvariantCulture, $"ModulePath {ReferenceServerInstallation.ProftpdModulePath}")
            .AppendLine("LoadModule mod_tls.c")
            .AppendLine("LoadModule mod_site_misc.c")
            .AppendLine("TLSEngine on")
            .AppendLine(CultureInfo.InvariantCulture, $"TLSLog {d}/tls.log")
            .AppendLine("TLSProtocol TLSv1.2 TLSv1.3")
            .AppendLine(CultureInfo.InvariantCulture, $"TLSRSACertificateFile {CaCertificatePath}")
            .AppendLine(CultureInfo.InvariantCulture, $"TLSRSACertificateKeyFile {_certificate.KeyPath}")
            .AppendLine("TLSVerifyClient off")
            .AppendLine("TLSRenegotiate none")
            .AppendLine("TLSRequired on");
        if (Mode == FtpsMode.Implicit)
        {
            conf.AppendLine("TLSOptions UseImplicitSSL");
        }

        var path = Path.Combine(d, "proftpd.conf");
        File.WriteAllText(path, conf.ToString());
        // -n: stay in the foreground as our child.
        return new Launch(ReferenceServerInstallation.ProftpdBinary, ["-n", "-c", path]);
    }

    private async Task<Launch> ConfigurePureFtpdAsync(CancellationToken ct)
    {
        // With unix accounts pure-ftpd jails a user in the home directory from /etc/passwd; a per-instance
        // root needs a virtual user instead: a PureDB entry with the test user's name, uid, gid and password
        // and the instance root as home ("/./" marks the chroot point). The hash is SHA-512 crypt from
        // openssl: pure-pw's own argon2id hash (t=1023) makes every login take seconds.
        var d = InstanceDirectory;
        var passwd = Path.Combine(d, "pureftpd.passwd");
        var pdb = Path.Combine(d, "pureftpd.pdb");
        var hash = (await RunToolAsync(ReferenceServerInstallation.OpensslBinary, ["passwd", "-6", "-stdin"], Password + "\n", ct)
            .ConfigureAwait(false)).Trim();
        if (!hash.StartsWith("$6$", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("openssl passwd -6 did not produce a SHA-512 crypt hash");
        }

        var line = string.Join(':',
            User, hash, ReferenceServerInstallation.TestUserId.ToString(CultureInfo.InvariantCulture),
            ReferenceServerInstallation.TestGroupId.ToString(CultureInfo.InvariantCulture), "", RootDirectory + "/./") + new string(':', 12);
        File.WriteAllText(passwd, "");
        LibC.SetMode(passwd, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(passwd, line + "\n");
        await RunToolAsync(ReferenceServerInstallation.PurePwBinary, ["mkdb", pdb, "-f", passwd], null, ct).ConfigureAwait(false);

        // pure-ftpd caps its client count at half the passive range (a 19-port range gives "9 allowed").
        var maxClients = Math.Max(1, PassivePortCount / 2);
        return new Launch(ReferenceServerInstallation.PureFtpdBinary,
        [
            "-S", $"127.0.0.1,{I(Port)}",
            "-4",
            // 3: TLS required on the control and the data connections (2 would allow clear data).
            "-Y", "3",
            "-2", $"{CaCertificatePath},{_certificate.KeyPath}",
            "-l", $"puredb:{pdb}",
            "-E", // no anonymous
            "-A", // chroot everyone
            "-H", // no reverse DNS
            "-D", // list dot files
            "-p", $"{I(PassivePortFirst)}:{I(PassivePortLast)}",
            "-P", "127.0.0.1",
            "-c", I(maxClients),
            "-C", I(maxClients),
            "-I", "5", // idle minutes
            "-U", "133:022",
            "-O", $"clf:{LogPath}",
            "-f", "none", // it logs sessions only to syslog; there is none here
            "-g", Path.Combine(d, "pure-ftpd.pid"),
        ]);
    }

    /// <summary>Runs a helper tool (secrets go through stdin, never the command line); returns its stdout.</summary>
    private static async Task<string> RunToolAsync(string fileName, IReadOnlyList<string> arguments, string? stdin, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin.AsMemory(), ct).ConfigureAwait(false);
        }

        process.StandardInput.Close();
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }

        var output = await stdout.ConfigureAwait(false);
        var errors = await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {arguments[0]} failed with exit code {process.ExitCode}: {errors.Trim()}");
        }

        return output;
    }
}
