using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using FtpsMount.Fuse.Native;
using FtpsMount.Testing;

namespace FtpsMount.Fuse.Tests;

/// <summary>
/// Compiles native/fuse_abi_probe.c against the installed libfuse3 headers and checks, in both directions, that every
/// C# mirror struct ([NativeStruct]) has the C size and field offsets, that the fuse_file_info bitfields sit where the
/// masks say, and that every hard-coded constant ([NativeConstants]) has the C value. A missing gcc or missing headers
/// fail the test (tests/scripts/install-test-deps.sh installs libfuse3-dev).
/// </summary>
public sealed class AbiProbeTests
{
    private static readonly Lazy<Dictionary<string, long>> s_probe = new(RunProbe);

    private static Dictionary<string, long> RunProbe()
    {
        var script = RepositoryPaths.File("native", "build-probe.sh");
        var output = Path.Combine(Path.GetTempPath(), $"ftpsmount-fuse-abi-probe-{Environment.ProcessId}");
        try
        {
            var build = Run("/bin/bash", [script, output]);
            if (build.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"Building the libfuse3 ABI probe failed (exit {build.ExitCode}). It needs gcc, pkg-config and libfuse3-dev: " +
                    $"run tests/scripts/install-test-deps.sh as root (and `apt-get install gcc pkg-config`).\n{build.Stderr}");
            }

            var run = Run(output, []);
            Assert.True(run.ExitCode == 0, $"the probe failed: {run.Stderr}");
            var values = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var line in run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var space = line.LastIndexOf(' ');
                values.Add(line[..space], long.Parse(line[(space + 1)..], CultureInfo.InvariantCulture));
            }

            return values;
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new TimeoutException($"{file} did not finish within 2 minutes");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static IEnumerable<(Type Type, NativeStructAttribute Attribute)> BoundStructs() =>
        typeof(FuseMount).Assembly.GetTypes()
            .Select(t => (Type: t, Attribute: t.GetCustomAttribute<NativeStructAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Type, x.Attribute!));

    private static IEnumerable<(Type Type, NativeStructAttribute Attribute)> StructsForThisMachine() =>
        BoundStructs().Where(x => !x.Attribute.ArchitectureSpecific || x.Attribute.Architecture == RuntimeInformation.ProcessArchitecture);

    private static IEnumerable<FieldInfo> ComparedFields(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            .Where(f => !f.Name.StartsWith("__", StringComparison.Ordinal));

    /// <summary>Name of a field as C knows it (@lock → lock; fixed buffers appear as compiler-generated nested types).</summary>
    private static string CName(FieldInfo field) => field.Name;

    [Fact]
    public void Every_bound_struct_has_the_C_size_and_field_offsets()
    {
        var probe = s_probe.Value;
        var problems = new List<string>();
        var structs = StructsForThisMachine().ToList();
        Assert.NotEmpty(structs);
        foreach (var (type, attribute) in structs)
        {
            if (!probe.TryGetValue(attribute.Name, out var size))
            {
                problems.Add($"{attribute.Name}: bound as {type.Name} but not printed by the probe");
                continue;
            }

            if (Marshal.SizeOf(type) != size)
            {
                problems.Add($"sizeof({attribute.Name}) is {size} in C, {Marshal.SizeOf(type)} in {type.Name}");
            }

            foreach (var field in ComparedFields(type))
            {
                var key = attribute.Name + "." + CName(field);
                var offset = Marshal.OffsetOf(type, field.Name).ToInt64();
                if (!probe.TryGetValue(key, out var expected))
                {
                    problems.Add($"{key}: declared in {type.Name} but not printed by the probe");
                }
                else if (expected != offset)
                {
                    problems.Add($"{key}: offset {expected} in C, {offset} in {type.Name}");
                }

                if (probe.TryGetValue(key + ":size", out var fieldSize) && Marshal.SizeOf(field.FieldType) != fieldSize)
                {
                    problems.Add($"{key}: {fieldSize} bytes in C, {Marshal.SizeOf(field.FieldType)} in {type.Name}");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Every_struct_and_field_the_probe_prints_is_bound()
    {
        var probe = s_probe.Value;
        var structs = StructsForThisMachine().ToDictionary(x => x.Attribute.Name, x => x.Type, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var key in probe.Keys.Where(k => !k.StartsWith("const ", StringComparison.Ordinal) && !k.Contains(':', StringComparison.Ordinal)))
        {
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            var structName = dot < 0 ? key : key[..dot];
            if (!structs.TryGetValue(structName, out var type))
            {
                problems.Add($"{structName}: printed by the probe but no [NativeStruct(\"{structName}\")] in the binding");
            }
            else if (dot >= 0 && ComparedFields(type).All(f => CName(f) != key[(dot + 1)..]))
            {
                problems.Add($"{key}: printed by the probe but {type.Name} has no such field");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Fuse_file_info_bitfields_sit_where_the_masks_say()
    {
        var probe = s_probe.Value;
        var wordOffset = Marshal.OffsetOf<FuseFileInfo>(nameof(FuseFileInfo.__bits)).ToInt64();
        Assert.True(BitConverter.IsLittleEndian, "the bit positions below assume little-endian");
        var declared = FuseFileInfo.BitFields.ToDictionary(b => b.Name, b => b.Mask, StringComparer.Ordinal);
        var probed = probe.Where(p => p.Key.StartsWith("fuse_file_info.", StringComparison.Ordinal) && p.Key.EndsWith(":bit", StringComparison.Ordinal))
            .ToDictionary(p => p.Key["fuse_file_info.".Length..^":bit".Length], p => p.Value, StringComparer.Ordinal);

        Assert.Equal(probed.Keys.Order(StringComparer.Ordinal), declared.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bit) in probed)
        {
            var mask = declared[name];
            Assert.True(BitOperations.IsPow2(mask), $"{name}: mask 0x{mask:x} is not one bit");
            var absolute = (wordOffset * 8) + BitOperations.TrailingZeroCount(mask);
            Assert.True(absolute == bit, $"fuse_file_info.{name}: bit {bit} in C, {absolute} in FuseFileInfo");
        }
    }

    [Fact]
    public void Every_hard_coded_constant_has_the_C_value()
    {
        var probe = s_probe.Value;
        var declared = typeof(FuseMount).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<NativeConstantsAttribute>() is not null)
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static).Where(f => f.IsLiteral))
            .ToDictionary(f => f.Name, f => Convert.ToInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture), StringComparer.Ordinal);
        var probed = probe.Where(p => p.Key.StartsWith("const ", StringComparison.Ordinal))
            .ToDictionary(p => p.Key["const ".Length..], p => p.Value, StringComparer.Ordinal);

        var problems = new List<string>();
        foreach (var (name, value) in probed)
        {
            if (!declared.TryGetValue(name, out var mine))
            {
                problems.Add($"{name}: printed by the probe but not declared in a [NativeConstants] class");
            }
            else if (mine != value)
            {
                problems.Add($"{name}: {value} in C, {mine} in the binding");
            }
        }

        problems.AddRange(declared.Keys.Except(probed.Keys).Select(name => $"{name}: declared in the binding but not checked by the probe"));
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void The_probe_covers_the_operations_table_completely()
    {
        // 42 slots in 3.14; a table shorter than libfuse's would shift nothing, but a wrong count means a wrong header.
        var probe = s_probe.Value;
        Assert.Equal(probe["fuse_operations"], Marshal.SizeOf<FuseOperations>());
        Assert.Equal(probe["fuse_operations"] / IntPtr.Size, typeof(FuseOperations).GetFields().Length);
    }
}
