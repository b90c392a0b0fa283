using System.Diagnostics;
using System.Text;

namespace FtpsMount.Bench.Workloads;

/// <summary>Runs child processes with a deadline (killed, tree and all, when it passes) and times them.</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
    {
        public Result EnsureSuccess(string what) => ExitCode == 0
            ? this
            : throw new InvalidOperationException($"{what} failed (exit {ExitCode}): {Tail(Stderr)}" + (Stderr.Length == 0 ? Tail(Stdout) : ""));
    }

    public static Task<Result> ShAsync(string script, TimeSpan timeout, CancellationToken ct, IDictionary<string, string>? environment = null) =>
        RunAsync("/bin/sh", ["-c", script], timeout, ct, environment);

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken ct,
        IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            ct.ThrowIfCancellationRequested();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s");
        }

        var elapsed = watch.Elapsed;
        return new Result(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false), elapsed);
    }

    /// <summary>Single-quotes a word for /bin/sh.</summary>
    public static string Q(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static string Tail(string s, int max = 800)
    {
        s = s.Trim();
        return s.Length <= max ? s : "…" + s[^max..];
    }

    public static bool Exists(string command) =>
        RunAsync("/bin/sh", ["-c", $"command -v {command}"], TimeSpan.FromSeconds(10), CancellationToken.None).GetAwaiter().GetResult().ExitCode == 0;

    public static string FirstLine(string text) => new StringReader(text).ReadLine() ?? string.Empty;

    public static string Join(params string[] words)
    {
        var sb = new StringBuilder();
        foreach (var w in words)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(Q(w));
        }

        return sb.ToString();
    }
}
