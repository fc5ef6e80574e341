using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

/// <summary>A libvirt domain reference (<c>virDomainPtr</c>). Disposing frees the reference, not the domain.</summary>
public sealed class LibvirtDomain : IDisposable
{
    private readonly SafeDomainHandle _handle;

    internal LibvirtDomain(SafeDomainHandle handle)
    {
        _handle = handle;
        Name = Marshal.PtrToStringUTF8(Interop.virDomainGetName(handle)) ?? "";
    }

    public string Name { get; }

    /// <summary>Kills the domain at once (<c>virDomainDestroy</c>). A domain already gone is not an error.</summary>
    /// <returns>false when the domain was already gone.</returns>
    public bool Destroy()
    {
        if (Interop.virDomainDestroyFlags(_handle, 0) == 0) return true;
        var e = LibvirtException.FromLastError($"virDomainDestroy {Name}");
        return e.Code is LibvirtException.ErrNoDomain or LibvirtException.ErrOperationInvalid ? false : throw e;
    }

    /// <summary>Stops the domain's vCPUs (<c>virDomainSuspend</c>); its memory stays allocated.</summary>
    public void Suspend()
    {
        if (Interop.virDomainSuspend(_handle) != 0) throw LibvirtException.FromLastError($"virDomainSuspend {Name}");
    }

    /// <summary>Lets a suspended domain run again (<c>virDomainResume</c>).</summary>
    public void Resume()
    {
        if (Interop.virDomainResume(_handle) != 0) throw LibvirtException.FromLastError($"virDomainResume {Name}");
    }

    public (DomainState State, int Reason) GetState()
    {
        if (Interop.virDomainGetState(_handle, out int state, out int reason, 0) != 0)
            throw LibvirtException.FromLastError($"virDomainGetState {Name}");
        return ((DomainState)state, reason);
    }

    public unsafe DomainInfo GetInfo()
    {
        Interop.DomainInfoNative info;
        if (Interop.virDomainGetInfo(_handle, &info) != 0)
            throw LibvirtException.FromLastError($"virDomainGetInfo {Name}");
        return new DomainInfo((DomainState)info.State, (long)info.MaxMem * 1024, (long)info.Memory * 1024, info.NrVirtCpu,
            TimeSpan.FromTicks((long)(info.CpuTime / 100)));
    }

    /// <summary>The live domain XML.</summary>
    public string GetXml() =>
        Interop.TakeString(Interop.virDomainGetXMLDesc(_handle, 0)) ?? throw LibvirtException.FromLastError($"virDomainGetXMLDesc {Name}");

    /// <summary>The domain's <c>&lt;metadata&gt;</c> element in namespace <paramref name="uri"/>, or null when absent.</summary>
    public string? GetMetadata(string uri)
    {
        const int VIR_DOMAIN_METADATA_ELEMENT = 2;
        var s = Interop.TakeString(Interop.virDomainGetMetadata(_handle, VIR_DOMAIN_METADATA_ELEMENT, uri, 0));
        if (s is not null) return s;
        var e = LibvirtException.FromLastError($"virDomainGetMetadata {Name}");
        const int VIR_ERR_NO_DOMAIN_METADATA = 80;
        return e.Code == VIR_ERR_NO_DOMAIN_METADATA ? null : throw e;
    }

    /// <summary>
    /// Replaces the running domain's <c>&lt;metadata&gt;</c> element in namespace <paramref name="uri"/> (prefix
    /// <paramref name="key"/>) with <paramref name="xml"/> (<c>virDomainSetMetadata</c>, live).
    /// </summary>
    public void SetMetadata(string uri, string key, string xml)
    {
        const int VIR_DOMAIN_METADATA_ELEMENT = 2, VIR_DOMAIN_AFFECT_LIVE = 1;
        if (Interop.virDomainSetMetadata(_handle, VIR_DOMAIN_METADATA_ELEMENT, xml, key, uri, VIR_DOMAIN_AFFECT_LIVE) != 0)
            throw LibvirtException.FromLastError($"virDomainSetMetadata {Name}");
    }

    /// <summary>Memory statistics libvirt can report (without a balloon: at least the qemu process's RSS).</summary>
    public unsafe IReadOnlyDictionary<DomainMemoryStat, long> GetMemoryStats()
    {
        const int Max = 16;
        var stats = stackalloc Interop.DomainMemoryStatNative[Max];
        int n = Interop.virDomainMemoryStats(_handle, stats, Max, 0);
        if (n < 0) throw LibvirtException.FromLastError($"virDomainMemoryStats {Name}");
        var result = new Dictionary<DomainMemoryStat, long>(n);
        for (int i = 0; i < n; i++) result[(DomainMemoryStat)stats[i].Tag] = (long)stats[i].Val;
        return result;
    }

    public void Dispose() => _handle.Dispose();
}
