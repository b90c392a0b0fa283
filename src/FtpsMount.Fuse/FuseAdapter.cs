using System.Collections.Concurrent;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse;

/// <summary>
/// Translates FUSE operations into <see cref="IRemoteFileSystem"/> calls. The native trampolines
/// (<see cref="FuseCallbacks"/>) decode C arguments and call the methods here with managed values; each returns 0 or
/// a byte count on success and a negative errno on failure. No FTP knowledge lives here.
///
/// <para><b>Threading.</b> libfuse's multi-threaded loop calls every operation on one of its worker threads and waits
/// for the return value, so Core's async calls are awaited synchronously here (no synchronization context exists on
/// those threads, and Core uses ConfigureAwait(false), so blocking cannot deadlock; blocked workers are not thread-pool
/// threads, so they cannot starve Core's continuations).</para>
///
/// <para><b>Timeouts.</b> Every call gets a <see cref="CancellationToken"/> that fires after
/// <see cref="FuseMountOptions.OperationTimeout"/> (or <see cref="FuseMountOptions.TransferTimeout"/> for operations
/// that may upload a file) and answers ETIMEDOUT. Should Core not honour the token, the wait itself gives up a little
/// later (<see cref="AbandonGrace"/>) and the request still answers ETIMEDOUT: a kernel request never waits forever.
/// Data buffers handed to Core are managed copies, so an abandoned call can never touch libfuse's memory.</para>
///
/// <para><b>Errors.</b> Core failures (<see cref="FsException"/>) go through <see cref="ErrnoMap"/>; anything else is
/// logged with operation, path and exception and answers EIO. Nothing propagates into native code.</para>
/// </summary>
internal sealed partial class FuseAdapter
{
    /// <summary>How long past its timeout a call that ignores cancellation is still waited for (settable for tests).</summary>
    internal TimeSpan AbandonGrace { get; set; } = TimeSpan.FromSeconds(5);

    private readonly IRemoteFileSystem _fs;
    private readonly FuseMountOptions _options;
    private readonly IFtpLogger _log;
    private readonly ConcurrentDictionary<ulong, FsFileHandle> _handles = new();

    public FuseAdapter(IRemoteFileSystem fs, FuseMountOptions options, IFtpLogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(options);
        _fs = fs;
        _options = options;
        _log = log ?? NullFtpLogger.Instance;
        OwnerUid = options.Uid ?? (OperatingSystem.IsLinux() ? LibC.GetUserId() : 0);
        OwnerGid = options.Gid ?? (OperatingSystem.IsLinux() ? LibC.GetGroupId() : 0);
    }

    public uint OwnerUid { get; }
    public uint OwnerGid { get; }
    public IFtpLogger Log => _log;
    public FuseMountOptions Options => _options;

    /// <summary>Number of FUSE file handles currently open (for tests and status).</summary>
    public int OpenHandleCount => _handles.Count;

    /// <summary>Set when libfuse called init (the kernel connection is up).</summary>
    public bool Initialized { get; private set; }

    /// <summary>Raised once libfuse called destroy.</summary>
    public bool Destroyed { get; private set; }

    // ------------------------------------------------------------------ dispatch

    private int Await(string operation, string? path, TimeSpan timeout, Func<CancellationToken, Task> body, Action? onAbandon = null) =>
        Await(operation, path, timeout, async ct =>
        {
            await body(ct).ConfigureAwait(false);
            return true;
        }, out _, onAbandon);

    /// <summary>Runs one Core call to completion on the calling (libfuse worker) thread and maps its outcome.</summary>
    private int Await<T>(string operation, string? path, TimeSpan timeout, Func<CancellationToken, Task<T>> body, out T result, Action? onAbandon = null)
    {
        result = default!;
        using var cts = new CancellationTokenSource(timeout);
        Task<T> task;
        try
        {
            task = body(cts.Token);
        }
#pragma warning disable CA1031 // the boundary: every exception becomes an errno
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Fail(operation, path, ex, cts.IsCancellationRequested, timeout);
        }

