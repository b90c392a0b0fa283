using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FtpsMount.Fuse.Native;

/// <summary>
/// libfuse3's high-level API, loaded at run time and bound through function pointers.
///
/// <para><b>Library.</b> "libfuse3.so.3" (Debian 12: 3.14) first, then "libfuse3.so.4" (libfuse ≥ 3.17, whose
/// soname changed).</para>
///
/// <para><b>Versioned symbols.</b> libfuse exports several versions of some functions under one name, and plain
/// dlsym (<see cref="NativeLibrary.GetExport"/>) returns whichever is the library's default, so the binding asks
/// for exact versions with dlvsym where the signature changed:</para>
/// <list type="bullet">
/// <item><c>fuse_new</c>. 3.1–3.16: <c>fuse_new@FUSE_3.1</c> = fuse_new_31(args, ops, ops_size, user_data) — on 3.14
/// this is also the default dlsym answer, while <c>fuse_new@FUSE_3.0</c> is the 3.0 variant with different option
/// semantics. ≥ 3.17: the header's fuse_new is an inline wrapper calling <c>_fuse_new_31</c>(args, ops, ops_size,
/// struct libfuse_version*, user_data); when that symbol exists (≥ 3.17, .so.4) it is used and given the version of
/// the headers our struct layouts were checked against (3.14), which tells libfuse we use the pre-3.17
/// <c>fuse_conn_info.want</c> field. Builds without symbol versioning export <c>fuse_new_31</c> plainly; that is the
/// last fallback.</item>
/// <item><c>fuse_loop_mt</c>. <c>fuse_loop_mt@FUSE_3.12</c> takes the opaque config of fuse_loop_cfg_create (3.12+,
/// including 3.14 and ≥ 3.17); older libraries only have <c>fuse_loop_mt_31@FUSE_3.2</c>(fuse, clone_fd).</item>
/// </list>
/// <para>The .so.4 path follows libfuse's published headers and issue reports (libfuse#1196, #1397); it is not
/// exercised on this Debian 12 machine, which only has 3.14.</para>
///
/// <para><b>Signals.</b> fuse_set_signal_handlers is deliberately not used: the .NET runtime owns SIGINT/SIGTERM/SIGHUP
/// (libfuse only installs handlers over SIG_DFL and would be a no-op or fight the runtime). The host process turns
/// signals into cancellation (PosixSignalRegistration) and <see cref="FuseMount"/> exits the session and unmounts.
/// SIGPIPE is already ignored by the runtime.</para>
/// </summary>
internal sealed unsafe class LibFuse
{
    private static readonly Lock s_lock = new();
    private static LibFuse? s_instance;

    // Read on every callback; set once by Load.
    private static delegate* unmanaged<FuseContext*> s_getContext;

    private readonly nint _library;
    private readonly delegate* unmanaged<FuseArgs*, FuseOperations*, nuint, nint, nint> _new31;
    private readonly delegate* unmanaged<FuseArgs*, FuseOperations*, nuint, LibFuseVersion*, nint, nint> _newVersioned;
    private readonly delegate* unmanaged<nint, byte*, int> _mount;
    private readonly delegate* unmanaged<nint, void> _unmount;
    private readonly delegate* unmanaged<nint, void> _destroy;
    private readonly delegate* unmanaged<nint, nint> _getSession;
    private readonly delegate* unmanaged<nint, void> _sessionExit;
    private readonly delegate* unmanaged<nint, nint, int> _loopMt312;
    private readonly delegate* unmanaged<nint, int, int> _loopMt31;
    private readonly delegate* unmanaged<nint> _loopCfgCreate;
    private readonly delegate* unmanaged<nint, void> _loopCfgDestroy;
    private readonly delegate* unmanaged<nint, uint, void> _loopCfgSetMaxThreads;
    private readonly delegate* unmanaged<nint, uint, void> _loopCfgSetIdleThreads;
    private readonly delegate* unmanaged<nint, uint, void> _loopCfgSetCloneFd;
    private readonly delegate* unmanaged<FuseArgs*, void> _optFreeArgs;

