using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace FtpsMount.Testing.Conformance;

/// <summary>
/// Applies the same random operations (<see cref="ModelGenerator"/>) to a target and to a model (normally a
/// <see cref="PosixDirectoryTarget"/> over a local temp directory) and fails at the first step where they
/// disagree: the outcome (success or which error, bytes read), then the state of every path the step
/// touched (stat, file content, listing of the parent), and every few steps and at the end the whole tree.
/// At the very end a fresh instance of the target (cold caches) must show the same tree. A failure names
/// the seed, the step and the operation log, and how to replay it.
/// </summary>
public sealed class ModelChecker(IFsTarget target, IFsTarget model, ITestOutputHelper output, Func<CancellationToken, Task<IFsTarget>>? freshTarget = null)
{
    /// <summary>Whole-tree comparison every this many steps (and at the end).</summary>
    public int FullCompareEvery { get; init; } = 25;

    public async Task RunAsync(int seed, int operations, CancellationToken ct)
    {
        var root = $"model-{seed.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}";
        output.WriteLine($"model run: seed {seed}, {operations} operations, working directory \"{root}\"");
        output.WriteLine($"target: {target.Description}");
        output.WriteLine($"model: {model.Description}");
        await target.CreateDirectoryAsync(root, ct).ConfigureAwait(false);
        await model.CreateDirectoryAsync(root, ct).ConfigureAwait(false);

        var generator = new ModelGenerator(seed);
        var log = new List<string>();
        var run = new Run(seed, operations, root, log, output);
        var sw = Stopwatch.StartNew();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var step = 1; step <= operations; step++)
        {
            ct.ThrowIfCancellationRequested();
            var snap = await ModelSnapshot.TakeAsync(model, root, ct).ConfigureAwait(false);
            var op = generator.Next(snap);
            run.Step = step;
            var expected = await op.ApplyAsync(model, root, ct).ConfigureAwait(false);
            var actual = await run.ApplyToTargetAsync(op, target, ct).ConfigureAwait(false);
            log.Add($"#{step} {op} => {expected}");
            var kind = op.GetType().Name;
            counts[kind] = counts.GetValueOrDefault(kind) + 1;
            run.Compare(op.ToString()!, expected, actual, target);

            foreach (var path in op.Touched.SelectMany(p => new[] { p, TargetPath.Parent(p) }).Distinct(StringComparer.Ordinal))
            {
                await run.ComparePathAsync(path, model, target, "after the step", ct).ConfigureAwait(false);
            }

            if (step % FullCompareEvery == 0)
            {
                await run.CompareTreeAsync(model, target, $"whole tree after step {step}", ct).ConfigureAwait(false);
            }
        }

        run.Step = operations;
        await run.CompareTreeAsync(model, target, "whole tree at the end", ct).ConfigureAwait(false);
        output.WriteLine($"{operations} operations agreed in {sw.Elapsed.TotalSeconds:F1}s: " +
                         string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}")));
        var errors = log.SelectMany(l => System.Text.RegularExpressions.Regex.Matches(l, @"error (\w+)").Select(m => m.Groups[1].Value))
            .GroupBy(e => e, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
        output.WriteLine($"steps with an error: {log.Count(l => l.Contains("error", StringComparison.Ordinal))} of {log.Count} (errors seen: {string.Join(", ", errors)})");

        if (freshTarget is not null)
        {
            var fresh = await freshTarget(ct).ConfigureAwait(false);
            try
            {
                await run.CompareTreeAsync(model, fresh, "whole tree seen by a fresh client (cold caches) at the end", ct).ConfigureAwait(false);
            }
            finally
            {
                await ConformanceScope.DisposeBoundedAsync(fresh).ConfigureAwait(false);
            }

            output.WriteLine("a fresh client sees the same tree");
        }
    }

    private sealed class Run(int seed, int operations, string root, List<string> log, ITestOutputHelper output)
    {
        public int Step { get; set; }

