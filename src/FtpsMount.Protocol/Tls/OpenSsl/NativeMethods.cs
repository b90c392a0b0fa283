using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace FtpsMount.Protocol.Tls.OpenSsl;

/// <summary>
/// The slice of the OpenSSL 3 API the engine uses. Signatures assume an LP64 platform (C <c>long</c> is
/// 64-bit), which holds for every platform the engine is enabled on (Linux, macOS, BSD; never Windows).
/// Constants are the values from OpenSSL 3.0's public headers (ssl.h, bio.h, crypto.h).
/// </summary>
internal static unsafe partial class NativeMethods
{
    // Names the P/Invokes are bound to; the resolver below maps them to whichever file really loads.
    internal const string Ssl = "libssl.so.3";
    internal const string Crypto = "libcrypto.so.3";

    // ssl.h
    internal const int SSL_ERROR_NONE = 0;
    internal const int SSL_ERROR_SSL = 1;
    internal const int SSL_ERROR_WANT_READ = 2;
    internal const int SSL_ERROR_WANT_WRITE = 3;
    internal const int SSL_ERROR_SYSCALL = 5;
    internal const int SSL_ERROR_ZERO_RETURN = 6;

    internal const int SSL_CTRL_MODE = 33;
    internal const int SSL_CTRL_SET_SESS_CACHE_MODE = 44;
    internal const int SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
    internal const int SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
    internal const int SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
    internal const int TLSEXT_NAMETYPE_host_name = 0;

    internal const long SSL_MODE_AUTO_RETRY = 0x4;
    internal const long SSL_MODE_RELEASE_BUFFERS = 0x10;

    internal const long SSL_SESS_CACHE_CLIENT = 0x0001;
    internal const long SSL_SESS_CACHE_NO_INTERNAL_STORE = 0x0200;

    internal const ulong SSL_OP_NO_COMPRESSION = 1UL << 17;
    internal const ulong SSL_OP_NO_RENEGOTIATION = 1UL << 30;

    internal const int SSL_VERIFY_NONE = 0;
    internal const int SSL_FILETYPE_PEM = 1;
    internal const int SSL_SENT_SHUTDOWN = 1;
    internal const int SSL_RECEIVED_SHUTDOWN = 2;

    internal const int TLS1_2_VERSION = 0x0303;
    internal const int TLS1_3_VERSION = 0x0304;

    // bio.h
    internal const int BIO_CTRL_PENDING = 10;
    internal const int BIO_C_SET_BUF_MEM_EOF_RETURN = 130;

    // crypto.h
    internal const int CRYPTO_EX_INDEX_SSL = 0;
    internal const int OPENSSL_VERSION = 0;