    private LibFuse(string name, nint library)
    {
        LibraryName = name;
        _library = library;

        // fuse_new: see the class comment for the order.
        var versioned = FirstSymbol(["_fuse_new_31", "_fuse_new_317", "_fuse_new"]);
        if (versioned.Address != 0)
        {
            _newVersioned = (delegate* unmanaged<FuseArgs*, FuseOperations*, nuint, LibFuseVersion*, nint, nint>)versioned.Address;
            NewSymbol = versioned.Name + " (libfuse ≥ 3.17 ABI)";
        }
        else
        {
            var address = DynamicLinker.VersionedSymbol(library, "fuse_new", "FUSE_3.1");
            NewSymbol = "fuse_new@FUSE_3.1";
            if (address == 0)
            {
                address = DynamicLinker.DefaultSymbol(library, "fuse_new_31");
                NewSymbol = "fuse_new_31";
            }

            if (address == 0)
            {
                throw Missing("fuse_new@FUSE_3.1, fuse_new_31 or _fuse_new_31");
            }

            _new31 = (delegate* unmanaged<FuseArgs*, FuseOperations*, nuint, nint, nint>)address;
        }

        // fuse_loop_mt with the 3.12 config API, else the 3.2 one.
        var loop312 = DynamicLinker.VersionedSymbol(library, "fuse_loop_mt", "FUSE_3.12");
        LoopSymbol = "fuse_loop_mt@FUSE_3.12";
        if (loop312 == 0)
        {
            loop312 = DynamicLinker.DefaultSymbol(library, "fuse_loop_mt_312");
            LoopSymbol = "fuse_loop_mt_312";
        }

        var cfgCreate = DynamicLinker.DefaultSymbol(library, "fuse_loop_cfg_create");
        if (loop312 != 0 && cfgCreate != 0)
        {
            _loopMt312 = (delegate* unmanaged<nint, nint, int>)loop312;
            _loopCfgCreate = (delegate* unmanaged<nint>)cfgCreate;
            _loopCfgDestroy = (delegate* unmanaged<nint, void>)Required("fuse_loop_cfg_destroy");
            _loopCfgSetMaxThreads = (delegate* unmanaged<nint, uint, void>)Required("fuse_loop_cfg_set_max_threads");
            _loopCfgSetIdleThreads = (delegate* unmanaged<nint, uint, void>)Required("fuse_loop_cfg_set_idle_threads");
            _loopCfgSetCloneFd = (delegate* unmanaged<nint, uint, void>)Required("fuse_loop_cfg_set_clone_fd");
        }
        else
        {
            var loop31 = DynamicLinker.VersionedSymbol(library, "fuse_loop_mt_31", "FUSE_3.2");
            if (loop31 == 0)
            {
                loop31 = DynamicLinker.DefaultSymbol(library, "fuse_loop_mt_31");
            }

            if (loop31 == 0)
            {
                throw Missing("fuse_loop_mt@FUSE_3.12 or fuse_loop_mt_31");
            }

            _loopMt31 = (delegate* unmanaged<nint, int, int>)loop31;
            LoopSymbol = "fuse_loop_mt_31";
        }

        _mount = (delegate* unmanaged<nint, byte*, int>)Required("fuse_mount");
        _unmount = (delegate* unmanaged<nint, void>)Required("fuse_unmount");
        _destroy = (delegate* unmanaged<nint, void>)Required("fuse_destroy");
        _getSession = (delegate* unmanaged<nint, nint>)Required("fuse_get_session");
        _sessionExit = (delegate* unmanaged<nint, void>)Required("fuse_session_exit");
        _optFreeArgs = (delegate* unmanaged<FuseArgs*, void>)Required("fuse_opt_free_args");
        s_getContext = (delegate* unmanaged<FuseContext*>)Required("fuse_get_context");

        var pkgVersion = DynamicLinker.DefaultSymbol(library, "fuse_pkgversion");
        Version = pkgVersion == 0 ? "unknown" : Marshal.PtrToStringUTF8((nint)((delegate* unmanaged<byte*>)pkgVersion)()) ?? "unknown";

        // fuse_set_log_func (3.7+): libfuse's messages ("fuse: bad mount point ...") go to our log instead of stderr.
        var setLogFunc = DynamicLinker.DefaultSymbol(library, "fuse_set_log_func");
        if (setLogFunc != 0)
        {
            ((delegate* unmanaged<nint, void>)setLogFunc)((nint)(delegate* unmanaged[Cdecl]<int, byte*, nint, void>)&OnLibFuseLog);
        }
    }

    /// <summary>Which library was loaded ("libfuse3.so.3").</summary>
    public string LibraryName { get; }

    /// <summary>fuse_pkgversion(), e.g. "3.14.0".</summary>
    public string Version { get; }

    /// <summary>Which fuse_new and fuse_loop_mt were bound (for logs).</summary>
    public string NewSymbol { get; }
    public string LoopSymbol { get; }

    /// <summary>Receives libfuse's log lines (level per enum fuse_log_level: 0 emerg … 3 err, 4 warning … 7 debug).
    /// Process-wide, as fuse_set_log_func is.</summary>
    public static Action<int, string>? LogSink { get; set; }

