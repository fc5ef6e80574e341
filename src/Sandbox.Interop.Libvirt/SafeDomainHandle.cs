using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

/// <summary>
/// A virDomainPtr, freed when released. It holds a reference on its connection's handle, so the connection cannot be
/// closed under it (libvirt would otherwise free the domain's connection while the domain is still in use).
/// </summary>
public sealed class SafeDomainHandle : SafeHandle
{
    private SafeConnectHandle? _connection;

    public SafeDomainHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of <paramref name="domain"/>, a pointer obtained through <paramref name="connection"/>.</summary>
    internal static SafeDomainHandle Adopt(SafeConnectHandle connection, IntPtr domain)
    {
        var h = new SafeDomainHandle();
        bool added = false;
        connection.DangerousAddRef(ref added);
        h._connection = connection;
        h.SetHandle(domain);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        bool ok = Interop.virDomainFree(handle) == 0;
        _connection?.DangerousRelease();
        _connection = null;
        return ok;
    }
}
