using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace FtpsMount.Testing.Scripted;

internal sealed partial class ScriptedSession
{
    private static readonly HashSet<string> AllowedBeforeTls = new(StringComparer.Ordinal)
    {
        "AUTH", "PBSZ", "PROT", "CCC", "FEAT", "QUIT", "NOOP", "SYST", "HELP", "CLNT", "OPTS",
    };

    private static readonly HashSet<string> AllowedBeforeLogin = new(StringComparer.Ordinal)
    {
        "USER", "PASS", "AUTH", "PBSZ", "PROT", "CCC", "FEAT", "OPTS", "SYST", "NOOP", "QUIT", "HELP", "CLNT", "ABOR", "ACCT",
    };

    private static readonly HashSet<string> KnownVerbs = new(StringComparer.Ordinal)
    {
        "AUTH", "PBSZ", "PROT", "CCC", "USER", "PASS", "ACCT", "FEAT", "OPTS", "SYST", "CLNT", "HELP", "NOOP", "QUIT",
        "TYPE", "MODE", "STRU", "ALLO", "PWD", "XPWD", "CWD", "XCWD", "CDUP", "XCUP", "PASV", "EPSV", "PORT", "EPRT",
        "REST", "RETR", "STOR", "APPE", "LIST", "NLST", "MLSD", "MLST", "STAT", "SIZE", "MDTM", "MFMT", "DELE", "MKD",
        "XMKD", "RMD", "XRMD", "RNFR", "RNTO", "SITE", "HASH", "XCRC", "XMD5", "XSHA1", "XSHA256", "AVBL", "ABOR",
    };

    // ---- FTP state (one control connection) ------------------------------------------------------
    internal string Cwd { get; private set; } = "/";
    internal bool ProtectData { get; private set; }
    private string? _pendingUser;
    private bool _pbszDone;
    private bool _binary = true;
    private long _restOffset;
    private string? _renameFrom;
    private bool _epsvAll;
    private bool _abortReplyPending;
    private string? _pendingAborReply;
    private HashSet<string>? _mlstFacts;
    private string _hashAlgorithm = "SHA-256";

    private async Task HandleLineAsync(ControlLine line)
    {
        var text = Decode(line.Bytes);
        if (line.TooLong)
        {
            Server.RecordCommand(Info.Id, "", "", text + "...", Info.IsTls, Info.IsLoggedIn, duringTransfer: false);
            await ReplyAsync(500, "Command line too long.").ConfigureAwait(false);
            return;
        }

        var (verb, argument) = Split(text);
        Server.RecordCommand(Info.Id, verb, argument, text, Info.IsTls, Info.IsLoggedIn, duringTransfer: false);

        if (Server.ShouldDropControl(verb))
        {
            Close(Options.DropControlWithReset);
            return;
        }

        if (_abortReplyPending)
        {
            _abortReplyPending = false;
            if (verb == "ABOR")
            {
                if (_pendingAborReply is { } reply)
                {
                    await SendLineAsync(reply).ConfigureAwait(false);
                }

                return;
            }
        }

        try
        {
            foreach (var key in new[] { ScriptedFtpServer.AnyVerb, verb })
            {
                if (Server.FindOverride(key) is { } handler
                    && await handler(new ScriptedCommandContext(this, verb, argument, text)).ConfigureAwait(false))
                {
                    return;
                }

                if (_closed)
                {
                    return;
                }
            }

            await DefaultAsync(verb, argument, text).ConfigureAwait(false);
        }
        catch (Exception ex) when (!IsConnectionError(ex))
        {
            Server.RecordError(ex, $"handling '{verb}' on #{Info.Id}");
            Close(reset: false);
        }
    }

