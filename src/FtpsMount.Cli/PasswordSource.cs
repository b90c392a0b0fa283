using System.Text;

namespace FtpsMount.Cli;

/// <summary>
/// Where the password comes from, in this order: <c>--password-file F</c>, the <c>FTPSMOUNT_PASSWORD</c>
/// environment variable, <c>~/.netrc</c> (machine/login/password), then a no-echo prompt when stdin is a
/// terminal. Never from a bare command-line argument (visible in ps).
/// </summary>
public sealed class PasswordSource
{
    public const string EnvironmentVariable = "FTPSMOUNT_PASSWORD";

    private readonly Func<string, string?> _getEnv;
    private readonly string? _netrcPath;
    private readonly TextWriter _stderr;

    public PasswordSource(Func<string, string?>? getEnv = null, string? netrcPath = null, TextWriter? stderr = null)
    {
        _getEnv = getEnv ?? Environment.GetEnvironmentVariable;
        _netrcPath = netrcPath ?? DefaultNetrcPath();
        _stderr = stderr ?? Console.Error;
    }

    /// <summary>Resolves user and password. <paramref name="user"/> may be null (then .netrc's login or "anonymous").</summary>
    public (string User, string Password) Resolve(string host, string? user, string? passwordFile, bool allowPrompt = true)
    {
        if (passwordFile is not null)
        {
            return (user ?? "anonymous", ReadPasswordFile(passwordFile));
        }

        var env = _getEnv(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            return (user ?? "anonymous", env);
        }

        if (_netrcPath is not null && File.Exists(_netrcPath))
        {
            var entry = Netrc.Find(File.ReadAllText(_netrcPath), host, user);
            if (entry is { Password: not null })
            {
                return (user ?? entry.Value.Login ?? "anonymous", entry.Value.Password);
            }
        }

        if (user is null || string.Equals(user, "anonymous", StringComparison.OrdinalIgnoreCase) || string.Equals(user, "ftp", StringComparison.OrdinalIgnoreCase))
        {
            return (user ?? "anonymous", "anonymous@");
        }

        if (allowPrompt && !Console.IsInputRedirected)
        {
            return (user, Prompt($"Password for {user}@{host}: "));
        }

        throw new CliException(ExitCodes.Usage,
            $"No password for {user}@{host}. Give it with --password-file FILE, the {EnvironmentVariable} environment variable, or ~/.netrc (stdin is not a terminal, so no prompt).");
    }

    private string ReadPasswordFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot read the password file {path}: {ex.Message}");
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
            {
                _stderr.WriteLine($"warning: {path} is readable by other users; chmod 600 it.");
            }
        }

        // First line, without its line ending: a trailing newline from `echo` is not part of the password.
        var newline = text.IndexOfAny(['\r', '\n']);
        return newline < 0 ? text : text[..newline];
    }

    private string Prompt(string prompt)
    {
        _stderr.Write(prompt);
        var sb = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (sb.Length > 0)
                {
                    sb.Length--;
                }

                continue;
            }

            if (!char.IsControl(key.KeyChar))
            {
                sb.Append(key.KeyChar);
            }
        }

        _stderr.WriteLine();
        return sb.ToString();
    }

    private static string? DefaultNetrcPath()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, OperatingSystem.IsWindows() ? "_netrc" : ".netrc");
    }
}

/// <summary>Minimal ~/.netrc reader: machine/default, login, password tokens; macdef blocks skipped.</summary>
public static class Netrc
{
    public static (string? Login, string? Password)? Find(string content, string host, string? user)
    {
        var tokens = Tokenize(content);
        (string? Login, string? Password)? fallback = null;
        for (var i = 0; i < tokens.Count; i++)
        {
            var isDefault = tokens[i] == "default";
            if (tokens[i] != "machine" && !isDefault)
            {
                if (tokens[i] == "macdef")
                {
                    i++; // name; body ends at a blank line, which Tokenize cannot see — macdef is rare; skip its name only.
                }

                continue;
            }

            string? machine = null;
            if (!isDefault && i + 1 < tokens.Count)
            {
                machine = tokens[++i];
            }

            string? login = null, password = null;
            while (i + 1 < tokens.Count && tokens[i + 1] is not ("machine" or "default"))
            {
                var key = tokens[++i];
                var value = i + 1 < tokens.Count ? tokens[++i] : null;
                switch (key)
                {
                    case "login":
                        login = value;
                        break;
                    case "password":
                        password = value;
                        break;
                }
            }

            var userMatches = user is null || login is null || string.Equals(login, user, StringComparison.Ordinal);
            if (!userMatches)
            {
                continue;
            }

            if (isDefault)
            {
                fallback ??= (login, password);
            }
            else if (string.Equals(machine, host, StringComparison.OrdinalIgnoreCase))
            {
                return (login, password);
            }
        }

        return fallback;
    }

    private static List<string> Tokenize(string content)
    {
        var tokens = new List<string>();
        var sb = new StringBuilder();
        var inQuote = false;
        foreach (var c in content)
        {
            if (c == '"')
            {
                inQuote = !inQuote;
                continue;
            }

            if (!inQuote && char.IsWhiteSpace(c))
            {
                if (sb.Length > 0)
                {
                    tokens.Add(sb.ToString());
                    sb.Clear();
                }

                continue;
            }

            sb.Append(c);
        }

        if (sb.Length > 0)
        {
            tokens.Add(sb.ToString());
        }

        return tokens;
    }
}
