using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

internal static partial class Interop
{
    /// <summary>Reads and frees a string libvirt allocated for the caller (libvirt allocates with malloc).</summary>
    internal static unsafe string? TakeString(IntPtr p)
    {
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { NativeMemory.Free((void*)p); }
    }
}
