using System.Globalization;
using System.Text;

namespace FtpsMount.Testing.Conformance;

/// <summary>What one operation did on one filesystem, as text that must be equal on the target and the
/// model ("ok", "error NotFound", "ok 1234 bytes sha256 …"), plus the bytes read, for a precise diff.</summary>
/// <remarks><see cref="Detail"/> (the error messages) is shown in a divergence report but not compared.</remarks>
public sealed record ModelOutcome(string Text, byte[]? Data = null, string? Detail = null)
{
    public static ModelOutcome Ok { get; } = new("ok");

    public static ModelOutcome Read(byte[] data) => new($"ok {data.Length} bytes sha256 {ConformanceScope.Sha(data)}", data);

    public override string ToString() => Text;
}

/// <summary>One step of the model-based test. Paths are relative to the run's working directory.</summary>
public abstract record ModelOp
{
    /// <summary>Paths whose state (stat, content, listing of the parent) is compared after the step.</summary>
    public abstract IEnumerable<string> Touched { get; }

    public abstract Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct);

    /// <summary>Runs an operation and turns a classified failure into an outcome; anything else propagates.</summary>
    protected static async Task<ModelOutcome> Try(Func<Task<ModelOutcome>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (FsTargetException e)
        {
            return new ModelOutcome("error " + e.Error, Detail: e.Message);
        }
    }

    protected static Task<ModelOutcome> Try(Func<Task> action) => Try(async () =>
    {
        await action().ConfigureAwait(false);
        return ModelOutcome.Ok;
    });

    protected static string J(string root, string path) => TargetPath.Join(root, path);

    protected static string Q(string path) => "\"" + path + "\"";

    internal static byte[] Data(int length, int seed) => TestData.Bytes(length, seed);
}

public sealed record WriteAllOp(string Path, int Length, int Seed) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) =>
        Try(() => fs.WriteAllAsync(J(root, Path), Data(Length, Seed), ct));
    public override string ToString() => $"write-all {Q(Path)} len={Length} seed={Seed} (O_CREAT|O_TRUNC)";
}

public sealed record CreateExclusiveOp(string Path, int Length, int Seed) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(async () =>
    {
        var f = await fs.OpenAsync(J(root, Path), FsOpenRequest.CreateNew, ct).ConfigureAwait(false);
        await using (f.ConfigureAwait(false))
        {
            await f.WriteAtAsync(0, Data(Length, Seed), ct).ConfigureAwait(false);
            await f.CloseAsync(ct).ConfigureAwait(false);
        }
    });
    public override string ToString() => $"create-excl {Q(Path)} len={Length} seed={Seed}";
}

public sealed record WriteAtOp(string Path, long Offset, int Length, int Seed, bool Create) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(async () =>
    {
        var f = await fs.OpenAsync(J(root, Path), new FsOpenRequest(FsTargetAccess.Write, Create: Create), ct).ConfigureAwait(false);
        await using (f.ConfigureAwait(false))
        {
            await f.WriteAtAsync(Offset, Data(Length, Seed), ct).ConfigureAwait(false);
            await f.CloseAsync(ct).ConfigureAwait(false);
        }
    });
    public override string ToString() => $"pwrite {Q(Path)} off={Offset} len={Length} seed={Seed}{(Create ? " (O_CREAT)" : "")}";
}

public sealed record AppendOp(string Path, int Length, int Seed) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) =>
        Try(() => fs.AppendAsync(J(root, Path), Data(Length, Seed), ct));
    public override string ToString() => $"append {Q(Path)} len={Length} seed={Seed}";
}

public sealed record TruncateOp(string Path, long Length) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) =>
        Try(() => fs.TruncateAsync(J(root, Path), Length, ct));
    public override string ToString() => $"truncate {Q(Path)} to {Length}";
}

/// <summary>One step of a <see cref="HandleSessionOp"/>: pwrite, pread, ftruncate or fstat-size.</summary>
public sealed record HandleStep(char Kind, long Offset, int Length, int Seed)
{
    public override string ToString() => Kind switch
    {
        'W' => $"pwrite off={Offset} len={Length} seed={Seed}",
        'R' => $"pread off={Offset} len={Length}",
        'T' => $"ftruncate {Offset}",
        _ => "fstat-size",
    };
}

