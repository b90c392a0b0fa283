using System.ComponentModel;
using System.Diagnostics;
using FtpsMount.Service.Api;
using Microsoft.Extensions.Logging;

namespace FtpsMount.Service.Supervision;

/// <summary>
/// One profile under supervision: runs <c>ftpsmount mount PROFILE</c> as a child process while the profile is wanted,
/// restarts it with a doubling back-off (1 s … 60 s, reset after a minute of uptime) when it ends unexpectedly — a crash,
/// or a server that was unreachable at mount time — and stops it by closing its stdin (the mount then finishes pending
/// uploads, as on SIGTERM; see <see cref="MountLauncher.SupervisedVariable"/>)
/// when it is no longer wanted. A mount that merely loses its server stays mounted: its session pool reconnects.
/// </summary>
internal sealed class SupervisedMount
{
    private const int LogLines = 20;
    private const int Samples = 60;

    private readonly ServiceOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private TaskCompletionSource _wake = NewSignal();
    private readonly Queue<string> _recentLog = new();
    private readonly Queue<ThroughputSample> _samples = new();

    private Profile _profile;
    private bool _wanted;
    private Task? _loop;
    private MountRunState _state = MountRunState.Stopped;
    private Process? _process;
    private int? _pid;
    private bool _adopted;
    private DateTimeOffset? _since;
    private DateTimeOffset? _mountedAt;
    private int _restarts;
    private string? _lastError;
    private string? _lastErrorLine;
    private DateTimeOffset? _nextAttempt;
    private MountStatus? _status;
    private (DateTimeOffset At, long Down, long Up)? _previousSample;

    public SupervisedMount(Profile profile, ServiceOptions options, ILogger log, TimeProvider? time = null)
    {
        _profile = profile;
        _options = options;
        _log = log;
        _time = time ?? TimeProvider.System;
    }

    public string Name => _profile.Name;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next <see cref="Wake"/>; take it before looking at the state, so no wake-up is lost.</summary>
    private Task WakeSignal()
    {
        lock (_gate)
        {
            return _wake.Task;
        }
    }