    /// <summary>The server's own handling of a command.</summary>
    internal async Task DefaultAsync(string verb, string arg, string line)
    {
        if (verb == ScriptedFtpServer.GreetingVerb)
        {
            await SendGreetingAsync().ConfigureAwait(false);
            return;
        }

        if (!KnownVerbs.Contains(verb))
        {
            await ReplyAsync(500, "Unknown command.").ConfigureAwait(false);
            return;
        }

        if (Options.DisabledCommands.Contains(verb))
        {
            await ReplyAsync(502, $"{verb} not implemented.").ConfigureAwait(false);
            return;
        }

        if (!Info.TlsNegotiated && !Options.AllowPlaintext && !AllowedBeforeTls.Contains(verb))
        {
            await ReplyAsync(530, verb == "USER" ? "Non-anonymous sessions must use encryption." : "Please use AUTH TLS first.")
                .ConfigureAwait(false);
            return;
        }

        if (!Info.IsLoggedIn && !AllowedBeforeLogin.Contains(verb))
        {
            await ReplyAsync(530, "Please login with USER and PASS.").ConfigureAwait(false);
            return;
        }

        switch (verb)
        {
            case "AUTH": await AuthAsync(arg).ConfigureAwait(false); break;
            case "PBSZ": await PbszAsync(arg).ConfigureAwait(false); break;
            case "PROT": await ProtAsync(arg).ConfigureAwait(false); break;
            case "CCC": await CccAsync().ConfigureAwait(false); break;
            case "USER": await UserAsync(arg).ConfigureAwait(false); break;
            case "PASS": await PassAsync(arg).ConfigureAwait(false); break;
            case "ACCT": await ReplyAsync(202, "ACCT not needed.").ConfigureAwait(false); break;
            case "FEAT": await FeatAsync().ConfigureAwait(false); break;
            case "OPTS": await OptsAsync(arg).ConfigureAwait(false); break;
            case "SYST": await ReplyAsync(215, Options.SystemType ?? (Options.ListingStyle == ScriptedListingStyle.Dos ? "Windows_NT" : "UNIX Type: L8")).ConfigureAwait(false); break;
            case "CLNT": await ReplyAsync(200, "Noted.").ConfigureAwait(false); break;
            case "HELP": await ReplyLinesAsync(214, ["The following commands are recognized.", " ABOR ACCT ALLO APPE AUTH CCC CDUP CWD DELE EPRT EPSV FEAT LIST MDTM MFMT MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT PWD QUIT REST RETR RMD RNFR RNTO SITE SIZE STAT STOR STRU SYST TYPE USER", "Help OK."]).ConfigureAwait(false); break;
            case "NOOP": await ReplyAsync(200, "NOOP ok.").ConfigureAwait(false); break;
            case "QUIT":
                await ReplyAsync(221, "Goodbye.").ConfigureAwait(false);
                Close(reset: false);
                break;
            case "TYPE": await TypeAsync(arg).ConfigureAwait(false); break;
            case "MODE":
                await (arg.Equals("S", StringComparison.OrdinalIgnoreCase)
                    ? ReplyAsync(200, "Mode set to S.")
                    : ReplyAsync(504, "Bad MODE command.")).ConfigureAwait(false);
                break;
            case "STRU":
                await (arg.Equals("F", StringComparison.OrdinalIgnoreCase)
                    ? ReplyAsync(200, "Structure set to F.")
                    : ReplyAsync(504, "Bad STRU command.")).ConfigureAwait(false);
                break;
            case "ALLO": await ReplyAsync(202, "ALLO command ignored.").ConfigureAwait(false); break;
            case "PWD" or "XPWD": await ReplyAsync(257, $"{Quote(Cwd)} is the current directory").ConfigureAwait(false); break;
            case "CWD" or "XCWD": await CwdAsync(arg).ConfigureAwait(false); break;
            case "CDUP" or "XCUP": await CwdAsync("..").ConfigureAwait(false); break;
            case "PASV": await PassiveAsync(extended: false, arg).ConfigureAwait(false); break;
            case "EPSV": await PassiveAsync(extended: true, arg).ConfigureAwait(false); break;
            case "PORT": await ActiveAsync(arg, extended: false).ConfigureAwait(false); break;
            case "EPRT": await ActiveAsync(arg, extended: true).ConfigureAwait(false); break;
            case "REST": await RestAsync(arg).ConfigureAwait(false); break;
            case "RETR": await RetrAsync(arg, line).ConfigureAwait(false); break;
            case "STOR": await StoreAsync(arg, line, append: false).ConfigureAwait(false); break;
            case "APPE": await StoreAsync(arg, line, append: true).ConfigureAwait(false); break;
            case "LIST" or "NLST" or "MLSD": await ListAsync(verb, arg, line).ConfigureAwait(false); break;
            case "MLST": await MlstAsync(arg).ConfigureAwait(false); break;
            case "STAT": await StatAsync(arg).ConfigureAwait(false); break;
            case "SIZE": await SizeAsync(arg).ConfigureAwait(false); break;
            case "MDTM": await MdtmAsync(arg).ConfigureAwait(false); break;
            case "MFMT": await MfmtAsync(arg).ConfigureAwait(false); break;
            case "DELE": await DeleAsync(arg).ConfigureAwait(false); break;
            case "MKD" or "XMKD": await MkdAsync(arg).ConfigureAwait(false); break;
            case "RMD" or "XRMD": await RmdAsync(arg).ConfigureAwait(false); break;
            case "RNFR": await RnfrAsync(arg).ConfigureAwait(false); break;
            case "RNTO": await RntoAsync(arg).ConfigureAwait(false); break;
            case "SITE": await SiteAsync(arg).ConfigureAwait(false); break;
            case "HASH" or "XCRC" or "XMD5" or "XSHA1" or "XSHA256": await HashAsync(verb, arg).ConfigureAwait(false); break;
            case "AVBL":
                await (Options.AvailableBytes is { } avbl
                    ? ReplyAsync(213, avbl.ToString(CultureInfo.InvariantCulture))
                    : ReplyAsync(502, "AVBL not implemented.")).ConfigureAwait(false);
                break;
            case "ABOR":
                ResetDataSetup();
                await ReplyAsync(225, "No transfer to ABOR.").ConfigureAwait(false);
                break;
            default:
                await ReplyAsync(500, "Unknown command.").ConfigureAwait(false);
                break;
        }
    }

