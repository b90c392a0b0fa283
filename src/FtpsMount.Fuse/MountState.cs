namespace FtpsMount.Fuse;

/// <summary>What the kernel's mount table says about a path (for the CLI's --daemon wait and status).</summary>
public static class MountState
{
    /// <summary>True when something is mounted exactly on <paramref name="mountPoint"/>.</summary>
    public static bool IsMounted(string mountPoint) => MountTable.Find(MountTable.Normalize(mountPoint)) is not null;
}
