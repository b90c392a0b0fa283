using System.Collections.Concurrent;
using System.Diagnostics;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Dokan.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Dokan;

/// <summary>
/// Translates Dokan callbacks into <see cref="IRemoteFileSystem"/> calls and <see cref="FsError"/> into NTSTATUS
/// (<see cref="NtStatusMap"/>). The native trampolines (<see cref="DokanCallbacks"/>) decode C arguments and call the
/// methods here; each returns an NTSTATUS. No FTP knowledge lives here.
///
/// <para><b>Threading.</b> Dokan calls back on its own worker threads and waits for the answer; Core's async calls are
/// awaited synchronously (Core uses ConfigureAwait(false), the workers are not thread-pool threads).</para>
///
/// <para><b>Driver timeout.</b> The driver unmounts a volume whose request stays unanswered longer than
/// DOKAN_OPTIONS.Timeout. While a Core call is still running, every <see cref="DokanMountOptions.KeepAliveInterval"/>
/// the request is extended with DokanResetTimeout (through <see cref="IDokanHost"/>), so a large upload in Cleanup or a
/// slow listing never costs the volume. Our own limits (<see cref="DokanMountOptions.OperationTimeout"/>,
/// <see cref="DokanMountOptions.TransferTimeout"/>) still bound every request: past them it answers STATUS_IO_TIMEOUT.</para>
///
/// <para><b>Names.</b> Windows names are case-insensitive, FTP servers' are case-sensitive. The rule
/// (<see cref="ResolveAsync"/>): an exact match wins; otherwise the one name that equals it ignoring case; if several
/// names differ only by case and none matches exactly, the first in ordinal order (so "README" before "ReadMe" before
/// "readme") is used. Listings show every name, and a name opened as listed is always that exact entry, so all of them
/// stay reachable from Explorer; only a name typed in another case is ambiguous. New names keep the case given.</para>
///
/// <para><b>Errors.</b> Core failures go through <see cref="NtStatusMap"/>; anything else is logged with operation,
/// path and exception and answers STATUS_UNEXPECTED_IO_ERROR. Nothing propagates into native code.</para>
/// </summary>
internal sealed partial class DokanAdapter
{
    private const int FileMode = 0x1A4; // 0644 for new files
    private const int DirectoryMode = 0x1ED; // 0755 for new directories

    private readonly IRemoteFileSystem _fs;
    private readonly DokanMountOptions _options;
    private readonly IFtpLogger _log;
    private readonly ConcurrentDictionary<ulong, OpenEntry> _opens = new();
    private long _nextId;

    public DokanAdapter(IRemoteFileSystem fs, DokanMountOptions options, IDokanHost host, IFtpLogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(host);
        options.Validate();
        _fs = fs;
        _options = options;
        Host = host;
        _log = log ?? NullFtpLogger.Instance;
    }

    public IDokanHost Host { get; set; }
    public DokanMountOptions Options => _options;
    public IFtpLogger Log => _log;

    /// <summary>How long past its timeout a call that ignores cancellation is still waited for (settable for tests).</summary>
    internal TimeSpan AbandonGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Opens not yet closed (CloseFile), for tests and status.</summary>
    public int OpenCount => _opens.Count;

    /// <summary>The mount point Dokan reported in Mounted (null until then).</summary>
    public string? MountedAt { get; private set; }

    private readonly ManualResetEventSlim _mounted = new(false);
    private readonly ManualResetEventSlim _unmounted = new(false);

    public bool WaitForMounted(TimeSpan timeout) => _mounted.Wait(timeout);
    public bool IsUnmounted => _unmounted.IsSet;

    internal Action<string>? OnMounted { get; set; }

    public int Mounted(string mountPoint)
    {
        MountedAt = mountPoint;
        _mounted.Set();
        _log.Log(FtpLogLevel.Information, $"dokan: volume mounted on {mountPoint}");
        OnMounted?.Invoke(mountPoint);
        return NtStatus.STATUS_SUCCESS;
    }

    public int Unmounted()
    {
        _unmounted.Set();
        if (!_opens.IsEmpty)
        {
            _log.Log(FtpLogLevel.Warning, $"dokan: unmounted with {_opens.Count} open(s) never closed; their pending data is uploaded when the filesystem is disposed");
        }

        _log.Log(FtpLogLevel.Information, "dokan: volume unmounted");
        return NtStatus.STATUS_SUCCESS;
    }

    // ------------------------------------------------------------------ dispatch

    private int Await(string operation, string path, TimeSpan timeout, nint info, Func<CancellationToken, Task> body) =>
        Await(operation, path, timeout, info, async ct =>
        {
            await body(ct).ConfigureAwait(false);
            return true;
        }, out _);

