using System.Runtime.InteropServices;
using System.Text;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse;

/// <summary>
/// One mount: the native memory libfuse reads (argument vector, operations table), the <see cref="GCHandle"/> that
/// leads callbacks to the adapter, the loop thread and the shutdown sequence. Everything native stays allocated until
/// fuse_destroy has returned, i.e. until no libfuse thread can touch it.
///
/// <para><b>Shutdown</b> (cancellation): fuse_session_exit (workers stop after their current request — but they sit in
/// read() on /dev/fuse until a request arrives), then a lazy unmount — umount2(MNT_DETACH) as root, `fusermount3 -u -z`
/// otherwise — which takes the mount out of the namespace at once, busy or not. Then one request is sent through a
/// handle on the root taken before detaching (statfs by a child process, answered from memory during shutdown); the worker
/// serving it sees the exit flag, the loop ends and libfuse cancels the other workers in their read(). Files still open
/// on the detached mount get ENOTCONN once libfuse closes /dev/fuse. As a last resort after
/// <see cref="AbortGrace"/> the connection is aborted through fusectl (/sys/fs/fuse/connections/N/abort) if that is
/// mounted. fuse_unmount is not called from the cancelling thread (it closes the /dev/fuse descriptor under the workers'
/// feet); after the loop it is called only if we did not unmount ourselves.</para>
/// </summary>
internal sealed unsafe class FuseSession : IDisposable
{
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan InitDeadline = TimeSpan.FromSeconds(30);

    private readonly LibFuse _lib;
    private readonly FuseAdapter _adapter;
    private readonly string _mountPoint;
    private readonly FuseMountOptions _options;
    private readonly IFtpLogger _log;
    private readonly List<string> _libfuseErrors = [];
    private readonly Lock _stopLock = new();
    private readonly ManualResetEventSlim _loopEnded = new(false);
    private readonly List<nint> _strings = [];

    private GCHandle _handle;
    private FuseArgs* _args;
    private nint _argv;
    private FuseOperations* _operations;
    private nint _fuse;
    private nint _session;
    private MountEntry? _mountEntry;
    private int _loopResult;
    private Exception? _loopException;
    private bool _stopRequested;
    private volatile bool _unmountedByUs;
    private Task? _stopTask;
    private System.Diagnostics.Process? _pokeChild;

    public FuseSession(LibFuse lib, FuseAdapter adapter, string mountPoint, FuseMountOptions options, IFtpLogger log)
    {
        _lib = lib;
        _adapter = adapter;
        _mountPoint = mountPoint;
        _options = options;
        _log = log;
    }

