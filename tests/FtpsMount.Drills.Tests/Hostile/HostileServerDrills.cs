using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.Scripted;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Hostile;

/// <summary>
/// Hostile input through the whole Core (what a mount serves): listings whose names try to escape ("../x", "/etc/passwd",
/// "a/b", "..", NUL, CR, LF, terminal escapes), absurd sizes and dates, in MLSD and in LIST form; and names from the user
/// with CR, LF, NUL or over 255 bytes, which must be refused before anything reaches the wire. Reply-level abuse (1 MB
/// line, invalid codes, garbage, truncated and endless multi-line replies, PASV/EPSV to another host or a privileged
/// port, a server that stops answering, 421 at the greeting) is covered session by session in
/// Protocol.Tests/Session/ScriptedSessionTests and by the fuzz tests (Protocol.Tests/Fuzz); these drills add the
/// filesystem view on top.
/// </summary>
[Collection(DrillCollection.Name)]
public sealed class HostileServerDrills(ITestOutputHelper output)
{
    private static readonly string[] HostileUnixLines =
    [
        "-rw-r--r--    1 ftp ftp          5 Jan 01 12:00 good.txt",
        "-rw-r--r--    1 ftp ftp          5 Jan 01 12:00 ../escape.txt",
        "-rw-r--r--    1 ftp ftp          5 Jan 01 12:00 /etc/passwd",
        "-rw-r--r--    1 ftp ftp          5 Jan 01 12:00 a/b",
        "drwxr-xr-x    1 ftp ftp          0 Jan 01 12:00 ..",
        "-rw-r--r--    1 ftp ftp          5 Jan 01 12:00 nul\0name",
        "-rw-r--r--    1 ftp ftp          5 Jan 01 12:00 esc\u001b[2Jname",
        "-rw-r--r--    1 ftp ftp 99999999999999999999999 Jan 01 12:00 huge.bin",
        "-rw-r--r--    1 ftp ftp          5 Feb 31 99:99 baddate.txt",
        "garbage line without structure",
        "-rw-r--r--    1 ftp ftp          5 Jan 01 12:00 " + new string('x', 300),
    ];

    private static readonly string[] HostileMlsdLines =
    [
        "type=file;size=5;modify=20260101120000; good.txt",
        "type=file;size=5;modify=20260101120000; ../escape.txt",
        "type=file;size=5;modify=20260101120000; /etc/passwd",
        "type=dir;modify=20260101120000; a/b",
        "type=dir;modify=20260101120000; ..",
        "type=file;size=5;modify=20260101120000; nul\0name",
        "type=file;size=-5;modify=20260101120000; negative.bin",
        "type=file;size=99999999999999999999999;modify=20260101120000; huge.bin",
        "type=file;size=5;modify=99991399999999; baddate.txt",
        "type=file;size=5;modify=20260101120000; " + new string('y', 300),
    ];

    private static FtpsOptions Options(ScriptedFtpServer server) => new()
    {
        Host = server.Host,
        Port = server.Port,
        Tls = new TlsOptions { Trust = new TrustOptions { UseSystemStore = false, PinnedFingerprints = [server.CertificateFingerprint] } },
        Timeouts = new TimeoutOptions { Connect = TimeSpan.FromSeconds(10), Command = TimeSpan.FromSeconds(10), DataIdle = TimeSpan.FromSeconds(10) },
    };