    /// <summary>Runs one Core call to completion on the calling (Dokan worker) thread, keeping the driver's request alive
    /// while it runs, and maps its outcome to an NTSTATUS.</summary>
    private int Await<T>(string operation, string path, TimeSpan timeout, nint info, Func<CancellationToken, Task<T>> body, out T result)
    {
        result = default!;
        using var cts = new CancellationTokenSource(timeout);
        Task<T> task;
        try
        {
            task = body(cts.Token);
        }
#pragma warning disable CA1031 // the boundary: every exception becomes an NTSTATUS
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Fail(operation, path, ex, cts.IsCancellationRequested, timeout);
        }

        if (!task.IsCompleted)
        {
            var started = Stopwatch.GetTimestamp();
            var extendBy = (uint)Math.Min(uint.MaxValue, _options.DriverTimeout.TotalMilliseconds);
            while (!WaitQuietly(task, _options.KeepAliveInterval))
            {
                if (Stopwatch.GetElapsedTime(started) > timeout + AbandonGrace)
                {
                    _log.Log(FtpLogLevel.Error,
                        $"dokan {operation} {path}: the filesystem did not answer within {timeout.TotalSeconds:0.#} s and ignored cancellation; answering STATUS_IO_TIMEOUT and abandoning the call");
                    _ = task.ContinueWith(
                        t => _log.Log(FtpLogLevel.Warning, $"dokan {operation} {path}: the abandoned call finally {(t.IsFaulted ? "failed: " + t.Exception?.GetBaseException().Message : t.Status.ToString())}"),
                        CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    return NtStatus.STATUS_IO_TIMEOUT;
                }

                if (info != 0 && !Host.ResetTimeout(extendBy, info))
                {
                    _log.Log(FtpLogLevel.Debug, $"dokan {operation} {path}: DokanResetTimeout refused (the request may already be gone)");
                }
            }
        }

        try
        {
            result = task.GetAwaiter().GetResult();
            return NtStatus.STATUS_SUCCESS;
        }
#pragma warning disable CA1031 // the boundary: every exception becomes an NTSTATUS
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Fail(operation, path, ex, cts.IsCancellationRequested, timeout);
        }
    }

    private static bool WaitQuietly(Task task, TimeSpan interval)
    {
        try
        {
            return task.Wait(interval);
        }
        catch (AggregateException)
        {
            return true;
        }
    }

    private int Fail(string operation, string path, Exception ex, bool timedOut, TimeSpan timeout)
    {
        switch (ex)
        {
            case FsException { Error: FsError.Cancelled } when timedOut:
            case OperationCanceledException when timedOut:
                _log.Log(FtpLogLevel.Warning, $"dokan {operation} {path}: no answer within {timeout.TotalSeconds:0.#} s; answering STATUS_IO_TIMEOUT");
                return NtStatus.STATUS_IO_TIMEOUT;
            case FsException fs:
                var level = NtStatusMap.IsRoutine(fs.Error) ? FtpLogLevel.Trace : FtpLogLevel.Warning;
                var status = NtStatusMap.ToNtStatus(fs.Error, _log);
                if (_log.IsEnabled(level))
                {
                    _log.Log(level, $"dokan {operation} {path}: {fs.Error} → 0x{status:X8}: {fs.Message}");
                }

                return status;
            case OperationCanceledException:
                _log.Log(FtpLogLevel.Warning, $"dokan {operation} {path}: cancelled; answering STATUS_CANCELLED");
                return NtStatus.STATUS_CANCELLED;
            default:
                _log.Log(FtpLogLevel.Error, $"dokan {operation} {path}: unexpected failure, answering STATUS_UNEXPECTED_IO_ERROR: {ex}");
                return NtStatus.STATUS_UNEXPECTED_IO_ERROR;
        }
    }

    /// <summary>An answer the binding gives itself (not a Core failure): logged at debug level.</summary>
    private int Refuse(string operation, string path, int status, string why)
    {
        if (_log.IsEnabled(FtpLogLevel.Debug))
        {
            _log.Log(FtpLogLevel.Debug, $"dokan {operation} {path}: 0x{status:X8}: {why}");
        }

        return status;
    }

    private int WriteProtected(string operation, string path) =>
        Refuse(operation, path, NtStatus.STATUS_MEDIA_WRITE_PROTECTED, "mounted read-only");

    /// <summary>The DOKAN_FILE_INFO behind a request (native memory owned by the driver for the request's duration).</summary>
    private static unsafe ref DokanFileInfo Fi(nint info) => ref *(DokanFileInfo*)info;

    private OpenEntry Register(string windowsPath, string serverPath, bool isDirectory, bool canWrite, nint info)
    {
        var id = (ulong)Interlocked.Increment(ref _nextId);
        var entry = new OpenEntry(id, windowsPath, serverPath, isDirectory, canWrite);
        _opens[id] = entry;
        Fi(info).Context = id;
        Fi(info).IsDirectory = isDirectory ? (byte)1 : (byte)0;
        return entry;
    }

    private bool TryEntry(string operation, string path, nint info, out OpenEntry entry, out int status)
    {
        if (Fi(info).Context != 0 && _opens.TryGetValue(Fi(info).Context, out entry!))
        {
            status = NtStatus.STATUS_SUCCESS;
            return true;
        }

        _log.Log(FtpLogLevel.Warning, $"dokan {operation} {path}: no open behind context {Fi(info).Context}; answering STATUS_INVALID_HANDLE");
        status = NtStatus.STATUS_INVALID_HANDLE;
        entry = null!;
        return false;
    }

    /// <summary>Last-resort report of an exception caught in a trampoline (a bug in the binding itself).</summary>
    internal void ReportEscaped(string operation, string? path, Exception ex) =>
        _log.Log(FtpLogLevel.Error, $"dokan {operation} {path}: internal error in the Dokan binding, answering STATUS_UNEXPECTED_IO_ERROR: {ex}");

    // ------------------------------------------------------------------ names

    /// <summary>What a Windows path names on the server.</summary>
    /// <param name="ServerPath">The server path (the server's case for existing components, the given case for a missing last one).</param>
    /// <param name="Existing">Attributes when the name exists.</param>
    /// <param name="ParentExists">False when a directory on the way is missing (STATUS_OBJECT_PATH_NOT_FOUND).</param>
    internal sealed record Resolution(string ServerPath, FsAttributes? Existing, bool ParentExists);

    /// <summary>"\a\b" → its server path, case-insensitively (rule in the class remarks). Fast path: the exact path,
    /// which Core answers from its cache; only a miss walks the listings (also cached).</summary>
    internal async Task<Resolution> ResolveAsync(string windowsPath, CancellationToken ct)
    {
        var parts = SplitPath(windowsPath);
        if (parts.Length == 0)
        {
            return new Resolution("/", await _fs.GetAttributesAsync("/", ct).ConfigureAwait(false), true);
        }

        var direct = "/" + string.Join('/', parts);
        try
        {
            return new Resolution(direct, await _fs.GetAttributesAsync(direct, ct).ConfigureAwait(false), true);
        }
        catch (FsException e) when (e.Error is FsError.NotFound or FsError.NotADirectory)
        {
        }

        var current = "/";
        for (var i = 0; i < parts.Length; i++)
        {
            var last = i == parts.Length - 1;
            IReadOnlyList<FsAttributes> entries;
            try
            {
                entries = await _fs.ReadDirectoryAsync(current, ct).ConfigureAwait(false);
            }
            catch (FsException e) when (e.Error is FsError.NotFound or FsError.NotADirectory)
            {
                return new Resolution(Join(current, parts, i), null, false);
            }

            var match = Pick(entries, parts[i]);
            if (match is null)
            {
                return new Resolution(Join(current, parts, i), null, last);
            }

            current = current == "/" ? "/" + match.Name : current + "/" + match.Name;
            if (last)
            {
                return new Resolution(current, match, true);
            }

            if (!match.IsDirectory)
            {
                return new Resolution(Join(current, parts, i + 1), null, false);
            }
        }

        throw new UnreachableException();
    }

    private static string Join(string current, string[] parts, int from) =>
        (current == "/" ? "" : current) + "/" + string.Join('/', parts[from..]);

    /// <summary>The entry a Windows name means: exact match, else the ordinal-first of the case-insensitive matches.</summary>
    internal static FsAttributes? Pick(IReadOnlyList<FsAttributes> entries, string name)
    {
        FsAttributes? best = null;
        foreach (var entry in entries)
        {
            if (string.Equals(entry.Name, name, StringComparison.Ordinal))
            {
                return entry;
            }

            if (string.Equals(entry.Name, name, StringComparison.OrdinalIgnoreCase)
                && (best is null || string.CompareOrdinal(entry.Name, best.Name) < 0))
            {
                best = entry;
            }
        }

        return best;
    }

    internal static string[] SplitPath(string windowsPath) =>
        windowsPath.Split(['\\', '/'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Characters Windows never passes in a name component; a server name containing one can't be shown.</summary>
    internal static bool IsRepresentable(string name) =>
        name.Length is > 0 and < Win32FindData.MaxPath && name.IndexOfAny(InvalidNameChars) < 0 && name is not "." and not "..";

    private static readonly char[] InvalidNameChars = ['\\', '/', ':', '*', '?', '"', '<', '>', '|', '\0'];

    private static bool IsValidNewName(string windowsPath)
    {
        var parts = SplitPath(windowsPath);
        return parts.Length > 0 && parts.All(p => p.IndexOfAny(InvalidNameChars) < 0 && p is not "." and not "..");
    }

    private static string ParentOf(string windowsPath)
    {
        var trimmed = windowsPath.TrimEnd('\\');
        var i = trimmed.LastIndexOf('\\');
        return i <= 0 ? "\\" : trimmed[..i];
    }
}