        if (!task.IsCompleted)
        {
            bool finished;
            try
            {
                finished = task.Wait(timeout + AbandonGrace);
            }
            catch (AggregateException)
            {
                finished = true;
            }

            if (!finished)
            {
                onAbandon?.Invoke();
                _log.Log(FtpLogLevel.Error,
                    $"fuse {operation} {path}: the filesystem did not answer within {timeout.TotalSeconds:0.#} s and ignored cancellation; answering ETIMEDOUT and abandoning the call");
                _ = task.ContinueWith(
                    t => _log.Log(FtpLogLevel.Warning, $"fuse {operation} {path}: the abandoned call finally {(t.IsFaulted ? "failed: " + t.Exception?.GetBaseException().Message : t.Status.ToString())}"),
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return -Errno.ETIMEDOUT;
            }
        }

        try
        {
            result = task.GetAwaiter().GetResult();
            return 0;
        }
#pragma warning disable CA1031 // the boundary: every exception becomes an errno
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Fail(operation, path, ex, cts.IsCancellationRequested, timeout);
        }
    }

    private int Fail(string operation, string? path, Exception ex, bool timedOut, TimeSpan timeout)
    {
        switch (ex)
        {
            case FsException { Error: FsError.Cancelled } when timedOut:
            case OperationCanceledException when timedOut:
                _log.Log(FtpLogLevel.Warning, $"fuse {operation} {path}: no answer within {timeout.TotalSeconds:0.#} s; answering ETIMEDOUT");
                return -Errno.ETIMEDOUT;
            case FsException fs:
                // Core already logs every failure at debug level; routine answers are repeated only when tracing.
                var level = ErrnoMap.IsRoutine(fs.Error) ? FtpLogLevel.Trace : FtpLogLevel.Warning;
                var errno = ErrnoMap.ToNegativeErrno(fs.Error, _log);
                if (_log.IsEnabled(level))
                {
                    _log.Log(level, $"fuse {operation} {path}: {fs.Error} → errno {-errno}: {fs.Message}{Cause(fs)}");
                }

                return errno;
            case OperationCanceledException:
                _log.Log(FtpLogLevel.Warning, $"fuse {operation} {path}: cancelled; answering EINTR");
                return -Errno.EINTR;
            default:
                _log.Log(FtpLogLevel.Error, $"fuse {operation} {path}: unexpected failure, answering EIO: {ex}");
                return -Errno.EIO;
        }
    }

    private static string Cause(Exception ex) => ex.InnerException is { } inner ? $" (cause: {inner.GetType().Name}: {inner.Message})" : "";

    /// <summary>An operation the mount does not offer: logged at debug level (programs probe these routinely).</summary>
    private int Refuse(string operation, string? path, int errno, string why)
    {
        if (_log.IsEnabled(FtpLogLevel.Debug))
        {
            _log.Log(FtpLogLevel.Debug, $"fuse {operation} {path}: errno {errno}: {why}");
        }

        return -errno;
    }

    private int ReadOnlyRefusal(string operation, string path) => Refuse(operation, path, Errno.EROFS, "mounted read-only");

    private bool TryHandle(string operation, string? path, ulong fh, out FsFileHandle handle, out int errno)
    {
        if (_handles.TryGetValue(fh, out handle!))
        {
            errno = 0;
            return true;
        }

        _log.Log(FtpLogLevel.Warning, $"fuse {operation} {path}: unknown file handle {fh}; answering EBADF");
        errno = -Errno.EBADF;
        return false;
    }

    private ulong Register(FsFileHandle handle)
    {
        var fh = unchecked((ulong)handle.Id);
        _handles[fh] = handle;
        return fh;
    }

    /// <summary>Last-resort report of an exception caught in a trampoline (a bug in the binding itself).</summary>
    internal void ReportEscaped(string operation, string? path, Exception ex) =>
        _log.Log(FtpLogLevel.Error, $"fuse {operation} {path}: internal error in the FUSE binding, answering EIO: {ex}");
}