    private static string Quote(string path) => "\"" + path.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private string Resolve(string arg) => ScriptedFileSystem.Combine(Cwd, arg.Length == 0 ? "." : arg);

    private ScriptedFileSystem Fs => Server.FileSystem;

    // ---- security and login ---------------------------------------------------------------------

    private async Task AuthAsync(string arg)
    {
        var mech = arg.Trim().ToUpperInvariant();
        if (Info.IsTls)
        {
            await ReplyAsync(503, "Already using TLS.").ConfigureAwait(false);
            return;
        }

        if (Info.TlsNegotiated)
        {
            await ReplyAsync(534, "Will not renegotiate after CCC.").ConfigureAwait(false);
            return;
        }

        var accepted = mech switch
        {
            "TLS" or "TLS-C" => Options.AcceptedAuth.HasFlag(ScriptedAuthMechanisms.Tls),
            "SSL" or "TLS-P" => Options.AcceptedAuth.HasFlag(ScriptedAuthMechanisms.Ssl),
            _ => false,
        };
        if (!accepted)
        {
            await ReplyAsync(504, "Unknown AUTH type.").ConfigureAwait(false);
            return;
        }

        await ReplyAsync(234, $"Proceed with negotiation ({mech}).").ConfigureAwait(false);
        if (await StartTlsAsync().ConfigureAwait(false) && mech is "SSL" or "TLS-P")
        {
            // Historic meaning of AUTH SSL: data protected without PROT P.
            ProtectData = true;
        }
    }

