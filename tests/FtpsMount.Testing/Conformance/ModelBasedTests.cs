using System.Globalization;
using Xunit;
using Xunit.Abstractions;

namespace FtpsMount.Testing.Conformance;

/// <summary>
/// The model-based test, reusable per target: random operations (fixed seed) on the target and on a local
/// directory through <see cref="PosixDirectoryTarget"/>, compared after each step (see <see cref="ModelChecker"/>).
/// </summary>
/// <remarks>
/// <para>Longer or different runs without editing code: <c>FTPSMOUNT_MODEL_OPS=5000</c> (operations per run,
/// default <see cref="DefaultOperations"/>) and <c>FTPSMOUNT_MODEL_SEED=123</c> (replays a failure: the failure
/// message prints both). The timeout grows with the number of operations.</para>
/// <para>The model directory is removed after the run (the failure message's log replays it); with
/// <c>FTPSMOUNT_KEEP_MODEL_DIR=1</c> a failed run keeps it and prints its path.</para>
/// </remarks>
public abstract class ModelBasedTests(ITestOutputHelper output)
{
    public const string OperationsVariable = "FTPSMOUNT_MODEL_OPS";
    public const string SeedVariable = "FTPSMOUNT_MODEL_SEED";
    public const string KeepModelDirectoryVariable = "FTPSMOUNT_KEEP_MODEL_DIR";

    protected ITestOutputHelper Output { get; } = output;

    /// <summary>A new, independent instance of the target; called at the start and once more at the end
    /// (a fresh client must see the same tree).</summary>
    protected abstract Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken);

    protected virtual int DefaultOperations => 400;
    protected virtual int DefaultSeed => 20_250_611;

    /// <summary>Bound of one run: two minutes plus 3/4 s per operation.</summary>
    protected virtual TimeSpan TimeoutFor(int operations) => TimeSpan.FromSeconds(120 + (operations * 0.75));

    [Fact]
    public async Task Random_operations_agree_with_a_local_directory()
    {
        var operations = FromEnvironment(OperationsVariable) ?? DefaultOperations;
        var seed = FromEnvironment(SeedVariable) ?? DefaultSeed;
        var timeout = TimeoutFor(operations);
        using var cts = new CancellationTokenSource(timeout);
        var modelDir = Directory.CreateTempSubdirectory("ftpsmount-model-");
        var model = new PosixDirectoryTarget(modelDir.FullName, $"model: local directory {modelDir.FullName}");
        var target = await CreateTargetAsync(cts.Token).WaitAsync(timeout, CancellationToken.None);
        var passed = false;
        try
        {
            var checker = new ModelChecker(target, model, Output, CreateTargetAsync);
            try
            {
                await checker.RunAsync(seed, operations, cts.Token).WaitAsync(timeout, CancellationToken.None);
            }
            catch (TimeoutException e)
            {
                await cts.CancelAsync();
                Output.WriteLine(target.GetDiagnostics());
                throw new TimeoutException($"model run (seed {seed}, {operations} operations) on {target.Description} did not finish within {timeout.TotalSeconds}s", e);
            }

            passed = true;
        }
        finally
        {
            await ConformanceScope.DisposeBoundedAsync(target);
            await model.DisposeAsync();
            if (passed || Environment.GetEnvironmentVariable(KeepModelDirectoryVariable) != "1")
            {
                modelDir.Delete(recursive: true);
            }
            else
            {
                Output.WriteLine($"model directory kept for inspection: {modelDir.FullName}");
            }
        }
    }

    private static int? FromEnvironment(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } text
            ? int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture)
            : null;
}
