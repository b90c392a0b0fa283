using System.Runtime.InteropServices;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan.Native;
using static FtpsMount.Dokan.Native.NtStatus;
using static FtpsMount.Dokan.Native.WinConst;
using static FtpsMount.Dokan.Tests.DokanDriverSimulator;

namespace FtpsMount.Dokan.Tests;

/// <summary>Nothing crosses into native code: failures of the filesystem below become NTSTATUS values, calls that outlive
/// their limit answer STATUS_IO_TIMEOUT, and the mount's DOKAN_OPTIONS carry what the trampolines rely on.</summary>
[Collection(DokanSimulationCollection.Name)]
public sealed unsafe class BoundaryTests(VsftpdCoreFixture fixture) : IClassFixture<VsftpdCoreFixture>
{
    [Fact]
    public void An_unexpected_exception_below_becomes_STATUS_UNEXPECTED_IO_ERROR_and_a_Core_error_its_mapped_status()
    {
        var dir = fixture.NewDirectory("boundary");
        var failing = new FailingListingFileSystem(fixture.FileSystem);
        using var d = new DokanDriverSimulator(new DokanAdapter(failing, new DokanMountOptions(), new RecordingHost()));
        Assert.Equal(STATUS_SUCCESS, d.Create(dir, GenericRead, FILE_OPEN, FILE_DIRECTORY_FILE, out var open));

        failing.Next = new InvalidOperationException("a bug below the binding");
        Assert.Equal(STATUS_UNEXPECTED_IO_ERROR, d.Find(open, null, out _));
        failing.Next = new FsException(FsError.ConnectionLost, "server went away");
        Assert.Equal(STATUS_UNEXPECTED_NETWORK_ERROR, d.Find(open, "*", out _));
        failing.Next = null;
        Assert.Equal(STATUS_SUCCESS, d.Find(open, "*", out _));
        d.Close(open);
    }

    [Fact]
    public void A_call_past_its_operation_timeout_answers_STATUS_IO_TIMEOUT()
    {
        var dir = fixture.NewDirectory("timeout");
        var slow = new SlowListingFileSystem(fixture.FileSystem, TimeSpan.FromSeconds(30));
        var options = new DokanMountOptions { OperationTimeout = TimeSpan.FromMilliseconds(300), KeepAliveInterval = TimeSpan.FromMilliseconds(100) };
        var host = new RecordingHost();
        using var d = new DokanDriverSimulator(new DokanAdapter(slow, options, host) { AbandonGrace = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(STATUS_SUCCESS, d.Create(dir, GenericRead, FILE_OPEN, FILE_DIRECTORY_FILE, out var open));
        Assert.Equal(STATUS_IO_TIMEOUT, d.Find(open, null, out _));
        Assert.True(host.ResetTimeouts >= 1);
        d.Close(open);
    }

    [Fact]
    public void The_mount_options_block_carries_version_flags_timeout_and_the_adapter_handle()
    {
        var options = (DokanOptions*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOptions));
        var point = Marshal.StringToHGlobalUni(@"X:\");
        try
        {
            DokanMount.FillOptions(options, new DokanMountOptions { ReadOnly = true, DriverTimeout = TimeSpan.FromSeconds(45) }, 0x1234, (char*)point, null);
            Assert.Equal(200, options->Version);
            Assert.Equal(0, options->SingleThread);
            Assert.Equal((uint)DokanConst.DOKAN_OPTION_WRITE_PROTECT, options->Options);
            Assert.Equal(0x1234UL, options->GlobalContext);
            Assert.Equal(@"X:\", new string(options->MountPoint));
            Assert.True(options->UNCName == null);
            Assert.Equal(45_000u, options->Timeout);
            Assert.Equal(0u, options->VolumeSecurityDescriptorLength);
        }
        finally
        {
            Marshal.FreeHGlobal(point);
            NativeMemory.Free(options);
        }
    }

    /// <summary>Throws <see cref="Next"/> from listings (faults no real server produces on demand); the rest is the real Core.</summary>
    private sealed class FailingListingFileSystem(IRemoteFileSystem inner) : ForwardingFileSystem(inner)
    {
        public Exception? Next { get; set; }

        public override Task<IReadOnlyList<FsAttributes>> ReadDirectoryAsync(string path, CancellationToken cancellationToken) =>
            Next is { } e ? Task.FromException<IReadOnlyList<FsAttributes>>(e) : base.ReadDirectoryAsync(path, cancellationToken);
    }
}