    /// <summary>Loads libfuse once per process.</summary>
    /// <exception cref="FuseMountException">With <see cref="FuseMountFailure.LibraryMissing"/>.</exception>
    public static LibFuse Load()
    {
        lock (s_lock)
        {
            if (s_instance is not null)
            {
                return s_instance;
            }

            var tried = new StringBuilder();
            foreach (var name in (string[])["libfuse3.so.3", "libfuse3.so.4"])
            {
                if (!NativeLibrary.TryLoad(name, out var handle))
                {
                    tried.Append(name).Append(": not found; ");
                    continue;
                }

                s_instance = new LibFuse(name, handle);
                return s_instance;
            }

            throw new FuseMountException(FuseMountFailure.LibraryMissing,
                $"libfuse 3 is not installed ({tried.ToString().TrimEnd(' ', ';')}). Install it: `apt-get install fuse3` " +
                "(Debian/Ubuntu; package libfuse3-3 or libfuse3-4), `dnf install fuse3` (Fedora).");
        }
    }

    private nint Required(string name)
    {
        var address = DynamicLinker.DefaultSymbol(_library, name);
        return address != 0 ? address : throw Missing(name);
    }

    private (string Name, nint Address) FirstSymbol(string[] names)
    {
        foreach (var name in names)
        {
            var address = DynamicLinker.DefaultSymbol(_library, name);
            if (address != 0)
            {
                return (name, address);
            }
        }

        return ("", 0);
    }

    private FuseMountException Missing(string symbol) => new(FuseMountFailure.LibraryMissing,
        $"{LibraryName} does not export {symbol}: unsupported libfuse version (3.2 or newer is needed).");

    /// <summary>The calling request's context, or null outside a request.</summary>
    public static FuseContext* GetContext() => s_getContext == null ? null : s_getContext();

    public nint New(FuseArgs* args, FuseOperations* operations, nint userData)
    {
        if (_newVersioned != null)
        {
            var version = new LibFuseVersion { major = FuseConst.FUSE_MAJOR_VERSION, minor = FuseConst.FUSE_MINOR_VERSION };
            return _newVersioned(args, operations, (nuint)sizeof(FuseOperations), &version, userData);
        }

        return _new31(args, operations, (nuint)sizeof(FuseOperations), userData);
    }

    public int Mount(nint fuse, string mountPoint)
    {
        var bytes = Encoding.UTF8.GetBytes(mountPoint + "\0");
        fixed (byte* p = bytes)
        {
            return _mount(fuse, p);
        }
    }

    public void Unmount(nint fuse) => _unmount(fuse);
    public void Destroy(nint fuse) => _destroy(fuse);
    public nint GetSession(nint fuse) => _getSession(fuse);
    public void SessionExit(nint session) => _sessionExit(session);
    public void FreeArgs(FuseArgs* args) => _optFreeArgs(args);

    /// <summary>Runs the multi-threaded loop until the filesystem is unmounted or the session exits. One worker thread
    /// per concurrent kernel request, at most <paramref name="maxThreads"/>; idle workers are kept up to that number
    /// (each worker is a .NET-attached thread, so churn is avoided). One /dev/fuse fd shared by all (clone_fd off).</summary>
    public int LoopMultiThreaded(nint fuse, int maxThreads)
    {
        if (_loopMt312 == null)
        {
            return _loopMt31(fuse, 0);
        }

        var config = _loopCfgCreate();
        if (config == 0)
        {
            throw new OutOfMemoryException("fuse_loop_cfg_create failed");
        }

        try
        {
            _loopCfgSetCloneFd(config, 0);
            _loopCfgSetMaxThreads(config, (uint)maxThreads);
            _loopCfgSetIdleThreads(config, (uint)maxThreads);
            return _loopMt312(fuse, config);
        }
        finally
        {
            _loopCfgDestroy(config);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLibFuseLog(int level, byte* format, nint args)
    {
        try
        {
            const int Size = 2048;
            var buffer = stackalloc byte[Size];
            var n = LibC.VsnPrintf(buffer, Size, format, args);
            if (n < 0)
            {
                return;
            }

            var text = Encoding.UTF8.GetString(buffer, Math.Min(n, Size - 1)).TrimEnd('\n');
            var sink = LogSink;
            if (sink is not null)
            {
                sink(level, text);
            }
            else
            {
                Console.Error.WriteLine(text);
            }
        }
#pragma warning disable CA1031 // nothing may unwind into libfuse
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"ftpsmount: failed to log a libfuse message: {ex.GetType().Name}: {ex.Message}");
        }
    }
}
