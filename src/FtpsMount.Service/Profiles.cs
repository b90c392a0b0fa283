using System.Globalization;
using System.Text.Json;

namespace FtpsMount.Service;

/// <summary>The profiles file is unusable (bad JSON, a profile without url, a password in it). A FormatException, so the
/// CLI reports it as a usage error (exit 2).</summary>
public sealed class ProfileException(string message) : FormatException(message);

/// <summary>A named server in the profiles file.</summary>
public sealed record Profile(string Name, string Url, string? MountPoint, bool AutoMount, IReadOnlyDictionary<string, JsonElement> Options);

/// <summary>
/// Named profiles in <c>~/.config/ftpsmount/config.json</c> (or <c>$FTPSMOUNT_CONFIG</c>):
/// <code>
/// { "profiles": { "work": { "url": "ftpes://alice@ftp.example.org/projects", "mountPoint": "/home/alice/work",
///                           "autoMount": true, "options": { "ca-file": "/etc/ssl/work-ca.pem", "connections": 6 } } } }
/// </code>
/// Option names are the long flags without "--"; true switches a flag on, strings and numbers are values, arrays
/// repeat the flag. Passwords are not accepted here; use "password-file".
/// </summary>
public static class Profiles
{
    /// <summary>Names a profile may have: they appear in API paths, process arguments and file names.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name[0] != '.' && name[0] != '-';

    public static string DefaultPath()
    {
        if (Environment.GetEnvironmentVariable("FTPSMOUNT_CONFIG") is { Length: > 0 } explicitPath)
        {
            return explicitPath;
        }

        return Path.Combine(ServicePaths.ConfigDirectory(), "config.json");
    }

    public static IReadOnlyDictionary<string, Profile> Load(string path)
    {
        if (!File.Exists(path))
        {
            return new Dictionary<string, Profile>();
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ProfileException($"{path}: not valid JSON ({ex.Message}).");
        }

        using (document)
        {
            var result = new Dictionary<string, Profile>(StringComparer.Ordinal);
            if (!document.RootElement.TryGetProperty("profiles", out var profiles) || profiles.ValueKind != JsonValueKind.Object)
            {
                return result;
            }

            foreach (var p in profiles.EnumerateObject())
            {
                var o = p.Value;
                var url = o.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString()! : throw new ProfileException($"{path}: profile \"{p.Name}\" has no \"url\".");
                var mount = o.TryGetProperty("mountPoint", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                var auto = o.TryGetProperty("autoMount", out var a) && a.ValueKind == JsonValueKind.True;
                var options = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                if (o.TryGetProperty("options", out var opts) && opts.ValueKind == JsonValueKind.Object)
                {
                    foreach (var kv in opts.EnumerateObject())
                    {
                        if (kv.Name.Contains("password", StringComparison.OrdinalIgnoreCase) && kv.Name != "password-file")
                        {
                            throw new ProfileException($"{path}: profile \"{p.Name}\": passwords are not stored in profiles; use \"password-file\", FTPSMOUNT_PASSWORD or ~/.netrc.");
                        }

                        options[kv.Name] = kv.Value.Clone();
                    }
                }

                result[p.Name] = new Profile(p.Name, url, mount, auto, options);
            }

            return result;
        }
    }

    /// <summary>The profile's options as command-line tokens, skipping those the user gave explicitly.</summary>
    public static IEnumerable<string> ToArguments(Profile profile, IReadOnlyCollection<string> userArgs)
    {
        foreach (var (name, value) in profile.Options)
        {
            var flag = "--" + name;
            if (userArgs.Contains(flag))
            {
                continue;
            }

            switch (value.ValueKind)
            {
                case JsonValueKind.True:
                    yield return flag;
                    break;
                case JsonValueKind.False:
                case JsonValueKind.Null:
                    break;
                case JsonValueKind.Array:
                    foreach (var item in value.EnumerateArray())
                    {
                        yield return flag;
                        yield return Scalar(item);
                    }

                    break;
                default:
                    yield return flag;
                    yield return Scalar(value);
                    break;
            }
        }
    }

    private static string Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Number => e.GetDouble().ToString(CultureInfo.InvariantCulture),
        _ => e.GetRawText(),
    };
}
