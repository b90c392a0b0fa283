using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using FtpsMount.Dokan.Native;
using FtpsMount.Testing;

namespace FtpsMount.Dokan.Tests;

/// <summary>
/// Runs native/dokan-probe.sh (dokan.h 2.x restated over the MinGW-w64 Windows headers, sizes and offsets computed by
/// the x86_64-w64-mingw32 cross compiler) and checks, in both directions, that every C# mirror ([NativeStruct]) has the
/// x64 size and field offsets — in the marshaller's view and in the runtime's (the trampolines use raw pointers) — and
/// that every hard-coded constant ([NativeConstants]) has the header's value. A missing cross compiler fails the test
/// (tests/scripts/install-test-deps.sh installs gcc-mingw-w64-x86-64).
/// </summary>
public sealed class AbiProbeTests
{
    private static readonly Lazy<Dictionary<string, long>> s_probe = new(RunProbe);

    private static Dictionary<string, long> RunProbe()
    {
        var script = RepositoryPaths.File("native", "dokan-probe.sh");
        var start = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start bash");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill();
            throw new TimeoutException("dokan-probe.sh did not finish within a minute");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"native/dokan-probe.sh failed (exit {process.ExitCode}). It needs x86_64-w64-mingw32-gcc: run tests/scripts/install-test-deps.sh as root (apt-get install gcc-mingw-w64-x86-64).\n{stderr.Result}");
        }

        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.LastIndexOf(' ');
            values.Add(line[..space], long.Parse(line[(space + 1)..], CultureInfo.InvariantCulture));
        }

        return values;
    }

    private static IEnumerable<(Type Type, string Name)> BoundStructs() =>
        typeof(DokanMount).Assembly.GetTypes()
            .Select(t => (Type: t, Attribute: t.GetCustomAttribute<NativeStructAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Type, x.Attribute!.Name));

    private static IEnumerable<FieldInfo> Fields(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).Where(f => !f.Name.StartsWith("__", StringComparison.Ordinal));

    private static int RuntimeSize(Type type) =>
        (int)typeof(System.Runtime.CompilerServices.Unsafe).GetMethod(nameof(System.Runtime.CompilerServices.Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;

    [Fact]
    public void Every_bound_struct_has_the_x64_size_and_field_offsets()
    {
        var probe = s_probe.Value;
        var problems = new List<string>();
        var structs = BoundStructs().ToList();
        Assert.Equal(6, structs.Count);
        foreach (var (type, name) in structs)
        {
            if (!probe.TryGetValue(name, out var size))
            {
                problems.Add($"{name}: bound as {type.Name} but not printed by the probe");
                continue;
            }

            if (Marshal.SizeOf(type) != size || RuntimeSize(type) != size)
            {
                problems.Add($"sizeof({name}) is {size} in C, {Marshal.SizeOf(type)} (marshalled) / {RuntimeSize(type)} (runtime) in {type.Name}");
            }

            foreach (var field in Fields(type))
            {
                var key = name + "." + field.Name;
                var offset = Marshal.OffsetOf(type, field.Name).ToInt64();
                if (!probe.TryGetValue(key, out var expected))
                {
                    problems.Add($"{key}: declared in {type.Name} but not printed by the probe");
                }
                else if (expected != offset)
                {
                    problems.Add($"{key}: offset {expected} in C, {offset} in {type.Name}");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Every_struct_and_field_the_probe_prints_is_bound()
    {
        var probe = s_probe.Value;
        var structs = BoundStructs().ToDictionary(x => x.Name, x => x.Type, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var key in probe.Keys.Where(k => !k.StartsWith("const ", StringComparison.Ordinal)))
        {
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            var structName = dot < 0 ? key : key[..dot];
            if (!structs.TryGetValue(structName, out var type))
            {
                problems.Add($"{structName}: printed by the probe but not bound");
            }
            else if (dot >= 0 && Fields(type).All(f => f.Name != key[(dot + 1)..]))
            {
                problems.Add($"{key}: printed by the probe but {type.Name} has no such field");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Every_hard_coded_constant_has_the_header_value_and_every_probed_one_is_declared()
    {
        var probe = s_probe.Value;
        var declared = typeof(DokanMount).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<NativeConstantsAttribute>() is not null)
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static).Where(f => f.IsLiteral))
            .ToDictionary(f => f.Name, f => Convert.ToInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture), StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, value) in declared)
        {
            if (!probe.TryGetValue("const " + name, out var expected))
            {
                problems.Add($"{name}: declared but not printed by the probe");
            }
            else if (expected != value)
            {
                problems.Add($"{name}: {expected} in C, {value} in C#");
            }
        }

        problems.AddRange(probe.Keys.Where(k => k.StartsWith("const ", StringComparison.Ordinal) && !declared.ContainsKey(k[6..]))
            .Select(k => $"{k[6..]}: printed by the probe but not declared"));
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }
}