/// <summary>open(O_RDWR[|O_CREAT]), several reads/writes/truncates through one handle, close: the handle must
/// read its own writes before close, and the file must hold them after.</summary>
public sealed record HandleSessionOp(string Path, bool Create, IReadOnlyList<HandleStep> Steps) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];

    public override async Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct)
    {
        var text = new StringBuilder();
        IFsTargetFile f;
        try
        {
            f = await fs.OpenAsync(J(root, Path), new FsOpenRequest(FsTargetAccess.ReadWrite, Create: Create), ct).ConfigureAwait(false);
        }
        catch (FsTargetException e)
        {
            return new ModelOutcome("open error " + e.Error, Detail: e.Message);
        }

        var details = new List<string>();
        await using (f.ConfigureAwait(false))
        {
            text.Append("open ok");
            var reads = new List<byte>();
            foreach (var step in Steps)
            {
                text.Append("; ").Append(step.Kind).Append(": ");
                try
                {
                    switch (step.Kind)
                    {
                        case 'W':
                            await f.WriteAtAsync(step.Offset, Data(step.Length, step.Seed), ct).ConfigureAwait(false);
                            text.Append("ok");
                            break;
                        case 'R':
                            var buffer = new byte[step.Length];
                            var n = 0;
                            while (n < buffer.Length)
                            {
                                var got = await f.ReadAtAsync(step.Offset + n, buffer.AsMemory(n), ct).ConfigureAwait(false);
                                if (got == 0)
                                {
                                    break;
                                }

                                n += got;
                            }

                            reads.AddRange(buffer.AsSpan(0, n));
                            text.Append(ModelOutcome.Read(buffer[..n]).Text);
                            break;
                        case 'T':
                            await f.SetLengthAsync(step.Offset, ct).ConfigureAwait(false);
                            text.Append("ok");
                            break;
                        default:
                            text.Append("ok size ").Append((await f.GetLengthAsync(ct).ConfigureAwait(false)).ToString(CultureInfo.InvariantCulture));
                            break;
                    }
                }
                catch (FsTargetException e)
                {
                    text.Append("error ").Append(e.Error);
                    details.Add(e.Message);
                    break;
                }
            }

            try
            {
                await f.CloseAsync(ct).ConfigureAwait(false);
                text.Append("; close ok");
            }
            catch (FsTargetException e)
            {
                text.Append("; close error ").Append(e.Error);
                details.Add(e.Message);
            }

            return new ModelOutcome(text.ToString(), [.. reads], details.Count == 0 ? null : string.Join(" | ", details));
        }
    }

    public override string ToString() => $"handle {Q(Path)}{(Create ? " (O_CREAT)" : "")}: {string.Join("; ", Steps)}";
}

public sealed record ReadAllOp(string Path) : ModelOp
{
    public override IEnumerable<string> Touched => [];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) =>
        Try(async () => ModelOutcome.Read(await fs.ReadAllAsync(J(root, Path), ct).ConfigureAwait(false)));
    public override string ToString() => $"read-all {Q(Path)}";
}

public sealed record ReadAtOp(string Path, long Offset, int Length) : ModelOp
{
    public override IEnumerable<string> Touched => [];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(async () =>
    {
        var f = await fs.OpenAsync(J(root, Path), FsOpenRequest.ReadOnly, ct).ConfigureAwait(false);
        await using (f.ConfigureAwait(false))
        {
            var buffer = new byte[Length];
            var n = 0;
            while (n < buffer.Length)
            {
                var got = await f.ReadAtAsync(Offset + n, buffer.AsMemory(n), ct).ConfigureAwait(false);
                if (got == 0)
                {
                    break;
                }

                n += got;
            }

            await f.CloseAsync(ct).ConfigureAwait(false);
            return ModelOutcome.Read(buffer[..n]);
        }
    });
    public override string ToString() => $"pread {Q(Path)} off={Offset} len={Length}";
}

public sealed record RenameOp(string From, string To, bool NoReplace) : ModelOp
{
    public override IEnumerable<string> Touched => [From, To];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) =>
        Try(() => fs.RenameAsync(J(root, From), J(root, To), NoReplace, ct));
    public override string ToString() => $"rename{(NoReplace ? "(noreplace)" : "")} {Q(From)} -> {Q(To)}";
}

public sealed record UnlinkOp(string Path) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(() => fs.DeleteFileAsync(J(root, Path), ct));
    public override string ToString() => $"unlink {Q(Path)}";
}

public sealed record MkdirOp(string Path) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(() => fs.CreateDirectoryAsync(J(root, Path), ct));
    public override string ToString() => $"mkdir {Q(Path)}";
}

public sealed record RmdirOp(string Path) : ModelOp
{
    public override IEnumerable<string> Touched => [Path];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(() => fs.RemoveDirectoryAsync(J(root, Path), ct));
    public override string ToString() => $"rmdir {Q(Path)}";
}

/// <summary>stat: kind, and size for files (directory sizes and all mtimes differ legitimately).</summary>
public sealed record StatOp(string Path) : ModelOp
{
    public override IEnumerable<string> Touched => [];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(async () =>
    {
        var st = await fs.StatAsync(J(root, Path), ct).ConfigureAwait(false);
        return new ModelOutcome(st.IsFile ? $"ok file {st.Size.ToString(CultureInfo.InvariantCulture)}" : "ok " + st.Kind.ToString().ToLowerInvariant());
    });
    public override string ToString() => $"stat {Q(Path)}";
}

/// <summary>readdir: sorted names with kind and file size.</summary>
public sealed record ListOp(string Path) : ModelOp
{
    public override IEnumerable<string> Touched => [];
    public override Task<ModelOutcome> ApplyAsync(IFsTarget fs, string root, CancellationToken ct) => Try(async () =>
    {
        var entries = await fs.ListAsync(J(root, Path), ct).ConfigureAwait(false);
        return new ModelOutcome("ok [" + string.Join(", ", entries
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => e.IsFile ? $"{e.Name}:{e.Size.ToString(CultureInfo.InvariantCulture)}" : e.Name + "/")) + "]");
    });
    public override string ToString() => $"readdir {Q(Path)}";
}
