using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

/// <summary>Sets a fresh SafeHandle's pointer (SafeHandle.SetHandle is protected).</summary>
internal static class SafeHandleAccess
{
    public static void Set(SafeHandle h, IntPtr p) => Marshal.InitHandle(h, p);
}