    /// <summary>The "-o" option string given to libfuse (for logs and tests).</summary>
    internal static string BuildOptionString(FuseMountOptions options)
    {
        var o = new List<string>
        {
            "fsname=" + Escape(options.FsName),
            "subtype=" + Escape(options.Subtype),
            "max_read=" + options.MaxRead.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (options.AllowOther)
        {
            o.Add("allow_other");
        }

        if (options.DefaultPermissions)
        {
            o.Add("default_permissions");
        }

        if (options.ReadOnly)
        {
            o.Add("ro");
        }

        if (options.AutoUnmount)
        {
            o.Add("auto_unmount");
        }

        return string.Join(',', o);
    }

    /// <summary>fuse_opt splits on ',' and treats '\' as an escape.</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal);

    public void Run(CancellationToken cancellationToken, Action? mounted)
    {
        var previousSink = LibFuse.LogSink;
        LibFuse.LogSink = OnLibFuseLog;
        try
        {
            Create();
            Mount();
            var loop = new Thread(Loop) { IsBackground = true, Name = "fuse-loop" };
            loop.Start();
            using (cancellationToken.Register(() => RequestStop("cancellation requested")))
            {
                try
                {
                    if (AwaitInit())
                    {
                        mounted?.Invoke();
                    }
                }
                catch
                {
                    RequestStop("the mounted callback failed");
                    loop.Join();
                    throw;
                }

                loop.Join();
            }

            WaitForStop();
            if (_loopException is not null)
            {
                throw new FuseMountException(FuseMountFailure.LoopFailed, $"the FUSE request loop of {_mountPoint} failed: {_loopException.Message}", _loopException);
            }

            if (!_adapter.Initialized && !_stopRequested)
            {
                throw new FuseMountException(FuseMountFailure.LoopFailed,
                    $"the FUSE connection of {_mountPoint} ended before the kernel initialised it (loop result {_loopResult}){LibFuseErrors()}");
            }

            if (_loopResult != 0 && !_stopRequested)
            {
                throw new FuseMountException(FuseMountFailure.LoopFailed,
                    $"the FUSE request loop of {_mountPoint} ended with error {_loopResult}{LibFuseErrors()}");
            }

            _log.Log(FtpLogLevel.Information, $"fuse: {_mountPoint} unmounted");
        }
        finally
        {
            WaitForStop();
            Teardown();
            ReapPokeChild();
            LibFuse.LogSink = previousSink;
        }
    }

    /// <summary>The poke's request was read by a worker that then saw the exit flag and dropped it (libfuse does not
    /// process what it reads after the session exited), so the child returns only when fuse_destroy closed /dev/fuse.</summary>
    private void ReapPokeChild()
    {
        if (_pokeChild is { } child)
        {
            if (!child.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _log.Log(FtpLogLevel.Warning, $"fuse: the unmount helper (stat, pid {child.Id}) did not end; killing it");
                child.Kill();
            }

            child.Dispose();
            _pokeChild = null;
        }
    }

    /// <summary>A stop in progress may still be running fusermount3 or closing its root handle; it ends with the loop.</summary>
    private void WaitForStop()
    {
        Task? stop;
        lock (_stopLock)
        {
            stop = _stopTask;
        }

        stop?.Wait();
    }

    private void Create()
    {
        _handle = GCHandle.Alloc(_adapter);
        _operations = (FuseOperations*)NativeMemory.AllocZeroed((nuint)sizeof(FuseOperations));
        *_operations = FuseCallbacks.CreateOperations();

        var options = BuildOptionString(_options);
        List<string> argv = ["ftpsmount", "-o", options];
        if (_options.Debug)
        {
            argv.Add("-d");
        }

        _argv = (nint)NativeMemory.AllocZeroed((nuint)((argv.Count + 1) * sizeof(nint)));
        for (var i = 0; i < argv.Count; i++)
        {
            var s = Marshal.StringToCoTaskMemUTF8(argv[i]);
            _strings.Add(s);
            ((nint*)_argv)[i] = s;
        }

        _args = (FuseArgs*)NativeMemory.AllocZeroed((nuint)sizeof(FuseArgs));
        _args->argc = argv.Count;
        _args->argv = _argv;
        _args->allocated = 0;

        _log.Log(FtpLogLevel.Information, $"fuse: {_lib.LibraryName} {_lib.Version} ({_lib.NewSymbol}, {_lib.LoopSymbol}); options {options}");
        _fuse = _lib.New(_args, _operations, GCHandle.ToIntPtr(_handle));
        if (_fuse == 0)
        {
            throw new FuseMountException(FuseMountFailure.InvalidOptions, $"libfuse rejected the mount options \"{options}\"{LibFuseErrors()}");
        }
    }

    private void Mount()
    {
        if (_lib.Mount(_fuse, _mountPoint) != 0)
        {
            // Say precisely what is wrong if a precondition changed since the preflight; else pass on libfuse's words.
            MountPreflight.Check(_mountPoint, _options);
            throw new FuseMountException(FuseMountFailure.MountFailed, $"mounting {_mountPoint} failed{LibFuseErrors()}");
        }

        _session = _lib.GetSession(_fuse);
        _mountEntry = MountTable.Find(_mountPoint);
        if (_mountEntry is { } mounted)
        {
            _adapter.ReadaheadControlPath = $"/sys/class/bdi/{mounted.Major}:{mounted.Minor}/read_ahead_kb";
        }
        _log.Log(FtpLogLevel.Information, $"fuse: mounted {_options.FsName} on {_mountPoint}" +
            (_mountEntry is { } e ? $" (connection {e.Minor})" : ""));
    }

    /// <summary>Returns once libfuse ran init (the kernel connection is up; requests made from now on are served) or the
    /// loop ended. The daemon never waits on its own mount for this: a thread of the daemon blocked in a request to its
    /// own mount makes the process unkillable if it is SIGKILLed at that moment (the request can only end when the
    /// process's /dev/fuse descriptor closes, which waits for that very thread).</summary>
    private bool AwaitInit()
    {
        var deadline = DateTime.UtcNow + InitDeadline;
        while (!_adapter.WaitForInit(TimeSpan.FromMilliseconds(50)))
        {
            if (_loopEnded.IsSet)
            {
                return false;
            }

            if (DateTime.UtcNow > deadline)
            {
                _log.Log(FtpLogLevel.Warning, $"fuse: the kernel has not initialised the connection of {_mountPoint} after {InitDeadline.TotalSeconds:0} s");
                return true;
            }
        }

        return true;
    }

    private void Loop()
    {
        try
        {
            _loopResult = _lib.LoopMultiThreaded(_fuse, _options.MaxThreads);
        }
#pragma warning disable CA1031 // reported by Run on the calling thread
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _loopException = ex;
        }
        finally
        {
            _loopEnded.Set();
        }
    }

