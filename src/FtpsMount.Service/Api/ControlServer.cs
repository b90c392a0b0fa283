using System.Net;
using System.Net.Sockets;
using System.Reflection;
using FtpsMount.Service.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FtpsMount.Service.Api;

/// <summary>
/// <c>ftpsmount service</c>: the mount supervisor plus the control API and dashboard on 127.0.0.1 (random or given
/// port) and a Unix domain socket in the runtime directory (0600), both behind the token
/// (see <see cref="ControlAuthentication"/>). Writes the endpoint file clients find it by, removes it on stop.
/// </summary>
public static class ControlServer
{
    public static async Task<int> RunAsync(ServiceOptions options, CancellationToken cancellationToken)
    {
        if (ServiceEndpoint.Read() is { } running && running.Pid != Environment.ProcessId)
        {
            await Console.Error.WriteLineAsync($"error: the ftpsmount service already runs (pid {running.Pid}, {running.Url}).").ConfigureAwait(false);
            return 1;
        }

        // The endpoint check above cannot see a service that is starting at the same moment (it writes its endpoint file
        // last): two would both replace the Unix socket and supervise the same mounts. An exclusive lock, held for the
        // service's life and released by the kernel however it ends, lets one through.
        FileStream serviceLock;
        try
        {
            serviceLock = AcquireServiceLock();
        }
        catch (IOException)
        {
            await Console.Error.WriteLineAsync($"error: another ftpsmount service is running or starting for this user (it holds {ServicePaths.LockFile()}).").ConfigureAwait(false);
            return 1;
        }

        await using (serviceLock.ConfigureAwait(false))
        {
            return await RunLockedAsync(options, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Opens the service lock file exclusively (flock on Unix, a sharing lock on Windows); IOException when held.</summary>
    internal static FileStream AcquireServiceLock()
    {
        var lockOptions = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            lockOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(ServicePaths.LockFile(), lockOptions);
    }

    private static async Task<int> RunLockedAsync(ServiceOptions options, CancellationToken cancellationToken)
    {
        var auth = new ControlAuthentication(ServicePaths.LoadOrCreateToken());
        var socket = options.UnixSocket && Socket.OSSupportsUnixDomainSockets ? ServicePaths.SocketPath() : null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // Request lines (which could carry a one-time login code) stay out of the log.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(auth);
        builder.Services.AddSingleton<MountSupervisor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MountSupervisor>());
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.DrainTimeout + TimeSpan.FromSeconds(30));
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, options.Port);
            if (socket is not null)
            {
                if (File.Exists(socket))
                {
                    File.Delete(socket); // left by a killed service (the endpoint check above found none running)
                }

                k.ListenUnixSocket(socket);
            }
        });

        await using var app = builder.Build();
        var port = 0;
        app.Use(async (context, next) =>
        {
            // On every answer, the sign-in page and refusals included: never cached, never framed (no clickjacking of
            // the token form), nothing sniffed.
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.ContentSecurityPolicy = context.Request.Path == "/login"
                ? "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'" // no script at all; its own inline style
                : "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.XFrameOptions = "DENY";
            if (!HostAllowed(context, port))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new ApiError("unexpected Host header"), ServiceJson.Options).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "/";
            if (path == "/login")
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var outcome = auth.Authenticate(context.Request);
            if (outcome == ControlAuthentication.Outcome.Denied)
            {
                if (path.StartsWith("/api/", StringComparison.Ordinal))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await context.Response.WriteAsJsonAsync(new ApiError("the service token is required (Authorization: Bearer, see ~/.config/ftpsmount/service-token)"), ServiceJson.Options).ConfigureAwait(false);
                }
                else
                {
                    context.Response.Redirect("/login");
                }

                return;
            }

            if (outcome == ControlAuthentication.Outcome.Cookie && !HttpMethods.IsGet(context.Request.Method) && context.Request.Headers[ControlAuthentication.CsrfHeader] != "1")
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsJsonAsync(new ApiError($"missing {ControlAuthentication.CsrfHeader} header"), ServiceJson.Options).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });

        MapEndpoints(app, auth, () => port);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        port = addresses.Select(a => Uri.TryCreate(a, UriKind.Absolute, out var u) && u.Scheme == "http" && u.Host == "127.0.0.1" ? u.Port : 0).Max();
        if (socket is not null && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var endpoint = new ServiceEndpoint(Environment.ProcessId, $"http://127.0.0.1:{port}", socket);
        endpoint.Write();
        app.Logger.LogInformation("control API and dashboard on {Url}{Socket}; token in {TokenFile}", endpoint.Url, socket is null ? "" : " and " + socket, ServicePaths.TokenFile());
        try
        {
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (ServiceEndpoint.Read() is { } mine && mine.Pid == Environment.ProcessId)
            {
                ServiceEndpoint.Delete();
            }
        }

        return 0;
    }

    private static bool HostAllowed(HttpContext context, int port)
    {
        if (context.Connection.LocalIpAddress is null)
        {
            return true; // the Unix socket: only this user can connect
        }

        var host = context.Request.Host;
        return host.Port == port && host.Host is "127.0.0.1" or "localhost";
    }

    private static void MapEndpoints(WebApplication app, ControlAuthentication auth, Func<int> port)
    {
        var started = DateTimeOffset.UtcNow;
        var version = typeof(ControlServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev";

        app.MapGet("/api/service", (MountSupervisor s, ServiceOptions o) =>
            Results.Json(new ServiceInfo(Environment.ProcessId, version, started, o.ProfilesPath, s.List()), ServiceJson.Options));
        app.MapGet("/api/mounts", (MountSupervisor s) => Results.Json(s.List(), ServiceJson.Options));
        app.MapGet("/api/mounts/{name}", (string name, MountSupervisor s) =>
            s.Get(name) is { } view ? Results.Json(view, ServiceJson.Options) : Results.Json(new ApiError($"no profile \"{name}\""), ServiceJson.Options, statusCode: 404));
        app.MapPost("/api/mounts/{name}/mount", (string name, MountSupervisor s) => Change(s.Mount(name), s, name));
        app.MapPost("/api/mounts/{name}/unmount", (string name, MountSupervisor s) => Change(s.Unmount(name), s, name));
        app.MapPost("/api/login-links", () => Results.Json(auth.NewLoginCode($"http://127.0.0.1:{port()}"), ServiceJson.Options));

        app.MapGet("/login", (HttpContext context, string? code) =>
        {
            if (code is not null && auth.RedeemCode(code))
            {
                auth.SetCookie(context.Response);
                return Results.Redirect("/");
            }

            return Page("login.html", code is null ? "" : "That link has expired or was already used.");
        });
        app.MapPost("/login", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
            if (auth.Matches(form["token"].ToString().Trim()))
            {
                auth.SetCookie(context.Response);
                return Results.Redirect("/");
            }

            return Page("login.html", "That is not the service token.", StatusCodes.Status401Unauthorized);
        }).DisableAntiforgery();
        app.MapGet("/", () => Page("index.html", null));
        app.MapGet("/dashboard.css", () => Resource("dashboard.css", "text/css; charset=utf-8"));
        app.MapGet("/dashboard.js", () => Resource("dashboard.js", "text/javascript; charset=utf-8"));
    }

    private static IResult Change(string? error, MountSupervisor s, string name) => error is null
        ? Results.Json(s.Get(name), ServiceJson.Options, statusCode: StatusCodes.Status202Accepted)
        : Results.Json(new ApiError(error), ServiceJson.Options, statusCode: error.StartsWith("no profile", StringComparison.Ordinal) ? 404 : 400);

    private static IResult Page(string name, string? message, int status = 200)
    {
        var html = ReadResource(name).Replace("{{message}}", System.Net.WebUtility.HtmlEncode(message ?? ""), StringComparison.Ordinal);
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    private static IResult Resource(string name, string type) => Results.Content(ReadResource(name), type);

    private static string ReadResource(string name)
    {
        using var stream = typeof(ControlServer).Assembly.GetManifestResourceStream("dashboard/" + name)
            ?? throw new InvalidOperationException($"dashboard/{name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
