using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using FtpsMount.Service.Api;
using FtpsMount.Tray.Native;

namespace FtpsMount.Tray;

/// <summary>
/// The Windows notification-area icon: a hidden window receives the icon's clicks, a popup menu
/// (<see cref="TrayMenuModel"/>) offers mount/unmount per profile, the dashboard and quit. A background loop asks the
/// service for its mounts every 3 s and posts the new menu to the window's thread, which alone touches Win32 state.
/// The icon is a stock one per state: information (all mounted), warning (errors), error (a profile down or the
/// service not running), application (nothing mounted).
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class TrayIcon : IDisposable
{
    private const uint CallbackMessage = User32.WM_APP + 1;
    private const uint RefreshMessage = User32.WM_APP + 2;
    private const int IconId = 1;
    private const int FirstCommand = 100;

    private static TrayIcon? s_current;

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly uint _taskbarCreated;
    private nint _window;
    private nint _className;
    private TrayMenu _menu = TrayMenuModel.Build(null);
    private bool _added;

    public TrayIcon()
    {
        s_current = this;
        _taskbarCreated = User32.RegisterWindowMessageW("TaskbarCreated");
    }

    public unsafe int Run()
    {
        var instance = User32.GetModuleHandleW(null);
        _className = Marshal.StringToHGlobalUni("FtpsMountTrayWindow");
        var wc = new WndClassEx
        {
            cbSize = sizeof(WndClassEx),
            lpfnWndProc = &WindowProc,
            hInstance = instance,
            lpszClassName = _className,
        };
        if (User32.RegisterClassExW(ref wc) == 0)
        {
            throw new InvalidOperationException($"RegisterClassEx failed ({Marshal.GetLastPInvokeError()})");
        }

        // A hidden top-level window rather than a message-only one (HWND_MESSAGE): only a top-level window receives the
        // TaskbarCreated broadcast (Explorer restarted: add the icon again) and can be made the foreground window,
        // which TrackPopupMenu needs for the menu to close when the user clicks elsewhere. It is never shown.
        _window = User32.CreateWindowExW(User32.WS_EX_TOOLWINDOW, "FtpsMountTrayWindow", "FtpsMount", 0, 0, 0, 0, 0, 0, 0, instance, 0);
        if (_window == 0)
        {
            throw new InvalidOperationException($"CreateWindowEx failed ({Marshal.GetLastPInvokeError()})");
        }

        UpdateIcon();
        var poller = Task.Run(() => PollAsync(_stop.Token));
        while (User32.GetMessageW(out var msg, 0, 0, 0) > 0)
        {
            User32.TranslateMessage(msg);
            User32.DispatchMessageW(msg);
        }

        _stop.Cancel();
        try
        {
            poller.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        return 0;
    }

    private async Task PollAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TrayMenu menu;
            try
            {
                using var client = ServiceClient.TryConnect(preferSocket: false);
                menu = client is null ? TrayMenuModel.Build(null) : TrayMenuModel.Build(await client.GetMountsAsync(ct).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is HttpRequestException or ServiceRequestException or TaskCanceledException)
            {
                menu = TrayMenuModel.Build(null, ex.Message);
            }

            lock (_gate)
            {
                _menu = menu;
            }

            User32.PostMessageW(_window, RefreshMessage, 0, 0);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(3), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private TrayMenu CurrentMenu()
    {
        lock (_gate)
        {
            return _menu;
        }
    }

    private unsafe void UpdateIcon()
    {
        var menu = CurrentMenu();
        var data = new NotifyIconData
        {
            cbSize = sizeof(NotifyIconData),
            hWnd = _window,
            uID = IconId,
            uFlags = User32.NIF_MESSAGE | User32.NIF_ICON | User32.NIF_TIP,
            uCallbackMessage = (int)CallbackMessage,
            hIcon = User32.LoadIconW(0, menu.Icon switch
            {
                TrayIconState.Healthy => User32.IDI_INFORMATION,
                TrayIconState.Degraded => User32.IDI_WARNING,
                TrayIconState.Failing or TrayIconState.ServiceDown => User32.IDI_ERROR,
                _ => User32.IDI_APPLICATION,
            }),
        };
        var tip = menu.Tooltip.AsSpan(0, Math.Min(menu.Tooltip.Length, 127));
        tip.CopyTo(new Span<char>(data.szTip, 128));
        data.szTip[tip.Length] = '\0';
        _added = User32.Shell_NotifyIconW(_added ? User32.NIM_MODIFY : User32.NIM_ADD, ref data) || _added;
    }

    private void ShowMenu()
    {
        var menu = CurrentMenu();
        var popup = User32.CreatePopupMenu();
        try
        {
            for (var i = 0; i < menu.Items.Count; i++)
            {
                var item = menu.Items[i];
                if (item.Separator)
                {
                    User32.AppendMenuW(popup, User32.MF_SEPARATOR, 0, null);
                }
                else
                {
                    User32.AppendMenuW(popup, User32.MF_STRING | (item.Enabled ? 0 : User32.MF_GRAYED), FirstCommand + i, item.Text);
                }
            }

            User32.GetCursorPos(out var at);
            User32.SetForegroundWindow(_window); // otherwise the menu does not close when clicking elsewhere
            var chosen = User32.TrackPopupMenu(popup, User32.TPM_RIGHTBUTTON | User32.TPM_RETURNCMD | User32.TPM_NONOTIFY, at.X, at.Y, 0, _window, 0);
            User32.PostMessageW(_window, User32.WM_NULL, 0, 0); // lets the menu close properly the next time (documented TrackPopupMenu remark)
            if (chosen >= FirstCommand && chosen - FirstCommand < menu.Items.Count)
            {
                Execute(menu.Items[chosen - FirstCommand]);
            }
        }
        finally
        {
            User32.DestroyMenu(popup);
        }
    }

    private void Execute(TrayMenuItem item)
    {
        switch (item.Command)
        {
            case TrayCommandKind.Quit:
                User32.PostQuitMessage(0);
                break;
            case TrayCommandKind.OpenDashboard:
                _ = Task.Run(async () =>
                {
                    using var client = ServiceClient.TryConnect(preferSocket: false);
                    if (client is not null)
                    {
                        var link = await client.CreateLoginLinkAsync().ConfigureAwait(false);
                        Process.Start(new ProcessStartInfo(link.Url) { UseShellExecute = true })?.Dispose();
                    }
                });
                break;
            case TrayCommandKind.Mount or TrayCommandKind.Unmount when item.Profile is { } profile:
                _ = Task.Run(async () =>
                {
                    using var client = ServiceClient.TryConnect(preferSocket: false);
                    if (client is not null)
                    {
                        _ = item.Command == TrayCommandKind.Mount
                            ? await client.MountAsync(profile).ConfigureAwait(false)
                            : await client.UnmountAsync(profile).ConfigureAwait(false);
                    }
                });
                break;
        }
    }

    [UnmanagedCallersOnly]
    private static nint WindowProc(nint hwnd, uint msg, nint wParam, nint lParam)
    {
        var self = s_current;
        try
        {
            if (self is not null)
            {
                if (msg == CallbackMessage)
                {
                    var mouse = (uint)(lParam & 0xFFFF);
                    if (mouse is User32.WM_RBUTTONUP or User32.WM_LBUTTONUP or User32.WM_CONTEXTMENU)
                    {
                        self.ShowMenu();
                    }

                    return 0;
                }

                if (msg == RefreshMessage)
                {
                    self.UpdateIcon();
                    return 0;
                }

                if (msg == self._taskbarCreated && msg != 0)
                {
                    self._added = false; // Explorer restarted: the icon must be added again
                    self.UpdateIcon();
                    return 0;
                }

                if (msg == User32.WM_DESTROY)
                {
                    User32.PostQuitMessage(0);
                    return 0;
                }
            }
        }
        catch (Exception ex)
        {
            // Nothing may cross back into user32; the tray carries on.
            Console.Error.WriteLine("tray: " + ex);
        }

        return User32.DefWindowProcW(hwnd, msg, wParam, lParam);
    }

    public unsafe void Dispose()
    {
        if (_added)
        {
            var data = new NotifyIconData { cbSize = sizeof(NotifyIconData), hWnd = _window, uID = IconId };
            User32.Shell_NotifyIconW(User32.NIM_DELETE, ref data);
            _added = false;
        }

        if (_window != 0)
        {
            User32.DestroyWindow(_window);
            _window = 0;
        }

        if (_className != 0)
        {
            Marshal.FreeHGlobal(_className);
            _className = 0;
        }

        _stop.Dispose();
        s_current = null;
    }
}
