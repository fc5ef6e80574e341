using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

/// <summary>An open virConnectPtr, closed when released. Domains opened through it keep it alive.</summary>
public sealed class SafeConnectHandle : SafeHandle
{
    public SafeConnectHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    // virConnectClose returns the remaining reference count, or -1 on error.
    protected override bool ReleaseHandle() => Interop.virConnectClose(handle) >= 0;
}