    [Theory]
    [InlineData("MLSD")]
    [InlineData("LIST")]
    public async Task Hostile_listing_names_sizes_and_dates_become_safe_entries_or_are_dropped(string style)
    {
        var mlsd = style == "MLSD";
        var serverOptions = new ScriptedServerOptions
        {
            ListingStyle = ScriptedListingStyle.Custom,
            CustomListing = _ => mlsd ? HostileMlsdLines : HostileUnixLines,
        };
        if (!mlsd)
        {
            serverOptions.Features = [.. ScriptedServerOptions.DefaultFeatures.Where(f => !f.StartsWith("MLST", StringComparison.Ordinal))];
            serverOptions.DisabledCommands.Add("MLSD");
            serverOptions.DisabledCommands.Add("MLST");
        }

        await using var server = await ScriptedFtpServer.StartAsync(serverOptions);
        server.FileSystem.AddDirectory("/d");
        await using var fs = new RemoteFileSystem(Options(server), new FtpCredentials(ScriptedServerOptions.DefaultUser, ScriptedServerOptions.DefaultPassword), new CoreOptions());
        var entries = await fs.ReadDirectoryAsync("/d", CancellationToken.None);
        output.WriteLine($"{style}: {string.Join(" | ", entries.Select(e => $"{e.Name.Replace("\u001b", "\\e", StringComparison.Ordinal)} ({e.Size})"))}");
        Assert.Contains(entries, e => e.Name == "good.txt");
        foreach (var e in entries)
        {
            Assert.False(e.Name is "" or "." or "..", $"unsafe name {e.Name}");
            Assert.DoesNotContain('/', e.Name);
            Assert.DoesNotContain('\0', e.Name);
            Assert.DoesNotContain('\r', e.Name);
            Assert.DoesNotContain('\n', e.Name);
            Assert.True(e.Size >= 0, $"{e.Name}: size {e.Size}");
            Assert.True(System.Text.Encoding.UTF8.GetByteCount(e.Name) <= RemoteFileSystem.MaxNameLength, $"a {e.Name.Length}-character name was served");
        }

        Assert.DoesNotContain(entries, e => e.Name.Contains("passwd", StringComparison.Ordinal) || e.Name.Contains("escape", StringComparison.Ordinal));
        output.WriteLine($"FIGURE hostile {style} listing: {(mlsd ? HostileMlsdLines : HostileUnixLines).Length} hostile lines, {entries.Count} safe entries served, 0 escapes");
    }

    [Fact]
    public async Task Names_with_CR_LF_NUL_or_over_255_bytes_are_refused_before_the_wire()
    {
        await using var server = await ScriptedFtpServer.StartAsync();
        server.FileSystem.AddDirectory("/d");
        await using var fs = new RemoteFileSystem(Options(server), new FtpCredentials(ScriptedServerOptions.DefaultUser, ScriptedServerOptions.DefaultPassword), new CoreOptions());
        await fs.ReadDirectoryAsync("/d", CancellationToken.None); // logged in, so the session exists
        var before = server.ReceivedCommands.Count;
        var bad = new[] { "/d/a\r\nDELE x", "/d/a\nb", "/d/a\rb", "/d/a\0b", "/d/" + new string('n', 256), "/d/" + new string('é', 128) };
        var refused = 0;
        foreach (var name in bad)
        {
            foreach (var attempt in new Func<Task>[]
                     {
                         () => fs.CreateAsync(name, 0x1a4, exclusive: true, CancellationToken.None),
                         () => fs.MakeDirectoryAsync(name, 0x1ed, CancellationToken.None),
                         () => fs.RenameAsync("/d", name, noReplace: false, CancellationToken.None),
                         () => fs.DeleteFileAsync(name, CancellationToken.None),
                         () => fs.GetAttributesAsync(name, CancellationToken.None),
                     })
            {
                var error = await Assert.ThrowsAsync<FsException>(attempt);
                Assert.True(error.Error is FsError.InvalidName or FsError.NameTooLong, $"{error.Error}: {error.Message}");
                refused++;
            }
        }

        var sent = server.ReceivedCommands.Skip(before).Select(c => c.Line).ToList();
        Assert.Empty(sent);
        output.WriteLine($"FIGURE hostile user names: {refused} operations with CR/LF/NUL/over-long names refused (EINVAL/ENAMETOOLONG), 0 commands reached the server");
    }
}
