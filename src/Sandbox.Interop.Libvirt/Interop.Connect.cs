using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libvirt, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr virConnectOpen(string? name);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virConnectClose(IntPtr conn);

    /// <summary>Returns a string the caller frees with free().</summary>
    [LibraryImport(Libraries.Libvirt)]
    internal static partial IntPtr virConnectGetCapabilities(SafeConnectHandle conn);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virConnectGetLibVersion(SafeConnectHandle conn, out ulong libVer);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virConnectGetVersion(SafeConnectHandle conn, out ulong hvVer);

    /// <summary>Fills <paramref name="domains"/> with an array of virDomainPtr the caller frees (each, then the array).</summary>
    [LibraryImport(Libraries.Libvirt)]
    internal static unsafe partial int virConnectListAllDomains(SafeConnectHandle conn, IntPtr* domains, uint flags);
}
