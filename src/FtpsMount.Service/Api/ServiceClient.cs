using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace FtpsMount.Service.Api;

/// <summary>
/// A client of a running service (<c>ftpsmount status</c>, the tray): over its Unix socket when there is one,
/// else 127.0.0.1, always with the token from the user's config folder.
/// </summary>
public sealed class ServiceClient : IDisposable
{
    private readonly HttpClient _http;

    public ServiceClient(ServiceEndpoint endpoint, string token, bool preferSocket = true)
    {
        Endpoint = endpoint;
        if (preferSocket && endpoint.Socket is { } socket && Socket.OSSupportsUnixDomainSockets && File.Exists(socket))
        {
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct).ConfigureAwait(false);
                        return new NetworkStream(s, ownsSocket: true);
                    }
                    catch
                    {
                        s.Dispose();
                        throw;
                    }
                },
            };
            _http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost") };
        }
        else
        {
            _http = new HttpClient { BaseAddress = new Uri(endpoint.Url) };
        }

        _http.Timeout = TimeSpan.FromSeconds(10);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public ServiceEndpoint Endpoint { get; }

    /// <summary>A client of this user's running service, or null when none runs (or it never made a token).</summary>
    public static ServiceClient? TryConnect(bool preferSocket = true) =>
        ServiceEndpoint.Read() is { } endpoint && ServicePaths.ReadToken() is { Length: > 0 } token
            ? new ServiceClient(endpoint, token, preferSocket)
            : null;

    public async Task<ServiceInfo> GetServiceAsync(CancellationToken ct = default) =>
        await Read<ServiceInfo>(await _http.GetAsync(new Uri("/api/service", UriKind.Relative), ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    public async Task<IReadOnlyList<MountView>> GetMountsAsync(CancellationToken ct = default) =>
        await Read<List<MountView>>(await _http.GetAsync(new Uri("/api/mounts", UriKind.Relative), ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    public Task<MountView> MountAsync(string profile, CancellationToken ct = default) => ChangeAsync(profile, "mount", ct);

    public Task<MountView> UnmountAsync(string profile, CancellationToken ct = default) => ChangeAsync(profile, "unmount", ct);

    /// <summary>A one-time dashboard link (valid 60 s) that signs a browser in without putting the token in a URL.</summary>
    public async Task<LoginLink> CreateLoginLinkAsync(CancellationToken ct = default) =>
        await Read<LoginLink>(await _http.PostAsync(new Uri("/api/login-links", UriKind.Relative), null, ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    private async Task<MountView> ChangeAsync(string profile, string verb, CancellationToken ct) =>
        await Read<MountView>(await _http.PostAsync(new Uri($"/api/mounts/{Uri.EscapeDataString(profile)}/{verb}", UriKind.Relative), null, ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    private static async Task<T> Read<T>(HttpResponseMessage response, CancellationToken ct)
    {
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                ApiError? error = null;
                try
                {
                    error = await response.Content.ReadFromJsonAsync<ApiError>(ServiceJson.Options, ct).ConfigureAwait(false);
                }
                catch (System.Text.Json.JsonException)
                {
                }

                throw new ServiceRequestException((int)response.StatusCode, error?.Error ?? response.ReasonPhrase ?? "request failed");
            }

            return (await response.Content.ReadFromJsonAsync<T>(ServiceJson.Options, ct).ConfigureAwait(false))!;
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The service refused a request (unknown profile, missing token, ...).</summary>
public sealed class ServiceRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