    static NativeMethods()
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // Another part of this assembly installed a resolver first; default probing of the
            // versioned names (libssl.so.3) still works wherever OpenSSL 3 is installed normally.
        }
    }

    /// <summary>Forces the static constructor (the resolver) to run before the first P/Invoke.</summary>
    internal static void EnsureResolver() { }

    // Candidates per logical name. The unversioned names are development symlinks that may point at
    // another major version, so they are only accepted when they export an OpenSSL-3-only symbol.
    private static readonly (string Logical, string[] Files, string Marker)[] Candidates =
    [
        (Ssl, ["libssl.so.3", "libssl.so", "libssl.3.dylib", "libssl.dylib"], "SSL_get1_peer_certificate"),
        (Crypto, ["libcrypto.so.3", "libcrypto.so", "libcrypto.3.dylib", "libcrypto.dylib"], "OSSL_LIB_CTX_new"),
    ];

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        foreach (var (logical, files, marker) in Candidates)
        {
            if (libraryName != logical)
                continue;
            foreach (var file in files)
            {
                if (!NativeLibrary.TryLoad(file, out var handle))
                    continue;
                if (NativeLibrary.TryGetExport(handle, marker, out _))
                    return handle;
                NativeLibrary.Free(handle);
            }
        }
        return IntPtr.Zero; // not ours, or nothing fits: let the runtime probe (and fail) as usual
    }

    // ---- libcrypto ----

    [LibraryImport(Crypto)]
    internal static partial nint OpenSSL_version(int type);

    [LibraryImport(Crypto)]
    internal static partial nuint OpenSSL_version_num();

    [LibraryImport(Crypto)]
    internal static partial nuint ERR_get_error();

    [LibraryImport(Crypto)]
    internal static partial void ERR_clear_error();

    [LibraryImport(Crypto)]
    internal static partial void ERR_error_string_n(nuint e, byte* buf, nuint len);

    [LibraryImport(Crypto)]
    internal static partial nint BIO_s_mem();

    [LibraryImport(Crypto)]
    internal static partial nint BIO_new(nint type);

    [LibraryImport(Crypto)]
    internal static partial int BIO_free(nint bio);

    [LibraryImport(Crypto)]
    internal static partial int BIO_read(nint bio, byte* data, int dlen);

    [LibraryImport(Crypto)]
    internal static partial int BIO_write(nint bio, byte* data, int dlen);

    [LibraryImport(Crypto)]
    internal static partial nint BIO_ctrl(nint bio, int cmd, nint larg, nint parg);

    [LibraryImport(Crypto)]
    internal static partial int i2d_X509(nint x509, byte** output);

    [LibraryImport(Crypto)]
    internal static partial void X509_free(nint x509);

    [LibraryImport(Crypto)]
    internal static partial int OPENSSL_sk_num(nint stack);

    [LibraryImport(Crypto)]
    internal static partial nint OPENSSL_sk_value(nint stack, int index);

    [LibraryImport(Crypto)]
    internal static partial int CRYPTO_get_ex_new_index(int classIndex, nint argl, nint argp, nint newFunc, nint dupFunc, nint freeFunc);

    // ---- libssl ----

    [LibraryImport(Ssl)]
    internal static partial int OPENSSL_init_ssl(ulong opts, nint settings);

    [LibraryImport(Ssl)]
    internal static partial nint TLS_client_method();

    [LibraryImport(Ssl)]
    internal static partial SafeSslContextHandle SSL_CTX_new(nint method);

    [LibraryImport(Ssl)]
    internal static partial void SSL_CTX_free(nint ctx);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_CTX_ctrl(SafeSslContextHandle ctx, int cmd, nint larg, nint parg);

    [LibraryImport(Ssl)]
    internal static partial ulong SSL_CTX_set_options(SafeSslContextHandle ctx, ulong options);

    [LibraryImport(Ssl)]
    internal static partial void SSL_CTX_set_verify(SafeSslContextHandle ctx, int mode, nint callback);

    [LibraryImport(Ssl)]
    internal static partial void SSL_CTX_sess_set_new_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, nint, int> callback);

    [LibraryImport(Ssl)]
    internal static partial void SSL_CTX_set_default_passwd_cb(SafeSslContextHandle ctx, delegate* unmanaged<byte*, int, int, nint, int> callback);

    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int SSL_CTX_use_certificate_chain_file(SafeSslContextHandle ctx, string file);

    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int SSL_CTX_use_PrivateKey_file(SafeSslContextHandle ctx, string file, int type);

    [LibraryImport(Ssl)]
    internal static partial int SSL_CTX_check_private_key(SafeSslContextHandle ctx);

    [LibraryImport(Ssl)]
    internal static partial SafeSslHandle SSL_new(SafeSslContextHandle ctx);

    [LibraryImport(Ssl)]
    internal static partial void SSL_free(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial void SSL_set_bio(nint ssl, nint rbio, nint wbio);

    [LibraryImport(Ssl)]
    internal static partial void SSL_set_connect_state(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_ctrl(nint ssl, int cmd, nint larg, nint parg);

    [LibraryImport(Ssl)]
    internal static partial int SSL_set_ex_data(nint ssl, int index, nint data);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_get_ex_data(nint ssl, int index);

    [LibraryImport(Ssl)]
    internal static partial int SSL_do_handshake(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial int SSL_read_ex(nint ssl, byte* buf, nuint num, nuint* readBytes);

    [LibraryImport(Ssl)]
    internal static partial int SSL_write_ex(nint ssl, byte* buf, nuint num, nuint* written);

    [LibraryImport(Ssl)]
    internal static partial int SSL_get_error(nint ssl, int ret);

    [LibraryImport(Ssl)]
    internal static partial int SSL_shutdown(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial int SSL_get_shutdown(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial int SSL_set_session(nint ssl, nint session);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_get1_session(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial int SSL_session_reused(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial void SSL_SESSION_free(nint session);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_SESSION_dup(nint session);

    [LibraryImport(Ssl)]
    internal static partial int SSL_SESSION_up_ref(nint session);

    [LibraryImport(Ssl)]
    internal static partial int SSL_SESSION_is_resumable(nint session);

    [LibraryImport(Ssl)]
    internal static partial byte* SSL_SESSION_get_id(nint session, uint* length);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_get_version(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_get_current_cipher(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_CIPHER_get_name(nint cipher);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_get1_peer_certificate(nint ssl);

    [LibraryImport(Ssl)]
    internal static partial nint SSL_get_peer_cert_chain(nint ssl);

    // ---- helpers ----

    /// <summary>Drains this thread's OpenSSL error queue into one line ("error:0A000086:SSL routines::certificate
    /// verify failed; ..."); null when the queue is empty. Call on the thread that made the failing call.</summary>
    internal static string? TakeErrors()
    {
        StringBuilder? text = null;
        Span<byte> buffer = stackalloc byte[256];
        for (var i = 0; i < 16; i++)
        {
            var code = ERR_get_error();
            if (code == 0)
                break;
            fixed (byte* p = buffer)
            {
                ERR_error_string_n(code, p, (nuint)buffer.Length);
            }
            var end = buffer.IndexOf((byte)0);
            var line = Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
            text = text is null ? new StringBuilder(line) : text.Append("; ").Append(line);
        }
        // Anything beyond 16 entries is noise; drop it so it cannot be blamed on the next call.
        ERR_clear_error();
        return text?.ToString();
    }

    internal static string? PtrToString(nint p) => p == 0 ? null : Marshal.PtrToStringUTF8(p);
}
