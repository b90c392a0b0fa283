using System.Runtime.InteropServices;

namespace FtpsMount.Fuse.Native;

/// <summary>
/// Marks a C# struct that mirrors a C struct. The ABI test (tests/FtpsMount.Fuse.Tests/AbiProbeTests.cs) finds every
/// struct carrying this attribute and compares its size and the offset of each field whose name does not start with
/// "__" (private padding, covered by the size) with what native/fuse_abi_probe.c prints for <see cref="Name"/>.
/// Field names are the C names, on purpose: the test maps them one to one.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
internal sealed class NativeStructAttribute : Attribute
{
    public NativeStructAttribute(string name) => Name = name;

    /// <summary>For layouts that differ between architectures (struct stat).</summary>
    public NativeStructAttribute(string name, Architecture architecture)
    {
        Name = name;
        Architecture = architecture;
        ArchitectureSpecific = true;
    }

    public string Name { get; }
    public Architecture Architecture { get; }
    public bool ArchitectureSpecific { get; }
}

/// <summary>
/// Marks a static class whose <c>const</c> fields are C constants under their C names. The ABI test compares each with
/// the probe's "const NAME value" line, and every probed constant must be declared in one such class.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class NativeConstantsAttribute : Attribute
{
}
