namespace Sandbox.Interop.Libvirt;

/// <summary>
/// A connection to a libvirt daemon (<c>virConnectOpen</c>). Thread-safe as libvirt's connections are; every call is
/// synchronous (a round trip to the daemon), so callers that must not block run it on the thread pool.
/// </summary>
public sealed class LibvirtConnection : IDisposable
{
    public const string DefaultUri = "qemu:///system";

    private readonly SafeConnectHandle _handle;

    private LibvirtConnection(SafeConnectHandle handle, string uri)
    {
        _handle = handle;
        Uri = uri;
    }

    public string Uri { get; }

    static LibvirtConnection()
    {
        // libvirt prints every error to stderr unless an error function is set; errors reach us through virGetLastError.
        unsafe { Interop.virSetErrorFunc(IntPtr.Zero, &Interop.IgnoreError); }
    }

    /// <summary>Opens <paramref name="uri"/> (read-write). Throws <see cref="LibvirtException"/> when nothing answers.</summary>
    public static LibvirtConnection Open(string uri = DefaultUri)
    {
        var p = Interop.virConnectOpen(uri);
        if (p == IntPtr.Zero) throw LibvirtException.FromLastError($"virConnectOpen {uri}");
        var h = new SafeConnectHandle();
        SafeHandleAccess.Set(h, p);
        return new LibvirtConnection(h, uri);
    }

    /// <summary>The host's capabilities XML (guests, machines, accelerators).</summary>
    public string GetCapabilities() =>
        Interop.TakeString(Interop.virConnectGetCapabilities(_handle))
        ?? throw LibvirtException.FromLastError("virConnectGetCapabilities");

    /// <summary>libvirt's version as major * 1,000,000 + minor * 1,000 + release.</summary>
    public long GetLibraryVersion() =>
        Interop.virConnectGetLibVersion(_handle, out ulong v) == 0 ? (long)v : throw LibvirtException.FromLastError("virConnectGetLibVersion");

    /// <summary>The hypervisor's (qemu's) version, same encoding.</summary>
    public long GetHypervisorVersion() =>
        Interop.virConnectGetVersion(_handle, out ulong v) == 0 ? (long)v : throw LibvirtException.FromLastError("virConnectGetVersion");

    /// <summary>Creates and starts a transient domain (<c>virDomainCreateXML</c>).</summary>
    public LibvirtDomain CreateDomain(string xml, DomainCreateFlags flags)
    {
        var p = Interop.virDomainCreateXML(_handle, xml, (uint)flags);
        if (p == IntPtr.Zero) throw LibvirtException.FromLastError("virDomainCreateXML");
        return new LibvirtDomain(SafeDomainHandle.Adopt(_handle, p));
    }

    /// <summary>The domain named <paramref name="name"/>, or null when there is none.</summary>
    public LibvirtDomain? LookupDomain(string name)
    {
        var p = Interop.virDomainLookupByName(_handle, name);
        if (p != IntPtr.Zero) return new LibvirtDomain(SafeDomainHandle.Adopt(_handle, p));
        var e = LibvirtException.FromLastError($"virDomainLookupByName {name}");
        return e.Code == LibvirtException.ErrNoDomain ? null : throw e;
    }

    /// <summary>All domains (running and defined); the caller disposes them.</summary>
    public unsafe IReadOnlyList<LibvirtDomain> ListAllDomains()
    {
        IntPtr array;
        int n = Interop.virConnectListAllDomains(_handle, &array, 0);
        if (n < 0) throw LibvirtException.FromLastError("virConnectListAllDomains");
        var result = new List<LibvirtDomain>(n);
        try
        {
            for (int i = 0; i < n; i++)
                result.Add(new LibvirtDomain(SafeDomainHandle.Adopt(_handle, ((IntPtr*)array)[i])));
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free((void*)array); }
        return result;
    }

    public void Dispose() => _handle.Dispose();
}
