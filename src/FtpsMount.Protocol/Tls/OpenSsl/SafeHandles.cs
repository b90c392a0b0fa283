using System.Runtime.InteropServices;

namespace FtpsMount.Protocol.Tls.OpenSsl;

/// <summary>An owned SSL_CTX*.</summary>
internal sealed class SafeSslContextHandle : SafeHandle
{
    public SafeSslContextHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.SSL_CTX_free(handle);
        return true;
    }
}

/// <summary>An owned SSL*. Freeing it also frees the two memory BIOs handed to it by SSL_set_bio.</summary>
internal sealed class SafeSslHandle : SafeHandle
{
    public SafeSslHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.SSL_free(handle);
        return true;
    }
}

/// <summary>One owned reference to an SSL_SESSION* (sessions are reference counted by OpenSSL).</summary>
internal sealed class SafeSslSessionHandle : SafeHandle
{
    public SafeSslSessionHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    /// <summary>Takes over a reference the caller already owns (from SSL_get1_session, SSL_SESSION_dup or
    /// a new-session callback that returns 1).</summary>
    public SafeSslSessionHandle(nint ownedSession) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(ownedSession);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.SSL_SESSION_free(handle);
        return true;
    }
}
