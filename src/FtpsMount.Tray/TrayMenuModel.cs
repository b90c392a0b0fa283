using FtpsMount.Service.Api;

namespace FtpsMount.Tray;

/// <summary>What the tray icon shows: the worst health among the profiles that should be mounted.</summary>
public enum TrayIconState
{
    /// <summary>The service does not answer.</summary>
    ServiceDown,
    /// <summary>No profile is mounted or wanted.</summary>
    Idle,
    /// <summary>Every wanted profile is mounted and well.</summary>
    Healthy,
    /// <summary>Something mounted logged an error in the last minute.</summary>
    Degraded,
    /// <summary>A wanted profile is not mounted (starting, or retrying after a failure).</summary>
    Failing,
}

public enum TrayCommandKind
{
    None,
    Mount,
    Unmount,
    OpenDashboard,
    Quit,
}

/// <summary>One menu line; <see cref="Profile"/> is set for mount/unmount.</summary>
public sealed record TrayMenuItem(string Text, TrayCommandKind Command, string? Profile = null, bool Enabled = true, bool Separator = false)
{
    public static TrayMenuItem SeparatorLine { get; } = new("", TrayCommandKind.None, Separator: true);
}

/// <summary>The whole tray state built from the service's mount list (null: the service is unreachable).</summary>
public sealed record TrayMenu(TrayIconState Icon, string Tooltip, IReadOnlyList<TrayMenuItem> Items);

/// <summary>Turns the service API's view of the mounts into the tray's icon, tooltip and menu. Pure: no Win32 here.</summary>
public static class TrayMenuModel
{
    public static TrayMenu Build(IReadOnlyList<MountView>? mounts, string? serviceError = null)
    {
        if (mounts is null)
        {
            return new TrayMenu(TrayIconState.ServiceDown, Clip("FtpsMount: service not running" + (serviceError is null ? "" : $" ({serviceError})")),
            [
                new TrayMenuItem("Service not running", TrayCommandKind.None, Enabled: false),
                TrayMenuItem.SeparatorLine,
                new TrayMenuItem("Quit", TrayCommandKind.Quit),
            ]);
        }

        var items = new List<TrayMenuItem>();
        foreach (var m in mounts.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            // Win32 menus read '&' as a mnemonic marker (and drop it): a mount point or server error text with '&' in it
            // must show as written.
            var label = $"{m.Name} — {Describe(m)}".Replace("&", "&&", StringComparison.Ordinal);
            items.Add(m.State switch
            {
                MountRunState.Stopped => new TrayMenuItem($"Mount {label}", TrayCommandKind.Mount, m.Name, Enabled: m.MountPoint is not null),
                MountRunState.Stopping => new TrayMenuItem($"Unmount {label}", TrayCommandKind.Unmount, m.Name, Enabled: false),
                _ => new TrayMenuItem($"Unmount {label}", TrayCommandKind.Unmount, m.Name),
            });
        }

        if (items.Count == 0)
        {
            items.Add(new TrayMenuItem("No profiles", TrayCommandKind.None, Enabled: false));
        }

        items.Add(TrayMenuItem.SeparatorLine);
        items.Add(new TrayMenuItem("Open dashboard", TrayCommandKind.OpenDashboard));
        items.Add(new TrayMenuItem("Quit", TrayCommandKind.Quit));

        var icon = IconFor(mounts);
        var mounted = mounts.Count(m => m.State == MountRunState.Mounted);
        var tooltip = icon switch
        {
            TrayIconState.Failing => $"FtpsMount: {string.Join(", ", mounts.Where(m => m.Health == MountHealth.Down).Select(m => m.Name))} not mounted",
            TrayIconState.Degraded => $"FtpsMount: errors on {string.Join(", ", mounts.Where(m => m.Health == MountHealth.Degraded).Select(m => m.Name))}",
            TrayIconState.Healthy => $"FtpsMount: {mounted} mounted",
            _ => "FtpsMount: nothing mounted",
        };
        return new TrayMenu(icon, Clip(tooltip), items);
    }

    public static TrayIconState IconFor(IReadOnlyList<MountView> mounts)
    {
        if (mounts.Any(m => m.Health == MountHealth.Down))
        {
            return TrayIconState.Failing;
        }

        if (mounts.Any(m => m.Health == MountHealth.Degraded))
        {
            return TrayIconState.Degraded;
        }

        return mounts.Any(m => m.Health == MountHealth.Healthy) ? TrayIconState.Healthy : TrayIconState.Idle;
    }

    private static string Describe(MountView m) => m.State switch
    {
        MountRunState.Mounted => m.Health == MountHealth.Degraded ? $"mounted on {m.MountPoint}, errors" : $"mounted on {m.MountPoint}",
        MountRunState.Retrying => "retrying" + (m.LastError is null ? "" : ": " + Clip(m.LastError, 60)),
        MountRunState.Starting => "starting",
        MountRunState.Stopping => "unmounting",
        _ => m.MountPoint is null ? "no mount point" : $"on {m.MountPoint}",
    };

    /// <summary>Shell_NotifyIcon tooltips hold 127 characters.</summary>
    private static string Clip(string text, int max = 127) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
