using FtpsMount.Service.Api;
using FtpsMount.Tray;

namespace FtpsMount.Service.Tests;

/// <summary>Table tests of the pure parts: the tray's menu model and icon state, URL redaction, profile names,
/// one-time dashboard codes.</summary>
public sealed class PureModelTests
{
    private static MountView View(string name, MountRunState state, MountHealth health, string? mountPoint = "/mnt/x", string? lastError = null) =>
        new(name, "ftpes://u@h/", mountPoint, true, state, health, null, null, 0, lastError, null, null, [], []);

    [Fact]
    public void Tray_menu_offers_mount_or_unmount_per_profile_then_dashboard_and_quit()
    {
        var menu = TrayMenuModel.Build(
        [
            View("b-work", MountRunState.Mounted, MountHealth.Healthy),
            View("a-home", MountRunState.Stopped, MountHealth.Idle),
            View("c-nomp", MountRunState.Stopped, MountHealth.Idle, mountPoint: null),
            View("d-going", MountRunState.Stopping, MountHealth.Idle),
        ]);

        Assert.Equal(TrayIconState.Healthy, menu.Icon);
        Assert.Equal(
            [
                (TrayCommandKind.Mount, "a-home", true),
                (TrayCommandKind.Unmount, "b-work", true),
                (TrayCommandKind.Mount, "c-nomp", false),
                (TrayCommandKind.Unmount, "d-going", false),
                (TrayCommandKind.None, null, true),
                (TrayCommandKind.OpenDashboard, null, true),
                (TrayCommandKind.Quit, null, true),
            ],
            menu.Items.Select(i => (i.Command, i.Profile, i.Enabled)).ToArray());
        Assert.True(menu.Items[4].Separator);
        Assert.StartsWith("Unmount b-work — mounted on /mnt/x", menu.Items[1].Text, StringComparison.Ordinal);
        Assert.Equal("FtpsMount: 1 mounted", menu.Tooltip);
    }

    [Theory]
    [InlineData(new[] { MountHealth.Idle, MountHealth.Idle }, TrayIconState.Idle)]
    [InlineData(new[] { MountHealth.Healthy, MountHealth.Idle }, TrayIconState.Healthy)]
    [InlineData(new[] { MountHealth.Healthy, MountHealth.Degraded }, TrayIconState.Degraded)]
    [InlineData(new[] { MountHealth.Degraded, MountHealth.Down }, TrayIconState.Failing)]
    [InlineData(new MountHealth[0], TrayIconState.Idle)]
    public void Tray_icon_shows_the_worst_health(MountHealth[] healths, TrayIconState expected)
    {
        var views = healths.Select((h, i) => View("p" + i, h == MountHealth.Idle ? MountRunState.Stopped : h == MountHealth.Down ? MountRunState.Retrying : MountRunState.Mounted, h)).ToList();
        Assert.Equal(expected, TrayMenuModel.Build(views).Icon);
    }

    [Fact]
    public void Tray_without_service_says_so_and_can_only_quit()
    {
        var menu = TrayMenuModel.Build(null, "connection refused");
        Assert.Equal(TrayIconState.ServiceDown, menu.Icon);
        Assert.Contains("connection refused", menu.Tooltip, StringComparison.Ordinal);
        Assert.Equal([TrayCommandKind.None, TrayCommandKind.None, TrayCommandKind.Quit], menu.Items.Select(i => i.Command));
        Assert.False(menu.Items[0].Enabled);
    }

    [Fact]
    public void Tray_tooltip_names_the_failing_profile_and_fits_the_shell_limit()
    {
        var menu = TrayMenuModel.Build([View(new string('x', 60), MountRunState.Retrying, MountHealth.Down, lastError: new string('e', 500)),
                                        View(new string('y', 60), MountRunState.Retrying, MountHealth.Down)]);
        Assert.Equal(TrayIconState.Failing, menu.Icon);
        Assert.True(menu.Tooltip.Length <= 127);
        Assert.StartsWith("FtpsMount: xxx", menu.Tooltip, StringComparison.Ordinal);
        Assert.True(menu.Items[0].Text.Length < 200);
    }

    [Theory]
    [InlineData("ftpes://alice@h/x", "ftpes://alice@h/x")]
    [InlineData("ftpes://alice:secret@h:21/x", "ftpes://alice:****@h:21/x")]
    [InlineData("ftps://a:b@c@h/p@q", "ftps://a:****@h/p@q")]
    [InlineData("ftpes://h/", "ftpes://h/")]
    [InlineData("not a url", "not a url")]
    public void Urls_never_show_a_password(string url, string shown) => Assert.Equal(shown, UrlText.Redact(url));

