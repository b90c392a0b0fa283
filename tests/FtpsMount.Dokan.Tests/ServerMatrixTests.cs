using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using static FtpsMount.Dokan.Native.NtStatus;
using static FtpsMount.Dokan.Native.WinConst;
using static FtpsMount.Dokan.Tests.DokanDriverSimulator;

namespace FtpsMount.Dokan.Tests;

/// <summary>One Explorer-like session through the simulated driver against each reference server: make a folder, save
/// a file (new, then replaced with CREATE_ALWAYS), append, read back, search with a pattern, rename over an existing
/// file, delete, remove the folder; every step checked on the server's disk.</summary>
[Collection(DokanSimulationCollection.Name)]
public sealed class ServerMatrixTests
{
    [Theory]
    [InlineData(ReferenceServerKind.Vsftpd)]
    [InlineData(ReferenceServerKind.Proftpd)]
    [InlineData(ReferenceServerKind.PureFtpd)]
    public async Task An_explorer_session_works_against(ReferenceServerKind kind)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(kind, FtpsMode.Explicit, timeout.Token);
        await using var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, new CoreOptions());
        var host = new RecordingHost();
        var adapter = new DokanAdapter(fs, new DokanMountOptions(), host);
        using var d = new DokanDriverSimulator(adapter);
        string Local(string p) => server.GetLocalPath(p.Replace('\\', '/'));

        d.MakeDirectory(@"\Docs");
        d.WriteWholeFile(@"\Docs\Report.txt", "draft");
        d.WriteWholeFile(@"\Docs\report.TXT", "final"); // same file, other case: replaced, not duplicated
        Assert.Equal("final", File.ReadAllText(Local("/Docs/Report.txt")));
        Assert.Single(Directory.GetFiles(Local("/Docs")));

        Assert.Equal(STATUS_SUCCESS, d.Create(@"\Docs\Report.txt", FILE_APPEND_DATA, FILE_OPEN, 0, out var append));
        Assert.Equal(STATUS_SUCCESS, d.Write(append, 0, " v2"u8.ToArray(), out _, writeToEnd: true));
        d.Close(append);
        Assert.Equal("final v2", d.ReadWholeFile(@"\DOCS\REPORT.TXT"));
        Assert.Equal("final v2", File.ReadAllText(Local("/Docs/Report.txt")));

        d.WriteWholeFile(@"\Docs\old.txt", "old");
        Assert.Equal(STATUS_SUCCESS, d.Create(@"\Docs", GenericRead, FILE_OPEN, FILE_DIRECTORY_FILE, out var docs));
        Assert.Equal(STATUS_SUCCESS, d.Find(docs, "*.TXT", out var found));
        Assert.Equal(new[] { "Report.txt", "old.txt" }, found.Select(f => f.Name).Order(StringComparer.Ordinal));
        d.Close(docs);

        Assert.Equal(STATUS_SUCCESS, d.Create(@"\Docs\Report.txt", DELETE, FILE_OPEN, 0, out var mv));
        Assert.Equal(STATUS_OBJECT_NAME_COLLISION, d.Move(mv, @"\Docs\old.txt", replace: false));
        Assert.Equal(STATUS_SUCCESS, d.Move(mv, @"\Docs\old.txt", replace: true));
        d.Close(mv);
        Assert.Equal("final v2", File.ReadAllText(Local("/Docs/old.txt")));
        Assert.False(File.Exists(Local("/Docs/Report.txt")));

        Assert.Equal(STATUS_SUCCESS, d.Create(@"\Docs\old.txt", DELETE, FILE_OPEN, FILE_NON_DIRECTORY_FILE, out var del));
        Assert.Equal(STATUS_SUCCESS, d.MarkForDeletion(del));
        d.Close(del);
        Assert.Equal(STATUS_SUCCESS, d.Create(@"\Docs", DELETE, FILE_OPEN, FILE_DIRECTORY_FILE, out var rmdir));
        Assert.Equal(STATUS_SUCCESS, d.MarkForDeletion(rmdir));
        d.Close(rmdir);
        Assert.False(Directory.Exists(Local("/Docs")));
        Assert.Equal(0, adapter.OpenCount);
        Assert.Contains(@"delete \Docs dir", host.Calls);
    }
}
