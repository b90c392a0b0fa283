using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using System.Runtime.InteropServices;
using FtpsMount.Bench.Workloads;

namespace FtpsMount.Bench;

/// <summary>
/// <c>FtpsMount.Bench [workload options]</c> runs the workload benchmark (root; see <see cref="BenchOptions"/>).
/// <c>FtpsMount.Bench micro [BenchmarkDotNet args]</c> runs the micro-benchmarks of the pure parts, in process
/// (no generated child project, so it works with the offline NuGet copy), e.g. <c>micro --filter *Listing*</c>.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "micro")
        {
            var job = args.Contains("--long") ? Job.Default : Job.ShortRun;
            var config = ManualConfig.Create(DefaultConfig.Instance)
                .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance))
                .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "ftpsmount-bench-artifacts")); // not into the work tree
            var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly)
                .Run(args.Skip(1).Where(a => a != "--long").ToArray(), config);
            return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
        }

        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message + Environment.NewLine + BenchOptions.Usage).ConfigureAwait(false);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }

        using var cancel = new CancellationTokenSource();
        // SIGINT (ignored in background jobs of non-interactive shells), SIGTERM and SIGHUP all stop the run through the
        // token, so the finally blocks unmount and stop the server.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            cancel.Cancel();
        }

        if (!OperatingSystem.IsLinux())
        {
            await Console.Error.WriteLineAsync("The workload benchmark runs on Linux (FUSE).").ConfigureAwait(false);
            return 2;
        }

        try
        {
            return await new WorkloadRunner(options).RunAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("stopped; mounts and the server were cleaned up").ConfigureAwait(false);
            return 130;
        }
    }
}
