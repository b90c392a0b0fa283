using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace FtpsMount.Service.Api;

/// <summary>
/// Every request needs the service token: <c>Authorization: Bearer TOKEN</c> (CLI, tray, scripts) or the dashboard's
/// cookie (HttpOnly, SameSite=Strict), which a browser gets by posting the token to <c>/login</c> or by opening a
/// one-time link (<c>/login?code=...</c>, 60 s, single use; the token itself never goes into a URL). State-changing
/// requests made with the cookie must also carry <c>X-FtpsMount-Request: 1</c>, which a cross-site form cannot send.
/// Requests over TCP must name 127.0.0.1 or localhost as their Host (no DNS rebinding).
/// </summary>
public sealed class ControlAuthentication
{
    public const string CookieName = "ftpsmount-session";
    public const string CsrfHeader = "X-FtpsMount-Request";
    private static readonly TimeSpan s_codeLifetime = TimeSpan.FromSeconds(60);

    private readonly byte[] _token;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _codes = new(StringComparer.Ordinal);

    public ControlAuthentication(string token, TimeProvider? time = null)
    {
        _token = Encoding.UTF8.GetBytes(token);
        Token = token;
        _time = time ?? TimeProvider.System;
    }

    internal string Token { get; }

    public bool Matches(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), _token);

    public enum Outcome
    {
        Denied,
        Bearer,
        Cookie,
    }

    public Outcome Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.Ordinal) && Matches(header["Bearer ".Length..].Trim()))
        {
            return Outcome.Bearer;
        }

        return request.Cookies.TryGetValue(CookieName, out var cookie) && Matches(cookie) ? Outcome.Cookie : Outcome.Denied;
    }

    public LoginLink NewLoginCode(string baseUrl)
    {
        var now = _time.GetUtcNow();
        foreach (var (code, expiry) in _codes)
        {
            if (expiry < now)
            {
                _codes.TryRemove(code, out _);
            }
        }

        var fresh = ServicePaths.Base64UrlToken(18);
        var expires = now + s_codeLifetime;
        _codes[fresh] = expires;
        return new LoginLink($"{baseUrl}/login?code={fresh}", expires);
    }

    /// <summary>Consumes a one-time code: true once, while it is fresh.</summary>
    public bool RedeemCode(string? code) =>
        code is not null && _codes.TryRemove(code, out var expires) && expires >= _time.GetUtcNow();

    public void SetCookie(HttpResponse response) =>
        response.Cookies.Append(CookieName, Token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            Secure = false, // plain HTTP on loopback
            IsEssential = true,
        });
}
