using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace FtpsMount.Fuse.Tests.RealTools;

/// <summary>What one external command did.</summary>
public sealed record ToolResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"`{CommandLine}` exited with {ExitCode} after {Elapsed.TotalSeconds:F1} s\n---- stderr ----\n{Tail(StandardError)}\n---- stdout ----\n{Tail(StandardOutput)}";

    private static string Tail(string text) => text.Length <= 8000 ? text : "…" + text[^8000..];
}

/// <summary>
/// Runs the real tools (cp, tar, rsync, git, fio, sqlite3, diff) as child processes, each with a deadline: on timeout
/// the tool and its children are killed (by pid) and the test fails with what the tool had written. A tool that is not
/// installed fails with the apt package that tests/scripts/install-test-deps.sh must install.
/// </summary>
internal static class ExternalTool
{
    /// <summary>Tool → Debian 12 package.</summary>
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["cp"] = "coreutils",
        ["tar"] = "tar",
        ["diff"] = "diffutils",
        ["rsync"] = "rsync",
        ["git"] = "git",
        ["fio"] = "fio",
        ["sqlite3"] = "sqlite3",
    };

    /// <summary>Runs <paramref name="tool"/> and returns its result whatever the exit code.</summary>
    public static async Task<ToolResult> RunAsync(
        ITestOutputHelper output,
        string tool,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? standardInput = null)
    {
        var path = Resolve(tool);
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["LC_ALL"] = "C.UTF-8";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var commandLine = tool + " " + string.Join(' ', start.ArgumentList.Select(Quote));
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // by pid: our direct child and its children
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                output.WriteLine($"warning: {tool} (pid {process.Id}) did not die within 20 s of SIGKILL (blocked in the kernel?)");
            }

            var partialErr = await Partial(stderr);
            var partialOut = await Partial(stdout);
            throw new TimeoutException(
                $"`{commandLine}` did not finish within {timeout.TotalSeconds} s and was killed\n---- stderr ----\n{partialErr}\n---- stdout ----\n{partialOut}");
        }

        var result = new ToolResult(commandLine, process.ExitCode, await stdout, await stderr, stopwatch.Elapsed);
        output.WriteLine($"$ {commandLine}  → exit {result.ExitCode} in {result.Elapsed.TotalMilliseconds:F0} ms");
        if (result.StandardError.Length > 0)
        {
            output.WriteLine("  stderr: " + Shorten(result.StandardError, 4000).ReplaceLineEndings("\n  stderr: "));
        }

        return result;
    }

    /// <summary>Runs the tool and fails the test (with its stderr) unless it exits 0.</summary>
    public static async Task<ToolResult> CheckedAsync(
        ITestOutputHelper output,
        string tool,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? standardInput = null,
        Func<string>? diagnostics = null)
    {
        var result = await RunAsync(output, tool, arguments, timeout, workingDirectory, environment, standardInput);
        if (result.ExitCode != 0)
        {
            throw new XunitException($"{result}{(diagnostics is null ? "" : "\n" + diagnostics())}");
        }

        return result;
    }

    /// <summary>The tool's absolute path on PATH; fails the test naming the package to install when it is missing.</summary>
    public static string Resolve(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        var package = Packages.GetValueOrDefault(tool, "?");
        throw new XunitException(
            $"`{tool}` is not installed: tests/scripts/install-test-deps.sh must install the Debian package \"{package}\" (apt-get install -y {package}).");
    }

    private static async Task<string> Partial(Task<string> reading)
    {
        try
        {
            return await reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or Win32Exception)
        {
            return "(not available: " + e.Message + ")";
        }
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text.TrimEnd() : text[..max] + " …";

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c, StringComparison.Ordinal))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>A deterministic tree of files for the copy tools: nested directories, many small files, empty files and
/// directories, unusual names, and a few large files.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class TestTree
{
    public static readonly DateTime FileTimesFrom = new(2023, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    public static readonly DateTime DirectoryTimesFrom = new(2022, 5, 6, 7, 8, 9, DateTimeKind.Utc);

    /// <summary>Creates the tree under <paramref name="root"/> (which must exist) and returns the number of files.</summary>
    public static int Create(string root, int seed, int smallFiles, int largeFileBytes)
    {
        var rng = new Random(seed);
        string[] dirs =
        [
            "", "src", "src/core", "src/core/deep", "src/core/deep/deeper", "docs", "docs/img", "data",
            "data/a", "data/b", "data/b/c", "with space", "ünïcödé", "empty-dir", "empty-dir/empty-child",
        ];
        foreach (var d in dirs)
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        var filled = dirs.Where(d => !d.StartsWith("empty-dir", StringComparison.Ordinal)).ToArray();
        for (var i = 0; i < smallFiles; i++)
        {
            var dir = filled[rng.Next(filled.Length)];
            var size = (i % 17) switch
            {
                0 => 0,
                1 => rng.Next(1, 16),
                2 => 4096,
                3 => rng.Next(65_536, 300_000),
                _ => rng.Next(16, 20_000),
            };
            var name = (i % 29) switch
            {
                0 => $"file {i} with spaces.txt",
                1 => $"fichier-{i}-é.txt",
                2 => $".hidden-{i}",
                _ => $"f{i:D4}.{(i % 3 == 0 ? "bin" : "txt")}",
            };
            var data = new byte[size];
            rng.NextBytes(data);
            File.WriteAllBytes(Path.Combine(root, dir, name), data);
        }

        var large = new byte[largeFileBytes];
        rng.NextBytes(large);
        File.WriteAllBytes(Path.Combine(root, "data", "large.bin"), large);
        File.WriteAllText(Path.Combine(root, "src", "script.sh"), "#!/bin/sh\necho hello\n", Encoding.UTF8);
        File.SetUnixFileMode(Path.Combine(root, "src", "script.sh"), (UnixFileMode)0x1ED); // 0755

        // Times in the past, whole seconds, different per entry: a tool that preserves times (tar x, rsync -a) has to
        // set every one of them, and nothing can match by accident because it was created in the same second.
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < files.Count; i++)
        {
            File.SetLastWriteTimeUtc(files[i], FileTimesFrom.AddSeconds(i * 37));
        }

        var directories = dirs.Where(d => d.Length > 0).OrderByDescending(d => d.Count(c => c == '/')).ThenBy(d => d, StringComparer.Ordinal).ToList();
        for (var i = 0; i < directories.Count; i++)
        {
            Directory.SetLastWriteTimeUtc(Path.Combine(root, directories[i]), DirectoryTimesFrom.AddHours(i));
        }

        Directory.SetLastWriteTimeUtc(root, DirectoryTimesFrom.AddDays(-1));

        return smallFiles + 2;
    }
}
