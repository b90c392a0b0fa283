using System.Security.Cryptography;
using System.Text.Json;

namespace FtpsMount.Service;

/// <summary>Where the service keeps what its clients need to find and authenticate to it.</summary>
public static class ServicePaths
{
    /// <summary>~/.config/ftpsmount (XDG_CONFIG_HOME honoured), on every OS: where the profiles file lives by default
    /// (%USERPROFILE%\.config\ftpsmount on Windows, a folder only its user can read).</summary>
    public static string ConfigDirectory()
    {
        var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(config))
        {
            config = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        }

        return Path.Combine(config, "ftpsmount");
    }

    /// <summary>The secret every request to the control API must carry (0600).</summary>
    public static string TokenFile() => Path.Combine(ConfigDirectory(), "service-token");

    /// <summary>Where a running service says how to reach it (0600, in the 0700 runtime directory).</summary>
    public static string EndpointFile() => Path.Combine(StatusFile.Directory(), "service.json");

    /// <summary>Held exclusively by the running service (one per user).</summary>
    public static string LockFile() => Path.Combine(StatusFile.Directory(), "service.lock");

    /// <summary>The control API's Unix domain socket.</summary>
    public static string SocketPath() => Path.Combine(StatusFile.Directory(), "service.sock");

    /// <summary>Reads the token, creating a new random one (256 bits) on first use. Refuses a token file others can read.</summary>
    public static string LoadOrCreateToken()
    {
        var path = TokenFile();
        if (File.Exists(path))
        {
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new InvalidOperationException($"{path} is readable or writable by other users; remove it (a new token is made) or chmod 600 it.");
            }

            var existing = File.ReadAllText(path).Trim();
            if (existing.Length >= 32)
            {
                return existing;
            }
        }

        PrivateFile.CreatePrivateDirectory(ConfigDirectory());
        var token = Base64UrlToken(32);
        PrivateFile.WriteAllText(path, token + "\n");
        return token;
    }

    /// <summary>The token, or null when the service never ran for this user.</summary>
    public static string? ReadToken()
    {
        try
        {
            return File.ReadAllText(TokenFile()).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string Base64UrlToken(int bytes) =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>How to reach a running service: its process, TCP address (127.0.0.1) and Unix socket.</summary>
public sealed record ServiceEndpoint(int Pid, string Url, string? Socket)
{
    public void Write() => PrivateFile.WriteAllText(ServicePaths.EndpointFile(), JsonSerializer.Serialize(this));

    /// <summary>The endpoint of a live service, or null. A file left by a killed service whose process id now belongs
    /// to some other program (after a reboot, say) does not count: the service could otherwise never start again.</summary>
    public static ServiceEndpoint? Read(string? file = null)
    {
        try
        {
            var endpoint = JsonSerializer.Deserialize<ServiceEndpoint>(File.ReadAllText(file ?? ServicePaths.EndpointFile()));
            if (endpoint is null)
            {
                return null;
            }

            using var process = System.Diagnostics.Process.GetProcessById(endpoint.Pid);
            if (process.HasExited)
            {
                return null;
            }

            return !OperatingSystem.IsLinux() || endpoint.Pid == Environment.ProcessId
                || File.ReadAllText($"/proc/{endpoint.Pid}/cmdline").Contains("ftpsmount", StringComparison.Ordinal)
                ? endpoint
                : null;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    public static void Delete()
    {
        try
        {
            File.Delete(ServicePaths.EndpointFile());
        }
        catch (IOException)
        {
        }
    }
}
