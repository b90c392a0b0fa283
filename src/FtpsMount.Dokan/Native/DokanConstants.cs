#pragma warning disable CA1707 // C names on purpose: the ABI test maps them one to one

namespace FtpsMount.Dokan.Native;

/// <summary>dokan.h (Dokan 2.x) constants under their C names.</summary>
[NativeConstants]
internal static class DokanConst
{
    /// <summary>DOKAN_OPTIONS.Version asked for: 2.0.0, the first version of this API (dokan2.dll).</summary>
    public const int DOKAN_VERSION = 200;
    public const int DOKAN_MINIMUM_COMPATIBLE_VERSION = 200;

    public const int DOKAN_OPTION_DEBUG = 1;
    public const int DOKAN_OPTION_STDERR = 2;
    public const int DOKAN_OPTION_ALT_STREAM = 4;
    public const int DOKAN_OPTION_WRITE_PROTECT = 8;
    public const int DOKAN_OPTION_NETWORK = 16;
    public const int DOKAN_OPTION_REMOVABLE = 32;
    public const int DOKAN_OPTION_MOUNT_MANAGER = 64;
    public const int DOKAN_OPTION_CURRENT_SESSION = 128;
    public const int DOKAN_OPTION_FILELOCK_USER_MODE = 256;
    public const int DOKAN_OPTION_CASE_SENSITIVE = 512;
    public const int DOKAN_OPTION_ENABLE_UNMOUNT_NETWORK_DRIVE = 1024;
    public const int DOKAN_OPTION_DISPATCH_DRIVER_LOGS = 2048;
    public const int DOKAN_OPTION_ALLOW_IPC_BATCHING = 4096;

    // DokanCreateFileSystem / DokanMain results.
    public const int DOKAN_SUCCESS = 0;
    public const int DOKAN_ERROR = -1;
    public const int DOKAN_DRIVE_LETTER_ERROR = -2;
    public const int DOKAN_DRIVER_INSTALL_ERROR = -3;
    public const int DOKAN_START_ERROR = -4;
    public const int DOKAN_MOUNT_ERROR = -5;
    public const int DOKAN_MOUNT_POINT_ERROR = -6;
    public const int DOKAN_VERSION_ERROR = -7;

    public const int VOLUME_SECURITY_DESCRIPTOR_MAX_SIZE = 16384;
}

/// <summary>NTSTATUS values (ntstatus.h) the binding returns. Stored as int: NTSTATUS is a signed LONG.</summary>
[NativeConstants]
internal static class NtStatus
{
    public const int STATUS_SUCCESS = 0;
    public const int STATUS_BUFFER_OVERFLOW = unchecked((int)0x80000005);
    public const int STATUS_NOT_IMPLEMENTED = unchecked((int)0xC0000002);
    public const int STATUS_INVALID_HANDLE = unchecked((int)0xC0000008);
    public const int STATUS_INVALID_PARAMETER = unchecked((int)0xC000000D);
    public const int STATUS_INVALID_DEVICE_REQUEST = unchecked((int)0xC0000010);
    public const int STATUS_END_OF_FILE = unchecked((int)0xC0000011);
    public const int STATUS_ACCESS_DENIED = unchecked((int)0xC0000022);
    public const int STATUS_OBJECT_NAME_INVALID = unchecked((int)0xC0000033);
    public const int STATUS_OBJECT_NAME_NOT_FOUND = unchecked((int)0xC0000034);
    public const int STATUS_OBJECT_NAME_COLLISION = unchecked((int)0xC0000035);
    public const int STATUS_OBJECT_PATH_NOT_FOUND = unchecked((int)0xC000003A);
    public const int STATUS_SHARING_VIOLATION = unchecked((int)0xC0000043);
    public const int STATUS_DISK_FULL = unchecked((int)0xC000007F);
    public const int STATUS_MEDIA_WRITE_PROTECTED = unchecked((int)0xC00000A2);
    public const int STATUS_IO_TIMEOUT = unchecked((int)0xC00000B5);
    public const int STATUS_FILE_IS_A_DIRECTORY = unchecked((int)0xC00000BA);
    public const int STATUS_NOT_SUPPORTED = unchecked((int)0xC00000BB);
    public const int STATUS_NETWORK_BUSY = unchecked((int)0xC00000BF);
    public const int STATUS_UNEXPECTED_NETWORK_ERROR = unchecked((int)0xC00000C4);
    public const int STATUS_UNEXPECTED_IO_ERROR = unchecked((int)0xC00000E9);
    public const int STATUS_DIRECTORY_NOT_EMPTY = unchecked((int)0xC0000101);
    public const int STATUS_NOT_A_DIRECTORY = unchecked((int)0xC0000103);
    public const int STATUS_NAME_TOO_LONG = unchecked((int)0xC0000106);
    public const int STATUS_CANCELLED = unchecked((int)0xC0000120);
    public const int STATUS_CANNOT_DELETE = unchecked((int)0xC0000121);
}

/// <summary>Windows constants (winnt.h, winternl.h/wdm.h) for ZwCreateFile arguments, attributes and volume flags.</summary>
[NativeConstants]
internal static class WinConst
{
    // CreateDisposition (kernel values: what the driver passes to ZwCreateFile).
    public const uint FILE_SUPERSEDE = 0;
    public const uint FILE_OPEN = 1;
    public const uint FILE_CREATE = 2;
    public const uint FILE_OPEN_IF = 3;
    public const uint FILE_OVERWRITE = 4;
    public const uint FILE_OVERWRITE_IF = 5;

    // CreateOptions.
    public const uint FILE_DIRECTORY_FILE = 0x00000001;
    public const uint FILE_NON_DIRECTORY_FILE = 0x00000040;
    public const uint FILE_DELETE_ON_CLOSE = 0x00001000;

    // ACCESS_MASK bits.
    public const uint FILE_READ_DATA = 0x0001;
    public const uint FILE_WRITE_DATA = 0x0002;
    public const uint FILE_APPEND_DATA = 0x0004;
    public const uint FILE_WRITE_EA = 0x0010;
    public const uint FILE_WRITE_ATTRIBUTES = 0x0100;
    public const uint DELETE = 0x00010000;
    public const uint MAXIMUM_ALLOWED = 0x02000000;
    public const uint GENERIC_ALL = 0x10000000;
    public const uint GENERIC_WRITE = 0x40000000;
    public const uint GENERIC_READ = 0x80000000;

    // File attributes.
    public const uint FILE_ATTRIBUTE_READONLY = 0x0001;
    public const uint FILE_ATTRIBUTE_HIDDEN = 0x0002;
    public const uint FILE_ATTRIBUTE_DIRECTORY = 0x0010;
    public const uint FILE_ATTRIBUTE_ARCHIVE = 0x0020;
    public const uint FILE_ATTRIBUTE_NORMAL = 0x0080;
    public const uint FILE_ATTRIBUTE_REPARSE_POINT = 0x0400;

    // GetVolumeInformation FileSystemFlags.
    public const uint FILE_CASE_SENSITIVE_SEARCH = 0x00000001;
    public const uint FILE_CASE_PRESERVED_NAMES = 0x00000002;
    public const uint FILE_UNICODE_ON_DISK = 0x00000004;
    public const uint FILE_READ_ONLY_VOLUME = 0x00080000;

    // WaitForSingleObject results (DokanWaitForFileSystemClosed).
    public const uint WAIT_OBJECT_0 = 0;
    public const uint WAIT_TIMEOUT = 0x102;
}
