using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

internal static partial class Interop
{
    /// <summary>The calling thread's last error, owned by libvirt; null when none.</summary>
    [LibraryImport(Libraries.Libvirt)]
    internal static partial IntPtr virGetLastError();

    [LibraryImport(Libraries.Libvirt)]
    internal static partial void virResetLastError();

    [LibraryImport(Libraries.Libvirt)]
    internal static unsafe partial void virSetErrorFunc(IntPtr userData, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void> handler);

    /// <summary>The leading fields of virError (the rest is not read).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ErrorNative
    {
        public int Code;
        public int Domain;
        public IntPtr Message;
        public int Level;
    }

    /// <summary>A handler that drops errors: libvirt's default prints every error to stderr, and only the CLI may write there.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    internal static void IgnoreError(IntPtr userData, IntPtr error) { }
}