    [Theory]
    [InlineData("work", true)]
    [InlineData("my-server_2.old", true)]
    [InlineData("", false)]
    [InlineData(".hidden", false)]
    [InlineData("-flag", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    public void Profile_names_are_safe_in_paths_and_arguments(string name, bool valid) => Assert.Equal(valid, Profiles.IsValidName(name));

    [Fact]
    public void One_time_codes_work_once_and_expire()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var auth = new ControlAuthentication("t0ken-t0ken-t0ken-t0ken-t0ken-t0ken-xx", time);
        var code = new Uri(auth.NewLoginCode("http://127.0.0.1:1").Url).Query["?code=".Length..];
        Assert.True(auth.RedeemCode(code));
        Assert.False(auth.RedeemCode(code));

        var late = new Uri(auth.NewLoginCode("http://127.0.0.1:1").Url).Query["?code=".Length..];
        time.Now += TimeSpan.FromSeconds(61);
        Assert.False(auth.RedeemCode(late));
        Assert.False(auth.RedeemCode(null));
        Assert.True(auth.Matches("t0ken-t0ken-t0ken-t0ken-t0ken-t0ken-xx"));
        Assert.False(auth.Matches("t0ken-t0ken-t0ken-t0ken-t0ken-t0ken-x"));
        Assert.False(auth.Matches(null));
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Private_files_never_go_through_a_file_or_link_left_at_the_temporary_name()
    {
        var dir = Directory.CreateTempSubdirectory("ftpsmount-private-").FullName;
        try
        {
            var target = Path.Combine(dir, "service-token");
            var elsewhere = Path.Combine(dir, "world-readable");
            File.WriteAllText(elsewhere, "");
            File.SetUnixFileMode(elsewhere, (UnixFileMode)0b110_100_100);
            File.CreateSymbolicLink(target + ".tmp", elsewhere); // the name the writer used to reuse

            PrivateFile.WriteAllText(target, "secret\n");

            Assert.Equal("secret\n", File.ReadAllText(target));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
            Assert.Null(new FileInfo(target).LinkTarget);
            Assert.Equal("", File.ReadAllText(elsewhere));
            Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(elsewhere));
            Assert.Empty(Directory.EnumerateFiles(dir, "service-token.*.tmp"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Private_directories_are_tightened_to_0700_and_a_symbolic_link_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory("ftpsmount-private-").FullName;
        try
        {
            var shared = Path.Combine(dir, "ftpsmount-someone");
            Directory.CreateDirectory(shared);
            File.SetUnixFileMode(shared, (UnixFileMode)0b111_111_111);
            PrivateFile.CreatePrivateDirectory(shared);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(shared));

            var link = Path.Combine(dir, "ftpsmount-link");
            Directory.CreateSymbolicLink(link, shared);
            var ex = Assert.Throws<UnauthorizedAccessException>(() => PrivateFile.CreatePrivateDirectory(link));
            Assert.Contains("symbolic link", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Tray_menu_text_keeps_an_ampersand_from_a_mount_point_or_error_literal()
    {
        var menu = TrayMenuModel.Build([View("work", MountRunState.Retrying, MountHealth.Down, "/mnt/R&D", lastError: "550 Tom & Jerry")]);
        var item = menu.Items.Single(i => i.Profile == "work");
        Assert.Equal("Unmount work — retrying: 550 Tom && Jerry", item.Text);
        var mounted = TrayMenuModel.Build([View("work", MountRunState.Mounted, MountHealth.Healthy, "/mnt/R&D")]).Items.Single(i => i.Profile == "work");
        Assert.Equal("Unmount work — mounted on /mnt/R&&D", mounted.Text);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void An_endpoint_file_whose_pid_now_belongs_to_another_program_is_no_running_service()
    {
        var dir = Directory.CreateTempSubdirectory("ftpsmount-endpoint-").FullName;
        using var other = System.Diagnostics.Process.Start("sleep", ["30"]);
        try
        {
            var file = Path.Combine(dir, "service.json");
            File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new ServiceEndpoint(other.Id, "http://127.0.0.1:1", null)));
            Assert.Null(ServiceEndpoint.Read(file)); // alive, but not ftpsmount: a stale file after a reboot
            File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new ServiceEndpoint(Environment.ProcessId, "http://127.0.0.1:1", null)));
            Assert.Equal(Environment.ProcessId, ServiceEndpoint.Read(file)?.Pid);
        }
        finally
        {
            other.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_mount_request_that_arrives_while_the_service_stops_starts_nothing()
    {
        var dir = Directory.CreateTempSubdirectory("ftpsmount-stopping-").FullName;
        try
        {
            var profiles = Path.Combine(dir, "config.json");
            File.WriteAllText(profiles, """{"profiles":{"late":{"url":"ftpes://u@127.0.0.1:1/","mountPoint":"/nonexistent/late","autoMount":false}}}""");
            var options = new FtpsMount.Service.Supervision.ServiceOptions
            {
                ProfilesPath = profiles,
                Launcher = new FtpsMount.Service.Supervision.MountLauncher(Path.Combine(dir, "no-such-program"), []),
            };
            var supervisor = new FtpsMount.Service.Supervision.MountSupervisor(options, Microsoft.Extensions.Logging.Abstractions.NullLogger<FtpsMount.Service.Supervision.MountSupervisor>.Instance);
            Assert.Equal(MountRunState.Stopped, supervisor.Get("late")?.State);
            await supervisor.StopAsync(CancellationToken.None);

            Assert.Equal("the service is stopping", supervisor.Mount("late"));
            Assert.Equal(MountRunState.Stopped, supervisor.Get("late")?.State);
            supervisor.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
