namespace Sandbox.Interop.Libvirt;

/// <summary>virDomainMemoryStatTags (values in KiB unless said otherwise).</summary>
public enum DomainMemoryStat
{
    SwapIn = 0,
    SwapOut = 1,
    MajorFault = 2,
    MinorFault = 3,
    Unused = 4,
    Available = 5,
    ActualBalloon = 6,
    /// <summary>Resident set size of the qemu process on the host.</summary>
    Rss = 7,
    Usable = 8,
    LastUpdate = 9,
    DiskCaches = 10,
}
