using FtpsMount.Service.Api;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FtpsMount.Service.Supervision;

/// <summary>
/// The hosted background service: reads the profiles file, mounts the profiles marked <c>autoMount</c>, keeps them
/// mounted (see <see cref="SupervisedMount"/>), mounts and unmounts others on request, and on stop unmounts everything,
/// waiting for pending uploads (bounded by <see cref="ServiceOptions.DrainTimeout"/> per mount).
/// </summary>
public sealed class MountSupervisor : BackgroundService
{
    private readonly ServiceOptions _options;
    private readonly ILogger<MountSupervisor> _log;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SupervisedMount> _mounts = new(StringComparer.Ordinal);
    private DateTime _profilesStamp = DateTime.MinValue;
    private string? _profilesError;
    private bool _stopping;

    public MountSupervisor(ServiceOptions options, ILogger<MountSupervisor> log)
    {
        _options = options;
        _log = log;
    }

    /// <summary>Why the profiles file could not be read last time, if it could not.</summary>
    public string? ProfilesError
    {
        get { lock (_gate) { return _profilesError; } }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Reload();
        List<SupervisedMount> auto;
        lock (_gate)
        {
            auto = _mounts.Values.Where(m => m.Profile.AutoMount).ToList();
        }

        _log.LogInformation("profiles from {Path}: {Count}, auto-mounting {Auto}", _options.ProfilesPath, _mounts.Count, string.Join(", ", auto.Select(m => m.Name)));
        foreach (var mount in auto)
        {
            if (mount.Profile.MountPoint is null)
            {
                _log.LogWarning("{Profile}: autoMount, but no mountPoint; skipped", mount.Name);
                continue;
            }

            _ = TryRequestMount(mount);
        }

        return Task.CompletedTask;
    }

    /// <summary>Starts a mount unless the service is stopping: checked under the same lock <see cref="StopAsync"/> sets
    /// it under, so a request racing the stop cannot start a mount process after the stop collected the mounts to end.</summary>
    private bool TryRequestMount(SupervisedMount mount)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return false;
            }

            mount.RequestMount();
            return true;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        List<SupervisedMount> all;
        lock (_gate)
        {
            _stopping = true; // no mount request starts a new mount process from here on
            all = _mounts.Values.ToList();
        }

        _log.LogInformation("stopping: unmounting {Count} profile(s)", all.Count);
        await Task.WhenAll(all.Select(m => m.StopAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public IReadOnlyList<MountView> List()
    {
        Reload();
        lock (_gate)
        {
            return _mounts.Values.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => m.View()).ToList();
        }
    }

    public MountView? Get(string name)
    {
        Reload();
        lock (_gate)
        {
            return _mounts.TryGetValue(name, out var m) ? m.View() : null;
        }
    }

    /// <summary>Mounts a profile; an error text when that cannot be, null when requested.</summary>
    public string? Mount(string name)
    {
        Reload();
        SupervisedMount? mount;
        lock (_gate)
        {
            if (_stopping)
            {
                return "the service is stopping";
            }

            _mounts.TryGetValue(name, out mount);
        }

        if (mount is null)
        {
            return $"no profile \"{name}\"";
        }

        if (mount.Profile.MountPoint is null)
        {
            return $"profile \"{name}\" has no mountPoint";
        }

        _log.LogInformation("{Profile}: mount requested", name);
        return TryRequestMount(mount) ? null : "the service is stopping";
    }

    public string? Unmount(string name)
    {
        SupervisedMount? mount;
        lock (_gate)
        {
            _mounts.TryGetValue(name, out mount);
        }

        if (mount is null)
        {
            return $"no profile \"{name}\"";
        }

        _log.LogInformation("{Profile}: unmount requested", name);
        mount.RequestUnmount();
        return null;
    }

    /// <summary>Re-reads the profiles file when it changed: new profiles appear, changed ones apply at their next
    /// mount, removed ones stay listed while mounted.</summary>
    private void Reload()
    {
        DateTime stamp;
        try
        {
            stamp = File.Exists(_options.ProfilesPath) ? File.GetLastWriteTimeUtc(_options.ProfilesPath) : DateTime.MinValue;
        }
        catch (IOException)
        {
            return;
        }

        lock (_gate)
        {
            if (stamp == _profilesStamp && _mounts.Count > 0)
            {
                return;
            }

            _profilesStamp = stamp;
            IReadOnlyDictionary<string, Profile> profiles;
            try
            {
                profiles = Profiles.Load(_options.ProfilesPath);
                _profilesError = null;
            }
            catch (FormatException ex)
            {
                _profilesError = ex.Message;
                _log.LogError("profiles: {Error}", ex.Message);
                return;
            }

            foreach (var profile in profiles.Values)
            {
                if (!Profiles.IsValidName(profile.Name))
                {
                    _log.LogWarning("profile \"{Profile}\": names may only use letters, digits, '-', '_' and '.'; skipped", profile.Name);
                    continue;
                }

                if (_mounts.TryGetValue(profile.Name, out var existing))
                {
                    existing.Profile = profile;
                }
                else
                {
                    _mounts[profile.Name] = new SupervisedMount(profile, _options, _log);
                }
            }
        }
    }
}