        public async Task<ModelOutcome> ApplyToTargetAsync(ModelOp op, IFsTarget fs, CancellationToken ct)
        {
            try
            {
                return await op.ApplyAsync(fs, root, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Fail($"the target threw {e.GetType().Name} (not a classified filesystem error) for: {op}\n{e}", fs);
                throw;
            }
        }

        public void Compare(string what, ModelOutcome expected, ModelOutcome actual, IFsTarget fs)
        {
            if (expected.Text == actual.Text)
            {
                return;
            }

            var detail = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"  operation: {what}")
                .AppendLine(CultureInfo.InvariantCulture, $"  model (local POSIX directory): {expected.Text}")
                .AppendLine(CultureInfo.InvariantCulture, $"  target:                        {actual.Text}");
            if (expected.Detail is not null)
            {
                detail.AppendLine(CultureInfo.InvariantCulture, $"  model error: {expected.Detail}");
            }

            if (actual.Detail is not null)
            {
                detail.AppendLine(CultureInfo.InvariantCulture, $"  target error: {actual.Detail}");
            }

            if (expected.Data is { } e && actual.Data is { } a)
            {
                var common = Math.Min(e.Length, a.Length);
                var first = e.AsSpan(0, common).CommonPrefixLength(a.AsSpan(0, common));
                var where = first < common ? $" (model 0x{e[first]:x2}, target 0x{a[first]:x2})" : " (one is a prefix of the other)";
                detail.AppendLine(CultureInfo.InvariantCulture, $"  bytes: model {e.Length}, target {a.Length}, first difference at offset {first}{where}");
            }

            Fail(detail.ToString(), fs);
        }

        public async Task ComparePathAsync(string path, IFsTarget model, IFsTarget fs, string when, CancellationToken ct)
        {
            var stat = new StatOp(path);
            var expected = await stat.ApplyAsync(model, root, ct).ConfigureAwait(false);
            Compare($"{stat} {when}", expected, await ApplyToTargetAsync(stat, fs, ct).ConfigureAwait(false), fs);
            ModelOp? check = expected.Text.StartsWith("ok file", StringComparison.Ordinal) ? new ReadAllOp(path)
                : expected.Text == "ok directory" ? new ListOp(path)
                : null;
            if (check is not null)
            {
                Compare($"{check} {when}", await check.ApplyAsync(model, root, ct).ConfigureAwait(false),
                    await ApplyToTargetAsync(check, fs, ct).ConfigureAwait(false), fs);
            }
        }

        public async Task CompareTreeAsync(IFsTarget model, IFsTarget fs, string when, CancellationToken ct)
        {
            var snap = await ModelSnapshot.TakeAsync(model, root, ct).ConfigureAwait(false);
            foreach (var dir in snap.Directories)
            {
                var list = new ListOp(dir);
                Compare($"{list} ({when})", await list.ApplyAsync(model, root, ct).ConfigureAwait(false),
                    await ApplyToTargetAsync(list, fs, ct).ConfigureAwait(false), fs);
            }

            foreach (var file in snap.Files)
            {
                var read = new ReadAllOp(file);
                Compare($"{read} ({when})", await read.ApplyAsync(model, root, ct).ConfigureAwait(false),
                    await ApplyToTargetAsync(read, fs, ct).ConfigureAwait(false), fs);
            }
        }

        private void Fail(string detail, IFsTarget fs)
        {
            output.WriteLine("---- full operation log (model outcomes) ----");
            foreach (var line in log)
            {
                output.WriteLine(line);
            }

            output.WriteLine("---- target diagnostics ----");
            output.WriteLine(fs.GetDiagnostics());
            const int Tail = 40;
            var message = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"Model divergence on {fs.Description} at step {Step} of {operations} (seed {seed}, working directory \"{root}\"):")
                .Append(detail)
                .AppendLine(CultureInfo.InvariantCulture, $"Replay: {ModelBasedTests.SeedVariable}={seed} {ModelBasedTests.OperationsVariable}={Step} (the full log is in the test output).")
                .AppendLine(CultureInfo.InvariantCulture, $"Last {Math.Min(Tail, log.Count)} steps (outcome on the model):");
            foreach (var line in log.TakeLast(Tail))
            {
                message.Append("  ").AppendLine(line);
            }

            Assert.Fail(message.ToString());
        }
    }
}
