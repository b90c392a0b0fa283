using System.Diagnostics;
using System.Runtime.CompilerServices;
using Xunit.Abstractions;

namespace FtpsMount.Testing.Conformance;

/// <summary>
/// The POSIX-behaviour conformance suite (practice 5, "one conformance suite, many targets"). Subclass it
/// once per target and store (Core over each reference server, a FUSE mount over each reference server, a
/// local directory as the suite's own check) and implement <see cref="CreateTargetAsync"/>. Every test:
/// creates a target, makes a fresh uniquely named directory under its root, works only inside it, and is
/// bounded by a timeout; on failure the test output gets the target's diagnostics.
/// </summary>
/// <remarks>
/// Expected errors follow Linux (the mount's OS): unlink of a directory is EISDIR, rename of a file onto
/// a directory EISDIR, rename of a directory onto a non-empty one ENOTEMPTY (POSIX also allows EEXIST, so
/// that is accepted there). Where targets genuinely differ the target declares it in
/// <see cref="FsTargetCapabilities"/>; the test then checks the declared side and says so in its output.
/// <para>A FUSE mount needs no adapter of its own: <see cref="PosixDirectoryTarget"/> over the mount point
/// checks every errno as the kernel delivers it. For example:</para>
/// <code>
/// protected override async Task&lt;IFsTarget&gt; CreateTargetAsync(CancellationToken ct)
/// {
///     var mount = await FuseHost.MountAsync(server, ct);              // child process, lazy unmount on dispose
///     return new MountTarget(mount, new PosixDirectoryTarget(mount.Path, $"FUSE mount of {server.Kind}",
///         capabilities, new ReferenceServerBackdoor(server)));         // MountTarget: disposes both
/// }
/// </code>
/// </remarks>
public abstract partial class ConformanceTests(ITestOutputHelper output)
{
    protected ITestOutputHelper Output { get; } = output;

    /// <summary>A new, independent instance of the target (a fresh client). Called once per test, and again
    /// where a test checks what a second client sees.</summary>
    protected abstract Task<IFsTarget> CreateTargetAsync(CancellationToken cancellationToken);

    /// <summary>Bound of one ordinary test, target creation included.</summary>
    protected virtual TimeSpan TestTimeout => TimeSpan.FromSeconds(120);

    /// <summary>Bound of the large-file and concurrency tests.</summary>
    protected virtual TimeSpan LongTestTimeout => TimeSpan.FromMinutes(5);

    /// <summary>Size of the large-file test's file (40 MiB by default).</summary>
    protected virtual int LargeFileSize => 40 * 1024 * 1024;

    /// <summary>Runs one test body in its own directory with a timeout; logs diagnostics on failure.</summary>
    protected async Task RunAsync(Func<ConformanceScope, Task> body, TimeSpan? timeout = null, [CallerMemberName] string test = "")
    {
        var limit = timeout ?? TestTimeout;
        using var cts = new CancellationTokenSource(limit);
        var sw = Stopwatch.StartNew();
        var target = await CreateTargetAsync(cts.Token).WaitAsync(limit, CancellationToken.None).ConfigureAwait(false);
        var dir = $"{Shorten(test)}-{Guid.NewGuid().ToString("N")[..8]}";
        var scope = new ConformanceScope(target, dir, CreateTargetAsync, Output, cts.Token);
        await using (scope.ConfigureAwait(false))
        {
            Output.WriteLine($"target: {target.Description}");
            Output.WriteLine($"capabilities: {target.Capabilities}");
            Output.WriteLine($"directory: {dir}");
            try
            {
                await target.CreateDirectoryAsync(dir, cts.Token).ConfigureAwait(false);
                var remaining = limit - sw.Elapsed;
                await body(scope).WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                Output.WriteLine($"passed in {sw.ElapsedMilliseconds} ms");
            }
            catch (Exception e)
            {
                await cts.CancelAsync().ConfigureAwait(false);
                Output.WriteLine($"FAILED after {sw.ElapsedMilliseconds} ms: {e.GetType().Name}: {e.Message}");
                Output.WriteLine("---- target diagnostics ----");
                Output.WriteLine(target.GetDiagnostics());
                if (e is TimeoutException)
                {
                    throw new TimeoutException($"{test} on {target.Description} did not finish within {limit.TotalSeconds}s.", e);
                }

                throw;
            }
        }
    }

    private static string Shorten(string test) => test.Length <= 48 ? test : test[..48];

    private static Task<FsTargetException> Fails(FsTargetError expected, Func<Task> operation, string what, params FsTargetError[] alsoAccepted) =>
        ConformanceScope.AssertErrorAsync(expected, operation, what, alsoAccepted);

    private static void AssertBytes(byte[] expected, byte[] actual, string what) => ConformanceScope.AssertBytes(expected, actual, what);
}