    private async Task PbszAsync(string arg)
    {
        if (!Info.TlsNegotiated)
        {
            await ReplyAsync(503, "PBSZ needs a secure control connection.").ConfigureAwait(false);
            return;
        }

        _pbszDone = true;
        await ReplyAsync(200, arg.Trim() == "0" ? "PBSZ=0" : "PBSZ=0 (only 0 is meaningful for TLS)").ConfigureAwait(false);
    }

    private async Task ProtAsync(string arg)
    {
        if (!Info.TlsNegotiated)
        {
            await ReplyAsync(503, "PROT needs a secure control connection.").ConfigureAwait(false);
            return;
        }

        if (Options.RequirePbszBeforeProt && !_pbszDone)
        {
            await ReplyAsync(503, "PROT needs PBSZ first.").ConfigureAwait(false);
            return;
        }

        switch (arg.Trim().ToUpperInvariant())
        {
            case "P":
                ProtectData = true;
                await ReplyAsync(200, "PROT now Private.").ConfigureAwait(false);
                break;
            case "C":
                if (Options.RequireProtectedData)
                {
                    await ReplyAsync(534, "PROT C not allowed: data connections must be encrypted.").ConfigureAwait(false);
                    return;
                }

                ProtectData = false;
                await ReplyAsync(200, "PROT now Clear.").ConfigureAwait(false);
                break;
            case "S" or "E":
                await ReplyAsync(536, "PROT level not supported.").ConfigureAwait(false);
                break;
            default:
                await ReplyAsync(504, "Unknown PROT level.").ConfigureAwait(false);
                break;
        }
    }

    private async Task CccAsync()
    {
        if (!Info.IsTls)
        {
            await ReplyAsync(533, "Command channel is not protected.").ConfigureAwait(false);
            return;
        }

        if (!Options.AllowCcc || Options.Security == ScriptedSecurity.Implicit)
        {
            await ReplyAsync(534, "CCC denied by policy.").ConfigureAwait(false);
            return;
        }

        await ReplyAsync(200, "CCC command successful; control channel in clear text.").ConfigureAwait(false);
        await StopTlsAsync().ConfigureAwait(false);
    }

    private async Task UserAsync(string arg)
    {
        Info.IsLoggedIn = false;
        Info.UserName = null;
        _pendingUser = arg;
        if (Options.AllowAnonymous && arg is "anonymous" or "ftp")
        {
            await ReplyAsync(331, "Anonymous login ok, send your e-mail address as password.").ConfigureAwait(false);
            return;
        }

        await ReplyAsync(331, "Please specify the password.").ConfigureAwait(false);
    }

    private async Task PassAsync(string arg)
    {
        if (_pendingUser is null)
        {
            await ReplyAsync(503, "Login with USER first.").ConfigureAwait(false);
            return;
        }

        var user = _pendingUser;
        _pendingUser = null;
        var ok = (Options.AllowAnonymous && user is "anonymous" or "ftp")
            || (Options.Users.TryGetValue(user, out var password) && password == arg);
        if (!ok)
        {
            await ReplyAsync(530, "Login incorrect.").ConfigureAwait(false);
            return;
        }

        Info.UserName = user;
        Info.IsLoggedIn = true;
        Cwd = "/";
        Server.Pulse();
        await ReplyAsync(230, "Login successful.").ConfigureAwait(false);
    }

    // ---- informational --------------------------------------------------------------------------

    private Task FeatAsync()
    {
        var features = Options.Features;
        if (features.Count == 0)
        {
            return ReplyAsync(211, "No features.");
        }

        var lines = new List<string> { "Features:" };
        lines.AddRange(features.Select(f => " " + f));
        lines.Add("End");
        return ReplyLinesAsync(211, lines);
    }

