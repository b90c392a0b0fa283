using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace FtpsMount.Testing.Conformance;

/// <summary>
/// One conformance test's world: the target, a fresh directory of its own (so tests never see each other's
/// files), a cancellation token bounded by the test's timeout, and assertion helpers whose failure messages
/// name the target, the operation and what differed.
/// </summary>
public sealed class ConformanceScope : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<IFsTarget>> _factory;
    private readonly List<IFsTarget> _extraTargets = [];

    internal ConformanceScope(IFsTarget target, string directory, Func<CancellationToken, Task<IFsTarget>> factory, ITestOutputHelper output, CancellationToken ct)
    {
        Target = target;
        Dir = directory;
        _factory = factory;
        Output = output;
        Ct = ct;
    }

    public IFsTarget Target { get; }

    /// <summary>This test's own directory (relative to the target's root), created empty before the test.</summary>
    public string Dir { get; }

    public ITestOutputHelper Output { get; }
    public CancellationToken Ct { get; }

    /// <summary>A path inside <see cref="Dir"/>: P("a"), P("sub/b").</summary>
    public string P(string relative) => Dir + "/" + relative;

    public void Log(string message) => Output.WriteLine(message);

    /// <summary>A second, independent instance of the target (a fresh client with cold caches) over the same
    /// store; disposed with the scope.</summary>
    public async Task<IFsTarget> CreateSecondTargetAsync()
    {
        var t = await _factory(Ct).ConfigureAwait(false);
        _extraTargets.Add(t);
        return t;
    }

    /// <summary>Disposes the targets, each bounded by <see cref="DisposeTimeout"/> (a hung dispose fails the test).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var t in _extraTargets)
        {
            await DisposeBoundedAsync(t).ConfigureAwait(false);
        }

        await DisposeBoundedAsync(Target).ConfigureAwait(false);
    }

    public static TimeSpan DisposeTimeout { get; } = TimeSpan.FromSeconds(30);

    public static async Task DisposeBoundedAsync(IFsTarget target)
    {
        try
        {
            await target.DisposeAsync().AsTask().WaitAsync(DisposeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"disposing {target.Description} took longer than {DisposeTimeout.TotalSeconds}s", e);
        }
    }

    // ---- operations with context ----

    public Task WriteAsync(string path, byte[] content) => Target.WriteAllAsync(path, content, Ct);

    public Task<byte[]> ReadAsync(string path) => Target.ReadAllAsync(path, Ct);

    public Task<FsTargetStat> StatAsync(string path) => Target.StatAsync(path, Ct);

    public async Task<IReadOnlyList<string>> NamesAsync(string directory) =>
        [.. (await Target.ListAsync(directory, Ct).ConfigureAwait(false)).Select(e => e.Name).Order(StringComparer.Ordinal)];

    // ---- assertions ----

    /// <summary>The file reads back exactly as <paramref name="expected"/> (whole-file read and stat size).</summary>
    public async Task AssertContentAsync(string path, byte[] expected, string what, IFsTarget? through = null)
    {
        var t = through ?? Target;
        byte[] actual;
        try
        {
            actual = await t.ReadAllAsync(path, Ct).ConfigureAwait(false);
        }
        catch (FsTargetException e)
        {
            Assert.Fail($"{what}: reading \"{path}\" failed with {e.Error} ({e.Message}); expected {expected.Length} bytes.");
            throw;
        }

        AssertBytes(expected, actual, $"{what}: content of \"{path}\"");
        var stat = await t.StatAsync(path, Ct).ConfigureAwait(false);
        Assert.True(stat.IsFile, $"{what}: \"{path}\" should be a file, stat says {stat}");
        Assert.True(stat.Size == expected.Length, $"{what}: stat size of \"{path}\" is {stat.Size}, expected {expected.Length}");
    }

    /// <summary>The store behind the target holds exactly these bytes (skipped with a note when the target has no backdoor).</summary>
    public async Task AssertStoredAsync(string path, byte[] expected, string what)
    {
        if (Target.Backdoor is not { } backdoor)
        {
            Log($"(no backdoor on {Target.Description}: not checking the stored copy of \"{path}\")");
            return;
        }

        var stored = await backdoor.ReadFileAsync(path, Ct).ConfigureAwait(false);
        Assert.True(stored is not null, $"{what}: \"{path}\" does not exist in the store behind the target");
        AssertBytes(expected, stored, $"{what}: stored copy of \"{path}\"");
    }

    public async Task AssertMissingAsync(string path, string what)
    {
        await AssertErrorAsync(FsTargetError.NotFound, () => Target.StatAsync(path, Ct), $"{what}: stat \"{path}\"").ConfigureAwait(false);
    }

    /// <summary>Entries of a directory are exactly these names (ordinal, any order).</summary>
    public async Task AssertNamesAsync(string directory, IEnumerable<string> expected, string what)
    {
        var actual = await NamesAsync(directory).ConfigureAwait(false);
        var want = expected.Order(StringComparer.Ordinal).ToList();
        if (!actual.SequenceEqual(want, StringComparer.Ordinal))
        {
            Assert.Fail($"{what}: listing of \"{directory}\" is [{Show(actual)}], expected [{Show(want)}]" +
                        $" (missing: [{Show(want.Except(actual, StringComparer.Ordinal))}], unexpected: [{Show(actual.Except(want, StringComparer.Ordinal))}])");
        }
    }

    /// <summary>The operation fails with one of the expected errors.</summary>
    public static async Task<FsTargetException> AssertErrorAsync(FsTargetError expected, Func<Task> operation, string what, params FsTargetError[] alsoAccepted)
    {
        try
        {
            await operation().ConfigureAwait(false);
        }
        catch (FsTargetException e) when (e.Error == expected || alsoAccepted.Contains(e.Error))
        {
            return e;
        }
        catch (FsTargetException e)
        {
            Assert.Fail($"{what}: expected {Expected(expected, alsoAccepted)}, got {e.Error} ({e.Message})");
            throw;
        }

        Assert.Fail($"{what}: expected {Expected(expected, alsoAccepted)}, but it succeeded");
        throw new UnreachableException();
    }

    public static void AssertBytes(byte[] expected, byte[] actual, string what)
    {
        if (expected.AsSpan().SequenceEqual(actual))
        {
            return;
        }

        var common = Math.Min(expected.Length, actual.Length);
        var first = expected.AsSpan(0, common).CommonPrefixLength(actual.AsSpan(0, common));
        var message = new StringBuilder()
            .Append(what).Append(": ").Append(actual.Length).Append(" bytes, expected ").Append(expected.Length);
        if (first < common)
        {
            message.Append("; first difference at offset ").Append(first)
                .Append(": expected ").Append(Hex(expected, first)).Append(", actual ").Append(Hex(actual, first));
        }
        else
        {
            message.Append("; the shorter is a prefix of the longer");
        }

        message.Append("; sha256 expected ").Append(Sha(expected)).Append(", actual ").Append(Sha(actual));
        Assert.Fail(message.ToString());
    }

    /// <summary>Polls <paramref name="check"/> (which throws while the condition does not hold) until it passes
    /// or <paramref name="within"/> elapsed; then rethrows the last failure with how long it waited.</summary>
    public async Task<TimeSpan> EventuallyAsync(TimeSpan within, string what, Func<Task> check)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await check().ConfigureAwait(false);
                return sw.Elapsed;
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or FsTargetException && sw.Elapsed < within)
            {
                await Task.Delay(200, Ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or FsTargetException)
            {
                Assert.Fail($"{what}: still not true after {sw.Elapsed.TotalSeconds:F1}s (allowed {within.TotalSeconds:F1}s): {e.Message}");
            }
        }
    }

    public static string Sha(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data))[..16];

    private static string Hex(byte[] data, int offset) =>
        Convert.ToHexStringLower(data.AsSpan(offset, Math.Min(8, data.Length - offset))) + "…";

    private static string Show(IEnumerable<string> names) => string.Join(", ", names.Select(n => "\"" + n + "\""));

    private static string Expected(FsTargetError expected, FsTargetError[] also) =>
        also.Length == 0 ? expected.ToString() : string.Join(" or ", [expected, .. also]);
}

/// <summary>Deterministic test content: the same (length, seed) always gives the same bytes.</summary>
public static class TestData
{
    public static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);
}