    private void Wake()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _wake;
            _wake = NewSignal();
        }

        old.TrySetResult();
    }

    public Profile Profile
    {
        get { lock (_gate) { return _profile; } }
        set { lock (_gate) { _profile = value; } }
    }

    /// <summary>Wants the profile mounted: starts the supervision loop, or cuts a back-off wait short.</summary>
    public void RequestMount()
    {
        lock (_gate)
        {
            _wanted = true;
            if (_loop is null)
            {
                _state = MountRunState.Starting;
                _since = _time.GetUtcNow();
                _loop = Task.Run(RunAsync);
                return;
            }
        }

        Wake();
    }

    /// <summary>No longer wants the profile mounted; returns at once (the state goes Stopping → Stopped).</summary>
    public void RequestUnmount()
    {
        lock (_gate)
        {
            _wanted = false;
        }

        Wake();
    }

    /// <summary>Unmounts and waits until the mount process has ended.</summary>
    public async Task StopAsync()
    {
        Task? loop;
        lock (_gate)
        {
            _wanted = false;
            loop = _loop;
        }

        Wake();
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
    }

    public MountView View()
    {
        lock (_gate)
        {
            var status = _status;
            var now = _time.GetUtcNow();
            var health = _state switch
            {
                MountRunState.Mounted when status?.Errors is { Count: > 0 } errors && now - errors[^1].At < TimeSpan.FromMinutes(1) => MountHealth.Degraded,
                MountRunState.Mounted => MountHealth.Healthy,
                MountRunState.Starting or MountRunState.Retrying => MountHealth.Down,
                _ => MountHealth.Idle,
            };
            var stats = status is null || _state is not (MountRunState.Mounted or MountRunState.Stopping) ? null : new MountStats(
                status.TlsProtocol, status.SessionsInUse, status.SessionsOpen,
                Rate(status.BlockCacheHits, status.BlockCacheMisses), Rate(status.MetadataHits, status.MetadataMisses),
                status.BytesDownloaded, status.BytesUploaded, status.PendingUploads, status.OpenHandles, status.Errors ?? []);
            return new MountView(_profile.Name, UrlText.Redact(_profile.Url), _profile.MountPoint, _profile.AutoMount, _state, health,
                _pid, _since, _restarts, _lastError, _state == MountRunState.Retrying ? _nextAttempt : null, stats, _samples.ToArray(), _recentLog.ToArray(), _adopted);
        }
    }

    private static double? Rate(long hits, long misses) => hits + misses == 0 ? null : (double)hits / (hits + misses);

    private async Task RunAsync()
    {
        var backoff = _options.MinBackoff;
        while (true)
        {
            lock (_gate)
            {
                if (!_wanted)
                {
                    _loop = null;
                    _state = MountRunState.Stopped;
                    _since = _time.GetUtcNow();
                    _pid = null;
                    _status = null;
                    return;
                }
            }

            var (exitCode, stoppedByUs) = await RunOnceAsync().ConfigureAwait(false);
            var woken = WakeSignal();
            DateTimeOffset? mountedAt;
            lock (_gate)
            {
                mountedAt = _mountedAt;
                _process = null;
                _pid = null;
                _status = null;
                _mountedAt = null;
                _previousSample = null;
                if (!_wanted)
                {
                    continue; // the loop's top ends it as Stopped
                }

                if (stoppedByUs)
                {
                    // Unmounted on request, and wanted again meanwhile: mount again at once, not as a failure.
                    backoff = _options.MinBackoff;
                    continue;
                }

                _restarts++;
                _lastError = _lastErrorLine ?? (exitCode is { } c ? $"the mount process exited with code {c}" : "the mount process could not be started");
                if (mountedAt is { } up && _time.GetUtcNow() - up >= _options.StableAfter)
                {
                    backoff = _options.MinBackoff;
                }

                _state = MountRunState.Retrying;
                _since = _time.GetUtcNow();
                _nextAttempt = _since + backoff;
            }

            _log.LogWarning("{Profile}: {Error}; mounting again in {Seconds:0.#} s", Name, _lastError, backoff.TotalSeconds);
            using (var cancelDelay = new CancellationTokenSource())
            {
                // The delay's timer is cancelled when a wake-up cuts the wait short, not left running for up to a minute.
                var delay = Task.Delay(backoff, cancelDelay.Token);
                await Task.WhenAny(woken, delay).ConfigureAwait(false);
                await cancelDelay.CancelAsync().ConfigureAwait(false);
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
        }
    }

    /// <summary>One mount process from start to exit: its exit code (null when it could not be started), and whether it
    /// ended because we asked it to.</summary>
    private async Task<(int? ExitCode, bool StoppedByUs)> RunOnceAsync()
    {
        var profile = Profile;
        if (profile.MountPoint is { } mp && OperatingSystem.IsLinux())
        {
            var before = StaleMount.Prepare(mp, profile, _log);
            switch (before.Kind)
            {
                case MountPointKind.Owned:
                    return await SuperviseAdoptedAsync(before.OwnerPid!.Value).ConfigureAwait(false);
                case MountPointKind.Busy:
                    lock (_gate)
                    {
                        _lastErrorLine = before.Detail;
                    }

                    return (null, false);
                case MountPointKind.Cleared:
                    _log.LogWarning("{Profile}: {Detail}; mounting on {MountPoint}", Name, before.Detail, mp);
                    break;
            }
        }

        var start = _options.Launcher.StartInfo("mount", profile.Name);
        start.Environment["FTPSMOUNT_CONFIG"] = _options.ProfilesPath;
        start.Environment[MountLauncher.SupervisedVariable] = "1";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("Process.Start returned nothing");
        }
        catch (Win32Exception ex)
        {
            lock (_gate)
            {
                _lastErrorLine = $"cannot start {_options.Launcher.FileName}: {ex.Message}";
            }

            return (null, false);
        }

        using (process)
        {
            // stdin stays open: closing it is how the mount is asked to unmount (see MountLauncher.SupervisedVariable). It is
            // a pipe, not a terminal, so the mount never prompts for a password.
            lock (_gate)
            {
                _process = process;
                _pid = process.Id;
                _state = MountRunState.Starting;
                _since = _time.GetUtcNow();
                _lastErrorLine = null;
            }

            _log.LogInformation("{Profile}: mount process {Pid} started", Name, process.Id);
            var stderr = PumpAsync(process.StandardError);
            var stdout = PumpAsync(process.StandardOutput);
            var exited = process.WaitForExitAsync();
            DateTimeOffset? stopDeadline = null;
            while (!exited.IsCompleted)
            {
                var woken = WakeSignal();
                bool wantedNow;
                lock (_gate)
                {
                    wantedNow = _wanted;
                }

                if (wantedNow || stopDeadline is not null)
                {
                    await Task.WhenAny(exited, woken, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
                }

                Sample(process.Id);
                bool wanted;
                lock (_gate)
                {
                    wanted = _wanted;
                }

                if (!wanted && stopDeadline is null && !exited.IsCompleted)
                {
                    lock (_gate)
                    {
                        _state = MountRunState.Stopping;
                        _since = _time.GetUtcNow();
                    }

                    _log.LogInformation("{Profile}: unmounting (pending uploads finish first)", Name);
                    try
                    {
                        process.StandardInput.Close();
                    }
                    catch (IOException)
                    {
                        // Already gone: the exit is seen next.
                    }
                    stopDeadline = _time.GetUtcNow() + _options.DrainTimeout;
                }
                else if (stopDeadline is { } deadline && _time.GetUtcNow() > deadline && !exited.IsCompleted)
                {
                    _log.LogError("{Profile}: the mount process did not finish within {Timeout}; killing it", Name, _options.DrainTimeout);
                    process.Kill(entireProcessTree: true);
                }
            }

            await Task.WhenAll(stderr, stdout).ConfigureAwait(false);
            _log.LogInformation("{Profile}: mount process {Pid} exited with {Code}", Name, process.Id, process.ExitCode);
            RemoveStatusFile(process.Id); // a killed mount could not remove it; every crash would leave one behind
            return (process.ExitCode, stopDeadline is not null);
        }
    }

    /// <summary>
    /// Supervises a live mount of this profile that the service did not start (found on the mount point with its status
    /// file, e.g. left by `ftpsmount mount PROFILE --daemon` or an earlier service): it counts as mounted, its stats
    /// come from its status file, and it is stopped with SIGTERM (it then unmounts after its pending uploads, as when the
    /// service closes a child's stdin). When it ends unasked, the service mounts the profile itself.
    /// </summary>
    private async Task<(int? ExitCode, bool StoppedByUs)> SuperviseAdoptedAsync(int pid)
    {
        lock (_gate)
        {
            _pid = pid;
            _adopted = true;
            _lastErrorLine = null;
            MarkMountedLocked();
        }

        _log.LogWarning("{Profile}: adopting the live mount of ftpsmount process {Pid} already on its mount point", Name, pid);
        DateTimeOffset? stopDeadline = null;
        try
        {
            while (ProcessAlive(pid))
            {
                var woken = WakeSignal();
                bool wanted;
                lock (_gate)
                {
                    wanted = _wanted;
                }

                if (wanted || stopDeadline is not null)
                {
                    using var cancelDelay = new CancellationTokenSource();
                    await Task.WhenAny(woken, Task.Delay(TimeSpan.FromSeconds(1), cancelDelay.Token)).ConfigureAwait(false);
                    await cancelDelay.CancelAsync().ConfigureAwait(false);
                }

                Sample(pid);
                lock (_gate)
                {
                    wanted = _wanted;
                }

                if (!wanted && stopDeadline is null)
                {
                    lock (_gate)
                    {
                        _state = MountRunState.Stopping;
                        _since = _time.GetUtcNow();
                    }

                    _log.LogInformation("{Profile}: unmounting the adopted mount (SIGTERM to {Pid}; pending uploads finish first)", Name, pid);
                    _ = Signal(pid, 15);
                    stopDeadline = _time.GetUtcNow() + _options.DrainTimeout;
                }
                else if (stopDeadline is { } deadline && _time.GetUtcNow() > deadline && ProcessAlive(pid))
                {
                    _log.LogError("{Profile}: the adopted mount process {Pid} did not finish within {Timeout}; killing it", Name, pid, _options.DrainTimeout);
                    _ = Signal(pid, 9);
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _adopted = false;
                if (stopDeadline is null)
                {
                    _lastErrorLine = $"the adopted mount process {pid} ended";
                }
            }
        }

        _log.LogInformation("{Profile}: adopted mount process {Pid} ended", Name, pid);
        return (null, stopDeadline is not null);
    }

    private void RemoveStatusFile(int pid)
    {
        try
        {
            File.Delete(Path.Combine(StatusFile.Directory(), pid + ".json"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.LogDebug("{Profile}: status file of {Pid}: {Error}", Name, pid, ex.Message);
        }
    }

    /// <summary>Whether a process that is not our child still runs (a zombie counts as ended).</summary>
    private static bool ProcessAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] != 'Z';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);

    private async Task PumpAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            _log.LogInformation("{Profile}: {Line}", Name, line);
            lock (_gate)
            {
                _recentLog.Enqueue(line.Length > 400 ? line[..400] + "…" : line);
                while (_recentLog.Count > LogLines)
                {
                    _recentLog.Dequeue();
                }

                if (line.StartsWith("error: ", StringComparison.Ordinal))
                {
                    _lastErrorLine = line["error: ".Length..];
                }

                if (line.StartsWith("mounted ", StringComparison.Ordinal) && _state == MountRunState.Starting)
                {
                    MarkMountedLocked();
                }
            }
        }
    }

    private void MarkMountedLocked()
    {
        _state = MountRunState.Mounted;
        _since = _mountedAt = _time.GetUtcNow();
        _lastError = null;
        _nextAttempt = null;
    }

    /// <summary>Reads the mount process's status file for the live stats and the throughput samples.</summary>
    private void Sample(int pid)
    {
        if (StatusFile.TryRead(pid) is not { } status || status.Pid != pid)
        {
            return;
        }

        lock (_gate)
        {
            if (_status is not null && status.Updated <= _status.Updated)
            {
                return;
            }

            _status = status; // stats only: the mount is live when it says "mounted ..." (a Windows mount writes this earlier)

            if (_previousSample is { } previous && status.Updated > previous.At)
            {
                var seconds = (status.Updated - previous.At).TotalSeconds;
                _samples.Enqueue(new ThroughputSample(status.Updated,
                    Math.Max(0, status.BytesDownloaded - previous.Down) / seconds, Math.Max(0, status.BytesUploaded - previous.Up) / seconds));
                while (_samples.Count > Samples)
                {
                    _samples.Dequeue();
                }
            }

            _previousSample = (status.Updated, status.BytesDownloaded, status.BytesUploaded);
        }
    }
}