    private async Task OptsAsync(string arg)
    {
        var (option, value) = Split(arg);
        switch (option)
        {
            case "UTF8" or "UTF-8":
                await (Options.ControlEncoding.CodePage == 65001
                    ? ReplyAsync(200, "Always in UTF8 mode.")
                    : ReplyAsync(501, "UTF8 not supported.")).ConfigureAwait(false);
                break;
            case "MLST":
                _mlstFacts = new HashSet<string>(value.Split(';', StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase);
                await ReplyAsync(200, $"MLST OPTS {string.Concat(_mlstFacts.Select(f => f + ";"))}").ConfigureAwait(false);
                break;
            case "HASH" when Options.EnableHashCommands:
                if (value.Length == 0)
                {
                    await ReplyAsync(200, _hashAlgorithm).ConfigureAwait(false);
                }
                else if (value.ToUpperInvariant() is "SHA-1" or "SHA-256" or "SHA-512" or "MD5" or "CRC32")
                {
                    _hashAlgorithm = value.ToUpperInvariant();
                    await ReplyAsync(200, _hashAlgorithm).ConfigureAwait(false);
                }
                else
                {
                    await ReplyAsync(501, "Unknown algorithm.").ConfigureAwait(false);
                }

                break;
            default:
                await ReplyAsync(501, "Option not understood.").ConfigureAwait(false);
                break;
        }
    }

    private async Task TypeAsync(string arg)
    {
        var t = arg.Trim().ToUpperInvariant();
        if (t is "I" or "L 8" or "L8")
        {
            _binary = true;
            await ReplyAsync(200, "Switching to Binary mode.").ConfigureAwait(false);
        }
        else if (t is "A" or "A N")
        {
            _binary = false;
            await ReplyAsync(200, "Switching to ASCII mode.").ConfigureAwait(false);
        }
        else
        {
            await ReplyAsync(504, "Unrecognised TYPE command.").ConfigureAwait(false);
        }
    }

    private async Task StatAsync(string arg)
    {
        if (arg.Length == 0)
        {
            await ReplyLinesAsync(211, ["FTP server status:", $" Connected to {Info.RemoteEndPoint}", $" Logged in as {Info.UserName}", "End of status"]).ConfigureAwait(false);
            return;
        }

        var lines = ListingLines("LIST", Resolve(StripListOptions(arg)));
        if (lines is null)
        {
            await ReplyAsync(550, "No such file or directory.").ConfigureAwait(false);
            return;
        }

        var reply = new List<string> { "Status follows:" };
        reply.AddRange(lines.Select(l => " " + l));
        reply.Add("End of status");
        await ReplyLinesAsync(213, reply).ConfigureAwait(false);
    }

    // ---- navigation and file system commands ----------------------------------------------------

    private async Task CwdAsync(string arg)
    {
        var target = Resolve(arg);
        if (!Fs.DirectoryExists(target))
        {
            await ReplyAsync(550, "Failed to change directory.").ConfigureAwait(false);
            return;
        }

        Cwd = target;
        await ReplyAsync(250, "Directory successfully changed.").ConfigureAwait(false);
    }

    private async Task SizeAsync(string arg)
    {
        var entry = Fs.GetEntry(Resolve(arg));
        await (entry is { IsDirectory: false }
            ? ReplyAsync(213, entry.Size.ToString(CultureInfo.InvariantCulture))
            : ReplyAsync(550, "Could not get file size.")).ConfigureAwait(false);
    }

    private static bool TryParseTimestamp(string s, out DateTimeOffset value)
    {
        var formats = new[] { "yyyyMMddHHmmss", "yyyyMMddHHmmss.f", "yyyyMMddHHmmss.ff", "yyyyMMddHHmmss.fff" };
        return DateTimeOffset.TryParseExact(s, formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    internal static string FormatTimestamp(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    private async Task MdtmAsync(string arg)
    {
        var path = Resolve(arg);
        var entry = Fs.GetEntry(path);

        // vsftpd's set form: "MDTM YYYYMMDDHHMMSS path" (only when the whole argument is not itself a file).
        if (entry is null && arg.Length > 15 && arg[14] == ' ' && TryParseTimestamp(arg[..14], out var stamp))
        {
            var target = Resolve(arg[15..]);
            if (Fs.TrySetModified(target, stamp) == ScriptedFileSystem.Result.Ok)
            {
                await ReplyAsync(213, "File modification time set.").ConfigureAwait(false);
            }
            else
            {
                await ReplyAsync(550, "Could not set file modification time.").ConfigureAwait(false);
            }

            return;
        }

        await (entry is { IsDirectory: false }
            ? ReplyAsync(213, FormatTimestamp(entry.Modified))
            : ReplyAsync(550, "Could not get file modification time.")).ConfigureAwait(false);
    }

    private async Task MfmtAsync(string arg)
    {
        var sp = arg.IndexOf(' ', StringComparison.Ordinal);
        if (sp < 0 || !TryParseTimestamp(arg[..sp], out var stamp))
        {
            await ReplyAsync(501, "Syntax: MFMT YYYYMMDDHHMMSS path").ConfigureAwait(false);
            return;
        }

        var path = arg[(sp + 1)..];
        if (Fs.TrySetModified(Resolve(path), stamp) != ScriptedFileSystem.Result.Ok)
        {
            await ReplyAsync(550, "No such file or directory.").ConfigureAwait(false);
            return;
        }

        await ReplyAsync(213, $"Modify={FormatTimestamp(stamp)}; {path}").ConfigureAwait(false);
    }

    private async Task DeleAsync(string arg)
    {
        var r = Fs.DeleteFile(Resolve(arg));
        await (r == ScriptedFileSystem.Result.Ok
            ? ReplyAsync(250, "Delete operation successful.")
            : ReplyAsync(550, "Delete operation failed.")).ConfigureAwait(false);
    }

    private async Task MkdAsync(string arg)
    {
        var path = Resolve(arg);
        var r = Fs.MakeDirectory(path);
        await (r == ScriptedFileSystem.Result.Ok
            ? ReplyAsync(257, $"{Quote(path)} created")
            : ReplyAsync(550, "Create directory operation failed.")).ConfigureAwait(false);
    }

    private async Task RmdAsync(string arg)
    {
        var path = Resolve(arg);
        if (path == Cwd || Cwd.StartsWith(path + "/", StringComparison.Ordinal))
        {
            await ReplyAsync(550, "Remove directory operation failed (in use).").ConfigureAwait(false);
            return;
        }

        var r = Fs.RemoveDirectory(path);
        await (r == ScriptedFileSystem.Result.Ok
            ? ReplyAsync(250, "Remove directory operation successful.")
            : ReplyAsync(550, "Remove directory operation failed.")).ConfigureAwait(false);
    }

    private async Task RnfrAsync(string arg)
    {
        var path = Resolve(arg);
        if (!Fs.Exists(path))
        {
            _renameFrom = null;
            await ReplyAsync(550, "RNFR command failed.").ConfigureAwait(false);
            return;
        }

        _renameFrom = path;
        await ReplyAsync(350, "Ready for RNTO.").ConfigureAwait(false);
    }

    private async Task RntoAsync(string arg)
    {
        if (_renameFrom is null)
        {
            await ReplyAsync(503, "RNFR required first.").ConfigureAwait(false);
            return;
        }

        var from = _renameFrom;
        _renameFrom = null;
        var r = Fs.Rename(from, Resolve(arg), Options.RenameOverwrites);
        await (r == ScriptedFileSystem.Result.Ok
            ? ReplyAsync(250, "Rename successful.")
            : ReplyAsync(553, "Rename failed.")).ConfigureAwait(false);
    }

    private async Task SiteAsync(string arg)
    {
        var (sub, rest) = Split(arg);
        if (sub != "CHMOD")
        {
            await ReplyAsync(500, "Unknown SITE command.").ConfigureAwait(false);
            return;
        }

        var (modeText, path) = Split(rest);
        int mode;
        try
        {
            mode = Convert.ToInt32(modeText, 8);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
        {
            mode = -1;
        }

        if (mode is < 0 or > 0xFFF || path.Length == 0)
        {
            await ReplyAsync(501, "SITE CHMOD needs a mode and a path.").ConfigureAwait(false);
            return;
        }

        var r = Fs.SetMode(Resolve(path), mode);
        await (r == ScriptedFileSystem.Result.Ok
            ? ReplyAsync(200, "SITE CHMOD command ok.")
            : ReplyAsync(550, "SITE CHMOD command failed.")).ConfigureAwait(false);
    }

    private async Task HashAsync(string verb, string arg)
    {
        if (!Options.EnableHashCommands)
        {
            await ReplyAsync(502, $"{verb} not implemented.").ConfigureAwait(false);
            return;
        }

        // XCRC/XMD5 may carry "path start end"; only the plain path form is supported.
        var data = Fs.TryReadFile(Resolve(arg.Trim('"')));
        if (data is null)
        {
            await ReplyAsync(550, "File not found.").ConfigureAwait(false);
            return;
        }

        switch (verb)
        {
            case "XCRC":
                await ReplyAsync(250, Crc32(data).ToString("X8", CultureInfo.InvariantCulture)).ConfigureAwait(false);
                break;
            case "XMD5":
#pragma warning disable CA5351 // XMD5 is MD5 by definition; test server only
                await ReplyAsync(250, Convert.ToHexString(MD5.HashData(data))).ConfigureAwait(false);
#pragma warning restore CA5351
                break;
            case "XSHA1":
#pragma warning disable CA5350 // XSHA1 is SHA-1 by definition; test server only
                await ReplyAsync(250, Convert.ToHexString(SHA1.HashData(data))).ConfigureAwait(false);
#pragma warning restore CA5350
                break;
            case "XSHA256":
                await ReplyAsync(250, Convert.ToHexString(SHA256.HashData(data))).ConfigureAwait(false);
                break;
            default:
#pragma warning disable CA5350, CA5351 // negotiated algorithms; test server only
                var hex = _hashAlgorithm switch
                {
                    "SHA-1" => Convert.ToHexStringLower(SHA1.HashData(data)),
                    "SHA-512" => Convert.ToHexStringLower(SHA512.HashData(data)),
                    "MD5" => Convert.ToHexStringLower(MD5.HashData(data)),
                    "CRC32" => Crc32(data).ToString("x8", CultureInfo.InvariantCulture),
                    _ => Convert.ToHexStringLower(SHA256.HashData(data)),
                };
#pragma warning restore CA5350, CA5351
                var end = Math.Max(0, data.Length - 1);
                await ReplyAsync(213, $"{_hashAlgorithm} 0-{end} {hex} {arg}").ConfigureAwait(false);
                break;
        }
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    // ---- data connection setup ------------------------------------------------------------------

    private Socket? _passiveListener;
    private IPEndPoint? _activeTarget;

    internal bool HasDataSetup => _passiveListener is not null || _activeTarget is not null;

    private void ResetDataSetup()
    {
        var l = _passiveListener;
        _passiveListener = null;
        _activeTarget = null;
        l?.Dispose();
    }

    private async Task PassiveAsync(bool extended, string arg)
    {
        if (extended)
        {
            if (Options.DisableEpsv)
            {
                await ReplyAsync(500, "'EPSV': command not understood.").ConfigureAwait(false);
                return;
            }

            var a = arg.Trim();
            if (a.Equals("ALL", StringComparison.OrdinalIgnoreCase))
            {
                _epsvAll = true;
                await ReplyAsync(200, "EPSV ALL ok.").ConfigureAwait(false);
                return;
            }

            if (a.Length > 0 && a != "1")
            {
                await ReplyAsync(522, "Network protocol not supported, use (1)").ConfigureAwait(false);
                return;
            }
        }
        else if (_epsvAll)
        {
            await ReplyAsync(503, "PASV not allowed after EPSV ALL.").ConfigureAwait(false);
            return;
        }

        ResetDataSetup();
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _passiveListener = listener;
        var realPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var ov = Options.PasvAddressOverride;
        var port = ov is { Port: > 0 } ? ov.Port : realPort;
        if (extended)
        {
            await ReplyAsync(229, $"Entering Extended Passive Mode (|||{port}|)").ConfigureAwait(false);
            return;
        }

        var address = ov?.Address ?? IPAddress.Loopback;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var b = address.AddressFamily == AddressFamily.InterNetwork ? address.GetAddressBytes() : [0, 0, 0, 0];
        await ReplyAsync(227, $"Entering Passive Mode ({b[0]},{b[1]},{b[2]},{b[3]},{port >> 8},{port & 0xFF}).").ConfigureAwait(false);
    }

    private async Task ActiveAsync(string arg, bool extended)
    {
        if (!Options.AllowActiveMode)
        {
            await ReplyAsync(502, "Active mode is disabled.").ConfigureAwait(false);
            return;
        }

        if (_epsvAll)
        {
            await ReplyAsync(503, "PORT/EPRT not allowed after EPSV ALL.").ConfigureAwait(false);
            return;
        }

        var endPoint = extended ? ParseEprt(arg) : ParsePort(arg);
        if (endPoint is null)
        {
            await ReplyAsync(501, "Syntax error in parameters or arguments.").ConfigureAwait(false);
            return;
        }

        if (!IPAddress.IsLoopback(endPoint.Address))
        {
            await ReplyAsync(500, $"Illegal {(extended ? "EPRT" : "PORT")} command (only loopback addresses).").ConfigureAwait(false);
            return;
        }

        ResetDataSetup();
        _activeTarget = endPoint;
        await ReplyAsync(200, $"{(extended ? "EPRT" : "PORT")} command successful.").ConfigureAwait(false);
    }

    private static IPEndPoint? ParsePort(string arg)
    {
        var parts = arg.Trim().Split(',');
        if (parts.Length != 6)
        {
            return null;
        }

        var n = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            if (!byte.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out n[i]))
            {
                return null;
            }
        }

        var port = (n[4] << 8) | n[5];
        return port == 0 ? null : new IPEndPoint(new IPAddress(n.AsSpan(0, 4)), port);
    }

    private static IPEndPoint? ParseEprt(string arg)
    {
        var a = arg.Trim();
        if (a.Length < 7)
        {
            return null;
        }

        var parts = a.Split(a[0]);
        if (parts.Length != 5 || parts[1] is not ("1" or "2")
            || !IPAddress.TryParse(parts[2], out var address)
            || !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is <= 0 or > 65535)
        {
            return null;
        }

        var family = parts[1] == "1" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        return address.AddressFamily == family ? new IPEndPoint(address, port) : null;
    }

    private async Task RestAsync(string arg)
    {
        if (!long.TryParse(arg.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            await ReplyAsync(501, "REST needs a non-negative number.").ConfigureAwait(false);
            return;
        }

        _restOffset = offset;
        await ReplyAsync(350, $"Restart position accepted ({offset}).").ConfigureAwait(false);
    }

    private static string StripListOptions(string arg)
    {
        var a = arg;
        while (a.StartsWith('-'))
        {
            var sp = a.IndexOf(' ', StringComparison.Ordinal);
            var token = sp < 0 ? a : a[..sp];
            if (token.Length < 2 || !token.Skip(1).All(char.IsAsciiLetter))
            {
                break;
            }

            a = sp < 0 ? "" : a[(sp + 1)..].TrimStart(' ');
        }

        return a;
    }
}
