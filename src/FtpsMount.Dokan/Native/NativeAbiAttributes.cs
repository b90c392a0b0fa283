namespace FtpsMount.Dokan.Native;

/// <summary>
/// Marks a C# struct that mirrors a C struct of dokan.h or the Windows headers (x64). The ABI test
/// (tests/FtpsMount.Dokan.Tests/AbiProbeTests.cs) compiles native/dokan_abi_probe.c with the MinGW-w64 cross compiler
/// and compares the size and every field offset (fields named "__…" are padding, covered by the size) with what the
/// probe reports for <see cref="Name"/>. Field names are the C names so the test can map them one to one.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
internal sealed class NativeStructAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Marks a static class whose <c>const</c> fields are C constants under their C names; the ABI test compares
/// each with the value the Windows/Dokan headers give, and every probed constant must be declared in one such class.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class NativeConstantsAttribute : Attribute
{
}
