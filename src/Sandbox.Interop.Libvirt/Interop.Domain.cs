using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libvirt, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr virDomainCreateXML(SafeConnectHandle conn, string xmlDesc, uint flags);

    [LibraryImport(Libraries.Libvirt, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr virDomainLookupByName(SafeConnectHandle conn, string name);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virDomainDestroyFlags(SafeDomainHandle domain, uint flags);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virDomainFree(IntPtr domain);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virDomainSuspend(SafeDomainHandle domain);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virDomainResume(SafeDomainHandle domain);

    [LibraryImport(Libraries.Libvirt)]
    internal static partial int virDomainGetState(SafeDomainHandle domain, out int state, out int reason, uint flags);

    [LibraryImport(Libraries.Libvirt)]
    internal static unsafe partial int virDomainGetInfo(SafeDomainHandle domain, DomainInfoNative* info);

    /// <summary>The returned string belongs to the domain object: do not free it.</summary>
    [LibraryImport(Libraries.Libvirt)]
    internal static partial IntPtr virDomainGetName(SafeDomainHandle domain);

    /// <summary>Returns a string the caller frees with free().</summary>
    [LibraryImport(Libraries.Libvirt)]
    internal static partial IntPtr virDomainGetXMLDesc(SafeDomainHandle domain, uint flags);

    /// <summary>Returns a string the caller frees with free().</summary>
    [LibraryImport(Libraries.Libvirt, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr virDomainGetMetadata(SafeDomainHandle domain, int type, string? uri, uint flags);

    [LibraryImport(Libraries.Libvirt, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainSetMetadata(SafeDomainHandle domain, int type, string? metadata, string? key, string? uri, uint flags);

    [LibraryImport(Libraries.Libvirt)]
    internal static unsafe partial int virDomainMemoryStats(SafeDomainHandle domain, DomainMemoryStatNative* stats, uint nrStats, uint flags);

    /// <summary>virDomainInfo: unsigned long is 64-bit on linux-x64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct DomainInfoNative
    {
        public byte State;
        public ulong MaxMem;
        public ulong Memory;
        public ushort NrVirtCpu;
        public ulong CpuTime;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct DomainMemoryStatNative
    {
        public int Tag;
        public ulong Val;
    }
}