    private void RequestStop(string reason)
    {
        lock (_stopLock)
        {
            if (_stopRequested || _loopEnded.IsSet)
            {
                return;
            }

            _stopRequested = true;
            // Off the cancelling thread: this may wait (fusermount3, grace period).
            _stopTask = Task.Run(() => Stop(reason));
        }
    }

    private void Stop(string reason)
    {
        var root = -1;
        try
        {
            _log.Log(FtpLogLevel.Information, $"fuse: unmounting {_mountPoint} ({reason})");
            // A handle on the mount's root, taken while it is still attached (O_PATH: no request is sent). After the
            // lazy unmount it is the only way left to send the daemon a request (see Poke). It also keeps the detached
            // superblock alive until the loop has ended, so the end is always the same: the poke's request.
            // Only while the path still shows our mount: after an unmount from outside, something else may be mounted
            // there now, and that must not be touched (the loop ends on its own then).
            var ours = IsStillOurs();
            root = ours ? LibC.Open(_mountPoint, PosixConst.O_PATH | PosixConst.O_CLOEXEC) : -1;
            _adapter.BeginShutdown();
            _lib.SessionExit(_session);
            if (ours && !_loopEnded.IsSet)
            {
                LazyUnmount();
            }

            if (root >= 0)
            {
                Poke(root);
            }

            if (!_loopEnded.Wait(AbortGrace))
            {
                AbortConnection();
            }
        }
#pragma warning disable CA1031 // runs on a pool thread; the loop's end is what Run waits for
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.Log(FtpLogLevel.Error, $"fuse: unmounting {_mountPoint} failed: {ex}");
        }
        finally
        {
            if (root >= 0)
            {
                // Only once the loop ended: a poke may still be using it.
                _loopEnded.Wait();
                LibC.Close(root);
            }
        }
    }

    /// <summary>Sends one STATFS request (never answered from a kernel cache) to the detached mount; the worker that
    /// reads it sees the exit flag, the loop ends and libfuse cancels the other workers in their read(). libfuse drops a
    /// request read after the session exited, so the sender waits until fuse_destroy closes /dev/fuse. It therefore
    /// comes from a child process (`stat -f /proc/PID/fd/N`, through our root handle): were this process SIGKILLed while
    /// the request is in flight, a waiting thread of our own would make it unkillable, while a waiting child simply gets
    /// ENOTCONN once our /dev/fuse descriptor closes. Without stat(1) the request is sent from a thread of ours.</summary>
    private void Poke(int root)
    {
        var target = $"/proc/{Environment.ProcessId}/fd/{root}";
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo("stat")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add("-f");
            start.ArgumentList.Add(target);
            var child = System.Diagnostics.Process.Start(start);
            if (child is not null)
            {
                _pokeChild = child;
                return;
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            _log.Log(FtpLogLevel.Debug, $"fuse: stat(1) unavailable ({ex.Message}); waking the loop from this process");
        }

        var thread = new Thread(() =>
        {
            Statvfs ignored;
            LibC.FStatVfs(root, &ignored);
        })
        { IsBackground = true, Name = "fuse-unmount-poke" };
        thread.Start();
    }

    /// <summary>The path still shows our mount: same device as right after mounting (or, if that was not seen, a mount of
    /// our type).</summary>
    private bool IsStillOurs() => MountTable.Find(_mountPoint) is { } now && (_mountEntry is { } mine
        ? now.Major == mine.Major && now.Minor == mine.Minor
        : now.FileSystemType == "fuse." + _options.Subtype);

    private void LazyUnmount()
    {
        if (LibC.GetEffectiveUserId() == 0)
        {
            if (LibC.Umount2(_mountPoint, PosixConst.MNT_DETACH) == 0)
            {
                _unmountedByUs = true;
                return;
            }

            var errno = Marshal.GetLastPInvokeError();
            // EINVAL: not a mount point any more (unmounted from outside meanwhile).
            if (errno != Errno.EINVAL)
            {
                _log.Log(FtpLogLevel.Warning, $"fuse: umount2({_mountPoint}, MNT_DETACH) failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }

            return;
        }

        if (MountPreflight.RunFusermountLazyUnmount(_mountPoint, out var error))
        {
            _unmountedByUs = true;
        }
        else
        {
            _log.Log(FtpLogLevel.Warning, $"fuse: fusermount3 -u -z {_mountPoint} failed: {error}");
        }
    }

    /// <summary>Ends the kernel connection so blocked workers return (the mount was busy after the lazy unmount).</summary>
    private void AbortConnection()
    {
        if (_mountEntry is not { } entry)
        {
            _log.Log(FtpLogLevel.Warning, $"fuse: {_mountPoint} is still busy and its FUSE connection is unknown; waiting for the last file to be closed");
            return;
        }

        var abort = $"/sys/fs/fuse/connections/{entry.Minor}/abort";
        try
        {
            _log.Log(FtpLogLevel.Warning, $"fuse: {_mountPoint} still busy {AbortGrace.TotalSeconds:0} s after unmounting; aborting the FUSE connection (open files get ENOTCONN)");
            File.WriteAllText(abort, "1");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Log(FtpLogLevel.Warning, $"fuse: cannot abort the connection through {abort} ({ex.Message}); waiting for the last file to be closed");
        }
    }

    private void Teardown()
    {
        if (_fuse != 0)
        {
            // Unmount only if nobody did (we, or fusermount3/umount from outside — then fuse_unmount sees the aborted
            // connection and just closes its descriptor). No worker threads are left at this point.
            if (_session != 0 && !_unmountedByUs)
            {
                _lib.Unmount(_fuse);
            }

            _lib.Destroy(_fuse);
            _fuse = 0;
        }

        if (_args is not null)
        {
            // fuse_new may have replaced argv with its own allocation (allocated = 1); that one libfuse frees.
            if (_args->allocated != 0)
            {
                _lib.FreeArgs(_args);
            }

            NativeMemory.Free(_args);
            _args = null;
        }

        if (_argv != 0)
        {
            NativeMemory.Free((void*)_argv);
            _argv = 0;
        }

        foreach (var s in _strings)
        {
            Marshal.FreeCoTaskMem(s);
        }

        _strings.Clear();
        if (_operations is not null)
        {
            NativeMemory.Free(_operations);
            _operations = null;
        }

        if (_handle.IsAllocated)
        {
            _handle.Free();
        }
    }

    private void OnLibFuseLog(int level, string message)
    {
        var mapped = level switch
        {
            <= 3 => FtpLogLevel.Error,
            4 => FtpLogLevel.Warning,
            5 or 6 => FtpLogLevel.Information,
            _ => FtpLogLevel.Debug,
        };
        if (level <= 4)
        {
            lock (_libfuseErrors)
            {
                _libfuseErrors.Add(message.Trim());
            }
        }

        if (_log.IsEnabled(mapped))
        {
            _log.Log(mapped, "libfuse: " + message);
        }
    }

    private string LibFuseErrors()
    {
        lock (_libfuseErrors)
        {
            if (_libfuseErrors.Count == 0)
            {
                return "";
            }

            var text = new StringBuilder(": ");
            text.AppendJoin("; ", _libfuseErrors.TakeLast(5));
            return text.ToString();
        }
    }

    public void Dispose()
    {
        Teardown();
        _loopEnded.Dispose();
    }
}
