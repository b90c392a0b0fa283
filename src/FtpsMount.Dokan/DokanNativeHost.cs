using System.Runtime.Versioning;
using FtpsMount.Dokan.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Dokan;

/// <summary>The real <see cref="IDokanHost"/>: dokan2.dll's DokanResetTimeout and DokanNotify* for one mounted instance.</summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class DokanNativeHost(IFtpLogger log) : IDokanHost
{
    /// <summary>The DOKAN_HANDLE, set once DokanCreateFileSystem returned (notifications before that are dropped).</summary>
    public nint Instance { get; set; }

    /// <summary>"M:" or "C:\mnt\ftp" (no trailing backslash), prefixed to volume paths for notifications.</summary>
    public string MountPoint { get; set; } = "";

    public bool ResetTimeout(uint milliseconds, nint info) => DokanApi.DokanResetTimeout(milliseconds, (DokanFileInfo*)info) != 0;

    public void NotifyCreate(string path, bool isDirectory) =>
        Check("create", path, Instance != 0 && DokanApi.DokanNotifyCreate(Instance, Full(path), isDirectory ? 1 : 0) != 0);

    public void NotifyDelete(string path, bool isDirectory) =>
        Check("delete", path, Instance != 0 && DokanApi.DokanNotifyDelete(Instance, Full(path), isDirectory ? 1 : 0) != 0);

    public void NotifyUpdate(string path) =>
        Check("update", path, Instance != 0 && DokanApi.DokanNotifyUpdate(Instance, Full(path)) != 0);

    public void NotifyRename(string oldPath, string newPath, bool isDirectory, bool sameDirectory) =>
        Check("rename", oldPath, Instance != 0 && DokanApi.DokanNotifyRename(Instance, Full(oldPath), Full(newPath), isDirectory ? 1 : 0, sameDirectory ? 1 : 0) != 0);

    private string Full(string path) => MountPoint.TrimEnd('\\') + (path.StartsWith('\\') ? path : "\\" + path);

    private void Check(string what, string path, bool ok)
    {
        if (!ok)
        {
            log.Log(FtpLogLevel.Debug, $"dokan: change notification ({what}) for {path} was not delivered");
        }
    }
}
